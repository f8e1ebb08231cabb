//! The compact in-memory form of one user: only what sorting, exact checks and taking a user out of
//! its bitmaps need. Texts live in the text index's arena, repeated values as dictionary numbers.

use std::borrow::Cow;

use serde_json::Value;

use crate::domain::text::fold;
use crate::domain::{Id, Sender, Timestamp};
use crate::model::{attribute_text, Message, Orders, Presence, User};

use super::interner::Names;

pub const CONTACT: u8 = 1;
pub const INTERACTED: u8 = 2;
pub const LIVE_CHAT: u8 = 4;
pub const SUBSCRIBER: u8 = 8;
/// The latest presence signal says online.
const ONLINE: u8 = 16;

/// A missing time: no parsed timestamp reaches it (chrono's range ends far inside i64).
const NONE: i64 = i64::MIN;

/// `flag` when `set`, else no flag.
fn flag(set: bool, flag: u8) -> u8 {
    if set {
        flag
    } else {
        0
    }
}

fn packed(at: Option<i64>) -> i64 {
    at.unwrap_or(NONE)
}

fn unpacked(at: i64) -> Option<i64> {
    (at != NONE).then_some(at)
}

pub struct Row {
    pub id: Id,
    pub alive: bool,
    pub flags: u8,
    pub last_message_by: Option<Sender>,
    pub status: u32,
    pub created_at: i64,
    pub updated_at: i64,
    pub(super) last_seen_at: i64,
    pub(super) last_message_at: i64,
    pub(super) last_order_at: i64,
    pub(super) presence_at: i64,
    /// By platform, the bot's number (0: none).
    pub bots: [u32; 4],
    /// The agent's number (0: unassigned).
    pub agent: u32,
    pub order_count: u32,
    /// Numbers of the lower-cased tags.
    pub tags: Box<[u32]>,
    /// Numbers of the lower-cased keys and of their lower-cased value texts.
    pub attributes: Box<[(u32, u32)]>,
    /// The folded display name, the key of sorting by name.
    pub name_key: Option<Box<str>>,
}

/// The texts of one user that text search reads.
#[derive(Default)]
pub struct Texts {
    /// The folded searchable fields, one per line: a term (which never holds whitespace)
    /// occurs in some field exactly when it occurs in this text.
    pub search: String,
    /// Phone digits (prefix then number) and WhatsApp digits, one per line.
    pub phone: String,
}

/// `str::to_lowercase`, without a copy for ASCII text already lower-cased (the common case).
pub fn lower(text: &str) -> Cow<'_, str> {
    if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// `fold`, appended: ASCII text (the common case) is folded in place, without a copy.
fn push_folded(into: &mut String, text: &str) {
    if text.is_ascii() {
        into.extend(text.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        into.push_str(&fold(text));
    }
}

/// The lower-cased text of an attribute value.
fn value_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(text) => lower(text),
        other => Cow::Owned(attribute_text(other).to_lowercase()),
    }
}

impl Texts {
    pub fn of(user: &User) -> Texts {
        let profile = &user.profile;
        let mut search = String::new();
        let searchable = [
            &profile.name,
            &profile.user_provided_name,
            &profile.email,
            &profile.whatsapp_number,
            &profile.telegram_user_name,
            &profile.facebook_profile_id,
        ];
        for (i, field) in searchable.iter().filter_map(|f| f.as_deref()).enumerate() {
            if i > 0 {
                search.push('\n');
            }
            push_folded(&mut search, field);
        }
        let mut phone = profile.phone.as_ref().map(|p| p.digits()).unwrap_or_default();
        if let Some(whatsapp) = profile.whatsapp_number.as_deref() {
            if profile.phone.is_some() {
                phone.push('\n');
            }
            phone.push_str(&crate::domain::digits_of(whatsapp));
        }
        Texts { search, phone }
    }
}

impl Row {
    pub fn from_user(user: &User, names: &mut Names) -> Row {
        let profile = &user.profile;
        let mut row = Row {
            id: user.id,
            alive: true,
            flags: flag(user.is_contact, CONTACT) | flag(user.is_subscriber, SUBSCRIBER),
            status: names.statuses.intern(user.status.as_str()),
            created_at: user.created_at.0,
            bots: user.bots.map(|bot| names.people.number(bot)),
            agent: names.people.number(user.agent),
            tags: profile.tags.iter().map(|t| names.tags.intern(&lower(t))).collect(),
            attributes: profile
                .attributes
                .iter()
                .map(|a| (names.keys.intern(&lower(&a.key)), names.values.intern(&value_text(&a.value))))
                .collect(),
            name_key: user.display_name().map(|n| fold(n).into()),
            ..Row::vacant()
        };
        row.set_activity(user);
        row
    }

    /// The row without its tags, attributes and name: enough to move a user between the bitmaps
    /// and orders of the other fields, without a copy of those.
    pub fn scalars(&self) -> Row {
        Row { tags: Box::new([]), attributes: Box::new([]), name_key: None, ..*self }
    }

    /// The fields that events change: times, presence, orders, last message and their flags.
    pub fn set_activity(&mut self, user: &User) {
        self.flags = self.flags & !(INTERACTED | LIVE_CHAT | ONLINE)
            | flag(user.user_interacted, INTERACTED)
            | flag(user.is_live_chat_active, LIVE_CHAT)
            | flag(user.presence.is_some_and(|p| p.online), ONLINE);
        self.last_message_by = user.last_message.as_ref().map(|m| m.by);
        self.updated_at = user.updated_at.0;
        self.last_seen_at = packed(user.last_seen_at.map(|t| t.0));
        self.last_message_at = packed(user.last_message.as_ref().map(|m| m.at.0));
        self.last_order_at = packed(user.orders.last_at.map(|t| t.0));
        self.presence_at = packed(user.presence.map(|p| p.at.0));
        self.order_count = user.orders.count;
    }

    /// Writes into `user` the activity the row holds: what `set_activity` takes, but the last
    /// message's text and the unread count, which the engine does not keep.
    pub fn activity_into(&self, user: &mut User) {
        user.user_interacted = self.flags & INTERACTED != 0;
        user.is_live_chat_active = self.flags & LIVE_CHAT != 0;
        let online = self.flags & ONLINE != 0;
        user.presence = self.presence_at().map(|at| Presence { online, at: Timestamp(at) });
        user.last_message = (self.last_message_at().zip(self.last_message_by)).map(|(at, by)| Message {
            text: String::new(),
            at: Timestamp(at),
            by,
        });
        user.updated_at = Timestamp(self.updated_at);
        user.last_seen_at = self.last_seen_at().map(Timestamp);
        user.orders = Orders { count: self.order_count, last_at: self.last_order_at().map(Timestamp) };
    }

    /// What a removed user's slot holds until a new user takes it.
    pub fn vacant() -> Row {
        Row {
            id: Id::from_bytes([0; 12]),
            alive: false,
            flags: 0,
            last_message_by: None,
            status: 0,
            created_at: 0,
            updated_at: 0,
            last_seen_at: NONE,
            last_message_at: NONE,
            last_order_at: NONE,
            presence_at: NONE,
            bots: [0; 4],
            agent: 0,
            order_count: 0,
            tags: Box::new([]),
            attributes: Box::new([]),
            name_key: None,
        }
    }

    pub fn last_seen_at(&self) -> Option<i64> {
        unpacked(self.last_seen_at)
    }

    pub fn last_message_at(&self) -> Option<i64> {
        unpacked(self.last_message_at)
    }

    pub fn last_order_at(&self) -> Option<i64> {
        unpacked(self.last_order_at)
    }

    /// The time of the latest presence signal, whatever it said.
    pub fn presence_at(&self) -> Option<i64> {
        unpacked(self.presence_at)
    }

    /// The time of the latest presence signal when it says online.
    pub fn online_at(&self) -> Option<i64> {
        self.presence_at().filter(|_| self.has(ONLINE))
    }

    /// Bytes the row holds outside itself (allocator overhead not counted).
    pub fn heap_bytes(&self) -> usize {
        self.tags.len() * 4 + self.attributes.len() * 8 + self.name_key.as_ref().map_or(0, |n| n.len())
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}
