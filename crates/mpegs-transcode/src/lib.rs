//! mpegs-transcode owns proof of transcode: FFmpeg's integer SSIM natively
//! ([`ssim`], matching `ffmpeg -lavfi ssim`), the video commitments a proof
//! compares ([`video`]: luma frames, tile 16, the source downscaled with the
//! filter library's exact `scale` when the rendition is smaller), the Groth16
//! circuit that opens sampled macroblocks from both commitments and bounds their
//! SSIM by cross-multiplication ([`circuit`]), which macroblocks can be sampled
//! and which of their windows count at the frame's edges ([`grid`]), and the
//! sampling, proof file, proving and verification under the verifier's policy
//! ([`proof`]). See docs/transcode-proofs.md.

pub mod circuit;
pub mod grid;
pub mod proof;
pub mod ssim;
pub mod video;

/// Errors from reading videos, sampling, proving and verifying.
#[derive(Debug, thiserror::Error)]
pub enum TranscodeError {
    #[error(transparent)]
    Media(#[from] mpegs_media::MediaError),
    #[error(transparent)]
    Filter(#[from] mpegs_filters::FilterError),
    #[error(transparent)]
    Zk(#[from] mpegs_zk::ZkError),
    #[error("{0}")]
    Options(String),
    #[error("the videos do not match: {0}")]
    Mismatch(String),
    #[error(
        "sampled macroblock {index} (frame {frame}, macroblock {mb_x},{mb_y}) has SSIM {ssim:.4}, \
         below the threshold {threshold}: this rendition is not a faithful transcode"
    )]
    BelowThreshold {
        index: usize,
        frame: u32,
        mb_x: u32,
        mb_y: u32,
        ssim: f64,
        threshold: f64,
    },
}
