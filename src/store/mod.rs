//! Durable records behind one narrow trait: the embedded SQLite store, or PostgreSQL shared by
//! several nodes.
//!
//! The store knows nothing of filters. Every write of user data arrives as one `Commit`,
//! applied in one transaction, so a write is either wholly durable or not at all. Each commit
//! (and each catalog change) also appends to the workspace's change feed in that transaction, so
//! that other nodes (and other processes on the same file) can keep their engines fresh.

mod checkpoint;
pub mod codec;
mod pending;
mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::{Id, Platform, Role, Timestamp, WorkspaceId};
use crate::model::{User, UserActivity};

pub use codec::Documents;
pub use pending::{FOLD_AT, FOLD_CHUNK};
pub use postgres::{is_postgres_url, PostgresStore};
pub use sqlite::SqliteStore;

/// The version of a user row: 1 when created, one more at every write. 0 stands for "no row".
pub type Version = i64;

/// A commit was refused because these users changed (or appeared, or went) since they were read,
/// or because another commit applied one of its event ids first (`users` then empty: the change
/// feed tells what that commit did). Nothing of the commit was applied; catch up and recompute.
#[derive(Clone, Debug, thiserror::Error)]
#[error("another write got there first ({} user(s) changed since they were read)", users.len())]
pub struct Conflict {
    pub users: Vec<Id>,
}

/// The conflict of a commit one of whose event ids another commit (another node, another process
/// on the same file) remembered first, after this one checked them: applying it too would apply
/// the event twice.
fn event_applied_elsewhere() -> anyhow::Error {
    Conflict { users: Vec::new() }.into()
}

/// How many different event ids there are.
fn distinct(event_ids: &[String]) -> u64 {
    event_ids.iter().collect::<std::collections::HashSet<_>>().len() as u64
}

/// Whether an error is a `Conflict`.
pub fn is_conflict(error: &anyhow::Error) -> bool {
    error.downcast_ref::<Conflict>().is_some()
}

/// What one entry of the change feed is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A user was written or erased: re-read it.
    User,
    /// A bot, agent, segment or webhook subscription changed: reload the catalog.
    Catalog,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::User => "user",
            ChangeKind::Catalog => "catalog",
        }
    }

    pub fn parse(text: &str) -> ChangeKind {
        match text {
            "user" => ChangeKind::User,
            _ => ChangeKind::Catalog,
        }
    }
}

/// One entry of a workspace's change feed. `seq` counts 1, 2, 3, ... per workspace without gaps,
/// in commit order: a reader that has seen seq n has seen every change up to n.
#[derive(Clone, Debug)]
pub struct Change {
    pub workspace: WorkspaceId,
    pub seq: i64,
    pub kind: ChangeKind,
    /// The user (for `User`) or catalog entry concerned.
    pub entity: Option<Id>,
    /// The `Store::origin` of the store that committed it.
    pub origin: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bot {
    pub id: Id,
    pub name: String,
    pub platform: Platform,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: Id,
    pub name: String,
    pub email: Option<String>,
    pub created_at: Timestamp,
}

/// A saved segment; `definition` is the JSON body it was created with (validated by `query::segment`).
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentRecord {
    pub id: Id,
    pub definition: serde_json::Value,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct Token {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub workspace: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

/// A webhook subscription of a workspace.
#[derive(Clone, Debug, PartialEq)]
pub struct Subscription {
    pub id: Id,
    pub url: String,
    /// newLeadHook, newMessageHook or newOrderHook.
    pub event: String,
    pub bot: Option<Id>,
    pub platform: Option<Platform>,
    pub slug: Option<String>,
    pub category: Option<String>,
    pub secret: String,
    pub created_at: Timestamp,
}

/// A delivery to make, recorded in the outbox with the change that fired it.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub id: Id,
    pub subscription: Id,
    pub user: Id,
    pub event: String,
    pub event_id: Id,
    /// The JSON body, exactly as it will be sent and signed.
    pub body: String,
    pub created_at: Timestamp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub const ALLOWED: &'static str = "pending, delivered, failed";

    pub fn parse(text: &str) -> Option<DeliveryStatus> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// A delivery as the outbox holds it, with where it goes (None when unsubscribed since).
#[derive(Clone, Debug)]
pub struct Delivery {
    pub workspace: WorkspaceId,
    pub id: Id,
    pub subscription: Id,
    pub user: Id,
    pub event: String,
    pub event_id: Id,
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub last_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The subscription's url and secret.
    pub target: Option<(String, String)>,
}

/// What one attempt came to.
#[derive(Clone, Debug)]
pub enum Attempt {
    Delivered,
    /// Try again at this time.
    Retry {
        at: Timestamp,
        error: String,
    },
    /// Given up.
    Failed {
        error: String,
    },
}

impl Attempt {
    /// The outbox columns an attempt sets: status, next attempt, last error, delivered at.
    pub fn columns(&self, at: Timestamp) -> (&'static str, Option<i64>, Option<String>, Option<i64>) {
        match self {
            Attempt::Delivered => ("delivered", None, None, Some(at.0)),
            Attempt::Retry { at: next, error } => ("pending", Some(next.0), Some(error.clone()), None),
            Attempt::Failed { error } => ("failed", None, Some(error.clone()), None),
        }
    }
}

/// Everything one write changes, committed in one transaction.
#[derive(Default, Debug)]
pub struct Commit {
    /// New or changed users, whole documents.
    pub upsert: Vec<User>,
    /// Events applied to users without their documents, each user once, on a store that
    /// `defers_activity`: they count as a write of the user (its version moves on).
    pub activity: Vec<(Id, UserActivity)>,
    /// Users erased for good.
    pub delete: Vec<Id>,
    /// Event ids applied by this write, remembered for idempotency.
    pub event_ids: Vec<String>,
    /// Webhook deliveries the write fires (the outbox).
    pub deliveries: Vec<NewDelivery>,
    /// Optimistic concurrency: the version each upserted user was read at (0: it must not exist
    /// yet). When one no longer matches, the commit fails with a `Conflict` and applies nothing.
    /// Users without an entry are written whatever their version.
    pub expected: HashMap<Id, Version>,
}

impl Commit {
    pub fn is_empty(&self) -> bool {
        self.upsert.is_empty()
            && self.activity.is_empty()
            && self.delete.is_empty()
            && self.event_ids.is_empty()
            && self.deliveries.is_empty()
    }
}

pub type StoreResult<T> = anyhow::Result<T>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // Workspaces and tokens.
    async fn ensure_workspace(&self, name: &str) -> StoreResult<WorkspaceId>;
    async fn workspaces(&self) -> StoreResult<Vec<(WorkspaceId, String)>>;
    /// Stores a token by the hash of its secret.
    async fn create_token(&self, workspace: WorkspaceId, id: &str, secret_hash: &str, role: Role) -> StoreResult<()>;
    async fn token_by_hash(&self, secret_hash: &str) -> StoreResult<Option<Token>>;
    async fn tokens(&self, workspace: Option<&str>) -> StoreResult<Vec<Token>>;
    /// Revokes the token with this id or secret hash; false when there is none.
    async fn revoke_token(&self, id_or_hash: &str) -> StoreResult<bool>;
    async fn touch_token(&self, id: &str, at: Timestamp) -> StoreResult<()>;

    // The workspace's catalog.
    async fn insert_bot(&self, workspace: WorkspaceId, bot: &Bot) -> StoreResult<()>;
    async fn bots(&self, workspace: WorkspaceId) -> StoreResult<Vec<Bot>>;
    async fn insert_agent(&self, workspace: WorkspaceId, agent: &Agent) -> StoreResult<()>;
    async fn agents(&self, workspace: WorkspaceId) -> StoreResult<Vec<Agent>>;
    async fn insert_segment(&self, workspace: WorkspaceId, segment: &SegmentRecord) -> StoreResult<()>;
    async fn segments(&self, workspace: WorkspaceId) -> StoreResult<Vec<SegmentRecord>>;
    async fn delete_segment(&self, workspace: WorkspaceId, id: Id) -> StoreResult<bool>;

    // Users.
    /// How many users the workspace holds (without reading them).
    async fn count_users(&self, workspace: WorkspaceId) -> StoreResult<u64>;

    /// Every user of the workspace, in batches, for rebuilding the engine.
    async fn scan_users(
        &self,
        workspace: WorkspaceId,
        each_batch: &mut (dyn FnMut(Vec<User>) + Send),
    ) -> StoreResult<()>;
    /// The stored documents of up to `limit` users whose ids follow `after` (from the first when
    /// None), in id order and undecoded: a walk of the whole workspace in the order it is stored,
    /// for a reader that decodes only what it needs. They are read into `into` (emptied first), so
    /// a walk reuses its buffers from page to page.
    async fn documents_after(
        &self,
        workspace: WorkspaceId,
        after: Option<Id>,
        limit: usize,
        into: Documents,
    ) -> StoreResult<Documents>;
    /// The documents of these users, in the order asked; missing ones are left out.
    async fn users(&self, workspace: WorkspaceId, ids: &[Id]) -> StoreResult<Vec<User>>;
    /// Which of these event ids were already applied.
    async fn seen_event_ids(&self, workspace: WorkspaceId, event_ids: &[String]) -> StoreResult<Vec<String>>;
    /// Like `users`, with the version of each row, for a read-modify-write.
    async fn users_versioned(&self, workspace: WorkspaceId, ids: &[Id]) -> StoreResult<Vec<(User, Version)>>;
    /// Applies the commit in one transaction (with its change-feed entries), or fails with a
    /// `Conflict` (see `Commit::expected`) and applies nothing.
    async fn commit(&self, workspace: WorkspaceId, commit: &Commit) -> StoreResult<()>;
    /// Whether `Commit::activity` may be used: the store keeps it beside the documents and
    /// applies it to every document it reads until it is folded in.
    fn defers_activity(&self) -> bool {
        false
    }
    /// Folds up to `limit` records of deferred activity into their documents now; answers how
    /// many (0: none is pending).
    async fn fold_activity(&self, _limit: usize) -> StoreResult<usize> {
        Ok(0)
    }
    /// How many records of deferred activity are not folded yet.
    fn pending_activity(&self) -> usize {
        0
    }

    // The change feed.
    /// A name for this open store, different for every process; written into its changes.
    fn origin(&self) -> &str;
    /// The changes after each workspace's cursor `(workspace, seq)`, ordered by workspace then
    /// seq, at most `limit` in all.
    async fn changes_after(&self, cursors: &[(WorkspaceId, i64)], limit: usize) -> StoreResult<Vec<Change>>;
    /// The seq of the workspace's latest change (0 when none).
    async fn latest_change_seq(&self, workspace: WorkspaceId) -> StoreResult<i64>;
    /// A random id the store was given when it was created, the same for every node and process
    /// on it: what engine snapshots are matched against.
    async fn identity(&self) -> StoreResult<String>;
    /// Forgets changes committed before `before`; a node further behind reloads the workspace.
    async fn prune_changes(&self, before: Timestamp) -> StoreResult<u64>;
    /// Notified soon after another node commits a change (PostgreSQL's LISTEN/NOTIFY); None when
    /// the store can only be polled.
    fn change_signal(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }

    // Webhooks.
    /// Adds a subscription; the same url, event and bot again answers the existing one.
    async fn subscribe(&self, workspace: WorkspaceId, subscription: &Subscription) -> StoreResult<Subscription>;
    /// Removes the subscriptions of this url, event and bot; answers how many.
    async fn unsubscribe(&self, workspace: WorkspaceId, url: &str, event: &str, bot: Option<Id>) -> StoreResult<usize>;
    async fn subscriptions(&self, workspace: WorkspaceId) -> StoreResult<Vec<Subscription>>;
    /// Pending deliveries due by `now`, oldest first, at most one per (subscription, user):
    /// a user's later delivery waits for the earlier one. A store shared by several nodes claims
    /// the rows it answers for a while (a lease), so that each is sent by one node only.
    async fn due_deliveries(&self, now: Timestamp, limit: usize) -> StoreResult<Vec<Delivery>>;
    async fn record_attempt(&self, workspace: WorkspaceId, id: Id, at: Timestamp, attempt: &Attempt)
        -> StoreResult<()>;
    /// The latest deliveries of a workspace, newest first.
    async fn deliveries(
        &self,
        workspace: WorkspaceId,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> StoreResult<Vec<Delivery>>;
    /// How many deliveries are pending and how many were given up, over all workspaces.
    async fn delivery_backlog(&self) -> StoreResult<(u64, u64)>;
    /// Makes a delivery pending and due now; false when there is none.
    async fn redeliver(&self, workspace: WorkspaceId, id: Id) -> StoreResult<bool>;
}
