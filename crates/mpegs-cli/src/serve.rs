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
    #[arg(long, default_value = DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// Database URL: postgres://… to share the queue with `mpegs worker`s
    /// (default: SQLite at $MPEGS_HOME/service.db).
    #[arg(long, env = "MPEGS_DATABASE_URL", global = true)]
    database: Option<String>,
    /// Workers in this process (0: only external `mpegs worker`s prove).
    #[arg(long, default_value_t = DEFAULT_WORKERS)]
    workers: usize,
    /// The chain whose registry records the explorer shows (JSON-RPC URL of a
    /// node; default: the embedded EVM under $MPEGS_HOME, as `mpegs chain`
    /// uses). Read-only; nothing shown until contracts are deployed there.
    #[arg(long, env = "MPEGS_RPC_URL")]
    rpc_url: Option<String>,
    /// Deployment file of that chain (contract addresses; default as for
    /// `mpegs chain`).
    #[arg(long)]
    chain_deployment: Option<std::path::PathBuf>,
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
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it (shown once; only its hash is stored).
    Create {
        #[arg(long)]
        name: String,
    },
    /// List token names.
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
}

/// A database URL with its password hidden, for logs.
fn redacted(url: &str) -> String {
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

fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
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

fn config(database: Option<String>) -> Result<ServiceConfig> {
    let mut config = ServiceConfig::embedded()?;
    if let Some(url) = database {
        config.database_url = url;
    } else {
        config.database_url = default_database_url(&config.home);
    }
    Ok(config)
}

pub fn serve(args: ServeArgs) -> Result<ExitCode> {
    let mut config = config(args.database)?;
    let rt = runtime()?;
    if let Some(ServeAction::Token { action }) = args.action {
        return rt.block_on(token(&config, action));
    }
    config.listen = args.listen;
    config.workers = args.workers;
    config.chain.rpc_url = args.rpc_url.clone();
    config.chain.deployment = args.chain_deployment.clone();
    init_logging();
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
        TokenAction::Create { name } => {
            let token = tokens::create(&db, &name).await?;
            println!("{token}");
            eprintln!("token {name:?} created; it is shown only now (the service stores its hash)");
        }
        TokenAction::List => {
            for (name, created) in tokens::list(&db).await? {
                println!("{name}\t{}", crate::report::utc((created / 1000) as u64));
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

pub fn worker(args: WorkerArgs) -> Result<ExitCode> {
    let config = config(args.database)?;
    let queue = QueueSettings::from_env()?;
    init_logging();
    runtime()?.block_on(async move {
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let store = Arc::new(config.key_store()?);
        let w = worker::Worker::new(db, store, worker::worker_id("worker"), queue);
        println!(
            "mpegs worker {}: working on {} (keys in {})",
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
    }
}
