//! The explorer in a real browser (docs/explorer.md): Debian's chromium,
//! headless, driven by playwright-core (web/tests/browser.mjs) against a real
//! `mpegs serve` on a temp home with SQLite.
//!
//! 1. `/` is the built explorer, not the page a binary without it serves.
//! 2. flow: the device key sealed at rest (a plaintext key of an earlier page
//!    is sealed under a non-extractable WebCrypto key and deleted; an altered
//!    sealed key is refused) → capture with the fake camera → attest and sign
//!    in WASM → upload →
//!    an edit job (redaction box drawn with the mouse, crop, gray) followed live
//!    → the item's graph → in-browser verification reports valid.
//! 3. files: `/verify` reports the output valid, one changed pixel invalid at
//!    the pixels, two swapped proofs invalid at step 2 with the reason; the
//!    static page verifies from a folder with no server.
//! 4. Every report the browser showed equals `mpegs verify --json` on the same
//!    files (the WASM verifier and the native one agree).
//! 5. After `mpegs chain deploy` and `mpegs chain register` on the server's home,
//!    the item page shows the registry's records (badges and text).
//!
//! Screenshots land in target/browser-artifacts/. Fails loudly when chromium,
//! the npm packages or the built explorer are missing (scripts/test.sh
//! installs and builds them).

use mpegs_media::{decode_image, encode_png};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The whole browser suite, at most (it takes about a minute on 2 cores).
const SUITE_LIMIT: Duration = Duration::from_secs(600);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("MPEGS_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "no chromium at {}: the browser tests need Debian's chromium \
         (scripts/test.sh installs it: apt-get install chromium)",
        path.display()
    );
    path
}

fn mpegs(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mpegs"));
    c.env("MPEGS_HOME", home)
        .env("MPEGS_POLL_MS", "100")
        .env_remove("MPEGS_DATABASE_URL");
    c
}

/// `mpegs serve`, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(home: &Path, log: &Path) -> Server {
    let mut child = mpegs(home)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "mpegs serve: listening on http://127.0.0.1:PORT (database …"
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}; see {}", log.display()))
        .to_string();
    Server { child, url }
}

/// A plain HTTP GET (no client library needed): status and body.
fn get(url: &str, path: &str) -> (u16, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// Runs one phase of web/tests/browser.mjs; panics with its output if it fails.
fn browser(phase: &str, env: &[(&str, &Path)], url: &str, token: &str, deadline: Instant) {
    let root = repo();
    let mut cmd = Command::new("node");
    cmd.arg(root.join("web/tests/browser.mjs"))
        .arg(phase)
        .env("MPEGS_URL", url)
        .env("MPEGS_TOKEN", token)
        .env("MPEGS_CHROMIUM", chromium())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .expect("node is needed for the browser tests (scripts/common.sh installs it)");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "browser phase {phase} failed ({status})");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("browser phase {phase} ran past the suite's limit of {SUITE_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `mpegs verify --json IMAGE --bundle BUNDLE`: the native report.
fn native_report(home: &Path, image: &Path, bundle: &Path) -> Value {
    let out = mpegs(home)
        .arg("verify")
        .arg(image)
        .arg("--bundle")
        .arg(bundle)
        .arg("--json")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "mpegs verify --json: {e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn the_explorer_captures_edits_and_verifies_in_a_real_browser() {
    let started = Instant::now();
    let deadline = started + SUITE_LIMIT;
    let root = repo();
    chromium();
    assert!(
        root.join("web/node_modules/playwright-core/package.json")
            .exists(),
        "web/node_modules is missing: run ./scripts/build-web.sh (npm ci)"
    );
    assert!(
        root.join("web/dist/index.html").exists(),
        "web/dist is missing: run ./scripts/build-wasm.sh and ./scripts/build-web.sh"
    );
    assert!(
        mpegs_service::web::built(),
        "this mpegs binary was compiled without the explorer: build web/dist before cargo"
    );

    let home = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let artifacts = root.join("target/browser-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let server = serve(home.path(), &work.path().join("serve.log"));
    let token = mpegs(home.path())
        .args(["serve", "token", "create", "--name", "browser"])
        .output()
        .unwrap();
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();

    // 1. The real explorer is served: never the not-built page.
    let (status, body) = get(&server.url, "/");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"<meta name="mpegs-explorer" content="home">"#),
        "{body}"
    );
    assert!(!body.contains("was not built"), "{body}");
    let (status, _) = get(&server.url, "/verify");
    assert_eq!(status, 200);

    // A device key as an earlier capture page kept it (plaintext JSON in
    // IndexedDB): the flow seeds it and checks the page seals it.
    let legacy = mpegs(home.path())
        .args(["keygen", "--output"])
        .arg(work.path().join("legacy-device.json"))
        .output()
        .unwrap();
    assert!(
        legacy.status.success(),
        "{}",
        String::from_utf8_lossy(&legacy.stderr)
    );

    let env = [
        ("MPEGS_WORK", work.path()),
        ("MPEGS_ARTIFACTS", artifacts.as_path()),
    ];
    // 2. Capture, upload, edit, graph, verify in the browser.
    browser("flow", &env, &server.url, &token, deadline);
    let flow: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("flow.json")).unwrap()).unwrap();
    println!("flow: {flow}");

    // The files of step 3: one changed pixel, and two proofs of step 2 swapped.
    let out = work.path().join("out.png");
    let bundle = work.path().join("out.png.mpegs.json");
    let mut frame = decode_image(&std::fs::read(&out).unwrap(), "out.png").unwrap();
    frame.data[100] ^= 0x10;
    let tampered = work.path().join("tampered.png");
    std::fs::write(&tampered, encode_png(&frame).unwrap()).unwrap();
    let mut b: Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    let tiles = b["edit"]["steps"][1]["tiles"].as_array_mut().unwrap();
    let first = tiles[0]["proof"].clone();
    tiles[0]["proof"] = tiles[1]["proof"].clone();
    tiles[1]["proof"] = first;
    assert_ne!(tiles[0]["proof"], tiles[1]["proof"]);
    let swapped = work.path().join("swapped.png.mpegs.json");
    std::fs::write(&swapped, serde_json::to_vec_pretty(&b).unwrap()).unwrap();

    // 3. /verify, served and static.
    browser("files", &env, &server.url, &token, deadline);

    // 4. The browser's reports are the native ones.
    let shown: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("browser-reports.json")).unwrap())
            .unwrap();
    for (name, image, bundle) in [
        ("valid", &out, &bundle),
        ("static", &out, &bundle),
        ("pixel", &tampered, &bundle),
        ("proof", &out, &swapped),
    ] {
        let native = native_report(home.path(), image, bundle);
        assert_eq!(
            shown[name], native,
            "{name}: the browser and mpegs verify differ"
        );
    }
    assert_eq!(shown["valid"]["valid"], true);
    assert_eq!(shown["pixel"]["valid"], false);
    assert!(
        shown["proof"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("step 2 (crop"),
        "{}",
        shown["proof"]
    );

    // 5. The history registered on the server's chain (the embedded EVM under
    // its home, as `mpegs chain` uses): the item page shows the records.
    for args in [
        vec!["chain".as_ref(), "deploy".as_ref()],
        vec!["chain".as_ref(), "register".as_ref(), out.as_os_str()],
    ] {
        let run = mpegs(home.path()).args(&args).output().unwrap();
        assert!(
            run.status.success(),
            "mpegs {args:?}: {}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
    browser("chain", &env, &server.url, &token, deadline);

    println!(
        "browser suite: {:.1} s; screenshots in {}",
        started.elapsed().as_secs_f64(),
        artifacts.display()
    );
    drop(server);
}
