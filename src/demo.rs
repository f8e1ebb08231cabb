//! Fills a workspace with realistic demo data: the `inboxd demo` command.

mod ascii;
mod catalog;
mod cultures;
mod user;
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
    Ok(DemoSummary {
        users,
        bots: catalog.bots.len(),
        agents: catalog.agents.len(),
        segments: catalog.segments.len(),
    })
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
}

#[cfg(test)]
mod bench_tmp {
    use super::*;

    #[test]
    #[ignore]
    fn bench_pure() {
        let now = Timestamp::now();
        let catalog = Catalog::new(now).expect("catalog");
        let population = Population::new(catalog.bot_ids(), catalog.agent_ids()).expect("population");
        let mut rng = StdRng::seed_from_u64(SEED);
        let started = std::time::Instant::now();
        let mut n = 0;
        for batch in 0..100 {
            let users: Vec<User> = (batch * 10_000..(batch + 1) * 10_000).map(|i| user::user(&mut rng, &population, i, now)).collect();
            n += users.len();
        }
        eprintln!("pure: {n} users in {:?}", started.elapsed());
        let users: Vec<User> = (0..10_000).map(|i| user::user(&mut rng, &population, i, now)).collect();
        let started = std::time::Instant::now();
        let bytes: usize = users.iter().map(|u| rmp_serde::to_vec_named(u).unwrap().len()).sum();
        eprintln!("encode 10k: {:?}, {} bytes avg", started.elapsed(), bytes / 10_000);
        eprintln!("{}", serde_json::to_string_pretty(&crate::model::user_json(&users[3], &[], now, 120_000)).unwrap());
        eprintln!("{}", serde_json::to_string_pretty(&crate::model::user_json(&users[7], &[], now, 120_000)).unwrap());
    }

    #[test]
    #[ignore]
    fn bench_store() {
        let n: usize = std::env::var("DEMO_N").ok().and_then(|s| s.parse().ok()).unwrap_or(100_000);
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = crate::store::SqliteStore::open(&dir.path().join("demo.db")).unwrap();
            let ws = store.ensure_workspace("demo").await.unwrap();
            let started = std::time::Instant::now();
            let summary = generate(&store, ws, n, true).await.unwrap();
            eprintln!("store: {summary:?} in {:?}", started.elapsed());
            let size = std::fs::metadata(dir.path().join("demo.db")).map(|m| m.len()).unwrap_or(0);
            eprintln!("db size {} MB", size / 1_000_000);
        });
    }
}
