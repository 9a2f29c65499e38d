//! Listing at scale. A query is split into what the rollups can answer (filters on the
//! low-cardinality columns, a `created_at` range, and a search that matches those columns or a
//! few metadata entries) and the rest. When nothing is left over:
//! - `total_count` and `meta_info` add up the matching combinations' stats (all time), or their
//!   hourly cells within the range plus an exact count of the range's two partial hours;
//! - a page seeks through the hourly counts to the hour it starts in and reads only that hour's
//!   (and the next hours') rows: page 10,000 costs about what page 1 does.
//!
//! Anything else (filters on cost, tokens, duration, metadata, ids, user agents; a sort other
//! than by time for the page) falls back to the plain query over `logs`: always correct, with a
//! cost that grows with the rows it has to look at. The README lists which filters are which.

use std::collections::HashMap;
use std::sync::Arc;

use aigw_core::filter::{Direction, Filter, FilterKey, FilterValue, LogQuery, Op, OrderBy};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::logs::{LogPage, MetaInfo, Scope};
use crate::matched::{json_ids, matched, search_hits, Matched, SearchHits};
use crate::query::Where;
use crate::read::{row_to_log, StoredLog, LOG_COLUMNS};
use crate::rollup::{Stats, DIM_AGGREGATES, HOUR_MS, STAT_AGGREGATES, STAT_COLUMNS};

/// Metadata search hits beyond which a search is answered by the plain query instead.
const MAX_EXTRA_ROWS: usize = 200_000;
/// Metadata hits of all gateways a search reads before it takes the plain query instead.
const MAX_READ_HITS: usize = 4 * MAX_EXTRA_ROWS;
/// Up to this many of an hour's search hits are named in a page query; more are re-matched.
const MAX_LISTED_EXTRAS: usize = 1_000;
/// Below this share of an hour's logs, a page with search hits reads them through the
/// combinations' index.
const SPARSE_SHARE: f64 = 0.125;
/// What seeking one combination's part of an hour in `logs_dims_time` costs, and what each log
/// found that way costs to sort, in steps of a walk through the hour's time index.
const ENTRY_SEEK_COST: f64 = 8.0;
const ENTRY_SORT_COST: f64 = 1.5;
/// The most logs [`Plan::walked_page`] looks at before it leaves a page to the hour counts
/// (which read about as many rollup cells per hour).
const WALK_BUDGET: u64 = 3_000;
/// What a seek into the rollup's index costs, in cells walked in its primary key's order.
const SEEK_COST: f64 = 12.0;
/// The shortest first window [`Plan::windowed_hours`] reads; each next window is twice as long.
const FIRST_WINDOW_HOURS: i64 = 2;

/// Whether a filter on `key` is answered on `log_dims` (its columns are all there).
fn on_dims(key: FilterKey) -> bool {
    use FilterKey::*;
    matches!(
        key,
        RequestContentType
            | ResponseContentType
            | RequestType
            | Success
            | Cached
            | Provider
            | Model
            | ModelType
            | StatusCode
            | SourceKind
            | SourceName
            | UserName
            | VirtualKeyName
            | VirtualKeyId
            | Path
            | Authentication
            | CompatibilityMode
            | Wholesale
            | DlpAction
            | PromptId
            | PromptVersionId
    )
}

/// `[lo, hi)` in ms; `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Range {
    lo: Option<i64>,
    hi: Option<i64>,
}

impl Range {
    /// Narrows the range by a `created_at` bound; false if the filter is not a bound.
    fn narrow(&mut self, f: &Filter) -> bool {
        let times: Option<Vec<i64>> =
            f.values.iter().map(|v| if let FilterValue::Time(t) = v { Some(*t) } else { None }).collect();
        let Some(times) = times.filter(|t| !t.is_empty()) else { return false };
        // Values of one filter are ORed: `< a OR < b` is `< max(a, b)`.
        let (max, min) = (times.iter().copied().max().unwrap_or(0), times.iter().copied().min().unwrap_or(0));
        let (lo, hi) = match f.op {
            Op::Lt => (None, Some(max)),
            Op::Le => (None, Some(max.saturating_add(1))),
            Op::Gt => (Some(min.saturating_add(1)), None),
            Op::Ge => (Some(min), None),
            _ => return false,
        };
        if let Some(lo) = lo {
            self.lo = Some(self.lo.map_or(lo, |v| v.max(lo)));
        }
        if let Some(hi) = hi {
            self.hi = Some(self.hi.map_or(hi, |v| v.min(hi)));
        }
        true
    }

    fn bounded(&self) -> bool {
        self.lo.is_some() || self.hi.is_some()
    }

    fn contains(&self, t: i64) -> bool {
        self.lo.is_none_or(|lo| t >= lo) && self.hi.is_none_or(|hi| t < hi)
    }

    /// The part of hour `h` inside the range.
    fn clip(&self, h: i64) -> (i64, i64) {
        let (start, end) = (h * HOUR_MS, (h + 1) * HOUR_MS);
        (self.lo.map_or(start, |lo| lo.max(start)), self.hi.map_or(end, |hi| hi.min(end)))
    }

    /// Whether hour `h` lies only partly inside the range.
    fn partial(&self, h: i64) -> bool {
        let (start, end) = self.clip(h);
        (start, end) != (h * HOUR_MS, (h + 1) * HOUR_MS)
    }
}

/// A log the search adds beyond the matching combinations (a metadata hit, or the id itself).
#[derive(Debug, Clone, Copy)]
struct Extra {
    seq: i64,
    created_at: i64,
}

/// What a search adds beyond the combinations it matched.
#[derive(Debug, Default)]
struct Extras {
    rows: Vec<Extra>,
    /// Their count, and their min/max when the query asks for `meta_info`.
    stats: Stats,
}

/// A query the rollups can answer.
struct Plan<'a> {
    scope: Scope<'a>,
    /// Whether every combination of the gateway matches (no `dims` test needed).
    all: bool,
    /// All-time stats of the matching combinations.
    totals: Stats,
    range: Range,
    extras: Extras,
    /// The combinations that match by their columns (the filters', and the search term's if
    /// any); `None` when nothing narrows them (every combination matches).
    matched: Option<Arc<Matched>>,
    /// How a page's rows are found (tests force each way).
    reading: Reading,
}

/// How [`Plan::seek_page`] finds a page whose logs are those of whole combinations.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(not(test), allow(dead_code))]
enum Reading {
    /// Whichever of the ways below the counts say reads least.
    Cheapest,
    /// Walk the time index from the range's end ([`Plan::walked_page`]).
    Walked,
    /// Count the hours, then walk the page's hours ([`Plan::combination_rows`]).
    HourWalks,
    /// Count the hours, then seek the page's hours' matching combinations.
    HourSeeks,
}

/// One hour of a page seek.
#[derive(Debug, Default)]
struct Hour {
    hour: i64,
    /// Its logs in the range that match, and all its logs in the range.
    matched: i64,
    all: i64,
    /// The matching combinations it holds logs of (none listed when every combination matches,
    /// or when only a search's named hits do).
    combos: Vec<i64>,
}

/// Lists a page with its total and (if asked) stats.
pub(crate) fn list(conn: &Connection, scope: Scope<'_>, q: &LogQuery) -> Result<LogPage, StoreError> {
    // One snapshot for the total, the stats and the page, whatever the writer commits meanwhile.
    let _snapshot = if conn.is_autocommit() { Some(conn.unchecked_transaction()?) } else { None };
    let Some(plan) = Plan::new(conn, scope, q)? else { return scan_list(conn, scope, q) };
    let (total, meta) = plan.totals_and_stats(conn)?;
    let logs = if q.order_by == OrderBy::CreatedAt {
        plan.seek_page(conn, q.direction, q.offset(), q.per_page)?
    } else {
        plan.offset_page(conn, q)?
    };
    Ok(LogPage { logs, total: total as u64, meta: q.meta_info.then(|| meta_of(&meta)) })
}

impl<'a> Plan<'a> {
    /// `None` when some filter (or a short search term) needs the plain query.
    fn new(conn: &Connection, scope: Scope<'a>, q: &LogQuery) -> Result<Option<Self>, StoreError> {
        let mut range = Range::default();
        let mut dims = Where::gateway(scope.account, scope.gateway);
        let mut filtered = false;
        for f in &q.filters {
            if on_dims(f.key) {
                dims.filter(f);
                filtered = true;
            } else if !(f.key == FilterKey::CreatedAt && range.narrow(f)) {
                return Ok(None);
            }
        }
        let search = match &q.search {
            // A term the metadata index cannot answer for (`search.rs`): plain query.
            Some(term) if crate::search::vocab_query(&term.to_lowercase()).is_none() => return Ok(None),
            other => other.as_deref(),
        };
        let Some(term) = search else {
            if !filtered {
                // Every log of the gateway: the hourly totals answer without the combinations.
                let totals = if q.meta_info {
                    gateway_totals(conn, scope)?
                } else {
                    Stats { n: gateway_count(conn, scope)?, ..Stats::default() }
                };
                let extras = Extras::default();
                return Ok(Some(Plan {
                    scope,
                    all: true,
                    totals,
                    range,
                    extras,
                    matched: None,
                    reading: Reading::Cheapest,
                }));
            }
            let m = matched(conn, scope, &dims)?;
            let totals = matched_totals(conn, scope, &dims, &m, q.meta_info)?;
            let all = m.count == m.total;
            let extras = Extras::default();
            return Ok(Some(Plan { scope, all, totals, range, extras, matched: Some(m), reading: Reading::Cheapest }));
        };
        // Which combinations match the filters and the term by their columns (`hits`), and which
        // match the filters only (`outside`, whose logs may still match by metadata or id).
        let mut hit = dims.clone();
        hit.search_dims(term);
        let filtered = matched(conn, scope, &dims)?;
        let SearchHits { hits, gateway } = search_hits(conn, scope, &filtered, term)?;
        let extras = if filtered.count == hits.count {
            Extras::default()
        } else {
            // The metadata hits come from every gateway: only the combination says whose.
            let outside = |id: i64| gateway.has(id) && filtered.contains(id) && !hits.contains(id);
            let mine = |id: i64| gateway.has(id);
            let Some(extras) = search_extras(conn, scope, term, (mine, outside), range, q.meta_info)? else {
                return Ok(None);
            };
            extras
        };
        let totals = matched_totals(conn, scope, &hit, &hits, q.meta_info)?;
        let all = hits.count == hits.total;
        Ok(Some(Plan { scope, all, totals, range, extras, matched: Some(hits), reading: Reading::Cheapest }))
    }

    /// Whether every log of the gateway in the range matches (the hourly totals are exact).
    fn everything(&self) -> bool {
        self.all && self.extras.rows.is_empty()
    }

    /// Whether only the search's named hits match (no combination does as a whole).
    fn only_extras(&self) -> bool {
        !self.all && self.matched.as_ref().is_none_or(|m| m.count == 0)
    }

    /// Whether logs of combination `dims` match the filters.
    fn matches(&self, dims: i64) -> bool {
        self.all || self.matched.as_ref().is_some_and(|m| m.contains(dims))
    }

    fn totals_and_stats(&self, conn: &Connection) -> Result<(i64, Stats), StoreError> {
        let mut stats = if self.range.bounded() { self.range_stats(conn)? } else { self.totals };
        stats.merge(&self.extras.stats);
        Ok((stats.n, stats))
    }

    /// Stats of the matching combinations within a bounded range: whole hours from the rollup,
    /// the partial hours at its ends counted from the logs themselves.
    fn range_stats(&self, conn: &Connection) -> Result<Stats, StoreError> {
        let (first, last) = self.hour_bounds(conn)?;
        let mut stats = Stats::default();
        if first > last {
            return Ok(stats);
        }
        if self.only_extras() {
            return Ok(stats);
        }
        let sql = if self.everything() {
            format!(
                "SELECT hour, NULL, n, {STAT_COLUMNS} FROM log_hours
                 WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 AND hour <= ?4"
            )
        } else {
            format!(
                "SELECT hour, dims, n, {STAT_COLUMNS} FROM log_rollup
                 WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 AND hour <= ?4"
            )
        };
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![self.scope.account, self.scope.gateway, first, last])?;
        while let Some(r) = rows.next()? {
            let (hour, dims): (i64, Option<i64>) = (r.get(0)?, r.get(1)?);
            if !self.range.partial(hour) && dims.is_none_or(|d| self.matches(d)) {
                stats.merge(&Stats::from_row(r, 2)?);
            }
        }
        let mut partial = vec![first, last];
        partial.dedup();
        for hour in partial.into_iter().filter(|h| self.range.partial(*h)) {
            for (dims, s) in self.exact_hour(conn, hour)? {
                if dims.is_none_or(|d| self.matches(d)) {
                    stats.merge(&s);
                }
            }
        }
        Ok(stats)
    }

    /// The first and last hour of the range, the open ends taken from the data.
    fn hour_bounds(&self, conn: &Connection) -> Result<(i64, i64), StoreError> {
        // Two subqueries: SQLite answers a lone min() or max() from the index's ends, but reads
        // every row for both in one SELECT (27 ms instead of 10 us at 1M logs).
        let (min, max): (Option<i64>, Option<i64>) = conn
            .prepare_cached(
                "SELECT (SELECT min(hour) FROM log_hours WHERE account_id = ?1 AND gateway_id = ?2),
                        (SELECT max(hour) FROM log_hours WHERE account_id = ?1 AND gateway_id = ?2)",
            )?
            .query_row(params![self.scope.account, self.scope.gateway], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let (Some(min), Some(max)) = (min, max) else { return Ok((1, 0)) };
        let first = self.range.lo.map_or(min, |lo| lo.div_euclid(HOUR_MS).max(min));
        let last = self.range.hi.map_or(max, |hi| (hi - 1).div_euclid(HOUR_MS).min(max));
        Ok((first, last))
    }

    /// Exact per-combination stats of the range's part of one hour.
    fn exact_hour(&self, conn: &Connection, hour: i64) -> Result<Vec<(Option<i64>, Stats)>, StoreError> {
        let (start, end) = self.range.clip(hour);
        // Every log matches: one total, no grouping. Both read only the covering time index.
        let (dims, group) = if self.everything() { ("NULL", "") } else { ("l.dims", "GROUP BY l.dims") };
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {dims}, {STAT_AGGREGATES} FROM logs l INDEXED BY logs_gateway_time
             WHERE l.account_id = ?1 AND l.gateway_id = ?2 AND l.created_at >= ?3 AND l.created_at < ?4
             {group}"
        ))?;
        let rows = stmt
            .query_map(params![self.scope.account, self.scope.gateway, start, end], |r| {
                Ok((r.get(0)?, Stats::from_row(r, 1)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Per hour, in the page's direction: how many logs match and which combinations, until
    /// `enough` matching logs are covered.
    fn hours(&self, conn: &Connection, direction: Direction, enough: u64) -> Result<Vec<Hour>, StoreError> {
        let (first, last) = self.hour_bounds(conn)?;
        let mut extra_per_hour: HashMap<i64, i64> = HashMap::new();
        for e in &self.extras.rows {
            *extra_per_hour.entry(e.created_at.div_euclid(HOUR_MS)).or_default() += 1;
        }
        let order = if direction == Direction::Desc { "DESC" } else { "ASC" };
        if self.only_extras() {
            return self.extra_hours(conn, direction, extra_per_hour, enough);
        }
        // Windows count combinations only: not with a search's extra hits.
        let windowable = self.matched.as_ref().filter(|m| !m.inverted() && self.extras.rows.is_empty());
        if let Some(m) = windowable {
            if self.windows_cheaper(conn, m, (first, last), enough)? {
                return self.windowed_hours(conn, m, (first, last), direction, enough, FIRST_WINDOW_HOURS);
            }
        }
        let sql = if self.everything() {
            format!(
                "SELECT hour, NULL, n FROM log_hours
                 WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 AND hour <= ?4 ORDER BY hour {order}"
            )
        } else {
            format!(
                "SELECT hour, dims, n FROM log_rollup
                 WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 AND hour <= ?4 ORDER BY hour {order}"
            )
        };
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query(params![self.scope.account, self.scope.gateway, first, last])?;
        let mut out: Vec<Hour> = Vec::new();
        let (mut covered, mut cells): (i64, u64) = (0, 0);
        while let Some(r) = rows.next()? {
            let (hour, dims, n): (i64, Option<i64>, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if out.last().is_none_or(|h| h.hour != hour) {
                if covered as u64 >= enough {
                    break;
                }
                // The matching logs are sparser here than on average (a model not used lately,
                // say): once the walk has cost what a window would, the rest of the range is
                // counted in windows, the first as long as the walk was (in hours with logs). A
                // model last used a month ago then costs a dozen windows, not every cell of the
                // month.
                if let Some(m) = windowable.filter(|m| cells as f64 > m.count as f64 * SEEK_COST) {
                    let rest = if direction == Direction::Desc { (first, hour) } else { (hour, last) };
                    let need = enough - covered as u64;
                    out.extend(self.windowed_hours(conn, m, rest, direction, need, out.len() as i64)?);
                    return Ok(out);
                }
                let extra = extra_per_hour.get(&hour).copied().unwrap_or(0);
                let h = if self.range.partial(hour) {
                    // Counted exactly, once, from the logs of the range's part of the hour.
                    self.exact_hour_count(conn, hour, extra)?
                } else {
                    Hour { hour, matched: extra, ..Hour::default() }
                };
                covered += h.matched;
                out.push(h);
            }
            if self.range.partial(hour) {
                continue;
            }
            let Some(slot) = out.last_mut() else { continue };
            cells += 1;
            slot.all += n;
            if dims.is_none_or(|d| self.matches(d)) {
                slot.matched += n;
                slot.combos.extend(dims);
                covered += n;
            }
        }
        Ok(out)
    }

    /// An hour's counts from its logs themselves (the range's part of it), plus `extra` named
    /// search hits.
    fn exact_hour_count(&self, conn: &Connection, hour: i64, extra: i64) -> Result<Hour, StoreError> {
        let mut h = Hour { hour, matched: extra, ..Hour::default() };
        for (dims, s) in self.exact_hour(conn, hour)? {
            h.all += s.n;
            if dims.map_or(self.everything(), |d| self.matches(d)) {
                h.matched += s.n;
                h.combos.extend(dims);
            }
        }
        Ok(h)
    }

    /// Whether counting the matching combinations' hours through the rollup's index by
    /// combination (a seek each) costs less than walking every cell of the hours a page needs.
    fn windows_cheaper(
        &self,
        conn: &Connection,
        m: &Matched,
        (first, last): (i64, i64),
        enough: u64,
    ) -> Result<bool, StoreError> {
        let hours = (last - first + 1).max(1) as f64;
        let matching_per_hour = self.totals.n as f64 / hours;
        // The busier of the two newest hours stands for every hour (the newest alone may have
        // only begun).
        let cells_per_hour: i64 = conn
            .prepare_cached(
                "SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM log_rollup
                 WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 - 1 AND hour <= ?3 GROUP BY hour)",
            )?
            .query_row(params![self.scope.account, self.scope.gateway, last], |r| r.get(0))?;
        let hours_needed = (enough.max(1) as f64 / matching_per_hour.max(f64::MIN_POSITIVE)).ceil().min(hours);
        let walk = hours_needed * cells_per_hour as f64;
        Ok((m.count as f64) * SEEK_COST < walk)
    }

    /// [`Plan::hours`] when the filters match few combinations: their cells, found through the
    /// rollup's index by combination, in windows of hours growing from the page's end of the
    /// range until they cover `enough` logs, the first at least `min_span` hours long.
    fn windowed_hours(
        &self,
        conn: &Connection,
        m: &Matched,
        (first, last): (i64, i64),
        direction: Direction,
        enough: u64,
        min_span: i64,
    ) -> Result<Vec<Hour>, StoreError> {
        let order = if direction == Direction::Desc { "DESC" } else { "ASC" };
        let mut cells = conn.prepare_cached(&format!(
            "SELECT hour, dims, n FROM log_rollup INDEXED BY log_rollup_dims
             WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 AND hour <= ?4
               AND dims IN (SELECT value FROM json_each(?5))
             ORDER BY hour {order}"
        ))?;
        let ids = m.ids_json();
        let mut totals = conn.prepare_cached(
            "SELECT hour, n FROM log_hours WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 AND hour <= ?4",
        )?;
        let mut out = Vec::new();
        let mut covered: u64 = 0;
        // Each window costs a seek per combination plus a step per cell: start with one twice
        // as long as the matching logs' average density says is needed.
        let per_hour = self.totals.n as f64 / (last - first + 1).max(1) as f64;
        let needed = (enough as f64 / per_hour.max(f64::MIN_POSITIVE) * 2.0).min(i64::MAX as f64 / 4.0) as i64;
        let mut span = needed.max(min_span).max(FIRST_WINDOW_HOURS);
        let (mut lo, mut hi) = (first, last);
        while lo <= hi && covered < enough {
            let (from, to) = if direction == Direction::Desc {
                (hi.saturating_sub(span - 1).max(lo), hi)
            } else {
                (lo, lo.saturating_add(span - 1).min(hi))
            };
            let mut found: Vec<Hour> = Vec::new();
            let mut rows = cells.query(params![self.scope.account, self.scope.gateway, from, to, ids])?;
            while let Some(r) = rows.next()? {
                let (hour, dims, n): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
                match found.last_mut() {
                    Some(h) if h.hour == hour => {
                        h.matched += n;
                        h.combos.push(dims);
                    }
                    _ => found.push(Hour { hour, matched: n, all: 0, combos: vec![dims] }),
                }
            }
            let all: HashMap<i64, i64> = totals
                .query_map(params![self.scope.account, self.scope.gateway, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for h in found {
                if covered >= enough {
                    break;
                }
                let h = if self.range.partial(h.hour) {
                    self.exact_hour_count(conn, h.hour, 0)?
                } else {
                    Hour { all: all.get(&h.hour).copied().unwrap_or(h.matched), ..h }
                };
                covered += h.matched as u64;
                out.push(h);
            }
            if direction == Direction::Desc {
                hi = from - 1;
            } else {
                lo = to + 1;
            }
            span = span.saturating_mul(2);
        }
        Ok(out)
    }

    /// [`Plan::hours`] when only the search's hits match: the hours holding them, without the
    /// rollup (whose cells would all be skipped), each with its number of logs in the range.
    fn extra_hours(
        &self,
        conn: &Connection,
        direction: Direction,
        per_hour: HashMap<i64, i64>,
        enough: u64,
    ) -> Result<Vec<Hour>, StoreError> {
        let mut hours: Vec<(i64, i64)> = per_hour.into_iter().collect();
        hours.sort_unstable();
        if direction == Direction::Desc {
            hours.reverse();
        }
        let mut count =
            conn.prepare_cached("SELECT n FROM log_hours WHERE account_id = ?1 AND gateway_id = ?2 AND hour = ?3")?;
        let mut out = Vec::new();
        let mut covered: u64 = 0;
        for (hour, matched) in hours {
            if covered >= enough {
                break;
            }
            // A partial hour's share is overestimated here; it only picks how the hour is read.
            let all: i64 = count
                .query_row(params![self.scope.account, self.scope.gateway, hour], |r| r.get(0))
                .optional()?
                .unwrap_or(0);
            out.push(Hour { hour, matched, all: all.max(matched), combos: Vec::new() });
            covered += matched as u64;
        }
        Ok(out)
    }

    /// A page in time order: skip whole hours by their counts, read rows from the hour the page
    /// starts in onwards.
    fn seek_page(
        &self,
        conn: &Connection,
        direction: Direction,
        offset: u64,
        per_page: u32,
    ) -> Result<Vec<StoredLog>, StoreError> {
        if let Some(logs) = self.walked_page(conn, direction, offset, per_page)? {
            return Ok(logs);
        }
        let mut skip = offset;
        let mut need = u64::from(per_page);
        let mut logs = Vec::new();
        for h in self.hours(conn, direction, offset.saturating_add(u64::from(per_page)))? {
            let matched = h.matched as u64;
            if matched == 0 {
                continue;
            }
            if skip >= matched {
                skip -= matched;
                continue;
            }
            let rows = self.hour_rows(conn, &h, direction, skip, need)?;
            skip = 0;
            need = need.saturating_sub(rows.len() as u64);
            logs.extend(rows);
            if need == 0 {
                break;
            }
        }
        Ok(logs)
    }

    fn hour_rows(
        &self,
        conn: &Connection,
        h: &Hour,
        direction: Direction,
        skip: u64,
        limit: u64,
    ) -> Result<Vec<StoredLog>, StoreError> {
        let (start, end) = self.range.clip(h.hour);
        let extras: Vec<i64> =
            self.extras.rows.iter().filter(|e| e.created_at >= start && e.created_at < end).map(|e| e.seq).collect();
        if let Some(m) = self.matched.as_ref().filter(|_| extras.is_empty() && !self.all) {
            return self.combination_rows(conn, m, h, (start, end), direction, (skip, limit));
        }
        let mut args: Vec<SqlValue> = vec![
            self.scope.account.to_string().into(),
            self.scope.gateway.to_string().into(),
            start.into(),
            end.into(),
        ];
        let dir = if direction == Direction::Desc { "DESC" } else { "ASC" };
        let page = |args: &mut Vec<SqlValue>| {
            args.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
            args.push(SqlValue::Integer(i64::try_from(skip).unwrap_or(i64::MAX)));
            format!("ORDER BY l.created_at {dir}, l.seq {dir} LIMIT ? OFFSET ?")
        };
        let share = h.matched as f64 / h.all.max(1) as f64;
        let sparse = !(self.all && extras.is_empty()) && share < SPARSE_SHARE && extras.len() <= MAX_LISTED_EXTRAS;
        if sparse {
            // Few of the hour's logs match: collect them through the combinations' index (only
            // the matching combinations the hour holds) and the named hits' keys, then sort only
            // those, instead of walking the whole hour.
            args.push(SqlValue::Text(json_ids(h.combos.iter().copied())));
            let seqs = self.in_list(&mut args, extras.into_iter());
            let order = page(&mut args);
            let sql = format!(
                "SELECT {LOG_COLUMNS}, NULL, NULL, NULL, NULL FROM (
                     SELECT seq FROM logs INDEXED BY logs_dims_time
                     WHERE account_id = ?1 AND gateway_id = ?2 AND created_at >= ?3 AND created_at < ?4
                       AND dims IN (SELECT value FROM json_each(?))
                     UNION ALL
                     SELECT seq FROM logs WHERE seq IN ({seqs}) AND created_at >= ?3 AND created_at < ?4
                 ) m JOIN logs l ON l.seq = m.seq {order}"
            );
            return query_logs(conn, &sql, &args);
        }
        let (index, matching) = if self.all && extras.is_empty() {
            ("logs_gateway_time", String::new())
        } else {
            let combos = self.combos_matching("l.dims", &mut args);
            if extras.is_empty() {
                ("logs_gateway_time", format!(" AND {combos}"))
            } else if extras.len() <= MAX_LISTED_EXTRAS {
                let seqs = self.in_list(&mut args, extras.into_iter());
                ("logs_gateway_time", format!(" AND ({combos} OR l.seq IN ({seqs}))"))
            } else {
                // Many hits in this hour: one parameter rather than one each.
                args.push(SqlValue::Text(json_ids(extras)));
                ("logs_gateway_time", format!(" AND ({combos} OR l.seq IN (SELECT value FROM json_each(?)))"))
            }
        };
        let order = page(&mut args);
        let sql = format!(
            "SELECT {LOG_COLUMNS}, NULL, NULL, NULL, NULL FROM logs l INDEXED BY {index}
             WHERE l.account_id = ?1 AND l.gateway_id = ?2 AND l.created_at >= ?3 AND l.created_at < ?4{matching}
             {order}"
        );
        query_logs(conn, &sql, &args)
    }

    /// [`Plan::hour_rows`] when the hour's matching logs are those of whole combinations (no
    /// search hit is named in it), by whichever of two ways reads less:
    /// - walk the hour in the time index, which holds each log's combination, and test that
    ///   against the set here, until the page is full; only the page's own rows are then read
    ///   from the table (testing the filters' columns in SQL read a table row per log walked);
    /// - seek the hour's part of each matching combination it holds (its rollup cells name
    ///   them) and sort only those logs: better when few of the hour's logs match.
    fn combination_rows(
        &self,
        conn: &Connection,
        m: &Matched,
        h: &Hour,
        (start, end): (i64, i64),
        direction: Direction,
        (skip, limit): (u64, u64),
    ) -> Result<Vec<StoredLog>, StoreError> {
        let dir = if direction == Direction::Desc { "DESC" } else { "ASC" };
        let share = h.matched as f64 / h.all.max(1) as f64;
        let walked = (skip.saturating_add(limit) as f64 / share.max(f64::MIN_POSITIVE)).min(h.all as f64);
        let sought = ENTRY_SEEK_COST * h.combos.len() as f64 + ENTRY_SORT_COST * h.matched as f64;
        let walk = match self.reading {
            // Strictly: the combinations an hour is said to hold must be all it holds.
            Reading::HourSeeks => false,
            Reading::HourWalks => true,
            Reading::Cheapest | Reading::Walked => h.combos.is_empty() || walked <= sought,
        };
        let seqs: Vec<i64> = if walk {
            self.walk(conn, m, (start, end), direction, (skip, limit), u64::MAX)?.0
        } else {
            // No gateway condition is needed: a combination id belongs to one gateway.
            let mut seek = conn.prepare_cached(&format!(
                "SELECT seq FROM logs INDEXED BY logs_dims_time
                 WHERE dims IN (SELECT value FROM json_each(?1)) AND created_at >= ?2 AND created_at < ?3
                 ORDER BY created_at {dir}, seq {dir} LIMIT ?4 OFFSET ?5"
            ))?;
            let (limit, skip) = (i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(skip).unwrap_or(i64::MAX));
            let ids = json_ids(h.combos.iter().copied());
            let seqs =
                seek.query_map(params![ids, start, end, limit, skip], |r| r.get(0))?.collect::<Result<_, _>>()?;
            seqs
        };
        rows_of(conn, seqs)
    }

    /// Walks `[start, end)` in the time index, in the page's direction, testing each log's
    /// combination against `m`: the `seq`s of the `limit` matching logs after the first `skip`,
    /// and whether the walk ended before it had looked at `budget` logs (the range is
    /// exhausted or the page is full).
    fn walk(
        &self,
        conn: &Connection,
        m: &Matched,
        (start, end): (i64, i64),
        direction: Direction,
        (skip, limit): (u64, u64),
        budget: u64,
    ) -> Result<(Vec<i64>, bool), StoreError> {
        let dir = if direction == Direction::Desc { "DESC" } else { "ASC" };
        let mut walk = conn.prepare_cached(&format!(
            "SELECT seq, dims FROM logs INDEXED BY logs_gateway_time
             WHERE account_id = ?1 AND gateway_id = ?2 AND created_at >= ?3 AND created_at < ?4
             ORDER BY created_at {dir}, seq {dir} LIMIT ?5"
        ))?;
        let cap = i64::try_from(budget).unwrap_or(i64::MAX);
        let mut rows = walk.query(params![self.scope.account, self.scope.gateway, start, end, cap])?;
        let (mut skip, mut seqs, mut read) = (skip, Vec::new(), 0u64);
        while (seqs.len() as u64) < limit {
            let Some(r) = rows.next()? else { return Ok((seqs, read < budget)) };
            read += 1;
            if !r.get::<_, Option<i64>>(1)?.is_some_and(|d| m.contains(d)) {
                continue;
            }
            if skip > 0 {
                skip -= 1;
            } else {
                seqs.push(r.get(0)?);
            }
        }
        Ok((seqs, true))
    }

    /// A page near the start of the list (the range's newest end, or its oldest for `Asc`)
    /// whose filters match a good share of the logs: walked from there at once (see
    /// [`Plan::walk`]), without counting the hours it spans first. `None` when the share says the walk would be long, or when the logs walked
    /// turn out sparser than it says: the hour counts find such pages for less.
    fn walked_page(
        &self,
        conn: &Connection,
        direction: Direction,
        offset: u64,
        per_page: u32,
    ) -> Result<Option<Vec<StoredLog>>, StoreError> {
        let Some(m) = self.matched.as_ref().filter(|_| !self.all && self.extras.rows.is_empty()) else {
            return Ok(None);
        };
        let budget = match self.reading {
            Reading::Cheapest => {
                let wanted = offset.saturating_add(u64::from(per_page));
                let share = self.totals.n as f64 / gateway_count(conn, self.scope)?.max(1) as f64;
                if wanted as f64 / share.max(f64::MIN_POSITIVE) > WALK_BUDGET as f64 / 2.0 {
                    return Ok(None);
                }
                WALK_BUDGET
            }
            Reading::Walked => u64::MAX,
            Reading::HourWalks | Reading::HourSeeks => return Ok(None),
        };
        let range = (self.range.lo.unwrap_or(i64::MIN), self.range.hi.unwrap_or(i64::MAX));
        let (seqs, ended) = self.walk(conn, m, range, direction, (offset, u64::from(per_page)), budget)?;
        if !ended {
            return Ok(None);
        }
        Ok(Some(rows_of(conn, seqs)?))
    }

    /// `column` is one of the matching combinations (the search's, by their columns).
    fn combos_matching(&self, column: &str, args: &mut Vec<SqlValue>) -> String {
        match &self.matched {
            Some(m) => {
                args.push(SqlValue::Text(m.ids_json().to_string()));
                let not = if m.inverted() { "NOT " } else { "" };
                format!("{column} {not}IN (SELECT value FROM json_each(?))")
            }
            // Nothing narrows the combinations: every one matches.
            None => "1".to_string(),
        }
    }

    fn in_list(&self, args: &mut Vec<SqlValue>, ids: impl Iterator<Item = i64>) -> String {
        let before = args.len();
        args.extend(ids.map(SqlValue::Integer));
        let n = args.len() - before;
        if n == 0 {
            "NULL".to_string()
        } else {
            vec!["?"; n].join(", ")
        }
    }

    /// A page in another order: the plain query, narrowed to the matching combinations.
    fn offset_page(&self, conn: &Connection, q: &LogQuery) -> Result<Vec<StoredLog>, StoreError> {
        let mut w = Where::gateway(self.scope.account, self.scope.gateway);
        for f in &q.filters {
            w.filter(f);
        }
        if let Some(term) = &q.search {
            w.search(term);
        }
        crate::logs::offset_page(conn, &w, q)
    }
}

/// The rows of the logs `seqs`, in that order.
fn rows_of(conn: &Connection, seqs: Vec<i64>) -> Result<Vec<StoredLog>, StoreError> {
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    // json_each's `key` is the position in the list.
    let mut read = conn.prepare_cached(&format!(
        "SELECT {LOG_COLUMNS}, NULL, NULL, NULL, NULL FROM json_each(?1) j CROSS JOIN logs l ON l.seq = j.value
         ORDER BY j.key"
    ))?;
    let logs = read.query_map(params![json_ids(seqs)], row_to_log)?.collect::<Result<Vec<_>, _>>()?;
    Ok(logs)
}

/// The log rows a page query selects.
fn query_logs(conn: &Connection, sql: &str, args: &[SqlValue]) -> Result<Vec<StoredLog>, StoreError> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(params_from_iter(args.iter()), row_to_log)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The all-time totals of the combinations in `m` (matching `w`): summed over the listed ids, or,
/// when most combinations match and only the count is wanted, the gateway's total minus the
/// others'.
fn matched_totals(
    conn: &Connection,
    scope: Scope<'_>,
    w: &Where,
    m: &Matched,
    with_stats: bool,
) -> Result<Stats, StoreError> {
    let by_ids = |what: &str| -> Result<Stats, StoreError> {
        // A join, not `l.id IN (SELECT value ...)`: SQLite would first build a temporary index of
        // the ids, which took twice as long as the lookups themselves for a provider's 4,860
        // combinations. The ids are distinct (a set), so the sums are the same.
        let sql = format!("SELECT {what} FROM json_each(?1) j CROSS JOIN log_dims l ON l.id = j.value");
        let mut stmt = conn.prepare_cached(&sql)?;
        if what == DIM_AGGREGATES {
            Ok(stmt.query_row(params![m.ids_json()], |r| Stats::from_row(r, 0))?)
        } else {
            Ok(Stats { n: stmt.query_row(params![m.ids_json()], |r| r.get(0))?, ..Stats::default() })
        }
    };
    if with_stats {
        if !m.inverted() {
            return by_ids(DIM_AGGREGATES);
        }
        let sql = format!("SELECT {DIM_AGGREGATES} FROM log_dims l WHERE {}", w.sql);
        return Ok(conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(w.params.iter()), |r| Stats::from_row(r, 0))?);
    }
    // The count alone costs half as much as the count with the min/max.
    let listed = by_ids("coalesce(sum(l.n), 0)")?.n;
    let n = if m.inverted() { gateway_count(conn, scope)? - listed } else { listed };
    Ok(Stats { n, ..Stats::default() })
}

/// The number of a gateway's logs, summed over its hours.
fn gateway_count(conn: &Connection, scope: Scope<'_>) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(sum(n), 0) FROM log_hours WHERE account_id = ?1 AND gateway_id = ?2")?
        .query_row(params![scope.account, scope.gateway], |r| r.get(0))?)
}

/// The all-time stats of a gateway's logs, summed over its hours.
fn gateway_totals(conn: &Connection, scope: Scope<'_>) -> Result<Stats, StoreError> {
    let sql = format!("SELECT {DIM_AGGREGATES} FROM log_hours l WHERE l.account_id = ?1 AND l.gateway_id = ?2");
    Ok(conn.prepare_cached(&sql)?.query_row(params![scope.account, scope.gateway], |r| Stats::from_row(r, 0))?)
}

/// Logs a search finds outside the combinations it matched: metadata hits (from the posting
/// lists, `search.rs`) and the log whose id is the term. Only those in `outside` combinations
/// and in the range count; their stats are read only if `with_stats`. `None` when there are
/// too many to handle this way.
fn search_extras(
    conn: &Connection,
    scope: Scope<'_>,
    term: &str,
    (mine, outside): (impl Fn(i64) -> bool, impl Fn(i64) -> bool),
    range: Range,
    with_stats: bool,
) -> Result<Option<Extras>, StoreError> {
    let folded = term.to_lowercase();
    let Some(query) = crate::search::vocab_query(&folded) else { return Ok(None) };
    let Ok(hits) = crate::search::postings(conn, &folded, &query, MAX_READ_HITS)? else { return Ok(None) };
    // The postings hold every gateway's logs. Only this gateway's hits count toward its own
    // bound; every gateway's count toward the (four times larger) bound on what is read, so
    // another tenant's data sends this one to the plain query only when it is that much larger.
    if hits.iter().filter(|p| mine(p.dims)).count() > MAX_EXTRA_ROWS {
        return Ok(None);
    }
    let mut found: HashMap<i64, i64> = hits
        .iter()
        .filter(|p| outside(p.dims) && range.contains(p.created_at))
        .map(|p| (p.seq, p.created_at))
        .collect();
    let by_id: Option<(i64, i64, i64)> = conn
        .prepare_cached("SELECT seq, created_at, dims FROM logs WHERE id = ?1 AND account_id = ?2 AND gateway_id = ?3")?
        .query_row(params![term, scope.account, scope.gateway], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((seq, created_at, _)) = by_id.filter(|&(_, c, dims)| outside(dims) && range.contains(c)) {
        found.insert(seq, created_at);
    }
    let mut rows: Vec<Extra> = found.into_iter().map(|(seq, created_at)| Extra { seq, created_at }).collect();
    rows.sort_unstable_by_key(|e| e.seq);
    let stats = if with_stats {
        // Only `meta_info` reads the hits' rows: a page and its count need none.
        let sql = format!("SELECT {STAT_AGGREGATES_ROW} FROM logs l WHERE l.seq IN (SELECT value FROM json_each(?1))");
        let mut stmt = conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([json_ids(rows.iter().map(|e| e.seq))])?;
        let mut stats = Stats::default();
        while let Some(r) = rows.next()? {
            stats.merge(&Stats::of(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?));
        }
        stats
    } else {
        Stats { n: rows.len() as i64, ..Stats::default() }
    };
    Ok(Some(Extras { rows, stats }))
}

/// The columns [`Stats::of`] takes, from one `logs` row.
const STAT_AGGREGATES_ROW: &str = "l.cost, l.duration, l.tokens_in, l.tokens_out";

fn meta_of(s: &Stats) -> MetaInfo {
    MetaInfo {
        min_cost: s.min_cost,
        max_cost: s.max_cost,
        min_duration: s.min_duration,
        max_duration: s.max_duration,
        min_tokens_in: s.min_tokens_in,
        max_tokens_in: s.max_tokens_in,
        min_tokens_out: s.min_tokens_out,
        max_tokens_out: s.max_tokens_out,
        min_total_tokens: s.min_total,
        max_total_tokens: s.max_total,
    }
}

/// The plain query: correct for every filter, its cost growing with the rows it looks at.
fn scan_list(conn: &Connection, scope: Scope<'_>, q: &LogQuery) -> Result<LogPage, StoreError> {
    crate::logs::scan_list(conn, scope, q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insert::LogInserter;
    use aigw_core::filter::Filter;
    use aigw_core::LogRecord;

    const T0: i64 = 1_700_000_000_000;

    /// Six hours of logs: one provider common, one rare (absent from some hours), varied
    /// models and statuses, so that pages span hours and the ways of reading them differ; and a
    /// model of many combinations used only in the first hour.
    fn logs() -> Vec<LogRecord> {
        let old = (0..120u64).map(|i| LogRecord {
            id: format!("OLD{i:03}"),
            account_id: "a".into(),
            gateway_id: "g".into(),
            created_at_ms: T0 + (i * 29_000) as i64,
            provider: "openai".into(),
            model: "old".into(),
            path: format!("/v1/p{}", i % 4),
            status_code: [200u16, 201, 400, 429, 500][(i / 4 % 5) as usize],
            ..Default::default()
        });
        (0..900u64)
            .map(|i| {
                let mix = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40;
                let hour = (i % 6) as i64;
                let provider = match mix % 20 {
                    0 if hour != 4 => "deepseek",
                    0..=5 => "anthropic",
                    _ => "openai",
                };
                let status = [200u16, 200, 200, 429, 500][(mix % 5) as usize];
                LogRecord {
                    id: format!("L{i:05}"),
                    account_id: "a".into(),
                    gateway_id: "g".into(),
                    // 200 instants an hour for 150 logs: many share one, ordered by seq.
                    created_at_ms: T0 + hour * HOUR_MS + (mix % 200) as i64 * 18_000,
                    provider: provider.into(),
                    model: ["m1", "m2", "m3", "m4", "m5"][(mix / 7 % 5) as usize].into(),
                    path: ["/v1/chat/completions", "/v1/messages"][(mix / 3 % 2) as usize].into(),
                    status_code: status,
                    success: status == 200,
                    ..Default::default()
                }
            })
            .chain(old)
            .collect()
    }

    fn eq(key: FilterKey, value: FilterValue) -> Filter {
        Filter { key, op: Op::Eq, values: vec![value] }
    }

    /// Every way of reading a page gives the plain query's page, for filters that match most,
    /// some or few logs, in both directions, within and across hours, inside time ranges.
    #[test]
    fn every_way_of_reading_a_page_gives_the_plain_querys_page() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        LogInserter::new(crate::open_write(&path).unwrap()).unwrap().insert_batch(&logs()).unwrap();
        let conn = crate::open_read(&path).unwrap();
        let scope = Scope { account: "a", gateway: "g" };
        let text = |t: &str| FilterValue::Text(t.into());
        let filters = [
            vec![eq(FilterKey::Provider, text("openai"))],
            vec![eq(FilterKey::Provider, text("anthropic"))],
            vec![eq(FilterKey::Provider, text("deepseek"))],
            vec![eq(FilterKey::Model, text("m3")), eq(FilterKey::Success, FilterValue::Bool(false))],
            // Counting hours from the newest finds none for a while, then switches to windows.
            vec![eq(FilterKey::Model, text("old"))],
            vec![Filter { key: FilterKey::Provider, op: Op::Neq, values: vec![text("deepseek")] }],
            vec![
                eq(FilterKey::Provider, text("anthropic")),
                Filter { key: FilterKey::CreatedAt, op: Op::Gt, values: vec![FilterValue::Time(T0 + 90 * 60_000)] },
                Filter { key: FilterKey::CreatedAt, op: Op::Lt, values: vec![FilterValue::Time(T0 + 290 * 60_000)] },
            ],
        ];
        let mut checked = 0;
        for filters in &filters {
            for direction in [Direction::Desc, Direction::Asc] {
                for (page, per_page) in [(1, 50), (2, 7), (5, 25), (9, 40), (30, 20)] {
                    let q = LogQuery { filters: filters.clone(), direction, page, per_page, ..Default::default() };
                    let plain: Vec<String> =
                        crate::logs::scan_list(&conn, scope, &q).unwrap().logs.into_iter().map(|l| l.id).collect();
                    for reading in [Reading::Cheapest, Reading::Walked, Reading::HourWalks, Reading::HourSeeks] {
                        let _snapshot = conn.unchecked_transaction().unwrap();
                        let mut plan = Plan::new(&conn, scope, &q).unwrap().unwrap();
                        plan.reading = reading;
                        let page = plan.seek_page(&conn, direction, q.offset(), q.per_page).unwrap();
                        let ids: Vec<String> = page.into_iter().map(|l| l.id).collect();
                        assert_eq!(ids, plain, "{reading:?} {q:?}");
                        checked += usize::from(!ids.is_empty());
                    }
                }
            }
        }
        assert!(checked > 150, "most pages hold logs: {checked}");
    }
}
