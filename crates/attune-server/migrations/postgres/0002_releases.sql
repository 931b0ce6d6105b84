-- Released statistics and what they have shown of each member, as in the SQLite migration 0004.
CREATE TABLE releases (
    poll_id     TEXT NOT NULL REFERENCES polls (id),
    seq         BIGINT NOT NULL,
    n           INTEGER NOT NULL,
    stats       TEXT NOT NULL,
    released_at BIGINT NOT NULL,
    PRIMARY KEY (poll_id, seq)
);
ALTER TABLE responses ADD COLUMN released TEXT;
