//! `GET /accounts/{account_id}/logs/audit`: Audit Logs v2 (seed 004, contract §4), and
//! `GET .../logs/audit/product_categories`.
//!
//! Any token of the account may read its trail (no other account's). The query is parsed by
//! `aigw_core::audit::query` (400/7001 for what it refuses); the page's `result_info` carries
//! `count` and, when more records match, the next page's cursor both as `cursor` (SDKs up to
//! 4.x) and as `cursors.after` (5.x). The last page has neither.

use aigw_core::audit::query::parse_audit_query;
use aigw_core::audit::{AuditRecord, PRODUCT_CATEGORIES};
use aigw_core::clock::rfc3339_ms;
use aigw_core::filter::parse_query_string;
use aigw_store::tokens::Access;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::auth::authorize;
use crate::envelope::{ok_paged, ApiError, ApiResult};
use crate::AdminState;

pub(crate) async fn list(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state.db, &headers, &account, Access::Read).await?;
    let q = parse_audit_query(&parse_query_string(query.as_deref().unwrap_or(""))).map_err(|e| {
        let path = match e.path_json() {
            Value::Array(a) => a,
            other => vec![other],
        };
        ApiError::invalid(path, e.message)
    })?;
    let page = state.db.read(move |c| Ok(aigw_store::audit::list(c, &account, &q)?)).await?;
    let items: Vec<Value> = page.records.iter().map(|r| wire(&r.record)).collect();
    let mut info = json!({ "count": items.len() });
    if let Some(next) = page.next {
        let cursor = next.encode();
        info["cursor"] = Value::from(cursor.clone());
        info["cursors"] = json!({ "after": cursor });
    }
    Ok(ok_paged(Value::Array(items), info))
}

pub(crate) async fn product_categories(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state.db, &headers, &account, Access::Read).await?;
    let categories: Vec<Value> = PRODUCT_CATEGORIES
        .iter()
        .map(|c| {
            let products: Vec<Value> = c.products.iter().map(|(v, l)| json!({ "value": v, "label": l })).collect();
            json!({ "value": c.value, "label": c.label, "products": products })
        })
        .collect();
    let count = categories.len();
    Ok(ok_paged(Value::Array(categories), json!({ "count": count })))
}

/// A record as Audit Logs v2 shows it.
pub fn wire(r: &AuditRecord) -> Value {
    json!({
        "id": r.id,
        "account": { "id": r.account.id, "name": r.account.name },
        "action": {
            "description": r.action.description,
            "result": r.action.result.as_str(),
            "time": rfc3339_ms(r.action.time_ms),
            "type": r.action.kind.as_str(),
        },
        "actor": {
            "id": r.actor.id,
            "context": r.actor.context.map(|c| c.as_str()),
            "email": r.actor.email,
            "ip_address": r.actor.ip_address,
            "token_id": r.actor.token_id,
            "token_name": r.actor.token_name,
            "type": r.actor.kind.as_str(),
        },
        "raw": {
            "cf_ray_id": r.raw.cf_ray_id,
            "method": r.raw.method,
            "status_code": r.raw.status_code,
            "uri": r.raw.uri,
            "user_agent": r.raw.user_agent,
        },
        "resource": {
            "id": r.resource.id,
            "product": r.resource.product,
            "request": r.resource.request,
            "response": r.resource.response,
            "scope": r.resource.scope,
            "type": r.resource.kind,
        },
        "zone": { "id": r.zone.id, "name": r.zone.name },
    })
}
