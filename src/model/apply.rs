//! Applying an input to a user document: only the fields given change.

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
pub fn merge_attributes(attributes: &mut Vec<Attribute>, changes: &[(String, Option<serde_json::Value>)]) {
    for (key, value) in changes {
        let folded = key.to_lowercase();
        let existing = attributes.iter().position(|a| a.key.to_lowercase() == folded);
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

fn append_notes(notes: &mut Vec<Note>, added: &[NoteInput]) {
    for note in added.iter().filter(|n| n.id.is_none()) {
        notes.push(Note { id: Id::generate(), title: note.title.clone(), description: note.description.clone() });
    }
}
