//! Webhook subscriptions as the existing trigger integrations manage them, and the delivery log.

use serde_json::{json, Map, Value};

use super::{App, Workspace};
use crate::domain::{Id, Platform, Timestamp};
use crate::error::{Error, Result};
use crate::fields::{read_id, read_parsed, read_platform, read_text, Fields, Problems};
use crate::limits::{MAX_LONG_TEXT, MAX_SHORT_TEXT};
use crate::store::{Delivery, DeliveryStatus, Subscription};
use crate::webhooks::{DestinationPolicy, HookEvent};

/// Largest page of the delivery log.
pub const MAX_DELIVERIES: usize = 500;

fn read_event(value: &Value, path: &str, problems: &mut Problems) -> Option<HookEvent> {
    read_parsed(value, path, problems, HookEvent::parse, HookEvent::ALLOWED)
}

/// Optional filters shared by subscribe and fetch: a known bot, a channel, slug and category.
struct Scope {
    bot: Option<Id>,
    platform: Option<Platform>,
    slug: Option<String>,
    category: Option<String>,
}

fn read_scope(fields: &mut Fields, workspace: &Workspace, problems: &mut Problems) -> Scope {
    let bot = fields.field("botId", problems, read_id).value();
    if let Some(bot) = bot {
        if workspace.catalog.read().bot_platform(bot).is_none() {
            problems.add("botId", format!("{bot} names no bot of this workspace"));
        }
    }
    let platform = fields.field("platform", problems, read_platform).value();
    let slug = fields.field("slug", problems, read_text(MAX_SHORT_TEXT)).value().filter(|s| !s.is_empty());
    let category = fields.field("category", problems, read_text(MAX_SHORT_TEXT)).value().filter(|s| !s.is_empty());
    Scope { bot, platform, slug, category }
}

/// POST /integrations/custom-app/subscribe-trigger-event.
pub async fn subscribe(app: &App, workspace: &Workspace, policy: DestinationPolicy, body: &Value) -> Result<Value> {
    let mut problems = Problems::default();
    let mut fields = Fields::of(body, "", &mut problems).ok_or_else(|| Error::BadRequest(problems.clone()))?;
    let url = fields.field("webhookUrl", &mut problems, read_text(MAX_LONG_TEXT)).value();
    let event = fields.field("event", &mut problems, read_event).value();
    let scope = read_scope(&mut fields, workspace, &mut problems);
    let subscribe = fields.field("subscribe", &mut problems, crate::fields::read_bool).value().unwrap_or(true);
    fields.finish(&mut problems);
    let url = url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
    if url.is_none() {
        problems.add("webhookUrl", "is required");
    }
    if event.is_none() && !problems.0.iter().any(|p| p.starts_with("event")) {
        problems.add("event", format!("is required; allowed: {}", HookEvent::ALLOWED));
    }
    let (Some(url), Some(event), true) = (url, event, problems.is_empty()) else {
        return Err(Error::BadRequest(problems));
    };
    if !subscribe {
        let removed = app.store.unsubscribe(workspace.id, &url, event.as_str(), scope.bot).await?;
        reload_subscriptions(app, workspace).await?;
        return Ok(json!({"removed": removed}));
    }
    policy.check(&url).await.map_err(|problem| Error::bad("webhookUrl", problem))?;
    let subscription = Subscription {
        id: Id::generate(),
        url,
        event: event.as_str().to_string(),
        bot: scope.bot,
        platform: scope.platform,
        slug: scope.slug,
        category: scope.category,
        secret: hex::encode(rand::random::<[u8; 32]>()),
        created_at: Timestamp::now(),
    };
    let stored = app.store.subscribe(workspace.id, &subscription).await?;
    reload_subscriptions(app, workspace).await?;
    tracing::info!(workspace = workspace.id, subscription = %stored.id, event = stored.event, "webhook subscribed");
    Ok(json!({"_id": stored.id, "secret": stored.secret}))
}

async fn reload_subscriptions(app: &App, workspace: &Workspace) -> Result<()> {
    let subscriptions = app.store.subscriptions(workspace.id).await?;
    workspace.catalog.write().subscriptions = subscriptions;
    Ok(())
}

/// The key fetch groups subscriptions by: (botId, slug, category).
type Group = (Option<Id>, Option<String>, Option<String>);

/// POST /integrations/custom-app/fetch-subscribed-webhooks: one item per (botId, slug, category).
pub fn fetch(workspace: &Workspace, body: &Value) -> Result<Value> {
    let mut problems = Problems::default();
    let mut fields = Fields::of(body, "", &mut problems).ok_or_else(|| Error::BadRequest(problems.clone()))?;
    let event = fields.field("event", &mut problems, read_event).value();
    let scope = read_scope(&mut fields, workspace, &mut problems);
    fields.finish(&mut problems);
    problems.into_result(())?;
    let catalog = workspace.catalog.read();
    let mut groups: Vec<(Group, Map<String, Value>)> = Vec::new();
    let wanted = catalog.subscriptions.iter().filter(|s| {
        event.is_none_or(|e| s.event == e.as_str())
            && scope.bot.is_none_or(|b| s.bot == Some(b))
            && scope.platform.is_none_or(|p| s.platform == Some(p))
            && scope.slug.as_ref().is_none_or(|slug| s.slug.as_ref() == Some(slug))
            && scope.category.as_ref().is_none_or(|c| s.category.as_ref() == Some(c))
    });
    for s in wanted {
        let key = (s.bot, s.slug.clone(), s.category.clone());
        let position = match groups.iter().position(|(k, _)| *k == key) {
            Some(position) => position,
            None => {
                groups.push((key, Map::new()));
                groups.len() - 1
            }
        };
        let hooks = groups[position].1.entry(s.event.clone()).or_insert_with(|| json!([]));
        if let Value::Array(hooks) = hooks {
            hooks.push(json!({"url": s.url, "_id": s.id, "createdAt": s.created_at}));
        }
    }
    let items = groups
        .into_iter()
        .map(|((bot, slug, category), hooks)| {
            json!({"botId": bot, "slug": slug, "category": category, "integrationCredentials": hooks})
        })
        .collect();
    Ok(Value::Array(items))
}

fn delivery_json(d: &Delivery) -> Value {
    json!({
        "_id": d.id,
        "event": d.event,
        "eventId": d.event_id,
        "subscriptionId": d.subscription,
        "url": d.target.as_ref().map(|(url, _)| url),
        "userId": d.user,
        "status": d.status.as_str(),
        "attempts": d.attempts,
        "lastAttemptAt": d.last_attempt_at,
        "lastError": d.last_error,
        "nextAttemptAt": (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
        "createdAt": d.created_at,
        "deliveredAt": d.delivered_at,
    })
}

/// GET /integrations/custom-app/deliveries?status=&limit=: the latest deliveries, newest first.
pub async fn deliveries(app: &App, workspace: &Workspace, status: Option<&str>, limit: Option<&str>) -> Result<Value> {
    let mut problems = Problems::default();
    let status = match status.filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => {
            let parsed = DeliveryStatus::parse(text);
            if parsed.is_none() {
                problems.add("status", format!("{text:?} is not allowed; allowed: {}", DeliveryStatus::ALLOWED));
            }
            parsed
        }
    };
    let limit = match limit.filter(|l| !l.is_empty()) {
        None => 50,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_DELIVERIES).contains(&n) => n,
            _ => {
                problems.add("limit", format!("{text:?} is not allowed; allowed: 1 to {MAX_DELIVERIES}"));
                50
            }
        },
    };
    problems.into_result(())?;
    let deliveries = app.store.deliveries(workspace.id, status, limit).await?;
    Ok(Value::Array(deliveries.iter().map(delivery_json).collect()))
}

/// POST /integrations/custom-app/deliveries/{id}/redeliver: sends a delivery again, same eventId.
pub async fn redeliver(app: &App, workspace: &Workspace, id: Id) -> Result<Value> {
    if !app.store.redeliver(workspace.id, id).await? {
        return Err(Error::NotFound(format!("no delivery {id}")));
    }
    app.webhooks_wake.notify_one();
    Ok(json!({"redelivering": id}))
}
