//! What wraps every request: a request id, a tracing span, metrics, the request timeout, and
//! running the handler in its own task.
//!
//! The handler runs in a spawned task so that nothing cancels a write half-way: neither a
//! client that hangs up nor the timeout. A write that runs past the timeout is answered 503 at
//! once and still finishes (its commit and the engine update stay together).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::sync::Notify;
use tracing::Instrument;

use futures_util::StreamExt;

use crate::limits::MAX_BODY_BYTES;
use crate::metrics::Metrics;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest accepted client-given request id; a longer or odd one is replaced.
const MAX_REQUEST_ID: usize = 128;
/// Requests slower than this are logged at info level (the others at debug).
const SLOW: Duration = Duration::from_secs(1);

/// Shared by the layer, the /metrics handler and graceful shutdown.
pub struct Ops {
    pub metrics: Metrics,
    pub timeout: Duration,
    handlers: AtomicUsize,
    idle: Notify,
}

impl Ops {
    pub fn new(timeout: Duration) -> Ops {
        Ops { metrics: Metrics::default(), timeout, handlers: AtomicUsize::new(0), idle: Notify::new() }
    }

    /// Waits until no handler task runs (those whose clients left or timed out included).
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.handlers.load(Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Counts a running handler task.
struct Running(Arc<Ops>);

impl Running {
    fn new(ops: Arc<Ops>) -> Running {
        ops.handlers.fetch_add(1, Ordering::SeqCst);
        Running(ops)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.handlers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The client's `x-request-id` when it is 1 to 128 visible ASCII characters, else a new one.
fn request_id(request: &Request) -> HeaderValue {
    let given = request.headers().get(&REQUEST_ID).filter(|v| {
        let bytes = v.as_bytes();
        !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID && bytes.iter().all(|b| b.is_ascii_graphic())
    });
    match given {
        Some(value) => value.clone(),
        None => HeaderValue::from_str(&hex::encode(rand::random::<[u8; 12]>())).expect("hex is a header value"),
    }
}

/// Hands the request body to the handler through a channel, and once the handler stops reading
/// (an error answered before the body was read: 401, 413, 415...), reads the rest and drops it,
/// up to MAX_BODY_BYTES more. So the client can finish sending and read its answer, instead of
/// meeting a reset connection.
fn draining(request: Request) -> Request {
    let (parts, body) = request.into_parts();
    if axum::body::HttpBody::is_end_stream(&body) {
        return Request::from_parts(parts, body);
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, axum::Error>>(4);
    tokio::spawn(async move {
        let mut stream = body.into_data_stream();
        let mut forwarding = true;
        let mut dropped = 0usize;
        while let Some(chunk) = stream.next().await {
            if forwarding {
                let failed = chunk.is_err();
                forwarding = sender.send(chunk).await.is_ok();
                if failed {
                    break;
                }
            } else {
                dropped += chunk.as_ref().map_or(0, |bytes| bytes.len());
                if dropped > MAX_BODY_BYTES {
                    break;
                }
            }
        }
    });
    let body = axum::body::Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(receiver));
    Request::from_parts(parts, body)
}

pub async fn around(State(ops): State<Arc<Ops>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request = draining(request);
    let id = request_id(&request);
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_string();
    let method = request.method().as_str().to_string();
    let span = tracing::info_span!("request", id = id.to_str().unwrap_or(""), %method, %route);
    let _in_flight = ops.metrics.start();
    let running = Running::new(ops.clone());
    let handler = tokio::spawn(
        async move {
            let _running = running;
            next.run(request).await
        }
        .instrument(span.clone()),
    );
    let mut response = match tokio::time::timeout(ops.timeout, handler).await {
        Ok(Ok(response)) => response,
        Ok(Err(error)) => {
            span.in_scope(|| tracing::error!(%error, "handler panicked"));
            crate::metrics::internal_error(false);
            failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error", "server: internal error".into())
        }
        Err(_) => {
            ops.metrics.timed_out();
            let secs = ops.timeout.as_secs();
            span.in_scope(|| tracing::warn!(timeout_secs = secs, "request timed out; its handler runs on"));
            failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "request timed out",
                format!("server: no answer within {secs} s; a write may still be applied, retry it safely (eventId, import upserts)"),
            )
        }
    };
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    ops.metrics.record(&route, &method, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    // An access line per request would cost more than many answers do: routine ones are debug.
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, "answered");
        } else if elapsed >= SLOW {
            tracing::info!(status, latency_ms, "answered slowly");
        } else {
            tracing::debug!(status, latency_ms, "answered");
        }
    });
    response
}

fn failure(status: StatusCode, message: &str, problem: String) -> Response {
    (status, Json(json!({"success": false, "message": message, "code": status.as_u16(), "data": [problem]})))
        .into_response()
}
