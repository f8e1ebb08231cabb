//! Every limit of src/limits.rs, exceeded: a 400 naming the field (413 for the body size, tested
//! in auth_and_errors and hostile), or, inside a batch, that row or event rejected only.
//! Deep pages stay allowed.

use inboxd::limits::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn text(n: usize) -> String {
    "a".repeat(n)
}

#[tokio::test]
async fn batch_sizes() {
    let app = spawn_app().await;
    let row = json!({"profile": {"userDetails": {"name": "Row"}}});
    let (status, answer) =
        app.post("/inbox/users/import", &app.admin, Value::Array(vec![row; MAX_IMPORT_ROWS + 1])).await;
    assert_problem(status, &answer, 400, &[]);
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(0), "an oversized import applies nothing");

    let user = app.import_one(json!({"profile": {"userDetails": {"name": "Target"}}})).await;
    let event = json!({"type": "read", "userId": user});
    let (status, answer) =
        app.post("/inbox/events", &app.admin, Value::Array(vec![event.clone(); MAX_EVENTS + 1])).await;
    assert_problem(status, &answer, 400, &[]);
    let data = app.events(Value::Array(vec![event; MAX_EVENTS])).await;
    assert_eq!(data["applied"], json!(MAX_EVENTS), "{MAX_EVENTS} events are allowed");

    let ids = vec![NO_SUCH_ID; MAX_STATUS_UPDATE_IDS + 1];
    let (status, answer) =
        app.put("/inbox/users/status-update", &app.admin, json!({"ids": ids, "status": "OPEN"})).await;
    assert_problem(status, &answer, 400, &["ids"]);
}

#[tokio::test]
async fn query_lists_page_size_and_search_text() {
    let app = spawn_app().await;
    for field in ["tags", "status", "_botWebsite", "_agentAssigned", "segments", "lastMessageBy", "applicableFilters"] {
        let (status, answer) =
            app.post("/inbox/users", &app.admin, json!({ field: vec!["x"; MAX_FILTER_ITEMS + 1] })).await;
        assert_problem(status, &answer, 400, &[field]);
    }
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"limit": MAX_PAGE_SIZE + 1})).await;
    assert_problem(status, &answer, 400, &["limit"]);
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"searchText": text(MAX_SEARCH_TEXT + 1)})).await;
    assert_problem(status, &answer, 400, &["searchText"]);
    let answer = app.query(json!({"searchText": text(MAX_SEARCH_TEXT)})).await;
    assert_eq!(answer["meta"]["total"], json!(0));
    // Deep pages stay allowed: clients page until data is empty.
    let answer = app.query(json!({"page": 1_000_000_000, "limit": MAX_PAGE_SIZE})).await;
    assert_eq!(answer["data"], json!([]));
}

#[tokio::test]
async fn per_user_lists_and_texts() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"profile": {"userDetails": {"name": "Ann"}}})).await;
    let path = format!("/inbox/users/{id}");
    let tags: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
    let (status, answer) = app.put(&path, &app.admin, json!({"profile": {"userDetails": {"tags": tags}}})).await;
    assert_problem(status, &answer, 400, &["profile.userDetails.tags"]);
    let attributes: Vec<Value> = (0..=MAX_ATTRIBUTES).map(|i| json!({"key": format!("k{i}"), "value": i})).collect();
    let (status, answer) =
        app.put(&path, &app.admin, json!({"profile": {"userDetails": {"attributes": attributes}}})).await;
    assert_problem(status, &answer, 400, &["profile.userDetails.attributes"]);
    let notes = vec![json!({"title": "n"}); MAX_NOTES_PER_WRITE + 1];
    let (status, answer) = app.put(&path, &app.admin, json!({"profile": {"notes": notes}})).await;
    assert_problem(status, &answer, 400, &["profile.notes"]);
    let (status, answer) =
        app.put(&path, &app.admin, json!({"profile": {"userDetails": {"name": text(MAX_SHORT_TEXT + 1)}}})).await;
    assert_problem(status, &answer, 400, &["profile.userDetails.name"]);
    app.update(&id, json!({"profile": {"userDetails": {"name": text(MAX_SHORT_TEXT)}}})).await;
    let (status, answer) = app
        .put(&path, &app.admin, json!({"profile": {"notes": [{"title": "t", "description": text(MAX_LONG_TEXT + 1)}]}}))
        .await;
    assert_problem(status, &answer, 400, &["profile.notes[0].description"]);

    // In an import, the row is rejected and the others applied.
    let data = app
        .import(json!([
            {"profile": {"userDetails": {"name": "Fine"}}},
            {"profile": {"userDetails": {"name": "Too many tags", "tags": (0..=MAX_TAGS).map(|i| format!("t{i}")).collect::<Vec<_>>()}}},
        ]))
        .await;
    assert_eq!(data["created"], json!(1));
    assert_eq!(data["rejected"][0]["row"], json!(1));

    // In an event batch, the event is rejected and the others applied.
    let data = app
        .events(json!([
            {"type": "message", "by": "user", "text": text(MAX_LONG_TEXT + 1), "userId": id},
            {"type": "message", "by": "user", "text": text(MAX_LONG_TEXT), "userId": id},
            {"type": "read", "userId": id, "eventId": text(MAX_SHORT_TEXT + 1)},
        ]))
        .await;
    assert_eq!(data["applied"], json!(1), "{data}");
    let rejected: Vec<u64> =
        data["rejected"].as_array().unwrap().iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(rejected, vec![0, 2], "{data}");
}

#[tokio::test]
async fn segments_and_catalog_names() {
    let app = spawn_app().await;
    let conditions = vec![json!({"field": "tag", "operator": "exists"}); MAX_SEGMENT_CONDITIONS + 1];
    let (status, answer) =
        app.post("/inbox/segments", &app.admin, json!({"segmentName": "S", "conditions": conditions})).await;
    assert_problem(status, &answer, 400, &["conditions"]);
    let (status, answer) =
        app.post("/inbox/bots", &app.admin, json!({"name": text(MAX_SHORT_TEXT + 1), "platform": "WEBSITE"})).await;
    assert_problem(status, &answer, 400, &["name"]);
    let (status, answer) = app.post("/inbox/agents", &app.admin, json!({"name": text(MAX_SHORT_TEXT + 1)})).await;
    assert_problem(status, &answer, 400, &["name"]);
}

#[tokio::test]
async fn json_depth_and_body_size_are_limits_too() {
    let app = spawn_app().await;
    let deep = format!("{}{}", "[".repeat(MAX_JSON_DEPTH + 1), "]".repeat(MAX_JSON_DEPTH + 1));
    let answer = app
        .raw(Method::POST, "/inbox/events", Some(&app.admin), Some("application/json"), Some(deep.into_bytes()))
        .await;
    assert_problem(answer.status, &answer.json(), 400, &["body"]);
    assert!(answer.text().contains(&MAX_JSON_DEPTH.to_string()), "names the limit: {}", answer.text());
    let big = vec![b' '; MAX_BODY_BYTES + 1];
    let answer = app.raw(Method::POST, "/inbox/events", Some(&app.admin), Some("application/json"), Some(big)).await;
    assert_problem(answer.status, &answer.json(), 413, &["body"]);
}
