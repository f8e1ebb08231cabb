//! Operability: request ids, Prometheus metrics, the request timeout.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn every_response_carries_a_request_id_echoed_when_given() {
    let app = spawn_app().await;
    let answer = app.raw(Method::GET, "/health", None, None, None).await;
    let generated = answer.header("x-request-id");
    assert!(generated.len() >= 16, "a generated id: {generated:?}");
    let again = app.raw(Method::GET, "/inbox/nothing", Some(&app.admin), None, None).await;
    assert!(
        !again.header("x-request-id").is_empty() && again.header("x-request-id") != generated,
        "a new id each time"
    );
    let unauthorized =
        app.raw(Method::POST, "/inbox/users", None, Some("application/json"), Some(b"{}".to_vec())).await;
    assert_eq!(unauthorized.status, 401);
    assert!(!unauthorized.header("x-request-id").is_empty(), "errors carry one too");

    let response = app
        .client
        .post(app.url("/inbox/users"))
        .bearer_auth(&app.admin)
        .header("x-request-id", "trace-42.abc")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-42.abc", "a given id is echoed");
    let response = app.client.get(app.url("/health")).header("x-request-id", "x".repeat(200)).send().await.unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(id.len() < 200, "an overlong id is replaced");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_show_engine_sizes() {
    let app = spawn_app().await;
    app.users_named(&["Ann", "Bob", "Cid"]).await;
    let id = app.users_named(&["Dee"]).await.remove(0);
    app.user(&id).await;
    app.get(&format!("/inbox/users/{NO_SUCH_ID}"), &app.admin).await;
    let answer = app.raw(Method::GET, "/metrics", None, None, None).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.header("content-type").starts_with("text/plain; version=0.0.4"),
        "{}",
        answer.header("content-type")
    );
    let text = answer.text();
    for line in [
        "inboxd_http_requests_total{route=\"/inbox/users/import\",method=\"POST\",status=\"200\"} 2",
        "inboxd_http_requests_total{route=\"/inbox/users/{id}\",method=\"GET\",status=\"200\"} 1",
        "inboxd_http_requests_total{route=\"/inbox/users/{id}\",method=\"GET\",status=\"404\"} 1",
        "inboxd_http_request_duration_seconds_count{route=\"/inbox/users/{id}\",method=\"GET\",status=\"200\"} 1",
        "inboxd_engine_users{workspace=\"acme\"} 4",
        "inboxd_engine_users{workspace=\"other\"} 0",
        "# TYPE inboxd_http_request_duration_seconds histogram",
        "# TYPE inboxd_store_errors_total counter",
        "# TYPE inboxd_engine_index_bytes gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
    }
    assert!(text.contains("inboxd_http_request_duration_seconds_bucket{route=\"/inbox/users/{id}\",method=\"GET\",status=\"200\",le=\"+Inf\"} 1"));
    assert!(!text.contains(&id), "ids never become labels");
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let app = spawn_app_with(|s| s.metrics = false).await;
    let answer = app.raw(Method::GET, "/metrics", None, None, None).await;
    assert_problem(answer.status, &answer.json(), 404, &[]);
}

#[tokio::test]
async fn a_request_past_the_timeout_is_503_with_the_envelope_and_its_write_still_lands() {
    let app = spawn_app_with(|s| s.request_timeout = Duration::from_millis(50)).await;
    let rows: Vec<Value> = (0..5_000)
        .map(|i| json!({"profile": {"userDetails": {"name": format!("Slow {i}"), "tags": ["slow"]}}}))
        .collect();
    let (status, answer) = app.post("/inbox/users/import", &app.admin, Value::Array(rows)).await;
    assert_problem(status, &answer, 503, &["server"]);
    // The import was not cancelled: it finishes and is then visible, whole.
    let mut total = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let response = app
            .client
            .post(app.url("/inbox/users"))
            .bearer_auth(&app.admin)
            .json(&json!({"tags": ["slow"], "limit": 1}))
            .send()
            .await
            .unwrap();
        if let Ok(body) = response.json::<Value>().await {
            total = body["meta"]["total"].as_u64().unwrap_or(0);
            if total == 5_000 {
                break;
            }
        }
    }
    assert_eq!(total, 5_000, "the timed-out import is applied whole");
}

#[tokio::test]
async fn tokens_are_random_256_bit_secrets_with_a_recognisable_prefix() {
    let app = spawn_app().await;
    for token in [&app.admin, &app.agent, &app.other] {
        let hex = token.strip_prefix(inboxd::auth::SECRET_PREFIX).expect("the ixd_ prefix");
        assert_eq!(hex.len(), 64, "256 bits, hex: {token}");
        assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    }
    assert_ne!(app.admin, app.agent);
}

#[tokio::test]
async fn a_write_whose_client_hangs_up_still_lands_whole() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app().await;
    let rows: Vec<Value> = (0..2_000)
        .map(|i| json!({"profile": {"userDetails": {"name": format!("Gone {i}"), "tags": ["gone"]}}}))
        .collect();
    let body = serde_json::to_vec(&rows).unwrap();
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /inbox/users/import HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        app.admin,
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    stream.flush().await.unwrap();
    drop(stream);
    let mut total = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        total = app.query(json!({"tags": ["gone"], "limit": 1})).await["meta"]["total"].as_u64().unwrap();
        if total == 2_000 {
            break;
        }
    }
    assert_eq!(total, 2_000, "the import of a client that hung up is applied whole, engine included");
}

#[tokio::test]
async fn metrics_show_the_webhook_backlog() {
    let app = spawn_app().await;
    // Nothing listens there: the delivery fails and stays pending, retrying.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let subscription =
        json!({"webhookUrl": format!("http://127.0.0.1:{port}/hook"), "event": "newLeadHook", "subscribe": true});
    let (status, answer) = app.post("/integrations/custom-app/subscribe-trigger-event", &app.admin, subscription).await;
    assert_eq!(status, 200, "{answer}");
    app.import_one(json!({"uuid": "waiting"})).await;
    let answer = app.raw(Method::GET, "/metrics", None, None, None).await;
    let text = answer.text();
    for line in ["inboxd_webhook_deliveries_pending 1", "inboxd_webhook_deliveries_failed 0"] {
        assert!(text.lines().any(|l| l == line), "no line {line:?} in\n{text}");
    }
}

/// A gauge of /metrics for the workspace "acme".
async fn acme_gauge(app: &TestApp, name: &str) -> u64 {
    let text = app.raw(Method::GET, "/metrics", None, None, None).await.text();
    let prefix = format!("{name}{{workspace=\"acme\"}} ");
    let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
    line[prefix.len()..].parse().expect("a count")
}

#[tokio::test]
async fn once_writes_pause_their_changes_are_merged_into_the_presorted_orders() {
    // More changed users than a query merges on its own (2,048), and no query: a background task
    // merges them once the writes pause, so the next query does not.
    let app = spawn_app().await;
    for batch in 0..3 {
        let rows: Vec<Value> = (0..1_000).map(|i| json!({"uuid": format!("u{batch}-{i}")})).collect();
        app.import(json!(rows)).await;
    }
    let mut waited = 0;
    while acme_gauge(&app, "inboxd_engine_unmerged_order_changes").await > 0 {
        assert!(waited < 100, "merged within seconds of the last write");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(app.query(json!({"limit": 1})).await["meta"]["total"], json!(3_000));
}
