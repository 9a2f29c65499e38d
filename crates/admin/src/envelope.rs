//! The Cloudflare v4 envelope every admin response uses, and the API's errors.
//!
//! `{"success": bool, "errors": [{code, message, path?}], "messages": [], "result": ..., "result_info"?}`.
//! Codes follow Cloudflare: 7001 validation (400), 7002 not found (404), 7003 no route,
//! 7005 method not allowed, 7006 conflict (409), 10000 permission (403), 10001 unauthenticated
//! (401). Internal failures are logged once, here, and answered without details.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
    /// Where the bad input is, e.g. `["query", "per_page"]`.
    pub path: Option<Vec<Value>>,
    /// The more specific causes, as Cloudflare nests them: `[{code, message}]`.
    pub error_chain: Vec<(u32, String)>,
}

impl ApiError {
    pub fn invalid(path: Vec<Value>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: 7001,
            message: message.into(),
            path: Some(path),
            error_chain: Vec::new(),
        }
    }
    pub fn not_found() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: 7002,
            message: "Not Found".into(),
            path: None,
            error_chain: Vec::new(),
        }
    }
    pub fn no_route() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: 7003,
            message: "No route for the URI".into(),
            path: None,
            error_chain: Vec::new(),
        }
    }
    pub fn method_not_allowed() -> Self {
        Self {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: 7005,
            message: "Method not allowed".into(),
            path: None,
            error_chain: Vec::new(),
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { status: StatusCode::CONFLICT, code: 7006, message: message.into(), path: None, error_chain: Vec::new() }
    }
    pub fn unauthenticated() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: 10001,
            message: "Unable to authenticate request".into(),
            path: None,
            error_chain: Vec::new(),
        }
    }
    pub fn forbidden() -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: 10000,
            message: "Authentication error".into(),
            path: None,
            error_chain: Vec::new(),
        }
    }
    /// A failure that is not the client's: logged with its cause, answered without it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "admin request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: 7000,
            message: "Internal Error".into(),
            path: None,
            error_chain: Vec::new(),
        }
    }
}

impl From<aigw_store::StoreError> for ApiError {
    fn from(e: aigw_store::StoreError) -> Self {
        match e {
            aigw_store::StoreError::Conflict(message) => ApiError::conflict(message),
            other => ApiError::internal(other),
        }
    }
}

/// The code and message of an error response, in its extensions (the audit layer reads them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorSummary {
    pub code: u32,
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let summary = ErrorSummary { code: self.code, message: self.message.clone() };
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(path) = self.path {
            error["path"] = Value::Array(path);
        }
        if !self.error_chain.is_empty() {
            let chain = self.error_chain.into_iter().map(|(code, message)| json!({ "code": code, "message": message }));
            error["error_chain"] = Value::Array(chain.collect());
        }
        let body = json!({ "success": false, "errors": [error], "messages": [], "result": null });
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(summary);
        if self.status == StatusCode::CONFLICT {
            // The SDKs retry 409s unless told not to; a duplicate id will not go away.
            response.headers_mut().insert("x-should-retry", HeaderValue::from_static("false"));
        }
        response
    }
}

/// `{"success": true, "errors": [], "messages": [], "result": result}`.
pub fn ok(result: Value) -> Response {
    Json(json!({ "success": true, "errors": [], "messages": [], "result": result })).into_response()
}

/// The envelope with `result_info` (paged lists).
pub fn ok_paged(result: Value, result_info: Value) -> Response {
    Json(json!({ "success": true, "errors": [], "messages": [], "result": result, "result_info": result_info }))
        .into_response()
}

pub type ApiResult = Result<Response, ApiError>;
