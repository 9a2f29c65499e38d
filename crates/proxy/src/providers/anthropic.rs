//! Anthropic: `x-api-key` (or a bearer token), Messages API at `/v1/messages`, and its
//! OpenAI-compatible endpoint at `/v1/chat/completions` for the `compat` route.

use aigw_core::config::ProviderFormat;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{raw_key, Adapter};

pub(crate) struct Anthropic;

impl Adapter for Anthropic {
    fn format(&self) -> ProviderFormat {
        ProviderFormat::Anthropic
    }

    fn caller_has_key(&self, headers: &HeaderMap, _query: Option<&str>) -> bool {
        headers.contains_key("x-api-key") || headers.contains_key(http::header::AUTHORIZATION)
    }

    fn key_header(&self, key: &str) -> Option<(HeaderName, HeaderValue)> {
        raw_key("x-api-key", key)
    }

    fn compat_chat_path(&self) -> &'static str {
        "/v1/chat/completions"
    }
}
