//! Virtual keys: the keys developers put in their SDKs instead of the provider's.
//!
//! A key reads `aigw_vk_<id>_<secret>`: `id` is 16 lowercase hex digits (public, it names the
//! key in logs and in the admin API) and `secret` 48 (192 random bits). Only the SHA-256 of the
//! whole key is stored; a presented key is found by its id and compared by hash in constant
//! time. A fast hash is enough for a high-entropy secret (passwords get argon2 elsewhere).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::period::BudgetPeriod;

/// The beginning of every virtual key.
pub const KEY_PREFIX: &str = "aigw_vk_";
/// Hex digits of a key's public id.
pub const KEY_ID_LEN: usize = 16;
/// Hex digits of a key's secret part.
pub const KEY_SECRET_LEN: usize = 48;

/// Most entries in each allow-list of a key.
pub const MAX_LIST_ENTRIES: usize = 100;
/// Longest name of a key.
pub const MAX_NAME_CHARS: usize = 100;

/// The id of a well-formed key, `None` for anything else.
pub fn parse_key(presented: &str) -> Option<&str> {
    let rest = presented.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let hex =
        |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    (hex(id, KEY_ID_LEN) && hex(secret, KEY_SECRET_LEN)).then_some(id)
}

/// Whether a credential is meant as a virtual key (well-formed or not).
pub fn is_virtual_key(presented: &str) -> bool {
    presented.trim_start().starts_with(KEY_PREFIX)
}

/// `aigw_vk_<id>_<secret>`.
pub fn format_key(id: &str, secret: &str) -> String {
    format!("{KEY_PREFIX}{id}_{secret}")
}

/// What is stored of a key: the SHA-256 of the whole key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Equality in time independent of where the inputs differ.
pub fn hashes_match(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The user a key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyOwner {
    pub id: String,
    pub email: String,
    pub name: String,
}

impl KeyOwner {
    /// How logs name the owner: the name, else the email.
    pub fn display(&self) -> &str {
        if self.name.is_empty() {
            &self.email
        } else {
            &self.name
        }
    }
}

/// Requests and tokens a key may use per minute; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimit {
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
}

/// USD a key may spend per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub usd: f64,
    pub period: BudgetPeriod,
}

/// What a key may do. Empty lists allow everything; defaults are no limits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyLimits {
    /// Gateway ids of the key's account.
    pub gateways: Vec<String>,
    /// Provider names, as in the route (`openai`, `anthropic`, ...).
    pub providers: Vec<String>,
    /// Model ids (`gpt-4o-mini`), optionally with the provider (`openai/gpt-4o-mini`); a trailing
    /// `*` matches any model that starts with what precedes it (`claude-*`).
    pub models: Vec<String>,
    pub rate_limit: RateLimit,
    pub budget: Option<Budget>,
}

impl KeyLimits {
    pub fn allows_gateway(&self, gateway: &str) -> bool {
        self.gateways.is_empty() || self.gateways.iter().any(|g| g == gateway)
    }

    pub fn allows_provider(&self, provider: &str) -> bool {
        self.providers.is_empty() || self.providers.iter().any(|p| p == provider)
    }

    pub fn allows_model(&self, provider: &str, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|entry| model_matches(entry, provider, model))
    }

    /// Checks the ranges of every field; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (field, list) in [("gateways", &self.gateways), ("providers", &self.providers), ("models", &self.models)] {
            if list.len() > MAX_LIST_ENTRIES {
                return Err(format!("{field} may hold at most {MAX_LIST_ENTRIES} entries"));
            }
            if let Some(bad) = list.iter().find(|s| s.is_empty() || s.len() > 200 || s.trim() != s.as_str()) {
                return Err(format!(
                    "{field} entries must be 1 to 200 characters without surrounding spaces; got {bad:?}"
                ));
            }
        }
        if self.rate_limit.requests_per_minute.is_some_and(|n| n == 0 || n > 10_000_000) {
            return Err("rate_limit.requests_per_minute must be from 1 to 10000000, or null".into());
        }
        if self.rate_limit.tokens_per_minute.is_some_and(|n| n == 0 || n > 100_000_000_000) {
            return Err("rate_limit.tokens_per_minute must be from 1 to 100000000000, or null".into());
        }
        if let Some(b) = self.budget {
            if !(b.usd.is_finite() && b.usd > 0.0 && b.usd <= 1e9) {
                return Err("budget.usd must be a number above 0 and at most 1000000000".into());
            }
        }
        Ok(())
    }
}

fn model_matches(entry: &str, provider: &str, model: &str) -> bool {
    // `openai/gpt-4o` names the provider too; a model id with a slash of its own
    // (`meta-llama/Llama-3`) is compared whole.
    let pattern = match entry.split_once('/') {
        Some((p, m)) if p == provider => m,
        _ => entry,
    };
    match pattern.strip_suffix('*') {
        Some(prefix) => model.starts_with(prefix),
        None => pattern == model,
    }
}

/// What a key has spent in each budget period that contains a moment, and when it was last
/// presented (read from the logs when the gateway starts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeySpend {
    pub key_id: String,
    pub day: f64,
    pub week: f64,
    pub month: f64,
    pub total: f64,
    pub last_used_ms: Option<i64>,
}

impl KeySpend {
    pub fn in_period(&self, period: BudgetPeriod) -> f64 {
        match period {
            BudgetPeriod::Day => self.day,
            BudgetPeriod::Week => self.week,
            BudgetPeriod::Month => self.month,
            BudgetPeriod::Total => self.total,
        }
    }
}

/// Whether a key may be used now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Revoked,
    Expired,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
            KeyStatus::Expired => "expired",
        }
    }
}

/// A stored virtual key (never its secret: only the hash).
#[derive(Debug, Clone, PartialEq)]
pub struct VirtualKey {
    /// The public id, 16 hex digits.
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub owner: KeyOwner,
    /// SHA-256 of the whole key.
    pub secret_hash: Vec<u8>,
    pub created_at_ms: i64,
    pub modified_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
    pub limits: KeyLimits,
}

impl VirtualKey {
    pub fn status(&self, now_ms: i64) -> KeyStatus {
        if self.revoked_at_ms.is_some() {
            KeyStatus::Revoked
        } else if self.expires_at_ms.is_some_and(|at| at <= now_ms) {
            KeyStatus::Expired
        } else {
            KeyStatus::Active
        }
    }

    /// Whether `presented` (the whole key) is this key, compared in constant time.
    pub fn matches(&self, presented: &str) -> bool {
        hashes_match(&hash_key(presented), &self.secret_hash)
    }

    /// `aigw_vk_<id>`: how the key can be recognised without its secret.
    pub fn prefix(&self) -> String {
        format!("{KEY_PREFIX}{}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef";

    fn secret() -> String {
        "ab".repeat(KEY_SECRET_LEN / 2)
    }

    #[test]
    fn well_formed_keys_parse_to_their_id() {
        let key = format_key(ID, &secret());
        assert_eq!(parse_key(&key), Some(ID));
        assert!(is_virtual_key(&key));
        for bad in [
            String::new(),
            "sk-abc".to_string(),
            format!("aigw_vk_{ID}"),
            format!("aigw_vk_{ID}_"),
            format!("aigw_vk_{ID}_{}", "ab".repeat(10)),
            format!("aigw_vk_{}_{}", ID.to_uppercase(), secret()),
            format!("aigw_vk_{ID}x_{}", secret()),
            format!("aigw_vk_{ID}_{}x", secret()),
            format!("aigw_vk_{ID}_{}", secret().replace('a', "_")),
            format!(" aigw_vk_{ID}_{}", secret()),
        ] {
            assert_eq!(parse_key(&bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_match_by_hash_only() {
        let full = format_key(ID, &secret());
        let key = VirtualKey {
            id: ID.into(),
            account_id: "a".into(),
            name: "n".into(),
            owner: KeyOwner::default(),
            secret_hash: hash_key(&full).to_vec(),
            created_at_ms: 0,
            modified_at_ms: 0,
            expires_at_ms: Some(100),
            revoked_at_ms: None,
            limits: KeyLimits::default(),
        };
        assert!(key.matches(&full));
        assert!(!key.matches(&format_key(ID, &"cd".repeat(24))));
        assert!(!hashes_match(&[1, 2], &[1, 2, 3]));
        assert_eq!(key.status(99), KeyStatus::Active);
        assert_eq!(key.status(100), KeyStatus::Expired);
        assert_eq!(VirtualKey { revoked_at_ms: Some(1), ..key }.status(0), KeyStatus::Revoked);
    }

    #[test]
    fn allow_lists_match_exactly_by_prefix_or_with_the_provider() {
        let limits = KeyLimits {
            gateways: vec!["prod".into()],
            providers: vec!["openai".into(), "anthropic".into()],
            models: vec!["gpt-4o-mini".into(), "anthropic/claude-*".into()],
            ..KeyLimits::default()
        };
        assert!(limits.allows_gateway("prod") && !limits.allows_gateway("dev"));
        assert!(limits.allows_provider("anthropic") && !limits.allows_provider("groq"));
        assert!(limits.allows_model("openai", "gpt-4o-mini"));
        assert!(!limits.allows_model("openai", "gpt-4o"));
        assert!(limits.allows_model("anthropic", "claude-sonnet-4-5"));
        assert!(!limits.allows_model("openai", "claude-sonnet-4-5"));
        let open = KeyLimits::default();
        assert!(open.allows_gateway("x") && open.allows_provider("x") && open.allows_model("x", "y"));
        let slashed = KeyLimits { models: vec!["meta-llama/Llama-3".into()], ..KeyLimits::default() };
        assert!(slashed.allows_model("groq", "meta-llama/Llama-3"));
    }

    #[test]
    fn validation_names_the_field() {
        let mut limits = KeyLimits::default();
        assert!(limits.validate().is_ok());
        limits.rate_limit.requests_per_minute = Some(0);
        assert!(limits.validate().unwrap_err().contains("requests_per_minute"));
        limits.rate_limit.requests_per_minute = None;
        limits.budget = Some(Budget { usd: f64::NAN, period: BudgetPeriod::Day });
        assert!(limits.validate().unwrap_err().contains("budget.usd"));
        limits.budget = None;
        limits.models = vec![" gpt".into()];
        assert!(limits.validate().unwrap_err().contains("models"));
    }
}
