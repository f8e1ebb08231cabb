//! The business rules: every read and write of a workspace, independent of HTTP.
//!
//! Every write takes one path: validate, commit one store transaction, then update the
//! engine from what was committed, all under the workspace's write lock.

pub mod catalog;
pub mod events;
pub mod export;
pub mod import;
pub mod integrations;
pub mod users;
pub mod webhooks;
mod workspace;

use std::collections::HashMap;
use std::sync::Arc;

use crate::domain::{Id, Timestamp, WorkspaceId};
use crate::error::{Error, Result};
use crate::fields::{join, Problems};
use crate::limits::MAX_ATTRIBUTES;
use crate::model::User;
use crate::store::{Commit, Store};

pub use workspace::{Catalog, Workspace};

pub struct App {
    pub store: Arc<dyn Store>,
    pub presence_window_ms: i64,
    workspaces: parking_lot::RwLock<HashMap<WorkspaceId, Arc<Workspace>>>,
    /// Held while a workspace loads, so two first requests do not load it twice.
    loading: tokio::sync::Mutex<()>,
    /// Wakes the webhook worker when a commit adds deliveries.
    pub webhooks_wake: Arc<tokio::sync::Notify>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, presence_window_ms: i64) -> App {
        App {
            store,
            presence_window_ms,
            workspaces: Default::default(),
            loading: Default::default(),
            webhooks_wake: Default::default(),
        }
    }

    /// The live state of a workspace, loaded from the store on first use.
    pub async fn workspace(&self, id: WorkspaceId) -> anyhow::Result<Arc<Workspace>> {
        if let Some(workspace) = self.workspaces.read().get(&id) {
            return Ok(workspace.clone());
        }
        let _loading = self.loading.lock().await;
        if let Some(workspace) = self.workspaces.read().get(&id) {
            return Ok(workspace.clone());
        }
        let workspace = Workspace::load(&*self.store, id, self.presence_window_ms).await?;
        self.workspaces.write().insert(id, workspace.clone());
        Ok(workspace)
    }

    /// Loads every workspace, so the first query of each is already fast.
    pub async fn load_all(&self) -> anyhow::Result<()> {
        for (id, _) in self.store.workspaces().await? {
            self.workspace(id).await?;
        }
        Ok(())
    }
}

/// Commits the changes, then updates the engine from exactly what was committed.
/// The caller holds the workspace's write lock.
pub async fn commit(app: &App, workspace: &Workspace, commit: Commit) -> Result<()> {
    app.store.commit(workspace.id, &commit).await?;
    if !commit.deliveries.is_empty() {
        app.webhooks_wake.notify_one();
    }
    let mut engine = workspace.engine.write();
    for user in &commit.upsert {
        engine.upsert(user);
    }
    for id in &commit.delete {
        engine.remove(*id);
    }
    Ok(())
}

/// The documents of users known to the engine, by id.
pub async fn load_users(store: &dyn Store, workspace: &Workspace, ids: &[Id]) -> Result<HashMap<Id, User>> {
    let users = store.users(workspace.id, ids).await?;
    Ok(users.into_iter().map(|u| (u.id, u)).collect())
}

/// Checks a changed user: its bots are bots of the workspace on their channel, its agent an
/// agent of it, and it holds no more attributes than allowed.
pub fn check_user(user: &User, catalog: &Catalog, path: &str, problems: &mut Problems) {
    for platform in crate::domain::Platform::ALL {
        if let Some(bot) = user.bot(platform) {
            if catalog.bot_platform(bot) != Some(platform) {
                problems.add(
                    &join(path, platform.bot_field()),
                    format!("{bot} names no {} bot of this workspace", platform.as_str()),
                );
            }
        }
    }
    if let Some(agent) = user.agent {
        if catalog.agent(agent).is_none() {
            problems.add(&join(path, "_agentAssigned"), format!("{agent} names no agent of this workspace"));
        }
    }
    let attributes = user.profile.attributes.len();
    if attributes > MAX_ATTRIBUTES {
        problems.add(
            &join(path, "profile.userDetails.attributes"),
            format!("the user would hold {attributes} attributes; at most {MAX_ATTRIBUTES} are allowed"),
        );
    }
}

/// 404 for an id that names no user of the workspace (whether it exists elsewhere or not).
pub fn no_such_user(id: Id) -> Error {
    Error::NotFound(format!("no user {id}"))
}

pub fn now() -> Timestamp {
    Timestamp::now()
}
