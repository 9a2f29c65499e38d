//! One request, start to finish: read and record it, apply the control headers, pick the
//! endpoint by path suffix, turn its reply into a response.

use std::fmt::Display;
use std::io;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::body::{EventBody, MockBody, Pacing};
use crate::control::Controls;
use crate::errors::{self, Family};
use crate::gemini::{self, Target};
use crate::received::Received;
use crate::reply::{Call, Reply};
use crate::state::{wait_shutdown, Shared};
use crate::{anthropic, openai, responses};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const OPENAI_PROCESSING_MS: HeaderName = HeaderName::from_static("openai-processing-ms");

/// The endpoint a request is for.
enum Route<'a> {
    Chat,
    Completions,
    Embeddings,
    Responses,
    Models,
    Messages,
    Gemini(Target<'a>),
    NotFound,
}

impl<'a> Route<'a> {
    /// Matches on the path's suffix, so any base path in front works.
    fn new(method: &Method, path: &'a str) -> Self {
        if *method == Method::GET {
            return if path.ends_with("/models") { Self::Models } else { Self::NotFound };
        }
        if *method != Method::POST {
            return Self::NotFound;
        }
        if let Some(target) = gemini::target(path) {
            return Self::Gemini(target);
        }
        let suffixes = [
            ("/chat/completions", Self::Chat),
            ("/completions", Self::Completions),
            ("/embeddings", Self::Embeddings),
            ("/responses", Self::Responses),
            ("/messages", Self::Messages),
        ];
        suffixes
            .into_iter()
            .find_map(|(suffix, route)| path.ends_with(suffix).then_some(route))
            .unwrap_or(Self::NotFound)
    }

    fn family(&self) -> Family {
        match self {
            Self::Messages => Family::Anthropic,
            Self::Gemini(_) => Family::Gemini,
            _ => Family::OpenAi,
        }
    }
}

/// Answers one request. The only error is a hung request giving up at shutdown: hyper then
/// closes the connection (or resets the h2 stream) without sending any response.
pub(crate) async fn handle<B>(shared: &Shared, req: Request<B>) -> io::Result<Response<MockBody>>
where
    B: Body,
    B::Error: Display,
{
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        // The client went away mid-body; nobody will read this answer.
        Err(e) => return Ok(plain(StatusCode::BAD_REQUEST, format!("mock provider: {e}"))),
    };
    if let Some(json) = crate::inspect::answer(shared, &parts) {
        return Ok(with_type(MockBody::full(json), "application/json"));
    }
    let number = shared.arrive(|| Received::from_parts(&parts, body.clone()));
    let controls = Controls::from_headers(&parts.headers);
    let route = Route::new(&parts.method, parts.uri.path());
    let family = route.family();

    if controls.hang {
        wait_shutdown(shared.shutdown_signal()).await;
        return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "mock provider shut down during x-mock-hang"));
    }
    if let Some(delay) = controls.delay {
        tokio::time::sleep(delay).await;
    }

    let error = |status: StatusCode, message: &str| (status, Reply::Json(errors::body(family, status, message)));
    let (status, reply) = if let Route::NotFound = route {
        let message = format!("mock provider: no route for {} {}", parts.method, parts.uri.path());
        error(StatusCode::NOT_FOUND, &message)
    } else if let Some(status) = controls.error_status() {
        error(status, "mock error")
    } else {
        match parse(&body) {
            Some(json) => {
                let call = Call { number, controls: &controls, json: &json, query: parts.uri.query() };
                let reply = dispatch(shared, &route, &call);
                (controls.status.unwrap_or(StatusCode::OK), reply)
            }
            None => error(StatusCode::BAD_REQUEST, "mock provider: request body is not JSON"),
        }
    };

    let mut response = match reply {
        Reply::Json(bytes) => with_type(MockBody::full(bytes), "application/json"),
        Reply::Stream { content_type, events } => {
            let pacing = Pacing {
                chunk_delay: controls.chunk_delay,
                gate: controls.gate.as_deref().map(|name| shared.gate(name)),
                abort_after: controls.abort_after,
                shutdown: shared.shutdown_signal(),
            };
            let mut response = with_type(MockBody::Events(EventBody::new(events, pacing)), content_type);
            let no_cache = HeaderValue::from_static("no-cache");
            response.headers_mut().insert(CACHE_CONTROL, no_cache);
            response
        }
    };
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::try_from(format!("req_mock_{number}")) {
        headers.insert(X_REQUEST_ID, id);
    }
    if family == Family::OpenAi {
        headers.insert(OPENAI_PROCESSING_MS, HeaderValue::from_static("1"));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        headers.insert(RETRY_AFTER, HeaderValue::from_static("0"));
    }
    Ok(response)
}

fn dispatch(shared: &Shared, route: &Route<'_>, call: &Call<'_>) -> Reply {
    match route {
        Route::Chat => openai::chat(call, &shared.chat_template),
        Route::Completions => openai::completions(call),
        Route::Embeddings => openai::embeddings(call),
        Route::Responses => responses::responses(call),
        Route::Models => openai::models(),
        Route::Messages => anthropic::messages(call),
        Route::Gemini(target) => gemini::generate(call, target),
        // Answered with a 404 before dispatch.
        Route::NotFound => Reply::json(&Value::Null),
    }
}

/// The request body as JSON; an empty body counts as `{}`.
fn parse(body: &Bytes) -> Option<Value> {
    if body.is_empty() {
        return Some(Value::Object(serde_json::Map::new()));
    }
    serde_json::from_slice(body).ok()
}

fn with_type(body: MockBody, content_type: &'static str) -> Response<MockBody> {
    let mut response = Response::new(body);
    let value = HeaderValue::from_static(content_type);
    response.headers_mut().insert(CONTENT_TYPE, value);
    response
}

fn plain(status: StatusCode, text: impl Into<Bytes>) -> Response<MockBody> {
    let mut response = with_type(MockBody::full(text), "text/plain");
    *response.status_mut() = status;
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use http_body_util::Full;
    use tokio::sync::watch;

    /// Runs one request through the router, without a socket.
    async fn call(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> (Response<MockBody>, Value) {
        let (_down, shutdown) = watch::channel(false);
        let shared = Shared::new(true, shutdown);
        let mut req = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
        let mut response = handle(&shared, req).await.unwrap();
        let bytes = response.body_mut().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (response, json)
    }

    #[tokio::test]
    async fn matches_any_base_path() {
        for path in [
            "/v1/chat/completions",
            "/chat/completions",
            "/openai/v1/chat/completions",
            "/v1beta/openai/chat/completions",
        ] {
            let (response, json) = call("POST", path, &[], r#"{"model":"m","messages":[]}"#).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(json["object"], "chat.completion", "{path}");
        }
        let (_, json) = call("POST", "/x/v1/completions", &[], r#"{"prompt":"p"}"#).await;
        assert_eq!(json["object"], "text_completion");
        let (_, json) = call("GET", "/v1/models", &[], "").await;
        assert_eq!(json["data"][0]["id"], "gpt-4o-mini");
    }

    #[tokio::test]
    async fn unknown_paths_get_an_openai_404() {
        let (response, json) = call("POST", "/v1/nope", &[], "{}").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json["error"]["type"], "invalid_request_error");
        let (response, _) = call("DELETE", "/v1/chat/completions", &[], "").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn rejects_a_body_that_is_not_json_in_the_provider_shape() {
        let (response, json) = call("POST", "/v1/messages", &[], "{not json").await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json["error"]["type"], "invalid_request_error");
        assert_eq!(json["type"], "error");
    }

    #[tokio::test]
    async fn provider_headers_and_retry_after() {
        let (response, _) = call("POST", "/v1/chat/completions", &[("x-mock-status", "429")], "{}").await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()["retry-after"], "0");
        assert_eq!(response.headers()["x-request-id"], "req_mock_1");
        assert_eq!(response.headers()["openai-processing-ms"], "1");
        let (response, _) = call("POST", "/v1/messages", &[], "{}").await;
        assert!(response.headers().get("openai-processing-ms").is_none());
        assert!(response.headers().contains_key("x-request-id"));
    }
}
