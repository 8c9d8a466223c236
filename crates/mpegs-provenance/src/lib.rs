//! mpegs-provenance owns the provenance story of a media item: device keys and
//! EIP-712 capture attestations ([`attest`]), the versioned proof bundle
//! ([`bundle`]), proving filter chains into bundles ([`prove`]) and verifying a
//! media file against its bundle down to the device signature ([`verify`]).

pub mod attest;
pub mod bundle;
pub mod limits;
pub mod prove;
pub mod verify;

pub use bundle::{secret_path, sidecar_path, Bundle, MediaSecret};

/// Errors from producing bundles.
#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error("{0}")]
    Input(String),
    #[error("malformed bundle: {0}")]
    Malformed(String),
    #[error(transparent)]
    Media(#[from] mpegs_media::MediaError),
    #[error(transparent)]
    Filter(#[from] mpegs_filters::FilterError),
    #[error(transparent)]
    Zk(#[from] mpegs_zk::ZkError),
}
