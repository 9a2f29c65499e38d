//! Azure OpenAI: `/azure-openai/{resource}/{deployment}/{rest}` maps to
//! `https://{resource}.openai.azure.com/openai/deployments/{deployment}/{rest}`, key in `api-key`.
//! A configured base_url without `{resource}` (a proxy, or the mock in tests) is used as is.

use aigw_core::config::ProviderFormat;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::{raw_key, Adapter};
use crate::error::ProxyError;

pub(crate) struct Azure;

impl Adapter for Azure {
    fn format(&self) -> ProviderFormat {
        ProviderFormat::Openai
    }

    fn caller_has_key(&self, headers: &HeaderMap, _query: Option<&str>) -> bool {
        headers.contains_key("api-key") || headers.contains_key(http::header::AUTHORIZATION)
    }

    fn key_header(&self, key: &str) -> Option<(HeaderName, HeaderValue)> {
        raw_key("api-key", key)
    }

    fn upstream_url(&self, base_url: &str, rest: &str) -> Result<String, ProxyError> {
        let mut parts = rest.splitn(3, '/');
        let (Some(resource), Some(deployment), Some(tail)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ProxyError::BadPath(
                "azure-openai paths are /azure-openai/{resource_name}/{deployment_name}/{path}".into(),
            ));
        };
        if resource.is_empty() || !resource.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ProxyError::BadPath(format!("invalid azure resource name {resource:?}")));
        }
        Ok(format!("{}/{deployment}/{tail}", base_url.replace("{resource}", resource)))
    }

    /// `stream_options` exists from api-version 2024-10-21 (and its previews) on.
    fn accepts_stream_usage(&self, query: Option<&str>) -> bool {
        query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|kv| kv.strip_prefix("api-version="))
            .any(|v| v >= "2024-10-21")
    }

    fn model_from_path(&self, rest: &str) -> Option<String> {
        rest.split('/').nth(1).filter(|d| !d.is_empty()).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_goes_to_the_host_and_deployment_to_the_path() {
        let rest = "myres/gpt4o/chat/completions";
        let url = Azure.upstream_url("https://{resource}.openai.azure.com/openai/deployments", rest).unwrap();
        assert_eq!(url, "https://myres.openai.azure.com/openai/deployments/gpt4o/chat/completions");
        let url = Azure.upstream_url("http://127.0.0.1:9/azure", rest).unwrap();
        assert_eq!(url, "http://127.0.0.1:9/azure/gpt4o/chat/completions");
        assert!(Azure.upstream_url("https://x", "myres").is_err());
        assert!(Azure.upstream_url("https://{resource}.x", "a.b/d/chat").is_err());
        assert_eq!(Azure.model_from_path("myres/gpt4o/chat/completions").as_deref(), Some("gpt4o"));
    }
}
