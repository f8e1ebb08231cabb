//! POST /inbox/events: messages, reads, presence, orders, live chat, visitors, idempotency.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn message(user: &str, by: &str, text: &str, at: &str) -> Value {
    json!({"type": "message", "userId": user, "by": by, "text": text, "at": at})
}

#[tokio::test]
async fn the_last_message_is_the_one_with_the_latest_at() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([message(&id, "bot", "later", "2025-03-01T10:00:02.000Z")])).await;
    app.events_ok(json!([message(&id, "user", "earlier", "2025-03-01T10:00:01.000Z")])).await;
    assert_eq!(
        app.user(&id).await["lastMessage"],
        json!({"text": "later", "at": "2025-03-01T10:00:02.000Z", "by": "bot"})
    );
    app.events_ok(json!([message(&id, "agent", "tie", "2025-03-01T10:00:02.000Z")])).await;
    assert_eq!(app.user(&id).await["lastMessage"]["text"], json!("tie"), "on a tie, the one received last");
    app.events_ok(json!([
        message(&id, "user", "batch one", "2025-03-01T10:00:03.000Z"),
        message(&id, "bot", "batch two", "2025-03-01T10:00:03.000Z")
    ]))
    .await;
    assert_eq!(app.user(&id).await["lastMessage"]["text"], json!("batch two"), "within a batch, the later one");
}

#[tokio::test]
async fn a_user_message_marks_interaction_raises_last_seen_and_counts_unread() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([message(&id, "user", "one", "2025-03-01T10:00:00.000Z")])).await;
    let user = app.user(&id).await;
    assert_eq!(user["userInteracted"], json!(true));
    assert_eq!(user["lastSeenAt"], json!("2025-03-01T10:00:00.000Z"));
    assert_eq!(user["unreadMessages"], json!(1));
    app.events_ok(json!([message(&id, "user", "older", "2025-02-01T10:00:00.000Z")])).await;
    let user = app.user(&id).await;
    assert_eq!(user["lastSeenAt"], json!("2025-03-01T10:00:00.000Z"), "an older message does not lower lastSeenAt");
    assert_eq!(user["unreadMessages"], json!(2), "whatever its at");
    assert_eq!(user["lastMessage"]["text"], json!("one"));
    app.events_ok(json!([message(&id, "user", "newer", "2025-03-05T10:00:00.000Z")])).await;
    let user = app.user(&id).await;
    assert_eq!(user["lastSeenAt"], json!("2025-03-05T10:00:00.000Z"));
    assert_eq!(user["unreadMessages"], json!(3));
}

#[tokio::test]
async fn bot_and_agent_messages_do_not_count_as_the_user_s() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([
        message(&id, "bot", "hi", "2025-03-01T10:00:00.000Z"),
        message(&id, "agent", "hello", "2025-03-01T10:00:01.000Z")
    ]))
    .await;
    let user = app.user(&id).await;
    assert_eq!(user["userInteracted"], json!(false));
    assert_eq!(user["lastSeenAt"], json!(null));
    assert_eq!(user["unreadMessages"], json!(0));
    assert_eq!(user["lastMessage"]["by"], json!("agent"));
}

#[tokio::test]
async fn a_read_event_sets_unread_to_zero() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([message(&id, "user", "a", &now()), message(&id, "user", "b", &now())])).await;
    assert_eq!(app.user(&id).await["unreadMessages"], json!(2));
    app.events_ok(json!([message(&id, "agent", "reply", &now())])).await;
    assert_eq!(app.user(&id).await["unreadMessages"], json!(2), "only a read resets unread");
    app.events_ok(json!([{"type": "read", "userId": id}])).await;
    assert_eq!(app.user(&id).await["unreadMessages"], json!(0));
}

#[tokio::test]
async fn presence_does_not_move_last_seen() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([{"type": "presence", "userId": id, "online": true, "at": now()}])).await;
    let user = app.user(&id).await;
    assert_eq!(user["isOnline"], json!(true));
    assert_eq!(user["lastSeenAt"], json!(null));
    app.events_ok(json!([{"type": "presence", "userId": id, "online": false}])).await;
    assert_eq!(app.user(&id).await["isOnline"], json!(false), "at defaults to now");
}

#[tokio::test]
async fn orders_count_and_keep_the_latest_time() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([
        {"type": "order", "userId": id, "orderId": "o-1", "at": "2025-03-02T10:00:00.000Z", "amount": 120.5, "currency": "ZAR"},
        {"type": "order", "userId": id, "orderId": "o-2", "at": "2025-03-01T10:00:00.000Z"}
    ]))
    .await;
    assert_eq!(
        app.user(&id).await["hasOrdered"],
        json!({"status": true, "lastAt": "2025-03-02T10:00:00.000Z", "count": 2})
    );
}

#[tokio::test]
async fn live_chat_events_switch_live_chat() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.events_ok(json!([{"type": "liveChat", "userId": id, "active": true}])).await;
    assert_eq!(app.user(&id).await["isLiveChatActive"], json!(true));
    app.events_ok(json!([{"type": "liveChat", "userId": id, "active": false}])).await;
    assert_eq!(app.user(&id).await["isLiveChatActive"], json!(false));
}

#[tokio::test]
async fn the_answer_names_each_event_s_user() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let data = app
        .events(json!([
            {"type": "read", "userId": id},
            {"type": "read", "userId": NO_SUCH_ID},
            {"type": "liveChat", "userId": id, "active": true}
        ]))
        .await;
    assert_eq!(data["applied"], json!(2));
    assert_eq!(data["duplicates"], json!(0));
    assert_eq!(data["users"], json!([id, null, id]));
    let rejected = data["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["index"], json!(1));
    assert!(!rejected[0]["errors"].as_array().unwrap().is_empty());
    let mut keys: Vec<&String> = data.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["applied", "duplicates", "rejected", "users"]);
}

#[tokio::test]
async fn an_event_id_is_applied_once_within_and_across_batches() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let event = json!({"type": "message", "userId": id, "by": "user", "text": "hi", "eventId": "evt-1"});
    let data =
        app.events(json!([event, event, {"type": "order", "userId": id, "orderId": "o", "eventId": "evt-2"}])).await;
    assert_eq!(data["applied"], json!(2));
    assert_eq!(data["duplicates"], json!(1));
    let data = app.events(json!([event, {"type": "order", "userId": id, "orderId": "o", "eventId": "evt-2"}])).await;
    assert_eq!(data["applied"], json!(0));
    assert_eq!(data["duplicates"], json!(2));
    let user = app.user(&id).await;
    assert_eq!(user["unreadMessages"], json!(1));
    assert_eq!(user["hasOrdered"]["count"], json!(1));
}

#[tokio::test]
async fn event_ids_are_remembered_per_workspace() {
    let app = spawn_app().await;
    let mine = app.import_one(json!({"uuid": "u"})).await;
    let (_, answer) = app.post("/inbox/users/import", &app.other, json!([{"uuid": "theirs"}])).await;
    let theirs = answer["data"]["ids"][0].as_str().unwrap().to_string();
    app.events_ok(json!([{"type": "read", "userId": mine, "eventId": "shared-id"}])).await;
    let (status, answer) = app
        .post("/inbox/events", &app.other, json!([{"type": "read", "userId": theirs, "eventId": "shared-id"}]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"]["applied"], json!(1), "{answer}");
    assert_eq!(answer["data"]["duplicates"], json!(0));
}

#[tokio::test]
async fn a_visitor_message_creates_the_user_once_per_identity() {
    let app = spawn_app().await;
    for (platform, field, external) in [
        ("WEBSITE", "uuid", "web-visitor-1"),
        ("WHATSAPP", "whatsAppNumber", "27825551234"),
        ("TELEGRAM", "telegramUserName", "tg_visitor"),
        ("FACEBOOK", "facebookProfileId", "100004567890"),
    ] {
        let bot = app.bot(&format!("{platform} bot"), platform).await;
        let at = "2025-03-01T10:00:00.000Z";
        let id = app.visitor(platform, &bot, external, "user", at).await;
        let user = app.user(&id).await;
        let kept = if field == "uuid" { &user["uuid"] } else { &user["profile"]["userDetails"][field] };
        assert_eq!(kept, &json!(external), "{platform} keeps the externalId as {field}");
        assert_eq!(user["createdAt"], json!(at), "{platform}");
        assert_eq!(user["status"], json!("OPEN"));
        assert_eq!(user["isContact"], json!(false));
        assert_eq!(user["isSubscriber"], json!(false));
        assert_eq!(user["platform"], json!([platform]));
        let bot_field = match platform {
            "WEBSITE" => "_botWebsite",
            "WHATSAPP" => "_botWhatsapp",
            "TELEGRAM" => "_botTelegram",
            _ => "_botFacebook",
        };
        assert_eq!(user[bot_field], json!(bot));
        let again = app.visitor(platform, &bot, external, "user", "2025-03-02T10:00:00.000Z").await;
        assert_eq!(again, id, "{platform}: the same identity is the same user");
        let user = app.user(&id).await;
        assert_eq!(user["createdAt"], json!(at));
        assert_eq!(user["unreadMessages"], json!(2));
    }
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(4));
}

#[tokio::test]
async fn a_visitor_identity_finds_an_imported_user() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let id = app
        .import_one(json!({"_botWhatsapp": wa, "profile": {"userDetails": {"whatsAppNumber": "27825551234"}}}))
        .await;
    let found = app.visitor("WHATSAPP", &wa, "27825551234", "user", &now()).await;
    assert_eq!(found, id);
}

#[tokio::test]
async fn a_visitor_bot_must_be_of_that_platform_in_the_workspace() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let theirs = bot_of(&app, &app.other, "their web", "WEBSITE").await;
    let data = app
        .events(json!([
            {"type": "message", "by": "user", "text": "hi", "visitor": {"platform": "WEBSITE", "botId": wa, "externalId": "v1"}},
            {"type": "message", "by": "user", "text": "hi", "visitor": {"platform": "WEBSITE", "botId": theirs, "externalId": "v2"}},
            {"type": "message", "by": "user", "text": "hi", "visitor": {"platform": "WEBSITE", "botId": NO_SUCH_ID, "externalId": "v3"}},
            {"type": "message", "by": "user", "text": "hi", "visitor": {"platform": "WHATSAPP", "botId": wa, "externalId": "27825551234"}}
        ]))
        .await;
    assert_eq!(data["applied"], json!(1));
    assert_eq!(data["users"].as_array().unwrap()[..3], [json!(null), json!(null), json!(null)]);
    let rejected: Vec<Value> = data["rejected"].as_array().unwrap().iter().map(|r| r["index"].clone()).collect();
    assert_eq!(rejected, vec![json!(0), json!(1), json!(2)]);
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(1));
}

#[tokio::test]
async fn events_for_users_of_another_workspace_or_no_user_are_rejected() {
    let app = spawn_app().await;
    let (_, answer) = app.post("/inbox/users/import", &app.other, json!([{"uuid": "theirs"}])).await;
    let theirs = answer["data"]["ids"][0].as_str().unwrap().to_string();
    let mine = app.import_one(json!({"uuid": "mine"})).await;
    let data = app
        .events(json!([
            message(&theirs, "user", "hi", &now()),
            {"type": "read"},
            message(&mine, "user", "hi", &now())
        ]))
        .await;
    assert_eq!(data["applied"], json!(1));
    assert_eq!(data["users"], json!([null, null, mine]));
    let (_, answer) = app.get(&format!("/inbox/users/{theirs}"), &app.other).await;
    assert_eq!(answer["data"]["unreadMessages"], json!(0), "the other workspace's user is untouched");
}

#[tokio::test]
async fn a_malformed_event_is_rejected_alone() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let data = app
        .events(json!([
            {"type": "message", "userId": id, "by": "robot", "text": "x"},
            {"type": "teleport", "userId": id},
            {"type": "read", "userId": id, "colour": "blue"},
            {"type": "presence", "userId": id, "online": "yes"},
            {"type": "message", "userId": id, "by": "user", "text": "x", "at": "yesterday"},
            {"type": "liveChat", "userId": id, "active": true}
        ]))
        .await;
    assert_eq!(data["applied"], json!(1));
    let rejected = data["rejected"].as_array().unwrap();
    let indexes: Vec<u64> = rejected.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    assert_eq!(indexes, vec![0, 1, 2, 3, 4]);
    assert!(problems_text(&rejected[0]["errors"]).contains("by"));
    assert!(problems_text(&rejected[1]["errors"]).contains("type"));
    assert!(problems_text(&rejected[2]["errors"]).contains("colour"));
    assert!(problems_text(&rejected[3]["errors"]).contains("online"));
    assert!(problems_text(&rejected[4]["errors"]).contains("at"));
    let user = app.user(&id).await;
    assert_eq!(user["isLiveChatActive"], json!(true));
    assert_eq!(user["lastMessage"], json!(null));
}

#[tokio::test]
async fn more_than_1000_events_is_400_and_applies_nothing() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let events: Vec<Value> = (0..1001).map(|i| message(&id, "user", &format!("m{i}"), &now())).collect();
    let (status, answer) = app.post("/inbox/events", &app.admin, Value::Array(events)).await;
    assert_problem(status, &answer, 400, &[]);
    assert_eq!(app.user(&id).await["unreadMessages"], json!(0));
    let events: Vec<Value> = (0..1000).map(|i| message(&id, "user", &format!("m{i}"), &now())).collect();
    let data = app.events(Value::Array(events)).await;
    assert_eq!(data["applied"], json!(1000));
}

#[tokio::test]
async fn an_events_body_that_is_not_an_array_is_400() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let (status, answer) = app.post("/inbox/events", &app.admin, json!({"type": "read", "userId": id})).await;
    assert_problem(status, &answer, 400, &[]);
}

#[tokio::test]
async fn agents_may_send_events() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let (status, answer) = app.post("/inbox/events", &app.agent, json!([message(&id, "agent", "hi", &now())])).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["applied"], json!(1));
}

#[tokio::test]
async fn at_defaults_to_the_time_of_receipt_and_is_kept_to_the_millisecond() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let before = now();
    app.events_ok(json!([{"type": "message", "userId": id, "by": "user", "text": "now"}])).await;
    let after = now();
    let seen = app.user(&id).await["lastSeenAt"].as_str().unwrap().to_string();
    assert!(before <= seen && seen <= after, "{before} <= {seen} <= {after}");
    app.events_ok(json!([message(&id, "user", "fine", "2999-03-01T12:00:00.123456+02:00")])).await;
    let user = app.user(&id).await;
    assert_eq!(user["lastSeenAt"], json!("2999-03-01T10:00:00.123Z"));
    assert_eq!(user["lastMessage"]["at"], json!("2999-03-01T10:00:00.123Z"));
}

#[tokio::test]
async fn events_move_updated_at() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let mut last = app.user(&id).await["updatedAt"].as_str().unwrap().to_string();
    for event in [
        message(&id, "bot", "hi", "2020-01-01T00:00:00.000Z"),
        json!({"type": "order", "userId": id, "orderId": "o"}),
        json!({"type": "presence", "userId": id, "online": true}),
        json!({"type": "liveChat", "userId": id, "active": true}),
    ] {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.events_ok(json!([event.clone()])).await;
        let now = app.user(&id).await["updatedAt"].as_str().unwrap().to_string();
        assert!(now > last, "updatedAt moved after {event}: {last} -> {now}");
        last = now;
    }
}

#[tokio::test]
async fn only_message_events_may_name_a_visitor() {
    let app = spawn_app().await;
    let web = app.bot("web", "WEBSITE").await;
    let data = app
        .events(json!([
            {"type": "presence", "online": true, "visitor": {"platform": "WEBSITE", "botId": web, "externalId": "v1"}},
            {"type": "order", "orderId": "o", "visitor": {"platform": "WEBSITE", "botId": web, "externalId": "v1"}}
        ]))
        .await;
    assert_eq!(data["applied"], json!(0));
    assert_eq!(data["users"], json!([null, null]));
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(0), "no user was created");
}

#[tokio::test]
async fn batches_sent_at_once_on_the_same_users_lose_nothing() {
    // Each batch reads its users before waiting for the batch ahead of it to commit: what that
    // batch wrote must still count.
    let app = spawn_app().await;
    let ids: Vec<String> =
        app.import(json!((0..5).map(|i| json!({"uuid": format!("u{i}")})).collect::<Vec<_>>())).await["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_string())
            .collect();
    let (senders, batches_each) = (4, 5);
    let sends = (0..senders).map(|sender| {
        let ids = ids.clone();
        let app = &app;
        async move {
            for batch in 0..batches_each {
                let events: Vec<Value> = ids
                    .iter()
                    .map(|id| message(id, "user", &format!("{sender}-{batch}"), "2025-03-01T10:00:00.000Z"))
                    .chain([json!({"type": "order", "userId": ids[0], "orderId": format!("{sender}-{batch}")})])
                    .collect();
                let data = app.events_ok(json!(events)).await;
                assert_eq!(data["applied"], json!(ids.len() + 1));
            }
        }
    });
    let tags = async {
        for round in 0..batches_each {
            app.update(&ids[1], json!({"profile": {"userDetails": {"tags": [format!("t{round}")]}}})).await;
        }
    };
    futures_util::future::join(futures_util::future::join_all(sends), tags).await;
    let total = json!(senders * batches_each);
    for id in &ids {
        assert_eq!(app.user(id).await["unreadMessages"], total, "every message of every batch counted");
    }
    assert_eq!(app.user(&ids[0]).await["hasOrdered"]["count"], total);
    assert_eq!(app.user(&ids[1]).await["profile"]["userDetails"]["tags"], json!([format!("t{}", batches_each - 1)]));
    let tagged = json!({"tags": [format!("t{}", batches_each - 1)]});
    assert_eq!(app.query(tagged).await["meta"]["total"], json!(1), "the engine agrees with the store");
}

/// The `inboxd_pending_activity` gauge of /metrics.
async fn pending_activity(app: &TestApp) -> u64 {
    let metrics = app.raw(Method::GET, "/metrics", None, None, None).await.text();
    let line = metrics.lines().find(|l| l.starts_with("inboxd_pending_activity ")).expect("the gauge");
    line.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a count")
}

#[tokio::test]
async fn users_read_the_same_before_and_after_their_events_are_folded_into_them() {
    // The embedded store keeps what events did beside the documents until the writer idles; every
    // read applies it meanwhile. PostgreSQL rewrites the documents at once (nothing is pending).
    let app = spawn_app().await;
    let ids = app.users_named(&["Ada", "Bob", "Cy"]).await;
    let at = |minute: u32| format!("2025-03-01T10:{minute:02}:00.000Z");
    let events = json!([
        message(&ids[0], "user", "first", &at(1)),
        message(&ids[0], "agent", "an answer", &at(2)),
        message(&ids[0], "user", "again", &at(3)),
        {"type": "order", "userId": ids[1], "orderId": "o-1", "at": at(4)},
        {"type": "presence", "userId": ids[1], "online": true, "at": at(5)},
        {"type": "liveChat", "userId": ids[2], "active": true},
        message(&ids[2], "user", "hello", &at(6)),
        {"type": "read", "userId": ids[2]},
    ]);
    app.events_ok(events).await;
    // A whole-document write between two batches includes the first and not the second.
    app.update(&ids[0], json!({"profile": {"userDetails": {"tags": ["vip"]}}})).await;
    app.events_ok(json!([message(&ids[0], "user", "after the tag", &at(7))])).await;

    let seen = || async {
        let users = futures_util::future::join_all(ids.iter().map(|id| app.user(id))).await;
        let filters = [
            json!({"hasOrdered": {"status": true, "lastAt": ""}, "applicableFilters": ["hasOrdered"]}),
            json!({"lastMessageBy": ["user"]}),
            json!({"userInteracted": true, "tags": ["vip"], "applicableFilters": ["userInteracted"]}),
            json!({"isLiveChatActive": true, "applicableFilters": ["isLiveChatActive"]}),
        ];
        let totals = futures_util::future::join_all(filters.map(|f| app.query(f))).await;
        let totals: Vec<Value> = totals.iter().map(|answer| answer["meta"]["total"].clone()).collect();
        (users, totals, app.export(json!({})).await)
    };
    let before = seen().await;
    assert_eq!(before.0[0]["unreadMessages"], json!(3));
    assert_eq!(before.0[0]["lastMessage"]["text"], json!("after the tag"));
    assert_eq!(before.0[0]["profile"]["userDetails"]["tags"], json!(["vip"]));
    assert_eq!(before.0[1]["hasOrdered"]["count"], json!(1));
    assert_eq!(
        (before.0[2]["unreadMessages"].clone(), before.0[2]["isLiveChatActive"].clone()),
        (json!(0), json!(true))
    );
    assert_eq!(before.1, vec![json!(1), json!(2), json!(1), json!(1)]);

    let mut waited = 0;
    while pending_activity(&app).await > 0 {
        assert!(waited < 200, "the writer idles, so what is pending is folded within seconds");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        waited += 1;
    }
    let after = seen().await;
    assert_eq!(after.0, before.0, "the documents read the same once folded");
    assert_eq!(after.1, before.1);
    assert_eq!(after.2, before.2, "the export too");
}
