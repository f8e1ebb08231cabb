//! Filters compiled against one workspace's engine (strings to interned ids, segments expanded),
//! and their evaluation on one row (the scan oracle the index engine is tested against).

use std::collections::HashMap;

use super::interner::{Interner, Names};
#[cfg(test)]
use super::row::{Row, Texts};
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
    /// Bot numbers by platform.
    BotIn(Vec<(Platform, u32)>),
    HasPlatform(Platform),
    /// Agent numbers.
    AgentIn {
        agents: Vec<u32>,
        unassigned: bool,
    },
    LastMessageBy(Vec<Sender>),
    LastSeen(Range),
    Created(Range),
    Online {
        now: i64,
        window_ms: i64,
    },
    Flag(u8),
    Ordered {
        since: Option<Timestamp>,
    },
    AttributeIs {
        key: u32,
        value: u32,
    },
    AttributeContains {
        key: u32,
        value: String,
    },
    AttributeExists(u32),
}

pub struct Context<'a> {
    pub names: &'a Names,
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

/// The compiled parts of an `And` (or an `Or`), those of the same kind spliced in: a segment's
/// `And` inside the query's becomes one `And` that orders all conditions by cost together.
fn flattened(parts: &[Filter], cx: &Context, and: bool) -> Vec<Compiled> {
    let mut flat = Vec::with_capacity(parts.len());
    for part in parts {
        match (compile(part, cx), and) {
            (Compiled::And(inner), true) | (Compiled::Or(inner), false) => flat.extend(inner),
            (other, _) => flat.push(other),
        }
    }
    flat
}

/// One part stands for itself (so a one-segment list's `And` joins the query's).
fn single_or(mut parts: Vec<Compiled>, combine: fn(Vec<Compiled>) -> Compiled) -> Compiled {
    if parts.len() == 1 {
        if let Some(part) = parts.pop() {
            return part;
        }
    }
    combine(parts)
}

pub fn compile(filter: &Filter, cx: &Context) -> Compiled {
    match filter {
        Filter::All => Compiled::Const(true),
        Filter::And(parts) => single_or(flattened(parts, cx, true), Compiled::And),
        Filter::Or(parts) => single_or(flattened(parts, cx, false), Compiled::Or),
        Filter::Not(inner) => Compiled::Not(Box::new(compile(inner, cx))),
        Filter::Text(search) => Compiled::Text(search.clone()),
        Filter::TagIn(tags) => interned(&cx.names.tags, tags.iter()),
        Filter::TagContains(part) => Compiled::TagIn(cx.names.tags.containing(part)),
        Filter::HasAnyTag => Compiled::HasAnyTag,
        Filter::StatusIn(statuses) => match interned(&cx.names.statuses, statuses.iter().map(|s| s.as_str())) {
            Compiled::TagIn(ids) => Compiled::StatusIn(ids),
            other => other,
        },
        Filter::BotIn(bots) => Compiled::BotIn(
            bots.iter().filter_map(|(platform, id)| cx.names.people.get(*id).map(|bot| (*platform, bot))).collect(),
        ),
        Filter::HasPlatform(platform) => Compiled::HasPlatform(*platform),
        Filter::AgentIn { agents, unassigned } => Compiled::AgentIn {
            agents: agents.iter().filter_map(|id| cx.names.people.get(*id)).collect(),
            unassigned: *unassigned,
        },
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
        Filter::AttributeIs { key, value } => match (cx.names.keys.get(key), cx.names.values.get(value)) {
            (Some(key), Some(value)) => Compiled::AttributeIs { key, value },
            _ => Compiled::Const(false),
        },
        Filter::AttributeContains { key, value } => match cx.names.keys.get(key) {
            Some(key) => Compiled::AttributeContains { key, value: value.clone() },
            None => Compiled::Const(false),
        },
        Filter::AttributeExists(key) => match cx.names.keys.get(key) {
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
fn text_matches(search: &TextSearch, texts: &Texts) -> bool {
    let terms_match = search.terms.iter().all(|term| texts.search.contains(term.as_str()));
    terms_match || search.phone_digits.as_deref().is_some_and(|digits| texts.phone.contains(digits))
}

#[cfg(test)]
fn attribute<'a>(row: &Row, key: u32, values: &'a Interner) -> Option<&'a str> {
    row.attributes.iter().find(|(k, _)| *k == key).map(|(_, v)| values.name(*v))
}

#[cfg(test)]
impl Compiled {
    /// Whether the user of this row and texts matches; `values` names the attribute value numbers.
    pub fn matches(&self, row: &Row, texts: &Texts, values: &Interner) -> bool {
        let matches = |filter: &Compiled| filter.matches(row, texts, values);
        match self {
            Compiled::Const(value) => *value,
            Compiled::And(parts) => parts.iter().all(matches),
            Compiled::Or(parts) => parts.iter().any(matches),
            Compiled::Not(inner) => !matches(inner),
            Compiled::Text(search) => text_matches(search, texts),
            Compiled::TagIn(tags) => row.tags.iter().any(|t| tags.contains(t)),
            Compiled::StatusIn(statuses) => statuses.contains(&row.status),
            Compiled::HasAnyTag => !row.tags.is_empty(),
            Compiled::BotIn(bots) => bots.iter().any(|(platform, bot)| row.bots[platform.index()] == *bot),
            Compiled::HasPlatform(platform) => row.bots[platform.index()] != 0,
            Compiled::AgentIn { agents, unassigned } => match row.agent {
                0 => *unassigned,
                agent => agents.contains(&agent),
            },
            Compiled::LastMessageBy(senders) => row.last_message_by.is_some_and(|by| senders.contains(&by)),
            Compiled::LastSeen(range) => in_range(range, row.last_seen_at()),
            Compiled::Created(range) => in_range(range, Some(row.created_at)),
            Compiled::Online { now, window_ms } => row.online_at().is_some_and(|at| now - at < *window_ms),
            Compiled::Flag(flag) => row.has(*flag),
            Compiled::Ordered { since } => {
                row.order_count > 0 && since.is_none_or(|s| row.last_order_at().is_some_and(|at| at >= s.0))
            }
            Compiled::AttributeIs { key, value } => row.attributes.contains(&(*key, *value)),
            Compiled::AttributeContains { key, value } => {
                attribute(row, *key, values).is_some_and(|v| v.contains(value.as_str()))
            }
            Compiled::AttributeExists(key) => attribute(row, *key, values).is_some(),
        }
    }
}
