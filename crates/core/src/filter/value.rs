//! Typing of wire values: strings become booleans, numbers, instants or text by key.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::key::{FilterKey, ValueKind};
use super::model::{FilterValue, Op};

/// Types one raw filter value for `key` under `op`. `None` is a JSON `null`. The error is a
/// sentence fragment that the caller prefixes with where the value came from.
pub(crate) fn typed(key: FilterKey, op: Op, raw: Option<&str>) -> Result<FilterValue, String> {
    let raw = match raw {
        Some(s) if !is_null(s) => s,
        _ => {
            return if matches!(op, Op::Eq | Op::Neq) {
                Ok(FilterValue::Null)
            } else {
                Err(format!("null can only be compared with eq or neq, not {}", op.as_str()))
            };
        }
    };
    match key.value_kind() {
        ValueKind::Bool => parse_bool(raw)
            .map(FilterValue::Bool)
            .ok_or_else(|| format!("{} is not a boolean (true or false)", show(raw))),
        ValueKind::Number => {
            parse_number(raw).map(FilterValue::Number).ok_or_else(|| format!("{} is not a number", show(raw)))
        }
        ValueKind::Time => parse_time(raw).map(FilterValue::Time).ok_or_else(|| {
            format!("{} is not a date-time (RFC 3339 like 2025-01-01T00:00:00Z, or a date like 2025-01-01)", show(raw))
        }),
        ValueKind::Text => match key.allowed_values() {
            Some(allowed) if !allowed.contains(&raw) => {
                Err(format!("{} is not one of {}", show(raw), allowed.join(", ")))
            }
            _ => Ok(FilterValue::Text(raw.to_string())),
        },
    }
}

/// `null` (any case) and the empty string are null: the TS SDK's `qs` sends a `null` array
/// item as an empty value, and the Python SDK cannot send an empty string at all.
fn is_null(s: &str) -> bool {
    s.is_empty() || s.eq_ignore_ascii_case("null")
}

/// `true`/`false` in any case, and `1`/`0`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") || s == "1" {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") || s == "0" {
        Some(false)
    } else {
        None
    }
}

/// A finite decimal number; `inf` and `NaN` are refused.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim();
    // Rust also reads "inf", "infinity" and "nan"; only digits, signs, dots and exponents here.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')) {
        return None;
    }
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// An instant as milliseconds since the Unix epoch.
///
/// Accepts RFC 3339 with `Z` or an offset and optional fractional seconds; a date-time with no
/// offset (Python's `isoformat()` of a naive `datetime`), read as UTC; and a bare date
/// `2025-01-01`, read as midnight UTC. A `+` in an offset that arrived unencoded decodes to a
/// space (`...00:00:00 01:00`); that space is read as the `+` it was.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    parse_time_exact(s).or_else(|| {
        // "2025-01-01T00:00:00 00:00": an unencoded '+' turned into a space.
        let at = s.rfind(' ')?;
        let fixed = format!("{}+{}", &s[..at], &s[at + 1..]);
        parse_time_exact(&fixed)
    })
}

fn parse_time_exact(s: &str) -> Option<i64> {
    let at = if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        t
    } else if let Ok(t) = PrimitiveDateTime::parse(
        s,
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"),
    ) {
        t.assume_utc()
    } else if let Ok(d) = Date::parse(s, format_description!("[year]-[month]-[day]")) {
        d.midnight().assume_utc()
    } else {
        return None;
    };
    i64::try_from(at.unix_timestamp_nanos().div_euclid(1_000_000)).ok()
}

/// A wire value quoted for an error message, cut to 64 characters.
pub(crate) fn show(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_accepted_shape() {
        let midnight = 1_735_689_600_000; // 2025-01-01T00:00:00Z
        assert_eq!(parse_time("2025-01-01T00:00:00Z"), Some(midnight));
        assert_eq!(parse_time("2025-01-01T00:00:00+00:00"), Some(midnight));
        assert_eq!(parse_time("2025-01-01T01:00:00+01:00"), Some(midnight));
        assert_eq!(parse_time("2025-01-01T01:00:00 01:00"), Some(midnight));
        assert_eq!(parse_time("2025-01-01"), Some(midnight));
        assert_eq!(parse_time("2025-01-01T00:00:00"), Some(midnight));
        assert_eq!(parse_time("2025-01-01T00:00:00.123456Z"), Some(midnight + 123));
        assert_eq!(parse_time("2025-01-01T00:00:00.5"), Some(midnight + 500));
        assert_eq!(parse_time("1969-12-31T23:59:59.9995Z"), Some(-1));
        for bad in ["2025-13-01", "2025-01-01T25:00:00Z", "yesterday", "1735689600000", ""] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_are_finite_decimals() {
        assert_eq!(parse_number("0.5"), Some(0.5));
        assert_eq!(parse_number("-1"), Some(-1.0));
        assert_eq!(parse_number("1e3"), Some(1000.0));
        for bad in ["inf", "NaN", "infinity", "1e999", "abc", "", "0x10"] {
            assert_eq!(parse_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn null_is_eq_or_neq_only() {
        assert_eq!(typed(FilterKey::Model, Op::Eq, Some("null")), Ok(FilterValue::Null));
        assert_eq!(typed(FilterKey::Cost, Op::Neq, None), Ok(FilterValue::Null));
        assert_eq!(typed(FilterKey::Model, Op::Eq, Some("")), Ok(FilterValue::Null));
        assert!(typed(FilterKey::Cost, Op::Gt, Some("null")).is_err());
        assert!(typed(FilterKey::Model, Op::Contains, Some("")).is_err());
    }

    #[test]
    fn long_values_are_cut_in_messages() {
        let long = "x".repeat(100);
        assert_eq!(show(&long), format!("\"{}\"...", "x".repeat(64)));
        assert_eq!(show("a\"b"), "\"a\\\"b\"");
    }
}
