//! The endpoints existing integrations call: attribute updates found by a search value.

use serde_json::{Map, Value};

use super::{check_user, commit, now, retrying, users, App, Workspace};
use crate::domain::{phone_digits, Id, Platform};
use crate::error::{Error, Result};
use crate::fields::{read_id, read_platform, read_text, type_name, Fields, Problems};
use crate::limits::{MAX_ATTRIBUTES, MAX_SHORT_TEXT};
use crate::model::{input::read_attribute_value, merge_attributes, User};
use crate::store::Commit;

struct AttributeUpdate {
    search: String,
    attributes: Vec<(String, Option<Value>)>,
    bot: Option<Id>,
    platform: Option<Platform>,
}

fn parse(body: &Value) -> Result<AttributeUpdate> {
    let mut problems = Problems::default();
    let mut fields = Fields::of(body, "", &mut problems).ok_or_else(|| Error::BadRequest(problems.clone()))?;
    let search = fields.field("search", &mut problems, read_text(MAX_SHORT_TEXT)).value();
    let attributes = fields.field("attributes", &mut problems, read_attribute_map).value();
    let bot = fields.field("botId", &mut problems, read_id).value();
    let platform = fields.field("platform", &mut problems, read_platform);
    fields.finish(&mut problems);
    let search = search.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if search.is_none() {
        problems.add("search", "is required and must not be empty");
    }
    if attributes.is_none() && problems.is_empty() {
        problems.add("attributes", "is required");
    }
    match (search, attributes, problems.is_empty()) {
        (Some(search), Some(attributes), true) => {
            Ok(AttributeUpdate { search, attributes, bot, platform: platform.value() })
        }
        _ => Err(Error::BadRequest(problems)),
    }
}

fn read_attribute_map(value: &Value, path: &str, problems: &mut Problems) -> Option<Vec<(String, Option<Value>)>> {
    let Value::Object(map) = value else {
        problems.add(path, format!("must be an object of key: value, not {}", type_name(value)));
        return None;
    };
    if map.len() > MAX_ATTRIBUTES {
        problems.add(path, format!("has {} keys; at most {MAX_ATTRIBUTES} are allowed", map.len()));
        return None;
    }
    let map: &Map<String, Value> = map;
    let before = problems.len();
    let mut attributes = Vec::new();
    for (key, value) in map {
        let key_path = format!("{path}.{key}");
        if key.trim().is_empty() || key.chars().count() > MAX_SHORT_TEXT {
            problems.add(&key_path, format!("keys must be 1 to {MAX_SHORT_TEXT} characters"));
            continue;
        }
        if let Some(value) = read_attribute_value(Some(value), &key_path, problems) {
            attributes.push((key.trim().to_string(), value));
        }
    }
    (problems.len() == before).then_some(attributes)
}

/// Candidates by email, then by WhatsApp or phone digits, then by uuid.
fn candidates(workspace: &Workspace, search: &str) -> Vec<Id> {
    let engine = workspace.engine.read();
    let identities = engine.identities();
    let by_email = identities.by_email(search).to_vec();
    if !by_email.is_empty() {
        return by_email;
    }
    if let Some(digits) = phone_digits(search).filter(|d| !d.is_empty()) {
        let mut by_phone = identities.by_whatsapp(&digits).to_vec();
        by_phone.extend(identities.by_phone(&digits));
        if !by_phone.is_empty() {
            return by_phone;
        }
    }
    identities.by_uuid(search).to_vec()
}

fn in_scope(user: &User, bot: Option<Id>, platform: Option<Platform>) -> bool {
    bot.is_none_or(|bot| user.bots.contains(&Some(bot))) && platform.is_none_or(|p| user.bot(p).is_some())
}

/// PUT /integrations/custom-app/update-user-attributes.
pub async fn update_user_attributes(app: &App, workspace: &Workspace, body: &Value) -> Result<Value> {
    let update = parse(body)?;
    let _write = workspace.writer.lock().await;
    let update = &update;
    retrying(|| async move {
        let ids = candidates(workspace, &update.search);
        let found = app.store.users_versioned(workspace.id, &ids).await?;
        let Some((mut user, version)) = found.into_iter().find(|(u, _)| in_scope(u, update.bot, update.platform))
        else {
            return Err(Error::NotFound(format!("no user matches {:?}", update.search)));
        };
        let before = user.profile.attributes.clone();
        merge_attributes(&mut user.profile.attributes, &update.attributes);
        if user.profile.attributes != before {
            user.updated_at = now().max(user.updated_at);
        }
        let mut problems = Problems::default();
        check_user(&user, &workspace.catalog.read(), "", &mut problems);
        problems.into_result(())?;
        let expected = [(user.id, version)].into();
        commit(app, workspace, Commit { upsert: vec![user.clone()], expected, ..Commit::default() }).await?;
        Ok(users::render(workspace, &user))
    })
    .await
}
