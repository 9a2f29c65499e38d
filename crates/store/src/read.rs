//! Typed read queries.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::codec::decode;
use crate::error::StoreError;

/// A stored log with its payloads, as the detail view needs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredLog {
    pub id: String,
    pub account_id: String,
    pub gateway_id: String,
    pub created_at_ms: i64,
    pub duration_ms: i64,
    pub provider: String,
    pub model: String,
    pub model_type: Option<String>,
    pub path: String,
    pub request_type: String,
    pub method: String,
    pub stream: bool,
    pub request_content_type: Option<String>,
    pub response_content_type: Option<String>,
    pub status_code: i64,
    pub success: bool,
    pub cached: bool,
    pub tokens_in: Option<i64>,
    pub tokens_out: Option<i64>,
    pub tokens_cached: i64,
    pub tokens_cache_write: i64,
    pub usage_source: String,
    pub cost: Option<f64>,
    pub custom_cost: bool,
    pub metadata: Option<String>,
    pub event_id: Option<String>,
    pub step: i64,
    pub feedback: Option<i64>,
    pub score: Option<f64>,
    pub user_agent: Option<String>,
    pub error: Option<String>,
    pub source_kind: String,
    pub source_id: Option<String>,
    pub source_name: Option<String>,
    pub source_owner: Option<String>,
    pub request_size: i64,
    pub response_size: i64,
    /// Decompressed request body, `None` when payloads were not collected.
    pub request_body: Option<Vec<u8>>,
    pub request_truncated: bool,
    pub response_body: Option<Vec<u8>>,
    pub response_truncated: bool,
}

/// The row columns of a log, in `row_to_log`'s order.
pub(crate) const LOG_COLUMNS: &str = "l.id, l.account_id, l.gateway_id, l.created_at, l.duration,
    l.provider, l.model, l.model_type, l.path, l.request_type, l.method, l.stream,
    l.request_content_type, l.response_content_type, l.status_code, l.success, l.cached,
    l.tokens_in, l.tokens_out, l.tokens_cached, l.tokens_cache_write, l.usage_source, l.cost,
    l.custom_cost, l.metadata, l.event_id, l.step, l.feedback, l.score, l.user_agent, l.error,
    l.source_kind, l.source_id, l.source_name, l.source_owner, l.request_size, l.response_size";

const SELECT_LOG: &str = "SELECT l.id, l.account_id, l.gateway_id, l.created_at, l.duration,
    l.provider, l.model, l.model_type, l.path, l.request_type, l.method, l.stream,
    l.request_content_type, l.response_content_type, l.status_code, l.success, l.cached,
    l.tokens_in, l.tokens_out, l.tokens_cached, l.tokens_cache_write, l.usage_source, l.cost,
    l.custom_cost, l.metadata, l.event_id, l.step, l.feedback, l.score, l.user_agent, l.error,
    l.source_kind, l.source_id, l.source_name, l.source_owner, l.request_size, l.response_size,
    p.request, p.request_truncated, p.response, p.response_truncated
    FROM logs l LEFT JOIN log_payloads p ON p.seq = l.seq WHERE l.id = ?1";

/// One log by id, with decompressed payloads.
pub fn get_log(conn: &Connection, id: &str) -> Result<Option<StoredLog>, StoreError> {
    let row = conn
        .prepare_cached(SELECT_LOG)?
        .query_row(params![id], |row| {
            Ok((row_to_log(row)?, row.get::<_, Option<Vec<u8>>>(37)?, row.get::<_, Option<Vec<u8>>>(39)?))
        })
        .optional()?;
    let Some((mut log, request, response)) = row else {
        return Ok(None);
    };
    log.request_body = request.as_deref().map(decode).transpose()?;
    log.response_body = response.as_deref().map(decode).transpose()?;
    Ok(Some(log))
}

/// How many logs are stored in all.
pub fn count_logs(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM logs", [], |r| r.get::<_, i64>(0))? as u64)
}

pub(crate) fn row_to_log(r: &Row<'_>) -> rusqlite::Result<StoredLog> {
    Ok(StoredLog {
        id: r.get(0)?,
        account_id: r.get(1)?,
        gateway_id: r.get(2)?,
        created_at_ms: r.get(3)?,
        duration_ms: r.get(4)?,
        provider: r.get(5)?,
        model: r.get(6)?,
        model_type: r.get(7)?,
        path: r.get(8)?,
        request_type: r.get(9)?,
        method: r.get(10)?,
        stream: r.get(11)?,
        request_content_type: r.get(12)?,
        response_content_type: r.get(13)?,
        status_code: r.get(14)?,
        success: r.get(15)?,
        cached: r.get(16)?,
        tokens_in: r.get(17)?,
        tokens_out: r.get(18)?,
        tokens_cached: r.get(19)?,
        tokens_cache_write: r.get(20)?,
        usage_source: r.get(21)?,
        cost: r.get(22)?,
        custom_cost: r.get(23)?,
        metadata: r.get(24)?,
        event_id: r.get(25)?,
        step: r.get(26)?,
        feedback: r.get(27)?,
        score: r.get(28)?,
        user_agent: r.get(29)?,
        error: r.get(30)?,
        source_kind: r.get(31)?,
        source_id: r.get(32)?,
        source_name: r.get(33)?,
        source_owner: r.get(34)?,
        request_size: r.get(35)?,
        response_size: r.get(36)?,
        request_body: None,
        request_truncated: r.get::<_, Option<bool>>(38)?.unwrap_or(false),
        response_body: None,
        response_truncated: r.get::<_, Option<bool>>(40)?.unwrap_or(false),
    })
}
