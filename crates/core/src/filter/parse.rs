//! The top-level parameters of the logs list and delete queries, and the deprecated flat filters.

use std::collections::HashMap;

use super::key::FilterKey;
use super::model::{Direction, Filter, FilterValue, LogDeleteQuery, LogQuery, Op, OrderBy};
use super::value::{parse_bool, parse_number, parse_time, show};
use super::{wire, InvalidQuery, DEFAULT_PER_PAGE, MAX_DELETE_LIMIT, MAX_PER_PAGE, MAX_SEARCH_CHARS};

/// Decodes an `application/x-www-form-urlencoded` query string (`+` is a space, `%XX` a byte,
/// invalid UTF-8 replaced) into its pairs, in order. A leading `?` is skipped; a name without
/// `=` has an empty value.
pub fn parse_query_string(raw: &str) -> Vec<(String, String)> {
    let raw = raw.strip_prefix('?').unwrap_or(raw);
    form_urlencoded::parse(raw.as_bytes()).into_owned().collect()
}

/// Parses the query of `GET .../logs` from its decoded pairs in wire order.
pub fn parse_list(pairs: &[(String, String)]) -> Result<LogQuery, InvalidQuery> {
    let p = Params::new(pairs);
    let page = p.integer("page", 1, u32::MAX)?.unwrap_or(1);
    let per_page = p.integer("per_page", 1, MAX_PER_PAGE)?.unwrap_or(DEFAULT_PER_PAGE);
    let order_by = p.order_by(true)?;
    let direction = p.direction()?;
    let meta_info = match p.get("meta_info") {
        None => false,
        Some(v) => parse_bool(v).ok_or_else(|| {
            InvalidQuery::param("meta_info", format!("meta_info must be true or false, got {}", show(v)))
        })?,
    };
    let search = match p.get("search").map(str::trim) {
        None | Some("") => None,
        Some(s) if s.chars().count() > MAX_SEARCH_CHARS => {
            return Err(InvalidQuery::param(
                "search",
                format!("search must be at most {MAX_SEARCH_CHARS} characters, got {}", s.chars().count()),
            ))
        }
        Some(s) => Some(s.to_string()),
    };
    let mut filters = wire::parse_filters(pairs)?;
    filters.extend(p.deprecated_filters()?);
    Ok(LogQuery { filters, search, order_by, direction, page, per_page, meta_info })
}

/// Parses the query of `DELETE .../logs` from its decoded pairs in wire order.
pub fn parse_delete(pairs: &[(String, String)]) -> Result<LogDeleteQuery, InvalidQuery> {
    let p = Params::new(pairs);
    if p.get("search").is_some_and(|s| !s.trim().is_empty()) {
        return Err(InvalidQuery::param(
            "search",
            "search is not supported when deleting logs; narrow the delete with filters",
        ));
    }
    let limit = p.integer("limit", 1, MAX_DELETE_LIMIT)?.unwrap_or(MAX_DELETE_LIMIT);
    let order_by = p.order_by(false)?;
    let direction = p.direction()?;
    let mut filters = wire::parse_filters(pairs)?;
    filters.extend(p.deprecated_filters()?);
    Ok(LogDeleteQuery { filters, order_by, direction, limit })
}

/// How a deprecated flat parameter becomes a filter.
#[derive(Clone, Copy)]
enum Deprecated {
    /// `key eq <bool>`.
    Bool(FilterKey),
    /// `key eq <text>`, taken literally.
    Text(FilterKey),
    /// `created_at <op> <time>`.
    Time(Op),
    /// `key <op> <number>`.
    Number(FilterKey, Op),
    /// `feedback eq 1` for `1`, `feedback eq -1` for `0`.
    Feedback,
}

/// The deprecated flat parameters, in the order their filters are appended.
const DEPRECATED: [(&str, Deprecated); 20] = [
    ("success", Deprecated::Bool(FilterKey::Success)),
    ("cached", Deprecated::Bool(FilterKey::Cached)),
    ("provider", Deprecated::Text(FilterKey::Provider)),
    ("model", Deprecated::Text(FilterKey::Model)),
    ("model_type", Deprecated::Text(FilterKey::ModelType)),
    ("request_content_type", Deprecated::Text(FilterKey::RequestContentType)),
    ("response_content_type", Deprecated::Text(FilterKey::ResponseContentType)),
    ("start_date", Deprecated::Time(Op::Ge)),
    ("end_date", Deprecated::Time(Op::Le)),
    ("min_cost", Deprecated::Number(FilterKey::Cost, Op::Ge)),
    ("max_cost", Deprecated::Number(FilterKey::Cost, Op::Le)),
    ("min_tokens_in", Deprecated::Number(FilterKey::TokensIn, Op::Ge)),
    ("max_tokens_in", Deprecated::Number(FilterKey::TokensIn, Op::Le)),
    ("min_tokens_out", Deprecated::Number(FilterKey::TokensOut, Op::Ge)),
    ("max_tokens_out", Deprecated::Number(FilterKey::TokensOut, Op::Le)),
    ("min_total_tokens", Deprecated::Number(FilterKey::Tokens, Op::Ge)),
    ("max_total_tokens", Deprecated::Number(FilterKey::Tokens, Op::Le)),
    ("min_duration", Deprecated::Number(FilterKey::Duration, Op::Ge)),
    ("max_duration", Deprecated::Number(FilterKey::Duration, Op::Le)),
    ("feedback", Deprecated::Feedback),
];

/// The top-level parameters: for each name, the last non-empty value.
struct Params<'a> {
    last: HashMap<&'a str, &'a str>,
}

impl<'a> Params<'a> {
    fn new(pairs: &'a [(String, String)]) -> Self {
        let last = pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Params { last }
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        self.last.get(name).copied()
    }

    /// An integer in `min..=max`; integral floats such as `25.0` are accepted.
    fn integer(&self, name: &str, min: u32, max: u32) -> Result<Option<u32>, InvalidQuery> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let range = if max == u32::MAX {
            format!("an integer of at least {min}")
        } else {
            format!("an integer from {min} to {max}")
        };
        // Without an upper bound (page), a huge number is just far past the end: saturate.
        let unbounded = max == u32::MAX;
        let n = parse_number(raw)
            .filter(|n| n.fract() == 0.0 && *n >= f64::from(min) && (unbounded || *n <= f64::from(max)))
            .ok_or_else(|| InvalidQuery::param(name, format!("{name} must be {range}, got {}", show(raw))))?;
        // Integral and clamped into range, so the cast is exact.
        Ok(Some(n.min(f64::from(max)) as u32))
    }

    fn order_by(&self, list: bool) -> Result<OrderBy, InvalidQuery> {
        let Some(raw) = self.get("order_by") else {
            return Ok(OrderBy::default());
        };
        match OrderBy::from_wire(raw) {
            Some(o) if !list || o.on_list() => Ok(o),
            _ => {
                let allowed: Vec<&str> =
                    OrderBy::ALL.iter().filter(|o| !list || o.on_list()).map(|o| o.as_str()).collect();
                Err(InvalidQuery::param(
                    "order_by",
                    format!("order_by must be one of {}, got {}", allowed.join(", "), show(raw)),
                ))
            }
        }
    }

    /// `order_by_direction`, else the legacy `direction`, else descending. Both are checked.
    fn direction(&self) -> Result<Direction, InvalidQuery> {
        let mut out = None;
        for name in ["direction", "order_by_direction"] {
            if let Some(raw) = self.get(name) {
                let d = Direction::from_wire(raw).ok_or_else(|| {
                    InvalidQuery::param(name, format!("{name} must be asc or desc, got {}", show(raw)))
                })?;
                out = Some(d);
            }
        }
        Ok(out.unwrap_or_default())
    }

    fn deprecated_filters(&self) -> Result<Vec<Filter>, InvalidQuery> {
        let mut out = Vec::new();
        for (name, how) in DEPRECATED {
            let Some(raw) = self.get(name) else {
                continue;
            };
            let bad = |what: &str| InvalidQuery::param(name, format!("{name} must be {what}, got {}", show(raw)));
            let (key, op, value) = match how {
                Deprecated::Bool(key) => {
                    let b = parse_bool(raw).ok_or_else(|| bad("true or false"))?;
                    (key, Op::Eq, FilterValue::Bool(b))
                }
                Deprecated::Text(key) => (key, Op::Eq, FilterValue::Text(raw.to_string())),
                Deprecated::Time(op) => {
                    let t = parse_time(raw).ok_or_else(|| bad("a date-time (RFC 3339) or a date (2025-01-01)"))?;
                    (FilterKey::CreatedAt, op, FilterValue::Time(t))
                }
                Deprecated::Number(key, op) => {
                    let n = parse_number(raw).ok_or_else(|| bad("a number"))?;
                    (key, op, FilterValue::Number(n))
                }
                Deprecated::Feedback => {
                    let n = match parse_number(raw) {
                        Some(1.0) => 1.0,
                        Some(0.0 | -1.0) => -1.0,
                        _ => return Err(bad("0 (thumbs down) or 1 (thumbs up)")),
                    };
                    (FilterKey::Feedback, Op::Eq, FilterValue::Number(n))
                }
            };
            out.push(Filter { key, op, values: vec![value] });
        }
        Ok(out)
    }
}
