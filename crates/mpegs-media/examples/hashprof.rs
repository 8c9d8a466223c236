// Temporary profiling harness (not committed).
use mpegs_media::commitment::*;
use mpegs_media::poseidon::*;
use mpegs_media::*;
use std::time::Instant;
fn main() {
    let info = FrameInfo::new(PixelFormat::Gray, 1280, 720);
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let data = (0..info.byte_len())
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect();
    let frame = Frame::new(info, data).unwrap();
    let seed = Seed([7; 32]);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    pool.install(|| {
        let reps = 3;
        for _ in 0..reps {
            let t = Instant::now();
            let c = Commitment::of_video_frame(&frame, 16, &seed, 0).unwrap();
            println!("commit 1 thread: {:?} {}", t.elapsed(), fr_to_hex(&c.value));
        }
        let h = MediaHeader::new(info, 16).unwrap();
        let t = Instant::now();
        let tiles: Vec<Vec<u8>> = (0..h.tile_count())
            .map(|i| {
                let (x, y) = h.tile_coords(i);
                tile_bytes(&frame, 16, x, y)
            })
            .collect();
        println!("tile extraction {:?}", t.elapsed());
        let t = Instant::now();
        let packed: Vec<Vec<Fr>> = tiles.iter().map(|b| pack_bytes(b)).collect();
        println!("packing {:?} {}", t.elapsed(), packed.len());
        let t = Instant::now();
        let bl: Vec<Fr> = (0..h.tile_count())
            .map(|i| {
                let (x, y) = h.tile_coords(i);
                blinding(&seed, 0, x, y)
            })
            .collect();
        println!("blinding {:?}", t.elapsed());
        let t = Instant::now();
        let d: Vec<Fr> = (0..h.tile_count())
            .map(|i| {
                let (x, y) = h.tile_coords(i);
                tile_digest(x, y, bl[i], &tiles[i])
            })
            .collect();
        println!("digest {:?}", t.elapsed());
        let t = Instant::now();
        let tr = MerkleTree::new(d);
        println!("tree {:?} {}", t.elapsed(), tr.depth());
        let x: Vec<Fr> = (0..12u64).map(Fr::from).collect();
        let n = 20000;
        for w in [12usize, 5, 3] {
            let t = Instant::now();
            let mut acc = Fr::from(0u64);
            for _ in 0..n {
                acc += hash(&x[..w]);
            }
            println!(
                "arity {w}: {:.2} us/perm {}",
                t.elapsed().as_secs_f64() * 1e6 / n as f64,
                acc == Fr::from(0u64)
            );
        }
        let xs: Vec<[Fr; 12]> = (0..n as u64)
            .map(|i| std::array::from_fn(|j| Fr::from(i * 13 + j as u64)))
            .collect();
        let t = Instant::now();
        let h = mpegs_media::batch::hash_many(&xs);
        println!(
            "batch arity 12: {:.2} us/perm {}",
            t.elapsed().as_secs_f64() * 1e6 / n as f64,
            h.len()
        );
        let xs: Vec<[Fr; 3]> = (0..n as u64)
            .map(|i| std::array::from_fn(|j| Fr::from(i * 13 + j as u64)))
            .collect();
        let t = Instant::now();
        let h = mpegs_media::batch::hash_many(&xs);
        println!(
            "batch arity 3: {:.2} us/perm {}",
            t.elapsed().as_secs_f64() * 1e6 / n as f64,
            h.len()
        );
    });
    let t = Instant::now();
    let c = Commitment::of_video_frame(&frame, 16, &seed, 0).unwrap();
    println!(
        "commit 2 threads: {:?} {}",
        t.elapsed(),
        fr_to_hex(&c.value)
    );
}
