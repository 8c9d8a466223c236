-- Transactional integrity (issue 25, hostile review): quotas checked and
-- jobs inserted under one per-account lock, key generations counted per
-- attempt, idempotency reservations that expire and rows that are purged,
-- children listed without parsing bundles, deletes that take their rows.

-- One row per account, upserted first thing by every job submission: the
-- row lock (PostgreSQL) or the write lock (SQLite) it takes serialises an
-- account's submissions, so the quota count and the job insert after it are
-- one step. `submissions` counts them (what the upsert changes).
CREATE TABLE account_locks (
    account TEXT PRIMARY KEY,
    submissions BIGINT NOT NULL);

-- Every key generation an account caused: a circuit new to the service, or a
-- failed one queued again. The new-circuits-a-day quota counts these rows, so
-- re-queuing failed generations is no way around it.
CREATE TABLE key_generations (
    account TEXT NOT NULL,
    circuit TEXT NOT NULL,
    created_at BIGINT NOT NULL);
CREATE INDEX key_generations_account ON key_generations (account, created_at);
INSERT INTO key_generations (account, circuit, created_at)
    SELECT requested_by, id, created_at FROM circuit_keys WHERE requested_by IS NOT NULL;

-- The reservation's holder (a random token: a reservation taken over after
-- MPEGS_IDEMPOTENCY_RESERVE_SECS is no longer its first holder's) and what the
-- answered write made (a job id or a commitment), so deleting that removes
-- the row with it.
ALTER TABLE idempotency ADD COLUMN token TEXT;
ALTER TABLE idempotency ADD COLUMN resource TEXT;
CREATE INDEX idempotency_created ON idempotency (created_at);
CREATE INDEX idempotency_resource ON idempotency (resource);

-- The item's own edit steps (JSON of the API's step summaries), stored at
-- insert time so listings and children need no bundle parsed; NULL for rows
-- from before (their bundle is parsed, a bounded page at a time).
ALTER TABLE media ADD COLUMN steps TEXT;
CREATE INDEX media_parent_page ON media (parent, created_at, commitment);
CREATE INDEX jobs_input ON jobs (input);
CREATE INDEX jobs_output ON jobs (output);
