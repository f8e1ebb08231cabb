//! Tenant isolation: for every endpoint, a token of workspace "other" never reads, counts,
//! changes or learns the existence of workspace "acme"'s data. Every foreign id is answered
//! exactly like an id that names nothing.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// acme's data: users with bots, an agent, a segment, notes, a webhook subscription and a delivery.
struct Acme {
    users: Vec<String>,
    ann: String,
    bot: String,
    agent: String,
    segment: String,
    delivery: String,
}

async fn acme(app: &TestApp) -> Acme {
    let bot = app.bot("Acme web", "WEBSITE").await;
    let whatsapp = app.bot("Acme wa", "WHATSAPP").await;
    let agent = app.agent_named("Acme Agent").await;
    let segment = app
        .segment(json!({"segmentName": "Acme VIP", "conditions": [{"field": "tag", "operator": "is", "value": "vip"}]}))
        .await;
    let (status, answer) = app
        .post(
            "/integrations/custom-app/subscribe-trigger-event",
            &app.admin,
            json!({"webhookUrl": "http://127.0.0.1:9/acme-hook", "event": "newLeadHook", "subscribe": true}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let data = app
        .import(json!([
            {"uuid": "acme-uuid-1", "_botWebsite": bot, "_agentAssigned": agent,
             "profile": {"userDetails": {"name": "Ann Acme", "contact": {"email": "ann@acme.test", "phone": {"prefix": "27", "number": "825550001"}},
                         "tags": ["vip"], "attributes": [{"key": "plan", "value": "gold"}]}}},
            {"profile": {"userDetails": {"name": "Bob Acme", "contact": {"email": "bob@acme.test"}, "tags": ["vip", "acme-only"]}}},
        ]))
        .await;
    let users: Vec<String> = data["ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let visitor = app.visitor("WHATSAPP", &whatsapp, "+27 84 999 0001", "user", &now()).await;
    app.update(&users[0], json!({"profile": {"notes": [{"title": "secret", "description": "acme note"}]}})).await;
    app.events_ok(json!([{"type": "order", "orderId": "acme-o1", "userId": users[0], "eventId": "acme-e1"}])).await;
    let (status, log) = app.get("/integrations/custom-app/deliveries", &app.admin).await;
    assert_eq!(status, 200, "{log}");
    let delivery = log["data"].as_array().and_then(|d| d.first()).map(id_of).expect("acme has a delivery");
    let ann = users[0].clone();
    let mut all = users;
    all.push(visitor);
    Acme { users: all, ann, bot, agent, segment, delivery }
}

/// Everything acme's admin can see, to compare before and after other's requests.
async fn acme_view(app: &TestApp, acme: &Acme) -> Value {
    let mut users = Vec::new();
    for id in &acme.users {
        let mut user = app.user(id).await;
        user.as_object_mut().unwrap().remove("isOnline");
        users.push(user);
    }
    let (_, bots) = app.get("/inbox/bots", &app.admin).await;
    let (_, agents) = app.get("/inbox/agents", &app.admin).await;
    let (_, segments) = app.get("/inbox/segments", &app.admin).await;
    let (_, hooks) = app.post("/integrations/custom-app/fetch-subscribed-webhooks", &app.admin, json!({})).await;
    let total = app.query(json!({})).await["meta"]["total"].clone();
    json!({"users": users, "bots": bots["data"], "agents": agents["data"], "segments": segments["data"], "hooks": hooks["data"], "total": total})
}

fn assert_not_found(what: &str, status: u16, answer: &Value, id: &str) {
    assert_problem(status, answer, 404, &[]);
    // Answered exactly like an id that names nothing: same message, the id is the only difference.
    let text = answer.to_string().replace(id, NO_SUCH_ID);
    assert!(!text.contains("other workspace") && !text.contains("forbidden"), "{what}: {answer}");
}

#[tokio::test]
async fn another_workspace_s_token_never_reads_counts_changes_or_learns_of_acme_s_data() {
    let app = spawn_app().await;
    let acme = acme(&app).await;
    let before = acme_view(&app, &acme).await;
    let other = app.other.clone();

    // Reads by id: 404, answered exactly as an id that names nothing.
    let (status, nothing) = app.get(&format!("/inbox/users/{NO_SUCH_ID}"), &other).await;
    assert_eq!(status, 404);
    for id in &acme.users {
        let (status, answer) = app.get(&format!("/inbox/users/{id}"), &other).await;
        assert_not_found("GET user", status, &answer, id);
        assert_eq!(answer.to_string().replace(id, NO_SUCH_ID), nothing.to_string(), "no existence leak through GET");
        let (status, answer) = app.put(&format!("/inbox/users/{id}"), &other, json!({"status": "CLOSED"})).await;
        assert_not_found("PUT user", status, &answer, id);
        let (status, answer) = app.delete(&format!("/inbox/users/{id}"), &other).await;
        assert_not_found("DELETE user", status, &answer, id);
    }

    // Queries: nothing of acme is matched or counted, whatever the filter names.
    for body in [
        json!({}),
        json!({"searchText": "acme"}),
        json!({"searchText": "+27 82 555"}),
        json!({"tags": ["vip", "acme-only"]}),
        json!({"status": ["OPEN", "DELETED"]}),
        json!({"_botWebsite": [acme.bot]}),
        json!({"_agentAssigned": [acme.agent]}),
        json!({"isContact": true}),
        json!({"hasOrdered": {"status": true, "lastAt": ""}, "applicableFilters": ["hasOrdered"]}),
    ] {
        let (status, answer) = app.post("/inbox/users", &other, body.clone()).await;
        assert_eq!(status, 200, "{body}: {answer}");
        assert_eq!(answer["data"], json!([]), "{body}");
        assert_eq!(answer["meta"]["total"], json!(0), "{body} counts nothing of acme");
    }
    let (status, answer) = app.post("/inbox/users", &other, json!({"segments": [acme.segment]})).await;
    assert_problem(status, &answer, 400, &["segments[0]"]);
    let (status, unknown) = app.post("/inbox/users", &other, json!({"segments": [NO_SUCH_ID]})).await;
    assert_eq!(status, 400);
    assert_eq!(
        answer.to_string().replace(&acme.segment, NO_SUCH_ID),
        unknown.to_string(),
        "a foreign segment reads as unknown"
    );

    // Export: the header and no rows (acme's attribute keys are not columns either).
    let answer = app
        .raw(
            Method::POST,
            "/inbox/users",
            Some(&other),
            Some("application/json"),
            Some(br#"{"isExport": "csv"}"#.to_vec()),
        )
        .await;
    assert_eq!(answer.status, 200);
    let rows = parse_csv(&answer.text());
    assert_eq!(rows.len(), 1, "only the header row: {}", answer.text());
    assert!(!answer.text().contains("plan") && !answer.text().contains("acme"), "{}", answer.text());

    // Status update: acme's ids are not found, and nothing changes.
    let ids: Vec<&str> = acme.users.iter().map(String::as_str).collect();
    let (status, answer) = app.put("/inbox/users/status-update", &other, json!({"ids": ids, "status": "CLOSED"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["updated"], json!(0));
    assert_eq!(answer["data"]["notFound"], json!(ids));

    // Import: a row naming acme's _id is rejected like an unknown _id; acme's bot, agent are
    // not usable; the same email creates a user of other's own, acme's is untouched.
    let (status, answer) = app
        .post(
            "/inbox/users/import",
            &other,
            json!([
                {"_id": acme.ann, "profile": {"userDetails": {"name": "Hijack"}}},
                {"_id": NO_SUCH_ID, "profile": {"userDetails": {"name": "Hijack"}}},
                {"_botWebsite": acme.bot, "profile": {"userDetails": {"name": "Bot thief"}}},
                {"_agentAssigned": acme.agent, "profile": {"userDetails": {"name": "Agent thief"}}},
                {"uuid": "acme-uuid-1", "profile": {"userDetails": {"name": "Same uuid", "contact": {"email": "ann@acme.test"}}}},
            ]),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let data = &answer["data"];
    let rejected: Vec<u64> = data["rejected"].as_array().unwrap().iter().map(|r| r["row"].as_u64().unwrap()).collect();
    assert_eq!(rejected, vec![0, 1, 2, 3], "{data}");
    let errors = |row: usize| problems_text(&data["rejected"][row]["errors"]);
    assert_eq!(
        errors(0).replace(&acme.ann, NO_SUCH_ID).replacen("[0]", "[1]", 1),
        errors(1),
        "a foreign _id reads as unknown"
    );
    assert_eq!(data["created"], json!(1));
    let own = data["ids"][4].as_str().unwrap().to_string();
    assert!(!acme.users.contains(&own), "other's import of acme's email and uuid creates other's own user");
    let (status, answer) = app.post("/inbox/users/import?botId=".to_string().as_str(), &other, json!([])).await;
    assert_eq!(status, 200, "{answer}");
    let path = format!("/inbox/users/import?botId={}", acme.bot);
    let (status, answer) = app.post(&path, &other, json!([{"profile": {"userDetails": {"name": "x"}}}])).await;
    assert_problem(status, &answer, 400, &["botId"]);

    // Events: acme's users, bots and eventIds are unknown to other.
    let (status, answer) = app
        .post(
            "/inbox/events",
            &other,
            json!([
                {"type": "message", "by": "user", "text": "hi", "userId": acme.ann},
                {"type": "read", "userId": acme.ann},
                {"type": "message", "by": "user", "visitor": {"platform": "WEBSITE", "botId": acme.bot, "externalId": "acme-uuid-1"}},
                {"type": "order", "orderId": "o", "userId": NO_SUCH_ID, "eventId": "acme-e1"},
            ]),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["applied"], json!(0), "{answer}");
    assert_eq!(answer["data"]["duplicates"], json!(0), "acme's eventIds are not other's duplicates: {answer}");
    assert_eq!(answer["data"]["rejected"].as_array().unwrap().len(), 4, "{answer}");

    // Bots, agents, segments: separate lists; acme's ids are unknown.
    for path in ["/inbox/bots", "/inbox/agents", "/inbox/segments"] {
        let (status, answer) = app.get(path, &other).await;
        assert_eq!(status, 200);
        assert_eq!(answer["data"], json!([]), "{path} lists nothing of acme");
        assert_eq!(answer["meta"]["total"], json!(0));
    }
    let (status, answer) = app.delete(&format!("/inbox/segments/{}", acme.segment), &other).await;
    assert_not_found("DELETE segment", status, &answer, &acme.segment);
    let (_, unknown) = app.delete(&format!("/inbox/segments/{NO_SUCH_ID}"), &other).await;
    assert_eq!(answer.to_string().replace(&acme.segment, NO_SUCH_ID), unknown.to_string());
    let (status, answer) =
        app.post("/inbox/segments", &other, json!({"segmentName": "Steal", "botId": acme.bot, "conditions": []})).await;
    assert_problem(status, &answer, 400, &["botId"]);

    // Integrations: acme's users are not found by any search; webhooks are separate.
    // (other holds its own user with ann's email and uuid since its import above.)
    for search in ["bob@acme.test", "BOB@ACME.TEST", "+27 82 555 0001", "27849990001"] {
        let (status, answer) = app
            .put(
                "/integrations/custom-app/update-user-attributes",
                &other,
                json!({"search": search, "attributes": {"plan": "stolen"}}),
            )
            .await;
        assert_problem(status, &answer, 404, &[]);
    }
    let (status, answer) = app
        .put(
            "/integrations/custom-app/update-user-attributes",
            &other,
            json!({"search": "bob@acme.test", "attributes": {"plan": "x"}, "botId": acme.bot}),
        )
        .await;
    assert!(status == 400 || status == 404, "{status} {answer}");
    let (status, answer) = app.post("/integrations/custom-app/fetch-subscribed-webhooks", &other, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"], json!([]), "other sees no subscription of acme");
    let (status, answer) = app
        .post(
            "/integrations/custom-app/subscribe-trigger-event",
            &other,
            json!({"webhookUrl": "http://127.0.0.1:9/acme-hook", "event": "newLeadHook", "subscribe": false}),
        )
        .await;
    assert_eq!(status, 200, "unsubscribing what other does not have: {answer}");
    let (status, answer) = app.get("/integrations/custom-app/deliveries", &other).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"], json!([]), "other sees no delivery of acme");
    let path = format!("/integrations/custom-app/deliveries/{}/redeliver", acme.delivery);
    let (status, answer) = app.post(&path, &other, json!({})).await;
    assert_not_found("redeliver", status, &answer, &acme.delivery);

    // Nothing of acme changed, and it still counts all its users.
    let after = acme_view(&app, &acme).await;
    assert_eq!(after, before, "acme's data is unchanged by other's requests");
    assert_eq!(after["total"], json!(acme.users.len()));
    // other's own data is separate too: acme does not see other's user.
    let (status, answer) = app.get(&format!("/inbox/users/{own}"), &app.admin).await;
    assert_not_found("acme reading other's user", status, &answer, &own);
    assert_eq!(app.query(json!({"searchText": "Same uuid"})).await["meta"]["total"], json!(0));
}

/// Workspace totals are independent: writes in one never move the other's counts.
#[tokio::test]
async fn totals_segments_and_lists_stay_per_workspace() {
    let app = spawn_app().await;
    app.users_named(&["A1", "A2", "A3"]).await;
    let (status, _) = app
        .post("/inbox/users/import", &app.other, json!([{"profile": {"userDetails": {"name": "O1", "tags": ["vip"]}}}]))
        .await;
    assert_eq!(status, 200);
    app.segment(json!({"segmentName": "All", "conditions": []})).await;
    let (status, answer) =
        app.post("/inbox/segments", &app.other, json!({"segmentName": "All", "conditions": []})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(3));
    let (_, answer) = app.post("/inbox/users", &app.other, json!({})).await;
    assert_eq!(answer["meta"]["total"], json!(1));
    let (_, segments) = app.get("/inbox/segments", &app.admin).await;
    assert_eq!(segments["data"][0]["count"], json!(3), "acme's segment counts acme's users only");
    let (_, segments) = app.get("/inbox/segments", &app.other).await;
    assert_eq!(segments["data"].as_array().unwrap().len(), 1);
    assert_eq!(segments["data"][0]["count"], json!(1), "other's segment counts other's users only");
}
