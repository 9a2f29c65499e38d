//! Errors of the data plane, and their responses in the shape the caller's SDK expects.
//!
//! Each error knows who is at fault (caller, upstream, gateway) and its HTTP status; the edge of
//! the request flow turns it into a body shaped like the provider's own errors, so an OpenAI SDK
//! raises its usual `APIStatusError`, an Anthropic SDK its own, and so on.

use aigw_core::config::ProviderFormat;
use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("unknown account {0:?}")]
    UnknownAccount(String),
    #[error("unknown gateway {0:?}; create it first (only the gateway \"default\" is created on first use)")]
    UnknownGateway(String),
    #[error("unknown provider {0:?}")]
    UnknownProvider(String),
    #[error("{0}")]
    BadPath(String),
    #[error("invalid {name} header: {reason}")]
    BadHeader { name: &'static str, reason: String },
    #[error("{0}")]
    BadBody(String),
    #[error("request body is larger than the gateway's limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("could not read the request body: {0}")]
    RequestBody(String),
    #[error("the gateway's log backlog is full; retry shortly")]
    Shed,
    #[error("could not reach the provider: {0}")]
    UpstreamConnect(String),
    #[error("the provider did not respond within {ms} ms")]
    UpstreamTimeout { ms: u64 },
    #[error("configuration: {0}")]
    Config(String),
    #[error("this gateway requires a virtual key: send it as the SDK's API key (Authorization: Bearer, x-api-key or x-goog-api-key) or in cf-aig-authorization")]
    KeyRequired,
    #[error("invalid virtual key")]
    KeyInvalid,
    #[error("this virtual key has been revoked")]
    KeyRevoked,
    #[error("this virtual key has expired")]
    KeyExpired,
    #[error("send the virtual key in a header (x-goog-api-key or Authorization), not in the URL")]
    KeyInQuery,
    #[error("{0}")]
    NotAllowed(String),
    #[error("rate limit reached: this virtual key may make {limit} {what} per minute; retry in {retry_after_secs} s")]
    RateLimited { what: &'static str, limit: u64, retry_after_secs: u64 },
    #[error("budget exhausted: this virtual key has spent ${spent:.6} of its ${usd} {period} budget{resets}")]
    BudgetExhausted { spent: f64, usd: f64, period: &'static str, resets: String },
    #[error("aigw has no API key for provider {0:?}; set the environment variable its api_key_env names")]
    NoProviderKey(String),
}

impl ProxyError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProxyError::UnknownAccount(_) | ProxyError::UnknownGateway(_) | ProxyError::UnknownProvider(_) => {
                StatusCode::NOT_FOUND
            }
            ProxyError::BadPath(_)
            | ProxyError::BadHeader { .. }
            | ProxyError::BadBody(_)
            | ProxyError::RequestBody(_) => StatusCode::BAD_REQUEST,
            ProxyError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ProxyError::Shed => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::UpstreamConnect(_) => StatusCode::BAD_GATEWAY,
            ProxyError::UpstreamTimeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            ProxyError::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ProxyError::KeyRequired | ProxyError::KeyInvalid | ProxyError::KeyRevoked | ProxyError::KeyExpired => {
                StatusCode::UNAUTHORIZED
            }
            ProxyError::KeyInQuery => StatusCode::BAD_REQUEST,
            ProxyError::NotAllowed(_) => StatusCode::FORBIDDEN,
            ProxyError::RateLimited { .. } | ProxyError::BudgetExhausted { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProxyError::NoProviderKey(_) => StatusCode::BAD_GATEWAY,
        }
    }

    /// Seconds the caller should wait before trying again (`retry-after`), for rate limits.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            ProxyError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Whether SDKs should retry (`x-should-retry`): never for an exhausted budget, which no
    /// retry within the period can fix.
    pub fn should_retry(&self) -> Option<bool> {
        match self {
            ProxyError::BudgetExhausted { .. } => Some(false),
            _ => None,
        }
    }

    /// A short machine-readable code, used as OpenAI's `code` field.
    fn code(&self) -> &'static str {
        match self {
            ProxyError::UnknownAccount(_) => "unknown_account",
            ProxyError::UnknownGateway(_) => "unknown_gateway",
            ProxyError::UnknownProvider(_) => "unknown_provider",
            ProxyError::BadPath(_) => "invalid_path",
            ProxyError::BadHeader { .. } => "invalid_header",
            ProxyError::BadBody(_) | ProxyError::RequestBody(_) => "invalid_request_body",
            ProxyError::BodyTooLarge { .. } => "request_too_large",
            ProxyError::Shed => "gateway_overloaded",
            ProxyError::UpstreamConnect(_) => "upstream_unreachable",
            ProxyError::UpstreamTimeout { .. } => "upstream_timeout",
            ProxyError::Config(_) => "gateway_error",
            ProxyError::KeyRequired => "virtual_key_required",
            ProxyError::KeyInvalid => "invalid_api_key",
            ProxyError::KeyRevoked => "virtual_key_revoked",
            ProxyError::KeyExpired => "virtual_key_expired",
            ProxyError::KeyInQuery => "invalid_request",
            ProxyError::NotAllowed(_) => "not_allowed",
            ProxyError::RateLimited { .. } => "rate_limit_exceeded",
            ProxyError::BudgetExhausted { .. } => "budget_exceeded",
            ProxyError::NoProviderKey(_) => "provider_key_missing",
        }
    }

    /// The error body in `format`'s shape.
    pub fn body(&self, format: ProviderFormat) -> Bytes {
        let status = self.status();
        let message = self.to_string();
        let value = match format {
            ProviderFormat::Openai => json!({
                "error": {
                    "message": message,
                    "type": openai_type(status),
                    "param": null,
                    "code": self.code(),
                }
            }),
            ProviderFormat::Anthropic => json!({
                "type": "error",
                "error": { "type": anthropic_type(status), "message": message }
            }),
            ProviderFormat::Gemini => json!({
                "error": { "code": status.as_u16(), "message": message, "status": google_status(status) }
            }),
        };
        Bytes::from(value.to_string())
    }
}

fn openai_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 404 | 413 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        429 => "rate_limit_error",
        _ => "server_error",
    }
}

fn anthropic_type(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        504 => "timeout_error",
        _ => "api_error",
    }
}

fn google_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_take_the_callers_shape() {
        let e = ProxyError::UpstreamTimeout { ms: 100 };
        assert_eq!(e.status(), 504);
        let v: serde_json::Value = serde_json::from_slice(&e.body(ProviderFormat::Openai)).unwrap();
        assert_eq!(v["error"]["code"], "upstream_timeout");
        let v: serde_json::Value = serde_json::from_slice(&e.body(ProviderFormat::Anthropic)).unwrap();
        assert_eq!(v["type"], "error");
        assert_eq!(v["error"]["type"], "timeout_error");
        let v: serde_json::Value = serde_json::from_slice(&e.body(ProviderFormat::Gemini)).unwrap();
        assert_eq!(v["error"]["status"], "DEADLINE_EXCEEDED");
        assert_eq!(v["error"]["code"], 504);
    }
}
