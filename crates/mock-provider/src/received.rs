//! One request as the mock provider received it.

use bytes::Bytes;
use http::request::Parts;

/// A recorded request: what the upstream saw, after the gateway rewrote it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The method, e.g. `POST`.
    pub method: String,
    /// The path only, without the query, e.g. `/v1/chat/completions`.
    pub path: String,
    /// The query string without the `?`, if the URI had one.
    pub query: Option<String>,
    /// Header names lowercased, values as sent (non-UTF-8 bytes replaced), in the order the
    /// server's header map yields them: first-seen order, repeated names grouped together.
    pub headers: Vec<(String, String)>,
    /// The whole request body.
    pub body: Bytes,
}

impl Received {
    pub(crate) fn from_parts(parts: &Parts, body: Bytes) -> Self {
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = match value.to_str() {
                    Ok(v) => v.to_owned(),
                    Err(_) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
                };
                (name.as_str().to_owned(), value)
            })
            .collect();
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body,
        }
    }

    /// The first value of header `name`, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, or `None` if it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // no clippy.toml allows them in tests
mod tests {
    use super::*;

    #[test]
    fn keeps_path_query_headers_and_body() {
        let req = http::Request::builder()
            .method("POST")
            .uri("http://h/v1beta/models/g:streamGenerateContent?alt=sse&key=k")
            .header("X-Goog-Api-Key", "secret")
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        let (parts, ()) = req.into_parts();
        let got = Received::from_parts(&parts, Bytes::from_static(b"{\"a\":1}"));

        assert_eq!(got.method, "POST");
        assert_eq!(got.path, "/v1beta/models/g:streamGenerateContent");
        assert_eq!(got.query.as_deref(), Some("alt=sse&key=k"));
        assert_eq!(got.headers[0], ("x-goog-api-key".into(), "secret".into()));
        assert_eq!(got.header("X-GOOG-API-KEY"), Some("secret"));
        assert_eq!(got.header("authorization"), None);
        assert_eq!(got.json(), Some(serde_json::json!({"a": 1})));
    }
}
