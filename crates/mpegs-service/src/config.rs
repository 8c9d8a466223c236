//! Configuration of the service and its workers, with every limit named and
//! defaulted (docs/service.md §Limits).

use crate::ServiceError;
use mpegs_zk::keys::KeyStore;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where `mpegs serve` listens by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8420";
/// In-process workers by default: one, since a tile proof already uses every core.
pub const DEFAULT_WORKERS: usize = 1;

/// Request limits.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body (`MPEGS_MAX_UPLOAD_BYTES`, default 64 MiB: a bundle
    /// may be up to 64 MiB itself, and the image beside it).
    pub max_upload_bytes: usize,
    /// Most pixels of an uploaded image, read from its header before decoding
    /// (`MPEGS_MAX_UPLOAD_PIXELS`, default 2^25 ≈ 33 MP, an 8K frame).
    pub max_upload_pixels: u64,
    /// Longest a request may take (`MPEGS_REQUEST_TIMEOUT_SECS`, default 120 s).
    pub request_timeout: Duration,
    /// Verifications run at once; further requests wait their turn
    /// (`MPEGS_VERIFY_CONCURRENCY`, default: the number of cores).
    pub verify_concurrency: usize,
    /// Longest filter chain text accepted in a job (4096 bytes).
    pub max_vf_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 64 << 20,
            max_upload_pixels: 1 << 25,
            request_timeout: Duration::from_secs(120),
            verify_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_vf_bytes: 4096,
        }
    }
}

/// How workers lease and retry tasks.
#[derive(Clone, Debug)]
pub struct QueueSettings {
    /// A claimed task belongs to its worker this long past the last heartbeat
    /// (`MPEGS_LEASE_SECS`, default 60 s); then any worker may retry it.
    pub lease: Duration,
    /// How often a busy worker renews its lease (`MPEGS_HEARTBEAT_SECS`, default
    /// 10 s; must be well under the lease).
    pub heartbeat: Duration,
    /// How often an idle worker looks for work (`MPEGS_POLL_MS`, default 500 ms).
    pub poll: Duration,
    /// Attempts before a task (and its job) fails (`MPEGS_MAX_ATTEMPTS`, default 5).
    pub max_attempts: i64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_millis(500),
            max_attempts: 5,
        }
    }
}

fn env_number(name: &str) -> Result<Option<u64>, ServiceError> {
    match std::env::var(name) {
        Ok(v) => v
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ServiceError::Config(format!("{name}={v:?} is not a whole number"))),
        Err(_) => Ok(None),
    }
}

impl QueueSettings {
    /// The defaults, overridden by `MPEGS_LEASE_SECS`, `MPEGS_HEARTBEAT_SECS`,
    /// `MPEGS_POLL_MS` and `MPEGS_MAX_ATTEMPTS`.
    pub fn from_env() -> Result<Self, ServiceError> {
        let mut s = Self::default();
        if let Some(v) = env_number("MPEGS_LEASE_SECS")? {
            s.lease = Duration::from_secs(v.max(1));
        }
        if let Some(v) = env_number("MPEGS_HEARTBEAT_SECS")? {
            s.heartbeat = Duration::from_secs(v.max(1));
        }
        if let Some(v) = env_number("MPEGS_POLL_MS")? {
            s.poll = Duration::from_millis(v.max(10));
        }
        if let Some(v) = env_number("MPEGS_MAX_ATTEMPTS")? {
            s.max_attempts = v.clamp(1, 100) as i64;
        }
        if s.heartbeat >= s.lease {
            return Err(ServiceError::Config(format!(
                "the heartbeat ({:?}) must be shorter than the lease ({:?})",
                s.heartbeat, s.lease
            )));
        }
        Ok(s)
    }
}

impl Limits {
    /// The defaults, overridden by `MPEGS_MAX_UPLOAD_BYTES`,
    /// `MPEGS_MAX_UPLOAD_PIXELS`, `MPEGS_REQUEST_TIMEOUT_SECS` and
    /// `MPEGS_VERIFY_CONCURRENCY`.
    pub fn from_env() -> Result<Self, ServiceError> {
        let mut l = Self::default();
        if let Some(v) = env_number("MPEGS_MAX_UPLOAD_BYTES")? {
            l.max_upload_bytes = v as usize;
        }
        if let Some(v) = env_number("MPEGS_MAX_UPLOAD_PIXELS")? {
            l.max_upload_pixels = v;
        }
        if let Some(v) = env_number("MPEGS_REQUEST_TIMEOUT_SECS")? {
            l.request_timeout = Duration::from_secs(v.max(1));
        }
        if let Some(v) = env_number("MPEGS_VERIFY_CONCURRENCY")? {
            l.verify_concurrency = (v as usize).max(1);
        }
        Ok(l)
    }
}

/// Everything `mpegs serve` needs.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// `$MPEGS_HOME`: keys in `keys/`, media files in `media/`, the default
    /// database `service.db`.
    pub home: PathBuf,
    pub database_url: String,
    pub listen: SocketAddr,
    pub workers: usize,
    pub limits: Limits,
    pub queue: QueueSettings,
    /// The chain whose registry records the explorer shows beside each history
    /// (default: the embedded EVM under `home`, shown only once contracts are
    /// deployed there; read-only).
    pub chain: mpegs_app::ChainSettings,
}

impl ServiceConfig {
    /// The embedded default: SQLite in `$MPEGS_HOME/service.db`, one worker, on
    /// 127.0.0.1:8420, limits and queue settings from the environment.
    pub fn embedded() -> Result<Self, ServiceError> {
        Self::for_app(&mpegs_app::Config::from_env()?)
    }

    /// The embedded default under the application's configuration (its home
    /// and the key store it trusts).
    pub fn for_app(app: &mpegs_app::Config) -> Result<Self, ServiceError> {
        let home = app.home.clone();
        Ok(Self {
            database_url: default_database_url(&home),
            home,
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            workers: DEFAULT_WORKERS,
            limits: Limits::from_env()?,
            queue: QueueSettings::from_env()?,
            chain: app.chain.clone(),
        })
    }

    /// The key store of the application's configuration under `home`.
    pub fn key_store(&self) -> Result<KeyStore, ServiceError> {
        Ok(mpegs_app::Config::at(&self.home).key_store()?)
    }

    /// The application configuration the API's use cases run under.
    pub fn app(&self) -> mpegs_app::Config {
        let mut app = mpegs_app::Config::at(&self.home);
        app.chain = self.chain.clone();
        app
    }

    pub fn media_dir(&self) -> PathBuf {
        self.home.join("media")
    }
}

/// `sqlite://$MPEGS_HOME/service.db`, created when missing.
pub fn default_database_url(home: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", home.join("service.db").display())
}
