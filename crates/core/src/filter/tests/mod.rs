//! The query parser against the wire forms the SDKs send (CLOUDFLARE-CONTRACT.md 0.3, 1.1, 1.6).

use super::*;

mod errors;
mod forms;
mod params;

const MIDNIGHT_2025: i64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z

fn list(raw: &str) -> LogQuery {
    match parse_list(&parse_query_string(raw)) {
        Ok(q) => q,
        Err(e) => panic!("{raw}: {e:?}"),
    }
}

fn list_err(raw: &str) -> InvalidQuery {
    match parse_list(&parse_query_string(raw)) {
        Ok(q) => panic!("{raw}: expected an error, got {q:?}"),
        Err(e) => e,
    }
}

fn delete(raw: &str) -> LogDeleteQuery {
    match parse_delete(&parse_query_string(raw)) {
        Ok(q) => q,
        Err(e) => panic!("{raw}: {e:?}"),
    }
}

fn delete_err(raw: &str) -> InvalidQuery {
    match parse_delete(&parse_query_string(raw)) {
        Ok(q) => panic!("{raw}: expected an error, got {q:?}"),
        Err(e) => e,
    }
}

/// Asserts the error's path and that its message mentions each of `mentions`.
fn assert_err(e: &InvalidQuery, path: &[&str], mentions: &[&str]) {
    assert_eq!(e.path, path, "{e:?}");
    for m in mentions {
        assert!(e.message.contains(m), "{:?} does not mention {m:?}", e.message);
    }
}

fn text(s: &str) -> FilterValue {
    FilterValue::Text(s.to_string())
}

fn filter(key: FilterKey, op: Op, values: Vec<FilterValue>) -> Filter {
    Filter { key, op, values }
}

/// The three filters of the contract's SDK examples.
fn example_filters() -> Vec<Filter> {
    vec![
        filter(FilterKey::Model, Op::Eq, vec![text("gpt-4"), text("gpt-4o")]),
        filter(FilterKey::Success, Op::Eq, vec![FilterValue::Bool(true)]),
        filter(FilterKey::Cost, Op::Gt, vec![FilterValue::Number(0.5)]),
    ]
}
