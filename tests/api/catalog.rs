//! Bots, agents and segments (contract section 6).

use serde_json::{json, Value};

use crate::support::*;

fn tagged(tags: &[&str]) -> Value {
    json!({"profile": {"userDetails": {"tags": tags}}})
}

fn with_attributes(pairs: &[(&str, &str)]) -> Value {
    let attributes: Vec<Value> = pairs.iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    json!({"profile": {"userDetails": {"attributes": attributes}}})
}

#[tokio::test]
async fn bots_are_created_and_listed() {
    let app = spawn_app().await;
    let (status, answer) =
        app.post("/inbox/bots", &app.admin, json!({"name": "Support", "platform": "WHATSAPP"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_success(&answer);
    let bot = answer["data"].clone();
    assert_eq!(bot["name"], json!("Support"));
    assert_eq!(bot["platform"], json!("WHATSAPP"));
    assert_eq!(id_of(&bot).len(), 24);
    let (status, answer) = app.get("/inbox/bots", &app.admin).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"].as_array().unwrap().len(), 1);
    assert_eq!(answer["data"][0]["_id"], bot["_id"]);
    let (_, answer) = app.get("/inbox/bots", &app.other).await;
    assert_eq!(answer["data"], json!([]), "another workspace sees none of them");
}

#[tokio::test]
async fn a_bot_needs_a_known_platform_and_no_unknown_fields() {
    let app = spawn_app().await;
    let (status, answer) =
        app.post("/inbox/bots", &app.admin, json!({"name": "x", "platform": "INSTAGRAM", "colour": 1})).await;
    assert_problem(status, &answer, 400, &["platform", "colour"]);
}

#[tokio::test]
async fn agents_are_created_and_listed() {
    let app = spawn_app().await;
    let (status, answer) =
        app.post("/inbox/agents", &app.admin, json!({"name": "Ann", "email": "ann@acme.test"})).await;
    assert_eq!(status, 200, "{answer}");
    let agent = answer["data"].clone();
    assert_eq!(agent["name"], json!("Ann"));
    assert_eq!(agent["email"], json!("ann@acme.test"));
    let (_, answer) = app.get("/inbox/agents", &app.agent).await;
    assert_eq!(answer["data"].as_array().unwrap().len(), 1);
    assert_eq!(answer["data"][0]["_id"], agent["_id"]);
    let (status, answer) = app.post("/inbox/agents", &app.admin, json!({"name": "Bo", "mail": "x"})).await;
    assert_problem(status, &answer, 400, &["mail"]);
}

#[tokio::test]
async fn segments_are_listed_with_a_live_count() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a", "b"]).await;
    let definition = json!({"segmentName": "VIPs", "match": "all", "conditions": [{"field": "tag", "operator": "is", "value": "vip"}]});
    let (status, answer) = app.post("/inbox/segments", &app.admin, definition).await;
    assert_eq!(status, 200, "{answer}");
    let segment = id_of(&answer["data"]);
    assert_eq!(answer["data"]["segmentName"], json!("VIPs"));
    let count = || async {
        let (status, answer) = app.get("/inbox/segments", &app.admin).await;
        assert_eq!(status, 200, "{answer}");
        let listed = answer["data"].as_array().unwrap().iter().find(|s| s["_id"] == json!(segment)).cloned().unwrap();
        assert_eq!(listed["segmentName"], json!("VIPs"));
        assert_eq!(listed["match"], json!("all"));
        assert_eq!(listed["conditions"][0]["operator"], json!("is"));
        listed["count"].clone()
    };
    assert_eq!(count().await, json!(0));
    app.update(&ids[0], tagged(&["VIP"])).await;
    assert_eq!(count().await, json!(1));
    app.update(&ids[1], tagged(&["vip"])).await;
    assert_eq!(count().await, json!(2));
    app.set_status(&[&ids[1]], "DELETED").await;
    assert_eq!(count().await, json!(1), "DELETED users are never counted");
}

#[tokio::test]
async fn a_user_s_segments_change_as_the_user_changes() {
    let app = spawn_app().await;
    let id = app.import_one(tagged(&["lead"])).await;
    let vips = app
        .segment(json!({"segmentName": "VIPs", "match": "all", "conditions": [{"field": "tag", "operator": "is", "value": "vip"}]}))
        .await;
    let leads = app
        .segment(json!({"segmentName": "Leads", "match": "all", "conditions": [{"field": "tag", "operator": "is", "value": "lead"}]}))
        .await;
    assert_eq!(app.user(&id).await["segments"], json!([leads]));
    app.update(&id, tagged(&["vip"])).await;
    assert_eq!(app.user(&id).await["segments"], json!([vips]));
    assert_eq!(app.query(json!({})).await["data"][0]["segments"], json!([vips]), "query answers show them too");
}

#[tokio::test]
async fn tag_conditions_follow_their_operators_ignoring_case() {
    let app = spawn_app().await;
    let vip = app.import_one(tagged(&["VIP", "news"])).await;
    let vip_gold = app.import_one(tagged(&["vip-gold"])).await;
    let none = app.import_one(tagged(&[])).await;
    let cases = [
        (json!({"field": "tag", "operator": "is", "value": "vip"}), set(&[&vip])),
        (json!({"field": "tag", "operator": "isNot", "value": "Vip"}), set(&[&vip_gold, &none])),
        (json!({"field": "tag", "operator": "contains", "value": "VIP"}), set(&[&vip, &vip_gold])),
        (json!({"field": "tag", "operator": "exists"}), set(&[&vip, &vip_gold])),
        (json!({"field": "tag", "operator": "notExists"}), set(&[&none])),
    ];
    for (condition, expected) in cases {
        let segment = app.segment(json!({"segmentName": "s", "match": "all", "conditions": [condition.clone()]})).await;
        assert_eq!(app.matching(json!({"segments": [segment]})).await, expected, "{condition}");
    }
}

#[tokio::test]
async fn attribute_conditions_follow_their_operators_ignoring_case() {
    let app = spawn_app().await;
    let gold = app.import_one(with_attributes(&[("Plan", "Gold")])).await;
    let golden = app.import_one(with_attributes(&[("plan", "golden"), ("seats", "3")])).await;
    let none = app.import_one(with_attributes(&[("seats", "1")])).await;
    let cases = [
        (json!({"field": "attribute", "key": "plan", "operator": "is", "value": "gold"}), set(&[&gold])),
        (json!({"field": "attribute", "key": "PLAN", "operator": "isNot", "value": "gold"}), set(&[&golden, &none])),
        (json!({"field": "attribute", "key": "plan", "operator": "contains", "value": "GOLD"}), set(&[&gold, &golden])),
        (json!({"field": "attribute", "key": "plan", "operator": "exists"}), set(&[&gold, &golden])),
        (json!({"field": "attribute", "key": "plan", "operator": "notExists"}), set(&[&none])),
    ];
    for (condition, expected) in cases {
        let segment = app.segment(json!({"segmentName": "s", "match": "all", "conditions": [condition.clone()]})).await;
        assert_eq!(app.matching(json!({"segments": [segment]})).await, expected, "{condition}");
    }
}

#[tokio::test]
async fn all_needs_every_condition_and_any_needs_one() {
    let app = spawn_app().await;
    let both = app
        .import_one(
            json!({"profile": {"userDetails": {"tags": ["vip"], "attributes": [{"key": "plan", "value": "gold"}]}}}),
        )
        .await;
    let tag_only = app.import_one(tagged(&["vip"])).await;
    let attribute_only = app.import_one(with_attributes(&[("plan", "gold")])).await;
    let _neither = app.import_one(tagged(&["lead"])).await;
    let conditions = json!([
        {"field": "tag", "operator": "is", "value": "vip"},
        {"field": "attribute", "key": "plan", "operator": "is", "value": "gold"}
    ]);
    let all = app.segment(json!({"segmentName": "all", "match": "all", "conditions": conditions})).await;
    let any = app.segment(json!({"segmentName": "any", "match": "any", "conditions": conditions})).await;
    assert_eq!(app.matching(json!({"segments": [all]})).await, set(&[&both]));
    assert_eq!(app.matching(json!({"segments": [any]})).await, set(&[&both, &tag_only, &attribute_only]));
}

#[tokio::test]
async fn no_conditions_hold_trivially_within_platform_and_bot() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let wa2 = app.bot("wa 2", "WHATSAPP").await;
    let web = app.bot("web", "WEBSITE").await;
    let on_wa = app.import_one(json!({"_botWhatsapp": wa})).await;
    let on_wa2 = app.import_one(json!({"_botWhatsapp": wa2, "_botWebsite": web})).await;
    let on_web = app.import_one(json!({"_botWebsite": web})).await;
    let nowhere = app.import_one(json!({"uuid": "x"})).await;
    let everyone = app.segment(json!({"segmentName": "all", "match": "all", "conditions": []})).await;
    let anyone = app.segment(json!({"segmentName": "any", "match": "any", "conditions": []})).await;
    let whatsapp =
        app.segment(json!({"segmentName": "wa", "platform": "WHATSAPP", "match": "all", "conditions": []})).await;
    let bot = app.segment(json!({"segmentName": "bot", "botId": wa, "match": "any", "conditions": []})).await;
    assert_eq!(app.matching(json!({"segments": [everyone]})).await, set(&[&on_wa, &on_wa2, &on_web, &nowhere]));
    assert_eq!(app.matching(json!({"segments": [anyone]})).await, set(&[&on_wa, &on_wa2, &on_web, &nowhere]));
    assert_eq!(app.matching(json!({"segments": [whatsapp]})).await, set(&[&on_wa, &on_wa2]));
    assert_eq!(app.matching(json!({"segments": [bot]})).await, set(&[&on_wa]));
}

#[tokio::test]
async fn a_segment_with_a_bot_of_no_bot_of_the_workspace_is_400() {
    let app = spawn_app().await;
    let theirs = bot_of(&app, &app.other, "their bot", "WEBSITE").await;
    for bot in [NO_SUCH_ID, theirs.as_str()] {
        let (status, answer) = app
            .post(
                "/inbox/segments",
                &app.admin,
                json!({"segmentName": "s", "botId": bot, "match": "all", "conditions": []}),
            )
            .await;
        assert_problem(status, &answer, 400, &["botId"]);
    }
    let (_, answer) = app.get("/inbox/segments", &app.admin).await;
    assert_eq!(answer["data"], json!([]));
}

#[tokio::test]
async fn malformed_segment_definitions_are_400_with_every_problem() {
    let app = spawn_app().await;
    let (status, answer) = app
        .post(
            "/inbox/segments",
            &app.admin,
            json!({"segmentName": 5, "platform": "MARS", "match": "most", "conditions": [
                {"field": "colour", "operator": "is", "value": "red"},
                {"field": "tag", "operator": "like", "value": "x"},
                {"field": "attribute", "operator": "is", "value": "x"}
            ], "extra": true}),
        )
        .await;
    assert_problem(
        status,
        &answer,
        400,
        &[
            "segmentName",
            "platform",
            "match",
            "conditions[0].field",
            "conditions[1].operator",
            "conditions[2].key",
            "extra",
        ],
    );
}

#[tokio::test]
async fn segments_are_deleted_and_managed_by_admins_only() {
    let app = spawn_app().await;
    let definition = json!({"segmentName": "s", "match": "all", "conditions": []});
    let (status, answer) = app.post("/inbox/segments", &app.agent, definition.clone()).await;
    assert_problem(status, &answer, 403, &[]);
    let segment = app.segment(definition).await;
    let (status, answer) = app.get("/inbox/segments", &app.agent).await;
    assert_eq!(status, 200, "agents may list segments: {answer}");
    let (status, answer) = app.delete(&format!("/inbox/segments/{segment}"), &app.agent).await;
    assert_problem(status, &answer, 403, &[]);
    let (status, answer) = app.delete(&format!("/inbox/segments/{segment}"), &app.other).await;
    assert_problem(status, &answer, 404, &[]);
    let (status, answer) = app.delete(&format!("/inbox/segments/{segment}"), &app.admin).await;
    assert_eq!(status, 200, "{answer}");
    assert_success(&answer);
    let (_, answer) = app.get("/inbox/segments", &app.admin).await;
    assert_eq!(answer["data"], json!([]));
    let (status, answer) = app.delete(&format!("/inbox/segments/{segment}"), &app.admin).await;
    assert_problem(status, &answer, 404, &[]);
    let (status, answer) = app.delete("/inbox/segments/not-an-id", &app.admin).await;
    assert_problem(status, &answer, 400, &[]);
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"segments": [segment]})).await;
    assert_problem(status, &answer, 400, &["segments[0]"]);
}
