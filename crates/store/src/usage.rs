//! Usage and spend per source (virtual key or Playground user), read from the `logs` table
//! through the covering index `logs_source(source_kind, source_id, created_at, success, cost,
//! tokens_in, tokens_out)`, so neither query touches the rows themselves.
//!
//! Days are UTC days. What was spent is the sum of the logs' `cost`: logs deleted through the
//! Logs API or by retention no longer count.

use aigw_core::keys::KeySpend;
use aigw_core::period::BudgetPeriod;
use aigw_core::SourceKind;
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;

const DAY_MS: i64 = 86_400_000;

// Each query repeats the condition of the partial index `logs_source`, `source_kind <> 'direct'`,
// word for word: SQLite uses a partial index only when the query's WHERE contains its condition,
// and does not infer it from `source_kind = 'virtual_key'` (or `= ?`). Without it each query read
// every log of the database (seconds at ten million).

const ALL_KEY_SPEND: &str = "SELECT source_id,
        coalesce(sum(CASE WHEN created_at >= ?1 THEN cost END), 0),
        coalesce(sum(CASE WHEN created_at >= ?2 THEN cost END), 0),
        coalesce(sum(CASE WHEN created_at >= ?3 THEN cost END), 0),
        coalesce(sum(cost), 0),
        max(created_at)
     FROM logs WHERE source_kind = 'virtual_key' AND source_kind <> 'direct' AND source_id IS NOT NULL
     GROUP BY source_id";

const KEY_SPEND_SINCE: &str = "SELECT coalesce(sum(cost), 0) FROM logs
     WHERE source_kind = 'virtual_key' AND source_kind <> 'direct' AND source_id = ?1 AND created_at >= ?2";

const KEY_LAST_USED: &str = "SELECT max(created_at) FROM logs
     WHERE source_kind = 'virtual_key' AND source_kind <> 'direct' AND source_id = ?1";

const DAILY_USAGE: &str = "SELECT created_at / ?5 AS day, count(*), coalesce(sum(success = 0), 0),
        coalesce(sum(tokens_in), 0), coalesce(sum(tokens_out), 0), coalesce(sum(cost), 0)
     FROM logs WHERE source_kind = ?1 AND source_kind <> 'direct' AND source_id = ?2
       AND created_at >= ?3 AND created_at < ?4
     GROUP BY day ORDER BY day";

/// The spend of every key with logs, in the periods that contain `now_ms` (for budgets at start).
pub fn all_key_spend(conn: &Connection, now_ms: i64) -> Result<Vec<KeySpend>, StoreError> {
    let mut stmt = conn.prepare_cached(ALL_KEY_SPEND)?;
    let rows = stmt.query_map(
        params![
            BudgetPeriod::Day.start_ms(now_ms),
            BudgetPeriod::Week.start_ms(now_ms),
            BudgetPeriod::Month.start_ms(now_ms)
        ],
        |r| {
            Ok(KeySpend {
                key_id: r.get(0)?,
                day: r.get(1)?,
                week: r.get(2)?,
                month: r.get(3)?,
                total: r.get(4)?,
                last_used_ms: r.get(5)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// The spend of one key since `since_ms`, and when it was last presented.
pub fn key_spend_since(conn: &Connection, key_id: &str, since_ms: i64) -> Result<(f64, Option<i64>), StoreError> {
    let spent: f64 = conn.prepare_cached(KEY_SPEND_SINCE)?.query_row(params![key_id, since_ms], |r| r.get(0))?;
    let last: Option<i64> =
        conn.prepare_cached(KEY_LAST_USED)?.query_row(params![key_id], |r| r.get(0)).optional()?.flatten();
    Ok((spent, last))
}

/// One UTC day of one source's requests.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DayUsage {
    /// 00:00 UTC of the day, ms since the Unix epoch.
    pub day_ms: i64,
    pub requests: u64,
    /// Requests that failed (refusals included).
    pub errors: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// USD.
    pub cost: f64,
}

/// The requests of source `id` of `kind` per UTC day, for the days from `from_ms` (inclusive) to
/// `to_ms` (exclusive) that have any, oldest first.
pub fn daily_usage(
    conn: &Connection,
    kind: SourceKind,
    id: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<DayUsage>, StoreError> {
    let mut stmt = conn.prepare_cached(DAILY_USAGE)?;
    let rows = stmt.query_map(params![kind.as_str(), id, from_ms, to_ms, DAY_MS], |r| {
        let count = |i: usize| -> rusqlite::Result<u64> { Ok(u64::try_from(r.get::<_, i64>(i)?).unwrap_or(0)) };
        Ok(DayUsage {
            day_ms: r.get::<_, i64>(0)? * DAY_MS,
            requests: count(1)?,
            errors: count(2)?,
            tokens_in: count(3)?,
            tokens_out: count(4)?,
            cost: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigw_core::{LogRecord, Source, Usage};

    fn record(id: &str, source: Source, created_at_ms: i64, cost: Option<f64>, success: bool) -> LogRecord {
        LogRecord {
            id: id.to_string(),
            account_id: "acct".into(),
            gateway_id: "default".into(),
            created_at_ms,
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            path: "chat/completions".into(),
            request_type: "provider".into(),
            method: "POST".into(),
            status_code: if success { 200 } else { 429 },
            success,
            usage: if success { Usage::from_provider(10, 5, 0, 0) } else { Usage::missing() },
            cost,
            source,
            ..LogRecord::default()
        }
    }

    #[test]
    fn spend_and_daily_usage_come_from_the_keys_logs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("aigw.db");
        let conn = crate::open_write(&path).unwrap();
        let key = Source {
            kind: SourceKind::VirtualKey,
            id: Some("k1".into()),
            name: Some("ci".into()),
            owner: Some("Ann".into()),
        };
        let user =
            Source { kind: SourceKind::Playground, id: Some("u1".into()), name: Some("Ann".into()), owner: None };
        // 2025-11-22T08:26:40Z, a Saturday; the day before; the month before.
        let now = 1_763_800_000_000;
        let records = vec![
            record(&aigw_core::ids::new_ulid(now), key.clone(), now, Some(0.5), true),
            record(&aigw_core::ids::new_ulid(now + 1), key.clone(), now + 1, None, false),
            record(&aigw_core::ids::new_ulid(now - DAY_MS), key.clone(), now - DAY_MS, Some(0.25), true),
            record(&aigw_core::ids::new_ulid(now - 30 * DAY_MS), key.clone(), now - 30 * DAY_MS, Some(1.0), true),
            record(&aigw_core::ids::new_ulid(now), user.clone(), now, Some(2.0), true),
            record(&aigw_core::ids::new_ulid(now), Source::default(), now, Some(4.0), true),
        ];
        let mut inserter = crate::LogInserter::new(conn).unwrap();
        inserter.insert_batch(&records).unwrap();

        let conn = crate::open_read(&path).unwrap();
        let spend = all_key_spend(&conn, now + 10).unwrap();
        assert_eq!(spend.len(), 1);
        let s = &spend[0];
        assert_eq!(s.key_id, "k1");
        assert!((s.day - 0.5).abs() < 1e-12, "{s:?}");
        assert!((s.week - 0.75).abs() < 1e-12, "{s:?}"); // Friday is in the same ISO week
        assert!((s.month - 0.75).abs() < 1e-12, "{s:?}");
        assert!((s.total - 1.75).abs() < 1e-12, "{s:?}");
        assert_eq!(s.last_used_ms, Some(now + 1));
        assert_eq!(key_spend_since(&conn, "k1", BudgetPeriod::Day.start_ms(now)).unwrap(), (0.5, Some(now + 1)));

        let days = daily_usage(&conn, SourceKind::VirtualKey, "k1", now - 2 * DAY_MS, now + DAY_MS).unwrap();
        assert_eq!(days.len(), 2);
        assert_eq!(days[1].day_ms, BudgetPeriod::Day.start_ms(now));
        assert_eq!((days[1].requests, days[1].errors, days[1].tokens_in, days[1].tokens_out), (2, 1, 10, 5));
        let days = daily_usage(&conn, SourceKind::Playground, "u1", 0, now + DAY_MS).unwrap();
        assert_eq!(days.len(), 1);
        assert!((days[0].cost - 2.0).abs() < 1e-12);
        // Every query here reads the senders' index, not the whole table.
        for sql in [ALL_KEY_SPEND, KEY_SPEND_SINCE, KEY_LAST_USED, DAILY_USAGE] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            for i in 1..=stmt.parameter_count() {
                stmt.raw_bind_parameter(i, "k1").unwrap();
            }
            let plan: Vec<String> = stmt.raw_query().mapped(|r| r.get(3)).collect::<Result<_, _>>().unwrap();
            assert!(plan.iter().any(|p| p.contains("COVERING INDEX logs_source")), "{sql}: {plan:?}");
        }
    }
}
