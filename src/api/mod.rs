//! The HTTP layer: routes, authentication, the envelope. No business rules live here.

mod catalog;
mod envelope;
mod events;
mod extract;
mod integrations;
pub mod layers;
mod limiter;
mod me;
pub mod openapi;
mod ui;
mod users;
mod webhooks;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::error::Error;
use crate::service::App;
pub use layers::Ops;
pub use limiter::RateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub app: Arc<App>,
    pub limiter: Arc<RateLimiter>,
    pub destinations: crate::webhooks::DestinationPolicy,
    /// Metrics, the request timeout and the count of running handlers.
    pub ops: Arc<Ops>,
    /// Whether `GET /metrics` answers (it needs no token).
    pub metrics_enabled: bool,
}

pub fn router(state: AppState) -> Router {
    let ops = state.ops.clone();
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(users::router())
        .merge(events::router())
        .merge(catalog::router())
        .merge(me::router())
        .merge(integrations::router())
        .merge(webhooks::router())
        .merge(ui::router())
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(ops, layers::around))
        .with_state(state)
}

/// Liveness: exactly `{"status": "ok"}`, no envelope, no token.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "The server is up", body = openapi::Health)))]
async fn health() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Prometheus metrics (text format 0.0.4), without a token; 404 when turned off (`--metrics off`).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Request counts and latency by route and status, engine sizes, errors",
        content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
        (status = 404, description = "Metrics are turned off", body = openapi::ErrorEnvelope)))]
async fn metrics(State(state): State<AppState>) -> Response {
    if !state.metrics_enabled {
        return Error::NotFound("no such endpoint".into()).into_response();
    }
    let text = state.ops.metrics.render(&state.app).await;
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text)
        .into_response()
}

fn method_not_allowed() -> Response {
    let body = json!({"success": false, "message": "method not allowed", "code": 405, "data": ["method: not allowed on this endpoint"]});
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
