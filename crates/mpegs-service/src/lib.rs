//! `mpegs serve`: the prover service.
//!
//! An HTTP API (axum, JSON) over a durable job queue kept in a database (SQLite
//! in `$MPEGS_HOME` by default, PostgreSQL to scale out). An edit job fans out into
//! key-generation and tile-proof tasks that any number of workers — in the server
//! process or `mpegs worker` processes on other machines — claim with leases, so a
//! worker that dies loses nothing: its task is retried once the lease expires.
//! docs/service.md describes the API, the queue and the failure behaviour.

pub mod api;
pub mod artifacts;
pub mod catalog;
pub mod config;
pub mod db;
mod error;
pub mod files;
pub mod http;
pub mod idempotency;
pub mod metrics;
pub mod queue;
pub mod quota;
pub mod secrets;
pub mod tokens;
pub mod web;
pub mod worker;

pub use config::{Limits, QueueSettings, ServiceConfig};
pub use db::Db;
pub use error::ServiceError;

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// Milliseconds since the Unix epoch: the one clock of leases, heartbeats and
/// timestamps (machines sharing a database keep their clocks in sync, e.g. NTP;
/// leases are tens of seconds, so small skews do not matter).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A running service: its address and a way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<Result<(), ServiceError>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops accepting requests, lets in-flight ones finish, and stops the
    /// in-process workers (a task being proven is abandoned; its lease expires
    /// and another worker retries it).
    pub async fn stop(self) -> Result<(), ServiceError> {
        let _ = self.shutdown.send(true);
        for w in self.workers {
            w.abort();
        }
        self.server
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// Waits until the server ends (Ctrl-C or SIGTERM).
    pub async fn wait(self) -> Result<(), ServiceError> {
        let result = self
            .server
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        for w in self.workers {
            w.abort();
        }
        result
    }
}

/// Starts the service: connects and migrates the database, starts
/// `config.workers` in-process workers and serves the API on `config.listen`.
pub async fn start(config: ServiceConfig) -> Result<Running, ServiceError> {
    // The key is loaded before anything else: a missing or exposed key file
    // stops the start instead of serving with plaintext secrets.
    // A missing key file is made only once the database is known to hold
    // nothing sealed under another key: a wrong path must not leave a stray
    // fresh key file behind that a later start would take for the real one.
    // A bad MPEGS_IDEMPOTENCY_* value stops the start rather than being guessed at.
    idempotency::init_from_env()?;
    let key_file = config.secret_key_file();
    let (secrets, fresh) = if key_file.exists() {
        (secrets::SecretBox::load(&key_file)?, false)
    } else {
        (secrets::SecretBox::generate(), true)
    };
    let secrets = Arc::new(secrets);
    let db = Db::connect(&config.database_url)
        .await?
        .with_secrets(secrets.clone());
    db.migrate().await?;
    if fresh {
        secrets::check_keys(&db).await.map_err(|e| match e {
            ServiceError::Secret(m) => ServiceError::Secret(format!(
                "{m} (no key file at {}; nothing was created)",
                key_file.display()
            )),
            other => other,
        })?;
        // Saved before anything is sealed under it.
        secrets.save(&key_file)?;
    }
    // A key file that cannot open what is stored stops the start; rows and
    // files written by versions before sealing (plaintext seeds, private
    // media's pixels) are sealed now.
    secrets::seal_at_rest(&db, &config.media_dir())
        .await
        .map_err(|e| match e {
            ServiceError::Secret(m) => ServiceError::Secret(format!(
                "{m} (key file {})",
                config.secret_key_file().display()
            )),
            e => e,
        })?;
    let filled = catalog::backfill_item_columns(&db).await?;
    if filled > 0 {
        tracing::info!("filled the stored steps and visibility of {filled} older catalog rows");
    }
    let store = Arc::new(config.key_store()?);
    let (shutdown, stopped) = watch::channel(false);
    let mut workers = vec![];
    for i in 0..config.workers {
        let w = worker::Worker::new(
            db.clone(),
            store.clone(),
            worker::worker_id(&format!("serve{i}")),
            config.queue.clone(),
        );
        let stop = stopped.clone();
        workers.push(tokio::spawn(async move { w.run(stop).await }));
    }
    // The server trusts the keys the queue's workers generated, wherever they ran.
    workers.push(tokio::spawn(worker::sync_keys_until(
        db.clone(),
        store.clone(),
        std::time::Duration::from_secs(2),
        stopped.clone(),
    )));
    let state = api::AppState::new(db, store, &config, stopped.clone())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServiceError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let listener = http::CappedListener::new(
        listener,
        config.limits.max_connections,
        config.limits.max_connections_per_ip,
        config.limits.header_timeout,
    );
    let app = api::router(state);
    let header_timeout = config.limits.header_timeout;
    let stop = stopped.clone();
    let server = tokio::spawn(async move {
        http::serve(listener, app, header_timeout, stop).await;
        Ok(())
    });
    Ok(Running {
        addr,
        shutdown,
        server,
        workers,
    })
}
