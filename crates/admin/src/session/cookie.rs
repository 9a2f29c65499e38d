//! The session cookie: `aigw_session=<token>; HttpOnly; SameSite=Strict; Path=/`, with `Secure`
//! when configured or when the request came over TLS through a proxy (`X-Forwarded-Proto`).

use axum::http::{header, HeaderMap, HeaderValue};

/// The cookie's name.
pub const COOKIE: &str = "aigw_session";
/// Beginning of every session token (recognisable, and redacted wherever it could appear).
pub const TOKEN_PREFIX: &str = "aigw_sess_";

/// The session token of the request's `Cookie` headers, if any.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == COOKIE && !value.is_empty())
        .map(|(_, value)| value.trim_matches('"').to_string())
}

/// Whether the request came over TLS through a proxy that says so.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').next().is_some_and(|p| p.trim().eq_ignore_ascii_case("https")))
}

/// `Set-Cookie` for a new session that lasts `max_age_secs`.
pub fn set(token: &str, max_age_secs: i64, secure: bool, request: &HeaderMap) -> Option<HeaderValue> {
    let secure = if secure || forwarded_https(request) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .ok()
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(secure: bool, request: &HeaderMap) -> HeaderValue {
    let secure = if secure || forwarded_https(request) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"))
        .unwrap_or_else(|_| HeaderValue::from_static("aigw_session=; Path=/; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("theme=dark; aigw_session=aigw_sess_abc; other=1"));
        assert_eq!(session_token(&h).as_deref(), Some("aigw_sess_abc"));
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("aigw_session="));
        assert_eq!(session_token(&h), None);
    }

    #[test]
    fn secure_only_when_configured_or_forwarded_over_tls() {
        let plain = HeaderMap::new();
        let v = set("t", 60, false, &plain).unwrap();
        assert_eq!(v, "aigw_session=t; HttpOnly; SameSite=Strict; Path=/; Max-Age=60");
        assert!(set("t", 60, true, &plain).unwrap().to_str().unwrap().ends_with("; Secure"));
        let mut tls = HeaderMap::new();
        tls.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert!(clear(false, &tls).to_str().unwrap().ends_with("Max-Age=0; Secure"));
    }
}
