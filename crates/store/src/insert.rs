//! Batch insert of log records: one transaction per batch, prepared statements, bodies
//! compressed into `log_payloads` so that list queries never touch them.

use aigw_core::LogRecord;
use rusqlite::{params, Connection, Statement, ToSql, TransactionBehavior};

use crate::codec::Compressor;
use crate::dims::DimsCache;
use crate::error::StoreError;
use crate::retention::{self, Admission};
use crate::rollup::{Additions, Stats, HOUR_MS};
use crate::search::TermCache;

/// The columns of `logs` the writer sets, in the order [`bind_log`] binds them. `seq` is left to
/// SQLite: a multi-row INSERT that sets a rowid keeps a statement journal of every page it
/// changes, in case a later row's rowid is not an integer.
const LOG_COLUMNS: &str = "id, account_id, gateway_id, created_at, duration, provider, model, model_type, path,
    request_type, method, stream, request_content_type, response_content_type, status_code, success, cached,
    tokens_in, tokens_out, tokens_cached, tokens_cache_write, usage_source, cost, custom_cost, metadata,
    event_id, step, user_agent, error, source_kind, source_id, source_name, source_owner, request_size,
    response_size, dims";
const LOG_WIDTH: usize = 36;

const INSERT_PAYLOAD: &str = "INSERT INTO log_payloads
    (seq, request, request_truncated, response, response_truncated) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Rows of `logs` per INSERT. A statement keeps its cursors open from one row to the next, so a
/// row that goes after the one before it (a new `seq`, id or time) is placed on the page the
/// cursor is on instead of descending each B-tree from its root, and a statement's start and end
/// are paid once per chunk. Past 8 rows, the values bound at once outgrow SQLite's per-connection
/// allocator and cost more than the chunk saves (instructions counted in tests/BENCHMARKS.md).
const CHUNK: usize = 8;

/// The INSERT of `rows` rows of `logs`. OR ROLLBACK: a refused row undoes the whole batch (which
/// is then retried record by record) rather than only its statement, so SQLite keeps no
/// statement journal of the pages the statement changes.
fn insert_sql(rows: usize) -> String {
    format!("INSERT OR ROLLBACK INTO logs ({LOG_COLUMNS}) VALUES {}", values(LOG_WIDTH, rows))
}

/// The VALUES list of a multi-row INSERT: `rows` rows of `width` parameters each.
pub(crate) fn values(width: usize, rows: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; rows].join(", ")
}

/// Page cache of the writer's connection, in KiB. A batch changes pages all over the file (the
/// tails of every index, of each metadata entry's posting list); with SQLite's default 2 MB it
/// wrote them to the WAL before the commit and read them back (12% of a 1M load's time in
/// `pagerStress`, 11% in `pread`). It grows only as pages are used.
const WRITE_CACHE_KIB: i64 = 64 * 1024;

/// Whole-batch retries of a transient failure (busy, locked, I/O) before record-by-record.
const TRANSIENT_RETRIES: u32 = 5;
/// Backoff step between those retries (this runs on the writer's own thread).
const RETRY_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Whether the failure is about the records themselves (a constraint, a type), so that retrying
/// them one by one isolates the bad one.
fn is_record_error(e: &StoreError) -> bool {
    use rusqlite::ErrorCode;
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
            matches!(f.code, ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch | ErrorCode::TooBig)
        }
        StoreError::Sqlite(_) => false,
        _ => true,
    }
}

/// Owns the write connection. Lives on the writer thread.
pub struct LogInserter {
    conn: Connection,
    compressor: Compressor,
    dims: DimsCache,
    terms: TermCache,
    sql: LogInsertSql,
    /// `PRAGMA data_version` when the last batch started: it changes when another connection
    /// commits, for instance deleting a gateway with its combinations.
    data_version: Option<i64>,
}

/// What one call to [`LogInserter::insert_batch`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub written: usize,
    /// Records not stored because their gateway is full and set to STOP_INSERTING.
    pub over_limit: usize,
    /// Records of requests that started before their gateway was deleted, dropped with it.
    pub gateway_deleted: usize,
    /// Records the database refused even alone (each is logged); the rest of the batch is kept.
    pub rejected: usize,
}

impl LogInserter {
    pub fn new(conn: Connection) -> Result<Self, StoreError> {
        // Every path of the writer that removes logs removes their bodies and search entries
        // itself (`delete::delete_doomed`), so checking each new body's parent row only costs.
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        conn.pragma_update(None, "cache_size", -WRITE_CACHE_KIB)?;
        // Room for every statement of a batch (its inserts, combinations, rollups, caps), so
        // that none is compiled again for each batch.
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Self {
            conn,
            compressor: Compressor::new()?,
            dims: DimsCache::default(),
            terms: TermCache::default(),
            sql: LogInsertSql::new(),
            data_version: None,
        })
    }

    /// Hands the WAL's checkpoints to a [`Checkpointer`] of their own, which the caller runs on
    /// another thread whenever `nudge`'s receiver gets a signal. `None` for a database without
    /// a file or not in WAL mode; its commits then keep checkpointing themselves.
    pub fn checkpoint_elsewhere(
        &mut self,
        nudge: std::sync::mpsc::SyncSender<()>,
    ) -> Result<Option<crate::Checkpointer>, StoreError> {
        let Some(path) = self.conn.path().filter(|p| !p.is_empty()).map(std::path::PathBuf::from) else {
            return Ok(None);
        };
        let Some(checkpointer) = crate::Checkpointer::open(&path)? else { return Ok(None) };
        crate::checkpoint::hand_off(&mut self.conn, nudge)?;
        Ok(Some(checkpointer))
    }

    /// Writes `records` in one transaction. If the transaction fails, each record is retried in
    /// its own, so one bad record never costs the others.
    pub fn insert_batch(&mut self, records: &[LogRecord]) -> Result<BatchOutcome, StoreError> {
        let mut attempt = 0;
        let batch_error = loop {
            match self.insert_all(records) {
                Ok(skipped) => {
                    return Ok(BatchOutcome {
                        written: records.len() - skipped.over_limit - skipped.gateway_deleted,
                        over_limit: skipped.over_limit,
                        gateway_deleted: skipped.gateway_deleted,
                        rejected: 0,
                    })
                }
                // The database is busy (another writer holds the lock) or failed for a moment:
                // the whole batch is retried, with backoff, before anything is given up.
                Err(e) if !is_record_error(&e) && attempt < TRANSIENT_RETRIES => {
                    attempt += 1;
                    tracing::warn!(error = %e, attempt, "log batch insert failed; retrying");
                    std::thread::sleep(RETRY_BACKOFF * attempt);
                }
                Err(e) => break e,
            }
        };
        tracing::warn!(error = %batch_error, records = records.len(), "batch insert failed; retrying records one by one");
        let mut outcome = BatchOutcome::default();
        for record in records {
            match self.insert_all(std::slice::from_ref(record)) {
                Ok(skipped) => {
                    outcome.over_limit += skipped.over_limit;
                    outcome.gateway_deleted += skipped.gateway_deleted;
                    outcome.written += 1 - skipped.over_limit - skipped.gateway_deleted;
                }
                Err(error) => {
                    tracing::error!(%error, log_id = %record.id, "log record rejected by the database");
                    outcome.rejected += 1;
                }
            }
        }
        if outcome.written == 0 && outcome.rejected > 0 {
            return Err(batch_error);
        }
        Ok(outcome)
    }

    fn insert_all(&mut self, records: &[LogRecord]) -> Result<Skipped, StoreError> {
        let result = self.try_insert_all(records);
        if result.is_err() {
            // The transaction rolled back, and with it any combination or piece it created.
            self.dims.clear();
            self.terms.clear();
        }
        result
    }

    /// Inserts what each gateway admits; returns how many records it did not store, and why.
    fn try_insert_all(&mut self, records: &[LogRecord]) -> Result<Skipped, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if self.data_version.replace(version) != Some(version) {
            // Cached ids may name combinations or pieces another connection deleted.
            self.dims.clear();
            self.terms.clear();
        }
        let mut limits = retention::Limits::default();
        let mut additions = Additions::default();
        let mut skipped = Skipped::default();
        let mut logs = Vec::with_capacity(records.len());
        for r in records {
            match limits.admit(&tx, &r.account_id, &r.gateway_id, r.created_at_ms)? {
                Admission::Admit => {}
                Admission::OverLimit => {
                    skipped.over_limit += 1;
                    continue;
                }
                Admission::GatewayDeleted => {
                    skipped.gateway_deleted += 1;
                    continue;
                }
            }
            let row = LogRow { r, seq: 0, dims: self.dims.id(&tx, r)? };
            let hour = r.created_at_ms.div_euclid(HOUR_MS);
            let stats = Stats::of(r.cost, r.duration_ms as i64, row.tokens_in(), row.tokens_out());
            additions.add(&r.account_id, &r.gateway_id, hour, row.dims, &stats);
            logs.push(row);
        }
        self.sql.insert_logs(&tx, &mut logs)?;
        {
            let mut stmt = tx.prepare_cached(INSERT_PAYLOAD)?;
            for LogRow { r, seq, .. } in
                logs.iter().filter(|l| l.r.request.body.is_some() || l.r.response.body.is_some())
            {
                let request = r.request.body.as_deref().map(|b| self.compressor.encode(b)).transpose()?;
                let response = r.response.body.as_deref().map(|b| self.compressor.encode(b)).transpose()?;
                stmt.execute(params![seq, request, r.request.truncated, response, r.response.truncated])?;
            }
        }
        crate::search::index(
            &tx,
            &mut self.terms,
            logs.iter().filter_map(|l| Some((l.seq, l.r.created_at_ms, l.dims, l.r.metadata.as_deref()?))),
        )?;
        if !additions.is_empty() {
            additions.apply(&tx)?;
        }
        let gone = limits.delete_oldest_excess(&tx)?;
        tx.commit()?;
        self.terms.forget(&gone);
        Ok(skipped)
    }
}

/// The INSERTs of `logs`: one row, and [`CHUNK`] rows.
struct LogInsertSql {
    one: String,
    chunk: String,
}

impl LogInsertSql {
    fn new() -> Self {
        Self { one: insert_sql(1), chunk: insert_sql(CHUNK) }
    }

    /// Inserts `rows` in order and sets the `seq` each got: whole chunks of [`CHUNK`] rows per
    /// statement, then the rest one by one, each read back. SQLite numbers the rows of a table
    /// without AUTOINCREMENT max + 1, max + 2, ... (the transaction holds the write lock, so
    /// nothing else inserts meanwhile), which is checked after the chunks. Only past the largest
    /// rowid does SQLite pick numbers at random: then every row goes alone.
    fn insert_logs(&self, tx: &Connection, rows: &mut [LogRow<'_>]) -> Result<(), StoreError> {
        let max: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM logs", [], |r| r.get(0))?;
        let fits = i64::try_from(rows.len()).ok().and_then(|n| max.checked_add(n)).is_some();
        let chunked = if fits { rows.len() - rows.len() % CHUNK } else { 0 };
        if chunked > 0 {
            let mut stmt = tx.prepare_cached(&self.chunk)?;
            for chunk in rows[..chunked].chunks_exact(CHUNK) {
                for (i, row) in chunk.iter().enumerate() {
                    bind_log(&mut stmt, 1 + i * LOG_WIDTH, row)?;
                }
                stmt.raw_execute()?;
            }
            let last = max + chunked as i64;
            if tx.last_insert_rowid() != last {
                return Err(StoreError::Invariant(format!(
                    "a batch's log rows were numbered up to {}, not {last}",
                    tx.last_insert_rowid()
                )));
            }
            for (i, row) in (1..).zip(&mut rows[..chunked]) {
                row.seq = max + i;
            }
        }
        if chunked < rows.len() {
            let mut stmt = tx.prepare_cached(&self.one)?;
            for row in &mut rows[chunked..] {
                bind_log(&mut stmt, 1, row)?;
                stmt.raw_execute()?;
                row.seq = tx.last_insert_rowid();
            }
        }
        Ok(())
    }
}

/// A record the batch stores, with what the writer decided for it.
struct LogRow<'r> {
    r: &'r LogRecord,
    /// Set by [`LogInsertSql::insert_logs`].
    seq: i64,
    dims: i64,
}

impl LogRow<'_> {
    fn tokens_in(&self) -> Option<i64> {
        self.r.usage.tokens_in.map(|v| v as i64)
    }

    fn tokens_out(&self) -> Option<i64> {
        self.r.usage.tokens_out.map(|v| v as i64)
    }
}

/// Binds the [`LOG_COLUMNS`] of `row` from parameter `at` on.
fn bind_log(stmt: &mut Statement<'_>, at: usize, row: &LogRow<'_>) -> rusqlite::Result<()> {
    let r = row.r;
    let values: [&dyn ToSql; LOG_WIDTH] = [
        &r.id,
        &r.account_id,
        &r.gateway_id,
        &r.created_at_ms,
        &(r.duration_ms as i64),
        &r.provider,
        &r.model,
        &r.model_type,
        &r.path,
        &r.request_type,
        &r.method,
        &r.stream,
        &r.request_content_type,
        &r.response_content_type,
        &r.status_code,
        &r.success,
        &r.cached,
        &row.tokens_in(),
        &row.tokens_out(),
        &(r.usage.cached_in as i64),
        &(r.usage.cache_write_in as i64),
        &r.usage.source.as_str(),
        &r.cost,
        &r.custom_cost,
        &r.metadata,
        &r.event_id,
        &r.step,
        &r.user_agent,
        &r.error,
        &r.source.kind.as_str(),
        &r.source.id,
        &r.source.name,
        &r.source.owner,
        &(r.request.size as i64),
        &(r.response.size as i64),
        &row.dims,
    ];
    for (i, value) in values.into_iter().enumerate() {
        stmt.raw_bind_parameter(at + i, value)?;
    }
    Ok(())
}

/// Records of one transaction that were not stored, by reason.
#[derive(Debug, Default, Clone, Copy)]
struct Skipped {
    over_limit: usize,
    gateway_deleted: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigw_core::{Payload, Usage};
    use bytes::Bytes;

    fn record(id: &str) -> LogRecord {
        LogRecord {
            id: id.into(),
            account_id: "a".into(),
            gateway_id: "g".into(),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            status_code: 200,
            success: true,
            usage: Usage::from_provider(10, 5, 2, 0),
            request: Payload { body: Some(Bytes::from_static(b"{\"q\":1}")), size: 7, truncated: false },
            response: Payload { body: Some(Bytes::from_static(b"{\"a\":2}")), size: 9, truncated: true },
            ..Default::default()
        }
    }

    /// An inserter on a new database file (the directory lives as long as the first value).
    fn fresh() -> (tempfile::TempDir, std::path::PathBuf, LogInserter) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let inserter = LogInserter::new(crate::open_write(&path).unwrap()).unwrap();
        (dir, path, inserter)
    }

    /// Records `0..n` of one gateway, each with a body and metadata of its own.
    fn distinct_records(n: usize) -> Vec<LogRecord> {
        (0..n)
            .map(|i| {
                let body = Bytes::from(format!("{{\"q\":{i}}}"));
                LogRecord {
                    metadata: Some(format!(r#"{{"req":"r{i}x"}}"#)),
                    request: Payload { size: body.len() as u64, body: Some(body), truncated: false },
                    created_at_ms: 1_000 + i as i64,
                    ..record(&format!("L{i:03}"))
                }
            })
            .collect()
    }

    /// Each stored log carries its own record's body, and a search for its metadata finds it alone.
    fn assert_each_log_has_its_own_body_and_search_entry(path: &std::path::Path, ids: &[String]) {
        let conn = crate::open_read(path).unwrap();
        for id in ids {
            let i: usize = id[1..].parse().unwrap();
            let log = crate::get_log(&conn, id).unwrap().unwrap();
            assert_eq!(log.request_body.as_deref(), Some(format!("{{\"q\":{i}}}").as_bytes()), "{id}");
            let q = aigw_core::filter::LogQuery { search: Some(format!("r{i}x")), ..Default::default() };
            let page = crate::logs::list_logs(&conn, crate::logs::Scope { account: "a", gateway: "g" }, &q).unwrap();
            let found: Vec<&str> = page.logs.iter().map(|l| l.id.as_str()).collect();
            assert_eq!(found, [id.as_str()], "search for log {id}'s metadata");
        }
    }

    #[test]
    fn rows_written_in_chunks_keep_their_own_bodies_and_search_entries() {
        let (_dir, path, mut inserter) = fresh();
        // Two batches: the second numbers its rows after the first's, and neither is a whole
        // number of chunks.
        let records = distinct_records(3 * CHUNK + 5);
        let (first, second) = records.split_at(CHUNK + 3);
        for batch in [first, second] {
            // One transaction each: not the record-by-record retry, which would hide a misnumbered
            // body behind the conflict it causes.
            let skipped = inserter.insert_all(batch).unwrap();
            assert_eq!((skipped.over_limit, skipped.gateway_deleted), (0, 0));
        }
        let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
        assert_each_log_has_its_own_body_and_search_entry(&path, &ids);
    }

    #[test]
    fn rows_past_the_largest_seq_are_numbered_by_sqlite_and_keep_their_own_bodies() {
        let (_dir, path, mut inserter) = fresh();
        let records = distinct_records(2 * CHUNK + 3);
        inserter.insert_batch(&records[..1]).unwrap();
        // A database filled by some tool: its highest row sits just below the largest rowid.
        let conn = crate::open_write(&path).unwrap();
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        conn.execute("UPDATE logs SET seq = ?1", [i64::MAX - 1]).unwrap();
        conn.execute("UPDATE log_payloads SET seq = ?1", [i64::MAX - 1]).unwrap();
        conn.execute("DELETE FROM search_postings", []).unwrap();
        drop(conn);
        let outcome = inserter.insert_batch(&records[1..]).unwrap();
        assert_eq!(outcome.written, records.len() - 1);
        let ids: Vec<String> = records[1..].iter().map(|r| r.id.clone()).collect();
        assert_each_log_has_its_own_body_and_search_entry(&path, &ids);
    }

    #[test]
    fn a_bad_record_inside_a_chunk_costs_only_itself() {
        let (_dir, path, mut inserter) = fresh();
        let mut records = distinct_records(2 * CHUNK + 1);
        // A second record with the id of the first, in the middle of the second chunk.
        records[CHUNK + 2].id = records[0].id.clone();
        let outcome = inserter.insert_batch(&records).unwrap();
        assert_eq!(outcome, BatchOutcome { written: 2 * CHUNK, over_limit: 0, gateway_deleted: 0, rejected: 1 });
        let ids: Vec<String> =
            records.iter().enumerate().filter(|(i, _)| *i != CHUNK + 2).map(|(_, r)| r.id.clone()).collect();
        assert_each_log_has_its_own_body_and_search_entry(&path, &ids);
        assert_eq!(crate::count_logs(&crate::open_read(&path).unwrap()).unwrap(), 2 * CHUNK as u64);
    }

    #[test]
    fn a_bad_record_costs_only_itself_and_bodies_round_trip() {
        let (_dir, path, mut inserter) = fresh();
        let outcome = inserter.insert_batch(&[record("A"), record("B"), record("A"), record("C")]).unwrap();
        assert_eq!(outcome, BatchOutcome { written: 3, over_limit: 0, gateway_deleted: 0, rejected: 1 });
        let conn = crate::open_read(&path).unwrap();
        assert_eq!(crate::count_logs(&conn).unwrap(), 3);
        let log = crate::get_log(&conn, "B").unwrap().unwrap();
        assert_eq!(log.request_body.as_deref(), Some(&b"{\"q\":1}"[..]));
        assert_eq!(
            (log.response_body.as_deref(), log.response_truncated, log.response_size),
            (Some(&b"{\"a\":2}"[..]), true, 9)
        );
        assert_eq!(
            (log.tokens_in, log.tokens_out, log.tokens_cached, log.usage_source.as_str()),
            (Some(10), Some(5), 2, "provider")
        );
    }
}
