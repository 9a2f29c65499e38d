//! Admin API tokens. Only a SHA-256 of each token is stored; tokens are 256-bit random secrets,
//! so a fast hash is enough (passwords, which are not, get argon2 elsewhere).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::StoreError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "read" => Some(Access::Read),
            "write" => Some(Access::Write),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub account_id: String,
    pub name: String,
    /// For `X-Auth-Email` + `X-Auth-Key` authentication.
    pub email: Option<String>,
    pub access: Access,
    pub secret_hash: Vec<u8>,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, account_id, name, email, access, secret_hash, created_at, last_used_at, revoked_at";

fn row_to_token(r: &Row<'_>) -> rusqlite::Result<ApiToken> {
    let access: String = r.get(4)?;
    Ok(ApiToken {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        email: r.get(3)?,
        access: Access::parse(&access).unwrap_or(Access::Read),
        secret_hash: r.get(5)?,
        created_at_ms: r.get(6)?,
        last_used_at_ms: r.get(7)?,
        revoked_at_ms: r.get(8)?,
    })
}

pub fn insert_token(conn: &Connection, t: &ApiToken) -> Result<(), StoreError> {
    conn.prepare_cached(&format!("INSERT INTO api_tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"))?
        .execute(params![
            t.id,
            t.account_id,
            t.name,
            t.email,
            t.access.as_str(),
            t.secret_hash,
            t.created_at_ms,
            t.last_used_at_ms,
            t.revoked_at_ms
        ])
        .map_err(|e| StoreError::from_constraint(e, format!("token {:?} already exists", t.id)))?;
    Ok(())
}

/// The live (not revoked) token whose secret hashes to `hash`.
pub fn find_token(conn: &Connection, hash: &[u8]) -> Result<Option<ApiToken>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM api_tokens WHERE secret_hash = ?1 AND revoked_at IS NULL"))?
        .query_row(params![hash], row_to_token)
        .optional()?)
}

pub fn list_tokens(conn: &Connection, account: Option<&str>) -> Result<Vec<ApiToken>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE ?1 IS NULL OR account_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map(params![account], row_to_token)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Revokes a token; false when there is no live token with that id.
pub fn revoke_token(conn: &Connection, id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let n = conn
        .execute("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", params![id, now_ms])?;
    Ok(n > 0)
}
