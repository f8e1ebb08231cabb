-- What events did to users, appended here and folded into the documents later (store/pending.rs).
-- A document includes the records up to its events_through; AUTOINCREMENT keeps seqs rising
-- after the table was emptied by a fold.
ALTER TABLE users ADD COLUMN events_through INTEGER NOT NULL DEFAULT 0;

CREATE TABLE pending_activity (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id  INTEGER NOT NULL,
    user_id       BLOB NOT NULL,
    activity      BLOB NOT NULL
);
