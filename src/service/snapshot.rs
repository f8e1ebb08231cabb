//! Engine snapshots of workspaces: where they are kept, when they are written, and starting a
//! workspace from one (its engine read back, the change feed after its seq replayed) instead of
//! building the engine from every document of the store.
//!
//! A snapshot is used only when it certainly matches the store: the same store identity and
//! workspace, a format this build reads, a seq the store's feed has reached, and every change
//! after that seq still in the feed (changes older than a day are pruned). Anything else, or a
//! file that cannot be read whole, is logged and the engine is built from the store as without one.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::{App, Workspace};
use crate::domain::{Id, Timestamp, WorkspaceId};
use crate::engine::{read_engine, read_header, write_snapshot, Engine};
use crate::store::{ChangeKind, Store};

/// How often the snapshot of a workspace that changed since its last one is written again.
pub const SNAPSHOT_EVERY: Duration = Duration::from_secs(600);
/// Changes, and then users, read at once while replaying.
const REPLAY_BATCH: usize = 1_000;

/// What a snapshot file says it is of, in its header.
#[derive(Serialize, Deserialize)]
struct Meta {
    /// The store's `identity`.
    store: String,
    workspace: WorkspaceId,
    /// Every change up to this seq is in the engine (later ones may be too: replaying them again
    /// is harmless).
    seq: i64,
    /// The origin of the change at `seq` when it was written, if the feed still held it: a
    /// restored backup of the store keeps its identity but numbers different changes the same.
    seq_origin: Option<String>,
    users: usize,
    written_at: Timestamp,
}

/// The engine snapshots of one store's workspaces, in one folder.
pub struct Snapshots {
    dir: PathBuf,
    store: String,
    /// One write at a time: each holds the engine's read lock a while and a file's worth of I/O.
    writing: tokio::sync::Mutex<()>,
}

/// A workspace's engine as its snapshot and the changes after it make it.
pub struct Restored {
    pub engine: Engine,
    /// The snapshot's seq.
    pub seq: i64,
    /// Changes of the feed replayed after it.
    pub replayed: usize,
}

/// A snapshot just written.
pub struct Written {
    pub path: PathBuf,
    pub users: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    /// Of which the engine's read lock was held (writes of the workspace wait that long at most).
    pub locked: Duration,
}

impl Snapshots {
    /// Snapshots in `dir` (created if missing) of the store with this identity.
    pub fn open(dir: &Path, store_identity: String) -> anyhow::Result<Snapshots> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        remove_abandoned(dir);
        Ok(Snapshots { dir: dir.to_path_buf(), store: store_identity, writing: Default::default() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The snapshot file of a workspace.
    pub fn path(&self, workspace: WorkspaceId) -> PathBuf {
        self.dir.join(format!("workspace-{workspace}.snapshot"))
    }

    /// The workspace's engine from its snapshot and the changes after it, when there is a usable
    /// one; None (with the reason logged) when the engine must be built from the store. `latest`
    /// is the feed's latest seq, read before the catalog: the engine is brought up to it exactly.
    pub async fn restore(&self, store: &dyn Store, workspace: WorkspaceId, latest: i64) -> Option<Restored> {
        let path = self.path(workspace);
        match self.try_restore(store, workspace, latest).await {
            Ok(Some(restored)) => Some(restored),
            Ok(None) => {
                tracing::info!(workspace, path = %path.display(), "no engine snapshot; building from the store");
                None
            }
            Err(error) => {
                tracing::warn!(
                    workspace,
                    path = %path.display(),
                    reason = format!("{error:#}"),
                    "engine snapshot not used; building from the store"
                );
                None
            }
        }
    }

    async fn try_restore(
        &self,
        store: &dyn Store,
        workspace: WorkspaceId,
        latest: i64,
    ) -> anyhow::Result<Option<Restored>> {
        let started = Instant::now();
        let path = self.path(workspace);
        // The header first: a foreign or stale file is refused before its payload is read.
        let opened = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let mut file = match File::open(&path) {
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                opened => opened?,
            };
            let len = file.metadata()?.len();
            let header = read_header(&mut file, len)?;
            Ok(Some((file, header)))
        })
        .await??;
        let Some((mut file, header)) = opened else { return Ok(None) };
        let meta: Meta = serde_json::from_slice(&header.meta).context("its metadata does not parse")?;
        if meta.store != self.store {
            bail!("taken of another store ({}, this one is {})", meta.store, self.store);
        }
        if meta.workspace != workspace {
            bail!("taken of workspace {}", meta.workspace);
        }
        if meta.seq > latest {
            bail!("it reflects change {} but the store's feed ends at {latest} (a restored backup?)", meta.seq);
        }
        if meta.seq > 0 {
            let at = store.changes_after(&[(workspace, meta.seq - 1)], 1).await?;
            let stored = at.first().filter(|c| c.seq == meta.seq).map(|c| &c.origin);
            if let (Some(stored), Some(seen)) = (stored, &meta.seq_origin) {
                if stored != seen {
                    bail!("the store's change {} is not the one it saw (a restored backup?)", meta.seq);
                }
            }
        }
        let (changes, users) = changes_between(store, workspace, meta.seq, latest).await?;

        let engine = tokio::task::spawn_blocking(move || read_engine(&mut file, &header)).await??;
        let read_ms = started.elapsed().as_millis() as u64;
        let mut engine = engine;
        for chunk in users.chunks(REPLAY_BATCH) {
            let found = store.users(workspace, chunk).await?;
            for user in &found {
                engine.upsert(user);
            }
            let present: std::collections::HashSet<Id> = found.iter().map(|u| u.id).collect();
            for id in chunk.iter().filter(|id| !present.contains(id)) {
                engine.remove(*id);
            }
        }
        tracing::info!(
            workspace,
            path = %self.path(workspace).display(),
            users = engine.len(),
            seq = meta.seq,
            replayed_changes = changes,
            reread_users = users.len(),
            read_ms,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "engine loaded from its snapshot"
        );
        Ok(Some(Restored { engine, seq: meta.seq, replayed: changes }))
    }

    /// Writes the workspace's snapshot, unless nothing changed since the last one (`force` writes
    /// anyway). The engine is serialized under its read lock on a blocking thread; writes of the
    /// workspace wait for that only, never for the file's I/O.
    pub async fn write(
        &self,
        store: &dyn Store,
        workspace: &Arc<Workspace>,
        force: bool,
    ) -> anyhow::Result<Option<Written>> {
        let _one_at_a_time = self.writing.lock().await;
        // Which seq the snapshot may claim. Under the workspace's write lock no write is between
        // its store commit and its engine update, so the engine holds every commit of this process
        // so far, and every change up to the follower's cursor `feed_seq` (applied under the same
        // lock). Changes of other processes or nodes after the cursor may not be in it yet, so the
        // cursor, not the feed's latest seq, is what the snapshot claims. The engine is serialized
        // later, maybe after more writes: it then reflects more than the seq says, which replaying
        // tolerates; never less, since the engine only moves forward (a reload, under the same write
        // lock, replaces it by one built at a later seq).
        let seq = {
            let _no_write_in_flight = workspace.writer.lock().await;
            workspace.feed_seq()
        };
        if !force && seq <= workspace.snapshot_seq() {
            return Ok(None);
        }
        let seq_origin = if seq > 0 {
            let at = store.changes_after(&[(workspace.id, seq - 1)], 1).await?;
            at.into_iter().find(|c| c.seq == seq).map(|c| c.origin)
        } else {
            None
        };
        let path = self.path(workspace.id);
        let temporary = self.dir.join(format!(
            ".workspace-{}.snapshot.{}-{}.tmp",
            workspace.id,
            std::process::id(),
            hex::encode(rand::random::<[u8; 4]>())
        ));
        let (store_identity, dir, serialized) = (self.store.clone(), self.dir.clone(), workspace.clone());
        let (target, partial) = (path.clone(), temporary.clone());
        let written = tokio::task::spawn_blocking(move || -> anyhow::Result<Written> {
            let started = Instant::now();
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&partial)?;
            let (bytes, users, locked) = {
                // Writes wait for the workspace's write lock meanwhile, not for the engine's: one
                // waiting for the engine's lock would queue every query behind it (the lock is fair),
                // and queries would stall for as long as the engine takes to serialize.
                let _writes_wait = serialized.writer.blocking_lock();
                let engine = serialized.engine.read();
                let locked = Instant::now();
                let users = engine.len();
                let meta = Meta {
                    store: store_identity,
                    workspace: serialized.id,
                    seq,
                    seq_origin,
                    users,
                    written_at: Timestamp::now(),
                };
                let bytes = write_snapshot(&engine, &serde_json::to_vec(&meta)?, &mut file)?;
                (bytes, users, locked.elapsed())
            };
            // Durable before it is renamed into place, and the rename durable before it counts.
            file.sync_all()?;
            drop(file);
            std::fs::rename(&partial, &target)?;
            File::open(&dir)?.sync_all()?;
            Ok(Written { path: target, users, bytes, elapsed: started.elapsed(), locked })
        })
        .await
        .map_err(anyhow::Error::from)
        .and_then(|written| written);
        let written = match written {
            Ok(written) => written,
            Err(error) => {
                let _ = std::fs::remove_file(&temporary);
                return Err(error.context(format!("writing {}", path.display())));
            }
        };
        workspace.set_snapshot_seq(seq);
        tracing::info!(
            workspace = workspace.id,
            path = %written.path.display(),
            users = written.users,
            bytes = written.bytes,
            seq,
            elapsed_ms = written.elapsed.as_millis() as u64,
            locked_ms = written.locked.as_millis() as u64,
            "engine snapshot written"
        );
        Ok(Some(written))
    }
}

/// A temporary file older than this was left by a process that died while writing (a write takes
/// seconds; other processes sharing the folder may be writing theirs now).
const ABANDONED_AFTER: Duration = Duration::from_secs(3600);

/// Removes the temporary files of snapshot writes that never finished.
fn remove_abandoned(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let temporary = name.to_str().is_some_and(|n| n.starts_with(".workspace-") && n.ends_with(".tmp"));
        let age = entry.metadata().and_then(|m| m.modified()).ok().and_then(|at| at.elapsed().ok());
        if temporary && age.is_some_and(|age| age > ABANDONED_AFTER) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!(path = %entry.path().display(), "removed an abandoned snapshot write"),
                Err(error) => {
                    tracing::warn!(path = %entry.path().display(), %error, "could not remove an abandoned snapshot write")
                }
            }
        }
    }
}

/// The changes of the feed in `(after, upto]`: how many, and the users they name (sorted, each
/// once). Fails when some of them are no longer in the feed.
async fn changes_between(
    store: &dyn Store,
    workspace: WorkspaceId,
    after: i64,
    upto: i64,
) -> anyhow::Result<(usize, Vec<Id>)> {
    let mut cursor = after;
    let mut users = Vec::new();
    while cursor < upto {
        let changes = store.changes_after(&[(workspace, cursor)], REPLAY_BATCH).await?;
        if changes.is_empty() {
            bail!("the change feed ends at {cursor}, before {upto}");
        }
        for change in changes.iter().take_while(|c| c.seq <= upto) {
            if change.seq != cursor + 1 {
                bail!("changes {} to {} were pruned from the feed", cursor + 1, change.seq - 1);
            }
            if let (ChangeKind::User, Some(id)) = (change.kind, change.entity) {
                users.push(id);
            }
            cursor = change.seq;
        }
        if changes.last().is_some_and(|c| c.seq > upto) {
            break;
        }
    }
    users.sort();
    users.dedup();
    Ok(((upto - after) as usize, users))
}

impl App {
    /// Writes the snapshot of a workspace just built from the store, in the background.
    pub(super) fn snapshot_in_background(&self, workspace: &Arc<Workspace>) {
        let Some(snapshots) = self.snapshots.clone() else { return };
        let (store, workspace) = (self.store.clone(), workspace.clone());
        tokio::spawn(async move {
            if let Err(error) = snapshots.write(&*store, &workspace, false).await {
                tracing::warn!(workspace = workspace.id, error = format!("{error:#}"), "could not write a snapshot");
            }
        });
    }

    /// Starts writing the snapshots of the workspaces that changed, every `SNAPSHOT_EVERY`; the
    /// task ends when the App is dropped.
    pub fn snapshot_periodically(self: &Arc<Self>) {
        if self.snapshots.is_none() {
            return;
        }
        let app: Weak<App> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(SNAPSHOT_EVERY).await;
                let Some(app) = app.upgrade() else { return };
                app.write_snapshots().await;
            }
        });
    }

    /// Writes the snapshot of every loaded workspace that changed since its last one, after
    /// catching up with the change feed (so the snapshots claim the latest seq they can).
    pub async fn write_snapshots(&self) {
        let Some(snapshots) = &self.snapshots else { return };
        if let Err(error) = super::feed::step(self).await {
            tracing::warn!(error = format!("{error:#}"), "could not catch up with the change feed before snapshots");
        }
        for workspace in self.loaded_workspaces() {
            if let Err(error) = snapshots.write(&*self.store, &workspace, false).await {
                tracing::warn!(workspace = workspace.id, error = format!("{error:#}"), "could not write a snapshot");
            }
        }
    }
}
