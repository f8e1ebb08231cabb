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

#[tracing::instrument(skip_all, fields(workspace = auth.workspace.id))]
async fn ingest(State(state): State<AppState>, auth: Auth, JsonBody(body): JsonBody) -> Result<Response> {
    Ok(ok(events::ingest(&state.app, &auth.workspace, &body).await?))
}
