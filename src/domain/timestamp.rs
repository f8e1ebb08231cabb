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

impl Timestamp {
    /// Writes the RFC 3339 form (`2025-03-01T10:00:00.000Z`), as `Display` does. Years 0 to 9999
    /// are formatted here without allocating (exports and pages write several per user); others
    /// go through chrono.
    pub fn write_rfc3339(self, out: &mut impl fmt::Write) -> fmt::Result {
        match self.rfc3339_bytes() {
            // The text is ASCII digits and separators.
            Some(text) => out.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?),
            None => match DateTime::<Utc>::from_timestamp_millis(self.0) {
                Some(dt) => out.write_str(&dt.to_rfc3339_opts(SecondsFormat::Millis, true)),
                None => write!(out, "{}", self.0),
            },
        }
    }

    /// The RFC 3339 text of a timestamp in the years 0 to 9999 (always 24 ASCII bytes, starting
    /// with a digit), or `None` outside them.
    pub fn rfc3339_bytes(self) -> Option<[u8; 24]> {
        // 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in milliseconds since the epoch.
        const MIN_MS: i64 = -62_167_219_200_000;
        const MAX_MS: i64 = 253_402_300_800_000;
        if !(MIN_MS..MAX_MS).contains(&self.0) {
            return None;
        }
        let days = self.0.div_euclid(DAY_MS);
        let ms_of_day = self.0.rem_euclid(DAY_MS);
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let (hour, minute) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60);
        let (second, milli) = (ms_of_day / 1000 % 60, ms_of_day % 1000);
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, hour);
        put(14, 2, minute);
        put(17, 2, second);
        put(20, 3, milli);
        Some(text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_rfc3339(f)
    }
}

/// JSON and other human-readable formats get RFC 3339 text; the store's MessagePack documents
/// get the milliseconds, which are smaller and need no parsing.
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&self.to_string())
        } else {
            serializer.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            return Timestamp::parse(&text).ok_or_else(|| serde::de::Error::custom("not an RFC 3339 timestamp"));
        }
        // Documents written before the compact form hold RFC 3339 text; both are read.
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl serde::de::Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("milliseconds since the epoch or an RFC 3339 timestamp")
    }

    fn visit_i64<E: serde::de::Error>(self, millis: i64) -> Result<Timestamp, E> {
        Ok(Timestamp(millis))
    }

    fn visit_u64<E: serde::de::Error>(self, millis: u64) -> Result<Timestamp, E> {
        i64::try_from(millis).map(Timestamp).map_err(|_| E::custom("timestamp out of range"))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
        Timestamp::parse(text).ok_or_else(|| E::custom("not an RFC 3339 timestamp"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_chrono_writes_them() {
        let chrono_text = |ms: i64| match DateTime::<Utc>::from_timestamp_millis(ms) {
            Some(dt) => dt.to_rfc3339_opts(SecondsFormat::Millis, true),
            None => ms.to_string(),
        };
        let mut samples = vec![
            0,
            -1,
            1,
            951_782_400_000,
            951_868_799_999,
            1_740_823_200_000,
            -62_167_219_200_000,
            -62_167_219_200_001,
            253_402_300_799_999,
            253_402_300_800_000,
            i64::MIN,
            i64::MAX,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            samples.push((state % 330_000_000_000_000) as i64 - 70_000_000_000_000);
        }
        for ms in samples {
            assert_eq!(Timestamp(ms).to_string(), chrono_text(ms), "{ms}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_bytes_of_a_timestamp_are_chrono_s_text_in_the_years_0_to_9999(ms in -63_000_000_000_000i64..254_000_000_000_000) {
            let chrono_text = DateTime::<Utc>::from_timestamp_millis(ms).map(|dt| dt.to_rfc3339_opts(SecondsFormat::Millis, true));
            match Timestamp(ms).rfc3339_bytes() {
                Some(text) => proptest::prop_assert_eq!(Some(String::from_utf8(text.to_vec()).expect("ascii")), chrono_text),
                // Outside those years chrono writes a sign or a fifth digit.
                None => proptest::prop_assert!(chrono_text.is_some_and(|text| text.starts_with(['-', '+']))),
            }
        }
    }

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
