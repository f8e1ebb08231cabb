//! PUT /integrations/custom-app/update-user-attributes (contract section 8).

use serde_json::{json, Value};

use crate::support::*;

const PATH: &str = "/integrations/custom-app/update-user-attributes";

fn attributes_of(user: &Value) -> Vec<(String, Value)> {
    let mut pairs: Vec<(String, Value)> = user["profile"]["userDetails"]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["key"].as_str().unwrap().to_string(), a["value"].clone()))
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

#[tokio::test]
async fn attributes_merge_into_the_user_found_by_email_ignoring_case() {
    let app = spawn_app().await;
    let id = app
        .import_one(json!({"profile": {"userDetails": {"contact": {"email": "Ana@Example.com"},
            "attributes": [{"key": "plan", "value": "gold"}, {"key": "old", "value": "x"}]}}}))
        .await;
    let (status, answer) = app
        .put(
            PATH,
            &app.admin,
            json!({"search": "ana@example.COM", "attributes": {"plan": "silver", "seats": "4", "old": null}}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_success(&answer);
    assert_eq!(answer["data"]["_id"], json!(id), "data is the updated user");
    let expected = vec![("plan".to_string(), json!("silver")), ("seats".to_string(), json!("4"))];
    assert_eq!(attributes_of(&answer["data"]), expected);
    assert_eq!(attributes_of(&app.user(&id).await), expected);
}

#[tokio::test]
async fn the_user_is_found_by_whatsapp_or_phone_digits() {
    let app = spawn_app().await;
    let by_whatsapp = app.import_one(json!({"profile": {"userDetails": {"whatsAppNumber": "+27 83 111 2222"}}})).await;
    let by_phone = app
        .import_one(
            json!({"profile": {"userDetails": {"contact": {"phone": {"prefix": "27", "number": "825551234"}}}}}),
        )
        .await;
    let (status, answer) = app.put(PATH, &app.admin, json!({"search": "27831112222", "attributes": {"a": "1"}})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["_id"], json!(by_whatsapp));
    let (status, answer) =
        app.put(PATH, &app.admin, json!({"search": "+27 82 555 1234", "attributes": {"b": "2"}})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["_id"], json!(by_phone));
    assert_eq!(attributes_of(&app.user(&by_phone).await), vec![("b".to_string(), json!("2"))]);
}

#[tokio::test]
async fn the_user_is_found_by_uuid_last() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "client-42"})).await;
    let (status, answer) = app.put(PATH, &app.admin, json!({"search": "client-42", "attributes": {"a": "1"}})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["_id"], json!(id));
}

#[tokio::test]
async fn email_wins_over_uuid() {
    let app = spawn_app().await;
    let by_uuid = app.import_one(json!({"uuid": "same@x.test"})).await;
    let by_email = app.import_one(json!({"profile": {"userDetails": {"contact": {"email": "same@x.test"}}}})).await;
    let (_, answer) = app.put(PATH, &app.admin, json!({"search": "same@x.test", "attributes": {"a": "1"}})).await;
    assert_eq!(answer["data"]["_id"], json!(by_email));
    assert_eq!(attributes_of(&app.user(&by_uuid).await), vec![]);
}

#[tokio::test]
async fn no_matching_user_is_404() {
    let app = spawn_app().await;
    let (_, answer) = app
        .post(
            "/inbox/users/import",
            &app.other,
            json!([{"profile": {"userDetails": {"contact": {"email": "theirs@x.test"}}}}]),
        )
        .await;
    assert_eq!(answer["data"]["created"], json!(1));
    for search in ["nobody@x.test", "theirs@x.test"] {
        let (status, answer) = app.put(PATH, &app.admin, json!({"search": search, "attributes": {"a": "1"}})).await;
        assert_problem(status, &answer, 404, &[]);
    }
}

#[tokio::test]
async fn bot_or_platform_restrict_the_search() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let web = app.bot("web", "WEBSITE").await;
    let on_web = app
        .import_one(json!({"_botWebsite": web, "profile": {"userDetails": {"contact": {"email": "web@x.test"}}}}))
        .await;
    let on_wa = app.import_one(json!({"_botWhatsapp": wa, "uuid": "wa-user"})).await;
    for platform in ["whatsapp", "WHATSAPP", "WhatsApp"] {
        let (status, answer) = app
            .put(PATH, &app.admin, json!({"search": "web@x.test", "platform": platform, "attributes": {"a": "1"}}))
            .await;
        assert_problem(status, &answer, 404, &[]);
    }
    let (status, answer) = app
        .put(PATH, &app.admin, json!({"search": "web@x.test", "platform": "website", "attributes": {"a": "1"}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["_id"], json!(on_web));
    let (status, _) =
        app.put(PATH, &app.admin, json!({"search": "wa-user", "botId": web, "attributes": {"a": "1"}})).await;
    assert_eq!(status, 404);
    let (status, answer) =
        app.put(PATH, &app.admin, json!({"search": "wa-user", "botId": wa, "attributes": {"a": "1"}})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["_id"], json!(on_wa));
}

#[tokio::test]
async fn the_body_is_strict() {
    let app = spawn_app().await;
    let (status, answer) =
        app.put(PATH, &app.admin, json!({"search": 5, "attributes": ["a"], "platform": "pigeon", "extra": 1})).await;
    assert_problem(status, &answer, 400, &["search", "attributes", "platform", "extra"]);
}

#[tokio::test]
async fn agents_may_update_attributes() {
    let app = spawn_app().await;
    app.import_one(json!({"uuid": "u"})).await;
    let (status, answer) = app.put(PATH, &app.agent, json!({"search": "u", "attributes": {"a": "1"}})).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn digits_must_equal_not_merely_occur() {
    let app = spawn_app().await;
    app.import_one(
        json!({"profile": {"userDetails": {"contact": {"phone": {"prefix": "27", "number": "825551234"}}}}}),
    )
    .await;
    let (status, answer) = app.put(PATH, &app.admin, json!({"search": "825551234", "attributes": {"a": "1"}})).await;
    assert_problem(status, &answer, 404, &[]);
}
