//! The cf-aig-* headers and the capture settings shape what is kept.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigw_tests::*;
use serde_json::json;

fn chat() -> serde_json::Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn metadata_event_id_and_custom_cost_are_recorded() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let reply = post_json(
        &url,
        &[
            ("cf-aig-metadata", r#"{"team":"AI","user":12345,"beta":true,"a":1,"b":2,"dropped":3}"#),
            ("cf-aig-event-id", "evt-42"),
            ("cf-aig-custom-cost", r#"{"per_token_in":0.000001,"per_token_out":0.000002}"#),
            ("x-mock-prompt-tokens", "100"),
            ("x-mock-completion-tokens", "50"),
        ],
        chat(),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cf-aig-event-id"), Some("evt-42"));
    assert!(gw.mock.received()[0].header("cf-aig-metadata").is_none(), "gateway headers stay here");
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!(log.metadata.as_deref(), Some(r#"{"team":"AI","user":12345,"beta":true,"a":1,"b":2}"#));
    assert_eq!(log.event_id.as_deref(), Some("evt-42"));
    assert!(log.custom_cost);
    assert!((log.cost.unwrap() - (100.0 * 0.000001 + 50.0 * 0.000002)).abs() < 1e-12);
}

#[tokio::test]
async fn collect_log_false_keeps_no_record_and_payload_false_keeps_no_bodies() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let none = post_json(&url, &[("cf-aig-collect-log", "false")], chat()).await;
    assert_eq!(none.status, 200);
    assert!(none.header("cf-aig-log-id").is_none());
    let quiet = post_json(&format!("{}/chat/completions", gw.base_url("quiet", "openai")), &[], chat()).await;
    assert_eq!(quiet.status, 200);
    assert!(quiet.header("cf-aig-log-id").is_none(), "gateway with collect_logs = false");
    let forced = post_json(
        &format!("{}/chat/completions", gw.base_url("quiet", "openai")),
        &[("cf-aig-collect-log", "true")],
        chat(),
    )
    .await;
    let meta_only = post_json(&url, &[("cf-aig-collect-log-payload", "false")], chat()).await;
    gw.flush().await;
    assert_eq!(gw.count(), 2);
    assert_eq!(gw.log(&forced.log_id()).gateway_id, "quiet");
    let log = gw.log(&meta_only.log_id());
    assert_eq!((log.request_body, log.response_body), (None, None));
    assert!(log.request_size > 0 && log.response_size > 0);
    assert_eq!(log.tokens_in, Some(10), "usage is still read");
}

#[tokio::test]
async fn bodies_over_the_capture_cap_are_truncated_and_flagged_but_usage_is_exact() {
    let gw = Gateway::start_with(|o| o.config.capture.max_body_bytes = 256).await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let body = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "y".repeat(1000)}]});
    let reply =
        post_json(&url, &[("x-mock-body-bytes", "50000"), ("x-mock-completion-tokens", "777")], body.clone()).await;
    assert_eq!(reply.status, 200);
    assert!(reply.body.len() >= 50_000);
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!(log.request_body.as_ref().unwrap().len(), 256);
    assert!(log.request_truncated);
    assert_eq!(log.request_size as usize, body.to_string().len());
    assert_eq!(log.response_body.as_ref().unwrap().len(), 256);
    assert!(log.response_truncated);
    assert_eq!(log.response_size as usize, reply.body.len());
    assert_eq!(log.tokens_out, Some(777), "usage found in the tail of the large body");
}

#[tokio::test]
async fn usage_missing_is_recorded_as_missing_never_as_zero() {
    let gw = Gateway::start().await;
    let reply = post_json(
        &format!("{}/chat/completions", gw.base_url("default", "openai")),
        &[("x-mock-status", "400")],
        chat(),
    )
    .await;
    assert_eq!(reply.status, 400);
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!((log.tokens_in, log.tokens_out, log.cost), (None, None, None));
    assert_eq!(log.usage_source, "missing");
}
