//! `/accounts/{account_id}/ai-gateway/gateways/{gateway_id}/logs[...]`: Cloudflare's Logs API.
//!
//! List (filters, search, order, pages, `meta_info`), bulk delete, detail, patch, and the stored
//! request and response payloads themselves.

use aigw_core::clock::rfc3339_ms;
use aigw_core::filter::{parse_delete, parse_list, parse_query_string, InvalidQuery};
use aigw_store::logs::{LogPatch, Scope};
use aigw_store::tokens::Access;
use aigw_store::StoredLog;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use serde_json::{json, Map, Value};

use crate::auth::authorize;
use crate::envelope::{ok, ok_paged, ApiError, ApiResult};
use crate::AdminState;

fn invalid(e: InvalidQuery) -> ApiError {
    let path = match e.path_json() {
        Value::Array(a) => a,
        other => vec![other],
    };
    ApiError::invalid(path, e.message)
}

/// The gateway must exist (404 otherwise), in the caller's account.
async fn check_gateway(state: &AdminState, account: &str, gateway: &str) -> Result<(), ApiError> {
    let (a, g) = (account.to_string(), gateway.to_string());
    let found = state.db.read(move |c| Ok(aigw_store::gateways::get_gateway(c, &a, &g)?)).await?;
    found.map(|_| ()).ok_or_else(ApiError::not_found)
}

pub async fn list(
    State(state): State<AdminState>,
    Path((account, gateway)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    authorize(&state.db, &headers, &account, Access::Read).await?;
    let q = parse_list(&parse_query_string(query.as_deref().unwrap_or(""))).map_err(invalid)?;
    check_gateway(&state, &account, &gateway).await?;
    let (page, per_page, meta_info) = (q.page, q.per_page, q.meta_info);
    let result = state
        .db
        .read(move |c| Ok(aigw_store::logs::list_logs(c, Scope { account: &account, gateway: &gateway }, &q)?))
        .await?;
    let items: Vec<Value> = result.logs.iter().map(list_item).collect();
    let mut info = json!({ "page": page, "per_page": per_page, "count": items.len(), "total_count": result.total });
    if let (true, Some(m)) = (meta_info, result.meta) {
        let o = info.as_object_mut().ok_or_else(|| ApiError::internal("result_info is an object"))?;
        o.insert("min_cost".into(), json!(m.min_cost.unwrap_or(0.0)));
        o.insert("max_cost".into(), json!(m.max_cost.unwrap_or(0.0)));
        o.insert("min_duration".into(), json!(m.min_duration.unwrap_or(0)));
        o.insert("max_duration".into(), json!(m.max_duration.unwrap_or(0)));
        o.insert("min_tokens_in".into(), json!(m.min_tokens_in.unwrap_or(0)));
        o.insert("max_tokens_in".into(), json!(m.max_tokens_in.unwrap_or(0)));
        o.insert("min_tokens_out".into(), json!(m.min_tokens_out.unwrap_or(0)));
        o.insert("max_tokens_out".into(), json!(m.max_tokens_out.unwrap_or(0)));
        o.insert("min_total_tokens".into(), json!(m.min_total_tokens.unwrap_or(0)));
        o.insert("max_total_tokens".into(), json!(m.max_total_tokens.unwrap_or(0)));
    }
    Ok(ok_paged(Value::Array(items), info))
}

pub async fn delete(
    State(state): State<AdminState>,
    Path((account, gateway)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    audit: crate::audit::RequestAudit,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
    let q = parse_delete(&parse_query_string(query.as_deref().unwrap_or(""))).map_err(invalid)?;
    check_gateway(&state, &account, &gateway).await?;
    let resource = aigw_core::audit::AuditResource::new(aigw_core::audit::product::AI_GATEWAY, "log", Some(&gateway))
        .with_request(crate::audit::query_json(query.as_deref()));
    let record = audit.record(&caller, aigw_core::audit::ActionType::Delete, "Delete logs", resource);
    let deleted = crate::audit::audited(&state.db, move |c| {
        let deleted = aigw_store::logs::delete_logs(c, Scope { account: &account, gateway: &gateway }, &q)?;
        Ok((deleted, record.with_response(json!({ "deleted": deleted }))))
    })
    .await?;
    Ok(ok(json!({ "success": true, "deleted": deleted })))
}

pub async fn get(
    State(state): State<AdminState>,
    Path((account, gateway, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let log = fetch(&state, &headers, account, gateway, id).await?;
    Ok(ok(detail(&log, state.head_bytes)))
}

async fn fetch(
    state: &AdminState,
    headers: &HeaderMap,
    account: String,
    gateway: String,
    id: String,
) -> Result<StoredLog, ApiError> {
    authorize(&state.db, headers, &account, Access::Read).await?;
    state
        .db
        .read(move |c| Ok(aigw_store::logs::get_scoped(c, Scope { account: &account, gateway: &gateway }, &id)?))
        .await?
        .ok_or_else(ApiError::not_found)
}

pub async fn request_body(
    State(state): State<AdminState>,
    Path((account, gateway, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let log = fetch(&state, &headers, account, gateway, id).await?;
    payload(log.request_body, log.request_content_type.as_deref())
}

pub async fn response_body(
    State(state): State<AdminState>,
    Path((account, gateway, id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let log = fetch(&state, &headers, account, gateway, id).await?;
    payload(log.response_body, log.response_content_type.as_deref())
}

/// The stored payload itself, not enveloped (the SDKs return the raw body): JSON as JSON,
/// anything else as text with its own content type.
fn payload(body: Option<Vec<u8>>, content_type: Option<&str>) -> ApiResult {
    let Some(body) = body else {
        return Err(ApiError::not_found());
    };
    let is_json = serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok();
    let ct = if is_json {
        HeaderValue::from_static("application/json")
    } else {
        content_type
            .filter(|ct| !ct.contains("json"))
            .and_then(|ct| HeaderValue::from_str(ct).ok())
            .unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"))
    };
    let mut response = Bytes::from(body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, ct);
    Ok(response)
}

pub async fn patch(
    State(state): State<AdminState>,
    Path((account, gateway, id)): Path<(String, String, String)>,
    audit: crate::audit::RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
    let patch = parse_patch(&body)?;
    let head_bytes = state.head_bytes;
    let resource = aigw_core::audit::AuditResource::new(aigw_core::audit::product::AI_GATEWAY, "log", Some(&id))
        .with_request(serde_json::from_slice(&body).unwrap_or(Value::Null));
    let record = audit.record(&caller, aigw_core::audit::ActionType::Update, "Update log", resource);
    let updated = crate::audit::audited(&state.db, move |c| {
        let scope = Scope { account: &account, gateway: &gateway };
        let updated = aigw_store::logs::patch_log(c, scope, &id, &patch)?.ok_or_else(ApiError::not_found)?;
        // Metadata as JSON (not its text), so that the store can redact secrets inside it.
        let metadata = updated.metadata.as_deref().and_then(|m| serde_json::from_str::<Value>(m).ok());
        let response =
            json!({ "id": updated.id, "feedback": updated.feedback, "score": updated.score, "metadata": metadata });
        Ok((updated, record.with_response(response)))
    })
    .await?;
    Ok(ok(detail(&updated, head_bytes)))
}

fn body_path(field: &str) -> Vec<Value> {
    vec![Value::from("body"), Value::from(field)]
}

/// `{feedback?: -1|0|1|null, score?: 0..100|null, metadata?: flat object|null}`.
fn parse_patch(body: &[u8]) -> Result<LogPatch, ApiError> {
    let object: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(ApiError::invalid(vec![Value::from("body")], "the body must be a JSON object")),
        Err(e) => return Err(ApiError::invalid(vec![Value::from("body")], format!("the body is not valid JSON: {e}"))),
    };
    let mut patch = LogPatch::default();
    for (key, value) in object {
        match key.as_str() {
            "feedback" => {
                patch.feedback = Some(match value {
                    Value::Null => None,
                    v => match v.as_f64() {
                        Some(f) if f.fract() == 0.0 && (-1.0..=1.0).contains(&f) => Some(f as i64),
                        _ => return Err(ApiError::invalid(body_path("feedback"), "feedback must be -1, 0, 1 or null")),
                    },
                })
            }
            "score" => {
                patch.score = Some(match value {
                    Value::Null => None,
                    v => match v.as_f64() {
                        Some(f) if (0.0..=100.0).contains(&f) => Some(f),
                        _ => {
                            return Err(ApiError::invalid(
                                body_path("score"),
                                "score must be a number from 0 to 100, or null",
                            ))
                        }
                    },
                })
            }
            "metadata" => {
                patch.metadata = Some(match value {
                    Value::Null => None,
                    Value::Object(m) => {
                        if let Some((k, _)) =
                            m.iter().find(|(_, v)| !(v.is_string() || v.is_number() || v.is_boolean()))
                        {
                            return Err(ApiError::invalid(
                                body_path("metadata"),
                                format!("metadata value of {k:?} must be a string, number or boolean"),
                            ));
                        }
                        Some(Value::Object(m).to_string())
                    }
                    _ => return Err(ApiError::invalid(body_path("metadata"), "metadata must be an object or null")),
                })
            }
            other => {
                return Err(ApiError::invalid(
                    body_path(other),
                    format!("unknown field {other:?}; expected feedback, score or metadata"),
                ))
            }
        }
    }
    Ok(patch)
}

/// A log as the list returns it: Cloudflare's fields, then aigw's.
pub fn list_item(l: &StoredLog) -> Value {
    json!({
        "id": l.id,
        "cached": l.cached,
        "created_at": rfc3339_ms(l.created_at_ms),
        "duration": l.duration_ms,
        "model": l.model,
        "path": l.path,
        "provider": l.provider,
        "success": l.success,
        "tokens_in": l.tokens_in,
        "tokens_out": l.tokens_out,
        "cost": l.cost,
        "custom_cost": l.custom_cost,
        "metadata": l.metadata,
        "model_type": l.model_type,
        "request_content_type": l.request_content_type,
        "request_type": l.request_type,
        "response_content_type": l.response_content_type,
        "status_code": l.status_code,
        "step": l.step,
        // aigw extensions
        "event_id": l.event_id,
        "feedback": l.feedback,
        "score": l.score,
        "method": l.method,
        "stream": l.stream,
        "user_agent": l.user_agent,
        "error": l.error,
        "tokens_cached": l.tokens_cached,
        "tokens_cache_write": l.tokens_cache_write,
        "usage_source": l.usage_source,
        "source": { "kind": l.source_kind, "id": l.source_id, "name": l.source_name, "owner": l.source_owner },
    })
}

/// The detail view: the list fields plus the heads and sizes of the payloads.
pub fn detail(l: &StoredLog, head_bytes: usize) -> Value {
    let mut v = list_item(l);
    if let Value::Object(o) = &mut v {
        let (request_head, request_complete) = head(l.request_body.as_deref(), l.request_truncated, head_bytes);
        let (response_head, response_complete) = head(l.response_body.as_deref(), l.response_truncated, head_bytes);
        o.insert("request_head".into(), json!(request_head));
        o.insert("request_head_complete".into(), json!(request_complete));
        o.insert("request_size".into(), json!(l.request_size));
        o.insert("response_head".into(), json!(response_head));
        o.insert("response_head_complete".into(), json!(response_complete));
        o.insert("response_size".into(), json!(l.response_size));
    }
    v
}

fn head(body: Option<&[u8]>, truncated: bool, head_bytes: usize) -> (Option<String>, bool) {
    let Some(body) = body else {
        return (None, false);
    };
    let payload = aigw_core::Payload { body: Some(Bytes::copy_from_slice(body)), size: body.len() as u64, truncated };
    match payload.head(head_bytes) {
        Some((text, complete)) => (Some(text), complete),
        None => (None, false),
    }
}
