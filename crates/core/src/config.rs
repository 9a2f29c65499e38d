//! aigw's configuration: a TOML file (the embedded `config/aigw.toml` by default) with
//! environment overrides for the settings deployments change most.
//!
//! Unknown keys are errors that name the key, so a typo never silently does nothing.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::pricing::ModelPrice;

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid value {value:?} for {name}: {reason}")]
    Env { name: &'static str, value: String, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub proxy: ProxyConfig,
    pub admin: AdminConfig,
    pub storage: StorageConfig,
    #[serde(default)]
    pub capture: CaptureConfig,
    #[serde(default)]
    pub writer: WriterConfig,
    #[serde(default)]
    pub accounts: Vec<AccountConfig>,
    #[serde(default)]
    pub gateways: Vec<GatewayConfig>,
    /// Provider name -> settings. Built-in providers need no entry; an entry overrides their
    /// defaults. Any other name declares an OpenAI-compatible provider (vLLM, Ollama, ...).
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderConfig>,
    #[serde(default)]
    pub pricing: PricingConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    pub listen: SocketAddr,
    /// Largest request body accepted; larger ones get 413.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// How long to wait for the provider's response headers when the caller sets no
    /// `cf-aig-request-timeout`.
    #[serde(default = "default_upstream_timeout_ms")]
    pub upstream_timeout_ms: u64,
    /// How long shutdown lets in-flight requests and streams finish.
    #[serde(default = "default_shutdown_grace_ms")]
    pub shutdown_grace_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub listen: SocketAddr,
    /// How long a dashboard session lasts after log-in, in hours.
    #[serde(default = "default_session_ttl_hours")]
    pub session_ttl_hours: u64,
    /// Mark the session cookie `Secure` (the admin listener is served over TLS). Requests that
    /// arrive with `X-Forwarded-Proto: https` get a `Secure` cookie either way.
    #[serde(default)]
    pub secure_cookies: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    pub path: PathBuf,
}

/// What of each exchange is kept.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureConfig {
    /// Bytes of each request and response body kept; longer bodies are truncated and flagged.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    /// Bytes of each body shown as `request_head` / `response_head`.
    #[serde(default = "default_head_bytes")]
    pub head_bytes: usize,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self { max_body_bytes: default_max_body_bytes(), head_bytes: default_head_bytes() }
    }
}

/// What happens when the log backlog is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnFull {
    /// Keep serving; records that do not fit are dropped, counted and reported.
    #[default]
    DropLogs,
    /// Refuse new requests with 503 until the backlog drains, so no served request goes unlogged.
    ShedRequests,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WriterConfig {
    /// Records the queue holds before it counts as full.
    #[serde(default = "default_queue_capacity")]
    pub queue_capacity: usize,
    /// Most records written in one transaction.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Longest a record waits for its batch, counted from the batch's first record.
    #[serde(default = "default_batch_delay_ms")]
    pub batch_delay_ms: u64,
    #[serde(default)]
    pub on_full: OnFull,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            queue_capacity: default_queue_capacity(),
            batch_size: default_batch_size(),
            batch_delay_ms: default_batch_delay_ms(),
            on_full: OnFull::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    pub account: String,
    pub id: String,
    #[serde(default = "yes")]
    pub collect_logs: bool,
}

/// Wire format a provider speaks; decides where usage lives and how errors look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderFormat {
    Openai,
    Anthropic,
    Gemini,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Where requests go; the path after `/{provider}/` is appended.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Environment variable holding the key sent when the caller brings none.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Wire format; custom providers default to `openai`.
    #[serde(default)]
    pub format: Option<ProviderFormat>,
    /// Whether aigw adds `stream_options.include_usage` to OpenAI-style stream requests (and
    /// hides the usage chunk from callers that did not ask). Default on, except for providers
    /// known to reject it (Mistral); turn it off for servers that refuse the option.
    #[serde(default)]
    pub stream_usage: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// An extra price file whose entries override the shipped table.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Inline entries, applied last.
    #[serde(default)]
    pub models: Vec<ModelPrice>,
}

fn default_max_request_bytes() -> usize {
    32 * 1024 * 1024
}
fn default_upstream_timeout_ms() -> u64 {
    600_000
}
fn default_shutdown_grace_ms() -> u64 {
    30_000
}
fn default_max_body_bytes() -> usize {
    1024 * 1024
}
fn default_head_bytes() -> usize {
    1024
}
fn default_queue_capacity() -> usize {
    16_384
}
fn default_batch_size() -> usize {
    2_048
}
fn default_batch_delay_ms() -> u64 {
    // Short: small, frequent commits keep the writer from taking the CPU in bursts that the
    // proxy would feel at its tail latency (measured in tests/BENCHMARKS.md).
    5
}
fn default_session_ttl_hours() -> u64 {
    12
}
fn yes() -> bool {
    true
}

/// Environment variables that override single settings.
pub const ENV_PROXY_LISTEN: &str = "AIGW_PROXY_LISTEN";
pub const ENV_ADMIN_LISTEN: &str = "AIGW_ADMIN_LISTEN";
pub const ENV_DB_PATH: &str = "AIGW_DB_PATH";
pub const ENV_SECURE_COOKIES: &str = "AIGW_SECURE_COOKIES";

impl Config {
    /// Parses and validates a TOML document.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Applies the `AIGW_*` overrides, reading variables through `env` so tests need not touch
    /// the process environment.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env(ENV_PROXY_LISTEN) {
            self.proxy.listen = parse_addr(ENV_PROXY_LISTEN, v)?;
        }
        if let Some(v) = env(ENV_ADMIN_LISTEN) {
            self.admin.listen = parse_addr(ENV_ADMIN_LISTEN, v)?;
        }
        if let Some(v) = env(ENV_DB_PATH) {
            if v.is_empty() {
                return Err(ConfigError::Env { name: ENV_DB_PATH, value: v, reason: "empty path".into() });
            }
            self.storage.path = PathBuf::from(v);
        }
        if let Some(v) = env(ENV_SECURE_COOKIES) {
            self.admin.secure_cookies = match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" | "" => false,
                _ => {
                    return Err(ConfigError::Env {
                        name: ENV_SECURE_COOKIES,
                        value: v,
                        reason: "expected true or false".into(),
                    })
                }
            };
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        for gw in &self.gateways {
            if !self.accounts.iter().any(|a| a.id == gw.account) {
                return Err(ConfigError::Invalid(format!(
                    "gateway {:?} names account {:?}, which is not in [[accounts]]",
                    gw.id, gw.account
                )));
            }
            if gw.id.is_empty() || gw.id.len() > 64 {
                return Err(ConfigError::Invalid(format!("gateway id {:?} must be 1 to 64 characters", gw.id)));
            }
        }
        if self.writer.batch_delay_ms > 60_000 || self.writer.queue_capacity > 10_000_000 {
            return Err(ConfigError::Invalid(
                "writer.batch_delay_ms must be at most 60000 and writer.queue_capacity at most 10000000".into(),
            ));
        }
        if self.writer.batch_size == 0 || self.writer.queue_capacity == 0 {
            return Err(ConfigError::Invalid("writer.batch_size and writer.queue_capacity must be positive".into()));
        }
        if !(1..=720).contains(&self.admin.session_ttl_hours) {
            return Err(ConfigError::Invalid("admin.session_ttl_hours must be from 1 to 720".into()));
        }
        if self.capture.head_bytes > self.capture.max_body_bytes {
            return Err(ConfigError::Invalid("capture.head_bytes must not exceed capture.max_body_bytes".into()));
        }
        Ok(())
    }
}

fn parse_addr(name: &'static str, value: String) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|e: std::net::AddrParseError| ConfigError::Env {
        name,
        value: value.clone(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        [proxy]
        listen = "127.0.0.1:8080"
        [admin]
        listen = "127.0.0.1:8081"
        [storage]
        path = "data/aigw.db"
        [[accounts]]
        id = "local"
        name = "Local"
        [[gateways]]
        account = "local"
        id = "default"
        collect_logs = true
        [providers.openai]
        base_url = "https://api.openai.com/v1"
        api_key_env = "OPENAI_API_KEY"
        [providers.vllm]
        base_url = "http://localhost:8000/v1"
    "#;

    #[test]
    fn parses_the_documented_keys() {
        let c = Config::from_toml(MINIMAL).unwrap();
        assert_eq!(c.proxy.listen.port(), 8080);
        assert_eq!(c.gateways[0].id, "default");
        assert_eq!(c.providers["openai"].api_key_env.as_deref(), Some("OPENAI_API_KEY"));
        assert_eq!(c.writer.on_full, OnFull::DropLogs);
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = MINIMAL.replace("collect_logs = true", "collect_log = true");
        let err = Config::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("collect_log"), "{err}");
        let text = format!("{MINIMAL}\n[proxyy]\nlisten = \"x\"\n");
        let err = Config::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("proxyy"), "{err}");
    }

    #[test]
    fn env_overrides_listeners_and_db_path() {
        let mut c = Config::from_toml(MINIMAL).unwrap();
        c.apply_env(|k| match k {
            ENV_PROXY_LISTEN => Some("0.0.0.0:9000".into()),
            ENV_DB_PATH => Some("/var/lib/aigw/aigw.db".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.proxy.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.admin.listen.port(), 8081);
        assert_eq!(c.storage.path, PathBuf::from("/var/lib/aigw/aigw.db"));
        let err = c.apply_env(|k| (k == ENV_ADMIN_LISTEN).then(|| "nope".into())).unwrap_err();
        assert!(err.to_string().contains(ENV_ADMIN_LISTEN));
    }

    #[test]
    fn gateways_must_name_a_known_account() {
        let text = MINIMAL.replace("account = \"local\"", "account = \"other\"");
        assert!(Config::from_toml(&text).unwrap_err().to_string().contains("other"));
    }
}
