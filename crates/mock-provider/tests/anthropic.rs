//! Anthropic Messages over a real socket.

// Test code: a panic is the failure report. (The workspace denies these outside tests, and
// clippy does not count an integration-test crate as test code.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::json;

const TEXT: &str = "Hello from the mock provider.";

fn messages_request(stream: bool) -> serde_json::Value {
    json!({"model": "claude-sonnet-4", "max_tokens": 100, "stream": stream,
           "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn message() {
    let mock = MockProvider::start().await.unwrap();
    let headers = [("x-mock-cache-write-tokens", "7"), ("x-mock-cache-read-tokens", "8")];
    let response = post(&mock, "/v1/messages", &headers, &messages_request(false)).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert!(!response.headers().contains_key("openai-processing-ms"));
    assert_eq!(
        json(response).await,
        json!({"id": "msg_mock", "type": "message", "role": "assistant", "model": "claude-sonnet-4",
               "content": [{"type": "text", "text": TEXT}], "stop_reason": "end_turn",
               "stop_sequence": null,
               "usage": {"input_tokens": 10, "cache_creation_input_tokens": 7,
                         "cache_read_input_tokens": 8, "output_tokens": 5}})
    );
}

#[tokio::test]
async fn message_stream_follows_the_real_event_sequence() {
    let mock = MockProvider::start().await.unwrap();
    let headers = [("x-mock-chunks", "3"), ("x-mock-completion-tokens", "42")];
    let events = sse(post(&mock, "/anthropic/v1/messages", &headers, &messages_request(true)).await).await;
    let names: Vec<&str> = events.iter().map(|e| e.name.as_deref().unwrap()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop",
        ]
    );
    for event in &events {
        assert_eq!(event.json()["type"], event.name.as_deref().unwrap());
    }
    let start = events[0].json();
    assert_eq!(
        start["message"]["usage"],
        json!({"input_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
               "output_tokens": 1})
    );
    assert_eq!(start["message"]["model"], "claude-sonnet-4");
    let text: String = events[3..6]
        .iter()
        .map(|e| {
            let delta = e.json()["delta"].clone();
            assert_eq!(delta["type"], "text_delta");
            delta["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(text, TEXT);
    assert_eq!(
        events[7].json(),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": 42}})
    );
}

#[tokio::test]
async fn tool_use_when_tools_are_offered() {
    let mock = MockProvider::start().await.unwrap();
    let mut request = messages_request(true);
    request["tools"] = json!([{"name": "search", "input_schema": {"type": "object"}}]);
    let events = sse(post(&mock, "/v1/messages", &[], &request).await).await;
    let start = events.iter().find(|e| e.name.as_deref() == Some("content_block_start")).unwrap();
    assert_eq!(start.json()["content_block"]["type"], "tool_use");
    assert_eq!(start.json()["content_block"]["name"], "search");
    let delta = events.iter().find(|e| e.name.as_deref() == Some("message_delta")).unwrap();
    assert_eq!(delta.json()["delta"]["stop_reason"], "tool_use");
}

#[tokio::test]
async fn errors_in_anthropic_shape() {
    let mock = MockProvider::start().await.unwrap();
    let response = post(&mock, "/v1/messages", &[("x-mock-status", "529")], &messages_request(false)).await;
    assert_eq!(response.status(), 529);
    assert_eq!(
        json(response).await,
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "mock error"}})
    );
}
