//! A CSV body with the export's columns read back into import rows of the JSON input shape.

use std::collections::HashSet;

use csv::ByteRecord;
use serde_json::{json, Map, Value};

use super::export::{ATTRIBUTE_PREFIX, FIXED_COLUMNS};
use super::reads_as_formula;
use crate::domain::Phone;
use crate::fields::Problems;
use crate::limits::MAX_IMPORT_ROWS;

/// Spreadsheets saving "CSV UTF-8" put one in front; the export writes none.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Malformed rows listed before giving up on a body: enough to see the pattern.
const MAX_ROW_PROBLEMS: usize = 100;

/// Where the cells of one column go in the input shape.
#[derive(Clone, Debug, PartialEq)]
enum Column {
    /// A top-level field, by its JSON name: _id, uuid, status, _agentAssigned.
    Top(&'static str),
    /// isContact, isSubscriber, isUserBlocked.
    Flag(&'static str),
    /// A text field of profile.userDetails.
    Detail(&'static str),
    Email,
    Phone,
    Tags,
    Attribute(String),
    /// An export column that the input shape does not take (platform, createdAt, lastMessage*, ...).
    Ignored,
}

/// Reads a CSV body whose header row uses the export's column names into one JSON object per data
/// row, in the input shape of a JSON import row, ready for `UserInput::parse`. Rows count from 0,
/// the first data row being row 0.
///
/// - An empty cell (or one of only whitespace) means "not given": its field is left out of the
///   object, so an update leaves that field as it is. A CSV import can therefore not clear a field.
/// - A cell loses one leading `'` that guards a formula-like start (the export's `neutralise`).
/// - tags are split on `;`, trimmed, empty pieces dropped; phone is parsed from its international
///   form; isContact, isSubscriber and isUserBlocked read "true"/"false" in any case; each
///   `attributes.<key>` cell becomes an attribute with a string value (CSV has no types: the import
///   reads it against the attribute the user holds, `model::typed_like`). Values these rules cannot
///   read are passed on as strings, so that `UserInput::parse` rejects the row naming the field.
///
/// A whole-body error: no header row, an unknown or repeated column, a row with another number of
/// cells than the header, text that is not UTF-8, more than `MAX_IMPORT_ROWS` rows.
pub fn parse(body: &[u8]) -> Result<Vec<Value>, Problems> {
    let body = body.strip_prefix(UTF8_BOM).unwrap_or(body);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(body);
    let mut records = reader.byte_records();
    let mut problems = Problems::default();
    let columns = match records.next() {
        Some(Ok(header)) => read_header(&header, &mut problems),
        Some(Err(error)) => {
            problems.add("header", format!("is not valid CSV: {error}"));
            Vec::new()
        }
        None => {
            problems.add("", "has no header row (a CSV import needs the export's column names first)");
            Vec::new()
        }
    };
    if !problems.is_empty() {
        return Err(problems);
    }
    let rows = read_rows(records, &columns, &mut problems);
    problems.into_result(rows)
}

/// The data rows; once a row is malformed, the others are only checked, not kept.
fn read_rows(
    records: impl Iterator<Item = csv::Result<ByteRecord>>,
    columns: &[(String, Column)],
    problems: &mut Problems,
) -> Vec<Value> {
    let mut rows = Vec::new();
    for (row, record) in records.enumerate() {
        if row == MAX_IMPORT_ROWS {
            problems.add("", format!("has more than {MAX_IMPORT_ROWS} rows; at most {MAX_IMPORT_ROWS} are allowed"));
            break;
        }
        if problems.len() == MAX_ROW_PROBLEMS {
            problems.add("", format!("has more malformed rows; only the first {MAX_ROW_PROBLEMS} are listed"));
            break;
        }
        let record = record.map_err(|error| format!("is not valid CSV: {error}"));
        match record.and_then(|record| read_row(&record, columns)) {
            Ok(value) if problems.is_empty() => rows.push(value),
            Ok(_) => {}
            Err(problem) => problems.add(&format!("row {row}"), problem),
        }
    }
    rows
}

/// Each column's name and where its cells go; every problem is added to `problems`.
fn read_header(header: &ByteRecord, problems: &mut Problems) -> Vec<(String, Column)> {
    let mut columns = Vec::with_capacity(header.len());
    let mut seen = HashSet::new();
    for (i, name) in header.iter().enumerate() {
        let Ok(name) = std::str::from_utf8(name) else {
            problems.add("header", format!("column {i} is not valid UTF-8"));
            continue;
        };
        match column(name) {
            Err(problem) => problems.add("header", problem),
            Ok(column) if !seen.insert(column_identity(name, &column)) => {
                problems.add("header", format!("column {name:?} is given twice"));
            }
            Ok(column) => columns.push((name.to_string(), column)),
        }
    }
    columns
}

fn column(name: &str) -> Result<Column, String> {
    if let Some(key) = name.strip_prefix(ATTRIBUTE_PREFIX) {
        if key.trim().is_empty() {
            return Err(format!("column {name:?} names no attribute key (write attributes.<key>)"));
        }
        return Ok(Column::Attribute(key.to_string()));
    }
    let Some(name) = FIXED_COLUMNS.iter().copied().find(|fixed| *fixed == name) else {
        return Err(format!("unknown column {name:?} (allowed: the export's column names, and attributes.<key>)"));
    };
    Ok(match name {
        "_id" | "uuid" | "status" => Column::Top(name),
        "agentId" => Column::Top("_agentAssigned"),
        "isContact" | "isSubscriber" | "isUserBlocked" => Column::Flag(name),
        "name" | "userProvidedName" | "whatsAppNumber" | "telegramUserName" | "facebookProfileId" | "city"
        | "country" => Column::Detail(name),
        "email" => Column::Email,
        "phone" => Column::Phone,
        "tags" => Column::Tags,
        _ => Column::Ignored,
    })
}

/// What makes two columns the same one: attribute keys compare ignoring ASCII case, as users' keys do.
fn column_identity(name: &str, column: &Column) -> String {
    match column {
        Column::Attribute(key) => format!("{ATTRIBUTE_PREFIX}{}", key.trim().to_ascii_lowercase()),
        _ => name.to_string(),
    }
}

/// One data row as a JSON object of the input shape, or the problem that makes the body malformed.
fn read_row(record: &ByteRecord, columns: &[(String, Column)]) -> Result<Value, String> {
    if record.len() != columns.len() {
        return Err(format!("has {} cells; the header has {}", record.len(), columns.len()));
    }
    let mut row = Row::default();
    for (cell, (name, column)) in record.iter().zip(columns) {
        let cell = std::str::from_utf8(cell).map_err(|_| format!("the {name} cell is not valid UTF-8"))?;
        row.set(column, restore(cell));
    }
    Ok(row.into_value())
}

/// Takes off the `'` that the export's `neutralise` put in front of a formula-like cell.
fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if reads_as_formula(rest) => rest,
        _ => cell,
    }
}

/// The parts of the input shape one row fills, put together by `into_value`.
#[derive(Default)]
struct Row {
    top: Map<String, Value>,
    details: Map<String, Value>,
    contact: Map<String, Value>,
    attributes: Vec<Value>,
}

impl Row {
    fn set(&mut self, column: &Column, cell: &str) {
        if cell.trim().is_empty() {
            return;
        }
        let text = Value::String(cell.to_string());
        match column {
            Column::Top(key) => self.top.insert(key.to_string(), text),
            Column::Flag(key) => self.top.insert(key.to_string(), flag(cell).unwrap_or(text)),
            Column::Detail(key) => self.details.insert(key.to_string(), text),
            Column::Email => self.contact.insert("email".into(), text),
            Column::Phone => self.contact.insert("phone".into(), phone(cell)),
            Column::Tags => self.details.insert("tags".into(), tags(cell)),
            Column::Attribute(key) => {
                self.attributes.push(json!({"key": key, "value": text}));
                None
            }
            Column::Ignored => None,
        };
    }

    fn into_value(self) -> Value {
        let Row { mut top, mut details, contact, attributes } = self;
        if !contact.is_empty() {
            details.insert("contact".into(), Value::Object(contact));
        }
        if !attributes.is_empty() {
            details.insert("attributes".into(), Value::Array(attributes));
        }
        if !details.is_empty() {
            top.insert("profile".into(), json!({ "userDetails": details }));
        }
        Value::Object(top)
    }
}

/// "true" or "false" in any case; None for anything else, which validation then reports.
fn flag(cell: &str) -> Option<Value> {
    let cell = cell.trim();
    if cell.eq_ignore_ascii_case("true") {
        Some(Value::Bool(true))
    } else if cell.eq_ignore_ascii_case("false") {
        Some(Value::Bool(false))
    } else {
        None
    }
}

/// The international form `+<prefix><number>`, or bare digits as a number without a prefix. An
/// unreadable phone is passed on as its number, so that validation names
/// `profile.userDetails.contact.phone.number` and shows the value.
fn phone(cell: &str) -> Value {
    match Phone::parse_international(cell) {
        Some(phone) => json!({"number": phone.number, "prefix": phone.prefix}),
        None => json!({ "number": cell }),
    }
}

fn tags(cell: &str) -> Value {
    cell.split(';').map(str::trim).filter(|tag| !tag.is_empty()).map(|tag| Value::String(tag.into())).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{InputKind, UserInput};

    fn problems_of(body: &str) -> Vec<String> {
        parse(body.as_bytes()).expect_err("a whole-body error").0
    }

    fn input_problems(row: &Value) -> Vec<String> {
        let mut problems = Problems::default();
        UserInput::parse(row, "", InputKind::Import, &mut problems);
        problems.0
    }

    #[test]
    fn unknown_columns_reject_the_whole_body_naming_each() {
        let problems = problems_of("name,foo,email,Tags\nAnn,x,a@b.co,vip\n");
        assert_eq!(problems.len(), 2);
        assert!(problems[0].starts_with("header: unknown column \"foo\""), "{problems:?}");
        assert!(problems[1].starts_with("header: unknown column \"Tags\""), "{problems:?}");
    }

    #[test]
    fn an_attribute_column_needs_a_key() {
        let problems = problems_of("name,attributes.\nAnn,x\n");
        assert_eq!(problems, ["header: column \"attributes.\" names no attribute key (write attributes.<key>)"]);
    }

    #[test]
    fn a_column_given_twice_is_refused() {
        let problems = problems_of("name,attributes.plan,name,attributes.PLAN\nAnn,a,b,c\n");
        assert_eq!(
            problems,
            ["header: column \"name\" is given twice", "header: column \"attributes.PLAN\" is given twice"]
        );
    }

    #[test]
    fn export_columns_the_input_shape_does_not_take_are_ignored() {
        let body = "name,platform,agent,createdAt,updatedAt,lastSeenAt,lastMessageAt,lastMessageBy,lastMessageText,\
                    userInteracted,isOnline,isLiveChatActive,hasOrdered,lastOrderAt,orderCount,unreadMessages\n\
                    Ann,WHATSAPP,Bob,2025-03-01T10:00:00.000Z,x,x,x,user,hi,true,true,true,true,x,3,2\n";
        let rows = parse(body.as_bytes()).expect("rows");
        assert_eq!(rows, [json!({"profile": {"userDetails": {"name": "Ann"}}})]);
    }

    #[test]
    fn empty_cells_are_left_out() {
        let body = "_id,uuid,name,email,phone,tags,isContact,attributes.plan,city\n,,Ann,,,,, ,\n";
        let rows = parse(body.as_bytes()).expect("rows");
        assert_eq!(rows, [json!({"profile": {"userDetails": {"name": "Ann"}}})]);
    }

    #[test]
    fn cells_go_to_their_place_in_the_input_shape() {
        let body = "_id,uuid,status,agentId,isContact,isSubscriber,isUserBlocked,name,email,phone,tags,attributes.plan\n\
                    65f1c2a9e4b0a1b2c3d4e5f6,u-1,CLOSED,65f1c2a9e4b0a1b2c3d4e5f9,TRUE,false,False,Ann,a@b.co,'+27825551234,\
                    \" vip ;; Café \",gold\n";
        let rows = parse(body.as_bytes()).expect("rows");
        let expected = json!({
            "_id": "65f1c2a9e4b0a1b2c3d4e5f6", "uuid": "u-1", "status": "CLOSED",
            "_agentAssigned": "65f1c2a9e4b0a1b2c3d4e5f9",
            "isContact": true, "isSubscriber": false, "isUserBlocked": false,
            "profile": {"userDetails": {
                "name": "Ann",
                "contact": {"email": "a@b.co", "phone": {"number": "825551234", "prefix": "27"}},
                "tags": ["vip", "Café"],
                "attributes": [{"key": "plan", "value": "gold"}],
            }},
        });
        assert_eq!(rows, [expected]);
        assert_eq!(input_problems(&rows[0]), Vec::<String>::new());
    }

    #[test]
    fn a_phone_without_plus_is_a_number_without_prefix() {
        let rows = parse(b"phone\n082 555 1234\n").expect("rows");
        let phone = &rows[0]["profile"]["userDetails"]["contact"]["phone"];
        assert_eq!(phone, &json!({"number": "0825551234", "prefix": null}));
    }

    #[test]
    fn an_unreadable_phone_rejects_the_row_naming_the_field() {
        let rows = parse(b"name,phone\nAnn,call me\n").expect("rows");
        let problems = input_problems(&rows[0]);
        let named = |p: &String| p.starts_with("profile.userDetails.contact.phone.number: \"call me\"");
        assert!(problems.iter().any(named), "{problems:?}");
    }

    #[test]
    fn an_unreadable_boolean_rejects_the_row_naming_the_field() {
        let rows = parse(b"isSubscriber\nyes\n").expect("rows");
        assert_eq!(rows[0], json!({"isSubscriber": "yes"}));
        assert_eq!(input_problems(&rows[0]), ["isSubscriber: must be a boolean, not a string"]);
    }

    #[test]
    fn only_a_quote_guarding_a_formula_is_stripped() {
        let body = "name,city,country,uuid\n'=1+1,'hello,''-x,'\n";
        let rows = parse(body.as_bytes()).expect("rows");
        let expected =
            json!({"uuid": "'", "profile": {"userDetails": {"name": "=1+1", "city": "'hello", "country": "'-x"}}});
        assert_eq!(rows, [expected]);
    }

    #[test]
    fn a_row_with_another_number_of_cells_names_the_row() {
        let problems = problems_of("name,city\nAnn,Durban\nBob\nCy,Cape Town,extra\n");
        assert_eq!(problems, ["row 1: has 1 cells; the header has 2", "row 2: has 3 cells; the header has 2"]);
    }

    #[test]
    fn text_that_is_not_utf8_names_the_row() {
        let problems = parse(b"name,city\nAnn,Durban\nBob,S\xE3o Paulo\n").expect_err("error").0;
        assert_eq!(problems, ["row 1: the city cell is not valid UTF-8"]);
        let problems = parse(b"na\xFFme\nAnn\n").expect_err("error").0;
        assert_eq!(problems, ["header: column 0 is not valid UTF-8"]);
    }

    #[test]
    fn a_body_without_a_header_is_refused() {
        assert_eq!(problems_of("").len(), 1);
        assert!(problems_of("\n\n")[0].starts_with("body: has no header row"));
    }

    #[test]
    fn a_header_alone_is_no_rows() {
        assert_eq!(parse(b"name,email\n").expect("rows"), Vec::<Value>::new());
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let rows = parse(b"\xEF\xBB\xBFname\r\nAnn\r\n").expect("rows");
        assert_eq!(rows, [json!({"profile": {"userDetails": {"name": "Ann"}}})]);
    }

    #[test]
    fn more_rows_than_an_import_takes_are_refused() {
        let body = format!("name\n{}", "Ann\n".repeat(MAX_IMPORT_ROWS + 1));
        assert_eq!(
            problems_of(&body),
            [format!("body: has more than {MAX_IMPORT_ROWS} rows; at most {MAX_IMPORT_ROWS} are allowed")]
        );
    }
}
