//! Each route forwards to the right provider URL with the right key, and its log is exact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigw_tests::*;
use serde_json::json;

fn chat_body(model: &str) -> serde_json::Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Say hello"}]})
}

#[tokio::test]
async fn openai_chat_is_forwarded_with_the_gateway_key_and_logged_field_by_field() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let reply = post_json(
        &url,
        &[
            ("user-agent", "test-agent/1.0"),
            ("x-mock-prompt-tokens", "1000"),
            ("x-mock-completion-tokens", "100"),
            ("x-mock-cached-tokens", "400"),
        ],
        chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["role"], "assistant");
    assert!(reply.header("x-request-id").unwrap().starts_with("req_mock_"), "provider headers pass through");
    assert_eq!(reply.header("cf-aig-step"), Some("0"));

    let seen = &gw.mock.received()[0];
    assert_eq!((seen.method.as_str(), seen.path.as_str()), ("POST", "/v1/chat/completions"));
    assert_eq!(seen.header("authorization"), Some(format!("Bearer {OPENAI_KEY}").as_str()));
    assert_eq!(seen.json().unwrap(), chat_body("gpt-4o-mini"), "body forwarded untouched");

    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!((log.account_id.as_str(), log.gateway_id.as_str()), (ACCOUNT, "default"));
    assert_eq!(
        (log.provider.as_str(), log.model.as_str(), log.path.as_str()),
        ("openai", "gpt-4o-mini", "chat/completions")
    );
    assert_eq!(log.model_type.as_deref(), Some("chat"));
    assert_eq!(log.request_type, "provider");
    assert_eq!((log.status_code, log.success, log.stream, log.cached), (200, true, false, false));
    assert_eq!((log.tokens_in, log.tokens_out, log.tokens_cached), (Some(1000), Some(100), 400));
    assert_eq!(log.usage_source, "provider");
    // 600 uncached at $1/M + 400 cached at $0.5/M + 100 out at $2/M.
    let expected = (600.0 * 1.0 + 400.0 * 0.5 + 100.0 * 2.0) / 1e6;
    assert!((log.cost.unwrap() - expected).abs() < 1e-12, "{:?}", log.cost);
    assert!(!log.custom_cost);
    assert_eq!(log.created_at_ms, 1_763_800_000_000);
    assert_eq!(log.user_agent.as_deref(), Some("test-agent/1.0"));
    assert_eq!(log.request_content_type.as_deref(), Some("application/json"));
    assert_eq!(log.response_content_type.as_deref(), Some("application/json"));
    assert_eq!(log.request_body.as_deref(), Some(chat_body("gpt-4o-mini").to_string().as_bytes()));
    assert_eq!(log.response_body.as_deref(), Some(&reply.body[..]));
    assert_eq!(
        (log.request_size as usize, log.response_size as usize),
        (chat_body("gpt-4o-mini").to_string().len(), reply.body.len())
    );
    assert!(log.error.is_none());
    assert_eq!(log.source_kind, "direct");
}

#[tokio::test]
async fn the_callers_own_key_passes_through_untouched_and_is_never_stored() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let reply = post_json(
        &url,
        &[("authorization", "Bearer sk-caller-own-key"), ("openai-organization", "org-1")],
        chat_body("gpt-4o-mini"),
    )
    .await;
    assert_eq!(reply.status, 200);
    let seen = &gw.mock.received()[0];
    assert_eq!(seen.header("authorization"), Some("Bearer sk-caller-own-key"));
    assert_eq!(seen.header("openai-organization"), Some("org-1"));
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    let stored = format!("{log:?}");
    for secret in ["sk-caller-own-key", OPENAI_KEY] {
        assert!(!stored.contains(secret), "{secret} stored in {stored}");
    }
}

#[tokio::test]
async fn anthropic_gemini_and_openai_compatible_providers_map_to_their_urls() {
    let gw = Gateway::start().await;
    let anthropic = post_json(
        &format!("{}/v1/messages", gw.base_url("default", "anthropic")),
        &[("anthropic-version", "2023-06-01")],
        json!({"model": "claude-sonnet-4-20250514", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(anthropic.status, 200, "{}", anthropic.text());
    let gemini = post_json(
        &format!("{}/v1beta/models/gemini-2.0-flash:generateContent", gw.base_url("default", "google-ai-studio")),
        &[],
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    )
    .await;
    assert_eq!(gemini.status, 200, "{}", gemini.text());
    let groq = post_json(
        &format!("{}/chat/completions", gw.base_url("default", "groq")),
        &[("authorization", "Bearer gsk")],
        chat_body("llama-3.1-8b-instant"),
    )
    .await;
    let vllm =
        post_json(&format!("{}/chat/completions", gw.base_url("default", "vllm")), &[], chat_body("my-local-model"))
            .await;
    let azure = post_json(
        &format!(
            "{}/myresource/my-deployment/chat/completions?api-version=2024-10-21",
            gw.base_url("default", "azure-openai")
        ),
        &[("api-key", "azure-caller-key")],
        json!({"messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    for r in [&groq, &vllm, &azure] {
        assert_eq!(r.status, 200, "{}", r.text());
    }

    let seen = gw.mock.received();
    assert_eq!(seen[0].path, "/v1/messages");
    assert_eq!(seen[0].header("x-api-key"), Some(ANTHROPIC_KEY));
    assert_eq!(seen[0].header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(seen[1].path, "/v1beta/models/gemini-2.0-flash:generateContent");
    assert_eq!(seen[1].header("x-goog-api-key"), Some(GEMINI_KEY));
    assert_eq!(seen[2].path, "/openai/v1/chat/completions");
    assert_eq!(seen[2].header("authorization"), Some("Bearer gsk"));
    assert_eq!(seen[3].path, "/v1/chat/completions");
    assert_eq!(seen[3].header("authorization"), None, "no key configured for vllm, none sent");
    assert_eq!(seen[4].path, "/azure/my-deployment/chat/completions");
    assert_eq!(seen[4].query.as_deref(), Some("api-version=2024-10-21"));
    assert_eq!(seen[4].header("api-key"), Some("azure-caller-key"));

    gw.flush().await;
    let a = gw.log(&anthropic.log_id());
    assert_eq!(
        (a.provider.as_str(), a.model.as_str(), a.path.as_str()),
        ("anthropic", "claude-sonnet-4-20250514", "v1/messages")
    );
    assert_eq!((a.tokens_in, a.tokens_out), (Some(10), Some(5)));
    let expected = (10.0 * 3.0 + 5.0 * 15.0) / 1e6;
    assert!((a.cost.unwrap() - expected).abs() < 1e-12);
    let g = gw.log(&gemini.log_id());
    assert_eq!((g.provider.as_str(), g.model.as_str()), ("google-ai-studio", "gemini-2.0-flash"));
    assert_eq!((g.tokens_in, g.tokens_out), (Some(10), Some(5)));
    assert_eq!(gw.log(&azure.log_id()).model, "my-deployment");
    let v = gw.log(&vllm.log_id());
    assert_eq!((v.provider.as_str(), v.model.as_str(), v.cost), ("vllm", "my-local-model", None));
    assert_eq!(v.tokens_in, Some(10), "usage is still recorded for unpriced models");
}

#[tokio::test]
async fn compat_routes_provider_slash_model_to_the_providers_openai_endpoint() {
    let gw = Gateway::start().await;
    let url = format!("{}/chat/completions", gw.base_url("default", "compat"));
    let reply = post_json(&url, &[], chat_body("anthropic/claude-sonnet-4")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = &gw.mock.received()[0];
    assert_eq!(seen.path, "/v1/chat/completions");
    assert_eq!(seen.json().unwrap()["model"], "claude-sonnet-4");
    assert_eq!(seen.header("authorization"), Some(format!("Bearer {ANTHROPIC_KEY}").as_str()));
    let gemini = post_json(&url, &[], chat_body("google-ai-studio/gemini-2.0-flash")).await;
    assert_eq!(gemini.status, 200);
    assert_eq!(gw.mock.received()[1].path, "/v1beta/openai/chat/completions");

    let bad = post_json(&url, &[], chat_body("gpt-4o-mini")).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]["message"].as_str().unwrap().contains("provider/model"));
    let unknown = post_json(&url, &[], chat_body("nope/model")).await;
    assert_eq!(unknown.status, 404);

    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!(
        (log.provider.as_str(), log.model.as_str(), log.request_type.as_str()),
        ("anthropic", "claude-sonnet-4", "compat")
    );
    assert!(log.cost.is_some());
}

#[tokio::test]
async fn get_requests_and_query_strings_pass_through() {
    let gw = Gateway::start().await;
    let reply = send("GET", &format!("{}/models?limit=5&after=x", gw.base_url("default", "openai")), &[], "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["object"], "list");
    let seen = &gw.mock.received()[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str(), seen.query.as_deref()),
        ("GET", "/v1/models", Some("limit=5&after=x"))
    );
    assert!(seen.body.is_empty());
    gw.flush().await;
    let log = gw.log(&reply.log_id());
    assert_eq!((log.method.as_str(), log.model_type.as_deref(), log.model.as_str()), ("GET", Some("models"), ""));
    assert_eq!((log.tokens_in, log.usage_source.as_str()), (None, "missing"));
}

#[tokio::test]
async fn h2c_clients_are_served() {
    let gw = Gateway::start().await;
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).http2_only(true).build_http();
    let req = http::Request::post(format!("{}/chat/completions", gw.base_url("default", "openai")))
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(chat_body("gpt-4o-mini").to_string())))
        .unwrap();
    let res = client.request(req).await.unwrap();
    assert_eq!(res.version(), http::Version::HTTP_2);
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("cf-aig-log-id"));
}

#[tokio::test]
async fn usage_is_read_from_every_non_streaming_format() {
    let gw = Gateway::start().await;
    let h = [("x-mock-prompt-tokens", "40"), ("x-mock-completion-tokens", "9"), ("x-mock-cached-tokens", "16")];
    let embeddings = post_json(
        &format!("{}/embeddings", gw.base_url("default", "openai")),
        &h,
        json!({"model": "text-embedding-3-small", "input": ["a", "b"]}),
    )
    .await;
    let responses = post_json(
        &format!("{}/responses", gw.base_url("default", "openai")),
        &h,
        json!({"model": "gpt-4o-mini", "input": "hi"}),
    )
    .await;
    let completions = post_json(
        &format!("{}/completions", gw.base_url("default", "openai")),
        &h,
        json!({"model": "gpt-3.5-turbo-instruct", "prompt": "hi"}),
    )
    .await;
    let anthropic = post_json(
        &format!("{}/v1/messages", gw.base_url("default", "anthropic")),
        &[
            ("x-mock-prompt-tokens", "40"),
            ("x-mock-completion-tokens", "9"),
            ("x-mock-cache-read-tokens", "500"),
            ("x-mock-cache-write-tokens", "60"),
        ],
        json!({"model": "claude-sonnet-4", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    let gemini = post_json(
        &format!("{}/v1beta/models/gemini-2.0-flash:generateContent", gw.base_url("default", "google-ai-studio")),
        &[("x-mock-prompt-tokens", "40"), ("x-mock-completion-tokens", "9"), ("x-mock-cached-tokens", "16")],
        json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
    )
    .await;
    for r in [&embeddings, &responses, &completions, &anthropic, &gemini] {
        assert_eq!(r.status, 200, "{}", r.text());
    }
    gw.flush().await;
    let e = gw.log(&embeddings.log_id());
    assert_eq!((e.tokens_in, e.tokens_out, e.model_type.as_deref()), (Some(40), Some(0), Some("embedding")));
    let r = gw.log(&responses.log_id());
    assert_eq!((r.tokens_in, r.tokens_out, r.tokens_cached), (Some(40), Some(9), 16));
    let c = gw.log(&completions.log_id());
    assert_eq!((c.tokens_in, c.tokens_out), (Some(40), Some(9)));
    let a = gw.log(&anthropic.log_id());
    assert_eq!((a.tokens_in, a.tokens_out, a.tokens_cached, a.tokens_cache_write), (Some(600), Some(9), 500, 60));
    let expected = (40.0 * 3.0 + 500.0 * 0.3 + 60.0 * 3.75 + 9.0 * 15.0) / 1e6;
    assert!((a.cost.unwrap() - expected).abs() < 1e-12);
    let g = gw.log(&gemini.log_id());
    assert_eq!((g.tokens_in, g.tokens_out, g.tokens_cached), (Some(40), Some(9), 16));
    let expected = (24.0 * 0.1 + 16.0 * 0.025 + 9.0 * 0.4) / 1e6;
    assert!((g.cost.unwrap() - expected).abs() < 1e-12);
}
