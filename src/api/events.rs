//! /inbox/events: what bots and channels report.

use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::envelope::ok;
use super::extract::{Auth, JsonBody};
use super::AppState;
use crate::error::Result;
use crate::service::events;

pub fn router() -> Router<AppState> {
    Router::new().route("/inbox/events", post(ingest))
}

/// Report events (at most 1,000): messages, presence, orders, live chat, read.
#[utoipa::path(post, path = "/inbox/events", tag = "events", request_body = Vec<super::openapi::Event>,
    responses((status = 200, description = "Applied, duplicates, the user of each event, rejected events", body = super::openapi::EventsEnvelope)))]
#[tracing::instrument(skip_all, fields(workspace = auth.workspace.id))]
pub(super) async fn ingest(State(state): State<AppState>, auth: Auth, JsonBody(body): JsonBody) -> Result<Response> {
    Ok(ok(events::ingest(&state.app, &auth.workspace, &body).await?))
}
