//! Opening connections with the pragmas aigw relies on.

use std::path::Path;

use rusqlite::functions::FunctionFlags;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;
use crate::schema;

/// Opens (creating if needed) the database for writing and brings its schema up to date.
pub fn open_write(path: &Path) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::CreateDir { path: dir.display().to_string(), source })?;
    }
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // NORMAL in WAL mode: a crash loses at most the last transactions, never corrupts.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    register_functions(&conn)?;
    schema::migrate(&conn)?;
    Ok(conn)
}

/// Opens a read-only connection; it sees committed data and never blocks the writer.
pub fn open_read(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // A listing reads the rollups and indexes of the recent hours again and again; SQLite's
    // default 2 MB cache re-reads them from the OS on every request. The cache grows only as
    // pages are read, up to this bound.
    conn.pragma_update(None, "cache_size", -READ_CACHE_KIB)?;
    // Pages read in place from the OS cache rather than copied out of it: a metadata search
    // checks thousands of index entries scattered over the file, a third faster this way.
    conn.pragma_update(None, "mmap_size", READ_MMAP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Plans never depend on bound values. Otherwise SQLite compiled cached statements again
    // when rebound (5% of the CPU time of serving first pages, in `perf`). Queries that need a
    // partial index repeat its condition literally, which they must do anyway (`usage.rs`).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    register_functions(&conn)?;
    Ok(conn)
}

/// Page cache of a read connection, in KiB.
const READ_CACHE_KIB: i64 = 32 * 1024;
/// How much of the database file a read connection maps (address space, not memory: pages
/// are shared with the OS cache). The build's cap is raised to match (`.cargo/config.toml`).
const READ_MMAP_BYTES: i64 = 1 << 40;
/// Prepared statements a connection keeps (a listing uses a dozen, the API a few more).
const STATEMENT_CACHE: usize = 64;

/// `aigw_fold(text)`: Unicode lower case, for case-insensitive matching beyond ASCII.
fn register_functions(conn: &Connection) -> Result<(), StoreError> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(crate::query::FOLD, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).to_lowercase()),
            ValueRef::Null => None,
            other => Some(match other {
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(r) => r.to_string(),
                _ => String::new(),
            }),
        })
    })?;
    conn.create_scalar_function("aigw_search_column", 2, flags, |ctx| {
        let folded = ctx.get::<Option<String>>(0)?;
        let i = ctx.get::<i64>(1)?;
        Ok(folded.and_then(|f| usize::try_from(i).ok().and_then(|i| crate::search::column(&f, i))))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn read_connections_map_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        drop(super::open_write(&path).unwrap());
        let conn = super::open_read(&path).unwrap();
        // SQLite silently clamps to its compile-time cap, 2 GB unless the build raised it.
        let mapped: i64 = conn.query_row("PRAGMA mmap_size", [], |r| r.get(0)).unwrap();
        assert_eq!(mapped, super::READ_MMAP_BYTES, "SQLITE_MAX_MMAP_SIZE of this build is too low");
    }

    /// A database of the schema before the search index kept runs (9) is re-indexed by the
    /// migration: its logs are found by a term inside a value, and a term spanning the JSON is
    /// left to the plain query.
    #[test]
    fn migration_10_rebuilds_the_search_index_from_the_logs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let conn = rusqlite::Connection::open(&path).unwrap();
        super::register_functions(&conn).unwrap();
        for sql in &crate::schema::MIGRATIONS[..9] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 9).unwrap();
        conn.execute(
            "INSERT INTO logs (id, account_id, gateway_id, created_at, duration, provider, model, path,
                 request_type, method, stream, status_code, success, cached, tokens_cached,
                 tokens_cache_write, usage_source, custom_cost, step, source_kind, request_size,
                 response_size, metadata)
             VALUES ('L1', 'a', 'g', 0, 1, 'openai', 'gpt', 'chat/completions', 'chat', 'POST', 0, 200, 1, 0, 0,
                 0, 'provider', 0, 0, 'direct', 1, 1, '{\"Team\":\"Search\",\"run\":12}')",
            [],
        )
        .unwrap();
        conn.execute("INSERT INTO log_search (rowid, text) SELECT seq, aigw_fold(metadata) FROM logs", []).unwrap();
        drop(conn);

        let conn = super::open_write(&path).unwrap();
        let hits = |q: &str| -> Vec<i64> {
            let mut stmt = conn.prepare("SELECT rowid FROM log_search WHERE log_search MATCH ?1").unwrap();
            stmt.query_map([q], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
        };
        let seq: i64 = conn.query_row("SELECT seq FROM logs", [], |r| r.get(0)).unwrap();
        assert_eq!(hits(&crate::search::trigram_query("search").unwrap()), vec![seq]);
        assert_eq!(hits(&crate::search::trigram_query("team").unwrap()), vec![seq]);
        assert!(hits("\"am\"\"\"").is_empty(), "the trigram across the key's closing quote is not indexed");
    }
}
