//! POST /inbox/users/import with a JSON array: upserts, rejected rows, limits.

use serde_json::{json, Value};

use crate::support::*;

fn details(fields: Value) -> Value {
    json!({"profile": {"userDetails": fields}})
}

#[tokio::test]
async fn import_answers_created_updated_ids_and_rejected() {
    let app = spawn_app().await;
    let existing = app.import_one(json!({"uuid": "u-1"})).await;
    let data = app
        .import(json!([
            {"uuid": "u-2"},
            {"uuid": "u-1", "profile": {"userDetails": {"name": "updated"}}},
            {"status": "not a status"},
            {"uuid": "u-3"}
        ]))
        .await;
    assert_eq!(data["created"], json!(2));
    assert_eq!(data["updated"], json!(1));
    let ids = data["ids"].as_array().unwrap();
    assert_eq!(ids.len(), 4);
    assert!(ids[0].is_string());
    assert_eq!(ids[1], json!(existing));
    assert_eq!(ids[2], json!(null));
    assert!(ids[3].is_string());
    let rejected = data["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["row"], json!(2));
    assert!(problems_text(&rejected[0]["errors"]).contains("status"), "{data}");
    let mut keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["created", "ids", "rejected", "updated"]);
}

#[tokio::test]
async fn imported_users_are_open_unblocked_contacts_unless_the_row_says_otherwise() {
    let app = spawn_app().await;
    let plain = app.import_one(json!({"uuid": "plain"})).await;
    let user = app.user(&plain).await;
    assert_eq!(user["isContact"], json!(true));
    assert_eq!(user["isUserBlocked"], json!(false));
    assert_eq!(user["isSubscriber"], json!(false));
    assert_eq!(user["status"], json!("OPEN"));
    let special =
        app.import_one(json!({"uuid": "special", "isContact": false, "isUserBlocked": true, "status": "CLOSED"})).await;
    let user = app.user(&special).await;
    assert_eq!(user["isContact"], json!(false));
    assert_eq!(user["isUserBlocked"], json!(true));
    assert_eq!(user["status"], json!("CLOSED"));
}

#[tokio::test]
async fn rows_match_by_id_first() {
    let app = spawn_app().await;
    let a = app.import_one(json!({"uuid": "a", "profile": {"userDetails": {"contact": {"email": "a@x.test"}}}})).await;
    let b = app.import_one(json!({"uuid": "b"})).await;
    let data = app.import(json!([{"_id": a, "uuid": "b", "profile": {"userDetails": {"name": "by id"}}}])).await;
    assert_eq!(data["updated"], json!(1));
    assert_eq!(data["ids"], json!([a]));
    assert_eq!(app.user(&a).await["profile"]["userDetails"]["name"], json!("by id"));
    assert_eq!(app.user(&b).await["profile"]["userDetails"]["name"], json!(null));
}

#[tokio::test]
async fn rows_match_by_uuid_before_email() {
    let app = spawn_app().await;
    let a = app.import_one(json!({"uuid": "a", "profile": {"userDetails": {"contact": {"email": "a@x.test"}}}})).await;
    let b = app.import_one(json!({"uuid": "b"})).await;
    let data = app.import(json!([{"uuid": "b", "profile": {"userDetails": {"contact": {"email": "a@x.test"}}}}])).await;
    assert_eq!(data["ids"], json!([b]));
    assert_eq!(data["created"], json!(0));
    assert_eq!(app.user(&b).await["profile"]["userDetails"]["contact"]["email"], json!("a@x.test"));
    assert_eq!(app.user(&a).await["uuid"], json!("a"));
}

#[tokio::test]
async fn rows_match_by_email_ignoring_case_then_by_phone() {
    let app = spawn_app().await;
    let a = app
        .import_one(details(
            json!({"contact": {"email": "Ana@Example.com", "phone": {"prefix": "27", "number": "825551234"}}}),
        ))
        .await;
    let data = app.import(json!([details(json!({"contact": {"email": "ANA@EXAMPLE.COM"}, "name": "by email"}))])).await;
    assert_eq!(data["ids"], json!([a]));
    assert_eq!(data["updated"], json!(1));
    let data = app
        .import(json!([details(
            json!({"contact": {"phone": {"prefix": "+27", "number": "82 555-1234"}}, "city": "by phone"})
        )]))
        .await;
    assert_eq!(data["ids"], json!([a]));
    let user = app.user(&a).await;
    assert_eq!(user["profile"]["userDetails"]["name"], json!("by email"));
    assert_eq!(user["profile"]["userDetails"]["city"], json!("by phone"));
    assert_eq!(
        user["profile"]["userDetails"]["contact"]["email"],
        json!("ANA@EXAMPLE.COM"),
        "the row's email is taken"
    );
    // Another phone creates another user.
    let data =
        app.import(json!([details(json!({"contact": {"phone": {"prefix": "27", "number": "825559999"}}}))])).await;
    assert_eq!(data["created"], json!(1));
    assert_ne!(data["ids"][0], json!(a));
}

#[tokio::test]
async fn an_update_changes_only_the_fields_the_row_gives() {
    let app = spawn_app().await;
    let a = app
        .import_one(json!({"uuid": "a", "isSubscriber": true, "profile": {"userDetails": {
            "name": "Ana", "tags": ["x", "y"], "attributes": [{"key": "plan", "value": "gold"}, {"key": "seats", "value": "2"}]
        }}}))
        .await;
    app.import(json!([{"uuid": "a", "profile": {"userDetails": {
        "tags": ["z"], "attributes": [{"key": "plan", "value": "silver"}]
    }}}]))
    .await;
    let user = app.user(&a).await;
    let details = &user["profile"]["userDetails"];
    assert_eq!(details["name"], json!("Ana"));
    assert_eq!(user["isSubscriber"], json!(true));
    assert_eq!(details["tags"], json!(["z"]), "tags replace");
    let mut attributes = details["attributes"].as_array().unwrap().clone();
    attributes.sort_by_key(|a| a["key"].as_str().unwrap().to_string());
    assert_eq!(attributes, vec![json!({"key": "plan", "value": "silver"}), json!({"key": "seats", "value": "2"})]);
}

#[tokio::test]
async fn a_row_whose_id_names_no_user_of_the_workspace_is_rejected() {
    let app = spawn_app().await;
    let (_, answer) = app.post("/inbox/users/import", &app.other, json!([{"uuid": "theirs"}])).await;
    let theirs = answer["data"]["ids"][0].as_str().unwrap().to_string();
    let data = app.import(json!([{"_id": NO_SUCH_ID}, {"uuid": "fine"}, {"_id": theirs, "uuid": "mine now?"}])).await;
    assert_eq!(data["created"], json!(1));
    assert_eq!(data["updated"], json!(0));
    assert_eq!(data["ids"][0], json!(null));
    assert_eq!(data["ids"][2], json!(null));
    let rows: Vec<Value> = data["rejected"].as_array().unwrap().iter().map(|r| r["row"].clone()).collect();
    assert_eq!(rows, vec![json!(0), json!(2)]);
    let (_, answer) = app.get(&format!("/inbox/users/{theirs}"), &app.other).await;
    assert_eq!(answer["data"]["uuid"], json!("theirs"));
}

#[tokio::test]
async fn rows_with_wrong_values_are_rejected_and_the_others_applied() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let theirs = bot_of(&app, &app.other, "their web", "WEBSITE").await;
    let data = app
        .import(json!([
            {"_botWebsite": wa},
            {"_botWebsite": theirs},
            {"_agentAssigned": NO_SUCH_ID},
            details(json!({"tags": "vip"})),
            {"isSubscriber": "yes"},
            {"uuid": "good"},
            {"favouriteColour": "blue"},
            details(json!({"contact": {"email": 7}}))
        ]))
        .await;
    assert_eq!(data["created"], json!(1));
    let rejected = data["rejected"].as_array().unwrap();
    let rows: Vec<u64> = rejected.iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rows, vec![0, 1, 2, 3, 4, 6, 7]);
    let errors = |row: usize| problems_text(&rejected[row]["errors"]);
    assert!(errors(0).contains("_botWebsite"), "{}", errors(0));
    assert!(errors(1).contains("_botWebsite"), "{}", errors(1));
    assert!(errors(2).contains("_agentAssigned"), "{}", errors(2));
    assert!(errors(3).contains("profile.userDetails.tags"), "{}", errors(3));
    assert!(errors(4).contains("isSubscriber"), "{}", errors(4));
    assert!(errors(5).contains("favouriteColour"), "{}", errors(5));
    assert!(errors(6).contains("profile.userDetails.contact.email"), "{}", errors(6));
    assert_eq!(app.matching(json!({})).await.len(), 1);
}

#[tokio::test]
async fn put_only_fields_reject_an_import_row() {
    let app = spawn_app().await;
    let data = app
        .import(json!([
            {"uuid": "a", "isLiveChatActive": true},
            {"uuid": "b", "profile": {"notes": [{"title": "t", "description": "d"}]}},
            {"uuid": "c"}
        ]))
        .await;
    let rows: Vec<Value> = data["rejected"].as_array().unwrap().iter().map(|r| r["row"].clone()).collect();
    assert_eq!(rows, vec![json!(0), json!(1)]);
    assert!(problems_text(&data["rejected"][0]["errors"]).contains("isLiveChatActive"));
    assert!(problems_text(&data["rejected"][1]["errors"]).contains("notes"));
    assert_eq!(data["created"], json!(1));
}

#[tokio::test]
async fn the_bot_id_parameter_gives_rows_without_a_bot_that_bot() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let web = app.bot("web", "WEBSITE").await;
    let other_wa = app.bot("wa 2", "WHATSAPP").await;
    let (status, answer) = app
        .post(
            &format!("/inbox/users/import?botId={wa}"),
            &app.admin,
            json!([{"uuid": "plain"}, {"uuid": "own", "_botWhatsapp": other_wa}, {"uuid": "web", "_botWebsite": web}]),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let ids = answer["data"]["ids"].clone();
    let plain = app.user(ids[0].as_str().unwrap()).await;
    assert_eq!(plain["_botWhatsapp"], json!(wa));
    assert_eq!(plain["platform"], json!(["WHATSAPP"]));
    let own = app.user(ids[1].as_str().unwrap()).await;
    assert_eq!(own["_botWhatsapp"], json!(other_wa), "a row's own bot wins");
    let web_user = app.user(ids[2].as_str().unwrap()).await;
    assert_eq!(web_user["_botWebsite"], json!(web));
    assert_eq!(web_user["_botWhatsapp"], json!(null), "the row names a bot of its own");
}

#[tokio::test]
async fn the_bot_id_header_works_like_the_parameter() {
    let app = spawn_app().await;
    let tg = app.bot("tg", "TELEGRAM").await;
    let answer = app
        .client
        .post(app.url("/inbox/users/import"))
        .header("Authorization", format!("Bearer {}", app.admin))
        .header("botId", &tg)
        .json(&json!([{"uuid": "a"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let body: Value = answer.json().await.unwrap();
    let id = body["data"]["ids"][0].as_str().unwrap();
    assert_eq!(app.user(id).await["_botTelegram"], json!(tg));
}

#[tokio::test]
async fn an_unknown_bot_id_parameter_applies_nothing() {
    let app = spawn_app().await;
    for bot in [NO_SUCH_ID, "nope"] {
        let (status, answer) = app.post(&format!("/inbox/users/import?botId={bot}"), &app.admin, json!([{}])).await;
        if status == 200 {
            assert_eq!(answer["data"]["ids"], json!([null]), "botId={bot}: {answer}");
        } else {
            assert_problem(status, &answer, 400, &[]);
        }
    }
    assert!(app.matching(json!({})).await.is_empty());
}

#[tokio::test]
async fn more_than_10000_rows_is_400_and_applies_nothing() {
    let app = spawn_app().await;
    let rows: Vec<Value> = (0..10_001).map(|i| json!({"uuid": format!("u{i}")})).collect();
    let (status, answer) = app.post("/inbox/users/import", &app.admin, Value::Array(rows)).await;
    assert_problem(status, &answer, 400, &[]);
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(0));
}

#[tokio::test]
async fn a_body_that_is_not_an_array_is_400() {
    let app = spawn_app().await;
    for body in [json!({"uuid": "a"}), json!("a"), json!(null)] {
        let (status, answer) = app.post("/inbox/users/import", &app.admin, body).await;
        assert_problem(status, &answer, 400, &[]);
    }
    let (status, answer) = app.post("/inbox/users/import", &app.admin, json!([])).await;
    assert_eq!(status, 200, "an empty array imports nothing: {answer}");
    assert_eq!(answer["data"], json!({"created": 0, "updated": 0, "ids": [], "rejected": []}));
}

#[tokio::test]
async fn import_needs_an_admin() {
    let app = spawn_app().await;
    let (status, answer) = app.post("/inbox/users/import", &app.agent, json!([{"uuid": "a"}])).await;
    assert_problem(status, &answer, 403, &[]);
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(0));
}

#[tokio::test]
async fn rows_of_one_import_that_name_the_same_user_update_it_in_turn() {
    let app = spawn_app().await;
    let data = app
        .import(json!([
            {"uuid": "same", "profile": {"userDetails": {"name": "first"}}},
            {"uuid": "same", "profile": {"userDetails": {"city": "second"}}}
        ]))
        .await;
    assert_eq!(data["created"], json!(1));
    assert_eq!(data["updated"], json!(1));
    assert_eq!(data["ids"][0], data["ids"][1]);
    let user = app.user(data["ids"][0].as_str().unwrap()).await;
    assert_eq!(user["profile"]["userDetails"]["name"], json!("first"));
    assert_eq!(user["profile"]["userDetails"]["city"], json!("second"));
}

#[tokio::test]
async fn phones_match_by_prefix_and_number_digits_taken_together() {
    let app = spawn_app().await;
    let a = app.import_one(details(json!({"contact": {"phone": {"number": "27825551234"}}}))).await;
    let data = app
        .import(json!([details(json!({"contact": {"phone": {"prefix": "27", "number": "825551234"}}, "city": "x"}))]))
        .await;
    assert_eq!(data["ids"], json!([a]), "the same digits, split differently, are the same phone");
    assert_eq!(data["created"], json!(0));
}
