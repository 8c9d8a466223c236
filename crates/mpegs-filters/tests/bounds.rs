//! Every value packed into an output digest is a byte.
//!
//! Each registered filter is walked at its worst-case parameters: either it is
//! refused when configured, or every output value is provably at most 255 — for
//! region kernels by the static bound each value carries (checked here directly),
//! for pointwise and gather kernels by construction (`OutByte`; checked here
//! against the native bytes over every input value). And the framework refuses a
//! kernel that breaks the rule, natively and in-circuit, even when the wrong
//! "byte" would open the committed tile.

use ark_bn254::Fr;
use mpegs_filters::arith::{Arith, Val};
use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::plan::Step;
use mpegs_filters::{
    apply, parse_filtergraph, Filter, FilterError, Kernel, Rect, RegionKernel, FILTERS,
};
use mpegs_media::{Commitment, Frame, FrameInfo, MediaHeader, PixelFormat, Seed};
use mpegs_zk::range::witness_bytes;
use mpegs_zk::{Builder, Circuit, ConstraintSystem, SynthesisError};
mod common;
use common::random_frame;

/// What a worst case must do.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Accepted, every output a byte.
    Bytes,
    /// Refused when configured, with an error that contains this text.
    Refused(&'static str),
}

struct Case {
    vf: String,
    input: FrameInfo,
    expect: Expect,
}

fn case(vf: &str, format: PixelFormat, w: u32, h: u32, expect: Expect) -> Case {
    Case {
        vf: vf.into(),
        input: FrameInfo::new(format, w, h),
        expect,
    }
}

/// The worst cases of every filter: the largest weights, ratios and radii that are
/// accepted, and the first ones past each limit.
fn worst_cases(watermark: &str) -> Vec<Case> {
    use Expect::{Bytes, Refused};
    use PixelFormat::{Gray, Rgb24};
    let mut cases = vec![
        case("crop=1:1:7:7", Rgb24, 8, 8, Bytes),
        case("hflip", Rgb24, 5, 3, Bytes),
        case("vflip", Rgb24, 5, 3, Bytes),
        case("transpose=1", Rgb24, 5, 3, Bytes),
        case("format=gray", Rgb24, 4, 4, Bytes),
        case("format=rgb24", Rgb24, 4, 4, Bytes),
        case("negate", Rgb24, 4, 4, Bytes),
        case("eq=contrast=7.89:brightness=1", Gray, 4, 4, Bytes),
        case("eq=contrast=-7.89:brightness=-1", Gray, 4, 4, Bytes),
        case("eq=contrast=7.9", Gray, 4, 4, Refused("7.9")),
        case("lut=val*100000000", Gray, 4, 4, Bytes),
        case("lut=-val*300+maxval", Gray, 4, 4, Bytes),
        case("lutrgb=r=val*256:g=negval*2:b=val-255", Rgb24, 4, 4, Bytes),
        case("pad=iw+8:ih+8:4:4:white", Rgb24, 4, 4, Bytes),
        case("drawbox=-2:-2:100:100:white:t=fill", Gray, 6, 6, Bytes),
        // scale: the largest downscale, large upscales, odd ratios, one tap.
        case(
            "scale=iw/32:ih/32:flags=area+accurate_rnd",
            Gray,
            256,
            128,
            Bytes,
        ),
        case(
            "scale=iw/32:ih/32:flags=bilinear+accurate_rnd",
            Gray,
            256,
            128,
            Bytes,
        ),
        case(
            "scale=iw*16:ih*9:flags=bilinear+accurate_rnd",
            Gray,
            8,
            8,
            Bytes,
        ),
        case(
            "scale=iw*16:ih*9:flags=area+accurate_rnd",
            Gray,
            8,
            8,
            Bytes,
        ),
        case("scale=37:23:flags=area+accurate_rnd", Gray, 100, 71, Bytes),
        case("scale=3:2:flags=bilinear+accurate_rnd", Gray, 95, 63, Bytes),
        case("scale=iw*3:ih/7:flags=neighbor", Gray, 20, 70, Bytes),
        case(
            "scale=iw/33:ih:flags=area+accurate_rnd",
            Gray,
            264,
            8,
            Refused("32x"),
        ),
        // boxblur: the largest radius below the first that wraps, at the most
        // passes; a radius above it that does not wrap; and the wrapping ones.
        case("boxblur=176:8", Gray, 353, 353, Bytes),
        case("boxblur=186:2", Rgb24, 373, 373, Bytes),
        case("boxblur=177:1", Gray, 360, 360, Refused("luma_radius")),
        case("boxblur=177:8", Rgb24, 360, 360, Refused("luma_radius")),
        case("boxblur=1007:1", Gray, 2048, 2048, Refused("luma_radius")),
    ];
    cases.push(case(
        &format!("overlay=-1:-1:format=rgb:file={watermark}"),
        Rgb24,
        6,
        5,
        Bytes,
    ));
    cases
}

/// The filter of `vf`, configured for `input`, or the error refusing it.
fn configure(vf: &str, input: FrameInfo) -> Result<std::sync::Arc<dyn Filter>, FilterError> {
    let mut chain = parse_filtergraph(vf)?;
    let filter = chain.filters.remove(0);
    filter.output_info(input)?;
    Ok(filter)
}

/// The largest bound of a region kernel's outputs over the whole frame.
fn region_bound(k: &dyn RegionKernel, input: FrameInfo, output: FrameInfo) -> u64 {
    let out = Rect::new(0, 0, output.width, output.height);
    let vals = k
        .compute(&Arith::native(), input, out, &|_, _, _| Val::input(255))
        .expect("computes");
    assert_eq!(vals.len(), output.byte_len());
    vals.iter().map(Val::max).max().unwrap_or(0)
}

/// The pointwise circuit agrees with the native bytes on every input value, in
/// every channel at once (its outputs are `OutByte`s: bytes by construction).
fn check_pointwise(f: &dyn Filter, input: FrameInfo, output: FrameInfo) {
    let Kernel::Pointwise(k) = f.kernel() else {
        unreachable!()
    };
    let (c_in, c_out) = (input.format.channels(), output.format.channels());
    let cs = ConstraintSystem::<Fr>::new_ref();
    let b = Builder::new(cs.clone());
    for v in 0..=255u8 {
        let pixel: Vec<u8> = [v, 255 - v, v.wrapping_mul(37)][..c_in].to_vec();
        let mut native = vec![0u8; c_out];
        k.apply_pixel(&pixel, &mut native);
        let bytes = witness_bytes(&b, &pixel.iter().map(|p| Some(*p)).collect::<Vec<_>>());
        let out = k.synthesize_pixel(&b, &bytes.unwrap()).unwrap();
        let got: Vec<Option<Fr>> = out.iter().map(|o| o.num().value).collect();
        let want: Vec<Option<Fr>> = native.iter().map(|n| Some(Fr::from(*n as u64))).collect();
        assert_eq!(got, want, "{}: pixel {pixel:?}", f.canonical());
    }
    assert!(b.is_satisfied().unwrap(), "{}", f.canonical());
}

/// Checks one accepted worst case; returns the largest output bound seen.
fn check_bytes(vf: &str, f: &dyn Filter, input: FrameInfo) -> u64 {
    let output = f.output_info(input).unwrap();
    match f.kernel() {
        // `apply` would run this same compute band by band (ten times over for
        // the big blurs) and check these same bounds, so it is not repeated here.
        Kernel::Region(k) => return region_bound(k, input, output),
        Kernel::Pointwise(_) => check_pointwise(f, input, output),
        Kernel::Gather(_) => {} // copies of input bytes and constant `u8`s
    }
    let white = Frame::new(input, vec![255; input.byte_len()]).unwrap();
    apply(f, &white).unwrap_or_else(|e| panic!("{vf}: {e}"));
    255
}

#[test]
fn every_filter_at_its_worst_case_outputs_bytes_or_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    mpegs_media::save_png_atomic(&random_frame(PixelFormat::Rgb24, 3, 2, 7), &logo).unwrap();
    let cases = worst_cases(&logo.display().to_string());
    for spec in FILTERS {
        let named = |c: &Case| c.vf.split(['=', ',']).next() == Some(spec.name);
        assert!(cases.iter().any(named), "no worst case for {}", spec.name);
    }
    for c in &cases {
        match (configure(&c.vf, c.input), c.expect) {
            (Ok(f), Expect::Bytes) => {
                let bound = check_bytes(&c.vf, f.as_ref(), c.input);
                assert!(bound <= 255, "{}: an output is bounded by {bound}", c.vf);
            }
            (Ok(f), Expect::Refused(_)) => {
                // Say how far past a byte the accepted parameters would go.
                let bound = match f.kernel() {
                    Kernel::Region(k) => region_bound(k, c.input, f.output_info(c.input).unwrap()),
                    _ => 255,
                };
                panic!("{}: accepted, with outputs bounded by {bound}", c.vf)
            }
            (Err(e), Expect::Refused(text)) => {
                assert!(e.to_string().contains(text), "{}: {e}", c.vf)
            }
            (Err(e), Expect::Bytes) => panic!("{}: refused: {e}", c.vf),
        }
    }
}

/// A kernel past its bound: `v + 2`, bounded by 257 — what boxblur=177 computed.
#[derive(Debug)]
struct PlusTwo;

impl Filter for PlusTwo {
    fn name(&self) -> &'static str {
        "plus_two"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Region(self)
    }
}

impl RegionKernel for PlusTwo {
    fn reads(&self, _input: FrameInfo, out: Rect) -> Rect {
        out
    }
    fn describe(&self, _: FrameInfo, out: Rect, origin: (u32, u32)) -> serde_json::Value {
        serde_json::json!([out.x - origin.0, out.y - origin.1, out.w, out.h])
    }
    fn compute(
        &self,
        a: &Arith,
        _input: FrameInfo,
        out: Rect,
        src: &dyn Fn(u32, u32, usize) -> Val,
    ) -> Result<Vec<Val>, SynthesisError> {
        let pixels =
            (out.y..out.y + out.h).flat_map(|y| (out.x..out.x + out.w).map(move |x| (x, y)));
        Ok(pixels
            .map(|(x, y)| a.lin(&[(1, &src(x, y, 0))], 2))
            .collect())
    }
}

#[test]
fn an_output_past_255_is_refused_even_where_its_digest_would_open() {
    const TILE: u32 = 4;
    // Input: 255 then zeros; PlusTwo makes 257, 2, 2, … . Packed little-endian,
    // 257·256⁰ + 2·256¹ is the canonical 1·256⁰ + 3·256¹: the bytes 1, 3, 2, 2, …
    // open the same digest, so an unchecked 257 would prove a false image.
    let info = FrameInfo::new(PixelFormat::Gray, 8, 4);
    let mut data = vec![0u8; info.byte_len()];
    data[0] = 255;
    let input = Frame::new(info, data).unwrap();
    let mut forged = vec![2u8; info.byte_len()];
    (forged[0], forged[1]) = (1, 3);
    let forged = Frame::new(info, forged).unwrap();

    let step = Step::new(&PlusTwo, MediaHeader::new(info, TILE).unwrap()).unwrap();
    let c_in = Commitment::of_frame(&input, TILE, &Seed::PUBLIC).unwrap();
    let c_out = Commitment::of_frame(&forged, TILE, &Seed::PUBLIC).unwrap();
    let plans = step.plans();
    let circuit = TileCircuit::new(&step, &plans[0], &input, &c_in, &c_out);
    let b = Builder::new(ConstraintSystem::<Fr>::new_ref());
    let laid_out = circuit.synthesize(&b);
    assert!(
        laid_out.is_err() || !b.is_satisfied().unwrap(),
        "a 257 opened the forged tile"
    );
    assert_eq!(laid_out, Err(SynthesisError::Unsatisfiable));
    // No key either: setup lays out the same constraints.
    let blank = TileCircuit::blank(&step, &plans[0]);
    let b = Builder::new(ConstraintSystem::<Fr>::new_ref());
    assert_eq!(blank.synthesize(&b), Err(SynthesisError::Unsatisfiable));
    // Natively the same bound is refused, whatever the pixels (even all zeros).
    let black = Frame::new(info, vec![0; info.byte_len()]).unwrap();
    let e = apply(&PlusTwo, &black).unwrap_err().to_string();
    assert!(e.contains("bounded by 257"), "{e}");
}

#[test]
fn boxblur_177_on_a_white_frame_cannot_emit_257() {
    // ffmpeg wraps this blur's 256 to 0 (white turns black); the circuit used to
    // carry 257 into the digest. Now the radius is refused, naming the option.
    let info = FrameInfo::new(PixelFormat::Gray, 360, 360);
    let e = configure("boxblur=177:1", info).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, FilterError::InvalidValue { option, .. } if option == "luma_radius"),
        "{text}"
    );
    assert!(text.contains("256") && text.contains("177"), "{text}");
    // Its neighbours that do not wrap are accepted.
    for ok in ["boxblur=176:1", "boxblur=186:1"] {
        assert!(parse_filtergraph(ok).is_ok(), "{ok}");
    }
}
