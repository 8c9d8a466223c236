//! Device keys and capture attestations (design.md §4): a secp256k1 key signs an
//! EIP-712 typed message over the media commitment, so any EVM contract can check
//! it with `ecrecover` and wallets or hardware keys can produce it.
//!
//! ```text
//! EIP712Domain(string name,string version)            name "mpegs", version "1"
//! MediaCapture(bytes32 commitment,uint8 format,uint32 width,uint32 height,
//!              uint64 capturedAt,string deviceId)
//! digest = keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(capture))
//! ```

use crate::ProvenanceError;
use ark_bn254::Fr;
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use mpegs_media::poseidon::fr_to_hex;
use mpegs_media::PixelFormat;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::Path;

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn word_u64(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The fields a device signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    pub commitment: Fr,
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub captured_at: u64,
    pub device_id: String,
}

impl Capture {
    /// The EIP-712 digest of this capture.
    pub fn digest(&self) -> [u8; 32] {
        let domain_type = keccak(&[b"EIP712Domain(string name,string version)"]);
        let domain = keccak(&[&domain_type, &keccak(&[b"mpegs"]), &keccak(&[b"1"])]);
        let capture_type = keccak(&[b"MediaCapture(bytes32 commitment,uint8 format,uint32 width,uint32 height,uint64 capturedAt,string deviceId)"]);
        let commitment = hex::decode(&fr_to_hex(&self.commitment)[2..]).expect("own hex");
        let structure = keccak(&[
            &capture_type,
            &commitment,
            &word_u64(self.format.code()),
            &word_u64(self.width as u64),
            &word_u64(self.height as u64),
            &word_u64(self.captured_at),
            &keccak(&[self.device_id.as_bytes()]),
        ]);
        keccak(&[b"\x19\x01", &domain, &structure])
    }
}

/// An EVM address (`0x` + 40 lowercase hex digits) of a public key.
pub fn address_of(key: &VerifyingKey) -> String {
    let point = key.to_encoded_point(false);
    let hash = keccak(&[&point.as_bytes()[1..]]);
    format!("0x{}", hex::encode(&hash[12..]))
}

/// A capture device's signing key.
pub struct DeviceKey {
    key: SigningKey,
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    kind: String,
    address: String,
    secret: String,
}

impl DeviceKey {
    /// A fresh key from OS randomness.
    pub fn generate() -> Self {
        Self {
            key: SigningKey::random(&mut rand::rngs::OsRng),
        }
    }

    pub fn address(&self) -> String {
        address_of(self.key.verifying_key())
    }

    /// Writes the key atomically with mode 0600; refuses to overwrite an existing file.
    pub fn save(&self, path: &Path) -> Result<(), ProvenanceError> {
        if path.exists() {
            return Err(ProvenanceError::Input(format!(
                "{} already exists; refusing to overwrite a key",
                path.display()
            )));
        }
        write_private(path, self.to_json().as_bytes())
    }

    /// The key file's contents as [`DeviceKey::save`] writes them (pretty JSON
    /// with the secret: keep it private).
    pub fn to_json(&self) -> String {
        let file = KeyFile {
            version: 1,
            kind: "mpegs-device-key".into(),
            address: self.address(),
            secret: format!("0x{}", hex::encode(self.key.to_bytes())),
        };
        serde_json::to_string_pretty(&file).expect("key file serializes")
    }

    /// Loads a key written by [`DeviceKey::save`].
    pub fn load(path: &Path) -> Result<Self, ProvenanceError> {
        let bytes = std::fs::read(path).map_err(|e| {
            ProvenanceError::Input(format!("cannot read key {}: {e}", path.display()))
        })?;
        Self::from_json(&bytes, &path.display().to_string())
    }

    /// Parses a key file's contents (`name` labels errors), checking its address
    /// is the secret's.
    pub fn from_json(bytes: &[u8], name: &str) -> Result<Self, ProvenanceError> {
        let bad =
            |why: &str| ProvenanceError::Input(format!("{name} is not an mpegs device key: {why}"));
        let file: KeyFile = serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string()))?;
        if file.version != 1 || file.kind != "mpegs-device-key" {
            return Err(bad("unknown version or kind"));
        }
        let secret = hex::decode(file.secret.trim_start_matches("0x"))
            .map_err(|_| bad("secret is not hex"))?;
        let key = SigningKey::from_slice(&secret).map_err(|_| bad("invalid secret"))?;
        let me = Self { key };
        if me.address() != file.address.to_lowercase() {
            return Err(bad("address does not match the secret"));
        }
        Ok(me)
    }

    /// Signs a capture: 65 bytes r ‖ s ‖ v (v = 27 + recovery id), low-s.
    pub fn sign(&self, capture: &Capture) -> Result<Vec<u8>, ProvenanceError> {
        self.sign_digest(&capture.digest())
    }

    /// Signs any EIP-712 digest (a capture, a registry revocation) the same way.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, ProvenanceError> {
        let (sig, recid) = self
            .key
            .sign_prehash_recoverable(digest)
            .map_err(|e| ProvenanceError::Input(format!("signing failed: {e}")))?;
        let mut out = sig.to_bytes().to_vec();
        out.push(27 + recid.to_byte());
        Ok(out)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ProvenanceError> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let err =
        |e: std::io::Error| ProvenanceError::Input(format!("cannot write {}: {e}", path.display()));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist_noclobber(path).map_err(|e| err(e.error))?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ProvenanceError> {
    mpegs_media::write_atomic(path, bytes).map_err(|e| ProvenanceError::Input(e.to_string()))
}

/// Recovers the signer address of a 65-byte signature over a capture, refusing
/// malleable (high-s) signatures.
pub fn recover(capture: &Capture, signature: &[u8]) -> Result<String, String> {
    if signature.len() != 65 {
        return Err(format!(
            "signature must be 65 bytes, got {}",
            signature.len()
        ));
    }
    let sig =
        Signature::from_slice(&signature[..64]).map_err(|e| format!("invalid signature: {e}"))?;
    if sig.normalize_s().is_some() {
        return Err("signature has a high s value (malleable)".into());
    }
    let v = signature[64];
    let recid = match v {
        27 | 28 => RecoveryId::from_byte(v - 27).expect("0 or 1"),
        _ => return Err(format!("signature v must be 27 or 28, got {v}")),
    };
    let key = VerifyingKey::recover_from_prehash(&capture.digest(), &sig, recid)
        .map_err(|e| format!("signature does not recover: {e}"))?;
    Ok(address_of(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture() -> Capture {
        Capture {
            commitment: Fr::from(12345u64),
            format: PixelFormat::Rgb24,
            width: 640,
            height: 480,
            captured_at: 1_700_000_000,
            device_id: "cam-1".into(),
        }
    }

    #[test]
    fn sign_recover_and_reject_tampering() {
        let key = DeviceKey::generate();
        let c = capture();
        let sig = key.sign(&c).unwrap();
        assert_eq!(recover(&c, &sig).unwrap(), key.address());
        let mut other = c.clone();
        other.width += 1;
        assert_ne!(recover(&other, &sig).ok(), Some(key.address()));
        let mut bad = sig.clone();
        bad[64] = 29;
        assert!(recover(&c, &bad).is_err());
        assert!(recover(&c, &sig[..64]).is_err());
    }

    #[test]
    fn key_file_round_trip_mode_and_no_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.key");
        let key = DeviceKey::generate();
        key.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(DeviceKey::load(&path).unwrap().address(), key.address());
        assert!(DeviceKey::generate().save(&path).is_err());
        std::fs::write(dir.path().join("junk"), b"{}").unwrap();
        assert!(DeviceKey::load(&dir.path().join("junk")).is_err());
    }
    // The digest is checked against ethers.js in tests/eip712_vectors.rs.
}
