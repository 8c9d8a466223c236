//! Compiling Solidity with the pinned npm `solc` (solcjs) through `node`.
//!
//! The registry and escrow ship precompiled (`contracts/artifacts`); only verifiers
//! for locally generated keys are compiled at run time. The settings here are the
//! ones `contracts/compile.mjs` uses for the artifacts.

use crate::ChainError;
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The compile script, embedded so an installed `mpegs` does not need the checkout's
/// copy (it still needs the npm package; see [`solc_dir`]).
const COMPILE_SCRIPT: &str = include_str!("../../../contracts/compile.mjs");

/// Where the `solc` npm package lives: `$MPEGS_SOLC_DIR` (a `node_modules` folder),
/// else `contracts/node_modules` of this checkout, of the working directory or of
/// a folder above the running executable.
pub fn solc_dir() -> Result<PathBuf, ChainError> {
    if let Some(dir) = std::env::var_os("MPEGS_SOLC_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")];
    if let Ok(cwd) = std::env::current_dir() {
        candidates.extend(cwd.ancestors().map(|a| a.join("contracts")));
    }
    if let Ok(exe) = std::env::current_exe() {
        candidates.extend(exe.ancestors().map(|a| a.join("contracts")));
    }
    candidates
        .into_iter()
        .map(|c| c.join("node_modules"))
        .find(|nm| nm.join("solc/package.json").is_file())
        .ok_or_else(|| {
            ChainError::Tool(
                "the npm solc compiler is not installed: run `npm ci --prefix contracts` \
                 in the mpegs checkout (scripts/setup.sh does), or set MPEGS_SOLC_DIR to a \
                 node_modules folder that holds solc"
                    .into(),
            )
        })
}

/// Compiles one source file and returns the creation bytecode of `contract`.
pub fn compile_single(file: &str, source: &str, contract: &str) -> Result<Vec<u8>, ChainError> {
    let mut out = compile_many(&[(file.to_string(), source.to_string())], contract)?;
    Ok(out.remove(0))
}

/// Compiles several files in one solc run (solcjs starts slowly: seconds per run)
/// and returns the creation bytecode of the contract named `contract` in each.
pub fn compile_many(
    files: &[(String, String)],
    contract: &str,
) -> Result<Vec<Vec<u8>>, ChainError> {
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
            "outputSelection": { "*": { "*": ["evm.bytecode.object"] } }
        }
    });
    let output = run_solc(&input)?;
    files
        .iter()
        .map(|(file, _)| {
            let object = output["contracts"][file][contract]["evm"]["bytecode"]["object"]
                .as_str()
                .ok_or_else(|| ChainError::Tool(format!("solc produced no bytecode for {file}")))?;
            hex::decode(object)
                .map_err(|e| ChainError::Tool(format!("solc bytecode is not hex: {e}")))
        })
        .collect()
}

/// Runs `node compile.mjs --stdin` on a standard-JSON input.
fn run_solc(input: &Value) -> Result<Value, ChainError> {
    let dir = solc_dir()?;
    let script_dir = tempfile::tempdir()?;
    let script = script_dir.path().join("compile.mjs");
    std::fs::write(&script, COMPILE_SCRIPT)?;
    let mut child = Command::new("node")
        .arg(&script)
        .arg("--stdin")
        .env("MPEGS_SOLC_DIR", &dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ChainError::Tool(format!("cannot run node (is Node.js installed?): {e}")))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input.to_string().as_bytes())?;
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
