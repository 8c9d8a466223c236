//! `mpegs-bench service`: tile proofs per second through `mpegs serve` (embedded
//! SQLite, 1 and 2 in-process workers) against the CLI's prover alone on the same
//! edit, and API latency (p50/p99) of `GET /v1/media/{c}` and `POST /v1/verify`
//! under concurrent clients.

use anyhow::{bail, Context, Result};
use clap::Args;
use mpegs_filters::parse_filtergraph;
use mpegs_media::{encode_png, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_provenance::Bundle;
use mpegs_service::{tokens, Db, Limits, QueueSettings, ServiceConfig};
use mpegs_zk::keys::KeyStore;
use rand::RngCore;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ServiceBench {
    #[arg(long, default_value = "256x192")]
    size: String,
    #[arg(long, default_value = "hflip")]
    vf: String,
    #[arg(long, default_value_t = 64)]
    tile: u32,
    /// Concurrent clients of the latency test.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Requests per client for GET /v1/media/{c}.
    #[arg(long, default_value_t = 10)]
    gets_per_client: usize,
}

fn random_frame(w: u32, h: u32) -> Result<Frame> {
    let info = FrameInfo::new(PixelFormat::Rgb24, w, h);
    let mut data = vec![0u8; info.byte_len()];
    rand::rngs::OsRng.fill_bytes(&mut data);
    Ok(Frame::new(info, data)?)
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let i = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms[i]
}

struct Service {
    running: mpegs_service::Running,
    base: String,
    token: String,
}

async fn start(home: &std::path::Path, db_name: &str, workers: usize) -> Result<Service> {
    let url = format!("sqlite://{}?mode=rwc", home.join(db_name).display());
    let config = ServiceConfig {
        home: home.to_path_buf(),
        database_url: url.clone(),
        listen: "127.0.0.1:0".parse()?,
        workers,
        // The latency test's clients all come from 127.0.0.1: one trusted
        // client, not the many the per-client connection cap is for.
        limits: Limits {
            max_connections_per_ip: 4096,
            ..Limits::default()
        },
        queue: QueueSettings {
            poll: Duration::from_millis(50),
            ..QueueSettings::default()
        },
        chain: Default::default(),
    };
    let running = mpegs_service::start(config).await?;
    let token = tokens::create(&Db::connect(&url).await?, "bench").await?;
    Ok(Service {
        base: format!("http://{}", running.addr),
        running,
        token,
    })
}

fn form(png: &[u8], bundle: &Bundle) -> Result<reqwest::multipart::Form> {
    Ok(reqwest::multipart::Form::new()
        .part("image", reqwest::multipart::Part::bytes(png.to_vec()))
        .part(
            "bundle",
            reqwest::multipart::Part::bytes(serde_json::to_vec(bundle)?),
        ))
}

/// Uploads the original, runs the job; returns (seconds from submission to done,
/// output commitment).
async fn run_job(
    s: &Service,
    http: &reqwest::Client,
    png: &[u8],
    bundle: &Bundle,
    vf: &str,
) -> Result<(f64, String)> {
    let up: Value = http
        .post(format!("{}/v1/media", s.base))
        .bearer_auth(&s.token)
        .multipart(form(png, bundle)?)
        .send()
        .await?
        .json()
        .await?;
    let input = up["commitment"]
        .as_str()
        .context("upload failed")?
        .to_string();
    let started = Instant::now();
    let job: Value = http
        .post(format!("{}/v1/jobs", s.base))
        .bearer_auth(&s.token)
        .json(&json!({"input": input, "vf": vf}))
        .send()
        .await?
        .json()
        .await?;
    let id = job["id"].as_str().context("job refused")?.to_string();
    loop {
        let st: Value = http
            .get(format!("{}/v1/jobs/{id}", s.base))
            .send()
            .await?
            .json()
            .await?;
        match st["status"].as_str() {
            Some("done") => {
                return Ok((
                    started.elapsed().as_secs_f64(),
                    st["output"].as_str().unwrap_or_default().to_string(),
                ))
            }
            Some("failed") => bail!("job failed: {}", st["error"]),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn latency<F, Fut>(clients: usize, per_client: usize, request: F) -> Result<(f64, f64, usize)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<u16>> + Send,
{
    let mut tasks = vec![];
    for _ in 0..clients {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = vec![];
            for _ in 0..per_client {
                let t = Instant::now();
                let status = request().await?;
                out.push((status, t.elapsed().as_secs_f64() * 1000.0));
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut ms = vec![];
    for t in tasks {
        for (status, m) in t.await?? {
            if status != 200 {
                bail!("a request answered {status}");
            }
            ms.push(m);
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok((percentile(&ms, 0.5), percentile(&ms, 0.99), ms.len()))
}

pub fn run(args: ServiceBench) -> Result<()> {
    let (w, h) = mpegs_app::input::parse_size(&args.size)?;
    let home = tempfile::tempdir()?;
    let store = KeyStore::open(home.path().join("keys"))?;
    let frame = random_frame(w, h)?;
    let key = DeviceKey::generate();
    let seed = Seed::random();
    let attested = attest(&frame, &key, args.tile, &seed, "bench", 0)?;
    let bundle = attested.clone().reveal(seed);
    let png = encode_png(&frame)?;
    let chain = parse_filtergraph(&args.vf)?;
    let prover = Prover::new(&store, &Quiet);
    // Keys first (not timed), so every run below measures proving only.
    prover.setup_chain(&chain, attested.media.header)?;
    let t = Instant::now();
    let (_, cli_bundle) = prover.edit(&frame, attested, &seed, &chain)?;
    let cli_s = t.elapsed().as_secs_f64();
    let tiles: usize = cli_bundle
        .edit
        .as_ref()
        .map_or(0, |e| e.steps.iter().map(|s| s.tiles.len()).sum());
    println!(
        "edit {} on {w}x{h} rgb24, tile {}: {tiles} tile proofs, {} cores",
        args.vf,
        args.tile,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "  CLI prover ({} proofs in flight): {cli_s:.1} s, {:.3} tile proofs/s",
        mpegs_provenance::prove::PARALLEL_TILES,
        tiles as f64 / cli_s
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let http = reqwest::Client::new();
        for workers in [1usize, 2] {
            let s = start(home.path(), &format!("bench{workers}.db"), workers).await?;
            let (secs, out) = run_job(&s, &http, &png, &bundle, &args.vf).await?;
            println!(
                "  service, {workers} worker(s): {secs:.1} s, {:.3} tile proofs/s ({:+.1} % vs CLI)",
                tiles as f64 / secs,
                (cli_s / secs - 1.0) * 100.0
            );
            let output = out;
            if workers == 2 {
                let base = s.base.clone();
                let c = output.clone();
                let get_http = http.clone();
                let (p50, p99, n) = latency(args.clients, args.gets_per_client, move || {
                    let (http, url) = (get_http.clone(), format!("{base}/v1/media/{c}"));
                    async move { Ok(http.get(url).send().await?.status().as_u16()) }
                })
                .await?;
                println!(
                    "  GET /v1/media/{{c}}, {} concurrent clients: p50 {p50:.1} ms, p99 {p99:.1} ms ({n} requests)",
                    args.clients
                );
                let out_png = http
                    .get(format!("{}/v1/media/{output}/image", s.base))
                    .send()
                    .await?
                    .bytes()
                    .await?
                    .to_vec();
                let out_bundle: Bundle = http
                    .get(format!("{}/v1/media/{output}/bundle", s.base))
                    .send()
                    .await?
                    .json()
                    .await?;
                let base = s.base.clone();
                let verify_http = http.clone();
                let (p50, p99, n) = latency(args.clients, 1, move || {
                    let http = verify_http.clone();
                    let url = format!("{base}/v1/verify");
                    let f = form(&out_png, &out_bundle);
                    async move {
                        let resp = http.post(url).multipart(f?).send().await?;
                        let status = resp.status().as_u16();
                        let body: Value = resp.json().await?;
                        if body["valid"] != true {
                            bail!("verification failed: {body}");
                        }
                        Ok(status)
                    }
                })
                .await?;
                println!(
                    "  POST /v1/verify ({tiles} proofs), {} concurrent clients: p50 {p50:.0} ms, p99 {p99:.0} ms ({n} requests)",
                    args.clients
                );
            }
            s.running.stop().await?;
        }
        Ok::<_, anyhow::Error>(())
    })
}
