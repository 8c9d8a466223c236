//! Every filter's circuit accepts the honest witness on every tile (including edge
//! tiles of non-aligned sizes) and rejects tampering: a changed output pixel, a
//! changed parameter, a tile claimed at another position, a wrong input commitment.

use ark_bn254::Fr;
use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::plan::{Shape, Step};
use mpegs_filters::{apply, parse_filtergraph};
use mpegs_media::{Commitment, Frame, MediaHeader, PixelFormat, Seed};
mod common;
use common::random_frame;

const TILE: u32 = 4;

/// Whether the circuit can be built and its constraints hold (a witness the
/// circuit refuses to even lay out counts as rejected).
fn satisfied(circuit: TileCircuit<'_>) -> bool {
    mpegs_zk::backend::satisfied(circuit)
}

/// Checks every output tile of `vf` on `input` and returns the number of tiles.
fn check_all_tiles(vf: &str, input: &Frame) -> usize {
    let chain = parse_filtergraph(vf).unwrap();
    let filter = chain.filters[0].as_ref();
    let header = MediaHeader::new(input.info, TILE).unwrap();
    let step = Step::new(filter, header).unwrap();
    let output = apply(filter, input).unwrap();
    let c_in = Commitment::of_frame(input, TILE, &Seed::random()).unwrap();
    let c_out = Commitment::of_frame(&output, TILE, &Seed::random()).unwrap();
    let plans = step.plans();
    for plan in &plans {
        assert!(
            satisfied(TileCircuit::new(&step, plan, input, &c_in, &c_out)),
            "{vf}: honest tile {:?} rejected",
            plan.out_tile
        );
    }
    plans.len()
}

#[test]
fn honest_witnesses_satisfy_every_filter_on_every_tile() {
    let rgb = random_frame(PixelFormat::Rgb24, 11, 7, 1);
    let gray = random_frame(PixelFormat::Gray, 9, 13, 2);
    for vf in [
        "crop=5:4:3:2",
        "crop=8:4:0:3",
        "hflip",
        "vflip",
        "transpose=0",
        "transpose=1",
        "transpose=2",
        "transpose=3",
        "format=gray",
        "format=rgb24",
        "negate",
        "pad=15:10:2:1:0x336699",
        "drawbox=2:1:6:4:red:t=fill",
        "drawbox=-1:2:8:9:white:t=1",
        "boxblur=1:2",
        "lutrgb=r=negval:b=val/2",
    ] {
        assert!(check_all_tiles(vf, &rgb) > 1, "{vf}");
    }
    for vf in [
        "crop=5:6:1:1",
        "hflip",
        "vflip",
        "transpose=clock",
        "format=gray",
        "negate",
        "eq=brightness=0.1",
        "eq=contrast=1.5:brightness=-0.2",
        "eq=contrast=-0.5",
        "lut=negval",
        "pad=12:16:-1:-1:white",
        "drawbox=1:3:5:5:black:t=fill",
        "boxblur",
        "boxblur=3:1",
        "scale=9:6:flags=neighbor",
        "scale=4:6:flags=area+accurate_rnd",
        "scale=3:5:flags=bilinear+accurate_rnd",
        "scale=7:11:flags=area+accurate_rnd",
        "scale=12:20:flags=bilinear+accurate_rnd",
    ] {
        assert!(check_all_tiles(vf, &gray) > 1, "{vf}");
    }
}

/// Whether every tile of `claim` applied to `input` accepts `output`.
fn all_tiles_hold(claim: &dyn mpegs_filters::Filter, input: &Frame, output: &Frame) -> bool {
    let header = MediaHeader::new(input.info, TILE).unwrap();
    let step = Step::new(claim, header).unwrap();
    let c_in = Commitment::of_frame(input, TILE, &Seed::random()).unwrap();
    let c_out = Commitment::of_frame(output, TILE, &Seed::random()).unwrap();
    step.plans()
        .iter()
        .all(|p| satisfied(TileCircuit::new(&step, p, input, &c_in, &c_out)))
}

/// Runs one tampering scenario on tile 0 of a step; returns whether it is satisfied.
fn tampered(vf: &str, input: &Frame, scenario: &str) -> bool {
    let chain = parse_filtergraph(vf).unwrap();
    let filter = chain.filters[0].as_ref();
    let header = MediaHeader::new(input.info, TILE).unwrap();
    let step = Step::new(filter, header).unwrap();
    let mut output = apply(filter, input).unwrap();
    let plans = step.plans();
    let plan = &plans[0];
    let c_in = Commitment::of_frame(input, TILE, &Seed::random()).unwrap();
    match scenario {
        "output pixel" => {
            output.data[0] ^= 1;
            let c_out = Commitment::of_frame(&output, TILE, &Seed::random()).unwrap();
            satisfied(TileCircuit::new(&step, plan, input, &c_in, &c_out))
        }
        "input pixel" => {
            // The prover uses a different original than the committed one.
            let c_out = Commitment::of_frame(&output, TILE, &Seed::random()).unwrap();
            let mut circuit = TileCircuit::new(&step, plan, input, &c_in, &c_out);
            circuit.inputs[0][1] ^= 0x40;
            satisfied(circuit)
        }
        "input commitment" => {
            let c_out = Commitment::of_frame(&output, TILE, &Seed::random()).unwrap();
            let mut circuit = TileCircuit::new(&step, plan, input, &c_in, &c_out);
            circuit.c_in += Fr::from(1u64);
            satisfied(circuit)
        }
        "tile position" => {
            // Tile 0's proof presented as the proof of tile 1 (swapped digests).
            let c_out = Commitment::of_frame(&output, TILE, &Seed::random()).unwrap();
            let moved = mpegs_filters::plan::TilePlan {
                out_tile: plans[1].out_tile,
                ..plan.clone()
            };
            let mut circuit = TileCircuit::new(&step, &moved, input, &c_in, &c_out);
            circuit.output_opening = c_out.opening(plan.out_tile.0, plan.out_tile.1);
            satisfied(circuit)
        }
        "output blinding" => {
            // Honest pixels, but the output tile hashed with another blinding: the
            // published commitment (recomputed from the revealed seed) binds it.
            let c_out = Commitment::of_frame(&output, TILE, &Seed::random()).unwrap();
            let mut circuit = TileCircuit::new(&step, plan, input, &c_in, &c_out);
            circuit.output_opening.blind += Fr::from(1u64);
            satisfied(circuit)
        }
        "input blinding" => {
            let c_out = Commitment::of_frame(&output, TILE, &Seed::random()).unwrap();
            let mut circuit = TileCircuit::new(&step, plan, input, &c_in, &c_out);
            circuit.input_openings[0].blind += Fr::from(1u64);
            satisfied(circuit)
        }
        _ => unreachable!(),
    }
}

#[test]
fn tampering_is_unsatisfiable_for_every_filter() {
    let rgb = random_frame(PixelFormat::Rgb24, 10, 9, 3);
    let gray = random_frame(PixelFormat::Gray, 10, 9, 4);
    let cases: &[(&str, &Frame)] = &[
        ("crop=6:5:1:2", &rgb),
        ("hflip", &rgb),
        ("vflip", &gray),
        ("transpose=1", &rgb),
        ("format=gray", &rgb),
        ("negate", &rgb),
        ("eq=brightness=0.3:contrast=1.2", &gray),
        ("lutrgb=g=negval", &rgb),
        ("lut=val*1.5", &gray),
        ("pad=14:12:1:2:white", &rgb),
        ("drawbox=2:2:5:4:black:t=fill", &rgb),
        ("boxblur=2:2", &gray),
        ("boxblur=1:1", &rgb),
        ("scale=5:4:flags=area+accurate_rnd", &gray),
        ("scale=7:6:flags=bilinear+accurate_rnd", &gray),
        ("scale=5:9:flags=neighbor", &gray),
    ];
    for (vf, input) in cases {
        assert!(!tampered(vf, input, "output pixel"), "{vf}: output pixel");
        assert!(!tampered(vf, input, "input pixel"), "{vf}: input pixel");
        assert!(
            !tampered(vf, input, "input commitment"),
            "{vf}: input commitment"
        );
        assert!(!tampered(vf, input, "tile position"), "{vf}: tile position");
        assert!(
            !tampered(vf, input, "output blinding"),
            "{vf}: output blinding"
        );
        assert!(
            !tampered(vf, input, "input blinding"),
            "{vf}: input blinding"
        );
    }
}

#[test]
fn a_changed_parameter_is_unsatisfiable() {
    // The output was made with one parameter; the circuit for another cannot open it.
    let input = random_frame(PixelFormat::Gray, 8, 8, 5);
    for (made_with, claimed) in [
        ("crop=4:4:1:1", "crop=4:4:2:1"),
        ("eq=brightness=0.1", "eq=brightness=0.12"),
        ("transpose=1", "transpose=2"),
        ("hflip", "vflip"),
        ("lut=negval", "lut=val"),
        ("pad=12:10:1:1", "pad=12:10:2:1"),
        ("pad=12:10:1:1:black", "pad=12:10:1:1:white"),
        (
            "drawbox=1:1:3:3:black:t=fill",
            "drawbox=1:1:3:4:black:t=fill",
        ),
        (
            "drawbox=1:1:3:3:black:t=fill",
            "drawbox=1:1:3:3:0x010101:t=fill",
        ),
        ("boxblur=1:1", "boxblur=1:2"),
        ("boxblur=2:1", "boxblur=1:1"),
        (
            "scale=4:4:flags=area+accurate_rnd",
            "scale=4:4:flags=bilinear+accurate_rnd",
        ),
        (
            "scale=4:4:flags=neighbor",
            "scale=4:4:flags=area+accurate_rnd",
        ),
    ] {
        let real = parse_filtergraph(made_with).unwrap();
        let output = apply(real.filters[0].as_ref(), &input).unwrap();
        let claim = parse_filtergraph(claimed).unwrap();
        assert!(
            !all_tiles_hold(claim.filters[0].as_ref(), &input, &output),
            "{claimed} accepted output of {made_with}"
        );
    }
}

#[test]
fn tiles_with_the_same_structure_share_a_circuit() {
    let input = random_frame(PixelFormat::Rgb24, 18, 9, 6);
    let chain = parse_filtergraph("crop=12:8:1:1,hflip,format=gray").unwrap();
    let mut header = MediaHeader::new(input.info, TILE).unwrap();
    for filter in &chain.filters {
        let step = Step::new(filter.as_ref(), header).unwrap();
        let plans = step.plans();
        let mut ids: Vec<String> = plans.iter().map(|p| step.circuit_id(&p.shape)).collect();
        ids.sort();
        ids.dedup();
        assert!(
            ids.len() < plans.len(),
            "{}: {} ids for {} tiles",
            filter.name(),
            ids.len(),
            plans.len()
        );
        assert!(ids.len() <= 4, "{}: {ids:?}", filter.name());
        if let Shape::Gather { slots, .. } = &plans[0].shape {
            assert!(*slots >= 1 && *slots <= 4);
        }
        header = step.output;
    }
}

/// The redaction statement: everything outside the box is the original, the box is
/// the stated colour. Leaving any original pixel in the box, or changing a pixel
/// outside it, makes some tile's circuit unsatisfiable.
#[test]
fn drawbox_redaction_cannot_leak_or_alter() {
    let input = random_frame(PixelFormat::Rgb24, 12, 10, 7);
    let vf = "drawbox=3:2:6:5:black:t=fill";
    let chain = parse_filtergraph(vf).unwrap();
    let filter = chain.filters[0].as_ref();
    let honest = apply(filter, &input).unwrap();
    let all_hold = |output: &Frame| all_tiles_hold(filter, &input, output);
    assert!(all_hold(&honest));
    // One original pixel left visible inside the box.
    let mut leak = honest.clone();
    let i = ((4 * 12 + 5) * 3) as usize;
    leak.data[i..i + 3].copy_from_slice(&input.data[i..i + 3]);
    assert!(
        !all_hold(&leak),
        "a pixel inside the box kept its original value"
    );
    // A pixel outside the box changed.
    let mut altered = honest.clone();
    altered.data[((9 * 12 + 11) * 3) as usize] ^= 0x80;
    assert!(!all_hold(&altered), "a pixel outside the box was altered");
}

#[test]
fn region_filters_share_circuits_between_interior_tiles() {
    let input = random_frame(PixelFormat::Gray, 40, 40, 8);
    for vf in [
        "boxblur=1:1",
        "scale=20:20:flags=area+accurate_rnd",
        "scale=20:20:flags=bilinear+accurate_rnd",
    ] {
        let chain = parse_filtergraph(vf).unwrap();
        let header = MediaHeader::new(input.info, TILE).unwrap();
        let step = Step::new(chain.filters[0].as_ref(), header).unwrap();
        let plans = step.plans();
        let mut ids: Vec<String> = plans.iter().map(|p| step.circuit_id(&p.shape)).collect();
        ids.sort();
        ids.dedup();
        // Interior tiles are alike; only the border rows and columns differ.
        assert!(
            ids.len() <= 9,
            "{vf}: {} ids for {} tiles",
            ids.len(),
            plans.len()
        );
    }
}

/// The watermark is part of the statement: its pixels are circuit constants and its
/// commitment is in the canonical parameters. Another logo, or a changed stamped
/// pixel, does not verify.
#[test]
fn overlay_binds_the_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let logo_a = dir.path().join("a.png");
    let logo_b = dir.path().join("b.png");
    mpegs_media::save_png_atomic(&random_frame(PixelFormat::Rgb24, 5, 3, 9), &logo_a).unwrap();
    mpegs_media::save_png_atomic(&random_frame(PixelFormat::Rgb24, 5, 3, 10), &logo_b).unwrap();
    let input = random_frame(PixelFormat::Rgb24, 11, 9, 11);
    let vf_a = format!("overlay=x=2:y=3:format=rgb:file={}", logo_a.display());
    let vf_b = format!("overlay=x=2:y=3:format=rgb:file={}", logo_b.display());
    assert!(check_all_tiles(&vf_a, &input) > 1);
    assert!(!tampered(&vf_a, &input, "output pixel"));
    assert!(!tampered(&vf_a, &input, "input commitment"));

    let a = parse_filtergraph(&vf_a).unwrap();
    let b = parse_filtergraph(&vf_b).unwrap();
    assert_ne!(
        a.canonical(),
        b.canonical(),
        "the commitment names the logo"
    );
    let output = apply(a.filters[0].as_ref(), &input).unwrap();
    assert!(
        !all_tiles_hold(b.filters[0].as_ref(), &input, &output),
        "logo B's circuit accepted logo A's stamp"
    );
    let header = MediaHeader::new(input.info, TILE).unwrap();

    // Rebuilt from its canonical form (as a verifier does) the filter has the same
    // plans but no pixels, so it cannot lay out a circuit on its own.
    let rebuilt = parse_filtergraph(&a.canonical()).unwrap();
    assert_eq!(rebuilt.canonical(), a.canonical());
    let step = Step::new(rebuilt.filters[0].as_ref(), header).unwrap();
    let plan = &step.plans()[0];
    assert!(!satisfied(TileCircuit::blank(&step, plan)));
}
