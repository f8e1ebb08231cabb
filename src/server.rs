//! Starting the service: open the store, load the workspaces, serve HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::api::{router, AppState, RateLimiter};
use crate::service::App;
use crate::store::{SqliteStore, Store};
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
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            db: PathBuf::from("./data/inboxd.db"),
            listen: "127.0.0.1:8080".into(),
            presence_window_secs: 120,
            rate_limit_per_minute: None,
            webhook_destinations: DestinationPolicy::Any,
        }
    }
}

pub struct RunningServer {
    pub addr: SocketAddr,
    pub store: Arc<dyn Store>,
    pub app: Arc<App>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Serves until the task ends (it ends only on a listener error).
    pub async fn wait(self) -> anyhow::Result<()> {
        Ok(self.task.await??)
    }
}

pub fn open_store(db: &std::path::Path) -> anyhow::Result<Arc<dyn Store>> {
    Ok(Arc::new(SqliteStore::open(db)?))
}

/// Opens the store, loads every workspace into memory, binds and serves in a background task.
pub async fn start(settings: Settings) -> anyhow::Result<RunningServer> {
    let store = open_store(&settings.db)?;
    let app = Arc::new(App::new(store.clone(), settings.presence_window_secs as i64 * 1000));
    app.load_all().await?;
    let listener =
        tokio::net::TcpListener::bind(&settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let state = AppState {
        app: app.clone(),
        limiter: Arc::new(RateLimiter::new(settings.rate_limit_per_minute)),
        destinations: settings.webhook_destinations,
    };
    let deliverer = Deliverer::new(store.clone(), settings.webhook_destinations, app.webhooks_wake.clone())?;
    tokio::spawn(deliverer.run());
    let task = tokio::spawn(async move { axum::serve(listener, router(state)).await });
    tracing::info!(%addr, db = %settings.db.display(), "inboxd listening");
    Ok(RunningServer { addr, store, app, task })
}
