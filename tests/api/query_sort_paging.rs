//! POST /inbox/users: sort order, ties, missing values, name folding and paging.

use serde_json::{json, Value};

use crate::support::*;

fn sort(by: &str, order: &str) -> Value {
    json!({"sort": {"by": by, "order": order}, "limit": 500})
}

/// Visitors seen (and created) at these times, in the order given.
async fn visitors_at(app: &TestApp, times: &[&str]) -> Vec<String> {
    let web = app.bot("site", "WEBSITE").await;
    let mut ids = Vec::new();
    for (i, at) in times.iter().enumerate() {
        ids.push(app.web_visitor(&web, &format!("visitor-{i}"), at).await);
    }
    ids
}

fn ids_desc(ids: &[&String]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    ids.sort();
    ids.reverse();
    ids
}

#[tokio::test]
async fn the_chats_view_sorts_by_last_seen_newest_first_by_default() {
    let app = spawn_app().await;
    let ids =
        visitors_at(&app, &["2025-03-02T10:00:00.000Z", "2025-03-03T10:00:00.000Z", "2025-03-01T10:00:00.000Z"]).await;
    let never_seen = app.import_one(json!({"uuid": "never"})).await;
    let expected = vec![ids[1].clone(), ids[0].clone(), ids[2].clone(), never_seen];
    assert_eq!(app.query_ids(json!({})).await, expected);
    assert_eq!(app.query_ids(json!({"isContact": false})).await, expected);
    assert_eq!(app.query_ids(json!({"sort": {"by": "lastSeenAt"}})).await, expected, "order defaults to desc");
}

#[tokio::test]
async fn the_contacts_view_sorts_by_creation_newest_first_by_default() {
    let app = spawn_app().await;
    let ids =
        visitors_at(&app, &["2025-03-02T10:00:00.000Z", "2025-03-01T10:00:00.000Z", "2025-03-03T10:00:00.000Z"]).await;
    // Seen in the opposite order, so lastSeenAt and createdAt disagree.
    for (id, at) in ids.iter().zip(["2025-04-03T10:00:00.000Z", "2025-04-02T10:00:00.000Z", "2025-04-01T10:00:00.000Z"])
    {
        app.events_ok(json!([{"type": "message", "userId": id, "by": "user", "text": "again", "at": at}])).await;
        app.update(id, json!({"isContact": true})).await;
    }
    assert_eq!(app.query_ids(json!({"isContact": true})).await, vec![ids[2].clone(), ids[0].clone(), ids[1].clone()]);
    assert_eq!(
        app.query_ids(json!({"isContact": true, "sort": {"by": "lastSeenAt", "order": "desc"}})).await,
        vec![ids[0].clone(), ids[1].clone(), ids[2].clone()]
    );
}

#[tokio::test]
async fn sorting_by_last_seen_puts_never_seen_users_last_in_both_orders() {
    let app = spawn_app().await;
    let never = app.import_one(json!({"uuid": "never"})).await;
    let ids =
        visitors_at(&app, &["2025-03-02T10:00:00.000Z", "2025-03-01T10:00:00.000Z", "2025-03-03T10:00:00.000Z"]).await;
    assert_eq!(
        app.query_ids(sort("lastSeenAt", "desc")).await,
        vec![ids[2].clone(), ids[0].clone(), ids[1].clone(), never.clone()]
    );
    assert_eq!(
        app.query_ids(sort("lastSeenAt", "asc")).await,
        vec![ids[1].clone(), ids[0].clone(), ids[2].clone(), never]
    );
}

#[tokio::test]
async fn sorting_by_creation_follows_created_at() {
    let app = spawn_app().await;
    let ids =
        visitors_at(&app, &["2025-03-02T10:00:00.000Z", "2025-03-01T10:00:00.000Z", "2025-03-03T10:00:00.000Z"]).await;
    let imported_now = app.import_one(json!({"uuid": "now"})).await;
    assert_eq!(
        app.query_ids(sort("createdAt", "desc")).await,
        vec![imported_now.clone(), ids[2].clone(), ids[0].clone(), ids[1].clone()]
    );
    assert_eq!(
        app.query_ids(sort("createdAt", "asc")).await,
        vec![ids[1].clone(), ids[0].clone(), ids[2].clone(), imported_now]
    );
}

#[tokio::test]
async fn sorting_by_last_message_puts_users_without_messages_last() {
    let app = spawn_app().await;
    let ids = app.users_named(&["early", "late", "silent", "middle"]).await;
    app.events_ok(json!([
        {"type": "message", "userId": ids[0], "by": "bot", "text": "a", "at": "2025-03-01T10:00:00.000Z"},
        {"type": "message", "userId": ids[1], "by": "agent", "text": "b", "at": "2025-03-03T10:00:00.000Z"},
        {"type": "message", "userId": ids[3], "by": "user", "text": "c", "at": "2025-03-02T10:00:00.000Z"}
    ]))
    .await;
    assert_eq!(
        app.query_ids(sort("lastMessageAt", "desc")).await,
        vec![ids[1].clone(), ids[3].clone(), ids[0].clone(), ids[2].clone()]
    );
    assert_eq!(
        app.query_ids(sort("lastMessageAt", "asc")).await,
        vec![ids[0].clone(), ids[3].clone(), ids[1].clone(), ids[2].clone()]
    );
}

#[tokio::test]
async fn sorting_by_update_follows_the_latest_change() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a", "b", "c"]).await;
    for id in [&ids[1], &ids[2], &ids[0]] {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.update(id, json!({"profile": {"userDetails": {"city": format!("city of {id}")}}})).await;
    }
    assert_eq!(app.query_ids(sort("updatedAt", "desc")).await, vec![ids[0].clone(), ids[2].clone(), ids[1].clone()]);
    assert_eq!(app.query_ids(sort("updatedAt", "asc")).await, vec![ids[1].clone(), ids[2].clone(), ids[0].clone()]);
}

#[tokio::test]
async fn ties_break_by_id_descending_in_both_orders() {
    let app = spawn_app().await;
    let same = "2025-03-01T10:00:00.000Z";
    let ids = visitors_at(&app, &[same, same, same, same]).await;
    let expected = ids_desc(&ids.iter().collect::<Vec<_>>());
    for by in ["createdAt", "lastSeenAt", "lastMessageAt"] {
        assert_eq!(app.query_ids(sort(by, "desc")).await, expected, "{by} desc");
        assert_eq!(app.query_ids(sort(by, "asc")).await, expected, "{by} asc");
    }
}

#[tokio::test]
async fn users_lacking_the_sort_value_tie_by_id_descending() {
    let app = spawn_app().await;
    let unnamed = app.users_named(&["", "", ""]).await;
    let seen = visitors_at(&app, &["2025-03-01T10:00:00.000Z"]).await.remove(0);
    app.update(&seen, json!({"profile": {"userDetails": {"name": "Seen"}}})).await;
    let mut expected = vec![seen.clone()];
    expected.extend(ids_desc(&unnamed.iter().collect::<Vec<_>>()));
    for by in ["lastSeenAt", "lastMessageAt", "name"] {
        assert_eq!(app.query_ids(sort(by, "asc")).await, expected, "{by} asc");
        assert_eq!(app.query_ids(sort(by, "desc")).await, expected, "{by} desc");
    }
}

#[tokio::test]
async fn sorting_by_name_folds_case_and_accents_then_compares_code_points() {
    let app = spawn_app().await;
    let names = ["Zoë", "adam", "Émile", "eva", "Bob", "~tilde", "1st", "Ádám Jr"];
    let ids = app.users_named(&names).await;
    let by = |name: &str| ids[names.iter().position(|n| *n == name).unwrap()].clone();
    // Folded: zoe, adam, emile, eva, bob, ~tilde, 1st, adam jr.
    let ascending: Vec<String> =
        ["1st", "adam", "Ádám Jr", "Bob", "Émile", "eva", "Zoë", "~tilde"].iter().map(|n| by(n)).collect();
    assert_eq!(app.query_ids(sort("name", "asc")).await, ascending);
    let mut descending = ascending.clone();
    descending.reverse();
    assert_eq!(app.query_ids(sort("name", "desc")).await, descending);
}

#[tokio::test]
async fn the_display_name_falls_back_to_the_user_provided_name() {
    let app = spawn_app().await;
    let carla = app.import_one(json!({"profile": {"userDetails": {"name": "", "userProvidedName": "carla"}}})).await;
    let bruno = app.import_one(json!({"profile": {"userDetails": {"name": "Bruno", "userProvidedName": "zz"}}})).await;
    let alma = app.import_one(json!({"profile": {"userDetails": {"userProvidedName": "Alma"}}})).await;
    let nameless = app.import_one(json!({"uuid": "nameless"})).await;
    assert_eq!(
        app.query_ids(sort("name", "asc")).await,
        vec![alma.clone(), bruno.clone(), carla.clone(), nameless.clone()]
    );
    assert_eq!(app.query_ids(sort("name", "desc")).await, vec![carla, bruno, alma, nameless]);
}

#[tokio::test]
async fn invalid_sorts_are_400() {
    let app = spawn_app().await;
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"sort": {"by": "email"}})).await;
    assert_problem(status, &answer, 400, &["sort.by"]);
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"sort": {"by": "name", "order": "ASC"}})).await;
    assert_problem(status, &answer, 400, &["sort.order"]);
    let (status, answer) =
        app.post("/inbox/users", &app.admin, json!({"sort": {"by": "name", "direction": "asc"}})).await;
    assert_problem(status, &answer, 400, &["sort.direction"]);
}

#[tokio::test]
async fn pages_split_the_sorted_list_and_meta_counts_them() {
    let app = spawn_app().await;
    let names = ["a", "b", "c", "d", "e"];
    app.users_named(&names).await;
    let all = app.query_ids(json!({"sort": {"by": "name", "order": "asc"}})).await;
    assert_eq!(all.len(), 5);
    let mut paged = Vec::new();
    for (page, size) in [(1, 2), (2, 2), (3, 1)] {
        let answer = app.query(json!({"sort": {"by": "name", "order": "asc"}, "page": page, "limit": 2})).await;
        assert_eq!(answer["meta"], json!({"page": page, "limit": 2, "total": 5, "totalPages": 3}));
        let ids = ids_of(&answer);
        assert_eq!(ids.len(), size);
        paged.extend(ids);
    }
    assert_eq!(paged, all);
}

#[tokio::test]
async fn a_page_beyond_the_end_is_empty_with_exact_meta() {
    let app = spawn_app().await;
    app.users_named(&["a", "b", "c", "d", "e"]).await;
    let answer = app.query(json!({"page": 4, "limit": 2})).await;
    assert_eq!(answer["data"], json!([]));
    assert_eq!(answer["meta"], json!({"page": 4, "limit": 2, "total": 5, "totalPages": 3}));
    let answer = app.query(json!({"page": 1000})).await;
    assert_eq!(answer["data"], json!([]));
    assert_eq!(answer["meta"], json!({"page": 1000, "limit": 20, "total": 5, "totalPages": 1}));
}

#[tokio::test]
async fn total_pages_round_up_and_are_zero_when_nothing_matches() {
    let app = spawn_app().await;
    let names: Vec<String> = (0..7).map(|i| format!("user {i}")).collect();
    app.users_named(&names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    for (limit, pages) in [(1, 7), (2, 4), (3, 3), (6, 2), (7, 1), (500, 1)] {
        let answer = app.query(json!({"limit": limit})).await;
        assert_eq!(answer["meta"]["totalPages"], json!(pages), "limit {limit}");
        assert_eq!(answer["meta"]["total"], json!(7));
    }
    let answer = app.query(json!({"tags": ["nobody"]})).await;
    assert_eq!(answer["meta"], json!({"page": 1, "limit": 20, "total": 0, "totalPages": 0}));
    assert_eq!(answer["data"], json!([]));
}

#[tokio::test]
async fn limit_must_be_between_1_and_500_and_page_at_least_1() {
    let app = spawn_app().await;
    app.users_named(&["a"]).await;
    for limit in [json!(0), json!(501), json!(-1), json!(2.5), json!("20")] {
        let (status, answer) = app.post("/inbox/users", &app.admin, json!({ "limit": limit })).await;
        assert_problem(status, &answer, 400, &["limit"]);
    }
    for page in [json!(0), json!(-3), json!(1.5), json!("2")] {
        let (status, answer) = app.post("/inbox/users", &app.admin, json!({ "page": page })).await;
        assert_problem(status, &answer, 400, &["page"]);
    }
    for limit in [1, 500] {
        let answer = app.query(json!({ "limit": limit })).await;
        assert_eq!(answer["meta"]["limit"], json!(limit));
    }
}

#[tokio::test]
async fn the_default_page_is_1_of_20() {
    let app = spawn_app().await;
    let names: Vec<String> = (0..25).map(|i| format!("user {i:02}")).collect();
    app.users_named(&names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    let answer = app.query(json!({})).await;
    assert_eq!(answer["data"].as_array().unwrap().len(), 20);
    assert_eq!(answer["meta"], json!({"page": 1, "limit": 20, "total": 25, "totalPages": 2}));
    let second = app.query(json!({"page": 2})).await;
    assert_eq!(second["data"].as_array().unwrap().len(), 5);
}
