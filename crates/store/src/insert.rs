//! Batch insert of log records: one transaction per batch, prepared statements, bodies
//! compressed into `log_payloads` so that list queries never touch them.

use aigw_core::LogRecord;
use rusqlite::{params, Connection};

use crate::codec::Compressor;
use crate::dims::DimsCache;
use crate::error::StoreError;
use crate::retention::{self, Admission};
use crate::rollup::{Additions, Stats, HOUR_MS};

const INSERT_LOG: &str = "INSERT INTO logs (
    id, account_id, gateway_id, created_at, duration, provider, model, model_type, path,
    request_type, method, stream, request_content_type, response_content_type, status_code,
    success, cached, tokens_in, tokens_out, tokens_cached, tokens_cache_write, usage_source, cost,
    custom_cost, metadata, event_id, step, user_agent, error, source_kind, source_id, source_name,
    source_owner, request_size, response_size, dims
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
          ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36)";

const INSERT_PAYLOAD: &str = "INSERT INTO log_payloads
    (seq, request, request_truncated, response, response_truncated) VALUES (?1, ?2, ?3, ?4, ?5)";

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
        Ok(Self { conn, compressor: Compressor::new()?, dims: DimsCache::default(), data_version: None })
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
            // The transaction rolled back, and with it any combination it created.
            self.dims.clear();
        }
        result
    }

    /// Inserts what each gateway admits; returns how many records it did not store, and why.
    fn try_insert_all(&mut self, records: &[LogRecord]) -> Result<Skipped, StoreError> {
        let tx = self.conn.transaction()?;
        let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
        if self.data_version.replace(version) != Some(version) {
            // Cached combination ids may name combinations another connection deleted.
            self.dims.clear();
        }
        let mut limits = retention::Limits::default();
        let mut additions = Additions::default();
        let mut skipped = Skipped::default();
        {
            let mut log_stmt = tx.prepare_cached(INSERT_LOG)?;
            let mut payload_stmt = tx.prepare_cached(INSERT_PAYLOAD)?;
            let mut search_stmt = tx.prepare_cached(crate::search::INSERT_SQL)?;
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
                let dims = self.dims.id(&tx, r)?;
                let tokens_in = r.usage.tokens_in.map(|v| v as i64);
                let tokens_out = r.usage.tokens_out.map(|v| v as i64);
                log_stmt.execute(params![
                    r.id,
                    r.account_id,
                    r.gateway_id,
                    r.created_at_ms,
                    r.duration_ms as i64,
                    r.provider,
                    r.model,
                    r.model_type,
                    r.path,
                    r.request_type,
                    r.method,
                    r.stream,
                    r.request_content_type,
                    r.response_content_type,
                    r.status_code,
                    r.success,
                    r.cached,
                    tokens_in,
                    tokens_out,
                    r.usage.cached_in as i64,
                    r.usage.cache_write_in as i64,
                    r.usage.source.as_str(),
                    r.cost,
                    r.custom_cost,
                    r.metadata,
                    r.event_id,
                    r.step,
                    r.user_agent,
                    r.error,
                    r.source.kind.as_str(),
                    r.source.id,
                    r.source.name,
                    r.source.owner,
                    r.request.size as i64,
                    r.response.size as i64,
                    dims,
                ])?;
                let seq = tx.last_insert_rowid();
                if r.request.body.is_some() || r.response.body.is_some() {
                    let request = r.request.body.as_deref().map(|b| self.compressor.encode(b)).transpose()?;
                    let response = r.response.body.as_deref().map(|b| self.compressor.encode(b)).transpose()?;
                    payload_stmt.execute(params![seq, request, r.request.truncated, response, r.response.truncated])?;
                }
                if let Some(metadata) = &r.metadata {
                    crate::search::index(&mut search_stmt, seq, metadata)?;
                }
                let hour = r.created_at_ms.div_euclid(HOUR_MS);
                let stats = Stats::of(r.cost, r.duration_ms as i64, tokens_in, tokens_out);
                additions.add(&r.account_id, &r.gateway_id, hour, dims, &stats);
            }
        }
        if !additions.is_empty() {
            additions.apply(&tx)?;
        }
        limits.delete_oldest_excess(&tx)?;
        tx.commit()?;
        Ok(skipped)
    }
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

    #[test]
    fn a_bad_record_costs_only_itself_and_bodies_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut inserter = LogInserter::new(crate::open_write(&path).unwrap()).unwrap();
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
