//! Who sent a request: a virtual key, a Playground user, or neither.
//!
//! A virtual key may come where an SDK puts its API key (`Authorization: Bearer`, `x-api-key`,
//! `x-goog-api-key`, Azure's `api-key`) or in `cf-aig-authorization`. Every header that carries
//! one is removed before the request goes upstream, so the provider gets the provider key aigw
//! holds (or a key of the caller's own in another header) and never the virtual key. Keys are
//! looked up in the in-memory [`KeyIndex`](crate::KeyIndex) and compared by hash in constant
//! time.
//!
//! Two steps: [`authenticate`] before the body is read (the key, its status, the gateway it may
//! use), [`admit`] once the provider and model are known (allow-lists, rate limits, budget).
//! Both refuse before anything is sent upstream, and the refusal is logged with the source.

use aigw_core::keys::{is_virtual_key, parse_key};
use aigw_core::{Source, SourceKind};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method};

use crate::error::ProxyError;
use crate::exchange::Exchange;
use crate::gateways::GatewaySettings;
use crate::keyring::Entry;
use crate::limits::{self, Refusal};
use crate::state::ProxyState;

/// Put in a request's extensions by the binary for the dashboard's Playground: the request is
/// the logged-in user's, logged with source `playground`. Never set from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaygroundUser {
    pub id: String,
    pub name: String,
}

/// The sender of a request, once authenticated.
pub(crate) enum Sender {
    /// No virtual key: the caller's own provider key, or none.
    Direct,
    Playground,
    Key(Entry),
}

/// Headers that may carry a virtual key, and whether their value is `Bearer <key>`.
const CARRIERS: [(&str, bool); 5] = [
    ("cf-aig-authorization", true),
    ("authorization", true),
    ("x-api-key", false),
    ("x-goog-api-key", false),
    ("api-key", false),
];

/// Finds the sender, removes every virtual key from `headers`, and records the source on the
/// exchange. Refuses (401) unknown, revoked and expired keys, a missing key on a gateway with
/// `authentication` on, and (403) a gateway the key may not use.
pub(crate) fn authenticate(
    state: &ProxyState,
    headers: &mut HeaderMap,
    query: Option<&str>,
    extensions: &http::Extensions,
    gateway: &GatewaySettings,
    exchange: &mut Exchange,
) -> Result<Sender, ProxyError> {
    if let Some(user) = extensions.get::<PlaygroundUser>() {
        exchange.record.source = Source {
            kind: SourceKind::Playground,
            id: Some(user.id.clone()),
            name: Some(user.name.clone()),
            owner: None,
        };
        keep_record(exchange);
        return Ok(Sender::Playground);
    }
    if query.is_some_and(|q| q.split('&').any(|kv| kv.split_once('=').is_some_and(|(_, v)| is_virtual_key(v)))) {
        return Err(ProxyError::KeyInQuery);
    }
    let Some(presented) = take_key(headers)? else {
        return if gateway.authentication { Err(ProxyError::KeyRequired) } else { Ok(Sender::Direct) };
    };
    exchange.record.source.kind = SourceKind::VirtualKey;
    let entry = parse_key(&presented)
        .and_then(|id| state.keys.get(id))
        .filter(|e| e.key.account_id == gateway.account_id && e.key.matches(&presented))
        .ok_or(ProxyError::KeyInvalid)?;
    let key = &entry.key;
    exchange.record.source = Source {
        kind: SourceKind::VirtualKey,
        id: Some(key.id.clone()),
        name: Some(key.name.clone()),
        owner: Some(key.owner.display().to_string()).filter(|o| !o.is_empty()),
    };
    keep_record(exchange);
    let now = state.log.clock.now_ms();
    entry.state.lock().unwrap_or_else(|e| e.into_inner()).touch(now);
    match key.status(now) {
        aigw_core::keys::KeyStatus::Revoked => return Err(ProxyError::KeyRevoked),
        aigw_core::keys::KeyStatus::Expired => return Err(ProxyError::KeyExpired),
        aigw_core::keys::KeyStatus::Active => {}
    }
    if !key.limits.allows_gateway(&gateway.id) {
        return Err(ProxyError::NotAllowed(format!("this virtual key may not use gateway {:?}", gateway.id)));
    }
    Ok(Sender::Key(entry))
}

/// A request with a known sender is always recorded (its spend and usage come from the log):
/// when logging is off for it, the record keeps no bodies.
fn keep_record(exchange: &mut Exchange) {
    if !exchange.collect_log {
        exchange.collect_log = true;
        exchange.collect_payload = false;
    }
}

/// The virtual key the request carries, if any, with every header that carried one removed.
/// Two different keys in one request are refused.
fn take_key(headers: &mut HeaderMap) -> Result<Option<String>, ProxyError> {
    let mut found: Option<String> = None;
    for (name, bearer) in CARRIERS {
        let name = HeaderName::from_static(name);
        let mut carried = None;
        for value in headers.get_all(&name) {
            let Ok(text) = value.to_str() else { continue };
            let text = text.trim();
            let key = if bearer { text.strip_prefix("Bearer ").or_else(|| text.strip_prefix("bearer ")) } else { None };
            let key = key.unwrap_or(text).trim();
            if is_virtual_key(key) {
                carried = Some(key.to_string());
            }
        }
        if let Some(key) = carried {
            headers.remove(&name);
            match &found {
                Some(other) if *other != key => return Err(ProxyError::KeyInvalid),
                _ => found = Some(key),
            }
        }
    }
    Ok(found)
}

/// Checks what the request asks for against the key and reserves its share of the key's
/// limits; the reservation is settled when the exchange finishes. Also makes sure aigw has a
/// provider key to send in the virtual key's place.
pub(crate) fn admit(
    state: &ProxyState,
    sender: &Sender,
    method: &Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &Bytes,
    exchange: &mut Exchange,
) -> Result<(), ProxyError> {
    let entry = match sender {
        Sender::Direct => return Ok(()),
        Sender::Playground => return provider_key(state, headers, query, &exchange.record.provider),
        Sender::Key(entry) => entry,
    };
    let key = &entry.key;
    let (provider, model) = (exchange.record.provider.as_str(), exchange.record.model.as_str());
    if !key.limits.allows_provider(provider) {
        return Err(ProxyError::NotAllowed(format!("this virtual key may not use provider {provider:?}")));
    }
    if !key.limits.models.is_empty() {
        if model.is_empty() && method != Method::GET {
            return Err(ProxyError::NotAllowed(
                "this virtual key may use only some models, and the request names none aigw can read".into(),
            ));
        }
        if !model.is_empty() && !key.limits.allows_model(provider, model) {
            return Err(ProxyError::NotAllowed(format!("this virtual key may not use model {model:?}")));
        }
    }
    let mut estimate = 0.0;
    if key.limits.budget.is_some() {
        if exchange.custom_cost.is_some() {
            return Err(ProxyError::NotAllowed("a virtual key with a budget may not set cf-aig-custom-cost".into()));
        }
        if !model.is_empty() {
            estimate = limits::estimate(&state.log.pricing, provider, model, body).ok_or_else(|| {
                ProxyError::NotAllowed(format!(
                    "model {model:?} has no price, and this virtual key has a budget: add a price for it in the configuration"
                ))
            })?;
        }
    }
    provider_key(state, headers, query, provider)?;
    let reservation = limits::admit(&entry.state, key, estimate, &state.log.clock).map_err(refusal)?;
    exchange.reservation = Some(reservation);
    Ok(())
}

/// Refuses when neither the caller nor aigw has a key for the provider.
fn provider_key(
    state: &ProxyState,
    headers: &HeaderMap,
    query: Option<&str>,
    provider: &str,
) -> Result<(), ProxyError> {
    match state.providers.get(provider) {
        Some(p) if p.api_key.is_none() && !p.adapter.caller_has_key(headers, query) => {
            Err(ProxyError::NoProviderKey(provider.to_string()))
        }
        _ => Ok(()),
    }
}

fn refusal(r: Refusal) -> ProxyError {
    let secs = |ms: u64| ms.div_ceil(1000).max(1);
    match r {
        Refusal::Requests { limit, retry_after_ms } => ProxyError::RateLimited {
            what: "requests",
            limit: u64::from(limit),
            retry_after_secs: secs(retry_after_ms),
        },
        Refusal::Tokens { limit, retry_after_ms } => {
            ProxyError::RateLimited { what: "tokens", limit, retry_after_secs: secs(retry_after_ms) }
        }
        Refusal::Budget { spent, reserved, usd, period, resets_at_ms } => {
            let mut resets = match resets_at_ms {
                Some(ms) => format!("; it resets at {}", aigw_core::clock::rfc3339_ms(ms)),
                None => String::new(),
            };
            if reserved > 0.0 {
                resets.push_str(&format!(" (${reserved:.6} is held by requests in flight)"));
            }
            ProxyError::BudgetExhausted { spent, usd, period: period.as_str(), resets }
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const KEY: &str = "aigw_vk_0123456789abcdef_abababababababababababababababababababababababab";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn keys_are_taken_from_every_carrier_and_removed() {
        for (name, value) in [
            ("authorization", format!("Bearer {KEY}")),
            ("x-api-key", KEY.to_string()),
            ("x-goog-api-key", KEY.to_string()),
            ("api-key", KEY.to_string()),
            ("cf-aig-authorization", format!("Bearer {KEY}")),
            ("cf-aig-authorization", KEY.to_string()),
        ] {
            let mut h = headers(&[(name, &value), ("anthropic-version", "2023-06-01")]);
            assert_eq!(take_key(&mut h).unwrap().as_deref(), Some(KEY), "{name}");
            assert!(!h.contains_key(name), "{name} must be removed");
            assert!(h.contains_key("anthropic-version"));
        }
    }

    #[test]
    fn provider_keys_stay_and_conflicting_keys_are_refused() {
        let mut h = headers(&[("authorization", "Bearer sk-own"), ("cf-aig-authorization", &format!("Bearer {KEY}"))]);
        assert_eq!(take_key(&mut h).unwrap().as_deref(), Some(KEY));
        assert_eq!(h.get("authorization").unwrap(), "Bearer sk-own");
        let mut h = headers(&[("authorization", "Bearer sk-own")]);
        assert_eq!(take_key(&mut h).unwrap(), None);
        assert!(h.contains_key("authorization"));
        let other = KEY.replace("0123", "9999");
        let mut h = headers(&[("authorization", &format!("Bearer {KEY}")), ("x-api-key", &other)]);
        assert!(matches!(take_key(&mut h), Err(ProxyError::KeyInvalid)));
        // Malformed keys are still keys: taken (and later refused), never forwarded.
        let mut h = headers(&[("x-api-key", "aigw_vk_nope")]);
        assert_eq!(take_key(&mut h).unwrap().as_deref(), Some("aigw_vk_nope"));
        assert!(!h.contains_key("x-api-key"));
    }

    #[test]
    fn refusals_carry_their_retry_time_and_reset() {
        let e = refusal(Refusal::Requests { limit: 3, retry_after_ms: 1_001 });
        assert_eq!(e.status(), 429);
        assert_eq!(e.retry_after_secs(), Some(2));
        let e = refusal(Refusal::Budget {
            spent: 0.5,
            reserved: 0.0,
            usd: 0.5,
            period: aigw_core::period::BudgetPeriod::Day,
            resets_at_ms: Some(0),
        });
        assert_eq!(e.status(), 429);
        assert_eq!(e.should_retry(), Some(false));
        let text = e.to_string();
        assert!(
            text.contains("budget exhausted") && text.contains("$0.5 day budget") && text.contains("1970-01-01"),
            "{text}"
        );
    }
}
