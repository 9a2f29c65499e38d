//! `--explain`: the SQL steps the store runs for the measured queries (as `crates/store/src/plan.rs`
//! and `logs.rs` write them when this was written), each timed alone on a read-only connection
//! (the first of 5 runs, which maps the pages it reads, and the median; every row read) with its
//! `EXPLAIN QUERY PLAN`. For finding which step of a slow query costs what; the statements are
//! copies, so they can drift from the store's.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;

const GW: &str = "l.account_id = 'bench' AND l.gateway_id = 'logs'";
const RGW: &str = "account_id = 'bench' AND gateway_id = 'logs'";
const HOUR: i64 = 3_600_000;
const STATS: &str = "count(*), min(l.cost), max(l.cost), min(l.duration), max(l.duration), min(l.tokens_in), \
    max(l.tokens_in), min(l.tokens_out), max(l.tokens_out), min(coalesce(l.tokens_in, 0) + coalesce(l.tokens_out, 0)), \
    max(coalesce(l.tokens_in, 0) + coalesce(l.tokens_out, 0))";
const DIM_STATS: &str = "l.id, l.n, min_cost, max_cost, min_duration, max_duration, min_tokens_in, max_tokens_in, \
    min_tokens_out, max_tokens_out, min_total, max_total";

fn plan(conn: &Connection, sql: &str) -> String {
    let rows: rusqlite::Result<Vec<String>> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .and_then(|mut s| s.query_map([], |r| r.get::<_, String>(3))?.collect());
    match rows {
        Ok(r) => r.join(" / "),
        Err(e) => format!("(no plan: {e})"),
    }
}

/// The first and the median time of 5 runs, and the rows one run returns.
fn time(conn: &Connection, sql: &str) -> anyhow::Result<(Duration, Duration, u64)> {
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let mut stmt = conn.prepare(sql)?;
        let mut it = stmt.query([])?;
        rows = 0;
        while it.next()?.is_some() {
            rows += 1;
        }
        times.push(started.elapsed());
    }
    let first = times[0];
    times.sort();
    Ok((first, times[times.len() / 2], rows))
}

fn ids(conn: &Connection, sql: &str) -> anyhow::Result<String> {
    let ids: Vec<i64> = conn.prepare(sql)?.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(if ids.is_empty() { "NULL".into() } else { ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",") })
}

pub fn run(path: &Path) -> anyhow::Result<()> {
    let conn = aigw_store::open_read(path)?;
    let (first, last): (i64, i64) = conn.query_row(
        &format!(
            "SELECT (SELECT min(hour) FROM log_rollup WHERE {RGW}), (SELECT max(hour) FROM log_rollup WHERE {RGW})"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (rollup_rows, combos): (i64, i64) = conn.query_row(
        &format!("SELECT (SELECT count(*) FROM log_rollup WHERE {RGW}), (SELECT count(*) FROM log_dims WHERE {RGW})"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let hours = (last - first + 1).max(1);
    println!(
        "  explain: {combos} combinations (log_dims), {rollup_rows} rollup cells over {hours} hours ({} per hour)",
        rollup_rows / hours
    );
    let openai = ids(&conn, &format!("SELECT l.id FROM log_dims l WHERE {GW} AND l.provider = 'openai'"))?;
    let openai_n = openai.split(',').count();
    let cols = "l.id, l.created_at, l.provider, l.model, l.metadata, l.cost, l.tokens_in, l.tokens_out, l.source_name";
    let partial_lo = (last - 100) * HOUR + 1_234_567;
    let steps: Vec<(String, String)> = vec![
        ("combos_where, unfiltered (every combination, with stats)".into(),
            format!("SELECT {DIM_STATS} FROM log_dims l WHERE {GW}")),
        ("combos_where, provider eq openai".into(),
            format!("SELECT {DIM_STATS} FROM log_dims l WHERE {GW} AND (l.provider IN ('openai'))")),
        ("count_combos".into(), format!("SELECT count(*) FROM log_dims WHERE {RGW}")),
        ("hour_bounds as written: min(hour), max(hour) in one SELECT".into(),
            format!("SELECT min(hour), max(hour) FROM log_rollup WHERE {RGW}")),
        ("hour_bounds as two scalar subqueries".into(),
            format!("SELECT (SELECT min(hour) FROM log_rollup WHERE {RGW}), (SELECT max(hour) FROM log_rollup WHERE {RGW})")),
        ("hours(), first page: rollup cells of the newest hour".into(),
            format!("SELECT hour, dims, n FROM log_rollup WHERE {RGW} AND hour >= {last} AND hour <= {last} ORDER BY hour DESC")),
        ("hours(), page 10,000 x 50: rollup cells of the newest 36 hours".into(),
            format!("SELECT hour, dims, n FROM log_rollup WHERE {RGW} AND hour >= {} AND hour <= {last} ORDER BY hour DESC", last - 36)),
        ("hour_rows, first page, unfiltered (50 rows of one hour)".into(),
            format!("SELECT {cols} FROM logs l INDEXED BY logs_gateway_time WHERE {GW} AND l.created_at >= {} AND l.created_at < {} ORDER BY l.created_at DESC, l.seq DESC LIMIT 50 OFFSET 0", (last - 1) * HOUR, last * HOUR)),
        ("hour_rows, deep page, unfiltered (OFFSET 7,000 in one hour)".into(),
            format!("SELECT {cols} FROM logs l INDEXED BY logs_gateway_time WHERE {GW} AND l.created_at >= {} AND l.created_at < {} ORDER BY l.created_at DESC, l.seq DESC LIMIT 50 OFFSET 7000", (last - 30) * HOUR, (last - 29) * HOUR)),
        (format!("hour_rows, provider eq openai (dims IN {openai_n} ids, logs_gateway_time)"),
            format!("SELECT {cols} FROM logs l INDEXED BY logs_gateway_time WHERE {GW} AND l.created_at >= {} AND l.created_at < {} AND l.dims IN ({openai}) ORDER BY l.created_at DESC, l.seq DESC LIMIT 50 OFFSET 0", (last - 1) * HOUR, last * HOUR)),
        ("exact_hour: one partial hour of a created_at window, per combination".into(),
            format!("SELECT l.dims, {STATS} FROM logs l INDEXED BY logs_gateway_time WHERE {GW} AND l.created_at >= {partial_lo} AND l.created_at < {} GROUP BY l.dims", (last - 99) * HOUR)),
        ("range_stats: rollup cells of a one-day window".into(),
            format!("SELECT hour, dims, n, min_cost, max_cost FROM log_rollup WHERE {RGW} AND hour >= {} AND hour <= {}", last - 124, last - 100)),
        ("search_extras: the entries holding 'u1234' (trigrams of the vocabulary)".into(),
            "SELECT t.id, t.text FROM search_vocab v JOIN search_terms t ON t.id = v.rowid WHERE search_vocab MATCH '\"123\" AND \"234\" AND \"u12\"'".into()),
        ("  their postings".into(),
            "SELECT p.seq, p.created_at, p.dims FROM search_postings p WHERE p.term IN (SELECT t.id FROM search_vocab v JOIN search_terms t ON t.id = v.rowid WHERE search_vocab MATCH '\"123\" AND \"234\" AND \"u12\"' AND t.text LIKE '%u1234%')".into()),
        ("search_extras: the entries holding 'u166' (a broad term: u166, u1660-u1669)".into(),
            "SELECT t.id, t.text FROM search_vocab v JOIN search_terms t ON t.id = v.rowid WHERE search_vocab MATCH '\"166\" AND \"u16\"'".into()),
        ("  their postings".into(),
            "SELECT p.seq, p.created_at, p.dims FROM search_postings p WHERE p.term IN (SELECT t.id FROM search_vocab v JOIN search_terms t ON t.id = v.rowid WHERE search_vocab MATCH '\"166\" AND \"u16\"' AND t.text LIKE '%u166%')".into()),
        ("search_extras: the entries holding 'search-backend-prod'".into(),
            "SELECT t.id, t.text FROM search_vocab v JOIN search_terms t ON t.id = v.rowid WHERE search_vocab MATCH '\"-ba\" AND \"-pr\" AND \"ack\" AND \"arc\" AND \"bac\" AND \"ch-\" AND \"cke\" AND \"d-p\" AND \"ear\" AND \"end\" AND \"h-b\" AND \"ken\" AND \"nd-\" AND \"pro\" AND \"rch\" AND \"rod\" AND \"sea\"'".into()),
        ("plain scan: count(*) where cost > 0.01".into(),
            format!("SELECT count(*) FROM logs l WHERE {GW} AND (l.cost > 0.01)")),
        ("plain scan: first page where cost > 0.01".into(),
            format!("SELECT {cols} FROM logs l WHERE {GW} AND (l.cost > 0.01) ORDER BY l.created_at DESC, l.seq DESC LIMIT 50 OFFSET 0")),
        ("delete: pick the newest 1,000 openai logs".into(),
            format!("SELECT l.seq FROM logs l WHERE {GW} AND (l.provider IN ('openai')) ORDER BY l.created_at DESC, l.seq DESC LIMIT 1000")),
    ];
    for (label, sql) in steps {
        let (first, t, rows) = time(&conn, &sql)?;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!("  {:>9.2} ms (first {:>8.2}) {:>8} rows  {label}", ms(t), ms(first), rows);
        println!("  {:>45}{}", "plan: ", plan(&conn, &sql));
    }
    Ok(())
}
