//! The filter: a plain tree of conditions, built once from a request and evaluated by the engine.

use crate::domain::{Id, Platform, Sender, Status, Timestamp};

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// Every user.
    All,
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// Every term occurs in a searchable field, or the phone digits occur in the user's phone digits.
    Text(TextSearch),
    /// Has any of these tags (lower-cased).
    TagIn(Vec<String>),
    /// Some tag contains this text (lower-cased).
    TagContains(String),
    HasAnyTag,
    StatusIn(Vec<Status>),
    /// Has any of these bots on its channel.
    BotIn(Vec<(Platform, Id)>),
    HasPlatform(Platform),
    AgentIn {
        agents: Vec<Id>,
        unassigned: bool,
    },
    /// Matches the segment's definition, looked up at evaluation time.
    Segment(Id),
    LastMessageBy(Vec<Sender>),
    LastSeen(Range),
    Created(Range),
    Online,
    Interacted,
    LiveChat,
    Subscriber,
    Contact,
    /// Has an order, at or after `since` when given.
    Ordered {
        since: Option<Timestamp>,
    },
    /// The attribute (key lower-cased) is present with this value (lower-cased).
    AttributeIs {
        key: String,
        value: String,
    },
    AttributeContains {
        key: String,
        value: String,
    },
    AttributeExists(String),
}

/// An inclusive range; a missing bound is open.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl Range {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.start.is_none_or(|s| at >= s) && self.end.is_none_or(|e| at <= e)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct TextSearch {
    /// Folded terms; each must occur in some searchable field.
    pub terms: Vec<String>,
    /// Set when the whole text looks like a phone number: its digits.
    pub phone_digits: Option<String>,
}

impl Filter {
    pub fn negate(filter: Filter) -> Filter {
        Filter::Not(Box::new(filter))
    }

    /// The condition when `wanted` is true, its negation otherwise.
    pub fn is(filter: Filter, wanted: bool) -> Filter {
        if wanted {
            filter
        } else {
            Filter::negate(filter)
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    LastSeenAt,
    CreatedAt,
    UpdatedAt,
    LastMessageAt,
    Name,
}

impl SortKey {
    pub const ALLOWED: &'static str = "lastSeenAt, createdAt, updatedAt, lastMessageAt, name";

    pub fn parse(text: &str) -> Option<SortKey> {
        Some(match text {
            "lastSeenAt" => SortKey::LastSeenAt,
            "createdAt" => SortKey::CreatedAt,
            "updatedAt" => SortKey::UpdatedAt,
            "lastMessageAt" => SortKey::LastMessageAt,
            "name" => SortKey::Name,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    pub by: SortKey,
    pub order: Order,
}
