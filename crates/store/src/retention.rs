//! Retention: a gateway's `log_management` caps how many logs it keeps. With STOP_INSERTING
//! (also the choice when no strategy is set) logs past the cap are not stored; with DELETE_OLDEST
//! each batch deletes as many of the oldest logs as it took the gateway over the cap.

use std::collections::HashMap;

use aigw_core::gateway::LogManagementStrategy;
use rusqlite::{params, Connection};

use crate::delete;
use crate::error::StoreError;

/// One gateway's cap, as seen by one batch.
#[derive(Debug)]
struct Cap {
    limit: i64,
    strategy: LogManagementStrategy,
    /// Logs stored before the batch.
    stored: i64,
    /// Logs of the batch admitted so far.
    admitted: i64,
}

/// What a batch knows about one gateway it writes to.
#[derive(Debug)]
enum Gate {
    /// The gateway exists; its cap, if it has one.
    Open(Option<Cap>),
    /// The gateway was deleted at this time (ms) and not created again.
    Deleted(i64),
}

/// Whether one log is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Admit,
    /// The gateway is full and set to STOP_INSERTING.
    OverLimit,
    /// The request started before its gateway was deleted: the log goes with the gateway.
    GatewayDeleted,
}

/// The caps of the gateways a batch writes to, read once per batch.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    /// By account, then gateway (looked up by `&str`, without building a key per record).
    caps: HashMap<String, HashMap<String, Gate>>,
}

impl Limits {
    /// Whether the gateway takes one more log, of a request that started at `created_at_ms`.
    /// A gateway without a row that was never deleted takes it: `default` is stored on first
    /// use a moment after its first request, and databases filled by tools have no gateways.
    pub(crate) fn admit(
        &mut self,
        conn: &Connection,
        account: &str,
        gateway: &str,
        created_at_ms: i64,
    ) -> Result<Admission, StoreError> {
        if !self.caps.get(account).is_some_and(|g| g.contains_key(gateway)) {
            let gate = match crate::gateways::deleted_at(conn, account, gateway)? {
                Some(at) => Gate::Deleted(at),
                None => Gate::Open(read_cap(conn, account, gateway)?),
            };
            self.caps.entry(account.to_string()).or_default().insert(gateway.to_string(), gate);
        }
        let cap = match self.caps.get_mut(account).and_then(|g| g.get_mut(gateway)) {
            Some(Gate::Deleted(at)) if created_at_ms <= *at => return Ok(Admission::GatewayDeleted),
            Some(Gate::Open(Some(cap))) => cap,
            _ => return Ok(Admission::Admit),
        };
        if cap.strategy == LogManagementStrategy::StopInserting && cap.stored + cap.admitted >= cap.limit {
            return Ok(Admission::OverLimit);
        }
        cap.admitted += 1;
        Ok(Admission::Admit)
    }

    /// For DELETE_OLDEST gateways over their cap: deletes the oldest logs down to it. Returns
    /// the metadata search's pieces that went with their last log.
    pub(crate) fn delete_oldest_excess(&self, conn: &Connection) -> Result<Vec<String>, StoreError> {
        let mut terms = Vec::new();
        for (account, gateway, gate) in
            self.caps.iter().flat_map(|(a, gs)| gs.iter().map(move |(g, gate)| (a, g, gate)))
        {
            let Gate::Open(Some(cap)) = gate else { continue };
            let excess = cap.stored + cap.admitted - cap.limit;
            if cap.strategy != LogManagementStrategy::DeleteOldest || excess <= 0 {
                continue;
            }
            delete::fill_doomed(
                conn,
                "SELECT seq FROM logs WHERE account_id = ?1 AND gateway_id = ?2
                 ORDER BY created_at ASC, seq ASC LIMIT ?3",
                params![account, gateway, excess],
            )?;
            terms.extend(delete::delete_doomed(conn)?.terms);
        }
        Ok(terms)
    }
}

fn read_cap(conn: &Connection, account: &str, gateway: &str) -> Result<Option<Cap>, StoreError> {
    let Some(g) = crate::gateways::get_gateway(conn, account, gateway)? else { return Ok(None) };
    let Some(limit) = g.spec.log_management else { return Ok(None) };
    let stored = stored_logs(conn, account, gateway)?;
    let strategy = g.spec.log_management_strategy.unwrap_or(LogManagementStrategy::StopInserting);
    Ok(Some(Cap { limit: limit.max(0), strategy, stored, admitted: 0 }))
}

/// How many logs a gateway holds (from the rollups: a few rows, not a count of millions).
pub fn stored_logs(conn: &Connection, account: &str, gateway: &str) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(sum(n), 0) FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2")?
        .query_row(params![account, gateway], |r| r.get(0))?)
}
