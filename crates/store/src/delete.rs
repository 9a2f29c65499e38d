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

/// Deletes the logs in `temp.doomed` and empties it; how many went.
pub(crate) fn delete_doomed(conn: &Connection) -> Result<usize, StoreError> {
    let cells = rollup::cells_of_doomed(conn)?;
    conn.execute("DELETE FROM log_payloads WHERE seq IN (SELECT seq FROM temp.doomed)", [])?;
    conn.execute("DELETE FROM log_search WHERE rowid IN (SELECT seq FROM temp.doomed)", [])?;
    let n = conn.execute("DELETE FROM logs WHERE seq IN (SELECT seq FROM temp.doomed)", [])?;
    conn.execute("DELETE FROM temp.doomed", [])?;
    rollup::recompute(conn, &cells)?;
    Ok(n)
}
