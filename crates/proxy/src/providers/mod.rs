//! Provider adapters: where a provider lives, how it takes a key, and how paths map onto it.
//!
//! Each provider is one [`Provider`] value built from the built-in defaults and the config. What
//! differs between wire styles lives behind the [`Adapter`] trait, one file per style. Adding a
//! provider that speaks an existing style is one line in [`builtin`]; a new style is one file.

mod anthropic;
mod azure;
mod gemini;
mod openai;

use std::collections::HashMap;
use std::sync::Arc;

use aigw_core::config::{ProviderConfig, ProviderFormat};
use http::{HeaderMap, HeaderName, HeaderValue};

use crate::error::ProxyError;

/// What differs between provider wire styles.
pub(crate) trait Adapter: Send + Sync + 'static {
    /// The wire format of the provider's native API (error shapes, usage places).
    fn format(&self) -> ProviderFormat;

    /// Whether the caller brought a key of its own (it then passes through untouched).
    fn caller_has_key(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        let _ = query;
        headers.contains_key(http::header::AUTHORIZATION)
    }

    /// The header that carries the provider key aigw sends when the caller brought none.
    fn key_header(&self, key: &str) -> Option<(HeaderName, HeaderValue)> {
        bearer(key)
    }

    /// The upstream URL (without query) for a native route's `rest`.
    fn upstream_url(&self, base_url: &str, rest: &str) -> Result<String, ProxyError> {
        Ok(format!("{base_url}/{rest}"))
    }

    /// The model named by the path, for APIs that put it there (Gemini, Azure deployments).
    fn model_from_path(&self, rest: &str) -> Option<String> {
        let _ = rest;
        None
    }

    /// Whether an OpenAI-style stream request may carry `stream_options.include_usage`.
    fn accepts_stream_usage(&self, query: Option<&str>) -> bool {
        let _ = query;
        true
    }

    /// The path of the provider's OpenAI-compatible chat completions endpoint, for `compat`.
    fn compat_chat_path(&self) -> &'static str {
        "/chat/completions"
    }
}

/// The key as the whole value of header `name`, marked sensitive.
pub(crate) fn raw_key(name: &'static str, key: &str) -> Option<(HeaderName, HeaderValue)> {
    let mut value = HeaderValue::from_str(key).ok()?;
    value.set_sensitive(true);
    Some((HeaderName::from_static(name), value))
}

/// The key as `Authorization: Bearer`, marked sensitive.
pub(crate) fn bearer(key: &str) -> Option<(HeaderName, HeaderValue)> {
    let mut value = HeaderValue::from_str(&format!("Bearer {key}")).ok()?;
    value.set_sensitive(true);
    Some((http::header::AUTHORIZATION, value))
}

/// One configured provider.
pub struct Provider {
    pub name: String,
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub(crate) base_url: String,
    /// The key sent when the caller brings none, read from the environment at start.
    pub(crate) api_key: Option<String>,
    pub(crate) adapter: Box<dyn Adapter>,
    /// Whether aigw asks OpenAI-style streams for usage (some APIs reject the option: Mistral
    /// reports usage in its last chunk anyway).
    pub(crate) inject_stream_usage: bool,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Provider {
    pub fn format(&self) -> ProviderFormat {
        self.adapter.format()
    }

    /// Whether aigw holds a key for this provider (sent when the caller brings none).
    pub fn has_key(&self) -> bool {
        self.api_key.is_some()
    }
}

/// A built-in provider: name, default base URL, default key variable, adapter.
struct Builtin {
    name: &'static str,
    base_url: &'static str,
    key_env: &'static str,
    adapter: fn() -> Box<dyn Adapter>,
}

/// Built-in providers that reject `stream_options` (and report stream usage without it).
const NO_STREAM_OPTIONS: &[&str] = &["mistral"];

fn builtin() -> Vec<Builtin> {
    fn oa() -> Box<dyn Adapter> {
        Box::new(openai::OpenAi)
    }
    vec![
        Builtin { name: "openai", base_url: "https://api.openai.com/v1", key_env: "OPENAI_API_KEY", adapter: oa },
        Builtin {
            name: "anthropic",
            base_url: "https://api.anthropic.com",
            key_env: "ANTHROPIC_API_KEY",
            adapter: || Box::new(anthropic::Anthropic),
        },
        Builtin {
            name: "google-ai-studio",
            base_url: "https://generativelanguage.googleapis.com",
            key_env: "GEMINI_API_KEY",
            adapter: || Box::new(gemini::Gemini),
        },
        Builtin { name: "groq", base_url: "https://api.groq.com/openai/v1", key_env: "GROQ_API_KEY", adapter: oa },
        Builtin { name: "mistral", base_url: "https://api.mistral.ai/v1", key_env: "MISTRAL_API_KEY", adapter: oa },
        Builtin { name: "deepseek", base_url: "https://api.deepseek.com", key_env: "DEEPSEEK_API_KEY", adapter: oa },
        Builtin {
            name: "openrouter",
            base_url: "https://openrouter.ai/api/v1",
            key_env: "OPENROUTER_API_KEY",
            adapter: oa,
        },
        Builtin { name: "xai", base_url: "https://api.x.ai/v1", key_env: "XAI_API_KEY", adapter: oa },
        Builtin {
            name: "perplexity-ai",
            base_url: "https://api.perplexity.ai",
            key_env: "PERPLEXITY_API_KEY",
            adapter: oa,
        },
        Builtin { name: "cerebras", base_url: "https://api.cerebras.ai/v1", key_env: "CEREBRAS_API_KEY", adapter: oa },
        // Workers AI's OpenAI-compatible API: set base_url to
        // https://api.cloudflare.com/client/v4/accounts/{cloudflare_account_id}/ai
        Builtin {
            name: "workers-ai",
            base_url: "https://api.cloudflare.com/client/v4/accounts/CLOUDFLARE_ACCOUNT_ID/ai",
            key_env: "CLOUDFLARE_API_TOKEN",
            adapter: oa,
        },
        // Azure: /azure-openai/{resource}/{deployment}/{rest}; base_url is a template.
        Builtin {
            name: "azure-openai",
            base_url: "https://{resource}.openai.azure.com/openai/deployments",
            key_env: "AZURE_OPENAI_API_KEY",
            adapter: || Box::new(azure::Azure),
        },
    ]
}

/// Every provider aigw can route to, by name.
#[derive(Debug, Clone, Default)]
pub struct Providers(Arc<HashMap<String, Arc<Provider>>>);

impl Providers {
    /// Built-in providers with the config's overrides, plus the config's custom providers
    /// (OpenAI-compatible unless they say otherwise). Keys are read through `env`.
    pub fn from_config(
        configured: &std::collections::BTreeMap<String, ProviderConfig>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ProxyError> {
        let mut map = HashMap::new();
        let builtins = builtin();
        for b in &builtins {
            let cfg = configured.get(b.name).cloned().unwrap_or_default();
            let mut adapter = (b.adapter)();
            if let Some(format) = cfg.format.filter(|f| *f != adapter.format()) {
                adapter = adapter_for(format);
            }
            let key_env = cfg.api_key_env.as_deref().unwrap_or(b.key_env);
            let provider = Provider {
                name: b.name.to_string(),
                base_url: trim_base(cfg.base_url.as_deref().unwrap_or(b.base_url)),
                api_key: env(key_env).filter(|k| !k.is_empty()),
                adapter,
                inject_stream_usage: cfg.stream_usage.unwrap_or(!NO_STREAM_OPTIONS.contains(&b.name)),
            };
            map.insert(b.name.to_string(), Arc::new(provider));
        }
        for (name, cfg) in configured {
            if map.contains_key(name) {
                continue;
            }
            let Some(base_url) = cfg.base_url.as_deref() else {
                return Err(ProxyError::Config(format!("provider {name:?} needs a base_url")));
            };
            if !is_valid_name(name) {
                return Err(ProxyError::Config(format!(
                    "provider name {name:?} may hold only lowercase letters, digits, '-' and '_'"
                )));
            }
            let provider = Provider {
                name: name.clone(),
                base_url: trim_base(base_url),
                api_key: cfg.api_key_env.as_deref().and_then(&env).filter(|k| !k.is_empty()),
                adapter: adapter_for(cfg.format.unwrap_or(ProviderFormat::Openai)),
                inject_stream_usage: cfg.stream_usage.unwrap_or(true),
            };
            map.insert(name.clone(), Arc::new(provider));
        }
        for p in map.values() {
            if !(p.base_url.starts_with("http://") || p.base_url.starts_with("https://")) {
                return Err(ProxyError::Config(format!(
                    "provider {:?}: base_url must start with http:// or https://",
                    p.name
                )));
            }
        }
        Ok(Self(Arc::new(map)))
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Provider>> {
        self.0.get(name)
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.0.keys().cloned().collect();
        names.sort();
        names
    }
}

fn adapter_for(format: ProviderFormat) -> Box<dyn Adapter> {
    match format {
        ProviderFormat::Openai => Box::new(openai::OpenAi),
        ProviderFormat::Anthropic => Box::new(anthropic::Anthropic),
        ProviderFormat::Gemini => Box::new(gemini::Gemini),
    }
}

fn trim_base(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
