//! /inbox/bots, /inbox/agents and /inbox/segments.

use axum::extract::State;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use serde_json::Value;

use super::envelope::{ok, ok_list};
use super::extract::{Auth, JsonBody, PathId};
use super::AppState;
use crate::error::Result;
use crate::service::catalog;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inbox/bots", get(list_bots).post(create_bot))
        .route("/inbox/agents", get(list_agents).post(create_agent))
        .route("/inbox/segments", get(list_segments).post(create_segment))
        .route("/inbox/segments/{id}", delete(delete_segment))
}

/// A list answered whole: its meta says how many items it has.
fn whole_list(items: Vec<Value>) -> Response {
    let total = items.len();
    ok_list(Value::Array(items), serde_json::json!({"total": total}))
}

/// The workspace's bots.
#[utoipa::path(get, path = "/inbox/bots", tag = "catalog", responses((status = 200, description = "Every bot", body = super::openapi::BotListEnvelope)))]
pub(super) async fn list_bots(auth: Auth) -> Response {
    let bots = auth.workspace.catalog.read().bots.iter().map(catalog::bot_json).collect();
    whole_list(bots)
}

/// Create a bot (admin).
#[utoipa::path(post, path = "/inbox/bots", tag = "catalog", request_body = super::openapi::BotInput, responses((status = 200, description = "The new bot", body = super::openapi::BotEnvelope)))]
pub(super) async fn create_bot(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    auth.require_admin("creating a bot")?;
    Ok(ok(catalog::create_bot(&state.app, &auth.workspace, &body).await?))
}

/// The workspace's agents.
#[utoipa::path(get, path = "/inbox/agents", tag = "catalog", responses((status = 200, description = "Every agent", body = super::openapi::AgentListEnvelope)))]
pub(super) async fn list_agents(auth: Auth) -> Response {
    let agents = auth.workspace.catalog.read().agents.iter().map(catalog::agent_json).collect();
    whole_list(agents)
}

/// Create an agent (admin).
#[utoipa::path(post, path = "/inbox/agents", tag = "catalog", request_body = super::openapi::AgentInput, responses((status = 200, description = "The new agent", body = super::openapi::AgentEnvelope)))]
pub(super) async fn create_agent(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    auth.require_admin("creating an agent")?;
    Ok(ok(catalog::create_agent(&state.app, &auth.workspace, &body).await?))
}

/// The workspace's segments, each with the count of users matching now.
#[utoipa::path(get, path = "/inbox/segments", tag = "catalog", responses((status = 200, description = "Every segment", body = super::openapi::SegmentListEnvelope)))]
pub(super) async fn list_segments(auth: Auth) -> Response {
    whole_list(catalog::list_segments(&auth.workspace))
}

/// Create a segment (admin).
#[utoipa::path(post, path = "/inbox/segments", tag = "catalog", request_body = super::openapi::SegmentInput, responses((status = 200, description = "The new segment", body = super::openapi::SegmentEnvelope)))]
pub(super) async fn create_segment(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    auth.require_admin("segment management")?;
    Ok(ok(catalog::create_segment(&state.app, &auth.workspace, &body).await?))
}

/// Delete a segment (admin).
#[utoipa::path(delete, path = "/inbox/segments/{id}", tag = "catalog", params(("id" = String, Path, description = "An _id: 24 lowercase hex characters", pattern = "^[0-9a-f]{24}$")), responses((status = 200, description = "The deleted segment's _id", body = super::openapi::DeletedEnvelope)))]
pub(super) async fn delete_segment(State(state): State<AppState>, auth: Auth, PathId(id): PathId) -> Result<Response> {
    auth.require_admin("segment management")?;
    Ok(ok(catalog::delete_segment(&state.app, &auth.workspace, id).await?))
}
