//! A plain hyper client for talking to the mock provider, and SSE parsing.

#![allow(dead_code)] // each test binary uses its own subset

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

#[allow(unused_imports)] // not every test binary starts one with options
pub use aigw_mock_provider::{MockOptions, MockProvider};

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn h2c_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).http2_only(true).build_http()
}

pub fn request(
    mock: &MockProvider,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &Value,
) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("{}{path}", mock.base_url()))
        .header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
    req.body(Full::new(body)).unwrap()
}

/// POSTs `body` as JSON and returns the response with its body unread.
pub async fn post(mock: &MockProvider, path: &str, headers: &[(&str, &str)], body: &Value) -> Response<Incoming> {
    client().request(request(mock, "POST", path, headers, body)).await.unwrap()
}

pub async fn text(response: Response<Incoming>) -> String {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub async fn json(response: Response<Incoming>) -> Value {
    serde_json::from_str(&text(response).await).unwrap()
}

/// One server-sent event: its `event:` name, if any, and its `data:`.
#[derive(Debug)]
pub struct Event {
    pub name: Option<String>,
    pub data: String,
}

impl Event {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// Splits an SSE body into events; `\r\n` and `\n` line ends both work.
pub fn parse_sse(body: &str) -> Vec<Event> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut event = Event { name: None, data: String::new() };
            for line in block.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event.name = Some(name.to_owned());
                } else if let Some(data) = line.strip_prefix("data: ") {
                    event.data.push_str(data);
                } else {
                    panic!("unexpected SSE line {line:?}");
                }
            }
            event
        })
        .collect()
}

/// Reads the whole body of a streaming response and parses it as SSE.
pub async fn sse(response: Response<Incoming>) -> Vec<Event> {
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    parse_sse(&text(response).await)
}
