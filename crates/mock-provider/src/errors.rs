//! Error bodies in the shape each provider's SDK expects.

use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

/// Which provider's conventions an endpoint follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    OpenAi,
    Anthropic,
    Gemini,
}

/// The error body for `status` in `family`'s shape.
pub(crate) fn body(family: Family, status: StatusCode, message: &str) -> Bytes {
    let value = match family {
        Family::OpenAi => {
            let (kind, code) = openai_kind(status);
            json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
        }
        Family::Anthropic => {
            json!({"type": "error", "error": {"type": anthropic_kind(status), "message": message}})
        }
        Family::Gemini => json!({"error": {
            "code": status.as_u16(),
            "message": message,
            "status": gemini_status(status),
        }}),
    };
    Bytes::from(value.to_string())
}

/// OpenAI's `type` and `code` for a status, as its API sends them.
fn openai_kind(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        401 => ("invalid_request_error", "invalid_api_key"),
        403 => ("invalid_request_error", "unsupported_country_region_territory"),
        404 => ("invalid_request_error", "model_not_found"),
        429 => ("requests", "rate_limit_exceeded"),
        500..=599 => ("server_error", "server_error"),
        _ => ("invalid_request_error", "invalid_request"),
    }
}

fn anthropic_kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_request_error",
        401 => "authentication_error",
        402 => "billing_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        504 => "timeout_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

fn gemini_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;
    use serde_json::Value;

    fn parsed(family: Family, status: u16) -> Value {
        let status = StatusCode::from_u16(status).unwrap();
        serde_json::from_slice(&body(family, status, "mock error")).unwrap()
    }

    #[test]
    fn each_family_has_its_own_shape() {
        assert_eq!(
            parsed(Family::OpenAi, 429),
            json!({"error": {"message": "mock error", "type": "requests", "param": null,
                             "code": "rate_limit_exceeded"}})
        );
        assert_eq!(
            parsed(Family::Anthropic, 429),
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "mock error"}})
        );
        assert_eq!(
            parsed(Family::Gemini, 429),
            json!({"error": {"code": 429, "message": "mock error", "status": "RESOURCE_EXHAUSTED"}})
        );
        assert_eq!(parsed(Family::Anthropic, 529)["error"]["type"], "overloaded_error");
        assert_eq!(parsed(Family::OpenAi, 503)["error"]["type"], "server_error");
    }
}
