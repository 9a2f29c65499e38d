//! A gateway's settings: the fields of Cloudflare's gateway object that a client may set.
//!
//! The admin API validates and serves them; the store keeps them as JSON; the data plane acts on
//! `collect_logs` and `log_management`. Fields aigw stores but does not act on yet (caching, rate
//! limiting, logpush, DLP, guardrails, ...) are kept and returned as given, so clients that manage
//! them round-trip cleanly.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happens when a gateway holds `log_management` logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogManagementStrategy {
    #[serde(rename = "STOP_INSERTING")]
    StopInserting,
    #[serde(rename = "DELETE_OLDEST")]
    DeleteOldest,
}

/// The settable fields of a gateway (create/update body, minus `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GatewaySpec {
    pub cache_invalidate_on_update: bool,
    pub cache_ttl: Option<i64>,
    pub collect_logs: bool,
    pub rate_limiting_interval: Option<i64>,
    pub rate_limiting_limit: Option<i64>,
    #[serde(default)]
    pub rate_limiting_technique: Option<String>,
    #[serde(default)]
    pub authentication: bool,
    #[serde(default)]
    pub log_management: Option<i64>,
    #[serde(default)]
    pub log_management_strategy: Option<LogManagementStrategy>,
    #[serde(default)]
    pub logpush: bool,
    #[serde(default)]
    pub logpush_public_key: Option<String>,
    /// Every other field the client sent (byok_only, dlp, guardrails, otel, retry_*, ...), kept.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl GatewaySpec {
    /// The settings of the gateway created on first use: logs on, everything else off, as
    /// Cloudflare's auto-created `default` gateway (whose authentication aigw leaves off until
    /// virtual keys exist).
    pub fn default_gateway() -> Self {
        Self {
            cache_invalidate_on_update: false,
            cache_ttl: Some(0),
            collect_logs: true,
            rate_limiting_interval: Some(0),
            rate_limiting_limit: Some(0),
            rate_limiting_technique: Some("fixed".into()),
            authentication: false,
            log_management: None,
            log_management_strategy: None,
            logpush: false,
            logpush_public_key: None,
            extra: serde_json::Map::new(),
        }
    }
}

/// A stored gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    pub account_id: String,
    pub id: String,
    /// A UUID, Cloudflare's `internal_id`.
    pub internal_id: String,
    pub created_at_ms: i64,
    pub modified_at_ms: i64,
    pub spec: GatewaySpec,
}
