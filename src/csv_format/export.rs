//! Users written as the export's CSV rows: the columns, their cells and a writer for streaming them.

use crate::domain::{Platform, Timestamp};
use crate::model::{attribute_text, User};

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

    /// The bytes written since the last call, leaving the buffer empty.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
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
    fn rows_are_taken_chunk_by_chunk_without_a_byte_order_mark() {
        let mut rows = CsvRows::new();
        rows.write_row(&["a".into(), "b, c".into()]).expect("write");
        assert_eq!(rows.take_bytes(), b"a,\"b, c\"\n");
        assert!(rows.is_empty());
        rows.write_row(&["line\nbreak".into(), "say \"hi\"".into()]).expect("write");
        assert_eq!(rows.take_bytes(), b"\"line\nbreak\",\"say \"\"hi\"\"\"\n");
    }
}
