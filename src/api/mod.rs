//! The HTTP layer: routes, authentication, the envelope. No business rules live here.

mod catalog;
mod envelope;
mod events;
mod extract;
mod integrations;
mod limiter;
mod users;
mod webhooks;

use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_http::trace::TraceLayer;

use crate::error::Error;
use crate::service::App;
pub use limiter::RateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub limiter: Arc<RateLimiter>,
    pub destinations: crate::webhooks::DestinationPolicy,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .merge(users::router())
        .merge(events::router())
        .merge(catalog::router())
        .merge(integrations::router())
        .merge(webhooks::router())
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { method_not_allowed() })
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

fn method_not_allowed() -> axum::response::Response {
    let body = json!({"success": false, "message": "method not allowed", "code": 405, "data": ["method: not allowed on this endpoint"]});
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

use axum::response::IntoResponse;
