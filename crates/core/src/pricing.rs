//! Prices per model and the cost of a usage.
//!
//! The shipped table lives in `config/pricing.toml`; deployments add or override entries in their
//! own file or inline in `aigw.toml`. Prices are USD per million tokens.

use std::collections::HashMap;

use serde::Deserialize;

use crate::usage::Usage;

/// The price of one model at one provider, USD per million tokens.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    /// Provider name as in the route (`openai`, `anthropic`, `google-ai-studio`, ...), or `*` for
    /// any provider.
    pub provider: String,
    /// Exact model id, or a prefix that also prices dated versions: `gpt-4o` prices
    /// `gpt-4o-2024-08-06` (the longest matching prefix wins, so `gpt-4o-mini` keeps its own).
    pub model: String,
    pub input: f64,
    pub output: f64,
    /// Price of input tokens read from the provider's prompt cache; defaults to `input`.
    #[serde(default)]
    pub cached_input: Option<f64>,
    /// Price of input tokens written to the provider's prompt cache; defaults to `input`.
    #[serde(default)]
    pub cache_write: Option<f64>,
}

impl ModelPrice {
    /// The cost in USD of `usage` at this price, `None` when the usage is missing.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        let tokens_out = usage.tokens_out?;
        usage.tokens_in?;
        let micro = usage.uncached_in() as f64 * self.input
            + usage.cached_in as f64 * self.cached_input.unwrap_or(self.input)
            + usage.cache_write_in as f64 * self.cache_write.unwrap_or(self.input)
            + tokens_out as f64 * self.output;
        Some(micro / 1_000_000.0)
    }
}

/// The file form of a price table: `[[models]]` entries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceFile {
    #[serde(default)]
    pub models: Vec<ModelPrice>,
}

/// All known prices, looked up by provider and model.
#[derive(Debug, Default, Clone)]
pub struct PriceTable {
    /// provider -> entries, later entries override earlier ones with the same model.
    by_provider: HashMap<String, Vec<ModelPrice>>,
}

impl PriceTable {
    /// Parses a TOML price file.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        let mut table = Self::default();
        table.extend_from_toml(text)?;
        Ok(table)
    }

    /// Adds the entries of a TOML price file, overriding entries already present.
    pub fn extend_from_toml(&mut self, text: &str) -> Result<(), toml::de::Error> {
        let file: PriceFile = toml::from_str(text)?;
        self.extend(file.models);
        Ok(())
    }

    /// Adds entries; an entry for a provider and model already present replaces it.
    pub fn extend(&mut self, prices: impl IntoIterator<Item = ModelPrice>) {
        for price in prices {
            let entries = self.by_provider.entry(price.provider.clone()).or_default();
            entries.retain(|p| p.model != price.model);
            entries.push(price);
        }
    }

    pub fn len(&self) -> usize {
        self.by_provider.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The price for `model` at `provider`: exact id first, then the longest prefix ending at a
    /// `-`, `:`, `@` or `.` boundary; the provider's own entries before `*` entries.
    pub fn lookup(&self, provider: &str, model: &str) -> Option<&ModelPrice> {
        let model = model.strip_prefix("models/").unwrap_or(model);
        [provider, "*"].iter().filter_map(|p| self.by_provider.get(*p)).find_map(|entries| best_match(entries, model))
    }

    /// The models priced for `provider` itself (not `*` entries), sorted.
    pub fn models_of(&self, provider: &str) -> Vec<String> {
        let mut models: Vec<String> =
            self.by_provider.get(provider).map(|e| e.iter().map(|p| p.model.clone()).collect()).unwrap_or_default();
        models.sort();
        models
    }

    /// The cost of `usage` for `model` at `provider`, `None` when unpriced or usage is missing.
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Option<f64> {
        self.lookup(provider, model)?.cost(usage)
    }
}

fn best_match<'a>(entries: &'a [ModelPrice], model: &str) -> Option<&'a ModelPrice> {
    if let Some(exact) = entries.iter().find(|p| p.model == model) {
        return Some(exact);
    }
    entries
        .iter()
        .filter(|p| {
            model.len() > p.model.len()
                && model.starts_with(p.model.as_str())
                && matches!(model.as_bytes()[p.model.len()], b'-' | b':' | b'@' | b'.')
        })
        .max_by_key(|p| p.model.len())
}

/// `cf-aig-custom-cost`: per-token prices the caller sets for one request.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomCost {
    #[serde(default)]
    pub per_token_in: f64,
    #[serde(default)]
    pub per_token_out: f64,
}

impl CustomCost {
    /// Cost in USD; missing usage costs nothing known, so `None`.
    pub fn cost(&self, usage: &Usage) -> Option<f64> {
        Some(usage.tokens_in? as f64 * self.per_token_in + usage.tokens_out? as f64 * self.per_token_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = r#"
        [[models]]
        provider = "openai"
        model = "gpt-4o"
        input = 2.5
        output = 10.0
        cached_input = 1.25

        [[models]]
        provider = "openai"
        model = "gpt-4o-mini"
        input = 0.15
        output = 0.6

        [[models]]
        provider = "anthropic"
        model = "claude-sonnet-4"
        input = 3.0
        output = 15.0
        cached_input = 0.3
        cache_write = 3.75

        [[models]]
        provider = "*"
        model = "llama3"
        input = 0.0
        output = 0.0
    "#;

    #[test]
    fn longest_prefix_wins_and_exact_beats_prefix() {
        let t = PriceTable::from_toml(TABLE).unwrap();
        assert_eq!(t.lookup("openai", "gpt-4o").unwrap().input, 2.5);
        assert_eq!(t.lookup("openai", "gpt-4o-2024-08-06").unwrap().input, 2.5);
        assert_eq!(t.lookup("openai", "gpt-4o-mini-2024-07-18").unwrap().input, 0.15);
        assert!(t.lookup("openai", "gpt-4").is_none());
        assert!(t.lookup("openai", "gpt-4ox").is_none());
        assert!(t.lookup("groq", "gpt-4o").is_none());
        assert_eq!(t.lookup("ollama", "llama3:8b").unwrap().output, 0.0);
    }

    #[test]
    fn cached_and_cache_write_tokens_have_their_own_rates() {
        let t = PriceTable::from_toml(TABLE).unwrap();
        // Anthropic: 100 plain + 1000 cache read + 200 cache write in, 50 out.
        let usage = Usage::from_provider(1300, 50, 1000, 200);
        let cost = t.cost("anthropic", "claude-sonnet-4-20250514", &usage).unwrap();
        let expected = (100.0 * 3.0 + 1000.0 * 0.3 + 200.0 * 3.75 + 50.0 * 15.0) / 1e6;
        assert!((cost - expected).abs() < 1e-12, "{cost} vs {expected}");
        // OpenAI: cached tokens are inside prompt_tokens.
        let usage = Usage::from_provider(1000, 10, 400, 0);
        let cost = t.cost("openai", "gpt-4o", &usage).unwrap();
        assert!((cost - (600.0 * 2.5 + 400.0 * 1.25 + 10.0 * 10.0) / 1e6).abs() < 1e-12);
    }

    #[test]
    fn missing_usage_has_no_cost() {
        let t = PriceTable::from_toml(TABLE).unwrap();
        assert_eq!(t.cost("openai", "gpt-4o", &Usage::missing()), None);
        let custom = CustomCost { per_token_in: 0.000001, per_token_out: 0.000002 };
        assert_eq!(custom.cost(&Usage::missing()), None);
        let c = custom.cost(&Usage::from_provider(10, 5, 0, 0)).unwrap();
        assert!((c - 0.00002).abs() < 1e-15);
    }

    #[test]
    fn later_entries_override() {
        let mut t = PriceTable::from_toml(TABLE).unwrap();
        t.extend([ModelPrice {
            provider: "openai".into(),
            model: "gpt-4o".into(),
            input: 1.0,
            output: 2.0,
            cached_input: None,
            cache_write: None,
        }]);
        assert_eq!(t.lookup("openai", "gpt-4o").unwrap().input, 1.0);
        assert_eq!(t.len(), 4);
    }
}
