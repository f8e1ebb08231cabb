//! Events that bots and channels report: messages, presence, orders, live chat, reads.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{commit_changing, expected, load_versioned, now, retrying, Ahead, App, Loaded, Workspace};
use crate::domain::{whatsapp_key, Id, Platform, Sender, Timestamp};
use crate::error::{Error, Result};
use crate::fields::{
    read_bool, read_id, read_number, read_platform, read_sender, read_text, read_timestamp, type_name, Fields, Problems,
};
use crate::limits::{MAX_EVENTS, MAX_LONG_TEXT, MAX_SHORT_TEXT};
use crate::model::{Activity, Message, User, UserActivity};
use crate::store::Commit;
use crate::webhooks::{HookEvent, Order, Trigger};

#[derive(Clone, Debug)]
enum Subject {
    User(Id),
    Visitor { platform: Platform, bot: Id, external_id: String },
}

#[derive(Clone, Debug)]
enum Kind {
    Message { by: Sender, text: String },
    Presence { online: bool },
    Order { order_id: String, amount: Option<f64>, currency: Option<String> },
    LiveChat { active: bool },
    Read,
}

#[derive(Clone, Debug)]
struct Event {
    subject: Subject,
    kind: Kind,
    event_id: Option<String>,
    at: Timestamp,
}

const KINDS: &str = "message, presence, order, liveChat, read";

fn parse_event(value: &Value, path: &str, received: Timestamp, problems: &mut Problems) -> Option<Event> {
    let before = problems.len();
    let mut fields = Fields::of(value, path, problems)?;
    let kind_name = fields.string("type", problems).value();
    let user = fields.field("userId", problems, read_id).value();
    let visitor = fields.raw("visitor").filter(|v| !v.is_null());
    let event_id = fields.field("eventId", problems, read_text(MAX_SHORT_TEXT)).value();
    let at = fields.field("at", problems, read_timestamp).value().unwrap_or(received);
    let kind = match kind_name.as_deref() {
        Some("message") => {
            let by = fields.field("by", problems, read_sender).value();
            let text = fields.field("text", problems, read_text(MAX_LONG_TEXT)).value().unwrap_or_default();
            if by.is_none() && problems.len() == before {
                problems.add(&fields.path_of("by"), format!("is required; allowed: {}", Sender::ALLOWED));
            }
            by.map(|by| Kind::Message { by, text })
        }
        Some("presence") => required_bool(&mut fields, "online", problems).map(|online| Kind::Presence { online }),
        Some("order") => {
            let order_id = fields.field("orderId", problems, read_text(MAX_SHORT_TEXT)).value();
            let amount = fields.field("amount", problems, read_number).value();
            let currency = fields.field("currency", problems, read_text(16)).value();
            match order_id.filter(|o| !o.is_empty()) {
                Some(order_id) => Some(Kind::Order { order_id, amount, currency }),
                None => {
                    problems.add(&fields.path_of("orderId"), "is required");
                    None
                }
            }
        }
        Some("liveChat") => required_bool(&mut fields, "active", problems).map(|active| Kind::LiveChat { active }),
        Some("read") => Some(Kind::Read),
        Some(other) => {
            problems.add(&fields.path_of("type"), format!("{other:?} is not an event type; allowed: {KINDS}"));
            None
        }
        None => {
            problems.add(&fields.path_of("type"), format!("is required; allowed: {KINDS}"));
            None
        }
    };
    let subject = match (user, visitor) {
        (Some(user), None) => Some(Subject::User(user)),
        (None, Some(visitor)) => {
            if !matches!(kind, Some(Kind::Message { .. })) && kind.is_some() {
                problems.add(&fields.path_of("visitor"), "names a user only in message events; use userId");
            }
            parse_visitor(visitor, &fields.path_of("visitor"), problems)
        }
        (Some(_), Some(_)) => {
            problems.add(fields.path(), "names its user by userId or visitor, not both");
            None
        }
        (None, None) if problems.len() == before => {
            problems.add(&fields.path_of("userId"), "is required (or visitor, for message events)");
            None
        }
        (None, None) => None,
    };
    fields.finish(problems);
    match (subject, kind) {
        (Some(subject), Some(kind)) if problems.len() == before => Some(Event { subject, kind, event_id, at }),
        _ => None,
    }
}

fn required_bool(fields: &mut Fields, key: &'static str, problems: &mut Problems) -> Option<bool> {
    let value = fields.field(key, problems, read_bool).value();
    if value.is_none() {
        problems.add(&fields.path_of(key), "is required and must be a boolean");
    }
    value
}

fn parse_visitor(value: &Value, path: &str, problems: &mut Problems) -> Option<Subject> {
    let mut fields = Fields::of(value, path, problems)?;
    let platform = fields.field("platform", problems, read_platform).value();
    let bot = fields.field("botId", problems, read_id).value();
    let external_id = fields.field("externalId", problems, read_text(MAX_SHORT_TEXT)).value();
    fields.finish(problems);
    if platform.is_none() && !fields.has("platform") {
        problems.add(&fields.path_of("platform"), format!("is required; allowed: {}", Platform::ALLOWED));
    }
    if bot.is_none() && !fields.has("botId") {
        problems.add(&fields.path_of("botId"), "is required");
    }
    let external_id = external_id.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    if external_id.is_none() {
        problems.add(&fields.path_of("externalId"), "is required and must not be empty");
    }
    Some(Subject::Visitor { platform: platform?, bot: bot?, external_id: external_id? })
}

/// Two visitor identities name one user when their keys are equal.
fn visitor_key(platform: Platform, external_id: &str) -> (Platform, String) {
    match platform {
        Platform::Whatsapp => (platform, whatsapp_key(external_id)),
        _ => (platform, external_id.to_string()),
    }
}

/// The id of the user that a new visitor identity (its `visitor_key`) creates: derived from it, so
/// that two nodes creating the same new visitor at the same moment create one user (the second
/// commit is refused as a conflict, and recomputed once its node has caught up). An id taken by a
/// user that no longer holds the identity gives way to a fresh one.
fn visitor_user_id(workspace: &Workspace, (platform, key): &(Platform, String)) -> Id {
    let digest = Sha256::new()
        .chain_update(b"inboxd visitor\0")
        .chain_update(workspace.id.to_be_bytes())
        .chain_update(platform.as_str())
        .chain_update([0])
        .chain_update(key)
        .finalize();
    let mut bytes = [0u8; 12];
    bytes.copy_from_slice(&digest[..12]);
    let id = Id::from_bytes(bytes);
    if workspace.engine.read().contains(id) {
        Id::generate()
    } else {
        id
    }
}

/// A user created by the first message event that names a visitor identity.
fn new_visitor(id: Id, platform: Platform, bot: Id, external_id: &str, at: Timestamp) -> User {
    let mut user = User::new(id, at);
    user.bots[platform.index()] = Some(bot);
    let profile = &mut user.profile;
    match platform {
        Platform::Website => user.uuid = Some(external_id.to_string()),
        Platform::Whatsapp => profile.whatsapp_number = Some(external_id.to_string()),
        Platform::Telegram => profile.telegram_user_name = Some(external_id.to_string()),
        Platform::Facebook => profile.facebook_profile_id = Some(external_id.to_string()),
    }
    user
}

/// The webhook an applied event fires, if any.
fn trigger(user: Id, event: &Event) -> Option<Trigger> {
    match &event.kind {
        Kind::Message { by: Sender::User, text } => {
            Some(Trigger::NewMessage(user, Message { text: text.clone(), at: event.at, by: Sender::User }))
        }
        Kind::Order { order_id, amount, currency } => Some(Trigger::NewOrder(
            user,
            Order { order_id: order_id.clone(), at: event.at, amount: *amount, currency: currency.clone() },
        )),
        _ => None,
    }
}

impl Event {
    /// What the event does to its user's document.
    fn activity(&self) -> Activity {
        let at = self.at;
        match &self.kind {
            Kind::Message { by, text } => Activity::Message { by: *by, text: text.clone(), at },
            Kind::Presence { online } => Activity::Presence { online: *online, at },
            Kind::Order { .. } => Activity::Order { at },
            Kind::LiveChat { active } => Activity::LiveChat { active: *active },
            Kind::Read => Activity::Read,
        }
    }
}

/// Whether the events' own webhooks (new messages, new orders) have subscribers: their deliveries
/// carry the user's document, so it is read. Otherwise a store that `defers_activity` takes
/// events on known users without their documents.
fn reads_documents(app: &App, workspace: &Workspace) -> bool {
    let catalog = workspace.catalog.read();
    !app.store.defers_activity()
        || (catalog.subscriptions.iter())
            .any(|s| matches!(HookEvent::parse(&s.event), Some(HookEvent::NewMessage | HookEvent::NewOrder)))
}

/// Applies a batch of events (POST /inbox/events).
pub async fn ingest(app: &App, workspace: &Workspace, body: &Value) -> Result<Value> {
    let Value::Array(items) = body else {
        return Err(Error::bad("", format!("must be an array of events, not {}", type_name(body))));
    };
    if items.len() > MAX_EVENTS {
        return Err(Error::bad("", format!("has {} events; at most {MAX_EVENTS} are allowed", items.len())));
    }
    let received = now();
    let parsed: Vec<std::result::Result<Event, Problems>> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut problems = Problems::default();
            parse_event(item, &format!("[{i}]"), received, &mut problems).ok_or(problems)
        })
        .collect();
    // The users are read while the write ahead may still be under way (on the embedded store the
    // read shares the writer's connection, so it overlaps that write's engine update and answer);
    // under the lock only those written since are read again.
    let mut ahead = match reads_documents(app, workspace) {
        true => Some(Ahead::read(&*app.store, workspace, &concerned_users(workspace, &parsed)).await?),
        false => None,
    };
    let _write = workspace.writer.lock().await;
    let parsed = &parsed;
    retrying(|| ingest_once(app, workspace, parsed, received, ahead.take())).await
}

/// The known users the events name, in id order.
fn concerned_users(workspace: &Workspace, parsed: &[std::result::Result<Event, Problems>]) -> Vec<Id> {
    let engine = workspace.engine.read();
    let mut ids: Vec<Id> = parsed
        .iter()
        .flatten()
        .filter_map(|event| match &event.subject {
            Subject::User(id) => Some(*id),
            Subject::Visitor { platform, external_id, .. } => {
                engine.identities().by_visitor(*platform, external_id).first().copied()
            }
        })
        .filter(|id| engine.contains(*id))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// One attempt at applying the parsed events: read (or bring what was read ahead up to date),
/// apply, commit; or, on a store that defers activity, commit what they do to the known users
/// without reading them. The caller holds the write lock.
async fn ingest_once(
    app: &App,
    workspace: &Workspace,
    parsed: &[std::result::Result<Event, Problems>],
    received: Timestamp,
    ahead: Option<Ahead>,
) -> Result<Value> {
    let event_ids: Vec<String> = parsed.iter().flatten().filter_map(|e| e.event_id.clone()).collect();
    let mut seen: HashSet<String> = app.store.seen_event_ids(workspace.id, &event_ids).await?.into_iter().collect();
    let wanted = concerned_users(workspace, parsed);
    let reads_documents = reads_documents(app, workspace);
    let Loaded { mut users, versions } = match ahead {
        _ if !reads_documents => Loaded::default(),
        Some(ahead) => ahead.up_to_date(&*app.store, workspace, &wanted).await?,
        None => load_versioned(&*app.store, workspace, &wanted).await?,
    };
    // Without the documents, the users the events find are those the engine holds.
    let deferred: HashSet<Id> = if reads_documents { HashSet::new() } else { wanted.into_iter().collect() };
    // What the events do to each user they find, in order.
    let mut events_of: HashMap<Id, UserActivity> = HashMap::new();
    let mut created_visitors: HashMap<(Platform, String), Id> = HashMap::new();
    let mut triggers = Vec::new();
    let mut applied_ids = Vec::new();
    let (mut applied, mut duplicates) = (0, 0);
    let mut concerned = Vec::with_capacity(parsed.len());
    let mut rejected = Vec::new();
    for (i, event) in parsed.iter().enumerate() {
        let event = match event {
            Ok(event) => event,
            Err(problems) => {
                concerned.push(Value::Null);
                rejected.push(json!({"index": i, "errors": problems.0}));
                continue;
            }
        };
        let target = {
            let engine = workspace.engine.read();
            let catalog = workspace.catalog.read();
            let known = |id: &Id| users.contains_key(id) || deferred.contains(id);
            resolve(event, &engine, &catalog, known, &created_visitors)
        };
        let id = match target {
            Ok(Some(id)) => id,
            Ok(None) => {
                let Subject::Visitor { platform, bot, external_id } = &event.subject else { continue };
                if event.event_id.as_ref().is_some_and(|e| seen.contains(e)) {
                    concerned.push(Value::Null);
                    duplicates += 1;
                    continue;
                }
                let key = visitor_key(*platform, external_id);
                let id = visitor_user_id(workspace, &key);
                let user = new_visitor(id, *platform, *bot, external_id, event.at);
                created_visitors.insert(key, id);
                users.insert(id, user);
                triggers.push(Trigger::NewLead(id));
                id
            }
            Err(problem) => {
                concerned.push(Value::Null);
                rejected.push(json!({"index": i, "errors": [format!("[{i}].{problem}")]}));
                continue;
            }
        };
        concerned.push(json!(id));
        if let Some(event_id) = &event.event_id {
            if !seen.insert(event_id.clone()) {
                duplicates += 1;
                continue;
            }
            applied_ids.push(event_id.clone());
        }
        if !users.contains_key(&id) && !deferred.contains(&id) {
            continue;
        }
        let user_activity = events_of.entry(id).or_insert_with(|| UserActivity { received, events: Vec::new() });
        user_activity.events.push(event.activity());
        triggers.extend(trigger(id, event));
        applied += 1;
    }
    // The documents read (and the visitors created) take their events; the other users' are
    // committed as they are, deferred.
    let (mut rewritten, mut activity) = (Vec::new(), Vec::new());
    for (id, user_activity) in events_of {
        match users.get_mut(&id) {
            Some(user) => {
                user_activity.apply(user);
                rewritten.push(id);
            }
            None => activity.push((id, user_activity)),
        }
    }
    let deliveries = workspace.deliveries(&triggers, |id| users.get(&id));
    let mut upsert: Vec<User> = rewritten.iter().filter_map(|id| users.remove(id)).collect();
    // In id order, which is mostly the engine's slot order: neighbouring updates meet the same
    // bitmap containers.
    upsert.sort_unstable_by_key(|user| user.id);
    activity.sort_unstable_by_key(|(id, _)| *id);
    let expected = expected(&versions, &upsert);
    let commit = Commit { upsert, activity, event_ids: applied_ids, deliveries, expected, ..Commit::default() };
    // Events change only the activity of the users they find (a visitor they create is new), so
    // the engine keeps their texts, identities and attributes. On PostgreSQL, what another node
    // changed in them meanwhile reaches the engine through the change feed, as it would have.
    let created: HashSet<Id> = created_visitors.into_values().collect();
    commit_changing(app, workspace, commit, |id| !created.contains(&id)).await?;
    Ok(json!({"applied": applied, "duplicates": duplicates, "users": concerned, "rejected": rejected}))
}

/// The user an event concerns: Some(id), None for a visitor to create, or a problem.
fn resolve(
    event: &Event,
    engine: &crate::engine::Engine,
    catalog: &super::Catalog,
    known: impl Fn(&Id) -> bool,
    created: &HashMap<(Platform, String), Id>,
) -> std::result::Result<Option<Id>, String> {
    match &event.subject {
        Subject::User(id) if known(id) => Ok(Some(*id)),
        Subject::User(id) => Err(format!("userId: {id} names no user of this workspace")),
        Subject::Visitor { platform, bot, external_id } => {
            if catalog.bot_platform(*bot) != Some(*platform) {
                return Err(format!("visitor.botId: {bot} names no {} bot of this workspace", platform.as_str()));
            }
            if let Some(id) = created.get(&visitor_key(*platform, external_id)) {
                return Ok(Some(*id));
            }
            Ok(engine.identities().by_visitor(*platform, external_id).iter().find(|id| known(id)).copied())
        }
    }
}
