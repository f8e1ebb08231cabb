-- Webhook subscriptions and the durable outbox of their deliveries.
CREATE TABLE webhook_subscriptions (
    workspace_id  INTEGER NOT NULL,
    id            TEXT NOT NULL,
    url           TEXT NOT NULL,
    event         TEXT NOT NULL,
    bot_id        TEXT NOT NULL DEFAULT '',
    platform      TEXT,
    slug          TEXT,
    category      TEXT,
    secret        TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, id),
    UNIQUE (workspace_id, url, event, bot_id)
);

-- One row per (subscription, fired event), written in the transaction of the change that fired it.
-- seq orders the deliveries of one user.
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id     INTEGER NOT NULL,
    id               TEXT NOT NULL,
    subscription_id  TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    event            TEXT NOT NULL,
    event_id         TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_error       TEXT,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);
CREATE UNIQUE INDEX webhook_deliveries_by_id ON webhook_deliveries (workspace_id, id);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_per_user ON webhook_deliveries (workspace_id, subscription_id, user_id, seq);
