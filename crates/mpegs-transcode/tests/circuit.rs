//! The transcode circuit on in-memory frames: honest samples satisfy it; a changed
//! pixel, a below-threshold rendition, another commitment, another position or an
//! overstated threshold do not. Partial macroblocks at the right and bottom edges
//! are sampled and scored over their windows inside the frame only; edges too
//! narrow for a window are refused.
use ark_bn254::Fr;
use mpegs_media::commitment::VideoCommitment;
use mpegs_media::{Commitment, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_transcode::circuit::{Sample, Shape, TranscodeCircuit};
use mpegs_transcode::grid::{Grid, Windows};
use mpegs_transcode::proof::{frame_header, position_input, sample_positions, Position};
use mpegs_transcode::ssim::{macroblock_score, passes, score_to_ssim, threshold_fixed};
use mpegs_transcode::video::TILE;
use mpegs_zk::{Builder, Circuit, ConstraintSystem};
use rand::{Rng, SeedableRng};

const W: u32 = 48;
const H: u32 = 32;

/// Smooth frames (a moving gradient plus texture) and a copy with mild noise.
fn videos(frames: u32, noise: i32, seed: u64) -> (Vec<Frame>, Vec<Frame>) {
    videos_of(W, H, frames, noise, seed)
}

/// [`videos`] at another size.
fn videos_of(w: u32, h: u32, frames: u32, noise: i32, seed: u64) -> (Vec<Frame>, Vec<Frame>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let info = FrameInfo::new(PixelFormat::Gray, w, h);
    let mut src = vec![];
    let mut ren = vec![];
    for f in 0..frames {
        let a: Vec<u8> = (0..w * h)
            .map(|i| {
                let (x, y) = (i % w, i / w);
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

/// The lowest native SSIM of the samples, each over its windows inside the frame.
fn worst_ssim(src: &[Frame], ren: &[Frame], positions: &[Position]) -> f64 {
    let grid = Grid::new(src[0].info.width, src[0].info.height);
    positions
        .iter()
        .map(|p| {
            let f = p.frame as usize;
            let windows = grid.windows(p.mb_x, p.mb_y);
            score_to_ssim(
                macroblock_score(&mb(&src[f], p), &mb(&ren[f], p), windows),
                windows,
            )
        })
        .fold(f64::INFINITY, f64::min)
}

fn satisfied(c: TranscodeCircuit) -> bool {
    mpegs_zk::backend::satisfied(c)
}

/// Synthesizes the honest circuit, checks it and returns the statement's public
/// inputs as allocated (before the lookup argument adds its challenges).
fn satisfied_with_instance(c: TranscodeCircuit) -> Vec<Fr> {
    let b = Builder::new(ConstraintSystem::<Fr>::new_ref());
    c.synthesize(&b).unwrap();
    let instance = b.cs.instance_assignment().unwrap();
    assert!(b.is_satisfied().unwrap());
    instance[1..].to_vec()
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
    // The instance is [1, public inputs…] in allocation order.
    assert_eq!(satisfied_with_instance(c.circuit.clone()), c.public);
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
    let worst = worst_ssim(&src, &ren, &p);
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

fn at(frame: u32, mb_x: u32, mb_y: u32) -> Position {
    Position { frame, mb_x, mb_y }
}

/// Replaces the pixels of `frame` in columns `xs` and rows `ys` with noise.
fn damage(frame: &mut Frame, xs: std::ops::Range<u32>, ys: std::ops::Range<u32>, seed: u64) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let w = frame.info.width;
    for y in ys {
        for x in xs.clone() {
            frame.data[(y * w + x) as usize] = rng.gen();
        }
    }
}

/// 44×40: the last column holds 12 pixels (2 window columns), the last row 8
/// (1 window row), the corner 2 windows.
const EW: u32 = 44;
const EH: u32 = 40;

#[test]
fn edge_macroblocks_are_drawn_by_the_sampler() {
    let draw_all = |w: u32, h: u32, frames: u32| {
        let header = frame_header(w, h).unwrap();
        let (cols, rows) = Grid::new(w, h).sampleable();
        let k = cols * rows * frames;
        sample_positions(Fr::from(1u64), Fr::from(2u64), &header, frames, k, 1, None).unwrap()
    };
    // 1080p: the 68th macroblock row (8 pixels high) is sampleable: all 120 of it.
    let all = draw_all(1920, 1080, 1);
    assert_eq!(all.len(), 120 * 68);
    assert_eq!(all.iter().filter(|p| p.mb_y == 67).count(), 120);
    // Both partial edges and their corner.
    let all = draw_all(EW, EH, 2);
    assert!(all.contains(&at(1, 2, 2)) && all.contains(&at(0, 2, 0)));
    // Edges under 8 pixels hold no window and are never drawn.
    let all = draw_all(36, 36, 1);
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|p| p.mb_x < 2 && p.mb_y < 2));
    // A few samples of a 1080p video land in the bottom row about once in 68.
    let header = frame_header(1920, 1080).unwrap();
    let hits = (0..200u32)
        .flat_map(|i| {
            let beacon = format!("{i:04x}");
            sample_positions(
                Fr::from(1u64),
                Fr::from(2u64),
                &header,
                30,
                32,
                1,
                Some(&beacon),
            )
            .unwrap()
        })
        .filter(|p| p.mb_y == 67)
        .count();
    assert!(
        (50..150).contains(&hits),
        "{hits} of 6,400 samples in the bottom row"
    );
}

#[test]
fn honest_edge_macroblocks_satisfy_and_scores_agree_with_the_native_ones() {
    let (src, ren) = videos_of(EW, EH, 2, 30, 6);
    let p = vec![at(0, 2, 2), at(0, 1, 2), at(1, 2, 0), at(1, 1, 1)];
    let c = case(&src, &ren, &p, 0.5);
    assert_eq!(satisfied_with_instance(c.circuit.clone()), c.public);
    // The circuit's weighted score is the native one: satisfiable just below the
    // worst sample's SSIM over its windows inside the frame, not just above.
    let worst = worst_ssim(&src, &ren, &p);
    assert!(satisfied(case(&src, &ren, &p, worst - 0.002).circuit));
    assert!(!satisfied(case(&src, &ren, &p, worst + 0.002).circuit));
}

#[test]
fn renditions_damaged_only_at_the_edges_fail() {
    let (src, ren) = videos_of(EW, EH, 2, 4, 7);
    // Garbage in the bottom 8 rows (the partial row), or the right 12 columns.
    let mut bottom = ren.clone();
    damage(&mut bottom[1], 0..EW, 32..EH, 1);
    let mut right = ren.clone();
    damage(&mut right[0], 32..EW, 0..EH, 2);
    for (damaged, p) in [(&bottom, at(1, 1, 2)), (&right, at(0, 2, 2))] {
        let f = p.frame as usize;
        let (a, b) = (mb(&src[f], &p), mb(&damaged[f], &p));
        let inside = Grid::new(EW, EH).windows(p.mb_x, p.mb_y);
        assert!(inside.count() < 9);
        // Counting the padded windows (zeros against zeros: a perfect match) would
        // lift this macroblock well above what its pixels in the frame score; a
        // threshold between the two must refuse it.
        let padded = score_to_ssim(macroblock_score(&a, &b, Windows::ALL), Windows::ALL);
        let real = score_to_ssim(macroblock_score(&a, &b, inside), inside);
        assert!(padded - real > 0.2, "{p:?}: {padded} vs {real}");
        let threshold = (padded + real) / 2.0;
        let tau = threshold_fixed(threshold).unwrap();
        assert!(passes(
            macroblock_score(&a, &b, Windows::ALL),
            Windows::ALL,
            tau
        ));
        assert!(!passes(macroblock_score(&a, &b, inside), inside, tau));
        let samples = [at(0, 0, 0), p];
        assert!(
            !satisfied(case(&src, damaged, &samples, threshold).circuit),
            "{p:?}"
        );
        // The honest rendition passes at the same threshold and positions.
        assert!(
            satisfied(case(&src, &ren, &samples, threshold).circuit),
            "{p:?}"
        );
    }
}

#[test]
fn edges_without_a_window_cannot_be_sampled() {
    // 36×36: 4-pixel last column and row. An honest opening of one of their
    // macroblocks (all its windows reach into the padding) is refused.
    let (src, ren) = videos_of(36, 36, 2, 4, 8);
    assert!(satisfied(case(&src, &ren, &[at(0, 1, 1)], 0.5).circuit));
    for p in [at(0, 2, 0), at(1, 0, 2), at(1, 2, 2)] {
        assert!(!satisfied(case(&src, &ren, &[p], 0.5).circuit), "{p:?}");
    }
}

#[test]
fn edge_flags_cost_nine_constraints_a_sample() {
    // Same tile count (4 × 4), depth and frames; 60×56 has a 12-pixel last column
    // and an 8-pixel last row. Per sample: two equality flags (2 each), their
    // product, three weighted group sums and τ times the counted windows.
    let per_sample = |w, h| {
        let count = |k| {
            let shape = Shape {
                header: frame_header(w, h).unwrap(),
                frames: 5,
                k,
            };
            let b = Builder::new(ConstraintSystem::<Fr>::new_ref());
            TranscodeCircuit::blank(shape).synthesize(&b).unwrap();
            b.cost()
        };
        count(2) - count(1)
    };
    let (full, edges) = (per_sample(64, 64), per_sample(60, 56));
    eprintln!("constraints per sample: 64x64 {full}, 60x56 {edges}");
    assert_eq!(edges - full, 9);
}
