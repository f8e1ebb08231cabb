//! Two inboxd nodes over one PostgreSQL database (issue 5): a write on one is visible on the other
//! within a second, concurrent writes of one user from both lose nothing, a node that restarts or
//! loses its connections catches up, and each webhook event is delivered once.
//!
//! Skipped with a note when PostgreSQL is unreachable, except in CI (CI=true), where that fails.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

/// The longest a write acknowledged by one node may take to show on the other.
const VISIBLE_WITHIN: Duration = Duration::from_secs(1);

/// Two nodes on a fresh schema (node A's connections are named node_a, B's node_b); None when
/// PostgreSQL is unreachable outside CI.
async fn two_nodes() -> Option<(TestApp, TestApp)> {
    let schema = match PgSchema::create().await {
        Ok(schema) => Arc::new(schema),
        Err(error) => {
            if std::env::var("CI").is_ok_and(|ci| ci == "true") {
                panic!("PostgreSQL is unreachable at {} (CI needs it): {error}", pg_base_url());
            }
            eprintln!("note: two-node test skipped: PostgreSQL is unreachable at {}: {error}", pg_base_url());
            return None;
        }
    };
    let (url_a, url_b) = (schema.url_named("node_a"), schema.url_named("node_b"));
    let mut a = spawn_app_with(|s| s.db = url_a.into()).await;
    a.pg = Some(schema);
    let b = a.another_node(|s| s.db = url_b.into()).await;
    Some((a, b))
}

/// Polls `check` every 2 ms until it holds; how long that took, or None after `limit`.
async fn visible_within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    None
}

async fn user_on(node: &TestApp, id: &str) -> Option<Value> {
    let (status, answer) = node.get(&format!("/inbox/users/{id}"), &node.admin).await;
    (status == 200).then(|| answer["data"].clone())
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test]
async fn a_write_on_one_node_is_visible_on_the_other_within_a_second() {
    let Some((a, b)) = two_nodes().await else { return };
    let mut latencies = Vec::new();
    for i in 0..20 {
        // Alternate the direction: A to B, then B to A.
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let id = writer
            .import_one(
                json!({"uuid": format!("probe-{i}"), "profile": {"userDetails": {"name": format!("Probe {i}")}}}),
            )
            .await;
        let seen = visible_within(Duration::from_secs(5), || async { user_on(reader, &id).await.is_some() }).await;
        let seen = seen.unwrap_or_else(|| panic!("user {id} written on one node never showed on the other"));
        latencies.push(seen);
        let search = format!("Probe {i}");
        assert_eq!(reader.query_ids(json!({"searchText": search})).await, vec![id.clone()], "queries see it too");
    }
    // An update and a deletion travel the same way.
    let id = a.import_one(json!({"uuid": "changing"})).await;
    visible_within(Duration::from_secs(5), || async { user_on(&b, &id).await.is_some() }).await.expect("created");
    a.update(&id, json!({"profile": {"userDetails": {"tags": ["moved"]}}})).await;
    let seen = visible_within(Duration::from_secs(5), || async {
        b.query_ids(json!({"tags": ["moved"]})).await == vec![id.clone()]
    })
    .await
    .expect("the update shows on the other node");
    latencies.push(seen);
    let (status, _) = a.delete(&format!("/inbox/users/{id}"), &a.admin).await;
    assert_eq!(status, 200);
    let seen =
        visible_within(Duration::from_secs(5), || async { user_on(&b, &id).await.is_none() }).await.expect("deleted");
    latencies.push(seen);
    // The catalog too: a bot made on A takes events on B.
    let started = Instant::now();
    let bot = a.bot("Site", "WEBSITE").await;
    let event = json!([{"type": "message", "by": "user", "text": "hi", "visitor": {"platform": "WEBSITE", "botId": bot, "externalId": "v1"}}]);
    let seen = visible_within(Duration::from_secs(5), || async {
        let (status, answer) = b.post("/inbox/events", &b.admin, event.clone()).await;
        status == 200 && answer["data"]["applied"] == json!(1)
    })
    .await
    .expect("the bot shows on the other node");
    latencies.push(seen);

    latencies.sort();
    let (median, max) = (latencies[latencies.len() / 2], latencies[latencies.len() - 1]);
    eprintln!(
        "cross-node visibility over {} writes: median {:.1} ms, max {:.1} ms (catalog {:.1} ms incl. the bot's creation)",
        latencies.len(),
        millis(median),
        millis(max),
        millis(started.elapsed())
    );
    assert!(max <= VISIBLE_WITHIN, "a write took {max:?} to show on the other node");
}

#[tokio::test]
async fn concurrent_writes_to_one_user_from_both_nodes_lose_nothing() {
    let Some((a, b)) = two_nodes().await else { return };
    let id = a.import_one(json!({"uuid": "shared", "profile": {"userDetails": {"name": "Shared"}}})).await;
    visible_within(Duration::from_secs(5), || async { user_on(&b, &id).await.is_some() }).await.expect("visible on B");
    const MESSAGES: usize = 30;
    const ATTRIBUTES: usize = 10;
    let mut requests = Vec::new();
    for i in 0..MESSAGES {
        let node = if i % 2 == 0 { &a } else { &b };
        let body = json!([{"type": "message", "by": "user", "text": format!("m{i}"), "userId": id}]);
        requests.push(Box::pin(async move {
            let (status, answer) = node.post("/inbox/events", &node.admin, body).await;
            assert_eq!(status, 200, "{answer}");
            assert_eq!(answer["data"]["applied"], json!(1), "{answer}");
        }) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>>);
    }
    for i in 0..ATTRIBUTES {
        for (node, prefix) in [(&a, "a"), (&b, "b")] {
            let body = json!({"search": "shared", "attributes": {format!("{prefix}{i}"): i}});
            requests.push(Box::pin(async move {
                let (status, answer) =
                    node.put("/integrations/custom-app/update-user-attributes", &node.admin, body).await;
                assert_eq!(status, 200, "{answer}");
            }));
        }
    }
    futures_util::future::join_all(requests).await;
    for node in [&a, &b] {
        let settled = visible_within(Duration::from_secs(5), || async {
            let user = user_on(node, &id).await.unwrap();
            user["unreadMessages"] == json!(MESSAGES)
                && user["profile"]["userDetails"]["attributes"].as_array().map(Vec::len) == Some(2 * ATTRIBUTES)
        })
        .await;
        let user = user_on(node, &id).await.unwrap();
        assert!(settled.is_some(), "every write counted on both nodes: {user}");
        // The engine agrees with the document: the user is found as interacted on both nodes.
        let interacted = node.query_ids(json!({"userInteracted": true, "applicableFilters": ["userInteracted"]})).await;
        assert_eq!(interacted, vec![id.clone()]);
    }
}

/// A bot created on A, once B knows it too.
async fn bot_on_both(a: &TestApp, b: &TestApp, name: &str, platform: &str) -> String {
    let bot = a.bot(name, platform).await;
    let known = || async { b.get("/inbox/bots", &b.admin).await.1.to_string().contains(&bot) };
    visible_within(Duration::from_secs(5), known).await.expect("the bot known on B");
    bot
}

/// Posts the two batches of events at the same moment, one to each node; the `data` of each answer.
async fn events_on_both(a: &TestApp, b: &TestApp, to_a: Value, to_b: Value) -> (Value, Value) {
    let (on_a, on_b) =
        futures_util::future::join(a.post("/inbox/events", &a.admin, to_a), b.post("/inbox/events", &b.admin, to_b))
            .await;
    for (status, answer) in [&on_a, &on_b] {
        assert_eq!(*status, 200, "{answer}");
    }
    (on_a.1["data"].clone(), on_b.1["data"].clone())
}

/// Waits until both nodes hold exactly `users` users, each with `unread` unread messages.
async fn settled_on_both(a: &TestApp, b: &TestApp, users: usize, unread: u32) {
    for node in [a, b] {
        let settled = || async {
            let page = node.query(json!({"limit": 100})).await;
            page["meta"]["total"] == json!(users)
                && page["data"].as_array().unwrap().iter().all(|user| user["unreadMessages"] == json!(unread))
        };
        let settled = visible_within(Duration::from_secs(5), settled).await;
        assert!(settled.is_some(), "{users} users with {unread} unread each: {}", node.query(json!({})).await);
    }
}

#[tokio::test]
async fn one_event_sent_to_both_nodes_at_once_is_applied_once() {
    let Some((a, b)) = two_nodes().await else { return };
    let web = bot_on_both(&a, &b, "web", "WEBSITE").await;
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        // A channel that retries a delivery on another node: the same event, a visitor new to both.
        let event = json!([{"type": "message", "by": "user", "text": "hello", "eventId": format!("e-{round}"),
                            "visitor": {"platform": "WEBSITE", "botId": web, "externalId": format!("v-{round}")}}]);
        let (on_a, on_b) = events_on_both(&a, &b, event.clone(), event).await;
        let counts = |field: &str| on_a[field].as_u64().unwrap() + on_b[field].as_u64().unwrap();
        assert_eq!((counts("applied"), counts("duplicates")), (1, 1), "round {round}: {on_a} / {on_b}");
        // The duplicate names the user, or null when its node did not know the visitor yet.
        let (applied, duplicate) = if on_a["applied"] == json!(1) { (&on_a, &on_b) } else { (&on_b, &on_a) };
        let named = &duplicate["users"][0];
        assert!(named.is_null() || *named == applied["users"][0], "round {round}: {on_a} / {on_b}");
    }
    settled_on_both(&a, &b, ROUNDS, 1).await;
}

#[tokio::test]
async fn two_messages_of_a_new_visitor_on_both_nodes_at_once_make_one_user() {
    let Some((a, b)) = two_nodes().await else { return };
    let wa = bot_on_both(&a, &b, "wa", "WHATSAPP").await;
    const ROUNDS: usize = 20;
    for round in 0..ROUNDS {
        // A picture and its caption: two events of one new visitor, delivered to two nodes.
        let number = format!("+27 82 555 {round:04}");
        let message = |text: &str| {
            json!([{"type": "message", "by": "user", "text": text,
                    "visitor": {"platform": "WHATSAPP", "botId": wa, "externalId": number}}])
        };
        let (on_a, on_b) = events_on_both(&a, &b, message("picture"), message("caption")).await;
        assert_eq!((&on_a["applied"], &on_b["applied"]), (&json!(1), &json!(1)), "round {round}");
        assert_eq!(on_a["users"], on_b["users"], "round {round}: both name the one user");
    }
    settled_on_both(&a, &b, ROUNDS, 2).await;
}

#[tokio::test]
async fn a_node_catches_up_after_a_restart_and_after_losing_its_connections() {
    let Some((a, b)) = two_nodes().await else { return };
    let first = a.import_one(json!({"uuid": "before"})).await;
    visible_within(Duration::from_secs(5), || async { user_on(&b, &first).await.is_some() }).await.expect("visible");
    // B stops; A goes on writing; a new B starts late and sees everything.
    let settings_db = b.db.clone();
    drop(b);
    let while_down: Vec<String> = a.users_named(&["w1", "w2", "w3"]).await;
    a.update(&first, json!({"status": "CLOSED"})).await;
    let segment = a.segment(json!({"segmentName": "all", "match": "all", "conditions": []})).await;
    let b = a.another_node(|s| s.db = settings_db).await;
    for id in &while_down {
        assert!(user_on(&b, id).await.is_some(), "a user written while B was down");
    }
    assert_eq!(b.query_ids(json!({"status": ["CLOSED"]})).await, vec![first.clone()]);
    assert_eq!(b.query(json!({"segments": [segment]})).await["meta"]["total"], json!(4));

    // B loses every connection (its LISTEN connection included); it keeps up all the same.
    let (client, connection) = tokio_postgres::connect(&pg_base_url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let application = a.pg.as_ref().unwrap().application("node_b");
    let killed = client
        .query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&application])
        .await
        .unwrap();
    assert!(!killed.is_empty(), "node B had connections");
    let later = a.import_one(json!({"uuid": "after the outage"})).await;
    let seen = visible_within(Duration::from_secs(5), || async { user_on(&b, &later).await.is_some() })
        .await
        .expect("B catches up after losing its connections");
    eprintln!("after losing its connections, B saw a write of A in {:.1} ms", millis(seen));
    // And writes on B still work and reach A.
    let from_b = b.import_one(json!({"uuid": "from b"})).await;
    visible_within(Duration::from_secs(5), || async { user_on(&a, &from_b).await.is_some() }).await.expect("B to A");
}

/// A webhook receiver counting what it gets.
async fn receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let hits = Arc::new(Mutex::new(Vec::new()));
    let recorded = hits.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let recorded = recorded.clone();
            async move {
                recorded.lock().unwrap().push(serde_json::from_str::<Value>(&body).unwrap_or(Value::Null));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, hits)
}

#[tokio::test]
async fn each_webhook_event_is_delivered_once_with_two_nodes() {
    let Some((a, b)) = two_nodes().await else { return };
    let (url, hits) = receiver().await;
    let (status, answer) = a
        .post(
            "/integrations/custom-app/subscribe-trigger-event",
            &a.admin,
            json!({"webhookUrl": url, "event": "newLeadHook", "subscribe": true}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    visible_within(Duration::from_secs(5), || async {
        let (_, answer) = b.post("/integrations/custom-app/fetch-subscribed-webhooks", &b.admin, json!({})).await;
        answer["data"].as_array().is_some_and(|items| !items.is_empty())
    })
    .await
    .expect("B knows the subscription");
    let mut expected = Vec::new();
    for round in 0..6 {
        for (node, name) in [(&a, "a"), (&b, "b")] {
            let rows: Vec<Value> = (0..5).map(|i| json!({"uuid": format!("{name}-{round}-{i}")})).collect();
            let data = node.import(Value::Array(rows)).await;
            expected.extend(data["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()));
        }
    }
    let all = visible_within(Duration::from_secs(20), || async { hits.lock().unwrap().len() >= expected.len() }).await;
    assert!(all.is_some(), "{} of {} deliveries arrived", hits.lock().unwrap().len(), expected.len());
    // Give a second delivery (if one was coming) time to arrive.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut delivered: Vec<String> =
        hits.lock().unwrap().iter().map(|h| h["data"]["_id"].as_str().unwrap_or("?").to_string()).collect();
    delivered.sort();
    expected.sort();
    assert_eq!(delivered, expected, "every new lead delivered exactly once");
    let (_, log_a) = a.get("/integrations/custom-app/deliveries?status=delivered&limit=500", &a.admin).await;
    assert_eq!(log_a["data"].as_array().unwrap().len(), expected.len());
}
