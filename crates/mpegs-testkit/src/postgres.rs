//! A private PostgreSQL cluster for tests: `initdb` + `pg_ctl` in a temp dir,
//! listening on a free loopback port, trusted local user `mpegs`.
//!
//! [`shared`] starts one cluster per test binary (the first test that asks
//! pays the ~1–2 s of `initdb`); [`fresh_database`] gives each test its own
//! database in it (`CREATE DATABASE`, tens of milliseconds), so tests running
//! in parallel never see each other's rows. [`Cluster::start`] gives a test a
//! cluster of its own, for tests that stop and restart the server.
//!
//! The server binaries come from `$MPEGS_PG_BIN`, else the newest
//! `/usr/lib/postgresql/*/bin`. Their absence is an error, never a skip: CI
//! installs them (`ensure_postgres` in scripts/common.sh), and a test that
//! quietly passed without its database would prove nothing.
//!
//! Cleanup does not rely on destructors: Rust never drops statics, and a test
//! binary may panic or be killed. Each cluster has a watchdog process (its own
//! process group, so a Ctrl-C aimed at the tests does not reach it) reading a
//! pipe from this process; when this process ends, however it ends, the pipe
//! closes and the watchdog stops the server and deletes the directory.
//! Dropping a [`Cluster`] does the same at once, and waits for it.

use std::fmt;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Why a cluster or a database could not be had.
#[derive(Debug, Clone)]
pub struct PgError(String);

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PgError {}

fn err(msg: impl Into<String>) -> PgError {
    PgError(msg.into())
}

/// The folder with `initdb` and `pg_ctl`: `$MPEGS_PG_BIN`, else the newest
/// `/usr/lib/postgresql/*/bin` (by major version, numerically).
pub fn server_bin() -> Result<PathBuf, PgError> {
    const HOW: &str = "PostgreSQL's server binaries are needed by this test: install them with \
                       `source scripts/common.sh && ensure_postgres` (it exports MPEGS_PG_BIN), \
                       or point MPEGS_PG_BIN at the folder holding initdb and pg_ctl";
    if let Some(dir) = std::env::var_os("MPEGS_PG_BIN") {
        let dir = PathBuf::from(dir);
        if !dir.join("initdb").exists() || !dir.join("pg_ctl").exists() {
            return Err(err(format!(
                "MPEGS_PG_BIN={} holds no initdb and pg_ctl. {HOW}",
                dir.display()
            )));
        }
        return Ok(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| {
            err(format!(
                "no /usr/lib/postgresql ({e}) and MPEGS_PG_BIN unset. {HOW}"
            ))
        })?
        .filter_map(|e| {
            let e = e.ok()?;
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).ok_or_else(|| {
        err(format!(
            "no /usr/lib/postgresql/*/bin/initdb and MPEGS_PG_BIN unset. {HOW}"
        ))
    })
}

/// PostgreSQL refuses to run as root; as root the server runs as `postgres`.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

fn free_port() -> Result<u16, PgError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| err(format!("no free loopback port: {e}")))
}

fn run(mut cmd: Command, what: &str) -> Result<String, PgError> {
    let out = cmd
        .output()
        .map_err(|e| err(format!("{what}: cannot run: {e}")))?;
    if !out.status.success() {
        return Err(err(format!(
            "{what}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A running private cluster. Dropping it stops the server and deletes its
/// directory.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    /// The watchdog's stdin: closing it (drop, or this process ending) makes
    /// the watchdog stop the server and delete `dir`.
    watchdog: Mutex<Option<Child>>,
}

impl Cluster {
    /// Initialises and starts a new cluster in a fresh temp dir.
    pub fn start() -> Result<Self, PgError> {
        let bin = server_bin()?;
        let dir = tempfile::Builder::new()
            .prefix("mpegs-pg-")
            .tempdir()
            .map_err(|e| err(format!("temp dir for the cluster: {e}")))?
            // The watchdog deletes it, also when this process dies.
            .keep();
        let root = is_root();
        if root {
            let mut c = Command::new("chown");
            c.arg("postgres").arg(&dir);
            run(c, "chown postgres (the server cannot run as root)")?;
        }
        let cluster = Cluster {
            port: free_port()?,
            bin,
            watchdog: Mutex::new(None),
            dir,
        };
        // From here on, `cluster`'s drop cleans up whatever exists.
        cluster.spawn_watchdog()?;
        let mut initdb = cluster.server_tool("initdb");
        initdb.arg("-D").arg(cluster.data()).args([
            "-U",
            "mpegs",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        run(initdb, "initdb")?;
        cluster.start_server()?;
        Ok(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A server binary, run as `postgres` when this process is root.
    fn server_tool(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// A client binary (connects over TCP, so any user may run it); the
    /// cluster's own version when it ships one, else the one on `PATH`.
    fn client_tool(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        let mut c = Command::new(if exe.exists() { exe } else { tool.into() });
        c.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "mpegs",
        ]);
        c
    }

    fn spawn_watchdog(&self) -> Result<(), PgError> {
        let stop = self.server_tool("pg_ctl");
        let mut argv: Vec<std::ffi::OsString> = vec![stop.get_program().into()];
        argv.extend(stop.get_args().map(Into::into));
        argv.extend([
            "-D".into(),
            self.data().into(),
            "-m".into(),
            "immediate".into(),
        ]);
        argv.extend(["-w".into(), "stop".into()]);
        let child = Command::new("sh")
            .arg("-c")
            // Wait for EOF on stdin, stop the server if it runs, delete the dir.
            .arg(r#"cat >/dev/null; [ -f "$MPEGS_PG_DIR/data/postmaster.pid" ] && "$@"; rm -rf -- "$MPEGS_PG_DIR""#)
            .arg("sh")
            .args(argv)
            .env("MPEGS_PG_DIR", &self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| err(format!("cannot start the cluster's watchdog (sh): {e}")))?;
        *self.watchdog.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        Ok(())
    }

    /// Starts the server (again, after [`Cluster::stop`]); waits until it
    /// accepts connections.
    pub fn start_server(&self) -> Result<(), PgError> {
        let opts = format!(
            // fsync off: a test cluster need not survive a power cut, and
            // every commit would otherwise wait for the disk.
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=500",
            self.port,
            self.dir.display()
        );
        let mut c = self.server_tool("pg_ctl");
        c.arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-o", &opts, "-w", "start"]);
        run(c, "pg_ctl start").map_err(|e| {
            let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
            err(format!("{e}\nserver log:\n{log}"))
        })?;
        Ok(())
    }

    /// Stops the server: `mode` is pg_ctl's `fast`, `smart` or `immediate`.
    pub fn stop(&self, mode: &str) -> Result<(), PgError> {
        let mut c = self.server_tool("pg_ctl");
        c.arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "stop"]);
        run(c, "pg_ctl stop").map(|_| ())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of `database` (`postgres` exists from the start).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://mpegs@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database with a name unique in this cluster; returns
    /// its URL.
    pub fn create_database(&self) -> Result<String, PgError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = self.client_tool("createdb");
        c.arg(&name);
        run(c, "createdb")?;
        Ok(self.url(&name))
    }

    /// One value from SQL in `database`, through psql (unaligned, no header).
    pub fn query(&self, database: &str, sql: &str) -> Result<String, PgError> {
        let mut c = self.client_tool("psql");
        c.args(["-d", database, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        run(c, "psql")
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let child = self.watchdog.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = child.take() {
            // EOF on its stdin: the watchdog stops the server, deletes the dir.
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.flush();
            }
            let _ = child.wait();
        }
    }
}

/// The cluster of this test binary, started by the first caller; the others
/// wait for it. Stopped and deleted when the process exits (see the module
/// docs). A failure to start is every caller's error, with the same reason.
pub fn shared() -> Result<&'static Cluster, PgError> {
    static SHARED: OnceLock<Result<Cluster, PgError>> = OnceLock::new();
    SHARED
        .get_or_init(Cluster::start)
        .as_ref()
        .map_err(Clone::clone)
}

/// A new empty database in this binary's shared cluster; its URL.
pub fn fresh_database() -> Result<String, PgError> {
    shared()?.create_database()
}
