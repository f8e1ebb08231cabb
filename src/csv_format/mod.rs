//! The CSV form of users: the export's columns (contract section 7) and the import that reads them back.

pub mod export;
pub mod import;

/// The first characters that make a spreadsheet run a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether a cell, after any leading run of `'`, starts like a formula.
///
/// The export guards such cells with one more `'` and the import takes one off again. Looking past
/// a run of `'` (not only at the first character) is what keeps every value round-trippable: a value
/// that itself starts with `'=` is exported as `''=` and imported back as `'=`.
fn reads_as_formula(cell: &str) -> bool {
    // Every cell of an export is asked: most start with a letter or digit and are answered at once.
    match cell.as_bytes().first() {
        Some(b'\'' | b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => {
            cell.trim_start_matches('\'').starts_with(FORMULA_STARTS)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::export::{header, record, CsvRows};
    use super::import::parse;
    use crate::domain::{Id, Phone, Status, Timestamp};
    use crate::fields::{Field, Problems};
    use crate::model::{attribute_text, Attribute, InputKind, User, UserInput};

    fn user(id: &str) -> User {
        User::new(Id::parse(id).expect("id"), Timestamp(1_740_823_200_000))
    }

    fn users() -> Vec<User> {
        let mut jose = user("65f1c2a9e4b0a1b2c3d4e5f1");
        jose.uuid = Some("web-42".into());
        jose.is_contact = true;
        jose.is_subscriber = true;
        jose.profile.name = Some("José Müller".into());
        jose.profile.user_provided_name = Some("Zé".into());
        jose.profile.email = Some("jose@example.com".into());
        jose.profile.phone = Some(Phone { number: "825551234".into(), prefix: Some("27".into()) });
        jose.profile.city = Some("São Paulo, \"SP\"\nBrasil".into());
        jose.profile.tags = vec!["vip".into(), "Café".into()];
        jose.profile.attributes = vec![
            Attribute { key: "plan".into(), value: json!("gold") },
            Attribute { key: "seats".into(), value: json!(3) },
        ];

        let mut formula = user("65f1c2a9e4b0a1b2c3d4e5f2");
        formula.status = Status::parse("CLOSED").expect("status");
        formula.is_user_blocked = true;
        formula.profile.name = Some("=HYPERLINK(\"http://x\")".into());
        formula.profile.user_provided_name = Some("'=already quoted".into());
        formula.profile.phone = Some(Phone { number: "0825551234".into(), prefix: None });
        formula.profile.whatsapp_number = Some("27825551234".into());
        formula.profile.country = Some("\tTabbed".into());
        formula.profile.tags = vec!["@home".into(), "-minus".into()];
        formula.profile.attributes = vec![Attribute { key: "note".into(), value: json!("+1 more") }];

        let mut bare = user("65f1c2a9e4b0a1b2c3d4e5f3");
        bare.profile.phone = Some(Phone { number: "4155550100".into(), prefix: Some("1".into()) });
        vec![jose, formula, bare]
    }

    fn export(users: &[User], keys: &[String]) -> Vec<u8> {
        let mut rows = CsvRows::new();
        rows.write_row(&header(keys)).expect("header");
        let mut bytes = rows.take_bytes();
        for user in users {
            rows.write_row(&record(user, Some("Ann"), keys, false)).expect("row");
            bytes.extend(rows.take_bytes());
        }
        bytes
    }

    fn reimport(bytes: &[u8]) -> Vec<UserInput> {
        let rows = parse(bytes).expect("the export imports back");
        let read = |(i, row): (usize, &Value)| {
            let mut problems = Problems::default();
            let input = UserInput::parse(row, &format!("[{i}]"), InputKind::Import, &mut problems);
            input.unwrap_or_else(|| panic!("row {i} rejected: {problems:?}"))
        };
        rows.iter().enumerate().map(read).collect()
    }

    fn set<T: Clone>(value: &Option<T>) -> Field<T> {
        value.clone().map_or(Field::Missing, Field::Set)
    }

    #[test]
    fn an_exported_file_imports_back_unchanged() {
        let users = users();
        let keys: Vec<String> = ["note", "plan", "seats"].map(String::from).into();
        let bytes = export(&users, &keys);
        assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
        let inputs = reimport(&bytes);
        assert_eq!(inputs.len(), users.len());
        for (user, input) in users.iter().zip(&inputs) {
            let profile = &user.profile;
            assert_eq!(input.id, Some(user.id));
            assert_eq!(input.uuid, set(&user.uuid));
            assert_eq!(input.status.as_ref(), Some(&user.status));
            assert_eq!(input.is_contact, Some(user.is_contact));
            assert_eq!(input.is_subscriber, Some(user.is_subscriber));
            assert_eq!(input.is_user_blocked, Some(user.is_user_blocked));
            assert_eq!(input.name, set(&profile.name));
            assert_eq!(input.user_provided_name, set(&profile.user_provided_name));
            assert_eq!(input.email, set(&profile.email));
            assert_eq!(input.phone, set(&profile.phone));
            assert_eq!(input.whatsapp_number, set(&profile.whatsapp_number));
            assert_eq!(input.city, set(&profile.city));
            assert_eq!(input.country, set(&profile.country));
            let tags = (!profile.tags.is_empty()).then(|| profile.tags.clone());
            assert_eq!(input.tags, tags);
            let attributes: Vec<(String, Option<Value>)> = profile
                .attributes
                .iter()
                .map(|a| (a.key.clone(), Some(Value::String(attribute_text(&a.value)))))
                .collect();
            assert_eq!(input.attributes, (!attributes.is_empty()).then_some(attributes));
        }
    }

    #[test]
    fn formula_like_cells_are_guarded_in_the_file() {
        let users = users();
        let text = String::from_utf8(export(&users, &["note".into()])).expect("utf-8");
        assert!(text.contains("'+27825551234"), "{text}");
        assert!(text.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{text}");
        assert!(text.contains("''=already quoted"), "{text}");
        assert!(text.contains("'@home; -minus"), "{text}");
        assert!(text.contains("'+1 more"), "{text}");
    }
}
