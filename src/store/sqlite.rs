//! The embedded store: one SQLite file in WAL mode, written with synchronous=FULL so that a
//! committed write survives a crash of the process or the machine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use anyhow::Context;
use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use super::checkpoint::{Checkpointer, WAL_BOUND_PAGES};
use super::codec::{decode, encode, id_from_bytes, new_origin, Documents};
use super::pending::{Pending, Stored, FOLD_CHUNK};
use super::{
    distinct, event_applied_elsewhere, Agent, Attempt, Bot, Change, ChangeKind, Commit, Conflict, Delivery,
    DeliveryStatus, SegmentRecord, Store, StoreResult, Subscription, Token, Version,
};
use crate::domain::{Id, Platform, Role, Timestamp, WorkspaceId};
use crate::model::User;

/// Versioned migrations, applied in order on open.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("migrations/sqlite_001_init.sql")),
    (2, include_str!("migrations/sqlite_002_webhooks.sql")),
    (3, include_str!("migrations/sqlite_003_change_feed.sql")),
    (4, include_str!("migrations/sqlite_004_store_identity.sql")),
    (5, include_str!("migrations/sqlite_005_pending_activity.sql")),
];

/// Reads of at most this many users run on the calling thread (`read_now`): a default page is 20.
const READ_NOW_AT_MOST: usize = 64;

/// Users read per batch when the engine is rebuilt.
const SCAN_BATCH: usize = 10_000;

/// The writer connection's page cache, in KiB (SQLite's default is 2 MB). A batch of events reads
/// and rewrites a couple of thousand pages of random users; in the default cache the commit read
/// them from the OS again, one system call each. Readers keep the default: the export opens them.
const WRITER_CACHE_KIB: i64 = 64 * 1024;

pub struct SqliteStore {
    inner: Arc<Inner>,
    origin: String,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    checkpointer: Checkpointer,
    pending: Pending,
    /// When the last write ended: pending activity is folded once the writer has been idle a while.
    last_write: Mutex<Instant>,
}

/// How long the writer must have been idle before pending activity is folded (below `FOLD_AT`).
/// The store's unit tests fold by hand, at the moments they check.
const FOLD_WHEN_IDLE_FOR: Duration = Duration::from_millis(if cfg!(test) { 3_600_000 } else { 250 });

/// How often the fold thread looks at the writer and what is pending.
const FOLD_POLL: Duration = Duration::from_millis(125);

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: i64 = tx.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.execute_batch(sql).with_context(|| format!("migration {version}"))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, Timestamp::now().0],
        )?;
        tracing::info!(version, "applied store migration");
    }
    tx.commit()?;
    Ok(())
}

/// Appends changes to the workspace's feed inside `tx`: one per entity (None: one without).
fn record_changes(
    tx: &rusqlite::Transaction,
    workspace: WorkspaceId,
    kind: ChangeKind,
    entities: &[Option<String>],
    origin: &str,
) -> rusqlite::Result<()> {
    if entities.is_empty() {
        return Ok(());
    }
    let last: i64 = tx.query_row(
        "INSERT INTO change_counters (workspace_id, seq) VALUES (?1, ?2)
         ON CONFLICT (workspace_id) DO UPDATE SET seq = seq + ?2 RETURNING seq",
        params![workspace, entities.len() as i64],
        |r| r.get(0),
    )?;
    let first = last - entities.len() as i64 + 1;
    // One statement for the lot (a batch of events changes a thousand users): the entities go in
    // as one JSON array, each taking the seq after the one before.
    let entities = serde_json::to_string(entities).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    tx.prepare_cached(
        "INSERT INTO changes (workspace_id, seq, kind, entity, origin, at)
         SELECT ?1, ?2 + key, ?3, value, ?4, ?5 FROM json_each(?6)",
    )?
    .execute(params![workspace, first, kind.as_str(), origin, Timestamp::now().0, entities])?;
    Ok(())
}

/// The sizes of the `id IN (...)` lists users are read with. A list is padded to the next size
/// by repeating one of its ids (IN ignores repeats), so a handful of cached statements serve any
/// number of ids, and a page or a chunk is one statement instead of one per user.
const IN_LIST_SIZES: [usize; 5] = [1, 8, 32, 128, 512];

fn in_list_sql(size: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        IN_LIST_SIZES
            .iter()
            .map(|&n| {
                let marks = vec!["?"; n].join(",");
                format!("SELECT doc, version, events_through FROM users WHERE workspace_id = ?1 AND id IN ({marks})")
            })
            .collect()
    });
    let index = IN_LIST_SIZES.iter().position(|&n| n == size).unwrap_or(IN_LIST_SIZES.len() - 1);
    &all[index]
}

/// The documents of these users with their versions (pending activity applied), in the order
/// asked; missing ones are left out and an id asked twice is answered once (like the PostgreSQL
/// store).
fn read_users<T>(
    conn: &Connection,
    pending: &Pending,
    workspace: WorkspaceId,
    ids: &[Id],
    make: impl Fn(User, Version) -> T,
) -> anyhow::Result<Vec<T>> {
    let read = pending.read_applied(conn, workspace, |conn| read_stored(conn, workspace, ids), |u, v| (u, v))?;
    let mut found: HashMap<Id, (User, Version)> =
        read.into_iter().map(|(user, version)| (user.id, (user, version))).collect();
    let mut users = Vec::with_capacity(found.len());
    for id in ids {
        if let Some((user, version)) = found.remove(id) {
            users.push(make(user, version));
        }
    }
    Ok(users)
}

/// The stored rows of these users, in no particular order.
fn read_stored(conn: &Connection, workspace: WorkspaceId, ids: &[Id]) -> anyhow::Result<Vec<Stored>> {
    let largest = IN_LIST_SIZES[IN_LIST_SIZES.len() - 1];
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(largest) {
        let size = IN_LIST_SIZES.iter().copied().find(|&n| n >= chunk.len()).unwrap_or(largest);
        let mut stmt = conn.prepare_cached(in_list_sql(size))?;
        stmt.raw_bind_parameter(1, workspace)?;
        for i in 0..size {
            let id = chunk.get(i).unwrap_or(&chunk[0]);
            stmt.raw_bind_parameter(i + 2, &id.as_bytes()[..])?;
        }
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            let user = decode(row.get_ref(0)?.as_blob()?)?;
            found.push(Stored { user, version: row.get(1)?, events_through: row.get(2)? });
        }
    }
    Ok(found)
}

fn parse_id(text: String) -> rusqlite::Result<Id> {
    Id::parse(&text).ok_or_else(|| rusqlite::Error::InvalidColumnType(0, "id".into(), rusqlite::types::Type::Text))
}

fn token_from_row(row: &rusqlite::Row) -> rusqlite::Result<Token> {
    let role: String = row.get(3)?;
    Ok(Token {
        id: row.get(0)?,
        workspace_id: row.get(1)?,
        workspace: row.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Agent),
        created_at: Timestamp(row.get(4)?),
        last_used_at: row.get::<_, Option<i64>>(5)?.map(Timestamp),
        revoked: row.get::<_, Option<i64>>(6)?.is_some(),
    })
}

const TOKEN_COLUMNS: &str =
    "t.id, t.workspace_id, w.name, t.role, t.created_at, t.last_used_at, t.revoked_at FROM tokens t JOIN workspaces w ON w.id = t.workspace_id";

impl SqliteStore {
    /// Opens (creating it and its folder if needed) and migrates the store at `path`.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let mut writer = open_connection(path).with_context(|| format!("opening {}", path.display()))?;
        writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        writer.pragma_update(None, "wal_autocheckpoint", WAL_BOUND_PAGES)?;
        migrate(&mut writer)?;
        let checkpointer = Checkpointer::start(open_connection(path)?).context("starting the checkpoint thread")?;
        let inner = Arc::new(Inner {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            checkpointer,
            pending: Pending::default(),
            last_write: Mutex::new(Instant::now()),
        });
        let folding = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("sqlite-fold".into())
            .spawn(move || fold_in_background(&folding))
            .context("starting the fold thread")?;
        Ok(SqliteStore { inner, origin: new_origin() })
    }

    /// Runs `work` with the writer connection on a blocking thread, then has what it wrote
    /// checkpointed in the background.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let result = self.on_writer(work).await;
        self.inner.checkpointer.wake();
        if let Ok(mut last) = self.inner.last_write.lock() {
            *last = Instant::now();
        }
        result
    }

    /// Runs `work` with the writer connection on a blocking thread. The reads of a
    /// read-modify-write go there too: the pages the commit rewrites are then in its cache.
    async fn on_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().map_err(|_| anyhow::anyhow!("store writer poisoned"))?;
            work(&mut conn)
        })
        .await?
    }

    /// Runs `work` with a pooled reader connection on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> anyhow::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || with_reader(&inner, work)).await?
    }

    /// Runs a short read (a token, a page of users) with a pooled reader connection on the calling
    /// thread: its few index probes cost less than the two thread handoffs of `read`, which were
    /// most of a page request's store time at thousands of requests a second.
    fn read_now<T>(&self, work: impl FnOnce(&mut Connection) -> anyhow::Result<T>) -> StoreResult<T> {
        with_reader(&self.inner, work)
    }
}

/// Folds pending activity into the documents while the writer is idle, or whenever more than
/// `FOLD_AT` records (or `FOLD_AT_BYTES`) are pending; ends with the store.
fn fold_in_background(inner: &Weak<Inner>) {
    let mut more = false;
    loop {
        if !more {
            std::thread::sleep(FOLD_POLL);
        }
        let Some(inner) = inner.upgrade() else { return };
        let idle = inner.last_write.lock().is_ok_and(|last| last.elapsed() >= FOLD_WHEN_IDLE_FOR);
        more = false;
        if inner.pending.len() == 0 || !(idle || inner.pending.over_limit()) {
            continue;
        }
        let folded = match inner.writer.lock() {
            Ok(mut conn) => inner.pending.fold(&mut conn, FOLD_CHUNK),
            Err(_) => return,
        };
        match folded {
            Ok(folded) => {
                inner.checkpointer.wake();
                more = folded > 0;
            }
            Err(error) => tracing::warn!(%error, "folding pending activity failed"),
        }
    }
}

fn with_reader<T>(inner: &Inner, work: impl FnOnce(&mut Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let pooled = inner.readers.lock().map_err(|_| anyhow::anyhow!("store pool poisoned"))?.pop();
    let mut conn = match pooled {
        Some(conn) => conn,
        None => open_connection(&inner.path)?,
    };
    let result = work(&mut conn);
    if let Ok(mut readers) = inner.readers.lock() {
        readers.push(conn);
    }
    result
}

#[async_trait]
impl Store for SqliteStore {
    async fn ensure_workspace(&self, name: &str) -> StoreResult<WorkspaceId> {
        let name = name.to_string();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO workspaces (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                params![name, Timestamp::now().0],
            )?;
            Ok(conn.query_row("SELECT id FROM workspaces WHERE name = ?1", [name], |r| r.get(0))?)
        })
        .await
    }

    async fn workspaces(&self) -> StoreResult<Vec<(WorkspaceId, String)>> {
        self.read(|conn| {
            let mut stmt = conn.prepare("SELECT id, name FROM workspaces ORDER BY id")?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn create_token(&self, workspace: WorkspaceId, id: &str, secret_hash: &str, role: Role) -> StoreResult<()> {
        let (id, hash) = (id.to_string(), secret_hash.to_string());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO tokens (id, workspace_id, secret_hash, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, workspace, hash, role.as_str(), Timestamp::now().0],
            )?;
            Ok(())
        })
        .await
    }

    async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Token>> {
        self.read_now(|conn| {
            // Every request authenticates: a cached statement keeps the lookup to one index probe.
            let sql = format!("SELECT {TOKEN_COLUMNS} WHERE t.secret_hash = ?1");
            Ok(conn.prepare_cached(&sql)?.query_row([secret_hash], token_from_row).optional()?)
        })
    }

    async fn tokens(&self, workspace: Option<&str>) -> StoreResult<Vec<Token>> {
        let workspace = workspace.map(str::to_string);
        self.read(move |conn| {
            let sql = format!("SELECT {TOKEN_COLUMNS} WHERE ?1 IS NULL OR w.name = ?1 ORDER BY t.created_at, t.id");
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([workspace], token_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn revoke_token(&self, id_or_hash: &str) -> StoreResult<bool> {
        let key = id_or_hash.to_string();
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1 OR secret_hash = ?1",
                params![key, Timestamp::now().0],
            )?;
            Ok(changed > 0)
        })
        .await
    }

    async fn touch_token(&self, id: &str, at: Timestamp) -> StoreResult<()> {
        let id = id.to_string();
        self.write(move |conn| {
            conn.execute("UPDATE tokens SET last_used_at = ?2 WHERE id = ?1", params![id, at.0])?;
            Ok(())
        })
        .await
    }

    async fn insert_bot(&self, workspace: WorkspaceId, bot: &Bot) -> StoreResult<()> {
        let bot = bot.clone();
        let origin = self.origin.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO bots (workspace_id, id, name, platform, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![workspace, bot.id.to_string(), bot.name, bot.platform.as_str(), bot.created_at.0],
            )?;
            record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(bot.id.to_string())], &origin)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn bots(&self, workspace: WorkspaceId) -> StoreResult<Vec<Bot>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, name, platform, created_at FROM bots WHERE workspace_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([workspace], |r| {
                let platform: String = r.get(2)?;
                Ok(Bot {
                    id: parse_id(r.get(0)?)?,
                    name: r.get(1)?,
                    platform: Platform::parse(&platform).unwrap_or(Platform::Website),
                    created_at: Timestamp(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn insert_agent(&self, workspace: WorkspaceId, agent: &Agent) -> StoreResult<()> {
        let agent = agent.clone();
        let origin = self.origin.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO agents (workspace_id, id, name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![workspace, agent.id.to_string(), agent.name, agent.email, agent.created_at.0],
            )?;
            record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(agent.id.to_string())], &origin)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn agents(&self, workspace: WorkspaceId) -> StoreResult<Vec<Agent>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, name, email, created_at FROM agents WHERE workspace_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = stmt.query_map([workspace], |r| {
                Ok(Agent {
                    id: parse_id(r.get(0)?)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    created_at: Timestamp(r.get(3)?),
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn insert_segment(&self, workspace: WorkspaceId, segment: &SegmentRecord) -> StoreResult<()> {
        let segment = segment.clone();
        let origin = self.origin.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO segments (workspace_id, id, definition, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![workspace, segment.id.to_string(), segment.definition.to_string(), segment.created_at.0],
            )?;
            record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(segment.id.to_string())], &origin)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn segments(&self, workspace: WorkspaceId) -> StoreResult<Vec<SegmentRecord>> {
        self.read(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT id, definition, created_at FROM segments WHERE workspace_id = ?1 ORDER BY created_at, id",
            )?;
            let rows =
                stmt.query_map([workspace], |r| Ok((parse_id(r.get(0)?)?, r.get::<_, String>(1)?, r.get(2)?)))?;
            let mut segments = Vec::new();
            for row in rows {
                let (id, definition, created_at) = row?;
                segments.push(SegmentRecord {
                    id,
                    definition: serde_json::from_str(&definition)?,
                    created_at: Timestamp(created_at),
                });
            }
            Ok(segments)
        })
        .await
    }

    async fn delete_segment(&self, workspace: WorkspaceId, id: Id) -> StoreResult<bool> {
        let origin = self.origin.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let deleted = tx.execute(
                "DELETE FROM segments WHERE workspace_id = ?1 AND id = ?2",
                params![workspace, id.to_string()],
            )?;
            if deleted > 0 {
                record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(id.to_string())], &origin)?;
            }
            tx.commit()?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn count_users(&self, workspace: WorkspaceId) -> StoreResult<u64> {
        self.read(move |conn| {
            let count: i64 =
                conn.query_row("SELECT count(*) FROM users WHERE workspace_id = ?1", [workspace], |r| r.get(0))?;
            Ok(count as u64)
        })
        .await
    }

    async fn scan_users(
        &self,
        workspace: WorkspaceId,
        each_batch: &mut (dyn FnMut(Vec<User>) + Send),
    ) -> StoreResult<()> {
        // Keyset pagination keeps each read short, so writers are never blocked for long.
        let mut after: Vec<u8> = Vec::new();
        loop {
            let (from, inner) = (after.clone(), self.inner.clone());
            let users = self
                .read(move |conn| {
                    let read = |conn: &Connection| {
                        let mut stmt = conn.prepare_cached(
                            "SELECT doc, version, events_through FROM users
                             WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                        )?;
                        let mut rows = stmt.query(params![workspace, from, SCAN_BATCH as i64])?;
                        let mut stored = Vec::with_capacity(SCAN_BATCH);
                        while let Some(row) = rows.next()? {
                            let user = decode(row.get_ref(0)?.as_blob()?)?;
                            stored.push(Stored { user, version: row.get(1)?, events_through: row.get(2)? });
                        }
                        Ok(stored)
                    };
                    inner.pending.read_applied(conn, workspace, read, |user, _| user)
                })
                .await?;
            let done = users.len() < SCAN_BATCH;
            after = users.last().map(|u| u.id.as_bytes().to_vec()).unwrap_or_default();
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
        let inner = self.inner.clone();
        self.read(move |conn| {
            let pending = &inner.pending;
            pending.refresh(conn)?;
            loop {
                let folds = pending.folds()?;
                let mut stmt = conn.prepare_cached(
                    "SELECT id, doc, events_through FROM users WHERE workspace_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
                )?;
                // Every id is greater than the empty blob.
                let from: &[u8] = after.as_ref().map_or(&[], |id| &id.as_bytes()[..]);
                let mut rows = stmt.query(params![workspace, from, limit as i64])?;
                documents.clear();
                let mut throughs = Vec::with_capacity(limit);
                while let Some(row) = rows.next()? {
                    let id = id_from_bytes(row.get_ref(0)?.as_blob()?).context("a user id of 12 bytes")?;
                    documents.push(id, row.get_ref(1)?.as_blob()?);
                    throughs.push(row.get::<_, i64>(2)?);
                }
                if let Some(documents) = pending.apply_encoded(workspace, folds, documents, &throughs)? {
                    return Ok(documents);
                }
                documents = Documents::default();
            }
        })
        .await
    }

    async fn users(&self, workspace: WorkspaceId, ids: &[Id]) -> StoreResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() <= READ_NOW_AT_MOST {
            return self.read_now(|conn| read_users(conn, &self.inner.pending, workspace, ids, |user, _| user));
        }
        let (ids, inner) = (ids.to_vec(), self.inner.clone());
        self.read(move |conn| read_users(conn, &inner.pending, workspace, &ids, |user, _| user)).await
    }

    async fn users_versioned(&self, workspace: WorkspaceId, ids: &[Id]) -> StoreResult<Vec<(User, Version)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (ids, inner) = (ids.to_vec(), self.inner.clone());
        self.on_writer(move |conn| read_users(conn, &inner.pending, workspace, &ids, |user, version| (user, version)))
            .await
    }

    async fn seen_event_ids(&self, workspace: WorkspaceId, event_ids: &[String]) -> StoreResult<Vec<String>> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        let event_ids = event_ids.to_vec();
        self.on_writer(move |conn| {
            let mut seen = Vec::new();
            for chunk in event_ids.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(",");
                let sql = format!(
                    "SELECT event_id FROM event_ids WHERE workspace_id = {workspace} AND event_id IN ({marks})"
                );
                let mut stmt = conn.prepare(&sql)?;
                let rows = stmt.query_map(params_from_iter(chunk.iter()), |r| r.get::<_, String>(0))?;
                for row in rows {
                    seen.push(row?);
                }
            }
            Ok(seen)
        })
        .await
    }

    async fn commit(&self, workspace: WorkspaceId, commit: &Commit) -> StoreResult<()> {
        if commit.is_empty() {
            return Ok(());
        }
        let mut docs: Vec<(Id, Vec<u8>)> =
            commit.upsert.iter().map(|u| Ok((u.id, encode(u)?))).collect::<anyhow::Result<_>>()?;
        // In key order, each row's b-tree descent starts where the one before it ended.
        docs.sort_unstable_by_key(|(id, _)| *id);
        let deletes = commit.delete.clone();
        let event_ids = commit.event_ids.clone();
        let deliveries = commit.deliveries.clone();
        let expected = commit.expected.clone();
        let activity = commit.activity.clone();
        let origin = self.origin.clone();
        let inner = self.inner.clone();
        self.write(move |conn| {
            let pending = &inner.pending;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            // Every record appended so far is held: a whole document written now includes them.
            pending.refresh(&tx)?;
            let through = pending.through()?;
            let appended;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO users (workspace_id, id, doc, events_through) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (workspace_id, id) DO UPDATE SET doc = excluded.doc, version = version + 1,
                     events_through = excluded.events_through",
                )?;
                let mut create = tx.prepare_cached(
                    "INSERT INTO users (workspace_id, id, doc, events_through) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (workspace_id, id) DO NOTHING",
                )?;
                let mut update = tx.prepare_cached(
                    "UPDATE users SET doc = ?3, version = version + 1, events_through = ?5
                     WHERE workspace_id = ?1 AND id = ?2 AND version = ?4",
                )?;
                let mut stored =
                    tx.prepare_cached("SELECT version, events_through FROM users WHERE workspace_id = ?1 AND id = ?2")?;
                let mut rewrite = tx.prepare_cached(
                    "UPDATE users SET doc = ?3, version = ?4, events_through = ?5 WHERE workspace_id = ?1 AND id = ?2",
                )?;
                let mut conflicts = Vec::new();
                for (id, doc) in &docs {
                    let key = &id.as_bytes()[..];
                    let written = if pending.any_for(workspace, *id)? {
                        // Its version counts the records still to apply: the row's moves on past it.
                        let row: Option<(i64, i64)> =
                            stored.query_row(params![workspace, key], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
                        let version = match row {
                            Some((version, events_through)) => {
                                version + pending.count_after(workspace, *id, events_through)?
                            }
                            None => 0,
                        };
                        if expected.get(id).is_some_and(|e| *e != version) {
                            0
                        } else if version == 0 {
                            create.execute(params![workspace, key, doc, through])?
                        } else {
                            rewrite.execute(params![workspace, key, doc, version + 1, through])?
                        }
                    } else {
                        match expected.get(id) {
                            None => upsert.execute(params![workspace, key, doc, through])?,
                            Some(0) => create.execute(params![workspace, key, doc, through])?,
                            Some(version) => update.execute(params![workspace, key, doc, version, through])?,
                        }
                    };
                    if written == 0 {
                        conflicts.push(*id);
                    }
                }
                if !conflicts.is_empty() {
                    // Dropping the transaction rolls it back.
                    return Err(Conflict { users: conflicts }.into());
                }
                let mut delete = tx.prepare_cached("DELETE FROM users WHERE workspace_id = ?1 AND id = ?2")?;
                for id in &deletes {
                    delete.execute(params![workspace, &id.as_bytes()[..]])?;
                }
                let mut remember =
                    tx.prepare_cached("INSERT OR IGNORE INTO event_ids (workspace_id, event_id) VALUES (?1, ?2)")?;
                let mut remembered = 0;
                for event_id in &event_ids {
                    remembered += remember.execute(params![workspace, event_id])? as u64;
                }
                if remembered != distinct(&event_ids) {
                    return Err(event_applied_elsewhere());
                }
                let mut outbox = tx.prepare_cached(
                    "INSERT INTO webhook_deliveries (workspace_id, id, subscription_id, user_id, event, event_id, body,
                     status, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8)",
                )?;
                for d in &deliveries {
                    outbox.execute(params![
                        workspace,
                        d.id.to_string(),
                        d.subscription.to_string(),
                        d.user.to_string(),
                        d.event,
                        d.event_id.to_string(),
                        d.body,
                        d.created_at.0
                    ])?;
                }
                appended = pending.append(&tx, workspace, &activity)?;
            }
            let entities: Vec<Option<String>> = (docs.iter().map(|(id, _)| id))
                .chain(activity.iter().map(|(id, _)| id))
                .chain(&deletes)
                .map(|id| Some(id.to_string()))
                .collect();
            record_changes(&tx, workspace, ChangeKind::User, &entities, &origin)?;
            tx.commit()?;
            pending.hold(appended)?;
            Ok(())
        })
        .await
    }

    fn defers_activity(&self) -> bool {
        true
    }

    fn pending_activity(&self) -> usize {
        self.inner.pending.len()
    }

    async fn fold_activity(&self, limit: usize) -> StoreResult<usize> {
        let inner = self.inner.clone();
        self.write(move |conn| inner.pending.fold(conn, limit)).await
    }

    fn origin(&self) -> &str {
        &self.origin
    }

    async fn changes_after(&self, cursors: &[(WorkspaceId, i64)], limit: usize) -> StoreResult<Vec<Change>> {
        let mut cursors = cursors.to_vec();
        cursors.sort();
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, kind, entity, origin FROM changes WHERE workspace_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let mut changes = Vec::new();
            for (workspace, after) in cursors {
                let left = limit.saturating_sub(changes.len());
                if left == 0 {
                    break;
                }
                let rows = stmt.query_map(params![workspace, after, left as i64], |r| {
                    let kind: String = r.get(1)?;
                    let entity: Option<String> = r.get(2)?;
                    Ok(Change {
                        workspace,
                        seq: r.get(0)?,
                        kind: ChangeKind::parse(&kind),
                        entity: entity.as_deref().and_then(Id::parse),
                        origin: r.get(3)?,
                    })
                })?;
                for row in rows {
                    changes.push(row?);
                }
            }
            Ok(changes)
        })
        .await
    }

    async fn latest_change_seq(&self, workspace: WorkspaceId) -> StoreResult<i64> {
        self.read(move |conn| {
            let seq: Option<i64> = conn
                .query_row("SELECT seq FROM change_counters WHERE workspace_id = ?1", [workspace], |r| r.get(0))
                .optional()?;
            Ok(seq.unwrap_or(0))
        })
        .await
    }

    async fn identity(&self) -> StoreResult<String> {
        self.read(|conn| Ok(conn.query_row("SELECT id FROM store_identity WHERE singleton = 1", [], |r| r.get(0))?))
            .await
    }

    async fn prune_changes(&self, before: Timestamp) -> StoreResult<u64> {
        self.write(move |conn| Ok(conn.execute("DELETE FROM changes WHERE at < ?1", [before.0])? as u64)).await
    }

    async fn subscribe(&self, workspace: WorkspaceId, subscription: &Subscription) -> StoreResult<Subscription> {
        let sub = subscription.clone();
        let origin = self.origin.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let bot = sub.bot.map(|b| b.to_string()).unwrap_or_default();
            let added = tx.execute(
                "INSERT INTO webhook_subscriptions (workspace_id, id, url, event, bot_id, platform, slug, category, secret, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (workspace_id, url, event, bot_id) DO NOTHING",
                params![
                    workspace,
                    sub.id.to_string(),
                    sub.url,
                    sub.event,
                    bot,
                    sub.platform.map(Platform::as_str),
                    sub.slug,
                    sub.category,
                    sub.secret,
                    sub.created_at.0
                ],
            )?;
            if added > 0 {
                record_changes(&tx, workspace, ChangeKind::Catalog, &[Some(sub.id.to_string())], &origin)?;
            }
            let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} WHERE workspace_id = ?1 AND url = ?2 AND event = ?3 AND bot_id = ?4");
            let stored = tx.query_row(&sql, params![workspace, sub.url, sub.event, bot], subscription_from_row)?;
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    async fn unsubscribe(&self, workspace: WorkspaceId, url: &str, event: &str, bot: Option<Id>) -> StoreResult<usize> {
        let (url, event, bot) = (url.to_string(), event.to_string(), bot.map(|b| b.to_string()).unwrap_or_default());
        let origin = self.origin.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let removed = tx.execute(
                "DELETE FROM webhook_subscriptions WHERE workspace_id = ?1 AND url = ?2 AND event = ?3 AND bot_id = ?4",
                params![workspace, url, event, bot],
            )?;
            if removed > 0 {
                record_changes(&tx, workspace, ChangeKind::Catalog, &[None], &origin)?;
            }
            tx.commit()?;
            Ok(removed)
        })
        .await
    }

    async fn subscriptions(&self, workspace: WorkspaceId) -> StoreResult<Vec<Subscription>> {
        self.read(move |conn| {
            let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} WHERE workspace_id = ?1 ORDER BY created_at, id");
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([workspace], subscription_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>> {
        self.read(move |conn| {
            // The NOT EXISTS keeps each user's deliveries in order: a later one waits for the earlier.
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} WHERE d.status = 'pending' AND d.next_attempt_at <= ?1
                 AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.workspace_id = d.workspace_id
                   AND e.subscription_id = d.subscription_id AND e.user_id = d.user_id AND e.seq < d.seq
                   AND e.status = 'pending')
                 ORDER BY d.seq LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![now.0, limit as i64], delivery_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn record_attempt(
        &self,
        workspace: WorkspaceId,
        id: Id,
        at: Timestamp,
        attempt: &Attempt,
    ) -> StoreResult<()> {
        let (status, next, error, delivered) = attempt.columns(at);
        self.write(move |conn| {
            conn.execute(
                "UPDATE webhook_deliveries SET status = ?3, attempts = attempts + 1, last_attempt_at = ?4,
                 next_attempt_at = COALESCE(?5, next_attempt_at), last_error = COALESCE(?6, last_error),
                 delivered_at = ?7 WHERE workspace_id = ?1 AND id = ?2",
                params![workspace, id.to_string(), status, at.0, next, error, delivered],
            )?;
            Ok(())
        })
        .await
    }

    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>> {
        self.read(move |conn| {
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} WHERE d.workspace_id = ?1 AND (?2 IS NULL OR d.status = ?2) ORDER BY d.seq DESC LIMIT ?3"
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params![workspace, status.map(DeliveryStatus::as_str), limit as i64], delivery_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn delivery_backlog(&self) -> StoreResult<(u64, u64)> {
        self.read(|conn| {
            let count = |status: &str| -> rusqlite::Result<u64> {
                conn.query_row("SELECT COUNT(*) FROM webhook_deliveries WHERE status = ?1", [status], |r| r.get(0))
            };
            Ok((count("pending")?, count("failed")?))
        })
        .await
    }

    async fn redeliver(&self, workspace: WorkspaceId, id: Id) -> StoreResult<bool> {
        self.write(move |conn| {
            let changed = conn.execute(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?3, delivered_at = NULL
                 WHERE workspace_id = ?1 AND id = ?2",
                params![workspace, id.to_string(), Timestamp::now().0],
            )?;
            Ok(changed > 0)
        })
        .await
    }
}

const SUBSCRIPTION_COLUMNS: &str =
    "id, url, event, bot_id, platform, slug, category, secret, created_at FROM webhook_subscriptions";

fn subscription_from_row(row: &rusqlite::Row) -> rusqlite::Result<Subscription> {
    let bot: String = row.get(3)?;
    let platform: Option<String> = row.get(4)?;
    Ok(Subscription {
        id: parse_id(row.get(0)?)?,
        url: row.get(1)?,
        event: row.get(2)?,
        bot: Id::parse(&bot),
        platform: platform.as_deref().and_then(Platform::parse),
        slug: row.get(5)?,
        category: row.get(6)?,
        secret: row.get(7)?,
        created_at: Timestamp(row.get(8)?),
    })
}

const DELIVERY_COLUMNS: &str =
    "d.workspace_id, d.id, d.subscription_id, d.user_id, d.event, d.event_id, d.body, d.status,
    d.attempts, d.next_attempt_at, d.last_attempt_at, d.last_error, d.created_at, d.delivered_at, s.url, s.secret
    FROM webhook_deliveries d LEFT JOIN webhook_subscriptions s
    ON s.workspace_id = d.workspace_id AND s.id = d.subscription_id";

fn delivery_from_row(row: &rusqlite::Row) -> rusqlite::Result<Delivery> {
    let status: String = row.get(7)?;
    let url: Option<String> = row.get(14)?;
    let secret: Option<String> = row.get(15)?;
    Ok(Delivery {
        workspace: row.get(0)?,
        id: parse_id(row.get(1)?)?,
        subscription: parse_id(row.get(2)?)?,
        user: parse_id(row.get(3)?)?,
        event: row.get(4)?,
        event_id: parse_id(row.get(5)?)?,
        body: row.get(6)?,
        status: DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed),
        attempts: row.get(8)?,
        next_attempt_at: Timestamp(row.get(9)?),
        last_attempt_at: row.get::<_, Option<i64>>(10)?.map(Timestamp),
        last_error: row.get(11)?,
        created_at: Timestamp(row.get(12)?),
        delivered_at: row.get::<_, Option<i64>>(13)?.map(Timestamp),
        target: url.zip(secret),
    })
}
