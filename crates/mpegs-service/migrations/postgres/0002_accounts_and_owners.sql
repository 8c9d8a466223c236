-- Accounts, owners, scopes (docs/service.md §Accounts). A token belongs to an
-- account and carries scopes and an expiry; media items and jobs record the
-- account that made them. Tokens from before this migration keep their name
-- as account and the scopes `upload,jobs` (what every token could do then);
-- items and jobs from before it have no owner: only an admin can change them.
ALTER TABLE tokens ADD COLUMN account TEXT;
ALTER TABLE tokens ADD COLUMN scopes TEXT;
ALTER TABLE tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE media ADD COLUMN owner TEXT;
-- 1 when the bundle reveals its seed (public), 0 for private media; NULL for
-- rows from before this column (the bundle says).
ALTER TABLE media ADD COLUMN published BIGINT;
ALTER TABLE jobs ADD COLUMN owner TEXT;
CREATE INDEX jobs_owner ON jobs (owner, status);
CREATE INDEX media_owner ON media (owner);
-- Who first asked for a circuit (the new-circuits-a-day quota counts these).
ALTER TABLE circuit_keys ADD COLUMN requested_by TEXT;

-- Idempotent retries of POST /v1/jobs and POST /v1/media: the first answer to
-- (account, Idempotency-Key) is kept with the SHA-256 of its request, so the
-- same request again gets the same answer and a different one is refused.
CREATE TABLE idempotency (
    account TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status BIGINT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (account, idem_key));
