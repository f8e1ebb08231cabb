//! The business rules: every read and write of a workspace, independent of HTTP.
//!
//! Every write takes one path: validate, commit one store transaction, then update the
//! engine from what was committed, all under the workspace's write lock.
//!
//! Several nodes may write one workspace (over PostgreSQL), so a read-modify-write commits with
//! the versions of the users it read; when another node changed one since, the commit is refused
//! (`store::Conflict`), this node catches up with the change feed, and the write is computed again
//! from fresh documents (`retrying`). The embedded store never conflicts, but takes the same path.

pub mod catalog;
pub mod events;
pub mod export;
pub mod feed;
pub mod import;
pub mod integrations;
mod merge;
mod recent;
pub mod snapshot;
pub mod users;
pub mod webhooks;
mod workspace;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::domain::{Id, Timestamp, WorkspaceId};
use crate::error::{Error, Result};
use crate::fields::{join, Problems};
use crate::limits::MAX_ATTRIBUTES;
use crate::model::User;
use crate::store::{Commit, Conflict, Store, Version};
use recent::Since;

pub use workspace::{Catalog, StartedFrom, Workspace};

pub struct App {
    pub store: Arc<dyn Store>,
    pub presence_window_ms: i64,
    workspaces: parking_lot::RwLock<HashMap<WorkspaceId, Arc<Workspace>>>,
    /// Held while a workspace loads, so two first requests do not load it twice.
    loading: tokio::sync::Mutex<()>,
    /// Wakes the webhook worker when a commit adds deliveries.
    pub webhooks_wake: Arc<tokio::sync::Notify>,
    /// Where engine snapshots are kept; None when they are off.
    pub snapshots: Option<Arc<snapshot::Snapshots>>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, presence_window_ms: i64) -> App {
        App {
            store,
            presence_window_ms,
            workspaces: Default::default(),
            loading: Default::default(),
            webhooks_wake: Default::default(),
            snapshots: None,
        }
    }

    /// The App, keeping engine snapshots in `snapshots` (None: off).
    pub fn with_snapshots(mut self, snapshots: Option<snapshot::Snapshots>) -> App {
        self.snapshots = snapshots.map(Arc::new);
        self
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
        let workspace = Workspace::load(&*self.store, id, self.presence_window_ms, self.snapshots.as_deref()).await?;
        self.workspaces.write().insert(id, workspace.clone());
        // A build from the store took long: the next start should not have to do it again.
        if workspace.started_from == StartedFrom::Store && !workspace.engine.read().is_empty() {
            self.snapshot_in_background(&workspace);
        }
        Ok(workspace)
    }

    /// The workspaces loaded so far.
    pub fn loaded_workspaces(&self) -> Vec<Arc<Workspace>> {
        self.workspaces.read().values().cloned().collect()
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
/// On a `Conflict`, the engine is brought up to date first, then the error is answered, for
/// `retrying` to compute the write again.
pub async fn commit(app: &App, workspace: &Workspace, commit: Commit) -> Result<()> {
    commit_changing(app, workspace, commit, |_| false).await
}

/// `commit`, where the upserted users for which `activity_only` holds changed only in their
/// activity (what events change) since the engine last took them, which updates the engine faster.
pub async fn commit_changing(
    app: &App,
    workspace: &Workspace,
    commit: Commit,
    activity_only: impl Fn(Id) -> bool,
) -> Result<()> {
    if let Err(error) = app.store.commit(workspace.id, &commit).await {
        if let Some(conflict) = error.downcast_ref::<Conflict>() {
            tracing::debug!(workspace = workspace.id, users = conflict.users.len(), "write conflict; catching up");
            feed::refresh_users(app, workspace, &conflict.users).await?;
            feed::catch_up(app, workspace).await?;
        }
        return Err(error.into());
    }
    let activity_users = commit.activity.iter().map(|(id, _)| *id);
    workspace
        .recent
        .record(commit.upsert.iter().map(|u| u.id).chain(activity_users).chain(commit.delete.iter().copied()));
    if !commit.deliveries.is_empty() {
        app.webhooks_wake.notify_one();
    }
    let mut engine = workspace.engine.write();
    for user in &commit.upsert {
        if activity_only(user.id) {
            engine.upsert_activity(user);
        } else {
            engine.upsert(user);
        }
    }
    for (id, activity) in &commit.activity {
        engine.apply_activity(*id, activity);
    }
    for id in &commit.delete {
        engine.remove(*id);
    }
    Ok(())
}

/// How many times a write is computed before a conflict is answered as an error.
pub const MAX_ATTEMPTS: u32 = 50;

/// Whether an error is a store `Conflict`.
pub fn is_conflict(error: &Error) -> bool {
    matches!(error, Error::Internal(error) if crate::store::is_conflict(error))
}

/// Runs a read-modify-write until it commits without a conflict (at most MAX_ATTEMPTS times,
/// with a short random pause between). The caller holds the workspace's write lock.
pub async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(error) if tries < MAX_ATTEMPTS && is_conflict(&error) => {
                // A random pause, growing to at most 20 ms, so two nodes do not collide in step.
                let pause = rand::random::<u64>() % (1u64 << tries.min(4)).clamp(2, 20);
                tokio::time::sleep(Duration::from_millis(pause)).await;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Documents with the versions they were read at, for a read-modify-write.
#[derive(Default)]
pub struct Loaded {
    pub users: HashMap<Id, User>,
    pub versions: HashMap<Id, Version>,
}

/// What a commit of these users expects: the version each was read at, or 0 for users created
/// since (they must not exist yet).
pub fn expected<'u>(
    versions: &HashMap<Id, Version>,
    users: impl IntoIterator<Item = &'u User>,
) -> HashMap<Id, Version> {
    users.into_iter().map(|u| (u.id, versions.get(&u.id).copied().unwrap_or(0))).collect()
}

/// The documents of these users with their versions.
pub async fn load_versioned(store: &dyn Store, workspace: &Workspace, ids: &[Id]) -> Result<Loaded> {
    let mut loaded = Loaded::default();
    for (user, version) in store.users_versioned(workspace.id, ids).await? {
        loaded.versions.insert(user.id, version);
        loaded.users.insert(user.id, user);
    }
    Ok(loaded)
}

/// Documents read before the write lock was taken, to be brought up to date under it
/// (`Ahead::up_to_date`): the read overlaps the write ahead of it.
pub struct Ahead {
    mark: recent::Mark,
    loaded: Loaded,
}

impl Ahead {
    pub async fn read(store: &dyn Store, workspace: &Workspace, ids: &[Id]) -> Result<Ahead> {
        let mark = workspace.recent.mark();
        Ok(Ahead { mark, loaded: load_versioned(store, workspace, ids).await? })
    }

    /// The documents of `ids` as they are now: those written since the read (or not read then)
    /// are read again. The caller holds the write lock.
    pub async fn up_to_date(self, store: &dyn Store, workspace: &Workspace, ids: &[Id]) -> Result<Loaded> {
        let Ahead { mark, mut loaded } = self;
        match workspace.recent.since(mark) {
            Since::Everything => return load_versioned(store, workspace, ids).await,
            Since::Users(written) => {
                loaded.users.retain(|id, _| !written.contains(id));
                loaded.versions.retain(|id, _| !written.contains(id));
            }
        }
        let missing: Vec<Id> = ids.iter().filter(|id| !loaded.users.contains_key(id)).copied().collect();
        let fresh = load_versioned(store, workspace, &missing).await?;
        loaded.users.extend(fresh.users);
        loaded.versions.extend(fresh.versions);
        Ok(loaded)
    }
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
