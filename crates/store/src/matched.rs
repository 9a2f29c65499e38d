//! Which of a gateway's combinations (`log_dims`) a filter matches, remembered across requests.
//!
//! A combination never changes its columns, and a gateway only gains combinations, each with a
//! higher id than any before, until the gateway is deleted (which deletes them all). So the set a
//! filter matches stays exact for as long as the gateway's creation time and its highest
//! combination id stay the same: both are part of the key. Finding the set means reading every
//! combination of the gateway (12,000 rows at ten million logs), which a request then skips.
//!
//! Callers read the key and use the set inside one read transaction, so the rollup rows they
//! test against it are of the same snapshot.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};

use rusqlite::{params, params_from_iter, Connection};

use crate::error::StoreError;
use crate::logs::Scope;
use crate::query::Where;

/// Sets kept; past this the cache starts over.
const MAX_ENTRIES: usize = 64;

static CACHE: LazyLock<Mutex<HashMap<String, Arc<Matched>>>> = LazyLock::new(Default::default);

/// The combinations a filter matches, stored as whichever side is smaller.
#[derive(Debug)]
pub(crate) struct Matched {
    /// The matching ids, or the others' when `inverted`.
    ids: HashSet<i64>,
    /// `ids` as a JSON array, built once: every page and count of the set binds it.
    ids_json: String,
    inverted: bool,
    /// How many combinations the gateway has, and how many of them match.
    pub(crate) total: usize,
    pub(crate) count: usize,
}

impl Matched {
    pub(crate) fn contains(&self, id: i64) -> bool {
        self.ids.contains(&id) != self.inverted
    }

    /// Whether the set holds the non-matching ids (most combinations match).
    pub(crate) fn inverted(&self) -> bool {
        self.inverted
    }

    /// The stored ids as a JSON array, for `IN (SELECT value FROM json_each(?))`.
    pub(crate) fn ids_json(&self) -> &str {
        &self.ids_json
    }

    fn new(ids: HashSet<i64>, inverted: bool, total: usize, count: usize) -> Self {
        let mut sorted: Vec<i64> = ids.iter().copied().collect();
        // In key order, a join through the list walks `log_dims` forwards.
        sorted.sort_unstable();
        let ids_json = json_ids(sorted);
        Matched { ids, ids_json, inverted, total, count }
    }
}

/// `ids` as a JSON array, for `json_each`.
pub(crate) fn json_ids(ids: impl IntoIterator<Item = i64>) -> String {
    use std::fmt::Write;
    let mut out = String::from("[");
    for (i, id) in ids.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{id}");
    }
    out.push(']');
    out
}

/// What identifies the state of a gateway's combinations: its database file, its creation, its
/// last deletion, its newest combination. A gateway's combinations go only when it is deleted,
/// which marks the deletion; ids can be reused after that, under another mark or creation time.
/// `None` for a database without a file (nothing is remembered for it).
fn gateway_key(conn: &Connection, scope: Scope<'_>) -> Result<Option<String>, StoreError> {
    let Some(path) = conn.path().filter(|p| !p.is_empty()) else { return Ok(None) };
    let (created, deleted, max_id): (Option<i64>, Option<i64>, Option<i64>) = conn
        .prepare_cached(
            "SELECT (SELECT created_at FROM gateways WHERE account_id = ?1 AND id = ?2),
                    (SELECT deleted_at FROM deleted_gateways WHERE account_id = ?1 AND gateway_id = ?2),
                    (SELECT max(id) FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2)",
        )?
        .query_row(params![scope.account, scope.gateway], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(Some(format!("{path}\0{}\0{}\0{created:?}\0{deleted:?}\0{max_id:?}", scope.account, scope.gateway)))
}

/// The combinations of `scope` that `w` (over `log_dims`, alias `l`) matches.
pub(crate) fn matched(conn: &Connection, scope: Scope<'_>, w: &Where) -> Result<Arc<Matched>, StoreError> {
    let key = gateway_key(conn, scope)?.map(|g| format!("{g}\0{}\0{:?}", w.sql, w.params));
    if let Some(m) = key.as_ref().and_then(|k| lock().get(k).cloned()) {
        return Ok(m);
    }
    let mut matching = conn.prepare_cached(&format!("SELECT l.id FROM log_dims l WHERE {}", w.sql))?;
    let yes: HashSet<i64> =
        matching.query_map(params_from_iter(w.params.iter()), |r| r.get(0))?.collect::<Result<_, _>>()?;
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2")?
        .query_row(params![scope.account, scope.gateway], |r| r.get(0))?;
    let (total, count) = (total as usize, yes.len());
    let m = if count * 2 > total {
        // Most match: keep the others, read from the gateway's full list only in this case.
        let mut every = conn.prepare_cached("SELECT id FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2")?;
        let mut others = HashSet::new();
        let mut rows = every.query(params![scope.account, scope.gateway])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            if !yes.contains(&id) {
                others.insert(id);
            }
        }
        Matched::new(others, true, total, count)
    } else {
        Matched::new(yes, false, total, count)
    };
    let m = Arc::new(m);
    if let Some(key) = key {
        remember(key, m.clone());
    }
    Ok(m)
}

fn remember(key: String, m: Arc<Matched>) {
    let mut cache = lock();
    if cache.len() >= MAX_ENTRIES {
        cache.clear();
    }
    cache.insert(key, m);
}

/// The columns a search looks at, per combination, with each distinct value stored once.
#[derive(Debug, Default)]
pub(crate) struct Searchable {
    /// Distinct values of the searched columns.
    values: Vec<String>,
    /// Per combination: its id and the indexes of its values (path, model, provider, name).
    combos: Vec<(i64, [Option<u32>; 4])>,
    /// Every combination id of the gateway.
    ids: HashSet<i64>,
}

impl Searchable {
    /// Whether combination `id` is one of the gateway's.
    pub(crate) fn has(&self, id: i64) -> bool {
        self.ids.contains(&id)
    }
}

/// What [`search_hits`] finds.
pub(crate) struct SearchHits {
    /// The combinations the term matches by their columns.
    pub(crate) hits: Arc<Matched>,
    /// The gateway's combinations (which a log found another way must be one of).
    pub(crate) gateway: Arc<Searchable>,
}

static SEARCHABLE: LazyLock<Mutex<HashMap<String, Arc<Searchable>>>> = LazyLock::new(Default::default);

/// Gateways whose searchable columns are kept.
const MAX_SEARCHABLE: usize = 16;

/// The combinations among `within` whose endpoint path, model, provider or sender name holds
/// `term` (case-insensitive, Unicode-wide): what `Where::search_dims` selects, tested once per
/// distinct value in memory instead of once per combination and column in SQL.
pub(crate) fn search_hits(
    conn: &Connection,
    scope: Scope<'_>,
    within: &Matched,
    term: &str,
) -> Result<SearchHits, StoreError> {
    let gateway = gateway_key(conn, scope)?;
    let searchable = searchable(conn, scope, gateway.as_deref())?;
    let folded = term.to_lowercase();
    let holds: Vec<bool> = searchable.values.iter().map(|v| v.to_lowercase().contains(&folded)).collect();
    let yes: HashSet<i64> = searchable
        .combos
        .iter()
        .filter(|(id, cols)| within.contains(*id) && cols.iter().flatten().any(|&i| holds[i as usize]))
        .map(|(id, _)| *id)
        .collect();
    let (total, count) = (searchable.combos.len(), yes.len());
    let m = if count * 2 > total {
        let ids = searchable.combos.iter().map(|(id, _)| *id).filter(|id| !yes.contains(id)).collect();
        Matched::new(ids, true, total, count)
    } else {
        Matched::new(yes, false, total, count)
    };
    Ok(SearchHits { hits: Arc::new(m), gateway: searchable })
}

fn searchable(conn: &Connection, scope: Scope<'_>, key: Option<&str>) -> Result<Arc<Searchable>, StoreError> {
    let mut cache = SEARCHABLE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(s) = key.and_then(|k| cache.get(k)) {
        return Ok(s.clone());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT id, path, model, provider, source_name FROM log_dims WHERE account_id = ?1 AND gateway_id = ?2",
    )?;
    let mut rows = stmt.query(params![scope.account, scope.gateway])?;
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut out = Searchable::default();
    while let Some(r) = rows.next()? {
        let mut cols = [None; 4];
        for (i, col) in cols.iter_mut().enumerate() {
            let Some(mut v) = r.get::<_, Option<String>>(i + 1)? else { continue };
            // SQLite's LIKE reads text up to its first NUL; so does this test.
            if let Some(nul) = v.find('\0') {
                v.truncate(nul);
            }
            let next = out.values.len() as u32;
            let at = *index.entry(v.clone()).or_insert(next);
            if at == next {
                out.values.push(v);
            }
            *col = Some(at);
        }
        let id = r.get(0)?;
        out.combos.push((id, cols));
        out.ids.insert(id);
    }
    let out = Arc::new(out);
    if let Some(key) = key {
        if cache.len() >= MAX_SEARCHABLE {
            cache.clear();
        }
        cache.insert(key.to_string(), out.clone());
    }
    Ok(out)
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, Arc<Matched>>> {
    CACHE.lock().unwrap_or_else(|e| e.into_inner())
}
