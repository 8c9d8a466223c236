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
    /// Largest uploaded bundle (`MPEGS_MAX_BUNDLE_BYTES`, default 64 MiB, the
    /// bundle format's own limit; lower it to bound memory per verification).
    pub max_bundle_bytes: usize,
    /// Deepest JSON nesting of an uploaded bundle (`MPEGS_MAX_JSON_DEPTH`,
    /// default 128, serde_json's own recursion limit).
    pub max_json_depth: usize,
    /// Most JSON values (numbers, strings, … in all) in an uploaded bundle,
    /// counted before any tree is built (`MPEGS_MAX_JSON_VALUES`, default
    /// 2,000,000: a 4K five-step bundle has about 100,000).
    pub max_json_values: usize,
    /// Most tiles one job may prove, all steps together
    /// (`MPEGS_MAX_JOB_TILES`, default 65,536, the format's tiles per frame).
    pub max_job_tiles: u64,
    /// Quota: unfinished jobs per account (`MPEGS_QUOTA_JOBS`, default 16).
    pub quota_jobs: i64,
    /// Quota: tiles of an account's unfinished jobs (`MPEGS_QUOTA_TILES`,
    /// default 100,000).
    pub quota_tiles: i64,
    /// Quota: circuits new to the service (each a key generation, minutes)
    /// an account may cause per 24 hours (`MPEGS_QUOTA_CIRCUITS_PER_DAY`,
    /// default 32).
    pub quota_circuits_per_day: i64,
    /// Open event streams at once (`MPEGS_MAX_EVENT_STREAMS`, default 1024).
    pub max_event_streams: usize,
    /// Longest life of one event stream (`MPEGS_EVENT_STREAM_SECS`, default
    /// 3600 s; a client reconnects or polls after it).
    pub event_stream_lifetime: Duration,
    /// Open connections at once (`MPEGS_MAX_CONNECTIONS`, default 4096);
    /// further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Requests per second per client address, with bursts of
    /// `rate_burst` (`MPEGS_RATE_PER_SEC`, default 50; 0: no limit).
    pub rate_per_sec: u64,
    /// Burst of the per-client rate limit (`MPEGS_RATE_BURST`, default 200).
    pub rate_burst: u64,
    /// Longest a connection may take to send a request's headers, and may
    /// stay idle between requests (`MPEGS_HEADER_TIMEOUT_SECS`, default 30 s).
    /// A fixed deadline from the connection's start or its previous response
    /// to the end of the next request's headers, however the bytes trickle
    /// in; the same span is also the longest a connection may go without a
    /// byte either way while a body or response is under way.
    pub header_timeout: Duration,
    /// Open connections from one client address at once
    /// (`MPEGS_MAX_CONNECTIONS_PER_IP`, default 64; IPv6 clients count per
    /// /64): further ones are closed at once, so one address cannot take all
    /// `max_connections`.
    pub max_connections_per_ip: usize,
    /// Largest image part of an upload (`MPEGS_MAX_IMAGE_BYTES`, default
    /// 32 MiB). `POST /v1/verify` accepts a body of at most this plus
    /// `max_bundle_bytes` plus 64 KiB (the secret and the form's framing).
    pub max_image_bytes: usize,
    /// Bytes of `POST /v1/verify` bodies held at once, all requests together
    /// (`MPEGS_VERIFY_MEMORY_BYTES`, default 256 MiB). Reserved from the
    /// request's Content-Length before its body is read, and kept until its
    /// verification ends; a request that does not fit now is answered 503
    /// (retry later) without its body being read.
    pub verify_memory_bytes: usize,
    /// Open event streams of one account at once
    /// (`MPEGS_MAX_EVENT_STREAMS_PER_ACCOUNT`, default 16; 429 beyond), so
    /// one account cannot take all `max_event_streams`.
    pub max_event_streams_per_account: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_upload_bytes: 64 << 20,
            max_upload_pixels: 1 << 25,
            request_timeout: Duration::from_secs(120),
            verify_concurrency: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_vf_bytes: 4096,
            max_bundle_bytes: mpegs_provenance::limits::MAX_BUNDLE_BYTES,
            max_json_depth: 128,
            max_json_values: 2_000_000,
            max_job_tiles: mpegs_provenance::limits::MAX_TILES as u64,
            quota_jobs: 16,
            quota_tiles: 100_000,
            quota_circuits_per_day: 32,
            max_event_streams: 1024,
            event_stream_lifetime: Duration::from_secs(3600),
            max_connections: 4096,
            rate_per_sec: 50,
            rate_burst: 200,
            header_timeout: Duration::from_secs(30),
            max_connections_per_ip: 64,
            max_image_bytes: 32 << 20,
            verify_memory_bytes: 256 << 20,
            max_event_streams_per_account: 16,
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
    /// Wait before retrying a task after a transient failure, doubled per
    /// attempt (`MPEGS_RETRY_BASE_MS`, default 1000 ms).
    pub retry_base: Duration,
    /// Longest wait between retries (`MPEGS_RETRY_MAX_SECS`, default 60 s).
    pub retry_cap: Duration,
    /// TEST ONLY: shifts this worker's own clock by this many milliseconds
    /// (`MPEGS_TEST_CLOCK_SKEW_MS`, may be negative; default 0), to show that
    /// a worker whose clock is off neither steals live leases nor loses its
    /// own — lease decisions use the database's clock, not this one.
    pub clock_skew_ms: i64,
}

impl QueueSettings {
    /// This worker's own clock (ms since the Unix epoch, shifted by
    /// `clock_skew_ms`): only for what the worker reports about itself, never
    /// for lease, expiry or backoff decisions.
    pub fn worker_now(&self) -> i64 {
        crate::now_ms().saturating_add(self.clock_skew_ms)
    }
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            heartbeat: Duration::from_secs(10),
            poll: Duration::from_millis(500),
            max_attempts: 5,
            retry_base: Duration::from_millis(1000),
            retry_cap: Duration::from_secs(60),
            clock_skew_ms: 0,
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
    /// `MPEGS_POLL_MS`, `MPEGS_MAX_ATTEMPTS`, `MPEGS_RETRY_BASE_MS`,
    /// `MPEGS_RETRY_MAX_SECS` and (tests only) `MPEGS_TEST_CLOCK_SKEW_MS`.
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
        if let Some(v) = env_number("MPEGS_RETRY_BASE_MS")? {
            s.retry_base = Duration::from_millis(v);
        }
        if let Some(v) = env_number("MPEGS_RETRY_MAX_SECS")? {
            s.retry_cap = Duration::from_secs(v);
        }
        if let Ok(v) = std::env::var("MPEGS_TEST_CLOCK_SKEW_MS") {
            s.clock_skew_ms = v.parse().map_err(|_| {
                ServiceError::Config(format!(
                    "MPEGS_TEST_CLOCK_SKEW_MS={v:?} is not a whole number"
                ))
            })?;
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

/// Room in a `POST /v1/verify` body beside its image and bundle: the secret
/// (a few hundred bytes) and the multipart framing.
pub const VERIFY_FORM_SLACK: usize = 64 << 10;

impl Limits {
    /// The largest `POST /v1/verify` body: the image and bundle limits plus
    /// [`VERIFY_FORM_SLACK`] — its own limit, not `max_upload_bytes`.
    pub fn verify_body_limit(&self) -> usize {
        self.max_image_bytes
            .saturating_add(self.max_bundle_bytes)
            .saturating_add(VERIFY_FORM_SLACK)
    }

    /// The defaults, overridden by `MPEGS_MAX_UPLOAD_BYTES`,
    /// `MPEGS_MAX_UPLOAD_PIXELS`, `MPEGS_REQUEST_TIMEOUT_SECS` and
    /// `MPEGS_VERIFY_CONCURRENCY` and every other `MPEGS_…` limit named on
    /// the fields above.
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
        let n = |name: &str| env_number(name);
        if let Some(v) = n("MPEGS_MAX_BUNDLE_BYTES")? {
            l.max_bundle_bytes = v as usize;
        }
        if let Some(v) = n("MPEGS_MAX_JSON_DEPTH")? {
            l.max_json_depth = v as usize;
        }
        if let Some(v) = n("MPEGS_MAX_JSON_VALUES")? {
            l.max_json_values = v as usize;
        }
        if let Some(v) = n("MPEGS_MAX_JOB_TILES")? {
            l.max_job_tiles = v;
        }
        if let Some(v) = n("MPEGS_QUOTA_JOBS")? {
            l.quota_jobs = v as i64;
        }
        if let Some(v) = n("MPEGS_QUOTA_TILES")? {
            l.quota_tiles = v as i64;
        }
        if let Some(v) = n("MPEGS_QUOTA_CIRCUITS_PER_DAY")? {
            l.quota_circuits_per_day = v as i64;
        }
        if let Some(v) = n("MPEGS_MAX_EVENT_STREAMS")? {
            l.max_event_streams = v as usize;
        }
        if let Some(v) = n("MPEGS_EVENT_STREAM_SECS")? {
            l.event_stream_lifetime = Duration::from_secs(v.max(1));
        }
        if let Some(v) = n("MPEGS_MAX_CONNECTIONS")? {
            l.max_connections = (v as usize).max(1);
        }
        if let Some(v) = n("MPEGS_RATE_PER_SEC")? {
            l.rate_per_sec = v;
        }
        if let Some(v) = n("MPEGS_RATE_BURST")? {
            l.rate_burst = v.max(1);
        }
        if let Some(v) = n("MPEGS_HEADER_TIMEOUT_SECS")? {
            l.header_timeout = Duration::from_secs(v.max(1));
        }
        if let Some(v) = n("MPEGS_MAX_CONNECTIONS_PER_IP")? {
            l.max_connections_per_ip = (v as usize).max(1);
        }
        if let Some(v) = n("MPEGS_MAX_IMAGE_BYTES")? {
            l.max_image_bytes = v as usize;
        }
        if let Some(v) = n("MPEGS_VERIFY_MEMORY_BYTES")? {
            l.verify_memory_bytes = (v as usize).max(1);
        }
        if let Some(v) = n("MPEGS_MAX_EVENT_STREAMS_PER_ACCOUNT")? {
            l.max_event_streams_per_account = (v as usize).max(1);
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

    /// The service key file that seals secrets at rest: `MPEGS_SECRET_KEY_FILE`
    /// when set, else `$MPEGS_HOME/secret.key`. (A method, not a field, so
    /// configurations built field by field keep working.)
    pub fn secret_key_file(&self) -> PathBuf {
        match std::env::var_os("MPEGS_SECRET_KEY_FILE") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => self.home.join("secret.key"),
        }
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
