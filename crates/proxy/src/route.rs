//! Parsing the data-plane path: `/v1/{account}/{gateway}/{provider}/{rest...}` (provider-native)
//! and `/v1/{account}/{gateway}/compat/{rest...}` (OpenAI-compatible, model `provider/model`).

use crate::error::ProxyError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// Provider-native: forward `rest` to the provider.
    Provider { provider: &'a str, rest: &'a str },
    /// OpenAI-compatible endpoint: the provider comes from the body's `model`.
    Compat { rest: &'a str },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route<'a> {
    pub account: &'a str,
    pub gateway: &'a str,
    pub target: Target<'a>,
}

impl Route<'_> {
    /// What `request_type` records for this route.
    pub(crate) fn request_type(&self) -> &'static str {
        match self.target {
            Target::Provider { .. } => "provider",
            Target::Compat { .. } => "compat",
        }
    }
}

/// Splits a request path. Never allocates; errors name what is wrong.
pub(crate) fn parse(path: &str) -> Result<Route<'_>, ProxyError> {
    let usage = "paths are /v1/{account_id}/{gateway_id}/{provider}/{endpoint}";
    let rest =
        path.strip_prefix("/v1/").ok_or_else(|| ProxyError::BadPath(format!("no route for {path:?}; {usage}")))?;
    let mut parts = rest.splitn(4, '/');
    let account = parts.next().filter(|s| !s.is_empty());
    let gateway = parts.next().filter(|s| !s.is_empty());
    let (Some(account), Some(gateway)) = (account, gateway) else {
        return Err(ProxyError::BadPath(format!("no route for {path:?}; {usage}")));
    };
    if gateway.len() > 64 {
        return Err(ProxyError::BadPath("gateway ids are at most 64 characters".into()));
    }
    let Some(provider) = parts.next().filter(|s| !s.is_empty()) else {
        return Err(ProxyError::BadPath(format!("the universal endpoint is not supported; {usage}")));
    };
    let rest = parts.next().unwrap_or("");
    if rest.split('/').any(is_dot_segment) || has_encoded_separator(rest) {
        return Err(ProxyError::BadPath("path segments '.' and '..' and encoded '/' or '\\' are not allowed".into()));
    }
    let target = if provider == "compat" { Target::Compat { rest } } else { Target::Provider { provider, rest } };
    Ok(Route { account, gateway, target })
}

/// `.` or `..`, also percent-encoded (`%2e%2E`), which upstreams may normalise.
fn is_dot_segment(seg: &str) -> bool {
    let lower = seg.to_ascii_lowercase();
    let decoded = lower.replace("%2e", ".");
    decoded == "." || decoded == ".."
}

fn has_encoded_separator(rest: &str) -> bool {
    let lower = rest.to_ascii_lowercase();
    lower.contains("%2f") || lower.contains("%5c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_native_and_compat_routes() {
        let r = parse("/v1/acc/gw/openai/chat/completions").unwrap();
        assert_eq!((r.account, r.gateway), ("acc", "gw"));
        assert_eq!(r.target, Target::Provider { provider: "openai", rest: "chat/completions" });
        let r = parse("/v1/acc/gw/google-ai-studio/v1beta/models/gemini-2.0-flash:generateContent").unwrap();
        assert_eq!(
            r.target,
            Target::Provider { provider: "google-ai-studio", rest: "v1beta/models/gemini-2.0-flash:generateContent" }
        );
        let r = parse("/v1/acc/gw/compat/chat/completions").unwrap();
        assert_eq!(r.target, Target::Compat { rest: "chat/completions" });
        let r = parse("/v1/acc/gw/openai").unwrap();
        assert_eq!(r.target, Target::Provider { provider: "openai", rest: "" });
    }

    #[test]
    fn malformed_paths_are_refused() {
        for p in
            ["/", "/v2/a/b/openai/x", "/v1/", "/v1/acc", "/v1/acc/", "/v1/acc/gw", "/v1/acc/gw/", "/v1/a/g/openai/../x"]
        {
            assert!(matches!(parse(p), Err(ProxyError::BadPath(_))), "{p}");
        }
        let long = format!("/v1/a/{}/openai/x", "g".repeat(65));
        assert!(parse(&long).is_err());
    }
}
