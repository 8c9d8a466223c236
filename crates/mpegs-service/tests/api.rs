//! The HTTP API end to end on the embedded default (SQLite, in-process worker):
//! upload an attested original, prove an edit job, follow its events, download
//! and verify the output; and every kind of bad request gets a 4xx JSON error
//! with nothing stored.

use mpegs_media::{encode_png, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::attest;
use mpegs_provenance::verify::verify_media;
use mpegs_provenance::{Bundle, MediaSecret};
use mpegs_service::{tokens, Db, Limits, QueueSettings, ServiceConfig};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use std::time::Duration;

const TILE: u32 = 8;

fn picture(seed: u8) -> Frame {
    let (w, h) = (16u32, 8u32);
    let data = (0..w * h * 3)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed))
        .collect();
    Frame::new(FrameInfo::new(PixelFormat::Rgb24, w, h), data).unwrap()
}

struct Original {
    png: Vec<u8>,
    bundle: Bundle,
    secret: Vec<u8>,
    /// The attesting device's key: only it can revoke the history on-chain.
    key: DeviceKey,
}

fn original(seed_byte: u8, reveal: bool) -> Original {
    let frame = picture(seed_byte);
    let key = DeviceKey::generate();
    let seed = Seed::random();
    let bundle = attest(&frame, &key, TILE, &seed, "test-camera", 1_700_000_000).unwrap();
    let secret = MediaSecret::new(bundle.media.value().unwrap(), seed);
    let bundle = if reveal { bundle.reveal(seed) } else { bundle };
    Original {
        png: encode_png(&frame).unwrap(),
        bundle,
        secret: serde_json::to_vec(&secret).unwrap(),
        key,
    }
}

fn form(png: &[u8], bundle: &Bundle, secret: Option<&[u8]>) -> Form {
    let mut f = Form::new()
        .part("image", Part::bytes(png.to_vec()).file_name("image.png"))
        .part(
            "bundle",
            Part::bytes(serde_json::to_vec(bundle).unwrap()).file_name("bundle.json"),
        );
    if let Some(s) = secret {
        f = f.part("secret", Part::bytes(s.to_vec()).file_name("secret.json"));
    }
    f
}

struct Fixture {
    _home: tempfile::TempDir,
    base: String,
    token: String,
    http: reqwest::Client,
    running: Option<mpegs_service::Running>,
    db: Db,
}

async fn start(max_upload_bytes: usize) -> Fixture {
    start_with(max_upload_bytes, 1).await
}

fn settings() -> QueueSettings {
    QueueSettings {
        lease: Duration::from_secs(5),
        heartbeat: Duration::from_secs(1),
        poll: Duration::from_millis(100),
        max_attempts: 3,
        ..QueueSettings::default()
    }
}

async fn start_with(max_upload_bytes: usize, workers: usize) -> Fixture {
    let limits = Limits {
        max_upload_bytes,
        ..Limits::default()
    };
    start_limited(limits, workers).await
}

async fn start_limited(limits: Limits, workers: usize) -> Fixture {
    let home = tempfile::tempdir().unwrap();
    let url = mpegs_service::config::default_database_url(home.path());
    let config = ServiceConfig {
        home: home.path().to_path_buf(),
        database_url: url.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        workers,
        limits,
        queue: settings(),
        chain: Default::default(),
    };
    let running = mpegs_service::start(config).await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    let token = tokens::create(&db, "tests").await.unwrap();
    Fixture {
        base: format!("http://{}", running.addr),
        _home: home,
        token,
        http: reqwest::Client::new(),
        running: Some(running),
        db,
    }
}

impl Fixture {
    async fn upload(&self, form: Form, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}/v1/media", self.base))
            .multipart(form);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    async fn post_job(&self, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/v1/jobs", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// `GET path` as the fixture's account (what another account or an
    /// anonymous reader sees is tests/accounts.rs's subject).
    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// The body of `GET path`.
    async fn get_bytes(&self, path: &str) -> Vec<u8> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.bytes().await.unwrap().to_vec()
    }

    async fn get_text(&self, path: &str) -> String {
        String::from_utf8(self.get_bytes(path).await).unwrap()
    }

    /// `POST /v1/verify` with `form`.
    async fn verify(&self, form: Form) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/v1/verify", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// Uploads a fresh published original and queues `vf` on it; the job id.
    async fn queued_job(&self, salt: u8, vf: &str) -> String {
        let good = original(salt, true);
        let (status, body) = self
            .upload(form(&good.png, &good.bundle, None), Some(&self.token))
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, job) = self
            .post_job(serde_json::json!({"input": body["commitment"], "vf": vf}))
            .await;
        assert_eq!(status, 202, "{job}");
        job["id"].as_str().unwrap().to_string()
    }

    async fn media_count(&self) -> usize {
        let (_, list) = self.get("/v1/media?limit=200").await;
        list["items"].as_array().unwrap().len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_edit_follow_download_and_verify() {
    let f = start(4 << 20).await;
    let private = original(3, false);

    // A private original is uploaded with its secret; the service keeps the
    // secret to prove edits and never serves it.
    let (status, body) = f
        .upload(
            form(&private.png, &private.bundle, Some(&private.secret)),
            Some(&f.token),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let input = body["commitment"].as_str().unwrap().to_string();
    assert_eq!(body["kind"], "attestation");
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(16), Some(8))
    );
    // Uploading it again is idempotent.
    let (status, _) = f
        .upload(
            form(&private.png, &private.bundle, Some(&private.secret)),
            Some(&f.token),
        )
        .await;
    assert_eq!(status, 200);

    let (status, item) = f.get(&format!("/v1/media/{input}")).await;
    assert_eq!(status, 200);
    assert_eq!(item["kind"], "attestation");
    assert_eq!(
        item["device"].as_str().unwrap(),
        private
            .bundle
            .attestation
            .as_ref()
            .unwrap()
            .device
            .to_ascii_lowercase()
    );
    assert_eq!(item["verification"]["status"], "valid");
    let bundle_text = f.get_text(&format!("/v1/media/{input}/bundle")).await;
    assert!(
        !bundle_text.contains("\"seed\""),
        "a private original's seed is never served"
    );

    let (status, job) = f
        .post_job(serde_json::json!({"input": input, "vf": "hflip"}))
        .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().unwrap().to_string();
    assert_eq!(job["progress"]["total"], 2);

    // The event stream ends with the job: progress events, then `done`.
    let events = tokio::time::timeout(
        Duration::from_secs(600),
        f.http
            .get(format!("{}/v1/jobs/{id}/events", f.base))
            .bearer_auth(&f.token)
            .send()
            .await
            .unwrap()
            .text(),
    )
    .await
    .expect("the job finishes")
    .unwrap();
    assert!(events.contains("event: progress"), "{events}");
    assert!(events.contains("event: done"), "{events}");

    let (_, job) = f.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["progress"]["done"], 2);
    let output = job["output"].as_str().unwrap().to_string();

    let (_, out_item) = f.get(&format!("/v1/media/{output}")).await;
    assert_eq!(out_item["kind"], "edit");
    assert_eq!(out_item["parent"], input.as_str());
    assert_eq!(out_item["steps"][0]["filter"], "hflip");
    assert_eq!(out_item["steps"][0]["tiles"], 2);
    let (_, in_item) = f.get(&format!("/v1/media/{input}")).await;
    assert_eq!(in_item["children"][0], output.as_str());

    // The downloaded output verifies on its own, like any reader would check it.
    let png = f.get_bytes(&format!("/v1/media/{output}/image")).await;
    let bundle: Bundle =
        serde_json::from_slice(&f.get_bytes(&format!("/v1/media/{output}/bundle")).await).unwrap();
    let frame = mpegs_media::decode_image(&png, "output").unwrap();
    let store = mpegs_zk::keys::KeyStore::open(f._home.path().join("keys")).unwrap();
    let report = verify_media(&frame, &bundle, &store);
    assert!(report.valid, "{:?}", report.reason);
    assert_eq!(report.proofs_verified, 2);

    // POST /v1/verify gives the same report; one changed pixel makes it invalid.
    let (status, served) = f.verify(form(&png, &bundle, None)).await;
    assert_eq!(status, 200);
    assert_eq!(served, serde_json::to_value(&report).unwrap());
    let mut tampered = frame.clone();
    tampered.data[5] ^= 1;
    let (_, served) = f
        .verify(form(&encode_png(&tampered).unwrap(), &bundle, None))
        .await;
    assert_eq!(served["valid"], false);
    assert!(served["reason"].as_str().unwrap().contains("do not match"));

    // The explorer's reads. The graph: the original, the proven step, the output.
    let (status, graph) = f.get(&format!("/v1/media/{output}/graph")).await;
    assert_eq!(status, 200, "{graph}");
    let nodes = graph["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{graph}");
    assert_eq!(
        (
            &nodes[0]["commitment"],
            &nodes[0]["role"],
            &nodes[0]["published"]
        ),
        (
            &Value::from(input.as_str()),
            &Value::from("original"),
            &Value::from(false)
        )
    );
    assert_eq!(nodes[0]["device"], item["device"]);
    assert_eq!(
        (
            &nodes[1]["commitment"],
            &nodes[1]["role"],
            &nodes[1]["published"]
        ),
        (
            &Value::from(output.as_str()),
            &Value::from("edit"),
            &Value::from(true)
        )
    );
    assert!(nodes.iter().all(|n| n["available"] == true));
    let edges = graph["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(
        (&edges[0]["filter"], &edges[0]["tiles"], &edges[0]["proofs"]),
        (&Value::from("hflip"), &Value::from(2), &Value::from(2))
    );
    assert_eq!(graph["jobs"], serde_json::json!([]));
    // No contracts deployed on the (embedded) chain: no records, not an error.
    assert_eq!(graph["chain"], Value::Null, "{graph}");
    // From the original, the same tree: derived items come from the catalog.
    let (_, from_original) = f.get(&format!("/v1/media/{input}/graph")).await;
    assert_eq!(from_original["nodes"], graph["nodes"]);
    assert_eq!(from_original["edges"], graph["edges"]);

    chain_records_join_the_graph(&f, &png, &bundle, &private.key, &input, &output).await;

    // The key set: every key the output pins, with the hash of the key served.
    let (status, keys) = f.get("/v1/keys").await;
    assert_eq!(status, 200);
    assert_eq!(keys["version"], 1);
    for (id, pinned) in &bundle.edit.as_ref().unwrap().steps[0].circuits {
        let key = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} is not in {keys}"));
        assert_eq!(key["vk_hash"], pinned.as_str());
        let vk = hex::decode(key["vk"].as_str().unwrap().strip_prefix("0x").unwrap()).unwrap();
        assert_eq!(
            format!("sha256:{}", mpegs_service::files::sha256_hex(&vk)),
            *pinned
        );
    }

    // Search: by commitment prefix and by device; bad queries are 400 JSON.
    let (_, found) = f
        .get(&format!("/v1/media?commitment={}", &output[..10]))
        .await;
    let found: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["commitment"].as_str().unwrap())
        .collect();
    assert!(found.contains(&output.as_str()), "{found:?}");
    assert!(
        found.iter().all(|c| c.starts_with(&output[..10])),
        "{found:?}"
    );
    let device = item["device"]
        .as_str()
        .unwrap()
        .to_ascii_uppercase()
        .replacen("0X", "0x", 1);
    let (_, by_device) = f.get(&format!("/v1/media?device={device}")).await;
    assert_eq!(
        by_device["items"].as_array().unwrap().len(),
        2,
        "{by_device}"
    );
    for bad in [
        "/v1/media?commitment=0xzz",
        "/v1/media?commitment=0x",
        "/v1/media?device=0x1234",
        "/v1/media?limit=many",
    ] {
        let (status, body) = f.get(bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["reason"].is_string(), "{bad}: {body}");
    }

    // A private original's pixels are never served (its bundle and edits are).
    let (status, body) = f.get(&format!("/v1/media/{input}/image")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("private")),
        "{body}"
    );

    let metrics = f.get_text("/metrics").await;
    assert!(
        metrics.contains("mpegs_jobs{status=\"done\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("mpegs_tile_proofs_total 2"), "{metrics}");
    f.running.unwrap().stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors_and_store_nothing() {
    let f = start(64 << 10).await;
    let good = original(5, true);
    let other = original(6, true);

    // Missing and unknown tokens.
    let (status, body) = f.upload(form(&good.png, &good.bundle, None), None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let fake = format!("mpegs_{}", "0".repeat(64));
    let (status, _) = f
        .upload(form(&good.png, &good.bundle, None), Some(&fake))
        .await;
    assert_eq!(status, 401);

    // A truncated PNG.
    let truncated = &good.png[..good.png.len() / 2];
    let (status, body) = f
        .upload(form(truncated, &good.bundle, None), Some(&f.token))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "bad_image");

    // A bundle of another picture.
    let (status, body) = f
        .upload(form(&good.png, &other.bundle, None), Some(&f.token))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "invalid_bundle");
    assert!(body["reason"].as_str().unwrap().contains("do not match"));

    // A private original without its secret cannot be verified.
    let private = original(7, false);
    let (status, body) = f
        .upload(form(&private.png, &private.bundle, None), Some(&f.token))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_bundle"))
    );

    // A secret of another picture.
    let (status, body) = f
        .upload(
            form(&private.png, &private.bundle, Some(&good.secret)),
            Some(&f.token),
        )
        .await;
    assert_eq!((status, body["error"].as_str()), (422, Some("bad_secret")));

    // An oversized upload (the limit here is 64 KiB).
    let big = vec![7u8; 100 << 10];
    let (status, body) = f
        .upload(form(&big, &good.bundle, None), Some(&f.token))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );

    // Missing fields, unknown fields, garbage bundles.
    let (status, _) = f
        .upload(
            Form::new().part("image", Part::bytes(good.png.clone())),
            Some(&f.token),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = f
        .upload(
            form(&good.png, &good.bundle, None).part("extra", Part::bytes(vec![1])),
            Some(&f.token),
        )
        .await;
    assert_eq!(status, 400);
    let garbage = Form::new()
        .part("image", Part::bytes(good.png.clone()))
        .part("bundle", Part::bytes(b"{not json".to_vec()));
    let (status, body) = f.upload(garbage, Some(&f.token)).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("bad_bundle")));

    assert_eq!(f.media_count().await, 0, "nothing was stored");

    // Jobs: unknown filter, unknown input, malformed ids and bodies, no token.
    let (status, body) = f
        .upload(form(&good.png, &good.bundle, None), Some(&f.token))
        .await;
    assert_eq!(status, 201, "{body}");
    let input = body["commitment"].as_str().unwrap().to_string();
    let (status, body) = f
        .post_job(serde_json::json!({"input": input, "vf": "frobnicate=3"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("bad_filter")),
        "{body}"
    );
    let (status, body) = f
        .post_job(serde_json::json!({"input": input, "vf": "crop=64:64:0:0"}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("bad_filter")),
        "{body}"
    );
    // A filter that would read a file on the server is refused before parsing.
    let server_file = f._home.path().join("logo.png");
    std::fs::write(&server_file, encode_png(&picture(1)).unwrap()).unwrap();
    let vf = format!(
        "hflip,overlay=x=0:y=0:format=rgb:file={}",
        server_file.display()
    );
    let (status, body) = f
        .post_job(serde_json::json!({"input": input, "vf": vf}))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("bad_filter")),
        "{body}"
    );
    assert!(
        body["reason"].as_str().unwrap().contains("watermark"),
        "{body}"
    );
    let missing = format!("0x{}", "1".repeat(64));
    let (status, _) = f
        .post_job(serde_json::json!({"input": missing, "vf": "hflip"}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = f
        .post_job(serde_json::json!({"input": "0xZZ", "vf": "hflip"}))
        .await;
    assert_eq!(status, 400);
    let (status, body) = f.post_job(serde_json::json!({"input": input})).await;
    assert!((400..500).contains(&status), "{body}");
    assert_eq!(body["error"], "bad_json");
    let resp = f
        .http
        .post(format!("{}/v1/jobs", f.base))
        .json(&serde_json::json!({"input": input, "vf": "hflip"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (status, _) = f.get("/v1/jobs/nothex").await;
    assert_eq!(status, 400);
    let (status, _) = f.get(&format!("/v1/jobs/{}", "a".repeat(32))).await;
    assert_eq!(status, 404);
    let (status, body) = f.get("/v1/nowhere").await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")));

    let (_, jobs) = (0, sqlx_count(&f.db, "SELECT COUNT(*) FROM jobs").await);
    assert_eq!(jobs, 0, "no job was queued");
    assert_eq!(f.media_count().await, 1);
    let (status, health) = f.get("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    f.running.unwrap().stop().await.unwrap();
}

async fn sqlx_count(db: &Db, sql: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// A task that kills its worker on every attempt must not circle forever: once
/// its attempts are used up and the last lease expires, its job fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_whose_workers_keep_dying_fails_its_job() {
    use mpegs_service::queue;

    let f = start_with(4 << 20, 0).await;
    let id = f.queued_job(11, "vflip").await;
    let once = QueueSettings {
        lease: Duration::from_millis(300),
        max_attempts: 1,
        ..settings()
    };
    // A worker claims the key generation and dies (never reports back).
    let claim = queue::claim(&f.db, "ghost", &once).await.unwrap();
    assert!(
        matches!(claim, Some(queue::Claim::Keys { .. })),
        "{claim:?}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The next worker to look finds no work, and the job failed with the reason.
    assert!(queue::claim(&f.db, "next", &once).await.unwrap().is_none());
    let (_, status) = f.get(&format!("/v1/jobs/{id}")).await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(
        status["error"]
            .as_str()
            .unwrap()
            .contains("stopped responding"),
        "{status}"
    );
    f.running.unwrap().stop().await.unwrap();
}

/// The pixel limit is applied to the image header before any decoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_over_the_pixel_limit_are_refused_before_decoding() {
    let limits = Limits {
        max_upload_pixels: 100,
        ..Limits::default()
    };
    let f = start_limited(limits, 0).await;
    let good = original(13, true); // 16×8 = 128 pixels
    let (status, body) = f
        .upload(form(&good.png, &good.bundle, None), Some(&f.token))
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("too_large")),
        "{body}"
    );
    assert!(body["reason"]
        .as_str()
        .unwrap()
        .contains("MPEGS_MAX_UPLOAD_PIXELS"));
    let (status, _) = f.verify(form(&good.png, &good.bundle, None)).await;
    assert_eq!(status, 413);
    assert_eq!(f.media_count().await, 0);
    f.running.unwrap().stop().await.unwrap();
}

/// The explorer's pages: the built explorer when this binary embeds it, else a
/// page that says it was not built (503, so it is never taken for the real
/// thing); asset paths cannot leave the embedded files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_the_explorer_or_say_how_to_build_it() {
    let f = start_with(4 << 20, 0).await;
    for page in [
        "/",
        "/verify",
        "/capture",
        &format!("/m/0x{}", "a".repeat(64)),
    ] {
        let resp = f
            .http
            .get(format!("{}{page}", f.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let kind = resp.headers()["content-type"].to_str().unwrap().to_string();
        let body = resp.text().await.unwrap();
        assert!(kind.starts_with("text/html"), "{page}: {kind}");
        if mpegs_service::web::built() {
            assert_eq!(status, 200, "{page}");
            assert!(body.contains("name=\"mpegs-explorer\""), "{page}: {body}");
        } else {
            assert_eq!(status, 503, "{page}");
            assert!(body.contains("scripts/build-web.sh"), "{page}: {body}");
        }
    }
    for missing in [
        "/assets/nothing.js",
        "/assets/../Cargo.toml",
        "/assets/a//b",
    ] {
        let (status, body) = f.get(missing).await;
        assert_eq!(status, 404, "{missing}: {body}");
    }
    if let Some(wasm) = mpegs_service::web::paths().find(|p| p.ends_with(".wasm")) {
        let resp = f
            .http
            .get(format!("{}/{wasm}", f.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(resp.headers()["content-type"], "application/wasm");
    }
    f.running.unwrap().stop().await.unwrap();
}

/// Once contracts are deployed on the chain the server reads (here the embedded
/// EVM under its home, as `mpegs chain` uses), the graph carries the registry's
/// records of its items: none before registering, the edit (its proofs verified
/// on-chain) and its original after, the revocation once revoked; a deployment
/// file that does not parse is reported, and the graph is still served.
async fn chain_records_join_the_graph(
    f: &Fixture,
    png: &[u8],
    bundle: &Bundle,
    device: &DeviceKey,
    input: &str,
    output: &str,
) {
    let home = f._home.path().to_path_buf();
    let work = tempfile::tempdir().unwrap();
    let media = work.path().join("out.png");
    std::fs::write(&media, png).unwrap();
    bundle
        .save(&work.path().join("out.png.mpegs.json"))
        .unwrap();
    let config = mpegs_app::Config::at(&home);
    let store = config.key_store().unwrap();
    let session = |config: &mpegs_app::Config| mpegs_app::chain::Session::open(config).unwrap();
    // Looking is read-only: a graph request never creates an embedded chain.
    let (status, _) = f.get(&format!("/v1/media/{output}/graph")).await;
    assert_eq!(status, 200);
    assert!(!home.join("chain/embedded.json").exists());
    {
        let mut s = session(&config);
        mpegs_app::chain::deploy(&mut s, false).unwrap();
    }
    let graph_chain = || async {
        let (status, graph) = f.get(&format!("/v1/media/{output}/graph")).await;
        assert_eq!(status, 200, "{graph}");
        graph["chain"].clone()
    };
    let chain = graph_chain().await;
    assert_eq!(chain["chain_id"], 31337, "{chain}");
    assert_eq!(chain["records"], serde_json::json!([]), "{chain}");

    {
        let mut s = session(&config);
        mpegs_app::chain::register(&mut s, &media, None, mpegs_app::chain::Mode::Auto, &store)
            .unwrap();
    }
    let chain = graph_chain().await;
    let records = chain["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "{chain}");
    let of = |c: &str| {
        records
            .iter()
            .find(|r| r["commitment"] == c)
            .unwrap()
            .clone()
    };
    assert_eq!(of(output)["kind"], "edit");
    assert_eq!(of(output)["proofs"], 2);
    assert_eq!(of(output)["parent"], input);
    assert_eq!(of(output)["revoked_at"], Value::Null);
    assert_eq!(of(input)["kind"], "original");
    assert_eq!(
        of(input)["device"].as_str().unwrap().to_lowercase(),
        bundle
            .origin()
            .attestation
            .as_ref()
            .unwrap()
            .device
            .to_lowercase()
    );

    {
        let mut s = session(&config);
        // Records are the device's: the edit is revoked with its signature.
        let key_path = work.path().join("device.key");
        device.save(&key_path).unwrap();
        mpegs_app::chain::revoke(&mut s, output, None, "test", Some(&key_path), 3600).unwrap();
    }
    let chain = graph_chain().await;
    let revoked = chain["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["commitment"] == output)
        .unwrap()
        .clone();
    assert!(revoked["revoked_at"].as_u64().is_some(), "{chain}");

    // An unreadable deployment: the graph is served, the chain part says why.
    let deployment = home.join("chain/embedded.deployment.json");
    std::fs::write(&deployment, b"{ not json").unwrap();
    let chain = graph_chain().await;
    assert!(
        chain["error"]
            .as_str()
            .unwrap()
            .contains("cannot read the chain"),
        "{chain}"
    );
}
