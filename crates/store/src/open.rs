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
        Ok(text_of(ctx.get_raw(0)).map(|t| t.to_lowercase()))
    })?;
    conn.create_scalar_function("aigw_search_pieces", 1, flags, |ctx| {
        Ok(text_of(ctx.get_raw(0)).map(|m| crate::search::pieces_json(&m)))
    })?;
    Ok(())
}

/// A value as the text the SQL functions work on: whatever its type, never an error.
fn text_of(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(r) => Some(r.to_string()),
        ValueRef::Blob(_) => Some(String::new()),
    }
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

    /// A database of the schema before the posting lists (10) is indexed by the migration: its
    /// logs are found by a term inside a value or across an entry's key and value, and the old
    /// indexes are gone.
    #[test]
    fn migration_11_builds_the_posting_lists_from_the_logs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.db");
        let mut inserter = crate::LogInserter::new(super::open_write(&path).unwrap()).unwrap();
        let records: Vec<aigw_core::LogRecord> =
            [("L1", r#"{"Team":"Search","run":12}"#), ("L2", r#"{"team":"search","run":7}"#)]
                .into_iter()
                .map(|(id, metadata)| aigw_core::LogRecord {
                    id: id.into(),
                    account_id: "a".into(),
                    gateway_id: "g".into(),
                    provider: "openai".into(),
                    metadata: Some(metadata.into()),
                    ..Default::default()
                })
                .collect();
        assert_eq!(inserter.insert_batch(&records).unwrap().written, 2);
        drop(inserter);
        // Back to the schema of 10: the logs without posting lists, and the trigram index of then.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE search_terms; DROP TABLE search_postings; DROP TABLE search_vocab;
             CREATE VIRTUAL TABLE log_search USING fts5(text, tokenize = 'trigram');
             CREATE INDEX logs_metadata ON logs(seq, metadata) WHERE metadata IS NOT NULL;
             PRAGMA user_version = 10;",
        )
        .unwrap();
        drop(conn);

        let conn = super::open_write(&path).unwrap();
        let found = |term: &str| -> Vec<String> {
            let q = aigw_core::filter::LogQuery { search: Some(term.into()), ..Default::default() };
            let page = crate::logs::list_logs(&conn, crate::logs::Scope { account: "a", gateway: "g" }, &q).unwrap();
            let mut ids: Vec<String> = page.logs.into_iter().map(|l| l.id).collect();
            ids.sort();
            ids
        };
        assert_eq!(found("SEARCH"), ["L1", "L2"]);
        assert_eq!(found(r#"m":"sea"#), ["L1", "L2"]);
        // Across two entries: the plain query's.
        assert_eq!(found(r#"search","run"#), ["L1", "L2"]);
        assert_eq!(found("12x"), Vec::<String>::new());
        assert_eq!(found(r#"run":12"#), ["L1"]);
        let terms: i64 = conn.query_row("SELECT count(*) FROM search_terms", [], |r| r.get(0)).unwrap();
        assert_eq!(terms, 3, "one entry per distinct piece: team:search, run:12, run:7");
        let old: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_schema WHERE name IN ('log_search', 'logs_metadata')", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(old, 0);
    }
}
