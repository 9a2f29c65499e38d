//! Recording and the x-mock-* control headers, over a real socket.
//!
//! Tests that involve time run with the clock paused: a mock delay elapses as soon as
//! nothing else can run, and `timeout` proves that something did *not* happen without
//! sleeping on the wall clock.

// Test code: a panic is the failure report. (The workspace denies these outside tests, and
// clippy does not count an integration-test crate as test code.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::{json, Value};

/// Longer than any test could take on the real clock; with the clock paused it only means
/// "once everything else is idle".
const QUIET: Duration = Duration::from_secs(3600);

fn stream_request() -> Value {
    json!({"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "hi"}]})
}

/// Reads frames until `buf` holds at least one more complete SSE event than it had.
async fn read_event(body: &mut Incoming, buf: &mut String) {
    let events = buf.matches("\n\n").count();
    while buf.matches("\n\n").count() == events {
        let frame = body.frame().await.expect("stream ended").unwrap();
        buf.push_str(std::str::from_utf8(&frame.into_data().unwrap()).unwrap());
    }
}

#[tokio::test]
async fn records_method_path_query_headers_and_body() {
    let mock = MockProvider::start().await.unwrap();
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "recorded"}]});
    let headers = [("authorization", "Bearer sk-upstream"), ("X-Custom", "kept")];
    post(&mock, "/openai/v1/chat/completions?api-version=1", &headers, &body).await;
    post(&mock, "/v1/embeddings", &[], &json!({"input": "x"})).await;
    mock.wait_for_requests(2).await;

    let received = mock.received();
    assert_eq!(received.len(), 2);
    let first = &received[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/openai/v1/chat/completions");
    assert_eq!(first.query.as_deref(), Some("api-version=1"));
    assert_eq!(first.header("Authorization"), Some("Bearer sk-upstream"));
    assert_eq!(first.header("x-custom"), Some("kept"));
    assert!(first.headers.iter().any(|(name, value)| name == "x-custom" && value == "kept"));
    assert!(first.headers.iter().all(|(name, _)| *name == name.to_lowercase()));
    assert_eq!(first.json(), Some(body));
    assert_eq!(received[1].path, "/v1/embeddings");
}

#[tokio::test]
async fn wait_for_requests_wakes_when_the_request_arrives() {
    let mock = MockProvider::start().await.unwrap();
    let hung = tokio::spawn(client().request(request(
        &mock,
        "POST",
        "/v1/chat/completions",
        &[("x-mock-hang", "true")],
        &json!({}),
    )));
    // The hung request never answers, so only its arrival can end this wait.
    mock.wait_for_requests(1).await;
    assert_eq!(mock.received()[0].header("x-mock-hang"), Some("true"));
    hung.abort();
}

#[tokio::test]
async fn no_record_still_counts() {
    let options = MockOptions { record: false, ..MockOptions::default() };
    let mock = MockProvider::start_with(options).await.unwrap();
    let response = post(&mock, "/v1/chat/completions", &[], &json!({"model": "m"})).await;
    assert_eq!(response.status(), 200);
    mock.wait_for_requests(1).await;
    assert!(mock.received().is_empty());
}

#[tokio::test(start_paused = true)]
async fn gate_holds_the_stream_after_the_first_event() {
    let mock = MockProvider::start().await.unwrap();
    let response = post(&mock, "/v1/chat/completions", &[("x-mock-gate", "g")], &stream_request()).await;
    let mut body = response.into_body();
    let mut buf = String::new();
    read_event(&mut body, &mut buf).await;
    assert_eq!(parse_sse(&buf).len(), 1);
    assert_eq!(parse_sse(&buf)[0].json()["choices"][0]["delta"]["role"], "assistant");

    let held = tokio::time::timeout(QUIET, body.frame()).await;
    assert!(held.is_err(), "an event after the first was sent before the gate opened");

    mock.open_gate("g");
    let rest = body.collect().await.unwrap().to_bytes();
    buf.push_str(std::str::from_utf8(&rest).unwrap());
    let events = parse_sse(&buf);
    assert_eq!(events.len(), 8);
    assert_eq!(events.last().unwrap().data, "[DONE]");
}

#[tokio::test]
async fn a_gate_opened_before_the_request_does_not_hold_it() {
    let mock = MockProvider::start().await.unwrap();
    mock.open_gate("early");
    let response = post(&mock, "/v1/messages", &[("x-mock-gate", "early")], &stream_request()).await;
    let events = sse(response).await;
    assert_eq!(events.last().unwrap().name.as_deref(), Some("message_stop"));
}

#[tokio::test(start_paused = true)]
async fn hang_sends_nothing_until_shutdown() {
    let mock = MockProvider::start().await.unwrap();
    let hang = [("x-mock-hang", "true")];
    let h1 = tokio::spawn(client().request(request(&mock, "POST", "/v1/chat/completions", &hang, &json!({}))));
    let h2 = tokio::spawn(h2c_client().request(request(&mock, "POST", "/v1/messages", &hang, &json!({}))));
    mock.wait_for_requests(2).await;
    // Let everything run until idle.
    let _ = tokio::time::timeout(QUIET, std::future::pending::<()>()).await;
    assert!(!h1.is_finished() && !h2.is_finished(), "a hung request was answered");

    mock.shutdown().await;
    // Shutdown ends them without any response: the client sees an error, not a status.
    let h1 = h1.await.unwrap();
    assert!(h1.is_err(), "HTTP/1.1 got {:?}", h1.map(|r| r.status()));
    let h2 = h2.await.unwrap();
    assert!(h2.is_err(), "h2c got {:?}", h2.map(|r| r.status()));
}

#[tokio::test(start_paused = true)]
async fn delays_before_headers_and_between_events() {
    let mock = MockProvider::start().await.unwrap();
    let start = tokio::time::Instant::now();
    let response = post(&mock, "/v1/chat/completions", &[("x-mock-delay-ms", "1500")], &json!({})).await;
    assert!(start.elapsed() >= Duration::from_millis(1500));
    assert_eq!(response.status(), 200);

    let start = tokio::time::Instant::now();
    let headers = [("x-mock-chunk-delay-ms", "100"), ("x-mock-chunks", "3")];
    let events = sse(post(&mock, "/v1/chat/completions", &headers, &stream_request()).await).await;
    // role, 3 pieces, finish, [DONE]: five waits between six events
    assert_eq!(events.len(), 6);
    assert!(start.elapsed() >= Duration::from_millis(500));
}

/// Sends a stream request with `x-mock-abort-after: 2` and returns what arrived before
/// the error.
async fn events_before_abort(client: HttpClient, mock: &MockProvider) -> String {
    let req = request(mock, "POST", "/v1/chat/completions", &[("x-mock-abort-after", "2")], &stream_request());
    let response = client.request(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut buf = String::new();
    loop {
        match body.frame().await {
            Some(Ok(frame)) => buf.push_str(std::str::from_utf8(&frame.into_data().unwrap()).unwrap()),
            Some(Err(_)) => return buf,
            None => panic!("stream ended cleanly after {buf:?}"),
        }
    }
}

#[tokio::test]
async fn abort_after_ends_the_stream_with_an_error() {
    let mock = MockProvider::start().await.unwrap();
    let buf = events_before_abort(client(), &mock).await;
    assert_eq!(parse_sse(&buf).len(), 2, "{buf:?}");
    let buf = events_before_abort(h2c_client(), &mock).await;
    assert_eq!(parse_sse(&buf).len(), 2, "over h2c: {buf:?}");
}

#[tokio::test]
async fn status_gives_an_error_in_the_endpoint_shape() {
    let mock = MockProvider::start().await.unwrap();
    let response = post(&mock, "/v1/chat/completions", &[("x-mock-status", "429")], &stream_request()).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "0");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["openai-processing-ms"], "1");
    let body = json(response).await;
    assert_eq!(body["error"]["message"], "mock error");
    assert_eq!(body["error"]["param"], Value::Null);
    assert!(body["error"]["type"].is_string() && body["error"]["code"].is_string());

    let response = post(&mock, "/v1/chat/completions", &[("x-mock-status", "500")], &json!({})).await;
    assert_eq!(response.status(), 500);
    assert!(!response.headers().contains_key("retry-after"));
    assert_eq!(json(response).await["error"]["type"], "server_error");
}

#[tokio::test]
async fn unknown_path_is_a_404() {
    let mock = MockProvider::start().await.unwrap();
    let response = post(&mock, "/v1/unknown", &[], &json!({})).await;
    assert_eq!(response.status(), 404);
    assert!(json(response).await["error"]["message"].is_string());
}

#[tokio::test]
async fn body_bytes_pads_the_answer() {
    let mock = MockProvider::start().await.unwrap();
    let response =
        post(&mock, "/v1/chat/completions", &[("x-mock-body-bytes", "100000")], &json!({"model": "m"})).await;
    assert_eq!(response.headers()["content-length"], "100000");
    let body = text(response).await;
    assert_eq!(body.len(), 100_000);
    assert!(serde_json::from_str::<Value>(&body).is_ok());
}

#[tokio::test]
async fn request_ids_count_up() {
    let mock = MockProvider::start().await.unwrap();
    let first = post(&mock, "/v1/chat/completions", &[], &json!({})).await;
    let second = post(&mock, "/v1/messages", &[], &json!({})).await;
    assert_eq!(first.headers()["x-request-id"], "req_mock_1");
    assert_eq!(second.headers()["x-request-id"], "req_mock_2");
}

#[cfg(unix)]
#[test]
fn the_binary_prints_its_address_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-provider"))
        .args(["--listen", "127.0.0.1:0", "--no-record"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let url = line.trim_end().strip_prefix("listening ").unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line:?}");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async {
        let req = http::Request::post(format!("{url}/v1/chat/completions"))
            .body(http_body_util::Full::new(bytes::Bytes::from_static(b"{\"model\":\"m\"}")))
            .unwrap();
        client().request(req).await.unwrap().status()
    });
    assert_eq!(status, 200);

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success());
}
