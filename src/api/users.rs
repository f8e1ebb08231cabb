//! /inbox/users: query, export, import, read, change and delete users.

use axum::extract::{Query as UrlQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use super::envelope::{ok, ok_list_json};
use super::extract::{Auth, ImportBody, JsonBody, PathId};
use super::AppState;
use crate::domain::Id;
use crate::error::{Error, Result};
use crate::service::{export, import, users};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox/users", post(query))
        .route("/inbox/users/import", post(import_users))
        .route("/inbox/users/status-update", put(update_status))
        .route("/inbox/users/{id}", axum::routing::get(get_user).put(update_user).delete(delete_user))
}

/// Query the inbox: a page of users with exact counts, or (isExport csv, admin) the CSV export.
#[utoipa::path(post, path = "/inbox/users", tag = "users", request_body = super::openapi::QueryBody,
    responses((status = 200, description = "A page of users; or, with isExport csv, the export as CSV",
        content((super::openapi::UserPageEnvelope = "application/json"), (String = "text/csv")))))]
#[tracing::instrument(skip_all, fields(workspace = auth.workspace.id))]
pub(super) async fn query(State(state): State<AppState>, auth: Auth, JsonBody(body): JsonBody) -> Result<Response> {
    let query = users::parse(&auth.workspace, &body)?;
    if query.export {
        auth.require_admin("export")?;
        let plan = export::prepare(&auth.workspace, &query);
        let chunks = export::stream(state.app.clone(), auth.workspace.clone(), plan);
        let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(chunks));
        let headers = [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"users.csv\"")),
        ];
        return Ok((headers, body).into_response());
    }
    let answer = users::query(&state.app, &auth.workspace, &query).await?;
    Ok(ok_list_json(answer.users_json, &answer.meta))
}

#[derive(Deserialize)]
pub(super) struct ImportParams {
    #[serde(rename = "botId")]
    bot_id: Option<String>,
}

/// `?botId=` or a `botId` header names a bot for rows that name none.
fn import_bot(params: &ImportParams, headers: &HeaderMap) -> Result<Option<Id>> {
    let text = params.bot_id.clone().or_else(|| headers.get("botId").and_then(|v| v.to_str().ok()).map(str::to_string));
    match text.filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => Id::parse(&text)
            .map(Some)
            .ok_or_else(|| Error::bad("botId", format!("{text:?} is not an id (24 lowercase hex characters)"))),
    }
}

/// Import (upsert) users from a JSON array or a CSV body (admin).
#[utoipa::path(post, path = "/inbox/users/import", tag = "users",
    request_body(content((Vec<super::openapi::UserInput> = "application/json"), (String = "text/csv")),
        description = "At most 10,000 rows"),
    params(("botId" = Option<String>, Query, description = "A bot for rows that name none"),
        ("botId" = Option<String>, Header, description = "Same as the query parameter (which wins)")),
    responses((status = 200, description = "Counts, the _id of each row, rejected rows", body = super::openapi::ImportEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace = auth.workspace.id))]
pub(super) async fn import_users(
    State(state): State<AppState>,
    auth: Auth,
    params: std::result::Result<UrlQuery<ImportParams>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: ImportBody,
) -> Result<Response> {
    auth.require_admin("import")?;
    let params = params.map_err(|e| Error::bad("query", e.body_text()))?.0;
    let bot = import_bot(&params, &headers)?;
    let (rows, source) = match body {
        ImportBody::Json(value) => (value, import::Source::Json),
        ImportBody::Csv(bytes) => (Value::Array(crate::csv_format::import::parse(&bytes)?), import::Source::Csv),
    };
    Ok(ok(import::import(&state.app, &auth.workspace, &rows, bot, source).await?))
}

/// Set the status of many users at once (admin).
#[utoipa::path(put, path = "/inbox/users/status-update", tag = "users", request_body = super::openapi::StatusUpdate,
    responses((status = 200, description = "How many were updated; ids not found", body = super::openapi::StatusUpdateEnvelope)))]
pub(super) async fn update_status(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    auth.require_admin("a bulk status change")?;
    Ok(ok(users::update_status(&state.app, &auth.workspace, &body).await?))
}

/// One user (DELETED users too).
#[utoipa::path(get, path = "/inbox/users/{id}", tag = "users", params(("id" = String, Path, description = "An _id: 24 lowercase hex characters", pattern = "^[0-9a-f]{24}$")),
    responses((status = 200, description = "The user", body = super::openapi::UserEnvelope)))]
pub(super) async fn get_user(State(state): State<AppState>, auth: Auth, PathId(id): PathId) -> Result<Response> {
    let user = users::get(&state.app, &auth.workspace, id).await?;
    Ok(ok(users::render(&auth.workspace, &user)))
}

/// A partial update: only the fields given change.
#[utoipa::path(put, path = "/inbox/users/{id}", tag = "users", params(("id" = String, Path, description = "An _id: 24 lowercase hex characters", pattern = "^[0-9a-f]{24}$")), request_body = super::openapi::UserInput,
    responses((status = 200, description = "The updated user", body = super::openapi::UserEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace = auth.workspace.id, user = %id))]
pub(super) async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    PathId(id): PathId,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    let user = users::update(&state.app, &auth.workspace, id, &body).await?;
    Ok(ok(users::render(&auth.workspace, &user)))
}

/// Erase a user for good (admin).
#[utoipa::path(delete, path = "/inbox/users/{id}", tag = "users", params(("id" = String, Path, description = "An _id: 24 lowercase hex characters", pattern = "^[0-9a-f]{24}$")),
    responses((status = 200, description = "The erased user's _id", body = super::openapi::DeletedEnvelope)))]
pub(super) async fn delete_user(State(state): State<AppState>, auth: Auth, PathId(id): PathId) -> Result<Response> {
    auth.require_admin("delete")?;
    users::delete(&state.app, &auth.workspace, id).await?;
    Ok(ok(serde_json::json!({"deleted": id})))
}
