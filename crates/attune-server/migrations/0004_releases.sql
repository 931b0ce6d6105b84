-- Statistics are released to the host in steps (see the server README, "Anonymity"). `releases`
-- keeps each release's statistics; `responses.released` what the releases so far have shown of that
-- member's answers, per statistic (JSON; NULL before any did), so the rule survives a restart.
CREATE TABLE releases (
    poll_id     TEXT NOT NULL REFERENCES polls (id),
    seq         INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    stats       TEXT NOT NULL,
    released_at INTEGER NOT NULL,
    PRIMARY KEY (poll_id, seq)
);
ALTER TABLE responses ADD COLUMN released TEXT;
