//! Copies committed pages from the SQLite WAL into the database file on a thread of its own, so
//! that a commit waits only for its own WAL write and sync.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use rusqlite::Connection;

/// Frames the WAL may hold before a commit checkpoints by itself (SQLite's auto-checkpoint),
/// should the thread fall that far behind: bounds the WAL at about 64 MB of 4 KiB pages. The
/// default (1,000) is about one batch of events, so nearly every commit would checkpoint.
pub const WAL_BOUND_PAGES: i64 = 16_384;

/// The handle of the checkpoint thread; the thread ends when the handle is dropped.
pub struct Checkpointer {
    wake: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread with a connection of its own to the database.
    pub fn start(conn: Connection) -> std::io::Result<Checkpointer> {
        let (wake, woken) = sync_channel(1);
        std::thread::Builder::new().name("sqlite-checkpoint".into()).spawn(move || run(&conn, &woken))?;
        Ok(Checkpointer { wake })
    }

    /// Asks for a checkpoint after a commit, without waiting; a request already pending covers it.
    pub fn wake(&self) {
        let _ = self.wake.try_send(());
    }
}

fn run(conn: &Connection, woken: &Receiver<()>) {
    while woken.recv().is_ok() {
        // PASSIVE waits for no one: it copies the frames no open read still needs; the next one
        // copies the rest. Each commit synced its frames already, so a crash at any point loses
        // nothing (SQLite replays the WAL on open).
        let done = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get::<_, i64>(0));
        if let Err(error) = done {
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}
