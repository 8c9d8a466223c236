//! The database: SQLite (embedded default) or PostgreSQL (scale-out), one schema,
//! one set of queries through sqlx's `Any` driver. Statements use `$N`
//! placeholders, which both accept; the few that differ (binary column type,
//! row locking) are chosen by [`Backend`].

use crate::ServiceError;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};
use std::borrow::Cow;
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
    /// The service key that seals seeds at rest; without it, reading or
    /// writing a secret is a clear error rather than plaintext in the table.
    secrets: Option<std::sync::Arc<crate::secrets::SecretBox>>,
}

/// How long a query waits for a free connection before the request fails (and
/// `/healthz` reports the database unreachable).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// The schema migrations of `backend`, embedded at build time from
/// `migrations/{sqlite,postgres}/NNNN_description.sql`: (version, description,
/// SQL), in order. The two folders hold the same versions; they differ only
/// where the SQL dialects do (binary columns, clock expressions).
pub fn migrations(backend: Backend) -> &'static [(i64, &'static str, &'static str)] {
    match backend {
        Backend::Sqlite => embedded::MIGRATIONS_SQLITE,
        Backend::Postgres => embedded::MIGRATIONS_POSTGRES,
    }
}

/// The embedded migrations as a sqlx migration source.
#[derive(Debug)]
struct Embedded(Backend);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> futures_util::future::BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move {
            Ok(migrations(self.0)
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
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
        Ok(Self {
            pool,
            backend,
            secrets: None,
        })
    }

    /// This pool with the service key that seals secrets at rest.
    pub fn with_secrets(mut self, secrets: std::sync::Arc<crate::secrets::SecretBox>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// The service key, or a clear error when this connection was opened
    /// without one.
    pub fn secrets(&self) -> Result<&crate::secrets::SecretBox, ServiceError> {
        self.secrets.as_deref().ok_or_else(|| {
            ServiceError::Secret("no service key loaded (MPEGS_SECRET_KEY_FILE)".into())
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Brings the schema up to date with sqlx's migrator: every embedded
    /// migration not yet recorded in `_sqlx_migrations` runs, each in its own
    /// transaction; one already applied whose SQL changed since is refused
    /// (checksums), as is a database migrated by a newer build (a version this
    /// build does not know). On PostgreSQL the migrator holds an advisory lock
    /// for the whole run, so processes starting together migrate once. A
    /// database made by the first release (`schema_version` 1, no
    /// `_sqlx_migrations`) upgrades: `0001_initial` is that schema with
    /// `IF NOT EXISTS` throughout, so it finds its tables there and only the
    /// later migrations change anything.
    pub async fn migrate(&self) -> Result<(), ServiceError> {
        let migrator = Migrator::new(Embedded(self.backend))
            .await
            .map_err(|e| ServiceError::Config(format!("schema migrations: {e}")))?;
        migrator.run(&self.pool).await.map_err(|e| match e {
            MigrateError::Execute(e) => ServiceError::Database(e),
            e => ServiceError::Config(format!("migrating the database schema: {e}")),
        })
    }

    /// The versions `_sqlx_migrations` records as applied, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, ServiceError> {
        let rows = sqlx::query(
            "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get::<i64, _>(0)?)).collect()
    }

    /// The database's clock in milliseconds since the Unix epoch, as an SQL
    /// expression. Every lease, expiry and backoff decision uses it, never a
    /// worker's clock: workers on machines whose clocks disagree still agree on
    /// who holds a lease, because one clock decides.
    pub fn now_sql(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "CAST(unixepoch('subsec') * 1000 AS BIGINT)",
            Backend::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    /// The database's clock now (ms since the Unix epoch).
    pub async fn now_ms(&self) -> Result<i64, ServiceError> {
        Ok(sqlx::query(&format!("SELECT {}", self.now_sql()))
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
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
