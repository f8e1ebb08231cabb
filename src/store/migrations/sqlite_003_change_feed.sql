-- Optimistic concurrency and the change feed (issue 5).
-- Every user row carries a version, one more at each write.
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- The last change seq of each workspace; bumped in the transaction of each change, so that seq
-- counts 1, 2, 3, ... per workspace without gaps, in commit order.
CREATE TABLE change_counters (
    workspace_id  INTEGER PRIMARY KEY,
    seq           INTEGER NOT NULL
);

-- What each commit changed: kind 'user' (entity = the user id, hex) or 'catalog'.
CREATE TABLE changes (
    workspace_id  INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    entity        TEXT,
    origin        TEXT NOT NULL,
    at            INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, seq)
) WITHOUT ROWID;
CREATE INDEX changes_by_time ON changes (at);
