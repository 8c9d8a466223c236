//! The 60 MB JSON bomb (issue 25 §3): an array of zeros posted as the bundle
//! of `POST /v1/verify`. Parsed into a JSON tree it cost 1.8 GB; refused by
//! the shape check inside the verify slot, the process's peak stays low. Its
//! own test binary, so the peak (VmHWM) is this request's alone.

use mpegs_media::{encode_png, Frame, FrameInfo, PixelFormat};
use mpegs_service::{Limits, ServiceConfig};
use reqwest::multipart::{Form, Part};

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

#[tokio::test(flavor = "multi_thread")]
async fn a_60_mb_json_bomb_to_verify_stays_within_a_memory_bound() {
    let home = tempfile::tempdir().unwrap();
    let config = ServiceConfig {
        home: home.path().to_path_buf(),
        database_url: mpegs_service::config::default_database_url(home.path()),
        listen: "127.0.0.1:0".parse().unwrap(),
        workers: 0,
        limits: Limits::default(),
        queue: Default::default(),
        chain: Default::default(),
    };
    let running = mpegs_service::start(config).await.unwrap();
    let frame = Frame::new(FrameInfo::new(PixelFormat::Rgb24, 8, 8), vec![7; 192]).unwrap();
    let png = encode_png(&frame).unwrap();
    let mut bomb = Vec::with_capacity(60 << 20);
    bomb.push(b'[');
    while bomb.len() < (60 << 20) - 2 {
        bomb.extend_from_slice(b"0,");
    }
    bomb.extend_from_slice(b"0]");
    let before = peak_rss_mb();
    let form = Form::new()
        .part("image", Part::bytes(png).file_name("i.png"))
        .part("bundle", Part::bytes(bomb).file_name("b.json"));
    let r = reqwest::Client::new()
        .post(format!("http://{}/v1/verify", running.addr))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    let after = peak_rss_mb();
    println!("peak RSS (server and client in one process): {before:.0} MB before, {after:.0} MB after the bomb");
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("MPEGS_MAX_JSON_VALUES"), "{body}");
    assert!(after < 400.0, "peak RSS {after} MB");
    running.stop().await.unwrap();
    // The baseline, in the same process after the bound was measured (the
    // peak only grows): what the previous code did with the body first —
    // parse it into a JSON tree.
    let mut again = Vec::with_capacity(60 << 20);
    again.push(b'[');
    while again.len() < (60 << 20) - 2 {
        again.extend_from_slice(b"0,");
    }
    again.extend_from_slice(b"0]");
    let tree: serde_json::Value = serde_json::from_slice(&again).unwrap();
    let naive = peak_rss_mb();
    drop(tree);
    println!("baseline: the same body parsed into a serde_json tree: peak RSS {naive:.0} MB");
}
