-- Statistics are released to the host in steps (see the server README, "Anonymity"): each release
-- holds the answers of at least min_n more (or changed) members than the one before. `releases`
-- keeps each release's statistics; `responses.released` the answers of that member which the
-- poll's last release holds (NULL when it holds none), so what is pending survives a restart.
CREATE TABLE releases (
    poll_id     TEXT NOT NULL REFERENCES polls (id),
    seq         INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    stats       TEXT NOT NULL,
    released_at INTEGER NOT NULL,
    PRIMARY KEY (poll_id, seq)
);
ALTER TABLE responses ADD COLUMN released TEXT;
