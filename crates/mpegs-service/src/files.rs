//! Media files by content hash: the bytes live in the database (`blobs`), so
//! workers on other machines can read them, and the server keeps a copy under
//! `$MPEGS_HOME/media/<sha256>` that it serves from.

use crate::{Db, ServiceError};
use mpegs_media::write_atomic;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::path::PathBuf;

/// The lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[derive(Clone, Debug)]
pub struct MediaFiles {
    dir: PathBuf,
}

impl MediaFiles {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, sha: &str) -> PathBuf {
        self.dir.join(sha)
    }

    /// Writes the local copy (atomically; an existing copy is kept).
    pub fn write_local(&self, sha: &str, bytes: &[u8]) -> Result<(), ServiceError> {
        let path = self.path(sha);
        if path.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| ServiceError::Io {
            path: self.dir.display().to_string(),
            source,
        })?;
        write_atomic(&path, bytes)?;
        Ok(())
    }

    /// The bytes with hash `sha`: the local copy, else the database's (which
    /// then becomes the local copy).
    pub async fn read(&self, db: &Db, sha: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        if let Ok(bytes) = std::fs::read(self.path(sha)) {
            if sha256_hex(&bytes) == sha {
                return Ok(Some(bytes));
            }
        }
        let Some(bytes) = read_blob(db, sha).await? else {
            return Ok(None);
        };
        self.write_local(sha, &bytes)?;
        Ok(Some(bytes))
    }
}

/// Stores `bytes` in the database under their hash (idempotent).
pub async fn put_blob<'e, E>(exec: E, sha: &str, bytes: &[u8]) -> Result<(), ServiceError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO blobs (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(sha)
    .bind(bytes)
    .execute(exec)
    .await?;
    Ok(())
}

/// The database's copy of the bytes with hash `sha`.
pub async fn read_blob(db: &Db, sha: &str) -> Result<Option<Vec<u8>>, ServiceError> {
    let row = sqlx::query("SELECT bytes FROM blobs WHERE sha256 = $1")
        .bind(sha)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get::<Vec<u8>, _>(0)?),
        None => None,
    })
}
