//! Content-addressed artifacts in the database (docs/service.md §Keys): the
//! proving and verifying keys a worker generated, which every other worker —
//! on any machine, with nothing but the database URL — fetches once, checks
//! against the hash recorded beside them, and caches in its local key store.
//!
//! An artifact is addressed by the SHA-256 of its bytes and stored as chunks of
//! [`CHUNK_BYTES`] (a 64×64 tile's proving key is ~100 MB; PostgreSQL refuses
//! values over 1 GB and neither backend wants one huge row). The `artifacts`
//! row is written after the last chunk: a present row means a complete
//! artifact; chunks of an upload that crashed are reused by the next one (same
//! content, same address).

use crate::{Db, ServiceError};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Bytes per stored chunk (8 MiB).
pub const CHUNK_BYTES: usize = 8 << 20;

/// Stores `bytes` (idempotent) and returns their SHA-256, hex.
pub async fn put(db: &Db, bytes: &[u8]) -> Result<String, ServiceError> {
    let sha = hex::encode(Sha256::digest(bytes));
    if exists(db, &sha).await? {
        return Ok(sha);
    }
    let chunks: Vec<&[u8]> = if bytes.is_empty() {
        vec![&[][..]]
    } else {
        bytes.chunks(CHUNK_BYTES).collect()
    };
    // One statement per chunk, so no transaction holds the whole key.
    for (n, chunk) in chunks.iter().enumerate() {
        sqlx::query(
            "INSERT INTO artifact_chunks (sha256, n, bytes) VALUES ($1, $2, $3) \
             ON CONFLICT (sha256, n) DO NOTHING",
        )
        .bind(&sha)
        .bind(n as i64)
        .bind(chunk.to_vec())
        .execute(db.pool())
        .await?;
    }
    sqlx::query(&format!(
        "INSERT INTO artifacts (sha256, size, chunks, created_at) VALUES ($1, $2, $3, {}) \
         ON CONFLICT (sha256) DO NOTHING",
        db.now_sql()
    ))
    .bind(&sha)
    .bind(bytes.len() as i64)
    .bind(chunks.len() as i64)
    .execute(db.pool())
    .await?;
    Ok(sha)
}

/// Whether a complete artifact `sha` is stored.
pub async fn exists(db: &Db, sha: &str) -> Result<bool, ServiceError> {
    Ok(sqlx::query("SELECT 1 FROM artifacts WHERE sha256 = $1")
        .bind(sha)
        .fetch_optional(db.pool())
        .await?
        .is_some())
}

/// Why an artifact could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("artifact {0} is not in the database")]
    Missing(String),
    /// Its stored bytes are not the ones its address names (damaged, or
    /// written by something other than [`put`]): retrying will not help.
    #[error("artifact {sha}: {why}")]
    Corrupt { sha: String, why: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<sqlx::Error> for FetchError {
    fn from(e: sqlx::Error) -> Self {
        FetchError::Service(e.into())
    }
}

/// The bytes of artifact `sha`, read chunk by chunk and checked against `sha`
/// (and against the size and chunk count recorded with it) before returning.
pub async fn get(db: &Db, sha: &str) -> Result<Vec<u8>, FetchError> {
    let row = sqlx::query("SELECT size, chunks FROM artifacts WHERE sha256 = $1")
        .bind(sha)
        .fetch_optional(db.pool())
        .await?
        .ok_or_else(|| FetchError::Missing(sha.to_string()))?;
    let size: i64 = row.try_get("size")?;
    let chunks: i64 = row.try_get("chunks")?;
    let corrupt = |why: String| FetchError::Corrupt {
        sha: sha.to_string(),
        why,
    };
    if size < 0 || chunks < 1 || size > (chunks.saturating_mul(CHUNK_BYTES as i64)) {
        return Err(corrupt(format!(
            "recorded as {size} bytes in {chunks} chunks"
        )));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    let mut hasher = Sha256::new();
    for n in 0..chunks {
        let row = sqlx::query("SELECT bytes FROM artifact_chunks WHERE sha256 = $1 AND n = $2")
            .bind(sha)
            .bind(n)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| corrupt(format!("chunk {n} is missing")))?;
        let chunk: Vec<u8> = row.try_get("bytes")?;
        if bytes.len() + chunk.len() > size as usize {
            return Err(corrupt(format!("longer than its recorded {size} bytes")));
        }
        hasher.update(&chunk);
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() != size as usize {
        return Err(corrupt(format!(
            "{} bytes, recorded as {size}",
            bytes.len()
        )));
    }
    let actual = hex::encode(hasher.finalize());
    if actual != sha {
        return Err(corrupt(format!("its bytes hash to {actual}")));
    }
    Ok(bytes)
}
