//! The queue under stale, skewed and crashing workers, and the schema
//! migrations (docs/service.md §Queue, §Migrations). Each test runs on SQLite
//! (a temp dir) and on PostgreSQL (a database of its own in a private
//! cluster); no HTTP server: the tests drive `mpegs_service::queue` directly.

use mpegs_filters::parse_filtergraph;
use mpegs_media::{encode_png, Frame, FrameInfo, MediaHeader, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::{attest, EditWork};
use mpegs_service::db::{migrations, Backend};
use mpegs_service::queue::{self, Claim, KeysMade};
use mpegs_service::{catalog, Db, QueueSettings};
use sqlx::Row;
use std::time::Duration;

/// The schema of the first release, statement by statement, exactly as its
/// `Db::migrate` ran them (SQLite spelling), with its `schema_version` row.
const FIRST_RELEASE_SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS media (
        commitment TEXT PRIMARY KEY, kind TEXT NOT NULL, parent TEXT, format TEXT NOT NULL,
        width BIGINT NOT NULL, height BIGINT NOT NULL, tile BIGINT NOT NULL, device TEXT,
        captured_at BIGINT, image_sha256 TEXT NOT NULL, image_type TEXT NOT NULL,
        bundle TEXT NOT NULL, secret_seed TEXT, proofs_verified BIGINT NOT NULL,
        created_at BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS media_parent ON media (parent)",
    "CREATE INDEX IF NOT EXISTS media_device ON media (device)",
    "CREATE INDEX IF NOT EXISTS media_created ON media (created_at)",
    "CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, bytes BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY, input TEXT NOT NULL, vf TEXT NOT NULL, seeds TEXT NOT NULL,
        status TEXT NOT NULL, total BIGINT NOT NULL, output TEXT, error TEXT,
        created_at BIGINT NOT NULL, started_at BIGINT, finished_at BIGINT)",
    "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status)",
    "CREATE TABLE IF NOT EXISTS tasks (
        id TEXT PRIMARY KEY, job_id TEXT NOT NULL, kind TEXT NOT NULL, step BIGINT NOT NULL,
        tile BIGINT NOT NULL, circuit TEXT, state TEXT NOT NULL, attempts BIGINT NOT NULL,
        lease_owner TEXT, lease_until BIGINT, error TEXT, created_at BIGINT NOT NULL,
        UNIQUE (job_id, kind, step, tile))",
    "CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (state, created_at)",
    "CREATE INDEX IF NOT EXISTS tasks_job ON tasks (job_id, kind, state)",
    "CREATE TABLE IF NOT EXISTS proofs (
        job_id TEXT NOT NULL, step BIGINT NOT NULL, tile BIGINT NOT NULL, proof TEXT NOT NULL,
        worker TEXT NOT NULL, created_at BIGINT NOT NULL, PRIMARY KEY (job_id, step, tile))",
    "CREATE INDEX IF NOT EXISTS proofs_created ON proofs (created_at)",
    "CREATE TABLE IF NOT EXISTS circuit_keys (
        id TEXT PRIMARY KEY, recipe TEXT NOT NULL, state TEXT NOT NULL, vk_hash TEXT,
        attempts BIGINT NOT NULL, lease_owner TEXT, lease_until BIGINT, error TEXT,
        created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS tokens (
        hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS workers (
        id TEXT PRIMARY KEY, started_at BIGINT NOT NULL, last_seen BIGINT NOT NULL,
        tiles BIGINT NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (1)",
];

/// A new empty database: a file in `dir`, or a database of its own in this
/// binary's PostgreSQL cluster.
fn db_url(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.path().join("q.db").display()),
        Backend::Postgres => {
            mpegs_testkit::postgres::fresh_database().unwrap_or_else(|e| panic!("{e}"))
        }
    }
}

async fn scalar_i64(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// A database written by the first release — its tables, its data and its
/// `schema_version` row, no `_sqlx_migrations` — upgrades in place: every
/// migration is recorded as applied, the data is still there, and running the
/// migrator again changes nothing.
async fn a_first_release_database_upgrades_in_place(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = db_url(backend, &dir);
    let old = Db::connect(&url).await.unwrap();
    for statement in FIRST_RELEASE_SCHEMA {
        // The first release spelled the one binary column per dialect.
        let statement = match backend {
            Backend::Sqlite => statement.to_string(),
            Backend::Postgres => statement.replace("BLOB", "BYTEA"),
        };
        sqlx::query(&statement).execute(old.pool()).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO jobs (id, input, vf, seeds, status, total, created_at) \
         VALUES ('j1', 'in', 'hflip', '[]', 'done', 1, 1)",
    )
    .execute(old.pool())
    .await
    .unwrap();
    sqlx::query("INSERT INTO tokens (hash, name, created_at) VALUES ('h', 'newsroom', 1)")
        .execute(old.pool())
        .await
        .unwrap();
    old.pool().close().await;

    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let all: Vec<i64> = migrations(backend).iter().map(|m| m.0).collect();
    assert_eq!(all.first(), Some(&1), "0001_initial is the first release");
    assert_eq!(db.applied_migrations().await.unwrap(), all);
    assert_eq!(
        scalar_i64(&db, "SELECT COUNT(*) FROM jobs WHERE id = 'j1'").await,
        1
    );
    assert_eq!(scalar_i64(&db, "SELECT COUNT(*) FROM tokens").await, 1);
    // Again: nothing to do, nothing fails.
    db.migrate().await.unwrap();
    assert_eq!(db.applied_migrations().await.unwrap(), all);
}

/// Both backends have the same migrations, and a fresh database gets them all.
async fn both_backends_share_one_migration_history(backend: Backend) {
    let sqlite: Vec<(i64, &str)> = migrations(Backend::Sqlite)
        .iter()
        .map(|m| (m.0, m.1))
        .collect();
    let postgres: Vec<(i64, &str)> = migrations(Backend::Postgres)
        .iter()
        .map(|m| (m.0, m.1))
        .collect();
    assert_eq!(sqlite, postgres);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&db_url(backend, &dir)).await.unwrap();
    db.migrate().await.unwrap();
    let all: Vec<i64> = sqlite.iter().map(|m| m.0).collect();
    assert_eq!(db.applied_migrations().await.unwrap(), all);
}

/// A migration already applied whose SQL has since changed is refused, not
/// silently skipped (sqlx's checksums): the schema would differ from the code.
async fn an_edited_applied_migration_is_refused(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&db_url(backend, &dir)).await.unwrap();
    db.migrate().await.unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1")
        .bind(vec![0u8])
        .execute(db.pool())
        .await
        .unwrap();
    let e = db.migrate().await.unwrap_err().to_string();
    assert!(e.contains("migrat"), "{e}");
}

// ---------------------------------------------------------------- the queue

const TILE: u32 = 8;

/// Short leases, no backoff unless a test asks for it.
fn settings() -> QueueSettings {
    QueueSettings {
        lease: Duration::from_millis(400),
        heartbeat: Duration::from_millis(100),
        poll: Duration::from_millis(50),
        max_attempts: 5,
        retry_base: Duration::ZERO,
        retry_cap: Duration::ZERO,
        clock_skew_ms: 0,
    }
}

async fn fresh_db(backend: Backend, dir: &tempfile::TempDir) -> Db {
    // Seeds are sealed at rest (issue 25 §5): the queue needs the service key.
    let db = Db::connect(&db_url(backend, dir))
        .await
        .unwrap()
        .with_secrets(std::sync::Arc::new(
            mpegs_service::secrets::SecretBox::generate(),
        ));
    db.migrate().await.unwrap();
    db
}

fn picture(salt: u8) -> Frame {
    let (w, h) = (16u32, 8u32);
    let data = (0..w * h * 3)
        .map(|i| (i as u8).wrapping_mul(37).wrapping_add(salt))
        .collect();
    Frame::new(FrameInfo::new(PixelFormat::Rgb24, w, h), data).unwrap()
}

/// Queues `vf` on a 16×8 picture at tile 8 (two tiles a step); the input is
/// in the catalog (published), so workers can really prove the job.
async fn queued_job(db: &Db, salt: u8, vf: &str) -> String {
    let frame = picture(salt);
    let seed = Seed::random();
    let bundle = attest(
        &frame,
        &DeviceKey::generate(),
        TILE,
        &seed,
        "cam",
        1_700_000_000,
    )
    .unwrap()
    .reveal(seed);
    let png = encode_png(&frame).unwrap();
    catalog::insert(
        db,
        catalog::NewMedia {
            bundle: &bundle,
            image: &png,
            image_type: "image/png",
            secret_seed: None,
            proofs_verified: 0,
            owner: None,
        },
    )
    .await
    .unwrap();
    let chain = parse_filtergraph(vf).unwrap();
    let header = MediaHeader::new(frame.info, TILE).unwrap();
    let work = EditWork::of(&chain, header).unwrap();
    let seeds: Vec<Seed> = (0..chain.filters.len()).map(|_| Seed::random()).collect();
    queue::create_job(
        db,
        queue::NewJob {
            input: &bundle.media.commitment,
            vf: &chain.canonical(),
            seeds: &seeds,
            work: &work,
            owner: None,
        },
    )
    .await
    .unwrap()
}

async fn text(db: &Db, sql: &str) -> String {
    sqlx::query(sql)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn made<'a>(hash: &'a str, description: &'a serde_json::Value) -> KeysMade<'a> {
    KeysMade {
        vk_hash: hash,
        pk_sha256: "00",
        description,
    }
}

async fn expire_leases() {
    tokio::time::sleep(settings().lease + Duration::from_millis(150)).await;
}

/// Claims the job's key row for `worker` and marks it ready (fake hashes: the
/// tests below that use this never prove).
async fn keys_ready_by(db: &Db, worker: &str) {
    let claim = queue::claim(db, worker, &settings())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(claim, Claim::Keys { .. }), "{claim:?}");
    let d = serde_json::json!({});
    assert!(queue::keys_ready(db, &claim, made("sha256:11", &d))
        .await
        .unwrap());
}

/// A worker whose lease expired and whose task another worker claimed again
/// cannot store its late result: its `tile_done` is refused (no proof, task
/// still the new attempt's), its heartbeat reports the loss, its late failure
/// report changes nothing — and the new attempt's result is the one kept.
async fn a_stale_workers_late_tile_result_is_refused(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 1, "hflip").await;
    keys_ready_by(&db, "keys").await;
    let s = settings();

    let stale = queue::claim(&db, "stale", &s).await.unwrap().unwrap();
    let Claim::Tile { task, .. } = &stale else {
        panic!("{stale:?}")
    };
    assert_eq!(stale.lease().attempt, 1);
    expire_leases().await;
    // The next claim takes the expired task again (it is the oldest tile).
    let fresh = queue::claim(&db, "fresh", &s).await.unwrap().unwrap();
    let Claim::Tile { task: again, .. } = &fresh else {
        panic!("{fresh:?}")
    };
    assert_eq!(again, task);
    assert_eq!(fresh.lease().attempt, 2);

    assert!(
        !queue::heartbeat(&db, &stale, &s).await.unwrap(),
        "a lost lease is not renewed"
    );
    assert!(!queue::tile_done(&db, &stale, "\"stale proof\"")
        .await
        .unwrap());
    assert_eq!(
        scalar_i64(
            &db,
            &format!("SELECT COUNT(*) FROM proofs WHERE job_id = '{job}'")
        )
        .await,
        0,
        "no proof from the stale worker"
    );
    assert!(
        !queue::release_failed(&db, &stale, "late failure", true, &s)
            .await
            .unwrap()
    );
    let row = format!("SELECT state || ' ' || lease_owner FROM tasks WHERE id = '{task}'");
    assert_eq!(text(&db, &row).await, "running fresh");
    assert_eq!(
        text(&db, &format!("SELECT status FROM jobs WHERE id = '{job}'")).await,
        "running",
        "the stale failure did not fail the job"
    );

    assert!(queue::heartbeat(&db, &fresh, &s).await.unwrap());
    assert!(queue::tile_done(&db, &fresh, "\"fresh proof\"")
        .await
        .unwrap());
    assert_eq!(
        text(
            &db,
            &format!("SELECT proof FROM proofs WHERE job_id = '{job}'")
        )
        .await,
        "\"fresh proof\""
    );
    let done = format!("SELECT state || ' ' || done_by FROM tasks WHERE id = '{task}'");
    assert_eq!(text(&db, &done).await, "done fresh");
    // Too late now as well: the task is done.
    assert!(!queue::tile_done(&db, &stale, "\"stale proof\"")
        .await
        .unwrap());
    assert!(!queue::release_failed(&db, &stale, "late", false, &s)
        .await
        .unwrap());
    assert_eq!(text(&db, &done).await, "done fresh");
}

/// The same worker id on a later attempt is a different lease: a worker that
/// lost its lease and then claimed the task again cannot use its first claim.
async fn the_attempt_is_part_of_the_fence(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    queued_job(&db, 2, "hflip").await;
    keys_ready_by(&db, "keys").await;
    let s = settings();
    let first = queue::claim(&db, "w", &s).await.unwrap().unwrap();
    expire_leases().await;
    let second = queue::claim(&db, "w", &s).await.unwrap().unwrap();
    assert_eq!(first.lease().owner, second.lease().owner);
    assert!(!queue::tile_done(&db, &first, "\"old\"").await.unwrap());
    assert!(queue::tile_done(&db, &second, "\"new\"").await.unwrap());
}

/// Keys: a stale key generator cannot overwrite the newer attempt's keys, nor
/// fail a key that is ready (which would fail every job waiting on it).
async fn a_stale_key_generator_cannot_replace_or_fail_ready_keys(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 3, "hflip").await;
    let s = settings();
    let d = serde_json::json!({"x": 1});
    let stale = queue::claim(&db, "stale", &s).await.unwrap().unwrap();
    let Claim::Keys { id, .. } = &stale else {
        panic!("{stale:?}")
    };
    expire_leases().await;
    let fresh = queue::claim(&db, "fresh", &s).await.unwrap().unwrap();
    assert!(matches!(&fresh, Claim::Keys { id: again, .. } if again == id));
    // While the new attempt runs, the stale one can neither publish nor fail.
    assert!(!queue::keys_ready(&db, &stale, made("sha256:stale", &d))
        .await
        .unwrap());
    assert!(
        !queue::release_failed(&db, &stale, "setup crashed", true, &s)
            .await
            .unwrap()
    );
    let key = format!("SELECT state || ' ' || lease_owner FROM circuit_keys WHERE id = '{id}'");
    assert_eq!(text(&db, &key).await, "running fresh");
    assert!(queue::keys_ready(&db, &fresh, made("sha256:fresh", &d))
        .await
        .unwrap());

    // Nor, once the keys are ready, replace or fail them.
    assert!(!queue::keys_ready(&db, &stale, made("sha256:stale", &d))
        .await
        .unwrap());
    assert!(
        !queue::release_failed(&db, &stale, "setup crashed", true, &s)
            .await
            .unwrap()
    );
    let key = format!("SELECT state || ' ' || vk_hash FROM circuit_keys WHERE id = '{id}'");
    assert_eq!(text(&db, &key).await, "ready sha256:fresh");
    assert_eq!(
        text(&db, &format!("SELECT status FROM jobs WHERE id = '{job}'")).await,
        "queued"
    );
    // The fresh generator cannot report twice either: its lease ended with it.
    assert!(!queue::keys_ready(&db, &fresh, made("sha256:again", &d))
        .await
        .unwrap());
}

/// A stale finisher cannot mark the job done after another took its task over.
async fn a_stale_finisher_cannot_finish_the_job(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 4, "hflip").await;
    keys_ready_by(&db, "keys").await;
    let s = settings();
    for _ in 0..2 {
        let c = queue::claim(&db, "prover", &s).await.unwrap().unwrap();
        assert!(queue::tile_done(&db, &c, "\"p\"").await.unwrap());
    }
    let stale = queue::claim(&db, "stale", &s).await.unwrap().unwrap();
    assert!(matches!(stale, Claim::Finish { .. }), "{stale:?}");
    expire_leases().await;
    let fresh = queue::claim(&db, "fresh", &s).await.unwrap().unwrap();
    assert!(!queue::job_done(&db, &stale, "stale-output").await.unwrap());
    let status = format!("SELECT status FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, "running");
    assert!(queue::job_done(&db, &fresh, "fresh-output").await.unwrap());
    assert_eq!(
        text(&db, &format!("SELECT output FROM jobs WHERE id = '{job}'")).await,
        "fresh-output"
    );
}

/// Two workers whose clocks are 5 minutes off in either direction: the fast
/// one does not see the slow one's live lease as expired (no stealing), and
/// the slow one's lease does not start out expired (it keeps it) — one clock,
/// the database's, decides.
async fn workers_with_skewed_clocks_neither_steal_nor_lose_leases(backend: Backend) {
    const FIVE_MINUTES: i64 = 5 * 60 * 1000;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    queued_job(&db, 5, "hflip").await;
    let normal = QueueSettings {
        lease: Duration::from_secs(30),
        ..settings()
    };
    let slow = QueueSettings {
        clock_skew_ms: -FIVE_MINUTES,
        ..normal.clone()
    };
    let fast = QueueSettings {
        clock_skew_ms: FIVE_MINUTES,
        ..normal.clone()
    };
    // The slow worker claims the keys; the fast one must not take them over.
    let keys = queue::claim(&db, "slow", &slow).await.unwrap().unwrap();
    assert!(matches!(keys, Claim::Keys { .. }), "{keys:?}");
    assert!(queue::claim(&db, "fast", &fast).await.unwrap().is_none());
    assert!(queue::heartbeat(&db, &keys, &slow).await.unwrap());
    assert!(queue::claim(&db, "fast", &fast).await.unwrap().is_none());
    let d = serde_json::json!({});
    assert!(queue::keys_ready(&db, &keys, made("sha256:1", &d))
        .await
        .unwrap());

    // Tiles: each takes one; nobody steals the other's, both keep theirs.
    let a = queue::claim(&db, "slow", &slow).await.unwrap().unwrap();
    let b = queue::claim(&db, "fast", &fast).await.unwrap().unwrap();
    let (Claim::Tile { task: ta, .. }, Claim::Tile { task: tb, .. }) = (&a, &b) else {
        panic!("{a:?} {b:?}")
    };
    assert_ne!(ta, tb);
    for s in [&normal, &slow, &fast] {
        assert!(queue::claim(&db, "third", s).await.unwrap().is_none());
    }
    assert!(queue::heartbeat(&db, &a, &slow).await.unwrap());
    assert!(queue::heartbeat(&db, &b, &fast).await.unwrap());
    // The lease runs for its length by the database's clock.
    let left = scalar_i64(
        &db,
        &format!(
            "SELECT lease_until - {} FROM tasks WHERE id = '{ta}'",
            db.now_sql()
        ),
    )
    .await;
    assert!((25_000..=30_000).contains(&left), "{left} ms left");
    assert!(queue::tile_done(&db, &a, "\"a\"").await.unwrap());
    assert!(queue::tile_done(&db, &b, "\"b\"").await.unwrap());
}

/// A transient failure is retried after a backoff that doubles per attempt (up
/// to its cap); a permanent one fails the job at once and cancels the job's
/// other tasks, so none is handed out again.
async fn transient_failures_back_off_and_permanent_ones_fail_fast(backend: Backend) {
    let s = QueueSettings {
        retry_base: Duration::from_millis(300),
        retry_cap: Duration::from_millis(500),
        ..settings()
    };
    assert_eq!(queue::backoff(1, &s), Duration::from_millis(300));
    assert_eq!(queue::backoff(2, &s), Duration::from_millis(500), "capped");
    let unc = QueueSettings {
        retry_cap: Duration::from_secs(3600),
        ..s.clone()
    };
    assert_eq!(queue::backoff(4, &unc), Duration::from_millis(2400));
    assert_eq!(queue::backoff(1000, &unc), Duration::from_secs(3600));

    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 6, "hflip").await;
    let keys = queue::claim(&db, "w", &s).await.unwrap().unwrap();
    assert!(
        queue::release_failed(&db, &keys, "database went away", false, &s)
            .await
            .unwrap()
    );
    // Backing off: not claimable yet, then claimable.
    assert!(queue::claim(&db, "w", &s).await.unwrap().is_none());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let keys = queue::claim(&db, "w", &s).await.unwrap().unwrap();
    assert_eq!(keys.lease().attempt, 2);
    let d = serde_json::json!({});
    assert!(queue::keys_ready(&db, &keys, made("sha256:1", &d))
        .await
        .unwrap());

    let tile = queue::claim(&db, "w", &s).await.unwrap().unwrap();
    assert!(
        queue::release_failed(&db, &tile, "the input is wrong", true, &s)
            .await
            .unwrap()
    );
    let status = format!("SELECT status || ' ' || error FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, "failed the input is wrong");
    let left = format!(
        "SELECT COUNT(*) FROM tasks WHERE job_id = '{job}' AND state NOT IN ('failed', 'cancelled')"
    );
    assert_eq!(scalar_i64(&db, &left).await, 0, "siblings cancelled");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(queue::claim(&db, "w", &s).await.unwrap().is_none());
}

/// Work whose worker dies on its last attempt: the expiry fails the task, its
/// job and the job's other tasks together.
async fn the_last_expiry_fails_the_job_and_cancels_its_tasks(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 7, "hflip").await;
    keys_ready_by(&db, "keys").await;
    let once = QueueSettings {
        max_attempts: 1,
        ..settings()
    };
    let ghost = queue::claim(&db, "ghost", &once).await.unwrap().unwrap();
    assert!(matches!(ghost, Claim::Tile { .. }));
    expire_leases().await;
    // The next claim fails the job before looking for work: the other tile
    // is cancelled with it, so there is nothing to take.
    assert!(queue::claim(&db, "next", &once).await.unwrap().is_none());
    let status = format!("SELECT status FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, "failed");
    let states = format!(
        "SELECT COUNT(*) FROM tasks WHERE job_id = '{job}' AND state IN ('queued', 'running')"
    );
    assert_eq!(scalar_i64(&db, &states).await, 0);
}

/// Cancelling: the job and its tasks end; nothing is claimable; the worker
/// that holds a task cannot store its result; a second cancel says so.
async fn a_cancelled_job_takes_no_more_results(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 8, "hflip").await;
    keys_ready_by(&db, "keys").await;
    let s = settings();
    let held = queue::claim(&db, "w", &s).await.unwrap().unwrap();
    assert!(queue::cancel_job(&db, &job, "the owner cancelled it")
        .await
        .unwrap());
    assert!(!queue::cancel_job(&db, &job, "again").await.unwrap());
    assert!(!queue::cancel_job(&db, "no-such-job", "x").await.unwrap());
    let status = format!("SELECT status || ' ' || error FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, "cancelled the owner cancelled it");
    assert!(queue::claim(&db, "w", &s).await.unwrap().is_none());
    assert!(!queue::heartbeat(&db, &held, &s).await.unwrap());
    assert!(!queue::tile_done(&db, &held, "\"late\"").await.unwrap());
    assert_eq!(
        scalar_i64(
            &db,
            &format!("SELECT COUNT(*) FROM proofs WHERE job_id = '{job}'")
        )
        .await,
        0
    );
    let live =
        format!("SELECT COUNT(*) FROM tasks WHERE job_id = '{job}' AND state <> 'cancelled'");
    assert_eq!(scalar_i64(&db, &live).await, 0);
    // A finished job cannot be cancelled.
    let done = queued_job(&db, 9, "hflip").await;
    for _ in 0..3 {
        let c = queue::claim(&db, "w", &s).await.unwrap().unwrap();
        match &c {
            Claim::Finish { .. } => assert!(queue::job_done(&db, &c, "out").await.unwrap()),
            _ => assert!(queue::tile_done(&db, &c, "\"p\"").await.unwrap()),
        }
    }
    assert!(!queue::cancel_job(&db, &done, "too late").await.unwrap());
}

/// Artifacts: stored in chunks, read back whole and checked; a damaged chunk
/// or a missing one is an error, never bytes.
async fn artifacts_round_trip_in_chunks_and_refuse_damage(backend: Backend) {
    use mpegs_service::artifacts::{self, FetchError, CHUNK_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let bytes: Vec<u8> = (0..2 * CHUNK_BYTES + 12345)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_le_bytes()[3])
        .collect();
    let sha = artifacts::put(&db, &bytes).await.unwrap();
    assert_eq!(
        artifacts::put(&db, &bytes).await.unwrap(),
        sha,
        "idempotent"
    );
    assert_eq!(
        scalar_i64(
            &db,
            &format!("SELECT COUNT(*) FROM artifact_chunks WHERE sha256 = '{sha}'")
        )
        .await,
        3
    );
    assert!(artifacts::get(&db, &sha).await.unwrap() == bytes);
    assert!(matches!(
        artifacts::get(&db, &"0".repeat(64)).await,
        Err(FetchError::Missing(_))
    ));
    sqlx::query("UPDATE artifact_chunks SET bytes = $1 WHERE sha256 = $2 AND n = 1")
        .bind(vec![7u8; CHUNK_BYTES])
        .bind(&sha)
        .execute(db.pool())
        .await
        .unwrap();
    let e = artifacts::get(&db, &sha).await.unwrap_err();
    assert!(matches!(e, FetchError::Corrupt { .. }), "{e}");
    sqlx::query("DELETE FROM artifact_chunks WHERE sha256 = $1 AND n = 2")
        .bind(&sha)
        .execute(db.pool())
        .await
        .unwrap();
    let e = artifacts::get(&db, &sha).await.unwrap_err();
    assert!(e.to_string().contains("chunk 2 is missing"), "{e}");
}

/// A worker needs nothing but the database: one worker generates the keys and
/// publishes them as artifacts; a worker with an empty key store fetches them;
/// a worker whose store holds another key for the circuit replaces it with the
/// recorded one instead of proving under it; a finisher with an empty store
/// verifies with the recorded verifying keys. The job completes and its
/// output is published.
async fn workers_fetch_the_queues_keys_from_the_database(backend: Backend) {
    use mpegs_provenance::prove::OsEntropy;
    use mpegs_service::worker::Worker;
    use mpegs_zk::keys::KeyStore;
    use sha2::Digest;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 10, "hflip").await;
    let s = QueueSettings {
        lease: Duration::from_secs(60),
        heartbeat: Duration::from_secs(1),
        ..settings()
    };
    let home = |d: &tempfile::TempDir| Arc::new(KeyStore::open(d.path()).unwrap());

    let a_dir = tempfile::tempdir().unwrap();
    let a_store = home(&a_dir);
    let claim = queue::claim(&db, "a", &s).await.unwrap().unwrap();
    let Claim::Keys { id, recipe, .. } = claim.clone() else {
        panic!("{claim:?}")
    };
    Worker::new(db.clone(), a_store.clone(), "a".into(), s.clone())
        .process(claim)
        .await;
    let recorded = queue::key_artifacts(&db, &id)
        .await
        .unwrap()
        .expect("published");
    let (pk_bytes, _) = a_store.key_pair_bytes(&id).unwrap().unwrap();
    assert_eq!(
        recorded.pk_sha256,
        hex::encode(sha2::Sha256::digest(&pk_bytes))
    );

    // C's store has its own, different key for the same circuit.
    let c_dir = tempfile::tempdir().unwrap();
    let c_store = home(&c_dir);
    let other = recipe.setup(&c_store, &OsEntropy).unwrap();
    assert_ne!(other, recorded.vk_hash);
    let claim = queue::claim(&db, "c", &s).await.unwrap().unwrap();
    assert!(matches!(claim, Claim::Tile { .. }), "{claim:?}");
    Worker::new(db.clone(), c_store.clone(), "c".into(), s.clone())
        .process(claim)
        .await;
    let vk = c_store.verifying_key(&id).unwrap().unwrap();
    assert_eq!(mpegs_zk::backend::vk_hash(&vk), recorded.vk_hash);

    // B starts with nothing.
    let b_dir = tempfile::tempdir().unwrap();
    let claim = queue::claim(&db, "b", &s).await.unwrap().unwrap();
    assert!(matches!(claim, Claim::Tile { .. }), "{claim:?}");
    Worker::new(db.clone(), home(&b_dir), "b".into(), s.clone())
        .process(claim)
        .await;
    let proofs = format!("SELECT COUNT(*) FROM proofs WHERE job_id = '{job}'");
    assert_eq!(scalar_i64(&db, &proofs).await, 2);

    // D finishes with an empty store: it verifies under the recorded keys.
    let d_dir = tempfile::tempdir().unwrap();
    let claim = queue::claim(&db, "d", &s).await.unwrap().unwrap();
    assert!(matches!(claim, Claim::Finish { .. }), "{claim:?}");
    Worker::new(db.clone(), home(&d_dir), "d".into(), s.clone())
        .process(claim)
        .await;
    let status =
        format!("SELECT status || ' ' || COALESCE(error, '') FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, "done ");
    let output = text(&db, &format!("SELECT output FROM jobs WHERE id = '{job}'")).await;
    assert!(catalog::source(&db, &output).await.unwrap().is_some());
}

/// Keys whose recorded artifact is damaged are not used: the task fails with
/// the reason instead of proving under bytes nobody generated.
async fn a_damaged_key_artifact_fails_the_task_with_the_reason(backend: Backend) {
    use mpegs_service::worker::Worker;
    use mpegs_zk::keys::KeyStore;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 11, "vflip").await;
    let s = QueueSettings {
        lease: Duration::from_secs(60),
        heartbeat: Duration::from_secs(1),
        ..settings()
    };
    let a_dir = tempfile::tempdir().unwrap();
    let claim = queue::claim(&db, "a", &s).await.unwrap().unwrap();
    let Claim::Keys { id, .. } = claim.clone() else {
        panic!("{claim:?}")
    };
    Worker::new(
        db.clone(),
        Arc::new(KeyStore::open(a_dir.path()).unwrap()),
        "a".into(),
        s.clone(),
    )
    .process(claim)
    .await;
    let recorded = queue::key_artifacts(&db, &id).await.unwrap().unwrap();
    sqlx::query("UPDATE artifact_chunks SET bytes = $1 WHERE sha256 = $2 AND n = 0")
        .bind(vec![0u8; 64])
        .bind(&recorded.pk_sha256)
        .execute(db.pool())
        .await
        .unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let claim = queue::claim(&db, "b", &s).await.unwrap().unwrap();
    Worker::new(
        db.clone(),
        Arc::new(KeyStore::open(b_dir.path()).unwrap()),
        "b".into(),
        s.clone(),
    )
    .process(claim)
    .await;
    let status = format!("SELECT status || ' ' || error FROM jobs WHERE id = '{job}'");
    let status = text(&db, &status).await;
    assert!(status.starts_with("failed artifact"), "{status}");
    assert!(!KeyStore::open(b_dir.path()).unwrap().has_proving_key(&id));
}

/// Workers of one process share loaded proving keys: two asking at once get
/// the same key (loaded once), not two copies of ~100 MB.
async fn workers_in_one_process_share_a_loaded_proving_key(backend: Backend) {
    use mpegs_service::worker::Worker;
    use mpegs_zk::keys::KeyStore;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    queued_job(&db, 12, "hflip").await;
    let s = QueueSettings {
        lease: Duration::from_secs(60),
        ..settings()
    };
    let store_dir = tempfile::tempdir().unwrap();
    let store = Arc::new(KeyStore::open(store_dir.path()).unwrap());
    let claim = queue::claim(&db, "a", &s).await.unwrap().unwrap();
    let Claim::Keys { id, .. } = claim.clone() else {
        panic!("{claim:?}")
    };
    let one = Worker::new(db.clone(), store.clone(), "one".into(), s.clone());
    let two = Worker::new(db.clone(), store.clone(), "two".into(), s.clone());
    one.process(claim).await;
    let hash = queue::key_artifacts(&db, &id)
        .await
        .unwrap()
        .unwrap()
        .vk_hash;
    let (x, y) = tokio::join!(one.proving_key(&id, &hash), two.proving_key(&id, &hash));
    assert!(Arc::ptr_eq(&x.unwrap(), &y.unwrap()));
}

/// Claims and completes (with fake keys and proofs) everything of `job`
/// before its finish, and returns the claimed finishing task.
async fn finish_claim(db: &Db) -> Claim {
    let s = settings();
    let d = serde_json::json!({});
    loop {
        let c = queue::claim(db, "w", &s).await.unwrap().unwrap();
        match &c {
            Claim::Finish { .. } => return c,
            Claim::Tile { .. } => assert!(queue::tile_done(db, &c, "\"p\"").await.unwrap()),
            Claim::Keys { .. } => assert!(queue::keys_ready(db, &c, made("sha256:11", &d))
                .await
                .unwrap()),
        }
    }
}

/// A stand-in output bundle (an attested picture): what is published.
fn stand_in(salt: u8) -> (mpegs_provenance::Bundle, Vec<u8>) {
    let frame = picture(salt);
    let seed = Seed::random();
    let bundle = attest(&frame, &DeviceKey::generate(), TILE, &seed, "cam", 1)
        .unwrap()
        .reveal(seed);
    (bundle, encode_png(&frame).unwrap())
}

async fn publish(db: &Db, claim: &Claim, salt: u8) -> (queue::Published, String) {
    let (bundle, png) = stand_in(salt);
    let media = catalog::prepare(catalog::NewMedia {
        bundle: &bundle,
        image: &png,
        image_type: "image/png",
        secret_seed: None,
        proofs_verified: 0,
        owner: None,
    })
    .unwrap();
    let published = queue::publish_output(db, claim, &media).await.unwrap();
    (published, bundle.media.commitment.clone())
}

/// A job cancelled, or whose input was deleted, while its finisher assembled
/// the bundle publishes nothing: the fence, the job's state, its input, the
/// output's insert and the job's completion are one transaction. The job
/// whose input is gone ends cancelled; a live one publishes and is done.
async fn a_cancelled_or_orphaned_job_publishes_nothing(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let in_catalog = |c: String| {
        let db = db.clone();
        async move { catalog::contains(&db, &c).await.unwrap() }
    };

    let job = queued_job(&db, 20, "hflip").await;
    let claim = finish_claim(&db).await;
    assert!(queue::cancel_job(&db, &job, "the owner cancelled it")
        .await
        .unwrap());
    let (published, output) = publish(&db, &claim, 120).await;
    assert_eq!(published, queue::Published::LeaseLost);
    assert!(!in_catalog(output).await, "a cancelled job published");
    let status = format!("SELECT status FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, "cancelled");

    // The input deleted by a path that did not cancel the job.
    let job = queued_job(&db, 21, "hflip").await;
    let claim = finish_claim(&db).await;
    let input = text(&db, &format!("SELECT input FROM jobs WHERE id = '{job}'")).await;
    sqlx::query("DELETE FROM media WHERE commitment = $1")
        .bind(&input)
        .execute(db.pool())
        .await
        .unwrap();
    let (published, output) = publish(&db, &claim, 121).await;
    assert!(
        matches!(&published, queue::Published::Cancelled(_)),
        "{published:?}"
    );
    assert!(!in_catalog(output).await, "an orphaned job published");
    let status = format!("SELECT status || ' ' || error FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, "cancelled its input was deleted");

    // A live job publishes, once.
    let job = queued_job(&db, 22, "hflip").await;
    let claim = finish_claim(&db).await;
    let (published, output) = publish(&db, &claim, 122).await;
    assert_eq!(published, queue::Published::Done);
    assert!(in_catalog(output.clone()).await);
    let status = format!("SELECT status || ' ' || output FROM jobs WHERE id = '{job}'");
    assert_eq!(text(&db, &status).await, format!("done {output}"));
    let (again, _) = publish(&db, &claim, 123).await;
    assert_eq!(again, queue::Published::LeaseLost);
}

/// The service's own trouble (here: a database error while a worker reads
/// the job's input) reaches the job's owner as an error id, never as the
/// database's text; the full text is in the log under that id.
async fn internal_errors_reach_the_job_as_an_error_id(backend: Backend) {
    use mpegs_service::worker::Worker;
    use mpegs_zk::keys::KeyStore;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let job = queued_job(&db, 23, "hflip").await;
    keys_ready_by(&db, "keys").await;
    let once = QueueSettings {
        max_attempts: 1,
        lease: Duration::from_secs(60),
        heartbeat: Duration::from_secs(1),
        ..settings()
    };
    let claim = queue::claim(&db, "w", &once).await.unwrap().unwrap();
    assert!(matches!(claim, Claim::Tile { .. }), "{claim:?}");
    sqlx::query("DROP TABLE blobs")
        .execute(db.pool())
        .await
        .unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    Worker::new(
        db.clone(),
        Arc::new(KeyStore::open(store_dir.path()).unwrap()),
        "w".into(),
        once,
    )
    .process(claim)
    .await;
    let status = format!("SELECT status || ' ' || error FROM jobs WHERE id = '{job}'");
    let status = text(&db, &status).await;
    assert!(
        status.starts_with("failed internal error (error id "),
        "{status}"
    );
    for leak in ["blobs", "table", "relation", "database", "sqlite"] {
        assert!(!status.to_lowercase().contains(leak), "{leak}: {status}");
    }
}

/// Submits a vflip job on `input` for alice, completing her key "job" held
/// with `token` in the job's transaction.
async fn submit_keyed(db: &Db, input: &str, work: &EditWork, token: String) -> queue::Created {
    let h = mpegs_service::idempotency::Held {
        account: "alice".into(),
        key: "job".into(),
        token,
    };
    queue::submit_job(
        db,
        queue::NewJob {
            input,
            vf: "vflip",
            seeds: &[Seed::random()],
            work,
            owner: Some("alice"),
        },
        queue::Submission {
            quota: None,
            idempotency: Some((&h, 202, "{\"id\":\"{id}\"}")),
        },
    )
    .await
    .unwrap()
}

/// Idempotency keys: a reservation whose request never answered (its process
/// died) is taken over by the same request once it is older than the reserve
/// time, and the first holder can then no longer complete it — neither alone
/// nor with a job (whose transaction it would otherwise commit: no job is
/// created); answers older than the retention are purged when a key is
/// reserved.
async fn idempotency_reservations_expire_and_old_answers_are_purged(backend: Backend) {
    use mpegs_service::idempotency::{self, Held, Reservation, Settings};
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(backend, &dir).await;
    let s = Settings::default();
    let reserve = |key: &'static str, hash: &'static str| {
        let db = db.clone();
        async move {
            idempotency::reserve_with(&db, "alice", key, hash, &Settings::default())
                .await
                .unwrap()
        }
    };
    let held = |key: &str, token: String| Held {
        account: "alice".into(),
        key: key.into(),
        token,
    };
    let age = |key: &'static str, secs: i64| {
        let db = db.clone();
        async move {
            sqlx::query("UPDATE idempotency SET created_at = created_at - $1 WHERE idem_key = $2")
                .bind(secs * 1000)
                .bind(key)
                .execute(db.pool())
                .await
                .unwrap();
        }
    };
    let Reservation::Reserved { token: first } = reserve("k", "h1").await else {
        panic!("a new key is reserved")
    };
    assert!(matches!(reserve("k", "h1").await, Reservation::InProgress));
    assert!(matches!(reserve("k", "h2").await, Reservation::Mismatch));
    // The first request's process died: after the reserve time, its retry
    // takes the key over (another request still may not).
    age("k", s.reserve_ttl.as_secs() as i64 + 1).await;
    assert!(matches!(reserve("k", "h2").await, Reservation::Mismatch));
    let Reservation::Reserved { token: second } = reserve("k", "h1").await else {
        panic!("a stale reservation is taken over")
    };
    assert_ne!(first, second);
    assert!(matches!(reserve("k", "h1").await, Reservation::InProgress));
    assert!(
        !idempotency::complete(&db, &held("k", first), 201, "{}", None)
            .await
            .unwrap(),
        "the first holder lost its reservation"
    );
    assert!(
        idempotency::complete(&db, &held("k", second), 201, "{\"x\":1}", None)
            .await
            .unwrap()
    );
    assert!(matches!(
        reserve("k", "h1").await,
        Reservation::Replay { status: 201, body } if body == "{\"x\":1}"
    ));

    // A job submission completes its key in the job's transaction: the
    // holder of a taken-over reservation creates no job.
    let Reservation::Reserved { token: stale } = reserve("job", "j").await else {
        panic!()
    };
    age("job", s.reserve_ttl.as_secs() as i64 + 1).await;
    let Reservation::Reserved { token: fresh } = reserve("job", "j").await else {
        panic!()
    };
    let input = queued_job(&db, 24, "hflip").await;
    let input = text(&db, &format!("SELECT input FROM jobs WHERE id = '{input}'")).await;
    let chain = parse_filtergraph("vflip").unwrap();
    let header = MediaHeader::new(picture(24).info, TILE).unwrap();
    let work = EditWork::of(&chain, header).unwrap();
    let submit = |token: String| submit_keyed(&db, &input, &work, token);
    let jobs = "SELECT COUNT(*) FROM jobs";
    let before = scalar_i64(&db, jobs).await;
    assert_eq!(submit(stale).await, queue::Created::ReservationLost);
    assert_eq!(
        scalar_i64(&db, jobs).await,
        before,
        "no job without its key"
    );
    let queue::Created::Job(id) = submit(fresh).await else {
        panic!("the holder's job is created")
    };
    assert_eq!(scalar_i64(&db, jobs).await, before + 1);
    assert!(matches!(
        reserve("job", "j").await,
        Reservation::Replay { status: 202, body } if body == format!("{{\"id\":\"{id}\"}}")
    ));

    // Answers past the retention go when any key is reserved.
    age("k", s.retention.as_secs() as i64 + 1).await;
    assert!(matches!(
        reserve("other", "h").await,
        Reservation::Reserved { .. }
    ));
    let left = "SELECT COUNT(*) FROM idempotency WHERE idem_key = 'k'";
    assert_eq!(scalar_i64(&db, left).await, 0, "purged");
    assert!(matches!(
        reserve("k", "h2").await,
        Reservation::Reserved { .. }
    ));
}

mpegs_testkit::on_both_backends!(
    mpegs_service::db::Backend;
    a_first_release_database_upgrades_in_place,
    both_backends_share_one_migration_history,
    an_edited_applied_migration_is_refused,
    a_stale_workers_late_tile_result_is_refused,
    the_attempt_is_part_of_the_fence,
    a_stale_key_generator_cannot_replace_or_fail_ready_keys,
    a_stale_finisher_cannot_finish_the_job,
    workers_with_skewed_clocks_neither_steal_nor_lose_leases,
    transient_failures_back_off_and_permanent_ones_fail_fast,
    the_last_expiry_fails_the_job_and_cancels_its_tasks,
    a_cancelled_job_takes_no_more_results,
    artifacts_round_trip_in_chunks_and_refuse_damage,
    workers_fetch_the_queues_keys_from_the_database,
    a_damaged_key_artifact_fails_the_task_with_the_reason,
    workers_in_one_process_share_a_loaded_proving_key,
    a_cancelled_or_orphaned_job_publishes_nothing,
    internal_errors_reach_the_job_as_an_error_id,
    idempotency_reservations_expire_and_old_answers_are_purged,
);
