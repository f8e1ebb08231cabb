//! /integrations/custom-app: the endpoints existing integrations call.

use axum::extract::State;
use axum::response::Response;
use axum::routing::put;
use axum::Router;

use super::envelope::ok;
use super::extract::{Auth, JsonBody};
use super::AppState;
use crate::error::Result;
use crate::service::integrations;

pub fn router() -> Router<AppState> {
    Router::new().route("/integrations/custom-app/update-user-attributes", put(update_user_attributes))
}

/// Find a user by email, phone or uuid and merge attributes into it.
#[utoipa::path(put, path = "/integrations/custom-app/update-user-attributes", tag = "integrations", request_body = super::openapi::UpdateUserAttributes, responses((status = 200, description = "The updated user", body = super::openapi::UserEnvelope)))]
pub(super) async fn update_user_attributes(
    State(state): State<AppState>,
    auth: Auth,
    JsonBody(body): JsonBody,
) -> Result<Response> {
    Ok(ok(integrations::update_user_attributes(&state.app, &auth.workspace, &body).await?))
}
