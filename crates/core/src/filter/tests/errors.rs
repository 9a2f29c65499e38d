//! Every refusal of a filter: its path and what its message names.

use super::*;

#[test]
fn grouped_value_shortage_names_filters_value() {
    let e = list_err(
        "filters.key=model&filters.key=success&filters.operator=eq&filters.operator=eq\
         &filters.value=gpt-4",
    );
    assert_err(&e, &["query", "filters", "value"], &["filters.value", "2 times", "once"]);
}

#[test]
fn missing_operator() {
    let e = list_err("filters.key=model&filters.value=a");
    assert_err(&e, &["query", "filters", "0", "operator"], &["model", "operator"]);
    // Grouped: two keys, one operator.
    let e = list_err("filters.key=model&filters.key=cost&filters.operator=eq&filters.value=a&filters.value=1");
    assert_err(&e, &["query", "filters", "1", "operator"], &["cost"]);
    // Interleaved: the second filter has none.
    let e = list_err("filters.key=model&filters.operator=eq&filters.value=a&filters.key=cost&filters.value=1");
    assert_err(&e, &["query", "filters", "1", "operator"], &["cost"]);
    let e = list_err("filters.key=a&filters.key=b&filters.operator=eq&filters.operator=eq&filters.operator=eq&filters.value=1&filters.value=2");
    assert_eq!(e.path, ["query", "filters", "2", "key"]);
}

#[test]
fn filter_without_values_or_key() {
    let e = list_err("filters.key=model&filters.operator=eq");
    assert_err(&e, &["query", "filters", "0", "value"], &["model", "value"]);
    let e = list_err("filters.key=model&filters.operator=eq&filters.key=cost&filters.operator=gt&filters.value=1");
    assert_err(&e, &["query", "filters", "0", "value"], &["model"]);
    let e = list_err("filters.operator=eq&filters.value=1");
    assert_eq!(e.path, ["query", "filters", "0", "key"]);
    let e = list_err("filters[0][operator]=eq&filters[0][value]=1");
    assert_eq!(e.path, ["query", "filters", "0", "key"]);
    let e = list_err(r#"filters=[{"key":"model","operator":"eq","value":[]}]"#);
    assert_eq!(e.path, ["query", "filters", "0", "value"]);
}

#[test]
fn unknown_key() {
    let e = list_err("filters.key=colour&filters.operator=eq&filters.value=red");
    assert_err(&e, &["query", "filters", "0", "key"], &["\"colour\"", "created_at"]);
    let e = list_err(
        "filters.key=model&filters.operator=eq&filters.value=a\
         &filters.key=Model&filters.operator=eq&filters.value=b",
    );
    assert_eq!(e.path, ["query", "filters", "1", "key"]);
}

#[test]
fn operators_by_key_type() {
    let cases = [
        ("success", "gt", "true"),
        ("cached", "contains", "true"),
        ("compatibilityMode", "lt", "true"),
        ("model", "lt", "a"),
        ("metadata.value", "gt", "a"),
        ("cost", "contains", "1"),
        ("created_at", "contains", "2025-01-01"),
        ("source_kind", "contains", "virtual"),
    ];
    for (key, op, value) in cases {
        let e = list_err(&format!("filters.key={key}&filters.operator={op}&filters.value={value}"));
        assert_err(&e, &["query", "filters", "0", "operator"], &[key, op]);
    }
    let e = list_err("filters.key=model&filters.operator=like&filters.value=a");
    assert_err(&e, &["query", "filters", "0", "operator"], &["\"like\"", "contains"]);
    let ok = [
        ("success", "neq", "false"),
        ("model", "contains", "gpt"),
        ("metadata.key", "neq", "team"),
        ("cost", "lt", "1"),
        ("tokens", "gt", "100"),
        ("created_at", "lt", "2025-01-01T00:00:00Z"),
        ("source_kind", "eq", "playground"),
        ("score", "gt", "50"),
    ];
    for (key, op, value) in ok {
        let q = list(&format!("filters.key={key}&filters.operator={op}&filters.value={value}"));
        assert_eq!(q.filters[0].key.as_str(), key);
        assert_eq!(q.filters[0].op.as_str(), op);
    }
}

#[test]
fn values_by_key_type() {
    let bad = [
        ("success", "eq", "maybe", "boolean"),
        ("cost", "gt", "abc", "number"),
        ("duration", "lt", "NaN", "number"),
        ("created_at", "lt", "2025-13-01", "date-time"),
        ("created_at", "gt", "yesterday", "date-time"),
        ("source_kind", "eq", "robot", "virtual_key"),
        ("cost", "gt", "null", "null"),
        ("model", "contains", "null", "null"),
    ];
    for (key, op, value, what) in bad {
        let e = list_err(&format!("filters.key={key}&filters.operator={op}&filters.value={value}"));
        assert_err(&e, &["query", "filters", "0", "value"], &[key, value, what]);
    }
    let q = list(
        "filters.key=cached&filters.operator=eq&filters.value=1&filters.value=FALSE\
         &filters.key=created_at&filters.operator=gt&filters.value=2025-01-01T01:00:00.250%2B01:00\
         &filters.key=feedback&filters.operator=eq&filters.value=-1\
         &filters.key=event_id&filters.operator=eq&filters.value=null&filters.value=\
         &filters.key=id&filters.operator=eq&filters.value=123",
    );
    assert_eq!(
        q.filters,
        vec![
            filter(FilterKey::Cached, Op::Eq, vec![FilterValue::Bool(true), FilterValue::Bool(false)]),
            filter(FilterKey::CreatedAt, Op::Gt, vec![FilterValue::Time(MIDNIGHT_2025 + 250)]),
            filter(FilterKey::Feedback, Op::Eq, vec![FilterValue::Number(-1.0)]),
            filter(FilterKey::EventId, Op::Eq, vec![FilterValue::Null, FilterValue::Null]),
            filter(FilterKey::Id, Op::Eq, vec![text("123")]),
        ]
    );
}

#[test]
fn unknown_filters_sub_keys_and_malformed_forms() {
    for raw in [
        "filters.foo=1",
        "filters.keys=model",
        "filters[0][foo]=1",
        "filters[0][value][x]=1",
        "filters[a][key]=model",
        "filters.value.x=1",
        "filters[0]=model",
    ] {
        let e = list_err(raw);
        assert_eq!(e.path[..2], ["query", "filters"], "{raw}: {e:?}");
        assert!(e.message.contains("filters"), "{raw}: {e:?}");
    }
    assert_err(&list_err("filters.foo=1"), &["query", "filters", "foo"], &["\"filters.foo\""]);
    assert_err(&list_err("filters[0=1"), &["query", "filters"], &["malformed"]);
    assert_err(&list_err("filters=%7Bnope"), &["query", "filters"], &["JSON"]);
    assert_err(
        &list_err(r#"filters=[{"key":"model","operator":"eq","value":["a"],"extra":1}]"#),
        &["query", "filters", "0", "extra"],
        &["extra"],
    );
    assert_err(
        &list_err("filters.key=model&filters.operator=eq&filters.value=a&filters[0][key]=model"),
        &["query", "filters"],
        &["more than one form"],
    );
    assert_err(
        &list_err("filters[0][key]=model&filters[0][key]=cost"),
        &["query", "filters", "0", "key"],
        &["more than once"],
    );
    // Other parameters that merely start with "filters" are not filters.
    assert!(list("filtersx=1&filters_extra=2").filters.is_empty());
}

#[test]
fn too_many_filters_or_values() {
    let many: String = (0..=MAX_FILTERS).map(|_| "filters.key=model&filters.operator=eq&filters.value=a&").collect();
    assert_eq!(list_err(&many).path, ["query", "filters"]);
    let values: String = (0..=MAX_FILTER_VALUES).map(|i| format!("&filters.value={i}")).collect();
    let e = list_err(&format!("filters.key=model&filters.operator=eq{values}"));
    assert_eq!(e.path, ["query", "filters", "value"]);
}
