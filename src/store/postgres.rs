//! The PostgreSQL store, for several inboxd nodes over one shared database.
//!
//! Same semantics as the embedded store. Every statement names workspace_id (Citus routes it to
//! the workspace's shard); writes that change users or the catalog append to the workspace's
//! change feed and NOTIFY in the same transaction; a LISTEN connection wakes this node's follower.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, NoTls, Row};

use super::codec::{decode, encode, id_from_bytes, new_origin, Documents};
use super::{
    distinct, event_applied_elsewhere, Agent, Attempt, Bot, Change, ChangeKind, Commit, Conflict, Delivery,
    DeliveryStatus, SegmentRecord, Store, StoreResult, Subscription, Token, Version,
};
use crate::domain::{Id, Platform, Role, Timestamp, WorkspaceId};
use crate::model::User;

/// Versioned migrations, applied in order on start, one node at a time.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/postgres_001_init.sql")),
    (2, include_str!("migrations/postgres_002_store_identity.sql")),
];

/// Users read per batch when the engine is rebuilt.
const SCAN_BATCH: i64 = 10_000;
/// Connections per node.
const POOL_SIZE: usize = 16;
/// The NOTIFY channel of the change feed.
const CHANNEL: &str = "inboxd_changes";
/// How long a node holds the webhook deliveries it claimed before another node may take them.
const DELIVERY_LEASE_MS: i64 = 120_000;

/// Whether `db` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

pub struct PostgresStore {
    pool: Pool,
    origin: String,
    signal: Arc<Notify>,
}

impl PostgresStore {
    /// Connects, runs the migrations not yet applied, and starts listening for changes.
    pub async fn connect(url: &str) -> anyhow::Result<PostgresStore> {
        let config: tokio_postgres::Config = url.parse().context("parsing the PostgreSQL url")?;
        let manager =
            Manager::from_config(config.clone(), NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
        let pool = Pool::builder(manager).max_size(POOL_SIZE).build().context("building the connection pool")?;
        let store = PostgresStore { pool, origin: new_origin(), signal: Arc::new(Notify::new()) };
        store.migrate().await?;
        tokio::spawn(listen(config, Arc::downgrade(&store.signal)));
        Ok(store)
    }

    async fn client(&self) -> anyhow::Result<Object> {
        self.pool.get().await.context("connecting to PostgreSQL")
    }

    /// Applies the pending migrations in one transaction, under an advisory lock, so that nodes
    /// starting together migrate once.
    async fn migrate(&self) -> anyhow::Result<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.batch_execute(
            "SELECT pg_advisory_xact_lock(7243, hashtext(current_schema()));
             CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);",
        )
        .await
        .context("locking the schema for migrations")?;
        let current: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[]).await?.get(0);
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
            tx.batch_execute(sql).await.with_context(|| format!("migration {version}"))?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &Timestamp::now().0],
            )
            .await?;
            tracing::info!(version, "applied store migration");
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Keeps a LISTEN connection open (reconnecting when it drops) and notifies `signal` at every
/// notification, and once after each (re)connection so the follower catches up. Ends when the
/// store is dropped.
async fn listen(config: tokio_postgres::Config, signal: std::sync::Weak<Notify>) {
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let forward = signal.clone();
                let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                let pump = tokio::spawn(async move {
                    while let Some(message) = messages.next().await {
                        match message {
                            Ok(AsyncMessage::Notification(_)) => match forward.upgrade() {
                                Some(signal) => signal.notify_one(),
                                None => return,
                            },
                            Ok(_) => {}
                            Err(error) => {
                                tracing::warn!(%error, "the change feed's LISTEN connection failed");
                                return;
                            }
                        }
                    }
                });
                if let Err(error) = client.batch_execute(&format!("LISTEN {CHANNEL}")).await {
                    tracing::warn!(%error, "could not LISTEN for changes");
                }
                if let Some(signal) = signal.upgrade() {
                    signal.notify_one();
                }
                let mut pump = pump;
                loop {
                    tokio::select! {
                        _ = &mut pump => break,
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {
                            if signal.strong_count() == 0 {
                                pump.abort();
                                return;
                            }
                        }
                    }
                }
                drop(client);
            }
            Err(error) => {
                tracing::warn!(%error, "could not open the change feed's LISTEN connection; polling meanwhile")
            }
        }
        if signal.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Turns the errors that mean "another transaction got there first" into a `Conflict`.
fn conflict_or(error: tokio_postgres::Error, users: &[Id]) -> anyhow::Error {
    let code = error.code();
    if code == Some(&SqlState::T_R_DEADLOCK_DETECTED) || code == Some(&SqlState::T_R_SERIALIZATION_FAILURE) {
        return Conflict { users: users.to_vec() }.into();
    }
    anyhow::Error::new(error)
}

/// Appends changes to the workspace's feed inside the transaction, and NOTIFYs at its commit.
async fn record_changes(
    tx: &impl GenericClient,
    workspace: WorkspaceId,
    kind: ChangeKind,
    entities: &[Option<String>],
    origin: &str,
) -> Result<(), tokio_postgres::Error> {
    if entities.is_empty() {
        return Ok(());
    }
    let count = entities.len() as i64;
    let counter = tx
        .prepare_cached(
            "INSERT INTO change_counters (workspace_id, seq) VALUES ($1, $2)
             ON CONFLICT (workspace_id) DO UPDATE SET seq = change_counters.seq + excluded.seq RETURNING seq",
        )
        .await?;
    let last: i64 = tx.query_one(&counter, &[&workspace, &count]).await?.get(0);
    let first = last - count + 1;
    let insert = tx
        .prepare_cached(
            "INSERT INTO changes (workspace_id, seq, kind, entity, origin, at)
             SELECT $1, $2 + e.n - 1, $3, e.entity, $4, $5 FROM unnest($6::text[]) WITH ORDINALITY AS e(entity, n)",
        )
        .await?;
    tx.execute(&insert, &[&workspace, &first, &kind.as_str(), &origin, &Timestamp::now().0, &entities]).await?;
    let payload = format!("{workspace}:{last}");
    tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload]).await?;
    Ok(())
}

fn parse_id(text: &str) -> anyhow::Result<Id> {
    Id::parse(text).with_context(|| format!("{text:?} is not an id"))
}

fn token_from_row(row: &Row) -> Token {
    let role: String = row.get(3);
    Token {
        id: row.get(0),
        workspace_id: row.get(1),
        workspace: row.get(2),
        role: Role::parse(&role).unwrap_or(Role::Agent),
        created_at: Timestamp(row.get(4)),
        last_used_at: row.get::<_, Option<i64>>(5).map(Timestamp),
        revoked: row.get::<_, Option<i64>>(6).is_some(),
    }
}

const TOKEN_COLUMNS: &str =
    "t.id, t.workspace_id, w.name, t.role, t.created_at, t.last_used_at, t.revoked_at FROM tokens t JOIN workspaces w ON w.id = t.workspace_id";

const SUBSCRIPTION_COLUMNS: &str =
    "id, url, event, bot_id, platform, slug, category, secret, created_at FROM webhook_subscriptions";

fn subscription_from_row(row: &Row) -> anyhow::Result<Subscription> {
    let bot: String = row.get(3);
    let platform: Option<String> = row.get(4);
    Ok(Subscription {
        id: parse_id(row.get(0))?,
        url: row.get(1),
        event: row.get(2),
        bot: Id::parse(&bot),
        platform: platform.as_deref().and_then(Platform::parse),
        slug: row.get(5),
        category: row.get(6),
        secret: row.get(7),
        created_at: Timestamp(row.get(8)),
    })
}

const DELIVERY_COLUMNS: &str =
    "d.workspace_id, d.id, d.subscription_id, d.user_id, d.event, d.event_id, d.body, d.status,
    d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_error, d.created_at, d.delivered_at, s.url, s.secret
    FROM webhook_deliveries d LEFT JOIN webhook_subscriptions s
    ON s.workspace_id = d.workspace_id AND s.id = d.subscription_id";

fn delivery_from_row(row: &Row) -> anyhow::Result<Delivery> {
    let status: String = row.get(7);
    let url: Option<String> = row.get(14);
    let secret: Option<String> = row.get(15);
    Ok(Delivery {
        workspace: row.get(0),
        id: parse_id(row.get(1))?,
        subscription: parse_id(row.get(2))?,
        user: parse_id(row.get(3))?,
        event: row.get(4),
        event_id: parse_id(row.get(5))?,
        body: row.get(6),
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
        attempts: row.get::<_, i32>(8).max(0) as u32,
        next_attempt_at: Timestamp(row.get(9)),
        last_attempt_at: row.get::<_, Option<i64>>(10).map(Timestamp),
        last_error: row.get(11),
        created_at: Timestamp(row.get(12)),
        delivered_at: row.get::<_, Option<i64>>(13).map(Timestamp),
        target: url.zip(secret),
    })
}

fn user_from_row(row: &Row) -> anyhow::Result<(User, Version)> {
    Ok((decode(row.get(0))?, row.get(1)))
}

#[async_trait]
impl Store for PostgresStore {
    async fn ensure_workspace(&self, name: &str) -> StoreResult<WorkspaceId> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO workspaces (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name, &Timestamp::now().0],
            )
            .await?;
        Ok(client.query_one("SELECT id FROM workspaces WHERE name = $1", &[&name]).await?.get(0))
    }

    async fn workspaces(&self) -> StoreResult<Vec<(WorkspaceId, String)>> {
        let client = self.client().await?;
        let rows = client.query("SELECT id, name FROM workspaces ORDER BY id", &[]).await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn create_token(&self, workspace: WorkspaceId, id: &str, secret_hash: &str, role: Role) -> StoreResult<()> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO tokens (id, workspace_id, secret_hash, role, created_at) VALUES ($1, $2, $3, $4, $5)",
                &[&id, &workspace, &secret_hash, &role.as_str(), &Timestamp::now().0],
            )
            .await?;
        Ok(())
    }

    async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Token>> {
        let client = self.client().await?;
        let sql = format!("SELECT {TOKEN_COLUMNS} WHERE t.secret_hash = $1");
        let statement = client.prepare_cached(&sql).await?;
        Ok(client.query_opt(&statement, &[&secret_hash]).await?.as_ref().map(token_from_row))
    }

    async fn tokens(&self, workspace: Option<&str>) -> StoreResult<Vec<Token>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} WHERE $1::text IS NULL OR w.name = $1 ORDER BY t.created_at, t.id COLLATE \"C\""
        );
        let rows = client.query(&sql, &[&workspace]).await?;
        Ok(rows.iter().map(token_from_row).collect())
    }

    async fn revoke_token(&self, id_or_hash: &str) -> StoreResult<bool> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 OR secret_hash = $1",
                &[&id_or_hash, &Timestamp::now().0],
            )
            .await?;
        Ok(changed > 0)
    }

    async fn touch_token(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let client = self.client().await?;
        client.execute("UPDATE tokens SET last_used_at = $2 WHERE id = $1", &[&id, &at.0]).await?;
        Ok(())
    }

    async fn insert_bot(&self, workspace: WorkspaceId, bot: &Bot) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO bots (workspace_id, id, name, platform, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&workspace, &bot.id.to_string(), &bot.name, &bot.platform.as_str(), &bot.created_at.0],
        )
        .await?;
        record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(bot.id.to_string())], &self.origin).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn bots(&self, workspace: WorkspaceId) -> StoreResult<Vec<Bot>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, platform, created_at FROM bots WHERE workspace_id = $1 ORDER BY created_at, id COLLATE \"C\"",
                &[&workspace],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let platform: String = r.get(2);
                Ok(Bot {
                    id: parse_id(r.get(0))?,
                    name: r.get(1),
                    platform: Platform::parse(&platform).unwrap_or(Platform::Website),
                    created_at: Timestamp(r.get(3)),
                })
            })
            .collect()
    }

    async fn insert_agent(&self, workspace: WorkspaceId, agent: &Agent) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO agents (workspace_id, id, name, email, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[&workspace, &agent.id.to_string(), &agent.name, &agent.email, &agent.created_at.0],
        )
        .await?;
        record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(agent.id.to_string())], &self.origin).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn agents(&self, workspace: WorkspaceId) -> StoreResult<Vec<Agent>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, name, email, created_at FROM agents WHERE workspace_id = $1 ORDER BY created_at, id COLLATE \"C\"",
                &[&workspace],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Agent { id: parse_id(r.get(0))?, name: r.get(1), email: r.get(2), created_at: Timestamp(r.get(3)) })
            })
            .collect()
    }

    async fn insert_segment(&self, workspace: WorkspaceId, segment: &SegmentRecord) -> StoreResult<()> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO segments (workspace_id, id, definition, created_at) VALUES ($1, $2, $3, $4)",
            &[&workspace, &segment.id.to_string(), &segment.definition.to_string(), &segment.created_at.0],
        )
        .await?;
        record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(segment.id.to_string())], &self.origin).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn segments(&self, workspace: WorkspaceId) -> StoreResult<Vec<SegmentRecord>> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, definition, created_at FROM segments WHERE workspace_id = $1 ORDER BY created_at, id COLLATE \"C\"",
                &[&workspace],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let definition: String = r.get(1);
                Ok(SegmentRecord {
                    id: parse_id(r.get(0))?,
                    definition: serde_json::from_str(&definition)?,
                    created_at: Timestamp(r.get(2)),
                })
            })
            .collect()
    }

    async fn delete_segment(&self, workspace: WorkspaceId, id: Id) -> StoreResult<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let deleted = tx
            .execute("DELETE FROM segments WHERE workspace_id = $1 AND id = $2", &[&workspace, &id.to_string()])
            .await?;
        if deleted > 0 {
            record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(id.to_string())], &self.origin).await?;
        }
        tx.commit().await?;
        Ok(deleted > 0)
    }

    async fn scan_users(
        &self,
        workspace: WorkspaceId,
        each_batch: &mut (dyn FnMut(Vec<User>) + Send),
    ) -> StoreResult<()> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT doc, id FROM users WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .await?;
        let mut after: Vec<u8> = Vec::new();
        loop {
            let rows = client.query(&statement, &[&workspace, &after, &SCAN_BATCH]).await?;
            let done = (rows.len() as i64) < SCAN_BATCH;
            if let Some(last) = rows.last() {
                after = last.get(1);
            }
            let users = rows.iter().map(|r| decode(r.get(0))).collect::<anyhow::Result<Vec<User>>>()?;
            each_batch(users);
            if done {
                return Ok(());
            }
        }
    }

    async fn documents_after(
        &self,
        workspace: WorkspaceId,
        after: Option<Id>,
        limit: usize,
        mut documents: Documents,
    ) -> StoreResult<Documents> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT id, doc FROM users WHERE workspace_id = $1 AND id > $2 ORDER BY id LIMIT $3")
            .await?;
        // Every id is greater than the empty bytea.
        let from: &[u8] = after.as_ref().map_or(&[], |id| &id.as_bytes()[..]);
        let rows = client.query(&statement, &[&workspace, &from, &(limit as i64)]).await?;
        documents.clear();
        for row in &rows {
            let id = id_from_bytes(row.get(0)).context("a user id of 12 bytes")?;
            documents.push(id, row.get(1));
        }
        Ok(documents)
    }

    async fn users(&self, workspace: WorkspaceId, ids: &[Id]) -> StoreResult<Vec<User>> {
        Ok(self.users_versioned(workspace, ids).await?.into_iter().map(|(u, _)| u).collect())
    }

    async fn users_versioned(&self, workspace: WorkspaceId, ids: &[Id]) -> StoreResult<Vec<(User, Version)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let statement = client
            .prepare_cached("SELECT doc, version, id FROM users WHERE workspace_id = $1 AND id = ANY($2::bytea[])")
            .await?;
        let keys: Vec<&[u8]> = ids.iter().map(|id| &id.as_bytes()[..]).collect();
        let rows = client.query(&statement, &[&workspace, &keys]).await?;
        let mut found: HashMap<Id, (User, Version)> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let id = id_from_bytes(row.get(2)).context("a user id of 12 bytes")?;
            found.insert(id, user_from_row(row)?);
        }
        // In the order asked; an id asked twice is answered once, like the embedded store's map use.
        let mut users = Vec::with_capacity(found.len());
        for id in ids {
            if let Some(user) = found.remove(id) {
                users.push(user);
            }
        }
        Ok(users)
    }

    async fn seen_event_ids(&self, workspace: WorkspaceId, event_ids: &[String]) -> StoreResult<Vec<String>> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT event_id FROM event_ids WHERE workspace_id = $1 AND event_id = ANY($2::text[])",
                &[&workspace, &event_ids],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn commit(&self, workspace: WorkspaceId, commit: &Commit) -> StoreResult<()> {
        if commit.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(commit.activity.is_empty(), "PostgreSQL keeps no deferred activity: write whole documents");
        let mut blind: (Vec<Vec<u8>>, Vec<Vec<u8>>) = Default::default();
        let mut create: (Vec<Vec<u8>>, Vec<Vec<u8>>) = Default::default();
        let mut update: (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<i64>) = Default::default();
        for user in &commit.upsert {
            let (id, doc) = (user.id.as_bytes().to_vec(), encode(user)?);
            match commit.expected.get(&user.id) {
                None => {
                    blind.0.push(id);
                    blind.1.push(doc);
                }
                Some(0) => {
                    create.0.push(id);
                    create.1.push(doc);
                }
                Some(version) => {
                    update.0.push(id);
                    update.1.push(doc);
                    update.2.push(*version);
                }
            }
        }
        let touched: Vec<Id> = commit.upsert.iter().map(|u| u.id).chain(commit.delete.iter().copied()).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let conflict = |e| conflict_or(e, &touched);
        if !update.0.is_empty() {
            let statement = tx
                .prepare_cached(
                    "UPDATE users SET doc = u.doc, version = users.version + 1
                     FROM unnest($2::bytea[], $3::bytea[], $4::int8[]) AS u(id, doc, version)
                     WHERE users.workspace_id = $1 AND users.id = u.id AND users.version = u.version RETURNING users.id",
                )
                .await?;
            let rows = tx.query(&statement, &[&workspace, &update.0, &update.1, &update.2]).await.map_err(conflict)?;
            if rows.len() != update.0.len() {
                let written: HashSet<Vec<u8>> = rows.iter().map(|r| r.get(0)).collect();
                let users =
                    update.0.iter().filter(|id| !written.contains(*id)).filter_map(|id| id_from_bytes(id)).collect();
                return Err(Conflict { users }.into());
            }
        }
        if !create.0.is_empty() {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO users (workspace_id, id, doc) SELECT $1, u.id, u.doc FROM unnest($2::bytea[], $3::bytea[]) AS u(id, doc)
                     ON CONFLICT (workspace_id, id) DO NOTHING RETURNING id",
                )
                .await?;
            let rows = tx.query(&statement, &[&workspace, &create.0, &create.1]).await.map_err(conflict)?;
            if rows.len() != create.0.len() {
                let written: HashSet<Vec<u8>> = rows.iter().map(|r| r.get(0)).collect();
                let users =
                    create.0.iter().filter(|id| !written.contains(*id)).filter_map(|id| id_from_bytes(id)).collect();
                return Err(Conflict { users }.into());
            }
        }
        if !blind.0.is_empty() {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO users (workspace_id, id, doc) SELECT $1, u.id, u.doc FROM unnest($2::bytea[], $3::bytea[]) AS u(id, doc)
                     ON CONFLICT (workspace_id, id) DO UPDATE SET doc = excluded.doc, version = users.version + 1",
                )
                .await?;
            tx.execute(&statement, &[&workspace, &blind.0, &blind.1]).await.map_err(conflict)?;
        }
        if !commit.delete.is_empty() {
            let ids: Vec<&[u8]> = commit.delete.iter().map(|id| &id.as_bytes()[..]).collect();
            tx.execute("DELETE FROM users WHERE workspace_id = $1 AND id = ANY($2::bytea[])", &[&workspace, &ids])
                .await
                .map_err(conflict)?;
        }
        if !commit.event_ids.is_empty() {
            let remembered = tx
                .execute(
                    "INSERT INTO event_ids (workspace_id, event_id) SELECT DISTINCT $1::int8, e FROM unnest($2::text[]) AS e
                     ON CONFLICT DO NOTHING",
                    &[&workspace, &commit.event_ids],
                )
                .await
                .map_err(conflict)?;
            if remembered != distinct(&commit.event_ids) {
                return Err(event_applied_elsewhere());
            }
        }
        if !commit.deliveries.is_empty() {
            let column =
                |f: &dyn Fn(&super::NewDelivery) -> String| commit.deliveries.iter().map(f).collect::<Vec<_>>();
            let ids = column(&|d| d.id.to_string());
            let subscriptions = column(&|d| d.subscription.to_string());
            let users = column(&|d| d.user.to_string());
            let events = column(&|d| d.event.clone());
            let event_ids = column(&|d| d.event_id.to_string());
            let bodies = column(&|d| d.body.clone());
            let at: Vec<i64> = commit.deliveries.iter().map(|d| d.created_at.0).collect();
            tx.execute(
                "INSERT INTO webhook_deliveries (workspace_id, id, subscription_id, user_id, event, event_id, body, status,
                 next_attempt_at, created_at)
                 SELECT $1, d.id, d.sub, d.user_id, d.event, d.event_id, d.body, 'pending', d.at, d.at
                 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int8[])
                 WITH ORDINALITY AS d(id, sub, user_id, event, event_id, body, at, n) ORDER BY d.n",
                &[&workspace, &ids, &subscriptions, &users, &events, &event_ids, &bodies, &at],
            )
            .await
            .map_err(conflict)?;
        }
        let entities: Vec<Option<String>> = touched.iter().map(|id| Some(id.to_string())).collect();
        record_changes(&tx, workspace, ChangeKind::User, &entities, &self.origin).await.map_err(conflict)?;
        tx.commit().await.map_err(conflict)?;
        Ok(())
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    async fn changes_after(&self, cursors: &[(WorkspaceId, i64)], limit: usize) -> StoreResult<Vec<Change>> {
        if cursors.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        // One cheap look at the counters first: only workspaces that moved are read.
        let workspaces: Vec<i64> = cursors.iter().map(|(w, _)| *w).collect();
        let counters = client
            .query("SELECT workspace_id, seq FROM change_counters WHERE workspace_id = ANY($1::int8[])", &[&workspaces])
            .await?;
        let latest: HashMap<i64, i64> = counters.iter().map(|r| (r.get(0), r.get(1))).collect();
        let mut moved: Vec<(WorkspaceId, i64)> =
            cursors.iter().filter(|(w, after)| latest.get(w).is_some_and(|seq| seq > after)).copied().collect();
        moved.sort();
        let statement = client
            .prepare_cached(
                "SELECT seq, kind, entity, origin FROM changes WHERE workspace_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .await?;
        let mut changes = Vec::new();
        for (workspace, after) in moved {
            let left = limit.saturating_sub(changes.len());
            if left == 0 {
                break;
            }
            for row in client.query(&statement, &[&workspace, &after, &(left as i64)]).await? {
                let kind: String = row.get(1);
                let entity: Option<String> = row.get(2);
                changes.push(Change {
                    workspace,
                    seq: row.get(0),
                    kind: ChangeKind::parse(&kind),
                    entity: entity.as_deref().and_then(Id::parse),
                    origin: row.get(3),
                });
            }
        }
        Ok(changes)
    }

    async fn count_users(&self, workspace: WorkspaceId) -> StoreResult<u64> {
        let client = self.client().await?;
        let count: i64 =
            client.query_one("SELECT count(*) FROM users WHERE workspace_id = $1", &[&workspace]).await?.get(0);
        Ok(count as u64)
    }

    async fn latest_change_seq(&self, workspace: WorkspaceId) -> StoreResult<i64> {
        let client = self.client().await?;
        let row = client.query_opt("SELECT seq FROM change_counters WHERE workspace_id = $1", &[&workspace]).await?;
        Ok(row.map_or(0, |r| r.get(0)))
    }

    async fn identity(&self) -> StoreResult<String> {
        let client = self.client().await?;
        Ok(client.query_one("SELECT id FROM store_identity WHERE singleton = 1", &[]).await?.get(0))
    }

    async fn prune_changes(&self, before: Timestamp) -> StoreResult<u64> {
        let client = self.client().await?;
        Ok(client.execute("DELETE FROM changes WHERE at < $1", &[&before.0]).await?)
    }

    fn change_signal(&self) -> Option<Arc<Notify>> {
        Some(self.signal.clone())
    }

    async fn subscribe(&self, workspace: WorkspaceId, subscription: &Subscription) -> StoreResult<Subscription> {
        let sub = subscription;
        let bot = sub.bot.map(|b| b.to_string()).unwrap_or_default();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let added = tx
            .execute(
                "INSERT INTO webhook_subscriptions (workspace_id, id, url, event, bot_id, platform, slug, category, secret, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (workspace_id, url, event, bot_id) DO NOTHING",
                &[
                    &workspace,
                    &sub.id.to_string(),
                    &sub.url,
                    &sub.event,
                    &bot,
                    &sub.platform.map(Platform::as_str),
                    &sub.slug,
                    &sub.category,
                    &sub.secret,
                    &sub.created_at.0,
                ],
            )
            .await?;
        if added > 0 {
            record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(sub.id.to_string())], &self.origin).await?;
        }
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} WHERE workspace_id = $1 AND url = $2 AND event = $3 AND bot_id = $4"
        );
        let row = tx.query_one(&sql, &[&workspace, &sub.url, &sub.event, &bot]).await?;
        tx.commit().await?;
        subscription_from_row(&row)
    }

    async fn unsubscribe(&self, workspace: WorkspaceId, url: &str, event: &str, bot: Option<Id>) -> StoreResult<usize> {
        let bot = bot.map(|b| b.to_string()).unwrap_or_default();
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let removed = tx
            .execute(
                "DELETE FROM webhook_subscriptions WHERE workspace_id = $1 AND url = $2 AND event = $3 AND bot_id = $4",
                &[&workspace, &url, &event, &bot],
            )
            .await?;
        if removed > 0 {
            record_changes(&tx, workspace, ChangeKind::Catalog, &[None], &self.origin).await?;
        }
        tx.commit().await?;
        Ok(removed as usize)
    }

    async fn subscriptions(&self, workspace: WorkspaceId) -> StoreResult<Vec<Subscription>> {
        let client = self.client().await?;
        let sql =
            format!("SELECT {SUBSCRIPTION_COLUMNS} WHERE workspace_id = $1 ORDER BY created_at, id COLLATE \"C\"");
        let rows = client.query(&sql, &[&workspace]).await?;
        rows.iter().map(subscription_from_row).collect()
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>> {
        let client = self.client().await?;
        // Which workspaces have something due (one multi-shard read), then a claim per workspace
        // (each a single-shard statement on Citus).
        let workspaces: Vec<i64> = client
            .query(
                "SELECT DISTINCT workspace_id FROM webhook_deliveries
                 WHERE status = 'pending' AND next_attempt_at <= $1 AND COALESCE(claimed_until, 0) <= $1 LIMIT 1000",
                &[&now.0],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // The NOT EXISTS keeps each user's deliveries in order: a later one waits for the earlier,
        // even while another node holds the earlier one. SKIP LOCKED lets nodes claim side by side.
        let claim = client
            .prepare_cached(
                "WITH due AS (
                   SELECT d.id FROM webhook_deliveries d
                   WHERE d.workspace_id = $1 AND d.status = 'pending' AND d.next_attempt_at <= $2
                     AND COALESCE(d.claimed_until, 0) <= $2
                     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.workspace_id = $1
                       AND e.subscription_id = d.subscription_id AND e.user_id = d.user_id AND e.seq < d.seq
                       AND e.status = 'pending')
                   ORDER BY d.seq LIMIT $3 FOR UPDATE OF d SKIP LOCKED)
                 UPDATE webhook_deliveries w SET claimed_until = $4 FROM due
                 WHERE w.workspace_id = $1 AND w.id = due.id RETURNING w.id",
            )
            .await?;
        let read = client
            .prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} WHERE d.workspace_id = $1 AND d.id = ANY($2::text[]) ORDER BY d.seq"
            ))
            .await?;
        let mut due = Vec::new();
        for workspace in workspaces {
            let left = limit.saturating_sub(due.len());
            if left == 0 {
                break;
            }
            let claimed: Vec<String> = client
                .query(&claim, &[&workspace, &now.0, &(left as i64), &(now.0 + DELIVERY_LEASE_MS)])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if claimed.is_empty() {
                continue;
            }
            for row in client.query(&read, &[&workspace, &claimed]).await? {
                due.push(delivery_from_row(&row)?);
            }
        }
        Ok(due)
    }

    async fn record_attempt(
        &self,
        workspace: WorkspaceId,
        id: Id,
        at: Timestamp,
        attempt: &Attempt,
    ) -> StoreResult<()> {
        let (status, next, error, delivered) = attempt.columns(at);
        let client = self.client().await?;
        client
            .execute(
                "UPDATE webhook_deliveries SET status = $3, attempts = attempts + 1, last_attempt_at = $4,
                 next_attempt_at = COALESCE($5, next_attempt_at), last_error = COALESCE($6, last_error),
                 delivered_at = $7, claimed_until = NULL WHERE workspace_id = $1 AND id = $2",
                &[&workspace, &id.to_string(), &status, &at.0, &next, &error, &delivered],
            )
            .await?;
        Ok(())
    }

    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        let client = self.client().await?;
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} WHERE d.workspace_id = $1 AND ($2::text IS NULL OR d.status = $2) ORDER BY d.seq DESC LIMIT $3"
        );
        let rows = client.query(&sql, &[&workspace, &status.map(DeliveryStatus::as_str), &(limit as i64)]).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn delivery_backlog(&self) -> StoreResult<(u64, u64)> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'failed')
                 FROM webhook_deliveries",
                &[],
            )
            .await?;
        Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
    }

    async fn redeliver(&self, workspace: WorkspaceId, id: Id) -> StoreResult<bool> {
        let client = self.client().await?;
        let changed = client
            .execute(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, delivered_at = NULL, claimed_until = NULL
                 WHERE workspace_id = $1 AND id = $2",
                &[&workspace, &id.to_string(), &Timestamp::now().0],
            )
            .await?;
        Ok(changed > 0)
    }
}
