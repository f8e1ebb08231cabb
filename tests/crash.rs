//! Crash safety, against the real binary: clients write continuously (imports with unique emails,
//! events with unique eventIds), the server is killed with SIGKILL at a random moment, restarted on
//! the same store, and every acknowledged write must be there exactly once. Several cycles a run.
//!
//! Also: SIGTERM lets an in-flight write finish and be answered before the process exits.
//!
//! `INBOXD_CRASH_CYCLES` and `INBOXD_CRASH_SEED` change the number of cycles and the seed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_inboxd");

/// The real binary, serving on a free port of 127.0.0.1.
struct Server {
    child: Child,
    base: String,
    /// Every line the server logged so far (JSON).
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .env("INBOXD_LOG_FORMAT", "json")
            .env("INBOXD_LOG", "info,inboxd::api::layers=debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("inboxd starts");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let kept = logs.clone();
        std::thread::spawn(move || {
            // Reads every line, so the server never blocks on a full pipe.
            let mut sender = Some(sender);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().push(line.clone());
                let Ok(log) = serde_json::from_str::<Value>(&line) else { continue };
                if log["fields"]["message"] == "inboxd listening" {
                    if let Some(sender) = sender.take() {
                        let _ = sender.send(log["fields"]["addr"].as_str().unwrap_or("").to_string());
                    }
                }
            }
        });
        let addr = receiver.recv_timeout(Duration::from_secs(30)).expect("the server logs its address");
        Server { child, base: format!("http://{addr}"), logs }
    }

    fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed server is reaped");
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill -TERM");
        assert!(status.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(20), "the server did not stop within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn create_token(db: &Path, workspace: &str) -> String {
    let output = Command::new(BIN)
        .args(["token", "create", "--workspace", workspace, "--db"])
        .arg(db)
        .output()
        .expect("token create runs");
    assert!(output.status.success(), "token create: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().lines().last().expect("a token").trim().to_string()
}

/// What the clients sent, and which of it was acknowledged with a 2xx.
#[derive(Default)]
struct Ledger {
    /// email -> the _id its import answered.
    acked_users: HashMap<String, String>,
    /// Emails sent in imports whose answer never came (applied or not).
    unsure_users: HashSet<String>,
    /// Per target user: eventIds acknowledged, and eventIds sent without an answer.
    acked_events: BTreeMap<String, Vec<String>>,
    unsure_events: BTreeMap<String, Vec<String>>,
    /// Anything a live server answered that it should not have.
    anomalies: Vec<String>,
}

struct Harness {
    client: reqwest::Client,
    token: String,
    ledger: Mutex<Ledger>,
}

impl Harness {
    async fn post(&self, base: &str, path: &str, body: &Value) -> Result<(u16, Value), reqwest::Error> {
        let response = self.client.post(format!("{base}{path}")).bearer_auth(&self.token).json(body).send().await?;
        let status = response.status().as_u16();
        let body = response.json::<Value>().await?;
        Ok((status, body))
    }

    /// Imports batches of users with unique emails until the server stops answering.
    async fn import_writer(self: Arc<Self>, base: String, tag: String, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        for batch in 0.. {
            let size = rng.gen_range(1..=25);
            let emails: Vec<String> = (0..size).map(|i| format!("{tag}-{batch}-{i}@crash.test")).collect();
            let rows: Vec<Value> = emails
                .iter()
                .map(|email| json!({"profile": {"userDetails": {"name": format!("Crash {email}"), "contact": {"email": email}, "tags": ["crash"]}}}))
                .collect();
            match self.post(&base, "/inbox/users/import", &Value::Array(rows)).await {
                Ok((200, answer)) => {
                    let mut ledger = self.ledger.lock();
                    let data = &answer["data"];
                    if data["created"] != json!(size) || data["rejected"] != json!([]) {
                        ledger.anomalies.push(format!("import of {size} new users answered {data}"));
                    }
                    for (email, id) in emails.iter().zip(data["ids"].as_array().into_iter().flatten()) {
                        ledger.acked_users.insert(email.clone(), id.as_str().unwrap_or("").to_string());
                    }
                }
                Ok((status, answer)) => {
                    self.ledger.lock().anomalies.push(format!("import answered {status}: {answer}"));
                    return;
                }
                Err(_) => {
                    self.ledger.lock().unsure_users.extend(emails);
                    return;
                }
            }
        }
    }

    /// Sends batches of user messages with unique eventIds to one user until the server stops answering.
    async fn event_writer(self: Arc<Self>, base: String, user: String, tag: String, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        for batch in 0.. {
            let size = rng.gen_range(1..=40);
            let ids: Vec<String> = (0..size).map(|i| format!("{tag}-{batch}-{i}")).collect();
            let events: Vec<Value> = ids
                .iter()
                .map(|id| json!({"type": "message", "by": "user", "text": format!("message {id}"), "userId": user, "eventId": id}))
                .collect();
            match self.post(&base, "/inbox/events", &Value::Array(events)).await {
                Ok((200, answer)) => {
                    let mut ledger = self.ledger.lock();
                    let data = &answer["data"];
                    if data["applied"] != json!(size) || data["duplicates"] != json!(0) {
                        ledger.anomalies.push(format!("{size} new events answered {data}"));
                    }
                    ledger.acked_events.entry(user.clone()).or_default().extend(ids);
                }
                Ok((status, answer)) => {
                    self.ledger.lock().anomalies.push(format!("events answered {status}: {answer}"));
                    return;
                }
                Err(_) => {
                    self.ledger.lock().unsure_events.entry(user.clone()).or_default().extend(ids);
                    return;
                }
            }
        }
    }

    /// Every user of the workspace, paging until a page is empty: email -> every _id holding it.
    async fn all_users(&self, base: &str) -> (HashMap<String, Vec<String>>, HashMap<String, Value>) {
        let mut by_email: HashMap<String, Vec<String>> = HashMap::new();
        let mut by_id = HashMap::new();
        for page in 1.. {
            let (status, answer) =
                self.post(base, "/inbox/users", &json!({"page": page, "limit": 500})).await.expect("the query answers");
            assert_eq!(status, 200, "query answered {answer}");
            let users = answer["data"].as_array().expect("a page").clone();
            if users.is_empty() {
                break;
            }
            for user in users {
                let id = user["_id"].as_str().unwrap().to_string();
                if let Some(email) = user["profile"]["userDetails"]["contact"]["email"].as_str() {
                    by_email.entry(email.to_string()).or_default().push(id.clone());
                }
                by_id.insert(id, user);
            }
        }
        (by_email, by_id)
    }

    /// After a restart: every acknowledged write is there exactly once, nothing appears twice,
    /// and nothing appears that was never sent.
    async fn verify(&self, base: &str) -> (usize, usize) {
        let (by_email, by_id) = self.all_users(base).await;
        let (acked_users, unsure_users, acked_events, unsure_events) = {
            let ledger = self.ledger.lock();
            (
                ledger.acked_users.clone(),
                ledger.unsure_users.clone(),
                ledger.acked_events.clone(),
                ledger.unsure_events.clone(),
            )
        };
        for (email, id) in &acked_users {
            let ids = by_email.get(email).cloned().unwrap_or_default();
            assert_eq!(
                ids,
                vec![id.clone()],
                "the acknowledged import of {email} (answered _id {id}) is there exactly once"
            );
        }
        for (email, ids) in &by_email {
            assert_eq!(ids.len(), 1, "{email} is held by {} users", ids.len());
            assert!(acked_users.contains_key(email) || unsure_users.contains(email), "{email} was never sent");
        }
        // Events: acknowledged eventIds are all duplicates now; unanswered ones are applied now
        // if they were not; then every user's unread count is exactly its number of eventIds.
        let mut events = 0;
        for (user, ids) in &acked_events {
            for chunk in ids.chunks(1000) {
                let batch: Vec<Value> = chunk
                    .iter()
                    .map(|id| json!({"type": "message", "by": "user", "userId": user, "eventId": id}))
                    .collect();
                let (status, answer) =
                    self.post(base, "/inbox/events", &Value::Array(batch)).await.expect("events answer");
                assert_eq!(status, 200, "{answer}");
                assert_eq!(answer["data"]["applied"], json!(0), "acknowledged eventIds applied again: {answer}");
                assert_eq!(answer["data"]["duplicates"], json!(chunk.len()), "acknowledged eventIds lost: {answer}");
            }
            events += ids.len();
        }
        for (user, ids) in &unsure_events {
            let batch: Vec<Value> =
                ids.iter().map(|id| json!({"type": "message", "by": "user", "userId": user, "eventId": id})).collect();
            let (status, answer) = self.post(base, "/inbox/events", &Value::Array(batch)).await.expect("events answer");
            assert_eq!(status, 200, "{answer}");
            let data = &answer["data"];
            assert_eq!(data["applied"].as_u64().unwrap() + data["duplicates"].as_u64().unwrap(), ids.len() as u64);
        }
        {
            let mut ledger = self.ledger.lock();
            for (user, ids) in std::mem::take(&mut ledger.unsure_events) {
                ledger.acked_events.entry(user).or_default().extend(ids);
            }
        }
        let acked_events = self.ledger.lock().acked_events.clone();
        for (user, ids) in &acked_events {
            let (status, answer) = self.get(base, &format!("/inbox/users/{user}")).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(
                answer["data"]["unreadMessages"],
                json!(ids.len()),
                "user {user}: one unread message per eventId"
            );
        }
        let anomalies = self.ledger.lock().anomalies.clone();
        assert!(anomalies.is_empty(), "a live server answered wrongly: {anomalies:#?}");
        (by_id.len(), events)
    }

    async fn get(&self, base: &str, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{base}{path}")).bearer_auth(&self.token).send().await.expect("GET");
        (response.status().as_u16(), response.json().await.expect("JSON"))
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_exactly_once() {
    let started = Instant::now();
    let seed = env_u64("INBOXD_CRASH_SEED").unwrap_or_else(rand::random);
    let cycles = env_u64("INBOXD_CRASH_CYCLES").unwrap_or(5);
    eprintln!("crash harness: seed {seed} (INBOXD_CRASH_SEED), {cycles} cycles");
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let db: PathBuf = dir.path().join("inboxd.db");
    let token = create_token(&db, "crash");
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let harness = Arc::new(Harness { client, token, ledger: Mutex::new(Ledger::default()) });

    for cycle in 0..cycles {
        let server = Server::start(&db);
        let base = server.base.clone();
        if cycle > 0 {
            let (users, events) = harness.verify(&base).await;
            eprintln!("cycle {cycle}: after SIGKILL and restart, {users} users and {events} events, each exactly once");
        }
        // Two event targets per cycle, imported (and acknowledged) before the writers start.
        let mut writers = Vec::new();
        for target in 0..2 {
            let email = format!("target-{cycle}-{target}@crash.test");
            let rows = json!([{"profile": {"userDetails": {"name": "Target", "contact": {"email": email}}}}]);
            let (status, answer) = harness.post(&base, "/inbox/users/import", &rows).await.expect("import answers");
            assert_eq!(status, 200, "{answer}");
            let id = answer["data"]["ids"][0].as_str().expect("an id").to_string();
            harness.ledger.lock().acked_users.insert(email, id.clone());
            let tag = format!("e{cycle}-{target}");
            writers.push(tokio::spawn(harness.clone().event_writer(base.clone(), id, tag, rng.gen())));
        }
        for writer in 0..2 {
            let tag = format!("u{cycle}-{writer}");
            writers.push(tokio::spawn(harness.clone().import_writer(base.clone(), tag, rng.gen())));
        }
        let delay = Duration::from_millis(rng.gen_range(200..1500));
        tokio::time::sleep(delay).await;
        server.kill9();
        for writer in writers {
            writer.await.expect("a writer ends when the server is gone");
        }
        let ledger = harness.ledger.lock();
        eprintln!(
            "cycle {cycle}: SIGKILL after {} ms; {} imports and {} event targets acknowledged so far, {} imports unanswered",
            delay.as_millis(),
            ledger.acked_users.len(),
            ledger.acked_events.len(),
            ledger.unsure_users.len()
        );
    }
    let server = Server::start(&db);
    let (users, events) = harness.verify(&server.base).await;
    eprintln!("final: {users} users and {events} events, each exactly once");
    assert!(users > 0 && events > 0, "the writers wrote something");
    let status = server.terminate();
    assert!(status.success(), "SIGTERM ends the server cleanly: {status}");
    eprintln!("crash harness: {:.1} s", started.elapsed().as_secs_f64());
    assert!(started.elapsed() < Duration::from_secs(120), "the crash harness stays bounded in time");
}

/// SIGTERM while a request is in flight (its body half sent): the server finishes the request,
/// answers it, stops, and the write is in the store after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_in_flight_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inboxd.db");
    let token = create_token(&db, "term");
    let server = Server::start(&db);
    let addr = server.base.trim_start_matches("http://").to_string();

    let rows: Vec<Value> = (0..200)
        .map(|i| json!({"profile": {"userDetails": {"name": format!("Term {i}"), "contact": {"email": format!("term{i}@term.test")}}}}))
        .collect();
    let body = serde_json::to_vec(&rows).unwrap();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /inbox/users/import HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..body.len() / 2]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = server.child.id();
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "after SIGTERM the server accepts no new connection");
    stream.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "the in-flight import is answered: {answer}");
    assert!(answer.contains("\"created\":200"), "{answer}");
    let exit = server.terminate();
    assert!(exit.success(), "{exit}");

    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let answer: Value = client
        .post(format!("{}/inbox/users", server.base))
        .bearer_auth(&token)
        .json(&json!({"searchText": "term.test", "limit": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["meta"]["total"], json!(200), "{answer}");
    server.kill9();
}

/// The request id is on the request's log lines (the `request` span), in the JSON log format.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_id_is_in_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inboxd.db");
    let token = create_token(&db, "logs");
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let response = client
        .post(format!("{}/inbox/users", server.base))
        .bearer_auth(&token)
        .header("x-request-id", "trace-in-the-logs-42")
        .json(&json!({"tags": ["x"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-in-the-logs-42");
    let generated = client.get(format!("{}/health", server.base)).send().await.unwrap();
    let generated = generated.headers()["x-request-id"].to_str().unwrap().to_string();
    let mut found = (false, false);
    for _ in 0..100 {
        let logs = server.logs.lock().clone();
        let lines: Vec<Value> = logs.iter().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let logged = |id: &str| {
            lines.iter().any(|l| {
                l["span"]["id"] == json!(id) && l["span"]["route"].is_string() && l["fields"]["status"].is_u64()
            })
        };
        found = (logged("trace-in-the-logs-42"), logged(&generated));
        if found == (true, true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(found, (true, true), "both ids are on their request's log line: {:#?}", server.logs.lock());
    server.kill9();
}
