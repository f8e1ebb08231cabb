//! CSV export: every matching user in sort order, streamed in chunks so memory stays flat.
//!
//! The chunks are a pipeline: while one chunk's rows are written (on a blocking thread, straight
//! into the CSV buffer), the next chunk's documents are already being read from the store in one
//! statement, so the two cores are both busy.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{App, Workspace};
use crate::csv_format::export::{header, CsvRows};
use crate::domain::Id;
use crate::model::User;
use crate::query::Query;

/// Users fetched from the store per chunk (and rows handed to the response at a time).
const CHUNK: usize = 2_000;

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

/// Reads one chunk's documents in the background.
fn read_chunk(app: &Arc<App>, workspace: &Workspace, ids: &[Id]) -> JoinHandle<anyhow::Result<Vec<User>>> {
    let store = app.store.clone();
    let (workspace, ids) = (workspace.id, ids.to_vec());
    tokio::spawn(async move { store.users(workspace, &ids).await })
}

/// Streams the CSV: a header row, then the users chunk by chunk. A failure mid-stream
/// ends the body early (the status line is already sent) and is logged.
pub fn stream(
    app: Arc<App>,
    workspace: Arc<Workspace>,
    export: Export,
) -> mpsc::Receiver<Result<Bytes, std::io::Error>> {
    let (sender, receiver) = mpsc::channel(4);
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let mut rows = CsvRows::new();
        if let Err(error) = rows.write_row(&header(&export.attribute_keys)) {
            let _ = sender.send(Err(std::io::Error::other(error))).await;
            return;
        }
        let export = Arc::new(export);
        let chunks: Vec<&[Id]> = export.ids.chunks(CHUNK).collect();
        let mut next = chunks.first().map(|chunk| read_chunk(&app, &workspace, chunk));
        for i in 0..chunks.len() {
            let Some(reading) = next.take() else { break };
            let users = match reading.await.map_err(anyhow::Error::from).and_then(|read| read) {
                Ok(users) => users,
                Err(error) => {
                    tracing::error!(workspace = workspace.id, %error, "export stopped: store read failed");
                    let _ = sender.send(Err(std::io::Error::other("store read failed"))).await;
                    return;
                }
            };
            next = chunks.get(i + 1).map(|chunk| read_chunk(&app, &workspace, chunk));
            let clock = workspace.clock();
            let plan = export.clone();
            let written = tokio::task::spawn_blocking(move || {
                for user in &users {
                    let agent = user.agent.and_then(|a| plan.agent_names.get(&a)).map(String::as_str);
                    let online = user.is_online(clock.now, clock.window_ms);
                    rows.write_user(user, agent, &plan.attribute_keys, online);
                }
                let bytes = rows.take_bytes();
                (rows, bytes)
            })
            .await;
            let bytes = match written {
                Ok((back, bytes)) => {
                    rows = back;
                    bytes
                }
                Err(error) => {
                    tracing::error!(workspace = workspace.id, %error, "export stopped: writing rows failed");
                    let _ = sender.send(Err(std::io::Error::other("writing rows failed"))).await;
                    return;
                }
            };
            if sender.send(Ok(Bytes::from(bytes))).await.is_err() {
                tracing::info!(workspace = workspace.id, "export cancelled by the client");
                if let Some(reading) = next {
                    reading.abort();
                }
                return;
            }
        }
        let tail = rows.take_bytes();
        if !tail.is_empty() {
            let _ = sender.send(Ok(Bytes::from(tail))).await;
        }
        tracing::info!(
            workspace = workspace.id,
            rows = export.ids.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "export finished"
        );
    });
    receiver
}
