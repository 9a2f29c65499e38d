//! `/accounts/{account_id}/ai-gateway/gateways[/{id}]`: list, create, get, update, delete, with
//! Cloudflare's gateway object. Changes reach the data plane through `Hooks::gateway_changed`.

use aigw_core::audit::{product, ActionType, AuditResource};
use aigw_core::clock::rfc3339_ms;
use aigw_core::gateway::{Gateway, GatewaySpec};
use aigw_store::tokens::Access;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{json, Map, Value};

use crate::audit::{audited, RequestAudit};
use crate::auth::authorize;
use crate::envelope::{ok, ok_paged, ApiError, ApiResult};
use crate::AdminState;

/// Gateway list pages hold at most this many (Cloudflare's limit for this endpoint).
const MAX_PER_PAGE: u32 = 100;

pub async fn list(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state.db, &headers, &account, Access::Read).await?;
    let params = aigw_core::filter::parse_query_string(query.as_deref().unwrap_or(""));
    let get = |k: &str| params.iter().rev().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let page = int_param(get("page"), "page", 1, 1, u32::MAX)?;
    let per_page = int_param(get("per_page"), "per_page", 20, 1, MAX_PER_PAGE)?;
    let search = get("search").map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let (gateways, total) = state
        .db
        .read(move |c| Ok(aigw_store::gateways::list_gateways(c, &account, search.as_deref(), page, per_page)?))
        .await?;
    let count = gateways.len();
    let result = gateways.iter().map(wire).collect::<Vec<_>>();
    Ok(ok_paged(
        Value::Array(result),
        json!({ "page": page, "per_page": per_page, "count": count, "total_count": total }),
    ))
}

pub async fn get(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state.db, &headers, &account, Access::Read).await?;
    let found = state.db.read(move |c| Ok(aigw_store::gateways::get_gateway(c, &account, &id)?)).await?;
    found.map(|g| ok(wire(&g))).ok_or_else(ApiError::not_found)
}

pub async fn create(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    audit: RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
    let mut object = json_object(&body)?;
    let request = Value::Object(object.clone());
    let id = match object.remove("id") {
        Some(Value::String(id)) => id,
        Some(_) => return Err(ApiError::invalid(path(&["body", "id"]), "id must be a string")),
        None => return Err(ApiError::invalid(path(&["body", "id"]), "id is required")),
    };
    validate_id(&id)?;
    let spec = spec_from(object)?;
    let now = state.clock.now_ms();
    let gateway = Gateway {
        account_id: account,
        id,
        internal_id: uuid::Uuid::new_v4().to_string(),
        created_at_ms: now,
        modified_at_ms: now,
        spec,
    };
    let resource = AuditResource::new(product::AI_GATEWAY, "gateway", Some(&gateway.id)).with_request(request);
    let record = audit.record(&caller, ActionType::Create, "Create gateway", resource).with_response(wire(&gateway));
    let stored = gateway.clone();
    audited(&state.db, move |c| Ok((aigw_store::gateways::insert_gateway(c, &stored)?, record))).await?;
    state.ops.gateway_changed(&gateway.account_id, &gateway.id, Some(&gateway.spec));
    Ok(ok(wire(&gateway)))
}

pub async fn update(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
    let mut object = json_object(&body)?;
    let resource =
        AuditResource::new(product::AI_GATEWAY, "gateway", Some(&id)).with_request(Value::Object(object.clone()));
    let record = audit.record(&caller, ActionType::Update, "Update gateway", resource);
    object.remove("id");
    let spec = spec_from(object)?;
    let now = state.clock.now_ms();
    let updated = audited(&state.db, move |c| {
        let updated =
            aigw_store::gateways::update_gateway(c, &account, &id, &spec, now)?.ok_or_else(ApiError::not_found)?;
        let response = wire(&updated);
        Ok((updated, record.with_response(response)))
    })
    .await?;
    state.ops.gateway_changed(&updated.account_id, &updated.id, Some(&updated.spec));
    Ok(ok(wire(&updated)))
}

pub async fn delete(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
    let record = audit.record(
        &caller,
        ActionType::Delete,
        "Delete gateway",
        AuditResource::new(product::AI_GATEWAY, "gateway", Some(&id)),
    );
    let now = state.clock.now_ms();
    let deleted = audited(&state.db, move |c| {
        let deleted = aigw_store::gateways::delete_gateway(c, &account, &id, now)?.ok_or_else(ApiError::not_found)?;
        let response = wire(&deleted);
        Ok((deleted, record.with_response(response)))
    })
    .await?;
    state.ops.gateway_changed(&deleted.account_id, &deleted.id, None);
    Ok(ok(wire(&deleted)))
}

/// Cloudflare's gateway object.
pub fn wire(g: &Gateway) -> Value {
    let mut v = serde_json::to_value(&g.spec).unwrap_or_else(|_| json!({}));
    if let Value::Object(o) = &mut v {
        o.insert("id".into(), Value::from(g.id.clone()));
        o.insert("account_id".into(), Value::from(g.account_id.clone()));
        o.insert("account_tag".into(), Value::from(g.account_id.clone()));
        o.insert("internal_id".into(), Value::from(g.internal_id.clone()));
        o.insert("created_at".into(), Value::from(rfc3339_ms(g.created_at_ms)));
        o.insert("modified_at".into(), Value::from(rfc3339_ms(g.modified_at_ms)));
        o.insert("is_default".into(), Value::from(g.id == "default"));
    }
    v
}

fn json_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ApiError::invalid(path(&["body"]), "the body must be a JSON object")),
        Err(e) => Err(ApiError::invalid(path(&["body"]), format!("the body is not valid JSON: {e}"))),
    }
}

fn path(parts: &[&str]) -> Vec<Value> {
    parts.iter().map(|p| Value::from(*p)).collect()
}

fn validate_id(id: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(path(&["body", "id"]), "id must be 1 to 64 letters, digits, '-' or '_'"))
    }
}

/// Validates a create/update body (without `id`) into settings.
fn spec_from(object: Map<String, Value>) -> Result<GatewaySpec, ApiError> {
    for required in
        ["cache_invalidate_on_update", "cache_ttl", "collect_logs", "rate_limiting_interval", "rate_limiting_limit"]
    {
        if !object.contains_key(required) {
            return Err(ApiError::invalid(path(&["body", required]), format!("{required} is required")));
        }
    }
    let check_type = |key: &str, ok: fn(&Value) -> bool, what: &str| -> Result<(), ApiError> {
        match object.get(key) {
            Some(v) if !ok(v) => Err(ApiError::invalid(path(&["body", key]), format!("{key} must be {what}"))),
            _ => Ok(()),
        }
    };
    let non_neg_int_or_null = |v: &Value| v.is_null() || v.as_i64().is_some_and(|n| n >= 0);
    check_type("cache_invalidate_on_update", Value::is_boolean, "a boolean")?;
    check_type("collect_logs", Value::is_boolean, "a boolean")?;
    check_type("authentication", Value::is_boolean, "a boolean")?;
    check_type("logpush", Value::is_boolean, "a boolean")?;
    check_type("cache_ttl", non_neg_int_or_null, "a non-negative integer or null")?;
    check_type("rate_limiting_interval", non_neg_int_or_null, "a non-negative integer or null")?;
    check_type("rate_limiting_limit", non_neg_int_or_null, "a non-negative integer or null")?;
    check_type(
        "rate_limiting_technique",
        |v| v.is_null() || matches!(v.as_str(), Some("fixed" | "sliding")),
        "\"fixed\", \"sliding\" or null",
    )?;
    check_type(
        "log_management",
        |v| v.is_null() || v.as_i64().is_some_and(|n| (10_000..=10_000_000).contains(&n)),
        "an integer from 10000 to 10000000, or null",
    )?;
    check_type(
        "log_management_strategy",
        |v| v.is_null() || matches!(v.as_str(), Some("STOP_INSERTING" | "DELETE_OLDEST")),
        "\"STOP_INSERTING\", \"DELETE_OLDEST\" or null",
    )?;
    check_type(
        "logpush_public_key",
        |v| v.is_null() || v.as_str().is_some_and(|s| (16..=1024).contains(&s.len())),
        "a string of 16 to 1024 characters, or null",
    )?;
    check_type(
        "retry_delay",
        |v| v.is_null() || v.as_i64().is_some_and(|n| (0..=60_000).contains(&n)),
        "0 to 60000 ms, or null",
    )?;
    check_type(
        "retry_max_attempts",
        |v| v.is_null() || v.as_i64().is_some_and(|n| (1..=5).contains(&n)),
        "1 to 5, or null",
    )?;
    for read_only in ["account_id", "account_tag", "internal_id", "created_at", "modified_at", "is_default"] {
        if object.contains_key(read_only) {
            return Err(ApiError::invalid(path(&["body", read_only]), format!("{read_only} is read-only")));
        }
    }
    serde_json::from_value(Value::Object(object))
        .map_err(|e| ApiError::invalid(path(&["body"]), format!("invalid gateway: {e}")))
}

fn int_param(v: Option<&str>, name: &str, default: u32, min: u32, max: u32) -> Result<u32, ApiError> {
    let Some(v) = v else { return Ok(default) };
    let parsed = v.parse::<u32>().ok().or_else(|| {
        v.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX)).map(|f| f as u32)
    });
    match parsed {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(
            vec![Value::from("query"), Value::from(name)],
            format!("{name} must be an integer from {min} to {max}, got {v:?}"),
        )),
    }
}
