//! Google AI Studio (Gemini): `x-goog-api-key` or `?key=`, the model in the path
//! (`v1beta/models/{model}:generateContent`), usage in `usageMetadata`; OpenAI-compatible
//! endpoint at `/v1beta/openai/chat/completions` for the `compat` route.

use aigw_core::config::ProviderFormat;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{raw_key, Adapter};

pub(crate) struct Gemini;

impl Adapter for Gemini {
    fn format(&self) -> ProviderFormat {
        ProviderFormat::Gemini
    }

    fn caller_has_key(&self, headers: &HeaderMap, query: Option<&str>) -> bool {
        headers.contains_key("x-goog-api-key")
            || headers.contains_key(http::header::AUTHORIZATION)
            || query.is_some_and(|q| q.split('&').any(|kv| kv.starts_with("key=")))
    }

    fn key_header(&self, key: &str) -> Option<(HeaderName, HeaderValue)> {
        raw_key("x-goog-api-key", key)
    }

    fn model_from_path(&self, rest: &str) -> Option<String> {
        model_in_path(rest)
    }

    fn compat_chat_path(&self) -> &'static str {
        "/v1beta/openai/chat/completions"
    }
}

/// `v1beta/models/gemini-2.0-flash:generateContent` -> `gemini-2.0-flash`.
pub(crate) fn model_in_path(rest: &str) -> Option<String> {
    let after = rest.split_once("models/")?.1;
    let model = after.split([':', '/']).next()?;
    (!model.is_empty()).then(|| model.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_comes_from_the_path() {
        assert_eq!(
            model_in_path("v1beta/models/gemini-2.0-flash:generateContent").as_deref(),
            Some("gemini-2.0-flash")
        );
        assert_eq!(model_in_path("v1/models/gemini-pro:streamGenerateContent").as_deref(), Some("gemini-pro"));
        assert_eq!(model_in_path("v1beta/models").as_deref(), None);
    }
}
