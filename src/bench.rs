//! The benchmark of issue 3: `inboxd bench --contacts N` generates the demo data set, starts the real
//! server on loopback and measures the engine, HTTP, export, ingest, cold start and memory.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::domain::{Id, Platform, Role, Timestamp};
use crate::server::{open_store, start, RunningServer, Settings};
use crate::service::Workspace;
use crate::store::{FOLD_AT, FOLD_CHUNK};

const WORKSPACE: &str = "bench";
/// Engine timings per shape.
const ENGINE_RUNS: usize = 300;
/// HTTP timings per shape with one client.
const HTTP_RUNS: usize = 200;
/// How long each shape is driven by the concurrent clients.
const LOAD_TIME: Duration = Duration::from_millis(1500);
const CONNECTIONS: usize = 16;
const INGEST_BATCHES: usize = 40;
const EVENTS_PER_BATCH: usize = 1_000;
/// Bots and channels post their events side by side: the batches are also sent over this many
/// connections at once.
const INGEST_CONNECTIONS: usize = 4;

pub struct BenchSettings {
    pub contacts: usize,
    /// The store to use; a temporary one (removed afterwards) when None. An existing workspace
    /// "bench" in it is reused as it is.
    pub db: Option<PathBuf>,
    /// Only the engine, cold start and memory: no HTTP timings, export or ingest.
    pub engine_only: bool,
    /// Only the CSV export: no engine or HTTP timings, cold start parts, ingest or memory.
    pub export_only: bool,
    /// Only the ingest: no engine or HTTP timings, cold start parts, export or memory.
    pub ingest_only: bool,
}

/// Runs the benchmark and returns its report (markdown).
pub async fn run(settings: BenchSettings) -> anyhow::Result<String> {
    let temporary = settings.db.is_none();
    let db = settings
        .db
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("inboxd-bench-{}", std::process::id())).join("bench.db"));
    let result = bench(&settings, &db).await;
    if temporary {
        if let Some(dir) = db.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    result
}

async fn bench(settings: &BenchSettings, db: &std::path::Path) -> anyhow::Result<String> {
    let mut report = String::new();
    let generated = prepare(db, settings.contacts).await?;
    report.push_str(&generated);
    if settings.export_only || settings.ingest_only {
        report.push_str(&measure_alone(db, settings.export_only).await?);
        return Ok(report);
    }

    let settings_of_server = Settings { db: db.to_path_buf(), listen: "127.0.0.1:0".into(), ..Settings::default() };
    // The first cold start builds the engine from the store: no snapshot may be there.
    forget_snapshot(&settings_of_server).await?;
    // Cold start: open the store, load the workspace into a new engine, answer the first query.
    let rss_before_load = rss_kib("VmRSS:");
    let started = Instant::now();
    let server = start(settings_of_server.clone()).await?;
    let secret = crate::auth::create_token(&*server.store, WORKSPACE, Role::Admin).await?;
    let mut client = Client::connect(&server, &secret).await?;
    let first = client.post("/inbox/users", &json!({})).await?;
    let cold_start = started.elapsed();
    if first.0 != 200 {
        bail!("the first query answered {}", first.0);
    }
    let rss_after_load = rss_kib("VmRSS:");

    let workspace_id = server.store.ensure_workspace(WORKSPACE).await?;
    let workspace = server.app.workspace(workspace_id).await?;
    let users = workspace.engine.read().len();
    // The snapshot written in the background after the build would disturb the timings below.
    while server.app.snapshots.is_some() && workspace.snapshot_seq() < 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let shapes = shapes(&server, &workspace).await?;

    report.push_str(&format!(
        "\n{users} users. Engine p50/p99: `Engine::search` (compile, evaluate, sort, page, segments of the page) \
         under the read lock. HTTP: `POST /inbox/users` over loopback, keep-alive, whole response read; \
         one client for p50/p99, {CONNECTIONS} connections for requests/s.\n\n"
    ));
    report.push_str("| shape | total | engine p50 | engine p99 | HTTP p50 | HTTP p99 | req/s (16 conn) |\n");
    report.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    for (name, body) in &shapes {
        let query = crate::service::users::parse(&workspace, body).map_err(|e| anyhow::anyhow!("{name}: {e:?}"))?;
        let mut engine_times = Vec::with_capacity(ENGINE_RUNS);
        let mut total = 0;
        for _ in 0..ENGINE_RUNS {
            let clock = workspace.clock();
            let started = Instant::now();
            let page = workspace.engine.read().search(&query.filter, query.sort, query.page, query.limit, clock);
            engine_times.push(started.elapsed());
            total = page.total;
        }
        if settings.engine_only {
            report.push_str(&format!(
                "| {name} | {total} | {} | {} | - | - | - |\n",
                ms(percentile(&mut engine_times, 50)),
                ms(percentile(&mut engine_times, 99)),
            ));
            continue;
        }
        let mut http_times = Vec::with_capacity(HTTP_RUNS);
        for _ in 0..HTTP_RUNS {
            let started = Instant::now();
            let (status, _) = client.post("/inbox/users", body).await?;
            http_times.push(started.elapsed());
            if status != 200 {
                bail!("{name} answered {status}");
            }
        }
        let per_second = load(&server, &secret, body).await?;
        report.push_str(&format!(
            "| {name} | {total} | {} | {} | {} | {} | {per_second:.0} |\n",
            ms(percentile(&mut engine_times, 50)),
            ms(percentile(&mut engine_times, 99)),
            ms(percentile(&mut http_times, 50)),
            ms(percentile(&mut http_times, 99)),
        ));
    }

    let (export, ingest) = if settings.engine_only {
        (String::new(), String::new())
    } else {
        (export(&mut client, &workspace).await?, ingest(&server, &secret, &workspace).await?)
    };
    let memory = workspace.engine.read().memory();
    let per_user = |bytes: usize| bytes as f64 / users.max(1) as f64;
    drop(client);
    let snapshot = snapshot_start(server, workspace, &settings_of_server, &secret).await?;
    // Measured last: the engines built and freed here would otherwise leave the heap the measured
    // server builds its engine in fragmented, which a server starting afresh does not see.
    let parts = load_parts(db).await?;
    report.push_str("\n| measure | value |\n|---|---:|\n");
    report.push_str(&format!(
        "| cold start (open store, load workspace, first query answered over HTTP) | {:.2} s |\n",
        cold_start.as_secs_f64()
    ));
    report.push_str(&format!(
        "| reading every user from the store, alone | {:.2} s |\n\
         | building the engine from them in bulk, alone: wall (CPU of the feeding thread) | {:.2} s ({:.2} s) |\n\
         | of which finishing: last trigrams, sorting the orders on two threads (wall) | {:.2} s |\n\
         | building the same engine by one `upsert` per user, for comparison: wall (CPU) | {:.2} s ({:.2} s) |\n",
        parts.read.as_secs_f64(),
        parts.build.as_secs_f64(),
        parts.build_cpu.as_secs_f64(),
        parts.finish.as_secs_f64(),
        parts.upserts.as_secs_f64(),
        parts.upserts_cpu.as_secs_f64(),
    ));
    report.push_str(&format!(
        "| RSS growth while loading the workspace | {:.0} MiB ({:.0} bytes/user) |\n",
        (rss_after_load.saturating_sub(rss_before_load)) as f64 / 1024.0,
        per_user((rss_after_load.saturating_sub(rss_before_load) * 1024) as usize)
    ));
    report.push_str(&snapshot.report(users, memory.total()));
    report.push_str(&export);
    report.push_str(&ingest);
    report.push_str(&format!(
        "| index bytes/user: bitmaps and timelines | {:.0} |\n| index bytes/user: text arena and trigrams | {:.0} |\n\
         | index bytes/user: presorted orders | {:.0} |\n| **index bytes/user (the three above)** | **{:.0}** |\n\
         | rows bytes/user (per-user columns for sorting and exact checks, id map) | {:.0} |\n\
         | identities bytes/user (uuid, email, phone... lookups for imports and events) | {:.0} |\n\
         | engine total bytes/user | {:.0} |\n",
        per_user(memory.bitmaps),
        per_user(memory.text),
        per_user(memory.orders),
        per_user(memory.index()),
        per_user(memory.rows),
        per_user(memory.identities),
        per_user(memory.total()),
    ));
    Ok(report)
}

/// Cold start from the engine snapshot, against the build from the store measured before it.
struct SnapshotStart {
    write: Duration,
    /// Of which the engine's read lock was held.
    locked: Duration,
    bytes: u64,
    /// Reading the file into an engine, alone (no store, no replay).
    read: Duration,
    cold_start: Duration,
    replayed: usize,
    rss_growth_kib: u64,
    /// Engine bytes after loading the snapshot.
    memory: usize,
    /// The query just before, the first after the bench's earlier writes: it would merge what they
    /// changed in the presorted orders, had the background merge not done so once they paused, and
    /// would otherwise be counted as one during the snapshot.
    first_after_writes: Duration,
    /// Queries while the snapshot was written, writes arriving.
    during: QueriesDuring,
}

impl SnapshotStart {
    fn report(&self, users: usize, built_memory: usize) -> String {
        let per_user = |bytes: f64| bytes / users.max(1) as f64;
        format!(
            "| cold start from the engine snapshot (open store, read the snapshot, replay {} changes, first query answered over HTTP) | {:.2} s |\n\
             | reading the snapshot file into an engine, alone | {:.2} s |\n\
             | writing the snapshot (serialize, fsync, rename): wall (of which under the engine's read lock) | {:.2} s ({:.2} s) |\n\
             | first query after the bench's earlier writes (their changes to the presorted orders are merged by then in the background, once writes paused, or by this query) | {} |\n\
             | longest query while the snapshot is written, one client querying and one writing | {} ({} queries) |\n\
             | snapshot file size | {:.0} MB ({:.0} bytes/user) |\n\
             | RSS growth while loading the workspace from the snapshot | {:.0} MiB ({:.0} bytes/user) |\n\
             | engine total bytes/user: loaded from the snapshot (built from the store) | {:.0} ({:.0}) |\n",
            self.replayed,
            self.cold_start.as_secs_f64(),
            self.read.as_secs_f64(),
            self.write.as_secs_f64(),
            self.locked.as_secs_f64(),
            ms(self.first_after_writes),
            ms(self.during.longest),
            self.during.queries,
            self.bytes as f64 / 1e6,
            per_user(self.bytes as f64),
            self.rss_growth_kib as f64 / 1024.0,
            per_user(self.rss_growth_kib as f64 * 1024.0),
            per_user(self.memory as f64),
            per_user(built_memory as f64),
        )
    }
}

/// Removes the bench workspace's snapshot, if any.
async fn forget_snapshot(settings: &Settings) -> anyhow::Result<()> {
    let Some(dir) = crate::server::snapshot_dir(settings) else { return Ok(()) };
    let store = open_store(&settings.db).await?;
    let workspace = store.ensure_workspace(WORKSPACE).await?;
    let path = crate::service::snapshot::Snapshots::open(&dir, store.identity().await?)?.path(workspace);
    match std::fs::remove_file(&path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error.into()),
        _ => Ok(()),
    }
}

/// Writes the workspace's snapshot (timed), stops the server, then starts it again from the
/// snapshot and times the first query.
async fn snapshot_start(
    server: RunningServer,
    workspace: Arc<Workspace>,
    settings: &Settings,
    secret: &str,
) -> anyhow::Result<SnapshotStart> {
    let snapshots = server.app.snapshots.clone().context("snapshots are off for this store")?;
    let started = Instant::now();
    let (status, _) = Client::connect(&server, secret).await?.post("/inbox/users", &json!({})).await?;
    let first_after_writes = started.elapsed();
    if status != 200 {
        bail!("the first query after the writes answered {status}");
    }
    let (first_write, during) =
        queries_while(&server, secret, &workspace, snapshots.write(&*server.store, &workspace, true)).await?;
    first_write?.context("the snapshot was not written")?;
    // Written again with no writes arriving, so that the restart below replays nothing.
    let written = snapshots.write(&*server.store, &workspace, true).await?.context("the snapshot was not written")?;
    let path = written.path.clone();
    let started = Instant::now();
    let read = tokio::task::spawn_blocking(move || -> anyhow::Result<usize> {
        let mut file = std::fs::File::open(&path)?;
        let len = file.metadata()?.len();
        let header = crate::engine::read_header(&mut file, len)?;
        Ok(crate::engine::read_engine(&mut file, &header)?.len())
    })
    .await??;
    let read_time = started.elapsed();
    if read != written.users {
        bail!("the snapshot holds {read} users, {} were written", written.users);
    }
    drop(workspace);
    server.shutdown().await?;
    drop(snapshots);

    let rss_before = rss_kib("VmRSS:");
    let started = Instant::now();
    let server = start(settings.clone()).await?;
    let mut client = Client::connect(&server, secret).await?;
    let first = client.post("/inbox/users", &json!({})).await?;
    let cold_start = started.elapsed();
    if first.0 != 200 {
        bail!("the first query after the restart answered {}", first.0);
    }
    let rss_after = rss_kib("VmRSS:");
    let workspace = server.app.workspace(server.store.ensure_workspace(WORKSPACE).await?).await?;
    let replayed = match workspace.started_from {
        crate::service::StartedFrom::Snapshot { replayed, .. } => replayed,
        crate::service::StartedFrom::Store => bail!("the restart did not use the snapshot (see the log)"),
    };
    let (users, memory) = {
        let engine = workspace.engine.read();
        (engine.len(), engine.memory().total())
    };
    if users != written.users {
        bail!("{users} users after the restart, {} before", written.users);
    }
    drop(workspace);
    server.shutdown().await?;
    Ok(SnapshotStart {
        write: written.elapsed,
        locked: written.locked,
        bytes: written.bytes,
        read: read_time,
        cold_start,
        replayed,
        rss_growth_kib: rss_after.saturating_sub(rss_before),
        memory,
        first_after_writes,
        during,
    })
}

/// Every user of the workspace, oldest first.
fn user_ids(workspace: &Workspace) -> Vec<Id> {
    let sort = crate::query::Sort { by: crate::query::SortKey::CreatedAt, order: crate::query::Order::Asc };
    workspace.engine.read().all_sorted(&crate::query::Filter::All, sort, workspace.clock())
}

/// What one client querying saw while `work` ran and another client kept writing.
struct QueriesDuring {
    longest: Duration,
    queries: usize,
}

/// Runs `work` while one client sends queries and another sends events, one at a time each.
async fn queries_while<T>(
    server: &RunningServer,
    secret: &str,
    workspace: &Workspace,
    work: impl std::future::Future<Output = T>,
) -> anyhow::Result<(T, QueriesDuring)> {
    let user = *user_ids(workspace).first().context("the workspace has no user to write to")?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (mut querier, mut writer) = (Client::connect(server, secret).await?, Client::connect(server, secret).await?);
    let stopped = stop.clone();
    let queries = tokio::spawn(async move {
        let mut during = QueriesDuring { longest: Duration::ZERO, queries: 0 };
        while !stopped.load(Ordering::Relaxed) {
            let started = Instant::now();
            let (status, _) = querier.post("/inbox/users", &json!({})).await?;
            if status != 200 {
                bail!("a query answered {status}");
            }
            during.longest = during.longest.max(started.elapsed());
            during.queries += 1;
        }
        anyhow::Ok(during)
    });
    let stopped = stop.clone();
    let writes = tokio::spawn(async move {
        let event = json!([{"type": "presence", "userId": user, "online": true}]);
        while !stopped.load(Ordering::Relaxed) {
            let (status, body) = writer.post("/inbox/events", &event).await?;
            if status != 200 {
                bail!("an event answered {status}: {}", String::from_utf8_lossy(&body));
            }
        }
        anyhow::Ok(())
    });
    let done = work.await;
    stop.store(true, Ordering::Relaxed);
    let during = queries.await??;
    writes.await??;
    Ok((done, during))
}

/// The parts of loading a workspace, each measured alone (a cold start overlaps the first two).
struct LoadParts {
    read: Duration,
    build: Duration,
    /// CPU time of the thread that fed the builder (the machine may be shared: wall time says little).
    build_cpu: Duration,
    finish: Duration,
    upserts: Duration,
    upserts_cpu: Duration,
}

/// CPU time the calling thread has had so far (zero where there is no /proc).
fn thread_cpu() -> Duration {
    let schedstat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    Duration::from_nanos(schedstat.split_whitespace().next().and_then(|ns| ns.parse().ok()).unwrap_or(0))
}

async fn load_parts(db: &std::path::Path) -> anyhow::Result<LoadParts> {
    let store = open_store(db).await?;
    let workspace = store.ensure_workspace(WORKSPACE).await?;
    let started = Instant::now();
    let mut batches = Vec::new();
    store.scan_users(workspace, &mut |users| batches.push(users)).await?;
    let read = started.elapsed();
    // No await in between: the thread's CPU time is the build's alone.
    let (build, build_cpu, finish, upserts, upserts_cpu) = {
        let (started, cpu) = (Instant::now(), thread_cpu());
        let mut builder = crate::engine::Builder::new();
        batches.iter().flatten().for_each(|user| builder.add(user));
        let finishing = Instant::now();
        let engine = builder.finish();
        let (finish, build, build_cpu) = (finishing.elapsed(), started.elapsed(), thread_cpu() - cpu);
        drop(engine);
        let (started, cpu) = (Instant::now(), thread_cpu());
        let mut engine = crate::engine::Engine::new();
        batches.iter().flatten().for_each(|user| engine.upsert(user));
        (build, build_cpu, finish, started.elapsed(), thread_cpu() - cpu)
    };
    Ok(LoadParts { read, build, build_cpu, finish, upserts, upserts_cpu })
}

/// Makes sure the workspace holds the demo data set; says how long generating it took.
async fn prepare(db: &std::path::Path, contacts: usize) -> anyhow::Result<String> {
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let store = open_store(db).await?;
    let workspace = store.ensure_workspace(WORKSPACE).await?;
    // Counted, not read: decoding every document here would leave the heap fragmented for the
    // engine measured next.
    let existing = store.count_users(workspace).await?;
    if existing > 0 {
        return Ok(format!("Reused {existing} users already in {}.\n", db.display()));
    }
    let started = Instant::now();
    let summary = crate::demo::generate(&*store, workspace, contacts, true).await?;
    Ok(format!(
        "Generated {} demo users in {:.1} s ({:.0} users/s, into SQLite).\n",
        summary.users,
        started.elapsed().as_secs_f64(),
        summary.users as f64 / started.elapsed().as_secs_f64()
    ))
}

/// The query shapes of issue 3, named, with their request bodies.
async fn shapes(server: &RunningServer, workspace: &Workspace) -> anyhow::Result<Vec<(String, Value)>> {
    let (whatsapp, agents, segment) = {
        let catalog = workspace.catalog.read();
        let whatsapp = catalog.bots.iter().find(|b| b.platform == Platform::Whatsapp).map(|b| b.id);
        let agents: Vec<Id> = catalog.agents.iter().take(2).map(|a| a.id).collect();
        let segment = catalog.segments.first().map(|(record, _)| record.id);
        (whatsapp, agents, segment)
    };
    let (name_part, phone_part) = search_samples(server, workspace).await?;
    let month_ago = Timestamp(Timestamp::now().0 - 30 * 86_400_000).to_string();
    let mut shapes = vec![
        (
            "contract sample (vip, OPEN, limit 5, lastSeenAt desc)".to_string(),
            json!({"tags": ["vip"], "status": ["OPEN"], "limit": 5, "sort": {"by": "lastSeenAt", "order": "desc"}}),
        ),
        ("empty filter".into(), json!({})),
        ("one tag".into(), json!({"tags": ["vip"]})),
        (
            "two statuses, two agents".into(),
            json!({"status": ["OPEN", "PENDING"], "_agentAssigned": agents.iter().map(Id::to_string).collect::<Vec<_>>()}),
        ),
    ];
    if let Some(bot) = whatsapp {
        shapes.push((
            "WhatsApp bot, lastSeenAt last 30 days, userInteracted".into(),
            json!({"_botWhatsapp": [bot.to_string()], "lastSeenAt": {"startAt": month_ago, "endsAt": ""},
                   "userInteracted": true, "applicableFilters": ["userInteracted", "lastSeenAt"]}),
        ));
    }
    shapes.push((format!("4-letter name search ({name_part:?})"), json!({"searchText": name_part})));
    shapes.push((format!("5-digit phone search ({phone_part:?})"), json!({"searchText": phone_part})));
    if let Some(segment) = segment {
        shapes.push(("one segment".into(), json!({"segments": [segment.to_string()]})));
    }
    shapes.push(("page 2000 (limit 20)".into(), json!({"page": 2000, "limit": 20})));
    shapes.push((
        "createdAt asc, isContact".into(),
        json!({"isContact": true, "sort": {"by": "createdAt", "order": "asc"}}),
    ));
    shapes.push((
        "hasOrdered, lastMessageBy user".into(),
        json!({"hasOrdered": {"status": true, "lastAt": ""}, "lastMessageBy": ["user"], "applicableFilters": ["hasOrdered"]}),
    ));
    Ok(shapes)
}

/// Four letters of a real user's name and five digits of a real phone, as a person would type them.
async fn search_samples(server: &RunningServer, workspace: &Workspace) -> anyhow::Result<(String, String)> {
    let clock = workspace.clock();
    let ids = {
        let engine = workspace.engine.read();
        let sort = crate::query::Sort { by: crate::query::SortKey::CreatedAt, order: crate::query::Order::Desc };
        engine.search(&crate::query::Filter::All, sort, 1, 200, clock).users
    };
    let ids: Vec<Id> = ids.into_iter().map(|(id, _)| id).collect();
    let users = server.store.users(workspace.id, &ids).await?;
    let name = users
        .iter()
        .filter_map(|u| u.profile.name.as_deref())
        .map(crate::domain::text::fold)
        .find_map(|n| n.split_whitespace().find(|w| w.len() >= 5 && w.is_ascii()).map(|w| w[..4].to_string()))
        .unwrap_or_else(|| "mari".into());
    let phone = users
        .iter()
        .filter_map(|u| u.profile.phone.as_ref().map(|p| p.number.clone()))
        .find(|n| n.len() >= 8)
        .map(|n| n[2..7].to_string())
        .unwrap_or_else(|| "55512".into());
    Ok((name, phone))
}

/// Requests per second with `CONNECTIONS` clients asking the same query back to back.
async fn load(server: &RunningServer, secret: &str, body: &Value) -> anyhow::Result<f64> {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + LOAD_TIME;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut client = Client::connect(server, secret).await?;
        let body = body.clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                client.post("/inbox/users", &body).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    let started = Instant::now();
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// `--export-only` (`export_it`) or `--ingest-only`: the server started on the store and that
/// part measured, nothing before it.
async fn measure_alone(db: &std::path::Path, export_it: bool) -> anyhow::Result<String> {
    let server = start(Settings { db: db.to_path_buf(), listen: "127.0.0.1:0".into(), ..Settings::default() }).await?;
    let secret = crate::auth::create_token(&*server.store, WORKSPACE, Role::Admin).await?;
    let mut client = Client::connect(&server, &secret).await?;
    let workspace_id = server.store.ensure_workspace(WORKSPACE).await?;
    let workspace = server.app.workspace(workspace_id).await?;
    let measured =
        if export_it { export(&mut client, &workspace).await? } else { ingest(&server, &secret, &workspace).await? };
    Ok(format!("\n| measure | value |\n|---|---:|\n{measured}"))
}

/// The CSV export of every user (DELETED aside): rows per second and the peak RSS growth meanwhile.
async fn export(client: &mut Client, workspace: &Workspace) -> anyhow::Result<String> {
    let rows = workspace.engine.read().count(
        &crate::query::Filter::negate(crate::query::Filter::StatusIn(vec![crate::domain::Status::deleted()])),
        workspace.clock(),
    );
    // Writing 5 to clear_refs resets the peak (VmHWM) to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = rss_kib("VmRSS:");
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut bytes = 0usize;
    let status =
        client.post_streaming("/inbox/users", &json!({"isExport": "csv"}), &mut |chunk| bytes += chunk.len()).await?;
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu_before;
    let peak = rss_kib("VmHWM:");
    if status != 200 {
        bail!("the export answered {status}");
    }
    Ok(format!(
        "| CSV export, {rows} rows ({:.0} MB) | {:.0} rows/s ({:.2} s) |\n| CPU during the export (server and client) | {:.2} s ({:.2} µs/row) |\n| peak RSS growth during the export | {:.1} MiB |\n",
        bytes as f64 / 1e6,
        rows as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        cpu,
        cpu * 1e6 / rows.max(1) as f64,
        peak.saturating_sub(before) as f64 / 1024.0
    ))
}

/// Batches of events on users drawn at random (xorshift, the same every run).
struct Batches {
    ids: Vec<Id>,
    state: u64,
}

impl Batches {
    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn batch(&mut self) -> Value {
        let events: Vec<Value> = (0..EVENTS_PER_BATCH)
            .map(|_| {
                let drawn = (self.next() % self.ids.len() as u64) as usize;
                let user = self.ids[drawn].to_string();
                match self.next() % 4 {
                    0 | 1 => {
                        json!({"type": "message", "userId": user, "by": "user", "text": "Is my order on its way?"})
                    }
                    2 => json!({"type": "presence", "userId": user, "online": true}),
                    _ => json!({"type": "message", "userId": user, "by": "agent", "text": "It ships today."}),
                }
            })
            .collect();
        Value::Array(events)
    }
}

/// What one run of `send` took.
struct Sent {
    batches: usize,
    elapsed: Duration,
    cpu_seconds: f64,
}

impl Sent {
    fn events(&self) -> f64 {
        (self.batches * EVENTS_PER_BATCH) as f64
    }

    /// Events/s, ms per batch and µs of CPU (server and client) per event.
    fn rates(&self) -> String {
        format!(
            "{:.0} events/s ({:.1} ms per batch; {:.0} µs CPU per event, server and client)",
            self.events() / self.elapsed.as_secs_f64(),
            self.elapsed.as_secs_f64() * 1000.0 / self.batches as f64,
            self.cpu_seconds * 1e6 / self.events(),
        )
    }
}

/// Sends `batches` fresh batches over `connections` connections at once, each answered before the
/// connection sends its next.
async fn send(
    server: &RunningServer,
    secret: &str,
    source: &mut Batches,
    batches: usize,
    connections: usize,
) -> anyhow::Result<Sent> {
    let mut senders = Vec::new();
    for _ in 0..connections {
        let client = Client::connect(server, secret).await?;
        let batches: Vec<Value> = (0..batches / connections).map(|_| source.batch()).collect();
        senders.push((client, batches));
    }
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|(mut client, batches)| {
            tokio::spawn(async move {
                for batch in &batches {
                    let (status, body) = client.post("/inbox/events", batch).await?;
                    if status != 200 {
                        bail!("ingest answered {status}: {}", String::from_utf8_lossy(&body));
                    }
                }
                anyhow::Ok(batches.len())
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await??;
    }
    Ok(Sent { batches: sent, elapsed: started.elapsed(), cpu_seconds: cpu_seconds() - cpu_before })
}

/// Events per second through `POST /inbox/events`, 1,000 per batch, each batch one durable commit:
/// from one client, then from `INGEST_CONNECTIONS` clients at once (fresh batches each time); then
/// the folding of what they left pending, and a sustained run that keeps the fold busy.
async fn ingest(server: &RunningServer, secret: &str, workspace: &Workspace) -> anyhow::Result<String> {
    let ids = user_ids(workspace);
    if ids.is_empty() {
        return Ok(String::new());
    }
    let users = ids.len();
    let mut source = Batches { ids, state: 0x2545_f491_4f6c_dd1d };
    let mut report = String::new();
    for connections in [1, INGEST_CONNECTIONS] {
        let sent = send(server, secret, &mut source, INGEST_BATCHES, connections).await?;
        let plural = if connections == 1 { "" } else { "s" };
        report.push_str(&format!(
            "| ingest, {} batches of {EVENTS_PER_BATCH} events over HTTP, {connections} connection{plural} | {} |\n",
            sent.batches,
            sent.rates()
        ));
    }
    report.push_str(&fold(server).await?);
    report.push_str(&sustained(server, secret, &mut source, users).await?);
    Ok(report)
}

/// Folds what the ingest left pending (the embedded store defers what events do to users, and
/// folds it into their documents when the writer idles) at once, timed: the work the ingest
/// left for later.
async fn fold(server: &RunningServer) -> anyhow::Result<String> {
    let pending = server.store.pending_activity();
    if pending == 0 {
        return Ok("| folding the ingest's pending records into the documents afterwards | none was left |\n".into());
    }
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    fold_all(server).await?;
    let elapsed = started.elapsed();
    Ok(format!(
        "| folding the ingest's {pending} pending records into the documents afterwards, {FOLD_CHUNK} a transaction | {:.2} s ({:.0} records/s; {:.0} µs CPU per record) |\n",
        elapsed.as_secs_f64(),
        pending as f64 / elapsed.as_secs_f64(),
        (cpu_seconds() - cpu_before) * 1e6 / pending as f64,
    ))
}

async fn fold_all(server: &RunningServer) -> anyhow::Result<()> {
    while server.store.fold_activity(FOLD_CHUNK).await? > 0 {}
    Ok(())
}

/// Events without pause for long enough that the fold has to keep up: a first half fills the
/// pending records towards the limit past which the fold runs while writes come (`FOLD_AT`), the
/// second half is timed. Below 10,000 users (the test's small runs), a token run.
async fn sustained(server: &RunningServer, secret: &str, source: &mut Batches, users: usize) -> anyhow::Result<String> {
    let half = if users >= 10_000 { FOLD_AT / EVENTS_PER_BATCH } else { INGEST_CONNECTIONS };
    send(server, secret, source, half, INGEST_CONNECTIONS).await?;
    let sent = send(server, secret, source, half, INGEST_CONNECTIONS).await?;
    let pending = server.store.pending_activity();
    // What is left is folded before the measures that follow, which it would disturb.
    fold_all(server).await?;
    Ok(format!(
        "| ingest sustained: {} batches from {INGEST_CONNECTIONS} connections after {half} more, the fold running alongside ({pending} records pending at the end) | {} |\n",
        sent.batches,
        sent.rates()
    ))
}

fn percentile(times: &mut [Duration], p: usize) -> Duration {
    times.sort_unstable();
    let index = (times.len() * p / 100).min(times.len().saturating_sub(1));
    times.get(index).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> String {
    let ms = duration.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.3} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

/// A line of /proc/self/status in KiB (0 where there is no /proc).
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// User and system CPU time of the whole process, in seconds (0 where there is no /proc): with
/// other work on the machine, a steadier measure of the export's cost than its wall time.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    let ticks: u64 = fields.get(11..13).map(|t| t.iter().filter_map(|v| v.parse::<u64>().ok()).sum()).unwrap_or(0);
    ticks as f64 / 100.0
}

/// A keep-alive HTTP/1.1 client: just enough for JSON posts and a streamed CSV body.
struct Client {
    stream: BufReader<TcpStream>,
    host: String,
    secret: String,
}

impl Client {
    async fn connect(server: &RunningServer, secret: &str) -> anyhow::Result<Client> {
        let stream = TcpStream::connect(server.addr).await?;
        stream.set_nodelay(true)?;
        Ok(Client { stream: BufReader::new(stream), host: server.addr.to_string(), secret: secret.to_string() })
    }

    async fn post(&mut self, path: &str, body: &Value) -> anyhow::Result<(u16, Vec<u8>)> {
        let mut answer = Vec::new();
        let status = self.post_streaming(path, body, &mut |chunk| answer.extend_from_slice(chunk)).await?;
        Ok((status, answer))
    }

    async fn post_streaming(
        &mut self,
        path: &str,
        body: &Value,
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> anyhow::Result<u16> {
        let body = serde_json::to_vec(body)?;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            self.host,
            self.secret,
            body.len()
        );
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no status line")?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            self.stream.read_line(&mut line).await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") && value.to_ascii_lowercase().contains("chunked") {
                chunked = true;
            }
        }
        let mut buffer = vec![0u8; 64 * 1024];
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let size =
                    usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16).context("chunk size")?;
                if size == 0 {
                    line.clear();
                    self.stream.read_line(&mut line).await?;
                    break;
                }
                self.read_body(size, &mut buffer, sink).await?;
                line.clear();
                self.stream.read_line(&mut line).await?;
            }
        } else {
            self.read_body(length.unwrap_or(0), &mut buffer, sink).await?;
        }
        Ok(status)
    }

    async fn read_body(
        &mut self,
        mut left: usize,
        buffer: &mut [u8],
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> anyhow::Result<()> {
        while left > 0 {
            let want = left.min(buffer.len());
            let read = self.stream.read(&mut buffer[..want]).await?;
            if read == 0 {
                bail!("the connection closed mid-body");
            }
            sink(&buffer[..read]);
            left -= read;
        }
        Ok(())
    }
}
