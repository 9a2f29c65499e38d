//! Secrets never reach the audit trail: what a record stores of a request or a response goes
//! through [`redact_value`], and its URI through [`redact_uri`], before it is hashed and written.
//!
//! A member is a secret by its name: one of its words (split at `_`, `-`, `.`, spaces and
//! camelCase humps) is `secret`, `password`, `passwd`, `passphrase`, `token`, `authorization`,
//! `apikey`, `key`, `credential(s)`, `cookie`, `signature` or `private`, unless the name also
//! has the word `public` or ends in a word that names something about the secret rather than
//! the secret (`id`, `name`, `prefix`, `hint`, `count`, `type`, `at`, ...). So `api_key`,
//! `x-auth-key`, `clientSecret` and `password` are redacted; `token_id`, `token_name`,
//! `tokens_in` and `logpush_public_key` are kept. A string value is also a secret when it
//! starts like a credential (`Bearer `, `Basic `, or one of [`SECRET_PREFIXES`]), whatever its
//! name. Redacted values become [`REDACTED`]; `null` stays `null`.

use serde_json::Value;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Beginnings of credential strings (aigw's own admin tokens and virtual keys, providers' keys).
pub const SECRET_PREFIXES: &[&str] =
    &["aigw_at_", "aigw_vk_", "aigw_sk_", "aigw_sess_", "sk-", "sk_live_", "sk_test_", "AIza", "xai-", "gsk_"];

const SECRET_WORDS: &[&str] = &[
    "secret",
    "secrets",
    "password",
    "passwd",
    "passphrase",
    "token",
    "authorization",
    "apikey",
    "key",
    "credential",
    "credentials",
    "cookie",
    "signature",
    "private",
];

/// Last words that describe a secret without being it.
const DESCRIPTIVE_WORDS: &[&str] =
    &["id", "ids", "name", "names", "prefix", "hint", "count", "type", "at", "expires", "expiry", "length", "last4"];

/// Whether a member or parameter called `name` holds a secret.
pub fn is_secret_name(name: &str) -> bool {
    let words = words(name);
    if words.iter().any(|w| w == "public") {
        return false;
    }
    let Some(last) = words.last() else { return false };
    if DESCRIPTIVE_WORDS.contains(&last.as_str()) {
        return false;
    }
    let joined: String = words.concat();
    words.iter().any(|w| SECRET_WORDS.contains(&w.as_str()))
        || ["apikey", "accesskey", "secretkey", "privatekey"].iter().any(|k| joined.contains(k))
}

/// Whether a string value looks like a credential whatever it is called.
pub fn looks_like_secret(s: &str) -> bool {
    let t = s.trim_start();
    ["Bearer ", "bearer ", "Basic ", "basic "].iter().any(|p| t.starts_with(p) && t.len() > p.len())
        || SECRET_PREFIXES.iter().any(|p| t.starts_with(p) && t.len() >= p.len() + 8)
}

/// Replaces every secret in `v`, at any depth, with [`REDACTED`].
pub fn redact_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (name, member) in map.iter_mut() {
                if is_secret_name(name) && !member.is_null() {
                    *member = Value::from(REDACTED);
                } else {
                    redact_value(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(s) if looks_like_secret(s) => *s = REDACTED.to_string(),
        _ => {}
    }
}

/// `uri` with the values of secret query parameters replaced by [`REDACTED`] (the rest of
/// the URI, including its encoding, is kept byte for byte).
pub fn redact_uri(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name: String = form_urlencoded::parse(raw_name.as_bytes()).map(|(k, _)| k.into_owned()).collect();
            let value: String =
                form_urlencoded::parse(format!("v={raw_value}").as_bytes()).map(|(_, v)| v.into_owned()).collect();
            if !raw_value.is_empty() && (is_secret_name(&name) || looks_like_secret(&value)) {
                format!("{raw_name}={REDACTED}")
            } else {
                pair.to_string()
            }
        })
        .collect();
    format!("{path}?{}", pairs.join("&"))
}

/// Lower-case words of a name: split at non-alphanumerics and at lower-to-upper case humps.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secret_names() {
        for secret in ["api_key", "x-auth-key", "clientSecret", "password", "token", "Authorization", "key", "apiKey"] {
            assert!(is_secret_name(secret), "{secret}");
        }
        for kept in
            ["token_id", "token_name", "tokens_in", "logpush_public_key", "id", "name", "keyId", "authentication"]
        {
            assert!(!is_secret_name(kept), "{kept}");
        }
    }

    #[test]
    fn redacts_at_any_depth_and_by_value() {
        let mut v = json!({
            "name": "ci",
            "secret": "s3cr3t",
            "nested": [{"password": "hunter2", "token_id": "t1"}],
            "header": "Bearer abcdef",
            "value": "aigw_at_0123456789abcdef",
            "key": null,
            "tokens_in": 12,
        });
        redact_value(&mut v);
        assert_eq!(
            v,
            json!({
                "name": "ci",
                "secret": REDACTED,
                "nested": [{"password": REDACTED, "token_id": "t1"}],
                "header": REDACTED,
                "value": REDACTED,
                "key": null,
                "tokens_in": 12,
            })
        );
    }

    #[test]
    fn redacts_query_values_only() {
        assert_eq!(
            redact_uri("/a/b?limit=5&api_key=xyz&x=aigw_at_0123456789abcdef&token_name=ci"),
            "/a/b?limit=5&api_key=[REDACTED]&x=[REDACTED]&token_name=ci"
        );
        assert_eq!(redact_uri("/a/b"), "/a/b");
    }
}
