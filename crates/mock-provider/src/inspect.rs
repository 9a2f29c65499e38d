//! `GET /_mock/received`: every request recorded so far, as JSON, for test suites that run the
//! mock as a separate process (the Python SDK suites) and must assert on what the provider saw.
//! Inspection requests are not recorded themselves.
//!
//! `[{"method", "path", "query", "headers": [[name, value], ...], "body": text}]`, in arrival order.

use bytes::Bytes;
use http::request::Parts;
use http::Method;
use serde_json::{json, Value};

use crate::state::Shared;

/// The path of the inspection endpoint.
pub(crate) const RECEIVED_PATH: &str = "/_mock/received";

/// The recorded requests as JSON, when `parts` asks for them.
pub(crate) fn answer(shared: &Shared, parts: &Parts) -> Option<Bytes> {
    if parts.method != Method::GET || parts.uri.path() != RECEIVED_PATH {
        return None;
    }
    let list: Vec<Value> = shared
        .received()
        .iter()
        .map(|r| {
            json!({
                "method": r.method,
                "path": r.path,
                "query": r.query,
                "headers": r.headers,
                "body": String::from_utf8_lossy(&r.body),
            })
        })
        .collect();
    Some(Bytes::from(Value::Array(list).to_string()))
}
