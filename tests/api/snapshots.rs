//! Engine snapshots: a graceful stop writes one, a restart reads it and replays what other
//! processes wrote since; a damaged, truncated or foreign snapshot is ignored (the engine is built
//! from the store), never a failed start or a wrong answer.

use std::path::PathBuf;
use std::sync::Arc;

use inboxd::domain::Role;
use inboxd::server::{start, RunningServer, Settings};
use reqwest::Method;
use serde_json::json;

use crate::support::*;

/// A store of the test's own (SQLite with snapshots at their default place beside it, or a
/// PostgreSQL schema with a snapshot directory), kept across restarts.
struct Place {
    dir: tempfile::TempDir,
    db: PathBuf,
    snapshot_dir: Option<PathBuf>,
    _pg: Option<Arc<PgSchema>>,
}

impl Place {
    async fn new() -> Place {
        let dir = tempfile::tempdir().expect("a temporary directory");
        if on_postgres() {
            let schema = PgSchema::create().await.expect("a PostgreSQL schema for the test");
            let (db, snapshots) = (schema.url.clone().into(), dir.path().join("snapshots"));
            return Place { dir, db, snapshot_dir: Some(snapshots), _pg: Some(Arc::new(schema)) };
        }
        let db = dir.path().join("inboxd.db");
        Place { dir, db, snapshot_dir: None, _pg: None }
    }

    fn settings(&self) -> Settings {
        Settings {
            db: self.db.clone(),
            listen: "127.0.0.1:0".into(),
            snapshot_dir: self.snapshot_dir.clone(),
            ..Settings::default()
        }
    }

    async fn start(&self) -> RunningServer {
        start(self.settings()).await.expect("the server starts")
    }

    /// The snapshot file of workspace "acme".
    async fn snapshot(&self, server: &RunningServer) -> PathBuf {
        let id = server.store.ensure_workspace("acme").await.expect("the workspace");
        server.app.snapshots.as_ref().expect("snapshots are on").path(id)
    }
}

/// The helpers of TestApp over `server`, with an admin token of "acme".
async fn app_on(server: &RunningServer, place: &Place) -> TestApp {
    let admin = inboxd::auth::create_token(&*server.store, "acme", Role::Admin).await.expect("an admin token");
    TestApp::of(server, &admin, place.db.clone())
}

/// Whether "acme" was read from its snapshot at load, and how many changes were replayed, as
/// /metrics says.
async fn started_from_snapshot(app: &TestApp) -> (bool, u64) {
    let metrics = app.raw(Method::GET, "/metrics", None, None, None).await.text();
    let gauge = |name: &str| {
        let prefix = format!("{name}{{workspace=\"acme\"}} ");
        let line = metrics.lines().find_map(|l| l.strip_prefix(&prefix).map(str::to_string));
        line.unwrap_or_else(|| panic!("no {name} for acme in /metrics")).parse::<u64>().expect("a number")
    };
    (gauge("inboxd_engine_from_snapshot") == 1, gauge("inboxd_engine_snapshot_replayed_changes"))
}

#[tokio::test]
async fn a_restart_reads_the_snapshot_and_replays_what_others_wrote_since() {
    let place = Place::new().await;
    let server = place.start().await;
    let app = app_on(&server, &place).await;
    let first = app.users_named(&["Ada", "Bob", "Cy"]).await;
    let snapshot = place.snapshot(&server).await;
    server.shutdown().await.expect("a graceful stop");
    assert!(snapshot.exists(), "a graceful stop writes the snapshot at {}", snapshot.display());

    // Another process writes meanwhile (its own snapshots elsewhere): new users, a changed one,
    // an erased one.
    let other_place = tempfile::tempdir().expect("a temporary directory");
    let other = start(Settings { snapshot_dir: Some(other_place.path().into()), ..place.settings() })
        .await
        .expect("the other process starts");
    let writer = app_on(&other, &place).await;
    let later = writer.users_named(&["Dee", "Eve"]).await;
    writer.update(&first[1], json!({"profile": {"userDetails": {"tags": ["vip"]}}})).await;
    let (status, _) = writer.delete(&format!("/inbox/users/{}", first[2]), &writer.admin).await;
    assert_eq!(status, 200);
    drop(writer);
    drop(other);

    let server = place.start().await;
    let app = app_on(&server, &place).await;
    let (from_snapshot, replayed) = started_from_snapshot(&app).await;
    assert!(from_snapshot, "the engine was read from its snapshot");
    assert!(replayed >= 4, "the other process's changes were replayed ({replayed})");
    assert_eq!(app.matching(json!({})).await, set(&[&first[0], &first[1], &later[0], &later[1]]));
    assert_eq!(app.matching(json!({"tags": ["vip"]})).await, set(&[&first[1]]));
    assert_eq!(app.matching(json!({"searchText": "dee"})).await, set(&[&later[0]]));
    assert_eq!(app.get(&format!("/inbox/users/{}", first[2]), &app.admin).await.0, 404);
    drop(place.dir);
}

/// Changes the bytes of a snapshot file.
type Damage = fn(&mut Vec<u8>);

#[tokio::test]
async fn a_damaged_or_truncated_snapshot_is_ignored_and_the_engine_built_from_the_store() {
    let place = Place::new().await;
    let server = place.start().await;
    let app = app_on(&server, &place).await;
    let ids = app.users_named(&["Ada", "Bob", "Cy", "Dee"]).await;
    let snapshot = place.snapshot(&server).await;
    server.shutdown().await.expect("a graceful stop");
    let damages: [(&str, Damage); 3] = [
        ("a changed byte", |bytes| {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x5a;
        }),
        ("a truncated file", |bytes| bytes.truncate(bytes.len() * 2 / 3)),
        ("an empty file", |bytes| bytes.clear()),
    ];
    for (damage, apply) in damages {
        let mut bytes = std::fs::read(&snapshot).expect("the snapshot reads");
        apply(&mut bytes);
        std::fs::write(&snapshot, &bytes).expect("the snapshot is damaged");
        let server = place.start().await;
        let app = app_on(&server, &place).await;
        assert_eq!(started_from_snapshot(&app).await, (false, 0), "{damage}: not read");
        assert_eq!(app.matching(json!({})).await, sorted(ids.clone()), "{damage}: every user answered");
        // The build from the store is written as a new snapshot (in the background; a graceful
        // stop waits for it), which the next start reads.
        server.shutdown().await.expect("a graceful stop");
        let server = place.start().await;
        let app = app_on(&server, &place).await;
        assert_eq!(started_from_snapshot(&app).await, (true, 0), "{damage}: the snapshot written again is read");
        server.shutdown().await.expect("a graceful stop");
    }
}

#[tokio::test]
async fn a_snapshot_of_another_store_is_never_used() {
    let shared = tempfile::tempdir().expect("a temporary directory");
    let one = Place::new().await;
    let server = start(Settings { snapshot_dir: Some(shared.path().into()), ..one.settings() }).await.expect("starts");
    let app = app_on(&server, &one).await;
    app.users_named(&["Ada", "Bob"]).await;
    server.shutdown().await.expect("a graceful stop");

    // Another store, its workspace "acme" numbered as the first one's, and the same snapshot
    // directory: the first store's snapshot is there, and refused.
    let two = Place::new().await;
    let server = start(Settings { snapshot_dir: Some(shared.path().into()), ..two.settings() }).await.expect("starts");
    let app = app_on(&server, &two).await;
    let snapshot = two.snapshot(&server).await;
    assert!(snapshot.exists(), "the first store's snapshot is where the second store's would be");
    let ids = app.users_named(&["Cy"]).await;
    assert_eq!(started_from_snapshot(&app).await, (false, 0));
    assert_eq!(app.matching(json!({})).await, ids);
    server.shutdown().await.expect("a graceful stop");
}
