//! Test support: one real server on port 0 per test, its tokens, and small HTTP helpers.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use inboxd::domain::Role;
use inboxd::server::Settings;
use reqwest::header::HeaderMap;
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// The PostgreSQL server the suite uses when `INBOXD_TEST_STORE=postgres` (and the two-node tests).
pub fn pg_base_url() -> String {
    std::env::var("INBOXD_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Whether the suite runs against PostgreSQL (`INBOXD_TEST_STORE=postgres`) rather than SQLite.
pub fn on_postgres() -> bool {
    std::env::var("INBOXD_TEST_STORE").is_ok_and(|s| s.eq_ignore_ascii_case("postgres"))
}

/// A fresh schema of its own for one test, dropped with it; `url` selects it through search_path.
pub struct PgSchema {
    pub name: String,
    pub url: String,
}

impl PgSchema {
    pub async fn create() -> anyhow::Result<PgSchema> {
        let base = pg_base_url();
        let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        let name = format!("t_{}", hex::encode(rand::random::<[u8; 8]>()));
        client.batch_execute(&format!("CREATE SCHEMA {name}")).await?;
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-c%20search_path%3D{name}");
        Ok(PgSchema { name, url })
    }

    /// The application_name of a node's connections: `node` and the schema, unique to the test.
    pub fn application(&self, node: &str) -> String {
        format!("{node}_{}", self.name)
    }

    /// The url with that application_name, to tell one node's connections from another's.
    pub fn url_named(&self, node: &str) -> String {
        format!("{}&application_name={}", self.url, self.application(node))
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (base, name) = (pg_base_url(), self.name.clone());
        // A thread of its own: Drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                if let Ok((client, connection)) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await {
                    tokio::spawn(connection);
                    let sql = format!("SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS {name} CASCADE");
                    if let Err(error) = client.batch_execute(&sql).await {
                        eprintln!("could not drop the test schema {name}: {error}");
                    }
                }
            });
        })
        .join();
    }
}

/// A running server with an empty store, an admin and an agent token for workspace "acme",
/// and an admin token for a second workspace "other".
pub struct TestApp {
    pub addr: SocketAddr,
    pub store: Arc<dyn inboxd::store::Store>,
    pub admin: String,
    pub agent: String,
    pub other: String,
    pub client: Client,
    pub db: std::path::PathBuf,
    // Dropped before the directory, so the server lets go of the store first.
    _server: Box<dyn std::any::Any>,
    _dir: tempfile::TempDir,
    /// The test's own PostgreSQL schema, when the suite runs on PostgreSQL.
    pub pg: Option<Arc<PgSchema>>,
}

/// What a raw request answered.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut db = dir.path().join("inboxd.db");
    let pg = if on_postgres() {
        let schema = PgSchema::create().await.expect("a PostgreSQL schema for the test (INBOXD_TEST_STORE=postgres)");
        db = schema.url.clone().into();
        Some(Arc::new(schema))
    } else {
        None
    };
    let mut settings = Settings { db, listen: "127.0.0.1:0".into(), ..Default::default() };
    configure(&mut settings);
    let db = settings.db.clone();
    let server = inboxd::server::start(settings).await.expect("the server starts");
    let addr = server.addr;
    let store = server.store.clone();
    let admin = inboxd::auth::create_token(&*store, "acme", Role::Admin).await.expect("an admin token");
    let agent = inboxd::auth::create_token(&*store, "acme", Role::Agent).await.expect("an agent token");
    let other = inboxd::auth::create_token(&*store, "other", Role::Admin).await.expect("a token of workspace other");
    TestApp { addr, store, admin, agent, other, client: Client::new(), db, _server: Box::new(server), _dir: dir, pg }
}

impl TestApp {
    /// The helpers of a TestApp over a server the test starts and stops itself; `admin` is an
    /// admin token of workspace "acme" (the other tokens are left empty).
    pub fn of(server: &inboxd::server::RunningServer, admin: &str, db: std::path::PathBuf) -> TestApp {
        TestApp {
            addr: server.addr,
            store: server.store.clone(),
            admin: admin.to_string(),
            agent: String::new(),
            other: String::new(),
            client: Client::new(),
            db,
            _server: Box::new(()),
            _dir: tempfile::tempdir().expect("a temporary directory"),
            pg: None,
        }
    }

    /// Another node on the same store (and so with the same tokens), configured by `configure`.
    pub async fn another_node(&self, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = Settings { db: self.db.clone(), listen: "127.0.0.1:0".into(), ..Default::default() };
        configure(&mut settings);
        let db = settings.db.clone();
        let server = inboxd::server::start(settings).await.expect("the second node starts");
        TestApp {
            addr: server.addr,
            store: server.store.clone(),
            admin: self.admin.clone(),
            agent: self.agent.clone(),
            other: self.other.clone(),
            client: Client::new(),
            db,
            _server: Box::new(server),
            _dir: tempfile::tempdir().expect("a temporary directory"),
            pg: self.pg.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Any request; `content_type` None sends no Content-Type header.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("a body").to_vec();
        Answer { status, headers, bytes }
    }

    /// A JSON request; answers the status and the JSON body (Null when the body is not JSON).
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let bytes = body.map(|b| serde_json::to_vec(&b).expect("json"));
        let content_type = bytes.as_ref().map(|_| "application/json");
        let answer = self.raw(method, path, Some(token), content_type, bytes).await;
        (answer.status, answer.json())
    }

    pub async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, token, None).await
    }

    /// POST /inbox/users as admin; the whole answer, asserted 200.
    pub async fn query(&self, body: Value) -> Value {
        let (status, answer) = self.post("/inbox/users", &self.admin, body.clone()).await;
        assert_eq!(status, 200, "query {body} answered {answer}");
        assert_success(&answer);
        answer
    }

    /// The `_id`s of the page the query answers, in order.
    pub async fn query_ids(&self, body: Value) -> Vec<String> {
        ids_of(&self.query(body).await)
    }

    /// Every matching `_id`, paging with limit 500 until a page is empty, and meta.total.
    pub async fn all_ids(&self, body: Value) -> (Vec<String>, u64) {
        let mut ids = Vec::new();
        let mut total = None;
        for page in 1.. {
            let mut paged = body.clone();
            paged["page"] = json!(page);
            paged["limit"] = json!(500);
            let answer = self.query(paged).await;
            let this_total = answer["meta"]["total"].as_u64().expect("meta.total");
            if let Some(total) = total {
                assert_eq!(total, this_total, "meta.total changed between pages");
            }
            total = Some(this_total);
            let page_ids = ids_of(&answer);
            if page_ids.is_empty() {
                break;
            }
            ids.extend(page_ids);
        }
        (ids, total.unwrap_or(0))
    }

    /// The query's matching `_id`s, sorted (for set comparisons).
    pub async fn matching(&self, body: Value) -> Vec<String> {
        let (mut ids, total) = self.all_ids(body.clone()).await;
        assert_eq!(ids.len() as u64, total, "meta.total of {body}");
        ids.sort();
        ids
    }

    /// POST /inbox/users/import as admin; `data`, asserted 200.
    pub async fn import(&self, rows: Value) -> Value {
        let (status, answer) = self.post("/inbox/users/import", &self.admin, rows.clone()).await;
        assert_eq!(status, 200, "import {rows} answered {answer}");
        assert_success(&answer);
        answer["data"].clone()
    }

    /// Imports one row that must be applied; its `_id`.
    pub async fn import_one(&self, row: Value) -> String {
        let data = self.import(json!([row])).await;
        assert_eq!(data["rejected"], json!([]), "import of {row} rejected: {data}");
        data["ids"][0].as_str().expect("an _id").to_string()
    }

    /// Imports users named so (each a contact with just a name); their `_id`s.
    pub async fn users_named(&self, names: &[&str]) -> Vec<String> {
        let rows: Vec<Value> = names.iter().map(|n| json!({"profile": {"userDetails": {"name": n}}})).collect();
        let data = self.import(Value::Array(rows)).await;
        assert_eq!(data["rejected"], json!([]));
        data["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
    }

    /// POST /inbox/events as admin; `data`, asserted 200.
    pub async fn events(&self, events: Value) -> Value {
        let (status, answer) = self.post("/inbox/events", &self.admin, events.clone()).await;
        assert_eq!(status, 200, "events {events} answered {answer}");
        assert_success(&answer);
        answer["data"].clone()
    }

    /// Events that must all be applied.
    pub async fn events_ok(&self, events: Value) -> Value {
        let data = self.events(events).await;
        assert_eq!(data["rejected"], json!([]), "events rejected: {data}");
        data
    }

    /// A user first seen through a visitor message at `at`; its `_id`.
    pub async fn visitor(&self, platform: &str, bot: &str, external_id: &str, by: &str, at: &str) -> String {
        let data = self
            .events_ok(json!([{
                "type": "message", "by": by, "text": format!("hello from {external_id}"), "at": at,
                "visitor": {"platform": platform, "botId": bot, "externalId": external_id}
            }]))
            .await;
        data["users"][0].as_str().expect("a user _id").to_string()
    }

    /// A WEBSITE visitor created at `at` by a message of the user.
    pub async fn web_visitor(&self, bot: &str, external_id: &str, at: &str) -> String {
        self.visitor("WEBSITE", bot, external_id, "user", at).await
    }

    pub async fn bot(&self, name: &str, platform: &str) -> String {
        bot_of(self, &self.admin, name, platform).await
    }

    pub async fn agent_named(&self, name: &str) -> String {
        let email = format!("{}@acme.test", name.to_lowercase().replace(' ', "."));
        let (status, answer) = self.post("/inbox/agents", &self.admin, json!({"name": name, "email": email})).await;
        assert_eq!(status, 200, "agent creation answered {answer}");
        id_of(&answer["data"])
    }

    pub async fn segment(&self, definition: Value) -> String {
        let (status, answer) = self.post("/inbox/segments", &self.admin, definition.clone()).await;
        assert_eq!(status, 200, "segment {definition} answered {answer}");
        id_of(&answer["data"])
    }

    /// GET /inbox/users/{id} as admin; `data`, asserted 200.
    pub async fn user(&self, id: &str) -> Value {
        let (status, answer) = self.get(&format!("/inbox/users/{id}"), &self.admin).await;
        assert_eq!(status, 200, "GET user {id} answered {answer}");
        answer["data"].clone()
    }

    /// PUT /inbox/users/{id} as admin; `data`, asserted 200.
    pub async fn update(&self, id: &str, body: Value) -> Value {
        let (status, answer) = self.put(&format!("/inbox/users/{id}"), &self.admin, body.clone()).await;
        assert_eq!(status, 200, "PUT {body} answered {answer}");
        answer["data"].clone()
    }

    pub async fn set_status(&self, ids: &[&str], status: &str) -> Value {
        let (code, answer) =
            self.put("/inbox/users/status-update", &self.admin, json!({"ids": ids, "status": status})).await;
        assert_eq!(code, 200, "status-update answered {answer}");
        answer["data"].clone()
    }

    /// The CSV export of a query as admin, parsed: the header row and the data rows.
    pub async fn export(&self, mut body: Value) -> (Vec<String>, Vec<Vec<String>>) {
        body["isExport"] = json!("csv");
        let answer = self
            .raw(
                Method::POST,
                "/inbox/users",
                Some(&self.admin),
                Some("application/json"),
                Some(body.to_string().into()),
            )
            .await;
        assert_eq!(answer.status, 200, "export answered {}", answer.text());
        let mut rows = parse_csv(&answer.text());
        assert!(!rows.is_empty(), "an export has a header row");
        let header = rows.remove(0);
        (header, rows)
    }
}

pub async fn bot_of(app: &TestApp, token: &str, name: &str, platform: &str) -> String {
    let (status, answer) = app.post("/inbox/bots", token, json!({"name": name, "platform": platform})).await;
    assert_eq!(status, 200, "bot creation answered {answer}");
    id_of(&answer["data"])
}

pub fn id_of(object: &Value) -> String {
    object["_id"].as_str().unwrap_or_else(|| panic!("no _id in {object}")).to_string()
}

pub fn ids_of(answer: &Value) -> Vec<String> {
    answer["data"].as_array().unwrap_or_else(|| panic!("data is not a list: {answer}")).iter().map(id_of).collect()
}

pub fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// `ids` as owned, sorted strings, to compare with `matching`.
pub fn set<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    sorted(ids.iter().map(|s| s.as_ref().to_string()).collect())
}

pub fn assert_success(answer: &Value) {
    assert_eq!(answer["success"], json!(true), "not a success envelope: {answer}");
    assert_eq!(answer["message"], json!(""), "a success's message is empty: {answer}");
    assert_eq!(answer["code"], json!(200), "a success's code is 200: {answer}");
    assert!(answer.get("data").is_some(), "a success carries data: {answer}");
}

/// Asserts an error envelope with this status whose `data` names every one of `paths`
/// (each problem is "<field path>: <problem>").
pub fn assert_problem(status: u16, answer: &Value, expected: u16, paths: &[&str]) {
    assert_eq!(status, expected, "expected {expected}, got {status}: {answer}");
    assert_error_envelope(answer, expected);
    let problems: Vec<&str> = answer["data"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    for path in paths {
        assert!(problems.iter().any(|p| p.starts_with(&format!("{path}:"))), "no problem names {path:?}: {problems:?}");
    }
}

pub fn assert_error_envelope(answer: &Value, code: u16) {
    let object = answer.as_object().unwrap_or_else(|| panic!("an error answers a JSON object, got {answer}"));
    assert_eq!(object.get("success"), Some(&json!(false)), "{answer}");
    assert_eq!(object.get("code"), Some(&json!(code)), "{answer}");
    let message = object.get("message").and_then(Value::as_str).unwrap_or_else(|| panic!("no message: {answer}"));
    assert!(!message.is_empty() && !message.contains('\n'), "a one-line summary: {answer}");
    let data = object.get("data").and_then(Value::as_array).unwrap_or_else(|| panic!("data is a list: {answer}"));
    assert!(data.iter().all(Value::is_string), "every problem is a string: {answer}");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["code", "data", "message", "success"], "error envelope fields: {answer}");
}

/// Every problem string of an error or a rejected row, joined, for `contains` checks.
pub fn problems_text(errors: &Value) -> String {
    errors.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" | ")).unwrap_or_default()
}

pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now() -> String {
    ts(Utc::now())
}

pub fn secs_ago(secs: i64) -> String {
    ts(Utc::now() - chrono::Duration::seconds(secs))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, as every timestamp is written.
pub fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digit_at = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    bytes.len() == 24
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22].into_iter().all(digit_at)
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && bytes[19] == b'.'
        && bytes[23] == b'Z'
        && DateTime::parse_from_rfc3339(text).is_ok()
}

/// A well-formed id that names nothing.
pub const NO_SUCH_ID: &str = "0123456789abcdef01234567";

/// A small RFC 4180 reader (quotes, doubled quotes, CRLF or LF).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cell.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                cell.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            c => cell.push(c),
        }
    }
    if any {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// Writes rows as CSV, quoting every cell.
pub fn write_csv(rows: &[Vec<String>]) -> String {
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect();
        text.push_str(&cells.join(","));
        text.push_str("\r\n");
    }
    text
}

/// The cell of `column` in `row` under `header`.
pub fn cell<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    let i = header.iter().position(|h| h == column).unwrap_or_else(|| panic!("no column {column} in {header:?}"));
    &row[i]
}
