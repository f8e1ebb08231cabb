//! POST /inbox/users/import with a CSV body: the export's columns, read back.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

async fn import_csv(app: &TestApp, csv: &str) -> (u16, Value) {
    let answer = app
        .raw(Method::POST, "/inbox/users/import", Some(&app.admin), Some("text/csv"), Some(csv.as_bytes().to_vec()))
        .await;
    (answer.status, answer.json())
}

#[tokio::test]
async fn a_csv_import_creates_users_from_the_export_columns() {
    let app = spawn_app().await;
    let ann = app.agent_named("Ann").await;
    let csv = format!(
        "uuid,name,email,phone,tags,status,agentId,isSubscriber,city,attributes.plan\n\
         c-1,Ana,ana@x.test,+27825551234,vip; news,CLOSED,{ann},true,Durban,gold\n\
         c-2,Ben,,0825550000,,,,,,\n"
    );
    let (status, answer) = import_csv(&app, &csv).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["created"], json!(2));
    assert_eq!(answer["data"]["rejected"], json!([]));
    let ana = app.user(answer["data"]["ids"][0].as_str().unwrap()).await;
    let details = &ana["profile"]["userDetails"];
    assert_eq!(ana["uuid"], json!("c-1"));
    assert_eq!(details["name"], json!("Ana"));
    assert_eq!(details["contact"]["email"], json!("ana@x.test"));
    assert_eq!(details["contact"]["phone"], json!({"prefix": "27", "number": "825551234"}));
    assert_eq!(details["tags"], json!(["vip", "news"]));
    assert_eq!(ana["status"], json!("CLOSED"));
    assert_eq!(ana["_agentAssigned"], json!(ann));
    assert_eq!(ana["isSubscriber"], json!(true));
    assert_eq!(ana["isContact"], json!(true));
    assert_eq!(details["city"], json!("Durban"));
    assert_eq!(details["attributes"], json!([{"key": "plan", "value": "gold"}]));
    let ben = app.user(answer["data"]["ids"][1].as_str().unwrap()).await;
    assert_eq!(
        ben["profile"]["userDetails"]["contact"]["phone"]["number"],
        json!("0825550000"),
        "no +: all digits are the number"
    );
    assert_eq!(ben["profile"]["userDetails"]["contact"]["phone"]["prefix"], json!(null));
    assert_eq!(ben["status"], json!("OPEN"));
}

#[tokio::test]
async fn an_unknown_csv_column_is_400_and_applies_nothing() {
    let app = spawn_app().await;
    let (status, answer) = import_csv(&app, "uuid,name,shoeSize\nc-1,Ana,9\n").await;
    assert_problem(status, &answer, 400, &[]);
    assert!(problems_text(&answer["data"]).contains("shoeSize"), "{answer}");
    assert!(app.matching(json!({})).await.is_empty());
}

#[tokio::test]
async fn csv_rows_count_from_the_first_data_row() {
    let app = spawn_app().await;
    let (status, answer) = import_csv(&app, "uuid,status\nok-1,OPEN\nbad,not a status\nok-2,\n").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["created"], json!(2));
    assert_eq!(answer["data"]["rejected"].as_array().unwrap().len(), 1);
    assert_eq!(answer["data"]["rejected"][0]["row"], json!(1));
    assert_eq!(answer["data"]["ids"][1], json!(null));
}

#[tokio::test]
async fn the_export_only_columns_are_accepted_and_ignored() {
    let app = spawn_app().await;
    let csv =
        "uuid,createdAt,updatedAt,lastSeenAt,lastMessageAt,lastMessageBy,lastMessageText,userInteracted,isOnline,\
               hasOrdered,lastOrderAt,orderCount,unreadMessages,platform,agent\n\
               c-1,2001-01-01T00:00:00.000Z,2001-01-01T00:00:00.000Z,2001-01-01T00:00:00.000Z,2001-01-01T00:00:00.000Z,\
               user,hi,true,true,true,2001-01-01T00:00:00.000Z,5,7,TELEGRAM,Nobody\n";
    let (status, answer) = import_csv(&app, csv).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["rejected"], json!([]));
    let user = app.user(answer["data"]["ids"][0].as_str().unwrap()).await;
    assert_ne!(user["createdAt"], json!("2001-01-01T00:00:00.000Z"));
    assert_eq!(user["lastSeenAt"], json!(null));
    assert_eq!(user["lastMessage"], json!(null));
    assert_eq!(user["userInteracted"], json!(false));
    assert_eq!(user["hasOrdered"]["count"], json!(0));
    assert_eq!(user["unreadMessages"], json!(0));
    assert_eq!(user["platform"], json!([]));
}

#[tokio::test]
async fn a_leading_quote_that_neutralised_a_formula_is_stripped_again() {
    let app = spawn_app().await;
    let (status, answer) = import_csv(&app, "uuid,name,phone,tags\nc-1,'=SUM(1),'+27825551234,'-minus; @at\n").await;
    assert_eq!(status, 200, "{answer}");
    let user = app.user(answer["data"]["ids"][0].as_str().unwrap()).await;
    let details = &user["profile"]["userDetails"];
    assert_eq!(details["name"], json!("=SUM(1)"));
    assert_eq!(details["contact"]["phone"], json!({"prefix": "27", "number": "825551234"}));
    assert_eq!(details["tags"], json!(["-minus", "@at"]));
}

#[tokio::test]
async fn an_exported_file_imports_back_unchanged() {
    let app = spawn_app().await;
    let wa = app.bot("wa", "WHATSAPP").await;
    let ann = app.agent_named("Ann").await;
    app.import(json!([
        {"uuid": "u-1", "isSubscriber": true, "_botWhatsapp": wa, "_agentAssigned": ann, "status": "CLOSED",
         "profile": {"userDetails": {
            "name": "=HYPERLINK(\"x\")", "userProvidedName": "Ana, \"the\" first",
            "contact": {"email": "Ana@Example.com", "phone": {"prefix": "27", "number": "825551234"}},
            "whatsAppNumber": "+27825551234", "city": "Cape Town", "country": "ZA",
            "tags": ["vip", "-dash", "@home"], "attributes": [{"key": "plan", "value": "+gold"}, {"key": "b", "value": "line\nbreak"},
              {"key": "seats", "value": 3}, {"key": "vip", "value": true}, {"key": "ratio", "value": -0.25}]
         }}},
        {"isUserBlocked": true, "isContact": false, "profile": {"userDetails": {"name": "José", "telegramUserName": "tg_jose",
         "contact": {"phone": {"number": "0825550000"}}}}},
        {"uuid": "u-3", "profile": {"userDetails": {"facebookProfileId": "fb-3",
         "attributes": [{"key": "SEATS", "value": "3"}, {"key": "Vip", "value": "TRUE"}, {"key": "ratio", "value": 12}]}}}
    ]))
    .await;
    let web = app.bot("web", "WEBSITE").await;
    let visitor = app.web_visitor(&web, "visitor-9", "2025-03-01T10:00:00.000Z").await;
    app.events_ok(json!([{"type": "order", "userId": visitor, "orderId": "o-1", "at": "2025-03-02T10:00:00.000Z"}]))
        .await;

    let (all, _) = app.all_ids(json!({})).await;
    let mut before = Vec::new();
    for id in &all {
        before.push(app.user(id).await);
    }
    let (header, rows) = app.export(json!({})).await;
    let mut table = vec![header.clone()];
    table.extend(rows.clone());
    let (status, answer) = import_csv(&app, &write_csv(&table)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["data"]["rejected"], json!([]));
    assert_eq!(answer["data"]["created"], json!(0));
    assert_eq!(answer["data"]["updated"], json!(all.len()));
    for (id, was) in all.iter().zip(&before) {
        let mut now = app.user(id).await;
        let mut was = was.clone();
        now["updatedAt"] = json!(null);
        was["updatedAt"] = json!(null);
        assert_eq!(now, was, "user {id} imported back unchanged");
    }
    let (header_again, rows_again) = app.export(json!({})).await;
    assert_eq!(header_again, header);
    let updated = header.iter().position(|h| h == "updatedAt").unwrap();
    let strip = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().enumerate().filter(|(i, _)| *i != updated).map(|(_, c)| c.clone()).collect())
            .collect()
    };
    assert_eq!(strip(&rows_again), strip(&rows));
}

#[tokio::test]
async fn csv_attribute_cells_take_the_type_and_spelling_of_the_attribute_the_user_holds() {
    let app = spawn_app().await;
    let id = app
        .import_one(json!({"uuid": "u-1", "profile": {"userDetails": {"attributes": [
            {"key": "Seats", "value": 3}, {"key": "vip", "value": false}, {"key": "code", "value": "007"}]}}}))
        .await;
    let csv = "uuid,attributes.seats,attributes.VIP,attributes.code,attributes.plan\n\
               u-1,4,TRUE,008,3\n";
    let (status, answer) = import_csv(&app, csv).await;
    assert_eq!(status, 200, "{answer}");
    let attributes = &app.user(&id).await["profile"]["userDetails"]["attributes"];
    assert_eq!(
        *attributes,
        json!([{"key": "Seats", "value": 4}, {"key": "vip", "value": true}, {"key": "code", "value": "008"},
               {"key": "plan", "value": "3"}])
    );
    // Text that does not read as the held type replaces it by text.
    let (status, answer) = import_csv(&app, "uuid,attributes.seats,attributes.vip\nu-1,four,yes\n").await;
    assert_eq!(status, 200, "{answer}");
    let attributes = &app.user(&id).await["profile"]["userDetails"]["attributes"];
    assert_eq!(attributes[0], json!({"key": "Seats", "value": "four"}));
    assert_eq!(attributes[1], json!({"key": "vip", "value": "yes"}));
}

#[tokio::test]
async fn a_csv_import_needs_an_admin() {
    let app = spawn_app().await;
    let answer = app
        .raw(Method::POST, "/inbox/users/import", Some(&app.agent), Some("text/csv"), Some(b"uuid\na\n".to_vec()))
        .await;
    assert_problem(answer.status, &answer.json(), 403, &[]);
}

#[tokio::test]
async fn a_csv_import_with_a_charset_is_a_csv_import() {
    let app = spawn_app().await;
    let answer = app
        .raw(
            Method::POST,
            "/inbox/users/import",
            Some(&app.admin),
            Some("text/csv; charset=utf-8"),
            Some("uuid,name\r\nc-1,Zoë\r\n".as_bytes().to_vec()),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let id = answer.json()["data"]["ids"][0].as_str().unwrap().to_string();
    assert_eq!(app.user(&id).await["profile"]["userDetails"]["name"], json!("Zoë"));
}

#[tokio::test]
async fn a_csv_of_more_than_10000_rows_is_400_and_applies_nothing() {
    let app = spawn_app().await;
    let mut csv = String::from("uuid\n");
    for i in 0..10_001 {
        csv.push_str(&format!("u{i}\n"));
    }
    let (status, answer) = import_csv(&app, &csv).await;
    assert_problem(status, &answer, 400, &[]);
    assert_eq!(app.query(json!({})).await["meta"]["total"], json!(0));
}
