-- The first schema: workspaces, tokens, the catalog, users and applied event ids.
-- Every table of workspace data is keyed by (workspace_id, id).
CREATE TABLE workspaces (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    workspace_id  INTEGER NOT NULL REFERENCES workspaces(id),
    secret_hash   TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    revoked_at    INTEGER
);

CREATE TABLE bots (
    workspace_id  INTEGER NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE agents (
    workspace_id  INTEGER NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE segments (
    workspace_id  INTEGER NOT NULL,
    id            TEXT NOT NULL,
    definition    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- The whole user document, MessagePack-encoded; the engine indexes what it needs in memory.
CREATE TABLE users (
    workspace_id  INTEGER NOT NULL,
    id            BLOB NOT NULL,
    doc           BLOB NOT NULL,
    PRIMARY KEY (workspace_id, id)
) WITHOUT ROWID;

CREATE TABLE event_ids (
    workspace_id  INTEGER NOT NULL,
    event_id      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
) WITHOUT ROWID;
