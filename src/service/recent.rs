//! Which users a workspace's recent writes touched, so that documents read before taking the
//! write lock can be reused under it: only those written in between are read again.

use std::collections::{HashSet, VecDeque};

use parking_lot::Mutex;

use crate::domain::Id;

/// Writes remembered; a read made before more writes than this happened is read again whole.
const KEEP: usize = 64;

#[derive(Default)]
pub struct RecentWrites {
    inner: Mutex<Recent>,
}

#[derive(Default)]
struct Recent {
    /// Counts the writes recorded (and the resets).
    generation: u64,
    /// The latest writes, oldest first: the generation each made and the users it touched.
    writes: VecDeque<(u64, Vec<Id>)>,
    /// Marks older than this cannot be answered (forgotten writes, or a reset).
    oldest_answerable: u64,
}

/// Where the writes stood when a read began.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mark(u64);

/// The users written since a mark.
pub enum Since {
    Users(HashSet<Id>),
    /// Too many writes since, or the whole state was replaced: everything read is stale.
    Everything,
}

impl RecentWrites {
    /// Taken before a read of documents that is to be reused later.
    pub fn mark(&self) -> Mark {
        Mark(self.inner.lock().generation)
    }

    /// A committed write touched these users. Called under the write lock, after the commit.
    pub fn record(&self, users: impl IntoIterator<Item = Id>) {
        let mut recent = self.inner.lock();
        recent.generation += 1;
        let generation = recent.generation;
        recent.writes.push_back((generation, users.into_iter().collect()));
        while recent.writes.len() > KEEP {
            if let Some((forgotten, _)) = recent.writes.pop_front() {
                recent.oldest_answerable = forgotten;
            }
        }
    }

    /// The state was replaced as a whole (a reload): every earlier read is stale.
    pub fn reset(&self) {
        let mut recent = self.inner.lock();
        recent.generation += 1;
        recent.writes.clear();
        recent.oldest_answerable = recent.generation;
    }

    pub fn since(&self, mark: Mark) -> Since {
        let recent = self.inner.lock();
        if mark.0 < recent.oldest_answerable {
            return Since::Everything;
        }
        let users = recent.writes.iter().filter(|(generation, _)| *generation > mark.0);
        Since::Users(users.flat_map(|(_, ids)| ids.iter().copied()).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(since: Since) -> Option<Vec<Id>> {
        match since {
            Since::Users(users) => {
                let mut users: Vec<Id> = users.into_iter().collect();
                users.sort();
                Some(users)
            }
            Since::Everything => None,
        }
    }

    #[test]
    fn answers_the_users_written_after_the_mark() {
        let recent = RecentWrites::default();
        let (a, b, c) = (Id::generate(), Id::generate(), Id::generate());
        recent.record([a]);
        let mark = recent.mark();
        assert_eq!(ids(recent.since(mark)), Some(vec![]));
        recent.record([b]);
        recent.record([c, b]);
        let mut expected = vec![b, c];
        expected.sort();
        assert_eq!(ids(recent.since(mark)), Some(expected));
    }

    #[test]
    fn a_mark_older_than_what_is_kept_or_a_reset_makes_everything_stale() {
        let recent = RecentWrites::default();
        let mark = recent.mark();
        for _ in 0..KEEP {
            recent.record([Id::generate()]);
        }
        assert_eq!(ids(recent.since(mark)).map(|u| u.len()), Some(KEEP));
        recent.record([Id::generate()]);
        assert!(ids(recent.since(mark)).is_none());
        let mark = recent.mark();
        recent.reset();
        assert!(ids(recent.since(mark)).is_none());
        assert_eq!(ids(recent.since(recent.mark())), Some(vec![]));
    }
}
