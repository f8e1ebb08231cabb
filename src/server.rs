//! Starting the service: open the store, load the workspaces, serve HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::api::{router, AppState, Ops, RateLimiter};
use crate::service::snapshot::Snapshots;
use crate::service::App;
use crate::store::{is_postgres_url, PostgresStore, SqliteStore, Store};
use crate::webhooks::worker::Deliverer;
use crate::webhooks::DestinationPolicy;

#[derive(Clone, Debug)]
pub struct Settings {
    /// The embedded store's file.
    pub db: PathBuf,
    /// Address to listen on; port 0 picks a free one.
    pub listen: String,
    /// How long a user counts as online after an online signal.
    pub presence_window_secs: u64,
    /// Requests per minute per token; None turns rate limiting off.
    pub rate_limit_per_minute: Option<u32>,
    /// Where webhooks may be delivered.
    pub webhook_destinations: DestinationPolicy,
    /// A request not answered within this is answered 503 (its handler still finishes).
    pub request_timeout: Duration,
    /// Whether `GET /metrics` answers.
    pub metrics: bool,
    /// Where engine snapshots are kept. None: beside the embedded store's file
    /// (`<db>.snapshots/`), and off on PostgreSQL.
    pub snapshot_dir: Option<PathBuf>,
}

/// The default request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful shutdown waits for in-flight requests before it gives up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            db: PathBuf::from("./data/inboxd.db"),
            listen: "127.0.0.1:8080".into(),
            presence_window_secs: 120,
            rate_limit_per_minute: None,
            webhook_destinations: DestinationPolicy::Any,
            request_timeout: REQUEST_TIMEOUT,
            metrics: true,
            snapshot_dir: None,
        }
    }
}

pub struct RunningServer {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub app: Arc<App>,
    pub ops: Arc<Ops>,
    /// Dropping or sending on it starts a graceful shutdown.
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Serves until the task ends (it ends only on a listener error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let RunningServer { stop, task, .. } = self;
        let result = task.await;
        drop(stop);
        Ok(result??)
    }

    /// Serves until `signal` completes, then shuts down gracefully.
    pub async fn serve_until(mut self, signal: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            result = &mut self.task => Ok(result??),
            _ = signal => self.shutdown().await,
        }
    }

    /// Stops accepting connections, lets every in-flight request finish and be answered (at most
    /// SHUTDOWN_GRACE), waits for handlers whose clients left, then returns. Idle keep-alive
    /// connections are closed.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let RunningServer { stop, mut task, ops, app, .. } = self;
        let _ = stop.send(true);
        let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
            let served = (&mut task).await;
            ops.idle().await;
            served
        })
        .await;
        match finished {
            Ok(served) => {
                // No request is left: the snapshots take every write in, and the next start
                // replays nothing of this process.
                app.write_snapshots().await;
                tracing::info!(
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "stopped after finishing in-flight requests"
                );
                Ok(served??)
            }
            Err(_) => {
                task.abort();
                tracing::warn!(
                    grace_secs = SHUTDOWN_GRACE.as_secs(),
                    "requests still running after the grace period; stopping anyway"
                );
                Ok(())
            }
        }
    }
}

/// Opens the store `db` names: a PostgreSQL database for a `postgres://` or `postgresql://` url,
/// else the embedded store's file. Either is migrated on open.
pub async fn open_store(db: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = db.to_str().filter(|db| is_postgres_url(db)) {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    Ok(Arc::new(SqliteStore::open(db)?))
}

/// Opens the store, loads every workspace into memory, binds and serves in a background task.
pub async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
    let store = open_store(&settings.db).await?;
    let snapshots = open_snapshots(&settings, &*store).await?;
    let app = Arc::new(App::new(store.clone(), settings.presence_window_secs as i64 * 1000).with_snapshots(snapshots));
    app.load_all().await?;
    let listener = tokio::net::TcpListener::bind(&settings.listen)
        .await
        .with_context(|| format!("binding {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let state = AppState {
        app: app.clone(),
        limiter: Arc::new(RateLimiter::new(settings.rate_limit_per_minute)),
        destinations: settings.webhook_destinations,
        ops: Arc::new(Ops::new(settings.request_timeout)),
        metrics_enabled: settings.metrics,
    };
    let ops = state.ops.clone();
    let deliverer = Deliverer::new(store.clone(), settings.webhook_destinations, app.webhooks_wake.clone())?;
    tokio::spawn(deliverer.run());
    app.follow_changes();
    app.snapshot_periodically();
    app.merge_orders_when_idle();
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(async move {
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async move {
                // Ends when told to stop, or when the RunningServer is dropped.
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(%addr, db = %redacted(&settings.db.to_string_lossy()), "inboxd listening");
    Ok(RunningServer { addr, store, app, ops, stop, task })
}

/// Where the engine snapshots of this store go: `snapshot_dir` when set, else beside the embedded
/// store's file; none for PostgreSQL without `snapshot_dir` (its nodes may share no disk).
pub fn snapshot_dir(settings: &Settings) -> Option<PathBuf> {
    if let Some(dir) = &settings.snapshot_dir {
        return Some(dir.clone());
    }
    if settings.db.to_str().is_some_and(is_postgres_url) {
        return None;
    }
    let mut dir = settings.db.clone().into_os_string();
    dir.push(".snapshots");
    Some(dir.into())
}

async fn open_snapshots(settings: &Settings, store: &dyn Store) -> anyhow::Result<Option<Snapshots>> {
    let Some(dir) = snapshot_dir(settings) else {
        tracing::info!("engine snapshots off (PostgreSQL without a snapshot directory)");
        return Ok(None);
    };
    let identity = store.identity().await?;
    match Snapshots::open(&dir, identity) {
        Ok(snapshots) => {
            tracing::info!(dir = %dir.display(), "engine snapshots on");
            Ok(Some(snapshots))
        }
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "engine snapshots off: their directory is not usable");
            Ok(None)
        }
    }
}

/// A store location fit for logs: the password of a database url is hidden.
fn redacted(db: &str) -> String {
    match reqwest::Url::parse(db) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => db.to_string(),
    }
}
