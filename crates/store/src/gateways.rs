//! Gateways: one row per (account, id), settings as JSON.

use aigw_core::gateway::{Gateway, GatewaySpec};
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::StoreError;

const COLUMNS: &str = "account_id, id, internal_id, created_at, modified_at, settings";

fn row_to_gateway(r: &Row<'_>) -> rusqlite::Result<(Gateway, String)> {
    let gateway = Gateway {
        account_id: r.get(0)?,
        id: r.get(1)?,
        internal_id: r.get(2)?,
        created_at_ms: r.get(3)?,
        modified_at_ms: r.get(4)?,
        spec: GatewaySpec::default_gateway(),
    };
    Ok((gateway, r.get(5)?))
}

fn with_spec((mut g, settings): (Gateway, String)) -> Result<Gateway, StoreError> {
    g.spec =
        serde_json::from_str(&settings).map_err(|e| StoreError::Corrupt(format!("gateway {} settings: {e}", g.id)))?;
    Ok(g)
}

/// A page of an account's gateways, ordered by id, filtered by a substring of the id; and the
/// number of all matches.
pub fn list_gateways(
    conn: &Connection,
    account: &str,
    search: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<(Vec<Gateway>, u64), StoreError> {
    let pattern = format!("%{}%", escape_like(search.unwrap_or("")));
    let total: i64 = conn.query_row(
        "SELECT count(*) FROM gateways WHERE account_id = ?1 AND id LIKE ?2 ESCAPE '\\'",
        params![account, pattern],
        |r| r.get(0),
    )?;
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM gateways WHERE account_id = ?1 AND id LIKE ?2 ESCAPE '\\'
         ORDER BY id LIMIT ?3 OFFSET ?4"
    ))?;
    let rows =
        stmt.query_map(params![account, pattern, per_page, offset], row_to_gateway)?.collect::<Result<Vec<_>, _>>()?;
    let gateways = rows.into_iter().map(with_spec).collect::<Result<Vec<_>, _>>()?;
    Ok((gateways, total as u64))
}

/// Every gateway of every account (to seed the data plane at start).
pub fn all_gateways(conn: &Connection) -> Result<Vec<Gateway>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM gateways"))?;
    let rows = stmt.query_map([], row_to_gateway)?.collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(with_spec).collect()
}

pub fn get_gateway(conn: &Connection, account: &str, id: &str) -> Result<Option<Gateway>, StoreError> {
    let row = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM gateways WHERE account_id = ?1 AND id = ?2"))?
        .query_row(params![account, id], row_to_gateway)
        .optional()?;
    row.map(with_spec).transpose()
}

/// Inserts a new gateway; `StoreError::Conflict` when the id is taken.
pub fn insert_gateway(conn: &Connection, g: &Gateway) -> Result<(), StoreError> {
    let settings = serde_json::to_string(&g.spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    conn.prepare_cached(&format!("INSERT INTO gateways ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"))?
        .execute(params![g.account_id, g.id, g.internal_id, g.created_at_ms, g.modified_at_ms, settings])
        .map_err(|e| StoreError::from_constraint(e, format!("gateway {:?} already exists", g.id)))?;
    conn.prepare_cached("DELETE FROM deleted_gateways WHERE account_id = ?1 AND gateway_id = ?2")?
        .execute(params![g.account_id, g.id])?;
    Ok(())
}

/// Replaces a gateway's settings; the updated gateway, or `None` when it does not exist.
pub fn update_gateway(
    conn: &Connection,
    account: &str,
    id: &str,
    spec: &GatewaySpec,
    now_ms: i64,
) -> Result<Option<Gateway>, StoreError> {
    let settings = serde_json::to_string(spec).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let changed = conn
        .prepare_cached("UPDATE gateways SET settings = ?3, modified_at = ?4 WHERE account_id = ?1 AND id = ?2")?
        .execute(params![account, id, settings, now_ms])?;
    if changed == 0 {
        return Ok(None);
    }
    get_gateway(conn, account, id)
}

/// Deletes a gateway and its logs, all or nothing; the deleted gateway, or `None`. Runs in the
/// caller's transaction when there is one (so the change and its audit record commit together).
/// Remembers when it was deleted: logs of requests still in flight then are dropped by the writer
/// when they arrive (see [`deleted_at`]).
pub fn delete_gateway(conn: &Connection, account: &str, id: &str, now_ms: i64) -> Result<Option<Gateway>, StoreError> {
    crate::logs::atomically(conn, "delete_gateway", |tx| {
        let Some(gateway) = get_gateway(tx, account, id)? else {
            return Ok(None);
        };
        tx.execute(
            "DELETE FROM log_payloads WHERE seq IN (SELECT seq FROM logs WHERE account_id = ?1 AND gateway_id = ?2)",
            params![account, id],
        )?;
        crate::delete::fill_doomed(
            tx,
            "SELECT seq FROM logs WHERE account_id = ?1 AND gateway_id = ?2 AND metadata IS NOT NULL",
            params![account, id],
        )?;
        crate::search::unindex_doomed(tx)?;
        tx.execute("DELETE FROM temp.doomed", [])?;
        tx.execute("DELETE FROM logs WHERE account_id = ?1 AND gateway_id = ?2", params![account, id])?;
        tx.execute("DELETE FROM log_rollup WHERE account_id = ?1 AND gateway_id = ?2", params![account, id])?;
        tx.execute("DELETE FROM log_hours WHERE account_id = ?1 AND gateway_id = ?2", params![account, id])?;
        tx.execute("DELETE FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2", params![account, id])?;
        tx.execute("DELETE FROM gateways WHERE account_id = ?1 AND id = ?2", params![account, id])?;
        tx.execute(
            "INSERT OR REPLACE INTO deleted_gateways (account_id, gateway_id, deleted_at) VALUES (?1, ?2, ?3)",
            params![account, id, now_ms],
        )?;
        Ok(Some(gateway))
    })
}

/// When a gateway that no longer exists was deleted; `None` if it exists or was never deleted.
pub fn deleted_at(conn: &Connection, account: &str, id: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT deleted_at FROM deleted_gateways WHERE account_id = ?1 AND gateway_id = ?2
             AND NOT EXISTS (SELECT 1 FROM gateways WHERE account_id = ?1 AND id = ?2)",
        )?
        .query_row(params![account, id], |r| r.get(0))
        .optional()?)
}

/// `s` with LIKE's wildcards escaped by `\`.
pub(crate) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
