//! Batch insert of log records: one transaction per batch, prepared statements, bodies
//! compressed into `log_payloads` so that list queries never touch them.

use aigw_core::LogRecord;
use rusqlite::{params, Connection};

use crate::codec::Compressor;
use crate::error::StoreError;

const INSERT_LOG: &str = "INSERT INTO logs (
    id, account_id, gateway_id, created_at, duration, provider, model, model_type, path,
    request_type, method, stream, request_content_type, response_content_type, status_code,
    success, cached, tokens_in, tokens_out, tokens_cached, tokens_cache_write, usage_source, cost,
    custom_cost, metadata, event_id, step, user_agent, error, source_kind, source_id, source_name,
    source_owner, request_size, response_size
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
          ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35)";

const INSERT_PAYLOAD: &str = "INSERT INTO log_payloads
    (seq, request, request_truncated, response, response_truncated) VALUES (?1, ?2, ?3, ?4, ?5)";

/// Owns the write connection. Lives on the writer thread.
pub struct LogInserter {
    conn: Connection,
    compressor: Compressor,
}

/// What one call to [`LogInserter::insert_batch`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub written: usize,
    /// Records the database refused even alone (each is logged); the rest of the batch is kept.
    pub rejected: usize,
}

impl LogInserter {
    pub fn new(conn: Connection) -> Result<Self, StoreError> {
        Ok(Self {
            conn,
            compressor: Compressor::new()?,
        })
    }

    /// Writes `records` in one transaction. If the transaction fails, each record is retried in
    /// its own, so one bad record never costs the others.
    pub fn insert_batch(&mut self, records: &[LogRecord]) -> Result<BatchOutcome, StoreError> {
        match self.insert_all(records) {
            Ok(()) => Ok(BatchOutcome {
                written: records.len(),
                rejected: 0,
            }),
            Err(batch_error) => {
                tracing::warn!(error = %batch_error, records = records.len(), "batch insert failed; retrying records one by one");
                let mut outcome = BatchOutcome::default();
                for record in records {
                    match self.insert_all(std::slice::from_ref(record)) {
                        Ok(()) => outcome.written += 1,
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
        }
    }

    fn insert_all(&mut self, records: &[LogRecord]) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut log_stmt = tx.prepare_cached(INSERT_LOG)?;
            let mut payload_stmt = tx.prepare_cached(INSERT_PAYLOAD)?;
            for r in records {
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
                    r.usage.tokens_in.map(|v| v as i64),
                    r.usage.tokens_out.map(|v| v as i64),
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
                ])?;
                if r.request.body.is_some() || r.response.body.is_some() {
                    let seq = tx.last_insert_rowid();
                    let request = r
                        .request
                        .body
                        .as_deref()
                        .map(|b| self.compressor.compress(b))
                        .transpose()?;
                    let response = r
                        .response
                        .body
                        .as_deref()
                        .map(|b| self.compressor.compress(b))
                        .transpose()?;
                    payload_stmt.execute(params![
                        seq,
                        request,
                        r.request.truncated,
                        response,
                        r.response.truncated
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}
