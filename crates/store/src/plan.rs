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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use aigw_core::filter::{Direction, Filter, FilterKey, FilterValue, LogQuery, Op, OrderBy};
use rusqlite::types::Value as SqlValue;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::logs::{LogPage, MetaInfo, Scope};
use crate::matched::{matched, search_hits, Matched, SearchHits};
use crate::query::Where;
use crate::read::{row_to_log, StoredLog, LOG_COLUMNS};
use crate::rollup::{Stats, DIM_AGGREGATES, HOUR_MS, STAT_AGGREGATES, STAT_COLUMNS};

/// Metadata search hits beyond which a search is answered by the plain query instead.
const MAX_EXTRA_ROWS: usize = 200_000;
/// Metadata hits of all gateways a search reads before it takes the plain query instead.
const MAX_READ_HITS: usize = 4 * MAX_EXTRA_ROWS;
/// Up to this many of an hour's search hits are named in a page query; more are re-matched.
const MAX_LISTED_EXTRAS: usize = 1_000;
/// Below this share of an hour's logs, a page reads them through the combinations' index.
const SPARSE_SHARE: f64 = 0.125;
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
    stats: Stats,
    /// The combinations (among the filtered ones) the search did not match by their columns, as
    /// a WHERE over `log_dims` (alias `l`).
    outside: Where,
    /// The search term, and its trigram query and LIKE pattern over folded metadata.
    term: String,
    trigrams: String,
    pattern: String,
}

/// A query the rollups can answer.
struct Plan<'a> {
    scope: Scope<'a>,
    /// The matching combinations.
    combos: HashSet<i64>,
    /// Whether those are every combination of the gateway (no `dims` test needed).
    all: bool,
    /// All-time stats of the matching combinations.
    totals: Stats,
    range: Range,
    extras: Extras,
    /// The filters over `logs` columns (alias `l`) when there is no search: a page reads the
    /// matching rows of an hour with them instead of naming the combinations.
    filter: Option<Where>,
    /// The combinations the filters match, when there is no search (`combos` is unused then).
    matched: Option<Arc<Matched>>,
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
            // A NUL ends the term for SQLite's LIKE and breaks the trigram query; a term without
            // a trigram the index holds (`search.rs`) cannot be looked up in it: plain query.
            Some(term) if term.contains('\0') || crate::search::trigram_query(&term.to_lowercase()).is_none() => {
                return Ok(None)
            }
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
                let plan = Plan {
                    scope,
                    combos: HashSet::new(),
                    all: true,
                    totals,
                    range,
                    extras,
                    filter: None,
                    matched: None,
                };
                return Ok(Some(plan));
            }
            let m = matched(conn, scope, &dims)?;
            let totals = matched_totals(conn, scope, &dims, &m, q.meta_info)?;
            return Ok(Some(Plan {
                scope,
                combos: HashSet::new(),
                all: m.count == m.total,
                totals,
                range,
                extras: Extras::default(),
                filter: Some(dims),
                matched: Some(m),
            }));
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
            let mut out = dims;
            out.not_search_dims(term);
            let mine = |id: i64| gateway.has(id);
            let Some(extras) = search_extras(conn, scope, term, (mine, outside), out, range)? else {
                return Ok(None);
            };
            extras
        };
        let totals = matched_totals(conn, scope, &hit, &hits, q.meta_info)?;
        let all = hits.count == hits.total;
        Ok(Some(Plan { scope, combos: HashSet::new(), all, totals, range, extras, filter: None, matched: Some(hits) }))
    }

    /// Whether every log of the gateway in the range matches (the hourly totals are exact).
    fn everything(&self) -> bool {
        self.all && self.extras.rows.is_empty()
    }

    /// Whether only the search's named hits match (no combination does as a whole).
    fn only_extras(&self) -> bool {
        !self.all && self.matched.as_ref().map_or(self.combos.is_empty(), |m| m.count == 0)
    }

    /// Whether logs of combination `dims` match the filters.
    fn matches(&self, dims: i64) -> bool {
        self.all || self.matched.as_ref().map_or_else(|| self.combos.contains(&dims), |m| m.contains(dims))
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

    /// Per hour, in the page's direction: (hour, matching logs, all logs), until `enough`
    /// matching logs are covered.
    fn hours(&self, conn: &Connection, direction: Direction, enough: u64) -> Result<Vec<(i64, i64, i64)>, StoreError> {
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
        if let Some(m) = self.matched.as_ref().filter(|m| !m.inverted() && self.extras.rows.is_empty()) {
            if self.windows_cheaper(conn, m, (first, last), enough)? {
                return self.windowed_hours(conn, m, (first, last), direction, enough);
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
        let mut out: Vec<(i64, i64, i64)> = Vec::new();
        let mut covered: i64 = 0;
        let mut seen_partial: HashSet<i64> = HashSet::new();
        while let Some(r) = rows.next()? {
            let (hour, dims, n): (i64, Option<i64>, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            if out.last().is_none_or(|(h, _, _)| *h != hour) {
                if covered as u64 >= enough {
                    break;
                }
                let extra = extra_per_hour.get(&hour).copied().unwrap_or(0);
                out.push((hour, extra, 0));
                covered += extra;
            }
            let Some(slot) = out.last_mut() else { continue };
            if self.range.partial(hour) {
                // Counted exactly, once, from the logs of the range's part of the hour.
                if seen_partial.insert(hour) {
                    for (d, s) in self.exact_hour(conn, hour)? {
                        slot.2 += s.n;
                        if d.is_none_or(|d| self.matches(d)) {
                            slot.1 += s.n;
                            covered += s.n;
                        }
                    }
                }
                continue;
            }
            slot.2 += n;
            if dims.is_none_or(|d| self.matches(d)) {
                slot.1 += n;
                covered += n;
            }
        }
        Ok(out)
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
        // The newest hour's cells stand for every hour's.
        let cells_per_hour: i64 = conn
            .prepare_cached("SELECT count(*) FROM log_rollup WHERE account_id = ?1 AND gateway_id = ?2 AND hour = ?3")?
            .query_row(params![self.scope.account, self.scope.gateway, last], |r| r.get(0))?;
        let hours_needed = (enough.max(1) as f64 / matching_per_hour.max(f64::MIN_POSITIVE)).ceil().min(hours);
        let walk = hours_needed * cells_per_hour as f64;
        Ok((m.count as f64) * SEEK_COST < walk)
    }

    /// [`Plan::hours`] when the filters match few combinations: their cells, found through the
    /// rollup's index by combination, in windows of hours growing from the page's end of the
    /// range until they cover `enough` logs.
    fn windowed_hours(
        &self,
        conn: &Connection,
        m: &Matched,
        (first, last): (i64, i64),
        direction: Direction,
        enough: u64,
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
        let order = if direction == Direction::Desc { "DESC" } else { "ASC" };
        let mut cells = conn.prepare_cached(&format!(
            "SELECT hour, sum(n) FROM log_rollup INDEXED BY log_rollup_dims
             WHERE account_id = ?1 AND gateway_id = ?2 AND hour >= ?3 AND hour <= ?4
               AND dims IN (SELECT value FROM json_each(?5))
             GROUP BY hour ORDER BY hour {order}"
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
        let mut span = needed.max(FIRST_WINDOW_HOURS);
        let (mut lo, mut hi) = (first, last);
        while lo <= hi && covered < enough {
            let (from, to) = if direction == Direction::Desc {
                (hi.saturating_sub(span - 1).max(lo), hi)
            } else {
                (lo, lo.saturating_add(span - 1).min(hi))
            };
            let found: Vec<(i64, i64)> = cells
                .query_map(params![self.scope.account, self.scope.gateway, from, to, ids], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect::<Result<_, _>>()?;
            let all: HashMap<i64, i64> = totals
                .query_map(params![self.scope.account, self.scope.gateway, from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (hour, n) in found {
                if covered >= enough {
                    break;
                }
                let (matched, total) = if self.range.partial(hour) {
                    // Counted exactly from the logs of the range's part of the hour.
                    let mut slot = (0, 0);
                    for (d, s) in self.exact_hour(conn, hour)? {
                        slot.1 += s.n;
                        if d.is_some_and(|d| self.matches(d)) {
                            slot.0 += s.n;
                        }
                    }
                    slot
                } else {
                    (n, all.get(&hour).copied().unwrap_or(n))
                };
                out.push((hour, matched, total));
                covered += matched as u64;
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
    ) -> Result<Vec<(i64, i64, i64)>, StoreError> {
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
            out.push((hour, matched, all.max(matched)));
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
        let mut skip = offset;
        let mut need = u64::from(per_page);
        let mut logs = Vec::new();
        for (hour, matched, all) in self.hours(conn, direction, offset.saturating_add(u64::from(per_page)))? {
            let matched = matched as u64;
            if matched == 0 {
                continue;
            }
            if skip >= matched {
                skip -= matched;
                continue;
            }
            let rows = self.hour_rows(conn, hour, direction, skip, need, matched as f64 / all.max(1) as f64)?;
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
        hour: i64,
        direction: Direction,
        skip: u64,
        limit: u64,
        share: f64,
    ) -> Result<Vec<StoredLog>, StoreError> {
        let (start, end) = self.range.clip(hour);
        if let Some(w) = &self.filter {
            return self.filtered_rows(conn, w, (start, end), direction, skip, limit, share);
        }
        let extras: Vec<i64> =
            self.extras.rows.iter().filter(|e| e.created_at >= start && e.created_at < end).map(|e| e.seq).collect();
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
        let sparse = !(self.all && extras.is_empty()) && share < SPARSE_SHARE && extras.len() <= MAX_LISTED_EXTRAS;
        if sparse {
            // Few of the hour's logs match: collect them through the combinations' index and
            // the named hits' keys, then sort only those, instead of walking the whole hour.
            let combos = self.combos_matching("dims", &mut args);
            let seqs = self.in_list(&mut args, extras.into_iter());
            let order = page(&mut args);
            let sql = format!(
                "SELECT {LOG_COLUMNS}, NULL, NULL, NULL, NULL FROM (
                     SELECT seq FROM logs INDEXED BY logs_dims_time
                     WHERE account_id = ?1 AND gateway_id = ?2 AND created_at >= ?3 AND created_at < ?4
                       AND {combos}
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
                // Many hits in this hour: match them again rather than name them all.
                let x = &self.extras;
                args.extend(x.outside.params.iter().cloned());
                args.extend([x.trigrams.clone().into(), x.pattern.clone().into(), x.term.clone().into()]);
                let again = format!(
                    "l.dims IN (SELECT l.id FROM log_dims l WHERE {})
                     AND (l.seq IN (SELECT rowid FROM log_search WHERE log_search MATCH ?)
                     AND aigw_fold(l.metadata) LIKE ? ESCAPE '\\' OR l.id = ?)",
                    x.outside.sql
                );
                ("logs_gateway_time", format!(" AND ({combos} OR ({again}))"))
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

    /// [`Plan::hour_rows`] without a search: the filters themselves select the hour's rows.
    #[allow(clippy::too_many_arguments)]
    fn filtered_rows(
        &self,
        conn: &Connection,
        w: &Where,
        (start, end): (i64, i64),
        direction: Direction,
        skip: u64,
        limit: u64,
        share: f64,
    ) -> Result<Vec<StoredLog>, StoreError> {
        let dir = if direction == Direction::Desc { "DESC" } else { "ASC" };
        let listed = self.matched.as_ref().filter(|m| !m.inverted());
        let mut args = match listed {
            Some(m) if share < SPARSE_SHARE => vec![SqlValue::Text(m.ids_json().to_string())],
            _ => w.params.clone(),
        };
        args.extend([start.into(), end.into()]);
        args.push(SqlValue::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
        args.push(SqlValue::Integer(i64::try_from(skip).unwrap_or(i64::MAX)));
        let sql = if share < SPARSE_SHARE {
            // Few of the hour's logs match: seek each matching combination's part of the hour,
            // sort only those index entries, then read the page's rows.
            let combos = match listed {
                Some(_) => "SELECT value FROM json_each(?)".to_string(),
                None => format!("SELECT l.id FROM log_dims l WHERE {}", w.sql),
            };
            format!(
                "SELECT {LOG_COLUMNS}, NULL, NULL, NULL, NULL FROM (
                     SELECT seq, created_at FROM logs INDEXED BY logs_dims_time
                     WHERE dims IN ({combos}) AND created_at >= ? AND created_at < ?
                     ORDER BY created_at {dir}, seq {dir} LIMIT ? OFFSET ?
                 ) m JOIN logs l ON l.seq = m.seq ORDER BY m.created_at {dir}, m.seq {dir}"
            )
        } else {
            format!(
                "SELECT {LOG_COLUMNS}, NULL, NULL, NULL, NULL FROM logs l INDEXED BY logs_gateway_time
                 WHERE {} AND l.created_at >= ? AND l.created_at < ?
                 ORDER BY l.created_at {dir}, l.seq {dir} LIMIT ? OFFSET ?",
                w.sql
            )
        };
        query_logs(conn, &sql, &args)
    }

    /// `column` is one of the matching combinations (the search's, by their columns).
    fn combos_matching(&self, column: &str, args: &mut Vec<SqlValue>) -> String {
        match &self.matched {
            Some(m) => {
                args.push(SqlValue::Text(m.ids_json().to_string()));
                let not = if m.inverted() { "NOT " } else { "" };
                format!("{column} {not}IN (SELECT value FROM json_each(?))")
            }
            None => format!("{column} IN ({})", self.in_list(args, self.combos.iter().copied())),
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

/// Logs a search finds outside the combinations it matched: metadata hits (through the trigram
/// index, then checked exactly) and the log whose id is the term. Only those in `outside`
/// combinations and in the range count. `None` when there are too many to handle this way.
fn search_extras(
    conn: &Connection,
    scope: Scope<'_>,
    term: &str,
    (mine, outside): (impl Fn(i64) -> bool, impl Fn(i64) -> bool),
    outside_where: Where,
    range: Range,
) -> Result<Option<Extras>, StoreError> {
    let folded = term.to_lowercase();
    // The index keeps no positions (`detail=none`, a third of the size) nor the trigrams that
    // span the JSON's structure, so the term is asked for as those of its trigrams the index
    // holds, and every hit is checked with LIKE.
    let Some(phrase) = crate::search::trigram_query(&folded) else { return Ok(None) };
    let pattern = format!("%{}%", crate::gateways::escape_like(&folded));
    let columns = format!("l.seq, l.created_at, l.dims, {STAT_AGGREGATES_ROW}");
    let mut by_metadata = conn.prepare_cached(&format!(
        // CROSS JOIN keeps the index's hits as the outer loop: left to itself, SQLite may walk
        // the gateway's logs and probe the index for each (250 ms for a term with no hits).
        // Each hit is checked in `logs_metadata`, which holds what this needs of the logs with
        // metadata, densely: not in the table, whose rows are spread over the whole file.
        "SELECT {columns} FROM log_search s CROSS JOIN logs l INDEXED BY logs_metadata ON l.seq = s.rowid
         WHERE log_search MATCH ?1 AND l.metadata IS NOT NULL AND aigw_fold(l.metadata) LIKE ?2 ESCAPE '\\'
         LIMIT {}",
        MAX_READ_HITS + 1
    ))?;
    let mut by_id = conn.prepare_cached(&format!(
        "SELECT {columns} FROM logs l WHERE l.id = ?1 AND l.account_id = ?2 AND l.gateway_id = ?3"
    ))?;
    let mut found: HashMap<i64, i64> = HashMap::new();
    let mut stats = Stats::default();
    let mut add = |r: &rusqlite::Row<'_>| -> rusqlite::Result<()> {
        let (seq, created_at, dims): (i64, i64, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        if outside(dims) && range.contains(created_at) && found.insert(seq, created_at).is_none() {
            stats.merge(&Stats::of(r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?));
        }
        Ok(())
    };
    let mut rows = by_metadata.query(params![phrase, pattern])?;
    let (mut read, mut ours) = (0, 0);
    while let Some(r) = rows.next()? {
        // The index holds every gateway's logs: only this gateway's hits count toward its
        // bound, so another tenant's data never sends this one to the plain query.
        read += 1;
        ours += usize::from(mine(r.get(2)?));
        if ours > MAX_EXTRA_ROWS || read > MAX_READ_HITS {
            return Ok(None);
        }
        add(r)?;
    }
    let mut rows = by_id.query(params![term, scope.account, scope.gateway])?;
    while let Some(r) = rows.next()? {
        add(r)?;
    }
    let mut extras =
        Extras { outside: outside_where, term: term.to_string(), trigrams: phrase, pattern, ..Default::default() };
    extras.rows = found.into_iter().map(|(seq, created_at)| Extra { seq, created_at }).collect();
    extras.stats = stats;
    Ok(Some(extras))
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
