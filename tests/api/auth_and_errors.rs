//! Authentication, roles, tenancy, the envelope and the HTTP-level errors (contract sections 2 and 3).

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn health_answers_ok_without_a_token() {
    let app = spawn_app().await;
    let answer = app.raw(Method::GET, "/health", None, None, None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({"status": "ok"}));
}

#[tokio::test]
async fn a_missing_token_is_401_with_the_envelope() {
    let app = spawn_app().await;
    let answer = app.raw(Method::POST, "/inbox/users", None, Some("application/json"), Some(b"{}".to_vec())).await;
    assert_problem(answer.status, &answer.json(), 401, &[]);
    let answer = app.raw(Method::GET, "/inbox/bots", None, None, None).await;
    assert_problem(answer.status, &answer.json(), 401, &[]);
}

#[tokio::test]
async fn malformed_and_unknown_tokens_are_401() {
    let app = spawn_app().await;
    for header in [
        format!("Basic {}", app.admin),
        format!("Bearer{}", app.admin),
        "Bearer".to_string(),
        "Bearer ".to_string(),
        "Bearer not-a-token".to_string(),
        format!("Bearer {}x", app.admin),
        app.admin.clone(),
    ] {
        let answer = app
            .client
            .post(app.url("/inbox/users"))
            .header("Authorization", &header)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = answer.status().as_u16();
        let body: Value = answer.json().await.unwrap_or(Value::Null);
        assert_problem(status, &body, 401, &[]);
    }
}

#[tokio::test]
async fn a_revoked_token_is_401_at_once() {
    let app = spawn_app().await;
    let (status, _) = app.post("/inbox/users", &app.agent, json!({})).await;
    assert_eq!(status, 200);
    let tokens = app.store.tokens(Some("acme")).await.unwrap();
    assert_eq!(tokens.len(), 2);
    let agent_token = tokens.iter().find(|t| t.role == inboxd::domain::Role::Agent).unwrap();
    assert!(app.store.revoke_token(&agent_token.id).await.unwrap());
    let (status, answer) = app.post("/inbox/users", &app.agent, json!({})).await;
    assert_problem(status, &answer, 401, &[]);
    let (status, _) = app.post("/inbox/users", &app.admin, json!({})).await;
    assert_eq!(status, 200, "other tokens still work");
}

#[tokio::test]
async fn the_authtype_key_header_is_accepted_and_ignored() {
    let app = spawn_app().await;
    let answer = app
        .client
        .post(app.url("/inbox/users"))
        .header("Authorization", format!("Bearer {}", app.admin))
        .header("authtype", "Key")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
}

#[tokio::test]
async fn the_store_keeps_no_token_secret() {
    let app = spawn_app().await;
    app.post("/inbox/users", &app.admin, json!({})).await;
    if let Some(schema) = &app.pg {
        let (client, connection) = tokio_postgres::connect(&schema.url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let rows = client.query("SELECT t::text FROM tokens t", &[]).await.unwrap();
        assert_eq!(rows.len(), 3);
        for row in rows {
            let text: String = row.get(0);
            for token in [&app.admin, &app.agent, &app.other] {
                assert!(!text.contains(token.as_str()), "a token secret is stored in the clear");
            }
        }
        return;
    }
    // The store's files, and those in folders beside them (engine snapshots).
    let mut files = Vec::new();
    for entry in std::fs::read_dir(app.db.parent().unwrap()).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path())),
            false => files.push(path),
        }
    }
    for file in files {
        let bytes = std::fs::read(file).unwrap();
        for token in [&app.admin, &app.agent, &app.other] {
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "a token secret is stored in the clear"
            );
        }
    }
}

#[tokio::test]
async fn agents_are_403_on_admin_endpoints() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a"]).await;
    let id = &ids[0];
    let checks: Vec<(Method, String, Value)> = vec![
        (Method::POST, "/inbox/users/import".into(), json!([{"uuid": "x"}])),
        (Method::POST, "/inbox/users".into(), json!({"isExport": "csv"})),
        (Method::DELETE, format!("/inbox/users/{id}"), Value::Null),
        (Method::PUT, "/inbox/users/status-update".into(), json!({"ids": [id], "status": "CLOSED"})),
        (Method::POST, "/inbox/segments".into(), json!({"segmentName": "s", "match": "all", "conditions": []})),
    ];
    for (method, path, body) in checks {
        let body = if body.is_null() { None } else { Some(body) };
        let (status, answer) = app.call(method.clone(), &path, &app.agent, body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
        assert_problem(status, &answer, 403, &[]);
    }
    let user = app.user(id).await;
    assert_eq!(user["status"], json!("OPEN"));
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(1));
}

#[tokio::test]
async fn a_token_learns_its_own_role() {
    let app = spawn_app().await;
    for (token, role) in [(&app.admin, "admin"), (&app.agent, "agent")] {
        let (status, answer) = app.get("/inbox/me", token).await;
        assert_eq!(status, 200, "{answer}");
        assert_success(&answer);
        assert_eq!(answer["data"], json!({"role": role}));
    }
    let (status, answer) = app.get("/inbox/me", "not-a-token").await;
    assert_problem(status, &answer, 401, &[]);
}

#[tokio::test]
async fn an_id_of_another_workspace_is_answered_exactly_like_an_unknown_id() {
    let app = spawn_app().await;
    let (_, answer) = app.post("/inbox/users/import", &app.other, json!([{"uuid": "theirs"}])).await;
    let theirs = answer["data"]["ids"][0].as_str().unwrap().to_string();
    let normalise =
        |answer: Value, id: &str| -> Value { serde_json::from_str(&answer.to_string().replace(id, "<id>")).unwrap() };
    let checks: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/inbox/users/{}", None),
        (Method::PUT, "/inbox/users/{}", Some(json!({"uuid": "mine"}))),
        (Method::DELETE, "/inbox/users/{}", None),
    ];
    for (method, pattern, body) in checks {
        let (status_theirs, answer_theirs) =
            app.call(method.clone(), &pattern.replace("{}", &theirs), &app.admin, body.clone()).await;
        let (status_unknown, answer_unknown) =
            app.call(method.clone(), &pattern.replace("{}", NO_SUCH_ID), &app.admin, body.clone()).await;
        assert_eq!(status_theirs, 404);
        assert_eq!(status_unknown, 404);
        assert_eq!(normalise(answer_theirs, &theirs), normalise(answer_unknown, NO_SUCH_ID), "{method} {pattern}");
    }
    let (_, answer) = app.get(&format!("/inbox/users/{theirs}"), &app.other).await;
    assert_eq!(answer["data"]["uuid"], json!("theirs"), "untouched");
}

#[tokio::test]
async fn users_of_another_workspace_are_never_seen_or_counted() {
    let app = spawn_app().await;
    let mine = app.users_named(&["Ana mine"]).await;
    let (_, answer) = app
        .post(
            "/inbox/users/import",
            &app.other,
            json!([{"profile": {"userDetails": {"name": "Ana theirs", "tags": ["vip"]}}}]),
        )
        .await;
    assert_eq!(answer["data"]["created"], json!(1));
    assert_eq!(app.matching(json!({})).await, mine);
    assert_eq!(app.matching(json!({"searchText": "ana"})).await, mine);
    assert_eq!(app.query(json!({"tags": ["vip"]})).await["meta"]["total"], json!(0));
    let (_, rows) = app.export(json!({})).await;
    assert_eq!(rows.len(), 1);
    let (_, answer) = app.post("/inbox/users", &app.other, json!({})).await;
    assert_eq!(answer["meta"]["total"], json!(1));
}

#[tokio::test]
async fn an_unknown_route_is_404_with_the_envelope() {
    let app = spawn_app().await;
    for path in ["/inbox/nothing", "/nothing", "/inbox/users/65f1c2a9e4b0a1b2c3d4e5f6/extra"] {
        let answer = app.raw(Method::GET, path, Some(&app.admin), None, None).await;
        assert_problem(answer.status, &answer.json(), 404, &[]);
    }
}

#[tokio::test]
async fn a_wrong_method_is_405_with_the_envelope() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::GET, "/inbox/events"),
        (Method::DELETE, "/inbox/bots"),
        (Method::PATCH, "/inbox/users"),
        (Method::POST, "/health"),
    ] {
        let answer = app.raw(method.clone(), path, Some(&app.admin), None, None).await;
        assert_problem(answer.status, &answer.json(), 405, &[]);
    }
}

#[tokio::test]
async fn a_wrong_content_type_is_415() {
    let app = spawn_app().await;
    for (path, content_type) in [
        ("/inbox/users", Some("text/plain")),
        ("/inbox/users", None),
        ("/inbox/events", Some("application/x-www-form-urlencoded")),
        ("/inbox/users/import", Some("application/xml")),
        ("/inbox/bots", Some("text/csv")),
    ] {
        let answer = app.raw(Method::POST, path, Some(&app.admin), content_type, Some(b"[]".to_vec())).await;
        assert_problem(answer.status, &answer.json(), 415, &[]);
    }
    let answer = app
        .raw(
            Method::POST,
            "/inbox/users",
            Some(&app.admin),
            Some("application/json; charset=utf-8"),
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(answer.status, 200, "a charset parameter is fine");
}

#[tokio::test]
async fn a_body_over_16_mib_is_413() {
    let app = spawn_app().await;
    let padding = "x".repeat(17 * 1024 * 1024);
    let body = format!("{{\"searchText\": \"{padding}\"}}").into_bytes();
    let result = app
        .client
        .post(app.url("/inbox/users"))
        .header("Authorization", format!("Bearer {}", app.admin))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await;
    let answer = result.expect("the server answers a too-large body instead of dropping the connection");
    let status = answer.status().as_u16();
    let json: Value = answer.json().await.unwrap_or(Value::Null);
    assert_problem(status, &json, 413, &[]);
}

#[tokio::test]
async fn malformed_json_is_400_with_the_envelope() {
    let app = spawn_app().await;
    for body in [&b"{"[..], b"{\"tags\": [}", b"", b"nul"] {
        let answer = app
            .raw(Method::POST, "/inbox/users", Some(&app.admin), Some("application/json"), Some(body.to_vec()))
            .await;
        assert_problem(answer.status, &answer.json(), 400, &[]);
    }
}

#[tokio::test]
async fn an_unknown_field_is_400_and_named() {
    let app = spawn_app().await;
    let (status, answer) = app
        .post("/inbox/users", &app.admin, json!({"serchText": "typo", "sort": {"by": "name", "orderr": "asc"}}))
        .await;
    assert_problem(status, &answer, 400, &["serchText", "sort.orderr"]);
    let (status, answer) =
        app.post("/inbox/users", &app.admin, json!({"lastSeenAt": {"startAt": "", "endsAt": "", "tz": "UTC"}})).await;
    assert_problem(status, &answer, 400, &["lastSeenAt.tz"]);
}

#[tokio::test]
async fn every_problem_is_listed_at_once() {
    let app = spawn_app().await;
    let (status, answer) = app
        .post(
            "/inbox/users",
            &app.admin,
            json!({
                "tags": ["ok", 3],
                "status": ["lower"],
                "createdAt": {"startAt": "nope", "endsAt": ""},
                "limit": 0,
                "page": 0,
                "isExport": "pdf",
                "unknown": 1,
                "applicableFilters": ["bogus"]
            }),
        )
        .await;
    assert_problem(
        status,
        &answer,
        400,
        &["tags[1]", "status[0]", "createdAt.startAt", "limit", "page", "isExport", "unknown", "applicableFilters[0]"],
    );
    assert!(answer["data"].as_array().unwrap().len() >= 8);
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_400() {
    let app = spawn_app().await;
    for body in [json!([]), json!("x"), json!(3), json!(null)] {
        let (status, answer) = app.post("/inbox/users", &app.admin, body).await;
        assert_problem(status, &answer, 400, &[]);
    }
}

#[tokio::test]
async fn every_success_is_200_with_the_envelope() {
    let app = spawn_app().await;
    let (status, answer) = app.post("/inbox/bots", &app.admin, json!({"name": "b", "platform": "WEBSITE"})).await;
    assert_eq!(status, 200);
    assert_success(&answer);
    let id = app.import_one(json!({"uuid": "u"})).await;
    let (status, answer) = app.delete(&format!("/inbox/users/{id}"), &app.admin).await;
    assert_eq!(status, 200);
    assert_success(&answer);
    let answer = app.query(json!({})).await;
    let mut keys: Vec<&String> = answer.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["code", "data", "message", "meta", "success"], "lists carry meta");
    let (_, bots) = app.get("/inbox/bots", &app.admin).await;
    assert_success(&bots);
    let id = app.import_one(json!({"uuid": "v"})).await;
    let (_, one) = app.get(&format!("/inbox/users/{id}"), &app.admin).await;
    let mut keys: Vec<&String> = one.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["code", "data", "message", "success"], "meta is for lists only");
}

#[tokio::test]
async fn rate_limiting_answers_429_with_the_envelope_when_configured() {
    let app = spawn_app_with(|s| s.rate_limit_per_minute = Some(5)).await;
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..12 {
        let (status, answer) = app.post("/inbox/users", &app.admin, json!({})).await;
        statuses.push(status);
        if status == 429 {
            limited = Some(answer);
        }
    }
    assert!(statuses.iter().take(5).all(|s| *s == 200), "{statuses:?}");
    let answer = limited.unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    assert_problem(429, &answer, 429, &[]);
}

#[tokio::test]
async fn without_a_configured_limit_there_is_no_rate_limiting() {
    let app = spawn_app().await;
    for _ in 0..100 {
        let (status, _) = app.get("/inbox/bots", &app.admin).await;
        assert_eq!(status, 200);
    }
}

#[tokio::test]
async fn a_token_revoked_by_its_secret_is_401() {
    let app = spawn_app().await;
    assert!(inboxd::auth::revoke(&*app.store, &app.agent).await.unwrap());
    let (status, answer) = app.get("/inbox/bots", &app.agent).await;
    assert_problem(status, &answer, 401, &[]);
    let (status, _) = app.get("/inbox/bots", &app.admin).await;
    assert_eq!(status, 200);
}
