//! Loading the configuration and the price table.

use std::path::Path;

use aigw_core::{Config, PriceTable};
use anyhow::Context;

/// The embedded default configuration.
const DEFAULT_CONFIG: &str = include_str!("../../../config/aigw.toml");
/// The shipped price table.
const PRICING: &str = include_str!("../../../config/pricing.toml");

/// Reads the config file (or the embedded default) and applies `AIGW_*` overrides.
pub fn config(path: Option<&Path>) -> anyhow::Result<Config> {
    let mut config = match path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            Config::from_toml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Config::from_toml(DEFAULT_CONFIG).context("in the embedded default config")?,
    };
    config.apply_env(|k| std::env::var(k).ok())?;
    Ok(config)
}

/// The shipped prices, then the config's price file, then its inline entries.
pub fn pricing(config: &Config) -> anyhow::Result<PriceTable> {
    let mut table = PriceTable::from_toml(PRICING).context("in the shipped price table")?;
    if let Some(file) = &config.pricing.file {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("cannot read price file {}", file.display()))?;
        table.extend_from_toml(&text).with_context(|| format!("in price file {}", file.display()))?;
    }
    table.extend(config.pricing.models.iter().cloned());
    Ok(table)
}

/// `aigw check`: validates everything `serve` would load.
pub fn check(path: Option<&Path>) -> anyhow::Result<()> {
    let config = config(path)?;
    let prices = pricing(&config)?;
    let providers = aigw_proxy::Providers::from_config(&config.providers, |k| std::env::var(k).ok())?;
    println!("configuration ok");
    println!("  proxy     http://{}", config.proxy.listen);
    println!("  admin     http://{}", config.admin.listen);
    println!("  database  {}", config.storage.path.display());
    println!("  providers {}", providers.names().join(", "));
    println!("  prices    {} models", prices.len());
    Ok(())
}
