//! aigw-admin: the control plane, served on the admin listener.
//!
//! This first version serves the operational endpoints; the Cloudflare-compatible logs, gateways
//! and audit APIs and the web UI are added on the same router.
//!
//! # Layout
//! - [`router`]: the axum router and its state.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// What the control plane needs from the running gateway, provided by the binary.
pub trait Ops: Send + Sync + 'static {
    /// Counters worth showing to an operator (the log writer's queue, written, dropped, ...).
    fn stats(&self) -> Value;
    /// Resolves once every log record accepted so far is committed to the database.
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

#[derive(Clone)]
pub struct AdminState {
    pub ops: Arc<dyn Ops>,
}

/// The admin router.
pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/_aigw/flush", post(flush))
        .with_state(state)
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
