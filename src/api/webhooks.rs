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

/// Subscribe a webhook to an event, or unsubscribe it (admin).
#[utoipa::path(post, path = "/integrations/custom-app/subscribe-trigger-event", tag = "integrations", request_body = super::openapi::SubscribeTrigger, responses((status = 200, description = "subscribe true: the subscription's _id and signing secret; false: how many were removed", body = super::openapi::SubscribeEnvelope)))]
pub(super) async fn subscribe(State(state): State<AppState>, auth: Auth, JsonBody(body): JsonBody) -> Result<Response> {
    auth.require_admin("webhook management")?;
    Ok(ok(webhooks::subscribe(&state.app, &auth.workspace, state.destinations, &body).await?))
}

/// The subscriptions, grouped by bot, slug and category (admin).
#[utoipa::path(post, path = "/integrations/custom-app/fetch-subscribed-webhooks", tag = "integrations", request_body = super::openapi::FetchSubscribed, responses((status = 200, description = "The subscriptions", body = super::openapi::SubscribedWebhooksEnvelope)))]
pub(super) async fn fetch(auth: Auth, JsonBody(body): JsonBody) -> Result<Response> {
    auth.require_admin("webhook management")?;
    Ok(ok(webhooks::fetch(&auth.workspace, &body)?))
}

#[derive(Deserialize)]
pub(super) struct DeliveryParams {
    status: Option<String>,
    limit: Option<String>,
}

/// The webhook delivery log, newest first (admin).
#[utoipa::path(get, path = "/integrations/custom-app/deliveries", tag = "integrations", params(("status" = Option<String>, Query, description = "pending, delivered or failed"), ("limit" = Option<String>, Query, description = "1 to the server's maximum")), responses((status = 200, description = "Deliveries", body = super::openapi::DeliveriesEnvelope)))]
pub(super) async fn deliveries(
    State(state): State<AppState>,
    auth: Auth,
    params: std::result::Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    auth.require_admin("the delivery log")?;
    let Query(params) = params.map_err(|e| Error::bad("query", e.body_text()))?;
    let log =
        webhooks::deliveries(&state.app, &auth.workspace, params.status.as_deref(), params.limit.as_deref()).await?;
    Ok(ok(log))
}

/// Send a delivery again (admin).
#[utoipa::path(post, path = "/integrations/custom-app/deliveries/{id}/redeliver", tag = "integrations", params(("id" = String, Path, description = "An _id: 24 lowercase hex characters", pattern = "^[0-9a-f]{24}$")), responses((status = 200, description = "The delivery being sent again", body = super::openapi::RedeliverEnvelope)))]
pub(super) async fn redeliver(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> Result<Response> {
    auth.require_admin("redelivery")?;
    let id =
        Id::parse(&id).ok_or_else(|| Error::bad("id", format!("{id:?} is not an id (24 lowercase hex characters)")))?;
    Ok(ok(webhooks::redeliver(&state.app, &auth.workspace, id).await?))
}
