//! Instruction counts under callgrind: 2,000 width-13 permutations, or (with an
//! argument) one 1280×720 gray frame committed at tile 16 and one at tile 64.
use ark_bn254::Fr;
use mpegs_media::{Commitment, Frame, FrameInfo, PixelFormat, Seed};
fn main() {
    if std::env::args().nth(1).is_some() {
        let info = FrameInfo::new(PixelFormat::Gray, 1280, 720);
        let frame = Frame::new(info, (0..info.byte_len()).map(|i| i as u8).collect()).unwrap();
        for tile in [16, 64] {
            std::hint::black_box(Commitment::of_frame(&frame, tile, &Seed::PUBLIC).unwrap());
        }
        return;
    }
    let inputs: Vec<Fr> = (0..12u64).map(Fr::from).collect();
    for _ in 0..2000 {
        std::hint::black_box(mpegs_media::poseidon::hash(std::hint::black_box(&inputs)));
    }
}
