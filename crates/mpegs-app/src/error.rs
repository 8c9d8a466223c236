//! Errors of the use cases, with their sources kept.

/// Why a use case did not produce its outcome.
///
/// Two kinds matter to a front end: [`AppError::is_rejection`] errors are
/// verdicts (the CLI's exit 1: something did not verify, or the chain refused),
/// the others are usage or input errors (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input that no domain crate reported (paths, sizes, missing secrets).
    #[error("{0}")]
    Input(String),
    /// Private media whose secret seed is not at hand.
    #[error("{bundle} keeps the input private and its secret file {secret} is missing")]
    MissingSecret { bundle: String, secret: String },
    /// The input of an edit carries a history that does not verify: an edit
    /// never extends it.
    #[error("the input's bundle {bundle} does not verify: {reason}")]
    UnverifiedParent { bundle: String, reason: String },
    /// A policy refused to act on something that does not verify (nothing was
    /// sent or signed).
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Media(#[from] mpegs_media::MediaError),
    #[error(transparent)]
    Filter(#[from] mpegs_filters::FilterError),
    #[error(transparent)]
    Zk(#[from] mpegs_zk::ZkError),
    #[error(transparent)]
    Provenance(#[from] mpegs_provenance::ProvenanceError),
    #[error(transparent)]
    Storage(#[from] mpegs_storage::StorageError),
    #[error(transparent)]
    Transcode(#[from] mpegs_transcode::TranscodeError),
    #[error(transparent)]
    Chain(#[from] mpegs_chain::ChainError),
    #[error(transparent)]
    C2pa(#[from] mpegs_c2pa::C2paError),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl AppError {
    /// A verdict rather than a usage error: a policy refused something that
    /// does not verify here, or the chain reverted the transaction.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            AppError::Rejected(_) | AppError::Chain(mpegs_chain::ChainError::Revert(_))
        )
    }
}
