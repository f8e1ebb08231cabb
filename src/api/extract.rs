//! Extractors: the authenticated workspace, strict JSON or CSV bodies, and ids in paths.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use serde_json::Value;

use super::AppState;
use crate::domain::{Id, Role};
use crate::error::Error;
use crate::limits::{MAX_BODY_BYTES, MAX_JSON_DEPTH};
use crate::service::Workspace;

/// A request with a live token: its workspace and role.
pub struct Auth {
    pub workspace: Arc<Workspace>,
    pub role: Role,
}

impl Auth {
    /// 403 unless the token is an admin's.
    pub fn require_admin(&self, action: &str) -> Result<(), Error> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Agent => Err(Error::Forbidden(format!("Authorization: {action} needs an admin token"))),
        }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, Error> {
        let header = parts.headers.get(AUTHORIZATION).and_then(|h| h.to_str().ok());
        let token = crate::auth::authenticate(&*state.app.store, header).await?;
        state.limiter.check(&token.id)?;
        crate::auth::touch(&*state.app.store, &token).await;
        let workspace = state.app.workspace(token.workspace_id).await?;
        Ok(Auth { workspace, role: token.role })
    }
}

fn content_type(headers: &HeaderMap) -> String {
    let value = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

fn is_json(content_type: &str) -> bool {
    content_type == "application/json" || content_type.ends_with("+json")
}

async fn read_body(request: Request) -> Result<Bytes, Error> {
    axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES).await.map_err(|_| Error::TooLarge(MAX_BODY_BYTES))
}

/// The deepest nesting of arrays and objects in a JSON text (strings skipped); stops counting
/// past `limit`.
fn json_depth(bytes: &[u8], limit: usize) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    break;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fn parse_json(bytes: &[u8]) -> Result<Value, Error> {
    if json_depth(bytes, MAX_JSON_DEPTH) > MAX_JSON_DEPTH {
        return Err(Error::bad("body", format!("is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects")));
    }
    serde_json::from_slice(bytes).map_err(|e| Error::bad("", format!("is not valid JSON: {e}")))
}

/// A JSON body (Content-Type application/json), parsed but not yet validated.
pub struct JsonBody(pub Value);

impl FromRequest<AppState> for JsonBody {
    type Rejection = Error;

    async fn from_request(request: Request, _: &AppState) -> Result<JsonBody, Error> {
        let kind = content_type(request.headers());
        if !is_json(&kind) {
            return Err(Error::UnsupportedMediaType(format!(
                "Content-Type: {kind:?} is not supported; send application/json"
            )));
        }
        Ok(JsonBody(parse_json(&read_body(request).await?)?))
    }
}

/// An import body: a JSON array, or CSV (Content-Type text/csv).
pub enum ImportBody {
    Json(Value),
    Csv(Bytes),
}

impl FromRequest<AppState> for ImportBody {
    type Rejection = Error;

    async fn from_request(request: Request, _: &AppState) -> Result<ImportBody, Error> {
        let kind = content_type(request.headers());
        if is_json(&kind) {
            Ok(ImportBody::Json(parse_json(&read_body(request).await?)?))
        } else if kind == "text/csv" {
            Ok(ImportBody::Csv(read_body(request).await?))
        } else {
            Err(Error::UnsupportedMediaType(format!(
                "Content-Type: {kind:?} is not supported; send application/json or text/csv"
            )))
        }
    }
}

/// The `{id}` of a path; a malformed one is 400.
pub struct PathId(pub Id);

impl FromRequestParts<AppState> for PathId {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<PathId, Error> {
        let Path(text) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|_| Error::bad("id", "missing"))?;
        Id::parse(&text)
            .map(PathId)
            .ok_or_else(|| Error::bad("id", format!("{text:?} is not an id (24 lowercase hex characters)")))
    }
}

#[cfg(test)]
mod tests {
    use super::json_depth;

    #[test]
    fn depth_counts_arrays_and_objects_but_not_strings() {
        assert_eq!(json_depth(b"1", 32), 0);
        assert_eq!(json_depth(br#"[{"a": [1, {"b": "[[[[{{"}]}]"#, 32), 4);
        assert_eq!(json_depth(br#"{"a": "\"[[["}"#, 32), 1);
        assert_eq!(json_depth(br#"{"a": "\\", "b": [[]]}"#, 32), 3);
        assert_eq!(json_depth("[".repeat(100_000).as_bytes(), 32), 33);
    }
}
