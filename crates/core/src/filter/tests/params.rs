//! The top-level parameters: paging, ordering, search, deprecated filters, delete.

use super::*;

#[test]
fn list_defaults() {
    assert_eq!(list(""), LogQuery::default());
    let q = list("?unknown=1&page=&api-version=2026-11-22");
    assert_eq!(q, LogQuery::default());
    assert_eq!(q.page, 1);
    assert_eq!(q.per_page, 20);
    assert_eq!(q.order_by, OrderBy::CreatedAt);
    assert_eq!(q.direction, Direction::Desc);
    assert!(!q.meta_info && q.search.is_none() && q.filters.is_empty());
}

#[test]
fn paging() {
    let q = list("page=3&per_page=25.0");
    assert_eq!((q.page, q.per_page, q.offset()), (3, 25, 50));
    assert_eq!(list("per_page=50").per_page, 50);
    assert_eq!(list("per_page=1").per_page, 1);
    // A page far past the end is an empty page, not an error: the SDK iterates until empty.
    assert_eq!(list("page=99999999999").page, u32::MAX);
    for (raw, param, value) in [
        ("per_page=0", "per_page", "\"0\""),
        ("per_page=51", "per_page", "\"51\""),
        ("per_page=abc", "per_page", "\"abc\""),
        ("per_page=25.5", "per_page", "\"25.5\""),
        ("page=0", "page", "\"0\""),
        ("page=-1", "page", "\"-1\""),
        ("page=abc", "page", "\"abc\""),
    ] {
        assert_err(&list_err(raw), &["query", param], &[param, value]);
    }
}

#[test]
fn ordering_and_direction() {
    let q = list("order_by=model&direction=asc");
    assert_eq!((q.order_by, q.direction), (OrderBy::Model, Direction::Asc));
    let q = list("direction=asc&order_by_direction=desc");
    assert_eq!(q.direction, Direction::Desc);
    let q = list("order_by_direction=asc&direction=desc");
    assert_eq!(q.direction, Direction::Asc);
    assert_err(&list_err("order_by=cost"), &["query", "order_by"], &["\"cost\"", "cached"]);
    assert_err(&list_err("order_by_direction=up"), &["query", "order_by_direction"], &["\"up\""]);
    assert_err(&list_err("direction=down&order_by_direction=asc"), &["query", "direction"], &["\"down\""]);
    for o in OrderBy::ALL {
        let d = delete(&format!("order_by={}", o.as_str()));
        assert_eq!(d.order_by, o);
    }
    assert_err(&delete_err("order_by=path"), &["query", "order_by"], &["\"path\"", "feedback"]);
}

#[test]
fn meta_info_and_search() {
    assert!(list("meta_info=true").meta_info);
    assert!(!list("meta_info=false").meta_info);
    assert_err(&list_err("meta_info=yes"), &["query", "meta_info"], &["\"yes\""]);
    assert_eq!(list("search=+%20gpt-4o+mini%20").search.as_deref(), Some("gpt-4o mini"));
    assert_eq!(list("search=+++").search, None);
    let max = "é".repeat(MAX_SEARCH_CHARS);
    assert_eq!(list(&format!("search={max}")).search, Some(max));
    let long = "a".repeat(MAX_SEARCH_CHARS + 1);
    assert_err(&list_err(&format!("search={long}")), &["query", "search"], &["256", "257"]);
}

#[test]
fn deprecated_flat_parameters() {
    let q = list(
        "feedback=0&max_duration=900&min_duration=10&max_total_tokens=5800\
         &min_total_tokens=1&max_tokens_out=800&min_tokens_out=0&max_tokens_in=5000\
         &min_tokens_in=1&max_cost=0.12&min_cost=0&end_date=2025-01-02&start_date=2025-01-01\
         &response_content_type=text/event-stream&request_content_type=application/json\
         &model_type=chat&model=gpt-4o&provider=openai&cached=0&success=true",
    );
    let num = |key, op, n| filter(key, op, vec![FilterValue::Number(n)]);
    let day = 86_400_000;
    assert_eq!(
        q.filters,
        vec![
            filter(FilterKey::Success, Op::Eq, vec![FilterValue::Bool(true)]),
            filter(FilterKey::Cached, Op::Eq, vec![FilterValue::Bool(false)]),
            filter(FilterKey::Provider, Op::Eq, vec![text("openai")]),
            filter(FilterKey::Model, Op::Eq, vec![text("gpt-4o")]),
            filter(FilterKey::ModelType, Op::Eq, vec![text("chat")]),
            filter(FilterKey::RequestContentType, Op::Eq, vec![text("application/json")]),
            filter(FilterKey::ResponseContentType, Op::Eq, vec![text("text/event-stream")]),
            filter(FilterKey::CreatedAt, Op::Ge, vec![FilterValue::Time(MIDNIGHT_2025)]),
            filter(FilterKey::CreatedAt, Op::Le, vec![FilterValue::Time(MIDNIGHT_2025 + day)]),
            num(FilterKey::Cost, Op::Ge, 0.0),
            num(FilterKey::Cost, Op::Le, 0.12),
            num(FilterKey::TokensIn, Op::Ge, 1.0),
            num(FilterKey::TokensIn, Op::Le, 5000.0),
            num(FilterKey::TokensOut, Op::Ge, 0.0),
            num(FilterKey::TokensOut, Op::Le, 800.0),
            num(FilterKey::Tokens, Op::Ge, 1.0),
            num(FilterKey::Tokens, Op::Le, 5800.0),
            num(FilterKey::Duration, Op::Ge, 10.0),
            num(FilterKey::Duration, Op::Le, 900.0),
            num(FilterKey::Feedback, Op::Eq, -1.0),
        ]
    );
    assert_eq!(list("feedback=1").filters, vec![num(FilterKey::Feedback, Op::Eq, 1.0)]);
    // Repeated: the last wins. Unencoded '+' in an offset still reads.
    assert_eq!(
        list("model=a&model=b&end_date=2025-01-01T01:00:00+01:00").filters,
        vec![
            filter(FilterKey::Model, Op::Eq, vec![text("b")]),
            filter(FilterKey::CreatedAt, Op::Le, vec![FilterValue::Time(MIDNIGHT_2025)]),
        ]
    );
    for (raw, param, value) in [
        ("feedback=2", "feedback", "\"2\""),
        ("success=yes", "success", "\"yes\""),
        ("min_cost=cheap", "min_cost", "\"cheap\""),
        ("start_date=2025-02-30", "start_date", "\"2025-02-30\""),
    ] {
        assert_err(&list_err(raw), &["query", param], &[param, value]);
    }
}

#[test]
fn delete_example_from_the_contract() {
    let d = delete(
        "filters.key=created_at&filters.operator=lt&filters.value=2025-01-01T00%3A00%3A00Z\
         &limit=100&order_by=created_at&order_by_direction=asc",
    );
    assert_eq!(
        d,
        LogDeleteQuery {
            filters: vec![filter(FilterKey::CreatedAt, Op::Lt, vec![FilterValue::Time(MIDNIGHT_2025)])],
            order_by: OrderBy::CreatedAt,
            direction: Direction::Asc,
            limit: 100,
        }
    );
}

#[test]
fn delete_defaults_and_limits() {
    assert_eq!(delete(""), LogDeleteQuery::default());
    assert_eq!(delete("").limit, 10_000);
    assert_eq!(delete("").direction, Direction::Desc);
    assert_eq!(delete("limit=10000").limit, 10_000);
    assert_eq!(delete("limit=1&page=3&per_page=abc&search=").limit, 1);
    for raw in ["limit=0", "limit=10001", "limit=many"] {
        assert_err(&delete_err(raw), &["query", "limit"], &["limit"]);
    }
    assert_err(&delete_err("search=gpt"), &["query", "search"], &["search"]);
    // Deprecated flat filters narrow a delete too.
    assert_eq!(delete("model=gpt-4").filters, vec![filter(FilterKey::Model, Op::Eq, vec![text("gpt-4")])]);
}

#[test]
fn query_string_decoding() {
    assert_eq!(
        parse_query_string("?b=1+2&a=%2B%3A&b=x%20y&flag&=v&c=%E2%9C%93"),
        vec![
            ("b".to_string(), "1 2".to_string()),
            ("a".to_string(), "+:".to_string()),
            ("b".to_string(), "x y".to_string()),
            ("flag".to_string(), String::new()),
            (String::new(), "v".to_string()),
            ("c".to_string(), "✓".to_string()),
        ]
    );
    assert!(parse_query_string("").is_empty());
}

#[test]
fn error_path_as_json() {
    let e = list_err("filters.key=model&filters.operator=gt&filters.value=a");
    assert_eq!(e.path_json(), serde_json::json!(["query", "filters", 0, "operator"]));
    assert_eq!(list_err("per_page=0").path_json(), serde_json::json!(["query", "per_page"]));
    assert_eq!(e.to_string(), e.message);
}

#[test]
fn keys_round_trip_their_wire_names() {
    for k in FilterKey::ALL {
        assert_eq!(FilterKey::from_wire(k.as_str()), Some(k));
        assert!(!k.operators().is_empty());
    }
    assert_eq!(FilterKey::ALL.iter().filter(|k| k.is_extension()).count(), 8);
    assert_eq!(Op::from_wire("ge"), None);
    assert_eq!(Op::from_wire("le"), None);
}
