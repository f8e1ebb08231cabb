//! A naive, obviously-correct reading of contract section 4 over users as GET answers them:
//! the oracle the property tests compare the server's engine with.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate};
use serde_json::Value;

/// The catalog a filter may refer to: each segment's definition, each bot's platform.
pub struct Catalog {
    pub segments: HashMap<String, Value>,
    pub bot_platforms: HashMap<String, String>,
}

const BOT_FIELDS: [(&str, &str); 4] = [
    ("_botWebsite", "WEBSITE"),
    ("_botWhatsapp", "WHATSAPP"),
    ("_botTelegram", "TELEGRAM"),
    ("_botFacebook", "FACEBOOK"),
];

/// Lower-cases and strips the accents of the letters the tests use.
pub fn fold(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'ý' | 'ÿ' => 'y',
            c => c,
        })
        .collect()
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Milliseconds of an RFC 3339 timestamp.
pub fn millis(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|_| panic!("not a timestamp: {text}")).timestamp_millis()
}

/// A range bound: "" is open, a date is its UTC day's first (start) or last (end) instant.
pub fn bound(text: &str, end: bool) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let first = day.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_millis();
        return Some(if end { first + 86_400_000 - 1 } else { first });
    }
    Some(millis(text))
}

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect()).unwrap_or_default()
}

fn non_empty_list(filter: &Value, field: &str) -> Option<Vec<String>> {
    let list = strings(&filter[field]);
    (!list.is_empty()).then_some(list)
}

fn named(filter: &Value, name: &str) -> bool {
    strings(&filter["applicableFilters"]).iter().any(|n| n == name)
}

fn in_range(at: Option<i64>, range: &Value) -> Option<bool> {
    let start = bound(range["startAt"].as_str().unwrap_or(""), false);
    let end = bound(range["endsAt"].as_str().unwrap_or(""), true);
    if start.is_none() && end.is_none() {
        return None;
    }
    Some(at.is_some_and(|at| start.is_none_or(|s| at >= s) && end.is_none_or(|e| at <= e)))
}

fn details(user: &Value) -> &Value {
    &user["profile"]["userDetails"]
}

fn tags(user: &Value) -> Vec<String> {
    strings(&details(user)["tags"]).iter().map(|t| t.to_lowercase()).collect()
}

fn attribute(user: &Value, key: &str) -> Option<String> {
    details(user)["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["key"].as_str().unwrap().to_lowercase() == key.to_lowercase())
        .map(|a| match &a["value"] {
            Value::String(s) => s.to_lowercase(),
            other => other.to_string().to_lowercase(),
        })
}

fn phone_like(text: &str) -> Option<String> {
    let ok = text.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let found = digits(text);
    (ok && found.len() >= 3).then_some(found)
}

fn text_matches(user: &Value, search: &str) -> bool {
    let details = details(user);
    let fields: Vec<String> = [
        &details["name"],
        &details["userProvidedName"],
        &details["contact"]["email"],
        &details["whatsAppNumber"],
        &details["telegramUserName"],
        &details["facebookProfileId"],
    ]
    .iter()
    .filter_map(|v| text(v))
    .map(fold)
    .collect();
    let every_term = search.split_whitespace().all(|term| fields.iter().any(|f| f.contains(&fold(term))));
    if every_term {
        return true;
    }
    let Some(wanted) = phone_like(search) else { return false };
    let phone = &details["contact"]["phone"];
    let mut haystacks = Vec::new();
    if phone.is_object() {
        haystacks.push(format!("{}{}", phone["prefix"].as_str().unwrap_or(""), phone["number"].as_str().unwrap_or("")));
    }
    if let Some(whatsapp) = text(&details["whatsAppNumber"]) {
        haystacks.push(digits(whatsapp));
    }
    haystacks.iter().any(|h| h.contains(&wanted))
}

pub fn segment_matches(user: &Value, definition: &Value, catalog: &Catalog) -> bool {
    if let Some(platform) = definition["platform"].as_str() {
        if !strings(&user["platform"]).iter().any(|p| p == platform) {
            return false;
        }
    }
    if let Some(bot) = definition["botId"].as_str() {
        let platform = &catalog.bot_platforms[bot];
        let field = BOT_FIELDS.iter().find(|(_, p)| p == platform).unwrap().0;
        if user[field].as_str() != Some(bot) {
            return false;
        }
    }
    let conditions = definition["conditions"].as_array().cloned().unwrap_or_default();
    let holds = |condition: &Value| -> bool {
        let value = condition["value"].as_str().unwrap_or("").to_lowercase();
        let operator = condition["operator"].as_str().unwrap();
        if condition["field"] == "tag" {
            let tags = tags(user);
            match operator {
                "is" => tags.contains(&value),
                "isNot" => !tags.contains(&value),
                "contains" => tags.iter().any(|t| t.contains(&value)),
                "exists" => !tags.is_empty(),
                _ => tags.is_empty(),
            }
        } else {
            let found = attribute(user, condition["key"].as_str().unwrap());
            match operator {
                "is" => found.as_deref() == Some(value.as_str()),
                "isNot" => found.as_deref() != Some(value.as_str()),
                "contains" => found.is_some_and(|f| f.contains(&value)),
                "exists" => found.is_some(),
                _ => found.is_none(),
            }
        }
    };
    if definition["match"] == "any" {
        conditions.is_empty() || conditions.iter().any(holds)
    } else {
        conditions.iter().all(holds)
    }
}

/// Whether `user` matches the query body `filter` (assumed valid).
pub fn matches(user: &Value, filter: &Value, catalog: &Catalog) -> bool {
    let status = user["status"].as_str().unwrap().to_string();
    match non_empty_list(filter, "status") {
        Some(list) => {
            if !list.contains(&status) {
                return false;
            }
        }
        None => {
            if status == "DELETED" {
                return false;
            }
        }
    }
    if let Some(search) = filter["searchText"].as_str() {
        let search = search.trim();
        if !search.is_empty() && !text_matches(user, search) {
            return false;
        }
    }
    if let Some(wanted) = non_empty_list(filter, "tags") {
        let tags = tags(user);
        if !wanted.iter().any(|w| tags.contains(&w.to_lowercase())) {
            return false;
        }
    }
    let bot_lists: Vec<(&str, Vec<String>)> = BOT_FIELDS.iter().map(|(f, _)| (*f, strings(&filter[*f]))).collect();
    if bot_lists.iter().any(|(_, l)| !l.is_empty()) {
        let any =
            bot_lists.iter().any(|(field, list)| user[*field].as_str().is_some_and(|b| list.iter().any(|l| l == b)));
        if !any {
            return false;
        }
    }
    if let Some(agents) = non_empty_list(filter, "_agentAssigned") {
        let ok = match user["_agentAssigned"].as_str() {
            Some(agent) => agents.iter().any(|a| a == agent),
            None => agents.iter().any(|a| a == "UNASSIGNED"),
        };
        if !ok {
            return false;
        }
    }
    if let Some(segments) = non_empty_list(filter, "segments") {
        if !segments.iter().any(|s| segment_matches(user, &catalog.segments[s], catalog)) {
            return false;
        }
    }
    if let Some(senders) = non_empty_list(filter, "lastMessageBy") {
        let by = user["lastMessage"]["by"].as_str();
        if !by.is_some_and(|b| senders.iter().any(|s| s == b)) {
            return false;
        }
    }
    for (field, at) in
        [("lastSeenAt", user["lastSeenAt"].as_str().map(millis)), ("createdAt", user["createdAt"].as_str().map(millis))]
    {
        if filter[field].is_object() && in_range(at, &filter[field]) == Some(false) {
            return false;
        }
    }
    for field in ["isOnline", "userInteracted", "isLiveChatActive", "isSubscriber"] {
        if named(filter, field) && user[field] != filter[field] {
            return false;
        }
    }
    if named(filter, "hasOrdered") {
        let wanted = filter["hasOrdered"]["status"].as_bool().unwrap();
        let since = bound(filter["hasOrdered"]["lastAt"].as_str().unwrap_or(""), false);
        let count = user["hasOrdered"]["count"].as_u64().unwrap();
        let last = user["hasOrdered"]["lastAt"].as_str().map(millis);
        let ordered = count > 0 && since.is_none_or(|s| last.is_some_and(|l| l >= s));
        if ordered != wanted {
            return false;
        }
    }
    if filter["isContact"] == Value::Bool(true) && user["isContact"] != Value::Bool(true) {
        return false;
    }
    true
}

/// The sort value of a user: None when it lacks one.
#[derive(PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Key {
    Time(i64),
    Name(String),
}

fn sort_key(user: &Value, by: &str) -> Option<Key> {
    let time = |v: &Value| v.as_str().map(|t| Key::Time(millis(t)));
    match by {
        "lastSeenAt" => time(&user["lastSeenAt"]),
        "createdAt" => time(&user["createdAt"]),
        "updatedAt" => time(&user["updatedAt"]),
        "lastMessageAt" => time(&user["lastMessage"]["at"]),
        _ => {
            let details = details(user);
            let name = details["name"].as_str().filter(|n| !n.is_empty());
            let display = name.or(details["userProvidedName"].as_str().filter(|n| !n.is_empty()));
            display.map(|d| Key::Name(fold(d)))
        }
    }
}

/// The `_id`s of the matching users, in the query's sort order.
pub fn query(users: &[Value], filter: &Value, catalog: &Catalog) -> Vec<String> {
    let default_by = if filter["isContact"] == Value::Bool(true) { "createdAt" } else { "lastSeenAt" };
    let by = filter["sort"]["by"].as_str().unwrap_or(default_by);
    let descending = filter["sort"]["order"].as_str().unwrap_or("desc") == "desc";
    let mut found: Vec<(Option<Key>, String)> = users
        .iter()
        .filter(|u| matches(u, filter, catalog))
        .map(|u| (sort_key(u, by), u["_id"].as_str().unwrap().to_string()))
        .collect();
    found.sort_by(|(a, a_id), (b, b_id)| {
        let by_value = match (a, b) {
            (Some(a), Some(b)) => {
                if descending {
                    b.cmp(a)
                } else {
                    a.cmp(b)
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        by_value.then_with(|| b_id.cmp(a_id))
    });
    found.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_folds_and_bounds_as_the_contract_says() {
        assert_eq!(fold("José ÁLVAREZ"), "jose alvarez");
        assert_eq!(bound("2025-03-01", false), Some(millis("2025-03-01T00:00:00.000Z")));
        assert_eq!(bound("2025-03-01", true), Some(millis("2025-03-01T23:59:59.999Z")));
        assert_eq!(phone_like("+27 82-555").as_deref(), Some("2782555"));
        assert_eq!(phone_like("82"), None);
        assert_eq!(phone_like("ana 825"), None);
        let user = json!({"profile": {"userDetails": {"name": "José", "contact": {"email": null, "phone": {"prefix": "27", "number": "825551234"}}}}});
        assert!(text_matches(&user, "jose"));
        assert!(text_matches(&user, "+27 82-555"));
        assert!(!text_matches(&user, "jose maria"));
    }
}
