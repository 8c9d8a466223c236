//! The database: SQLite (embedded default) or PostgreSQL (scale-out), one schema,
//! one set of queries through sqlx's `Any` driver. Statements use `$N`
//! placeholders, which both accept; the few that differ (binary column type,
//! row locking) are chosen by [`Backend`].

use crate::ServiceError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and the backend behind it.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// How long a query waits for a free connection before the request fails (and
/// `/healthz` reports the database unreachable).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Version of the schema below (stored in `schema_version`).
pub const SCHEMA_VERSION: i64 = 1;

fn schema(backend: Backend) -> Vec<String> {
    let blob = match backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    [
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
        // Verified media items. `secret_seed` is the blinding seed of private
        // media, needed to prove edits of it; it is never served.
        "CREATE TABLE IF NOT EXISTS media (
            commitment TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            parent TEXT,
            format TEXT NOT NULL,
            width BIGINT NOT NULL,
            height BIGINT NOT NULL,
            tile BIGINT NOT NULL,
            device TEXT,
            captured_at BIGINT,
            image_sha256 TEXT NOT NULL,
            image_type TEXT NOT NULL,
            bundle TEXT NOT NULL,
            secret_seed TEXT,
            proofs_verified BIGINT NOT NULL,
            created_at BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS media_parent ON media (parent)",
        "CREATE INDEX IF NOT EXISTS media_device ON media (device)",
        "CREATE INDEX IF NOT EXISTS media_created ON media (created_at)",
        // Image bytes by content hash: what workers on other machines read.
        "CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, bytes {BLOB} NOT NULL)",
        "CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY,
            input TEXT NOT NULL,
            vf TEXT NOT NULL,
            seeds TEXT NOT NULL,
            status TEXT NOT NULL,
            total BIGINT NOT NULL,
            output TEXT,
            error TEXT,
            created_at BIGINT NOT NULL,
            started_at BIGINT,
            finished_at BIGINT)",
        "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status)",
        // Tile proofs and the one finishing task per job.
        "CREATE TABLE IF NOT EXISTS tasks (
            id TEXT PRIMARY KEY,
            job_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            step BIGINT NOT NULL,
            tile BIGINT NOT NULL,
            circuit TEXT,
            state TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            lease_owner TEXT,
            lease_until BIGINT,
            error TEXT,
            created_at BIGINT NOT NULL,
            UNIQUE (job_id, kind, step, tile))",
        "CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (state, created_at)",
        "CREATE INDEX IF NOT EXISTS tasks_job ON tasks (job_id, kind, state)",
        // One proof per (job, step, tile): a task proven twice stores one.
        "CREATE TABLE IF NOT EXISTS proofs (
            job_id TEXT NOT NULL,
            step BIGINT NOT NULL,
            tile BIGINT NOT NULL,
            proof TEXT NOT NULL,
            worker TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (job_id, step, tile))",
        "CREATE INDEX IF NOT EXISTS proofs_created ON proofs (created_at)",
        // Circuit keys: generated once, by whichever worker claims the row.
        "CREATE TABLE IF NOT EXISTS circuit_keys (
            id TEXT PRIMARY KEY,
            recipe TEXT NOT NULL,
            state TEXT NOT NULL,
            vk_hash TEXT,
            attempts BIGINT NOT NULL,
            lease_owner TEXT,
            lease_until BIGINT,
            error TEXT,
            created_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS tokens (
            hash TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS workers (
            id TEXT PRIMARY KEY,
            started_at BIGINT NOT NULL,
            last_seen BIGINT NOT NULL,
            tiles BIGINT NOT NULL)",
    ]
    .iter()
    .map(|s| s.replace("{BLOB}", blob))
    .collect()
}

impl Db {
    /// Connects to `url`: `sqlite://PATH[?mode=rwc]` or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self, ServiceError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(ServiceError::Config(format!(
                "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
            )));
        };
        if backend == Backend::Sqlite {
            create_sqlite_dir(url)?;
        }
        let pool = AnyPoolOptions::new()
            // SQLite serialises writers; a few connections let readers proceed.
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 16,
            })
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Concurrent writers wait for the lock instead of failing.
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(|e| {
                ServiceError::Config(format!("cannot connect to the database {url:?}: {e}"))
            })?;
        Ok(Self { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Creates the tables (idempotent; concurrent processes on PostgreSQL take an
    /// advisory lock so only one creates them).
    pub async fn migrate(&self) -> Result<(), ServiceError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock(8420)")
                .execute(&mut *conn)
                .await?;
        }
        let mut result = Ok(());
        for statement in schema(self.backend) {
            if let Err(e) = sqlx::query(&statement).execute(&mut *conn).await {
                result = Err(e.into());
                break;
            }
        }
        if result.is_ok() {
            let rows: i64 = sqlx::query("SELECT COUNT(*) FROM schema_version")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            if rows == 0 {
                sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                    .bind(SCHEMA_VERSION)
                    .execute(&mut *conn)
                    .await?;
            } else {
                let version: i64 = sqlx::query("SELECT MAX(version) FROM schema_version")
                    .fetch_one(&mut *conn)
                    .await?
                    .try_get(0)?;
                if version != SCHEMA_VERSION {
                    result = Err(ServiceError::Config(format!(
                        "the database has schema version {version}; this build uses {SCHEMA_VERSION}"
                    )));
                }
            }
        }
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock(8420)")
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    /// `SELECT 1`, for health checks.
    pub async fn ping(&self) -> Result<(), ServiceError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    /// Row locking for claim queries: PostgreSQL skips rows another worker has
    /// locked; SQLite runs one writer at a time, so it needs none.
    /// `alias` names the one table to lock when the query joins others (locking
    /// the job row too would make concurrent claimers skip its other tasks).
    pub(crate) fn skip_locked(&self, alias: Option<&str>) -> String {
        match (self.backend, alias) {
            (Backend::Postgres, Some(a)) => format!("FOR UPDATE OF {a} SKIP LOCKED"),
            (Backend::Postgres, None) => "FOR UPDATE SKIP LOCKED".into(),
            (Backend::Sqlite, _) => String::new(),
        }
    }
}

fn create_sqlite_dir(url: &str) -> Result<(), ServiceError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|source| ServiceError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
    }
    Ok(())
}

/// An optional text column.
pub(crate) fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>, sqlx::Error> {
    row.try_get::<Option<String>, _>(col)
}

/// An optional integer column.
pub(crate) fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>, sqlx::Error> {
    row.try_get::<Option<i64>, _>(col)
}
