//! Hostile input: thousands of malformed, oversized, deeply nested, wrong-typed and non-UTF-8
//! bodies and wrong content types, sent to every endpoint. Never a 5xx, never a dropped
//! connection, every answer the contract's envelope, and the server healthy afterwards.
//!
//! The generator is seeded (`INBOXD_HOSTILE_SEED`, `INBOXD_HOSTILE_CASES` change it), so a
//! failure names the seed and case that reproduce it.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::support::*;

/// How a body is sent to an endpoint.
#[derive(Clone, Copy, PartialEq)]
enum Body {
    None,
    Json,
    /// JSON or CSV.
    Import,
}

struct Endpoint {
    method: Method,
    /// `{id}` is replaced by an id (valid, foreign or malformed).
    path: &'static str,
    body: Body,
    /// A valid body, the seed of mutations.
    sample: fn(&Fixture) -> Value,
}

/// Real ids to aim at.
struct Fixture {
    user: String,
    bot: String,
    agent: String,
    segment: String,
}

fn endpoints() -> Vec<Endpoint> {
    use Body::*;
    let e = |method: Method, path: &'static str, body: Body, sample: fn(&Fixture) -> Value| Endpoint {
        method,
        path,
        body,
        sample,
    };
    vec![
        e(Method::POST, "/inbox/users", Json, |f| {
            json!({"searchText": "ann", "tags": ["vip"], "status": ["OPEN"], "_botWebsite": [f.bot], "_agentAssigned": [f.agent, "UNASSIGNED"],
                   "segments": [f.segment], "lastMessageBy": ["user"], "lastSeenAt": {"startAt": "2024-01-01", "endsAt": ""},
                   "createdAt": {"startAt": "", "endsAt": "2030-01-01T00:00:00Z"}, "isOnline": true, "hasOrdered": {"status": true, "lastAt": ""},
                   "applicableFilters": ["isOnline", "hasOrdered"], "isContact": true, "page": 1, "limit": 20,
                   "sort": {"by": "name", "order": "asc"}, "isExport": "none"})
        }),
        e(Method::POST, "/inbox/users/import", Import, |f| {
            json!([{"uuid": "u-1", "status": "OPEN", "isContact": true, "_botWebsite": f.bot, "_agentAssigned": f.agent,
                    "profile": {"userDetails": {"name": "Ann", "contact": {"email": "ann@x.test", "phone": {"prefix": "27", "number": "825551234"}},
                    "tags": ["vip"], "attributes": [{"key": "plan", "value": "gold"}]}}}])
        }),
        e(Method::PUT, "/inbox/users/status-update", Json, |f| json!({"ids": [f.user], "status": "OPEN"})),
        e(Method::GET, "/inbox/users/{id}", None, |_| Value::Null),
        e(Method::PUT, "/inbox/users/{id}", Json, |f| {
            json!({"status": "OPEN", "isLiveChatActive": false, "_agentAssigned": f.agent,
                   "profile": {"userDetails": {"name": "Ann", "tags": ["a"], "attributes": [{"key": "k", "value": 1}]},
                   "notes": [{"title": "t", "description": "d"}]}})
        }),
        e(Method::DELETE, "/inbox/users/{id}", None, |_| Value::Null),
        e(Method::POST, "/inbox/events", Json, |f| {
            json!([{"type": "message", "by": "user", "text": "hi", "userId": f.user, "eventId": "e1"},
                   {"type": "message", "by": "user", "visitor": {"platform": "WEBSITE", "botId": f.bot, "externalId": "v1"}},
                   {"type": "presence", "online": true, "userId": f.user},
                   {"type": "order", "orderId": "o1", "amount": 12.5, "currency": "ZAR", "userId": f.user},
                   {"type": "liveChat", "active": true, "userId": f.user}, {"type": "read", "userId": f.user}])
        }),
        e(Method::GET, "/inbox/bots", None, |_| Value::Null),
        e(Method::POST, "/inbox/bots", Json, |_| json!({"name": "Bot", "platform": "WEBSITE"})),
        e(Method::GET, "/inbox/agents", None, |_| Value::Null),
        e(Method::POST, "/inbox/agents", Json, |_| json!({"name": "Agent", "email": "a@x.test"})),
        e(Method::GET, "/inbox/segments", None, |_| Value::Null),
        e(Method::POST, "/inbox/segments", Json, |f| {
            json!({"segmentName": "S", "platform": "WEBSITE", "botId": f.bot, "match": "any",
                   "conditions": [{"field": "tag", "operator": "is", "value": "vip"}, {"field": "attribute", "key": "plan", "operator": "exists"}]})
        }),
        e(Method::DELETE, "/inbox/segments/{id}", None, |_| Value::Null),
        e(
            Method::PUT,
            "/integrations/custom-app/update-user-attributes",
            Json,
            |f| json!({"search": "ann@x.test", "attributes": {"plan": "gold", "gone": null}, "botId": f.bot, "platform": "website"}),
        ),
        e(Method::POST, "/integrations/custom-app/subscribe-trigger-event", Json, |f| {
            json!({"webhookUrl": "http://127.0.0.1:9/hook", "event": "newLeadHook", "botId": f.bot, "platform": "WEBSITE",
                   "slug": "s", "category": "c", "subscribe": true})
        }),
        e(
            Method::POST,
            "/integrations/custom-app/fetch-subscribed-webhooks",
            Json,
            |f| json!({"event": "newLeadHook", "botId": f.bot, "slug": "s", "category": "c"}),
        ),
        e(Method::GET, "/integrations/custom-app/deliveries", None, |_| Value::Null),
        e(Method::POST, "/integrations/custom-app/deliveries/{id}/redeliver", None, |_| Value::Null),
        e(Method::GET, "/health", None, |_| Value::Null),
        e(Method::GET, "/metrics", None, |_| Value::Null),
    ]
}

/// A random JSON value, at most `depth` levels deep.
fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth == 0 { 7 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>() * 1e300),
        4 => json!(random_text(rng)),
        5 => json!(""),
        6 => json!(*[u64::MAX as f64, -1.0, 0.5, 1e-300].choose(rng).unwrap()),
        7 => Value::Array((0..rng.gen_range(0..5)).map(|_| random_value(rng, depth - 1)).collect()),
        _ => {
            let mut object = Map::new();
            for _ in 0..rng.gen_range(0..4) {
                object.insert(random_text(rng), random_value(rng, depth - 1));
            }
            Value::Object(object)
        }
    }
}

fn random_text(rng: &mut StdRng) -> String {
    let pieces = [
        "",
        " ",
        "a",
        "OPEN",
        "DELETED",
        "UNASSIGNED",
        "0123456789abcdef01234567",
        "ZZZZ",
        "José",
        "😀",
        "\u{0}",
        "\u{202e}",
        "'; DROP TABLE users; --",
        "%00",
        "../../etc/passwd",
        "2024-13-45",
        "2024-01-01T25:00:00Z",
        "+27 82-555",
        "=cmd|' /C calc'!A0",
        "\\",
        "\"",
        "isOnline",
        "csv",
        "asc",
        "name",
        "WEBSITE",
        "user",
        "{id}",
        "null",
        "NaN",
        "-1",
        "1e400",
    ];
    let mut text = String::new();
    for _ in 0..rng.gen_range(0..4) {
        text.push_str(pieces.choose(rng).unwrap());
    }
    if rng.gen_ratio(1, 20) {
        text.push_str(&"x".repeat(rng.gen_range(500..20_000)));
    }
    text
}

/// Changes one random place of a value: a leaf replaced by a random value, a field added or
/// removed, a list grown past its limit.
fn mutate(rng: &mut StdRng, value: &mut Value) {
    match value {
        Value::Object(object) if !object.is_empty() && rng.gen_ratio(3, 4) => {
            let keys: Vec<String> = object.keys().cloned().collect();
            let key = keys.choose(rng).unwrap().clone();
            match rng.gen_range(0..6) {
                0 => {
                    object.remove(&key);
                }
                1 => {
                    object.insert(format!("{key}{}", random_text(rng)), random_value(rng, 2));
                }
                2 | 3 => *object.get_mut(&key).unwrap() = random_value(rng, 3),
                _ => mutate(rng, object.get_mut(&key).unwrap()),
            }
        }
        Value::Array(items) if !items.is_empty() && rng.gen_ratio(3, 4) => match rng.gen_range(0..5) {
            0 => {
                let item = items[0].clone();
                let n = *[1_001, 10_001, 20_000].choose(rng).unwrap();
                items.resize(n, item);
            }
            1 => items.push(random_value(rng, 2)),
            _ => {
                let i = rng.gen_range(0..items.len());
                mutate(rng, &mut items[i]);
            }
        },
        _ => *value = random_value(rng, 3),
    }
}

fn nested(rng: &mut StdRng) -> Vec<u8> {
    let depth = *[33, 64, 200, 5_000, 100_000, 1_000_000].choose(rng).unwrap();
    let (open, close) = if rng.gen() { ("[", "]") } else { ("{\"a\":", "}") };
    let mut text = open.repeat(depth);
    if rng.gen() {
        text.push('1');
        text.push_str(&close.repeat(depth));
    }
    text.into_bytes()
}

/// A random body for an endpoint: (content type, bytes).
fn random_body(rng: &mut StdRng, endpoint: &Endpoint, fixture: &Fixture) -> (Option<String>, Option<Vec<u8>>) {
    let sample = (endpoint.sample)(fixture);
    let json_type =
        ["application/json", "application/json; charset=utf-8", "application/vnd.api+json"].choose(rng).unwrap();
    let content_type = match rng.gen_range(0..12) {
        0 => None,
        1 => Some(
            [
                "text/plain",
                "application/xml",
                "multipart/form-data; boundary=x",
                "application/x-www-form-urlencoded",
                "",
                "application/jsonx",
                "json",
                "*/*",
                "text/csv",
            ]
            .choose(rng)
            .unwrap()
            .to_string(),
        ),
        _ => Some(json_type.to_string()),
    };
    let bytes = match rng.gen_range(0..14) {
        0 => (0..rng.gen_range(0..300)).map(|_| rng.gen::<u8>()).collect(),
        1 => {
            let text = sample.to_string();
            let cut = rng.gen_range(0..=text.len());
            text.as_bytes()[..cut].to_vec()
        }
        2 => nested(rng),
        3 => {
            // Not UTF-8 inside a string, or as the whole body.
            let mut text = sample.to_string().into_bytes();
            let at = text.iter().position(|&b| b == b'"').map_or(0, |i| i + 1);
            text.splice(at..at, [0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]);
            text
        }
        4 => random_value(rng, 4).to_string().into_bytes(),
        5 => b"".to_vec(),
        6 => b"null".to_vec(),
        7 if endpoint.body == Body::Import => {
            return (Some("text/csv".into()), Some(random_csv(rng)));
        }
        8 => {
            let mut text = sample.to_string();
            text.push_str(["", " ", "garbage", "}", "]", ",", "\u{0}"].choose(rng).unwrap());
            text.insert_str(0, ["\u{feff}", "", " \n\t"].choose(rng).unwrap());
            text.into_bytes()
        }
        _ => {
            let mut value = sample;
            for _ in 0..rng.gen_range(1..4) {
                mutate(rng, &mut value);
            }
            value.to_string().into_bytes()
        }
    };
    (content_type, Some(bytes))
}

fn random_csv(rng: &mut StdRng) -> Vec<u8> {
    let columns = [
        "_id",
        "uuid",
        "name",
        "email",
        "phone",
        "tags",
        "status",
        "attributes.plan",
        "attributes.",
        "nope",
        "createdAt",
        "isContact",
    ];
    let mut header: Vec<&str> = (0..rng.gen_range(0..6)).map(|_| *columns.choose(rng).unwrap()).collect();
    header.dedup();
    let mut text = header.join(",");
    text.push('\n');
    for _ in 0..rng.gen_range(0..20) {
        let cells: Vec<String> =
            (0..rng.gen_range(0..header.len() + 2)).map(|_| random_text(rng).replace('\u{0}', "")).collect();
        text.push_str(&cells.join(","));
        text.push_str(["\n", "\r\n", "\"", ""].choose(rng).unwrap());
    }
    let mut bytes = text.into_bytes();
    if rng.gen_ratio(1, 5) {
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
    }
    bytes
}

fn random_id(rng: &mut StdRng, fixture: &Fixture) -> String {
    let choices = [
        fixture.user.clone(),
        fixture.segment.clone(),
        NO_SUCH_ID.to_string(),
        "0123456789ABCDEF01234567".into(),
        "0123456789abcdef0123456".into(),
        "0123456789abcdef012345678".into(),
        "zzzzzzzzzzzzzzzzzzzzzzzz".into(),
        "%F0%9F%98%80".into(),
        "%00".into(),
        "..%2F..%2Fetc".into(),
        "x".repeat(5_000),
        "status-update".into(),
        "import".into(),
    ];
    choices.choose(rng).unwrap().clone()
}

fn random_query(rng: &mut StdRng) -> String {
    let pairs = [
        "status=pending",
        "status=nope",
        "limit=5",
        "limit=-1",
        "limit=99999999999999999999",
        "limit=abc",
        "botId=zz",
        "x=1",
        "status=%FF",
        "limit=",
        "status",
    ];
    let chosen: Vec<&str> = (0..rng.gen_range(0..3)).map(|_| *pairs.choose(rng).unwrap()).collect();
    if chosen.is_empty() {
        String::new()
    } else {
        format!("?{}", chosen.join("&"))
    }
}

/// Every answer: below 500, and the envelope (or the plain answers of /health, /metrics and
/// a CSV export).
fn check(case: usize, seed: u64, what: &str, answer: &Answer) {
    let context = || {
        format!(
            "seed {seed} case {case}: {what} answered {} {}",
            answer.status,
            answer.text().chars().take(300).collect::<String>()
        )
    };
    assert!(answer.status < 500, "{}", context());
    assert!([200, 400, 401, 403, 404, 405, 413, 415].contains(&answer.status), "{}", context());
    let content_type = answer.header("content-type");
    if content_type.starts_with("text/csv") || content_type.starts_with("text/plain") {
        assert_eq!(answer.status, 200, "{}", context());
        return;
    }
    assert!(content_type.starts_with("application/json"), "{}", context());
    let body = answer.json();
    if body == json!({"status": "ok"}) {
        return;
    }
    if answer.status == 200 {
        assert_success(&body);
    } else {
        assert_error_envelope(&body, answer.status);
    }
    assert!(!answer.header("x-request-id").is_empty(), "{}: no x-request-id", context());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_never_break_the_server() {
    let started = std::time::Instant::now();
    let seed: u64 = std::env::var("INBOXD_HOSTILE_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_129);
    let cases: usize = std::env::var("INBOXD_HOSTILE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000);
    let mut rng = StdRng::seed_from_u64(seed);
    let app = spawn_app().await;
    let bot = app.bot("Web", "WEBSITE").await;
    let agent = app.agent_named("Agnes").await;
    let segment = app
        .segment(json!({"segmentName": "VIP", "conditions": [{"field": "tag", "operator": "is", "value": "vip"}]}))
        .await;
    let user = app.import_one(json!({"profile": {"userDetails": {"name": "Ann", "tags": ["vip"]}}})).await;
    let fixture = Fixture { user, bot, agent, segment };
    let endpoints = endpoints();
    let tokens = [
        Some(app.admin.clone()),
        Some(app.agent.clone()),
        Some(app.other.clone()),
        None,
        Some("ixd_forged".to_string()),
    ];
    let rss_before = inboxd::metrics::resident_bytes().unwrap_or(0);

    for case in 0..cases {
        let endpoint = endpoints.choose(&mut rng).unwrap();
        let mut path = endpoint.path.replace("{id}", &random_id(&mut rng, &fixture));
        path.push_str(&random_query(&mut rng));
        // Mostly a live token, so bodies reach the parsers.
        let token =
            if rng.gen_ratio(4, 5) { Some(app.admin.clone()) } else { tokens.choose(&mut rng).unwrap().clone() };
        let method = if rng.gen_ratio(1, 25) {
            [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH].choose(&mut rng).unwrap().clone()
        } else {
            endpoint.method.clone()
        };
        let (content_type, body) = match endpoint.body {
            Body::None if rng.gen_ratio(4, 5) => (None, None),
            _ => random_body(&mut rng, endpoint, &fixture),
        };
        let what = format!("{method} {}", path.chars().take(120).collect::<String>());
        let answer = app.raw(method, &path, token.as_deref(), content_type.as_deref(), body).await;
        check(case, seed, &what, &answer);
    }

    // Bodies over the limit, on every endpoint that takes one: 413, answered.
    let big = format!("[\"{}\"]", "x".repeat(inboxd::limits::MAX_BODY_BYTES)).into_bytes();
    for endpoint in endpoints.iter().filter(|e| e.body != Body::None) {
        let path = endpoint.path.replace("{id}", &fixture.user);
        let answer = app
            .raw(endpoint.method.clone(), &path, Some(&app.admin), Some("application/json"), Some(big.clone()))
            .await;
        assert_eq!(answer.status, 413, "{} {path} with {} bytes: {}", endpoint.method, big.len(), answer.text());
        check(cases, seed, &path, &answer);
    }
    let csv = [b"name\n".to_vec(), vec![b'a'; inboxd::limits::MAX_BODY_BYTES]].concat();
    let answer = app.raw(Method::POST, "/inbox/users/import", Some(&app.admin), Some("text/csv"), Some(csv)).await;
    assert_eq!(answer.status, 413, "{}", answer.text());

    // Still healthy, still answering correctly.
    let answer = app.raw(Method::GET, "/health", None, None, None).await;
    assert_eq!((answer.status, answer.json()), (200, json!({"status": "ok"})));
    let id = app.import_one(json!({"profile": {"userDetails": {"name": "After the storm"}}})).await;
    assert_eq!(app.query_ids(json!({"searchText": "after the storm"})).await, vec![id]);
    let rss_after = inboxd::metrics::resident_bytes().unwrap_or(0);
    let grown_mib = rss_after.saturating_sub(rss_before) / (1 << 20);
    eprintln!(
        "hostile input: {cases} cases (seed {seed}) and {} oversized bodies in {:.1} s; test process RSS grew {grown_mib} MiB",
        endpoints.iter().filter(|e| e.body != Body::None).count() + 1,
        started.elapsed().as_secs_f64()
    );
    assert!(grown_mib < 1024, "memory stays bounded: RSS grew {grown_mib} MiB");
}

/// The JSON depth limit: 400 naming the body, before parsing.
#[tokio::test]
async fn nesting_deeper_than_the_limit_is_400() {
    let app = spawn_app().await;
    let depth = inboxd::limits::MAX_JSON_DEPTH;
    let deep = format!("{{\"tags\": {}{}}}", "[".repeat(depth), "]".repeat(depth));
    let answer = app
        .raw(Method::POST, "/inbox/users", Some(&app.admin), Some("application/json"), Some(deep.into_bytes()))
        .await;
    assert_problem(answer.status, &answer.json(), 400, &["body"]);
    let at_limit = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let answer = app
        .raw(Method::POST, "/inbox/events", Some(&app.admin), Some("application/json"), Some(at_limit.into_bytes()))
        .await;
    assert_eq!(answer.status, 200, "{} levels are allowed: {}", depth, answer.text());
}
