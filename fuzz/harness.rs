//! What the fuzz targets run: the body parsers and the filter compilation, on arbitrary bytes.
//! Shared with `tests/fuzz_corpus.rs`, which runs every input of `fuzz/corpus/` on stable Rust,
//! so the corpus kept in the repository is replayed by every `cargo test`.
//!
//! A function here may reject its input (most inputs are not even JSON); it must never panic,
//! overflow or loop.

#![allow(dead_code)]

use inboxd::domain::{Id, Platform, Timestamp};
use inboxd::engine::{Clock, Engine};
use inboxd::fields::Problems;
use inboxd::model::{apply_input, InputKind, User, UserInput};
use inboxd::query::{parse_query, SegmentDefinition};
use serde_json::{json, Value};

fn clock() -> Clock {
    Clock { now: Timestamp::now(), window_ms: 120_000 }
}

/// A user made from an input body, as a PUT would make it.
fn user_from(body: &Value) -> Option<User> {
    let mut problems = Problems::default();
    let input = UserInput::parse(body, "", InputKind::Put, &mut problems)?;
    let mut user = User::new(Id::generate(), Timestamp::now());
    apply_input(&mut user, &input, Timestamp::now(), "").ok()?;
    Some(user)
}

/// A small engine with varied users and two segments, for filters to run against.
fn engine() -> Engine {
    let mut engine = Engine::new();
    let bodies = [
        json!({"status": "OPEN", "isSubscriber": true, "profile": {"userDetails": {"name": "José Núñez", "contact": {"email": "jose@example.com", "phone": {"prefix": "27", "number": "825551234"}}, "tags": ["vip", "Lead"], "attributes": [{"key": "plan", "value": "gold"}, {"key": "n", "value": 3}]}}}),
        json!({"status": "CLOSED", "profile": {"userDetails": {"name": "Ann", "userProvidedName": "annie", "whatsAppNumber": "+27 84 999 0000", "tags": ["vip"]}}}),
        json!({"status": "DELETED", "uuid": "web-1", "profile": {"userDetails": {"telegramUserName": "tg_user", "city": "Cape Town"}}}),
        json!({"profile": {"userDetails": {"facebookProfileId": "fb.1", "attributes": [{"key": "flag", "value": true}]}}}),
        json!({}),
    ];
    for body in &bodies {
        if let Some(user) = user_from(body) {
            engine.upsert(&user);
        }
    }
    let segments = [
        json!({"segmentName": "VIP", "conditions": [{"field": "tag", "operator": "is", "value": "vip"}]}),
        json!({"segmentName": "Gold", "match": "any", "conditions": [{"field": "attribute", "key": "plan", "operator": "contains", "value": "go"}, {"field": "tag", "operator": "notExists"}]}),
    ];
    let filters = segments
        .iter()
        .filter_map(|s| SegmentDefinition::parse(s, &|_| Some(Platform::Website)).ok())
        .map(|d| (Id::generate(), d.to_filter()))
        .collect();
    engine.set_segments(filters);
    engine
}

thread_local! {
    static ENGINE: Engine = engine();
}

fn json_of(data: &[u8]) -> Option<Value> {
    serde_json::from_slice(data).ok()
}

/// POST /inbox/users: the query parser, then the filter compiled and run (count and a page).
pub fn query(data: &[u8]) {
    let Some(body) = json_of(data) else { return };
    ENGINE.with(|engine| {
        let Ok(query) = parse_query(&body, &|id| engine.has_segment(id)) else { return };
        let clock = clock();
        let total = engine.count(&query.filter, clock);
        let page = engine.search(&query.filter, query.sort, query.page, query.limit, clock);
        let _ = (total, page);
    });
}

/// Import rows and PUT bodies: the input parser, then the input applied to a user and indexed.
pub fn user_input(data: &[u8]) {
    let Some(body) = json_of(data) else { return };
    for kind in [InputKind::Import, InputKind::Put] {
        let mut problems = Problems::default();
        if let Some(input) = UserInput::parse(&body, "", kind, &mut problems) {
            let mut user = User::new(Id::generate(), Timestamp::now());
            if apply_input(&mut user, &input, Timestamp::now(), "").is_ok() {
                let mut engine = Engine::new();
                engine.upsert(&user);
                engine.remove(user.id);
            }
        }
    }
}

/// POST /inbox/segments: the definition parser, then its filter run.
pub fn segment(data: &[u8]) {
    let Some(body) = json_of(data) else { return };
    let platform_of = |id: Id| match id.to_string().as_bytes().last() {
        Some(b'0') => None,
        Some(b'1') => Some(Platform::Whatsapp),
        _ => Some(Platform::Website),
    };
    let Ok(definition) = SegmentDefinition::parse(&body, &platform_of) else { return };
    let filter = definition.to_filter();
    ENGINE.with(|engine| {
        let _ = engine.count(&filter, clock());
    });
}

/// A CSV import body: the CSV reader, then each row through the input parser.
pub fn csv_import(data: &[u8]) {
    let Ok(rows) = inboxd::csv_format::import::parse(data) else { return };
    for row in rows {
        let mut problems = Problems::default();
        let _ = UserInput::parse(&row, "", InputKind::Import, &mut problems);
    }
}
