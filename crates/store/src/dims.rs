//! A log's combination of low-cardinality columns (`log_dims`): what the Logs page filters on
//! most (provider, model, path, status, source, ...). Each log row points at its combination, so
//! those filters are answered on a few hundred combinations instead of millions of rows.

use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;

use aigw_core::LogRecord;
use rusqlite::{Connection, OptionalExtension};

use crate::error::StoreError;

/// The columns of a combination, as in `logs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DimsKey {
    account_id: String,
    gateway_id: String,
    provider: String,
    model: String,
    model_type: Option<String>,
    path: String,
    request_type: String,
    request_content_type: Option<String>,
    response_content_type: Option<String>,
    status_code: u16,
    success: bool,
    cached: bool,
    source_kind: &'static str,
    source_id: Option<String>,
    source_name: Option<String>,
}

impl DimsKey {
    /// Whether `r` has this combination (compared in place, without building a key).
    fn matches(&self, r: &LogRecord) -> bool {
        self.status_code == r.status_code
            && self.success == r.success
            && self.cached == r.cached
            && self.source_kind == r.source.kind.as_str()
            && self.model == r.model
            && self.path == r.path
            && self.provider == r.provider
            && self.gateway_id == r.gateway_id
            && self.account_id == r.account_id
            && self.request_type == r.request_type
            && self.model_type == r.model_type
            && self.request_content_type == r.request_content_type
            && self.response_content_type == r.response_content_type
            && self.source_id == r.source.id
            && self.source_name == r.source.name
    }

    /// A hash of `r`'s combination, from its fields in place.
    fn hash_of(state: &RandomState, r: &LogRecord) -> u64 {
        state.hash_one((
            (&r.account_id, &r.gateway_id, &r.provider, &r.model, &r.model_type, &r.path, &r.request_type),
            (&r.request_content_type, &r.response_content_type, r.status_code, r.success, r.cached),
            (r.source.kind.as_str(), &r.source.id, &r.source.name),
        ))
    }

    pub(crate) fn of(r: &LogRecord) -> Self {
        DimsKey {
            account_id: r.account_id.clone(),
            gateway_id: r.gateway_id.clone(),
            provider: r.provider.clone(),
            model: r.model.clone(),
            model_type: r.model_type.clone(),
            path: r.path.clone(),
            request_type: r.request_type.clone(),
            request_content_type: r.request_content_type.clone(),
            response_content_type: r.response_content_type.clone(),
            status_code: r.status_code,
            success: r.success,
            cached: r.cached,
            source_kind: r.source.kind.as_str(),
            source_id: r.source.id.clone(),
            source_name: r.source.name.clone(),
        }
    }
}

/// The writer's map of combinations to ids. Combinations go only with their gateway, deleted by
/// another connection; the inserter clears the map whenever another connection has committed.
#[derive(Debug, Default)]
pub(crate) struct DimsCache {
    /// By the hash of the combination: a record is looked up from its own fields, so the
    /// writer builds no key per record, only one per new combination. Hashed with foldhash
    /// (seeded per cache): SipHash cost the writer 5% of its work for this one lookup.
    ids: HashMap<u64, Vec<(DimsKey, i64)>, RandomState>,
    len: usize,
    state: RandomState,
}

/// Bound on cached combinations; past it the map starts over (it refills from the table).
const MAX_CACHED: usize = 100_000;

impl DimsCache {
    /// The id of a record's combination, created if new (in the caller's transaction).
    pub(crate) fn id(&mut self, conn: &Connection, r: &LogRecord) -> Result<i64, StoreError> {
        let hash = DimsKey::hash_of(&self.state, r);
        if let Some((_, id)) = self.ids.get(&hash).and_then(|keys| keys.iter().find(|(k, _)| k.matches(r))) {
            return Ok(*id);
        }
        let key = DimsKey::of(r);
        let id = find_or_insert(conn, &key)?;
        if self.len >= MAX_CACHED {
            self.clear();
        }
        self.ids.entry(hash).or_default().push((key, id));
        self.len += 1;
        Ok(id)
    }

    /// Forgets every id (after a rolled-back transaction may have discarded new ones).
    pub(crate) fn clear(&mut self) {
        self.ids.clear();
        self.len = 0;
    }
}

fn find_or_insert(conn: &Connection, k: &DimsKey) -> Result<i64, StoreError> {
    let found = conn
        .prepare_cached(
            "SELECT id FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2 AND provider = ?3 AND model = ?4
             AND model_type IS ?5 AND path = ?6 AND request_type = ?7 AND request_content_type IS ?8
             AND response_content_type IS ?9 AND status_code = ?10 AND success = ?11 AND cached = ?12
             AND source_kind = ?13 AND source_id IS ?14 AND source_name IS ?15",
        )?
        .query_row(params_of(k), |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        return Ok(id);
    }
    conn.prepare_cached(
        "INSERT INTO log_dims (account_id, gateway_id, provider, model, model_type, path, request_type,
             request_content_type, response_content_type, status_code, success, cached, source_kind,
             source_id, source_name)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?
    .execute(params_of(k))?;
    Ok(conn.last_insert_rowid())
}

fn params_of(k: &DimsKey) -> [&dyn rusqlite::ToSql; 15] {
    [
        &k.account_id,
        &k.gateway_id,
        &k.provider,
        &k.model,
        &k.model_type,
        &k.path,
        &k.request_type,
        &k.request_content_type,
        &k.response_content_type,
        &k.status_code,
        &k.success,
        &k.cached,
        &k.source_kind,
        &k.source_id,
        &k.source_name,
    ]
}
