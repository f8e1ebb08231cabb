//! Domain types, parsed once at the edge and trusted after that.

mod id;
mod phone;
mod platform;
mod status;
pub mod text;
mod timestamp;

pub use id::Id;
pub use phone::{digits_of, phone_digits, whatsapp_key, Phone};
pub use platform::Platform;
pub use status::Status;
pub use timestamp::{DayEdge, Timestamp};

use serde::{Deserialize, Serialize};

/// What a token may do.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Agent,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "admin" => Some(Role::Admin),
            "agent" => Some(Role::Agent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }
}

/// Who sent a message.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sender {
    User,
    Bot,
    Agent,
}

impl Sender {
    pub const ALLOWED: &'static str = "user, bot, agent";

    pub fn parse(text: &str) -> Option<Sender> {
        match text {
            "user" => Some(Sender::User),
            "bot" => Some(Sender::Bot),
            "agent" => Some(Sender::Agent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sender::User => "user",
            Sender::Bot => "bot",
            Sender::Agent => "agent",
        }
    }
}

/// The internal number of a workspace in the store.
pub type WorkspaceId = i64;
