//! Conversation statuses: upper-case words such as OPEN, CLOSED or DELETED.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Status(String);

impl Status {
    pub const RULE: &'static str = "an upper-case word of A-Z, 0-9 and _ (1 to 32 characters)";

    pub fn parse(text: &str) -> Option<Status> {
        Status::is_valid(text).then(|| Status(text.to_string()))
    }

    /// Whether `parse` would accept the text.
    pub fn is_valid(text: &str) -> bool {
        (1..=32).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    }

    pub fn open() -> Status {
        Status("OPEN".into())
    }

    pub fn deleted() -> Status {
        Status("DELETED".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Status, D::Error> {
        let text = String::deserialize(deserializer)?;
        Status::parse(&text).ok_or_else(|| serde::de::Error::custom(Status::RULE))
    }
}
