//! `mpegs serve` and `mpegs worker` as separate processes over a real
//! PostgreSQL: a private cluster (initdb + pg_ctl in a temp dir, loopback port),
//! one server and three workers. An edit job survives `kill -9` of a worker
//! mid-task and of the server mid-job, and a database restart; it completes
//! with exactly one proof per tile and the output verifies with `mpegs verify`.
//! Then a burst of 100 concurrent uploads and verifications is all answered.

use mpegs_media::{save_png_atomic, Frame, FrameInfo, PixelFormat};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One value from SQL in the `postgres` database.
fn query(pg: &mpegs_testkit::postgres::Cluster, sql: &str) -> String {
    pg.query("postgres", sql).unwrap_or_else(|e| panic!("{e}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped, with the first line it printed.
struct Proc {
    child: Child,
    first_line: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mpegs(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mpegs"));
    c.env("MPEGS_HOME", home)
        .env("MPEGS_LEASE_SECS", "4")
        .env("MPEGS_HEARTBEAT_SECS", "1")
        .env("MPEGS_POLL_MS", "100")
        // The burst below opens 100 connections from 127.0.0.1 at once.
        .env("MPEGS_MAX_CONNECTIONS_PER_IP", "1024")
        .env_remove("MPEGS_DATABASE_URL");
    c
}

fn spawn(mut cmd: Command, log: &Path) -> Proc {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!line.is_empty(), "no startup line; see {}", log.display());
    Proc {
        child,
        first_line: line.trim().to_string(),
    }
}

fn serve(home: &Path, url: &str, port: u16, log: &Path) -> Proc {
    let mut c = mpegs(home);
    c.args([
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--database",
        url,
        "--workers",
        "1",
    ]);
    let p = spawn(c, log);
    assert!(p.first_line.contains("listening on"), "{}", p.first_line);
    p
}

fn worker(home: &Path, url: &str, log: &Path) -> (Proc, String) {
    let mut c = mpegs(home);
    c.args(["worker", "--database", url]);
    let p = spawn(c, log);
    // "mpegs worker ID: working on …"
    let id = p
        .first_line
        .strip_prefix("mpegs worker ")
        .and_then(|r| r.split(':').next())
        .unwrap()
        .to_string();
    (p, id)
}

fn kill9(p: &mut Proc) {
    let ok = Command::new("kill")
        .args(["-9", &p.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let _ = p.child.wait();
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_picture(path: &Path, w: u32, h: u32, salt: u8) {
    let info = FrameInfo::new(PixelFormat::Rgb24, w, h);
    let data = (0..info.byte_len())
        .map(|i| ((i * 29) as u8).wrapping_add(salt))
        .collect();
    save_png_atomic(&Frame::new(info, data).unwrap(), path).unwrap();
}

fn run_ok(mut c: Command) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn upload_form(png: &Path, bundle: &Path) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .part(
            "image",
            reqwest::multipart::Part::bytes(std::fs::read(png).unwrap()),
        )
        .part(
            "bundle",
            reqwest::multipart::Part::bytes(std::fs::read(bundle).unwrap()),
        )
}

#[test]
fn postgres_scale_out_survives_kills_and_a_database_restart() {
    // A cluster of its own: this test stops and restarts the server.
    let pg = mpegs_testkit::postgres::Cluster::start().unwrap_or_else(|e| panic!("{e}"));
    let url = pg.url("postgres");
    let work = tempfile::tempdir().unwrap();
    let home = work.path().join("home");
    let p = |n: &str| work.path().join(n);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");

    let mut server = serve(&home, &url, port, &p("server.log"));
    let mut workers: Vec<(Proc, String)> = (0..3)
        .map(|i| worker(&home, &url, &p(&format!("worker{i}.log"))))
        .collect();
    let token = {
        let mut c = mpegs(&home);
        c.args([
            "serve",
            "token",
            "create",
            "--name",
            "newsroom",
            "--database",
            &url,
        ]);
        run_ok(c).trim().to_string()
    };

    // An attested original (seed revealed), uploaded over HTTP.
    write_picture(&p("photo.png"), 64, 32, 1);
    run_ok({
        let mut c = mpegs(&home);
        c.args(["keygen", "-o"]).arg(p("device.key"));
        c
    });
    run_ok({
        let mut c = mpegs(&home);
        c.arg("attest")
            .arg(p("photo.png"))
            .arg("--key")
            .arg(p("device.key"))
            .args(["--tile", "16", "--reveal"]);
        c
    });
    let rt = rt();
    let http = reqwest::Client::new();
    let uploaded: serde_json::Value = rt.block_on(async {
        let resp = http
            .post(format!("{base}/v1/media"))
            .bearer_auth(&token)
            .multipart(upload_form(&p("photo.png"), &p("photo.png.mpegs.json")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 201);
        resp.json().await.unwrap()
    });
    let input = uploaded["commitment"].as_str().unwrap().to_string();

    let job: serde_json::Value = rt.block_on(async {
        let resp = http
            .post(format!("{base}/v1/jobs"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"input": input, "vf": "hflip,format=gray"}))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(status, 202, "{body}");
        body
    });
    let id = job["id"].as_str().unwrap().to_string();
    let total = job["progress"]["total"].as_i64().unwrap();
    assert_eq!(total, 16, "8 tiles per step at tile 16");

    // kill -9 an external worker while it holds a tile task.
    let mut victim_task = String::new();
    wait_for("a worker to be mid-task", Duration::from_secs(300), || {
        let row = query(
            &pg,
            &format!(
                "SELECT id || ' ' || lease_owner FROM tasks WHERE job_id = '{id}' \
             AND kind = 'tile' AND state = 'running' AND lease_owner LIKE 'worker-%' LIMIT 1"
            ),
        );
        if row.is_empty() {
            return false;
        }
        let (task, owner) = row.split_once(' ').unwrap();
        if let Some(i) = workers.iter().position(|(_, wid)| wid == owner) {
            kill9(&mut workers[i].0);
            workers.remove(i);
            victim_task = task.to_string();
            true
        } else {
            false
        }
    });

    // kill -9 the server (and its in-process worker) mid-job, then restart it.
    kill9(&mut server);
    let done_before: i64 = query(
        &pg,
        &format!("SELECT COUNT(*) FROM proofs WHERE job_id = '{id}'"),
    )
    .parse()
    .unwrap();
    assert!(
        done_before < total,
        "the job was still running when the server died"
    );
    server = serve(&home, &url, port, &p("server2.log"));

    // Stop the database briefly: the service reports unhealthy, then recovers.
    pg.stop("fast").unwrap();
    let health = |rt: &tokio::runtime::Runtime| -> u16 {
        rt.block_on(async {
            match http.get(format!("{base}/healthz")).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            }
        })
    };
    wait_for(
        "/healthz to report the database down",
        Duration::from_secs(30),
        || health(&rt) == 503,
    );
    std::thread::sleep(Duration::from_secs(2));
    pg.start_server().unwrap();
    wait_for("/healthz to recover", Duration::from_secs(60), || {
        health(&rt) == 200
    });

    // The job completes, with exactly one proof per tile.
    let status = rt.block_on(async {
        let events = tokio::time::timeout(Duration::from_secs(900), async {
            loop {
                // The event stream may be cut by the restarts; reconnect.
                // A job's events are its owner's only: send the token.
                if let Ok(r) = http
                    .get(format!("{base}/v1/jobs/{id}/events"))
                    .bearer_auth(&token)
                    .send()
                    .await
                {
                    if let Ok(text) = r.text().await {
                        if text.contains("event: done") || text.contains("event: failed") {
                            return text;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
        .await
        .expect("the job finishes");
        assert!(events.contains("event: done"), "{events}");
        let job: serde_json::Value = http
            .get(format!("{base}/v1/jobs/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        job
    });
    assert_eq!(status["status"], "done", "{status}");
    assert_eq!(status["progress"]["done"], total);
    assert_eq!(
        query(
            &pg,
            &format!("SELECT COUNT(*) FROM proofs WHERE job_id = '{id}'")
        ),
        total.to_string()
    );
    assert_eq!(
        query(
            &pg,
            &format!("SELECT COUNT(DISTINCT (step, tile)) FROM proofs WHERE job_id = '{id}'")
        ),
        total.to_string()
    );
    // The killed worker's task was retried by another worker.
    let retried = query(
        &pg,
        &format!("SELECT state || ' ' || attempts FROM tasks WHERE id = '{victim_task}'"),
    );
    let (state, attempts) = retried.split_once(' ').unwrap();
    assert_eq!(state, "done");
    assert!(attempts.parse::<i64>().unwrap() >= 2, "{retried}");
    // Proving keys were generated once per circuit.
    assert_eq!(
        query(
            &pg,
            "SELECT COUNT(*) FROM circuit_keys WHERE state <> 'ready'"
        ),
        "0"
    );

    // Download the output; `mpegs verify` passes.
    let output = status["output"].as_str().unwrap().to_string();
    for (part, file) in [("image", "out.png"), ("bundle", "out.png.mpegs.json")] {
        let bytes = rt.block_on(async {
            let resp = http
                .get(format!("{base}/v1/media/{output}/{part}"))
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success());
            resp.bytes().await.unwrap()
        });
        std::fs::write(p(file), bytes).unwrap();
    }
    let verified = run_ok({
        let mut c = mpegs(&home);
        c.arg("verify").arg(p("out.png"));
        c
    });
    assert!(verified.contains("VALID"), "{verified}");

    burst(&rt, &http, &base, &token, &home, &p);
    drop(workers);
    drop(server);
}

/// 100 concurrent requests — 50 verifications, 50 uploads of distinct
/// originals — all answered as expected; prints p50/p99 latency.
fn burst(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    base: &str,
    token: &str,
    home: &Path,
    p: &dyn Fn(&str) -> PathBuf,
) {
    for i in 0..50u8 {
        let png = p(&format!("burst{i}.png"));
        write_picture(&png, 16, 16, 100 + i);
        run_ok({
            let mut c = mpegs(home);
            c.arg("attest")
                .arg(&png)
                .arg("--key")
                .arg(p("device.key"))
                .args(["--tile", "16", "--reveal"]);
            c
        });
    }
    let results = rt.block_on(async {
        let mut tasks = vec![];
        for i in 0..100usize {
            let http = http.clone();
            let (url, form, auth) = if i % 2 == 0 {
                (
                    format!("{base}/v1/verify"),
                    upload_form(&p("out.png"), &p("out.png.mpegs.json")),
                    None,
                )
            } else {
                let png = p(&format!("burst{}.png", i / 2));
                let bundle = p(&format!("burst{}.png.mpegs.json", i / 2));
                (
                    format!("{base}/v1/media"),
                    upload_form(&png, &bundle),
                    Some(token.to_string()),
                )
            };
            tasks.push(tokio::spawn(async move {
                let started = Instant::now();
                let mut req = http.post(url).multipart(form);
                if let Some(t) = auth {
                    req = req.bearer_auth(t);
                }
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let body: serde_json::Value = resp.json().await.unwrap();
                (i, status, body, started.elapsed())
            }));
        }
        let mut out = vec![];
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    assert_eq!(results.len(), 100);
    for (i, status, body, _) in &results {
        if i % 2 == 0 {
            assert_eq!(
                (*status, body["valid"].as_bool()),
                (200, Some(true)),
                "{body}"
            );
        } else {
            assert_eq!(*status, 201, "{body}");
        }
    }
    let mut ms: Vec<f64> = results.iter().map(|r| r.3.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    println!(
        "burst of 100 (50 verify + 50 upload): p50 {:.0} ms, p99 {:.0} ms",
        ms[49], ms[98]
    );
    let listed: serde_json::Value = rt.block_on(async {
        http.get(format!("{base}/v1/media?limit=200"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    // The original, the edit output and the 50 uploads: none lost.
    assert_eq!(listed["items"].as_array().unwrap().len(), 52);
}
