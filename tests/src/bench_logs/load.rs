//! Loading a database: the gateway and an admin token, then N synthetic logs through
//! `LogInserter::insert_batch` (what the writer thread does, so every index, search entry and
//! rollup is written as in production). A kept database is reused when it is there.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aigw_core::gateway::{Gateway, GatewaySpec};
use aigw_core::LogRecord;
use aigw_store::tokens::{Access, ApiToken};
use anyhow::{bail, Context};
use rusqlite::{params, Connection};
use serde_json::json;

use super::data::{Catalog, ACCOUNT, GATEWAY};

/// The admin token the bench authenticates with (write access, for the bulk deletes).
pub const TOKEN: &str = "aigw_at_bench_logs_000000000000000000000000000000000000";
const DAY_MS: i64 = 86_400_000;

/// How a load went.
#[derive(Debug, Clone, Copy)]
pub struct LoadStats {
    pub records: u64,
    /// Wall time of the whole load (generation runs on its own thread, in parallel).
    pub secs: f64,
    /// Of which time spent inside `insert_batch`.
    pub insert_secs: f64,
    pub batch: usize,
}

impl LoadStats {
    pub fn rate(&self) -> f64 {
        self.records as f64 / self.secs.max(1e-9)
    }
    pub fn insert_rate(&self) -> f64 {
        self.records as f64 / self.insert_secs.max(1e-9)
    }
}

/// A database ready to be measured.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    /// The size asked for.
    pub size: u64,
    /// Logs in the gateway now (fewer than `size` when a kept database saw earlier bulk deletes).
    pub count: u64,
    /// `None` when a kept database was reused and its load figures were not recorded.
    pub load: Option<LoadStats>,
    pub reused: bool,
    pub first_ms: i64,
    pub last_ms: i64,
}

pub fn db_path(dir: &Path, size: u64) -> PathBuf {
    dir.join(format!("logs-{size}.db"))
}

fn sidecar(path: &Path) -> PathBuf {
    path.with_extension("load.json")
}

/// Reuses `dir/logs-N.db` when `reuse` and it holds logs; otherwise (re)creates and loads it.
pub fn prepare(
    dir: &Path,
    size: u64,
    reuse: bool,
    batch: usize,
    days: u32,
    with_bodies: bool,
) -> anyhow::Result<Loaded> {
    let path = db_path(dir, size);
    if reuse && path.exists() {
        let conn = aigw_store::open_read(&path)?;
        let count = gateway_count(&conn)?;
        // A load that did not finish left no sidecar: load again.
        if count > 0 && (count == size || sidecar(&path).exists()) {
            drop(conn);
            setup(&path)?;
            let load = read_sidecar(&path);
            let (first_ms, last_ms) = time_bounds(&aigw_store::open_read(&path)?)?;
            println!("  reusing {} ({count} logs)", path.display());
            return Ok(Loaded { path, size, count, load, reused: true, first_ms, last_ms });
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", path.display()));
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    let _ = std::fs::remove_file(sidecar(&path));
    setup(&path)?;
    let load = load(&path, size, batch, days, with_bodies)?;
    let conn = aigw_store::open_write(&path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let count = gateway_count(&conn)?;
    let (first_ms, last_ms) = time_bounds(&conn)?;
    drop(conn);
    if count != size {
        bail!("loaded {count} logs, expected {size}");
    }
    let record = json!({
        "records": load.records, "secs": load.secs, "insert_secs": load.insert_secs, "batch": load.batch,
    });
    std::fs::write(sidecar(&path), record.to_string())?;
    Ok(Loaded { path, size, count, load: Some(load), reused: false, first_ms, last_ms })
}

/// The gateway and the bench's token, if missing.
fn setup(path: &Path) -> anyhow::Result<()> {
    let conn = aigw_store::open_write(path)?;
    if aigw_store::gateways::get_gateway(&conn, ACCOUNT, GATEWAY)?.is_none() {
        let now = now_ms()?;
        aigw_store::gateways::insert_gateway(
            &conn,
            &Gateway {
                account_id: ACCOUNT.into(),
                id: GATEWAY.into(),
                internal_id: "00000000-0000-4000-8000-00000bench01".into(),
                created_at_ms: now,
                modified_at_ms: now,
                spec: GatewaySpec::default_gateway(),
            },
        )?;
    }
    let hash = aigw_admin::auth::hash_secret(TOKEN);
    if aigw_store::tokens::find_token(&conn, &hash)?.is_none() {
        aigw_store::tokens::insert_token(
            &conn,
            &ApiToken {
                id: "bench-logs".into(),
                account_id: ACCOUNT.into(),
                name: "bench_logs".into(),
                email: None,
                access: Access::Write,
                secret_hash: hash,
                created_at_ms: now_ms()?,
                last_used_at_ms: None,
                revoked_at_ms: None,
            },
        )?;
    }
    Ok(())
}

fn now_ms() -> anyhow::Result<i64> {
    Ok(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64)
}

/// Logs in the gateway, from the writer-maintained totals (exact, and cheap at any size).
fn gateway_count(conn: &Connection) -> anyhow::Result<u64> {
    let n: Option<i64> = conn.query_row(
        "SELECT sum(n) FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2",
        params![ACCOUNT, GATEWAY],
        |r| r.get(0),
    )?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

/// The oldest and newest log's `created_at`.
fn time_bounds(conn: &Connection) -> anyhow::Result<(i64, i64)> {
    let one = |sql: &str| -> anyhow::Result<i64> {
        let v: Option<i64> = conn.query_row(sql, params![ACCOUNT, GATEWAY], |r| r.get(0))?;
        v.context("the gateway has no logs")
    };
    Ok((
        one("SELECT min(created_at) FROM logs WHERE account_id = ?1 AND gateway_id = ?2")?,
        one("SELECT max(created_at) FROM logs WHERE account_id = ?1 AND gateway_id = ?2")?,
    ))
}

fn read_sidecar(path: &Path) -> Option<LoadStats> {
    let text = std::fs::read_to_string(sidecar(path)).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(LoadStats {
        records: v["records"].as_u64()?,
        secs: v["secs"].as_f64()?,
        insert_secs: v["insert_secs"].as_f64()?,
        batch: v["batch"].as_u64()? as usize,
    })
}

/// Inserts `n` records spread evenly over the `days` before now, `batch` per transaction. A
/// second thread builds the batches while this one inserts.
fn load(path: &Path, n: u64, batch: usize, days: u32, with_bodies: bool) -> anyhow::Result<LoadStats> {
    let mut inserter = aigw_store::LogInserter::new(aigw_store::open_write(path)?)?;
    let span = i64::from(days.max(1)) * DAY_MS;
    let end = now_ms()? / 3_600_000 * 3_600_000;
    let first = end - span;
    let batch = batch.max(1);
    let (tx, rx) = mpsc::sync_channel::<Vec<LogRecord>>(4);
    let generator = std::thread::spawn(move || {
        let catalog = Catalog::new(with_bodies);
        let mut buf = Vec::with_capacity(batch);
        for i in 0..n {
            let at = first + (i128::from(i) * i128::from(span) / i128::from(n.max(1))) as i64;
            buf.push(catalog.record(i, at));
            if (buf.len() == batch || i + 1 == n)
                && tx.send(std::mem::replace(&mut buf, Vec::with_capacity(batch))).is_err()
            {
                return;
            }
        }
    });
    let started = Instant::now();
    let mut inserting = Duration::ZERO;
    let mut written = 0u64;
    let mut next_report = 1_000_000u64.min(n);
    let mut last = (Instant::now(), 0u64);
    for records in rx {
        let t = Instant::now();
        let outcome = inserter.insert_batch(&records)?;
        inserting += t.elapsed();
        if outcome.written != records.len() {
            bail!("the store kept {} of {} records ({outcome:?})", outcome.written, records.len());
        }
        written += records.len() as u64;
        if written >= next_report {
            let recent = (written - last.1) as f64 / last.0.elapsed().as_secs_f64().max(1e-9);
            println!(
                "    {written:>10} logs  {:>6.1} s  {:>8.0} logs/s overall  {recent:>8.0} logs/s last {}",
                started.elapsed().as_secs_f64(),
                written as f64 / started.elapsed().as_secs_f64(),
                written - last.1
            );
            last = (Instant::now(), written);
            next_report += 1_000_000;
        }
    }
    if generator.join().is_err() {
        bail!("the generator thread panicked");
    }
    drop(inserter);
    if written != n {
        bail!("wrote {written} logs, expected {n}");
    }
    Ok(LoadStats { records: n, secs: started.elapsed().as_secs_f64(), insert_secs: inserting.as_secs_f64(), batch })
}

/// On-disk size: the whole file, and per table and index from `dbstat` when asked.
#[derive(Debug, Clone, Default)]
pub struct Sizes {
    pub file_bytes: u64,
    /// (table or index, bytes), largest first; empty when `dbstat` was skipped or unavailable.
    pub objects: Vec<(String, u64)>,
    pub dbstat_error: Option<String>,
}

impl Sizes {
    /// Bytes of the objects whose name satisfies `f`.
    pub fn sum(&self, f: impl Fn(&str) -> bool) -> u64 {
        self.objects.iter().filter(|(n, _)| f(n)).map(|(_, b)| b).sum()
    }
}

pub fn sizes(path: &Path, with_dbstat: bool) -> anyhow::Result<Sizes> {
    let conn = aigw_store::open_write(path)?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let file_bytes = std::fs::metadata(path)?.len();
    let mut sizes = Sizes { file_bytes, ..Default::default() };
    if with_dbstat {
        let result: rusqlite::Result<Vec<(String, i64)>> = conn
            .prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
            .and_then(|mut s| s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect());
        match result {
            Ok(rows) => sizes.objects = rows.into_iter().map(|(n, b)| (n, b.max(0) as u64)).collect(),
            Err(e) => sizes.dbstat_error = Some(e.to_string()),
        }
    }
    Ok(sizes)
}
