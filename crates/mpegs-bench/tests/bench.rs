//! The `mpegs-bench` binary at small sizes: every table is printed, bad input is
//! exit 2.

use std::process::{Command, Output};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mpegs-bench"))
            .args(args)
            .env("MPEGS_HOME", self.dir.path().join("home"))
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally, no signal")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn constraints_prints_one_row_per_filter_case() {
    let o = Env::new().run(&["constraints", "--only", "hflip"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("| filter | input | window tiles | constraints |"),
        "{out}"
    );
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[2].starts_with("| hflip | rgb24 | "), "{out}");
    assert_eq!(lines[2].matches('|').count(), 11, "{out}");
}

#[test]
fn storage_benchmark_runs_at_a_small_size() {
    let env = Env::new();
    let o = env.run(&[
        "storage",
        "--size",
        "128x96",
        "--seconds",
        "1",
        "--preset",
        "ultrafast",
        "-k",
        "2",
        "--bitrates",
        "40k",
        "--verify-runs",
        "2",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    // Every table is there, and the proof is the 128-byte compressed Groth16 proof.
    for heading in [
        "## Worker's epoch work",
        "## Epoch proof (k = 2, depth 5)",
        "Pedersen/Jubjub",
        "frame vs re-encode at 40k",
        "frames 15 apart",
    ] {
        assert!(out.contains(heading), "missing {heading:?} in\n{out}");
    }
    assert!(out.contains("| 128 B |"), "{out}");
    let o = env.run(&["storage", "--input", "missing.mp4"]);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
}

#[test]
fn transcode_benchmark_runs_at_a_small_size() {
    let env = Env::new();
    let o = env.run(&[
        "transcode",
        "--size",
        "64x48",
        "--seconds",
        "1",
        "--samples",
        "2",
        "--threshold",
        "0.5",
        "--verify-runs",
        "2",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for row in [
        "k = 2",
        "| proving |",
        "| verify (median of 2) |",
        "proof 128 bytes",
    ] {
        assert!(out.contains(row), "missing {row:?} in\n{out}");
    }
}

#[test]
fn chain_benchmark_runs_at_a_small_size() {
    let env = Env::new();
    let o = env.run(&["chain", "--transcode-samples", "2"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    for row in [
        "| edit tile: crop | 8 |",
        "| transcode k=2 | 5 |",
        "| registerOriginal",
        "| submit (Groth16 verify + credit) |",
        "| withdraw |",
    ] {
        assert!(out.contains(row), "missing {row:?} in\n{out}");
    }
    // Every verification stays within the 15 % goal over the EIP-1108 floor.
    for line in out.lines().filter(|l| l.contains("% |")) {
        let over: f64 = line
            .split('|')
            .nth(6)
            .unwrap()
            .trim()
            .trim_end_matches('%')
            .parse()
            .unwrap();
        assert!(over < 15.0, "{line}");
    }
}
