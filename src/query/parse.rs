//! Reads the POST /inbox/users body into a `Query`, applying every rule of contract section 4.

use serde_json::{Map, Value};

use super::filter::{Filter, Order, Range, Sort, SortKey, TextSearch};
use crate::domain::text::fold;
use crate::domain::{phone_digits, DayEdge, Id, Platform, Status, Timestamp};
use crate::fields::{
    index, join, read_array, read_id, read_sender, read_status, read_string, read_text, type_name, Problems,
};
use crate::limits::{MAX_FILTER_ITEMS, MAX_PAGE_SIZE, MAX_SEARCH_TEXT};

/// A parsed query: what to match, how to order it, which page to answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub filter: Filter,
    pub sort: Sort,
    pub page: u64,
    pub limit: u64,
    pub export: bool,
}

/// Filters that apply only when named in applicableFilters.
const CONDITIONAL: [&str; 5] = ["isOnline", "userInteracted", "isLiveChatActive", "isSubscriber", "hasOrdered"];

/// Filter fields that applicableFilters may name with no effect of their own.
const NAMEABLE: [&str; 13] = [
    "lastSeenAt",
    "createdAt",
    "searchText",
    "tags",
    "status",
    "_botWebsite",
    "_botWhatsapp",
    "_botTelegram",
    "_botFacebook",
    "_agentAssigned",
    "segments",
    "lastMessageBy",
    "isContact",
];

/// Fields existing clients send that inboxd does not model: fine when empty.
const NOT_SUPPORTED: [&str; 5] = ["_botAutomation", "_botInstagram", "ctwaNewUsers", "ctwaOldUsers", "tagsV2"];

const KNOWN: [&str; 8] = ["applicableFilters", "page", "limit", "sort", "isExport", "searchText", "tags", "status"];

/// Empty values mean "do not filter on this" for clients that send every field.
fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

/// A field given with a value (not null, not "").
fn given<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| !v.is_null() && *v != &Value::String(String::new()))
}

/// Parses the body. `segment_exists` tells whether a segment id names a segment of the workspace.
pub fn parse_query(body: &Value, segment_exists: &dyn Fn(Id) -> bool) -> Result<Query, Problems> {
    let mut problems = Problems::default();
    let Value::Object(body) = body else {
        problems.add("", format!("must be a JSON object, not {}", type_name(body)));
        return Err(problems);
    };
    for key in body.keys() {
        let known = KNOWN.contains(&key.as_str())
            || CONDITIONAL.contains(&key.as_str())
            || NAMEABLE.contains(&key.as_str())
            || NOT_SUPPORTED.contains(&key.as_str());
        if !known {
            problems.add(key, "unknown field");
        }
    }
    for key in NOT_SUPPORTED {
        if body.get(key).is_some_and(|v| !is_empty_value(v)) {
            problems.add(key, "not supported: send it empty, false or null");
        }
    }
    let applicable = read_applicable(body, &mut problems);
    let mut conditions = Vec::new();

    if let Some(text) =
        given(body, "searchText").and_then(|v| read_text(MAX_SEARCH_TEXT)(v, "searchText", &mut problems))
    {
        if let Some(search) = text_search(&text) {
            conditions.push(Filter::Text(search));
        }
    }
    if let Some(tags) = list(body, "tags", &mut problems, read_string) {
        conditions.push(Filter::TagIn(tags.iter().map(|t| t.trim().to_lowercase()).collect()));
    }
    match list(body, "status", &mut problems, read_status) {
        // A status list leaves DELETED users out unless it names DELETED: no exclusion to add.
        Some(statuses) => conditions.push(Filter::StatusIn(statuses)),
        None => conditions.push(Filter::negate(Filter::StatusIn(vec![Status::deleted()]))),
    }
    let mut bots = Vec::new();
    for platform in Platform::ALL {
        if let Some(ids) = list(body, platform.bot_field(), &mut problems, read_id) {
            bots.extend(ids.into_iter().map(|id| (platform, id)));
        }
    }
    if !bots.is_empty() {
        conditions.push(Filter::BotIn(bots));
    }
    if let Some(agents) = list(body, "_agentAssigned", &mut problems, read_agent) {
        let unassigned = agents.contains(&None);
        conditions.push(Filter::AgentIn { agents: agents.into_iter().flatten().collect(), unassigned });
    }
    if let Some(segments) = list(body, "segments", &mut problems, read_id) {
        for (i, id) in segments.iter().enumerate() {
            if !segment_exists(*id) {
                problems.add(&index("segments", i), format!("{id} names no segment of this workspace"));
            }
        }
        conditions.push(Filter::Or(segments.into_iter().map(Filter::Segment).collect()));
    }
    if let Some(senders) = list(body, "lastMessageBy", &mut problems, read_sender) {
        conditions.push(Filter::LastMessageBy(senders));
    }
    if let Some(range) = read_range(body, "lastSeenAt", &mut problems) {
        conditions.push(Filter::LastSeen(range));
    }
    if let Some(range) = read_range(body, "createdAt", &mut problems) {
        conditions.push(Filter::Created(range));
    }
    for (key, filter) in [
        ("isOnline", Filter::Online),
        ("userInteracted", Filter::Interacted),
        ("isLiveChatActive", Filter::LiveChat),
        ("isSubscriber", Filter::Subscriber),
    ] {
        let value = optional_bool(body, key, &mut problems);
        if let (Some(value), true) = (value, applicable.contains(&key)) {
            conditions.push(Filter::is(filter, value));
        }
    }
    let ordered = read_has_ordered(body, &mut problems);
    if let (Some((status, since)), true) = (ordered, applicable.contains(&"hasOrdered")) {
        conditions.push(Filter::is(Filter::Ordered { since }, status));
    }
    let is_contact = optional_bool(body, "isContact", &mut problems) == Some(true);
    if is_contact {
        conditions.push(Filter::Contact);
    }
    for name in &applicable {
        if given(body, name).is_none() {
            problems.add("applicableFilters", format!("names {name:?} but the body has no {name} field"));
        }
    }

    let page = read_bounded(body, "page", 1, i64::MAX, 1, &mut problems);
    let limit = read_bounded(body, "limit", 1, MAX_PAGE_SIZE, 20, &mut problems);
    let sort = read_sort(body, is_contact, &mut problems);
    let export = read_export(body, &mut problems);
    let filter = if conditions.len() == 1 { conditions.remove(0) } else { Filter::And(conditions) };
    problems.into_result(Query { filter, sort, page: page as u64, limit: limit as u64, export })
}

/// The terms of a search, and its digits when the whole text looks like a phone number.
pub fn text_search(text: &str) -> Option<TextSearch> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let terms = text.split_whitespace().map(fold).collect();
    let phone_digits = phone_digits(text).filter(|d| d.len() >= 3);
    Some(TextSearch { terms, phone_digits })
}

fn read_applicable(body: &Map<String, Value>, problems: &mut Problems) -> Vec<&'static str> {
    let Some(value) = given(body, "applicableFilters") else { return Vec::new() };
    let names = read_array(value, "applicableFilters", MAX_FILTER_ITEMS, problems, read_string).unwrap_or_default();
    let mut applicable = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let known = CONDITIONAL.iter().chain(NAMEABLE.iter()).find(|n| **n == name.as_str());
        match known {
            Some(known) => applicable.push(*known),
            None => problems.add(
                &index("applicableFilters", i),
                format!("{name:?} is not a filter name; allowed: {}, {}", CONDITIONAL.join(", "), NAMEABLE.join(", ")),
            ),
        }
    }
    applicable
}

/// A non-empty list field; empty, null or missing means "do not filter".
fn list<T>(
    body: &Map<String, Value>,
    key: &str,
    problems: &mut Problems,
    read: impl FnMut(&Value, &str, &mut Problems) -> Option<T>,
) -> Option<Vec<T>> {
    let value = given(body, key)?;
    read_array(value, key, MAX_FILTER_ITEMS, problems, read).filter(|items| !items.is_empty())
}

/// An agent id, or None for "UNASSIGNED".
fn read_agent(value: &Value, path: &str, problems: &mut Problems) -> Option<Option<Id>> {
    if value.as_str() == Some("UNASSIGNED") {
        return Some(None);
    }
    let id = value.as_str().and_then(Id::parse);
    if id.is_none() {
        problems.add(path, format!("{value} is not an agent id (24 lowercase hex characters) or \"UNASSIGNED\""));
    }
    id.map(Some)
}

fn optional_bool(body: &Map<String, Value>, key: &str, problems: &mut Problems) -> Option<bool> {
    match given(body, key)? {
        Value::Bool(b) => Some(*b),
        other => {
            problems.add(key, format!("must be a boolean, not {}", type_name(other)));
            None
        }
    }
}

/// One bound: "" is open, else an RFC 3339 timestamp or a YYYY-MM-DD date.
fn read_bound(value: Option<&Value>, path: &str, edge: DayEdge, problems: &mut Problems) -> Option<Timestamp> {
    match value? {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => {
            let bound = Timestamp::parse_bound(s, edge);
            if bound.is_none() {
                problems.add(path, format!("{s:?} is not an RFC 3339 timestamp or a YYYY-MM-DD date"));
            }
            bound
        }
        other => {
            problems.add(path, format!("must be a string, not {}", type_name(other)));
            None
        }
    }
}

/// A range applies when either bound is set.
fn read_range(body: &Map<String, Value>, key: &str, problems: &mut Problems) -> Option<Range> {
    let value = given(body, key)?;
    let Value::Object(range) = value else {
        problems.add(key, format!("must be an object with startAt and endsAt, not {}", type_name(value)));
        return None;
    };
    for other in range.keys().filter(|k| *k != "startAt" && *k != "endsAt") {
        problems.add(&join(key, other), "unknown field; allowed: startAt, endsAt");
    }
    let start = read_bound(range.get("startAt"), &join(key, "startAt"), DayEdge::Start, problems);
    let end = read_bound(range.get("endsAt"), &join(key, "endsAt"), DayEdge::End, problems);
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            problems.add(&join(key, "startAt"), format!("{s} is later than endsAt {e}"));
            return None;
        }
    }
    (start.is_some() || end.is_some()).then_some(Range { start, end })
}

/// hasOrdered: `{status, lastAt}`; returns (status, lastAt).
fn read_has_ordered(body: &Map<String, Value>, problems: &mut Problems) -> Option<(bool, Option<Timestamp>)> {
    let value = given(body, "hasOrdered")?;
    let Value::Object(fields) = value else {
        problems.add("hasOrdered", format!("must be an object with status and lastAt, not {}", type_name(value)));
        return None;
    };
    for other in fields.keys().filter(|k| *k != "status" && *k != "lastAt") {
        problems.add(&join("hasOrdered", other), "unknown field; allowed: status, lastAt");
    }
    let since = read_bound(fields.get("lastAt"), "hasOrdered.lastAt", DayEdge::Start, problems);
    match fields.get("status") {
        Some(Value::Bool(status)) => Some((*status, since)),
        Some(other) => {
            problems.add("hasOrdered.status", format!("must be a boolean, not {}", type_name(other)));
            None
        }
        None => {
            problems.add("hasOrdered.status", "is required");
            None
        }
    }
}

fn read_bounded(
    body: &Map<String, Value>,
    key: &str,
    min: i64,
    max: i64,
    default: i64,
    problems: &mut Problems,
) -> i64 {
    let Some(value) = body.get(key).filter(|v| !v.is_null()) else { return default };
    match value.as_i64() {
        Some(n) if (min..=max).contains(&n) => n,
        Some(n) => {
            problems.add(key, format!("{n} is out of range; allowed: {min} to {max}"));
            default
        }
        None => {
            problems.add(key, format!("must be an integer from {min} to {max}, not {value}"));
            default
        }
    }
}

fn read_sort(body: &Map<String, Value>, is_contact: bool, problems: &mut Problems) -> Sort {
    let default_by = if is_contact { SortKey::CreatedAt } else { SortKey::LastSeenAt };
    let mut sort = Sort { by: default_by, order: Order::Desc };
    let Some(value) = given(body, "sort") else { return sort };
    let Value::Object(fields) = value else {
        problems.add("sort", format!("must be an object with by and order, not {}", type_name(value)));
        return sort;
    };
    for other in fields.keys().filter(|k| *k != "by" && *k != "order") {
        problems.add(&join("sort", other), "unknown field; allowed: by, order");
    }
    match fields.get("by") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() => {}
        Some(Value::String(s)) => match SortKey::parse(s) {
            Some(by) => sort.by = by,
            None => problems.add("sort.by", format!("{s:?} is not sortable; allowed: {}", SortKey::ALLOWED)),
        },
        Some(other) => problems.add("sort.by", format!("must be a string, not {}", type_name(other))),
    }
    match fields.get("order") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() || s == "desc" => {}
        Some(Value::String(s)) if s == "asc" => sort.order = Order::Asc,
        Some(other) => problems.add("sort.order", format!("{other} is not allowed; allowed: asc, desc")),
    }
    sort
}

fn read_export(body: &Map<String, Value>, problems: &mut Problems) -> bool {
    match given(body, "isExport") {
        None => false,
        Some(Value::String(s)) if s == "none" => false,
        Some(Value::String(s)) if s == "csv" => true,
        Some(other) => {
            problems.add("isExport", format!("{other} is not allowed; allowed: \"none\", \"csv\""));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<Query, Problems> {
        parse_query(&body, &|_| true)
    }

    #[test]
    fn an_empty_body_hides_deleted_users_and_sorts_by_last_seen() {
        let query = parse(json!({})).unwrap();
        assert_eq!(query.filter, Filter::negate(Filter::StatusIn(vec![Status::deleted()])));
        assert_eq!(query.sort, Sort { by: SortKey::LastSeenAt, order: Order::Desc });
        assert_eq!((query.page, query.limit), (1, 20));
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let problems =
            parse(json!({"tags": "vip", "limit": 501, "bogus": 1, "createdAt": {"startAt": "yesterday"}})).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn conditional_filters_apply_only_when_named() {
        let unnamed = parse(json!({"isOnline": true})).unwrap();
        let named = parse(json!({"isOnline": true, "applicableFilters": ["isOnline"]})).unwrap();
        assert_ne!(unnamed.filter, named.filter);
        assert!(parse(json!({"applicableFilters": ["isOnline"]})).is_err());
    }

    #[test]
    fn phone_like_text_searches_digits() {
        let search = text_search("+27 82-555").unwrap();
        assert_eq!(search.phone_digits.as_deref(), Some("2782555"));
        assert_eq!(text_search("José").unwrap().terms, vec!["jose"]);
    }
}
