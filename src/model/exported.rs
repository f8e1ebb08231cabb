//! What the CSV export writes of a user, borrowed: read straight from a stored document without
//! decoding the rest (notes, picture) or allocating a string per field, or taken from a `User`.
//!
//! The fields mirror `User` and its parts one for one, names and order included, so the same serde
//! derive reads both stored forms: the compact arrays and the first named maps. A field added to
//! `User` must be added here at the same place (the codec tests catch a mismatch).

use std::borrow::Cow;
use std::marker::PhantomData;

use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::domain::{Id, Platform, Sender, Status, Timestamp};
use crate::model::{Orders, Presence, User};

mod compact;

#[derive(Debug, PartialEq, Deserialize)]
pub struct ExportedUser<'a> {
    pub id: Id,
    #[serde(borrow)]
    pub uuid: Option<&'a str>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    pub is_contact: bool,
    pub is_live_chat_active: bool,
    pub user_interacted: bool,
    pub is_subscriber: bool,
    pub is_user_blocked: bool,
    #[serde(borrow)]
    pub status: StatusText<'a>,
    pub bots: [Option<Id>; 4],
    pub agent: Option<Id>,
    pub orders: Orders,
    #[serde(borrow)]
    pub last_message: Option<ExportedMessage<'a>>,
    pub presence: Option<Presence>,
    pub unread: u32,
    #[serde(borrow)]
    pub profile: ExportedProfile<'a>,
    #[serde(rename = "notes")]
    _notes: IgnoredAny,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct ExportedMessage<'a> {
    pub text: &'a str,
    pub at: Timestamp,
    pub by: Sender,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct ExportedProfile<'a> {
    #[serde(borrow)]
    pub name: Option<&'a str>,
    #[serde(borrow)]
    pub user_provided_name: Option<&'a str>,
    #[serde(rename = "picture")]
    _picture: IgnoredAny,
    #[serde(borrow)]
    pub email: Option<&'a str>,
    #[serde(borrow)]
    pub phone: Option<ExportedPhone<'a>>,
    #[serde(borrow)]
    pub whatsapp_number: Option<&'a str>,
    #[serde(borrow)]
    pub telegram_user_name: Option<&'a str>,
    #[serde(borrow)]
    pub facebook_profile_id: Option<&'a str>,
    #[serde(rename = "instagram_profile_id")]
    _instagram_profile_id: IgnoredAny,
    #[serde(borrow)]
    pub city: Option<&'a str>,
    #[serde(borrow)]
    pub country: Option<&'a str>,
    #[serde(borrow)]
    pub tags: Vec<&'a str>,
    #[serde(borrow)]
    pub attributes: Vec<ExportedAttribute<'a>>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct ExportedPhone<'a> {
    pub number: &'a str,
    #[serde(borrow)]
    pub prefix: Option<&'a str>,
}

#[derive(Debug, PartialEq, Deserialize)]
pub struct ExportedAttribute<'a> {
    pub key: &'a str,
    #[serde(borrow)]
    pub value: AttributeValue<'a>,
}

/// An attribute's value: text borrowed where it can be, anything else as `User` holds it.
#[derive(Debug, PartialEq)]
pub enum AttributeValue<'a> {
    Text(Cow<'a, str>),
    Other(Value),
}

/// A status as stored, checked like `Status` but not copied.
#[derive(Debug, PartialEq)]
pub struct StatusText<'a>(pub &'a str);

impl<'a> ExportedUser<'a> {
    /// Every channel on which the user has a bot, like `User::platforms`.
    pub fn platforms(&self) -> impl Iterator<Item = Platform> + '_ {
        Platform::ALL.into_iter().filter(|p| self.bots[p.index()].is_some())
    }

    /// Like `User::is_online`.
    pub fn is_online(&self, now: Timestamp, window_ms: i64) -> bool {
        self.presence.is_some_and(|p| p.online && now.0 - p.at.0 < window_ms)
    }

    /// The value under each key, like `User::attribute` (keys compared ignoring case), without
    /// lower-cased copies when all keys are ASCII (where ignoring ASCII case is the same test).
    pub fn attributes_under<'k>(
        &'k self,
        keys: &'k [String],
    ) -> impl Iterator<Item = Option<&'k AttributeValue<'a>>> + 'k {
        let attributes = &self.profile.attributes;
        let ascii = attributes.iter().all(|a| a.key.is_ascii());
        keys.iter().map(move |key| {
            if ascii && key.is_ascii() {
                attributes.iter().find(|a| a.key.eq_ignore_ascii_case(key)).map(|a| &a.value)
            } else {
                let key = key.to_lowercase();
                attributes.iter().find(|a| a.key.to_lowercase() == key).map(|a| &a.value)
            }
        })
    }
}

impl<'a> From<&'a User> for ExportedUser<'a> {
    fn from(user: &'a User) -> ExportedUser<'a> {
        let profile = &user.profile;
        ExportedUser {
            id: user.id,
            uuid: user.uuid.as_deref(),
            created_at: user.created_at,
            updated_at: user.updated_at,
            last_seen_at: user.last_seen_at,
            is_contact: user.is_contact,
            is_live_chat_active: user.is_live_chat_active,
            user_interacted: user.user_interacted,
            is_subscriber: user.is_subscriber,
            is_user_blocked: user.is_user_blocked,
            status: StatusText(user.status.as_str()),
            bots: user.bots,
            agent: user.agent,
            orders: user.orders.clone(),
            last_message: user.last_message.as_ref().map(|m| ExportedMessage { text: &m.text, at: m.at, by: m.by }),
            presence: user.presence,
            unread: user.unread,
            profile: ExportedProfile {
                name: profile.name.as_deref(),
                user_provided_name: profile.user_provided_name.as_deref(),
                _picture: IgnoredAny,
                email: profile.email.as_deref(),
                phone: profile.phone.as_ref().map(|p| ExportedPhone { number: &p.number, prefix: p.prefix.as_deref() }),
                whatsapp_number: profile.whatsapp_number.as_deref(),
                telegram_user_name: profile.telegram_user_name.as_deref(),
                facebook_profile_id: profile.facebook_profile_id.as_deref(),
                _instagram_profile_id: IgnoredAny,
                city: profile.city.as_deref(),
                country: profile.country.as_deref(),
                tags: profile.tags.iter().map(String::as_str).collect(),
                attributes: profile
                    .attributes
                    .iter()
                    .map(|a| ExportedAttribute {
                        key: &a.key,
                        value: match &a.value {
                            Value::String(text) => AttributeValue::Text(Cow::Borrowed(text)),
                            other => AttributeValue::Other(other.clone()),
                        },
                    })
                    .collect(),
            },
            _notes: IgnoredAny,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for StatusText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<StatusText<'a>, D::Error> {
        let text = <&str>::deserialize(deserializer)?;
        if Status::is_valid(text) {
            Ok(StatusText(text))
        } else {
            Err(de::Error::custom(Status::RULE))
        }
    }
}

/// Reads what `Value`'s own deserializer would, keeping text borrowed.
struct AttributeValueVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for AttributeValueVisitor<'a> {
    type Value = AttributeValue<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an attribute value")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(AttributeValue::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(AttributeValue::Text(Cow::Owned(text.to_string())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(AttributeValue::Text(Cow::Owned(text)))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(AttributeValue::Other(Value::Bool(value)))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(AttributeValue::Other(Value::from(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(AttributeValue::Other(Value::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        // Like `Value`: a number JSON cannot hold becomes null.
        Ok(AttributeValue::Other(Value::from(value)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(AttributeValue::Other(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(AttributeValue::Other(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(AttributeValue::Other)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(AttributeValue::Other)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for AttributeValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AttributeValue<'a>, D::Error> {
        deserializer.deserialize_any(AttributeValueVisitor(PhantomData))
    }
}
