//! Proves the same tile repeatedly and prints resident memory after each proof.
use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::parse_filtergraph;
use mpegs_filters::plan::Step;
use mpegs_media::{FrameInfo, MediaHeader, PixelFormat};
use mpegs_zk::backend;
use rand::SeedableRng;

fn rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let l = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    l.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() / 1024.0
}

fn main() {
    let tile: u32 = std::env::args()
        .nth(1)
        .map(|t| t.parse().unwrap())
        .unwrap_or(32);
    let chain = parse_filtergraph("format=gray").unwrap();
    let header = MediaHeader::new(FrameInfo::new(PixelFormat::Rgb24, 256, 256), tile).unwrap();
    let step = Step::new(chain.filters[0].as_ref(), header).unwrap();
    let plan = step.plan_tile(1, 1);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let (pk, _) = backend::setup(TileCircuit::blank(&step, &plan), &mut rng).unwrap();
    println!("after setup: {:.0} MiB", rss_mib());
    for i in 0..6 {
        backend::prove(&pk, TileCircuit::blank(&step, &plan), &mut rng).unwrap();
        println!("after proof {i}: {:.0} MiB", rss_mib());
    }
}
