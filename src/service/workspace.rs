//! One workspace's live state: its engine, its catalog, and the lock that orders its writes.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::domain::{Id, Platform, Timestamp, WorkspaceId};
use crate::engine::{BackgroundBuilder, Clock, Engine};
use crate::query::SegmentDefinition;
use crate::store::{Agent, Bot, SegmentRecord, Store, Subscription};

use super::recent::RecentWrites;
use super::snapshot::Snapshots;

/// Bots, agents and segments: small, kept whole in memory.
#[derive(Default)]
pub struct Catalog {
    pub bots: Vec<Bot>,
    pub agents: Vec<Agent>,
    pub segments: Vec<(SegmentRecord, SegmentDefinition)>,
    pub subscriptions: Vec<Subscription>,
}

impl Catalog {
    /// Reads a workspace's catalog from the store.
    pub async fn load(store: &dyn Store, id: WorkspaceId) -> anyhow::Result<Catalog> {
        let mut catalog = Catalog {
            bots: store.bots(id).await?,
            agents: store.agents(id).await?,
            segments: Vec::new(),
            subscriptions: store.subscriptions(id).await?,
        };
        for record in store.segments(id).await? {
            match SegmentDefinition::parse(&record.definition, &|bot| catalog.bot_platform(bot)) {
                Ok(definition) => catalog.segments.push((record, definition)),
                Err(problems) => {
                    tracing::error!(workspace = id, segment = %record.id, ?problems, "stored segment no longer parses")
                }
            }
        }
        Ok(catalog)
    }

    pub fn bot_platform(&self, id: Id) -> Option<Platform> {
        self.bots.iter().find(|b| b.id == id).map(|b| b.platform)
    }

    pub fn agent(&self, id: Id) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }
}

/// Builds the engine of every user of the workspace in bulk, while the store reads the next batch.
async fn build_engine(store: &dyn Store, id: WorkspaceId) -> anyhow::Result<Engine> {
    let mut builder = BackgroundBuilder::start()?;
    store.scan_users(id, &mut |users| builder.add(users)).await?;
    Ok(tokio::task::spawn_blocking(move || builder.finish()).await?)
}

pub struct Workspace {
    pub id: WorkspaceId,
    pub engine: RwLock<Engine>,
    pub catalog: RwLock<Catalog>,
    /// Writes of one workspace are applied one at a time, so the engine sees them in commit order.
    pub writer: tokio::sync::Mutex<()>,
    /// The users of the latest writes, for reads made before taking `writer`.
    pub recent: RecentWrites,
    pub presence_window_ms: i64,
    /// The seq of the last change of the store's change feed this state reflects.
    feed_seq: AtomicI64,
    /// The seq of the latest snapshot of this engine on disk (-1: none yet).
    snapshot_seq: AtomicI64,
    /// How the engine was made when the workspace was loaded.
    pub started_from: StartedFrom,
}

/// How a workspace's engine was made at load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartedFrom {
    /// Built from every user of the store.
    Store,
    /// Read from its snapshot, then these changes of the feed replayed.
    Snapshot { seq: i64, replayed: usize },
}

impl Workspace {
    /// Loads a workspace from the store: catalog first, then the engine, from its snapshot when
    /// there is a usable one, else built from every user.
    pub async fn load(
        store: &dyn Store,
        id: WorkspaceId,
        presence_window_ms: i64,
        snapshots: Option<&Snapshots>,
    ) -> anyhow::Result<Arc<Workspace>> {
        let started = std::time::Instant::now();
        // Read before the state: every change up to it is in what is read next (changes after
        // it are applied again by the follower, which is harmless).
        let feed_seq = store.latest_change_seq(id).await?;
        let catalog = Catalog::load(store, id).await?;
        let restored = match snapshots {
            Some(snapshots) => snapshots.restore(store, id, feed_seq).await,
            None => None,
        };
        let (engine, started_from, snapshot_seq) = match restored {
            Some(restored) => {
                let from = StartedFrom::Snapshot { seq: restored.seq, replayed: restored.replayed };
                (restored.engine, from, restored.seq)
            }
            None => (build_engine(store, id).await?, StartedFrom::Store, -1),
        };
        let workspace = Workspace {
            id,
            engine: RwLock::new(engine),
            catalog: RwLock::new(catalog),
            writer: tokio::sync::Mutex::new(()),
            recent: RecentWrites::default(),
            presence_window_ms,
            feed_seq: AtomicI64::new(feed_seq),
            snapshot_seq: AtomicI64::new(snapshot_seq),
            started_from,
        };
        workspace.refresh_segments();
        let users = workspace.engine.read().len();
        tracing::info!(
            workspace = id,
            users,
            from = ?started_from,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "workspace loaded"
        );
        Ok(Arc::new(workspace))
    }

    /// Rebuilds the catalog and the engine from the store (a node too far behind the change feed).
    /// The caller holds the write lock.
    pub async fn reload(&self, store: &dyn Store) -> anyhow::Result<()> {
        let feed_seq = store.latest_change_seq(self.id).await?;
        let catalog = Catalog::load(store, self.id).await?;
        let engine = build_engine(store, self.id).await?;
        *self.catalog.write() = catalog;
        *self.engine.write() = engine;
        self.recent.reset();
        self.refresh_segments();
        self.set_feed_seq(feed_seq);
        tracing::info!(workspace = self.id, feed_seq, "workspace reloaded");
        Ok(())
    }

    pub fn feed_seq(&self) -> i64 {
        self.feed_seq.load(Ordering::Acquire)
    }

    pub fn set_feed_seq(&self, seq: i64) {
        self.feed_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// The seq of the latest snapshot written or read of this workspace (-1: none).
    pub fn snapshot_seq(&self) -> i64 {
        self.snapshot_seq.load(Ordering::Acquire)
    }

    pub fn set_snapshot_seq(&self, seq: i64) {
        self.snapshot_seq.fetch_max(seq, Ordering::AcqRel);
    }

    /// Hands the catalog's segment definitions to the engine.
    pub fn refresh_segments(&self) {
        let segments = self.catalog.read().segments.iter().map(|(r, d)| (r.id, d.to_filter())).collect();
        self.engine.write().set_segments(segments);
    }

    /// The outbox rows these triggers fire; `user_of` gives each user as the change leaves it.
    pub fn deliveries<'u>(
        &self,
        triggers: &[crate::webhooks::Trigger],
        user_of: impl Fn(Id) -> Option<&'u crate::model::User>,
    ) -> Vec<crate::store::NewDelivery> {
        let catalog = self.catalog.read();
        if catalog.subscriptions.is_empty() {
            return Vec::new();
        }
        let cx = crate::webhooks::Context {
            subscriptions: &catalog.subscriptions,
            bot_platform: &|bot| catalog.bot_platform(bot),
            segments: catalog.segments.iter().map(|(r, d)| (r.id, d.to_filter())).collect(),
            presence_window_ms: self.presence_window_ms,
        };
        crate::webhooks::deliveries(triggers, user_of, &cx)
    }

    pub fn clock(&self) -> Clock {
        Clock { now: Timestamp::now(), window_ms: self.presence_window_ms }
    }
}
