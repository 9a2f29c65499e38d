//! aigw-admin: the control plane, served on the admin listener.
//!
//! The Cloudflare-compatible API lives under `/client/v4` (and, for clients configured with a
//! bare host, at the root too), with Cloudflare's v4 envelope on every response, so the official
//! `cloudflare` SDKs work against it unchanged. Operational endpoints sit beside it.
//!
//! # Layout
//! - [`envelope`]: the v4 envelope and the API's errors.
//! - [`auth`]: tokens, their hashes, and who may do what.
//! - [`db`]: read and write connections, off the async workers.
//! - [`gateways`]: the gateways CRUD.

pub mod auth;
pub mod db;
pub mod envelope;
mod gateways;
mod logs;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aigw_core::gateway::GatewaySpec;
use aigw_core::Clock;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub use db::Db;
pub use envelope::ApiError;

/// What the control plane needs from the running gateway, provided by the binary.
pub trait Ops: Send + Sync + 'static {
    /// Counters worth showing to an operator (the log writer's queue, written, dropped, ...).
    fn stats(&self) -> Value;
    /// Resolves once every log record accepted so far is committed to the database.
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
    /// A gateway was created or updated (`Some`) or deleted (`None`).
    fn gateway_changed(&self, account: &str, id: &str, spec: Option<&GatewaySpec>);
}

#[derive(Clone)]
pub struct AdminState {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub ops: Arc<dyn Ops>,
    /// Bytes of each payload shown as `request_head` / `response_head`.
    pub head_bytes: usize,
}

/// The admin router: the v4 API under `/client/v4` and at the root, plus `/healthz`.
pub fn router(state: AdminState) -> Router {
    let api = api_routes();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/_aigw/flush", post(flush))
        .nest("/client/v4", api.clone())
        .merge(api)
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
}

fn api_routes() -> Router<AdminState> {
    Router::new()
        .route("/accounts/{account_id}/ai-gateway/gateways", get(gateways::list).post(gateways::create))
        .route(
            "/accounts/{account_id}/ai-gateway/gateways/{gateway_id}",
            get(gateways::get).put(gateways::update).delete(gateways::delete),
        )
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs", get(logs::list).delete(logs::delete))
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{id}", get(logs::get).patch(logs::patch))
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{id}/request", get(logs::request_body))
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{id}/response", get(logs::response_body))
}

/// Liveness and the writer's counters.
async fn healthz(State(state): State<AdminState>) -> Json<Value> {
    Json(json!({ "status": "ok", "writer": state.ops.stats() }))
}

/// Commits every log accepted so far (for backups, scripts and tests), then reports counters.
async fn flush(State(state): State<AdminState>) -> Json<Value> {
    state.ops.flush().await;
    Json(json!({ "flushed": true, "writer": state.ops.stats() }))
}
