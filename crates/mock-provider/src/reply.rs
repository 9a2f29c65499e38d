//! What an endpoint gets (`Call`) and gives back (`Reply`), and the SSE framing they share.
//!
//! Endpoints are pure functions from a `Call` to a `Reply`; the router turns the reply into
//! a response with headers and pacing.

use bytes::Bytes;
use serde_json::Value;

use crate::control::Controls;

/// The `created` timestamp in every answer: fixed, so answers are reproducible.
pub(crate) const CREATED: u64 = 1_700_000_000;

/// The model reported when the request names none.
const DEFAULT_MODEL: &str = "mock-model";

/// One request, as the endpoints see it.
pub(crate) struct Call<'a> {
    /// The request's number, from 1; ids in the answer carry it.
    pub number: u64,
    pub controls: &'a Controls,
    /// The request body (`{}` when it was empty).
    pub json: &'a Value,
    pub query: Option<&'a str>,
}

impl Call<'_> {
    /// The request's `model`.
    pub(crate) fn model(&self) -> &str {
        self.json["model"].as_str().unwrap_or(DEFAULT_MODEL)
    }

    /// Whether the request asked for a stream (`"stream": true`).
    pub(crate) fn stream(&self) -> bool {
        self.json["stream"].as_bool().unwrap_or(false)
    }

    /// OpenAI's `stream_options.include_usage`.
    pub(crate) fn include_usage(&self) -> bool {
        self.json["stream_options"]["include_usage"].as_bool().unwrap_or(false)
    }

    /// The name of the first tool the request offers, if it offers any: OpenAI chat
    /// (`function.name`) or Anthropic / Responses (`name`) style.
    pub(crate) fn first_tool(&self) -> Option<&str> {
        let tool = self.json["tools"].as_array()?.first()?;
        Some(tool["function"]["name"].as_str().or_else(|| tool["name"].as_str()).unwrap_or("tool"))
    }
}

/// An endpoint's answer.
pub(crate) enum Reply {
    /// A complete JSON body.
    Json(Bytes),
    /// A stream, one frame per event.
    Stream { content_type: &'static str, events: Vec<Bytes> },
}

impl Reply {
    pub(crate) fn json(value: &Value) -> Self {
        Self::Json(Bytes::from(value.to_string()))
    }

    /// A `text/event-stream` of the given events.
    pub(crate) fn sse(events: Vec<Bytes>) -> Self {
        Self::Stream { content_type: "text/event-stream", events }
    }
}

/// An SSE event with only a data line: `data: {json}\n\n`.
pub(crate) fn sse_data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

/// A named SSE event: `event: {name}\ndata: {json}\n\n`.
pub(crate) fn sse_event(name: &str, value: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {value}\n\n"))
}

/// OpenAI's end-of-stream marker.
pub(crate) const SSE_DONE: Bytes = Bytes::from_static(b"data: [DONE]\n\n");

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_request() {
        let controls = Controls::default();
        let json = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true},
                          "tools": [{"type": "function", "function": {"name": "get_weather"}}]});
        let call = Call { number: 1, controls: &controls, json: &json, query: None };
        assert_eq!(call.model(), "m");
        assert!(call.stream());
        assert!(call.include_usage());
        assert_eq!(call.first_tool(), Some("get_weather"));

        let json = json!({"tools": [{"name": "lookup", "input_schema": {}}]});
        let call = Call { number: 1, controls: &controls, json: &json, query: None };
        assert_eq!(call.model(), DEFAULT_MODEL);
        assert!(!call.stream() && !call.include_usage());
        assert_eq!(call.first_tool(), Some("lookup"));
    }

    #[test]
    fn frames_sse() {
        assert_eq!(sse_data(&json!({"a": 1})), "data: {\"a\":1}\n\n");
        assert_eq!(sse_event("ping", &json!({"type": "ping"})), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }
}
