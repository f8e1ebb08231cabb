//! The change-feed follower: keeps this node's engines fresh with what other nodes (or other
//! processes on the same store) commit.
//!
//! Every commit appends to its workspace's change feed (see `store::Change`). Each loaded
//! workspace remembers the last seq it reflects; the follower reads the changes after it, re-reads
//! the users they name and upserts them into (or removes them from) the engine, and reloads the
//! catalog on catalog changes. It wakes on the store's signal (LISTEN/NOTIFY on PostgreSQL) and
//! polls every `POLL_INTERVAL` anyway, so a lost notification or connection costs at most that.
//! Changes committed by this node are skipped: its engine took them when they were committed.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::{App, Catalog, Workspace};
use crate::domain::{Id, Timestamp};
use crate::store::{Change, ChangeKind};

/// How often the feed is read when nothing wakes the follower.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// Changes read at once.
const BATCH: usize = 1_000;
/// Changes older than this are pruned; a node further behind reloads the workspace.
const KEEP_CHANGES_MS: i64 = 24 * 3_600_000;
const PRUNE_EVERY: Duration = Duration::from_secs(600);

impl App {
    /// Starts the follower task; it ends when the App is dropped.
    pub fn follow_changes(self: &Arc<Self>) {
        tokio::spawn(follow(Arc::downgrade(self)));
    }
}

async fn follow(app: Weak<App>) {
    let signal = match app.upgrade() {
        Some(app) => app.store.change_signal(),
        None => return,
    };
    let mut pruned = Instant::now();
    loop {
        {
            let Some(app) = app.upgrade() else { return };
            if let Err(error) = step(&app).await {
                tracing::warn!(%error, "could not follow the change feed; retrying");
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                let before = Timestamp(Timestamp::now().0 - KEEP_CHANGES_MS);
                match app.store.prune_changes(before).await {
                    Ok(removed) if removed > 0 => tracing::info!(removed, "pruned the change feed"),
                    Ok(_) => {}
                    Err(error) => tracing::warn!(%error, "could not prune the change feed"),
                }
            }
        }
        match &signal {
            Some(signal) => {
                tokio::select! {
                    _ = signal.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                }
            }
            None => tokio::time::sleep(POLL_INTERVAL).await,
        }
    }
}

/// Reads and applies every change after the loaded workspaces' cursors.
pub async fn step(app: &App) -> anyhow::Result<()> {
    loop {
        let loaded = app.loaded_workspaces();
        let cursors: Vec<_> = loaded.iter().map(|w| (w.id, w.feed_seq())).collect();
        let changes = app.store.changes_after(&cursors, BATCH).await?;
        let done = changes.len() < BATCH;
        let mut rest = &changes[..];
        while let Some(first) = rest.first() {
            let end = rest.iter().position(|c| c.workspace != first.workspace).unwrap_or(rest.len());
            if let Some(workspace) = loaded.iter().find(|w| w.id == first.workspace) {
                let _write = workspace.writer.lock().await;
                apply(app, workspace, &rest[..end]).await?;
            }
            rest = &rest[end..];
        }
        if done {
            return Ok(());
        }
    }
}

/// Applies every change of this workspace not applied yet. The caller holds the write lock.
pub async fn catch_up(app: &App, workspace: &Workspace) -> anyhow::Result<()> {
    loop {
        let changes = app.store.changes_after(&[(workspace.id, workspace.feed_seq())], BATCH).await?;
        apply(app, workspace, &changes).await?;
        if changes.len() < BATCH {
            return Ok(());
        }
    }
}

/// Applies changes of one workspace, in seq order. The caller holds the write lock.
async fn apply(app: &App, workspace: &Workspace, changes: &[Change]) -> anyhow::Result<()> {
    let cursor = workspace.feed_seq();
    let changes: Vec<&Change> = changes.iter().filter(|c| c.seq > cursor).collect();
    let (Some(first), Some(last)) = (changes.first(), changes.last()) else { return Ok(()) };
    if first.seq != cursor + 1 {
        // The changes in between were pruned: start again from the store.
        tracing::warn!(workspace = workspace.id, cursor, first = first.seq, "fell behind the change feed");
        return workspace.reload(&*app.store).await;
    }
    let origin = app.store.origin();
    let mut users: Vec<Id> = Vec::new();
    let mut catalog = false;
    for change in changes.iter().filter(|c| c.origin != origin) {
        match (change.kind, change.entity) {
            (ChangeKind::User, Some(id)) => users.push(id),
            (ChangeKind::User, None) => {}
            (ChangeKind::Catalog, _) => catalog = true,
        }
    }
    if catalog {
        let fresh = Catalog::load(&*app.store, workspace.id).await?;
        *workspace.catalog.write() = fresh;
        workspace.refresh_segments();
    }
    users.sort();
    users.dedup();
    refresh_users(app, workspace, &users).await?;
    workspace.set_feed_seq(last.seq);
    if !users.is_empty() || catalog {
        tracing::debug!(
            workspace = workspace.id,
            users = users.len(),
            catalog,
            seq = last.seq,
            "applied changes of other nodes"
        );
    }
    Ok(())
}

/// Makes the engine hold these users as the store has them now. The caller holds the write lock.
pub async fn refresh_users(app: &App, workspace: &Workspace, ids: &[Id]) -> anyhow::Result<()> {
    workspace.recent.record(ids.iter().copied());
    for chunk in ids.chunks(BATCH) {
        let found = app.store.users(workspace.id, chunk).await?;
        let present: std::collections::HashSet<Id> = found.iter().map(|u| u.id).collect();
        let mut engine = workspace.engine.write();
        for user in &found {
            engine.upsert(user);
        }
        for id in chunk {
            if !present.contains(id) && engine.contains(*id) {
                engine.remove(*id);
            }
        }
    }
    Ok(())
}
