//! The envelope every JSON answer is wrapped in, and the mapping of errors to statuses.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::error::Error;

pub fn ok(data: Value) -> Response {
    Json(json!({"success": true, "message": "", "code": 200, "data": data})).into_response()
}

pub fn ok_list(data: Value, meta: Value) -> Response {
    Json(json!({"success": true, "message": "", "code": 200, "data": data, "meta": meta})).into_response()
}

/// `ok_list` around data already written as JSON (a page of users, rendered straight from the
/// documents); the same bytes and headers as `ok_list` with that data as a `Value`.
pub fn ok_list_json(data_json: Vec<u8>, meta: &Value) -> Response {
    let mut body = Vec::with_capacity(data_json.len() + 160);
    body.extend_from_slice(br#"{"success":true,"message":"","code":200,"data":"#);
    body.extend_from_slice(&data_json);
    body.extend_from_slice(br#","meta":"#);
    // Cannot fail: writing a Value to a Vec.
    let _ = serde_json::to_writer(&mut body, meta);
    body.push(b'}');
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

fn failure(status: StatusCode, message: &str, problems: Vec<String>) -> Response {
    let body = json!({"success": false, "message": message, "code": status.as_u16(), "data": problems});
    (status, Json(body)).into_response()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match self {
            Error::BadRequest(problems) => {
                let message = match problems.len() {
                    1 => "invalid request: 1 problem".to_string(),
                    n => format!("invalid request: {n} problems"),
                };
                failure(StatusCode::BAD_REQUEST, &message, problems.0)
            }
            Error::Unauthorized => failure(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                vec!["Authorization: missing, malformed, unknown or revoked bearer token".into()],
            ),
            Error::Forbidden(what) => failure(StatusCode::FORBIDDEN, "forbidden", vec![what]),
            Error::NotFound(what) => failure(StatusCode::NOT_FOUND, "not found", vec![what]),
            Error::TooLarge(limit) => failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
                vec![format!("body: larger than the limit of {limit} bytes")],
            ),
            Error::UnsupportedMediaType(what) => {
                failure(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported content type", vec![what])
            }
            Error::RateLimited { retry_after_secs } => {
                let mut response = failure(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate limited",
                    vec![format!("Authorization: too many requests; retry after {retry_after_secs} s")],
                );
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            Error::Internal(error) => {
                let store = error.chain().any(|cause| cause.downcast_ref::<rusqlite::Error>().is_some());
                crate::metrics::internal_error(store);
                tracing::error!(error = format!("{error:#}"), "internal error");
                failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error", vec!["server: internal error".into()])
            }
        }
    }
}
