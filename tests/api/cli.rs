//! The `inboxd` binary: serve, token create/list/revoke, demo (contract section 9), and the benchmark.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::support::*;

const BIN: &str = env!("CARGO_BIN_EXE_inboxd");

/// Runs the binary to completion; its stdout, asserted successful.
async fn run(args: &[&str]) -> String {
    let output = Command::new(BIN)
        .args(args)
        .env_remove("INBOXD_DB")
        .env_remove("INBOXD_LISTEN")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "inboxd {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 output")
}

fn last_line(stdout: &str) -> String {
    stdout.lines().rfind(|l| !l.trim().is_empty()).expect("a last line").trim().to_string()
}

pub async fn create_token(db: &Path, workspace: &str, role: &str) -> String {
    let stdout =
        run(&["token", "create", "--workspace", workspace, "--role", role, "--db", db.to_str().unwrap()]).await;
    let token = last_line(&stdout);
    assert!(!token.contains(' '), "the token stands alone on the last line: {stdout:?}");
    token
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `inboxd serve` on a free port; waits until /health answers.
pub async fn serve(db: &Path) -> (Child, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(BIN)
        .args(["serve", "--db", db.to_str().unwrap(), "--listen", &listen])
        .env_remove("INBOXD_DB")
        .env_remove("INBOXD_LISTEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("inboxd serve starts");
    let base = format!("http://{listen}");
    wait_healthy(&base).await;
    (child, base)
}

async fn wait_healthy(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(answer) = reqwest::get(format!("{base}/health")).await {
            if answer.status().as_u16() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the server at {base} never became healthy");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(base: &str, token: &str, path: &str, body: Value) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the server answers");
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_token_created_on_the_command_line_works_against_a_running_server() {
    let app = spawn_app().await;
    let token = create_token(&app.db, "acme", "agent").await;
    let (status, answer) = app.post("/inbox/users", &token, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = app.post("/inbox/users/import", &token, json!([])).await;
    assert_eq!(status, 403, "an agent token: {answer}");
    let admin = create_token(&app.db, "acme", "admin").await;
    let (status, answer) = app.post("/inbox/users/import", &admin, json!([{"uuid": "u"}])).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn token_list_shows_tokens_without_their_secrets() {
    let app = spawn_app().await;
    let token = create_token(&app.db, "acme", "agent").await;
    let listing = run(&["token", "list", "--workspace", "acme", "--db", app.db.to_str().unwrap()]).await;
    assert!(!listing.contains(&token), "no secret in the listing");
    assert!(!listing.contains(&app.admin), "no secret in the listing");
    assert!(listing.contains("acme"));
    assert!(listing.contains("agent") && listing.contains("admin"));
    let all = run(&["token", "list", "--db", app.db.to_str().unwrap()]).await;
    assert!(all.contains("other"), "every workspace without --workspace: {all}");
}

#[tokio::test]
async fn token_revoke_takes_effect_at_once_on_a_running_server() {
    let app = spawn_app().await;
    let token = create_token(&app.db, "acme", "agent").await;
    let (status, _) = app.post("/inbox/users", &token, json!({})).await;
    assert_eq!(status, 200);
    run(&["token", "revoke", &token, "--db", app.db.to_str().unwrap()]).await;
    let (status, answer) = app.post("/inbox/users", &token, json!({})).await;
    assert_problem(status, &answer, 401, &[]);

    let (status, _) = app.post("/inbox/users", &app.agent, json!({})).await;
    assert_eq!(status, 200);
    let tokens = app.store.tokens(Some("acme")).await.unwrap();
    let agent_id = tokens.iter().find(|t| t.role == inboxd::domain::Role::Agent && !t.revoked).unwrap().id.clone();
    run(&["token", "revoke", &agent_id, "--db", app.db.to_str().unwrap()]).await;
    let (status, answer) = app.post("/inbox/users", &app.agent, json!({})).await;
    assert_problem(status, &answer, 401, &[]);
}

#[tokio::test]
async fn served_writes_survive_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing").join("dirs").join("inboxd.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let token = create_token(&db, "acme", "admin").await;
    let (mut child, base) = serve(&db).await;
    let (status, answer) = post(&base, &token, "/inbox/users/import", json!([{"uuid": "a"}, {"uuid": "b"}])).await;
    assert_eq!(status, 200, "{answer}");
    let id = answer["data"]["ids"][0].as_str().unwrap().to_string();
    let (status, _) =
        post(&base, &token, "/inbox/events", json!([{"type": "message", "userId": id, "by": "user", "text": "hi"}]))
            .await;
    assert_eq!(status, 200);
    child.start_kill().unwrap(); // SIGKILL
    child.wait().await.unwrap();

    let (_child, base) = serve(&db).await;
    let (status, answer) = post(&base, &token, "/inbox/users", json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["meta"]["total"], json!(2));
    let (_, answer) = post(&base, &token, "/inbox/users", json!({"searchText": "", "lastMessageBy": ["user"]})).await;
    assert_eq!(answer["meta"]["total"], json!(1));
}

#[tokio::test]
async fn serve_creates_missing_directories_and_reads_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a").join("b").join("inboxd.db");
    let listen = format!("127.0.0.1:{}", free_port());
    let _child = Command::new(BIN)
        .arg("serve")
        .env("INBOXD_DB", &db)
        .env("INBOXD_LISTEN", &listen)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    wait_healthy(&format!("http://{listen}")).await;
    assert!(db.parent().unwrap().is_dir(), "the directories of --db are created");
}

#[tokio::test]
async fn demo_fills_a_workspace_and_prints_an_admin_token_last() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.db");
    let stdout = run(&["demo", "--contacts", "40", "--db", db.to_str().unwrap()]).await;
    let token = last_line(&stdout);
    let app = spawn_app_with(|s| s.db = db.clone()).await;
    let (status, answer) = app.post("/inbox/users", &token, json!({})).await;
    assert_eq!(status, 200, "the demo token works: {answer}");
    let visible = answer["meta"]["total"].as_u64().unwrap();
    let (_, deleted) = app.post("/inbox/users", &token, json!({"status": ["DELETED"]})).await;
    assert_eq!(visible + deleted["meta"]["total"].as_u64().unwrap(), 40);
    let (status, answer) = app.post("/inbox/users/import", &token, json!([])).await;
    assert_eq!(status, 200, "an admin token: {answer}");
    let (_, bots) = app.get("/inbox/bots", &token).await;
    let mut platforms: Vec<String> =
        bots["data"].as_array().unwrap().iter().map(|b| b["platform"].as_str().unwrap().to_string()).collect();
    platforms.sort();
    platforms.dedup();
    assert_eq!(platforms, ["FACEBOOK", "TELEGRAM", "WEBSITE", "WHATSAPP"], "bots on all four channels");
    let (_, agents) = app.get("/inbox/agents", &token).await;
    assert!(!agents["data"].as_array().unwrap().is_empty());
    let (_, segments) = app.get("/inbox/segments", &token).await;
    assert!(!segments["data"].as_array().unwrap().is_empty());
    let (_, online) =
        app.post("/inbox/users", &token, json!({"isOnline": true, "applicableFilters": ["isOnline"]})).await;
    assert!(online["meta"]["total"].as_u64().unwrap() > 0, "a few online users");
    let (_, ordered) = app
        .post(
            "/inbox/users",
            &token,
            json!({"hasOrdered": {"status": true, "lastAt": ""}, "applicableFilters": ["hasOrdered"]}),
        )
        .await;
    assert!(ordered["meta"]["total"].as_u64().unwrap() > 0, "orders");
}

#[tokio::test]
async fn token_create_creates_the_workspace_if_needed() {
    let app = spawn_app().await;
    app.users_named(&["acme's user"]).await;
    let token = create_token(&app.db, "brand-new", "admin").await;
    let (status, answer) = app.post("/inbox/users", &token, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["meta"]["total"], json!(0), "a new, empty workspace");
    let listing = run(&["token", "list", "--workspace", "brand-new", "--db", app.db.to_str().unwrap()]).await;
    let tokens = app.store.tokens(Some("brand-new")).await.unwrap();
    assert_eq!(tokens.len(), 1);
    assert!(listing.contains(&tokens[0].id), "the listing shows the token's id: {listing}");
    assert!(listing.contains("brand-new") && listing.contains("admin"), "{listing}");
    assert!(!listing.contains(&token));
}

#[tokio::test]
async fn bench_prints_every_query_shape_and_measure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let report = run(&["bench", "--contacts", "200", "--db", db.to_str().unwrap()]).await;
    let row = |label: &str| -> Vec<String> {
        let line = report.lines().find(|l| l.starts_with(&format!("| {label}"))).unwrap_or_else(|| {
            panic!("no line for {label:?} in the report:\n{report}");
        });
        line.trim_matches('|').split('|').map(|cell| cell.trim().to_string()).collect()
    };
    for shape in [
        "contract sample",
        "empty filter",
        "one tag",
        "two statuses, two agents",
        "WhatsApp bot, lastSeenAt last 30 days, userInteracted",
        "4-letter name search",
        "5-digit phone search",
        "one segment",
        "page 2000",
        "createdAt asc, isContact",
        "hasOrdered, lastMessageBy user",
    ] {
        let cells = row(shape);
        assert_eq!(cells.len(), 7, "{shape}: {cells:?}");
        assert!(cells[1].parse::<u64>().is_ok(), "{shape}: a total: {cells:?}");
        for timing in &cells[2..6] {
            assert!(timing.ends_with(" ms"), "{shape}: timings in ms: {cells:?}");
        }
        assert!(cells[6].parse::<f64>().unwrap() > 0.0, "{shape}: requests/s: {cells:?}");
    }
    let total = |shape: &str| row(shape)[1].parse::<u64>().unwrap();
    assert!(total("empty filter") <= 200 && total("empty filter") > 150, "the demo users, DELETED aside");
    assert!(total("one tag") < total("empty filter"), "a filter narrows");
    for measure in [
        "cold start (open store",
        "cold start from the engine snapshot",
        "first query after the bench's earlier writes",
        "longest query while the snapshot is written",
        "CSV export, ",
        "peak RSS growth during the export",
        "ingest, 40 batches of 1000 events over HTTP, 1 connection",
        "ingest, 40 batches of 1000 events over HTTP, 4 connections",
        "ingest sustained: ",
        "**index bytes/user (the three above)**",
    ] {
        let cells = row(measure);
        assert!(cells[1].chars().next().is_some_and(|c| c.is_ascii_digit() || c == '*'), "{measure}: {cells:?}");
    }
    // Timed when the ingest left records pending; the fold thread may have taken them first.
    let folding = row("folding the ingest's ");
    assert!(folding[1] == "none was left" || folding[1].ends_with("µs CPU per record)"), "{folding:?}");
}
