//! Filters compiled against one workspace's engine (strings to interned ids, segments expanded),
//! and their evaluation on one row (the scan oracle the index engine is tested against).

use std::collections::HashMap;

use super::interner::Interner;
#[cfg(test)]
use super::row::Row;
use super::row::{CONTACT, INTERACTED, LIVE_CHAT, SUBSCRIBER};
use crate::domain::{Id, Platform, Sender, Timestamp};
use crate::query::{Filter, Range, TextSearch};

pub enum Compiled {
    Const(bool),
    And(Vec<Compiled>),
    Or(Vec<Compiled>),
    Not(Box<Compiled>),
    Text(TextSearch),
    TagIn(Vec<u32>),
    StatusIn(Vec<u32>),
    HasAnyTag,
    BotIn(Vec<(Platform, Id)>),
    HasPlatform(Platform),
    AgentIn { agents: Vec<Id>, unassigned: bool },
    LastMessageBy(Vec<Sender>),
    LastSeen(Range),
    Created(Range),
    Online { now: i64, window_ms: i64 },
    Flag(u8),
    Ordered { since: Option<Timestamp> },
    AttributeIs { key: u32, value: String },
    AttributeContains { key: u32, value: String },
    AttributeExists(u32),
}

pub struct Context<'a> {
    pub tags: &'a Interner,
    pub statuses: &'a Interner,
    pub keys: &'a Interner,
    pub segments: &'a HashMap<Id, Filter>,
    pub now: Timestamp,
    pub window_ms: i64,
}

fn interned(interner: &Interner, names: impl Iterator<Item = impl AsRef<str>>) -> Compiled {
    let ids: Vec<u32> = names.filter_map(|n| interner.get(n.as_ref())).collect();
    if ids.is_empty() {
        Compiled::Const(false)
    } else {
        Compiled::TagIn(ids)
    }
}

pub fn compile(filter: &Filter, cx: &Context) -> Compiled {
    match filter {
        Filter::All => Compiled::Const(true),
        Filter::And(parts) => Compiled::And(parts.iter().map(|p| compile(p, cx)).collect()),
        Filter::Or(parts) => Compiled::Or(parts.iter().map(|p| compile(p, cx)).collect()),
        Filter::Not(inner) => Compiled::Not(Box::new(compile(inner, cx))),
        Filter::Text(search) => Compiled::Text(search.clone()),
        Filter::TagIn(tags) => interned(cx.tags, tags.iter()),
        Filter::TagContains(part) => Compiled::TagIn(cx.tags.containing(part)),
        Filter::HasAnyTag => Compiled::HasAnyTag,
        Filter::StatusIn(statuses) => match interned(cx.statuses, statuses.iter().map(|s| s.as_str())) {
            Compiled::TagIn(ids) => Compiled::StatusIn(ids),
            other => other,
        },
        Filter::BotIn(bots) => Compiled::BotIn(bots.clone()),
        Filter::HasPlatform(platform) => Compiled::HasPlatform(*platform),
        Filter::AgentIn { agents, unassigned } => Compiled::AgentIn { agents: agents.clone(), unassigned: *unassigned },
        Filter::Segment(id) => match cx.segments.get(id) {
            Some(definition) => compile(definition, cx),
            None => Compiled::Const(false),
        },
        Filter::LastMessageBy(senders) => Compiled::LastMessageBy(senders.clone()),
        Filter::LastSeen(range) => Compiled::LastSeen(*range),
        Filter::Created(range) => Compiled::Created(*range),
        Filter::Online => Compiled::Online { now: cx.now.0, window_ms: cx.window_ms },
        Filter::Interacted => Compiled::Flag(INTERACTED),
        Filter::LiveChat => Compiled::Flag(LIVE_CHAT),
        Filter::Subscriber => Compiled::Flag(SUBSCRIBER),
        Filter::Contact => Compiled::Flag(CONTACT),
        Filter::Ordered { since } => Compiled::Ordered { since: *since },
        Filter::AttributeIs { key, value } => match cx.keys.get(key) {
            Some(key) => Compiled::AttributeIs { key, value: value.clone() },
            None => Compiled::Const(false),
        },
        Filter::AttributeContains { key, value } => match cx.keys.get(key) {
            Some(key) => Compiled::AttributeContains { key, value: value.clone() },
            None => Compiled::Const(false),
        },
        Filter::AttributeExists(key) => match cx.keys.get(key) {
            Some(key) => Compiled::AttributeExists(key),
            None => Compiled::Const(false),
        },
    }
}

#[cfg(test)]
fn in_range(range: &Range, at: Option<i64>) -> bool {
    at.is_some_and(|at| range.contains(Timestamp(at)))
}

#[cfg(test)]
fn text_matches(search: &TextSearch, row: &Row) -> bool {
    let terms_match = search.terms.iter().all(|term| row.search_text.contains(term.as_str()));
    terms_match || search.phone_digits.as_deref().is_some_and(|digits| row.phone_digits.contains(digits))
}

#[cfg(test)]
fn attribute(row: &Row, key: u32) -> Option<&str> {
    row.attributes.iter().find(|(k, _)| *k == key).map(|(_, v)| &**v)
}

#[cfg(test)]
impl Compiled {
    pub fn matches(&self, row: &Row) -> bool {
        match self {
            Compiled::Const(value) => *value,
            Compiled::And(parts) => parts.iter().all(|p| p.matches(row)),
            Compiled::Or(parts) => parts.iter().any(|p| p.matches(row)),
            Compiled::Not(inner) => !inner.matches(row),
            Compiled::Text(search) => text_matches(search, row),
            Compiled::TagIn(tags) => row.tags.iter().any(|t| tags.contains(t)),
            Compiled::StatusIn(statuses) => statuses.contains(&row.status),
            Compiled::HasAnyTag => !row.tags.is_empty(),
            Compiled::BotIn(bots) => bots.iter().any(|(platform, id)| row.bots[platform.index()] == Some(*id)),
            Compiled::HasPlatform(platform) => row.bots[platform.index()].is_some(),
            Compiled::AgentIn { agents, unassigned } => match row.agent {
                Some(agent) => agents.contains(&agent),
                None => *unassigned,
            },
            Compiled::LastMessageBy(senders) => row.last_message_by.is_some_and(|by| senders.contains(&by)),
            Compiled::LastSeen(range) => in_range(range, row.last_seen_at),
            Compiled::Created(range) => in_range(range, Some(row.created_at)),
            Compiled::Online { now, window_ms } => row.presence.is_some_and(|p| p.online && now - p.at.0 < *window_ms),
            Compiled::Flag(flag) => row.has(*flag),
            Compiled::Ordered { since } => {
                row.order_count > 0 && since.is_none_or(|s| row.last_order_at.is_some_and(|at| at >= s.0))
            }
            Compiled::AttributeIs { key, value } => attribute(row, *key) == Some(value.as_str()),
            Compiled::AttributeContains { key, value } => {
                attribute(row, *key).is_some_and(|v| v.contains(value.as_str()))
            }
            Compiled::AttributeExists(key) => attribute(row, *key).is_some(),
        }
    }
}
