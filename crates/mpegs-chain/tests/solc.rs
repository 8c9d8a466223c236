//! How `mpegs` runs solc, end to end through `node`: the compiler never sees the
//! signing key, and a `contracts/node_modules/solc` in the working directory (a
//! checkout of someone else's, say) is never loaded.
//!
//! One test function on purpose: it sets process-wide state (the environment and
//! the working directory), which other tests in this binary would race with.

use mpegs_chain::solc::{compile_single, find_solc, solc_dir};
use std::path::Path;

/// A `solc` package whose `compile` answers with one contract whose "bytecode"
/// (creation and runtime alike) is `payload` (JavaScript evaluated in the child) as hex.
fn fake_solc(node_modules: &Path, payload: &str) {
    let dir = node_modules.join("solc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("package.json"),
        r#"{"name":"solc","main":"index.js"}"#,
    )
    .unwrap();
    let index = format!(
        r#"module.exports = {{
  version: () => "0.8.28+fake",
  compile: () => {{
    const object = Buffer.from(JSON.stringify({payload})).toString("hex");
    return JSON.stringify({{ contracts: {{ "A.sol": {{ A: {{ evm: {{
      bytecode: {{ object }}, deployedBytecode: {{ object }} }} }} }} }} }});
  }},
}};
"#
    );
    std::fs::write(dir.join("index.js"), index).unwrap();
}

fn compile_json() -> serde_json::Value {
    let bytes = compile_single("A.sol", "contract A {}", "A").unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn solc_runs_without_the_key_and_never_from_the_working_directory() {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("node is not installed; skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Run from a folder holding a hostile contracts/node_modules/solc.
    let cwd = dir.path().join("someone-elses-checkout");
    fake_solc(
        &cwd.join("contracts/node_modules"),
        r#""from the working directory""#,
    );
    std::env::set_current_dir(&cwd).unwrap();
    std::env::set_var(
        "MPEGS_CHAIN_KEY",
        "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    );
    std::env::set_var("NODE_OPTIONS", "--no-warnings");

    // The explicit folder is used, and its solc sees none of our environment
    // but PATH and the folder itself.
    let explicit = dir.path().join("explicit");
    fake_solc(&explicit, "Object.keys(process.env).sort()");
    std::env::set_var("MPEGS_SOLC_DIR", &explicit);
    let seen = compile_json();
    let names: Vec<&str> = seen
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!names.contains(&"MPEGS_CHAIN_KEY"), "{names:?}");
    for name in &names {
        assert!(["PATH", "MPEGS_SOLC_DIR"].contains(name), "{names:?}");
    }

    // Without it, only the checkout's contracts/node_modules counts: a checkout
    // without solc is an error, whatever the working directory holds.
    std::env::remove_var("MPEGS_SOLC_DIR");
    let empty = dir.path().join("empty-checkout/contracts");
    let e = find_solc(None, &empty).unwrap_err().to_string();
    assert!(e.contains("npm ci --prefix contracts"), "{e}");
    if let Ok(found) = solc_dir() {
        assert!(!found.starts_with(&cwd), "{}", found.display());
        // The real compiler, from the hostile folder: real bytecode, not the fake's.
        let code = compile_single("A.sol", "contract A {}", "A").unwrap();
        assert_ne!(
            code.first(),
            Some(&b'"'),
            "the working directory's solc ran"
        );
        assert_eq!(code.first(), Some(&0x60), "PUSH1 of a creation code");
    }
}
