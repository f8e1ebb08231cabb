//! Webhook subscriptions and deliveries (contract section 8), received by a tiny local HTTP server.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::*;

const SUBSCRIBE: &str = "/integrations/custom-app/subscribe-trigger-event";
const FETCH: &str = "/integrations/custom-app/fetch-subscribed-webhooks";

#[derive(Clone, Debug)]
struct Hit {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Hit {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Records every request; answers the queued statuses first, then 200.
struct Receiver {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    statuses: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        Receiver::start_on(0).await
    }

    /// A receiver on a chosen port (0: any free one).
    async fn start_on(port: u16) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Mutex::new(VecDeque::new()));
        let (task_hits, task_statuses) = (hits.clone(), statuses.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let hits = task_hits.clone();
                let statuses = task_statuses.clone();
                tokio::spawn(async move {
                    loop {
                        let Some(hit) = read_request(&mut socket).await else { return };
                        hits.lock().unwrap().push(hit);
                        let status = statuses.lock().unwrap().pop_front().unwrap_or(200);
                        let response = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\n\r\n");
                        if socket.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Receiver { url, hits, statuses }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests came in (at most `secs` seconds).
    async fn wait_for(&self, n: usize, secs: u64) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.hits().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.hits()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Hit> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_string();
    let headers: HashMap<String, String> =
        lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string())).collect();
    let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some(Hit { path, headers, body })
}

fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_key: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_key: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&inner_key).chain_update(message).finalize();
    let outer = Sha256::new().chain_update(&outer_key).chain_update(inner).finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

async fn subscribe(app: &TestApp, body: Value) -> Value {
    let (status, answer) = app.post(SUBSCRIBE, &app.admin, body.clone()).await;
    assert_eq!(status, 200, "subscribe {body} answered {answer}");
    answer["data"].clone()
}

#[test]
fn the_test_hmac_matches_a_known_vector() {
    // RFC 4231, test case 2.
    assert_eq!(
        hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[tokio::test]
async fn subscribing_answers_an_id_and_a_secret_and_is_listed_once() {
    let app = spawn_app().await;
    let bot = app.bot("wa", "WHATSAPP").await;
    let receiver = Receiver::start().await;
    let body = json!({"webhookUrl": receiver.url, "event": "newLeadHook", "botId": bot, "slug": "n8n", "category": "crm", "subscribe": true});
    let first = subscribe(&app, body.clone()).await;
    assert_eq!(first["_id"].as_str().unwrap().len(), 24);
    assert!(!first["secret"].as_str().unwrap().is_empty());
    let second = subscribe(&app, body.clone()).await;
    assert_eq!(second["_id"], first["_id"], "the same url, event and bot twice is one subscription");
    let (status, answer) = app.post(FETCH, &app.admin, json!({"event": "newLeadHook"})).await;
    assert_eq!(status, 200, "{answer}");
    let items = answer["data"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{answer}");
    assert_eq!(items[0]["botId"], json!(bot));
    assert_eq!(items[0]["slug"], json!("n8n"));
    assert_eq!(items[0]["category"], json!("crm"));
    let hooks = items[0]["integrationCredentials"]["newLeadHook"].as_array().unwrap();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["url"], json!(receiver.url));
    assert_eq!(hooks[0]["_id"], first["_id"]);
    assert!(is_timestamp(hooks[0]["createdAt"].as_str().unwrap()));

    let mut unsubscribe = body;
    unsubscribe["subscribe"] = json!(false);
    let (status, answer) = app.post(SUBSCRIBE, &app.admin, unsubscribe).await;
    assert_eq!(status, 200, "{answer}");
    let (_, answer) = app.post(FETCH, &app.admin, json!({})).await;
    let remaining: usize = answer["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["integrationCredentials"]["newLeadHook"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(remaining, 0, "{answer}");
}

#[tokio::test]
async fn webhooks_need_an_admin() {
    let app = spawn_app().await;
    let (status, answer) = app
        .post(
            SUBSCRIBE,
            &app.agent,
            json!({"webhookUrl": "http://127.0.0.1:9/x", "event": "newLeadHook", "subscribe": true}),
        )
        .await;
    assert_problem(status, &answer, 403, &[]);
    let (status, answer) = app.post(FETCH, &app.agent, json!({})).await;
    assert_problem(status, &answer, 403, &[]);
}

#[tokio::test]
async fn an_unknown_hook_event_is_400() {
    let app = spawn_app().await;
    let (status, answer) = app
        .post(
            SUBSCRIBE,
            &app.admin,
            json!({"webhookUrl": "http://127.0.0.1:9/x", "event": "newPetHook", "subscribe": true}),
        )
        .await;
    assert_problem(status, &answer, 400, &["event"]);
}

#[tokio::test]
async fn a_new_lead_is_delivered_signed_with_the_subscription_secret() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let subscription =
        subscribe(&app, json!({"webhookUrl": receiver.url, "event": "newLeadHook", "subscribe": true})).await;
    let secret = subscription["secret"].as_str().unwrap().to_string();
    let id = app.import_one(json!({"uuid": "lead-1", "profile": {"userDetails": {"name": "Lead"}}})).await;
    let hits = receiver.wait_for(1, 10).await;
    assert_eq!(hits.len(), 1, "one delivery for one new user");
    let hit = &hits[0];
    assert_eq!(hit.path, "/hook");
    assert!(hit.headers.get("content-type").is_some_and(|c| c.starts_with("application/json")), "{:?}", hit.headers);
    let signature = hit.headers.get("x-inboxd-signature").cloned().unwrap_or_default();
    assert_eq!(signature, format!("sha256={}", hmac_sha256_hex(secret.as_bytes(), &hit.body)));
    let body = hit.json();
    assert_eq!(body["event"], json!("newLeadHook"));
    assert!(body["eventId"].as_str().is_some_and(|e| !e.is_empty()), "{body}");
    assert!(body.get("botId").is_some() && body.get("platform").is_some(), "{body}");
    assert!(body["timestamp"].is_string(), "{body}");
    assert_eq!(body["data"]["_id"], json!(id));
    assert_eq!(body["data"]["profile"]["userDetails"]["name"], json!("Lead"));
}

#[tokio::test]
async fn user_messages_and_orders_are_delivered_to_their_hooks() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    subscribe(&app, json!({"webhookUrl": receiver.url, "event": "newMessageHook", "subscribe": true})).await;
    subscribe(&app, json!({"webhookUrl": receiver.url, "event": "newOrderHook", "subscribe": true})).await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([
        {"type": "message", "userId": id, "by": "bot", "text": "not this", "at": "2025-03-01T10:00:00.000Z"},
        {"type": "message", "userId": id, "by": "user", "text": "this", "at": "2025-03-01T10:00:01.000Z"},
        {"type": "order", "userId": id, "orderId": "o-1", "at": "2025-03-01T10:00:02.000Z", "amount": 12.5, "currency": "ZAR"}
    ]))
    .await;
    let hits = receiver.wait_for(2, 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let hits: Vec<Value> =
        if receiver.hits().len() > hits.len() { receiver.hits() } else { hits }.iter().map(Hit::json).collect();
    assert_eq!(hits.len(), 2, "{hits:?}");
    let message = hits.iter().find(|h| h["event"] == json!("newMessageHook")).expect("a message delivery");
    assert_eq!(message["data"]["user"]["_id"], json!(id));
    assert_eq!(message["data"]["message"], json!({"text": "this", "at": "2025-03-01T10:00:01.000Z", "by": "user"}));
    let order = hits.iter().find(|h| h["event"] == json!("newOrderHook")).expect("an order delivery");
    assert_eq!(order["data"]["user"]["_id"], json!(id));
    assert_eq!(order["data"]["order"]["orderId"], json!("o-1"));
    assert_eq!(order["data"]["order"]["at"], json!("2025-03-01T10:00:02.000Z"));
    assert_eq!(order["data"]["order"]["amount"], json!(12.5));
    assert_eq!(order["data"]["order"]["currency"], json!("ZAR"));
}

#[tokio::test]
async fn a_subscription_for_a_bot_fires_only_for_that_bot_s_users() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let web = app.bot("web", "WEBSITE").await;
    let receiver = Receiver::start().await;
    subscribe(&app, json!({"webhookUrl": receiver.url, "event": "newLeadHook", "botId": wa, "subscribe": true})).await;
    app.import_one(json!({"_botWebsite": web})).await;
    let on_wa = app.import_one(json!({"_botWhatsapp": wa})).await;
    let hits = receiver.wait_for(1, 10).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits = if receiver.hits().len() > hits.len() { receiver.hits() } else { hits };
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].json()["data"]["_id"], json!(on_wa));
}

#[tokio::test]
async fn a_failed_delivery_is_retried_within_seconds_with_the_same_event_id() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.statuses.lock().unwrap().extend([500]);
    subscribe(&app, json!({"webhookUrl": receiver.url, "event": "newLeadHook", "subscribe": true})).await;
    app.import_one(json!({"uuid": "retry-me"})).await;
    let hits = receiver.wait_for(2, 15).await;
    assert!(hits.len() >= 2, "a failure, then a retry within seconds: {} deliveries", hits.len());
    let event_ids: Vec<Value> = hits.iter().map(|h| h.json()["eventId"].clone()).collect();
    assert!(event_ids.iter().all(|e| e == &event_ids[0]), "{event_ids:?}");
}

#[tokio::test]
async fn a_dead_receiver_does_not_slow_the_api() {
    let app = spawn_app().await;
    // A receiver that accepts and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    subscribe(&app, json!({"webhookUrl": url, "event": "newLeadHook", "subscribe": true})).await;
    let started = Instant::now();
    for i in 0..5 {
        app.import_one(json!({"uuid": format!("u{i}")})).await;
    }
    assert!(started.elapsed() < Duration::from_secs(3), "imports took {:?}", started.elapsed());
    drop(listener);
}

#[tokio::test]
async fn unsubscribing_stops_deliveries() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    let body = json!({"webhookUrl": receiver.url, "event": "newLeadHook", "subscribe": true});
    subscribe(&app, body.clone()).await;
    app.import_one(json!({"uuid": "before"})).await;
    assert_eq!(receiver.wait_for(1, 10).await.len(), 1);
    let mut unsubscribe = body;
    unsubscribe["subscribe"] = json!(false);
    let (status, answer) = app.post(SUBSCRIBE, &app.admin, unsubscribe).await;
    assert_eq!(status, 200, "{answer}");
    app.import_one(json!({"uuid": "after"})).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.hits().len(), 1, "no delivery after unsubscribing");
}

#[tokio::test]
async fn the_delivery_log_shows_attempts_errors_and_redelivers() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.statuses.lock().unwrap().extend([503]);
    subscribe(&app, json!({"webhookUrl": receiver.url, "event": "newLeadHook", "subscribe": true})).await;
    app.import_one(json!({"uuid": "logged"})).await;
    receiver.wait_for(2, 15).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let delivered = loop {
        let (status, answer) = app.get("/integrations/custom-app/deliveries?status=delivered", &app.admin).await;
        assert_eq!(status, 200, "{answer}");
        if let Some(first) = answer["data"].as_array().and_then(|d| d.first()).cloned() {
            break first;
        }
        assert!(Instant::now() < deadline, "the delivery was never logged as delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(delivered["attempts"], json!(2), "{delivered}");
    assert!(delivered["lastError"].as_str().is_some_and(|e| e.contains("503")), "{delivered}");
    assert_eq!(delivered["event"], json!("newLeadHook"));

    let path = format!("/integrations/custom-app/deliveries/{}/redeliver", delivered["_id"].as_str().unwrap());
    let (status, answer) = app.post(&path, &app.admin, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    let hits = receiver.wait_for(3, 10).await;
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[2].json()["eventId"], hits[0].json()["eventId"], "a redelivery keeps its eventId");

    let (status, answer) = app.get("/integrations/custom-app/deliveries?status=sent", &app.admin).await;
    assert_problem(status, &answer, 400, &["status"]);
    let (status, answer) = app.get("/integrations/custom-app/deliveries", &app.agent).await;
    assert_problem(status, &answer, 403, &[]);
}

#[tokio::test]
async fn acknowledged_changes_are_delivered_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inboxd.db");
    let token = crate::cli::create_token(&db, "acme", "admin").await;
    // A receiver that is not up yet: the first attempts fail and stay pending in the outbox.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let (mut server, base) = crate::cli::serve(&db).await;
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).bearer_auth(&token).json(&body).send();
    let answer = post(SUBSCRIBE, json!({"webhookUrl": url, "event": "newLeadHook", "subscribe": true})).await.unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = post("/inbox/users/import", json!([{"uuid": "a"}, {"uuid": "b"}, {"uuid": "c"}]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["data"]["created"], json!(3), "{answer}");
    let acknowledged: Vec<Value> = answer["data"]["ids"].as_array().unwrap().clone();
    server.start_kill().unwrap();
    server.wait().await.unwrap();

    let receiver = Receiver::start_on(port).await;
    let (_server, _base) = crate::cli::serve(&db).await;
    // The pending deliveries keep their backoff across the restart: up to ~15 s plus jitter.
    let hits = receiver.wait_for(3, 45).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits = if receiver.hits().len() > hits.len() { receiver.hits() } else { hits };
    let mut delivered: Vec<Value> = hits.iter().map(|h| h.json()["data"]["_id"].clone()).collect();
    delivered.sort_by_key(|v| v.to_string());
    let mut expected = acknowledged;
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(delivered, expected, "exactly the acknowledged new users, once each");
}

#[tokio::test]
async fn a_user_s_deliveries_arrive_in_order_even_across_retries() {
    let app = spawn_app().await;
    let receiver = Receiver::start().await;
    receiver.statuses.lock().unwrap().extend([500, 500]);
    subscribe(&app, json!({"webhookUrl": receiver.url, "event": "newMessageHook", "subscribe": true})).await;
    let id = app.import_one(json!({"uuid": "chatty"})).await;
    let messages: Vec<Value> =
        (1..=4).map(|i| json!({"type": "message", "userId": id, "by": "user", "text": format!("m{i}")})).collect();
    app.events_ok(Value::Array(messages)).await;
    let hits = receiver.wait_for(6, 20).await;
    let texts: Vec<String> =
        hits.iter().map(|h| h.json()["data"]["message"]["text"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(texts, ["m1", "m1", "m1", "m2", "m3", "m4"], "m1 fails twice; the others wait for it");
}
