//! The JSON form of `filters`: `filters=[{"key":..,"operator":..,"value":[..]}]`.

use super::value::show;
use super::wire::{too_many_filters, Field, RawFilter};
use super::{InvalidQuery, MAX_FILTERS};

/// The JSON form: an array of `{key, operator, value}` objects, or one object.
pub(super) fn json(text: &str, out: &mut Vec<RawFilter>) -> Result<(), InvalidQuery> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let parsed: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| InvalidQuery::filters(&[], format!("filters is not valid JSON: {e}")))?;
    let items = match parsed {
        serde_json::Value::Array(items) => items,
        object @ serde_json::Value::Object(_) => vec![object],
        _ => return Err(InvalidQuery::filters(&[], "filters must be a JSON array of {key, operator, value} objects")),
    };
    for item in items {
        let i = out.len();
        if i >= MAX_FILTERS {
            return Err(too_many_filters());
        }
        let serde_json::Value::Object(fields) = item else {
            return Err(InvalidQuery::filters(
                &[&i.to_string()],
                format!("filter {i} must be a JSON object with key, operator and value"),
            ));
        };
        let mut f = RawFilter::default();
        for (name, v) in fields {
            let text = |v: serde_json::Value| match v {
                serde_json::Value::String(s) => Ok(s),
                other => {
                    Err(InvalidQuery::filter(i, &name, format!("filter {i}: {name} must be a string, got {other}")))
                }
            };
            match Field::parse(&name) {
                Some(Field::Key) => f.key = Some(text(v)?),
                Some(Field::Operator) => f.operator = Some(text(v)?),
                Some(Field::Value) => {
                    let items = match v {
                        serde_json::Value::Array(items) => items,
                        scalar => vec![scalar],
                    };
                    for item in items {
                        f.values.push(json_value(i, item)?);
                    }
                }
                None => {
                    return Err(InvalidQuery::filter(
                        i,
                        &name,
                        format!("filter {i}: unknown field {}; expected key, operator, value", show(&name)),
                    ))
                }
            }
        }
        out.push(f);
    }
    Ok(())
}

fn json_value(i: usize, v: serde_json::Value) -> Result<Option<String>, InvalidQuery> {
    match v {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Bool(b) => Ok(Some(b.to_string())),
        serde_json::Value::Number(n) => Ok(Some(n.to_string())),
        serde_json::Value::String(s) => Ok(Some(s)),
        other => Err(InvalidQuery::filter(
            i,
            "value",
            format!("filter {i}: values must be strings, numbers, booleans or null, got {other}"),
        )),
    }
}
