-- The schema of the first release (schema_version 1), unchanged: every
-- statement is IF NOT EXISTS, so a database created by that release (its
-- tables and its schema_version row already there) upgrades by recording
-- this migration as applied and running the later ones.

CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS media (
    commitment TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    parent TEXT,
    format TEXT NOT NULL,
    width BIGINT NOT NULL,
    height BIGINT NOT NULL,
    tile BIGINT NOT NULL,
    device TEXT,
    captured_at BIGINT,
    image_sha256 TEXT NOT NULL,
    image_type TEXT NOT NULL,
    bundle TEXT NOT NULL,
    secret_seed TEXT,
    proofs_verified BIGINT NOT NULL,
    created_at BIGINT NOT NULL);

CREATE INDEX IF NOT EXISTS media_parent ON media (parent);

CREATE INDEX IF NOT EXISTS media_device ON media (device);

CREATE INDEX IF NOT EXISTS media_created ON media (created_at);

CREATE TABLE IF NOT EXISTS blobs (sha256 TEXT PRIMARY KEY, bytes BYTEA NOT NULL);

CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    input TEXT NOT NULL,
    vf TEXT NOT NULL,
    seeds TEXT NOT NULL,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    output TEXT,
    error TEXT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT);

CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);

CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    step BIGINT NOT NULL,
    tile BIGINT NOT NULL,
    circuit TEXT,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (job_id, kind, step, tile));

CREATE INDEX IF NOT EXISTS tasks_claim ON tasks (state, created_at);

CREATE INDEX IF NOT EXISTS tasks_job ON tasks (job_id, kind, state);

CREATE TABLE IF NOT EXISTS proofs (
    job_id TEXT NOT NULL,
    step BIGINT NOT NULL,
    tile BIGINT NOT NULL,
    proof TEXT NOT NULL,
    worker TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (job_id, step, tile));

CREATE INDEX IF NOT EXISTS proofs_created ON proofs (created_at);

CREATE TABLE IF NOT EXISTS circuit_keys (
    id TEXT PRIMARY KEY,
    recipe TEXT NOT NULL,
    state TEXT NOT NULL,
    vk_hash TEXT,
    attempts BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    error TEXT,
    created_at BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS tokens (
    hash TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,
    started_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    tiles BIGINT NOT NULL);
