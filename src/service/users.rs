//! Reading, querying and changing users one at a time or by id lists.

use serde_json::{json, Value};

use super::{check_user, commit, expected, load_users, load_versioned, no_such_user, now, retrying, App, Workspace};
use crate::domain::Id;
use crate::engine::Page;
use crate::error::{Error, Result};
use crate::fields::{read_array, read_id, read_status, Fields, Problems};
use crate::limits::MAX_STATUS_UPDATE_IDS;
use crate::model::{apply_input, user_json, write_user_json, InputKind, User, UserInput};
use crate::query::{parse_query, Query};
use crate::store::Commit;

/// A page of rendered users with its meta.
pub struct QueryAnswer {
    /// The page's users as one JSON array, written straight from the documents (no `Value` tree).
    pub users_json: Vec<u8>,
    pub meta: Value,
}

/// Parses a query body against the workspace's segments.
pub fn parse(workspace: &Workspace, body: &Value) -> Result<Query> {
    let engine = workspace.engine.read();
    Ok(parse_query(body, &|id| engine.has_segment(id))?)
}

/// Evaluates a query in the engine, then fetches only the page's documents from the store.
pub async fn query(app: &App, workspace: &Workspace, query: &Query) -> Result<QueryAnswer> {
    let clock = workspace.clock();
    let Page { total, users } =
        workspace.engine.read().search(&query.filter, query.sort, query.page, query.limit, clock);
    let ids: Vec<Id> = users.iter().map(|(id, _)| *id).collect();
    let mut docs = load_users(&*app.store, workspace, &ids).await?;
    let mut users_json = Vec::with_capacity(256 + 1536 * users.len());
    users_json.push(b'[');
    for (id, segments) in &users {
        if let Some(user) = docs.remove(id) {
            if users_json.len() > 1 {
                users_json.push(b',');
            }
            write_user_json(&mut users_json, &user, segments, clock.now, clock.window_ms);
        }
    }
    users_json.push(b']');
    let meta = json!({
        "page": query.page,
        "limit": query.limit,
        "total": total,
        "totalPages": total.div_ceil(query.limit),
    });
    Ok(QueryAnswer { users_json, meta })
}

/// Renders one committed user with the segments it matches now.
pub fn render(workspace: &Workspace, user: &User) -> Value {
    let clock = workspace.clock();
    let segments = workspace.engine.read().segments_of(user.id, clock);
    user_json(user, &segments, clock.now, clock.window_ms)
}

pub async fn get(app: &App, workspace: &Workspace, id: Id) -> Result<User> {
    if !workspace.engine.read().contains(id) {
        return Err(no_such_user(id));
    }
    let mut users = load_users(&*app.store, workspace, &[id]).await?;
    users.remove(&id).ok_or_else(|| no_such_user(id))
}

/// A partial update of one user (PUT /inbox/users/{id}).
pub async fn update(app: &App, workspace: &Workspace, id: Id, body: &Value) -> Result<User> {
    let mut problems = Problems::default();
    let input = UserInput::parse(body, "", InputKind::Put, &mut problems);
    let input = problems.into_result(input)?.ok_or_else(|| Error::bad("", "must be a JSON object"))?;
    let _write = workspace.writer.lock().await;
    let input = &input;
    retrying(|| async move {
        if !workspace.engine.read().contains(id) {
            return Err(no_such_user(id));
        }
        let mut loaded = load_versioned(&*app.store, workspace, &[id]).await?;
        let mut user = loaded.users.remove(&id).ok_or_else(|| no_such_user(id))?;
        apply_input(&mut user, input, now(), "")?;
        let mut problems = Problems::default();
        check_user(&user, &workspace.catalog.read(), "", &mut problems);
        problems.into_result(())?;
        let expected = expected(&loaded.versions, [&user]);
        commit(app, workspace, Commit { upsert: vec![user.clone()], expected, ..Commit::default() }).await?;
        Ok(user)
    })
    .await
}

pub async fn delete(app: &App, workspace: &Workspace, id: Id) -> Result<()> {
    let _write = workspace.writer.lock().await;
    if !workspace.engine.read().contains(id) {
        return Err(no_such_user(id));
    }
    commit(app, workspace, Commit { delete: vec![id], ..Commit::default() }).await
}

/// Sets one status on many users (PUT /inbox/users/status-update).
pub async fn update_status(app: &App, workspace: &Workspace, body: &Value) -> Result<Value> {
    let mut problems = Problems::default();
    let mut fields = Fields::of(body, "", &mut problems).ok_or_else(|| Error::BadRequest(problems.clone()))?;
    let ids = fields.field("ids", &mut problems, |v, p, pr| read_array(v, p, MAX_STATUS_UPDATE_IDS, pr, read_id));
    let status = fields.field("status", &mut problems, read_status);
    fields.finish(&mut problems);
    if ids.is_missing() && problems.is_empty() {
        problems.add("ids", "is required");
    }
    if status.is_missing() && problems.is_empty() {
        problems.add("status", "is required");
    }
    let (ids, status) = match (ids.value(), status.value()) {
        (Some(ids), Some(status)) if problems.is_empty() => (ids, status),
        _ => return Err(Error::BadRequest(problems)),
    };
    let _write = workspace.writer.lock().await;
    let (ids, status) = (&ids, &status);
    retrying(|| async move {
        let (found, not_found): (Vec<Id>, Vec<Id>) = {
            let engine = workspace.engine.read();
            ids.iter().partition(|id| engine.contains(**id))
        };
        let mut found_unique = found.clone();
        found_unique.sort();
        found_unique.dedup();
        let at = now();
        let loaded = load_versioned(&*app.store, workspace, &found_unique).await?;
        let changed: Vec<User> = loaded
            .users
            .values()
            .filter(|u| u.status != *status)
            .map(|u| {
                let mut u = u.clone();
                u.status = status.clone();
                u.updated_at = at.max(u.updated_at);
                u
            })
            .collect();
        let expected = expected(&loaded.versions, &changed);
        commit(app, workspace, Commit { upsert: changed, expected, ..Commit::default() }).await?;
        Ok(json!({"updated": found_unique.len(), "notFound": not_found}))
    })
    .await
}
