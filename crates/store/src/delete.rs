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

#[cfg(test)]
mod tests {
    /// Deleting a few logs seeks each of them: neither what it reads of them first (their
    /// rollup cells, their metadata's postings) walks every log (80 ms at 200k logs, for each
    /// delete and each batch of a gateway at its DELETE_OLDEST cap).
    #[test]
    fn what_is_read_of_doomed_logs_is_read_from_the_doomed_logs() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::open_write(&dir.path().join("t.db")).unwrap();
        super::fill_doomed(&conn, "SELECT 1", []).unwrap();
        for sql in [crate::rollup::doomed_cells_sql(), crate::search::DOOMED_POSTINGS.to_string()] {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let plan: Vec<String> = stmt.query_map([], |r| r.get(3)).unwrap().map(Result::unwrap).collect();
            assert!(plan.iter().any(|step| step.starts_with("SCAN d")), "{plan:?}");
            assert!(plan.iter().all(|step| !step.starts_with("SCAN l")), "{plan:?}");
        }
    }
}
