//! Timestamps kept to the millisecond and written as UTC RFC 3339 with a Z.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since the Unix epoch.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(pub i64);

/// Which end of a range a `YYYY-MM-DD` date stands for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DayEdge {
    Start,
    End,
}

const DAY_MS: i64 = 86_400_000;

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().timestamp_millis())
    }

    /// An RFC 3339 timestamp with any offset; finer than milliseconds is truncated.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let parsed = DateTime::parse_from_rfc3339(text.trim()).ok()?;
        Some(Timestamp(parsed.timestamp_millis()))
    }

    /// An RFC 3339 timestamp, or a `YYYY-MM-DD` date meaning the first or last instant of that UTC day.
    pub fn parse_bound(text: &str, edge: DayEdge) -> Option<Timestamp> {
        if let Some(ts) = Timestamp::parse(text) {
            return Some(ts);
        }
        let text = text.trim();
        if text.len() != 10 {
            return None;
        }
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
        let start = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        Some(match edge {
            DayEdge::Start => Timestamp(start),
            DayEdge::End => Timestamp(start + DAY_MS - 1),
        })
    }

    pub fn millis(self) -> i64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(dt) => f.write_str(&dt.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = String::deserialize(deserializer)?;
        Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_normalised_to_utc_millis() {
        let ts = Timestamp::parse("2025-03-01T12:00:00.123456+02:00").unwrap();
        assert_eq!(ts.to_string(), "2025-03-01T10:00:00.123Z");
    }

    #[test]
    fn dates_cover_the_whole_utc_day() {
        let start = Timestamp::parse_bound("2025-03-01", DayEdge::Start).unwrap();
        let end = Timestamp::parse_bound("2025-03-01", DayEdge::End).unwrap();
        assert_eq!(start.to_string(), "2025-03-01T00:00:00.000Z");
        assert_eq!(end.to_string(), "2025-03-01T23:59:59.999Z");
        assert!(Timestamp::parse_bound("2025-13-01", DayEdge::Start).is_none());
    }
}
