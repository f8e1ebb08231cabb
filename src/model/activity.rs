//! What events do to a user: the part of an event that changes the document, apart from whom
//! it names and what webhook it fires. A store may keep these records beside a document and
//! fold them in later; applied in order, they give the same document as applying the events.

use serde::{Deserialize, Serialize};

use super::{Message, Orders, Presence, User};
use crate::domain::{Sender, Timestamp};

/// One event's change to its user.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Activity {
    Message { by: Sender, text: String, at: Timestamp },
    Presence { online: bool, at: Timestamp },
    Order { at: Timestamp },
    LiveChat { active: bool },
    Read,
}

/// The events one write applied to one user, in the order applied, and when they were received.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserActivity {
    pub received: Timestamp,
    pub events: Vec<Activity>,
}

impl Activity {
    pub fn apply(&self, user: &mut User) {
        match self {
            Activity::Message { by, text, at } => {
                let at = *at;
                if user.last_message.as_ref().is_none_or(|m| at >= m.at) {
                    user.last_message = Some(Message { text: text.clone(), at, by: *by });
                }
                if *by == Sender::User {
                    user.user_interacted = true;
                    user.last_seen_at = Some(user.last_seen_at.map_or(at, |seen| seen.max(at)));
                    user.unread += 1;
                    signal_presence(user, true, at);
                }
            }
            Activity::Presence { online, at } => signal_presence(user, *online, *at),
            Activity::Order { at } => {
                let Orders { count, last_at } = &user.orders;
                let last_at = Some(last_at.map_or(*at, |last| last.max(*at)));
                user.orders = Orders { count: count + 1, last_at };
            }
            Activity::LiveChat { active } => user.is_live_chat_active = *active,
            Activity::Read => user.unread = 0,
        }
    }
}

impl UserActivity {
    pub fn apply(&self, user: &mut User) {
        for event in &self.events {
            event.apply(user);
        }
        user.updated_at = self.received.max(user.updated_at);
    }
}

/// The latest presence signal by `at` wins; on a tie, the one received last.
fn signal_presence(user: &mut User, online: bool, at: Timestamp) {
    if user.presence.is_none_or(|p| at >= p.at) {
        user.presence = Some(Presence { online, at });
    }
}
