//! Usage per key and per UTC day: `GET .../virtual-keys/{key_id}/usage` and `GET .../me/usage`
//! (the caller's own keys and Playground requests, for developers without admin rights).
//!
//! Query: `start_date` and `end_date` (`YYYY-MM-DD` or RFC 3339, UTC days, both included;
//! default: the 30 days ending today; at most 366 days).

use aigw_core::clock::rfc3339_ms;
use aigw_core::SourceKind;
use aigw_store::tokens::Access;
use aigw_store::usage::DayUsage;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::auth::authorize;
use crate::envelope::{ok, ApiError, ApiResult};
use crate::keys::{reach, Reach};
use crate::AdminState;

const DAY_MS: i64 = 86_400_000;
const DEFAULT_DAYS: i64 = 30;
const MAX_DAYS: i64 = 366;

/// `[from, to)` in ms: whole UTC days.
fn range(query: Option<&str>, now_ms: i64) -> Result<(i64, i64), ApiError> {
    let params = aigw_core::filter::parse_query_string(query.unwrap_or(""));
    let get = |k: &str| params.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let day = |name: &str| -> Result<Option<i64>, ApiError> {
        let Some(v) = get(name) else { return Ok(None) };
        let bad = || {
            ApiError::invalid(
                vec![Value::from("query"), Value::from(name)],
                format!("{name} must be a date (YYYY-MM-DD) or an RFC 3339 time, got {v:?}"),
            )
        };
        let ms = if let Ok(d) = time::Date::parse(&v, format_description!("[year]-[month]-[day]")) {
            d.midnight().assume_utc().unix_timestamp() * 1000
        } else {
            let t = time::OffsetDateTime::parse(&v, &Rfc3339).map_err(|_| bad())?;
            t.unix_timestamp() * 1000
        };
        Ok(Some(ms.div_euclid(DAY_MS) * DAY_MS))
    };
    let today = now_ms.div_euclid(DAY_MS) * DAY_MS;
    let end = day("end_date")?.unwrap_or(today);
    let start = day("start_date")?.unwrap_or(end - (DEFAULT_DAYS - 1) * DAY_MS);
    if start > end {
        return Err(ApiError::invalid(
            vec![Value::from("query"), Value::from("start_date")],
            "start_date is after end_date",
        ));
    }
    if (end - start) / DAY_MS + 1 > MAX_DAYS {
        return Err(ApiError::invalid(
            vec![Value::from("query"), Value::from("start_date")],
            format!("a usage range spans at most {MAX_DAYS} days"),
        ));
    }
    Ok((start, end + DAY_MS))
}

fn date(ms: i64) -> String {
    rfc3339_ms(ms).chars().take(10).collect()
}

/// `{total: {...}, days: [{date, requests, errors, tokens_in, tokens_out, cost}]}`.
fn summary(days: &[DayUsage]) -> Value {
    let mut total = DayUsage::default();
    let days: Vec<Value> = days
        .iter()
        .map(|d| {
            total.requests += d.requests;
            total.errors += d.errors;
            total.tokens_in += d.tokens_in;
            total.tokens_out += d.tokens_out;
            total.cost += d.cost;
            json!({ "date": date(d.day_ms), "requests": d.requests, "errors": d.errors, "tokens_in": d.tokens_in, "tokens_out": d.tokens_out, "cost": d.cost })
        })
        .collect();
    json!({
        "total": { "requests": total.requests, "errors": total.errors, "tokens_in": total.tokens_in, "tokens_out": total.tokens_out, "cost": total.cost },
        "days": days,
    })
}

fn add(total: &mut Value, part: &Value) {
    for k in ["requests", "errors", "tokens_in", "tokens_out"] {
        total[k] = Value::from(total[k].as_u64().unwrap_or(0) + part[k].as_u64().unwrap_or(0));
    }
    total["cost"] = Value::from(total["cost"].as_f64().unwrap_or(0.0) + part["cost"].as_f64().unwrap_or(0.0));
}

/// `GET .../virtual-keys/{key_id}/usage`.
pub async fn key_usage(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let (from, to) = range(query.as_deref(), state.clock.now_ms())?;
    let (a, i) = (account.clone(), id.clone());
    let key = state.db.read(move |c| Ok(aigw_store::keys::get_key(c, &a, &i)?)).await?;
    let key = key
        .filter(|k| match reach(&caller) {
            Reach::All { .. } => true,
            Reach::Own(user) => k.owner.id == user,
        })
        .ok_or_else(ApiError::not_found)?;
    let kid = key.id.clone();
    let days =
        state.db.read(move |c| Ok(aigw_store::usage::daily_usage(c, SourceKind::VirtualKey, &kid, from, to)?)).await?;
    let mut result = summary(&days);
    result["key_id"] = Value::from(key.id);
    result["name"] = Value::from(key.name);
    result["start_date"] = Value::from(date(from));
    result["end_date"] = Value::from(date(to - DAY_MS));
    Ok(ok(result))
}

/// `GET .../me/usage`: the signed-in user's keys, each per day, and their Playground requests.
pub async fn my_usage(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let Some(user) = caller.user else {
        return Err(ApiError::invalid(
            vec![Value::from("path")],
            "me/usage is the usage of a dashboard user: call it with the session cookie (API tokens use .../virtual-keys/{id}/usage)",
        ));
    };
    let (from, to) = range(query.as_deref(), state.clock.now_ms())?;
    let (uid, a) = (user.id.clone(), account.clone());
    let (keys, playground) = state
        .db
        .read(move |c| {
            let (keys, _) = aigw_store::keys::list_keys(c, &a, Some(&uid), 1, u32::MAX)?;
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                let days = aigw_store::usage::daily_usage(c, SourceKind::VirtualKey, &k.id, from, to)?;
                out.push((k, days));
            }
            let playground = aigw_store::usage::daily_usage(c, SourceKind::Playground, &uid, from, to)?;
            Ok((out, playground))
        })
        .await?;
    let mut total = json!({ "requests": 0, "errors": 0, "tokens_in": 0, "tokens_out": 0, "cost": 0.0 });
    let mut per_key = Vec::with_capacity(keys.len());
    for (k, days) in &keys {
        let mut s = summary(days);
        add(&mut total, &s["total"]);
        s["key_id"] = Value::from(k.id.clone());
        s["name"] = Value::from(k.name.clone());
        per_key.push(s);
    }
    let playground = summary(&playground);
    add(&mut total, &playground["total"]);
    Ok(ok(json!({
        "user": { "id": user.id, "email": user.email, "name": user.name },
        "start_date": date(from),
        "end_date": date(to - DAY_MS),
        "total": total,
        "keys": per_key,
        "playground": playground,
    })))
}
