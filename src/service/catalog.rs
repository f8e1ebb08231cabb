//! Bots, agents and segments of a workspace.

use serde_json::{json, Value};

use super::{App, Workspace};
use crate::domain::{Id, Platform, Timestamp};
use crate::error::{Error, Result};
use crate::fields::{read_platform, read_text, Fields, Problems};
use crate::limits::MAX_SHORT_TEXT;
use crate::query::{Filter, SegmentDefinition};
use crate::store::{Agent, Bot, SegmentRecord};

pub fn bot_json(bot: &Bot) -> Value {
    json!({"_id": bot.id, "name": bot.name, "platform": bot.platform, "createdAt": bot.created_at})
}

pub fn agent_json(agent: &Agent) -> Value {
    json!({"_id": agent.id, "name": agent.name, "email": agent.email, "createdAt": agent.created_at})
}

/// A required, non-empty, trimmed name.
fn required_name(fields: &mut Fields, problems: &mut Problems) -> Option<String> {
    let name = fields.field("name", problems, read_text(MAX_SHORT_TEXT)).value();
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if name.is_none() {
        problems.add("name", "is required and must not be empty");
    }
    name
}

pub async fn create_bot(app: &App, workspace: &Workspace, body: &Value) -> Result<Value> {
    let mut problems = Problems::default();
    let mut fields = Fields::of(body, "", &mut problems).ok_or_else(|| Error::BadRequest(problems.clone()))?;
    let name = required_name(&mut fields, &mut problems);
    let platform = fields.field("platform", &mut problems, read_platform);
    if platform.is_missing() && problems.is_empty() {
        problems.add("platform", format!("is required; allowed: {}", Platform::ALLOWED));
    }
    fields.finish(&mut problems);
    let (Some(name), Some(platform), true) = (name, platform.value(), problems.is_empty()) else {
        return Err(Error::BadRequest(problems));
    };
    let bot = Bot { id: Id::generate(), name, platform, created_at: Timestamp::now() };
    app.store.insert_bot(workspace.id, &bot).await?;
    workspace.catalog.write().bots.push(bot.clone());
    Ok(bot_json(&bot))
}

pub async fn create_agent(app: &App, workspace: &Workspace, body: &Value) -> Result<Value> {
    let mut problems = Problems::default();
    let mut fields = Fields::of(body, "", &mut problems).ok_or_else(|| Error::BadRequest(problems.clone()))?;
    let name = required_name(&mut fields, &mut problems);
    let email = fields.field("email", &mut problems, read_text(MAX_SHORT_TEXT)).value();
    fields.finish(&mut problems);
    let (Some(name), true) = (name, problems.is_empty()) else {
        return Err(Error::BadRequest(problems));
    };
    let email = email.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    let agent = Agent { id: Id::generate(), name, email, created_at: Timestamp::now() };
    app.store.insert_agent(workspace.id, &agent).await?;
    workspace.catalog.write().agents.push(agent.clone());
    Ok(agent_json(&agent))
}

fn segment_json(record: &SegmentRecord, definition: &SegmentDefinition, count: u64) -> Value {
    let mut value = json!({"_id": record.id});
    if let (Value::Object(target), Value::Object(fields)) = (&mut value, definition.to_json()) {
        target.extend(fields);
        target.insert("createdAt".into(), json!(record.created_at));
        target.insert("count".into(), json!(count));
    }
    value
}

/// Users a segment holds now; DELETED users are never counted.
fn live_count(workspace: &Workspace, id: Id) -> u64 {
    let visible = Filter::And(vec![
        Filter::Segment(id),
        Filter::negate(Filter::StatusIn(vec![crate::domain::Status::deleted()])),
    ]);
    workspace.engine.read().count(&visible, workspace.clock())
}

pub async fn create_segment(app: &App, workspace: &Workspace, body: &Value) -> Result<Value> {
    let definition = {
        let catalog = workspace.catalog.read();
        SegmentDefinition::parse(body, &|bot| catalog.bot_platform(bot))?
    };
    let record = SegmentRecord { id: Id::generate(), definition: definition.to_json(), created_at: Timestamp::now() };
    app.store.insert_segment(workspace.id, &record).await?;
    // The engine changes under the write lock, as with every write (see `service::snapshot`).
    let _write = workspace.writer.lock().await;
    workspace.catalog.write().segments.push((record.clone(), definition.clone()));
    workspace.refresh_segments();
    Ok(segment_json(&record, &definition, live_count(workspace, record.id)))
}

pub fn list_segments(workspace: &Workspace) -> Vec<Value> {
    let catalog = workspace.catalog.read();
    catalog.segments.iter().map(|(record, def)| segment_json(record, def, live_count(workspace, record.id))).collect()
}

pub async fn delete_segment(app: &App, workspace: &Workspace, id: Id) -> Result<Value> {
    if !app.store.delete_segment(workspace.id, id).await? {
        return Err(Error::NotFound(format!("no segment {id}")));
    }
    let _write = workspace.writer.lock().await;
    workspace.catalog.write().segments.retain(|(record, _)| record.id != id);
    workspace.refresh_segments();
    Ok(json!({"deleted": id}))
}
