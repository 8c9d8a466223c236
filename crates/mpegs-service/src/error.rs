use mpegs_provenance::ProvenanceError;

/// Errors of the service, its queue and its workers.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Provenance(#[from] ProvenanceError),
    #[error(transparent)]
    App(#[from] mpegs_app::AppError),
    #[error(transparent)]
    Media(#[from] mpegs_media::MediaError),
    #[error(transparent)]
    Keys(#[from] mpegs_zk::ZkError),
    #[error("file {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Internal(String),
    /// A secret at rest that cannot be sealed or opened (wrong or missing
    /// service key, altered or moved ciphertext). Never carries key bytes.
    #[error("secrets at rest: {0}")]
    Secret(String),
}
