//! Dashboard sessions: `POST /auth/login`, `POST /auth/logout`, `GET /auth/session`, the
//! session cookie as a credential for every admin endpoint, and the CSRF rule.
//!
//! A log-in checks the email and password (argon2), then stores a new session (only the SHA-256
//! of its random token) and answers with an `HttpOnly; SameSite=Strict` cookie and a CSRF token.
//! Requests that change something (not GET/HEAD/OPTIONS) with the cookie as their credential
//! must echo the CSRF token in `X-CSRF-Token` (403 otherwise). The role decides access: `admin`
//! reads and writes, `member` reads (and manages their own keys). Log-ins are rate limited;
//! log-ins, failed log-ins and log-outs are audited.

pub(crate) mod cookie;
mod guard;

use std::sync::Arc;

use aigw_core::audit::{
    product, ActionResult, ActionType, ActorContext, ActorType, AuditAccount, AuditActor, AuditResource,
};
use aigw_core::keys::hashes_match;
use aigw_store::sessions::{NewSession, Session};
use aigw_store::tokens::Access;
use aigw_store::users::{Role, User};
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{json, Value};

pub use cookie::{COOKIE, TOKEN_PREFIX};
pub use guard::LoginGuard;

use crate::audit::{audited, AlreadyAudited, RequestAudit};
use crate::auth::{hash_secret, Caller};
use crate::db::Db;
use crate::envelope::{ok, ApiError, ApiResult};
use crate::AdminState;

/// The header state-changing requests with a session cookie must carry.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Ended sessions are deleted this long after they ended.
const KEEP_ENDED_MS: i64 = 7 * 24 * 3600 * 1000;

/// How sessions are made (from the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    /// How long a session lasts after log-in.
    pub session_ttl_ms: i64,
    /// Mark the cookie `Secure` (requests with `X-Forwarded-Proto: https` get it anyway).
    pub secure_cookies: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { session_ttl_ms: 12 * 3600 * 1000, secure_cookies: false }
    }
}

/// The user behind a session credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    /// The session's public id.
    pub session_id: String,
}

/// `{id, email, name, role, account_id}`.
pub fn user_json(u: &User) -> Value {
    json!({ "id": u.id, "email": u.email, "name": u.name, "role": u.role.as_str(), "account_id": u.account_id })
}

/// The audit actor for a dashboard user.
pub fn user_actor(id: &str, email: &str, ip: Option<String>) -> AuditActor {
    AuditActor {
        id: Some(id.to_string()),
        kind: ActorType::User,
        context: Some(ActorContext::Dash),
        email: Some(email.to_string()),
        ip_address: ip,
        token_id: None,
        token_name: None,
    }
}

/// Whether the request carries an API token credential (which wins over a cookie).
pub(crate) fn has_token_credentials(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
        || headers.contains_key("x-auth-key")
        || headers.contains_key("x-auth-email")
}

/// The live session of the request's cookie.
pub(crate) async fn session_of(db: &Db, headers: &HeaderMap, now_ms: i64) -> Result<Option<Session>, ApiError> {
    let Some(token) = cookie::session_token(headers) else { return Ok(None) };
    let hash = hash_secret(&token);
    db.read(move |c| Ok(aigw_store::sessions::find_session(c, &hash, now_ms)?)).await
}

/// The caller of a request whose credential is the session cookie; `None` when the request
/// carries an API token or no cookie. A cookie of no live session is 401; another account's,
/// or a member asking for write access, 403.
pub(crate) async fn from_cookie(
    db: &Db,
    now_ms: i64,
    headers: &HeaderMap,
    account: &str,
    need: Access,
) -> Result<Option<Caller>, ApiError> {
    if has_token_credentials(headers) || cookie::session_token(headers).is_none() {
        return Ok(None);
    }
    let session = session_of(db, headers, now_ms).await?.ok_or_else(ApiError::unauthenticated)?;
    let user = session.user;
    let access = if user.role == Role::Admin { Access::Write } else { Access::Read };
    if user.account_id != account || (need == Access::Write && access != Access::Write) {
        return Err(ApiError::forbidden());
    }
    Ok(Some(Caller {
        token_id: String::new(),
        token_name: String::new(),
        account_id: user.account_id,
        email: Some(user.email.clone()),
        access,
        user: Some(SessionUser {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role,
            session_id: session.id,
        }),
    }))
}

/// Middleware: a state-changing request whose credential is a live session cookie must carry
/// that session's CSRF token in `X-CSRF-Token`.
pub(crate) async fn csrf_layer(State(state): State<AdminState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let headers = req.headers();
    if safe || req.uri().path().ends_with("/auth/login") || has_token_credentials(headers) {
        return next.run(req).await;
    }
    let session = match session_of(&state.db, headers, wall_ms()).await {
        Ok(Some(s)) => s,
        // No live session: the handler answers 401 (or uses another credential).
        Ok(None) => return next.run(req).await,
        Err(e) => return e.into_response(),
    };
    let presented = headers.get(CSRF_HEADER).map(HeaderValue::as_bytes).unwrap_or_default();
    if hashes_match(presented, session.csrf_token.as_bytes()) {
        return next.run(req).await;
    }
    ApiError {
        status: StatusCode::FORBIDDEN,
        code: 10000,
        message: "Missing or invalid X-CSRF-Token header: send the csrf_token of the log-in".into(),
        path: None,
        error_chain: Vec::new(),
    }
    .into_response()
}

/// Sessions live on wall-clock time: the admin API's credentials check has no clock of its own.
pub(crate) fn wall_ms() -> i64 {
    use aigw_core::Clock;
    aigw_core::SystemClock.now_ms()
}

fn random_hex(bytes: usize) -> Result<String, ApiError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(ApiError::internal)?;
    Ok(hex::encode(buf))
}

/// `POST /auth/login` `{email, password}`.
pub async fn login(
    State(state): State<AdminState>,
    Extension(guard): Extension<Arc<LoginGuard>>,
    audit: RequestAudit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let (email, password) = credentials(&body)?;
    let now = wall_ms();
    let ip = audit.ip_address.clone();
    if let Err(wait_secs) = guard.check(&email, ip.as_deref(), now) {
        record_failure(&state, &audit, &email, None, "Log in refused: too many failed attempts", 429).await;
        let mut response = ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: 10429,
            message: format!("Too many failed log-ins: try again in {wait_secs} s"),
            path: None,
            error_chain: Vec::new(),
        }
        .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
        return Ok(response);
    }
    let lookup = email.clone();
    let found = state
        .db
        .read(move |c| {
            let found = aigw_store::users::find_login(c, &lookup)?;
            Ok(match found {
                Some((user, hash)) => {
                    if crate::password::verify_password(&password, &hash) {
                        Ok(user)
                    } else {
                        Err(Some(user.account_id))
                    }
                }
                None => {
                    crate::password::verify_nothing(&password);
                    Err(None)
                }
            })
        })
        .await?;
    let user = match found {
        Ok(user) => user,
        Err(account) => {
            guard.failed(&email, ip.as_deref(), now);
            record_failure(&state, &audit, &email, account, "Log in failed", 401).await;
            let mut response = ApiError {
                status: StatusCode::UNAUTHORIZED,
                code: 10001,
                message: "Invalid email or password".into(),
                path: None,
                error_chain: Vec::new(),
            }
            .into_response();
            response.extensions_mut().insert(AlreadyAudited);
            return Ok(response);
        }
    };
    guard.succeeded(&email);

    let settings = state.ops.auth_settings();
    let token = format!("{TOKEN_PREFIX}{}", random_hex(32)?);
    let session = NewSession {
        id: random_hex(8)?,
        token_hash: hash_secret(&token),
        user_id: user.id.clone(),
        csrf_token: random_hex(32)?,
        created_at_ms: now,
        expires_at_ms: now + settings.session_ttl_ms,
        ip_address: ip.clone(),
        user_agent: audit.user_agent.clone(),
    };
    let resource = AuditResource::new(product::SESSIONS, "session", Some(&session.id));
    let mut record = audit.record_by(user_actor(&user.id, &user.email, ip), ActionType::Create, "Log in", resource);
    record.account = AuditAccount { id: user.account_id.clone(), name: state.ops.account_name(&user.account_id) };
    let record = record.with_response(
        json!({ "user": user_json(&user), "expires_at": aigw_core::clock::rfc3339_ms(session.expires_at_ms) }),
    );
    let stored = session.clone();
    audited(&state.db, move |c| {
        aigw_store::sessions::delete_ended(c, now, KEEP_ENDED_MS)?;
        aigw_store::sessions::insert_session(c, &stored)?;
        Ok(((), record))
    })
    .await?;
    let mut response = ok(json!({ "user": user_json(&user), "csrf_token": session.csrf_token }));
    if let Some(v) = cookie::set(&token, settings.session_ttl_ms / 1000, settings.secure_cookies, &headers) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The email and password of a log-in body.
fn credentials(body: &[u8]) -> Result<(String, String), ApiError> {
    let invalid =
        |field: &str, message: &str| ApiError::invalid(vec![Value::from("body"), Value::from(field)], message);
    let v: Value = serde_json::from_slice(body).map_err(|_| {
        ApiError::invalid(vec![Value::from("body")], "the body must be a JSON object {\"email\", \"password\"}")
    })?;
    let email = v.get("email").and_then(Value::as_str).map(str::trim).filter(|e| !e.is_empty() && e.len() <= 254);
    let password = v.get("password").and_then(Value::as_str).filter(|p| !p.is_empty());
    let email = email.ok_or_else(|| invalid("email", "email is required"))?;
    let password = password.ok_or_else(|| invalid("password", "password is required"))?;
    Ok((email.to_string(), password.to_string()))
}

/// Records a failed log-in in `account` (the user's, when the email names one; else the first
/// configured account).
async fn record_failure(
    state: &AdminState,
    audit: &RequestAudit,
    email: &str,
    account: Option<String>,
    what: &str,
    status: u16,
) {
    let Some(account) = account.or_else(|| state.ops.default_account()) else { return };
    let actor = AuditActor {
        id: None,
        kind: ActorType::User,
        context: Some(ActorContext::Dash),
        email: Some(email.to_string()),
        ip_address: audit.ip_address.clone(),
        token_id: None,
        token_name: None,
    };
    let mut record =
        audit.record_by(actor, ActionType::Create, what, AuditResource::new(product::SESSIONS, "session", None));
    record.account = AuditAccount { name: state.ops.account_name(&account), id: account };
    record.action.result = ActionResult::Failure;
    record.raw.status_code = Some(status);
    if let Err(e) = state.db.write(move |c| Ok(aigw_store::audit::append(c, &record)?)).await {
        tracing::error!(error = %e.message, "cannot record a failed log-in");
    }
}

/// `POST /auth/logout`: ends the session of the cookie and clears it.
pub async fn logout(State(state): State<AdminState>, audit: RequestAudit, headers: HeaderMap) -> ApiResult {
    let now = wall_ms();
    let session = session_of(&state.db, &headers, now).await?.ok_or_else(ApiError::unauthenticated)?;
    let user = &session.user;
    let resource = AuditResource::new(product::SESSIONS, "session", Some(&session.id));
    let mut record = audit.record_by(user_actor(&user.id, &user.email, None), ActionType::Delete, "Log out", resource);
    record.account = AuditAccount { id: user.account_id.clone(), name: state.ops.account_name(&user.account_id) };
    let id = session.id.clone();
    audited(&state.db, move |c| Ok((aigw_store::sessions::revoke_session(c, &id, now)?, record))).await?;
    let mut response = ok(json!({ "logged_out": true }));
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie::clear(state.ops.auth_settings().secure_cookies, &headers));
    Ok(response)
}

/// `GET /auth/session`: the user and CSRF token of the cookie's session, or 401.
pub async fn current(State(state): State<AdminState>, headers: HeaderMap) -> ApiResult {
    let session = session_of(&state.db, &headers, wall_ms()).await?.ok_or_else(ApiError::unauthenticated)?;
    let mut response = ok(json!({
        "user": user_json(&session.user),
        "csrf_token": session.csrf_token,
        "expires_at": aigw_core::clock::rfc3339_ms(session.expires_at_ms),
    }));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
