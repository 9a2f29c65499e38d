//! Gemini generateContent / streamGenerateContent over a real socket.

// Test code: a panic is the failure report. (The workspace denies these outside tests, and
// clippy does not count an integration-test crate as test code.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const TEXT: &str = "Hello from the mock provider.";

fn contents() -> Value {
    json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
}

#[tokio::test]
async fn generate_content() {
    let mock = MockProvider::start().await.unwrap();
    let path = "/v1beta/models/gemini-2.0-flash:generateContent";
    let response = post(&mock, path, &[("x-mock-cached-tokens", "4")], &contents()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        json(response).await,
        json!({"candidates": [{"content": {"parts": [{"text": TEXT}], "role": "model"},
                               "finishReason": "STOP", "index": 0}],
               "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                 "totalTokenCount": 15, "cachedContentTokenCount": 4},
               "modelVersion": "gemini-2.0-flash", "responseId": "mock"})
    );
}

#[tokio::test]
async fn stream_generate_content_sse() {
    let mock = MockProvider::start().await.unwrap();
    let path = "/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse";
    let headers = [("x-mock-thoughts-tokens", "6"), ("x-mock-completion-tokens", "20")];
    let events = sse(post(&mock, path, &headers, &contents()).await).await;
    assert_eq!(events.len(), 5);
    let chunks: Vec<Value> = events.iter().map(Event::json).collect();
    let text: String =
        chunks.iter().map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(text, TEXT);
    for chunk in &chunks {
        assert_eq!(chunk["usageMetadata"]["promptTokenCount"], 10);
        assert_eq!(chunk["usageMetadata"]["thoughtsTokenCount"], 6);
        assert_eq!(chunk["modelVersion"], "gemini-2.5-pro");
    }
    let last = chunks.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["usageMetadata"]["candidatesTokenCount"], 20);
    assert_eq!(last["usageMetadata"]["totalTokenCount"], 36);
    assert!(chunks[0]["candidates"][0].get("finishReason").is_none());
    assert_eq!(mock.received()[0].query.as_deref(), Some("alt=sse"));
}

#[tokio::test]
async fn stream_generate_content_without_sse_is_a_json_array() {
    let mock = MockProvider::start().await.unwrap();
    let path = "/v1beta/models/gemini-2.0-flash:streamGenerateContent";
    let response = post(&mock, path, &[("x-mock-chunks", "2")], &contents()).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    let chunks = json(response).await;
    let chunks = chunks.as_array().unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(chunks[1]["usageMetadata"]["candidatesTokenCount"], 5);
}

#[tokio::test]
async fn errors_in_gemini_shape() {
    let mock = MockProvider::start().await.unwrap();
    let path = "/v1beta/models/gemini-2.0-flash:generateContent";
    let response = post(&mock, path, &[("x-mock-status", "429")], &contents()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "0");
    assert_eq!(
        json(response).await,
        json!({"error": {"code": 429, "message": "mock error", "status": "RESOURCE_EXHAUSTED"}})
    );
}
