-- Leases fenced by (lease_owner, attempts), retries with backoff, cancelled
-- work, and proving keys as content-addressed artifacts in the database
-- (docs/service.md §Queue, §Keys). Times are the database's clock in ms.

-- A released task or key is not claimed again before not_before (backoff).
ALTER TABLE tasks ADD COLUMN not_before BIGINT;
ALTER TABLE circuit_keys ADD COLUMN not_before BIGINT;
-- The worker whose fenced completion marked the task done.
ALTER TABLE tasks ADD COLUMN done_by TEXT;
-- The key pair's artifacts: the proving key's SHA-256 (hex; the verifying
-- key's artifact is vk_hash's) and the circuit description the ids hash.
ALTER TABLE circuit_keys ADD COLUMN pk_sha256 TEXT;
ALTER TABLE circuit_keys ADD COLUMN description TEXT;

-- Content-addressed artifacts, stored as chunks (a proving key is ~100 MB,
-- more than one row should hold); the artifacts row is written after its
-- last chunk, so a present row means a complete artifact.
CREATE TABLE artifact_chunks (
    sha256 TEXT NOT NULL,
    n BIGINT NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (sha256, n));
CREATE TABLE artifacts (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    chunks BIGINT NOT NULL,
    created_at BIGINT NOT NULL);

CREATE INDEX tasks_retry ON tasks (state, not_before);

-- The first release's binaries read schema_version and refuse any other
-- version than theirs: after this migration they stop instead of running
-- unfenced workers against the new schema.
UPDATE schema_version SET version = 3;
INSERT INTO schema_version (version) SELECT 3 WHERE NOT EXISTS (SELECT 1 FROM schema_version);
