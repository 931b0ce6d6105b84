-- A member who answers has joined: from now on every stored answer also records its member, so the
-- joined count is one indexed count over `members` (it was a union with `responses`).
INSERT OR IGNORE INTO members (poll_id, member_hash) SELECT poll_id, member_hash FROM responses;
