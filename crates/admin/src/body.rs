//! Reading request bodies and query strings for the users, keys and usage endpoints: JSON
//! objects with known fields only, typed fields, pages. Errors are 7001 with the field's path.

use serde_json::{Map, Value};

use crate::envelope::ApiError;

/// `["body", field...]`.
pub(crate) fn at(parts: &[&str]) -> Vec<Value> {
    std::iter::once("body").chain(parts.iter().copied()).map(Value::from).collect()
}

/// The body as a JSON object whose members are all in `known`.
pub(crate) fn object(body: &[u8], known: &[&str]) -> Result<Map<String, Value>, ApiError> {
    let object = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(ApiError::invalid(at(&[]), "the body must be a JSON object")),
        Err(e) => return Err(ApiError::invalid(at(&[]), format!("the body is not valid JSON: {e}"))),
    };
    if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            at(&[unknown]),
            format!("unknown field {unknown:?}; known fields: {}", known.join(", ")),
        ));
    }
    Ok(object)
}

/// A string member, trimmed; `None` when absent. `max` bounds its length in characters.
pub(crate) fn string(o: &Map<String, Value>, field: &str, max: usize) -> Result<Option<String>, ApiError> {
    match o.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() || s.chars().count() > max {
                return Err(ApiError::invalid(at(&[field]), format!("{field} must be 1 to {max} characters")));
            }
            Ok(Some(s.to_string()))
        }
        Some(_) => Err(ApiError::invalid(at(&[field]), format!("{field} must be a string"))),
    }
}

/// A plausible email address: `local@domain`, at most 254 characters, no spaces.
pub(crate) fn email(o: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    let Some(e) = string(o, field, 254)? else { return Ok(None) };
    let valid = e
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
        && !e.chars().any(char::is_whitespace);
    if !valid {
        return Err(ApiError::invalid(at(&[field]), format!("{field} must be an email address")));
    }
    Ok(Some(e))
}

/// A query string's pairs in order.
pub(crate) type Params = Vec<(String, String)>;

/// `page` and `per_page` of a query string (defaults 1 and 20, `per_page` at most `max`), and
/// every pair of it.
pub(crate) fn page(query: Option<&str>, max: u32) -> Result<(u32, u32, Params), ApiError> {
    let params = aigw_core::filter::parse_query_string(query.unwrap_or(""));
    let get = |k: &str| params.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let number = |name: &str, default: u32, max: u32| -> Result<u32, ApiError> {
        let Some(v) = get(name) else { return Ok(default) };
        match v.parse::<u32>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(
                vec![Value::from("query"), Value::from(name)],
                format!("{name} must be an integer from 1 to {max}, got {v:?}"),
            )),
        }
    };
    Ok((number("page", 1, u32::MAX)?, number("per_page", 20, max)?, params))
}
