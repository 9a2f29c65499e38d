//! The four wire forms of `filters` (interleaved, grouped, JSON, bracket) and the typing of the
//! filters they carry. The rules are documented on the parent module.

use std::collections::BTreeMap;

use super::json::json;
use super::key::FilterKey;
use super::model::{Filter, FilterValue, Op};
use super::split::split_grouped;
use super::value::{show, typed};
use super::{InvalidQuery, MAX_FILTERS, MAX_FILTER_VALUES};

/// A field of a filter object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Key,
    Operator,
    Value,
}

impl Field {
    pub(super) fn parse(s: &str) -> Option<Self> {
        match s {
            "key" => Some(Field::Key),
            "operator" => Some(Field::Operator),
            "value" => Some(Field::Value),
            _ => None,
        }
    }
}

/// One filter as the wire gave it, before typing. A value of `None` is a JSON `null`.
#[derive(Debug, Default)]
pub(super) struct RawFilter {
    pub(super) key: Option<String>,
    pub(super) operator: Option<String>,
    pub(super) values: Vec<Option<String>>,
}

/// The `filters` pairs of a query, sorted by form.
#[derive(Default)]
struct Collected {
    /// `filters.key` / `filters[key]` and friends, in wire order.
    dotted: Vec<(Field, String)>,
    /// `filters[0][key]` and friends, by index.
    indexed: BTreeMap<u32, RawFilter>,
    /// The JSON form.
    json: Vec<RawFilter>,
}

/// Reads the filters of a query from its decoded pairs. Other parameters are skipped.
pub(crate) fn parse_filters(pairs: &[(String, String)]) -> Result<Vec<Filter>, InvalidQuery> {
    let collected = collect(pairs)?;
    let forms = [!collected.dotted.is_empty(), !collected.indexed.is_empty(), !collected.json.is_empty()];
    if forms.iter().filter(|f| **f).count() > 1 {
        return Err(InvalidQuery::filters(
            &[],
            "filters was sent in more than one form (filters.key, filters[0][key], JSON); use one",
        ));
    }
    if !collected.dotted.is_empty() {
        return dotted(collected.dotted);
    }
    let raw: Vec<RawFilter> =
        if collected.indexed.is_empty() { collected.json } else { collected.indexed.into_values().collect() };
    check_sizes(raw.len(), raw.iter().map(|f| f.values.len()).sum())?;
    finish(raw)
}

/// Resolves every filter's key and operator, then types every filter's values.
fn finish(raw: Vec<RawFilter>) -> Result<Vec<Filter>, InvalidQuery> {
    let heads = raw
        .iter()
        .enumerate()
        .map(|(i, f)| head(i, f.key.as_deref(), f.operator.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    heads.into_iter().zip(raw).enumerate().map(|(i, ((key, op), f))| typed_filter(i, key, op, f.values)).collect()
}

fn collect(pairs: &[(String, String)]) -> Result<Collected, InvalidQuery> {
    let mut out = Collected::default();
    for (name, value) in pairs {
        let Some(rest) = name.strip_prefix("filters") else {
            continue;
        };
        if rest.is_empty() {
            json(value, &mut out.json)?;
            continue;
        }
        if !rest.starts_with(['.', '[']) {
            continue; // `filtersfoo` is some other parameter
        }
        let segments = segments(rest)
            .ok_or_else(|| InvalidQuery::filters(&[], format!("malformed filters parameter {}", show(name))))?;
        let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
        let unknown = || {
            InvalidQuery::filters(
                &segs,
                format!(
                    "unknown filters parameter {}; expected filters.key, filters.operator or filters.value",
                    show(name)
                ),
            )
        };
        let is_item_index = |s: &str| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit());
        match segs.as_slice() {
            [field] | [field @ "value", _] => {
                if segs.len() == 2 && !is_item_index(segs[1]) {
                    return Err(unknown());
                }
                let field = Field::parse(field).ok_or_else(unknown)?;
                out.dotted.push((field, value.clone()));
            }
            [index, rest @ ..] if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
                let field = match rest {
                    [field] => Field::parse(field),
                    ["value", item] if is_item_index(item) => Some(Field::Value),
                    _ => None,
                }
                .ok_or_else(unknown)?;
                let index: u32 = index.parse().map_err(|_| unknown())?;
                if out.indexed.len() >= MAX_FILTERS && !out.indexed.contains_key(&index) {
                    return Err(too_many_filters());
                }
                let f = out.indexed.entry(index).or_default();
                let slot = match field {
                    Field::Key => &mut f.key,
                    Field::Operator => &mut f.operator,
                    Field::Value => {
                        f.values.push(Some(value.clone()));
                        continue;
                    }
                };
                if slot.is_some() {
                    return Err(InvalidQuery::filters(&segs, format!("{} was given more than once", show(name))));
                }
                *slot = Some(value.clone());
            }
            _ => return Err(unknown()),
        }
    }
    Ok(out)
}

/// Splits `.a[b].c` into `["a", "b", "c"]`; `None` when a bracket is left open or a segment
/// starts with something other than `.` or `[`.
fn segments(mut rest: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            out.push(r[..end].to_string());
            rest = &r[end + 1..];
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            out.push(r[..end].to_string());
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some(out)
}

/// The interleaved and grouped forms, told apart by whether each field's pairs are contiguous.
fn dotted(pairs: Vec<(Field, String)>) -> Result<Vec<Filter>, InvalidQuery> {
    let count = |field| pairs.iter().filter(|(f, _)| *f == field).count();
    let (keys, operators, values) = (count(Field::Key), count(Field::Operator), count(Field::Value));
    check_sizes(keys.max(operators), values)?;
    let contiguous = |field: Field| {
        let mut runs = 0;
        let mut prev = None;
        for (f, _) in &pairs {
            if *f == field && prev != Some(field) {
                runs += 1;
            }
            prev = Some(*f);
        }
        runs <= 1
    };
    if [Field::Key, Field::Operator, Field::Value].into_iter().all(contiguous) {
        grouped(pairs, keys, operators)
    } else {
        finish(interleaved(pairs))
    }
}

fn interleaved(pairs: Vec<(Field, String)>) -> Vec<RawFilter> {
    let mut out: Vec<RawFilter> = Vec::new();
    let mut prev = None;
    for (field, value) in pairs {
        let starts_new = match out.last() {
            None => true,
            Some(cur) => match field {
                Field::Key => cur.key.is_some(),
                Field::Operator => cur.operator.is_some(),
                Field::Value => !cur.values.is_empty() && prev != Some(Field::Value),
            },
        };
        if starts_new {
            out.push(RawFilter::default());
        }
        if let Some(cur) = out.last_mut() {
            match field {
                Field::Key => cur.key = Some(value),
                Field::Operator => cur.operator = Some(value),
                Field::Value => cur.values.push(Some(value)),
            }
        }
        prev = Some(field);
    }
    out
}

fn grouped(pairs: Vec<(Field, String)>, keys: usize, operators: usize) -> Result<Vec<Filter>, InvalidQuery> {
    if keys == 0 {
        return Err(InvalidQuery::filter(0, "key", "filters.operator or filters.value was sent without filters.key"));
    }
    if operators > keys {
        return Err(InvalidQuery::filter(
            keys,
            "key",
            format!("filters.operator was sent {} but filters.key only {}", times(operators), times(keys)),
        ));
    }
    let mut key_values = Vec::with_capacity(keys);
    let mut op_values = Vec::with_capacity(operators);
    let mut values = Vec::new();
    for (field, value) in pairs {
        match field {
            Field::Key => key_values.push(value),
            Field::Operator => op_values.push(value),
            Field::Value => values.push(Some(value)),
        }
    }
    let heads = key_values
        .iter()
        .enumerate()
        .map(|(i, key)| head(i, Some(key), op_values.get(i).map(String::as_str)))
        .collect::<Result<Vec<_>, _>>()?;
    // With one filter the shortage is that filter's: `typed_filter` reports it by index.
    if values.len() < keys && keys > 1 {
        return Err(InvalidQuery::filters(
            &["value"],
            format!(
                "filters.key was sent {} but filters.value only {}; every filter needs at least one value",
                times(keys),
                times(values.len())
            ),
        ));
    }
    let runs = split_grouped(&heads, &values);
    let mut values = values.into_iter();
    heads
        .into_iter()
        .zip(runs)
        .enumerate()
        .map(|(i, ((key, op), len))| typed_filter(i, key, op, values.by_ref().take(len).collect()))
        .collect()
}

fn check_sizes(filters: usize, values: usize) -> Result<(), InvalidQuery> {
    if filters > MAX_FILTERS {
        return Err(too_many_filters());
    }
    if values > MAX_FILTER_VALUES {
        return Err(InvalidQuery::filters(
            &["value"],
            format!("too many filter values: {values}, at most {MAX_FILTER_VALUES}"),
        ));
    }
    Ok(())
}

fn times(n: usize) -> String {
    if n == 1 {
        "once".to_string()
    } else {
        format!("{n} times")
    }
}

pub(super) fn too_many_filters() -> InvalidQuery {
    InvalidQuery::filters(&[], format!("too many filters, at most {MAX_FILTERS}"))
}

/// Resolves the key and operator of filter `i`.
fn head(i: usize, key: Option<&str>, op: Option<&str>) -> Result<(FilterKey, Op), InvalidQuery> {
    let key_text = key.ok_or_else(|| InvalidQuery::filter(i, "key", format!("filter {i} has no filters.key")))?;
    let key = FilterKey::from_wire(key_text).ok_or_else(|| {
        let all: Vec<&str> = FilterKey::ALL.iter().map(|k| k.as_str()).collect();
        InvalidQuery::filter(
            i,
            "key",
            format!("filter {i}: unknown filters.key {}; expected one of {}", show(key_text), all.join(", ")),
        )
    })?;
    let op_text = op.ok_or_else(|| {
        InvalidQuery::filter(i, "operator", format!("filter {i} ({}) has no filters.operator", key.as_str()))
    })?;
    let allowed = || {
        let ops: Vec<&str> = key.operators().iter().map(|o| o.as_str()).collect();
        ops.join(", ")
    };
    let op = Op::from_wire(op_text).ok_or_else(|| {
        InvalidQuery::filter(
            i,
            "operator",
            format!(
                "filter {i} ({}): unknown filters.operator {}; expected one of {}",
                key.as_str(),
                show(op_text),
                allowed()
            ),
        )
    })?;
    if !key.operators().contains(&op) {
        return Err(InvalidQuery::filter(
            i,
            "operator",
            format!(
                "filter {i}: operator {} does not apply to {}; use one of {}",
                op.as_str(),
                key.as_str(),
                allowed()
            ),
        ));
    }
    Ok((key, op))
}

/// Types the values of filter `i`.
fn typed_filter(i: usize, key: FilterKey, op: Op, raw: Vec<Option<String>>) -> Result<Filter, InvalidQuery> {
    if raw.is_empty() {
        return Err(InvalidQuery::filter(
            i,
            "value",
            format!("filter {i} ({} {}) has no filters.value", key.as_str(), op.as_str()),
        ));
    }
    let values = raw
        .iter()
        .map(|v| {
            typed(key, op, v.as_deref()).map_err(|reason| {
                InvalidQuery::filter(i, "value", format!("filter {i} ({} {}): {reason}", key.as_str(), op.as_str()))
            })
        })
        .collect::<Result<Vec<FilterValue>, _>>()?;
    Ok(Filter { key, op, values })
}
