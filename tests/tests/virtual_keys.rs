//! Virtual keys in the data plane, end to end against the mock provider: the key is swapped for
//! the provider key, refusals never reach the provider and are logged with their source, limits
//! and budgets hold under concurrency, authenticated gateways demand a key, and Playground
//! requests carry their user. The clock is fixed, so rate limits refill only when a test says.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aigw_core::keys::{format_key, hash_key, Budget, KeyLimits, KeyOwner, RateLimit, VirtualKey};
use aigw_core::period::BudgetPeriod;
use aigw_proxy::{GatewaySettings, PlaygroundUser};
use aigw_tests::{post_json, send, Gateway, ACCOUNT, ANTHROPIC_KEY, OPENAI_KEY};
use http_body_util::BodyExt;
use serde_json::json;

fn key(n: u8, limits: KeyLimits) -> (VirtualKey, String) {
    let id = format!("{n:016x}");
    let full = format_key(&id, &format!("{n:02x}").repeat(24));
    let key = VirtualKey {
        id,
        account_id: ACCOUNT.into(),
        name: format!("key-{n}"),
        owner: KeyOwner { id: "u1".into(), email: "ann@example.com".into(), name: "Ann".into() },
        secret_hash: hash_key(&full).to_vec(),
        created_at_ms: 0,
        modified_at_ms: 0,
        expires_at_ms: None,
        revoked_at_ms: None,
        limits,
    };
    (key, full)
}

fn chat(max_tokens: u64) -> serde_json::Value {
    json!({ "model": "gpt-4o-mini", "max_tokens": max_tokens, "messages": [{ "role": "user", "content": "hi" }] })
}

async fn chat_with(gw: &Gateway, gateway: &str, headers: &[(&str, &str)]) -> aigw_tests::Reply {
    post_json(&format!("{}/chat/completions", gw.base_url(gateway, "openai")), headers, chat(16)).await
}

#[tokio::test]
async fn the_provider_gets_its_key_and_the_log_names_the_virtual_key() {
    let gw = Gateway::start().await;
    let (k, full) = key(1, KeyLimits::default());
    gw.state.keys.replace(vec![k], 0);

    let bearer = format!("Bearer {full}");
    let r = chat_with(&gw, "default", &[("authorization", &bearer)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let anthropic = post_json(
        &format!("{}/v1/messages", gw.base_url("default", "anthropic")),
        &[("x-api-key", &full), ("anthropic-version", "2023-06-01")],
        json!({ "model": "claude-sonnet-4", "max_tokens": 10, "messages": [{ "role": "user", "content": "hi" }] }),
    )
    .await;
    assert_eq!(anthropic.status, 200, "{}", anthropic.text());

    let seen = gw.mock.received();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].header("authorization"), Some(format!("Bearer {OPENAI_KEY}").as_str()));
    assert_eq!(seen[1].header("x-api-key"), Some(ANTHROPIC_KEY));
    for s in &seen {
        assert!(s.headers.iter().all(|(_, v)| !v.contains("aigw_vk_")), "{:?}", s.headers);
    }

    gw.flush().await;
    let log = gw.log(&r.log_id());
    assert_eq!(log.source_kind, "virtual_key");
    assert_eq!(log.source_id.as_deref(), Some("0000000000000001"));
    assert_eq!(log.source_name.as_deref(), Some("key-1"));
    assert_eq!(log.source_owner.as_deref(), Some("Ann"));
    let live = gw.state.keys.live("0000000000000001", BudgetPeriod::Month, gw.clock_now()).unwrap();
    assert!(live.spent_usd > 0.0);
}

trait Now {
    fn clock_now(&self) -> i64;
}
impl Now for Gateway {
    fn clock_now(&self) -> i64 {
        use aigw_core::Clock;
        self.clock.now_ms()
    }
}

#[tokio::test]
async fn unknown_revoked_and_expired_keys_are_refused_and_logged_without_reaching_the_provider() {
    let gw = Gateway::start().await;
    let (revoked, revoked_key) = key(2, KeyLimits::default());
    let (expired, expired_key) = key(3, KeyLimits::default());
    let revoked = VirtualKey { revoked_at_ms: Some(1), ..revoked };
    let expired = VirtualKey { expires_at_ms: Some(gw.clock_now() - 1), ..expired };
    gw.state.keys.replace(vec![revoked, expired], 0);
    let (_, unknown_key) = key(4, KeyLimits::default());
    let wrong_secret = format_key("0000000000000002", &"ff".repeat(24));

    let cases = [
        (unknown_key.as_str(), "invalid_api_key"),
        (wrong_secret.as_str(), "invalid_api_key"),
        ("aigw_vk_malformed", "invalid_api_key"),
        (revoked_key.as_str(), "virtual_key_revoked"),
        (expired_key.as_str(), "virtual_key_expired"),
    ];
    for (k, code) in cases {
        let r = chat_with(&gw, "default", &[("authorization", &format!("Bearer {k}"))]).await;
        assert_eq!(r.status, 401, "{k}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], code);
        assert_eq!(r.json()["error"]["type"], "authentication_error");
        assert!(!r.text().contains(k), "the key must not be echoed");
        gw.flush().await;
        let log = gw.log(&r.log_id());
        assert!(!log.success);
        assert_eq!(log.status_code, 401);
        assert_eq!(log.source_kind, "virtual_key");
    }
    assert!(gw.mock.received().is_empty());
    let r = chat_with(&gw, "default", &[("x-api-key", &revoked_key)]).await;
    gw.flush().await;
    let log = gw.log(&r.log_id());
    assert_eq!(log.source_name.as_deref(), Some("key-2"));
}

#[tokio::test]
async fn allow_lists_refuse_with_403_in_the_callers_shape() {
    let gw = Gateway::start().await;
    let limits = KeyLimits {
        providers: vec!["openai".into()],
        models: vec!["gpt-4o".into()],
        gateways: vec!["default".into()],
        ..KeyLimits::default()
    };
    let (k, full) = key(5, limits);
    gw.state.keys.replace(vec![k], 0);
    gw.state.gateways.upsert(GatewaySettings {
        account_id: ACCOUNT.into(),
        id: "other".into(),
        collect_logs: true,
        authentication: false,
    });

    let r = chat_with(&gw, "default", &[("authorization", &format!("Bearer {full}"))]).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("gpt-4o-mini"));
    let r = post_json(
        &format!("{}/v1/messages", gw.base_url("default", "anthropic")),
        &[("x-api-key", &full)],
        json!({ "model": "claude-sonnet-4", "max_tokens": 1, "messages": [] }),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "permission_error");
    let r = chat_with(&gw, "other", &[("authorization", &format!("Bearer {full}"))]).await;
    assert_eq!(r.status, 403);
    assert!(gw.mock.received().is_empty());
}

#[tokio::test]
async fn request_rate_limit_answers_429_with_retry_after_until_the_minute_refills() {
    let gw = Gateway::start().await;
    let limits = KeyLimits {
        rate_limit: RateLimit { requests_per_minute: Some(2), tokens_per_minute: None },
        ..KeyLimits::default()
    };
    let (k, full) = key(6, limits);
    gw.state.keys.replace(vec![k], 0);
    let auth = format!("Bearer {full}");
    for _ in 0..2 {
        assert_eq!(chat_with(&gw, "default", &[("authorization", &auth)]).await.status, 200);
    }
    let r = chat_with(&gw, "default", &[("authorization", &auth)]).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("30"));
    assert_eq!(r.json()["error"]["code"], "rate_limit_exceeded");
    gw.clock.advance(30_000);
    assert_eq!(chat_with(&gw, "default", &[("authorization", &auth)]).await.status, 200);
    assert_eq!(gw.mock.received().len(), 3);
}

#[tokio::test]
async fn twenty_concurrent_requests_against_a_budget_for_five_let_five_through() {
    let gw = Gateway::start().await;
    // Usage equal to the estimate: every byte of the body an input token, every allowed output
    // token used. gpt-4o-mini is priced 1 and 2 USD per million in the harness.
    let body = chat(100).to_string();
    let one = (body.len() as f64 * 1.0 + 100.0 * 2.0) / 1e6;
    let limits =
        KeyLimits { budget: Some(Budget { usd: 5.0 * one, period: BudgetPeriod::Day }), ..KeyLimits::default() };
    let (k, full) = key(7, limits);
    gw.state.keys.replace(vec![k], 0);
    let url = format!("{}/chat/completions", gw.base_url("default", "openai"));
    let prompt = body.len().to_string();
    let calls = (0..20).map(|_| {
        let (url, body, full, prompt) = (url.clone(), body.clone(), full.clone(), prompt.clone());
        tokio::spawn(async move {
            let auth = format!("Bearer {full}");
            let headers = [
                ("authorization", auth.as_str()),
                ("content-type", "application/json"),
                ("x-mock-prompt-tokens", prompt.as_str()),
                ("x-mock-completion-tokens", "100"),
            ];
            send("POST", &url, &headers, body).await
        })
    });
    let mut statuses = Vec::new();
    for c in calls.collect::<Vec<_>>() {
        statuses.push(c.await.unwrap());
    }
    let ok = statuses.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 5, "{:?}", statuses.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(gw.mock.received().len(), 5);
    let refused = statuses.iter().find(|r| r.status == 429).unwrap();
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("budget exhausted"));
    assert_eq!(refused.header("x-should-retry"), Some("false"));
    gw.flush().await;
    let log = gw.log(&refused.log_id());
    assert!(!log.success);
    assert_eq!(log.source_name.as_deref(), Some("key-7"));
}

#[tokio::test]
async fn authenticated_gateways_demand_a_key_and_others_take_the_callers_own() {
    let gw = Gateway::start().await;
    let (k, full) = key(8, KeyLimits::default());
    gw.state.keys.replace(vec![k], 0);
    gw.state.gateways.upsert(GatewaySettings {
        account_id: ACCOUNT.into(),
        id: "locked".into(),
        collect_logs: true,
        authentication: true,
    });
    let own = [("authorization", "Bearer sk-callers-own")];
    let r = chat_with(&gw, "locked", &own).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.json()["error"]["code"], "virtual_key_required");
    assert!(gw.mock.received().is_empty());
    // With a key in cf-aig-authorization, the caller's own provider key passes through.
    let cf = format!("Bearer {full}");
    let r =
        chat_with(&gw, "locked", &[("authorization", "Bearer sk-callers-own"), ("cf-aig-authorization", &cf)]).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(gw.mock.received()[0].header("authorization"), Some("Bearer sk-callers-own"));
    assert!(gw.mock.received()[0].header("cf-aig-authorization").is_none());
    // Without authentication, the caller's own key works as before.
    let r = chat_with(&gw, "default", &own).await;
    assert_eq!(r.status, 200);
    gw.flush().await;
    assert_eq!(gw.log(&r.log_id()).source_kind, "direct");
}

#[tokio::test]
async fn virtual_keys_in_the_url_are_refused() {
    let gw = Gateway::start().await;
    let (_, full) = key(9, KeyLimits::default());
    let url = format!(
        "{}/v1beta/models/gemini-2.0-flash:generateContent?key={full}",
        gw.base_url("default", "google-ai-studio")
    );
    let r = post_json(&url, &[], json!({ "contents": [] })).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["status"], "INVALID_ARGUMENT");
    assert!(gw.mock.received().is_empty());
}

#[tokio::test]
async fn playground_requests_are_logged_with_their_user() {
    let gw = Gateway::start().await;
    gw.state.gateways.upsert(GatewaySettings {
        account_id: ACCOUNT.into(),
        id: "locked".into(),
        collect_logs: false,
        authentication: true,
    });
    let body = json!({ "model": "openai/gpt-4o-mini", "messages": [{ "role": "user", "content": "hi" }] });
    let req = http::Request::builder()
        .method("POST")
        .uri(format!("/v1/{ACCOUNT}/locked/compat/chat/completions"))
        .header("content-type", "application/json")
        .extension(PlaygroundUser { id: "u9".into(), name: "Bea".into() })
        .body(http_body_util::Full::new(bytes::Bytes::from(body.to_string())))
        .unwrap();
    let res = aigw_proxy::handle(gw.state.clone(), req).await;
    assert_eq!(res.status(), 200);
    let log_id = res.headers()["cf-aig-log-id"].to_str().unwrap().to_string();
    let _ = res.into_body().collect().await.unwrap();
    assert_eq!(gw.mock.received()[0].header("authorization"), Some(format!("Bearer {OPENAI_KEY}").as_str()));
    gw.flush().await;
    let log = gw.log(&log_id);
    assert_eq!(
        (log.source_kind.as_str(), log.source_id.as_deref(), log.source_name.as_deref()),
        ("playground", Some("u9"), Some("Bea"))
    );
    // The gateway keeps no logs: the Playground's record is kept, without bodies.
    assert!(log.request_body.is_none());
}
