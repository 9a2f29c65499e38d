//! `/accounts/{account_id}/ai-gateway/virtual-keys[/{key_id}[/rotate]]`: virtual keys.
//!
//! List, create (the secret is in the answer this once), get, update (PATCH: the fields given
//! replace the stored ones), revoke (DELETE) and rotate (a new secret, once; the old one stops
//! working at once). An admin (or a write token) manages every key of the account, a read-only
//! token reads them, and a member sees and manages only their own. Every change is audited and
//! reaches the data plane's key index before the answer is sent.

mod input;

use aigw_core::audit::{product, ActionType, AuditResource};
use aigw_core::clock::rfc3339_ms;
use aigw_core::keys::{format_key, hash_key, VirtualKey};
use aigw_core::period::BudgetPeriod;
use aigw_store::tokens::Access;
use aigw_store::users::Role;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{json, Value};

use crate::audit::{audited, RequestAudit};
use crate::auth::{authorize, Caller};
use crate::body::page;
use crate::envelope::{ok, ok_paged, ApiError, ApiResult};
use crate::AdminState;

const MAX_PER_PAGE: u32 = 100;

/// What the data plane knows of a key right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyActivity {
    /// USD spent in the period asked about.
    pub spent_usd: f64,
    pub last_used_ms: Option<i64>,
}

/// Which keys a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Every key of the account; `write` whether it may change them.
    All { write: bool },
    /// Only the keys this user owns (a member).
    Own(String),
}

pub(crate) fn reach(caller: &Caller) -> Reach {
    match &caller.user {
        Some(u) if u.role == Role::Member => Reach::Own(u.id.clone()),
        _ => Reach::All { write: caller.access == Access::Write },
    }
}

impl Reach {
    fn sees(&self, key: &VirtualKey) -> bool {
        match self {
            Reach::All { .. } => true,
            Reach::Own(user) => key.owner.id == *user,
        }
    }
    fn writes(&self, key: &VirtualKey) -> bool {
        match self {
            Reach::All { write } => *write,
            Reach::Own(user) => key.owner.id == *user,
        }
    }
}

/// The period a key's `spend` covers: its budget's, else the current UTC month.
pub(crate) fn spend_period(key: &VirtualKey) -> BudgetPeriod {
    key.limits.budget.map_or(BudgetPeriod::Month, |b| b.period)
}

/// The key's spend and last use, from the data plane, or from the logs when it does not know.
pub(crate) async fn activity(state: &AdminState, key: &VirtualKey) -> Result<KeyActivity, ApiError> {
    let period = spend_period(key);
    if let Some(a) = state.ops.key_activity(&key.id, period) {
        return Ok(a);
    }
    let since = period.start_ms(state.clock.now_ms());
    let id = key.id.clone();
    let (spent_usd, last_used_ms) =
        state.db.read(move |c| Ok(aigw_store::usage::key_spend_since(c, &id, since)?)).await?;
    Ok(KeyActivity { spent_usd, last_used_ms })
}

/// A key as the API shows it (never its secret or hash).
pub fn wire(k: &VirtualKey, activity: Option<KeyActivity>, now_ms: i64) -> Value {
    let l = &k.limits;
    let period = spend_period(k);
    json!({
        "id": k.id,
        "name": k.name,
        "account_id": k.account_id,
        "prefix": k.prefix(),
        "status": k.status(now_ms).as_str(),
        "owner": { "id": k.owner.id, "email": k.owner.email, "name": k.owner.name },
        "created_at": rfc3339_ms(k.created_at_ms),
        "modified_at": rfc3339_ms(k.modified_at_ms),
        "expires_at": k.expires_at_ms.map(rfc3339_ms),
        "revoked_at": k.revoked_at_ms.map(rfc3339_ms),
        "last_used_at": activity.and_then(|a| a.last_used_ms).map(rfc3339_ms),
        "gateways": l.gateways,
        "providers": l.providers,
        "models": l.models,
        "rate_limit": {
            "requests_per_minute": l.rate_limit.requests_per_minute,
            "tokens_per_minute": l.rate_limit.tokens_per_minute,
        },
        "budget": l.budget.map(|b| json!({ "usd": b.usd, "period": b.period.as_str() })),
        "spend": activity.map_or(0.0, |a| a.spent_usd),
        "spend_period": period.as_str(),
        "spend_since": (period != BudgetPeriod::Total).then(|| rfc3339_ms(period.start_ms(now_ms))),
    })
}

async fn wire_now(state: &AdminState, key: &VirtualKey) -> Result<Value, ApiError> {
    let a = activity(state, key).await?;
    Ok(wire(key, Some(a), state.clock.now_ms()))
}

/// The key `id` if the caller may see it (404 otherwise, so others' keys are not disclosed).
async fn visible(state: &AdminState, account: &str, id: &str, reach: &Reach) -> Result<VirtualKey, ApiError> {
    let (a, i) = (account.to_string(), id.to_string());
    let key = state.db.read(move |c| Ok(aigw_store::keys::get_key(c, &a, &i)?)).await?;
    key.filter(|k| reach.sees(k)).ok_or_else(ApiError::not_found)
}

fn random_hex(bytes: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(ApiError::internal)?;
    Ok(hex::encode(buf))
}

/// A new key id and the whole key (`aigw_vk_<id>_<secret>`).
pub fn new_key() -> Result<(String, String), ApiError> {
    let id = random_hex(aigw_core::keys::KEY_ID_LEN / 2)?;
    let secret = random_hex(aigw_core::keys::KEY_SECRET_LEN / 2)?;
    let full = format_key(&id, &secret);
    Ok((id, full))
}

pub async fn list(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let (page, per_page, params) = page(query.as_deref(), MAX_PER_PAGE)?;
    let owner = match reach(&caller) {
        Reach::Own(user) => Some(user),
        Reach::All { .. } => params.iter().rev().find(|(k, _)| k == "owner_id").map(|(_, v)| v.clone()),
    };
    let (keys, total) =
        state.db.read(move |c| Ok(aigw_store::keys::list_keys(c, &account, owner.as_deref(), page, per_page)?)).await?;
    let mut result = Vec::with_capacity(keys.len());
    for k in &keys {
        result.push(wire_now(&state, k).await?);
    }
    let info = json!({ "page": page, "per_page": per_page, "count": result.len(), "total_count": total });
    Ok(ok_paged(Value::Array(result), info))
}

pub async fn get(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let key = visible(&state, &account, &id, &reach(&caller)).await?;
    Ok(ok(wire_now(&state, &key).await?))
}

pub async fn create(
    State(state): State<AdminState>,
    Path(account): Path<String>,
    audit: RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let reach = reach(&caller);
    if reach == (Reach::All { write: false }) {
        return Err(ApiError::forbidden());
    }
    let now = state.clock.now_ms();
    let parsed = input::parse(&body, input::Mode::Create, now)?;
    let owner = input::owner(&state, &account, &caller, &reach, &parsed).await?.ok_or_else(|| {
        ApiError::invalid(
            crate::body::at(&["owner_id"]),
            "owner_id or owner_email is required: a key belongs to a user",
        )
    })?;
    let (id, secret) = new_key()?;
    let mut key = VirtualKey {
        id,
        account_id: account,
        name: String::new(),
        owner,
        secret_hash: hash_key(&secret).to_vec(),
        created_at_ms: now,
        modified_at_ms: now,
        expires_at_ms: None,
        revoked_at_ms: None,
        limits: Default::default(),
    };
    parsed.apply(&mut key)?;
    let shown = wire(&key, None, now);
    let resource = AuditResource::new(product::KEYS, "key", Some(&key.id)).with_request(parsed.request.clone());
    let record = audit.record(&caller, ActionType::Create, "Create virtual key", resource).with_response(shown.clone());
    let stored = key.clone();
    audited(&state.db, move |c| Ok((aigw_store::keys::insert_key(c, &stored)?, record))).await?;
    state.ops.keys_changed().await;
    let mut result = shown;
    result["secret"] = Value::from(secret);
    Ok(ok(result))
}

pub async fn update(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let reach = reach(&caller);
    let mut key = visible(&state, &account, &id, &reach).await?;
    if !reach.writes(&key) {
        return Err(ApiError::forbidden());
    }
    if key.revoked_at_ms.is_some() {
        return Err(ApiError::conflict("the key is revoked"));
    }
    let now = state.clock.now_ms();
    let parsed = input::parse(&body, input::Mode::Update, now)?;
    if let Some(owner) = input::owner(&state, &account, &caller, &reach, &parsed).await? {
        key.owner = owner;
    }
    parsed.apply(&mut key)?;
    key.modified_at_ms = now;
    let resource = AuditResource::new(product::KEYS, "key", Some(&key.id)).with_request(parsed.request.clone());
    let record =
        audit.record(&caller, ActionType::Update, "Update virtual key", resource).with_response(wire(&key, None, now));
    let stored = key.clone();
    audited(&state.db, move |c| {
        if !aigw_store::keys::save_key(c, &stored)? {
            return Err(ApiError::conflict("the key is revoked"));
        }
        Ok(((), record))
    })
    .await?;
    state.ops.keys_changed().await;
    Ok(ok(wire_now(&state, &key).await?))
}

pub async fn revoke(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let reach = reach(&caller);
    let mut key = visible(&state, &account, &id, &reach).await?;
    if !reach.writes(&key) {
        return Err(ApiError::forbidden());
    }
    if key.revoked_at_ms.is_some() {
        // Revoked already: nothing changes.
        return Ok(ok(wire_now(&state, &key).await?));
    }
    let now = state.clock.now_ms();
    key.revoked_at_ms = Some(now);
    key.modified_at_ms = now;
    let resource = AuditResource::new(product::KEYS, "key", Some(&key.id));
    let record =
        audit.record(&caller, ActionType::Delete, "Revoke virtual key", resource).with_response(wire(&key, None, now));
    let (a, i) = (account.clone(), id.clone());
    audited(&state.db, move |c| Ok((aigw_store::keys::revoke_key(c, &a, &i, now)?, record))).await?;
    state.ops.keys_changed().await;
    Ok(ok(wire_now(&state, &key).await?))
}

pub async fn rotate(
    State(state): State<AdminState>,
    Path((account, id)): Path<(String, String)>,
    audit: RequestAudit,
    headers: HeaderMap,
) -> ApiResult {
    let caller = authorize(&state.db, &headers, &account, Access::Read).await?;
    let reach = reach(&caller);
    let mut key = visible(&state, &account, &id, &reach).await?;
    if !reach.writes(&key) {
        return Err(ApiError::forbidden());
    }
    if key.revoked_at_ms.is_some() {
        return Err(ApiError::conflict("the key is revoked"));
    }
    let secret = format_key(&key.id, &random_hex(aigw_core::keys::KEY_SECRET_LEN / 2)?);
    let now = state.clock.now_ms();
    key.secret_hash = hash_key(&secret).to_vec();
    key.modified_at_ms = now;
    let resource = AuditResource::new(product::KEYS, "key", Some(&key.id));
    let record =
        audit.record(&caller, ActionType::Update, "Rotate virtual key", resource).with_response(wire(&key, None, now));
    let (a, i, hash) = (account.clone(), id.clone(), key.secret_hash.clone());
    audited(&state.db, move |c| {
        if !aigw_store::keys::set_secret(c, &a, &i, &hash, now)? {
            return Err(ApiError::conflict("the key is revoked"));
        }
        Ok(((), record))
    })
    .await?;
    state.ops.keys_changed().await;
    let mut result = wire_now(&state, &key).await?;
    result["secret"] = Value::from(secret);
    Ok(ok(result))
}
