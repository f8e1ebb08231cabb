//! GET, PUT and DELETE /inbox/users/{id}, and PUT /inbox/users/status-update.

use serde_json::{json, Value};

use crate::support::*;

fn keys(object: &Value) -> Vec<String> {
    let mut keys: Vec<String> = object.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_user_reads_back_with_every_field_of_the_user_object() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let ann = app.agent_named("Ann").await;
    let id = app
        .import_one(json!({
            "uuid": "client-1",
            "isSubscriber": true,
            "_botWhatsapp": wa,
            "_agentAssigned": ann,
            "profile": {"userDetails": {
                "name": "Ana", "userProvidedName": "Annie", "picture": "https://pics.example/ana.png",
                "contact": {"email": "ana@example.com", "phone": {"number": "825551234", "prefix": "27"}},
                "whatsAppNumber": "27825551234", "city": "Cape Town", "country": "ZA",
                "tags": ["vip"], "attributes": [{"key": "plan", "value": "gold"}]
            }}
        }))
        .await;
    let user = app.user(&id).await;
    assert_eq!(
        keys(&user),
        [
            "_agentAssigned",
            "_botFacebook",
            "_botTelegram",
            "_botWebsite",
            "_botWhatsapp",
            "_id",
            "createdAt",
            "hasOrdered",
            "isContact",
            "isLiveChatActive",
            "isOnline",
            "isSubscriber",
            "isUserBlocked",
            "lastMessage",
            "lastSeenAt",
            "platform",
            "profile",
            "segments",
            "status",
            "unreadMessages",
            "updatedAt",
            "uuid",
            "userInteracted",
        ]
        .map(String::from)
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    assert_eq!(user["_id"], json!(id));
    assert_eq!(id.len(), 24);
    assert!(id.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)), "ids are lowercase hex: {id}");
    assert_eq!(user["uuid"], json!("client-1"));
    assert!(is_timestamp(user["createdAt"].as_str().unwrap()), "{}", user["createdAt"]);
    assert!(is_timestamp(user["updatedAt"].as_str().unwrap()), "{}", user["updatedAt"]);
    assert_eq!(user["lastSeenAt"], json!(null));
    assert_eq!(user["isContact"], json!(true), "imported users are contacts");
    assert_eq!(user["isUserBlocked"], json!(false));
    assert_eq!(user["isSubscriber"], json!(true));
    assert_eq!(user["isOnline"], json!(false));
    assert_eq!(user["isLiveChatActive"], json!(false));
    assert_eq!(user["userInteracted"], json!(false));
    assert_eq!(user["status"], json!("OPEN"));
    assert_eq!(user["platform"], json!(["WHATSAPP"]));
    assert_eq!(user["_botWhatsapp"], json!(wa));
    assert_eq!(user["_botWebsite"], json!(null));
    assert_eq!(user["_agentAssigned"], json!(ann));
    assert_eq!(user["segments"], json!([]));
    assert_eq!(user["hasOrdered"], json!({"status": false, "lastAt": null, "count": 0}));
    assert_eq!(user["lastMessage"], json!(null));
    assert_eq!(user["unreadMessages"], json!(0));
    let details = &user["profile"]["userDetails"];
    assert_eq!(
        keys(details),
        [
            "attributes",
            "city",
            "contact",
            "country",
            "facebookProfileId",
            "instagramProfileId",
            "name",
            "picture",
            "tags",
            "telegramUserName",
            "userProvidedName",
            "whatsAppNumber"
        ]
    );
    assert_eq!(details["name"], json!("Ana"));
    assert_eq!(details["userProvidedName"], json!("Annie"));
    assert_eq!(details["picture"], json!("https://pics.example/ana.png"));
    assert_eq!(
        details["contact"],
        json!({"email": "ana@example.com", "phone": {"number": "825551234", "prefix": "27"}})
    );
    assert_eq!(details["telegramUserName"], json!(null));
    assert_eq!(details["city"], json!("Cape Town"));
    assert_eq!(details["tags"], json!(["vip"]));
    assert_eq!(details["attributes"], json!([{"key": "plan", "value": "gold"}]));
    assert_eq!(user["profile"]["notes"], json!([]));
}

#[tokio::test]
async fn platform_lists_every_channel_with_a_bot() {
    let app = spawn_app().await;
    let web = app.bot("web", "WEBSITE").await;
    let fb = app.bot("fb", "FACEBOOK").await;
    let id = app.import_one(json!({"_botWebsite": web, "_botFacebook": fb})).await;
    let mut platforms: Vec<String> =
        app.user(&id).await["platform"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    platforms.sort();
    assert_eq!(platforms, ["FACEBOOK", "WEBSITE"]);
}

#[tokio::test]
async fn unknown_and_foreign_ids_are_404_and_malformed_ids_400() {
    let app = spawn_app().await;
    let (status, answer) = app.post("/inbox/users/import", &app.other, json!([{"uuid": "theirs"}])).await;
    assert_eq!(status, 200, "{answer}");
    let theirs = answer["data"]["ids"][0].as_str().unwrap().to_string();
    for id in [NO_SUCH_ID, theirs.as_str()] {
        let (status, answer) = app.get(&format!("/inbox/users/{id}"), &app.admin).await;
        assert_problem(status, &answer, 404, &[]);
        let (status, answer) = app.put(&format!("/inbox/users/{id}"), &app.admin, json!({"uuid": "x"})).await;
        assert_problem(status, &answer, 404, &[]);
        let (status, answer) = app.delete(&format!("/inbox/users/{id}"), &app.admin).await;
        assert_problem(status, &answer, 404, &[]);
    }
    for bad in ["123", "0123456789ABCDEF01234567", "zzzzzzzzzzzzzzzzzzzzzzzz"] {
        let (status, answer) = app.get(&format!("/inbox/users/{bad}"), &app.admin).await;
        assert_problem(status, &answer, 400, &[]);
    }
    // The other workspace's user is untouched.
    let (status, answer) = app.get(&format!("/inbox/users/{theirs}"), &app.other).await;
    assert_eq!(status, 200);
    assert_eq!(answer["data"]["uuid"], json!("theirs"));
}

#[tokio::test]
async fn put_changes_only_the_fields_given() {
    let app = spawn_app().await;
    let id = app
        .import_one(json!({"uuid": "u", "isSubscriber": true, "profile": {"userDetails": {
            "name": "Ana", "city": "Durban", "tags": ["vip"], "contact": {"email": "ana@example.com"}
        }}}))
        .await;
    let before = app.user(&id).await;
    let after = app.update(&id, json!({"profile": {"userDetails": {"city": "Cape Town"}}})).await;
    assert_eq!(after["profile"]["userDetails"]["city"], json!("Cape Town"));
    assert_eq!(after["_id"], json!(id), "PUT answers the updated user");
    let read = app.user(&id).await;
    assert_eq!(read["profile"]["userDetails"]["city"], json!("Cape Town"));
    for path in [&["uuid"][..], &["isSubscriber"], &["status"], &["createdAt"], &["profile", "userDetails", "name"]] {
        let pick = |v: &Value| path.iter().fold(v.clone(), |v, k| v[*k].clone());
        assert_eq!(pick(&read), pick(&before), "{path:?} unchanged");
    }
    assert_eq!(read["profile"]["userDetails"]["tags"], json!(["vip"]));
    assert_eq!(read["profile"]["userDetails"]["contact"]["email"], json!("ana@example.com"));
}

#[tokio::test]
async fn a_whole_user_object_read_by_get_can_be_put_back() {
    let app = spawn_app().await;
    let web = app.bot("web", "WEBSITE").await;
    let id = app.web_visitor(&web, "v-1", "2025-03-01T10:00:00.000Z").await;
    app.update(&id, json!({"profile": {"userDetails": {"name": "Old", "tags": ["a"]}, "notes": [{"title": "t", "description": "d"}]}}))
        .await;
    let mut user = app.user(&id).await;
    let original = user.clone();
    user["profile"]["userDetails"]["name"] = json!("New");
    // Server-owned fields are ignored, whatever they say.
    user["_id"] = json!(NO_SUCH_ID);
    user["createdAt"] = json!("2000-01-01T00:00:00.000Z");
    user["lastSeenAt"] = json!("2000-01-01T00:00:00.000Z");
    user["isOnline"] = json!(true);
    user["userInteracted"] = json!(false);
    user["platform"] = json!(["TELEGRAM"]);
    user["segments"] = json!([NO_SUCH_ID]);
    user["hasOrdered"] = json!({"status": true, "lastAt": null, "count": 9});
    user["lastMessage"] = json!(null);
    user["unreadMessages"] = json!(42);
    let (status, answer) = app.put(&format!("/inbox/users/{id}"), &app.admin, user).await;
    assert_eq!(status, 200, "{answer}");
    let read = app.user(&id).await;
    assert_eq!(read["profile"]["userDetails"]["name"], json!("New"));
    for field in
        ["_id", "createdAt", "lastSeenAt", "userInteracted", "platform", "hasOrdered", "lastMessage", "unreadMessages"]
    {
        assert_eq!(read[field], original[field], "{field} is the server's");
    }
    assert_eq!(read["profile"]["notes"], original["profile"]["notes"], "notes put back as they were are kept once");
    assert_eq!(read["profile"]["userDetails"]["tags"], json!(["a"]));
}

#[tokio::test]
async fn fields_in_neither_shape_are_400() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let (status, answer) = app
        .put(
            &format!("/inbox/users/{id}"),
            &app.admin,
            json!({"nickname": "x", "profile": {"userDetails": {"shoeSize": 9, "contact": {"fax": "1"}}}}),
        )
        .await;
    assert_problem(
        status,
        &answer,
        400,
        &["nickname", "profile.userDetails.shoeSize", "profile.userDetails.contact.fax"],
    );
    assert_eq!(app.user(&id).await["uuid"], json!("u"), "a rejected PUT changes nothing");
}

#[tokio::test]
async fn put_validates_values_with_their_paths() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let (status, answer) = app
        .put(
            &format!("/inbox/users/{id}"),
            &app.admin,
            json!({
                "status": "closed",
                "isSubscriber": "yes",
                "_botWebsite": "nope",
                "profile": {"userDetails": {"tags": ["ok", 5], "contact": {"phone": {"number": "call me"}}}}
            }),
        )
        .await;
    assert_problem(
        status,
        &answer,
        400,
        &[
            "status",
            "isSubscriber",
            "_botWebsite",
            "profile.userDetails.tags[1]",
            "profile.userDetails.contact.phone.number",
        ],
    );
}

#[tokio::test]
async fn tags_replace_the_old_list_and_never_differ_only_in_case() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"profile": {"userDetails": {"tags": ["old", "vip"]}}})).await;
    app.update(&id, json!({"profile": {"userDetails": {"tags": [" VIP ", "new", "vip", "New"]}}})).await;
    assert_eq!(app.user(&id).await["profile"]["userDetails"]["tags"], json!(["VIP", "new"]));
    app.update(&id, json!({"profile": {"userDetails": {"tags": []}}})).await;
    assert_eq!(app.user(&id).await["profile"]["userDetails"]["tags"], json!([]));
}

#[tokio::test]
async fn attributes_merge_by_key_and_null_removes_a_key() {
    let app = spawn_app().await;
    let id = app
        .import_one(json!({"profile": {"userDetails": {"attributes": [
            {"key": "plan", "value": "gold"}, {"key": "city", "value": "Durban"}
        ]}}}))
        .await;
    app.update(
        &id,
        json!({"profile": {"userDetails": {"attributes": [
            {"key": "plan", "value": "silver"}, {"key": "city", "value": null}, {"key": "seats", "value": "3"}
        ]}}}),
    )
    .await;
    let mut attributes = app.user(&id).await["profile"]["userDetails"]["attributes"].as_array().unwrap().clone();
    attributes.sort_by_key(|a| a["key"].as_str().unwrap().to_string());
    assert_eq!(attributes, vec![json!({"key": "plan", "value": "silver"}), json!({"key": "seats", "value": "3"})]);
}

#[tokio::test]
async fn notes_are_appended_each_with_an_id() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.update(&id, json!({"profile": {"notes": [{"title": "first", "description": "one"}]}})).await;
    let notes = app.user(&id).await["profile"]["notes"].clone();
    assert_eq!(notes.as_array().unwrap().len(), 1);
    let first_id = notes[0]["_id"].as_str().unwrap().to_string();
    assert_eq!(first_id.len(), 24);
    app.update(
        &id,
        json!({"profile": {"notes": [
            {"_id": first_id, "title": "changed?", "description": "no"},
            {"title": "second", "description": "two"}
        ]}}),
    )
    .await;
    let notes = app.user(&id).await["profile"]["notes"].clone();
    let notes = notes.as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0], json!({"_id": first_id, "title": "first", "description": "one"}), "left as it was");
    assert_eq!(notes[1]["title"], json!("second"));
    assert_eq!(notes[1]["description"], json!("two"));
    assert_ne!(notes[1]["_id"], notes[0]["_id"]);
}

#[tokio::test]
async fn null_clears_the_assigned_agent_and_other_nullable_fields() {
    let app = spawn_app().await;
    let ann = app.agent_named("Ann").await;
    let id = app
        .import_one(json!({"_agentAssigned": ann, "uuid": "u", "profile": {"userDetails": {"city": "Durban"}}}))
        .await;
    app.update(&id, json!({"_agentAssigned": null, "uuid": null, "profile": {"userDetails": {"city": null}}})).await;
    let user = app.user(&id).await;
    assert_eq!(user["_agentAssigned"], json!(null));
    assert_eq!(user["uuid"], json!(null));
    assert_eq!(user["profile"]["userDetails"]["city"], json!(null));
    assert_eq!(app.matching(json!({"_agentAssigned": ["UNASSIGNED"]})).await, vec![id]);
}

#[tokio::test]
async fn a_bot_of_another_channel_or_workspace_or_an_unknown_agent_is_400() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let theirs = bot_of(&app, &app.other, "their web", "WEBSITE").await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let path = format!("/inbox/users/{id}");
    let (status, answer) = app.put(&path, &app.admin, json!({"_botWebsite": wa})).await;
    assert_problem(status, &answer, 400, &["_botWebsite"]);
    let (status, answer) = app.put(&path, &app.admin, json!({"_botWebsite": theirs})).await;
    assert_problem(status, &answer, 400, &["_botWebsite"]);
    let (status, answer) = app.put(&path, &app.admin, json!({"_agentAssigned": NO_SUCH_ID})).await;
    assert_problem(status, &answer, 400, &["_agentAssigned"]);
    let user = app.user(&id).await;
    assert_eq!(user["_botWebsite"], json!(null));
    assert_eq!(user["_agentAssigned"], json!(null));
    app.update(&id, json!({"_botWhatsapp": wa})).await;
    assert_eq!(app.user(&id).await["platform"], json!(["WHATSAPP"]));
}

#[tokio::test]
async fn updated_at_moves_on_every_change() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    let mut last = app.user(&id).await["updatedAt"].as_str().unwrap().to_string();
    let created = app.user(&id).await["createdAt"].clone();
    let changes = [
        json!({"profile": {"userDetails": {"name": "x"}}}),
        json!({"isLiveChatActive": true}),
        json!({"status": "CLOSED"}),
    ];
    for change in changes {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        app.update(&id, change.clone()).await;
        let now = app.user(&id).await["updatedAt"].as_str().unwrap().to_string();
        assert!(now > last, "updatedAt moved after {change}: {last} -> {now}");
        last = now;
    }
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    app.events_ok(json!([{"type": "liveChat", "userId": id, "active": false}])).await;
    let now = app.user(&id).await["updatedAt"].as_str().unwrap().to_string();
    assert!(now > last, "updatedAt moved after an event: {last} -> {now}");
    assert_eq!(app.user(&id).await["createdAt"], created);
}

#[tokio::test]
async fn stored_values_are_normalised_as_the_contract_says() {
    let app = spawn_app().await;
    let id = app.import_one(json!({"uuid": "u"})).await;
    app.update(
        &id,
        json!({"profile": {"userDetails": {
            "name": "  Ana  ",
            "contact": {"email": "  Ana@Example.COM ", "phone": {"number": "082-555 1234", "prefix": "+27"}}
        }}}),
    )
    .await;
    let contact = app.user(&id).await["profile"]["userDetails"]["contact"].clone();
    assert_eq!(contact["email"], json!("Ana@Example.COM"), "kept as given, trimmed");
    assert_eq!(contact["phone"], json!({"number": "0825551234", "prefix": "27"}), "digits only");
}

#[tokio::test]
async fn status_update_sets_many_and_names_the_ones_not_found() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a", "b", "c"]).await;
    let (status, answer) = app.post("/inbox/users/import", &app.other, json!([{"uuid": "theirs"}])).await;
    assert_eq!(status, 200);
    let theirs = answer["data"]["ids"][0].as_str().unwrap().to_string();
    let data = app.set_status(&[&ids[0], &ids[1], NO_SUCH_ID, &theirs], "CLOSED").await;
    assert_eq!(data["updated"], json!(2));
    assert_eq!(
        sorted(data["notFound"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()),
        set(&[NO_SUCH_ID, theirs.as_str()])
    );
    assert_eq!(app.user(&ids[0]).await["status"], json!("CLOSED"));
    assert_eq!(app.user(&ids[2]).await["status"], json!("OPEN"));
    let (_, answer) = app.get(&format!("/inbox/users/{theirs}"), &app.other).await;
    assert_eq!(answer["data"]["status"], json!("OPEN"), "the other workspace's user is untouched");
}

#[tokio::test]
async fn status_update_validates_its_body() {
    let app = spawn_app().await;
    let (status, answer) = app
        .put("/inbox/users/status-update", &app.admin, json!({"ids": ["nope"], "status": "closed", "extra": 1}))
        .await;
    assert_problem(status, &answer, 400, &["ids[0]", "status", "extra"]);
}

#[tokio::test]
async fn status_update_needs_an_admin() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a"]).await;
    let (status, answer) =
        app.put("/inbox/users/status-update", &app.agent, json!({"ids": [ids[0]], "status": "CLOSED"})).await;
    assert_problem(status, &answer, 403, &[]);
    assert_eq!(app.user(&ids[0]).await["status"], json!("OPEN"));
}

#[tokio::test]
async fn delete_erases_the_user_for_good() {
    let app = spawn_app().await;
    let ids = app.users_named(&["kept", "gone"]).await;
    let (status, answer) = app.delete(&format!("/inbox/users/{}", ids[1]), &app.admin).await;
    assert_eq!(status, 200, "{answer}");
    assert_success(&answer);
    assert_eq!(answer["data"], json!({"deleted": ids[1]}));
    let (status, _) = app.get(&format!("/inbox/users/{}", ids[1]), &app.admin).await;
    assert_eq!(status, 404);
    assert_eq!(app.matching(json!({"status": ["OPEN", "DELETED", "CLOSED"]})).await, vec![ids[0].clone()]);
    let (_, rows) = app.export(json!({})).await;
    assert_eq!(rows.len(), 1);
    let (status, _) = app.delete(&format!("/inbox/users/{}", ids[1]), &app.admin).await;
    assert_eq!(status, 404, "deleting twice");
}

#[tokio::test]
async fn delete_needs_an_admin() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a"]).await;
    let (status, answer) = app.delete(&format!("/inbox/users/{}", ids[0]), &app.agent).await;
    assert_problem(status, &answer, 403, &[]);
    app.user(&ids[0]).await;
}

#[tokio::test]
async fn agents_may_read_and_update_users() {
    let app = spawn_app().await;
    let ids = app.users_named(&["a"]).await;
    let (status, answer) = app.get(&format!("/inbox/users/{}", ids[0]), &app.agent).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = app
        .put(&format!("/inbox/users/{}", ids[0]), &app.agent, json!({"profile": {"userDetails": {"name": "b"}}}))
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = app.post("/inbox/users", &app.agent, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["meta"]["total"], json!(1));
}
