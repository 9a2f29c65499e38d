//! Walking every account's chain: each record must link to the one before it in its account
//! and hash to what it stores, and each account's head (`audit_heads`) must be its last record,
//! so that edited, inserted, removed and reordered records all show. Values are hashed as they
//! are stored, whatever their type, so a record whose columns were retyped shows too.

use std::collections::HashMap;

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use super::{chain_hash, COLUMNS, GENESIS};
use crate::error::StoreError;

/// The first place where a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The record's position in the table (`None` when a head, not a record, is wrong).
    pub seq: Option<i64>,
    /// The record's id (or, for a head, the id of the account's last record, if any).
    pub id: Option<String>,
    pub account_id: String,
    pub reason: String,
}

/// What [`verify`] checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    pub accounts: u64,
    /// `None` when every chain is intact.
    pub broken: Option<Broken>,
}

struct Tip {
    hash: Vec<u8>,
    count: i64,
    seq: i64,
    id: String,
}

/// Checks every chain, in insertion order, stopping at the first break.
pub fn verify(conn: &Connection) -> Result<VerifyReport, StoreError> {
    let sql = format!("SELECT seq, prev_hash, hash, {} FROM audit_log ORDER BY seq", COLUMNS.join(", "));
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    let mut tips: HashMap<String, Tip> = HashMap::new();
    let mut records = 0u64;
    while let Some(row) = rows.next()? {
        records += 1;
        let seq: i64 = row.get(0)?;
        let values: Vec<ValueRef<'_>> = (3..3 + COLUMNS.len()).map(|i| row.get_ref(i)).collect::<Result<_, _>>()?;
        let text = |i: usize| match values[i] {
            ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
            other => format!("{other:?}"),
        };
        let (id, account) = (text(0), text(1));
        let broken =
            |reason: String| Broken { seq: Some(seq), id: Some(id.clone()), account_id: account.clone(), reason };
        let (ValueRef::Blob(prev), ValueRef::Blob(stored)) = (row.get_ref(1)?, row.get_ref(2)?) else {
            return Ok(report(records, &tips, Some(broken("its prev_hash or hash is not a hash".into()))));
        };
        let tip = tips.get(&account);
        let expected_prev = tip.map_or(&GENESIS[..], |t| t.hash.as_slice());
        if prev != expected_prev {
            let reason = match tip {
                None => "it claims a predecessor, but it is the first record of its account: earlier records \
                         were removed"
                    .to_string(),
                Some(t) => format!(
                    "it does not follow the record before it in its account ({}, seq {}): a record between them \
                     was removed or inserted, or that record's hash was rewritten",
                    t.id, t.seq
                ),
            };
            return Ok(report(records, &tips, Some(broken(reason))));
        }
        let computed = chain_hash(prev, &values);
        if computed != stored {
            return Ok(report(
                records,
                &tips,
                Some(broken("its content does not match its hash: it was edited".into())),
            ));
        }
        let count = tip.map_or(0, |t| t.count) + 1;
        tips.insert(account, Tip { hash: computed, count, seq, id });
    }
    drop(rows);

    let mut heads = conn.prepare("SELECT account_id, seq, count, hash FROM audit_heads ORDER BY account_id")?;
    let mut heads = heads.query([])?;
    let mut seen = 0usize;
    while let Some(h) = heads.next()? {
        let account: String = h.get(0)?;
        let (head_seq, head_count, head_hash): (i64, i64, Vec<u8>) = (h.get(1)?, h.get(2)?, h.get(3)?);
        let Some(tip) = tips.get(&account) else {
            let reason = format!("its head says {head_count} records, but it has none: they were removed");
            return Ok(report(records, &tips, Some(Broken { seq: None, id: None, account_id: account, reason })));
        };
        seen += 1;
        if tip.hash != head_hash || tip.count != head_count || tip.seq != head_seq {
            let reason = format!(
                "its head says {head_count} records ending at seq {head_seq}, but the chain has {} ending at seq \
                 {}: the newest records were removed, or the head was rewritten",
                tip.count, tip.seq
            );
            let b = Broken { seq: Some(tip.seq), id: Some(tip.id.clone()), account_id: account, reason };
            return Ok(report(records, &tips, Some(b)));
        }
    }
    if seen != tips.len() {
        let mut missing: Vec<&String> = tips.keys().collect();
        missing.sort();
        if let Some(account) = missing.into_iter().find(|a| !head_exists(conn, a).unwrap_or(false)) {
            let tip = &tips[account];
            let b = Broken {
                seq: Some(tip.seq),
                id: Some(tip.id.clone()),
                account_id: account.clone(),
                reason: "its account has no head: the head was removed".into(),
            };
            return Ok(report(records, &tips, Some(b)));
        }
    }
    Ok(report(records, &tips, None))
}

fn head_exists(conn: &Connection, account: &str) -> Result<bool, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM audit_heads WHERE account_id = ?1", [account], |r| r.get::<_, i64>(0))? > 0)
}

fn report(records: u64, tips: &HashMap<String, Tip>, broken: Option<Broken>) -> VerifyReport {
    VerifyReport { records, accounts: tips.len() as u64, broken }
}
