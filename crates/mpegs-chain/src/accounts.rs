//! Signing keys: the well-known development accounts (the same ten that Hardhat's
//! and Anvil's default mnemonic yields, so a demo runs identically on the embedded
//! EVM and on a local node) and keys given as hex, in a file or the environment.

use crate::ChainError;
use alloy::signers::local::PrivateKeySigner;
use std::path::Path;

/// Private keys of the public development accounts #0–#3. Never use them on a real
/// network: everyone knows them.
pub const DEV_KEYS: [&str; 4] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// Development account `n`.
pub fn dev_signer(n: usize) -> Result<PrivateKeySigner, ChainError> {
    let key = DEV_KEYS.get(n).ok_or_else(|| {
        ChainError::Input(format!(
            "there are {} development accounts (0–{}); {n} is not one",
            DEV_KEYS.len(),
            DEV_KEYS.len() - 1
        ))
    })?;
    parse_key(key)
}

/// A signer from a 32-byte hex private key (with or without `0x`).
pub fn parse_key(text: &str) -> Result<PrivateKeySigner, ChainError> {
    text.trim()
        .trim_start_matches("0x")
        .parse::<PrivateKeySigner>()
        .map_err(|_| ChainError::Input("the chain key is not a 32-byte hex private key".into()))
}

/// A signer from a file holding a hex private key. On Unix the file must be
/// private to its owner: a key others can read is as good as published.
pub fn key_from_file(path: &Path) -> Result<PrivateKeySigner, ChainError> {
    let cannot_read = |e: std::io::Error| {
        ChainError::Input(format!("cannot read the key file {}: {e}", path.display()))
    };
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    // Checked on the opened file, so the file read is the file checked.
    check_private(path, &file.metadata().map_err(cannot_read)?)?;
    let text = std::io::read_to_string(file).map_err(cannot_read)?;
    parse_key(&text)
}

/// Refuses a key file that its group or others may access (any of mode 0o077).
#[cfg(unix)]
fn check_private(path: &Path, metadata: &std::fs::Metadata) -> Result<(), ChainError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ChainError::Input(format!(
            "the key file {} is accessible to other users (mode {mode:03o}): \
             run `chmod 600 {}` (and consider the key exposed if others could read it)",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path, _metadata: &std::fs::Metadata) -> Result<(), ChainError> {
    Ok(())
}

/// Where a command's signing key comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// A key of the user's (`--key-file` or `MPEGS_CHAIN_KEY`).
    Explicit,
    /// A public development account (`--account N`, or account 0 by default).
    Development,
}

/// The signer from the three ways of naming one: a key file (which wins over
/// `MPEGS_CHAIN_KEY`, as a flag wins over the environment), the key itself
/// (`env_key`, the value of `MPEGS_CHAIN_KEY`), or development account `account`
/// (0 when nothing is given). A development account together with a key is an
/// error: signing with a public key when the user set up a real one (or the
/// reverse) must not depend on which one silently wins.
pub fn select_signer(
    key_file: Option<&Path>,
    env_key: Option<&str>,
    account: Option<usize>,
) -> Result<(PrivateKeySigner, KeySource), ChainError> {
    if let Some(n) = account {
        let conflict = match (key_file, env_key) {
            (Some(_), _) => Some("--key-file"),
            (None, Some(_)) => Some("MPEGS_CHAIN_KEY (unset it to use a development account)"),
            (None, None) => None,
        };
        if let Some(other) = conflict {
            return Err(ChainError::Input(format!(
                "--account {n} and {other} both name a signing key: give only one"
            )));
        }
        return Ok((dev_signer(n)?, KeySource::Development));
    }
    match (key_file, env_key) {
        (Some(file), _) => Ok((key_from_file(file)?, KeySource::Explicit)),
        (None, Some(hex)) => {
            let signer =
                parse_key(hex).map_err(|e| ChainError::Input(format!("MPEGS_CHAIN_KEY: {e}")))?;
            Ok((signer, KeySource::Explicit))
        }
        (None, None) => Ok((dev_signer(0)?, KeySource::Development)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_key(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join("chain.key");
        std::fs::write(&path, DEV_KEYS[2]).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }

    #[test]
    fn a_private_key_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_key(dir.path(), 0o600);
        let signer = key_from_file(&path).unwrap();
        assert_eq!(signer.address(), dev_signer(2).unwrap().address());
    }

    #[cfg(unix)]
    #[test]
    fn key_files_others_may_access_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o606, 0o700 | 0o010] {
            let path = write_key(dir.path(), mode);
            let e = key_from_file(&path).unwrap_err().to_string();
            assert!(e.contains("chmod 600"), "{mode:o}: {e}");
            assert!(
                e.contains(&format!("{:03o}", mode & 0o777)),
                "{mode:o}: {e}"
            );
        }
    }

    #[test]
    fn a_development_account_with_a_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_key(dir.path(), 0o600);
        let e = select_signer(None, Some(DEV_KEYS[1]), Some(1)).unwrap_err();
        assert!(e.to_string().contains("MPEGS_CHAIN_KEY"), "{e}");
        let e = select_signer(Some(&file), None, Some(0)).unwrap_err();
        assert!(e.to_string().contains("--key-file"), "{e}");
    }

    #[test]
    fn signer_sources() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_key(dir.path(), 0o600);
        let address = |n: usize| dev_signer(n).unwrap().address();
        let (s, source) = select_signer(None, None, None).unwrap();
        assert_eq!((s.address(), source), (address(0), KeySource::Development));
        let (s, source) = select_signer(None, None, Some(3)).unwrap();
        assert_eq!((s.address(), source), (address(3), KeySource::Development));
        let (s, source) = select_signer(None, Some(DEV_KEYS[1]), None).unwrap();
        assert_eq!((s.address(), source), (address(1), KeySource::Explicit));
        // The flag wins over the environment.
        let (s, source) = select_signer(Some(&file), Some(DEV_KEYS[1]), None).unwrap();
        assert_eq!((s.address(), source), (address(2), KeySource::Explicit));
        let e = select_signer(None, Some("nope"), None).unwrap_err();
        assert!(e.to_string().starts_with("MPEGS_CHAIN_KEY:"), "{e}");
    }
}
