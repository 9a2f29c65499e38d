//! Schema and migrations. Each migration runs once, in order, recorded in `user_version`.

use rusqlite::Connection;

use crate::error::StoreError;

const MIGRATIONS: &[&str] = &[
    // 1: logs and their payloads.
    r#"
    CREATE TABLE logs (
        seq                   INTEGER PRIMARY KEY,
        id                    TEXT NOT NULL,
        account_id            TEXT NOT NULL,
        gateway_id            TEXT NOT NULL,
        created_at            INTEGER NOT NULL,   -- ms since the Unix epoch
        duration              INTEGER NOT NULL,   -- ms
        provider              TEXT NOT NULL,
        model                 TEXT NOT NULL,
        model_type            TEXT,
        path                  TEXT NOT NULL,
        request_type          TEXT NOT NULL,
        method                TEXT NOT NULL,
        stream                INTEGER NOT NULL,
        request_content_type  TEXT,
        response_content_type TEXT,
        status_code           INTEGER NOT NULL,
        success               INTEGER NOT NULL,
        cached                INTEGER NOT NULL,
        tokens_in             INTEGER,
        tokens_out            INTEGER,
        tokens_cached         INTEGER NOT NULL,
        tokens_cache_write    INTEGER NOT NULL,
        usage_source          TEXT NOT NULL,
        cost                  REAL,
        custom_cost           INTEGER NOT NULL,
        metadata              TEXT,
        event_id              TEXT,
        step                  INTEGER NOT NULL,
        feedback              INTEGER,
        score                 REAL,
        user_agent            TEXT,
        error                 TEXT,
        source_kind           TEXT NOT NULL,
        source_id             TEXT,
        source_name           TEXT,
        source_owner          TEXT,
        request_size          INTEGER NOT NULL,
        response_size         INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX logs_id ON logs(id);
    CREATE INDEX logs_gateway_time ON logs(account_id, gateway_id, created_at);
    CREATE TABLE log_payloads (
        seq                INTEGER PRIMARY KEY REFERENCES logs(seq) ON DELETE CASCADE,
        request            BLOB,
        request_truncated  INTEGER NOT NULL,
        response           BLOB,
        response_truncated INTEGER NOT NULL
    );
    "#,
    // 2: gateways and admin API tokens.
    r#"
    CREATE TABLE gateways (
        account_id  TEXT NOT NULL,
        id          TEXT NOT NULL,
        internal_id TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        modified_at INTEGER NOT NULL,
        settings    TEXT NOT NULL,      -- JSON of the settable fields
        PRIMARY KEY (account_id, id)
    ) WITHOUT ROWID;
    CREATE TABLE api_tokens (
        id           TEXT PRIMARY KEY,
        account_id   TEXT NOT NULL,
        name         TEXT NOT NULL,
        email        TEXT,
        access       TEXT NOT NULL CHECK (access IN ('read', 'write')),
        secret_hash  BLOB NOT NULL UNIQUE,   -- SHA-256 of the whole token
        created_at   INTEGER NOT NULL,
        last_used_at INTEGER,
        revoked_at   INTEGER
    );
    CREATE INDEX api_tokens_account ON api_tokens(account_id);
    "#,
    // 3: indexes for the filters the Logs page uses most.
    r#"
    CREATE INDEX logs_gateway_provider ON logs(account_id, gateway_id, provider, created_at);
    CREATE INDEX logs_gateway_model ON logs(account_id, gateway_id, model, created_at);
    CREATE INDEX logs_gateway_success ON logs(account_id, gateway_id, success, created_at);
    "#,
];

/// The schema version this build writes.
pub(crate) const VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > VERSION {
        return Err(StoreError::SchemaTooNew { found, supported: VERSION });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}
