//! Streams reach the caller chunk by chunk, untouched, and still yield exact usage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigw_tests::*;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::json;

/// Starts a request and returns the response with its body unread.
async fn open(url: &str, headers: &[(&str, &str)], body: serde_json::Value) -> http::Response<hyper::body::Incoming> {
    let mut req = http::Request::post(url).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    client().request(req.body(Full::new(Bytes::from(body.to_string()))).unwrap()).await.unwrap()
}

async fn next_data(body: &mut hyper::body::Incoming) -> Option<Bytes> {
    loop {
        match body.frame().await? {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    return Some(data);
                }
            }
            Err(e) => panic!("body error: {e}"),
        }
    }
}

async fn rest_of(mut body: hyper::body::Incoming) -> String {
    let mut out = Vec::new();
    while let Some(d) = next_data(&mut body).await {
        out.extend_from_slice(&d);
    }
    String::from_utf8(out).unwrap()
}

fn stream_body(include_usage: Option<bool>) -> serde_json::Value {
    let mut b = json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    if let Some(u) = include_usage {
        b["stream_options"] = json!({"include_usage": u});
    }
    b
}

#[tokio::test]
async fn the_first_chunk_arrives_before_the_provider_sends_the_last() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let res = open(&url, &[("x-mock-gate", "g1"), ("x-mock-chunks", "4")], stream_body(None)).await;
    assert_eq!(res.status(), 200);
    let log_id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    let mut body = res.into_body();
    // The mock holds everything after its first event until the gate opens: receiving that
    // event now proves the gateway forwards chunks as they arrive instead of buffering.
    let first = next_data(&mut body).await.unwrap();
    assert!(String::from_utf8_lossy(&first).contains("\"role\":\"assistant\""), "{first:?}");
    gw.mock.open_gate("g1");
    let rest = rest_of(body).await;
    assert!(rest.ends_with("data: [DONE]\n\n"), "{rest}");
    gw.flush().await;
    let log = gw.log(&log_id);
    assert!(log.success && log.stream);
    assert_eq!((log.tokens_in, log.tokens_out), (Some(10), Some(5)));
}

#[tokio::test]
async fn usage_aigw_asked_for_is_hidden_from_a_caller_that_did_not() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let res = open(&url, &[("x-mock-prompt-tokens", "21"), ("x-mock-completion-tokens", "8")], stream_body(None)).await;
    let log_id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    assert!(res.headers().get("content-length").is_none());
    let text = rest_of(res.into_body()).await;
    assert!(!text.contains("usage"), "caller sees no usage at all: {text}");
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    for e in &events[..events.len() - 1] {
        let v: serde_json::Value = serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap();
        assert!(!v["choices"].as_array().unwrap().is_empty());
    }
    let sent = gw.mock.received()[0].json().unwrap();
    assert_eq!(sent["stream_options"]["include_usage"], true, "aigw asked the provider for usage");
    gw.flush().await;
    let log = gw.log(&log_id);
    assert_eq!((log.tokens_in, log.tokens_out, log.usage_source.as_str()), (Some(21), Some(8), "provider"));
    let stored = String::from_utf8(log.response_body.unwrap()).unwrap();
    assert!(stored.contains("\"prompt_tokens\":21"), "the log keeps what the provider sent");

    // A caller that says include_usage=false gets the same treatment.
    let res = open(&url, &[], stream_body(Some(false))).await;
    assert!(!rest_of(res.into_body()).await.contains("usage"));
}

#[tokio::test]
async fn a_caller_that_asked_for_usage_gets_it_unchanged() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let res = open(&url, &[], stream_body(Some(true))).await;
    let log_id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    let text = rest_of(res.into_body()).await;
    assert!(text.contains("\"choices\":[],\"usage\":{"), "{text}");
    assert_eq!(gw.mock.received()[0].json().unwrap(), stream_body(Some(true)), "request untouched");
    gw.flush().await;
    assert_eq!(gw.log(&log_id).tokens_out, Some(5));
}

#[tokio::test]
async fn usage_is_read_from_every_streaming_format() {
    let gw = Gateway::start().await;
    let h = [
        ("x-mock-prompt-tokens", "30"),
        ("x-mock-completion-tokens", "12"),
        ("x-mock-cache-read-tokens", "100"),
        ("x-mock-cache-write-tokens", "7"),
    ];
    let anthropic = open(
        &format!("{}/v1/messages", gw.base_url("default", "anthropic")),
        &h,
        json!({"model": "claude-sonnet-4", "max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let gemini = open(
        &format!(
            "{}/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            gw.base_url("default", "google-ai-studio")
        ),
        &[("x-mock-prompt-tokens", "30"), ("x-mock-completion-tokens", "12"), ("x-mock-thoughts-tokens", "3")],
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    )
    .await;
    let responses = open(
        &format!("{}/responses", gw.base_url("default", "openai")),
        &[("x-mock-prompt-tokens", "30"), ("x-mock-completion-tokens", "12"), ("x-mock-cached-tokens", "10")],
        json!({"model": "gpt-4o-mini", "stream": true, "input": "hi"}),
    )
    .await;
    let completions = open(
        &format!("{}/completions", gw.base_url("default", "openai")),
        &[("x-mock-prompt-tokens", "30"), ("x-mock-completion-tokens", "12")],
        json!({"model": "gpt-3.5-turbo-instruct", "stream": true, "prompt": "hi"}),
    )
    .await;
    let mut ids = Vec::new();
    for res in [anthropic, gemini, responses, completions] {
        assert_eq!(res.status(), 200);
        ids.push(res.headers()["cf-aig-log-id"].to_str().unwrap().to_string());
        let text = rest_of(res.into_body()).await;
        assert!(!text.is_empty());
    }
    gw.flush().await;
    let a = gw.log(&ids[0]);
    assert_eq!((a.tokens_in, a.tokens_out, a.tokens_cached, a.tokens_cache_write), (Some(137), Some(12), 100, 7));
    let expected = (30.0 * 3.0 + 100.0 * 0.3 + 7.0 * 3.75 + 12.0 * 15.0) / 1e6;
    assert!((a.cost.unwrap() - expected).abs() < 1e-12, "{:?} vs {expected}", a.cost);
    let g = gw.log(&ids[1]);
    assert_eq!((g.tokens_in, g.tokens_out, g.stream), (Some(30), Some(15), true), "thinking tokens bill as output");
    let r = gw.log(&ids[2]);
    assert_eq!((r.tokens_in, r.tokens_out, r.tokens_cached), (Some(30), Some(12), 10));
    let c = gw.log(&ids[3]);
    assert_eq!((c.tokens_in, c.tokens_out, c.model_type.as_deref()), (Some(30), Some(12), Some("completion")));
}

#[tokio::test]
async fn a_client_that_disconnects_mid_stream_leaves_a_log_of_what_was_streamed() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let res = open(&url, &[("x-mock-gate", "never")], stream_body(None)).await;
    let log_id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    let mut body = res.into_body();
    let first = next_data(&mut body).await.unwrap();
    drop(body);
    // The gateway notices the disconnect when it next writes, or when the connection closes:
    // flush until the record is there (each flush is an explicit commit, not a sleep).
    let log = loop {
        gw.flush().await;
        if gw.count() == 1 {
            break gw.log(&log_id);
        }
        tokio::task::yield_now().await;
    };
    assert!(!log.success);
    assert_eq!(log.status_code, 200);
    assert!(log.error.as_deref().unwrap().contains("disconnected"), "{:?}", log.error);
    // The log keeps what the provider had sent: its first event (with the usage member the
    // caller never saw), nothing more.
    let stored = String::from_utf8(log.response_body.unwrap()).unwrap();
    assert_eq!(stored.matches("\n\n").count(), 1, "{stored}");
    assert_eq!(stored.replace(",\"usage\":null", ""), String::from_utf8(first.to_vec()).unwrap());
    assert_eq!(log.usage_source, "missing");
    assert_eq!(log.tokens_in, None);
    gw.mock.open_gate("never");
}

#[tokio::test]
async fn a_provider_that_breaks_the_stream_is_logged_as_a_failure() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let res = open(&url, &[("x-mock-abort-after", "2")], stream_body(None)).await;
    let log_id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    let mut body = res.into_body();
    let mut got = 0;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(_) => got += 1,
            Err(_) => break,
        }
    }
    assert!(got >= 1);
    gw.flush().await;
    let log = gw.log(&log_id);
    assert!(!log.success);
    assert!(log.error.as_deref().unwrap().contains("provider stream failed"), "{:?}", log.error);
}
