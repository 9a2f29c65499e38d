//! The web dashboard: plain ES modules and CSS under `crates/admin/web/`, embedded in the binary
//! at compile time and served at `/` and `/assets/...` by the admin listener. No build step.
//!
//! The pages talk only to the public admin API under `/client/v4`, with the session cookie, so
//! every response here carries a strict Content-Security-Policy: scripts, styles, images and
//! connections from this origin only, no inline code, no framing.
//!
//! Caching: file names carry no hash (there is no build step to add one), so every response is
//! `Cache-Control: no-cache` with a strong `ETag` (the SHA-256 of the file) and a matching
//! `If-None-Match` is answered `304 Not Modified`: a reload revalidates in one round trip per
//! file and never runs a stale module against a newer API.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::envelope::ApiError;

/// What the browser may load and from where. `data:` images are the inline SVG icons of the CSS.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    /// The name under `/assets/` (`index.html` is served at `/`).
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset { name: $name, content_type: $content_type, body: include_bytes!(concat!("../web/", $name)) }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of `web/` (a test checks that none is missing and that every import resolves).
const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("format.js", JS),
    asset!("bodies.js", JS),
    asset!("login.js", JS),
    asset!("logs.js", JS),
    asset!("logdetail.js", JS),
    asset!("playground.js", JS),
    asset!("keys.js", JS),
];

/// The routes of the dashboard; merged into the admin router beside the API.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new().route("/", get(index)).route("/assets/{*name}", get(asset))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    if name == "index.html" {
        // One address for the page, so its links resolve the same way everywhere.
        return ApiError::no_route().into_response();
    }
    serve(&name, &headers)
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(index) = ASSETS.iter().position(|a| a.name == name) else {
        return ApiError::no_route().into_response();
    };
    let asset = &ASSETS[index];
    let etag = &etags()[index];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag.as_str() || tag.trim() == "*"));
    let mut response = if fresh { StatusCode::NOT_MODIFIED.into_response() } else { asset.body.into_response() };
    let h = response.headers_mut();
    if !fresh {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    }
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    response
}

/// The strong ETag of each asset, in `ASSETS` order, computed once.
fn etags() -> &'static [String] {
    static ETAGS: OnceLock<Vec<String>> = OnceLock::new();
    ETAGS.get_or_init(|| ASSETS.iter().map(|a| format!("\"{}\"", hex::encode(&Sha256::digest(a.body)[..16]))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(uri: &str, if_none_match: Option<&str>) -> Response {
        let mut request = Request::get(uri);
        if let Some(tag) = if_none_match {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        routes::<()>().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn text(response: Response) -> String {
        String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn serves_the_page_at_the_root_with_a_strict_policy() {
        let response = get("/", None).await;
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'; script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(text(response).await.contains(r#"<script type="module" src="/assets/app.js">"#));
    }

    #[tokio::test]
    async fn serves_modules_and_styles_with_their_types() {
        for (uri, content_type) in [("/assets/app.js", JS), ("/assets/style.css", "text/css; charset=utf-8")] {
            let response = get(uri, None).await;
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], content_type, "{uri}");
        }
    }

    #[tokio::test]
    async fn answers_304_to_a_matching_etag_and_200_to_a_stale_one() {
        let first = get("/assets/logs.js", None).await;
        let etag = first.headers()[header::ETAG].to_str().unwrap().to_string();
        assert!(etag.starts_with('"') && etag.len() == 34, "{etag}");
        let again = get("/assets/logs.js", Some(&etag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers()[header::ETAG], etag.as_str());
        assert!(text(again).await.is_empty());
        let stale = get("/assets/logs.js", Some("\"0000\"")).await;
        assert_eq!(stale.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn unknown_files_are_404() {
        for uri in ["/assets/nope.js", "/assets/../Cargo.toml", "/assets/index.html"] {
            assert_eq!(get(uri, None).await.status(), StatusCode::NOT_FOUND, "{uri}");
        }
    }

    /// Every file in `web/` is embedded, and every module import and page reference names an
    /// embedded file: a file added without its `asset!` line would 404 in the browser.
    #[test]
    fn every_web_file_is_embedded_and_every_reference_resolves() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut on_disk: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        on_disk.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.name.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
        for asset in ASSETS {
            let text = std::str::from_utf8(asset.body).unwrap();
            for reference in references(text) {
                assert!(ASSETS.iter().any(|a| a.name == reference), "{} refers to missing {reference}", asset.name);
            }
        }
    }

    /// `from "./x.js"`, `import("./x.js")` and `/assets/x` references in a file.
    fn references(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for open in ["\"./", "\"/assets/"] {
            let mut rest = text;
            while let Some(at) = rest.find(open) {
                let tail = &rest[at + open.len()..];
                let end = tail.find('"').unwrap_or(tail.len());
                found.push(tail[..end].to_string());
                rest = &tail[end..];
            }
        }
        found
    }
}
