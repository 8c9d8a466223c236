//! `mpegs serve` and `mpegs worker`: the prover service and extra workers
//! (docs/service.md). Thin: flags → `mpegs_service` configuration.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mpegs_service::config::{default_database_url, DEFAULT_LISTEN, DEFAULT_WORKERS};
use mpegs_service::{tokens, worker, Db, QueueSettings, ServiceConfig};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, env = "MPEGS_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Database URL: postgres://… to share the queue with `mpegs worker`s
    /// (default: SQLite at $MPEGS_HOME/service.db).
    #[arg(long, env = "MPEGS_DATABASE_URL", global = true)]
    database: Option<String>,
    /// The service key file that seals seeds and private media's pixels at
    /// rest (default: $MPEGS_HOME/secret.key, created 0600 on first start).
    #[arg(long, env = "MPEGS_SECRET_KEY_FILE", global = true)]
    secret_key_file: Option<std::path::PathBuf>,
    /// Workers in this process (0: only external `mpegs worker`s prove).
    #[arg(long, env = "MPEGS_WORKERS", default_value_t = DEFAULT_WORKERS)]
    workers: usize,
    /// The chain whose registry records the explorer shows (JSON-RPC URL of a
    /// node; default: the embedded EVM under $MPEGS_HOME, as `mpegs chain`
    /// uses). Read-only; nothing shown until contracts are deployed there.
    #[arg(long, env = "MPEGS_RPC_URL")]
    rpc_url: Option<String>,
    /// Deployment file of that chain (contract addresses; default as for
    /// `mpegs chain`).
    #[arg(long, env = "MPEGS_CHAIN_DEPLOYMENT")]
    chain_deployment: Option<std::path::PathBuf>,
    /// Log lines as text or as JSON objects (one a line). Which lines: RUST_LOG
    /// (default `info`).
    #[arg(
        long,
        env = "MPEGS_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    action: Option<ServeAction>,
}

#[derive(Subcommand)]
enum ServeAction {
    /// API tokens for writes (uploads and jobs).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Re-seal every sealed seed and private image under a new service key
    /// (stop the service and its workers first; then copy the key file to
    /// the workers' machines). The old keys stay in the key file, opening
    /// anything not yet re-sealed, until --drop-old.
    RotateSecretKey {
        /// After re-sealing, remove every key but the new one from the key
        /// file (refused while anything is still sealed under an old key).
        #[arg(long)]
        drop_old: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it (shown once; only its hash is stored).
    Create {
        #[arg(long)]
        name: String,
        /// The account it acts for (owner of what it uploads and submits;
        /// default: the token's name). Tokens of one account share its items.
        #[arg(long)]
        account: Option<String>,
        /// What it may do: upload, jobs, admin (comma-separated; default
        /// upload,jobs). admin may act on every account's items and jobs.
        #[arg(long, default_value = "upload,jobs")]
        scope: String,
        /// Lifetime: 30d, 12h, 45m, 90s (default: until revoked).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens: name, account, scopes, expiry (never the token).
    List,
    /// Revoke every token with this name.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

#[derive(Args)]
pub struct WorkerArgs {
    /// Database URL of the service's queue (postgres://…, or the server's
    /// SQLite file on the same machine).
    #[arg(long, env = "MPEGS_DATABASE_URL")]
    database: Option<String>,
    /// The service's key file (a copy of the API server's, mode 0600;
    /// default: $MPEGS_HOME/secret.key).
    #[arg(long, env = "MPEGS_SECRET_KEY_FILE")]
    secret_key_file: Option<std::path::PathBuf>,
}

/// A database URL with its password hidden, for logs: the one in its
/// authority (`user:***@`) and any secret-looking query parameter
/// (`?password=***`, `sslpassword`, `token`, …: `http::redact_query`).
fn redacted(url: &str) -> String {
    match url.split_once('?') {
        Some((base, query)) => format!(
            "{}?{}",
            redacted_authority(base),
            mpegs_service::http::redact_query(query)
        ),
        None => redacted_authority(url),
    }
}

fn redacted_authority(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Logs to stderr, filtered by RUST_LOG (default `info`), as text or JSON.
fn init_logging_as(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
    };
}

fn init_logging() {
    let format = match std::env::var("MPEGS_LOG_FORMAT").as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Text,
    };
    init_logging_as(format);
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = ctrl_c => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn config(
    database: Option<String>,
    secret_key_file: Option<&std::path::Path>,
) -> Result<ServiceConfig> {
    if let Some(path) = secret_key_file {
        // `ServiceConfig::secret_key_file` reads this variable (a method, so
        // configurations built field by field elsewhere keep compiling); set
        // here, before any thread starts, the flag and the variable agree.
        std::env::set_var("MPEGS_SECRET_KEY_FILE", path);
    }
    let mut config = ServiceConfig::embedded()?;
    if let Some(url) = database {
        config.database_url = url;
    } else {
        config.database_url = default_database_url(&config.home);
    }
    Ok(config)
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let mut config = config(args.database, args.secret_key_file.as_deref())?;
    let rt = runtime()?;
    match args.action {
        Some(ServeAction::Token { action }) => return rt.block_on(token(&config, action)),
        Some(ServeAction::RotateSecretKey { drop_old }) => {
            return rt.block_on(rotate_secret_key(&config, drop_old))
        }
        None => {}
    }
    config.listen = args.listen;
    config.workers = args.workers;
    config.chain.rpc_url = args.rpc_url.clone();
    config.chain.deployment = args.chain_deployment.clone();
    init_logging_as(args.log_format);
    rt.block_on(async move {
        let running = mpegs_service::start(config.clone()).await?;
        println!(
            "mpegs serve: listening on http://{} (database {}, {} in-process workers, keys in {})",
            running.addr,
            redacted(&config.database_url),
            config.workers,
            config.home.join("keys").display()
        );
        std::io::stdout().flush().ok();
        if mpegs_service::web::built() {
            let addr = running.addr;
            eprintln!("mpegs serve: the explorer is at http://{addr}/ (docs/explorer.md)");
        } else {
            eprintln!(
                "mpegs serve: this binary was built without the explorer (run ./scripts/build-wasm.sh \
                 and ./scripts/build-web.sh, then cargo build); the API works"
            );
        }
        stop_signal().await;
        eprintln!("mpegs serve: stopping");
        running.stop().await?;
        Ok(ExitCode::SUCCESS)
    })
}

async fn token(config: &ServiceConfig, action: TokenAction) -> Result<ExitCode> {
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    match action {
        TokenAction::Create {
            name,
            account,
            scope,
            expires,
        } => {
            let scopes = tokens::Scope::parse_list(&scope)?;
            let expires_in = expires.as_deref().map(tokens::parse_lifetime).transpose()?;
            let token = tokens::create_with(
                &db,
                tokens::NewToken {
                    name: &name,
                    account: account.as_deref(),
                    scopes: &scopes,
                    expires_in,
                },
            )
            .await?;
            println!("{token}");
            eprintln!("token {name:?} created; it is shown only now (the service stores its hash)");
        }
        TokenAction::List => {
            println!("name\taccount\tscopes\tcreated\texpires");
            for t in tokens::list(&db).await? {
                let scopes: Vec<&str> = t.scopes.iter().map(|s| s.name()).collect();
                let expires = t.expires_at.map_or_else(
                    || "never".to_string(),
                    |e| crate::report::utc((e / 1000) as u64),
                );
                println!(
                    "{}\t{}\t{}\t{}\t{expires}",
                    t.name,
                    t.account,
                    scopes.join(","),
                    crate::report::utc((t.created_at / 1000) as u64)
                );
            }
        }
        TokenAction::Revoke { name } => {
            let n = tokens::revoke(&db, &name).await?;
            if n == 0 {
                eprintln!("no token named {name:?}");
                return Ok(ExitCode::from(1));
            }
            println!("revoked {n} token(s) named {name:?}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn rotate_secret_key(config: &ServiceConfig, drop_old: bool) -> Result<ExitCode> {
    let key_file = config.secret_key_file();
    let r = mpegs_service::secrets::rotate(
        &config.database_url,
        &key_file,
        Some(&config.media_dir()),
        drop_old,
    )
    .await
    .with_context(|| format!("rotating the service key in {}", key_file.display()))?;
    println!(
        "new service key {}: re-sealed {} seed value(s), {} image blob(s), {} local file(s)",
        r.key_id, r.resealed.seeds, r.resealed.blobs, r.resealed.files
    );
    if drop_old {
        println!("dropped old key(s) {:?}", r.dropped);
    } else {
        eprintln!(
            "the old key(s) stay in {} until rotate-secret-key --drop-old; copy the file to \
             every worker's machine before starting them",
            key_file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn worker(args: WorkerArgs) -> Result<ExitCode> {
    let config = config(args.database, args.secret_key_file.as_deref())?;
    let queue = QueueSettings::from_env()?;
    init_logging();
    runtime()?.block_on(async move {
        // Jobs' seeds are sealed under the service key: a worker proves with
        // them, so it needs the API's key file (never a fresh one of its own).
        let key_file = config.secret_key_file();
        let secrets = mpegs_service::secrets::SecretBox::load(&key_file).map_err(|e| {
            anyhow::anyhow!(
                "{e}; a worker needs the service's key file {} (copy it with mode 0600, or set \
                 MPEGS_SECRET_KEY_FILE)",
                key_file.display()
            )
        })?;
        let db = Db::connect(&config.database_url)
            .await?
            .with_secrets(Arc::new(secrets));
        db.migrate().await?;
        // A key file that cannot open what is stored fails here, not in every job.
        mpegs_service::secrets::check_keys(&db)
            .await
            .map_err(|e| anyhow::anyhow!("{e} (the worker read {})", key_file.display()))?;
        let store = Arc::new(config.key_store()?);
        let w = worker::Worker::new(db, store, worker::worker_id("worker"), queue);
        // Keys come from the database (its key artifacts); the local folder is a cache.
        println!(
            "mpegs worker {}: working on {} (key cache in {})",
            w.id(),
            redacted(&config.database_url),
            config.home.join("keys").display()
        );
        std::io::stdout().flush().ok();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let run = tokio::spawn(w.run(stopped));
        stop_signal().await;
        let _ = stop.send(true);
        let _ = run.await;
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_hidden_in_logs() {
        assert_eq!(
            super::redacted("postgres://mpegs:hunter2@db:5432/mpegs"),
            "postgres://mpegs:***@db:5432/mpegs"
        );
        assert_eq!(
            super::redacted("sqlite:///x/service.db"),
            "sqlite:///x/service.db"
        );
        // libpq-style parameters in the query carry passwords too.
        assert_eq!(
            super::redacted("postgres://db:5432/mpegs?user=m&password=hunter2&sslmode=require"),
            "postgres://db:5432/mpegs?user=m&password=***&sslmode=require"
        );
        assert_eq!(
            super::redacted("postgres://m:pw@db/mpegs?sslpassword=x&application_name=a"),
            "postgres://m:***@db/mpegs?sslpassword=***&application_name=a"
        );
        assert_eq!(
            super::redacted("sqlite:///x/service.db?mode=rwc"),
            "sqlite:///x/service.db?mode=rwc"
        );
    }
}
