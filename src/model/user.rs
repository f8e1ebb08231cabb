//! The user document: everything the store keeps about one end user.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{Id, Phone, Platform, Sender, Status, Timestamp};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: Id,
    pub uuid: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    pub is_contact: bool,
    pub is_live_chat_active: bool,
    pub user_interacted: bool,
    pub is_subscriber: bool,
    pub is_user_blocked: bool,
    pub status: Status,
    /// The user's bot per channel, indexed by `Platform::index`.
    pub bots: [Option<Id>; 4],
    pub agent: Option<Id>,
    pub orders: Orders,
    pub last_message: Option<Message>,
    pub presence: Option<Presence>,
    pub unread: u32,
    pub profile: Profile,
    pub notes: Vec<Note>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Orders {
    pub count: u32,
    /// The latest order's time.
    pub last_at: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
    pub at: Timestamp,
    pub by: Sender,
}

/// The latest presence signal.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Presence {
    pub online: bool,
    pub at: Timestamp,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: Option<String>,
    pub user_provided_name: Option<String>,
    pub picture: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Phone>,
    pub whatsapp_number: Option<String>,
    pub telegram_user_name: Option<String>,
    pub facebook_profile_id: Option<String>,
    pub instagram_profile_id: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub tags: Vec<String>,
    pub attributes: Vec<Attribute>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    pub key: String,
    /// A string, number or boolean, kept as given.
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub id: Id,
    pub title: String,
    pub description: String,
}

impl User {
    /// A new user as the contract creates one: status OPEN, nothing else set.
    pub fn new(id: Id, created_at: Timestamp) -> User {
        User {
            id,
            uuid: None,
            created_at,
            updated_at: created_at,
            last_seen_at: None,
            is_contact: false,
            is_live_chat_active: false,
            user_interacted: false,
            is_subscriber: false,
            is_user_blocked: false,
            status: Status::open(),
            bots: [None; 4],
            agent: None,
            orders: Orders::default(),
            last_message: None,
            presence: None,
            unread: 0,
            profile: Profile::default(),
            notes: Vec::new(),
        }
    }

    pub fn bot(&self, platform: Platform) -> Option<Id> {
        self.bots[platform.index()]
    }

    /// Every channel on which the user has a bot.
    pub fn platforms(&self) -> impl Iterator<Item = Platform> + '_ {
        Platform::ALL.into_iter().filter(|p| self.bots[p.index()].is_some())
    }

    /// The name shown and sorted by: name, or userProvidedName when name is empty.
    pub fn display_name(&self) -> Option<&str> {
        let name = self.profile.name.as_deref().filter(|n| !n.is_empty());
        name.or(self.profile.user_provided_name.as_deref().filter(|n| !n.is_empty()))
    }

    /// Online now: the latest presence signal says online and is younger than the window.
    pub fn is_online(&self, now: Timestamp, window_ms: i64) -> bool {
        self.presence.is_some_and(|p| p.online && now.0 - p.at.0 < window_ms)
    }

    pub fn attribute(&self, key: &str) -> Option<&Value> {
        self.profile.attributes.iter().find(|a| a.key.to_lowercase() == key.to_lowercase()).map(|a| &a.value)
    }
}

/// The text form of an attribute value, used for comparisons and CSV cells.
pub fn attribute_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
