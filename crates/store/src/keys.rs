//! Virtual keys. Only the SHA-256 of each key is stored. Keys are never deleted: a revoked key
//! keeps its row so that logs and usage still name it. Every change bumps the directory version
//! so that a running gateway reloads its in-memory index.

use aigw_core::keys::{Budget, KeyLimits, KeyOwner, RateLimit, VirtualKey};
use aigw_core::period::BudgetPeriod;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::StoreError;
use crate::users::bump_version;

const SELECT: &str = "SELECT k.id, k.account_id, k.name, k.owner_id, u.email, u.name, k.secret_hash, k.created_at,
    k.modified_at, k.expires_at, k.revoked_at, k.gateways, k.providers, k.models, k.requests_per_minute,
    k.tokens_per_minute, k.budget_usd, k.budget_period
    FROM virtual_keys k JOIN users u ON u.id = k.owner_id";

fn row_to_key(r: &Row<'_>) -> rusqlite::Result<VirtualKey> {
    let list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let text: String = r.get(i)?;
        serde_json::from_str(&text)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
    };
    let budget_usd: Option<f64> = r.get(16)?;
    let budget_period: Option<String> = r.get(17)?;
    let budget = match (budget_usd, budget_period.as_deref().and_then(BudgetPeriod::parse)) {
        (Some(usd), Some(period)) => Some(Budget { usd, period }),
        _ => None,
    };
    let rpm: Option<i64> = r.get(14)?;
    let tpm: Option<i64> = r.get(15)?;
    Ok(VirtualKey {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        owner: KeyOwner { id: r.get(3)?, email: r.get(4)?, name: r.get(5)? },
        secret_hash: r.get(6)?,
        created_at_ms: r.get(7)?,
        modified_at_ms: r.get(8)?,
        expires_at_ms: r.get(9)?,
        revoked_at_ms: r.get(10)?,
        limits: KeyLimits {
            gateways: list(11)?,
            providers: list(12)?,
            models: list(13)?,
            rate_limit: RateLimit {
                requests_per_minute: rpm.and_then(|n| u32::try_from(n).ok()),
                tokens_per_minute: tpm.and_then(|n| u64::try_from(n).ok()),
            },
            budget,
        },
    })
}

fn json_list(list: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(list).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Adds a key.
pub fn insert_key(conn: &Connection, k: &VirtualKey) -> Result<(), StoreError> {
    let l = &k.limits;
    conn.prepare_cached(
        "INSERT INTO virtual_keys (id, account_id, name, owner_id, secret_hash, created_at, modified_at, expires_at,
         revoked_at, gateways, providers, models, requests_per_minute, tokens_per_minute, budget_usd, budget_period)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        k.id,
        k.account_id,
        k.name,
        k.owner.id,
        k.secret_hash,
        k.created_at_ms,
        k.modified_at_ms,
        k.expires_at_ms,
        k.revoked_at_ms,
        json_list(&l.gateways)?,
        json_list(&l.providers)?,
        json_list(&l.models)?,
        l.rate_limit.requests_per_minute,
        l.rate_limit.tokens_per_minute.and_then(|n| i64::try_from(n).ok()),
        l.budget.map(|b| b.usd),
        l.budget.map(|b| b.period.as_str()),
    ])
    .map_err(|e| StoreError::from_constraint(e, format!("key {:?} exists already", k.id)))?;
    bump_version(conn)
}

/// Key `id` of `account`, revoked or not.
pub fn get_key(conn: &Connection, account: &str, id: &str) -> Result<Option<VirtualKey>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE k.id = ?1 AND k.account_id = ?2"))?
        .query_row(params![id, account], row_to_key)
        .optional()?)
}

/// A page of an account's keys (of one owner when `owner` is given), newest first, and how many
/// there are.
pub fn list_keys(
    conn: &Connection,
    account: &str,
    owner: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<VirtualKey>, u64), StoreError> {
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM virtual_keys WHERE account_id = ?1 AND (?2 IS NULL OR owner_id = ?2)")?
        .query_row(params![account, owner], |r| r.get(0))?;
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE k.account_id = ?1 AND (?2 IS NULL OR k.owner_id = ?2)
         ORDER BY k.created_at DESC, k.id DESC LIMIT ?3 OFFSET ?4"
    ))?;
    let keys = stmt.query_map(params![account, owner, per_page, offset], row_to_key)?.collect::<Result<Vec<_>, _>>()?;
    Ok((keys, u64::try_from(total).unwrap_or(0)))
}

/// Every key of every account (the gateway's in-memory index is built from these).
pub fn all_keys(conn: &Connection) -> Result<Vec<VirtualKey>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY k.created_at, k.id"))?;
    let keys = stmt.query_map([], row_to_key)?.collect::<Result<Vec<_>, _>>()?;
    Ok(keys)
}

/// Stores a key's name, owner, expiry and limits (`k.modified_at_ms` included); false when the
/// key does not exist or is revoked.
pub fn save_key(conn: &Connection, k: &VirtualKey) -> Result<bool, StoreError> {
    let l = &k.limits;
    let n = conn
        .prepare_cached(
            "UPDATE virtual_keys SET name = ?3, expires_at = ?4, gateways = ?5, providers = ?6, models = ?7,
             requests_per_minute = ?8, tokens_per_minute = ?9, budget_usd = ?10, budget_period = ?11, modified_at = ?12,
             owner_id = ?13
             WHERE id = ?1 AND account_id = ?2 AND revoked_at IS NULL",
        )?
        .execute(params![
            k.id,
            k.account_id,
            k.name,
            k.expires_at_ms,
            json_list(&l.gateways)?,
            json_list(&l.providers)?,
            json_list(&l.models)?,
            l.rate_limit.requests_per_minute,
            l.rate_limit.tokens_per_minute.and_then(|n| i64::try_from(n).ok()),
            l.budget.map(|b| b.usd),
            l.budget.map(|b| b.period.as_str()),
            k.modified_at_ms,
            k.owner.id,
        ])?;
    if n > 0 {
        bump_version(conn)?;
    }
    Ok(n > 0)
}

/// Replaces the hash of a live key (rotation); false when the key does not exist or is revoked.
pub fn set_secret(conn: &Connection, account: &str, id: &str, hash: &[u8], now_ms: i64) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE virtual_keys SET secret_hash = ?3, modified_at = ?4
             WHERE id = ?1 AND account_id = ?2 AND revoked_at IS NULL",
        )?
        .execute(params![id, account, hash, now_ms])?;
    if n > 0 {
        bump_version(conn)?;
    }
    Ok(n > 0)
}

/// Revokes a live key; false when the key does not exist or is revoked already.
pub fn revoke_key(conn: &Connection, account: &str, id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE virtual_keys SET revoked_at = ?3, modified_at = ?3 WHERE id = ?1 AND account_id = ?2 AND revoked_at IS NULL",
        )?
        .execute(params![id, account, now_ms])?;
    if n > 0 {
        bump_version(conn)?;
    }
    Ok(n > 0)
}
