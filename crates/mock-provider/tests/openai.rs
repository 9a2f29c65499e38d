//! OpenAI endpoints over a real socket: chat, legacy completions, embeddings, Responses, models.

// Test code: a panic is the failure report. (The workspace denies these outside tests, and
// clippy does not count an integration-test crate as test code.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{json, Value};

const TEXT: &str = "Hello from the mock provider.";

fn chat_request(stream: bool, include_usage: Option<bool>) -> Value {
    let mut body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]});
    if stream {
        body["stream"] = true.into();
    }
    if let Some(include) = include_usage {
        body["stream_options"] = json!({"include_usage": include});
    }
    body
}

#[tokio::test]
async fn chat_completion() {
    let mock = MockProvider::start().await.unwrap();
    let response = post(&mock, "/v1/chat/completions", &[], &chat_request(false, None)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-request-id"], "req_mock_1");
    assert_eq!(response.headers()["openai-processing-ms"], "1");
    let body = json(response).await;
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-mock"));
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["created"], 1_700_000_000);
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(
        body["choices"],
        json!([{"index": 0, "message": {"role": "assistant", "content": TEXT, "refusal": null},
                "logprobs": null, "finish_reason": "stop"}])
    );
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15,
               "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
               "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                   "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}})
    );
    assert_eq!(body["system_fingerprint"], "fp_mock");
}

#[tokio::test]
async fn chat_completion_with_steered_text_and_usage() {
    let mock = MockProvider::start().await.unwrap();
    let headers = [
        ("x-mock-text", "custom answer"),
        ("x-mock-prompt-tokens", "120"),
        ("x-mock-completion-tokens", "30"),
        ("x-mock-cached-tokens", "100"),
    ];
    let body = json(post(&mock, "/v1/chat/completions", &headers, &chat_request(false, None)).await).await;
    assert_eq!(body["choices"][0]["message"]["content"], "custom answer");
    assert_eq!(body["usage"]["prompt_tokens"], 120);
    assert_eq!(body["usage"]["completion_tokens"], 30);
    assert_eq!(body["usage"]["total_tokens"], 150);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
}

#[tokio::test]
async fn chat_stream_without_usage() {
    let mock = MockProvider::start().await.unwrap();
    let response = post(&mock, "/v1/chat/completions", &[], &chat_request(true, None)).await;
    assert_eq!(response.headers()["openai-processing-ms"], "1");
    let events = sse(response).await;

    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    // role chunk, 5 content chunks, finish chunk
    assert_eq!(chunks.len(), 7);
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "gpt-4o-mini");
        assert!(chunk.get("usage").is_none(), "usage key without include_usage: {chunk}");
    }
    assert_eq!(chunks[0]["choices"][0]["delta"], json!({"role": "assistant", "content": ""}));
    let text: String = chunks[1..6].iter().map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap()).collect();
    assert_eq!(text, TEXT);
    assert_eq!(chunks[6]["choices"][0]["delta"], json!({}));
    assert_eq!(chunks[6]["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn chat_stream_with_usage() {
    let mock = MockProvider::start().await.unwrap();
    let headers = [("x-mock-chunks", "2"), ("x-mock-completion-tokens", "9")];
    let events = sse(post(&mock, "/v1/chat/completions", &headers, &chat_request(true, Some(true))).await).await;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    // role, 2 content, finish, usage
    assert_eq!(chunks.len(), 5);
    for chunk in &chunks[..4] {
        assert_eq!(chunk["usage"], Value::Null);
        assert!(chunk.get("usage").is_some());
    }
    let last = &chunks[4];
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["completion_tokens"], 9);
    assert_eq!(last["usage"]["total_tokens"], 19);
}

#[tokio::test]
async fn chat_stream_with_include_usage_false_has_no_usage_key() {
    let mock = MockProvider::start().await.unwrap();
    let events = sse(post(&mock, "/v1/chat/completions", &[], &chat_request(true, Some(false))).await).await;
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
    assert!(chunks.iter().all(|c| !c["choices"].as_array().unwrap().is_empty()));
}

#[tokio::test]
async fn chat_with_tools_calls_the_first_tool() {
    let mock = MockProvider::start().await.unwrap();
    let mut request = chat_request(false, None);
    request["tools"] = json!([
        {"type": "function", "function": {"name": "get_weather", "parameters": {}}},
        {"type": "function", "function": {"name": "other", "parameters": {}}},
    ]);
    let body = json(post(&mock, "/v1/chat/completions", &[], &request).await).await;
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    assert_eq!(
        choice["message"]["tool_calls"],
        json!([{"id": "call_mock", "type": "function",
                "function": {"name": "get_weather", "arguments": "{}"}}])
    );

    request["stream"] = true.into();
    let events = sse(post(&mock, "/v1/chat/completions", &[], &request).await).await;
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    let first_call = &chunks[0]["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(first_call["function"]["name"], "get_weather");
    assert_eq!(first_call["id"], "call_mock");
    let arguments: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, "{}");
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn legacy_completions() {
    let mock = MockProvider::start().await.unwrap();
    let request = json!({"model": "gpt-3.5-turbo-instruct", "prompt": "say hi"});
    let body = json(post(&mock, "/v1/completions", &[], &request).await).await;
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], TEXT);
    assert_eq!(body["usage"], json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}));

    let request = json!({"model": "m", "prompt": "p", "stream": true, "stream_options": {"include_usage": true}});
    let events = sse(post(&mock, "/v1/completions", &[], &request).await).await;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1].iter().map(Event::json).collect();
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["text"].as_str()).collect();
    assert_eq!(text, TEXT);
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 15);
}

#[tokio::test]
async fn embeddings_one_per_input() {
    let mock = MockProvider::start().await.unwrap();
    let request = json!({"model": "text-embedding-3-small", "input": ["a", "b"]});
    let body = json(post(&mock, "/v1/embeddings", &[], &request).await).await;
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], "text-embedding-3-small");
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
    assert_eq!(body["data"][1], json!({"object": "embedding", "index": 1, "embedding": [0.1, 0.2, 0.3]}));
    assert_eq!(body["usage"], json!({"prompt_tokens": 10, "total_tokens": 10}));
}

#[tokio::test]
async fn responses_api() {
    let mock = MockProvider::start().await.unwrap();
    let headers = [("x-mock-cached-tokens", "3")];
    let body = json(post(&mock, "/v1/responses", &headers, &json!({"model": "gpt-4o", "input": "hi"})).await).await;
    assert_eq!(body["id"], "resp_mock");
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["output"],
        json!([{"type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": TEXT, "annotations": []}]}])
    );
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 3}, "output_tokens": 5,
               "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15})
    );

    let request = json!({"model": "gpt-4o", "input": "hi", "stream": true});
    let events = sse(post(&mock, "/v1/responses", &[], &request).await).await;
    let names: Vec<&str> = events.iter().map(|e| e.name.as_deref().unwrap()).collect();
    assert_eq!(names.first(), Some(&"response.created"));
    assert_eq!(names.last(), Some(&"response.completed"));
    assert_eq!(names.iter().filter(|n| **n == "response.output_text.delta").count(), 5);
    for (i, event) in events.iter().enumerate() {
        let data = event.json();
        assert_eq!(data["type"], event.name.as_deref().unwrap());
        assert_eq!(data["sequence_number"], i);
    }
    let completed = events.last().unwrap().json();
    assert_eq!(completed["response"]["usage"]["total_tokens"], 15);
}

#[tokio::test]
async fn models_list() {
    let mock = MockProvider::start().await.unwrap();
    let response = client().request(request(&mock, "GET", "/v1/models", &[], &Value::Null)).await.unwrap();
    let body = json(response).await;
    assert_eq!(body["object"], "list");
    assert_eq!(
        body["data"][0],
        json!({"id": "gpt-4o-mini", "object": "model", "created": 1_700_000_000, "owned_by": "mock"})
    );
}

#[tokio::test]
async fn serves_h2c() {
    let mock = MockProvider::start().await.unwrap();
    let client = h2c_client();
    let response = client
        .request(request(&mock, "POST", "/v1/chat/completions", &[], &chat_request(true, Some(true))))
        .await
        .unwrap();
    assert_eq!(response.version(), http::Version::HTTP_2);
    let events = sse(response).await;
    assert_eq!(events.last().unwrap().data, "[DONE]");
    assert_eq!(mock.received()[0].path, "/v1/chat/completions");
}
