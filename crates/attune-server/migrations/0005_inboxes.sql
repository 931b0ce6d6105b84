-- Sealed intake inboxes (see docs/inbox.md). The server holds each inbox's public key and, per
-- submission, only the sealed envelope (HPKE ciphertext), its size and when it arrived: it never
-- holds a private key or an answer. `inbox_forwards` is the durable outbox of submissions still to
-- be forwarded to the clinic's own endpoint (Standard Webhooks); a row leaves it once delivered.
CREATE TABLE inboxes (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    host_token_hash BLOB NOT NULL,
    public_key      TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    retention_days  INTEGER,
    forward_url     TEXT,
    forward_secret  TEXT,
    created_at      INTEGER NOT NULL
);

CREATE TABLE inbox_submissions (
    inbox_id    TEXT NOT NULL REFERENCES inboxes (id),
    id          TEXT NOT NULL,
    envelope    TEXT NOT NULL,
    size        INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (inbox_id, id)
);
CREATE INDEX inbox_submissions_by_time ON inbox_submissions (inbox_id, received_at);

CREATE TABLE inbox_forwards (
    inbox_id      TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,
    lease_until   INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    PRIMARY KEY (inbox_id, submission_id),
    FOREIGN KEY (inbox_id, submission_id) REFERENCES inbox_submissions (inbox_id, id) ON DELETE CASCADE
);
CREATE INDEX inbox_forwards_due ON inbox_forwards (next_at);
