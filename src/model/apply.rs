//! Applying an input to a user document: only the fields given change.

use serde_json::Value;

use crate::domain::{Id, Platform, Timestamp};
use crate::fields::{join, Field, Problems};
use crate::model::input::{NoteInput, UserInput};
use crate::model::{Attribute, Note, User};

fn set_optional<T: Clone>(target: &mut Option<T>, field: &Field<T>) {
    match field {
        Field::Missing => {}
        Field::Null => *target = None,
        Field::Set(value) => *target = Some(value.clone()),
    }
}

/// Empty strings clear a text field just as null does.
fn set_text(target: &mut Option<String>, field: &Field<String>) {
    match field {
        Field::Set(value) if value.is_empty() => *target = None,
        other => set_optional(target, other),
    }
}

/// Applies the input; a note `_id` the user does not have is a problem and nothing changes.
pub fn apply_input(user: &mut User, input: &UserInput, now: Timestamp, path: &str) -> Result<(), Problems> {
    let mut problems = Problems::default();
    for (i, note) in input.notes.iter().enumerate() {
        if let Some(id) = note.id {
            if !user.notes.iter().any(|n| n.id == id) {
                problems
                    .add(&join(path, &format!("profile.notes[{i}]._id")), format!("{id} names no note of this user"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let before = user.clone();
    set_text(&mut user.uuid, &input.uuid);
    if let Some(status) = &input.status {
        user.status = status.clone();
    }
    for (target, value) in [
        (&mut user.is_contact, input.is_contact),
        (&mut user.is_subscriber, input.is_subscriber),
        (&mut user.is_user_blocked, input.is_user_blocked),
        (&mut user.is_live_chat_active, input.is_live_chat_active),
    ] {
        if let Some(value) = value {
            *target = value;
        }
    }
    for platform in Platform::ALL {
        set_optional(&mut user.bots[platform.index()], &input.bots[platform.index()]);
    }
    set_optional(&mut user.agent, &input.agent);
    let profile = &mut user.profile;
    for (target, field) in [
        (&mut profile.name, &input.name),
        (&mut profile.user_provided_name, &input.user_provided_name),
        (&mut profile.picture, &input.picture),
        (&mut profile.email, &input.email),
        (&mut profile.whatsapp_number, &input.whatsapp_number),
        (&mut profile.telegram_user_name, &input.telegram_user_name),
        (&mut profile.facebook_profile_id, &input.facebook_profile_id),
        (&mut profile.instagram_profile_id, &input.instagram_profile_id),
        (&mut profile.city, &input.city),
        (&mut profile.country, &input.country),
    ] {
        set_text(target, field);
    }
    set_optional(&mut profile.phone, &input.phone);
    if let Some(tags) = &input.tags {
        profile.tags = tags.clone();
    }
    if let Some(attributes) = &input.attributes {
        merge_attributes(&mut profile.attributes, attributes);
    }
    append_notes(&mut user.notes, &input.notes);
    if *user != before {
        user.updated_at = now.max(user.updated_at);
    }
    Ok(())
}

/// Merges by key, ignoring case; a None value removes the key.
pub fn merge_attributes(attributes: &mut Vec<Attribute>, changes: &[(String, Option<Value>)]) {
    for (key, value) in changes {
        let existing = attributes.iter().position(|a| same_key(&a.key, key));
        match (existing, value) {
            (Some(i), Some(value)) => attributes[i] = Attribute { key: key.clone(), value: value.clone() },
            (Some(i), None) => {
                attributes.remove(i);
            }
            (None, Some(value)) => attributes.push(Attribute { key: key.clone(), value: value.clone() }),
            (None, None) => {}
        }
    }
}

/// Attribute changes read from text without types (CSV cells) as changes of the attributes the
/// user holds: a change of a key the user holds takes the user's spelling of the key, and that
/// attribute's type when the text reads as one (a number as written, `true`/`false` in any case).
/// Other text stays text. So an exported file imports back unchanged.
pub fn typed_like(changes: &[(String, Option<Value>)], held: &[Attribute]) -> Vec<(String, Option<Value>)> {
    changes
        .iter()
        .map(|(key, value)| match (held.iter().find(|a| same_key(&a.key, key)), value) {
            (Some(held), Some(Value::String(text))) => (held.key.clone(), Some(typed_as(text, &held.value))),
            (Some(held), other) => (held.key.clone(), other.clone()),
            (None, other) => (key.clone(), other.clone()),
        })
        .collect()
}

fn typed_as(text: &str, like: &Value) -> Value {
    let typed = match like {
        Value::Number(_) => serde_json::from_str::<serde_json::Number>(text).ok().map(Value::Number),
        Value::Bool(_) if text.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
        Value::Bool(_) if text.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
        _ => None,
    };
    typed.unwrap_or_else(|| Value::String(text.to_string()))
}

fn same_key(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

fn append_notes(notes: &mut Vec<Note>, added: &[NoteInput]) {
    for note in added.iter().filter(|n| n.id.is_none()) {
        notes.push(Note { id: Id::generate(), title: note.title.clone(), description: note.description.clone() });
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn held() -> Vec<Attribute> {
        [("Seats", json!(3)), ("vip", json!(true)), ("ratio", json!(0.25)), ("code", json!("007"))]
            .into_iter()
            .map(|(key, value)| Attribute { key: key.into(), value })
            .collect()
    }

    fn text_changes(cells: &[(&str, &str)]) -> Vec<(String, Option<Value>)> {
        cells.iter().map(|(key, text)| (key.to_string(), Some(json!(text)))).collect()
    }

    #[test]
    fn text_of_a_held_attribute_takes_its_type_and_spelling() {
        let changes = text_changes(&[("seats", "4"), ("VIP", "FALSE"), ("ratio", "0.5"), ("code", "008")]);
        assert_eq!(
            typed_like(&changes, &held()),
            [
                ("Seats".to_string(), Some(json!(4))),
                ("vip".to_string(), Some(json!(false))),
                ("ratio".to_string(), Some(json!(0.5))),
                ("code".to_string(), Some(json!("008"))),
            ]
        );
    }

    #[test]
    fn text_that_does_not_read_as_the_held_type_and_new_keys_stay_text() {
        let changes = text_changes(&[("seats", "four"), ("vip", "yes"), ("plan", "3")]);
        assert_eq!(
            typed_like(&changes, &held()),
            [
                ("Seats".to_string(), Some(json!("four"))),
                ("vip".to_string(), Some(json!("yes"))),
                ("plan".to_string(), Some(json!("3"))),
            ]
        );
    }

    #[test]
    fn an_exported_value_reads_back_as_itself() {
        for value in [json!(3), json!(-12), json!(0.1), json!(1e21), json!(u64::MAX), json!(true), json!(false)] {
            let text = crate::model::attribute_text(&value);
            assert_eq!(typed_as(&text, &value), value, "{text}");
        }
    }
}
