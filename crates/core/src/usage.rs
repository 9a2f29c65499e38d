//! Token usage, exactly as the provider billed it.

use serde::{Deserialize, Serialize};

/// Where a record's token counts came from. Never a silent zero: a response without usage says
/// `Missing` and leaves the counts empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsageSource {
    /// The provider's own usage object.
    Provider,
    /// No usage could be found in the response (errors, aborted streams, unknown formats).
    #[default]
    Missing,
}

impl UsageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Provider => "provider",
            UsageSource::Missing => "missing",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "provider" => UsageSource::Provider,
            _ => UsageSource::Missing,
        }
    }
}

/// Token counts of one exchange, normalised across providers.
///
/// `tokens_in` counts every input token the provider billed, whatever its convention: OpenAI and
/// Gemini count cached tokens inside their prompt count, Anthropic reports cache reads and cache
/// writes beside `input_tokens`, and both end up here as one total. `cached_in` and
/// `cache_write_in` are the parts of `tokens_in` billed at their own rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub tokens_in: Option<u64>,
    pub tokens_out: Option<u64>,
    /// Input tokens read from the provider's prompt cache (part of `tokens_in`).
    pub cached_in: u64,
    /// Input tokens written to the provider's prompt cache (part of `tokens_in`).
    pub cache_write_in: u64,
    pub source: UsageSource,
}

impl Usage {
    pub fn missing() -> Self {
        Self::default()
    }

    pub fn from_provider(tokens_in: u64, tokens_out: u64, cached_in: u64, cache_write_in: u64) -> Self {
        Self {
            tokens_in: Some(tokens_in),
            tokens_out: Some(tokens_out),
            cached_in,
            cache_write_in,
            source: UsageSource::Provider,
        }
    }

    /// Input tokens billed at the plain input rate.
    pub fn uncached_in(&self) -> u64 {
        self.tokens_in.unwrap_or(0).saturating_sub(self.cached_in).saturating_sub(self.cache_write_in)
    }
}
