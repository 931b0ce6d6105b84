-- The PostgreSQL schema: the same tables as the SQLite migrations 0001-0003, in one step. No name,
-- address or user agent is stored with an answer: a member is the SHA-256 of a random token that
-- only the member's browser holds.
CREATE TABLE groups (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    host_token_hash BYTEA NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE polls (
    id                TEXT PRIMARY KEY,
    group_id          TEXT NOT NULL REFERENCES groups (id),
    instrument        TEXT NOT NULL,
    code              TEXT UNIQUE,
    min_n             INTEGER NOT NULL CHECK (min_n >= 3),
    hide_until_closed BOOLEAN NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at        BIGINT NOT NULL,
    closed_at         BIGINT,
    question          TEXT,
    stem              TEXT,
    stem_source       TEXT,
    seq               BIGSERIAL
);
CREATE INDEX polls_by_group ON polls (group_id, created_at, seq);

CREATE TABLE members (
    poll_id     TEXT NOT NULL REFERENCES polls (id),
    member_hash BYTEA NOT NULL,
    PRIMARY KEY (poll_id, member_hash)
);

CREATE TABLE responses (
    poll_id     TEXT NOT NULL REFERENCES polls (id),
    member_hash BYTEA NOT NULL,
    answers     TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    PRIMARY KEY (poll_id, member_hash)
);
