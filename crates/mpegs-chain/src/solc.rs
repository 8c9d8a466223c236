//! Compiling Solidity with the pinned npm `solc` (solcjs) through `node`.
//!
//! The registry and escrow ship precompiled (`contracts/artifacts`); only verifiers
//! for locally generated keys are compiled at run time. The settings here are the
//! ones `contracts/compile.mjs` uses for the artifacts.

use crate::ChainError;
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The compile script, embedded so an installed `mpegs` does not need the checkout's
/// copy (it still needs the npm package; see [`solc_dir`]).
const COMPILE_SCRIPT: &str = include_str!("../../../contracts/compile.mjs");

/// Where the `solc` npm package lives: `$MPEGS_SOLC_DIR` (a `node_modules` folder),
/// else `contracts/node_modules` of the checkout this crate was built from.
/// Never a folder found from the working directory: running `mpegs` inside someone
/// else's tree must not run their JavaScript.
pub fn solc_dir() -> Result<PathBuf, ChainError> {
    find_solc(
        std::env::var_os("MPEGS_SOLC_DIR").as_deref(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts"),
    )
}

/// [`solc_dir`] with its two inputs given: an explicit `node_modules` folder
/// (which must hold solc), else `<contracts>/node_modules`.
pub fn find_solc(explicit: Option<&OsStr>, contracts: &Path) -> Result<PathBuf, ChainError> {
    let has_solc = |dir: &Path| dir.join("solc/package.json").is_file();
    if let Some(dir) = explicit {
        let dir = PathBuf::from(dir);
        if !has_solc(&dir) {
            return Err(ChainError::Tool(format!(
                "MPEGS_SOLC_DIR={} holds no solc package (no solc/package.json)",
                dir.display()
            )));
        }
        return Ok(dir);
    }
    let dir = contracts.join("node_modules");
    if has_solc(&dir) {
        return Ok(dir);
    }
    Err(ChainError::Tool(format!(
        "the npm solc compiler is not installed in {}: run `npm ci --prefix contracts` \
         in the mpegs checkout (scripts/setup.sh does), or set MPEGS_SOLC_DIR to a \
         node_modules folder that holds solc",
        dir.display()
    )))
}

/// Compiles one source file and returns the creation bytecode of `contract`.
pub fn compile_single(file: &str, source: &str, contract: &str) -> Result<Vec<u8>, ChainError> {
    let mut out = compile_many(&[(file.to_string(), source.to_string())], contract)?;
    Ok(out.remove(0))
}

/// Creation and runtime code of one compiled contract.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub creation: Vec<u8>,
    /// What a deployment leaves at its address (no immutables in our verifiers,
    /// so byte for byte): what deployed code is checked against.
    pub runtime: Vec<u8>,
}

/// Compiles several files in one solc run (solcjs starts slowly: seconds per run)
/// and returns the creation bytecode of the contract named `contract` in each.
pub fn compile_many(
    files: &[(String, String)],
    contract: &str,
) -> Result<Vec<Vec<u8>>, ChainError> {
    Ok(compile_many_with_runtime(files, contract)?
        .into_iter()
        .map(|c| c.creation)
        .collect())
}

/// [`compile_many`] with each contract's runtime code too.
pub fn compile_many_with_runtime(
    files: &[(String, String)],
    contract: &str,
) -> Result<Vec<Compiled>, ChainError> {
    let sources: serde_json::Map<String, Value> = files
        .iter()
        .map(|(file, source)| (file.clone(), json!({ "content": source })))
        .collect();
    let input = json!({
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "optimizer": { "enabled": true, "runs": 200 },
            "evmVersion": "cancun",
            "metadata": { "bytecodeHash": "none" },
            "outputSelection": { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });
    let output = run_solc(&input)?;
    files
        .iter()
        .map(|(file, _)| {
            let code = |which: &str| {
                let object = output["contracts"][file][contract]["evm"][which]["object"]
                    .as_str()
                    .ok_or_else(|| {
                        ChainError::Tool(format!("solc produced no {which} for {file}"))
                    })?;
                hex::decode(object)
                    .map_err(|e| ChainError::Tool(format!("solc {which} is not hex: {e}")))
            };
            Ok(Compiled {
                creation: code("bytecode")?,
                runtime: code("deployedBytecode")?,
            })
        })
        .collect()
}

/// Runs `node compile.mjs --stdin` on a standard-JSON input.
fn run_solc(input: &Value) -> Result<Value, ChainError> {
    // Absolute: node runs in another folder.
    let dir = std::path::absolute(solc_dir()?)?;
    let script_dir = tempfile::tempdir()?;
    let script = write_script(script_dir.path(), &dir)?;
    let mut child = node_command(&script, &dir)
        .arg("--stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ChainError::Tool(format!("cannot run node (is Node.js installed?): {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.to_string().as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(ChainError::Tool(format!(
            "solc failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| ChainError::Tool(format!("solc printed no JSON: {e}")))
}

/// Writes the compile script into `dir` with `dir/node_modules` linking to
/// `solc_dir`. The script loads solc next to itself first, and Node looks for
/// `node_modules` in the script's folder and then in each folder above it (the
/// temporary folder's parents, which others may write to): the link makes the
/// first place looked in the right one.
fn write_script(dir: &Path, solc_dir: &Path) -> Result<PathBuf, ChainError> {
    let script = dir.join("compile.mjs");
    std::fs::write(&script, COMPILE_SCRIPT)?;
    #[cfg(unix)]
    std::os::unix::fs::symlink(solc_dir, dir.join("node_modules"))?;
    Ok(script)
}

/// What the compiler's `node` may see of our environment: enough to find programs
/// and solc, and nothing else. In particular never `MPEGS_CHAIN_KEY` (the signing
/// key) nor `NODE_OPTIONS` (which could preload any script).
const NODE_ENV: [&str; 1] = ["PATH"];

/// `node SCRIPT` with a cleared environment: [`NODE_ENV`] from ours, plus
/// `MPEGS_SOLC_DIR` (where compile.mjs falls back to for solc; give it absolute),
/// run in the script's folder so the caller's working directory plays no part.
pub fn node_command(script: &Path, solc_dir: &Path) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(script).env_clear();
    for name in NODE_ENV {
        if let Some(value) = std::env::var_os(name) {
            cmd.env(name, value);
        }
    }
    cmd.env("MPEGS_SOLC_DIR", solc_dir);
    if let Some(dir) = script.parent().filter(|d| !d.as_os_str().is_empty()) {
        cmd.current_dir(dir);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_solc(node_modules: &Path) {
        let solc = node_modules.join("solc");
        std::fs::create_dir_all(&solc).unwrap();
        std::fs::write(
            solc.join("package.json"),
            r#"{"name":"solc","main":"index.js"}"#,
        )
        .unwrap();
    }

    #[test]
    fn solc_is_looked_up_in_the_checkout_or_the_explicit_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        let contracts = dir.path().join("contracts");
        let e = find_solc(None, &contracts).unwrap_err().to_string();
        assert!(e.contains("npm ci --prefix contracts"), "{e}");
        fake_solc(&contracts.join("node_modules"));
        assert_eq!(
            find_solc(None, &contracts).unwrap(),
            contracts.join("node_modules")
        );
        // An explicit folder wins, and must hold solc.
        let explicit = dir.path().join("elsewhere");
        let e = find_solc(Some(explicit.as_os_str()), &contracts).unwrap_err();
        assert!(e.to_string().contains("MPEGS_SOLC_DIR"), "{e}");
        fake_solc(&explicit);
        assert_eq!(
            find_solc(Some(explicit.as_os_str()), &contracts).unwrap(),
            explicit
        );
    }

    #[test]
    fn node_gets_only_path_and_the_solc_folder() {
        let cmd = node_command(Path::new("/tmp/x/compile.mjs"), Path::new("/opt/nm"));
        let mut names: Vec<_> = cmd
            .get_envs()
            .filter(|(_, v)| v.is_some())
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        names.sort();
        let expected: Vec<String> = ["MPEGS_SOLC_DIR", "PATH"]
            .iter()
            .filter(|n| **n != "PATH" || std::env::var_os("PATH").is_some())
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, expected);
        assert_eq!(cmd.get_current_dir(), Some(Path::new("/tmp/x")));
    }

    /// The child itself: everything else in our environment (cargo sets plenty)
    /// is gone.
    #[test]
    fn node_sees_no_other_environment_variable() {
        if Command::new("node").arg("--version").output().is_err() {
            eprintln!("node is not installed; skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("env.mjs");
        std::fs::write(
            &script,
            "process.stdout.write(JSON.stringify(Object.keys(process.env).sort()))",
        )
        .unwrap();
        let out = node_command(&script, Path::new("/opt/nm"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let names: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
        for name in &names {
            assert!(
                ["PATH", "MPEGS_SOLC_DIR"].contains(&name.as_str()),
                "{names:?}"
            );
        }
        assert!(names.contains(&"MPEGS_SOLC_DIR".to_string()), "{names:?}");
    }
}
