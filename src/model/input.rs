//! The input shape of import rows and PUT bodies (contract section 5), read strictly.

use serde_json::Value;

use crate::domain::{phone_digits, Id, Phone, Platform, Status};
use crate::fields::{read_array, read_id, read_status, read_text, type_name, Field, Fields, Problems};
use crate::limits::{MAX_ATTRIBUTES, MAX_LONG_TEXT, MAX_NOTES_PER_WRITE, MAX_SHORT_TEXT, MAX_TAGS};

/// Where the input comes from: the rules differ a little.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum InputKind {
    Import,
    Put,
}

/// Only the fields given change; `Field::Null` clears a nullable field.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct UserInput {
    /// Import only: the user to update.
    pub id: Option<Id>,
    pub uuid: Field<String>,
    pub status: Option<Status>,
    pub is_contact: Option<bool>,
    pub is_subscriber: Option<bool>,
    pub is_user_blocked: Option<bool>,
    pub is_live_chat_active: Option<bool>,
    pub bots: [Field<Id>; 4],
    pub agent: Field<Id>,
    pub name: Field<String>,
    pub user_provided_name: Field<String>,
    pub picture: Field<String>,
    pub email: Field<String>,
    pub phone: Field<Phone>,
    pub whatsapp_number: Field<String>,
    pub telegram_user_name: Field<String>,
    pub facebook_profile_id: Field<String>,
    pub instagram_profile_id: Field<String>,
    pub city: Field<String>,
    pub country: Field<String>,
    pub tags: Option<Vec<String>>,
    /// A None value removes the key.
    pub attributes: Option<Vec<(String, Option<Value>)>>,
    pub notes: Vec<NoteInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NoteInput {
    pub id: Option<Id>,
    pub title: String,
    pub description: String,
}

/// Fields of the user object that the server owns: a PUT of a whole user ignores them.
const SERVER_OWNED: [&str; 11] = [
    "_id",
    "createdAt",
    "updatedAt",
    "lastSeenAt",
    "isOnline",
    "userInteracted",
    "platform",
    "segments",
    "hasOrdered",
    "lastMessage",
    "unreadMessages",
];

impl UserInput {
    pub fn parse(value: &Value, path: &str, kind: InputKind, problems: &mut Problems) -> Option<UserInput> {
        let before = problems.len();
        let mut body = Fields::of(value, path, problems)?;
        let mut input = UserInput::default();
        match kind {
            InputKind::Import => input.id = body.field("_id", problems, read_id).value(),
            InputKind::Put => body.ignore(&SERVER_OWNED),
        }
        input.uuid = body.field("uuid", problems, read_text(MAX_SHORT_TEXT));
        let status = body.field("status", problems, read_status);
        input.status = not_null(&body, "status", status, problems);
        let is_contact = body.boolean("isContact", problems);
        input.is_contact = not_null(&body, "isContact", is_contact, problems);
        let is_subscriber = body.boolean("isSubscriber", problems);
        input.is_subscriber = not_null(&body, "isSubscriber", is_subscriber, problems);
        let is_user_blocked = body.boolean("isUserBlocked", problems);
        input.is_user_blocked = not_null(&body, "isUserBlocked", is_user_blocked, problems);
        if kind == InputKind::Put || body.has("isLiveChatActive") {
            let live = body.boolean("isLiveChatActive", problems);
            if kind == InputKind::Import {
                problems.add(&body.path_of("isLiveChatActive"), "can only be set by PUT /inbox/users/{id}");
            }
            input.is_live_chat_active = not_null(&body, "isLiveChatActive", live, problems);
        }
        for platform in Platform::ALL {
            input.bots[platform.index()] = body.field(platform.bot_field(), problems, read_id);
        }
        input.agent = body.field("_agentAssigned", problems, read_id);
        if let Some(profile) = body.raw("profile") {
            read_profile(profile, &body.path_of("profile"), kind, &mut input, problems);
        }
        body.finish(problems);
        (problems.len() == before).then_some(input)
    }
}

/// Fields that cannot be cleared: null is a problem, missing is no change.
fn not_null<T>(body: &Fields, key: &str, field: Field<T>, problems: &mut Problems) -> Option<T> {
    match field {
        Field::Null => {
            problems.add(&body.path_of(key), "must not be null");
            None
        }
        other => other.value(),
    }
}

fn read_profile(value: &Value, path: &str, kind: InputKind, input: &mut UserInput, problems: &mut Problems) {
    if value.is_null() {
        return;
    }
    let Some(mut profile) = Fields::of(value, path, problems) else { return };
    if let Some(details) = profile.raw("userDetails") {
        if !details.is_null() {
            read_details(details, &profile.path_of("userDetails"), input, problems);
        }
    }
    if let Some(notes) = profile.raw("notes") {
        let notes_path = profile.path_of("notes");
        if kind == InputKind::Import {
            problems.add(&notes_path, "can only be set by PUT /inbox/users/{id}");
        } else if !notes.is_null() {
            input.notes = read_array(notes, &notes_path, MAX_NOTES_PER_WRITE, problems, read_note).unwrap_or_default();
        }
    }
    profile.finish(problems);
}

fn read_details(value: &Value, path: &str, input: &mut UserInput, problems: &mut Problems) {
    let Some(mut details) = Fields::of(value, path, problems) else { return };
    let short = read_text(MAX_SHORT_TEXT);
    input.name = details.field("name", problems, &short).map(|s| s.trim().to_string());
    input.user_provided_name = details.field("userProvidedName", problems, &short).map(|s| s.trim().to_string());
    input.picture = details.field("picture", problems, read_text(MAX_LONG_TEXT));
    if let Some(contact) = details.raw("contact") {
        if !contact.is_null() {
            read_contact(contact, &details.path_of("contact"), input, problems);
        }
    }
    input.whatsapp_number = details.field("whatsAppNumber", problems, &short).map(|s| s.trim().to_string());
    input.telegram_user_name = details.field("telegramUserName", problems, &short).map(|s| s.trim().to_string());
    input.facebook_profile_id = details.field("facebookProfileId", problems, &short).map(|s| s.trim().to_string());
    input.instagram_profile_id = details.field("instagramProfileId", problems, &short).map(|s| s.trim().to_string());
    input.city = details.field("city", problems, &short);
    input.country = details.field("country", problems, &short);
    input.tags = match details.field("tags", problems, |v, p, pr| read_array(v, p, MAX_TAGS, pr, &short)) {
        Field::Set(tags) => Some(clean_tags(tags)),
        Field::Null => Some(Vec::new()),
        Field::Missing => None,
    };
    input.attributes = match details.raw("attributes") {
        Some(Value::Null) | None => None,
        Some(attrs) => read_array(attrs, &details.path_of("attributes"), MAX_ATTRIBUTES, problems, read_attribute),
    };
    details.finish(problems);
}

fn read_contact(value: &Value, path: &str, input: &mut UserInput, problems: &mut Problems) {
    let Some(mut contact) = Fields::of(value, path, problems) else { return };
    input.email = contact.field("email", problems, read_email);
    input.phone = contact.field("phone", problems, read_phone);
    contact.finish(problems);
}

fn read_email(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let email = read_text(MAX_SHORT_TEXT)(value, path, problems)?.trim().to_string();
    if email.is_empty() {
        return Some(email);
    }
    let valid = email
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
        && !email.chars().any(char::is_whitespace);
    if !valid {
        problems.add(path, format!("{email:?} is not an email address"));
        return None;
    }
    Some(email)
}

/// A text made of digits and phone punctuation; kept as digits only.
fn read_digits_text(value: &Value, path: &str, problems: &mut Problems) -> Option<String> {
    let text = match value {
        Value::Number(n) if n.is_u64() => n.to_string(),
        other => read_text(MAX_SHORT_TEXT)(other, path, problems)?,
    };
    let digits = phone_digits(text.trim());
    if digits.is_none() {
        problems.add(path, format!("{text:?} is not a phone number (digits, spaces and + - ( ) . only)"));
    }
    digits
}

fn read_phone(value: &Value, path: &str, problems: &mut Problems) -> Option<Phone> {
    let before = problems.len();
    let mut phone = Fields::of(value, path, problems)?;
    let number = phone.field("number", problems, read_digits_text);
    let prefix = phone.field("prefix", problems, read_digits_text);
    phone.finish(problems);
    let number = match number {
        Field::Set(n) if !n.is_empty() => n,
        Field::Missing if problems.len() > before => return None,
        Field::Set(_) | Field::Missing | Field::Null => {
            problems.add(&crate::fields::join(path, "number"), "is required when a phone is given");
            return None;
        }
    };
    Some(Phone { number, prefix: prefix.value().filter(|p| !p.is_empty()) })
}

/// Tags are trimmed, empty ones dropped, and only the first of those equal ignoring case kept.
pub fn clean_tags(tags: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim();
        if !tag.is_empty() && !kept.iter().any(|k| k.to_lowercase() == tag.to_lowercase()) {
            kept.push(tag.to_string());
        }
    }
    kept
}

fn read_attribute(value: &Value, path: &str, problems: &mut Problems) -> Option<(String, Option<Value>)> {
    let mut attr = Fields::of(value, path, problems)?;
    let key = attr.field("key", problems, read_text(MAX_SHORT_TEXT));
    let value = attr.raw("value");
    attr.finish(problems);
    let key = match key {
        Field::Set(k) if !k.trim().is_empty() => k.trim().to_string(),
        _ => {
            problems.add(&crate::fields::join(path, "key"), "is required and must be a non-empty string");
            return None;
        }
    };
    let value = read_attribute_value(value, &crate::fields::join(path, "value"), problems)?;
    Some((key, value))
}

/// A string, number or boolean; null (or absent) removes the key.
pub fn read_attribute_value(value: Option<&Value>, path: &str, problems: &mut Problems) -> Option<Option<Value>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(Value::String(s)) if s.chars().count() > MAX_LONG_TEXT => {
            problems.add(path, format!("is longer than {MAX_LONG_TEXT} characters"));
            None
        }
        Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => Some(Some(v.clone())),
        Some(other) => {
            problems.add(path, format!("must be a string, number, boolean or null, not {}", type_name(other)));
            None
        }
    }
}

fn read_note(value: &Value, path: &str, problems: &mut Problems) -> Option<NoteInput> {
    let mut note = Fields::of(value, path, problems)?;
    let id = note.field("_id", problems, read_id).value();
    let title = note.field("title", problems, read_text(MAX_SHORT_TEXT)).value().unwrap_or_default();
    let description = note.field("description", problems, read_text(MAX_LONG_TEXT)).value().unwrap_or_default();
    note.finish(problems);
    Some(NoteInput { id, title, description })
}
