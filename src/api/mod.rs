//! The HTTP layer: routes, authentication, the envelope. No business rules live here.

mod catalog;
mod envelope;
mod events;
mod extract;
mod integrations;
pub mod layers;
mod limiter;
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
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/metrics", get(metrics))
        .merge(users::router())
        .merge(events::router())
        .merge(catalog::router())
        .merge(integrations::router())
        .merge(webhooks::router())
        .merge(ui::router())
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .method_not_allowed_fallback(|| async { method_not_allowed() })
        .layer(axum::middleware::from_fn_with_state(ops, layers::around))
        .with_state(state)
}

/// Prometheus text format, without a token (like /health); off when the server says so.
async fn metrics(State(state): State<AppState>) -> Response {
    if !state.metrics_enabled {
        return Error::NotFound("no such endpoint".into()).into_response();
    }
    let text = state.ops.metrics.render(&state.app).await;
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text).into_response()
}

fn method_not_allowed() -> Response {
    let body = json!({"success": false, "message": "method not allowed", "code": 405, "data": ["method: not allowed on this endpoint"]});
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}
