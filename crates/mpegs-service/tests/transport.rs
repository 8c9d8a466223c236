//! The transport against hostile clients (issue 25, hostile review): a
//! slowloris trickling its headers, one address opening many connections,
//! `POST /v1/verify` bodies that would pin memory before a verification slot,
//! and one account holding many event streams. Each on a real server
//! (in-process, SQLite, no worker), spoken to over raw TCP where the client
//! must misbehave.

use mpegs_media::{encode_png, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::attest;
use mpegs_provenance::Bundle;
use mpegs_service::tokens::{self, NewToken};
use mpegs_service::{Db, Limits, ServiceConfig};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

struct Server {
    _home: tempfile::TempDir,
    addr: SocketAddr,
    base: String,
    http: reqwest::Client,
    running: Option<mpegs_service::Running>,
    db: Db,
}

async fn start(limits: Limits) -> Server {
    let home = tempfile::tempdir().unwrap();
    let url = mpegs_service::config::default_database_url(home.path());
    let config = ServiceConfig {
        home: home.path().to_path_buf(),
        database_url: url.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        // No worker: jobs stay unfinished, so their event streams stay open.
        workers: 0,
        limits,
        queue: Default::default(),
        chain: Default::default(),
    };
    let running = mpegs_service::start(config).await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    Server {
        addr: running.addr,
        base: format!("http://{}", running.addr),
        _home: home,
        http: reqwest::Client::new(),
        running: Some(running),
        db,
    }
}

impl Server {
    async fn stop(mut self) {
        self.running.take().unwrap().stop().await.unwrap();
    }

    async fn token(&self, account: &str) -> String {
        tokens::create_with(
            &self.db,
            NewToken {
                name: account,
                account: Some(account),
                scopes: tokens::DEFAULT_SCOPES,
                expires_in: None,
            },
        )
        .await
        .unwrap()
    }
}

/// A published attested original: its PNG and bundle.
fn original(seed_byte: u8) -> (Vec<u8>, Bundle) {
    let (w, h) = (16u32, 8u32);
    let data = (0..w * h * 3)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(seed_byte))
        .collect();
    let frame = Frame::new(FrameInfo::new(PixelFormat::Rgb24, w, h), data).unwrap();
    let seed = Seed::random();
    let bundle = attest(
        &frame,
        &DeviceKey::generate(),
        8,
        &seed,
        "test-camera",
        1_700_000_000,
    )
    .unwrap()
    .reveal(seed);
    (encode_png(&frame).unwrap(), bundle)
}

fn form(png: &[u8], bundle: &Bundle) -> Form {
    Form::new()
        .part("image", Part::bytes(png.to_vec()).file_name("image.png"))
        .part(
            "bundle",
            Part::bytes(serde_json::to_vec(bundle).unwrap()).file_name("bundle.json"),
        )
}

/// Reads what the server sends within `wait`: `None` when nothing came in
/// time; `Some(bytes)` otherwise, empty when the server closed (or reset) the
/// connection without answering.
async fn read_some(tcp: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    match tokio::time::timeout(wait, tcp.read(&mut buf)).await {
        Err(_) => None,
        Ok(Ok(n)) => Some(buf[..n].to_vec()),
        Ok(Err(_)) => Some(vec![]),
    }
}

fn status_of(response: &[u8]) -> u16 {
    String::from_utf8_lossy(response)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The JSON body of a complete, small raw response.
fn json_of(response: &[u8]) -> Value {
    let text = String::from_utf8_lossy(response);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    serde_json::from_str(body).unwrap_or(Value::Null)
}

async fn livez_on(tcp: &mut TcpStream) -> u16 {
    tcp.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap_or(());
    read_some(tcp, Duration::from_secs(10))
        .await
        .map_or(0, |r| status_of(&r))
}

/// A connection to `to` from the loopback address `from` (Linux routes all
/// of 127/8 to the loopback device, so 127.0.0.2 is another client).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_trickling_its_headers_loses_the_connection_at_the_header_deadline() {
    let s = start(Limits {
        header_timeout: Duration::from_secs(1),
        rate_per_sec: 0,
        ..Limits::default()
    })
    .await;
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    // One byte every 200 ms: well inside the 1 s idle timer, so only a fixed
    // deadline for the whole head ends it. The head never ends (an endless
    // header value), so a server without one holds the connection for as long
    // as the client likes — the test gives up after 20 s.
    let head = b"GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let t = Instant::now();
    let mut sent = 0usize;
    let outcome = loop {
        let byte = head.get(sent).copied().unwrap_or(b'a');
        if tcp.write_all(&[byte]).await.is_err() {
            break "closed";
        }
        sent += 1;
        if let Some(answer) = read_some(&mut tcp, Duration::from_millis(200)).await {
            // Closed, or answered with an error (never a 200: the head is
            // not complete).
            assert_ne!(status_of(&answer), 200);
            break "closed";
        }
        if t.elapsed() > Duration::from_secs(20) {
            break "still open";
        }
    };
    assert_eq!(
        outcome,
        "closed",
        "a trickling head held its connection for {:?}",
        t.elapsed()
    );
    // A prompt client on another connection is served as before.
    let mut ok = TcpStream::connect(s.addr).await.unwrap();
    assert_eq!(livez_on(&mut ok).await, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_cannot_take_more_than_its_share_of_connections() {
    let s = start(Limits {
        max_connections_per_ip: 2,
        rate_per_sec: 0,
        ..Limits::default()
    })
    .await;
    // Two connections from 127.0.0.1, each answered (so both are counted).
    let mut held = vec![];
    for _ in 0..2 {
        let mut tcp = connect_from("127.0.0.1", s.addr).await;
        assert_eq!(livez_on(&mut tcp).await, 200);
        held.push(tcp);
    }
    // The third from the same address is closed unanswered.
    let mut third = connect_from("127.0.0.1", s.addr).await;
    assert_eq!(
        livez_on(&mut third).await,
        0,
        "the third connection was served"
    );
    // Another address still gets in.
    let mut other = connect_from("127.0.0.2", s.addr).await;
    assert_eq!(livez_on(&mut other).await, 200);
    // A closed connection gives its address its share back.
    drop(held.pop());
    let t = Instant::now();
    loop {
        let mut again = connect_from("127.0.0.1", s.addr).await;
        if livez_on(&mut again).await == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the slot was not freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_refuses_oversized_and_unsized_bodies_before_reading_them() {
    let limits = Limits {
        max_bundle_bytes: 1 << 20,
        max_image_bytes: 1 << 20,
        ..Limits::default()
    };
    let limit = limits.verify_body_limit();
    let s = start(limits).await;
    // Over the limit: answered 413 from the head alone (no body is sent).
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    let head = format!(
        "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n\
         Content-Length: {}\r\n\r\n",
        limit + 1
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let answer = read_some(&mut tcp, Duration::from_secs(10))
        .await
        .expect("no answer without the body");
    assert_eq!(
        status_of(&answer),
        413,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(json_of(&answer)["error"], "too_large");
    // Its own limit, not the general upload limit (64 MiB by default): a
    // body of 3 MiB is refused too.
    assert!(limit < 3 << 20);
    // Without a length (chunked): 411.
    let mut tcp = TcpStream::connect(s.addr).await.unwrap();
    tcp.write_all(
        b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n\
          Transfer-Encoding: chunked\r\n\r\n",
    )
    .await
    .unwrap();
    let answer = read_some(&mut tcp, Duration::from_secs(10))
        .await
        .expect("no answer without the body");
    assert_eq!(
        status_of(&answer),
        411,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(json_of(&answer)["error"], "length_required");
    // A well-formed request within the limit is verified as before.
    let (png, bundle) = original(1);
    let r = s
        .http
        .post(format!("{}/v1/verify", s.base))
        .multipart(form(&png, &bundle))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let report: Value = r.json().await.unwrap();
    assert_eq!(report["valid"], true, "{report}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_bodies_beyond_the_memory_budget_are_refused_unread() {
    let s = start(Limits {
        verify_memory_bytes: 1 << 20,
        rate_per_sec: 0,
        ..Limits::default()
    })
    .await;
    let large = 700 << 10;
    let head = format!(
        "POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n\
         Content-Length: {large}\r\nExpect: 100-continue\r\n\r\n"
    );
    // The first large request: the server asks for its body (100 Continue)
    // once it has reserved the body's bytes — and the client never sends it.
    let mut first = TcpStream::connect(s.addr).await.unwrap();
    first.write_all(head.as_bytes()).await.unwrap();
    let answer = read_some(&mut first, Duration::from_secs(10))
        .await
        .expect("no 100 Continue");
    assert_eq!(
        status_of(&answer),
        100,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    // The second does not fit beside it: 503 at once, asked for no body.
    let mut second = TcpStream::connect(s.addr).await.unwrap();
    second.write_all(head.as_bytes()).await.unwrap();
    let answer = read_some(&mut second, Duration::from_secs(10))
        .await
        .expect("the second request was left waiting");
    let text = String::from_utf8_lossy(&answer).to_string();
    assert_eq!(status_of(&answer), 503, "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert_eq!(json_of(&answer)["error"], "busy", "{text}");
    // A small request fits beside the first one.
    let (png, bundle) = original(2);
    let r = s
        .http
        .post(format!("{}/v1/verify", s.base))
        .multipart(form(&png, &bundle))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Once the first client goes away, its reservation is returned.
    drop(first);
    let t = Instant::now();
    loop {
        let mut again = TcpStream::connect(s.addr).await.unwrap();
        again.write_all(head.as_bytes()).await.unwrap();
        let answer = read_some(&mut again, Duration::from_secs(10))
            .await
            .unwrap_or_default();
        if status_of(&answer) == 100 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the budget was not returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_account_cannot_hold_every_event_stream() {
    let s = start(Limits {
        max_event_streams_per_account: 2,
        rate_per_sec: 0,
        ..Limits::default()
    })
    .await;
    let mut urls = vec![];
    for (i, account) in ["alice", "bob"].into_iter().enumerate() {
        let token = s.token(account).await;
        let (png, bundle) = original(10 + i as u8);
        let r = s
            .http
            .post(format!("{}/v1/media", s.base))
            .bearer_auth(&token)
            .multipart(form(&png, &bundle))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = s
            .http
            .post(format!("{}/v1/jobs", s.base))
            .bearer_auth(&token)
            .json(&json!({"input": bundle.media.commitment, "vf": "hflip"}))
            .send()
            .await
            .unwrap();
        let job: Value = r.json().await.unwrap();
        let id = job["id"].as_str().unwrap_or_else(|| panic!("{job}"));
        urls.push((format!("{}/v1/jobs/{id}/events", s.base), token));
    }
    let open = |i: usize| {
        let (url, token) = urls[i].clone();
        let http = s.http.clone();
        async move { http.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let mut alices = vec![open(0).await, open(0).await];
    assert!(alices.iter().all(|r| r.status() == 200));
    let third = open(0).await;
    assert_eq!(third.status(), 429);
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"], "too_many_streams", "{body}");
    // Another account is not held back by alice's streams.
    let bobs = open(1).await;
    assert_eq!(bobs.status(), 200);
    // A closed stream gives alice her share back.
    drop(alices.pop());
    let t = Instant::now();
    loop {
        let r = open(0).await;
        if r.status() == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the stream's slot was not freed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop((alices, bobs));
    s.stop().await;
}
