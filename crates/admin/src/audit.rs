//! The audit trail on the admin side: who did what, recorded with the change it describes.
//!
//! # For handlers that change something
//! Take a [`RequestAudit`] argument (an extractor; the router's audit layer fills it), build
//! the record with [`RequestAudit::record`] (an API token caller) or [`RequestAudit::record_by`]
//! (any other actor, e.g. a web UI user), and make the change through [`audited`], which runs
//! it and appends the record in one transaction, so there is no change without its record:
//!
//! ```ignore
//! pub async fn create(State(state): State<AdminState>, audit: RequestAudit, headers: HeaderMap, ...) -> ApiResult {
//!     let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
//!     let resource = AuditResource::new(product::AI_GATEWAY, "gateway", Some(&id)).with_request(body);
//!     let record = audit.record(&caller, ActionType::Create, "Create gateway", resource);
//!     let created = audited(&state.db, move |tx| {
//!         aigw_store::gateways::insert_gateway(tx, &gateway)?;
//!         Ok((gateway.clone(), record.with_response(wire(&gateway))))
//!     })
//!     .await?;
//!     ...
//! }
//! ```
//!
//! A closure that returns `Err` rolls the change back and appends nothing. Store functions
//! called inside must not open transactions of their own (use savepoints). Bodies may be
//! handed over as they are: the store redacts secrets before anything is written.
//!
//! # What the layer records by itself
//! For every request under `/accounts/{account_id}/` of an account aigw knows
//! (`Ops::account_name`), the layer ([`layer`]) records a failure
//! when the answer is 401 or 403 (and 400 for a malformed credentials header), whatever the
//! method, and when a write (POST, PUT, PATCH, DELETE) fails with any other status, since a
//! failed change has no transaction to record it in. A handler that records its own failure
//! inserts [`AlreadyAudited`] into its response's extensions. Successful writes are the
//! handlers' to record: the layer cannot tell a recorded success from a forgotten one.
//!
//! Every response carries the request id in `cf-ray`; records store it as `raw.cf_ray_id`.

mod actor;
mod layer;
mod list;
mod ray;

use std::sync::Arc;

use aigw_core::audit::{
    ActionResult, ActionType, ActorContext, ActorType, AuditAccount, AuditAction, AuditActor, AuditRaw, AuditRecord,
    AuditResource, AuditZone,
};
use aigw_core::Clock;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use rusqlite::{Connection, TransactionBehavior};

use crate::auth::Caller;
use crate::db::Db;
use crate::envelope::ApiError;
use crate::AdminState;

pub(crate) use layer::layer;
pub(crate) use list::{list, product_categories};
pub(crate) use ray::ray_layer;
pub use ray::RayId;

/// Put in a response's extensions by a handler that recorded its own failure, so the layer
/// does not record it a second time.
#[derive(Debug, Clone, Copy)]
pub struct AlreadyAudited;

/// What the trail needs to know about the request being served; an extractor.
#[derive(Clone)]
pub struct RequestAudit {
    /// The request id (also in the `cf-ray` response header).
    pub ray_id: String,
    pub method: String,
    /// Path and query as received.
    pub uri: String,
    pub user_agent: Option<String>,
    /// The peer's address, when the server was started with connect info.
    pub ip_address: Option<String>,
    /// The `{account_id}` of the path, if it has one.
    pub account_id: Option<String>,
    /// That account's configured name.
    pub account_name: Option<String>,
    /// How the caller presented credentials: `api_token` (Authorization) or `api_key`
    /// (X-Auth-Email + X-Auth-Key); `None` without credentials headers.
    pub credentials: Option<ActorContext>,
    /// The route template that matched, e.g. `/accounts/{account_id}/ai-gateway/gateways`.
    pub route: Option<String>,
    /// The path parameters of that route, decoded.
    pub path_params: Vec<(String, String)>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RequestAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestAudit").field("ray_id", &self.ray_id).field("uri", &self.uri).finish_non_exhaustive()
    }
}

impl FromRequestParts<AdminState> for RequestAudit {
    type Rejection = ApiError;

    /// The context the audit layer made, or, on a route outside the layer, one made now (such a
    /// route's failures are then not recorded by the layer, and its responses carry no `cf-ray`
    /// unless the ray layer runs).
    async fn from_request_parts(parts: &mut Parts, state: &AdminState) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<RequestAudit>() {
            Some(ctx) => Ok(ctx.clone()),
            None => Ok(layer::context(state, parts).await),
        }
    }
}

impl RequestAudit {
    /// The actor of an API token caller: the account (as Cloudflare reports account-owned
    /// tokens), the token's id, name and email, and how it was presented.
    pub fn actor(&self, caller: &Caller) -> AuditActor {
        // A dashboard user (session cookie): the user, in the `dash` context.
        if let Some(user) = &caller.user {
            return crate::session::user_actor(&user.id, &user.email, self.ip_address.clone());
        }
        AuditActor {
            id: Some(caller.account_id.clone()),
            kind: ActorType::Account,
            context: Some(self.credentials.unwrap_or(ActorContext::ApiToken)),
            email: caller.email.clone(),
            ip_address: self.ip_address.clone(),
            token_id: Some(caller.token_id.clone()),
            token_name: Some(caller.token_name.clone()),
        }
    }

    /// A successful action of an API token caller (status 200).
    pub fn record(&self, caller: &Caller, kind: ActionType, description: &str, resource: AuditResource) -> AuditRecord {
        self.record_by(self.actor(caller), kind, description, resource)
    }

    /// A successful action (status 200) of any actor, in the request's account (on a route
    /// without `{account_id}`, set `record.account` yourself). The actor's `ip_address` is
    /// filled from the request when it has none.
    pub fn record_by(
        &self,
        mut actor: AuditActor,
        kind: ActionType,
        description: &str,
        resource: AuditResource,
    ) -> AuditRecord {
        if actor.ip_address.is_none() {
            actor.ip_address.clone_from(&self.ip_address);
        }
        let now = self.clock.now_ms();
        AuditRecord {
            id: aigw_core::ids::new_ulid(now),
            account: AuditAccount { id: self.account_id.clone().unwrap_or_default(), name: self.account_name.clone() },
            action: AuditAction {
                kind,
                result: ActionResult::Success,
                description: description.to_string(),
                time_ms: now,
            },
            actor,
            raw: AuditRaw {
                cf_ray_id: self.ray_id.clone(),
                method: Some(self.method.clone()),
                status_code: Some(200),
                uri: Some(self.uri.clone()),
                user_agent: self.user_agent.clone(),
            },
            resource,
            zone: AuditZone::default(),
        }
    }
}

/// Runs `change` and appends the record it returns in one transaction on the write connection
/// (off the async workers); commits both or neither.
pub async fn audited<T, F>(db: &Db, change: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<(T, AuditRecord), ApiError> + Send + 'static,
{
    db.write(move |conn| audited_in(conn, change)).await
}

/// [`audited`] on a connection the caller holds (inside `Db::write`).
pub fn audited_in<T>(
    conn: &mut Connection,
    change: impl FnOnce(&Connection) -> Result<(T, AuditRecord), ApiError>,
) -> Result<T, ApiError> {
    // IMMEDIATE: take the write lock first, so the chain's head cannot move under the change.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(ApiError::internal)?;
    let (value, record) = change(&tx)?;
    aigw_store::audit::append(&tx, &record)?;
    tx.commit().map_err(ApiError::internal)?;
    Ok(value)
}

/// A query string as a JSON object for `resource.request`: each name with its value, or its
/// values in order when it repeats.
pub fn query_json(query: Option<&str>) -> serde_json::Value {
    use serde_json::{Map, Value};
    let mut object = Map::new();
    for (name, value) in aigw_core::filter::parse_query_string(query.unwrap_or("")) {
        match object.get_mut(&name) {
            None => {
                object.insert(name, Value::from(value));
            }
            Some(Value::Array(values)) => values.push(Value::from(value)),
            Some(first) => *first = Value::Array(vec![first.take(), Value::from(value)]),
        }
    }
    Value::Object(object)
}
