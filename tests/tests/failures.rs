//! Every failure gets a clear error in the caller's shape and, once a gateway is known, a log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigw_tests::*;
use serde_json::json;

fn chat() -> serde_json::Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn an_unreachable_provider_is_a_502_with_a_log() {
    // A port that was just free: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let gw = Gateway::start_with(|o| {
        o.config.providers.get_mut("openai").unwrap().base_url = Some(format!("http://{closed}/v1"));
    })
    .await;
    let reply = post_json(&format!("{}/chat/completions", gw.base_url("default", "openai")), &[], chat()).await;
    assert_eq!(reply.status, 502);
    let err = &reply.json()["error"];
    assert_eq!(err["code"], "upstream_unreachable");
    assert!(err["message"].as_str().unwrap().contains("could not reach the provider"));
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!((log.status_code, log.success), (502, false));
    assert!(log.error.unwrap().contains("could not reach"));
    assert_eq!(log.model, "gpt-4o-mini");
}

#[tokio::test]
async fn a_provider_slower_than_cf_aig_request_timeout_is_a_504() {
    let gw = Gateway::start().await;
    let reply = post_json(
        &format!("{}/v1/messages", gw.base_url("default", "anthropic")),
        &[("x-mock-hang", "true"), ("cf-aig-request-timeout", "50")],
        json!({"model": "claude-sonnet-4", "max_tokens": 10, "messages": []}),
    )
    .await;
    assert_eq!(reply.status, 504);
    let v = reply.json();
    assert_eq!(v["type"], "error", "Anthropic's error shape on the Anthropic route");
    assert_eq!(v["error"]["type"], "timeout_error");
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!((log.status_code, log.success), (504, false));
    assert!(log.duration_ms >= 50, "{}", log.duration_ms);
}

#[tokio::test]
async fn provider_errors_pass_through_as_they_are() {
    let gw = Gateway::start().await;
    let reply = post_json(
        &format!("{}/chat/completions", gw.base_url("default", "openai")),
        &[("x-mock-status", "429")],
        chat(),
    )
    .await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("0"));
    assert_eq!(reply.json()["error"]["message"], "mock error");
    let gem = post_json(
        &format!("{}/v1beta/models/gemini-2.0-flash:generateContent", gw.base_url("default", "google-ai-studio")),
        &[("x-mock-status", "500")],
        json!({"contents": []}),
    )
    .await;
    assert_eq!(gem.status, 500);
    assert_eq!(gem.json()["error"]["status"], "INTERNAL");
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!((log.status_code, log.success, log.error), (429, false, None));
    assert_eq!(log.response_body.as_deref(), Some(&reply.body[..]));
    assert_eq!(gw.log(&gem.log_id()).status_code, 500);
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_and_never_reaches_the_provider() {
    let gw = Gateway::start_with(|o| o.config.proxy.max_request_bytes = 1024).await;
    let big = json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x".repeat(4096)}]});
    let reply = post_json(&format!("{}/chat/completions", gw.base_url("default", "openai")), &[], big).await;
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["error"]["code"], "request_too_large");
    assert!(gw.mock.received().is_empty());
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!((log.status_code, log.success), (413, false));
}

#[tokio::test]
async fn bad_paths_providers_gateways_and_headers_are_refused_clearly() {
    let gw = Gateway::start().await;
    let cases = [
        ("/nope", 400, "no route"),
        ("/v1/acct", 400, "no route"),
        ("/v1/acct/default", 400, "universal"),
        ("/v1/other-account/default/openai/chat/completions", 404, "unknown account"),
        ("/v1/acct/missing-gw/openai/chat/completions", 404, "unknown gateway \"missing-gw\""),
        ("/v1/acct/default/no-such-provider/chat/completions", 404, "unknown provider \"no-such-provider\""),
        ("/v1/acct/default/azure-openai/only-resource", 400, "azure-openai paths"),
    ];
    for (path, status, text) in cases {
        let reply = post_json(&gw.url(path), &[], chat()).await;
        assert_eq!(reply.status, status, "{path}: {}", reply.text());
        let message = reply.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(text), "{path}: {message}");
    }
    let bad_header = post_json(
        &format!("{}/chat/completions", gw.base_url("default", "openai")),
        &[("cf-aig-metadata", "{not json")],
        chat(),
    )
    .await;
    assert_eq!(bad_header.status, 400);
    assert!(bad_header.json()["error"]["message"].as_str().unwrap().contains("cf-aig-metadata"));
    let anthropic_bad = post_json(
        &format!("{}/v1/messages", gw.base_url("default", "anthropic")),
        &[("cf-aig-collect-log", "maybe")],
        chat(),
    )
    .await;
    assert_eq!(anthropic_bad.status, 400);
    assert_eq!(anthropic_bad.json()["error"]["type"], "invalid_request_error");
    assert!(gw.mock.received().is_empty(), "nothing malformed reaches the provider");

    // Failures inside a known gateway are logged; the others have no gateway to log into.
    gw.flush().await;
    assert_eq!(gw.count(), 4, "unknown provider, azure path, bad metadata, bad collect-log");
    let log = gw.log(&bad_header.log_id());
    assert_eq!((log.status_code, log.success), (400, false));
}

#[tokio::test]
async fn the_default_gateway_is_created_on_first_use() {
    let gw = Gateway::start().await;
    let reply = post_json(&format!("{}/chat/completions", gw.base_url("default", "openai")), &[], chat()).await;
    assert_eq!(reply.status, 200);
    gw.flush().await;
    assert_eq!(gw.log(&reply.log_id()).gateway_id, "default");
}

#[tokio::test]
async fn a_provider_that_stalls_mid_stream_is_cut_off_and_logged() {
    use http_body_util::BodyExt;
    let gw = Gateway::start_with(|o| o.config.proxy.upstream_timeout_ms = 200).await;
    let req = http::Request::post(format!("{}/chat/completions", gw.base_url("default", "openai")))
        .header("content-type", "application/json")
        .header("x-mock-gate", "stall")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            json!({"model": "gpt-4o-mini", "stream": true, "messages": []}).to_string(),
        )))
        .unwrap();
    let res = client().request(req).await.unwrap();
    let id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    let mut body = res.into_body();
    assert!(body.frame().await.unwrap().is_ok(), "the first event arrives");
    // The mock holds the rest until the gate opens, which it never does: the gateway gives up.
    while let Some(frame) = body.frame().await {
        if frame.is_err() {
            break;
        }
    }
    gw.flush().await;
    let log = gw.log(&id);
    assert!(!log.success);
    assert!(log.error.as_deref().unwrap().contains("sent nothing for 200 ms"), "{:?}", log.error);
    gw.mock.open_gate("stall");
}
