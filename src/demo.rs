//! Fills a workspace with realistic demo data: the `inboxd demo` command.

mod ascii;
mod catalog;
mod cultures;
pub(crate) mod user;
mod words;

use std::ops::Range;
use std::sync::Arc;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::task::JoinHandle;

use crate::domain::{Timestamp, WorkspaceId};
use crate::model::User;
use crate::store::{Commit, Store};
use catalog::Catalog;
use user::Population;

/// Users written per store commit.
const BATCH: usize = 10_000;
/// The same seed gives the same demo (ids and times aside).
const SEED: u64 = 0x1b0c_5eed;

/// What the demo added to the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DemoSummary {
    pub users: usize,
    pub bots: usize,
    pub agents: usize,
    pub segments: usize,
}

/// Adds one bot per channel, eight agents, six segments and `contacts` users to the workspace,
/// counting users on a progress bar on stderr when `show_progress` is set. Needs a Tokio runtime.
pub async fn generate(
    store: &dyn Store,
    workspace: WorkspaceId,
    contacts: usize,
    show_progress: bool,
) -> anyhow::Result<DemoSummary> {
    let catalog = Catalog::new(Timestamp::now())?;
    save_catalog(store, workspace, &catalog).await?;
    let population = Arc::new(Population::new(catalog.bot_ids(), catalog.agent_ids())?);
    let progress = progress_bar(contacts, show_progress)?;
    let users = add_users(store, workspace, population, contacts, &progress).await?;
    progress.finish();
    Ok(DemoSummary { users, bots: catalog.bots.len(), agents: catalog.agents.len(), segments: catalog.segments.len() })
}

async fn save_catalog(store: &dyn Store, workspace: WorkspaceId, catalog: &Catalog) -> anyhow::Result<()> {
    for bot in &catalog.bots {
        store.insert_bot(workspace, bot).await.context("saving a demo bot")?;
    }
    for agent in &catalog.agents {
        store.insert_agent(workspace, agent).await.context("saving a demo agent")?;
    }
    for segment in &catalog.segments {
        store.insert_segment(workspace, segment).await.context("saving a demo segment")?;
    }
    Ok(())
}

fn progress_bar(contacts: usize, show_progress: bool) -> anyhow::Result<ProgressBar> {
    if !show_progress {
        return Ok(ProgressBar::hidden());
    }
    let style =
        ProgressStyle::with_template("{wide_bar} {human_pos}/{human_len} users  {per_sec}  ETA {eta}  [{elapsed}]")
            .context("progress bar template")?;
    Ok(ProgressBar::new(contacts as u64).with_style(style))
}

/// Commits the users batch by batch, drawing the next batch on a blocking thread meanwhile.
async fn add_users(
    store: &dyn Store,
    workspace: WorkspaceId,
    population: Arc<Population>,
    contacts: usize,
    progress: &ProgressBar,
) -> anyhow::Result<usize> {
    let mut batches = (0..contacts).step_by(BATCH).map(|first| first..(first + BATCH).min(contacts));
    let Some(first) = batches.next() else { return Ok(0) };
    let mut drawing = draw_batch(population.clone(), StdRng::seed_from_u64(SEED), first);
    let mut added = 0;
    loop {
        let (users, rng) = drawing.await.context("drawing demo users")?;
        let next = batches.next().map(|indices| draw_batch(population.clone(), rng, indices));
        let count = users.len();
        store.commit(workspace, &Commit { upsert: users, ..Commit::default() }).await.context("saving demo users")?;
        added += count;
        progress.inc(count as u64);
        match next {
            Some(next) => drawing = next,
            None => return Ok(added),
        }
    }
}

/// The users with these indices, and the generator to draw the following ones with.
fn draw_batch(population: Arc<Population>, mut rng: StdRng, indices: Range<usize>) -> JoinHandle<(Vec<User>, StdRng)> {
    tokio::task::spawn_blocking(move || {
        let now = Timestamp::now();
        let users = indices.map(|index| user::user(&mut rng, &population, index, now)).collect();
        (users, rng)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Id, Platform};
    use crate::engine::{Clock, Engine};
    use crate::query::SegmentDefinition;

    #[test]
    fn every_segment_holds_some_users_but_not_all() {
        let now = Timestamp::now();
        let catalog = Catalog::new(now).expect("catalog");
        let population = Population::new(catalog.bot_ids(), catalog.agent_ids()).expect("population");
        let mut rng = StdRng::seed_from_u64(SEED);
        let mut engine = Engine::new();
        for index in 0..2_000 {
            engine.upsert(&user::user(&mut rng, &population, index, now));
        }
        let bot_platform = |id: Id| Platform::ALL.into_iter().find(|platform| catalog.bot(*platform) == id);
        let clock = Clock { now, window_ms: 120_000 };
        for segment in &catalog.segments {
            let definition = SegmentDefinition::parse(&segment.definition, &bot_platform).expect("stored form parses");
            let count = engine.count(&definition.to_filter(), clock);
            assert!((10..1_000).contains(&count), "{} holds {count} of 2000", definition.name);
        }
    }

    #[tokio::test]
    async fn the_demo_is_saved_in_whole_batches_and_a_last_partial_one() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let store = crate::store::SqliteStore::open(&dir.path().join("demo.db")).expect("store");
        let workspace = store.ensure_workspace("demo").await.expect("workspace");
        let summary = generate(&store, workspace, BATCH + 345, false).await.expect("demo");
        assert_eq!(summary, DemoSummary { users: BATCH + 345, bots: 4, agents: 8, segments: 6 });
        let mut saved = 0;
        store.scan_users(workspace, &mut |users| saved += users.len()).await.expect("scan");
        assert_eq!(saved, BATCH + 345);
        assert_eq!(store.bots(workspace).await.expect("bots").len(), 4);
        assert_eq!(store.segments(workspace).await.expect("segments").len(), 6);
    }
}
