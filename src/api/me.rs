//! GET /inbox/me: what the token itself may do, so that a client need not probe for its role.

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::json;

use super::envelope::ok;
use super::extract::Auth;
use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/inbox/me", get(me))
}

/// The token's role in its workspace (any role).
#[utoipa::path(get, path = "/inbox/me", tag = "operations",
    responses((status = 200, description = "The token's role", body = super::openapi::MeEnvelope)))]
pub(super) async fn me(auth: Auth) -> Response {
    ok(json!({"role": auth.role.as_str()}))
}
