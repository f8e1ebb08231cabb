//! The export of much of a workspace: every stored document read in id order, the matching ones
//! written as rows on both cores, then handed out in sort order by `Reorder`.
//!
//! Nothing but the header can be sent before the walk ends (the first row in sort order may be
//! stored last); the rows wait in `Reorder`, on disk beyond a few MB.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use super::reorder::{BucketRows, Reorder};
use super::{send, Export, Plan, Stop};
use crate::csv_format::export::CsvRows;
use crate::domain::Id;
use crate::engine::Clock;
use crate::service::{App, Workspace};
use crate::store::codec::decode_exported;
use crate::store::Documents;

/// Documents read from the store at a time (about half a MB).
const PAGE: usize = 2_048;
/// Pages written as rows at once: one per core, while the store reads the next.
const WRITERS: usize = 2;

/// The export's ids with their positions in sort order, sorted by id: the walk meets users in id
/// order, so it finds their positions by merging, not by searching, reading this list front to back
/// (16 bytes a user).
struct Positions {
    by_id: Vec<(Id, u32)>,
}

impl Positions {
    fn new(ids: Vec<Id>) -> Positions {
        // u32 positions: an export of more than 4 billion users is out of reach anyway.
        let mut by_id: Vec<(Id, u32)> = ids.iter().enumerate().map(|(at, id)| (*id, at as u32)).collect();
        drop(ids);
        by_id.sort_unstable();
        Positions { by_id }
    }

    fn id_at(&self, cursor: usize) -> Option<Id> {
        self.by_id.get(cursor).map(|&(id, _)| id)
    }

    /// The export position of each of the page's documents that is exported.
    fn placed<'d>(&'d self, documents: &'d Documents) -> impl Iterator<Item = (usize, &'d [u8])> + 'd {
        let (mut cursor, mut last) = (0, None);
        documents.iter().filter_map(move |(id, document)| {
            if last.is_none_or(|last| id < last) {
                // The page's first document (or one out of id order): search.
                cursor = self.by_id.partition_point(|&(at, _)| at < id);
            }
            last = Some(id);
            while self.id_at(cursor).is_some_and(|at| at < id) {
                cursor += 1;
            }
            (self.id_at(cursor) == Some(id)).then(|| (self.by_id[cursor].1 as usize, document))
        })
    }
}

/// Reads the page after `after` into `into`, a page already written whose buffers are reused.
fn read_page(
    app: &Arc<App>,
    workspace: &Workspace,
    after: Option<Id>,
    into: Documents,
) -> JoinHandle<anyhow::Result<Documents>> {
    let store = app.store.clone();
    let workspace = workspace.id;
    tokio::spawn(async move { store.documents_after(workspace, after, PAGE, into).await })
}

/// Buffers of pages written, for the next pages to be read and written in: allocated once, so
/// an export's memory does not spread over the allocator arenas of every thread that reads or writes.
#[derive(Default)]
struct Spare {
    documents: Vec<Documents>,
    rows: Vec<CsvRows>,
}

/// Writes the page's exported users as rows (in `rows`, handed back for the next page) and gives
/// each to `reorder` at its position.
fn write_page(
    documents: &Documents,
    plan: &Plan,
    positions: &Positions,
    clock: Clock,
    mut rows: CsvRows,
    reorder: &Mutex<Reorder>,
) -> anyhow::Result<CsvRows> {
    let mut placed = Vec::new();
    for (position, document) in positions.placed(documents) {
        plan.write(&mut rows, &decode_exported(document)?, clock);
        placed.push((position, rows.len()));
    }
    let written = rows.written();
    let mut reorder = reorder.lock();
    let mut start = 0;
    for (position, end) in placed {
        reorder.add(position, &written[start..end])?;
        start = end;
    }
    drop(reorder);
    rows.clear();
    Ok(rows)
}

type Written = Option<Result<anyhow::Result<(Documents, CsvRows)>, tokio::task::JoinError>>;

/// A writer's buffers back for reuse, or why it failed.
fn joined(done: Written, spare: &mut Spare) -> Result<(), Stop> {
    if let Some(done) = done {
        let buffers = done.map_err(anyhow::Error::from).and_then(|written| written);
        let (documents, rows) = buffers.map_err(Stop::failed("writing rows failed"))?;
        spare.documents.push(documents);
        spare.rows.push(rows);
    }
    Ok(())
}

pub(super) async fn run(
    app: &Arc<App>,
    workspace: &Arc<Workspace>,
    export: Export,
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Stop> {
    let started = std::time::Instant::now();
    let rows = export.ids.len();
    let ids = export.ids;
    let positions = tokio::task::spawn_blocking(move || Positions::new(ids))
        .await
        .map_err(|error| Stop::Failed("preparing the export failed", error.into()))?;
    let positions = Arc::new(positions);
    let plan = Arc::new(export.plan);
    let reorder = Arc::new(Mutex::new(Reorder::new(rows)));

    let mut writing = JoinSet::new();
    // At most one page read and `WRITERS` written at a time: as many buffers, each allocated once.
    let mut spare = Spare::default();
    let mut reading = Some(read_page(app, workspace, None, Documents::default()));
    while let Some(read) = reading.take() {
        let documents = read.await.map_err(anyhow::Error::from).and_then(|read| read);
        let documents = documents.map_err(Stop::failed("store read failed"))?;
        if documents.len() == PAGE {
            let into = spare.documents.pop().unwrap_or_default();
            reading = Some(read_page(app, workspace, documents.last_id(), into));
        }
        while writing.len() >= WRITERS {
            joined(writing.join_next().await, &mut spare)?;
        }
        if sender.is_closed() {
            return Err(Stop::Cancelled);
        }
        let (plan, positions, reorder, clock) = (plan.clone(), positions.clone(), reorder.clone(), workspace.clock());
        let rows = spare.rows.pop().unwrap_or_default();
        writing.spawn_blocking(move || {
            let rows = write_page(&documents, &plan, &positions, clock, rows, &reorder)?;
            Ok((documents, rows))
        });
    }
    while !writing.is_empty() {
        joined(writing.join_next().await, &mut spare)?;
    }
    drop((positions, spare));
    tracing::debug!(
        workspace = workspace.id,
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "export walk done"
    );

    let reorder = std::mem::replace(&mut *reorder.lock(), Reorder::new(0));
    send_in_order(reorder.into_buckets().collect(), sender).await
}

/// Sends the buckets' rows, each bucket put in order on a thread of the export's own while the one
/// before is sent: the few MB a bucket takes are then allocated and freed in one allocator arena,
/// not in those of whichever pool threads are free, which would each keep their share.
async fn send_in_order(
    buckets: Vec<BucketRows>,
    sender: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Stop> {
    let expected = buckets.len();
    let runtime = tokio::runtime::Handle::current();
    let (ordered_sender, mut ordered) = mpsc::channel(1);
    std::thread::Builder::new()
        .name("export-order".into())
        .spawn(move || {
            for bucket in buckets {
                // A slot before the work: no bucket is put in order further ahead than the next.
                let Ok(slot) = runtime.block_on(ordered_sender.reserve()) else { return };
                slot.send(bucket.in_order());
            }
        })
        .map_err(|error| Stop::Failed("starting the export's ordering failed", error.into()))?;
    let mut received = 0;
    while let Some(bucket) = ordered.recv().await {
        let bytes = bucket.map_err(|error| Stop::Failed("reading reordered rows failed", error.into()))?;
        send(sender, bytes).await?;
        received += 1;
    }
    if received != expected {
        return Err(Stop::Failed("reading reordered rows failed", anyhow::anyhow!("the ordering thread stopped")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Id {
        Id::from_bytes([n; 12])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn rows_added_in_any_order_are_sent_in_position_order_bucket_after_bucket() {
        let rows = 20_000;
        let mut reorder = Reorder::new(rows);
        for position in (0..rows).rev() {
            reorder.add(position, format!("{position}\n").as_bytes()).expect("add");
        }
        let buckets: Vec<BucketRows> = reorder.into_buckets().collect();
        assert!(buckets.len() > 2, "several buckets");
        let (sender, mut receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(4);
        let collected = tokio::spawn(async move {
            let mut bytes = Vec::new();
            while let Some(piece) = receiver.recv().await {
                bytes.extend_from_slice(&piece.expect("a piece"));
            }
            bytes
        });
        assert!(send_in_order(buckets, &sender).await.is_ok());
        drop(sender);
        let expected: String = (0..rows).map(|position| format!("{position}\n")).collect();
        assert_eq!(String::from_utf8(collected.await.expect("collected")).expect("utf-8"), expected);
    }

    #[test]
    fn a_page_in_id_order_finds_the_positions_of_its_exported_users() {
        // Sort order 5, 2, 9, 7: positions 0, 1, 2, 3.
        let positions = Positions::new(vec![id(5), id(2), id(9), id(7)]);
        let mut page = Documents::default();
        for n in [1, 2, 3, 7, 8, 9] {
            page.push(id(n), &[n]);
        }
        let placed: Vec<(usize, Vec<u8>)> = positions.placed(&page).map(|(at, doc)| (at, doc.to_vec())).collect();
        assert_eq!(placed, [(1, vec![2]), (3, vec![7]), (2, vec![9])]);
        // A page out of id order still finds them (searched, not merged).
        let mut shuffled = Documents::default();
        for n in [9, 5, 7] {
            shuffled.push(id(n), &[n]);
        }
        let placed: Vec<usize> = positions.placed(&shuffled).map(|(at, _)| at).collect();
        assert_eq!(placed, [2, 0, 3]);
    }
}
