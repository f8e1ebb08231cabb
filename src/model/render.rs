//! The user object of contract section 4, as every endpoint answers it.
//!
//! The object is written straight from the document by a `Serialize` view (no intermediate
//! `serde_json::Value` tree): a page of users is serialised into the response with one buffer and
//! no per-field allocation. `user_json` gives the same object as a `Value` where one is needed.

use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;
use serde_json::Value;

use crate::domain::{Id, Platform, Timestamp};
use crate::model::{Attribute, Note, User};

/// Renders a user; `segments` are the ids of the segments it matches now.
pub fn user_json(user: &User, segments: &[Id], now: Timestamp, presence_window_ms: i64) -> Value {
    let view = UserView { user, segments, now, presence_window_ms };
    // Cannot fail: every part serialises to JSON (map keys are strings).
    serde_json::to_value(view).unwrap_or(Value::Null)
}

/// Appends a user's JSON object to `out`, the same object `user_json` gives.
pub fn write_user_json(out: &mut Vec<u8>, user: &User, segments: &[Id], now: Timestamp, presence_window_ms: i64) {
    let view = UserView { user, segments, now, presence_window_ms };
    // Cannot fail: writing to a Vec does not fail and every part serialises to JSON.
    let _ = serde_json::to_writer(out, &view);
}

/// The user object, serialised field by field in the contract's order.
pub struct UserView<'a> {
    pub user: &'a User,
    pub segments: &'a [Id],
    pub now: Timestamp,
    pub presence_window_ms: i64,
}

impl Serialize for UserView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let mut map = serializer.serialize_map(Some(27))?;
        map.serialize_entry("_id", &user.id)?;
        map.serialize_entry("uuid", &user.uuid)?;
        map.serialize_entry("createdAt", &user.created_at)?;
        map.serialize_entry("updatedAt", &user.updated_at)?;
        map.serialize_entry("lastSeenAt", &user.last_seen_at)?;
        map.serialize_entry("isContact", &user.is_contact)?;
        map.serialize_entry("isOnline", &user.is_online(self.now, self.presence_window_ms))?;
        map.serialize_entry("isLiveChatActive", &user.is_live_chat_active)?;
        map.serialize_entry("userInteracted", &user.user_interacted)?;
        map.serialize_entry("isSubscriber", &user.is_subscriber)?;
        map.serialize_entry("isUserBlocked", &user.is_user_blocked)?;
        map.serialize_entry("status", &user.status)?;
        map.serialize_entry("platform", &Platforms(user))?;
        map.serialize_entry("_botWebsite", &user.bot(Platform::Website))?;
        map.serialize_entry("_botWhatsapp", &user.bot(Platform::Whatsapp))?;
        map.serialize_entry("_botTelegram", &user.bot(Platform::Telegram))?;
        map.serialize_entry("_botFacebook", &user.bot(Platform::Facebook))?;
        map.serialize_entry("_agentAssigned", &user.agent)?;
        map.serialize_entry("segments", self.segments)?;
        map.serialize_entry("hasOrdered", &HasOrdered(user))?;
        map.serialize_entry("lastMessage", &user.last_message.as_ref().map(LastMessage))?;
        map.serialize_entry("unreadMessages", &user.unread)?;
        map.serialize_entry("profile", &ProfileView(user))?;
        map.end()
    }
}

struct Platforms<'a>(&'a User);

impl Serialize for Platforms<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for platform in self.0.platforms() {
            seq.serialize_element(platform.as_str())?;
        }
        seq.end()
    }
}

struct HasOrdered<'a>(&'a User);

impl Serialize for HasOrdered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let orders = &self.0.orders;
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("status", &(orders.count > 0))?;
        map.serialize_entry("lastAt", &orders.last_at)?;
        map.serialize_entry("count", &orders.count)?;
        map.end()
    }
}

struct LastMessage<'a>(&'a crate::model::Message);

impl Serialize for LastMessage<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("text", &self.0.text)?;
        map.serialize_entry("at", &self.0.at)?;
        map.serialize_entry("by", &self.0.by)?;
        map.end()
    }
}

struct ProfileView<'a>(&'a User);

impl Serialize for ProfileView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("userDetails", &UserDetails(self.0))?;
        map.serialize_entry("notes", &Notes(&self.0.notes))?;
        map.end()
    }
}

struct UserDetails<'a>(&'a User);

impl Serialize for UserDetails<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let profile = &self.0.profile;
        let mut map = serializer.serialize_map(Some(13))?;
        map.serialize_entry("name", &profile.name)?;
        map.serialize_entry("userProvidedName", &profile.user_provided_name)?;
        map.serialize_entry("picture", &profile.picture)?;
        map.serialize_entry("contact", &Contact(self.0))?;
        map.serialize_entry("whatsAppNumber", &profile.whatsapp_number)?;
        map.serialize_entry("telegramUserName", &profile.telegram_user_name)?;
        map.serialize_entry("facebookProfileId", &profile.facebook_profile_id)?;
        map.serialize_entry("instagramProfileId", &profile.instagram_profile_id)?;
        map.serialize_entry("city", &profile.city)?;
        map.serialize_entry("country", &profile.country)?;
        map.serialize_entry("tags", &profile.tags)?;
        map.serialize_entry("attributes", &Attributes(&profile.attributes))?;
        map.end()
    }
}

struct Contact<'a>(&'a User);

impl Serialize for Contact<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let profile = &self.0.profile;
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("email", &profile.email)?;
        map.serialize_entry("phone", &profile.phone.as_ref().map(PhoneView))?;
        map.end()
    }
}

struct PhoneView<'a>(&'a crate::domain::Phone);

impl Serialize for PhoneView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("number", &self.0.number)?;
        map.serialize_entry("prefix", &self.0.prefix)?;
        map.end()
    }
}

struct Attributes<'a>(&'a [Attribute]);

impl Serialize for Attributes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for attribute in self.0 {
            seq.serialize_element(&KeyValue(attribute))?;
        }
        seq.end()
    }
}

struct KeyValue<'a>(&'a Attribute);

impl Serialize for KeyValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("key", &self.0.key)?;
        map.serialize_entry("value", &self.0.value)?;
        map.end()
    }
}

struct Notes<'a>(&'a [Note]);

impl Serialize for Notes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for note in self.0 {
            seq.serialize_element(&NoteView(note))?;
        }
        seq.end()
    }
}

struct NoteView<'a>(&'a Note);

impl Serialize for NoteView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("_id", &self.0.id)?;
        map.serialize_entry("title", &self.0.title)?;
        map.serialize_entry("description", &self.0.description)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{Phone, Sender};
    use crate::model::{Message, Orders, Presence};

    fn id(text: &str) -> Id {
        Id::parse(text).expect("id")
    }

    /// The object as it was first written, with `json!`: the view must give exactly this.
    fn reference(user: &User, segments: &[Id], now: Timestamp, window: i64) -> Value {
        let ts = |value: Option<Timestamp>| value.map_or(Value::Null, |t| Value::String(t.to_string()));
        let profile = &user.profile;
        let phone = profile.phone.as_ref().map(|p| json!({"number": p.number, "prefix": p.prefix}));
        let bot = |platform: Platform| json!(user.bot(platform));
        json!({
            "_id": user.id, "uuid": user.uuid, "createdAt": user.created_at, "updatedAt": user.updated_at,
            "lastSeenAt": ts(user.last_seen_at), "isContact": user.is_contact,
            "isOnline": user.is_online(now, window), "isLiveChatActive": user.is_live_chat_active,
            "userInteracted": user.user_interacted, "isSubscriber": user.is_subscriber,
            "isUserBlocked": user.is_user_blocked, "status": user.status,
            "platform": user.platforms().map(Platform::as_str).collect::<Vec<_>>(),
            "_botWebsite": bot(Platform::Website), "_botWhatsapp": bot(Platform::Whatsapp),
            "_botTelegram": bot(Platform::Telegram), "_botFacebook": bot(Platform::Facebook),
            "_agentAssigned": user.agent, "segments": segments,
            "hasOrdered": {"status": user.orders.count > 0, "lastAt": ts(user.orders.last_at), "count": user.orders.count},
            "lastMessage": user.last_message.as_ref().map(|m| json!({"text": m.text, "at": m.at, "by": m.by})),
            "unreadMessages": user.unread,
            "profile": {
                "userDetails": {
                    "name": profile.name, "userProvidedName": profile.user_provided_name, "picture": profile.picture,
                    "contact": {"email": profile.email, "phone": phone},
                    "whatsAppNumber": profile.whatsapp_number, "telegramUserName": profile.telegram_user_name,
                    "facebookProfileId": profile.facebook_profile_id, "instagramProfileId": profile.instagram_profile_id,
                    "city": profile.city, "country": profile.country, "tags": profile.tags,
                    "attributes": profile.attributes.iter().map(|a| json!({"key": a.key, "value": a.value})).collect::<Vec<_>>(),
                },
                "notes": user.notes.iter().map(|n| json!({"_id": n.id, "title": n.title, "description": n.description})).collect::<Vec<_>>(),
            }
        })
    }

    #[test]
    fn the_view_writes_the_same_object_as_the_reference_for_bare_and_full_users() {
        let now = Timestamp(1_740_823_260_000);
        let bare = User::new(id("65f1c2a9e4b0a1b2c3d4e5f6"), Timestamp(1_740_823_200_000));
        let mut full = bare.clone();
        full.uuid = Some("v-1".into());
        full.last_seen_at = Some(Timestamp(1_740_823_250_000));
        full.bots[Platform::Telegram.index()] = Some(id("65f1c2a9e4b0a1b2c3d4e5f7"));
        full.agent = Some(id("65f1c2a9e4b0a1b2c3d4e5f8"));
        full.orders = Orders { count: 1, last_at: Some(Timestamp(1_740_823_240_000)) };
        full.last_message = Some(Message { text: "say \"hi\"\n".into(), at: now, by: Sender::User });
        full.presence = Some(Presence { online: true, at: Timestamp(1_740_823_255_000) });
        full.unread = 2;
        full.profile.name = Some("José".into());
        full.profile.email = Some("jose@example.com".into());
        full.profile.phone = Some(Phone { number: "825551234".into(), prefix: None });
        full.profile.tags = vec!["vip".into()];
        full.profile.attributes = vec![Attribute { key: "seats".into(), value: json!(3) }];
        full.notes = vec![Note { id: id("65f1c2a9e4b0a1b2c3d4e5f9"), title: "t".into(), description: "d".into() }];
        let segments = [id("65f1c2a9e4b0a1b2c3d4e5fa")];
        for user in [&bare, &full] {
            let expected = reference(user, &segments, now, 60_000);
            assert_eq!(user_json(user, &segments, now, 60_000), expected);
            let mut written = Vec::new();
            write_user_json(&mut written, user, &segments, now, 60_000);
            assert_eq!(String::from_utf8(written).expect("utf-8"), expected.to_string());
        }
    }
}
