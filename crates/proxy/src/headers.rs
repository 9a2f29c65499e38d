//! The `cf-aig-*` request headers, and which headers cross the gateway.

use aigw_core::CustomCost;
use http::header::{self, HeaderMap, HeaderName};
use serde_json::{Map, Value};

use crate::error::ProxyError;

/// At most this many `cf-aig-metadata` entries are kept; extras are ignored (first five kept).
pub const MAX_METADATA_ENTRIES: usize = 5;

/// Per-request options from `cf-aig-*` headers.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AigOptions {
    /// JSON text of the metadata object.
    pub metadata: Option<String>,
    pub custom_cost: Option<CustomCost>,
    pub collect_log: Option<bool>,
    pub collect_payload: Option<bool>,
    pub event_id: Option<String>,
    pub request_timeout_ms: Option<u64>,
}

pub(crate) fn parse_aig(headers: &HeaderMap) -> Result<AigOptions, ProxyError> {
    let mut o = AigOptions::default();
    if let Some(v) = text(headers, "cf-aig-metadata")? {
        o.metadata = Some(metadata(v)?);
    }
    if let Some(v) = text(headers, "cf-aig-custom-cost")? {
        let cost: CustomCost = serde_json::from_str(v).map_err(|e| {
            bad("cf-aig-custom-cost", format!("expected {{\"per_token_in\": number, \"per_token_out\": number}}: {e}"))
        })?;
        if !(cost.per_token_in >= 0.0
            && cost.per_token_out >= 0.0
            && cost.per_token_in.is_finite()
            && cost.per_token_out.is_finite())
        {
            return Err(bad("cf-aig-custom-cost", "prices must be non-negative numbers".into()));
        }
        o.custom_cost = Some(cost);
    }
    o.collect_log = text(headers, "cf-aig-collect-log")?.map(|v| boolean("cf-aig-collect-log", v)).transpose()?;
    o.collect_payload =
        text(headers, "cf-aig-collect-log-payload")?.map(|v| boolean("cf-aig-collect-log-payload", v)).transpose()?;
    if let Some(v) = text(headers, "cf-aig-event-id")? {
        if v.is_empty() || v.len() > 256 {
            return Err(bad("cf-aig-event-id", "must be 1 to 256 characters".into()));
        }
        o.event_id = Some(v.to_string());
    }
    if let Some(v) = text(headers, "cf-aig-request-timeout")? {
        let ms: u64 = v
            .trim()
            .parse()
            .map_err(|_| bad("cf-aig-request-timeout", "expected milliseconds as a whole number".into()))?;
        if ms == 0 {
            return Err(bad("cf-aig-request-timeout", "must be at least 1 ms".into()));
        }
        o.request_timeout_ms = Some(ms);
    }
    Ok(o)
}

fn bad(name: &'static str, reason: String) -> ProxyError {
    ProxyError::BadHeader { name, reason }
}

fn text<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<Option<&'a str>, ProxyError> {
    headers.get(name).map(|v| v.to_str().map_err(|_| bad(name, "not valid visible ASCII".into()))).transpose()
}

fn boolean(name: &'static str, v: &str) -> Result<bool, ProxyError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(name, format!("expected true or false, got {v:?}"))),
    }
}

/// A flat JSON object of strings, numbers and booleans; the first five entries are kept.
fn metadata(v: &str) -> Result<String, ProxyError> {
    let name = "cf-aig-metadata";
    let parsed: Value = serde_json::from_str(v).map_err(|e| bad(name, format!("not JSON: {e}")))?;
    let Value::Object(map) = parsed else {
        return Err(bad(name, "expected a JSON object".into()));
    };
    let mut kept = Map::new();
    for (k, v) in map.into_iter().take(MAX_METADATA_ENTRIES) {
        match v {
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                kept.insert(k, v);
            }
            _ => return Err(bad(name, format!("value of {k:?} must be a string, number or boolean"))),
        }
    }
    Ok(Value::Object(kept).to_string())
}

/// Whether a request header is forwarded to the provider.
pub(crate) fn forward_request_header(name: &HeaderName) -> bool {
    !(is_hop_by_hop(name)
        || name == header::HOST
        || name == header::CONTENT_LENGTH
        // Bodies are parsed for usage: ask the provider for identity encoding.
        || name == header::ACCEPT_ENCODING
        // The body was read whole already; the provider need not confirm it wants it.
        || name == header::EXPECT
        || name.as_str().starts_with("cf-aig-"))
}

/// Whether a provider response header is passed back to the caller.
pub(crate) fn forward_response_header(name: &HeaderName) -> bool {
    !is_hop_by_hop(name)
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TE
        || name == header::TRAILER
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name == header::PROXY_AUTHORIZATION
        || name == header::PROXY_AUTHENTICATE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn metadata_keeps_the_first_five_flat_entries() {
        let o = parse_aig(&with("cf-aig-metadata", r#"{"a":1,"b":"x","c":true,"d":2,"e":3,"f":4}"#)).unwrap();
        assert_eq!(o.metadata.as_deref(), Some(r#"{"a":1,"b":"x","c":true,"d":2,"e":3}"#));
        assert!(parse_aig(&with("cf-aig-metadata", r#"{"a":{"b":1}}"#)).is_err());
        assert!(parse_aig(&with("cf-aig-metadata", "[1]")).is_err());
        assert!(parse_aig(&with("cf-aig-metadata", "{nope")).is_err());
    }

    #[test]
    fn typed_headers_are_validated() {
        let o =
            parse_aig(&with("cf-aig-custom-cost", r#"{"per_token_in":0.000001,"per_token_out":0.000002}"#)).unwrap();
        assert_eq!(o.custom_cost.unwrap().per_token_out, 0.000002);
        assert!(parse_aig(&with("cf-aig-custom-cost", r#"{"per_token_in":-1}"#)).is_err());
        assert!(parse_aig(&with("cf-aig-custom-cost", r#"{"per_token":1}"#)).is_err());
        assert_eq!(parse_aig(&with("cf-aig-collect-log", "FALSE")).unwrap().collect_log, Some(false));
        assert!(parse_aig(&with("cf-aig-collect-log", "nope")).is_err());
        assert_eq!(parse_aig(&with("cf-aig-request-timeout", "1500")).unwrap().request_timeout_ms, Some(1500));
        assert!(parse_aig(&with("cf-aig-request-timeout", "soon")).is_err());
        assert_eq!(parse_aig(&with("cf-aig-event-id", "evt-1")).unwrap().event_id.as_deref(), Some("evt-1"));
    }

    #[test]
    fn gateway_headers_and_hop_by_hop_headers_stay_here() {
        for h in ["cf-aig-metadata", "cf-aig-authorization", "host", "connection", "accept-encoding", "content-length"]
        {
            assert!(!forward_request_header(&HeaderName::from_static(h)), "{h}");
        }
        for h in ["authorization", "x-api-key", "anthropic-version", "openai-organization", "content-type"] {
            assert!(forward_request_header(&HeaderName::from_static(h)), "{h}");
        }
    }
}
