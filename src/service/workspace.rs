//! One workspace's live state: its engine, its catalog, and the lock that orders its writes.

use std::sync::Arc;

use parking_lot::RwLock;

use crate::domain::{Id, Platform, Timestamp, WorkspaceId};
use crate::engine::{Clock, Engine};
use crate::query::SegmentDefinition;
use crate::store::{Agent, Bot, SegmentRecord, Store, Subscription};

/// Bots, agents and segments: small, kept whole in memory.
#[derive(Default)]
pub struct Catalog {
    pub bots: Vec<Bot>,
    pub agents: Vec<Agent>,
    pub segments: Vec<(SegmentRecord, SegmentDefinition)>,
    pub subscriptions: Vec<Subscription>,
}

impl Catalog {
    pub fn bot_platform(&self, id: Id) -> Option<Platform> {
        self.bots.iter().find(|b| b.id == id).map(|b| b.platform)
    }

    pub fn agent(&self, id: Id) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }
}

pub struct Workspace {
    pub id: WorkspaceId,
    pub engine: RwLock<Engine>,
    pub catalog: RwLock<Catalog>,
    /// Writes of one workspace are applied one at a time, so the engine sees them in commit order.
    pub writer: tokio::sync::Mutex<()>,
    pub presence_window_ms: i64,
}

impl Workspace {
    /// Loads a workspace from the store: catalog first, then every user into a new engine.
    pub async fn load(store: &dyn Store, id: WorkspaceId, presence_window_ms: i64) -> anyhow::Result<Arc<Workspace>> {
        let started = std::time::Instant::now();
        let mut catalog = Catalog {
            bots: store.bots(id).await?,
            agents: store.agents(id).await?,
            segments: Vec::new(),
            subscriptions: store.subscriptions(id).await?,
        };
        for record in store.segments(id).await? {
            match SegmentDefinition::parse(&record.definition, &|bot| catalog.bot_platform(bot)) {
                Ok(definition) => catalog.segments.push((record, definition)),
                Err(problems) => tracing::error!(workspace = id, segment = %record.id, ?problems, "stored segment no longer parses"),
            }
        }
        let mut engine = Engine::new();
        store.scan_users(id, &mut |users| users.iter().for_each(|u| engine.upsert(u))).await?;
        let workspace = Workspace {
            id,
            engine: RwLock::new(engine),
            catalog: RwLock::new(catalog),
            writer: tokio::sync::Mutex::new(()),
            presence_window_ms,
        };
        workspace.refresh_segments();
        let users = workspace.engine.read().len();
        tracing::info!(workspace = id, users, elapsed_ms = started.elapsed().as_millis() as u64, "workspace loaded");
        Ok(Arc::new(workspace))
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
