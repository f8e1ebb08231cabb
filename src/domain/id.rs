//! Record ids: 24 lowercase hex characters, as the hosted platforms use them.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 12-byte id, written as 24 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id([u8; 12]);

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Id {
    /// A new id: seconds since the epoch, random bytes and a counter, so ids sort roughly by creation.
    pub fn generate() -> Id {
        let secs = chrono::Utc::now().timestamp() as u32;
        let random: [u8; 5] = rand::random();
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut bytes = [0u8; 12];
        bytes[..4].copy_from_slice(&secs.to_be_bytes());
        bytes[4..9].copy_from_slice(&random);
        bytes[9..].copy_from_slice(&count.to_be_bytes()[1..]);
        Id(bytes)
    }

    /// Parses 24 lowercase hex characters; anything else is not an id.
    pub fn parse(text: &str) -> Option<Id> {
        if text.len() != 24 || !text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut bytes = [0u8; 12];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Id(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }

    pub fn from_bytes(bytes: [u8; 12]) -> Id {
        Id(bytes)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // On the stack: ids are written for every row of an export and every user of a page.
        let mut hex = [0u8; 24];
        // Cannot fail: the buffer is exactly twice the id's length.
        let _ = hex::encode_to_slice(self.0, &mut hex);
        f.write_str(std::str::from_utf8(&hex).unwrap_or_default())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

/// JSON and other human-readable formats get the 24 hex characters; the store's MessagePack
/// documents get the 12 bytes, which are smaller and need no parsing.
impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let mut hex = [0u8; 24];
            // Cannot fail: the buffer is exactly twice the id's length.
            let _ = hex::encode_to_slice(self.0, &mut hex);
            serializer.serialize_str(std::str::from_utf8(&hex).unwrap_or_default())
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            return Id::parse(&text).ok_or_else(|| serde::de::Error::custom("not a 24-character hex id"));
        }
        // Documents written before the compact form hold the hex text; both are read.
        deserializer.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = Id;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a 12-byte id or 24 hex characters")
    }

    fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Id, E> {
        let bytes: [u8; 12] = bytes.try_into().map_err(|_| E::custom("not a 12-byte id"))?;
        Ok(Id(bytes))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Id, E> {
        Id::parse(text).ok_or_else(|| E::custom("not a 24-character hex id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_round_trip_and_differ() {
        let a = Id::generate();
        let b = Id::generate();
        assert_ne!(a, b);
        assert_eq!(Id::parse(&a.to_string()), Some(a));
    }

    #[test]
    fn upper_case_and_short_ids_are_refused() {
        assert!(Id::parse("65F1C2A9E4B0A1B2C3D4E5F6").is_none());
        assert!(Id::parse("65f1c2a9").is_none());
        assert!(Id::parse("65f1c2a9e4b0a1b2c3d4e5fg").is_none());
    }
}
