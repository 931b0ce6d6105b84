-- Groups, polls and members' answers. No name, address or user agent is stored with an answer:
-- a member is the SHA-256 of a random token that only the member's browser holds.
CREATE TABLE groups (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    host_token_hash BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE polls (
    id                TEXT PRIMARY KEY,
    group_id          TEXT NOT NULL REFERENCES groups (id),
    instrument        TEXT NOT NULL,
    -- The join code while the poll is open; NULL once closed, so a closed poll's code is retired.
    code              TEXT UNIQUE,
    min_n             INTEGER NOT NULL CHECK (min_n >= 3),
    hide_until_closed INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at        INTEGER NOT NULL,
    closed_at         INTEGER
);
CREATE INDEX polls_by_group ON polls (group_id, created_at);

CREATE TABLE members (
    poll_id     TEXT NOT NULL REFERENCES polls (id),
    member_hash BLOB NOT NULL,
    PRIMARY KEY (poll_id, member_hash)
);

CREATE TABLE responses (
    poll_id     TEXT NOT NULL REFERENCES polls (id),
    member_hash BLOB NOT NULL,
    answers     TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    PRIMARY KEY (poll_id, member_hash)
);
