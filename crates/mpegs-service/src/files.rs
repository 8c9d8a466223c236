//! Media files by content hash: the bytes live in the database (`blobs`), so
//! workers on other machines can read them, and the server keeps a copy under
//! `$MPEGS_HOME/media/<sha256>` that it serves from.
//!
//! The pixels of private media (a bundle that reveals no seed) are sealed at
//! rest under the service key (secrets.rs), in the database and in the local
//! copy alike: both hold the same stored form, `v1:<key id>:` then
//! `nonce ‖ ciphertext ‖ tag`, with [`crate::secrets::blob_ad`] as associated
//! data. Published media's bytes stay in the clear: anyone may fetch them.
//! `sha256` always names the plaintext, which every read checks.

use crate::secrets::{blob_ad, SecretBox};
use crate::{Db, ServiceError};
use mpegs_media::write_atomic;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::io::Read;
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

    /// Writes `stored` (the form the database holds: sealed for private
    /// media) as the local copy of `sha`, atomically; a copy already holding
    /// exactly these bytes is kept.
    pub fn write_local(&self, sha: &str, stored: &[u8]) -> Result<(), ServiceError> {
        let path = self.path(sha);
        if std::fs::read(&path).is_ok_and(|b| b == stored) {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir).map_err(|source| ServiceError::Io {
            path: self.dir.display().to_string(),
            source,
        })?;
        write_atomic(&path, stored)?;
        Ok(())
    }

    /// Makes the local copy of `sha` the database's stored form (after an
    /// insert, which may have sealed bytes an earlier item left in the clear).
    pub async fn copy_from_db(&self, db: &Db, sha: &str) -> Result<(), ServiceError> {
        if let Some(stored) = read_stored(db, sha).await? {
            self.write_local(sha, &stored)?;
        }
        Ok(())
    }

    /// The first `n` bytes of the local copy of `sha` (`None`: no copy).
    pub(crate) fn local_head(&self, sha: &str, n: usize) -> Result<Option<Vec<u8>>, ServiceError> {
        let path = self.path(sha);
        let io = |source| ServiceError::Io {
            path: path.display().to_string(),
            source,
        };
        let f = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(e)),
        };
        let mut head = Vec::with_capacity(n);
        f.take(n as u64).read_to_end(&mut head).map_err(io)?;
        Ok(Some(head))
    }

    /// Removes the local copy of `sha` (nothing to do when there is none).
    pub fn remove_local(&self, sha: &str) -> Result<(), ServiceError> {
        match std::fs::remove_file(self.path(sha)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ServiceError::Io {
                path: sha.to_string(),
                source,
            }),
        }
    }

    /// The bytes with hash `sha`, opened: the local copy, else the
    /// database's (which then becomes the local copy). A local copy that does
    /// not open or check is only a damaged cache, replaced from the
    /// database; a database row that does not is an error.
    pub async fn read(&self, db: &Db, sha: &str) -> Result<Option<Vec<u8>>, ServiceError> {
        if let Ok(stored) = std::fs::read(self.path(sha)) {
            match open_stored(db, sha, &stored) {
                Ok(bytes) => return Ok(Some(bytes)),
                Err(e) => {
                    tracing::warn!("local copy of {sha} unusable, reading the database's: {e}")
                }
            }
        }
        let Some(stored) = read_stored(db, sha).await? else {
            return Ok(None);
        };
        let bytes = open_stored(db, sha, &stored)?;
        self.write_local(sha, &stored)?;
        Ok(Some(bytes))
    }
}

/// The plaintext of the stored bytes of `sha`: opened under the service key
/// when sealed, and in every case checked against `sha` (a clear error for a
/// ciphertext altered or moved from another row, or damaged bytes).
pub fn open_stored(db: &Db, sha: &str, stored: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let bytes = if SecretBox::is_sealed_bytes(stored) {
        db.secrets()?.open_bytes(&blob_ad(sha), stored)?
    } else {
        stored.to_vec()
    };
    let actual = sha256_hex(&bytes);
    if actual != sha {
        return Err(ServiceError::Secret(format!(
            "blob {sha}: its bytes hash to {actual} (damaged or replaced)"
        )));
    }
    Ok(bytes)
}

/// Stores the image `bytes` in the database under their hash `sha`. With
/// `seal` (private media) they are sealed under the service key and replace
/// a copy in the clear that a published item with the same bytes left
/// (every blob a private item uses is sealed; reads open either form).
/// Without, an existing row is kept as it is (idempotent).
pub async fn put_blob<'e, E>(
    exec: E,
    db: &Db,
    sha: &str,
    bytes: &[u8],
    seal: bool,
) -> Result<(), ServiceError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    if seal {
        sqlx::query(
            "INSERT INTO blobs (sha256, bytes) VALUES ($1, $2) \
             ON CONFLICT (sha256) DO UPDATE SET bytes = excluded.bytes",
        )
        .bind(sha)
        .bind(db.secrets()?.seal_bytes(&blob_ad(sha), bytes)?)
        .execute(exec)
        .await?;
    } else {
        sqlx::query(
            "INSERT INTO blobs (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha)
        .bind(bytes)
        .execute(exec)
        .await?;
    }
    Ok(())
}

/// The database's stored form of the bytes with hash `sha` (sealed for
/// private media).
pub async fn read_stored(db: &Db, sha: &str) -> Result<Option<Vec<u8>>, ServiceError> {
    let row = sqlx::query("SELECT bytes FROM blobs WHERE sha256 = $1")
        .bind(sha)
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get::<Vec<u8>, _>(0)?),
        None => None,
    })
}

/// The database's copy of the bytes with hash `sha`, opened and checked
/// (what a worker proves an edit from).
pub async fn read_blob(db: &Db, sha: &str) -> Result<Option<Vec<u8>>, ServiceError> {
    match read_stored(db, sha).await? {
        Some(stored) => Ok(Some(open_stored(db, sha, &stored)?)),
        None => Ok(None),
    }
}
