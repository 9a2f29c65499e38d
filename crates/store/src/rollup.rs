//! Rollups: the count and min/max stats of a gateway's logs per combination of low-cardinality
//! columns (`log_dims`, all time) and per hour (`log_rollup`). They make `total_count`,
//! `meta_info` and deep pages cost a few hundred rows instead of millions.
//!
//! The writer adds each batch's stats in the batch's own transaction; a delete recomputes, from
//! the logs that remain, exactly the (combination, hour) cells it touched. So the rollups always
//! equal what a full scan would say.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{params, params_from_iter, Connection, Row, ToSql};

use crate::error::StoreError;

/// Milliseconds per rollup bucket.
pub(crate) const HOUR_MS: i64 = 3_600_000;

/// The stats columns, in [`Stats`]' order (after `n`).
pub(crate) const STAT_COLUMNS: &str = "min_cost, max_cost, min_duration, max_duration, min_tokens_in, max_tokens_in,
    min_tokens_out, max_tokens_out, min_total, max_total";

/// The same stats computed from `logs` rows (alias `l`), count first.
pub(crate) const STAT_AGGREGATES: &str = "count(*), min(l.cost), max(l.cost), min(l.duration), max(l.duration),
    min(l.tokens_in), max(l.tokens_in), min(l.tokens_out), max(l.tokens_out),
    min(coalesce(l.tokens_in, 0) + coalesce(l.tokens_out, 0)),
    max(coalesce(l.tokens_in, 0) + coalesce(l.tokens_out, 0))";

/// The same stats summed over rollup rows (alias `l`), count first.
pub(crate) const DIM_AGGREGATES: &str = "coalesce(sum(l.n), 0), min(l.min_cost), max(l.max_cost),
    min(l.min_duration), max(l.max_duration), min(l.min_tokens_in), max(l.max_tokens_in),
    min(l.min_tokens_out), max(l.max_tokens_out), min(l.min_total), max(l.max_total)";

/// Count and min/max of a set of logs. Nulls are ignored by min/max, as SQL's aggregates do.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    pub n: i64,
    pub min_cost: Option<f64>,
    pub max_cost: Option<f64>,
    pub min_duration: Option<i64>,
    pub max_duration: Option<i64>,
    pub min_tokens_in: Option<i64>,
    pub max_tokens_in: Option<i64>,
    pub min_tokens_out: Option<i64>,
    pub max_tokens_out: Option<i64>,
    pub min_total: Option<i64>,
    pub max_total: Option<i64>,
}

fn lo<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y < x { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

fn hi<T: PartialOrd + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(if y > x { y } else { x }),
        (x, None) => x,
        (None, y) => y,
    }
}

impl Stats {
    /// The stats of one log.
    pub(crate) fn of(cost: Option<f64>, duration: i64, tokens_in: Option<i64>, tokens_out: Option<i64>) -> Self {
        let total = Some(tokens_in.unwrap_or(0) + tokens_out.unwrap_or(0));
        Stats {
            n: 1,
            min_cost: cost,
            max_cost: cost,
            min_duration: Some(duration),
            max_duration: Some(duration),
            min_tokens_in: tokens_in,
            max_tokens_in: tokens_in,
            min_tokens_out: tokens_out,
            max_tokens_out: tokens_out,
            min_total: total,
            max_total: total,
        }
    }

    pub(crate) fn merge(&mut self, o: &Stats) {
        self.n += o.n;
        self.min_cost = lo(self.min_cost, o.min_cost);
        self.max_cost = hi(self.max_cost, o.max_cost);
        self.min_duration = lo(self.min_duration, o.min_duration);
        self.max_duration = hi(self.max_duration, o.max_duration);
        self.min_tokens_in = lo(self.min_tokens_in, o.min_tokens_in);
        self.max_tokens_in = hi(self.max_tokens_in, o.max_tokens_in);
        self.min_tokens_out = lo(self.min_tokens_out, o.min_tokens_out);
        self.max_tokens_out = hi(self.max_tokens_out, o.max_tokens_out);
        self.min_total = lo(self.min_total, o.min_total);
        self.max_total = hi(self.max_total, o.max_total);
    }

    /// `n` and the stats, in [`STAT_COLUMNS`]' order, as SQL parameters.
    fn sql(&self) -> [&dyn ToSql; 11] {
        [
            &self.n,
            &self.min_cost,
            &self.max_cost,
            &self.min_duration,
            &self.max_duration,
            &self.min_tokens_in,
            &self.max_tokens_in,
            &self.min_tokens_out,
            &self.max_tokens_out,
            &self.min_total,
            &self.max_total,
        ]
    }

    /// Reads `n` and the stats columns starting at column `at`.
    pub(crate) fn from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<Self> {
        Ok(Stats {
            n: r.get(at)?,
            min_cost: r.get(at + 1)?,
            max_cost: r.get(at + 2)?,
            min_duration: r.get(at + 3)?,
            max_duration: r.get(at + 4)?,
            min_tokens_in: r.get(at + 5)?,
            max_tokens_in: r.get(at + 6)?,
            min_tokens_out: r.get(at + 7)?,
            max_tokens_out: r.get(at + 8)?,
            min_total: r.get(at + 9)?,
            max_total: r.get(at + 10)?,
        })
    }
}

/// One rollup cell: a gateway's combination in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Cell {
    pub account: String,
    pub gateway: String,
    pub hour: i64,
    pub dims: i64,
}

/// A batch's additions, applied in the batch's transaction. Kept by combination id: a
/// combination belongs to one gateway, so the gateway's names are stored once per combination
/// rather than copied for every record.
#[derive(Debug, Default)]
pub(crate) struct Additions {
    /// By (combination, hour).
    cells: HashMap<(i64, i64), Stats>,
    dims: HashMap<i64, Stats>,
    /// The account and gateway of each combination the batch touched.
    gateways: HashMap<i64, (String, String)>,
}

impl Additions {
    pub(crate) fn add(&mut self, account: &str, gateway: &str, hour: i64, dims: i64, stats: &Stats) {
        self.dims.entry(dims).or_default().merge(stats);
        self.cells.entry((dims, hour)).or_default().merge(stats);
        self.gateways.entry(dims).or_insert_with(|| (account.to_string(), gateway.to_string()));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    pub(crate) fn apply(&self, conn: &Connection) -> Result<(), StoreError> {
        let mut cell_stmt = conn.prepare_cached(&format!(
            "INSERT INTO log_rollup (account_id, gateway_id, hour, dims, n, {STAT_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
             ON CONFLICT (account_id, gateway_id, hour, dims) DO UPDATE SET n = n + excluded.n, {}",
            merge_assignments("excluded.")
        ))?;
        let mut hours: HashMap<(&str, &str, i64), Stats> = HashMap::new();
        for ((dims, hour), s) in &self.cells {
            let Some((account, gateway)) = self.gateways.get(dims) else { continue };
            let head: [&dyn ToSql; 4] = [account, gateway, hour, dims];
            cell_stmt.execute(params_from_iter(head.into_iter().chain(s.sql())))?;
            hours.entry((account, gateway, *hour)).or_default().merge(s);
        }
        let mut hour_stmt = conn.prepare_cached(&format!(
            "INSERT INTO log_hours (account_id, gateway_id, hour, n, {STAT_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
             ON CONFLICT (account_id, gateway_id, hour) DO UPDATE SET n = n + excluded.n, {}",
            merge_assignments("excluded.")
        ))?;
        for ((account, gateway, hour), s) in &hours {
            let head: [&dyn ToSql; 3] = [account, gateway, hour];
            hour_stmt.execute(params_from_iter(head.into_iter().chain(s.sql())))?;
        }
        let mut dims_stmt = conn.prepare_cached(&format!(
            "UPDATE log_dims SET n = n + ?2, {} WHERE id = ?1",
            merge_assignments_numbered()
        ))?;
        for (id, s) in &self.dims {
            let head: [&dyn ToSql; 1] = [id];
            dims_stmt.execute(params_from_iter(head.into_iter().chain(s.sql())))?;
        }
        Ok(())
    }
}

const STAT_NAMES: [&str; 10] = [
    "min_cost",
    "max_cost",
    "min_duration",
    "max_duration",
    "min_tokens_in",
    "max_tokens_in",
    "min_tokens_out",
    "max_tokens_out",
    "min_total",
    "max_total",
];

/// `min_x = coalesce(min(min_x, NEW), min_x, NEW)`: SQL's scalar min/max are null if any argument
/// is, so the coalesce keeps whichever side has a value.
fn merge_assignment(name: &str, new: &str) -> String {
    let f = if name.starts_with("min") { "min" } else { "max" };
    format!("{name} = coalesce({f}({name}, {new}), {name}, {new})")
}

/// `min(min_cost), max(max_cost), ...`: the stats of several rollup rows.
fn sum_of_stats() -> String {
    STAT_NAMES.iter().map(|n| format!("{}({n})", &n[..3])).collect::<Vec<_>>().join(", ")
}

fn merge_assignments(prefix: &str) -> String {
    STAT_NAMES.iter().map(|n| merge_assignment(n, &format!("{prefix}{n}"))).collect::<Vec<_>>().join(", ")
}

fn merge_assignments_numbered() -> String {
    STAT_NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| merge_assignment(n, &format!("?{}", i + 3)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Recomputes the given cells from the logs that remain (after a delete), then the all-time
/// totals of their combinations.
pub(crate) fn recompute(conn: &Connection, cells: &BTreeSet<Cell>) -> Result<(), StoreError> {
    if cells.is_empty() {
        return Ok(());
    }
    let mut drop = conn.prepare_cached(
        "DELETE FROM log_rollup WHERE account_id = ?1 AND gateway_id = ?2 AND hour = ?3 AND dims = ?4",
    )?;
    let mut fill = conn.prepare_cached(&format!(
        "INSERT INTO log_rollup (account_id, gateway_id, hour, dims, n, {STAT_COLUMNS})
         SELECT ?1, ?2, ?3, ?4, {STAT_AGGREGATES} FROM logs l INDEXED BY logs_dims_time
         WHERE l.dims = ?4 AND l.created_at >= ?5 AND l.created_at < ?6 HAVING count(*) > 0"
    ))?;
    let mut by_gateway: HashMap<(&str, &str), BTreeSet<i64>> = HashMap::new();
    let mut hours: BTreeSet<(&str, &str, i64)> = BTreeSet::new();
    for c in cells {
        drop.execute(params![c.account, c.gateway, c.hour, c.dims])?;
        fill.execute(params![c.account, c.gateway, c.hour, c.dims, c.hour * HOUR_MS, (c.hour + 1) * HOUR_MS])?;
        by_gateway.entry((&c.account, &c.gateway)).or_default().insert(c.dims);
        hours.insert((&c.account, &c.gateway, c.hour));
    }
    let mut drop_hour =
        conn.prepare_cached("DELETE FROM log_hours WHERE account_id = ?1 AND gateway_id = ?2 AND hour = ?3")?;
    let mut fill_hour = conn.prepare_cached(&format!(
        "INSERT INTO log_hours (account_id, gateway_id, hour, n, {STAT_COLUMNS})
         SELECT ?1, ?2, ?3, sum(n), {} FROM log_rollup WHERE account_id = ?1 AND gateway_id = ?2 AND hour = ?3
         HAVING count(*) > 0",
        sum_of_stats()
    ))?;
    for (account, gateway, hour) in hours {
        drop_hour.execute(params![account, gateway, hour])?;
        fill_hour.execute(params![account, gateway, hour])?;
    }
    for ((account, gateway), dims) in by_gateway {
        let list = vec!["?"; dims.len()].join(", ");
        let sql = format!(
            "SELECT dims, sum(n), {} FROM log_rollup WHERE account_id = ? AND gateway_id = ? AND dims IN ({list})
             GROUP BY dims",
            sum_of_stats()
        );
        let mut args: Vec<rusqlite::types::Value> = vec![account.to_string().into(), gateway.to_string().into()];
        args.extend(dims.iter().map(|d| rusqlite::types::Value::Integer(*d)));
        let totals: HashMap<i64, Stats> = conn
            .prepare(&sql)?
            .query_map(params_from_iter(args.iter()), |r| Ok((r.get(0)?, Stats::from_row(r, 1)?)))?
            .collect::<Result<_, _>>()?;
        let mut set = conn.prepare_cached(&format!(
            "UPDATE log_dims SET n = ?2, {} WHERE id = ?1",
            STAT_NAMES.iter().enumerate().map(|(i, n)| format!("{n} = ?{}", i + 3)).collect::<Vec<_>>().join(", ")
        ))?;
        for id in dims {
            let s = totals.get(&id).copied().unwrap_or_default();
            let head: [&dyn ToSql; 1] = [&id];
            set.execute(params_from_iter(head.into_iter().chain(s.sql())))?;
        }
    }
    Ok(())
}

/// The query of [`cells_of_doomed`]. CROSS JOIN keeps the doomed logs as the outer loop: left to
/// itself, SQLite scans the whole time index and probes the doomed list for each log.
pub(crate) fn doomed_cells_sql() -> String {
    format!(
        "SELECT DISTINCT l.account_id, l.gateway_id, l.created_at / {HOUR_MS}, l.dims
         FROM temp.doomed d CROSS JOIN logs l ON l.seq = d.seq"
    )
}

/// The cells the given logs (by `seq`, in `temp.doomed`) fall in, read before they are deleted.
pub(crate) fn cells_of_doomed(conn: &Connection) -> Result<BTreeSet<Cell>, StoreError> {
    let mut stmt = conn.prepare_cached(&doomed_cells_sql())?;
    let cells = stmt
        .query_map([], |r| Ok(Cell { account: r.get(0)?, gateway: r.get(1)?, hour: r.get(2)?, dims: r.get(3)? }))?
        .collect::<Result<_, _>>()?;
    Ok(cells)
}
