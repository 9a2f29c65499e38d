//! `/accounts/{account_id}/users[/{user_id}]`: the users who log in to the dashboard.
//!
//! Admins (and API tokens) list, create, update and delete users; a member reads and updates
//! only themself (name, and password with `current_password`). An account keeps at least one
//! admin. A new password or a deletion ends the user's sessions; a deletion also revokes the
//! user's keys. Every change is audited.

use aigw_core::audit::{product, ActionType, AuditResource};
use aigw_core::clock::rfc3339_ms;
use aigw_store::tokens::Access;
use aigw_store::users::{Role, User, UserChange};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::audit::{audited, RequestAudit};
use crate::auth::{authorize, Caller};
use crate::body::{at, email, object, page, string};
use crate::envelope::{ok, ok_paged, ApiError, ApiResult};
use crate::password::{check_rules, hash_password, verify_password};
use crate::AdminState;

const MAX_PER_PAGE: u32 = 100;
const MAX_NAME_CHARS: usize = 100;

/// A user as the API shows it.
pub fn wire(u: &User) -> Value {
    let mut v = crate::session::user_json(u);
    v["created_at"] = Value::from(rfc3339_ms(u.created_at_ms));
    v["modified_at"] = Value::from(rfc3339_ms(u.modified_at_ms));
    v
}

/// A member signed in to the dashboard (an admin or an API token is not).
fn member(caller: &Caller) -> Option<&crate::session::SessionUser> {
    caller.user.as_ref().filter(|u| u.role == Role::Member)
}

fn role(o: &serde_json::Map<String, Value>) -> Result<Option<Role>, ApiError> {
    match o.get("role") {
        None => Ok(None),
        Some(v) => v
            .as_str()
            .and_then(Role::parse)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(at(&["role"]), "role must be \"admin\" or \"member\"")),
    }
}

fn password(o: &serde_json::Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match o.get(field) {
        None => Ok(None),
        Some(Value::String(p)) => Ok(Some(p.clone())),
        Some(_) => Err(ApiError::invalid(at(&[field]), format!("{field} must be a string"))),
    }
}

pub async fn list(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    if member(&caller).is_some() {
        return Err(ApiError::forbidden());
    }
    let (page, per_page, _) = page(query.as_deref(), MAX_PER_PAGE)?;
    let (users, total) =
        state.db.read(move |c| Ok(aigw_store::users::list_users(c, &account, page, per_page)?)).await?;
    let result: Vec<Value> = users.iter().map(wire).collect();
    let info = json!({ "page": page, "per_page": per_page, "count": result.len(), "total_count": total });
    Ok(ok_paged(Value::Array(result), info))
}

pub async fn get(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    if member(&caller).is_some_and(|m| m.id != id) {
        return Err(ApiError::forbidden());
    }
    let found = state.db.read(move |c| Ok(aigw_store::users::get_user(c, &account, &id)?)).await?;
    found.map(|u| ok(wire(&u))).ok_or_else(ApiError::not_found)
}

pub async fn create(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    audit: RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
    let o = object(&body, &["email", "name", "password", "role"])?;
    let email = email(&o, "email")?.ok_or_else(|| ApiError::invalid(at(&["email"]), "email is required"))?;
    let name = match string(&o, "name", MAX_NAME_CHARS)? {
        Some(n) => n,
        None => email.split('@').next().unwrap_or_default().to_string(),
    };
    let password =
        password(&o, "password")?.ok_or_else(|| ApiError::invalid(at(&["password"]), "password is required"))?;
    check_rules(&password).map_err(|e| ApiError::invalid(at(&["password"]), e.to_string()))?;
    let role = role(&o)?.unwrap_or(Role::Member);
    let now = state.clock.now_ms();
    let user = User {
        id: uuid::Uuid::new_v4().simple().to_string(),
        account_id: account,
        email,
        name,
        role,
        created_at_ms: now,
        modified_at_ms: now,
    };
    let request = json!({ "email": user.email, "name": user.name, "role": role.as_str() });
    let resource = AuditResource::new(product::USERS, "user", Some(&user.id)).with_request(request);
    let record = audit.record(&caller, ActionType::Create, "Create user", resource).with_response(wire(&user));
    let stored = user.clone();
    audited(&state.db, move |c| {
        let hash = hash_password(&password).map_err(ApiError::internal)?;
        aigw_store::users::insert_user(c, &stored, &hash)?;
        Ok(((), record))
    })
    .await?;
    Ok(ok(wire(&user)))
}

pub async fn update(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let is_member = member(&caller).is_some();
    if is_member && member(&caller).is_some_and(|m| m.id != id) {
        return Err(ApiError::forbidden());
    }
    if !is_member && caller.access != Access::Write {
        return Err(ApiError::forbidden());
    }
    let known: &[&str] = if is_member {
        &["name", "password", "current_password"]
    } else {
        &["email", "name", "role", "password", "current_password"]
    };
    let o = object(&body, known)?;
    let new_password = password(&o, "password")?;
    if let Some(p) = &new_password {
        check_rules(p).map_err(|e| ApiError::invalid(at(&["password"]), e.to_string()))?;
    }
    // Changing one's own password takes the current one.
    let own = caller.user.as_ref().is_some_and(|u| u.id == id);
    let current = password(&o, "current_password")?;
    if own && new_password.is_some() && current.is_none() {
        return Err(ApiError::invalid(
            at(&["current_password"]),
            "current_password is required to change your own password",
        ));
    }
    let mut change = UserChange {
        email: email(&o, "email")?,
        name: string(&o, "name", MAX_NAME_CHARS)?,
        role: role(&o)?,
        password_hash: None,
    };
    let mut request = Value::Object(o.clone());
    aigw_core::audit::redact::redact_value(&mut request);
    let resource = AuditResource::new(product::USERS, "user", Some(&id)).with_request(request);
    let record = audit.record(&caller, ActionType::Update, "Update user", resource);
    let now = state.clock.now_ms();
    let updated = audited(&state.db, move |c| {
        let before = aigw_store::users::get_user(c, &account, &id)?.ok_or_else(ApiError::not_found)?;
        if before.role == Role::Admin
            && change.role == Some(Role::Member)
            && aigw_store::users::count_admins(c, &account)? <= 1
        {
            return Err(ApiError::conflict("an account keeps at least one admin"));
        }
        if let Some(p) = new_password {
            if own {
                let stored = aigw_store::users::password_hash(c, &id)?.unwrap_or_default();
                if !verify_password(current.as_deref().unwrap_or(""), &stored) {
                    return Err(ApiError::invalid(at(&["current_password"]), "current_password is wrong"));
                }
            }
            change.password_hash = Some(hash_password(&p).map_err(ApiError::internal)?);
        }
        let updated =
            aigw_store::users::update_user(c, &account, &id, &change, now)?.ok_or_else(ApiError::not_found)?;
        let response = wire(&updated);
        Ok((updated, record.with_response(response)))
    })
    .await?;
    state.ops.keys_changed().await;
    Ok(ok(wire(&updated)))
}

pub async fn delete(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Write).await?;
    let resource = AuditResource::new(product::USERS, "user", Some(&id));
    let record = audit.record(&caller, ActionType::Delete, "Delete user", resource);
    let now = state.clock.now_ms();
    let deleted = audited(&state.db, move |c| {
        let user = aigw_store::users::get_user(c, &account, &id)?.ok_or_else(ApiError::not_found)?;
        if user.role == Role::Admin && aigw_store::users::count_admins(c, &account)? <= 1 {
            return Err(ApiError::conflict("an account keeps at least one admin"));
        }
        let deleted = aigw_store::users::delete_user(c, &account, &id, now)?.ok_or_else(ApiError::not_found)?;
        let response = wire(&deleted);
        Ok((deleted, record.with_response(response)))
    })
    .await?;
    state.ops.keys_changed().await;
    Ok(ok(wire(&deleted)))
}

/// `DELETE .../users/{user_id}/sessions`: ends every session of the user (an admin, or the
/// user themself).
pub async fn end_sessions(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let own = caller.user.as_ref().is_some_and(|u| u.id == id);
    if !own && caller.access != Access::Write {
        return Err(ApiError::forbidden());
    }
    let resource = AuditResource::new(product::SESSIONS, "session", None).with_request(json!({ "user_id": id }));
    let record = audit.record(&caller, ActionType::Delete, "End sessions", resource);
    let now = crate::session::wall_ms();
    let ended = audited(&state.db, move |c| {
        aigw_store::users::get_user(c, &account, &id)?.ok_or_else(ApiError::not_found)?;
        let ended = aigw_store::sessions::revoke_user_sessions(c, &id, now)?;
        Ok((ended, record.with_response(json!({ "ended": ended }))))
    })
    .await?;
    Ok(ok(json!({ "ended": ended })))
}
