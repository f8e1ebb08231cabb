//! The web inbox: the page at `/` and its files under `/ui/`, embedded in the binary at build time.
//!
//! The page needs no token to load; it asks for one and sends it with every API call. Everything it
//! uses is in `web/`, so the binary serves a working inbox offline, with no build step of its own.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::error::Error;

/// One embedded file: the name it is served under (after `/ui/`), its content type and its bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

macro_rules! asset {
    ($name:literal, $type:expr) => {
        Asset { name: $name, content_type: $type, body: include_str!(concat!("../../web/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const INDEX: Asset = asset!("index.html", "text/html; charset=utf-8");

static ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/state.js", JS),
    asset!("js/table.js", JS),
    asset!("js/filters.js", JS),
    asset!("js/drawer.js", JS),
    asset!("js/bulk.js", JS),
    asset!("js/segments.js", JS),
];

/// The page may talk to this server only, and run only its own scripts. Contact pictures are the one
/// thing it shows from elsewhere: they are URLs that the business stored on its users.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: https: http:; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(index)).route("/ui/{*name}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve(&INDEX, &headers)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => serve(asset, &headers),
        None => Error::NotFound(format!("path: no file {name:?} in the web inbox")).into_response(),
    }
}

/// Answers the file, or 304 when the browser already holds this version. `no-cache` makes the browser
/// ask every time, so a new binary's page is never mixed with an old one's scripts; the ETag keeps
/// those questions cheap.
fn serve(asset: &Asset, request: &HeaderMap) -> Response {
    let etag = etag(asset.body);
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY)),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ];
    let etag = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers, [(header::ETAG, etag)]).into_response();
    }
    (headers, [(header::ETAG, etag)], asset.body).into_response()
}

fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_the_page_imports_is_served() {
        let mut sources: Vec<&str> = ASSETS.iter().map(|asset| asset.body).collect();
        sources.push(INDEX.body);
        for source in sources {
            for (at, _) in source.match_indices("from './") {
                let rest = &source[at + "from './".len()..];
                let name = &rest[..rest.find('\'').unwrap_or(0)];
                assert!(ASSETS.iter().any(|asset| asset.name == format!("js/{name}")), "js/{name} is not embedded");
            }
        }
        for needed in ["/ui/style.css", "/ui/js/app.js", "/ui/icon.svg"] {
            assert!(INDEX.body.contains(needed), "index.html does not load {needed}");
        }
    }

    #[test]
    fn a_browser_holding_the_current_version_gets_304() {
        let etag = etag(INDEX.body);
        let mut request = HeaderMap::new();
        request.insert(header::IF_NONE_MATCH, HeaderValue::from_str(&etag).unwrap());
        assert_eq!(serve(&INDEX, &request).status(), StatusCode::NOT_MODIFIED);
        let answer = serve(&INDEX, &HeaderMap::new());
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(answer.headers()[header::CACHE_CONTROL], "no-cache");
    }
}
