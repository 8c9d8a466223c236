//! The transcode circuit on in-memory frames: honest samples satisfy it; a changed
//! pixel, a below-threshold rendition, another commitment, another position or an
//! overstated threshold do not.
use ark_bn254::Fr;
use mpegs_media::commitment::VideoCommitment;
use mpegs_media::{Commitment, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_transcode::circuit::{Sample, Shape, TranscodeCircuit};
use mpegs_transcode::proof::{position_input, Position};
use mpegs_transcode::ssim::{macroblock_score, threshold_fixed};
use mpegs_transcode::video::TILE;
use mpegs_zk::{ConstraintSynthesizer, ConstraintSystem};
use rand::{Rng, SeedableRng};

const W: u32 = 48;
const H: u32 = 32;

/// Smooth frames (a moving gradient plus texture) and a copy with mild noise.
fn videos(frames: u32, noise: i32, seed: u64) -> (Vec<Frame>, Vec<Frame>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let info = FrameInfo::new(PixelFormat::Gray, W, H);
    let mut src = vec![];
    let mut ren = vec![];
    for f in 0..frames {
        let a: Vec<u8> = (0..W * H)
            .map(|i| {
                let (x, y) = (i % W, i / W);
                ((x * 5 + y * 3 + f * 7) % 200 + (x * y) % 40) as u8
            })
            .collect();
        let b: Vec<u8> = a
            .iter()
            .map(|v| (*v as i32 + rng.gen_range(-noise..=noise)).clamp(0, 255) as u8)
            .collect();
        src.push(Frame::new(info, a).unwrap());
        ren.push(Frame::new(info, b).unwrap());
    }
    (src, ren)
}

fn commit(frames: &[Frame]) -> VideoCommitment {
    VideoCommitment::new(
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| Commitment::of_video_frame(f, TILE, &Seed([5; 32]), i as u32).unwrap())
            .collect(),
    )
    .unwrap()
}

fn mb(frame: &Frame, p: &Position) -> Vec<u8> {
    mpegs_media::commitment::tile_bytes(frame, TILE, p.mb_x, p.mb_y)
}

struct Case {
    circuit: TranscodeCircuit,
    public: Vec<Fr>,
}

fn case(src: &[Frame], ren: &[Frame], positions: &[Position], threshold: f64) -> Case {
    let (cs, cr) = (commit(src), commit(ren));
    let header = cr.header;
    let samples: Vec<Sample> = positions
        .iter()
        .map(|p| {
            let f = p.frame as usize;
            Sample {
                position: position_input(&header, p),
                source: mb(&src[f], p),
                rendition: mb(&ren[f], p),
                source_tile: cs.frames[f].opening(p.mb_x, p.mb_y),
                rendition_tile: cr.frames[f].opening(p.mb_x, p.mb_y),
                source_frame_path: cs.tree.path(f),
                rendition_frame_path: cr.tree.path(f),
            }
        })
        .collect();
    let tau = threshold_fixed(threshold).unwrap() as u64;
    let public = TranscodeCircuit::public_inputs(
        cs.value,
        cr.value,
        tau,
        &samples.iter().map(|s| s.position).collect::<Vec<_>>(),
    );
    Case {
        circuit: TranscodeCircuit {
            shape: Shape {
                header,
                frames: src.len() as u64,
                k: samples.len(),
            },
            source: cs.value,
            rendition: cr.value,
            tau,
            source_frames_root: cs.tree.root(),
            rendition_frames_root: cr.tree.root(),
            samples,
        },
        public,
    }
}

fn satisfied(c: TranscodeCircuit) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.generate_constraints(cs.clone()).unwrap();
    cs.is_satisfied().unwrap()
}

fn positions() -> Vec<Position> {
    vec![
        Position {
            frame: 0,
            mb_x: 0,
            mb_y: 0,
        },
        Position {
            frame: 2,
            mb_x: 2,
            mb_y: 1,
        },
        Position {
            frame: 4,
            mb_x: 1,
            mb_y: 0,
        },
    ]
}

#[test]
fn honest_samples_satisfy_and_the_public_inputs_match() {
    let (src, ren) = videos(5, 6, 1);
    let c = case(&src, &ren, &positions(), 0.8);
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.circuit.clone().generate_constraints(cs.clone()).unwrap();
    assert!(cs.is_satisfied().unwrap());
    // The instance is [1, public inputs…] in allocation order.
    let instance = cs.borrow().unwrap().instance_assignment().unwrap().to_vec();
    assert_eq!(&instance[1..], &c.public[..]);
}

#[test]
fn a_changed_pixel_breaks_the_opening() {
    let (src, ren) = videos(5, 6, 2);
    for side in 0..2 {
        let mut c = case(&src, &ren, &positions(), 0.8).circuit;
        let s = &mut c.samples[1];
        let bytes = if side == 0 {
            &mut s.source
        } else {
            &mut s.rendition
        };
        bytes[77] ^= 1;
        assert!(!satisfied(c), "side {side}");
    }
}

#[test]
fn a_rendition_below_the_threshold_cannot_satisfy() {
    let (src, ren) = videos(5, 60, 3);
    let p = positions();
    let scores: Vec<i64> = p
        .iter()
        .map(|q| {
            macroblock_score(
                &mb(&src[q.frame as usize], q),
                &mb(&ren[q.frame as usize], q),
            )
        })
        .collect();
    let worst = *scores.iter().min().unwrap() as f64 / (9.0 * 65536.0);
    // Just above the worst sample's SSIM: honest witnesses fail the margin check.
    assert!(!satisfied(case(&src, &ren, &p, worst + 0.01).circuit));
    assert!(satisfied(case(&src, &ren, &p, worst - 0.01).circuit));
}

#[test]
fn other_commitments_positions_or_frames_fail() {
    let (src, ren) = videos(5, 6, 4);
    let (_, other) = videos(5, 6, 5);
    // Another rendition's commitment as the public input.
    let mut c = case(&src, &ren, &positions(), 0.8).circuit;
    c.rendition = commit(&other).value;
    assert!(!satisfied(c));
    // A sample claimed at another position than the one it opens.
    let mut c = case(&src, &ren, &positions(), 0.8).circuit;
    c.samples[0].position += 1;
    assert!(!satisfied(c));
    // Rendition bytes from another frame at the same macroblock.
    let mut c = case(&src, &ren, &positions(), 0.8).circuit;
    c.samples[2].rendition = mb(&ren[3], &positions()[2]);
    assert!(!satisfied(c));
}
