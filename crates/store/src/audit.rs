//! The audit trail: an append-only table of [`AuditRecord`]s with a hash chain per account.
//!
//! # Writing
//! [`append`] is the one way in. Call it on the connection, and inside the transaction, of the
//! change the record describes, so that both commit or neither does:
//!
//! ```ignore
//! let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
//! aigw_store::gateways::insert_gateway(&tx, &gateway)?;
//! aigw_store::audit::append(&tx, &record)?;
//! tx.commit()?;
//! ```
//!
//! `append` redacts secrets from `resource.request`, `resource.response` and the query of
//! `raw.uri` (see `aigw_core::audit::redact`) before anything is hashed or stored.
//!
//! # The chain
//! Each row stores `prev_hash`, the hash of the previous record of its account (32 zero bytes
//! for the first), and `hash = SHA-256("aigw-audit-v1" || prev_hash || canonical(row))`, where
//! `canonical` encodes every stored column but `seq`, `prev_hash` and `hash` in a fixed order,
//! each as a type tag and its bytes (length-prefixed). `audit_heads` holds each account's last
//! hash and record count, so that removing the newest records is noticed too. Triggers refuse
//! UPDATE and DELETE on `audit_log`; whoever edits the file anyway breaks the chain, and
//! [`verify`] names the first record where it breaks.
//!
//! # Layout
//! - this file: the columns, their canonical hash, [`append`], row decoding.
//! - [`list`]: the list query (window, filters, keyset cursor).
//! - [`verify`]: walking the chains.

mod list;
mod verify;

use aigw_core::audit::redact::{redact_uri, redact_value};
use aigw_core::audit::{
    ActionResult, ActionType, ActorContext, ActorType, AuditAccount, AuditAction, AuditActor, AuditRaw, AuditRecord,
    AuditResource, AuditZone,
};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};

use crate::error::StoreError;

pub use list::{list, AuditPage};
pub use verify::{verify, Broken, VerifyReport};

/// The stored columns in hash order (all but `seq`, `prev_hash` and `hash`).
pub(crate) const COLUMNS: &[&str] = &[
    "id",
    "account_id",
    "account_name",
    "action_type",
    "action_result",
    "action_description",
    "time_ms",
    "actor_id",
    "actor_type",
    "actor_context",
    "actor_email",
    "actor_ip_address",
    "actor_token_id",
    "actor_token_name",
    "raw_cf_ray_id",
    "raw_method",
    "raw_status_code",
    "raw_uri",
    "raw_user_agent",
    "resource_id",
    "resource_product",
    "resource_type",
    "resource_scope",
    "resource_request",
    "resource_response",
    "zone_id",
    "zone_name",
];

/// `prev_hash` of an account's first record.
pub(crate) const GENESIS: [u8; 32] = [0; 32];
const DOMAIN: &[u8] = b"aigw-audit-v1";

/// A record as stored: its position and its chain link.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAudit {
    /// Insertion order over all accounts.
    pub seq: i64,
    pub record: AuditRecord,
    pub hash: Vec<u8>,
}

/// Appends `rec` to its account's chain. Run it in the transaction of the change it records.
/// On its own it is still atomic (a savepoint), but then it records nothing else's fate.
pub fn append(conn: &Connection, rec: &AuditRecord) -> Result<(), StoreError> {
    let values = to_values(rec)?;
    savepoint(conn, "audit_append", |c| append_values(c, &rec.account.id, &values))
}

/// Runs `change`, which may complete `record` (e.g. with what it produced), then appends the
/// record, all or nothing: under a savepoint inside the caller's transaction (which should
/// have begun IMMEDIATE), or in an IMMEDIATE transaction of its own. For changes made outside
/// the admin API (the CLI, start-up, gateways created on first use).
pub fn append_with<T>(
    conn: &Connection,
    mut record: AuditRecord,
    change: impl FnOnce(&Connection, &mut AuditRecord) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    savepoint(conn, "audit_change", |c| {
        let value = change(c, &mut record)?;
        append(c, &record)?;
        Ok(value)
    })
}

/// `f` all or nothing: under the savepoint `name` inside the caller's transaction, or in a
/// transaction of its own, begun IMMEDIATE (write lock first, so that the chain's head read
/// inside cannot go stale before the write) when the connection has none.
fn savepoint<T>(
    conn: &Connection,
    name: &str,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let (begin, commit, rollback) = if conn.is_autocommit() {
        ("BEGIN IMMEDIATE".to_string(), "COMMIT".to_string(), "ROLLBACK".to_string())
    } else {
        (format!("SAVEPOINT {name}"), format!("RELEASE {name}"), format!("ROLLBACK TO {name}; RELEASE {name}"))
    };
    conn.execute_batch(&begin)?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch(&commit)?;
            Ok(v)
        }
        Err(e) => {
            // Best effort: the error that matters is `e`.
            let _ = conn.execute_batch(&rollback);
            Err(e)
        }
    }
}

fn append_values(conn: &Connection, account: &str, values: &[SqlValue]) -> Result<(), StoreError> {
    let head: Option<(Vec<u8>, i64)> = conn
        .prepare_cached("SELECT hash, count FROM audit_heads WHERE account_id = ?1")?
        .query_row([account], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (prev, count) = head.unwrap_or_else(|| (GENESIS.to_vec(), 0));
    let refs: Vec<ValueRef<'_>> = values.iter().map(ValueRef::from).collect();
    let hash = chain_hash(&prev, &refs);
    let placeholders: Vec<String> = (1..=COLUMNS.len() + 2).map(|i| format!("?{i}")).collect();
    let sql =
        format!("INSERT INTO audit_log ({}, prev_hash, hash) VALUES ({})", COLUMNS.join(", "), placeholders.join(", "));
    let mut args: Vec<&dyn rusqlite::ToSql> = values.iter().map(|v| v as &dyn rusqlite::ToSql).collect();
    args.push(&prev);
    args.push(&hash);
    // Any failure here (even a duplicate id) is aigw's, never the caller's: no `Conflict`.
    conn.prepare_cached(&sql)?.execute(args.as_slice())?;
    let seq = conn.last_insert_rowid();
    conn.prepare_cached(
        "INSERT INTO audit_heads (account_id, seq, count, hash) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id) DO UPDATE SET seq = excluded.seq, count = excluded.count, hash = excluded.hash",
    )?
    .execute(params![account, seq, count + 1, hash])?;
    Ok(())
}

/// The hash of a row with `values` (in [`COLUMNS`] order) following `prev`.
pub(crate) fn chain_hash(prev: &[u8], values: &[ValueRef<'_>]) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev);
    for v in values {
        match v {
            ValueRef::Null => h.update([0u8]),
            ValueRef::Integer(i) => {
                h.update([1u8]);
                h.update(i.to_be_bytes());
            }
            ValueRef::Real(f) => {
                h.update([2u8]);
                h.update(f.to_bits().to_be_bytes());
            }
            ValueRef::Text(t) => {
                h.update([3u8]);
                h.update((t.len() as u64).to_be_bytes());
                h.update(t);
            }
            ValueRef::Blob(b) => {
                h.update([4u8]);
                h.update((b.len() as u64).to_be_bytes());
                h.update(b);
            }
        }
    }
    h.finalize().to_vec()
}

/// The stored values of `rec` in [`COLUMNS`] order, secrets redacted.
fn to_values(rec: &AuditRecord) -> Result<Vec<SqlValue>, StoreError> {
    let text = |s: &str| SqlValue::Text(s.to_string());
    let opt = |s: &Option<String>| s.as_ref().map_or(SqlValue::Null, |s| SqlValue::Text(s.clone()));
    let json = |v: &Option<serde_json::Value>| -> Result<SqlValue, StoreError> {
        let Some(v) = v else { return Ok(SqlValue::Null) };
        let mut v = v.clone();
        redact_value(&mut v);
        serde_json::to_string(&v).map(SqlValue::Text).map_err(|e| StoreError::Corrupt(e.to_string()))
    };
    let (a, act, r, res, z) = (&rec.action, &rec.actor, &rec.raw, &rec.resource, &rec.zone);
    Ok(vec![
        text(&rec.id),
        text(&rec.account.id),
        opt(&rec.account.name),
        text(a.kind.as_str()),
        text(a.result.as_str()),
        text(&a.description),
        SqlValue::Integer(a.time_ms),
        opt(&act.id),
        text(act.kind.as_str()),
        act.context.map_or(SqlValue::Null, |c| text(c.as_str())),
        opt(&act.email),
        opt(&act.ip_address),
        opt(&act.token_id),
        opt(&act.token_name),
        text(&r.cf_ray_id),
        opt(&r.method),
        r.status_code.map_or(SqlValue::Null, |s| SqlValue::Integer(i64::from(s))),
        opt(&r.uri.as_deref().map(redact_uri)),
        opt(&r.user_agent),
        opt(&res.id),
        text(&res.product),
        text(&res.kind),
        text(&res.scope),
        json(&res.request)?,
        json(&res.response)?,
        opt(&z.id),
        opt(&z.name),
    ])
}

/// `seq`, the [`COLUMNS`], `hash`, for [`from_row`].
pub(crate) fn select_columns() -> String {
    format!("seq, {}, hash", COLUMNS.join(", "))
}

/// Decodes a row selected with [`select_columns`].
pub(crate) fn from_row(r: &Row<'_>) -> Result<StoredAudit, StoreError> {
    let enum_at = |i: usize, what: &str| -> Result<String, StoreError> {
        r.get::<_, String>(i).map_err(|e| StoreError::Corrupt(format!("audit {what}: {e}")))
    };
    let bad = |what: &str, v: &str| StoreError::Corrupt(format!("audit {what} {v:?}"));
    let json = |i: usize| -> Result<Option<serde_json::Value>, StoreError> {
        let text: Option<String> = r.get(i)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("audit body: {e}")))).transpose()
    };
    let action_type = enum_at(4, "action type")?;
    let action_result = enum_at(5, "action result")?;
    let actor_type = enum_at(9, "actor type")?;
    let actor_context: Option<String> = r.get(10)?;
    let status: Option<i64> = r.get(17)?;
    let record = AuditRecord {
        id: r.get(1)?,
        account: AuditAccount { id: r.get(2)?, name: r.get(3)? },
        action: AuditAction {
            kind: ActionType::parse(&action_type).ok_or_else(|| bad("action type", &action_type))?,
            result: ActionResult::parse(&action_result).ok_or_else(|| bad("action result", &action_result))?,
            description: r.get(6)?,
            time_ms: r.get(7)?,
        },
        actor: AuditActor {
            id: r.get(8)?,
            kind: ActorType::parse(&actor_type).ok_or_else(|| bad("actor type", &actor_type))?,
            context: match actor_context {
                None => None,
                Some(c) => Some(ActorContext::parse(&c).ok_or_else(|| bad("actor context", &c))?),
            },
            email: r.get(11)?,
            ip_address: r.get(12)?,
            token_id: r.get(13)?,
            token_name: r.get(14)?,
        },
        raw: AuditRaw {
            cf_ray_id: r.get(15)?,
            method: r.get(16)?,
            status_code: status.and_then(|s| u16::try_from(s).ok()),
            uri: r.get(18)?,
            user_agent: r.get(19)?,
        },
        resource: AuditResource {
            id: r.get(20)?,
            product: r.get(21)?,
            kind: r.get(22)?,
            scope: r.get(23)?,
            request: json(24)?,
            response: json(25)?,
        },
        zone: AuditZone { id: r.get(26)?, name: r.get(27)? },
    };
    Ok(StoredAudit { seq: r.get(0)?, record, hash: r.get(28)? })
}

/// The record with `id` in `account`, if there is one.
pub fn get(conn: &Connection, account: &str, id: &str) -> Result<Option<StoredAudit>, StoreError> {
    let sql = format!("SELECT {} FROM audit_log WHERE id = ?1 AND account_id = ?2", select_columns());
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params![id, account])?;
    rows.next()?.map(from_row).transpose()
}

#[cfg(test)]
pub(crate) mod tests;
