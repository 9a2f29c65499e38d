//! Log queries of the admin API: list with filters, search, order and pages; totals and min/max
//! stats; bulk delete; feedback/score/metadata patches. Listing never reads payloads.

use aigw_core::filter::{LogDeleteQuery, LogQuery};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::query::{order_by, Where};
use crate::read::{row_to_log, StoredLog, LOG_COLUMNS};

/// One gateway's logs.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub gateway: &'a str,
}

/// Min/max over every log a query matches (`meta_info=true`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetaInfo {
    pub min_cost: Option<f64>,
    pub max_cost: Option<f64>,
    pub min_duration: Option<i64>,
    pub max_duration: Option<i64>,
    pub min_tokens_in: Option<i64>,
    pub max_tokens_in: Option<i64>,
    pub min_tokens_out: Option<i64>,
    pub max_tokens_out: Option<i64>,
    pub min_total_tokens: Option<i64>,
    pub max_total_tokens: Option<i64>,
}

/// A page of logs, the number of all matches, and (when asked) their stats.
#[derive(Debug, Clone, Default)]
pub struct LogPage {
    pub logs: Vec<StoredLog>,
    pub total: u64,
    pub meta: Option<MetaInfo>,
}

fn where_for(scope: Scope<'_>, q: &LogQuery) -> Where {
    let mut w = Where::gateway(scope.account, scope.gateway);
    for f in &q.filters {
        w.filter(f);
    }
    if let Some(term) = &q.search {
        w.search(term);
    }
    w
}

/// A page of a gateway's logs, the number of all matches and (when asked) their stats.
pub fn list_logs(conn: &Connection, scope: Scope<'_>, q: &LogQuery) -> Result<LogPage, StoreError> {
    crate::plan::list(conn, scope, q)
}

/// The plain query over `logs`: every filter, an OFFSET page, a COUNT and aggregates. What
/// [`list_logs`] answers from the rollups must always equal this (tests compare the two).
pub fn scan_list(conn: &Connection, scope: Scope<'_>, q: &LogQuery) -> Result<LogPage, StoreError> {
    let w = where_for(scope, q);
    let logs = offset_page(conn, &w, q)?;
    let total = conn
        .prepare_cached(&format!("SELECT count(*) FROM logs l WHERE {}", w.sql))?
        .query_row(params_from_iter(w.params.iter()), |r| r.get::<_, i64>(0))? as u64;
    let meta = if q.meta_info { Some(meta_info(conn, &w)?) } else { None };
    Ok(LogPage { logs, total, meta })
}

/// One page of the logs a WHERE matches, in the query's order.
pub(crate) fn offset_page(conn: &Connection, w: &Where, q: &LogQuery) -> Result<Vec<StoredLog>, StoreError> {
    let sql = format!(
        "SELECT {LOG_COLUMNS}, NULL, NULL, NULL, NULL FROM logs l WHERE {} ORDER BY {} LIMIT ? OFFSET ?",
        w.sql,
        order_by(q.order_by, q.direction)
    );
    let mut params = w.params.clone();
    params.push(rusqlite::types::Value::Integer(i64::from(q.per_page)));
    params.push(rusqlite::types::Value::Integer(i64::try_from(q.offset()).unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare_cached(&sql)?;
    let logs = stmt.query_map(params_from_iter(params.iter()), row_to_log)?.collect::<Result<Vec<_>, _>>()?;
    Ok(logs)
}

fn meta_info(conn: &Connection, w: &Where) -> Result<MetaInfo, StoreError> {
    let sql = format!(
        "SELECT min(l.cost), max(l.cost), min(l.duration), max(l.duration), min(l.tokens_in),
                max(l.tokens_in), min(l.tokens_out), max(l.tokens_out),
                min(coalesce(l.tokens_in, 0) + coalesce(l.tokens_out, 0)),
                max(coalesce(l.tokens_in, 0) + coalesce(l.tokens_out, 0))
         FROM logs l WHERE {}",
        w.sql
    );
    Ok(conn.prepare_cached(&sql)?.query_row(params_from_iter(w.params.iter()), |r| {
        Ok(MetaInfo {
            min_cost: r.get(0)?,
            max_cost: r.get(1)?,
            min_duration: r.get(2)?,
            max_duration: r.get(3)?,
            min_tokens_in: r.get(4)?,
            max_tokens_in: r.get(5)?,
            min_tokens_out: r.get(6)?,
            max_tokens_out: r.get(7)?,
            min_total_tokens: r.get(8)?,
            max_total_tokens: r.get(9)?,
        })
    })?)
}

/// Deletes the first `limit` logs matching the filters in the query's order; how many went.
/// Runs in the caller's transaction (so a change and its audit record commit together).
pub fn delete_logs(conn: &Connection, scope: Scope<'_>, q: &LogDeleteQuery) -> Result<u64, StoreError> {
    let mut w = Where::gateway(scope.account, scope.gateway);
    for f in &q.filters {
        w.filter(f);
    }
    let select = format!(
        "SELECT l.seq FROM logs l WHERE {} ORDER BY {} LIMIT {}",
        w.sql,
        order_by(q.order_by, q.direction),
        q.limit
    );
    let n = atomically(conn, "delete_logs", |c| {
        crate::delete::fill_doomed(c, &select, params_from_iter(w.params.iter()))?;
        Ok(crate::delete::delete_doomed(c)?.logs)
    })?;
    Ok(n as u64)
}

/// One log of a gateway, with its payloads.
pub fn get_scoped(conn: &Connection, scope: Scope<'_>, id: &str) -> Result<Option<StoredLog>, StoreError> {
    Ok(crate::read::get_log(conn, id)?.filter(|l| l.account_id == scope.account && l.gateway_id == scope.gateway))
}

/// A change to a log's human evaluation; `None` leaves a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogPatch {
    pub feedback: Option<Option<i64>>,
    pub score: Option<Option<f64>>,
    /// JSON text of the new metadata object.
    pub metadata: Option<Option<String>>,
}

/// Applies a patch; the updated log, or `None` when the gateway has no such log.
pub fn patch_log(
    conn: &Connection,
    scope: Scope<'_>,
    id: &str,
    patch: &LogPatch,
) -> Result<Option<StoredLog>, StoreError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT seq FROM logs WHERE id = ?1 AND account_id = ?2 AND gateway_id = ?3",
            params![id, scope.account, scope.gateway],
            |r| r.get(0),
        )
        .optional()?;
    let Some(seq) = exists else { return Ok(None) };
    if let Some(v) = &patch.feedback {
        conn.execute("UPDATE logs SET feedback = ?2 WHERE seq = ?1", params![seq, v])?;
    }
    if let Some(v) = &patch.score {
        conn.execute("UPDATE logs SET score = ?2 WHERE seq = ?1", params![seq, v])?;
    }
    if let Some(v) = &patch.metadata {
        atomically(conn, "patch_log", |c| {
            // The old postings are found from the old text: reindex before the update.
            crate::search::reindex(c, seq, v.as_deref())?;
            c.execute("UPDATE logs SET metadata = ?2 WHERE seq = ?1", params![seq, v])?;
            Ok(())
        })?;
    }
    get_scoped(conn, scope, id)
}

/// Runs `f` all or nothing under a savepoint: inside the caller's transaction when there is one,
/// as its own transaction otherwise.
pub(crate) fn atomically<T>(
    conn: &Connection,
    name: &str,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.execute_batch(&format!("SAVEPOINT {name}"))?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch(&format!("RELEASE {name}"))?;
            Ok(v)
        }
        Err(e) => {
            // Best effort: the error that matters is `e`.
            let _ = conn.execute_batch(&format!("ROLLBACK TO {name}; RELEASE {name}"));
            Err(e)
        }
    }
}
