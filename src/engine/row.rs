//! The compact in-memory form of one user: only what filtering and sorting need.

use crate::domain::text::fold;
use crate::domain::{Id, Sender};
use crate::model::{attribute_text, Presence, User};

use super::interner::Interner;

pub const CONTACT: u8 = 1;
pub const INTERACTED: u8 = 2;
pub const LIVE_CHAT: u8 = 4;
pub const SUBSCRIBER: u8 = 8;

pub struct Row {
    pub id: Id,
    pub alive: bool,
    pub flags: u8,
    pub status: u32,
    pub last_message_by: Option<Sender>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_seen_at: Option<i64>,
    pub last_message_at: Option<i64>,
    pub bots: [Option<Id>; 4],
    pub agent: Option<Id>,
    /// Interned lower-cased tags.
    pub tags: Box<[u32]>,
    /// Interned lower-cased keys with lower-cased value texts.
    pub attributes: Box<[(u32, Box<str>)]>,
    pub presence: Option<Presence>,
    pub order_count: u32,
    pub last_order_at: Option<i64>,
    /// The folded display name, the key of sorting by name.
    pub name_key: Option<Box<str>>,
    /// The folded searchable fields, one per line: a term (which never holds whitespace)
    /// occurs in some field exactly when it occurs in this text.
    pub search_text: Box<str>,
    /// Phone digits (prefix then number) and WhatsApp digits, one per line.
    pub phone_digits: Box<str>,
}

impl Row {
    pub fn from_user(user: &User, tags: &mut Interner, statuses: &mut Interner, keys: &mut Interner) -> Row {
        let profile = &user.profile;
        let mut flags = 0;
        for (set, flag) in [
            (user.is_contact, CONTACT),
            (user.user_interacted, INTERACTED),
            (user.is_live_chat_active, LIVE_CHAT),
            (user.is_subscriber, SUBSCRIBER),
        ] {
            if set {
                flags |= flag;
            }
        }
        let searchable = [
            &profile.name,
            &profile.user_provided_name,
            &profile.email,
            &profile.whatsapp_number,
            &profile.telegram_user_name,
            &profile.facebook_profile_id,
        ];
        let search_text: Vec<String> = searchable.iter().filter_map(|f| f.as_deref()).map(fold).collect();
        let phone_digits = [
            profile.phone.as_ref().map(|p| p.digits()),
            profile.whatsapp_number.as_deref().map(crate::domain::digits_of),
        ];
        Row {
            id: user.id,
            alive: true,
            flags,
            status: statuses.intern(user.status.as_str()),
            last_message_by: user.last_message.as_ref().map(|m| m.by),
            created_at: user.created_at.0,
            updated_at: user.updated_at.0,
            last_seen_at: user.last_seen_at.map(|t| t.0),
            last_message_at: user.last_message.as_ref().map(|m| m.at.0),
            bots: user.bots,
            agent: user.agent,
            tags: profile.tags.iter().map(|t| tags.intern(&t.to_lowercase())).collect(),
            attributes: profile
                .attributes
                .iter()
                .map(|a| (keys.intern(&a.key.to_lowercase()), attribute_text(&a.value).to_lowercase().into()))
                .collect(),
            presence: user.presence,
            order_count: user.orders.count,
            last_order_at: user.orders.last_at.map(|t| t.0),
            name_key: user.display_name().map(|n| fold(n).into()),
            search_text: search_text.join("\n").into(),
            phone_digits: phone_digits.into_iter().flatten().collect::<Vec<_>>().join("\n").into(),
        }
    }

    /// What a removed user's slot holds until a new user takes it.
    pub fn vacant() -> Row {
        Row {
            id: Id::from_bytes([0; 12]),
            alive: false,
            flags: 0,
            status: 0,
            last_message_by: None,
            created_at: 0,
            updated_at: 0,
            last_seen_at: None,
            last_message_at: None,
            bots: [None; 4],
            agent: None,
            tags: Box::new([]),
            attributes: Box::new([]),
            presence: None,
            order_count: 0,
            last_order_at: None,
            name_key: None,
            search_text: "".into(),
            phone_digits: "".into(),
        }
    }

    /// Bytes the row holds outside itself (allocator overhead not counted).
    pub fn heap_bytes(&self) -> usize {
        let attributes = self.attributes.iter().map(|(_, v)| std::mem::size_of::<(u32, Box<str>)>() + v.len());
        self.tags.len() * 4
            + attributes.sum::<usize>()
            + self.name_key.as_ref().map_or(0, |n| n.len())
            + self.search_text.len()
            + self.phone_digits.len()
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}
