//! CSV export: every matching user in sort order, streamed in chunks so memory stays flat.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{App, Workspace};
use crate::csv_format::export::{header, record, CsvRows};
use crate::domain::Id;
use crate::query::Query;

/// Users fetched from the store per chunk.
const CHUNK: usize = 1_000;

/// What an export will write, fixed at the moment of the query.
pub struct Export {
    ids: Vec<Id>,
    attribute_keys: Vec<String>,
    agent_names: HashMap<Id, String>,
}

pub fn prepare(workspace: &Workspace, query: &Query) -> Export {
    let clock = workspace.clock();
    let engine = workspace.engine.read();
    let ids = engine.all_sorted(&query.filter, query.sort, clock);
    let attribute_keys = engine.attribute_keys();
    let agent_names = workspace.catalog.read().agents.iter().map(|a| (a.id, a.name.clone())).collect();
    Export { ids, attribute_keys, agent_names }
}

/// Streams the CSV: a header row, then the users chunk by chunk. A failure mid-stream
/// ends the body early (the status line is already sent) and is logged.
pub fn stream(app: Arc<App>, workspace: Arc<Workspace>, export: Export) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (sender, receiver) = mpsc::channel(4);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let mut rows = CsvRows::new();
        let write = |rows: &mut CsvRows, cells: &[String]| rows.write_row(cells).map_err(std::io::Error::other);
        if let Err(error) = write(&mut rows, &header(&export.attribute_keys)) {
            let _ = sender.send(Err(error)).await;
            return;
        }
        for chunk in export.ids.chunks(CHUNK) {
            let users = match app.store.users(workspace.id, chunk).await {
                Ok(users) => users,
                Err(error) => {
                    tracing::error!(workspace = workspace.id, %error, "export stopped: store read failed");
                    let _ = sender.send(Err(std::io::Error::other("store read failed"))).await;
                    return;
                }
            };
            let clock = workspace.clock();
            for user in &users {
                let agent = user.agent.and_then(|a| export.agent_names.get(&a)).map(String::as_str);
                let online = user.is_online(clock.now, clock.window_ms);
                if let Err(error) = write(&mut rows, &record(user, agent, &export.attribute_keys, online)) {
                    let _ = sender.send(Err(error)).await;
                    return;
                }
            }
            if sender.send(Ok(Bytes::from(rows.take_bytes()))).await.is_err() {
                tracing::info!(workspace = workspace.id, "export cancelled by the client");
                return;
            }
        }
        let tail = rows.take_bytes();
        if !tail.is_empty() {
            let _ = sender.send(Ok(Bytes::from(tail))).await;
        }
        tracing::info!(workspace = workspace.id, rows = export.ids.len(), elapsed_ms = started.elapsed().as_millis() as u64, "export finished");
    });
    receiver
}
