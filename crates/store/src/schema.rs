//! Schema and migrations. Each migration runs once, in order, recorded in `user_version`.

use rusqlite::Connection;

use crate::error::StoreError;

pub(crate) const MIGRATIONS: &[&str] = &[
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
    // 4: rollups for counts, stats and page seeks at scale, and the metadata search index.
    //    `log_dims`: each distinct combination of a gateway's low-cardinality columns, with the
    //    all-time totals of its logs. `log_rollup`: the same per hour. Both are maintained by the
    //    writer in the batch's transaction and recomputed for what a delete touched.
    r#"
    CREATE TABLE log_dims (
        id                    INTEGER PRIMARY KEY,
        account_id            TEXT NOT NULL,
        gateway_id            TEXT NOT NULL,
        provider              TEXT NOT NULL,
        model                 TEXT NOT NULL,
        model_type            TEXT,
        path                  TEXT NOT NULL,
        request_type          TEXT NOT NULL,
        request_content_type  TEXT,
        response_content_type TEXT,
        status_code           INTEGER NOT NULL,
        success               INTEGER NOT NULL,
        cached                INTEGER NOT NULL,
        source_kind           TEXT NOT NULL,
        source_id             TEXT,
        source_name           TEXT,
        n                     INTEGER NOT NULL DEFAULT 0,
        min_cost REAL, max_cost REAL, min_duration INTEGER, max_duration INTEGER,
        min_tokens_in INTEGER, max_tokens_in INTEGER, min_tokens_out INTEGER, max_tokens_out INTEGER,
        min_total INTEGER, max_total INTEGER
    );
    CREATE INDEX log_dims_gateway ON log_dims(account_id, gateway_id);
    CREATE TABLE log_rollup (
        account_id TEXT NOT NULL,
        gateway_id TEXT NOT NULL,
        hour       INTEGER NOT NULL,   -- created_at / 3,600,000
        dims       INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        min_cost REAL, max_cost REAL, min_duration INTEGER, max_duration INTEGER,
        min_tokens_in INTEGER, max_tokens_in INTEGER, min_tokens_out INTEGER, max_tokens_out INTEGER,
        min_total INTEGER, max_total INTEGER,
        PRIMARY KEY (account_id, gateway_id, hour, dims)
    ) WITHOUT ROWID;
    ALTER TABLE logs ADD COLUMN dims INTEGER;
    INSERT INTO log_dims (account_id, gateway_id, provider, model, model_type, path, request_type,
        request_content_type, response_content_type, status_code, success, cached, source_kind,
        source_id, source_name)
    SELECT DISTINCT account_id, gateway_id, provider, model, model_type, path, request_type,
        request_content_type, response_content_type, status_code, success, cached, source_kind,
        source_id, source_name FROM logs;
    UPDATE logs SET dims = (SELECT d.id FROM log_dims d WHERE d.account_id = logs.account_id
        AND d.gateway_id = logs.gateway_id AND d.provider = logs.provider AND d.model = logs.model
        AND d.model_type IS logs.model_type AND d.path = logs.path AND d.request_type = logs.request_type
        AND d.request_content_type IS logs.request_content_type
        AND d.response_content_type IS logs.response_content_type AND d.status_code = logs.status_code
        AND d.success = logs.success AND d.cached = logs.cached AND d.source_kind = logs.source_kind
        AND d.source_id IS logs.source_id AND d.source_name IS logs.source_name);
    INSERT INTO log_rollup
    SELECT account_id, gateway_id, created_at / 3600000, dims, count(*), min(cost), max(cost),
        min(duration), max(duration), min(tokens_in), max(tokens_in), min(tokens_out), max(tokens_out),
        min(coalesce(tokens_in, 0) + coalesce(tokens_out, 0)), max(coalesce(tokens_in, 0) + coalesce(tokens_out, 0))
    FROM logs GROUP BY account_id, gateway_id, created_at / 3600000, dims;
    UPDATE log_dims SET (n, min_cost, max_cost, min_duration, max_duration, min_tokens_in, max_tokens_in,
        min_tokens_out, max_tokens_out, min_total, max_total) = (
        SELECT count(*), min(cost), max(cost), min(duration), max(duration), min(tokens_in), max(tokens_in),
            min(tokens_out), max(tokens_out), min(coalesce(tokens_in, 0) + coalesce(tokens_out, 0)),
            max(coalesce(tokens_in, 0) + coalesce(tokens_out, 0))
        FROM logs WHERE logs.dims = log_dims.id);
    DROP INDEX logs_gateway_provider;
    DROP INDEX logs_gateway_model;
    DROP INDEX logs_gateway_success;
    CREATE INDEX logs_dims_time ON logs(dims, created_at);
    CREATE VIRTUAL TABLE log_search USING fts5(
        text, content = '', contentless_delete = 1, tokenize = 'trigram', detail = 'none'
    );
    INSERT INTO log_search (rowid, text) SELECT seq, aigw_fold(metadata) FROM logs WHERE metadata IS NOT NULL;
    "#,
    // 5: the audit trail: append-only records with a hash chain per account (store/src/audit.rs).
    r#"
    CREATE TABLE audit_log (
        seq                INTEGER PRIMARY KEY,
        id                 TEXT NOT NULL UNIQUE,
        account_id         TEXT NOT NULL,
        account_name       TEXT,
        action_type        TEXT NOT NULL,
        action_result      TEXT NOT NULL,
        action_description TEXT NOT NULL,
        time_ms            INTEGER NOT NULL,
        actor_id           TEXT,
        actor_type         TEXT NOT NULL,
        actor_context      TEXT,
        actor_email        TEXT,
        actor_ip_address   TEXT,
        actor_token_id     TEXT,
        actor_token_name   TEXT,
        raw_cf_ray_id      TEXT NOT NULL,
        raw_method         TEXT,
        raw_status_code    INTEGER,
        raw_uri            TEXT,
        raw_user_agent     TEXT,
        resource_id        TEXT,
        resource_product   TEXT NOT NULL,
        resource_type      TEXT NOT NULL,
        resource_scope     TEXT NOT NULL,
        resource_request   TEXT,               -- JSON, secrets redacted
        resource_response  TEXT,               -- JSON, secrets redacted
        zone_id            TEXT,
        zone_name          TEXT,
        prev_hash          BLOB NOT NULL,      -- hash of the account's previous record
        hash               BLOB NOT NULL
    );
    CREATE INDEX audit_log_account_time ON audit_log(account_id, time_ms);
    CREATE TABLE audit_heads (
        account_id TEXT PRIMARY KEY,
        seq        INTEGER NOT NULL,           -- the account's last record
        count      INTEGER NOT NULL,
        hash       BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    "#,
    // 6: dashboard users, their sessions, virtual keys (store/src/{users,sessions,keys}.rs), and
    //    a covering index for per-key spend and usage (store/src/usage.rs).
    r#"
    CREATE TABLE users (
        id            TEXT PRIMARY KEY,
        account_id    TEXT NOT NULL,
        email         TEXT NOT NULL,
        name          TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('admin', 'member')),
        password_hash TEXT NOT NULL,        -- argon2id PHC string
        created_at    INTEGER NOT NULL,
        modified_at   INTEGER NOT NULL,
        deleted_at    INTEGER
    );
    CREATE UNIQUE INDEX users_email ON users(email COLLATE NOCASE) WHERE deleted_at IS NULL;
    CREATE INDEX users_account ON users(account_id, created_at);
    CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        token_hash  BLOB NOT NULL UNIQUE,   -- SHA-256 of the cookie value
        user_id     TEXT NOT NULL REFERENCES users(id),
        csrf_token  TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        revoked_at  INTEGER,
        ip_address  TEXT,
        user_agent  TEXT
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    CREATE TABLE virtual_keys (
        id                  TEXT PRIMARY KEY,
        account_id          TEXT NOT NULL,
        name                TEXT NOT NULL,
        owner_id            TEXT NOT NULL REFERENCES users(id),
        secret_hash         BLOB NOT NULL UNIQUE,   -- SHA-256 of the whole key
        created_at          INTEGER NOT NULL,
        modified_at         INTEGER NOT NULL,
        expires_at          INTEGER,
        revoked_at          INTEGER,
        gateways            TEXT NOT NULL,          -- JSON arrays; empty: all
        providers           TEXT NOT NULL,
        models              TEXT NOT NULL,
        requests_per_minute INTEGER,
        tokens_per_minute   INTEGER,
        budget_usd          REAL,
        budget_period       TEXT CHECK (budget_period IN ('day', 'week', 'month', 'total'))
    );
    CREATE INDEX virtual_keys_account ON virtual_keys(account_id, created_at);
    CREATE INDEX virtual_keys_owner ON virtual_keys(owner_id);
    -- Bumped by every change to users or keys, so a running gateway notices changes made by
    -- another process (the CLI) without reading the tables.
    CREATE TABLE directory_version (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    );
    INSERT INTO directory_version (id, version) VALUES (1, 0);
    CREATE INDEX logs_source ON logs(source_kind, source_id, created_at, success, cost, tokens_in, tokens_out)
        WHERE source_kind <> 'direct';
    "#,
    // 7: when each gateway was deleted, so the writer drops the logs of requests that were in
    // flight when their gateway went away instead of storing them for a gateway that no longer
    // exists. Creating the gateway again removes its row.
    r#"
    CREATE TABLE deleted_gateways (
        account_id TEXT NOT NULL,
        gateway_id TEXT NOT NULL,
        deleted_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, gateway_id)
    ) WITHOUT ROWID;
    "#,
    // 8: a gateway's totals per hour, all combinations together (`log_hours`): what an unfiltered
    //    count, stats or page seek reads instead of every combination of every hour. Maintained
    //    with `log_rollup`, of which it is the sum per hour. The time index also covers the
    //    columns of the stats, so the exact count of a range's partial hours reads only the index;
    //    `seq` is named so that the index still gives the pages' order (time, then seq). The
    //    two filters the Logs page uses most find their combinations without reading them all.
    r#"
    CREATE INDEX log_dims_provider ON log_dims(account_id, gateway_id, provider);
    CREATE INDEX log_dims_model ON log_dims(account_id, gateway_id, model);
    CREATE INDEX log_rollup_dims ON log_rollup(account_id, gateway_id, dims, hour, n);
    DROP INDEX logs_gateway_time;
    CREATE INDEX logs_gateway_time
        ON logs(account_id, gateway_id, created_at, seq, dims, cost, duration, tokens_in, tokens_out);
    CREATE TABLE log_hours (
        account_id TEXT NOT NULL,
        gateway_id TEXT NOT NULL,
        hour       INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        min_cost REAL, max_cost REAL, min_duration INTEGER, max_duration INTEGER,
        min_tokens_in INTEGER, max_tokens_in INTEGER, min_tokens_out INTEGER, max_tokens_out INTEGER,
        min_total INTEGER, max_total INTEGER,
        PRIMARY KEY (account_id, gateway_id, hour)
    ) WITHOUT ROWID;
    INSERT INTO log_hours
    SELECT account_id, gateway_id, hour, sum(n), min(min_cost), max(max_cost), min(min_duration),
        max(max_duration), min(min_tokens_in), max(max_tokens_in), min(min_tokens_out), max(max_tokens_out),
        min(min_total), max(max_total)
    FROM log_rollup GROUP BY account_id, gateway_id, hour;
    "#,
    // 9: (superseded by 11, which drops what it built) an index to check trigram hits in.
    "",
    // 10: (superseded by 11, which drops what it built) the trigram index kept the runs between
    //     the JSON's structural characters, one column each.
    "",
    // 11: the metadata search reads posting lists per metadata entry (`search.rs`) instead of
    //     checking each trigram hit in a log row: a term found in thousands of logs spread over
    //     the file read a page per hit. The per-log trigram index and the index the hits were
    //     checked in go; the latter only once the lists are built, as it covers what they read.
    r#"
    DROP TABLE IF EXISTS log_search;
    CREATE TABLE search_terms (
        id   INTEGER PRIMARY KEY,
        text TEXT NOT NULL UNIQUE
    );
    CREATE TABLE search_postings (
        term       INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        dims       INTEGER NOT NULL,
        PRIMARY KEY (term, seq)
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE search_vocab USING fts5(
        text, content = '', contentless_delete = 1, tokenize = 'trigram', detail = 'none'
    );
    INSERT OR IGNORE INTO search_terms (text)
    SELECT p.value FROM logs l, json_each(aigw_search_pieces(l.metadata)) p WHERE l.metadata IS NOT NULL;
    INSERT OR IGNORE INTO search_postings (term, seq, created_at, dims)
    SELECT t.id, l.seq, l.created_at, l.dims
    FROM logs l, json_each(aigw_search_pieces(l.metadata)) p JOIN search_terms t ON t.text = p.value
    WHERE l.metadata IS NOT NULL
    ORDER BY t.id, l.seq;
    INSERT INTO search_vocab (rowid, text) SELECT id, text FROM search_terms;
    DROP INDEX IF EXISTS logs_metadata;
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
