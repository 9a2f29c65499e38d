//! Every wire form of `filters`, and the split of the grouped form's values.

use super::*;

#[test]
fn python_grouped_example_from_the_contract() {
    let q = list(
        "feedback=1\
         &filters.key=model&filters.key=success&filters.key=cost\
         &filters.operator=eq&filters.operator=eq&filters.operator=gt\
         &filters.value=gpt-4&filters.value=gpt-4o&filters.value=true&filters.value=0.5\
         &meta_info=true&order_by=created_at&order_by_direction=desc&per_page=1\
         &search=hello+world&start_date=2025-01-01T00%3A00%3A00%2B00%3A00&success=false",
    );
    let mut want = example_filters();
    want.extend([
        filter(FilterKey::Success, Op::Eq, vec![FilterValue::Bool(false)]),
        filter(FilterKey::CreatedAt, Op::Ge, vec![FilterValue::Time(MIDNIGHT_2025)]),
        filter(FilterKey::Feedback, Op::Eq, vec![FilterValue::Number(1.0)]),
    ]);
    assert_eq!(
        q,
        LogQuery {
            filters: want,
            search: Some("hello world".into()),
            order_by: OrderBy::CreatedAt,
            direction: Direction::Desc,
            page: 1,
            per_page: 1,
            meta_info: true,
        }
    );
}

#[test]
fn ts_interleaved_example_from_the_contract() {
    let q = list(
        "filters.key=model&filters.operator=eq&filters.value=gpt-4&filters.value=gpt-4o\
         &filters.key=success&filters.operator=eq&filters.value=true\
         &filters.key=cost&filters.operator=gt&filters.value=0.5",
    );
    assert_eq!(q.filters, example_filters());
}

#[test]
fn interleaved_objects_may_order_their_fields_any_way() {
    let q = list(
        "filters.operator=eq&filters.key=model&filters.value=gpt-4&filters.value=gpt-4o\
         &filters.operator=eq&filters.key=success&filters.value=true\
         &filters.operator=gt&filters.key=cost&filters.value=0.5",
    );
    assert_eq!(q.filters, example_filters());
    let q = list(
        "filters.value=gpt-4&filters.value=gpt-4o&filters.key=model&filters.operator=eq\
         &filters.value=true&filters.key=success&filters.operator=eq\
         &filters.value=0.5&filters.key=cost&filters.operator=gt",
    );
    assert_eq!(q.filters, example_filters());
}

#[test]
fn json_form() {
    let json = r#"[{"key":"model","operator":"eq","value":["gpt-4","gpt-4o"]},
                   {"key":"success","operator":"eq","value":[true]},
                   {"key":"cost","operator":"gt","value":0.5}]"#;
    let raw: String = form_urlencoded::Serializer::new(String::new()).append_pair("filters", json).finish();
    assert_eq!(list(&raw).filters, example_filters());
    let one = r#"{"key":"event_id","operator":"eq","value":[null]}"#;
    let raw: String = form_urlencoded::Serializer::new(String::new()).append_pair("filters", one).finish();
    assert_eq!(list(&raw).filters, vec![filter(FilterKey::EventId, Op::Eq, vec![FilterValue::Null])]);
    assert!(list("filters=&filters=%5B%5D").filters.is_empty());
}

#[test]
fn bracket_forms() {
    let want = example_filters();
    let indexed = "filters[0][key]=model&filters[0][operator]=eq\
         &filters[0][value][0]=gpt-4&filters[0][value][1]=gpt-4o\
         &filters[1][key]=success&filters[1][operator]=eq&filters[1][value][0]=true\
         &filters[2][key]=cost&filters[2][operator]=gt&filters[2][value][0]=0.5";
    assert_eq!(list(indexed).filters, want);
    let encoded = indexed.replace('[', "%5B").replace(']', "%5D");
    assert_eq!(list(&encoded).filters, want);
    // Repeated `[value]`, `[value][]`, dots, and indices out of wire order.
    let mixed = "filters[2].key=cost&filters[2].operator=gt&filters[2].value=0.5\
         &filters[1][key]=success&filters[1][operator]=eq&filters[1][value][]=true\
         &filters[0][key]=model&filters[0][operator]=eq\
         &filters[0][value]=gpt-4&filters[0][value]=gpt-4o";
    assert_eq!(list(mixed).filters, want);
    // qs's `arrayFormat: 'brackets'` without indices is the interleaved form.
    let brackets = "filters[key]=model&filters[operator]=eq&filters[value][]=gpt-4\
         &filters[value][]=gpt-4o&filters[key]=success&filters[operator]=eq\
         &filters[value][]=true&filters[key]=cost&filters[operator]=gt&filters[value][]=0.5";
    assert_eq!(list(brackets).filters, want);
}

#[test]
fn grouped_values_with_one_filter_or_one_value_each() {
    let q = list("filters.key=model&filters.operator=eq&filters.value=a&filters.value=b");
    assert_eq!(q.filters, vec![filter(FilterKey::Model, Op::Eq, vec![text("a"), text("b")])]);
    let q = list(
        "filters.key=model&filters.key=provider&filters.operator=eq&filters.operator=neq\
         &filters.value=a&filters.value=b",
    );
    assert_eq!(
        q.filters,
        vec![filter(FilterKey::Model, Op::Eq, vec![text("a")]), filter(FilterKey::Provider, Op::Neq, vec![text("b")]),]
    );
}

#[test]
fn grouped_surplus_between_text_filters_goes_to_the_earlier_filter() {
    let q = list(
        "filters.key=model&filters.key=provider&filters.operator=eq&filters.operator=eq\
         &filters.value=gpt-4&filters.value=gpt-4o&filters.value=openai",
    );
    assert_eq!(
        q.filters,
        vec![
            filter(FilterKey::Model, Op::Eq, vec![text("gpt-4"), text("gpt-4o")]),
            filter(FilterKey::Provider, Op::Eq, vec![text("openai")]),
        ]
    );
}

#[test]
fn grouped_split_looks_ahead_so_later_typed_filters_still_fit() {
    // A plain greedy walk would give `model` both "a" and "1" and leave "x" to `cost`.
    let q = list(
        "filters.key=model&filters.key=cost&filters.key=provider\
         &filters.operator=eq&filters.operator=eq&filters.operator=eq\
         &filters.value=a&filters.value=1&filters.value=x&filters.value=y",
    );
    assert_eq!(
        q.filters,
        vec![
            filter(FilterKey::Model, Op::Eq, vec![text("a")]),
            filter(FilterKey::Cost, Op::Eq, vec![FilterValue::Number(1.0)]),
            filter(FilterKey::Provider, Op::Eq, vec![text("x"), text("y")]),
        ]
    );
    // A multi-valued typed filter before a text filter.
    let q = list(
        "filters.key=status_code&filters.key=model&filters.operator=eq&filters.operator=eq\
         &filters.value=429&filters.value=500&filters.value=gpt-4",
    );
    assert_eq!(
        q.filters,
        vec![
            filter(FilterKey::StatusCode, Op::Eq, vec![FilterValue::Number(429.0), FilterValue::Number(500.0)]),
            filter(FilterKey::Model, Op::Eq, vec![text("gpt-4")]),
        ]
    );
}

#[test]
fn grouped_values_that_fit_no_split_report_the_first_misfit() {
    let e = list_err(
        "filters.key=model&filters.key=success&filters.key=cost\
         &filters.operator=eq&filters.operator=eq&filters.operator=gt\
         &filters.value=gpt-4&filters.value=gpt-4o&filters.value=maybe&filters.value=0.5",
    );
    assert_err(&e, &["query", "filters", "1", "value"], &["success", "\"maybe\"", "boolean"]);
}
