//! Import: each row an upsert matched by _id, uuid, email, then phone (contract section 5).

use std::collections::HashMap;

use serde_json::{json, Value};

use super::{check_user, commit, expected, load_versioned, now, retrying, App, Loaded, Workspace};
use crate::domain::{Id, Platform};
use crate::engine::{Identities, Keys};
use crate::error::{Error, Result};
use crate::fields::{type_name, Field, Problems};
use crate::limits::MAX_IMPORT_ROWS;
use crate::model::{apply_input, typed_like, InputKind, User, UserInput};
use crate::store::Commit;
use crate::webhooks::Trigger;

/// The users this import has touched so far, so later rows match earlier ones.
#[derive(Default)]
struct Batch {
    users: HashMap<Id, User>,
    identities: Identities,
    keys: HashMap<Id, Keys>,
    created: Vec<Id>,
    order: Vec<Id>,
}

impl Batch {
    fn remember(&mut self, user: User) {
        let keys = Keys::of(&user);
        if let Some(old) = self.keys.insert(user.id, keys.clone()) {
            self.identities.remove(user.id, &old);
        }
        self.identities.add(user.id, &keys);
        if !self.users.contains_key(&user.id) {
            self.order.push(user.id);
        }
        self.users.insert(user.id, user);
    }
}

/// The id of the user a row updates, or None when it creates one.
fn find_match(input: &UserInput, batch: &Batch, known: &Identities) -> Option<Id> {
    let first = |f: &dyn Fn(&Identities) -> Vec<Id>| f(&batch.identities).first().or(f(known).first()).copied();
    if let Some(uuid) = input.uuid.clone().value().filter(|u| !u.is_empty()) {
        if let Some(id) = first(&|ids| ids.by_uuid(&uuid).to_vec()) {
            return Some(id);
        }
    }
    if let Some(email) = input.email.clone().value().filter(|e| !e.is_empty()) {
        if let Some(id) = first(&|ids| ids.by_email(&email).to_vec()) {
            return Some(id);
        }
    }
    if let Some(phone) = input.phone.clone().value() {
        return first(&|ids| ids.by_phone(&phone.digits()).to_vec());
    }
    None
}

/// How the rows of an import were written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Json,
    /// CSV cells have no types: attribute values are read against the attributes the user holds
    /// (`model::typed_like`).
    Csv,
}

/// Applies the rows; rejected rows change nothing and the others are committed together.
pub async fn import(app: &App, workspace: &Workspace, body: &Value, bot: Option<Id>, source: Source) -> Result<Value> {
    let Value::Array(rows) = body else {
        return Err(Error::bad("", format!("must be an array of users, not {}", type_name(body))));
    };
    if rows.len() > MAX_IMPORT_ROWS {
        return Err(Error::bad("", format!("has {} rows; at most {MAX_IMPORT_ROWS} are allowed", rows.len())));
    }
    let default_bot = match bot {
        None => None,
        Some(id) => match workspace.catalog.read().bot_platform(id) {
            Some(platform) => Some((platform, id)),
            None => return Err(Error::bad("botId", format!("{id} names no bot of this workspace"))),
        },
    };
    let _write = workspace.writer.lock().await;
    let parsed: Vec<std::result::Result<UserInput, Problems>> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut problems = Problems::default();
            let input = UserInput::parse(row, &format!("[{i}]"), InputKind::Import, &mut problems);
            match input {
                Some(mut input) if problems.is_empty() => {
                    give_default_bot(&mut input, default_bot);
                    Ok(input)
                }
                _ => Err(problems),
            }
        })
        .collect();
    let parsed = &parsed;
    retrying(|| import_once(app, workspace, parsed, source)).await
}

/// One attempt at applying the parsed rows: read, apply, commit. The caller holds the write lock.
async fn import_once(
    app: &App,
    workspace: &Workspace,
    parsed: &[std::result::Result<UserInput, Problems>],
    source: Source,
) -> Result<Value> {
    // Fetch every existing user a row may update in one read.
    let wanted: Vec<Id> = {
        let engine = workspace.engine.read();
        let empty = Batch::default();
        let mut ids: Vec<Id> = parsed
            .iter()
            .filter_map(|row| row.as_ref().ok())
            .filter_map(|input| input.id.or_else(|| find_match(input, &empty, engine.identities())))
            .filter(|id| engine.contains(*id))
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let Loaded { users: mut existing, versions } = load_versioned(&*app.store, workspace, &wanted).await?;
    let at = now();
    let mut batch = Batch::default();
    let mut ids = Vec::with_capacity(parsed.len());
    let mut rejected = Vec::new();
    let mut updated = 0;
    for (i, row) in parsed.iter().enumerate() {
        let outcome = row.as_ref().map_err(Clone::clone).and_then(|input| {
            let (engine, catalog) = (workspace.engine.read(), workspace.catalog.read());
            let against = Against { known: engine.identities(), catalog: &catalog, at };
            apply_row(input, i, source, &mut batch, &mut existing, &against)
        });
        match outcome {
            Ok((id, created)) => {
                ids.push(json!(id));
                if !created {
                    updated += 1;
                }
            }
            Err(problems) => {
                ids.push(Value::Null);
                rejected.push(json!({"row": i, "errors": problems.0}));
            }
        }
    }
    let created = batch.created.len();
    let triggers: Vec<Trigger> = batch.created.iter().map(|id| Trigger::NewLead(*id)).collect();
    let deliveries = workspace.deliveries(&triggers, |id| batch.users.get(&id));
    let upsert: Vec<User> = batch.order.iter().filter_map(|id| batch.users.remove(id)).collect();
    let expected = expected(&versions, &upsert);
    commit(app, workspace, Commit { upsert, deliveries, expected, ..Commit::default() }).await?;
    Ok(json!({"created": created, "updated": updated, "ids": ids, "rejected": rejected}))
}

fn give_default_bot(input: &mut UserInput, default_bot: Option<(Platform, Id)>) {
    if let Some((platform, id)) = default_bot {
        if input.bots.iter().all(Field::is_missing) {
            input.bots[platform.index()] = Field::Set(id);
        }
    }
}

/// What the rows are matched and checked against, and when they are applied.
struct Against<'a> {
    known: &'a Identities,
    catalog: &'a super::Catalog,
    at: crate::domain::Timestamp,
}

/// Applies one valid row: returns the user's id and whether it was created.
fn apply_row(
    input: &UserInput,
    row: usize,
    source: Source,
    batch: &mut Batch,
    existing: &mut HashMap<Id, User>,
    against: &Against,
) -> std::result::Result<(Id, bool), Problems> {
    let Against { known, catalog, at } = *against;
    let path = format!("[{row}]");
    let target = match input.id {
        Some(id) => {
            if !batch.users.contains_key(&id) && !existing.contains_key(&id) {
                let mut problems = Problems::default();
                problems.add(&crate::fields::join(&path, "_id"), format!("{id} names no user of this workspace"));
                return Err(problems);
            }
            Some(id)
        }
        None => find_match(input, batch, known),
    };
    let current = target.and_then(|id| batch.users.get(&id).cloned().or_else(|| existing.get(&id).cloned()));
    let created = current.is_none();
    let mut user = current.unwrap_or_else(|| {
        let mut user = User::new(Id::generate(), at);
        user.is_contact = true;
        user
    });
    let typed;
    let input = match (source, &input.attributes) {
        (Source::Csv, Some(attributes)) => {
            typed = UserInput { attributes: Some(typed_like(attributes, &user.profile.attributes)), ..input.clone() };
            &typed
        }
        _ => input,
    };
    apply_input(&mut user, input, at, &path)?;
    let mut problems = Problems::default();
    check_user(&user, catalog, &path, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let id = user.id;
    if created {
        batch.created.push(id);
    }
    existing.remove(&id);
    batch.remember(user);
    Ok((id, created))
}
