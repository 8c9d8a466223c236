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
    // Both backends' tables keep the per-filter row format, then old against new.
    let tables: Vec<&str> = out.split("### ").skip(1).collect();
    assert_eq!(tables.len(), 3, "{out}");
    for (table, title) in tables[..2].iter().zip(["lookups", "bit decomposition"]) {
        assert!(table.starts_with(title), "{out}");
        let lines: Vec<&str> = table.lines().filter(|l| l.starts_with('|')).collect();
        assert!(
            lines[0].starts_with("| filter | input | window tiles | constraints |"),
            "{out}"
        );
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[2].starts_with("| hflip | rgb24 | "), "{out}");
        assert_eq!(lines[2].matches('|').count(), 11, "{out}");
    }
    // The lookup circuit is the smaller one, by the table's own numbers.
    let row = tables[2]
        .lines()
        .find(|l| l.starts_with("| hflip"))
        .unwrap();
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let (bits, lookups): (u64, u64) = (cells[3].parse().unwrap(), cells[4].parse().unwrap());
    assert!(lookups < bits, "{row}");
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
    // Every table is there, and the proof is the 192-byte compressed proof (Groth16
    // with its commitment and proof of knowledge).
    for heading in [
        "## Worker's epoch work",
        "## Epoch proof (k = 2, depth 5)",
        "Pedersen/Jubjub",
        "frame vs re-encode at 40k",
        "frames 15 apart",
    ] {
        assert!(out.contains(heading), "missing {heading:?} in\n{out}");
    }
    assert!(out.contains("| 192 B |"), "{out}");
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
        "proof 192 bytes",
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
    // Every verification stays within the 15 % goal over the EIP-1108 floor of
    // the construction (5 pairings, challenges, proof-of-knowledge terms).
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
