//! Secrets at rest (issue 25 §5): after a private original is uploaded and a
//! job queued on it, a dump of the database (every text column, the raw bytes
//! of the SQLite files) and every file under the service's home hold neither
//! its seed, nor the job's step seeds, nor its pixels (raw or PNG); a public
//! item's pixels stay in the clear; sealed values and image ciphertexts moved
//! to another row or altered, a wrong key file and an exposed key file are
//! refused with clear errors (a wrong key file at start); plaintext rows and
//! files from older databases are sealed on start; rotation re-seals
//! everything under a new key, and after it, with only the new key, the
//! owner's edit job still runs.

use mpegs_media::{encode_png, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::attest;
use mpegs_provenance::{Bundle, MediaSecret};
use mpegs_service::secrets::SecretBox;
use mpegs_service::{catalog, tokens, Db, Limits, QueueSettings, ServiceConfig};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use sqlx::Row;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn config(home: &Path) -> ServiceConfig {
    // No worker: the seeds are written when the job is queued, which is what
    // most tests look at.
    config_with(home, 0)
}

fn config_with(home: &Path, workers: usize) -> ServiceConfig {
    ServiceConfig {
        home: home.to_path_buf(),
        database_url: mpegs_service::config::default_database_url(home),
        listen: "127.0.0.1:0".parse().unwrap(),
        workers,
        limits: Limits::default(),
        queue: QueueSettings {
            poll: Duration::from_millis(100),
            ..QueueSettings::default()
        },
        chain: Default::default(),
    }
}

struct Private {
    png: Vec<u8>,
    /// The frame's raw RGB bytes.
    pixels: Vec<u8>,
    bundle: Bundle,
    secret: Vec<u8>,
    seed: Seed,
}

fn private_original(salt: u8) -> Private {
    // Distinctive pixels per salt (xorshift): a linear ramp would PNG-filter
    // to the same bytes for every salt, and the published item's PNG in the
    // clear would then hold "private" runs.
    let mut x = 0x9e37_79b9u32 ^ u32::from(salt).wrapping_mul(0x85eb_ca6b);
    let data = (0..8u32 * 8 * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect();
    let frame = Frame::new(FrameInfo::new(PixelFormat::Rgb24, 8, 8), data).unwrap();
    let pixels = frame.data.clone();
    let seed = Seed::random();
    let bundle = attest(
        &frame,
        &DeviceKey::generate(),
        8,
        &seed,
        "cam",
        1_700_000_000,
    )
    .unwrap();
    let secret = MediaSecret::new(bundle.media.value().unwrap(), seed);
    Private {
        png: encode_png(&frame).unwrap(),
        pixels,
        secret: serde_json::to_vec(&secret).unwrap(),
        bundle,
        seed,
    }
}

/// Uploads `p` privately and queues an hflip job on it: (commitment, job id).
async fn upload_and_queue(base: &str, token: &str, p: &Private) -> (String, String) {
    let c = upload(base, token, &p.png, &p.bundle, Some(&p.secret)).await;
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/jobs"))
        .bearer_auth(token)
        .json(&serde_json::json!({"input": c, "vf": "hflip"}))
        .send()
        .await
        .unwrap();
    let job: Value = resp.json().await.unwrap();
    (c, job["id"].as_str().expect("job queued").to_string())
}

/// Every text and blob cell of every table, as text (a logical dump).
async fn dump(db: &Db) -> String {
    let tables = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut out = String::new();
    for t in tables {
        let name: String = t.try_get(0).unwrap();
        let rows = sqlx::query(&format!("SELECT * FROM \"{name}\""))
            .fetch_all(db.pool())
            .await
            .unwrap();
        for r in rows {
            for i in 0..r.len() {
                if let Ok(Some(s)) = r.try_get::<Option<String>, _>(i) {
                    out.push_str(&s);
                } else if let Ok(Some(b)) = r.try_get::<Option<Vec<u8>>, _>(i) {
                    out.push_str(&String::from_utf8_lossy(&b));
                    out.push_str(&hex::encode(&b));
                }
                out.push('\n');
            }
        }
    }
    out
}

/// The raw bytes of the SQLite database and its WAL, as lossy text.
fn raw_files(home: &Path) -> String {
    let mut out = String::new();
    for name in ["service.db", "service.db-wal"] {
        if let Ok(b) = std::fs::read(home.join(name)) {
            out.push_str(&String::from_utf8_lossy(&b));
        }
    }
    out
}

/// Every file under `dir` (recursively): the database files, the media
/// folder, the key store.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn holds(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The runs of `bytes[skip..len - tail]` looked for in a dump: every 16-byte
/// window at an 8-byte step, so a copy split across SQLite pages is still
/// found. `skip` and `tail` leave out what every PNG of this size shares.
fn runs(bytes: &[u8], skip: usize, tail: usize) -> Vec<&[u8]> {
    bytes[skip..bytes.len() - tail]
        .windows(16)
        .step_by(8)
        .collect()
}

/// Asserts no file under `home` holds a run of `p`'s PNG or raw pixels, and
/// returns how many files were read.
fn assert_no_pixels(home: &Path, p: &Private) -> usize {
    let files = files_under(home);
    // What every 8×8 RGB PNG of noise shares: signature (8), IHDR chunk
    // (25), IDAT length and type (8), zlib and stored-block headers (7), the
    // first row's filter byte (1); at the end the IEND chunk (12).
    let png_runs = runs(&p.png, 49, 12);
    let pixel_runs = runs(&p.pixels, 0, 0);
    for f in &files {
        let b = std::fs::read(f).unwrap();
        for r in &png_runs {
            assert!(
                !holds(&b, r),
                "{} holds the private PNG's bytes {}",
                f.display(),
                hex::encode(r)
            );
        }
        for r in &pixel_runs {
            assert!(
                !holds(&b, r),
                "{} holds the private raw pixels",
                f.display()
            );
        }
    }
    files.len()
}

/// The SHA-256 (hex) of `bytes`.
fn sha(bytes: &[u8]) -> String {
    mpegs_service::files::sha256_hex(bytes)
}

async fn stored_blob(db: &Db, sha: &str) -> Vec<u8> {
    sqlx::query("SELECT bytes FROM blobs WHERE sha256 = $1")
        .bind(sha)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn upload(
    base: &str,
    token: &str,
    png: &[u8],
    bundle: &Bundle,
    secret: Option<&[u8]>,
) -> String {
    let mut form = Form::new()
        .part("image", Part::bytes(png.to_vec()).file_name("image.png"))
        .part(
            "bundle",
            Part::bytes(serde_json::to_vec(bundle).unwrap()).file_name("bundle.json"),
        );
    if let Some(s) = secret {
        form = form.part("secret", Part::bytes(s.to_vec()).file_name("secret.json"));
    }
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/media"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    body["commitment"].as_str().unwrap().to_string()
}

async fn secret_db(home: &Path) -> Db {
    let b = SecretBox::load(&home.join("secret.key")).unwrap();
    Db::connect(&mpegs_service::config::default_database_url(home))
        .await
        .unwrap()
        .with_secrets(Arc::new(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dump_holds_no_seed_and_no_private_pixels() {
    let home = tempfile::tempdir().unwrap();
    let running = mpegs_service::start(config(home.path())).await.unwrap();
    let base = format!("http://{}", running.addr);
    let db = secret_db(home.path()).await;
    let token = tokens::create(&db, "t").await.unwrap();
    let p = private_original(1);
    let (c, job) = upload_and_queue(&base, &token, &p).await;
    // A published item beside it: its pixels are public, so they stay in the
    // clear and are served.
    let public = private_original(9);
    let public_bundle = public.bundle.clone().reveal(public.seed);
    let pc = upload(&base, &token, &public.png, &public_bundle, None).await;

    // The service itself still has the seeds and the pixels.
    let src = catalog::source(&db, &c).await.unwrap().unwrap();
    assert_eq!(src.seed.map(|s| s.to_hex()), Some(p.seed.to_hex()));
    assert_eq!(
        mpegs_service::files::read_blob(&db, &src.image_sha256)
            .await
            .unwrap()
            .unwrap(),
        p.png
    );
    let inputs = mpegs_service::queue::job_inputs(&db, &job).await.unwrap();
    assert!(!inputs.seeds.is_empty());
    let served = reqwest::get(format!("{base}/v1/media/{pc}/image"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(&served[..], &public.png[..]);
    running.stop().await.unwrap();

    let text = dump(&db).await;
    let raw = raw_files(home.path());
    let mut secrets = vec![p.seed.to_hex()];
    secrets.extend(inputs.seeds.iter().map(|s| s.to_hex()));
    for s in &secrets {
        assert!(!text.contains(s.as_str()), "a seed is in the table dump");
        assert!(!raw.contains(s.as_str()), "a seed is in the database file");
    }
    // The PNG and raw pixels are in no file: not the database, its WAL, nor
    // the media folder (which does hold a sealed copy).
    assert!(
        !text.contains(&hex::encode(&p.png)),
        "the private PNG is in the table dump"
    );
    let n = assert_no_pixels(home.path(), &p);
    assert!(n >= 3, "read {n} files");
    let local = std::fs::read(home.path().join("media").join(sha(&p.png))).unwrap();
    assert!(local.starts_with(b"v1:"), "the local copy is sealed");
    assert!(stored_blob(&db, &sha(&p.png)).await.starts_with(b"v1:"));
    // The public item's bytes are stored as they are (published anyway), and
    // the search above would have found them: it is not vacuous.
    assert_eq!(stored_blob(&db, &sha(&public.png)).await, public.png);
    let public_file = home.path().join("media").join(sha(&public.png));
    assert!(holds(
        &std::fs::read(&public_file).unwrap(),
        runs(&public.png, 49, 12)[0]
    ));

    // The key file is the only place the key lives, and it is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Deleting the item removes its sealed bytes too: row and local copy.
    let running = mpegs_service::start(config(home.path())).await.unwrap();
    let resp = reqwest::Client::new()
        .delete(format!("http://{}/v1/media/{c}", running.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 204);
    running.stop().await.unwrap();
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM blobs WHERE sha256 = $1")
        .bind(sha(&p.png))
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(left, 0);
    assert!(!home.path().join("media").join(sha(&p.png)).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moved_ciphertext_wrong_key_and_open_key_file_are_refused() {
    let home = tempfile::tempdir().unwrap();
    let running = mpegs_service::start(config(home.path())).await.unwrap();
    let base = format!("http://{}", running.addr);
    let db = secret_db(home.path()).await;
    let token = tokens::create(&db, "t").await.unwrap();
    let pa = private_original(2);
    let pb = private_original(3);
    let (a, _) = upload_and_queue(&base, &token, &pa).await;
    let (b, _) = upload_and_queue(&base, &token, &pb).await;
    running.stop().await.unwrap();

    // A's sealed seed copied into B's row does not open there.
    sqlx::query(
        "UPDATE media SET secret_seed = (SELECT secret_seed FROM media WHERE commitment = $1) \
         WHERE commitment = $2",
    )
    .bind(&a)
    .bind(&b)
    .execute(db.pool())
    .await
    .unwrap();
    let e = catalog::source(&db, &b).await.err().unwrap().to_string();
    assert!(e.contains("does not open"), "{e}");
    assert!(catalog::source(&db, &a).await.is_ok());

    // A's sealed pixels copied into B's blob row do not open there (the
    // associated data names the row), nor do altered ones: what a worker
    // reads to prove an edit is refused with a clear error.
    let (sa, sb) = (sha(&pa.png), sha(&pb.png));
    let original_b = stored_blob(&db, &sb).await;
    sqlx::query("UPDATE blobs SET bytes = $1 WHERE sha256 = $2")
        .bind(stored_blob(&db, &sa).await)
        .bind(&sb)
        .execute(db.pool())
        .await
        .unwrap();
    let e = mpegs_service::files::read_blob(&db, &sb)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains(&format!("blobs.bytes:{sb}")), "{e}");
    assert!(e.contains("does not open"), "{e}");
    let mut altered = original_b.clone();
    let last = altered.len() - 20;
    altered[last] ^= 1;
    sqlx::query("UPDATE blobs SET bytes = $1 WHERE sha256 = $2")
        .bind(altered)
        .bind(&sb)
        .execute(db.pool())
        .await
        .unwrap();
    let e = mpegs_service::files::read_blob(&db, &sb)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("does not open"), "{e}");
    // A swapped local copy is only a damaged cache: the database's opens.
    let media = home.path().join("media");
    std::fs::copy(media.join(&sb), media.join(&sa)).unwrap();
    let files = mpegs_service::files::MediaFiles::new(media.clone());
    assert_eq!(files.read(&db, &sa).await.unwrap().unwrap(), pa.png);
    sqlx::query("UPDATE blobs SET bytes = $1 WHERE sha256 = $2")
        .bind(original_b)
        .bind(&sb)
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(
        mpegs_service::files::read_blob(&db, &sb)
            .await
            .unwrap()
            .unwrap(),
        pb.png
    );
    sqlx::query(
        "UPDATE media SET secret_seed = (SELECT secret_seed FROM media WHERE commitment = $1) \
         WHERE commitment = $2",
    )
    .bind(&a)
    .bind(&a)
    .execute(db.pool())
    .await
    .unwrap();

    // Another key file: the start is refused with an error naming the
    // missing key and the file, not a panic, and no key bytes; so is a file
    // with the right id but other key bytes.
    let key = home.path().join("secret.key");
    let original_key = std::fs::read_to_string(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    // No key file at all (a wrong path): refused, and no fresh key file is
    // left behind for a later start to mistake for the real one.
    let e = mpegs_service::start(config(home.path()))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("nothing was created"), "{e}");
    assert!(
        !key.exists(),
        "a fresh key file was left at {}",
        key.display()
    );
    SecretBox::load_or_create(&key).unwrap();
    let e = mpegs_service::start(config(home.path()))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("does not hold"), "{e}");
    assert!(e.contains("wrong key file"), "{e}");
    assert!(e.contains(&key.display().to_string()), "{e}");
    assert!(
        !e.contains(original_key.split(' ').nth(1).unwrap().trim()),
        "{e}"
    );
    let other_db = secret_db(home.path()).await;
    let e = catalog::source(&other_db, &a)
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("does not hold"), "{e}");
    let (id, _) = original_key.trim().split_once(' ').unwrap();
    std::fs::remove_file(&key).unwrap();
    let same_id_other_bytes = format!("{id} {}\n", "ab".repeat(32));
    SecretBox::load_or_create(&key).unwrap();
    std::fs::write(&key, same_id_other_bytes).unwrap();
    let e = mpegs_service::start(config(home.path()))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("does not open"), "{e}");

    // The right file again: the service starts.
    std::fs::write(&key, &original_key).unwrap();
    mpegs_service::start(config(home.path()))
        .await
        .unwrap()
        .stop()
        .await
        .unwrap();

    // A key file readable by others stops the start.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = mpegs_service::start(config(home.path()))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("readable by group or others"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_rows_and_files_are_sealed_on_start_and_rotation_reseals() {
    let home = tempfile::tempdir().unwrap();
    let running = mpegs_service::start(config(home.path())).await.unwrap();
    let base = format!("http://{}", running.addr);
    let db = secret_db(home.path()).await;
    let token = tokens::create(&db, "t").await.unwrap();
    let p = private_original(4);
    let (c, job) = upload_and_queue(&base, &token, &p).await;
    let seeds = mpegs_service::queue::job_inputs(&db, &job)
        .await
        .unwrap()
        .seeds;
    running.stop().await.unwrap();

    // What a database from before sealing holds: plaintext hex seeds, the
    // PNG in the blob row and in the media folder; and (older still) no
    // `published` column value, so the bundle decides.
    let plain_seeds: Vec<String> = seeds.iter().map(|s| s.to_hex()).collect();
    sqlx::query("UPDATE media SET secret_seed = $1, published = NULL WHERE commitment = $2")
        .bind(p.seed.to_hex())
        .bind(&c)
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET seeds = $1 WHERE id = $2")
        .bind(serde_json::to_string(&plain_seeds).unwrap())
        .bind(&job)
        .execute(db.pool())
        .await
        .unwrap();
    let s = sha(&p.png);
    sqlx::query("UPDATE blobs SET bytes = $1 WHERE sha256 = $2")
        .bind(p.png.clone())
        .bind(&s)
        .execute(db.pool())
        .await
        .unwrap();
    let local = home.path().join("media").join(&s);
    std::fs::write(&local, &p.png).unwrap();
    let running = mpegs_service::start(config(home.path())).await.unwrap();
    running.stop().await.unwrap();
    let text = dump(&db).await;
    assert!(
        !text.contains(&p.seed.to_hex()),
        "the plaintext seed was sealed on start"
    );
    for s in &plain_seeds {
        assert!(!text.contains(s.as_str()));
    }
    assert!(stored_blob(&db, &s).await.starts_with(b"v1:"));
    assert!(std::fs::read(&local).unwrap().starts_with(b"v1:"));
    // The WAL may still hold the overwritten pages until a checkpoint.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("VACUUM").execute(db.pool()).await.unwrap();
    assert_no_pixels(home.path(), &p);
    let db = secret_db(home.path()).await;
    let src = catalog::source(&db, &c).await.unwrap().unwrap();
    assert_eq!(src.seed.map(|s| s.to_hex()), Some(p.seed.to_hex()));
    assert_eq!(
        mpegs_service::files::read_blob(&db, &s)
            .await
            .unwrap()
            .unwrap(),
        p.png
    );

    // Rotation: a new current key, every value re-sealed under it — the
    // seeds, the blob and its local copy; with --drop-old the old key goes
    // and the values still open.
    let key = home.path().join("secret.key");
    let media = home.path().join("media");
    let old_id = SecretBox::load(&key).unwrap().current_id().to_string();
    let url = mpegs_service::config::default_database_url(home.path());
    let r = mpegs_service::secrets::rotate(&url, &key, Some(&media), false)
        .await
        .unwrap();
    assert_ne!(r.key_id, old_id);
    assert_eq!(
        r.resealed,
        mpegs_service::secrets::Resealed {
            seeds: 2,
            blobs: 1,
            files: 1
        },
        "the media seed, the job's seeds, the image blob and its local copy"
    );
    assert!(r.dropped.is_empty());
    assert_eq!(
        SecretBox::load(&key).unwrap().key_ids(),
        vec![old_id.clone(), r.key_id.clone()]
    );
    let sealed: String = sqlx::query("SELECT secret_seed FROM media WHERE commitment = $1")
        .bind(&c)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let prefix = format!("v1:{}:", r.key_id);
    assert!(sealed.starts_with(&prefix), "{sealed}");
    assert!(stored_blob(&db, &s).await.starts_with(prefix.as_bytes()));
    assert!(std::fs::read(&local)
        .unwrap()
        .starts_with(prefix.as_bytes()));
    let r2 = mpegs_service::secrets::rotate(&url, &key, Some(&media), true)
        .await
        .unwrap();
    assert_eq!(r2.dropped, vec![old_id, r.key_id]);
    let ids = SecretBox::load(&key).unwrap().key_ids();
    assert_eq!(ids, vec![r2.key_id.clone()]);
    let db = secret_db(home.path()).await;
    let src = catalog::source(&db, &c).await.unwrap().unwrap();
    assert_eq!(src.seed.map(|s| s.to_hex()), Some(p.seed.to_hex()));
    let again = mpegs_service::queue::job_inputs(&db, &job)
        .await
        .unwrap()
        .seeds;
    assert_eq!(again.len(), seeds.len());
    let files = mpegs_service::files::MediaFiles::new(media);
    assert_eq!(files.read(&db, &s).await.unwrap().unwrap(), p.png);
}

/// Dropping the old keys is refused while a value is still sealed under one
/// of them (what a service left running during the rotation would write),
/// and the key file keeps them; once that value is re-sealed, it succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_old_keys_is_refused_while_a_value_needs_them() {
    let home = tempfile::tempdir().unwrap();
    let running = mpegs_service::start(config(home.path())).await.unwrap();
    let base = format!("http://{}", running.addr);
    let db = secret_db(home.path()).await;
    let token = tokens::create(&db, "t").await.unwrap();
    let p = private_original(6);
    let (c, _) = upload_and_queue(&base, &token, &p).await;
    running.stop().await.unwrap();
    let key = home.path().join("secret.key");
    let url = mpegs_service::config::default_database_url(home.path());
    let old = SecretBox::load(&key).unwrap();
    mpegs_service::secrets::rotate(&url, &key, None, false)
        .await
        .unwrap();
    // A service still running with only the old key seals a seed.
    sqlx::query("UPDATE media SET secret_seed = $1 WHERE commitment = $2")
        .bind(
            old.seal(
                &mpegs_service::secrets::media_seed_ad(&c),
                p.seed.to_hex().as_bytes(),
            )
            .unwrap(),
        )
        .bind(&c)
        .execute(db.pool())
        .await
        .unwrap();
    let e = mpegs_service::secrets::drop_old_keys(&url, &key)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("still sealed under an old key"), "{e}");
    assert_eq!(SecretBox::load(&key).unwrap().key_ids().len(), 2);
    // A second rotation re-seals it and may drop the old keys.
    let r = mpegs_service::secrets::rotate(&url, &key, None, true)
        .await
        .unwrap();
    assert_eq!(r.dropped.len(), 2);
    let db = secret_db(home.path()).await;
    let src = catalog::source(&db, &c).await.unwrap().unwrap();
    assert_eq!(src.seed.map(|s| s.to_hex()), Some(p.seed.to_hex()));
}

/// After a rotation with --drop-old, a service restarted with only the new
/// key proves the owner's edit of its private original: the worker opens the
/// re-sealed seed, step seeds and pixels.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rotation_the_new_key_alone_serves_the_owners_edit_job() {
    let home = tempfile::tempdir().unwrap();
    let running = mpegs_service::start(config(home.path())).await.unwrap();
    let base = format!("http://{}", running.addr);
    let db = secret_db(home.path()).await;
    let token = tokens::create(&db, "t").await.unwrap();
    let p = private_original(5);
    let (_, job) = upload_and_queue(&base, &token, &p).await;
    running.stop().await.unwrap();

    let key = home.path().join("secret.key");
    let old_id = SecretBox::load(&key).unwrap().current_id().to_string();
    let url = mpegs_service::config::default_database_url(home.path());
    let r = mpegs_service::secrets::rotate(&url, &key, Some(&home.path().join("media")), true)
        .await
        .unwrap();
    assert_eq!(
        SecretBox::load(&key).unwrap().key_ids(),
        vec![r.key_id.clone()]
    );
    assert_eq!(r.dropped, vec![old_id]);
    assert_eq!(r.resealed.blobs, 1);

    let running = mpegs_service::start(config_with(home.path(), 1))
        .await
        .unwrap();
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(900);
    let job = loop {
        let j: Value = http
            .get(format!("{base}/v1/jobs/{job}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if j["status"] == "done" || j["status"] == "failed" {
            break j;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not end: {j}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(job["status"], "done", "{job}");
    running.stop().await.unwrap();
}
