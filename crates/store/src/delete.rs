//! Deleting logs: their payloads, their search entries and the rows, then the rollup cells they
//! were counted in, recomputed from what remains. The caller picks the logs into `temp.doomed`.

use rusqlite::{Connection, Params};

use crate::error::StoreError;
use crate::rollup;

/// Fills `temp.doomed` with the `seq`s a query selects (its only column).
pub(crate) fn fill_doomed(conn: &Connection, select: &str, params: impl Params) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS doomed (seq INTEGER PRIMARY KEY); DELETE FROM temp.doomed;")?;
    conn.execute(&format!("INSERT INTO temp.doomed {select}"), params)?;
    Ok(())
}

/// What [`delete_doomed`] removed.
pub(crate) struct Deleted {
    pub logs: usize,
    /// The metadata search's pieces that went with their last log.
    pub terms: Vec<String>,
}

/// Deletes the logs in `temp.doomed` and empties it.
pub(crate) fn delete_doomed(conn: &Connection) -> Result<Deleted, StoreError> {
    let cells = rollup::cells_of_doomed(conn)?;
    conn.execute("DELETE FROM log_payloads WHERE seq IN (SELECT seq FROM temp.doomed)", [])?;
    let terms = crate::search::unindex_doomed(conn)?;
    let logs = conn.execute("DELETE FROM logs WHERE seq IN (SELECT seq FROM temp.doomed)", [])?;
    conn.execute("DELETE FROM temp.doomed", [])?;
    rollup::recompute(conn, &cells)?;
    Ok(Deleted { logs, terms })
}
