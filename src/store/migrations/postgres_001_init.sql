-- The PostgreSQL schema, designed for distribution: every table of workspace data is keyed by
-- (workspace_id, ...) and every statement names workspace_id, so that Citus can distribute these
-- tables by workspace_id unchanged (see docs/scaling.md). workspaces and tokens are small and
-- looked up across workspaces (by name, by token hash): on Citus they are reference tables.
CREATE TABLE workspaces (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

CREATE TABLE tokens (
    id            TEXT PRIMARY KEY,
    workspace_id  BIGINT NOT NULL REFERENCES workspaces (id),
    secret_hash   TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE bots (
    workspace_id  BIGINT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE agents (
    workspace_id  BIGINT NOT NULL,
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE segments (
    workspace_id  BIGINT NOT NULL,
    id            TEXT NOT NULL,
    definition    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);

-- The whole user document, MessagePack-encoded (as in the embedded store); version counts its
-- writes, for optimistic concurrency between nodes.
CREATE TABLE users (
    workspace_id  BIGINT NOT NULL,
    id            BYTEA NOT NULL,
    doc           BYTEA NOT NULL,
    version       BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (workspace_id, id)
);

CREATE TABLE event_ids (
    workspace_id  BIGINT NOT NULL,
    event_id      TEXT NOT NULL,
    PRIMARY KEY (workspace_id, event_id)
);

CREATE TABLE webhook_subscriptions (
    workspace_id  BIGINT NOT NULL,
    id            TEXT NOT NULL,
    url           TEXT NOT NULL,
    event         TEXT NOT NULL,
    bot_id        TEXT NOT NULL DEFAULT '',
    platform      TEXT,
    slug          TEXT,
    category      TEXT,
    secret        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, url, event, bot_id)
);

-- The outbox. seq orders the deliveries of one user (it comes from one sequence, so it also
-- orders them on Citus); claimed_until is the lease of the node sending it.
CREATE TABLE webhook_deliveries (
    workspace_id     BIGINT NOT NULL,
    id               TEXT NOT NULL,
    seq              BIGSERIAL NOT NULL,
    subscription_id  TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    event            TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    last_attempt_at  BIGINT,
    last_error       TEXT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    claimed_until    BIGINT,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_per_user ON webhook_deliveries (workspace_id, subscription_id, user_id, seq);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (workspace_id, seq);

-- The change feed. change_counters holds each workspace's last seq; a commit bumps it (taking its
-- row lock until commit), so seq counts 1, 2, 3, ... per workspace without gaps, in commit order.
CREATE TABLE change_counters (
    workspace_id  BIGINT PRIMARY KEY,
    seq           BIGINT NOT NULL
);

CREATE TABLE changes (
    workspace_id  BIGINT NOT NULL,
    seq           BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    entity        TEXT,
    origin        TEXT NOT NULL,
    at            BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);
CREATE INDEX changes_by_time ON changes (at);
