//! The export of a narrow match: the users read by id, chunk after chunk in sort order.
//!
//! The chunks are a pipeline: while one chunk's rows are written (on a blocking thread, straight
//! into the CSV buffer), the next chunk's documents are already being read from the store in one
//! statement, so the two cores are both busy.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::{send, Export, Stop};
use crate::csv_format::export::CsvRows;
use crate::domain::Id;
use crate::model::{ExportedUser, User};
use crate::service::{App, Workspace};

/// Users fetched from the store per chunk (and rows handed to the response at a time).
const CHUNK: usize = 2_000;

/// Reads one chunk's documents in the background.
fn read_chunk(app: &Arc<App>, workspace: &Workspace, ids: &[Id]) -> JoinHandle<anyhow::Result<Vec<User>>> {
    let store = app.store.clone();
    let (workspace, ids) = (workspace.id, ids.to_vec());
    tokio::spawn(async move { store.users(workspace, &ids).await })
}

pub(super) async fn run(
    app: &Arc<App>,
    workspace: &Arc<Workspace>,
    export: Export,
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Stop> {
    let plan = Arc::new(export.plan);
    let chunks: Vec<&[Id]> = export.ids.chunks(CHUNK).collect();
    let mut rows = CsvRows::new();
    let mut next = chunks.first().map(|chunk| read_chunk(app, workspace, chunk));
    for i in 0..chunks.len() {
        let Some(reading) = next.take() else { break };
        let users = reading.await.map_err(anyhow::Error::from).and_then(|read| read);
        let users = users.map_err(Stop::failed("store read failed"))?;
        next = chunks.get(i + 1).map(|chunk| read_chunk(app, workspace, chunk));
        let clock = workspace.clock();
        let plan = plan.clone();
        let written = tokio::task::spawn_blocking(move || {
            for user in &users {
                plan.write(&mut rows, &ExportedUser::from(user), clock);
            }
            let bytes = rows.take_bytes();
            (rows, bytes)
        })
        .await;
        let (back, bytes) = written.map_err(|error| Stop::Failed("writing rows failed", error.into()))?;
        rows = back;
        if let Err(stop) = send(sender, bytes).await {
            if let Some(reading) = next {
                reading.abort();
            }
            return Err(stop);
        }
    }
    Ok(())
}
