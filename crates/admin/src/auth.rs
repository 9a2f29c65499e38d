//! Who is calling: `Authorization: Bearer <token>` or `X-Auth-Email` + `X-Auth-Key`, resolved
//! against the stored token hashes, or a dashboard session cookie (see `session`). A token
//! belongs to one account and carries read or read+write access; a session's user role decides
//! (admin: read+write, member: read).
//!
//! Missing credentials: 401 (10001). Unknown, revoked, another account's, or read-only for a
//! write: 403 (10000). A malformed `Authorization` header: 400 (6003), as Cloudflare answers.

use aigw_store::tokens::{Access, ApiToken};
use axum::http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use crate::db::Db;
use crate::envelope::ApiError;

/// Prefix of every admin token, so leaked tokens are recognisable (and scannable).
pub const TOKEN_PREFIX: &str = "aigw_at_";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token_id: String,
    pub token_name: String,
    pub account_id: String,
    pub email: Option<String>,
    pub access: Access,
    /// The dashboard user, when the credential is a session cookie (then `token_id` and
    /// `token_name` are empty).
    pub user: Option<crate::session::SessionUser>,
}

/// A new random token secret: `aigw_at_` and 48 hex digits (192 bits).
pub fn new_token_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// What is stored of a token secret.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Authenticates the request and checks it may act on `account` with `need`.
pub async fn authorize(db: &Db, headers: &HeaderMap, account: &str, need: Access) -> Result<Caller, ApiError> {
    // A dashboard session cookie, when the request carries no API token.
    if let Some(caller) = crate::session::from_cookie(db, crate::session::wall_ms(), headers, account, need).await? {
        return Ok(caller);
    }
    let (secret, email) = credentials(headers)?;
    let hash = hash_secret(&secret);
    let token = db.read(move |conn| Ok(aigw_store::tokens::find_token(conn, &hash)?)).await?;
    let Some(token) = token else {
        return Err(ApiError::forbidden());
    };
    if let Some(email) = email {
        if !token.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(&email)) {
            return Err(ApiError::forbidden());
        }
    }
    if token.account_id != account || (need == Access::Write && token.access != Access::Write) {
        return Err(ApiError::forbidden());
    }
    Ok(caller(token))
}

fn caller(t: ApiToken) -> Caller {
    Caller {
        token_id: t.id,
        token_name: t.name,
        account_id: t.account_id,
        email: t.email,
        access: t.access,
        user: None,
    }
}

/// The secret and, for the email + key scheme, the email.
pub(crate) fn credentials(headers: &HeaderMap) -> Result<(String, Option<String>), ApiError> {
    if let Some(value) = headers.get(axum::http::header::AUTHORIZATION) {
        let text = value.to_str().map_err(|_| malformed("Invalid format for Authorization header", 6111))?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty() && !t.contains(' '))
            .ok_or_else(|| malformed("Invalid format for Authorization header", 6111))?;
        return Ok((token.to_string(), None));
    }
    let email = headers.get("x-auth-email");
    let key = headers.get("x-auth-key");
    match (email, key) {
        (Some(email), Some(key)) => {
            let email = email.to_str().map_err(|_| malformed("Invalid format for X-Auth-Email header", 6102))?;
            let key = key.to_str().map_err(|_| malformed("Invalid format for X-Auth-Key header", 6103))?;
            if email.is_empty() || key.is_empty() {
                return Err(ApiError::unauthenticated());
            }
            Ok((key.trim().to_string(), Some(email.trim().to_string())))
        }
        _ => Err(ApiError::unauthenticated()),
    }
}

fn malformed(message: &str, chain_code: u32) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: 6003,
        message: "Invalid request headers".into(),
        path: None,
        error_chain: vec![(chain_code, message.to_string())],
    }
}
