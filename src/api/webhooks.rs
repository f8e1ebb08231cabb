//! /integrations/custom-app webhooks: subscriptions and the delivery log (admin only).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::envelope::ok;
use super::extract::{Auth, JsonBody};
use super::AppState;
use crate::domain::Id;
use crate::error::{Error, Result};
use crate::service::webhooks;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/integrations/custom-app/subscribe-trigger-event", post(subscribe))
        .route("/integrations/custom-app/fetch-subscribed-webhooks", post(fetch))
        .route("/integrations/custom-app/deliveries", get(deliveries))
        .route("/integrations/custom-app/deliveries/{id}/redeliver", post(redeliver))
}

async fn subscribe(State(state): State<AppState>, auth: Auth, JsonBody(body): JsonBody) -> Result<Response> {
    auth.require_admin("webhook management")?;
    Ok(ok(webhooks::subscribe(&state.app, &auth.workspace, state.destinations, &body).await?))
}

async fn fetch(auth: Auth, JsonBody(body): JsonBody) -> Result<Response> {
    auth.require_admin("webhook management")?;
    Ok(ok(webhooks::fetch(&auth.workspace, &body)?))
}

#[derive(Deserialize)]
struct DeliveryParams {
    status: Option<String>,
    limit: Option<String>,
}

async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    params: std::result::Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    auth.require_admin("the delivery log")?;
    let Query(params) = params.map_err(|e| Error::bad("query", e.body_text()))?;
    let log = webhooks::deliveries(&state.app, &auth.workspace, params.status.as_deref(), params.limit.as_deref()).await?;
    Ok(ok(log))
}

async fn redeliver(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response> {
    auth.require_admin("redelivery")?;
    let id = Id::parse(&id).ok_or_else(|| Error::bad("id", format!("{id:?} is not an id (24 lowercase hex characters)")))?;
    Ok(ok(webhooks::redeliver(&state.app, &auth.workspace, id).await?))
}
