//! Tiny and degenerate frames never make a filter panic: each either refuses the
//! input with an error or runs natively and plans every tile (its circuit built
//! for the smallest sizes too).

use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::plan::Step;
use mpegs_filters::{apply, parse_filtergraph};
use mpegs_media::{Commitment, MediaHeader, PixelFormat, Seed};
mod common;
use common::random_frame;

const FILTERS: &[&str] = &[
    "scale=1:1:flags=neighbor",
    "scale=1:1:flags=area+accurate_rnd",
    "scale=3:2:flags=bilinear+accurate_rnd",
    "scale=iw*3:ih*2:flags=area+accurate_rnd",
    "scale=-2:-2:flags=neighbor",
    "boxblur",
    "boxblur=1:3",
    "boxblur=0:0",
    "pad=iw+3:ih+1:-1:-1:red",
    "pad",
    "drawbox=-5:-5:100:100:blue:t=fill",
    "drawbox=0:0:1:1:white:t=0",
    "drawbox=1:1:1:1",
    "lut=negval",
    "lutrgb=r=val*2",
];

#[test]
fn tiny_frames_are_handled_or_refused_without_panics() {
    for (w, h) in [(1, 1), (1, 5), (5, 1), (2, 2), (3, 7)] {
        for format in [PixelFormat::Gray, PixelFormat::Rgb24] {
            let input = random_frame(format, w, h, (w * 10 + h) as u64);
            for vf in FILTERS {
                let chain = parse_filtergraph(vf).unwrap();
                let filter = chain.filters[0].as_ref();
                let header = MediaHeader::new(input.info, 4).unwrap();
                let Ok(step) = Step::new(filter, header) else {
                    continue; // refused with an error: fine
                };
                let output = apply(filter, &input).unwrap();
                assert_eq!(output.info, step.output.info(), "{vf} on {w}x{h}");
                let c_in = Commitment::of_frame(&input, 4, &Seed::random()).unwrap();
                let c_out = Commitment::of_frame(&output, 4, &Seed::random()).unwrap();
                for plan in step.plans() {
                    let circuit = TileCircuit::new(&step, &plan, &input, &c_in, &c_out);
                    let outcome = mpegs_zk::backend::check(circuit);
                    assert!(outcome.is_ok(), "{vf} on {w}x{h} {format}: {outcome:?}");
                }
            }
        }
    }
}
