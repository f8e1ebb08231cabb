//! POST /inbox/users with "isExport": "csv" (contract section 7).

use reqwest::Method;
use serde_json::json;

use crate::support::*;

const COLUMNS: [&str; 32] = [
    "_id",
    "uuid",
    "name",
    "userProvidedName",
    "email",
    "phone",
    "whatsAppNumber",
    "telegramUserName",
    "facebookProfileId",
    "city",
    "country",
    "platform",
    "status",
    "tags",
    "agentId",
    "agent",
    "createdAt",
    "updatedAt",
    "lastSeenAt",
    "lastMessageAt",
    "lastMessageBy",
    "lastMessageText",
    "userInteracted",
    "isOnline",
    "isLiveChatActive",
    "isContact",
    "isSubscriber",
    "isUserBlocked",
    "hasOrdered",
    "lastOrderAt",
    "orderCount",
    "unreadMessages",
];

#[tokio::test]
async fn an_export_is_a_csv_attachment_with_the_columns_in_order() {
    let app = spawn_app().await;
    app.import(json!([
        {"profile": {"userDetails": {"name": "a", "attributes": [{"key": "zeta", "value": "1"}, {"key": "alpha", "value": "2"}]}}},
        {"profile": {"userDetails": {"name": "b", "attributes": [{"key": "mid", "value": "3"}]}}}
    ]))
    .await;
    let answer = app
        .raw(
            Method::POST,
            "/inbox/users",
            Some(&app.admin),
            Some("application/json"),
            Some(br#"{"isExport":"csv"}"#.to_vec()),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type").to_lowercase().replace(' ', ""), "text/csv;charset=utf-8");
    assert!(answer.header("content-disposition").starts_with("attachment"), "{}", answer.header("content-disposition"));
    assert!(!answer.bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "no byte-order mark");
    let rows = parse_csv(&answer.text());
    let mut expected: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    expected.extend(["attributes.alpha", "attributes.mid", "attributes.zeta"].map(String::from));
    assert_eq!(rows[0], expected);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.len() == expected.len()));
}

#[tokio::test]
async fn attribute_columns_cover_every_key_of_the_workspace() {
    let app = spawn_app().await;
    app.import(json!([
        {"profile": {"userDetails": {"name": "a", "tags": ["x"], "attributes": [{"key": "plan", "value": "gold"}]}}},
        {"profile": {"userDetails": {"name": "b", "attributes": [{"key": "b-key", "value": "3"}]}}}
    ]))
    .await;
    let (_, answer) = app
        .post(
            "/inbox/users/import",
            &app.other,
            json!([{"profile": {"userDetails": {"attributes": [{"key": "theirs", "value": "1"}]}}}]),
        )
        .await;
    assert_eq!(answer["data"]["created"], json!(1));
    let (header, rows) = app.export(json!({"tags": ["x"]})).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(header[COLUMNS.len()..], ["attributes.b-key".to_string(), "attributes.plan".to_string()]);
    assert_eq!(cell(&header, &rows[0], "attributes.plan"), "gold");
    assert_eq!(cell(&header, &rows[0], "attributes.b-key"), "");
}

#[tokio::test]
async fn cells_hold_the_user_s_values() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let web = app.bot("web", "WEBSITE").await;
    let ann = app.agent_named("Ann Agent").await;
    let id = app
        .import_one(json!({
            "uuid": "u-1", "_botWhatsapp": wa, "_botWebsite": web, "_agentAssigned": ann, "isSubscriber": true,
            "profile": {"userDetails": {
                "name": "Ana", "userProvidedName": "Annie",
                "contact": {"email": "ana@x.test", "phone": {"prefix": "27", "number": "825551234"}},
                "whatsAppNumber": "27825551234", "telegramUserName": "tg", "facebookProfileId": "fb",
                "city": "Durban", "country": "ZA", "tags": ["vip", "news"]
            }}
        }))
        .await;
    app.events_ok(json!([
        {"type": "message", "userId": id, "by": "user", "text": "hello, \"world\"", "at": "2025-03-01T10:00:00.000Z"},
        {"type": "order", "userId": id, "orderId": "o", "at": "2025-03-02T10:00:00.000Z"}
    ]))
    .await;
    let user = app.user(&id).await;
    let (header, rows) = app.export(json!({})).await;
    let row = &rows[0];
    let at = |c: &str| cell(&header, row, c).to_string();
    assert_eq!(at("_id"), id);
    assert_eq!(at("uuid"), "u-1");
    assert_eq!(at("name"), "Ana");
    assert_eq!(at("userProvidedName"), "Annie");
    assert_eq!(at("email"), "ana@x.test");
    assert_eq!(at("phone"), "'+27825551234", "the international form, neutralised");
    assert_eq!(at("whatsAppNumber"), "27825551234");
    assert_eq!(at("telegramUserName"), "tg");
    assert_eq!(at("facebookProfileId"), "fb");
    assert_eq!(at("city"), "Durban");
    assert_eq!(at("country"), "ZA");
    let mut platforms: Vec<&str> = at("platform").leak().split("; ").collect();
    platforms.sort();
    assert_eq!(platforms, ["WEBSITE", "WHATSAPP"]);
    assert_eq!(at("status"), "OPEN");
    assert_eq!(at("tags"), "vip; news");
    assert_eq!(at("agentId"), ann);
    assert_eq!(at("agent"), "Ann Agent");
    assert_eq!(at("createdAt"), user["createdAt"].as_str().unwrap());
    assert_eq!(at("updatedAt"), user["updatedAt"].as_str().unwrap());
    assert_eq!(at("lastSeenAt"), "2025-03-01T10:00:00.000Z");
    assert_eq!(at("lastMessageAt"), "2025-03-01T10:00:00.000Z");
    assert_eq!(at("lastMessageBy"), "user");
    assert_eq!(at("lastMessageText"), "hello, \"world\"");
    assert_eq!(at("userInteracted"), "true");
    assert_eq!(at("isOnline"), "false");
    assert_eq!(at("isLiveChatActive"), "false");
    assert_eq!(at("isContact"), "true");
    assert_eq!(at("isSubscriber"), "true");
    assert_eq!(at("isUserBlocked"), "false");
    assert_eq!(at("hasOrdered"), "true");
    assert_eq!(at("lastOrderAt"), "2025-03-02T10:00:00.000Z");
    assert_eq!(at("orderCount"), "1");
    assert_eq!(at("unreadMessages"), "1");
}

#[tokio::test]
async fn missing_values_are_empty_cells() {
    let app = spawn_app().await;
    app.import_one(json!({"profile": {"userDetails": {"name": "bare"}}})).await;
    let (header, rows) = app.export(json!({})).await;
    for column in [
        "uuid",
        "userProvidedName",
        "email",
        "phone",
        "whatsAppNumber",
        "telegramUserName",
        "facebookProfileId",
        "city",
        "country",
        "platform",
        "tags",
        "agentId",
        "agent",
        "lastSeenAt",
        "lastMessageAt",
        "lastMessageBy",
        "lastMessageText",
        "lastOrderAt",
    ] {
        assert_eq!(cell(&header, &rows[0], column), "", "{column}");
    }
    assert_eq!(cell(&header, &rows[0], "hasOrdered"), "false");
    assert_eq!(cell(&header, &rows[0], "orderCount"), "0");
}

#[tokio::test]
async fn formula_cells_are_neutralised_with_a_leading_quote() {
    let app = spawn_app().await;
    app.import(json!([
        {"uuid": "1", "profile": {"userDetails": {"name": "=1+1", "city": "+city", "country": "-c", "userProvidedName": "@me",
            "tags": ["=tag"], "attributes": [{"key": "k", "value": "\tx"}]}}},
        {"uuid": "2", "profile": {"userDetails": {"name": "x", "city": "a=b", "attributes": [{"key": "k", "value": "\rcarriage"}]}}}
    ]))
    .await;
    let (header, rows) = app.export(json!({"sort": {"by": "name", "order": "asc"}})).await;
    let first = rows.iter().find(|r| cell(&header, r, "uuid") == "1").unwrap();
    assert_eq!(cell(&header, first, "name"), "'=1+1");
    assert_eq!(cell(&header, first, "city"), "'+city");
    assert_eq!(cell(&header, first, "country"), "'-c");
    assert_eq!(cell(&header, first, "userProvidedName"), "'@me");
    assert_eq!(cell(&header, first, "tags"), "'=tag");
    assert_eq!(cell(&header, first, "attributes.k"), "'\tx");
    let second = rows.iter().find(|r| cell(&header, r, "uuid") == "2").unwrap();
    assert_eq!(cell(&header, second, "attributes.k"), "'\rcarriage");
    assert_eq!(cell(&header, second, "city"), "a=b", "only a leading character counts");
}

#[tokio::test]
async fn a_phone_without_prefix_is_the_bare_number() {
    let app = spawn_app().await;
    app.import_one(json!({"profile": {"userDetails": {"contact": {"phone": {"number": "0825551234"}}}}})).await;
    let (header, rows) = app.export(json!({})).await;
    assert_eq!(cell(&header, &rows[0], "phone"), "0825551234");
}

#[tokio::test]
async fn an_export_streams_every_match_in_sort_order_ignoring_paging() {
    let app = spawn_app().await;
    let names = ["d", "b", "e", "a", "c"];
    app.users_named(&names).await;
    let (header, rows) = app.export(json!({"sort": {"by": "name", "order": "asc"}, "page": 3, "limit": 1})).await;
    let exported: Vec<&str> = rows.iter().map(|r| cell(&header, r, "name")).collect();
    assert_eq!(exported, ["a", "b", "c", "d", "e"]);
    let (header, rows) = app.export(json!({"sort": {"by": "name", "order": "desc"}, "searchText": "c"})).await;
    let exported: Vec<&str> = rows.iter().map(|r| cell(&header, r, "name")).collect();
    assert_eq!(exported, ["c"]);
}

#[tokio::test]
async fn an_export_leaves_deleted_users_out_unless_listed() {
    let app = spawn_app().await;
    let ids = app.users_named(&["kept", "gone"]).await;
    app.set_status(&[&ids[1]], "DELETED").await;
    let (header, rows) = app.export(json!({})).await;
    assert_eq!(rows.iter().map(|r| cell(&header, r, "name")).collect::<Vec<_>>(), ["kept"]);
    let (header, rows) = app.export(json!({"status": ["DELETED"]})).await;
    assert_eq!(rows.iter().map(|r| cell(&header, r, "name")).collect::<Vec<_>>(), ["gone"]);
}

#[tokio::test]
async fn an_export_of_nothing_is_the_header_alone() {
    let app = spawn_app().await;
    let (header, rows) = app.export(json!({})).await;
    assert_eq!(header, COLUMNS.iter().map(|c| c.to_string()).collect::<Vec<_>>());
    assert!(rows.is_empty());
}

#[tokio::test]
async fn an_export_needs_an_admin() {
    let app = spawn_app().await;
    app.users_named(&["a"]).await;
    let (status, answer) = app.post("/inbox/users", &app.agent, json!({"isExport": "csv"})).await;
    assert_problem(status, &answer, 403, &[]);
}

#[tokio::test]
async fn an_unknown_export_kind_is_400() {
    let app = spawn_app().await;
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"isExport": "xlsx"})).await;
    assert_problem(status, &answer, 400, &["isExport"]);
}

#[tokio::test]
async fn an_export_holds_many_rows() {
    let app = spawn_app().await;
    let rows: Vec<serde_json::Value> = (0..3000)
        .map(|i| json!({"uuid": format!("u{i}"), "profile": {"userDetails": {"name": format!("user {i}")}}}))
        .collect();
    let data = app.import(serde_json::Value::Array(rows)).await;
    assert_eq!(data["created"], json!(3000));
    let (_, rows) = app.export(json!({})).await;
    assert_eq!(rows.len(), 3000);
}

#[tokio::test]
async fn a_row_is_the_same_whether_the_export_reads_by_id_or_walks_the_store() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let ann = app.agent_named("Ann Agent").await;
    let id = app
        .import_one(json!({
            "uuid": "u-1", "_botWhatsapp": wa, "_agentAssigned": ann,
            "profile": {"userDetails": {
                "name": "Zanele", "contact": {"email": "z@x.test", "phone": {"prefix": "27", "number": "825551234"}},
                "city": "=Durban", "tags": ["vip", "a,b"],
                "attributes": [{"key": "plan", "value": "gold"}, {"key": "seats", "value": 3.5}, {"key": "Über", "value": true}]
            }}
        }))
        .await;
    app.events_ok(json!([{"type": "message", "userId": id, "by": "user", "text": "say \"hi\"\nbye"}])).await;
    let others: Vec<String> = (0..40).map(|i| format!("other {i}")).collect();
    app.users_named(&others.iter().map(String::as_str).collect::<Vec<_>>()).await;
    // Every user matches: the export walks the store. One in 41 matches: it reads that user by id.
    let (header, all) = app.export(json!({})).await;
    let (narrow_header, narrow) = app.export(json!({"searchText": "zanele"})).await;
    assert_eq!(header, narrow_header);
    assert_eq!(all.len(), 41);
    assert_eq!(narrow.len(), 1);
    let walked = all.iter().find(|row| cell(&header, row, "_id") == id).expect("the user in the full export");
    assert_eq!(walked, &narrow[0]);
    assert_eq!(cell(&header, walked, "city"), "'=Durban");
}
