//! The dashboard's Playground: `GET .../ai-gateway/providers` (the configured providers and
//! their models) and `POST .../gateways/{gateway_id}/playground/chat/completions`, an OpenAI
//! chat request with `model` = `provider/model`, sent through the real data plane in-process
//! (the binary does that, through `Ops::playground`) and logged with source `playground` and the
//! signed-in user. The answer is the provider's, streamed when `stream` is true, with
//! `cf-aig-log-id`.

use aigw_store::tokens::Access;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::audit::AlreadyAudited;
use crate::auth::authorize;
use crate::envelope::{ok, ApiError, ApiResult};
use crate::AdminState;

/// A provider the Playground can use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The provider's name in routes and in `provider/model`.
    pub id: String,
    /// Its wire format: `openai`, `anthropic` or `gemini`.
    pub format: String,
    /// Whether aigw holds a key for it (the Playground sends none of its own).
    pub has_key: bool,
    /// Models with a price (from the price table), sorted.
    pub models: Vec<String>,
}

/// A Playground request for the data plane.
#[derive(Debug, Clone)]
pub struct PlaygroundCall {
    pub account_id: String,
    pub gateway_id: String,
    pub user_id: String,
    pub user_name: String,
    /// The OpenAI chat request, as the dashboard sent it.
    pub body: Bytes,
}

/// The answer when the binary provides no data plane.
pub fn unavailable() -> Response {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: 7010,
        message: "The Playground is not available".into(),
        path: None,
        error_chain: Vec::new(),
    }
    .into_response()
}

/// `GET .../ai-gateway/providers`.
pub async fn providers(State(state): State<AdminState>, Path(account): Path<String>, headers: HeaderMap) -> ApiResult {
    authorize(&state.db, &headers, &account, Access::Read).await?;
    let list: Vec<Value> = state
        .ops
        .providers()
        .into_iter()
        .map(|p| json!({ "id": p.id, "name": p.id, "format": p.format, "has_key": p.has_key, "models": p.models }))
        .collect();
    Ok(ok(Value::Array(list)))
}

/// `POST .../gateways/{gateway_id}/playground/chat/completions`.
pub async fn chat(
    State(state): State<AdminState>,
    Path((account, gateway)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let Some(user) = caller.user else {
        return Err(ApiError {
            status: StatusCode::FORBIDDEN,
            code: 10000,
            message: "The Playground is for dashboard users: log in and call it with the session cookie".into(),
            path: None,
            error_chain: Vec::new(),
        });
    };
    let parsed: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(vec![Value::from("body")], format!("the body is not valid JSON: {e}")))?;
    let model = parsed.get("model").and_then(Value::as_str).unwrap_or("");
    if !model.split_once('/').is_some_and(|(p, m)| !p.is_empty() && !m.is_empty()) {
        return Err(ApiError::invalid(
            vec![Value::from("body"), Value::from("model")],
            "model must be \"provider/model\", e.g. \"openai/gpt-4o-mini\"",
        ));
    }
    if !parsed.get("messages").is_some_and(Value::is_array) {
        return Err(ApiError::invalid(vec![Value::from("body"), Value::from("messages")], "messages must be an array"));
    }
    // The data plane resolves the gateway as for any request (`default` is created on first use;
    // an unknown one is 404 in the OpenAI shape).
    let name = if user.name.is_empty() { user.email.clone() } else { user.name.clone() };
    let call = PlaygroundCall { account_id: account, gateway_id: gateway, user_id: user.id, user_name: name, body };
    let mut response = state.ops.playground(call).await;
    // A chat is not an admin action: the log records it, the audit trail does not.
    response.extensions_mut().insert(AlreadyAudited);
    Ok(response)
}
