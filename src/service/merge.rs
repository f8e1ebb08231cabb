//! The changes writes make to the presorted orders are merged into them by the first query that
//! walks an order with many pending; after a burst of writes with no query between (events from
//! the channels at night, an import), that query would merge them all. So once a workspace's
//! writes pause, a task merges them instead.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::App;
use crate::domain::WorkspaceId;

/// How often the task looks; a workspace with no write since the last look counts as paused.
const MERGE_POLL: Duration = Duration::from_millis(250);

impl App {
    /// Starts the task; it ends when the App is dropped.
    pub fn merge_orders_when_idle(self: &Arc<Self>) {
        tokio::spawn(merge_when_idle(Arc::downgrade(self)));
    }
}

async fn merge_when_idle(app: Weak<App>) {
    let mut seen = HashMap::<WorkspaceId, _>::new();
    loop {
        tokio::time::sleep(MERGE_POLL).await;
        let Some(app) = app.upgrade() else { return };
        for workspace in app.loaded_workspaces() {
            let mark = workspace.recent.mark();
            let paused = seen.insert(workspace.id, mark) == Some(mark);
            if !paused || !workspace.engine.read().orders_need_merge() {
                continue;
            }
            // One order at a time, each under the engine's read lock: a write that arrives waits
            // for one order's merge at most, and ends the round.
            let merged = tokio::task::spawn_blocking(move || {
                let started = Instant::now();
                let mut merged = 0;
                while workspace.recent.mark() == mark && workspace.engine.read().merge_one_order() {
                    merged += 1;
                }
                (workspace.id, merged, started.elapsed())
            })
            .await;
            if let Ok((workspace, orders, elapsed)) = merged {
                let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
                tracing::debug!(workspace, orders, elapsed_ms, "merged pending changes into presorted orders");
            }
        }
    }
}
