//! The audit trail through the admin router, in-process: what is recorded for changes, denials
//! and failures, that a change whose record cannot be written does not happen, and the list
//! endpoint's contract (validation, account scope, cursors).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aigw_admin::{router, AdminState, Db, Ops};
use aigw_core::gateway::GatewaySpec;
use aigw_core::FixedClock;
use aigw_store::tokens::{Access, ApiToken};
use axum::body::Body;
use axum::Router;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// 2025-01-01T12:00:00Z.
const NOW: i64 = 1_735_732_800_000;
const WRITE: &str = "aigw_at_write-token-of-acct-0000000000000000";
const READ: &str = "aigw_at_read-token-of-acct-00000000000000000";
const OTHER: &str = "aigw_at_write-token-of-other-000000000000000";

struct NoOps;

impl Ops for NoOps {
    fn stats(&self) -> Value {
        json!({})
    }
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
    fn gateway_changed(&self, _: &str, _: &str, _: Option<&GatewaySpec>) {}
    fn account_name(&self, account: &str) -> Option<String> {
        (account == "acct").then(|| "Acme".to_string())
    }
}

struct Api {
    app: Router,
    db_path: std::path::PathBuf,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

fn token(id: &str, account: &str, secret: &str, access: Access) -> ApiToken {
    ApiToken {
        id: id.into(),
        account_id: account.into(),
        name: format!("{id}-name"),
        email: Some(format!("{id}@example.com")),
        access,
        secret_hash: aigw_admin::auth::hash_secret(secret),
        created_at_ms: NOW,
        last_used_at_ms: None,
        revoked_at_ms: None,
    }
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("aigw.db");
    let db = Db::open(&db_path).unwrap();
    let conn = aigw_store::open_write(&db_path).unwrap();
    aigw_store::tokens::insert_token(&conn, &token("tw", "acct", WRITE, Access::Write)).unwrap();
    aigw_store::tokens::insert_token(&conn, &token("tr", "acct", READ, Access::Read)).unwrap();
    aigw_store::tokens::insert_token(&conn, &token("to", "other", OTHER, Access::Write)).unwrap();
    let clock = Arc::new(FixedClock::new(NOW));
    let state = AdminState { db, clock: clock.clone(), ops: Arc::new(NoOps), head_bytes: 64 };
    Api { app: router(state), db_path, clock, _dir: dir }
}

struct Reply {
    status: StatusCode,
    ray: Option<String>,
    body: Value,
}

impl Api {
    async fn call(&self, method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut req = Request::builder().method(method).uri(uri).header("user-agent", "audit-test/1");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
        let response = self.app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
        let status = response.status();
        let ray = response.headers().get("cf-ray").map(|v| v.to_str().unwrap().to_string());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply { status, ray, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// The whole trail of `account` for 2025-01-01, oldest first.
    async fn trail(&self, account: &str) -> Vec<Value> {
        let uri = format!(
            "/client/v4/accounts/{account}/logs/audit?since=2025-01-01&before=2025-01-02&direction=asc&limit=1000"
        );
        let r = self.call("GET", &uri, Some(if account == "acct" { READ } else { OTHER }), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["result"].as_array().unwrap().clone()
    }
}

fn gateway_body(id: &str) -> Value {
    json!({
        "id": id, "cache_invalidate_on_update": false, "cache_ttl": 0, "collect_logs": true,
        "rate_limiting_interval": 0, "rate_limiting_limit": 0,
    })
}

#[tokio::test]
async fn a_change_is_recorded_with_its_actor_request_and_ray_id() {
    let api = api();
    let r =
        api.call("POST", "/client/v4/accounts/acct/ai-gateway/gateways", Some(WRITE), Some(gateway_body("g1"))).await;
    assert_eq!(r.status, StatusCode::OK);
    let ray = r.ray.expect("cf-ray header");
    let trail = api.trail("acct").await;
    assert_eq!(trail.len(), 1, "{trail:#?}");
    let rec = &trail[0];
    assert_eq!(rec["account"], json!({ "id": "acct", "name": "Acme" }));
    assert_eq!(rec["action"]["type"], "create");
    assert_eq!(rec["action"]["result"], "success");
    assert_eq!(rec["action"]["description"], "Create gateway");
    assert_eq!(rec["action"]["time"], "2025-01-01T12:00:00.000Z");
    assert_eq!(rec["actor"]["type"], "account");
    assert_eq!(rec["actor"]["id"], "acct");
    assert_eq!(rec["actor"]["context"], "api_token");
    assert_eq!(rec["actor"]["token_id"], "tw");
    assert_eq!(rec["actor"]["token_name"], "tw-name");
    assert_eq!(rec["actor"]["email"], "tw@example.com");
    assert_eq!(rec["raw"]["cf_ray_id"], ray.as_str());
    assert_eq!(rec["raw"]["method"], "POST");
    assert_eq!(rec["raw"]["status_code"], 200);
    assert_eq!(rec["raw"]["uri"], "/client/v4/accounts/acct/ai-gateway/gateways");
    assert_eq!(rec["raw"]["user_agent"], "audit-test/1");
    assert_eq!(rec["resource"]["product"], "ai_gateway");
    assert_eq!(rec["resource"]["type"], "gateway");
    assert_eq!(rec["resource"]["id"], "g1");
    assert_eq!(rec["resource"]["scope"], "accounts");
    assert_eq!(rec["resource"]["request"]["id"], "g1");
    assert_eq!(rec["resource"]["response"]["id"], "g1");
    // Root-mounted paths are recorded as they arrived.
    api.call("DELETE", "/accounts/acct/ai-gateway/gateways/g1", Some(WRITE), None).await;
    let trail = api.trail("acct").await;
    assert_eq!(trail[1]["raw"]["uri"], "/accounts/acct/ai-gateway/gateways/g1");
    assert_eq!(trail[1]["action"]["type"], "delete");
}

#[tokio::test]
async fn denials_and_failed_writes_are_recorded_as_failures() {
    let api = api();
    let base = "/client/v4/accounts/acct/ai-gateway/gateways";
    assert_eq!(api.call("GET", base, None, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.call("POST", base, Some(READ), Some(gateway_body("g2"))).await.status, StatusCode::FORBIDDEN);
    assert_eq!(api.call("GET", base, Some(OTHER), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(api.call("DELETE", &format!("{base}/missing"), Some(WRITE), None).await.status, StatusCode::NOT_FOUND);
    let bad = api.call("POST", base, Some(WRITE), Some(json!({"id": "g3"}))).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // Reads that succeed, and reads that fail for other reasons, are not recorded.
    assert_eq!(api.call("GET", base, Some(READ), None).await.status, StatusCode::OK);
    assert_eq!(api.call("GET", &format!("{base}/missing"), Some(READ), None).await.status, StatusCode::NOT_FOUND);

    let trail = api.trail("acct").await;
    let summary: Vec<(String, String, i64, Value)> = trail
        .iter()
        .map(|r| {
            (
                r["action"]["description"].as_str().unwrap().to_string(),
                r["action"]["result"].as_str().unwrap().to_string(),
                r["raw"]["status_code"].as_i64().unwrap(),
                r["actor"]["token_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("Authentication failed".into(), "failure".into(), 401, Value::Null),
            ("Permission denied".into(), "failure".into(), 403, json!("tr")),
            ("Permission denied".into(), "failure".into(), 403, json!("to")),
            ("Delete gateway failed".into(), "failure".into(), 404, json!("tw")),
            ("Create gateway failed".into(), "failure".into(), 400, json!("tw")),
        ]
    );
    assert_eq!(trail[0]["actor"]["type"], "user");
    assert_eq!(trail[0]["action"]["type"], "view");
    assert_eq!(trail[1]["action"]["type"], "create");
    assert_eq!(trail[3]["resource"]["id"], "missing");
    assert_eq!(trail[3]["resource"]["response"]["errors"][0]["code"], 7002);
    // The other account's token was denied in acct's trail, not in its own.
    assert!(api.trail("other").await.is_empty());
}

#[tokio::test]
async fn a_change_whose_record_cannot_be_written_does_not_happen() {
    let api = api();
    let conn = rusqlite::Connection::open(&api.db_path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
    )
    .unwrap();
    let r =
        api.call("POST", "/client/v4/accounts/acct/ai-gateway/gateways", Some(WRITE), Some(gateway_body("g4"))).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let gone = api.call("GET", "/client/v4/accounts/acct/ai-gateway/gateways/g4", Some(READ), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "the gateway was rolled back with its record");
}

#[tokio::test]
async fn the_list_validates_its_query() {
    let api = api();
    let base = "/client/v4/accounts/acct/logs/audit";
    for (query, param) in [
        ("before=2025-01-02", "since"),
        ("since=2025-01-01", "before"),
        ("since=2025-01-01&before=soon", "before"),
        ("since=2025-01-01&before=2025-01-02&limit=0", "limit"),
        ("since=2025-01-01&before=2025-01-02&limit=1001", "limit"),
        ("since=2025-01-01&before=2025-01-02&limit=2.5", "limit"),
        ("since=2025-01-01&before=2025-01-02&cursor=nonsense", "cursor"),
        ("since=2025-01-01&before=2025-01-02&action_result.not=maybe", "action_result.not"),
        ("since=2025-01-01&before=2025-01-02&raw_status_code=ok", "raw_status_code"),
    ] {
        let r = api.call("GET", &format!("{base}?{query}"), Some(READ), None).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(r.body["errors"][0]["code"], 7001, "{query}");
        assert_eq!(r.body["errors"][0]["path"], json!(["query", param]), "{query}");
        assert_eq!(r.body["success"], false);
    }
    let ok = api.call("GET", &format!("{base}?since=2025-01-01&before=2025-01-02&limit=25.0"), Some(READ), None).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["result_info"], json!({ "count": 0 }), "no cursor on the last page");
    let other =
        api.call("GET", "/client/v4/accounts/other/logs/audit?since=2025-01-01&before=2025-01-02", Some(READ), None);
    assert_eq!(other.await.status, StatusCode::FORBIDDEN, "a token reads only its own account's trail");
}

#[tokio::test]
async fn cursors_visit_every_record_once_in_both_directions() {
    let api = api();
    for i in 0..7 {
        let body = gateway_body(&format!("g{i}"));
        api.call("POST", "/client/v4/accounts/acct/ai-gateway/gateways", Some(WRITE), Some(body)).await;
        if i % 2 == 0 {
            api.clock.advance(1000); // some records share a millisecond
        }
    }
    let all: Vec<Value> = api.trail("acct").await.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(all.len(), 7);
    for direction in ["asc", "desc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut uri = format!(
                "/client/v4/accounts/acct/logs/audit?since=2025-01-01&before=2025-01-02&limit=2&direction={direction}"
            );
            if let Some(c) = &cursor {
                uri.push_str(&format!("&cursor={c}"));
            }
            let r = api.call("GET", &uri, Some(READ), None).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            seen.extend(r.body["result"].as_array().unwrap().iter().map(|x| x["id"].clone()));
            let info = &r.body["result_info"];
            assert_eq!(info["cursor"], info["cursors"]["after"], "both cursor shapes");
            match info["cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        if direction == "desc" {
            seen.reverse();
        }
        assert_eq!(seen, all, "{direction}");
    }
}
