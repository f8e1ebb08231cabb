//! Event activity kept beside the documents on the embedded store, folded into them later.
//!
//! A batch of events touches a thousand random users. Rewriting their documents in place costs a
//! random b-tree page each (about 8 KB of disk writes an event, counting the checkpoint); appending
//! what the events did costs a hundred bytes, in pages written once. So events are appended to the
//! `pending_activity` table, in the commit that acknowledges them, and folded into the documents
//! in id-ordered groups later (when the writer is idle, or when too many are pending). Every read
//! of a document applies what is pending for it, so nothing reads differently meanwhile.
//!
//! The rules that keep this exact, also with several processes on the file:
//! - Each document records `events_through`, the last pending seq it includes. A pending record
//!   applies to a document only when its seq is greater.
//! - The version a read answers is the row's version plus the number of records still to apply,
//!   so an event moves a user's version as a rewrite would; a fold moves as many records into the
//!   document as it adds to the row's version, so it changes no version a writer holds.
//! - A whole-document write checks that version, includes every record (it read them), and sets
//!   `events_through` to the last seq appended.
//!
//! Each open store keeps the records in memory, read from the table in seq order; its own folds
//! remove them. A read takes the records before the documents and checks, after, that no fold of
//! this store ran between (else it reads again): what a fold removed is then in the document.

use std::collections::{HashMap, VecDeque};
use std::sync::RwLock;

use rusqlite::{params, Connection};

use super::codec::{decode, encode, id_from_bytes, Documents};
use crate::domain::{Id, WorkspaceId};
use crate::model::{User, UserActivity};

/// Records pending beyond which a fold runs even while writes keep coming: bounds the memory
/// they take (a few hundred bytes each, messages aside) and the work a read may find pending.
pub const FOLD_AT: usize = 200_000;

/// Bytes of pending records beyond which a fold runs likewise, should their messages be long.
pub const FOLD_AT_BYTES: usize = 64 << 20;

/// What a record held in memory takes besides its encoded size (map entry, vectors, strings).
const RECORD_OVERHEAD: usize = 128;

/// Records folded per transaction: each holds the writer for tens of milliseconds at most.
pub const FOLD_CHUNK: usize = 2_000;

type Key = (WorkspaceId, Id);

#[derive(Default)]
struct Records {
    /// Each user's records, in seq order.
    by_user: HashMap<Key, Vec<(i64, UserActivity)>>,
    /// Every record's seq, user and size, in seq order: what a fold takes first.
    order: VecDeque<(i64, Key, usize)>,
    /// About how much memory the records take.
    bytes: usize,
    /// The last seq read from the table (or appended by this store).
    through: i64,
    /// Folds of this store so far: a read that saw it change reads again.
    folds: u64,
}

/// One record as read from the table or appended.
pub struct Record {
    seq: i64,
    key: Key,
    activity: UserActivity,
    size: usize,
}

#[derive(Default)]
pub struct Pending {
    records: RwLock<Records>,
}

/// A document as a read found it, before its pending records are applied.
pub struct Stored {
    pub user: User,
    pub version: i64,
    pub events_through: i64,
}

fn poisoned() -> anyhow::Error {
    anyhow::anyhow!("pending activity lock poisoned")
}

impl Pending {
    /// How many records are pending (as far as this store has read).
    pub fn len(&self) -> usize {
        self.records.read().map(|r| r.order.len()).unwrap_or(0)
    }

    /// Whether so much is pending that it is folded even while writes keep coming.
    pub fn over_limit(&self) -> bool {
        self.records.read().map(|r| r.order.len() >= FOLD_AT || r.bytes >= FOLD_AT_BYTES).unwrap_or(false)
    }

    /// The last seq appended (as far as this store has read): what a whole-document write includes.
    pub fn through(&self) -> anyhow::Result<i64> {
        Ok(self.records.read().map_err(|_| poisoned())?.through)
    }

    /// Reads the records other processes appended since the last read.
    pub fn refresh(&self, conn: &Connection) -> anyhow::Result<()> {
        let through = self.through()?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, workspace_id, user_id, activity FROM pending_activity WHERE seq > ?1 ORDER BY seq",
        )?;
        let mut rows = stmt.query([through])?;
        let mut read = Vec::new();
        while let Some(row) = rows.next()? {
            let id =
                id_from_bytes(row.get_ref(2)?.as_blob()?).ok_or_else(|| anyhow::anyhow!("a user id of 12 bytes"))?;
            let bytes = row.get_ref(3)?.as_blob()?;
            let activity: UserActivity = rmp_serde::from_slice(bytes)?;
            let size = bytes.len() + RECORD_OVERHEAD;
            read.push(Record { seq: row.get(0)?, key: (row.get(1)?, id), activity, size });
        }
        if !read.is_empty() {
            self.hold(read)?;
        }
        Ok(())
    }

    /// Holds records read from the table, or appended once their transaction committed,
    /// skipping those already held.
    pub fn hold(&self, records: Vec<Record>) -> anyhow::Result<()> {
        let mut held = self.records.write().map_err(|_| poisoned())?;
        for Record { seq, key, activity, size } in records {
            if seq <= held.through {
                continue;
            }
            held.through = seq;
            held.order.push_back((seq, key, size));
            held.bytes += size;
            held.by_user.entry(key).or_default().push((seq, activity));
        }
        Ok(())
    }

    /// Appends records inside the write transaction `tx`, which has refreshed first (so no seq
    /// is skipped); they are held once `tx` commits (`hold`).
    pub fn append(
        &self,
        tx: &rusqlite::Transaction,
        workspace: WorkspaceId,
        activity: &[(Id, UserActivity)],
    ) -> anyhow::Result<Vec<Record>> {
        let mut insert = tx.prepare_cached(
            "INSERT INTO pending_activity (workspace_id, user_id, activity) VALUES (?1, ?2, ?3) RETURNING seq",
        )?;
        let mut appended = Vec::with_capacity(activity.len());
        for (id, user_activity) in activity {
            let bytes = rmp_serde::to_vec(user_activity)?;
            let seq: i64 = insert.query_row(params![workspace, &id.as_bytes()[..], &bytes], |r| r.get(0))?;
            let size = bytes.len() + RECORD_OVERHEAD;
            appended.push(Record { seq, key: (workspace, *id), activity: user_activity.clone(), size });
        }
        Ok(appended)
    }

    /// How many of a user's records a document written through `events_through` lacks.
    pub fn count_after(&self, workspace: WorkspaceId, id: Id, events_through: i64) -> anyhow::Result<i64> {
        let held = self.records.read().map_err(|_| poisoned())?;
        Ok(held.by_user.get(&(workspace, id)).map_or(0, |r| r.iter().filter(|(s, _)| *s > events_through).count())
            as i64)
    }

    /// Runs `read` (which reads documents), then applies to each what is pending for it and
    /// answers it with its version; reads again should a fold of this store run meanwhile.
    pub fn read_applied<T>(
        &self,
        conn: &Connection,
        workspace: WorkspaceId,
        mut read: impl FnMut(&Connection) -> anyhow::Result<Vec<Stored>>,
        mut make: impl FnMut(User, i64) -> T,
    ) -> anyhow::Result<Vec<T>> {
        self.refresh(conn)?;
        loop {
            let folds = self.records.read().map_err(|_| poisoned())?.folds;
            let stored = read(conn)?;
            let held = self.records.read().map_err(|_| poisoned())?;
            if held.folds != folds {
                continue;
            }
            return Ok(stored
                .into_iter()
                .map(|Stored { mut user, version, events_through }| {
                    let applied = held.apply(workspace, &mut user, events_through);
                    make(user, version + applied)
                })
                .collect());
        }
    }

    /// Folds of this store so far: see `apply_encoded`.
    pub fn folds(&self) -> anyhow::Result<u64> {
        Ok(self.records.read().map_err(|_| poisoned())?.folds)
    }

    /// Whether some record is pending for this user.
    pub fn any_for(&self, workspace: WorkspaceId, id: Id) -> anyhow::Result<bool> {
        Ok(self.records.read().map_err(|_| poisoned())?.by_user.contains_key(&(workspace, id)))
    }

    /// `read_applied` for encoded documents read (each with its `events_through`) after `folds`
    /// was taken: those with records pending are decoded, applied and encoded again. None when a
    /// fold ran meanwhile: read them again.
    pub fn apply_encoded(
        &self,
        workspace: WorkspaceId,
        folds: u64,
        documents: Documents,
        events_through: &[i64],
    ) -> anyhow::Result<Option<Documents>> {
        let held = self.records.read().map_err(|_| poisoned())?;
        if held.folds != folds {
            return Ok(None);
        }
        let lacking = |(id, through): (Id, &i64)| {
            held.by_user.get(&(workspace, id)).is_some_and(|records| records.iter().any(|(seq, _)| seq > through))
        };
        if held.by_user.is_empty() || !documents.iter().map(|(id, _)| id).zip(events_through).any(lacking) {
            return Ok(Some(documents));
        }
        let mut applied = Documents::default();
        for ((id, bytes), &through) in documents.iter().zip(events_through) {
            if lacking((id, &through)) {
                let mut user = decode(bytes)?;
                held.apply(workspace, &mut user, through);
                applied.push(id, &encode(&user)?);
            } else {
                applied.push(id, bytes);
            }
        }
        Ok(Some(applied))
    }

    /// Folds the oldest `limit` records (and the later records of their users) into their
    /// documents in one transaction on the writer; answers how many records it took off.
    pub fn fold(&self, conn: &mut Connection, limit: usize) -> anyhow::Result<usize> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        self.refresh(&tx)?;
        let (last, mut groups) = {
            let held = self.records.read().map_err(|_| poisoned())?;
            let taken = limit.min(held.order.len());
            let Some(&(last, _, _)) = taken.checked_sub(1).and_then(|i| held.order.get(i)) else { return Ok(0) };
            let mut keys: Vec<Key> = held.order.iter().take(limit).map(|(_, key, _)| *key).collect();
            keys.sort_unstable();
            keys.dedup();
            // Each of their users takes all its records at once, so a user's later records cost no
            // second rewrite: they stay until their turn comes, then find the document has them.
            let groups: Vec<(Key, Vec<(i64, UserActivity)>)> =
                keys.into_iter().map(|key| (key, held.by_user.get(&key).cloned().unwrap_or_default())).collect();
            (last, groups)
        };
        {
            let mut select = tx
                .prepare_cached("SELECT doc, version, events_through FROM users WHERE workspace_id = ?1 AND id = ?2")?;
            let mut update = tx.prepare_cached(
                "UPDATE users SET doc = ?3, version = ?4, events_through = ?5 WHERE workspace_id = ?1 AND id = ?2",
            )?;
            for ((workspace, id), records) in &mut groups {
                let key = &id.as_bytes()[..];
                let mut rows = select.query(params![*workspace, key])?;
                let Some(row) = rows.next()? else { continue };
                let mut user = decode(row.get_ref(0)?.as_blob()?)?;
                let (version, through): (i64, i64) = (row.get(1)?, row.get(2)?);
                drop(rows);
                records.retain(|(seq, _)| *seq > through);
                let Some(&(newest, _)) = records.last() else { continue };
                for (_, activity) in records.iter() {
                    activity.apply(&mut user);
                }
                let doc = encode(&user)?;
                update.execute(params![*workspace, key, doc, version + records.len() as i64, newest])?;
            }
        }
        let folded = tx.execute("DELETE FROM pending_activity WHERE seq <= ?1", [last])?;
        tx.commit()?;
        let mut held = self.records.write().map_err(|_| poisoned())?;
        let mut removed = 0;
        while held.order.front().is_some_and(|(seq, _, _)| *seq <= last) {
            let Some((_, key, size)) = held.order.pop_front() else { break };
            held.bytes -= size;
            if let Some(records) = held.by_user.get_mut(&key) {
                records.retain(|(seq, _)| *seq > last);
                if records.is_empty() {
                    held.by_user.remove(&key);
                }
            }
            removed += 1;
        }
        held.folds += 1;
        tracing::debug!(records = removed, rows = folded, "folded pending activity into documents");
        Ok(removed)
    }
}

impl Records {
    /// Applies to `user` its records after `events_through`; answers how many.
    fn apply(&self, workspace: WorkspaceId, user: &mut User, events_through: i64) -> i64 {
        let Some(records) = self.by_user.get(&(workspace, user.id)) else { return 0 };
        let mut applied = 0;
        for (_, activity) in records.iter().filter(|(seq, _)| *seq > events_through) {
            activity.apply(user);
            applied += 1;
        }
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Commit, SqliteStore, Store};
    use crate::domain::{Id, Sender, Timestamp, WorkspaceId};
    use crate::model::{Activity, User, UserActivity};

    fn user(n: u8) -> User {
        let mut user = User::new(Id::from_bytes([n; 12]), Timestamp(1_000 + i64::from(n)));
        user.profile.name = Some(format!("user {n}"));
        user
    }

    fn message(at: i64) -> UserActivity {
        let events = vec![
            Activity::Message { by: Sender::User, text: format!("hello at {at}"), at: Timestamp(at) },
            Activity::Order { at: Timestamp(at + 1) },
        ];
        UserActivity { received: Timestamp(at + 2), events }
    }

    fn applied(mut user: User, activity: &[&UserActivity]) -> User {
        for a in activity {
            a.apply(&mut user);
        }
        user
    }

    async fn open(path: &std::path::Path) -> (SqliteStore, WorkspaceId) {
        let store = SqliteStore::open(path).expect("store");
        let workspace = store.ensure_workspace("w").await.expect("workspace");
        (store, workspace)
    }

    /// Every way the store reads users: by id with and without versions, pages in id order, the
    /// scan of a rebuild.
    async fn every_read(store: &SqliteStore, workspace: WorkspaceId, ids: &[Id]) -> Vec<Vec<User>> {
        let by_id = store.users(workspace, ids).await.expect("users");
        let versioned = store.users_versioned(workspace, ids).await.expect("versioned");
        let pages = store.documents_after(workspace, None, 100, Default::default()).await.expect("pages");
        let pages = pages.iter().map(|(_, bytes)| super::decode(bytes).expect("decode")).collect();
        let mut scanned = Vec::new();
        store.scan_users(workspace, &mut |batch| scanned.extend(batch)).await.expect("scan");
        vec![by_id, versioned.into_iter().map(|(u, _)| u).collect(), pages, scanned]
    }

    async fn versions(store: &SqliteStore, workspace: WorkspaceId, ids: &[Id]) -> Vec<i64> {
        store.users_versioned(workspace, ids).await.expect("versioned").into_iter().map(|(_, v)| v).collect()
    }

    #[test]
    fn what_is_pending_is_over_the_limit_by_count_or_by_bytes() {
        let record = |seq: i64, size: usize| super::Record {
            seq,
            key: (1, Id::from_bytes([seq as u8; 12])),
            activity: UserActivity { received: Timestamp(0), events: Vec::new() },
            size,
        };
        let by_count = super::Pending::default();
        by_count.hold((1..super::FOLD_AT as i64).map(|seq| record(seq, 200)).collect()).expect("insert");
        assert!(!by_count.over_limit());
        by_count.hold(vec![record(super::FOLD_AT as i64, 200)]).expect("insert");
        assert!(by_count.over_limit());

        let by_bytes = super::Pending::default();
        by_bytes.hold(vec![record(1, super::FOLD_AT_BYTES / 2)]).expect("insert");
        assert!(!by_bytes.over_limit());
        by_bytes.hold(vec![record(1, super::FOLD_AT_BYTES)]).expect("a seq held already is skipped");
        assert!(!by_bytes.over_limit());
        by_bytes.hold(vec![record(2, super::FOLD_AT_BYTES / 2)]).expect("insert");
        assert!(by_bytes.over_limit());
    }

    #[tokio::test]
    async fn deferred_activity_reads_as_applied_before_and_after_it_is_folded_and_reopened() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("store.db");
        let (store, workspace) = open(&path).await;
        let users: Vec<User> = (1..=3).map(user).collect();
        let ids: Vec<Id> = users.iter().map(|u| u.id).collect();
        store.commit(workspace, &Commit { upsert: users.clone(), ..Commit::default() }).await.expect("create");
        let (first, second) = (message(5_000), message(6_000));
        let activity = vec![(ids[0], first.clone()), (ids[2], second.clone())];
        store.commit(workspace, &Commit { activity, ..Commit::default() }).await.expect("activity");
        let more = vec![(ids[0], second.clone())];
        store.commit(workspace, &Commit { activity: more, ..Commit::default() }).await.expect("more activity");

        let expected = vec![
            applied(users[0].clone(), &[&first, &second]),
            users[1].clone(),
            applied(users[2].clone(), &[&second]),
        ];
        assert_eq!(expected[0].unread, 2);
        for read in every_read(&store, workspace, &ids).await {
            assert_eq!(read, expected);
        }
        // Each commit of activity is a write of its users.
        assert_eq!(versions(&store, workspace, &ids).await, vec![3, 1, 2]);
        drop(store);

        let (store, workspace) = open(&path).await;
        for read in every_read(&store, workspace, &ids).await {
            assert_eq!(read, expected, "reopened before the fold");
        }
        assert_eq!(store.fold_activity(usize::MAX).await.expect("fold"), 3);
        assert_eq!(store.fold_activity(usize::MAX).await.expect("nothing left"), 0);
        for read in every_read(&store, workspace, &ids).await {
            assert_eq!(read, expected, "folded");
        }
        assert_eq!(versions(&store, workspace, &ids).await, vec![3, 1, 2], "a fold changes no version");
        drop(store);

        let (store, workspace) = open(&path).await;
        for read in every_read(&store, workspace, &ids).await {
            assert_eq!(read, expected, "reopened after the fold");
        }
    }

    #[tokio::test]
    async fn a_fold_takes_the_later_records_of_its_users_along() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, workspace) = open(&dir.path().join("store.db")).await;
        let original = user(1);
        let id = original.id;
        store.commit(workspace, &Commit { upsert: vec![original.clone()], ..Commit::default() }).await.expect("create");
        let (first, second) = (message(5_000), message(6_000));
        store.commit(workspace, &Commit { activity: vec![(id, first.clone())], ..Commit::default() }).await.expect("1");
        store
            .commit(workspace, &Commit { activity: vec![(id, second.clone())], ..Commit::default() })
            .await
            .expect("2");
        let expected = vec![applied(original, &[&first, &second])];
        for left in [1, 0] {
            assert_eq!(store.fold_activity(1).await.expect("fold"), 1);
            assert_eq!(store.pending_activity(), left);
            assert_eq!(store.users(workspace, &[id]).await.expect("read"), expected);
            assert_eq!(versions(&store, workspace, &[id]).await, vec![3]);
        }
    }

    #[tokio::test]
    async fn a_whole_write_after_activity_holds_its_version_and_includes_it_once() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, workspace) = open(&dir.path().join("store.db")).await;
        let original = user(1);
        let id = original.id;
        store.commit(workspace, &Commit { upsert: vec![original], ..Commit::default() }).await.expect("create");
        let activity = vec![(id, message(5_000))];
        store.commit(workspace, &Commit { activity, ..Commit::default() }).await.expect("activity");

        let [(mut read, version)] =
            <[_; 1]>::try_from(store.users_versioned(workspace, &[id]).await.expect("read")).expect("one");
        assert_eq!((read.unread, version), (1, 2));
        read.profile.name = Some("renamed".into());
        let stale = Commit { upsert: vec![read.clone()], expected: [(id, 1)].into(), ..Commit::default() };
        assert!(super::super::is_conflict(&store.commit(workspace, &stale).await.expect_err("stale version")));
        let write = Commit { upsert: vec![read.clone()], expected: [(id, version)].into(), ..Commit::default() };
        store.commit(workspace, &write).await.expect("current version");
        assert_eq!(
            store.users(workspace, &[id]).await.expect("read"),
            vec![read.clone()],
            "the activity is not applied twice"
        );
        assert_eq!(versions(&store, workspace, &[id]).await, vec![3]);

        // Activity after the write applies on top of it, also once folded.
        let later = message(7_000);
        store
            .commit(workspace, &Commit { activity: vec![(id, later.clone())], ..Commit::default() })
            .await
            .expect("later");
        let expected = applied(read, &[&later]);
        assert_eq!(store.users(workspace, &[id]).await.expect("read"), vec![expected.clone()]);
        store.fold_activity(usize::MAX).await.expect("fold");
        assert_eq!(store.users(workspace, &[id]).await.expect("read"), vec![expected]);
        assert_eq!(versions(&store, workspace, &[id]).await, vec![4]);
    }

    #[tokio::test]
    async fn two_stores_on_one_file_see_each_others_activity_and_folds() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("store.db");
        let (one, workspace) = open(&path).await;
        let (other, _) = open(&path).await;
        let original = user(1);
        let id = original.id;
        one.commit(workspace, &Commit { upsert: vec![original.clone()], ..Commit::default() }).await.expect("create");
        let (first, second) = (message(5_000), message(6_000));
        one.commit(workspace, &Commit { activity: vec![(id, first.clone())], ..Commit::default() })
            .await
            .expect("first");
        assert_eq!(other.users(workspace, &[id]).await.expect("read"), vec![applied(original.clone(), &[&first])]);

        // The other store's version counts the activity it did not append, so a write read
        // before the activity conflicts there.
        let stale = Commit { upsert: vec![original.clone()], expected: [(id, 1)].into(), ..Commit::default() };
        assert!(super::super::is_conflict(&other.commit(workspace, &stale).await.expect_err("stale")));

        other.fold_activity(usize::MAX).await.expect("fold");
        one.commit(workspace, &Commit { activity: vec![(id, second.clone())], ..Commit::default() })
            .await
            .expect("second");
        let expected = applied(original, &[&first, &second]);
        for store in [&one, &other] {
            assert_eq!(store.users(workspace, &[id]).await.expect("read"), vec![expected.clone()]);
            assert_eq!(versions(store, workspace, &[id]).await, vec![3]);
        }
        one.fold_activity(usize::MAX).await.expect("fold");
        for store in [&one, &other] {
            assert_eq!(store.users(workspace, &[id]).await.expect("read"), vec![expected.clone()]);
        }
    }
}
