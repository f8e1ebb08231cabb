//! Users written as the export's CSV rows: the columns, their cells and a writer for streaming them.

use crate::domain::{Id, Platform, Timestamp};
use crate::model::{attribute_text, AttributeValue, ExportedUser, User};

use super::reads_as_formula;

/// The export's fixed columns, in the contract's order; `attributes.<key>` columns follow them.
pub const FIXED_COLUMNS: [&str; 32] = [
    "_id",
    "uuid",
    "name",
    "userProvidedName",
    "email",
    "phone",
    "whatsAppNumber",
    "telegramUserName",
    "facebookProfileId",
    "city",
    "country",
    "platform",
    "status",
    "tags",
    "agentId",
    "agent",
    "createdAt",
    "updatedAt",
    "lastSeenAt",
    "lastMessageAt",
    "lastMessageBy",
    "lastMessageText",
    "userInteracted",
    "isOnline",
    "isLiveChatActive",
    "isContact",
    "isSubscriber",
    "isUserBlocked",
    "hasOrdered",
    "lastOrderAt",
    "orderCount",
    "unreadMessages",
];

/// The prefix of the column that holds one attribute key.
pub const ATTRIBUTE_PREFIX: &str = "attributes.";

/// How lists (platform, tags) are joined in one cell.
const LIST_SEPARATOR: &str = "; ";

/// The header row: the fixed columns, then `attributes.<key>` for each key, in the order given
/// (the caller sorts them).
pub fn header(attribute_keys: &[String]) -> Vec<String> {
    let fixed = FIXED_COLUMNS.iter().map(|column| column.to_string());
    fixed.chain(attribute_keys.iter().map(|key| format!("{ATTRIBUTE_PREFIX}{key}"))).collect()
}

/// One user's row, matching `header(attribute_keys)`. `agent_name` is the name of the user's agent;
/// `is_online` is the user's presence at the moment of the export.
pub fn record(user: &User, agent_name: Option<&str>, attribute_keys: &[String], is_online: bool) -> Vec<String> {
    let attributes = attribute_keys.iter().map(|key| user.attribute(key).map(attribute_text).unwrap_or_default());
    fixed_cells(user, agent_name, is_online).into_iter().chain(attributes).map(neutralise).collect()
}

/// The cells of the fixed columns, in the order of `FIXED_COLUMNS`.
fn fixed_cells(user: &User, agent_name: Option<&str>, is_online: bool) -> [String; FIXED_COLUMNS.len()] {
    let profile = &user.profile;
    let message = user.last_message.as_ref();
    [
        user.id.to_string(),
        text(user.uuid.as_deref()),
        text(profile.name.as_deref()),
        text(profile.user_provided_name.as_deref()),
        text(profile.email.as_deref()),
        profile.phone.as_ref().map(|phone| phone.international()).unwrap_or_default(),
        text(profile.whatsapp_number.as_deref()),
        text(profile.telegram_user_name.as_deref()),
        text(profile.facebook_profile_id.as_deref()),
        text(profile.city.as_deref()),
        text(profile.country.as_deref()),
        user.platforms().map(Platform::as_str).collect::<Vec<_>>().join(LIST_SEPARATOR),
        user.status.to_string(),
        profile.tags.join(LIST_SEPARATOR),
        user.agent.map(|id| id.to_string()).unwrap_or_default(),
        text(agent_name),
        user.created_at.to_string(),
        user.updated_at.to_string(),
        time(user.last_seen_at),
        time(message.map(|m| m.at)),
        text(message.map(|m| m.by.as_str())),
        text(message.map(|m| m.text.as_str())),
        user.user_interacted.to_string(),
        is_online.to_string(),
        user.is_live_chat_active.to_string(),
        user.is_contact.to_string(),
        user.is_subscriber.to_string(),
        user.is_user_blocked.to_string(),
        (user.orders.count > 0).to_string(),
        time(user.orders.last_at),
        user.orders.count.to_string(),
        user.unread.to_string(),
    ]
}

fn bool_text(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

fn text(value: Option<&str>) -> String {
    value.unwrap_or_default().to_string()
}

fn time(value: Option<Timestamp>) -> String {
    value.map(|ts| ts.to_string()).unwrap_or_default()
}

/// Guards a cell that a spreadsheet would run as a formula (starting with = + - @ tab or CR) with a
/// leading `'`. A cell that already starts with `'` before such a character gets one more, so the
/// import, which takes exactly one off, gives back every value unchanged.
pub fn neutralise(cell: String) -> String {
    if reads_as_formula(&cell) {
        format!("'{cell}")
    } else {
        cell
    }
}

/// CSV rows written into memory a chunk at a time: write the header and some rows, hand the bytes
/// written so far to the response with `take_bytes`, and go on, so memory stays flat however many
/// rows an export has. RFC 4180 quoting, `\n` line ends, no byte-order mark.
#[derive(Debug, Default)]
pub struct CsvRows {
    bytes: Vec<u8>,
    /// Whether the row being written has a cell yet (the next one is preceded by a comma).
    in_row: bool,
    /// Reused for cells that are formatted before they are written (lists, numbers, times).
    scratch: String,
}

/// Bytes that make the csv crate quote a cell (with its default writer: `,` delimiter, `"` quote
/// doubled, `\n` terminator, which also quotes `\r`).
fn needs_quotes(cell: &str) -> bool {
    // Eight bytes at a time: every cell of an export is scanned.
    let mut words = cell.as_bytes().chunks_exact(8);
    for word in words.by_ref() {
        let word = u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
        if [b',', b'"', b'\n', b'\r'].into_iter().any(|b| has_byte(word, b)) {
            return true;
        }
    }
    words.remainder().iter().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
}

/// Whether any of the word's eight bytes is `byte` (the classic zero-byte test on `word ^ byte...`).
fn has_byte(word: u64, byte: u8) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let x = word ^ (LOW * u64::from(byte));
    x.wrapping_sub(LOW) & !x & HIGH != 0
}

impl CsvRows {
    pub fn new() -> CsvRows {
        CsvRows::default()
    }

    /// Appends one row (the header, or a `record`).
    pub fn write_row(&mut self, cells: &[String]) -> csv::Result<()> {
        // A writer per row over the buffer we own: csv::Writer does not lend out its inner Vec, and
        // taking it back with `into_inner` would make `take_bytes` fallible.
        let mut writer = csv::WriterBuilder::new().flexible(true).from_writer(&mut self.bytes);
        writer.write_record(cells)?;
        writer.flush()?;
        Ok(())
    }

    /// Appends one user's row: the same bytes as `write_row(&record(user, agent_name,
    /// attribute_keys, is_online))`, written straight into the buffer without a `String` per cell.
    pub fn write_user(&mut self, user: &User, agent_name: Option<&str>, attribute_keys: &[String], is_online: bool) {
        self.write_exported(&ExportedUser::from(user), agent_name, attribute_keys, is_online);
    }

    /// `write_user` for what the export reads of a user.
    pub fn write_exported(
        &mut self,
        user: &ExportedUser,
        agent_name: Option<&str>,
        attribute_keys: &[String],
        is_online: bool,
    ) {
        use std::fmt::Write;
        let profile = &user.profile;
        let message = user.last_message.as_ref();
        self.id(user.id);
        self.opt(user.uuid);
        self.opt(profile.name);
        self.opt(profile.user_provided_name);
        self.opt(profile.email);
        match &profile.phone {
            // Phone::international, without its String.
            Some(phone) => self.formatted(|s| {
                if let Some(prefix) = phone.prefix {
                    s.push('+');
                    s.push_str(prefix);
                }
                s.push_str(phone.number);
                Ok(())
            }),
            None => self.cell(""),
        }
        self.opt(profile.whatsapp_number);
        self.opt(profile.telegram_user_name);
        self.opt(profile.facebook_profile_id);
        self.opt(profile.city);
        self.opt(profile.country);
        self.joined(user.platforms().map(Platform::as_str));
        self.cell(user.status.0);
        self.joined(profile.tags.iter().copied());
        match user.agent {
            Some(agent) => self.id(agent),
            None => self.cell(""),
        }
        self.opt(agent_name);
        self.time(Some(user.created_at));
        self.time(Some(user.updated_at));
        self.time(user.last_seen_at);
        self.time(message.map(|m| m.at));
        self.opt(message.map(|m| m.by.as_str()));
        self.opt(message.map(|m| m.text));
        self.plain(bool_text(user.user_interacted).as_bytes());
        self.plain(bool_text(is_online).as_bytes());
        self.plain(bool_text(user.is_live_chat_active).as_bytes());
        self.plain(bool_text(user.is_contact).as_bytes());
        self.plain(bool_text(user.is_subscriber).as_bytes());
        self.plain(bool_text(user.is_user_blocked).as_bytes());
        self.plain(bool_text(user.orders.count > 0).as_bytes());
        self.time(user.orders.last_at);
        self.plain(itoa::Buffer::new().format(user.orders.count).as_bytes());
        self.plain(itoa::Buffer::new().format(user.unread).as_bytes());
        for value in user.attributes_under(attribute_keys) {
            match value {
                Some(AttributeValue::Text(text)) => self.cell(text),
                Some(AttributeValue::Other(serde_json::Value::Null)) | None => self.cell(""),
                Some(AttributeValue::Other(other)) => self.formatted(|s| write!(s, "{other}")),
            }
        }
        self.bytes.push(b'\n');
        self.in_row = false;
    }

    /// An id cell: 24 hex characters, never quoted nor guarded.
    fn id(&mut self, id: Id) {
        let mut hex = [0u8; 24];
        // Cannot fail: the buffer is exactly twice the id's length.
        let _ = hex::encode_to_slice(id.as_bytes(), &mut hex);
        self.plain(&hex);
    }

    /// A cell known to need neither quotes nor a formula guard (ids, numbers, booleans, times).
    #[inline]
    fn plain(&mut self, cell: &[u8]) {
        if self.in_row {
            self.bytes.push(b',');
        }
        self.in_row = true;
        self.bytes.extend_from_slice(cell);
    }

    /// Appends one cell: guarded against formulas (`neutralise`), quoted when the csv crate would.
    #[inline]
    fn cell(&mut self, cell: &str) {
        if self.in_row {
            self.bytes.push(b',');
        }
        self.in_row = true;
        let guard = reads_as_formula(cell);
        if needs_quotes(cell) {
            self.bytes.push(b'"');
            if guard {
                self.bytes.push(b'\'');
            }
            for part in cell.split_inclusive('"') {
                self.bytes.extend_from_slice(part.as_bytes());
                if part.ends_with('"') {
                    self.bytes.push(b'"');
                }
            }
            self.bytes.push(b'"');
        } else {
            if guard {
                self.bytes.push(b'\'');
            }
            self.bytes.extend_from_slice(cell.as_bytes());
        }
    }

    fn opt(&mut self, cell: Option<&str>) {
        self.cell(cell.unwrap_or_default());
    }

    /// A cell formatted into the scratch buffer first.
    fn formatted(&mut self, format: impl FnOnce(&mut String) -> std::fmt::Result) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        // Cannot fail: formatting into a String.
        let _ = format(&mut scratch);
        self.cell(&scratch);
        self.scratch = scratch;
    }

    fn time(&mut self, value: Option<Timestamp>) {
        match value {
            // Digits first and no separator the csv crate quotes: a plain cell.
            Some(ts) => match ts.rfc3339_bytes() {
                Some(text) => self.plain(&text),
                None => self.formatted(|s| ts.write_rfc3339(s)),
            },
            None => self.plain(b""),
        }
    }

    fn joined<'a>(&mut self, items: impl Iterator<Item = &'a str>) {
        self.formatted(|s| {
            for (i, item) in items.enumerate() {
                if i > 0 {
                    s.push_str(LIST_SEPARATOR);
                }
                s.push_str(item);
            }
            Ok(())
        });
    }

    /// The bytes written since the last call, leaving the buffer empty.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        // The next chunk is about as long as this one: start it at that size, not by doubling.
        let capacity = self.bytes.len();
        std::mem::replace(&mut self.bytes, Vec::with_capacity(capacity))
    }

    /// The bytes written since the last take, to be read in place before a `clear`.
    pub fn written(&self) -> &[u8] {
        &self.bytes
    }

    /// Forgets the bytes written, keeping the buffer's room for the next rows.
    pub fn clear(&mut self) {
        self.bytes.clear();
    }

    /// How many bytes are waiting to be taken.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::{Id, Phone, Sender};
    use crate::model::{Attribute, Message, Orders};

    fn cell<'a>(header: &[String], record: &'a [String], column: &str) -> &'a str {
        let i = header.iter().position(|c| c == column).expect("column in header");
        &record[i]
    }

    fn sample_user() -> User {
        let mut user = User::new(Id::parse("65f1c2a9e4b0a1b2c3d4e5f6").expect("id"), Timestamp(1_740_823_200_000));
        user.profile.name = Some("José".into());
        user.profile.phone = Some(Phone { number: "825551234".into(), prefix: Some("27".into()) });
        user.profile.tags = vec!["vip".into(), "Café".into()];
        user.profile.attributes = vec![
            Attribute { key: "Plan".into(), value: json!("gold") },
            Attribute { key: "seats".into(), value: json!(3) },
        ];
        user.bots[Platform::Whatsapp.index()] = Some(Id::parse("65f1c2a9e4b0a1b2c3d4e5f7").expect("id"));
        user.bots[Platform::Website.index()] = Some(Id::parse("65f1c2a9e4b0a1b2c3d4e5f8").expect("id"));
        user.agent = Some(Id::parse("65f1c2a9e4b0a1b2c3d4e5f9").expect("id"));
        user.orders = Orders { count: 2, last_at: Some(Timestamp(1_740_823_200_500)) };
        user.last_message = Some(Message { text: "hi".into(), at: Timestamp(1_740_823_201_000), by: Sender::User });
        user.unread = 4;
        user
    }

    #[test]
    fn header_is_the_fixed_columns_then_one_column_per_attribute_key() {
        let header = header(&["plan".into(), "seats".into()]);
        assert_eq!(header.len(), 34);
        assert_eq!(header[..3], ["_id", "uuid", "name"]);
        assert_eq!(header[31], "unreadMessages");
        assert_eq!(header[32..], ["attributes.plan", "attributes.seats"]);
    }

    #[test]
    fn formula_like_cells_get_a_leading_quote() {
        for cell in ["=1+1", "+27825551234", "-5", "@home", "\tx", "\rx"] {
            assert_eq!(neutralise(cell.into()), format!("'{cell}"));
        }
    }

    #[test]
    fn plain_cells_are_left_alone() {
        for cell in ["", "José", "1-2", "'hello", "'", "a=b"] {
            assert_eq!(neutralise(cell.into()), cell);
        }
    }

    #[test]
    fn a_value_that_already_looks_neutralised_gets_one_more_quote() {
        assert_eq!(neutralise("'=1+1".into()), "''=1+1");
        assert_eq!(neutralise("''+1".into()), "'''+1");
    }

    #[test]
    fn record_fills_every_column_in_header_order() {
        let keys = vec!["plan".to_string(), "seats".to_string(), "zone".to_string()];
        let header = header(&keys);
        let record = record(&sample_user(), Some("Ann"), &keys, true);
        assert_eq!(record.len(), header.len());
        let expected = [
            ("_id", "65f1c2a9e4b0a1b2c3d4e5f6"),
            ("uuid", ""),
            ("name", "José"),
            ("email", ""),
            ("phone", "'+27825551234"),
            ("platform", "WEBSITE; WHATSAPP"),
            ("status", "OPEN"),
            ("tags", "vip; Café"),
            ("agentId", "65f1c2a9e4b0a1b2c3d4e5f9"),
            ("agent", "Ann"),
            ("createdAt", "2025-03-01T10:00:00.000Z"),
            ("lastSeenAt", ""),
            ("lastMessageAt", "2025-03-01T10:00:01.000Z"),
            ("lastMessageBy", "user"),
            ("lastMessageText", "hi"),
            ("isOnline", "true"),
            ("isContact", "false"),
            ("hasOrdered", "true"),
            ("lastOrderAt", "2025-03-01T10:00:00.500Z"),
            ("orderCount", "2"),
            ("unreadMessages", "4"),
            ("attributes.plan", "gold"),
            ("attributes.seats", "3"),
            ("attributes.zone", ""),
        ];
        for (column, value) in expected {
            assert_eq!(cell(&header, &record, column), value, "{column}");
        }
    }

    #[test]
    fn a_user_without_orders_has_not_ordered() {
        let mut user = sample_user();
        user.orders = Orders::default();
        user.agent = None;
        let header = header(&[]);
        let record = record(&user, None, &[], false);
        assert_eq!(cell(&header, &record, "hasOrdered"), "false");
        assert_eq!(cell(&header, &record, "lastOrderAt"), "");
        assert_eq!(cell(&header, &record, "orderCount"), "0");
        assert_eq!(cell(&header, &record, "agentId"), "");
        assert_eq!(cell(&header, &record, "agent"), "");
    }

    #[test]
    fn a_user_row_is_written_exactly_as_its_record_would_be() {
        let keys = vec!["plan".to_string(), "SEATS".to_string(), "zone".to_string(), "note".to_string()];
        let mut tricky = sample_user();
        tricky.profile.name = Some("=cmd, \"quoted\"\nline".into());
        tricky.profile.city = Some("'+1".into());
        tricky.profile.tags = vec!["-x".into(), "a,b".into()];
        tricky.profile.attributes.push(Attribute { key: "Note".into(), value: json!("say \"hi\"") });
        tricky.profile.attributes.push(Attribute { key: "zone".into(), value: serde_json::Value::Null });
        tricky.last_message = Some(Message { text: "\r@".into(), at: Timestamp(-1), by: Sender::Agent });
        // Past the year 9999: written by chrono with a leading +, which is guarded.
        tricky.last_seen_at = Some(Timestamp(253_402_300_800_000));
        let mut bare = User::new(Id::parse("65f1c2a9e4b0a1b2c3d4e5fa").expect("id"), Timestamp(0));
        bare.profile.attributes = vec![Attribute { key: "Ünit".into(), value: json!(1.5) }];
        for (user, agent, online) in
            [(sample_user(), Some("Ann"), true), (tricky, Some("=A,B"), false), (bare, None, false)]
        {
            let mut expected = CsvRows::new();
            expected.write_row(&record(&user, agent, &keys, online)).expect("write");
            let mut written = CsvRows::new();
            written.write_user(&user, agent, &keys, online);
            written.write_user(&user, agent, &keys, online);
            let expected = String::from_utf8(expected.take_bytes()).expect("utf-8");
            assert_eq!(String::from_utf8(written.take_bytes()).expect("utf-8"), format!("{expected}{expected}"));
        }
    }

    #[test]
    fn quoting_is_seen_at_any_place_in_a_cell() {
        let plain = "abcdefghijklmnopqrstuvwxyzé€";
        assert!(!needs_quotes(plain));
        for special in [',', '"', '\n', '\r'] {
            for at in 0..=plain.chars().count() {
                let mut cell: String = plain.chars().take(at).collect();
                cell.push(special);
                cell.extend(plain.chars().skip(at));
                assert!(needs_quotes(&cell), "{cell:?}");
            }
        }
    }

    #[test]
    fn rows_are_taken_chunk_by_chunk_without_a_byte_order_mark() {
        let mut rows = CsvRows::new();
        rows.write_row(&["a".into(), "b, c".into()]).expect("write");
        assert_eq!(rows.take_bytes(), b"a,\"b, c\"\n");
        assert!(rows.is_empty());
        rows.write_row(&["line\nbreak".into(), "say \"hi\"".into()]).expect("write");
        assert_eq!(rows.take_bytes(), b"\"line\nbreak\",\"say \"\"hi\"\"\"\n");
    }
}
