//! The OpenAPI document at GET /openapi.json: OpenAPI 3.1, and it documents every route of the
//! router (found in the router's source, `.route("PATH", get(..).post(..))`), and nothing else.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

/// Routes of the browser UI (src/api/ui.rs): pages and assets, not part of the JSON API.
const UI_SOURCE: &str = "ui.rs";

/// Every (METHOD, path) that a `.route(...)` call of src/api registers.
fn router_routes() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/api");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("src/api") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") || path.file_name().unwrap() == UI_SOURCE {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for call in source.split(".route(\"").skip(1) {
            let (route, rest) = call.split_once('"').unwrap();
            // The method router: up to the parenthesis that closes `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap_or_else(|| panic!("unclosed .route(\"{route}\" in {}", path.display()));
            let methods = &rest[..end];
            let mut found = false;
            for method in ["get", "post", "put", "delete", "patch"] {
                let called = methods.match_indices(&format!("{method}(")).any(|(i, _)| {
                    let before = methods[..i].chars().last();
                    before.is_none_or(|c| !c.is_alphanumeric() && c != '_')
                });
                if called {
                    routes.insert((method.to_uppercase(), route.to_string()));
                    found = true;
                }
            }
            assert!(found, "no method found for the route {route} in {}", path.display());
        }
    }
    routes
}

fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_lists_every_route() {
    let app = spawn_app().await;
    let answer = app.raw(Method::GET, "/openapi.json", None, None, None).await;
    assert_eq!(answer.status, 200, "served without a token");
    let document = answer.json();
    assert_eq!(document["openapi"], json!("3.1.0"));
    assert_eq!(document, serde_json::to_value(inboxd::api::openapi::document()).unwrap());

    let routes = router_routes();
    assert!(routes.len() >= 20, "the route scan finds the router's routes: {routes:?}");
    let operations = documented(&document);
    let missing: Vec<_> = routes.difference(&operations).collect();
    assert!(missing.is_empty(), "routes missing from /openapi.json: {missing:?}");
    let extra: Vec<_> = operations.difference(&routes).collect();
    assert!(extra.is_empty(), "documented operations the router does not have: {extra:?}");

    // Every operation that needs a token says so, and documents the error envelope.
    for (method, path) in &operations {
        let operation = &document["paths"][path][method.to_lowercase()];
        let public = inboxd::api::openapi::PUBLIC_PATHS.contains(&path.as_str());
        assert_eq!(operation.get("security").is_some(), !public, "{method} {path}: security");
        assert!(operation["responses"]["200"].is_object(), "{method} {path}: a 200 answer");
        if !public {
            for status in ["400", "401", "403", "404", "413", "415", "429", "500", "503"] {
                assert!(operation["responses"][status].is_object(), "{method} {path}: no {status}");
            }
        }
    }
}

/// Every documented operation is served: not the router's "no such endpoint" nor a 405.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn_app().await;
    let document = app.raw(Method::GET, "/openapi.json", None, None, None).await.json();
    for (method, path) in documented(&document) {
        let path = path.replace("{id}", NO_SUCH_ID);
        let body = (method != "GET" && method != "DELETE").then(|| b"{}".to_vec());
        let content_type = body.as_ref().map(|_| "application/json");
        let answer = app.raw(method.parse().unwrap(), &path, Some(&app.admin), content_type, body).await;
        assert_ne!(answer.status, 405, "{method} {path} is not routed");
        assert_ne!(answer.json()["data"], json!(["no such endpoint"]), "{method} {path} is not routed");
    }
}
