//! Times the browser verifier's Rust entry point natively on files (the WASM/native
//! ratio in BENCHMARKS.md; a profiling aid):
//!
//! `cargo run --release -p mpegs-wasm --example verify_files -- IMAGE BUNDLE KEYS [RUNS]`
//!
//! (`mpegs-bench edit --keep DIR` writes such files.)
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [image, bundle, keys, ..] = args.as_slice() else {
        return Err("usage: verify_files IMAGE BUNDLE KEYS [RUNS]".into());
    };
    let runs: usize = args.get(3).map_or(Ok(5), |r| r.parse())?;
    let (image, bundle, keys) = (
        std::fs::read(image)?,
        std::fs::read_to_string(bundle)?,
        std::fs::read_to_string(keys)?,
    );
    let mut ms = vec![];
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        let report =
            mpegs_wasm::verify(&image, &bundle, &keys, None, &mut |_, _, _| {}).map_err(|e| e.0)?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        if !report.contains("\"valid\": true") {
            return Err(format!("not valid: {report}").into());
        }
    }
    let mut sorted = ms.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "{{\"runs\": {}, \"median_ms\": {:.1}, \"min_ms\": {:.1}}}",
        ms.len(),
        sorted[sorted.len() / 2],
        sorted[0]
    );
    Ok(())
}
