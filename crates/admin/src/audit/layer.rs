//! The audit layer, around every API route: it puts a [`RequestAudit`] in the request's
//! extensions for handlers to record with, and records, after the fact, what no handler can:
//! failed authentication (401, or 400 for a malformed credentials header), permission denials
//! (403), and writes that failed for any other reason. Successful changes are recorded by their
//! handlers, in their own transactions.

use std::net::SocketAddr;

use aigw_core::audit::{product, ActionResult, ActionType, ActorContext, AuditResource};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, OriginalUri, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use super::ray::RayId;
use super::{actor, AlreadyAudited, RequestAudit};
use crate::envelope::ErrorSummary;
use crate::AdminState;

/// Cloudflare's code for "Invalid request headers" (a malformed credentials header).
const INVALID_HEADERS: u32 = 6003;
/// What a record keeps of a request's URI and user agent, at most (callers choose both).
const MAX_URI_BYTES: usize = 2048;
const MAX_USER_AGENT_BYTES: usize = 512;

/// Middleware: the request's audit context in, failures recorded on the way out.
pub(crate) async fn layer(State(state): State<AdminState>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let ctx = context(&state, &mut parts).await;
    parts.extensions.insert(ctx.clone());
    let headers = parts.headers.clone();
    let response = next.run(Request::from_parts(parts, body)).await;

    // Only accounts aigw knows get failure records (see `Ops::account_name`).
    let Some(account) = ctx.account_id.as_deref().filter(|_| ctx.account_name.is_some()) else { return response };
    if response.extensions().get::<AlreadyAudited>().is_some() {
        return response;
    }
    let status = response.status();
    let error = response.extensions().get::<ErrorSummary>().cloned();
    let Some(description) = failure(&ctx, status, error.as_ref()) else { return response };

    let actor = actor::resolve(&state.db, &headers, &ctx).await;
    let (product, kind, id) = resource_of(ctx.route.as_deref(), &ctx);
    let mut resource = AuditResource::new(&product, &kind, id.as_deref());
    if let Some(e) = &error {
        resource = resource.with_response(json!({ "errors": [{ "code": e.code, "message": e.message }] }));
    }
    let mut record = ctx.record_by(actor, ActionType::from_method(&ctx.method), &description, resource);
    record.action.result = ActionResult::Failure;
    record.raw.status_code = Some(status.as_u16());
    let account = account.to_string();
    if let Err(e) = state.db.write(move |c| Ok(aigw_store::audit::append(c, &record)?)).await {
        tracing::error!(error = %e.message, account, status = status.as_u16(), "cannot record a failed request");
    }
    response
}

/// What the trail says of a failed request, or `None` when it is not recorded.
fn failure(ctx: &RequestAudit, status: StatusCode, error: Option<&ErrorSummary>) -> Option<String> {
    match status {
        StatusCode::UNAUTHORIZED => Some("Authentication failed".into()),
        StatusCode::FORBIDDEN => Some("Permission denied".into()),
        StatusCode::BAD_REQUEST if error.is_some_and(|e| e.code == INVALID_HEADERS) => {
            Some("Authentication failed: malformed credentials".into())
        }
        s if s.is_client_error() || s.is_server_error() => {
            let write = matches!(ctx.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE");
            write.then(|| {
                let (_, kind, _) = resource_of(ctx.route.as_deref(), ctx);
                let verb = match ActionType::from_method(&ctx.method) {
                    ActionType::Create => "Create",
                    ActionType::Update => "Update",
                    ActionType::Delete => "Delete",
                    ActionType::View => "View",
                };
                format!("{verb} {kind} failed")
            })
        }
        _ => None,
    }
}

/// The request's audit context.
pub(crate) async fn context(state: &AdminState, parts: &mut Parts) -> RequestAudit {
    let params = RawPathParams::from_request_parts(parts, state).await.ok();
    let account_id =
        params.as_ref().and_then(|p| p.iter().find(|(k, _)| *k == "account_id").map(|(_, v)| v.to_string()));
    let path_params: Vec<(String, String)> =
        params.iter().flat_map(|p| p.iter().map(|(k, v)| (k.to_string(), v.to_string()))).collect();
    let header = |name: header::HeaderName| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let credentials = if parts.headers.contains_key(header::AUTHORIZATION) {
        Some(ActorContext::ApiToken)
    } else if parts.headers.contains_key("x-auth-key") {
        Some(ActorContext::ApiKey)
    } else {
        None
    };
    RequestAudit {
        ray_id: parts.extensions.get::<RayId>().cloned().unwrap_or_default().0,
        method: parts.method.as_str().to_string(),
        uri: {
            // Under `/client/v4` the nested router sees the URI without its prefix.
            let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
            cut(
                uri.path_and_query().map_or_else(|| uri.path().to_string(), |pq| pq.as_str().to_string()),
                MAX_URI_BYTES,
            )
        },
        user_agent: header(header::USER_AGENT).map(|ua| cut(ua, MAX_USER_AGENT_BYTES)),
        ip_address: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()),
        account_name: account_id.as_deref().and_then(|a| state.ops.account_name(a)),
        account_id,
        credentials,
        route: parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_string()),
        path_params,
        clock: state.clock.clone(),
    }
}

/// The collections of the admin API: path segment, `resource.product`, `resource.type` (the
/// names handlers use for their own records, so that failures and successes agree).
const COLLECTIONS: &[(&str, &str, &str)] = &[
    ("gateways", product::AI_GATEWAY, "gateway"),
    ("logs", product::AI_GATEWAY, "log"),
    ("audit", product::LOGS, "audit_log"),
    ("virtual-keys", product::KEYS, "key"),
    ("keys", product::KEYS, "key"),
    ("users", product::USERS, "user"),
    ("sessions", product::SESSIONS, "session"),
    ("tokens", product::TOKENS, "token"),
];

/// `(product, type, id)` of the resource a route acts on, from its template: the collection is
/// the last segment when it is a known one (`.../gateways/{g}/logs`), else the last one that a
/// parameter follows (`.../virtual-keys/{key_id}/rotate`); the id is the value of the parameter
/// after it, or before it for a collection at the end. An unknown collection gives the first
/// segment after `{account_id}` as product (`-` as `_`) and the collection in the singular.
pub(crate) fn resource_of(route: Option<&str>, ctx: &RequestAudit) -> (String, String, Option<String>) {
    let route = route.unwrap_or("");
    let rest = route.split_once("{account_id}").map_or("", |(_, r)| r.trim_start_matches('/'));
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let is_param = |s: &str| s.starts_with('{');
    let known = |s: &str| COLLECTIONS.iter().find(|(name, _, _)| *name == s);
    let at = match segments.last() {
        Some(last) if known(last).is_some() => Some(segments.len() - 1),
        _ => (0..segments.len())
            .rev()
            .find(|&i| !is_param(segments[i]) && segments.get(i + 1).is_some_and(|n| is_param(n))),
    }
    .or_else(|| segments.iter().rposition(|s| !is_param(s)));
    let Some(at) = at else { return ("account".into(), "account".into(), None) };
    let param =
        segments.get(at + 1).filter(|s| is_param(s)).or_else(|| segments[..at].iter().rev().find(|s| is_param(s)));
    let id = param
        .map(|p| p.trim_start_matches('{').trim_end_matches('}'))
        .and_then(|name| ctx.path_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()));
    match known(segments[at]) {
        Some((_, product, kind)) => (product.to_string(), kind.to_string(), id),
        None => {
            let product = segments.first().filter(|s| !is_param(s)).map_or("account".into(), |s| s.replace('-', "_"));
            (product, singular(segments[at]), id)
        }
    }
}

fn singular(s: &str) -> String {
    let s = s.replace('-', "_");
    if let Some(stem) = s.strip_suffix("ies") {
        format!("{stem}y")
    } else if s.ends_with("ss") {
        s
    } else {
        s.strip_suffix('s').map_or(s.clone(), str::to_string)
    }
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
    s
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn ctx(params: &[(&str, &str)]) -> RequestAudit {
        RequestAudit {
            ray_id: "r".into(),
            method: "DELETE".into(),
            uri: "/".into(),
            user_agent: None,
            ip_address: None,
            account_id: Some("a".into()),
            account_name: None,
            credentials: None,
            route: None,
            path_params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            clock: Arc::new(aigw_core::FixedClock::new(0)),
        }
    }

    #[test]
    fn resources_of_routes() {
        let c = ctx(&[("account_id", "a"), ("gateway_id", "g"), ("id", "l"), ("key_id", "k"), ("user_id", "u")]);
        let of = |route: &str| {
            let (p, t, id) = resource_of(Some(route), &c);
            (p, t, id.unwrap_or_default())
        };
        let t = |p: &str, k: &str, id: &str| (p.to_string(), k.to_string(), id.to_string());
        let base = "/client/v4/accounts/{account_id}";
        assert_eq!(of(&format!("{base}/ai-gateway/gateways")), t("ai_gateway", "gateway", ""));
        assert_eq!(of(&format!("{base}/ai-gateway/gateways/{{gateway_id}}")), t("ai_gateway", "gateway", "g"));
        assert_eq!(of(&format!("{base}/ai-gateway/gateways/{{gateway_id}}/logs")), t("ai_gateway", "log", "g"));
        assert_eq!(
            of(&format!("{base}/ai-gateway/gateways/{{gateway_id}}/logs/{{id}}/request")),
            t("ai_gateway", "log", "l")
        );
        assert_eq!(of(&format!("{base}/ai-gateway/virtual-keys/{{key_id}}/rotate")), t("keys", "key", "k"));
        assert_eq!(of(&format!("{base}/users/{{user_id}}/sessions")), t("sessions", "session", "u"));
        assert_eq!(of(&format!("{base}/logs/audit")), t("logs", "audit_log", ""));
        assert_eq!(of(&format!("{base}/ai-gateway/providers")), t("ai_gateway", "provider", ""));
        assert_eq!(of("/accounts/{account_id}"), t("account", "account", ""));
    }
}
