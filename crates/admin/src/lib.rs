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
//! - [`audit`]: the audit trail: recording admin actions, and Audit Logs v2 (`/logs/audit`).
//! - [`ui`]: the web dashboard (embedded ES modules and CSS) at `/` and `/assets/...`.
//! - [`session`]: dashboard log-in, log-out, the session cookie as a credential, CSRF.
//! - [`users`], [`keys`], `usage`: dashboard users, virtual keys, usage per key and per day.
//! - [`playground`]: the providers list and the Playground's chat, sent through the data plane.
//! - [`password`]: argon2 password hashes.

pub mod audit;
pub mod auth;
mod body;
pub mod db;
pub mod envelope;
mod gateways;
pub mod keys;
mod logs;
pub mod password;
pub mod playground;
pub mod session;
mod ui;
mod usage;
pub mod users;

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
    /// The name of an account (audit records carry it); `None` when aigw does not know the
    /// account, whose failed requests are then not audited (else anyone could grow the trail
    /// under made-up account ids). By default every account is known, named by its id.
    fn account_name(&self, account: &str) -> Option<String> {
        Some(account.to_string())
    }
    /// The account failed log-ins of unknown emails are recorded in (the first configured).
    fn default_account(&self) -> Option<String> {
        None
    }
    /// Virtual keys or users changed: the data plane reloads its key index. Resolves once the
    /// data plane has the change.
    fn keys_changed(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
    /// What the data plane knows of a key right now (spend in `period`, last use); `None` makes
    /// the admin API read it from the logs.
    fn key_activity(&self, id: &str, period: aigw_core::period::BudgetPeriod) -> Option<keys::KeyActivity> {
        let _ = (id, period);
        None
    }
    /// The configured providers and their models, for the Playground.
    fn providers(&self) -> Vec<playground::ProviderInfo> {
        Vec::new()
    }
    /// Sends a Playground chat request through the data plane as the call's user; the answer is
    /// the provider's (or the data plane's error), streamed.
    fn playground(
        &self,
        call: playground::PlaygroundCall,
    ) -> Pin<Box<dyn Future<Output = axum::response::Response> + Send + '_>> {
        let _ = call;
        Box::pin(async { playground::unavailable() })
    }
    /// How dashboard sessions are made.
    fn auth_settings(&self) -> session::AuthSettings {
        session::AuthSettings::default()
    }
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
    // The audit layer wraps each API route, so it sees the matched route and its parameters.
    // Inside it, the CSRF rule for requests whose credential is the session cookie.
    let api = api_routes()
        .layer(axum::middleware::from_fn_with_state(state.clone(), session::csrf_layer))
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::layer));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/_aigw/flush", post(flush))
        .nest("/client/v4", api.clone())
        .merge(api)
        .merge(ui::routes())
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        // Outermost: every response carries its request id in `cf-ray`.
        .layer(axum::middleware::from_fn(audit::ray_layer))
        .layer(axum::Extension(Arc::new(session::LoginGuard::default())))
        .with_state(state)
}

fn api_routes() -> Router<AdminState> {
    Router::new()
        .route("/accounts/{account_id}/logs/audit", get(audit::list))
        .route("/accounts/{account_id}/logs/audit/product_categories", get(audit::product_categories))
        .route("/accounts/{account_id}/ai-gateway/gateways", get(gateways::list).post(gateways::create))
        .route(
            "/accounts/{account_id}/ai-gateway/gateways/{gateway_id}",
            get(gateways::get).put(gateways::update).delete(gateways::delete),
        )
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs", get(logs::list).delete(logs::delete))
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{id}", get(logs::get).patch(logs::patch))
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{id}/request", get(logs::request_body))
        .route("/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs/{id}/response", get(logs::response_body))
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/auth/session", get(session::current))
        .route("/accounts/{account_id}/users", get(users::list).post(users::create))
        .route("/accounts/{account_id}/users/{user_id}", get(users::get).patch(users::update).delete(users::delete))
        .route("/accounts/{account_id}/users/{user_id}/sessions", axum::routing::delete(users::end_sessions))
        .route("/accounts/{account_id}/ai-gateway/virtual-keys", get(keys::list).post(keys::create))
        .route(
            "/accounts/{account_id}/ai-gateway/virtual-keys/{key_id}",
            get(keys::get).patch(keys::update).delete(keys::revoke),
        )
        .route("/accounts/{account_id}/ai-gateway/virtual-keys/{key_id}/rotate", post(keys::rotate))
        .route("/accounts/{account_id}/ai-gateway/virtual-keys/{key_id}/usage", get(usage::key_usage))
        .route("/accounts/{account_id}/ai-gateway/me/usage", get(usage::my_usage))
        .route("/accounts/{account_id}/ai-gateway/providers", get(playground::providers))
        .route(
            "/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/playground/chat/completions",
            post(playground::chat),
        )
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
