//! POST /inbox/users: every filter field of contract section 4.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn the_body_existing_clients_send_answers_like_the_empty_body() {
    let app = spawn_app().await;
    let web = app.bot("site", "WEBSITE").await;
    app.users_named(&["Ana", "Ben", "Cleo"]).await;
    app.web_visitor(&web, "visitor-1", &secs_ago(3600)).await;
    let sample = json!({
        "searchText": "",
        "tags": [],
        "status": [],
        "_botWebsite": [], "_botWhatsapp": [], "_botTelegram": [], "_botFacebook": [],
        "_botAutomation": [], "_botInstagram": [],
        "_agentAssigned": [],
        "segments": [],
        "lastMessageBy": [],
        "lastSeenAt": {"startAt": "", "endsAt": ""},
        "createdAt": {"startAt": "", "endsAt": ""},
        "isOnline": false,
        "userInteracted": false,
        "isLiveChatActive": false,
        "isSubscriber": false,
        "hasOrdered": {"status": false, "lastAt": ""},
        "applicableFilters": [],
        "isContact": false,
        "ctwaNewUsers": false,
        "ctwaOldUsers": false,
        "tagsV2": [],
        "page": 1,
        "limit": 20,
        "isExport": "none"
    });
    let full = app.query(sample).await;
    let empty = app.query(json!({})).await;
    assert_eq!(full, empty);
    assert_eq!(full["meta"], json!({"page": 1, "limit": 20, "total": 4, "totalPages": 1}));
}

#[tokio::test]
async fn an_empty_query_answers_every_user_with_meta() {
    let app = spawn_app().await;
    let ids = app.users_named(&["Ana", "Ben"]).await;
    let answer = app.query(json!({})).await;
    assert_eq!(sorted(ids_of(&answer)), set(&ids));
    assert_eq!(answer["meta"], json!({"page": 1, "limit": 20, "total": 2, "totalPages": 1}));
    assert!(answer["data"][0]["profile"]["userDetails"].is_object());
}

#[tokio::test]
async fn tags_match_any_listed_tag_ignoring_case() {
    let app = spawn_app().await;
    let vip = app.import_one(json!({"profile": {"userDetails": {"name": "a", "tags": ["VIP", "news"]}}})).await;
    let lead = app.import_one(json!({"profile": {"userDetails": {"name": "b", "tags": ["lead"]}}})).await;
    let vipish = app.import_one(json!({"profile": {"userDetails": {"name": "c", "tags": ["vip-gold"]}}})).await;
    let _none = app.import_one(json!({"profile": {"userDetails": {"name": "d"}}})).await;
    assert_eq!(app.matching(json!({"tags": ["vip"]})).await, set(&[&vip]));
    assert_eq!(app.matching(json!({"tags": ["Vip", "LEAD"]})).await, set(&[&vip, &lead]));
    assert_eq!(app.matching(json!({"tags": ["vip-gold"]})).await, set(&[&vipish]));
    assert_eq!(app.matching(json!({"tags": ["nobody"]})).await, Vec::<String>::new());
}

#[tokio::test]
async fn status_matches_any_listed_status() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a", "b", "c"]).await;
    app.set_status(&[&ids[1]], "CLOSED").await;
    app.set_status(&[&ids[2]], "PENDING_2").await;
    assert_eq!(app.matching(json!({"status": ["OPEN"]})).await, set(&[&ids[0]]));
    assert_eq!(app.matching(json!({"status": ["CLOSED", "PENDING_2"]})).await, set(&[&ids[1], &ids[2]]));
    assert_eq!(app.matching(json!({"status": ["SNOOZED"]})).await, Vec::<String>::new());
}

#[tokio::test]
async fn malformed_status_values_are_400() {
    let app = spawn_app().await;
    for bad in [json!("open"), json!(""), json!("A".repeat(33)), json!("NO-DASH"), json!(3)] {
        let (status, answer) = app.post("/inbox/users", &app.admin, json!({"status": ["OPEN", bad]})).await;
        assert_problem(status, &answer, 400, &["status[1]"]);
    }
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"status": ["A".repeat(32)]})).await;
    assert_eq!(status, 200, "32 characters are allowed: {answer}");
}

#[tokio::test]
async fn the_four_bot_lists_are_one_any_condition() {
    let app = spawn_app().await;
    let web1 = app.bot("web one", "WEBSITE").await;
    let web2 = app.bot("web two", "WEBSITE").await;
    let wa = app.bot("whatsapp", "WHATSAPP").await;
    let tg = app.bot("telegram", "TELEGRAM").await;
    let fb = app.bot("facebook", "FACEBOOK").await;
    let on_web1 = app.import_one(json!({"_botWebsite": web1})).await;
    let on_web2 = app.import_one(json!({"_botWebsite": web2})).await;
    let on_wa = app.import_one(json!({"_botWhatsapp": wa})).await;
    let on_web2_and_wa = app.import_one(json!({"_botWebsite": web2, "_botWhatsapp": wa})).await;
    let on_tg = app.import_one(json!({"_botTelegram": tg})).await;
    let on_fb = app.import_one(json!({"_botFacebook": fb})).await;
    let _no_bot = app.import_one(json!({"uuid": "nobot"})).await;

    assert_eq!(app.matching(json!({"_botWebsite": [web1]})).await, set(&[&on_web1]));
    assert_eq!(
        app.matching(json!({"_botWebsite": [web1], "_botWhatsapp": [wa]})).await,
        set(&[&on_web1, &on_wa, &on_web2_and_wa])
    );
    assert_eq!(
        app.matching(json!({"_botTelegram": [tg], "_botFacebook": [fb], "_botWebsite": [], "_botWhatsapp": []})).await,
        set(&[&on_tg, &on_fb])
    );
    assert_eq!(app.matching(json!({"_botWebsite": [web1, web2]})).await, set(&[&on_web1, &on_web2, &on_web2_and_wa]));
    // A bot listed under another channel's field is not that channel's bot.
    assert_eq!(app.matching(json!({"_botWebsite": [wa]})).await, Vec::<String>::new());
}

#[tokio::test]
async fn agent_assigned_matches_listed_agents_and_unassigned() {
    let app = spawn_app().await;
    let ann = app.agent_named("Ann").await;
    let bob = app.agent_named("Bob").await;
    let with_ann = app.import_one(json!({"_agentAssigned": ann})).await;
    let with_bob = app.import_one(json!({"_agentAssigned": bob})).await;
    let nobody = app.import_one(json!({"uuid": "unassigned"})).await;
    assert_eq!(app.matching(json!({"_agentAssigned": [ann]})).await, set(&[&with_ann]));
    assert_eq!(app.matching(json!({"_agentAssigned": ["UNASSIGNED"]})).await, set(&[&nobody]));
    assert_eq!(app.matching(json!({"_agentAssigned": [bob, "UNASSIGNED"]})).await, set(&[&with_bob, &nobody]));
}

#[tokio::test]
async fn well_formed_ids_that_name_nothing_match_nothing() {
    let app = spawn_app().await;
    app.users_named(&["a"]).await;
    for field in ["_botWebsite", "_botWhatsapp", "_botTelegram", "_botFacebook", "_agentAssigned"] {
        let answer = app.query(json!({ field: [NO_SUCH_ID] })).await;
        assert_eq!(answer["data"], json!([]), "{field}");
        assert_eq!(answer["meta"]["total"], json!(0), "{field}");
        assert_eq!(answer["meta"]["totalPages"], json!(0), "{field}");
    }
}

#[tokio::test]
async fn malformed_ids_in_filters_are_400() {
    let app = spawn_app().await;
    let too_short = "abc123";
    let upper = "0123456789ABCDEF01234567";
    let (status, answer) = app
        .post(
            "/inbox/users",
            &app.admin,
            json!({
                "_botWebsite": [too_short],
                "_botWhatsapp": [NO_SUCH_ID, upper],
                "_agentAssigned": ["unassigned"],
                "segments": ["zzzzzzzzzzzzzzzzzzzzzzzz"]
            }),
        )
        .await;
    assert_problem(status, &answer, 400, &["_botWebsite[0]", "_botWhatsapp[1]", "_agentAssigned[0]", "segments[0]"]);
}

#[tokio::test]
async fn segments_match_any_listed_segment() {
    let app = spawn_app().await;
    let vip = app.import_one(json!({"profile": {"userDetails": {"tags": ["vip"]}}})).await;
    let gold =
        app.import_one(json!({"profile": {"userDetails": {"attributes": [{"key": "plan", "value": "gold"}]}}})).await;
    let _plain = app.import_one(json!({"profile": {"userDetails": {"name": "plain"}}})).await;
    let vips = app
        .segment(json!({"segmentName": "VIPs", "match": "all", "conditions": [
            {"field": "tag", "operator": "is", "value": "vip"}
        ]}))
        .await;
    let golds = app
        .segment(json!({"segmentName": "Gold", "match": "all", "conditions": [
            {"field": "attribute", "key": "plan", "operator": "is", "value": "gold"}
        ]}))
        .await;
    assert_eq!(app.matching(json!({"segments": [vips]})).await, set(&[&vip]));
    assert_eq!(app.matching(json!({"segments": [vips, golds]})).await, set(&[&vip, &gold]));
}

#[tokio::test]
async fn an_unknown_segment_id_is_400() {
    let app = spawn_app().await;
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"segments": [NO_SUCH_ID]})).await;
    assert_problem(status, &answer, 400, &["segments[0]"]);
}

#[tokio::test]
async fn a_segment_of_another_workspace_is_unknown() {
    let app = spawn_app().await;
    let (status, answer) = app
        .post("/inbox/segments", &app.other, json!({"segmentName": "theirs", "match": "all", "conditions": []}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let theirs = id_of(&answer["data"]);
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"segments": [theirs]})).await;
    assert_problem(status, &answer, 400, &["segments[0]"]);
}

#[tokio::test]
async fn last_message_by_matches_the_last_sender() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a", "b", "c", "d"]).await;
    app.events_ok(json!([
        {"type": "message", "userId": ids[0], "by": "user", "text": "hi", "at": "2025-03-01T10:00:00.000Z"},
        {"type": "message", "userId": ids[1], "by": "user", "text": "hi", "at": "2025-03-01T10:00:00.000Z"},
        {"type": "message", "userId": ids[1], "by": "bot", "text": "hello", "at": "2025-03-01T10:00:01.000Z"},
        {"type": "message", "userId": ids[2], "by": "agent", "text": "hey", "at": "2025-03-01T10:00:00.000Z"}
    ]))
    .await;
    assert_eq!(app.matching(json!({"lastMessageBy": ["user"]})).await, set(&[&ids[0]]));
    assert_eq!(app.matching(json!({"lastMessageBy": ["bot", "agent"]})).await, set(&[&ids[1], &ids[2]]));
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"lastMessageBy": ["robot"]})).await;
    assert_problem(status, &answer, 400, &["lastMessageBy[0]"]);
}

#[tokio::test]
async fn created_at_range_is_inclusive_at_both_ends() {
    let app = spawn_app().await;
    let web = app.bot("site", "WEBSITE").await;
    let before = app.web_visitor(&web, "before", "2025-03-01T09:59:59.999Z").await;
    let start = app.web_visitor(&web, "start", "2025-03-01T10:00:00.000Z").await;
    let middle = app.web_visitor(&web, "middle", "2025-03-01T11:00:00.000Z").await;
    let end = app.web_visitor(&web, "end", "2025-03-01T12:00:00.000Z").await;
    let after = app.web_visitor(&web, "after", "2025-03-01T12:00:00.001Z").await;
    let range = |start: &str, end: &str| json!({"createdAt": {"startAt": start, "endsAt": end}});
    assert_eq!(
        app.matching(range("2025-03-01T10:00:00.000Z", "2025-03-01T12:00:00.000Z")).await,
        set(&[&start, &middle, &end])
    );
    assert_eq!(app.matching(range("2025-03-01T10:00:00.000Z", "")).await, set(&[&start, &middle, &end, &after]));
    assert_eq!(app.matching(range("", "2025-03-01T10:00:00.000Z")).await, set(&[&before, &start]));
    // Any offset: 12:00+02:00 is 10:00Z.
    assert_eq!(app.matching(range("2025-03-01T12:00:00+02:00", "2025-03-01T10:00:00Z")).await, set(&[&start]));
}

#[tokio::test]
async fn date_only_bounds_are_whole_utc_days() {
    let app = spawn_app().await;
    let web = app.bot("site", "WEBSITE").await;
    let eve = app.web_visitor(&web, "eve", "2025-02-28T23:59:59.999Z").await;
    let first = app.web_visitor(&web, "first", "2025-03-01T00:00:00.000Z").await;
    let last = app.web_visitor(&web, "last", "2025-03-01T23:59:59.999Z").await;
    let next = app.web_visitor(&web, "next", "2025-03-02T00:00:00.000Z").await;
    let day = json!({"createdAt": {"startAt": "2025-03-01", "endsAt": "2025-03-01"}});
    assert_eq!(app.matching(day).await, set(&[&first, &last]));
    let from = json!({"createdAt": {"startAt": "2025-03-01", "endsAt": ""}});
    assert_eq!(app.matching(from).await, set(&[&first, &last, &next]));
    let until = json!({"createdAt": {"startAt": "", "endsAt": "2025-03-01"}});
    assert_eq!(app.matching(until).await, set(&[&eve, &first, &last]));
}

#[tokio::test]
async fn last_seen_range_never_matches_never_seen_users() {
    let app = spawn_app().await;
    let web = app.bot("site", "WEBSITE").await;
    let seen = app.web_visitor(&web, "seen", "2025-03-01T10:00:00.000Z").await;
    let bot_only = app.visitor("WEBSITE", &web, "bot-only", "bot", "2025-03-01T10:00:00.000Z").await;
    let imported = app.import_one(json!({"profile": {"userDetails": {"name": "never seen"}}})).await;
    assert_eq!(app.user(&bot_only).await["lastSeenAt"], json!(null));
    assert_eq!(app.user(&imported).await["lastSeenAt"], json!(null));
    let range = json!({"lastSeenAt": {"startAt": "2025-03-01", "endsAt": ""}});
    assert_eq!(app.matching(range).await, set(&[&seen]));
    let range = json!({"lastSeenAt": {"startAt": "", "endsAt": "2999-01-01"}});
    assert_eq!(app.matching(range).await, set(&[&seen]));
    let range = json!({"lastSeenAt": {"startAt": "2025-03-01T10:00:00.001Z", "endsAt": ""}});
    assert_eq!(app.matching(range).await, Vec::<String>::new());
}

#[tokio::test]
async fn ranges_apply_whether_named_in_applicable_filters_or_not() {
    let app = spawn_app().await;
    let web = app.bot("site", "WEBSITE").await;
    let old = app.web_visitor(&web, "old", "2025-01-01T10:00:00.000Z").await;
    let _new = app.web_visitor(&web, "new", "2025-06-01T10:00:00.000Z").await;
    for named in [json!([]), json!(["createdAt"]), json!(["createdAt", "lastSeenAt"])] {
        let body = json!({"createdAt": {"startAt": "", "endsAt": "2025-02-01"}, "lastSeenAt": {"startAt": "", "endsAt": ""}, "applicableFilters": named});
        assert_eq!(app.matching(body).await, set(&[&old]), "createdAt with applicableFilters {named}");
    }
    for named in [json!([]), json!(["lastSeenAt"])] {
        let body = json!({"lastSeenAt": {"startAt": "", "endsAt": "2025-02-01"}, "applicableFilters": named});
        assert_eq!(app.matching(body).await, set(&[&old]), "lastSeenAt with applicableFilters {named}");
    }
}

#[tokio::test]
async fn a_start_later_than_the_end_is_400() {
    let app = spawn_app().await;
    for field in ["createdAt", "lastSeenAt"] {
        let body = json!({ field: {"startAt": "2025-03-02", "endsAt": "2025-03-01"} });
        let (status, answer) = app.post("/inbox/users", &app.admin, body).await;
        assert_eq!(status, 400, "{answer}");
        assert_error_envelope(&answer, 400);
        assert!(problems_text(&answer["data"]).contains(field), "the problem names {field}: {answer}");
    }
    // The same day as both bounds is a valid range.
    let (status, _) = app
        .post("/inbox/users", &app.admin, json!({"createdAt": {"startAt": "2025-03-01", "endsAt": "2025-03-01"}}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn malformed_bounds_are_400() {
    let app = spawn_app().await;
    for bad in [json!("yesterday"), json!("2025-13-01"), json!("2025-03-01 10:00"), json!(20250301)] {
        let body = json!({"createdAt": {"startAt": bad, "endsAt": ""}, "lastSeenAt": {"startAt": "", "endsAt": bad}});
        let (status, answer) = app.post("/inbox/users", &app.admin, body).await;
        assert_problem(status, &answer, 400, &["createdAt.startAt", "lastSeenAt.endsAt"]);
    }
}

#[tokio::test]
async fn conditional_filters_apply_only_when_named() {
    let app = spawn_app().await;
    let subscriber = app.import_one(json!({"isSubscriber": true, "uuid": "s"})).await;
    let live = app.import_one(json!({"uuid": "l"})).await;
    app.update(&live, json!({"isLiveChatActive": true})).await;
    let talker = app.import_one(json!({"uuid": "t"})).await;
    app.events_ok(json!([{"type": "message", "userId": talker, "by": "user", "text": "hi"}])).await;
    let everyone = set(&[&subscriber, &live, &talker]);

    for field in ["isSubscriber", "isLiveChatActive", "userInteracted", "isOnline"] {
        assert_eq!(app.matching(json!({ field: true })).await, everyone, "{field} not named applies nothing");
        assert_eq!(app.matching(json!({ field: false })).await, everyone, "{field} not named applies nothing");
    }
    let named = |field: &str, value: bool| json!({ field: value, "applicableFilters": [field] });
    assert_eq!(app.matching(named("isSubscriber", true)).await, set(&[&subscriber]));
    assert_eq!(app.matching(named("isSubscriber", false)).await, set(&[&live, &talker]));
    assert_eq!(app.matching(named("isLiveChatActive", true)).await, set(&[&live]));
    assert_eq!(app.matching(named("isLiveChatActive", false)).await, set(&[&subscriber, &talker]));
    assert_eq!(app.matching(named("userInteracted", true)).await, set(&[&talker]));
    assert_eq!(app.matching(named("userInteracted", false)).await, set(&[&subscriber, &live]));
}

#[tokio::test]
async fn naming_a_conditional_filter_whose_field_is_missing_is_400() {
    let app = spawn_app().await;
    for name in ["isOnline", "userInteracted", "isLiveChatActive", "isSubscriber", "hasOrdered", "tags", "createdAt"] {
        let (status, answer) = app.post("/inbox/users", &app.admin, json!({"applicableFilters": [name]})).await;
        assert_eq!(status, 400, "{name} named without its field: {answer}");
        assert_error_envelope(&answer, 400);
        assert!(problems_text(&answer["data"]).contains(name), "the problem names {name}: {answer}");
    }
}

#[tokio::test]
async fn unknown_applicable_filter_names_are_400() {
    let app = spawn_app().await;
    let (status, answer) = app
        .post("/inbox/users", &app.admin, json!({"isOnline": true, "applicableFilters": ["isOnline", "isVip"]}))
        .await;
    assert_problem(status, &answer, 400, &["applicableFilters[1]"]);
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"applicableFilters": ["isonline"]})).await;
    assert_problem(status, &answer, 400, &["applicableFilters[0]"]);
}

#[tokio::test]
async fn other_field_names_in_applicable_filters_have_no_effect_of_their_own() {
    let app = spawn_app().await;
    let vip = app.import_one(json!({"profile": {"userDetails": {"name": "Ana", "tags": ["vip"]}}})).await;
    let _other = app.import_one(json!({"profile": {"userDetails": {"name": "Ben"}}})).await;
    let body = json!({"tags": ["vip"], "status": ["OPEN"], "searchText": "ana", "isContact": true});
    let plain = app.query(body.clone()).await;
    let mut named = body.clone();
    named["applicableFilters"] = json!(["tags", "status", "searchText", "isContact"]);
    assert_eq!(app.query(named).await, plain);
    assert_eq!(ids_of(&plain), vec![vip]);
}

#[tokio::test]
async fn not_supported_fields_are_accepted_when_empty_false_or_null() {
    let app = spawn_app().await;
    app.users_named(&["a"]).await;
    let empty = app.query(json!({})).await;
    for field in ["_botAutomation", "_botInstagram", "ctwaNewUsers", "ctwaOldUsers", "tagsV2"] {
        for value in [json!(null), json!(false), json!([]), json!("")] {
            let (status, answer) = app.post("/inbox/users", &app.admin, json!({ field: value })).await;
            assert_eq!(status, 200, "{field}: {value} is accepted: {answer}");
            assert_eq!(answer, empty, "{field}: {value} has no effect");
        }
    }
}

#[tokio::test]
async fn not_supported_fields_are_400_otherwise() {
    let app = spawn_app().await;
    for (field, value) in [
        ("_botAutomation", json!([NO_SUCH_ID])),
        ("_botInstagram", json!([NO_SUCH_ID])),
        ("ctwaNewUsers", json!(true)),
        ("ctwaOldUsers", json!(true)),
        ("tagsV2", json!(["vip"])),
    ] {
        let (status, answer) = app.post("/inbox/users", &app.admin, json!({ field: value })).await;
        assert_problem(status, &answer, 400, &[field]);
        assert!(problems_text(&answer["data"]).contains("not supported"), "{answer}");
    }
}

#[tokio::test]
async fn text_search_needs_every_term_somewhere() {
    let app = spawn_app().await;
    let ana = app
        .import_one(
            json!({"profile": {"userDetails": {"name": "Ana Silva", "contact": {"email": "ana@gold.example"}}}}),
        )
        .await;
    let ana_other = app
        .import_one(
            json!({"profile": {"userDetails": {"name": "Ana Costa", "contact": {"email": "ana@silver.example"}}}}),
        )
        .await;
    let _bob = app.import_one(json!({"profile": {"userDetails": {"name": "Bob Gold"}}})).await;
    assert_eq!(app.matching(json!({"searchText": "ana gold"})).await, set(&[&ana]));
    assert_eq!(app.matching(json!({"searchText": "  ana   "})).await, set(&[&ana, &ana_other]));
    assert_eq!(app.matching(json!({"searchText": "ana silva gold"})).await, set(&[&ana]));
    assert_eq!(app.matching(json!({"searchText": "ana zebra"})).await, Vec::<String>::new());
}

#[tokio::test]
async fn blank_search_text_does_not_filter() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a", "b"]).await;
    assert_eq!(app.matching(json!({"searchText": "   "})).await, set(&ids));
}

#[tokio::test]
async fn text_search_ignores_case_and_accents() {
    let app = spawn_app().await;
    let jose = app.import_one(json!({"profile": {"userDetails": {"name": "José Álvarez"}}})).await;
    let plain = app.import_one(json!({"profile": {"userDetails": {"name": "JOSE ALVAREZ"}}})).await;
    let _other = app.import_one(json!({"profile": {"userDetails": {"name": "Joseph"}}})).await;
    assert_eq!(app.matching(json!({"searchText": "jose alvarez"})).await, set(&[&jose, &plain]));
    assert_eq!(app.matching(json!({"searchText": "JOSÉ ÁLVAREZ"})).await, set(&[&jose, &plain]));
    assert_eq!(app.matching(json!({"searchText": "lvar"})).await, set(&[&jose, &plain]));
}

#[tokio::test]
async fn text_search_finds_substrings_of_every_searchable_field() {
    let app = spawn_app().await;
    let by_name = app.import_one(json!({"profile": {"userDetails": {"name": "Marta"}}})).await;
    let by_provided = app.import_one(json!({"profile": {"userDetails": {"userProvidedName": "Quinta"}}})).await;
    let by_email = app
        .import_one(json!({"profile": {"userDetails": {"contact": {"email": "Someone.Special@Example.org"}}}}))
        .await;
    let by_telegram = app.import_one(json!({"profile": {"userDetails": {"telegramUserName": "tg_wizard"}}})).await;
    let by_facebook = app.import_one(json!({"profile": {"userDetails": {"facebookProfileId": "fb.owl.77"}}})).await;
    let by_whatsapp =
        app.import_one(json!({"profile": {"userDetails": {"name": "Ana", "whatsAppNumber": "27834445555"}}})).await;
    let _other_ana = app.import_one(json!({"profile": {"userDetails": {"name": "Ana", "city": "834"}}})).await;
    let _city = app.import_one(json!({"profile": {"userDetails": {"city": "Quintana", "country": "Marta"}}})).await;
    assert_eq!(app.matching(json!({"searchText": "art"})).await, set(&[&by_name]));
    assert_eq!(app.matching(json!({"searchText": "quint"})).await, set(&[&by_provided]));
    assert_eq!(app.matching(json!({"searchText": "special@example"})).await, set(&[&by_email]));
    assert_eq!(app.matching(json!({"searchText": "EXAMPLE.ORG"})).await, set(&[&by_email]));
    assert_eq!(app.matching(json!({"searchText": "wizard"})).await, set(&[&by_telegram]));
    assert_eq!(app.matching(json!({"searchText": "owl.7"})).await, set(&[&by_facebook]));
    // Not phone-like (a letter in it): each term is looked for as text, "834" in whatsAppNumber.
    assert_eq!(app.matching(json!({"searchText": "ana 834"})).await, set(&[&by_whatsapp]));
}

#[tokio::test]
async fn phone_like_text_finds_phone_and_whatsapp_digits() {
    let app = spawn_app().await;
    let phone = app
        .import_one(
            json!({"profile": {"userDetails": {"contact": {"phone": {"prefix": "27", "number": "825551234"}}}}}),
        )
        .await;
    let whatsapp = app.import_one(json!({"profile": {"userDetails": {"whatsAppNumber": "+27 83 111 2222"}}})).await;
    let _other = app
        .import_one(
            json!({"profile": {"userDetails": {"contact": {"phone": {"prefix": "44", "number": "7700900123"}}}}}),
        )
        .await;
    assert_eq!(app.matching(json!({"searchText": "+27 82-555"})).await, set(&[&phone]));
    assert_eq!(app.matching(json!({"searchText": "(27) 825.551.234"})).await, set(&[&phone]));
    assert_eq!(app.matching(json!({"searchText": "825551234"})).await, set(&[&phone]));
    assert_eq!(app.matching(json!({"searchText": "27831112222"})).await, set(&[&whatsapp]));
    assert_eq!(app.matching(json!({"searchText": "831 112"})).await, set(&[&whatsapp]));
    assert_eq!(app.matching(json!({"searchText": "82"})).await, Vec::<String>::new(), "fewer than 3 digits");
}

#[tokio::test]
async fn is_contact_true_restricts_and_false_does_not() {
    let app = spawn_app().await;
    let web = app.bot("site", "WEBSITE").await;
    let contact = app.import_one(json!({"uuid": "c"})).await;
    let visitor = app.web_visitor(&web, "v", &secs_ago(60)).await;
    assert_eq!(app.user(&visitor).await["isContact"], json!(false));
    assert_eq!(app.matching(json!({"isContact": true})).await, set(&[&contact]));
    assert_eq!(app.matching(json!({"isContact": false})).await, set(&[&contact, &visitor]));
    let (status, answer) = app.post("/inbox/users", &app.admin, json!({"isContact": "yes"})).await;
    assert_problem(status, &answer, 400, &["isContact"]);
}

#[tokio::test]
async fn has_ordered_counts_orders_and_their_time_when_named() {
    let app = spawn_app().await;
    let ids = app.users_named(&["none", "january", "march"]).await;
    let (none, january, march) = (&ids[0], &ids[1], &ids[2]);
    app.events_ok(json!([
        {"type": "order", "userId": january, "orderId": "o1", "at": "2025-01-10T10:00:00.000Z", "amount": 10, "currency": "ZAR"},
        {"type": "order", "userId": march, "orderId": "o2", "at": "2025-01-05T10:00:00.000Z"},
        {"type": "order", "userId": march, "orderId": "o3", "at": "2025-03-10T10:00:00.000Z", "amount": 99.5}
    ]))
    .await;
    let ordered = |status: bool, last_at: &str| json!({"hasOrdered": {"status": status, "lastAt": last_at}, "applicableFilters": ["hasOrdered"]});
    assert_eq!(app.matching(ordered(true, "")).await, set(&[january, march]));
    assert_eq!(app.matching(ordered(false, "")).await, set(&[none]));
    assert_eq!(app.matching(ordered(true, "2025-02-01")).await, set(&[march]));
    assert_eq!(app.matching(ordered(false, "2025-02-01")).await, set(&[none, january]));
    assert_eq!(app.matching(ordered(true, "2025-03-10T10:00:00.000Z")).await, set(&[march]), "at lastAt counts");
    assert_eq!(app.matching(ordered(true, "2025-03-10T10:00:00.001Z")).await, Vec::<String>::new());
    // Not named: no effect.
    let unnamed = json!({"hasOrdered": {"status": true, "lastAt": ""}});
    assert_eq!(app.matching(unnamed).await, set(&[none, january, march]));
    let (status, answer) = app
        .post(
            "/inbox/users",
            &app.admin,
            json!({"hasOrdered": {"status": true, "lastAt": "soon"}, "applicableFilters": ["hasOrdered"]}),
        )
        .await;
    assert_problem(status, &answer, 400, &["hasOrdered.lastAt"]);
}

#[tokio::test]
async fn is_online_follows_the_latest_presence_signal_within_the_window() {
    let app = spawn_app().await;
    let ids = app.users_named(&["online", "stale", "went offline", "talking", "talked long ago", "never"]).await;
    app.events_ok(json!([
        {"type": "presence", "userId": ids[0], "online": true, "at": now()},
        {"type": "presence", "userId": ids[1], "online": true, "at": secs_ago(200)},
        {"type": "presence", "userId": ids[2], "online": true, "at": secs_ago(10)},
        {"type": "presence", "userId": ids[2], "online": false, "at": secs_ago(5)},
        {"type": "message", "userId": ids[3], "by": "user", "text": "hi", "at": now()},
        {"type": "message", "userId": ids[4], "by": "user", "text": "hi", "at": secs_ago(300)}
    ]))
    .await;
    let online = |value: bool| json!({"isOnline": value, "applicableFilters": ["isOnline"]});
    assert_eq!(app.matching(online(true)).await, set(&[&ids[0], &ids[3]]));
    assert_eq!(app.matching(online(false)).await, set(&[&ids[1], &ids[2], &ids[4], &ids[5]]));
    assert_eq!(app.user(&ids[0]).await["isOnline"], json!(true));
    assert_eq!(app.user(&ids[1]).await["isOnline"], json!(false));
}

#[tokio::test]
async fn an_older_presence_signal_does_not_override_a_newer_one() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "p"})).await;
    app.events_ok(json!([{"type": "presence", "userId": id, "online": false, "at": secs_ago(5)}])).await;
    app.events_ok(json!([{"type": "presence", "userId": id, "online": true, "at": secs_ago(30)}])).await;
    assert_eq!(app.user(&id).await["isOnline"], json!(false), "the latest signal by `at` says offline");
    let at = secs_ago(2);
    app.events_ok(json!([
        {"type": "presence", "userId": id, "online": false, "at": at},
        {"type": "presence", "userId": id, "online": true, "at": at}
    ]))
    .await;
    assert_eq!(app.user(&id).await["isOnline"], json!(true), "on a tie, the one received last");
}

#[tokio::test]
async fn the_presence_window_is_a_server_setting() {
    let app = spawn_app_with(|s| s.presence_window_secs = 1000).await;
    let id = app.import_one(json!({"uuid": "p"})).await;
    app.events_ok(json!([{"type": "presence", "userId": id, "online": true, "at": secs_ago(200)}])).await;
    let online = json!({"isOnline": true, "applicableFilters": ["isOnline"]});
    assert_eq!(app.matching(online).await, vec![id.clone()]);
    assert_eq!(app.user(&id).await["isOnline"], json!(true));
}

#[tokio::test]
async fn deleted_users_are_hidden_unless_asked_for() {
    let app = spawn_app().await;
    let ids = app.users_named(&["kept", "gone"]).await;
    app.set_status(&[&ids[1]], "DELETED").await;
    assert_eq!(app.matching(json!({})).await, set(&[&ids[0]]));
    assert_eq!(app.matching(json!({"searchText": "gone"})).await, Vec::<String>::new());
    assert_eq!(app.matching(json!({"status": ["DELETED"]})).await, set(&[&ids[1]]));
    assert_eq!(app.matching(json!({"status": ["OPEN", "DELETED"]})).await, set(&ids));
    assert_eq!(app.user(&ids[1]).await["status"], json!("DELETED"), "GET still shows a DELETED user");
}

#[tokio::test]
async fn all_conditions_combine_with_and() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let both =
        app.import_one(json!({"_botWhatsapp": wa, "profile": {"userDetails": {"name": "Zed", "tags": ["vip"]}}})).await;
    let _tag_only = app.import_one(json!({"profile": {"userDetails": {"name": "Zed", "tags": ["vip"]}}})).await;
    let _bot_only = app.import_one(json!({"_botWhatsapp": wa, "profile": {"userDetails": {"name": "Zed"}}})).await;
    let body = json!({"tags": ["vip"], "_botWhatsapp": [wa], "searchText": "zed", "status": ["OPEN"]});
    assert_eq!(app.matching(body).await, vec![both]);
}

#[tokio::test]
async fn wrong_json_types_in_the_query_are_400_with_their_paths() {
    let app = spawn_app().await;
    let body = json!({
        "searchText": 5,
        "tags": "vip",
        "_agentAssigned": [1],
        "lastSeenAt": "2025-03-01",
        "isOnline": "true",
        "page": "1",
        "sort": {"by": "name", "order": "sideways"}
    });
    let (status, answer) = app.post("/inbox/users", &app.admin, body).await;
    assert_problem(
        status,
        &answer,
        400,
        &["searchText", "tags", "_agentAssigned[0]", "lastSeenAt", "isOnline", "page", "sort.order"],
    );
}

#[tokio::test]
async fn phone_like_text_also_matches_as_plain_text() {
    let app = spawn_app().await;
    let agent = app.import_one(json!({"profile": {"userDetails": {"name": "Agent 007"}}})).await;
    let phone = app
        .import_one(json!({"profile": {"userDetails": {"contact": {"phone": {"prefix": "1", "number": "2000074"}}}}}))
        .await;
    let _other = app.import_one(json!({"profile": {"userDetails": {"name": "Agent 8"}}})).await;
    assert_eq!(app.matching(json!({"searchText": "007"})).await, set(&[&agent, &phone]));
}
