//! One page of an account's audit trail: the `since <= time < before` window read along the
//! `(account_id, time_ms)` index in the query's direction, filters applied to the rows of the
//! window, and a keyset cursor (the `(time_ms, seq)` of the page's last record) so that a page
//! costs the same however deep it is. Filters become bound parameters, never SQL text.

use aigw_core::audit::query::{AuditCursor, AuditField, AuditQuery, AuditValue};
use aigw_core::filter::Direction;
use rusqlite::types::Value as SqlValue;
use rusqlite::{params_from_iter, Connection};

use super::{from_row, select_columns, StoredAudit};
use crate::error::StoreError;

/// A page of records and, when more match, the cursor of the next page.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub records: Vec<StoredAudit>,
    pub next: Option<AuditCursor>,
}

/// The column a filter field tests.
fn column(field: AuditField) -> &'static str {
    match field {
        AuditField::Id => "id",
        AuditField::AccountName => "account_name",
        AuditField::ActionResult => "action_result",
        AuditField::ActionType => "action_type",
        AuditField::ActorContext => "actor_context",
        AuditField::ActorEmail => "actor_email",
        AuditField::ActorId => "actor_id",
        AuditField::ActorIpAddress => "actor_ip_address",
        AuditField::ActorTokenId => "actor_token_id",
        AuditField::ActorTokenName => "actor_token_name",
        AuditField::ActorType => "actor_type",
        AuditField::RawCfRayId => "raw_cf_ray_id",
        AuditField::RawMethod => "raw_method",
        AuditField::RawStatusCode => "raw_status_code",
        AuditField::RawUri => "raw_uri",
        AuditField::ResourceId => "resource_id",
        AuditField::ResourceProduct => "resource_product",
        AuditField::ResourceScope => "resource_scope",
        AuditField::ResourceType => "resource_type",
        AuditField::ZoneId => "zone_id",
        AuditField::ZoneName => "zone_name",
    }
}

/// The records of `account` that `q` selects, one page of them.
pub fn list(conn: &Connection, account: &str, q: &AuditQuery) -> Result<AuditPage, StoreError> {
    // The window's two bounds, the one on the side a cursor continues from replaced by the
    // cursor itself as a row value: SQLite seeks straight to it. (Spelt out as `time_ms <= ?
    // AND (time_ms < ? OR ...)` it may read the whole window instead.) A cursor outside the
    // window (not one this query gave) is ignored rather than let it widen the window.
    let mut args: Vec<SqlValue> = vec![SqlValue::Text(account.to_string())];
    let mut sql = format!("SELECT {} FROM audit_log WHERE account_id = ?1", select_columns());
    let cursor = q.cursor.filter(|c| c.time_ms >= q.since_ms && c.time_ms < q.before_ms);
    let order = match (q.direction, cursor) {
        (Direction::Asc, Some(c)) => {
            bound(&mut sql, &mut args, "(time_ms, seq) > (#, #)", &[c.time_ms, c.seq]);
            bound(&mut sql, &mut args, "time_ms < #", &[q.before_ms]);
            "ASC"
        }
        (Direction::Desc, Some(c)) => {
            bound(&mut sql, &mut args, "time_ms >= #", &[q.since_ms]);
            bound(&mut sql, &mut args, "(time_ms, seq) < (#, #)", &[c.time_ms, c.seq]);
            "DESC"
        }
        (direction, None) => {
            bound(&mut sql, &mut args, "time_ms >= # AND time_ms < #", &[q.since_ms, q.before_ms]);
            if direction == Direction::Asc {
                "ASC"
            } else {
                "DESC"
            }
        }
    };
    for f in &q.filters {
        let first = args.len() + 1;
        let marks: Vec<String> = (first..first + f.values.len()).map(|i| format!("?{i}")).collect();
        let col = column(f.field);
        if f.negate {
            sql.push_str(&format!(" AND ({col} IS NULL OR {col} NOT IN ({}))", marks.join(", ")));
        } else {
            sql.push_str(&format!(" AND {col} IN ({})", marks.join(", ")));
        }
        args.extend(f.values.iter().map(|v| match v {
            AuditValue::Text(s) => SqlValue::Text(s.clone()),
            AuditValue::Int(i) => SqlValue::Integer(*i),
        }));
    }
    sql.push_str(&format!(" ORDER BY time_ms {order}, seq {order} LIMIT ?{}", args.len() + 1));
    args.push(SqlValue::Integer(i64::from(q.limit) + 1));

    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args.iter()))?;
    let mut records = Vec::with_capacity(q.limit as usize + 1);
    while let Some(row) = rows.next()? {
        records.push(from_row(row)?);
    }
    let next = if records.len() > q.limit as usize {
        records.truncate(q.limit as usize);
        records.last().map(|last| AuditCursor {
            time_ms: last.record.action.time_ms,
            seq: last.seq,
            direction: q.direction,
        })
    } else {
        None
    };
    Ok(AuditPage { records, next })
}

/// Appends ` AND cond` to `sql`, each `#` of `cond` a parameter bound to the next of `values`.
fn bound(sql: &mut String, args: &mut Vec<SqlValue>, cond: &str, values: &[i64]) {
    let mut cond = cond.to_string();
    for v in values {
        cond = cond.replacen('#', &format!("?{}", args.len() + 1), 1);
        args.push(SqlValue::Integer(*v));
    }
    sql.push_str(" AND ");
    sql.push_str(&cond);
}
