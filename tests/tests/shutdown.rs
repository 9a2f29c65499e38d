//! Shutdown lets in-flight streams finish and drains the log queue: nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigw_tests::*;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::json;

#[tokio::test]
async fn in_flight_streams_finish_and_every_record_is_written() {
    let mut gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    // Ten streams held open by the mock, and a burst of plain requests already answered.
    let mut streams = Vec::new();
    for _ in 0..10 {
        let req = http::Request::post(&url)
            .header("content-type", "application/json")
            .header("x-mock-gate", "drain")
            .body(Full::new(Bytes::from(json!({"model": "gpt-4o-mini", "stream": true, "messages": []}).to_string())))
            .unwrap();
        let res = client().request(req).await.unwrap();
        assert_eq!(res.status(), 200);
        let mut body = res.into_body();
        body.frame().await.unwrap().unwrap();
        streams.push(body);
    }
    for _ in 0..200 {
        let r = post_json(&url, &[], json!({"model": "gpt-4o-mini", "messages": []})).await;
        assert_eq!(r.status, 200);
    }

    // Shutdown begins while the streams are open; new connections are refused from here on.
    gw.begin_stop();
    gw.mock.open_gate("drain");
    for body in streams {
        let rest = body.collect().await.unwrap().to_bytes();
        assert!(String::from_utf8_lossy(&rest).ends_with("data: [DONE]\n\n"), "stream completed during shutdown");
    }
    gw.stop().await;
    assert_eq!(gw.count(), 210);
    let stats = gw.sink.stats();
    assert_eq!((stats.written, stats.dropped, stats.rejected), (210, 0, 0));
}

#[tokio::test]
async fn streams_that_outlive_the_grace_are_cut_and_still_logged() {
    let mut gw = Gateway::start_with(|o| o.grace = std::time::Duration::from_millis(50)).await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let req = http::Request::post(&url)
        .header("content-type", "application/json")
        .header("x-mock-gate", "forever")
        .body(Full::new(Bytes::from(json!({"model": "gpt-4o-mini", "stream": true, "messages": []}).to_string())))
        .unwrap();
    let res = client().request(req).await.unwrap();
    let id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    let mut body = res.into_body();
    body.frame().await.unwrap().unwrap();
    gw.stop().await;
    let log = gw.log(&id);
    assert!(!log.success);
    assert!(log.error.is_some());
    gw.mock.open_gate("forever");
}
