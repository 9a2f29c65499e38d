//! The metadata search index: a posting list per metadata entry.
//!
//! A log's metadata is a small JSON object. Its folded (lower-cased) text is cut at every `{`,
//! `}` and `,` into pieces: each entry `"key":value` is a piece, unless its value itself holds
//! one of those characters. A term that holds none of them is in the text exactly when it is in
//! one of its pieces, whatever the text holds. So:
//! - `search_terms` keeps each distinct piece once, with an id, and `search_vocab` (FTS5 with
//!   the trigram tokenizer) finds the pieces that contain a term;
//! - `search_postings` lists, per piece, the logs that have it, with their time and combination,
//!   in one contiguous run of its primary key.
//!
//! A search reads a few pieces and their runs, and needs no log row to count or place a hit: a
//! term found in a thousand logs spread over the whole file costs a few pages, not a thousand.
//! The writer pays once per new piece (its id and its trigrams) and one short row per piece of
//! each log; pieces it has seen are found in a cache. A term with `{`, `}` or `,`, or shorter
//! than a trigram, is left to the plain query.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use rusqlite::{params, Connection};

use crate::error::StoreError;

/// The characters the pieces are cut at.
fn separator(c: char) -> bool {
    matches!(c, '{' | '}' | ',')
}

/// The distinct pieces of folded metadata text.
pub(crate) fn pieces(folded: &str) -> Vec<&str> {
    let mut out: Vec<&str> = folded.split(separator).filter(|p| !p.is_empty()).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// `aigw_search_pieces(metadata)`: the pieces of the metadata's folded text as a JSON array,
/// for SQL that indexes or unindexes many logs at once (the migration, deletes).
pub(crate) fn pieces_json(metadata: &str) -> String {
    serde_json::Value::from(pieces(&metadata.to_lowercase())).to_string()
}

/// The trigram query that finds the pieces holding the folded `term`: each of its trigrams as
/// an FTS5 string, ANDed. `None` when the index cannot answer for the term (it holds a
/// separator or a NUL, or is shorter than a trigram).
pub(crate) fn vocab_query(term: &str) -> Option<String> {
    if term.chars().any(|c| separator(c) || c == '\0') {
        return None;
    }
    let chars: Vec<char> = term.chars().collect();
    let mut trigrams: Vec<String> =
        chars.windows(3).map(|w| format!("\"{}\"", w.iter().collect::<String>().replace('"', "\"\""))).collect();
    trigrams.sort();
    trigrams.dedup();
    (!trigrams.is_empty()).then(|| trigrams.join(" AND "))
}

/// One log found by a term: its `seq`, time and combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Posting {
    pub seq: i64,
    pub created_at: i64,
    pub dims: i64,
}

/// Why [`postings`] gave up: more pieces or logs hold the term than it reads.
#[derive(Debug)]
pub(crate) struct TooMany;

/// Pieces whose trigrams match a term that [`postings`] reads before it gives up: each costs a
/// seek into the lists, and a term in that many distinct values (`"run":1`, `"run":10`, ...)
/// is one a scan answers about as fast.
const MAX_PIECES: usize = 50_000;

/// The logs (of every gateway) whose metadata holds the folded `term`, each once, given its
/// [`vocab_query`]; `Err(TooMany)` past [`MAX_PIECES`] pieces or `limit` postings read.
pub(crate) fn postings(
    conn: &Connection,
    term: &str,
    query: &str,
    limit: usize,
) -> Result<Result<Vec<Posting>, TooMany>, StoreError> {
    let mut ids = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT t.id, t.text FROM search_vocab v JOIN search_terms t ON t.id = v.rowid
             WHERE search_vocab MATCH ?1",
        )?;
        let mut rows = stmt.query([query])?;
        let mut read = 0;
        while let Some(r) = rows.next()? {
            read += 1;
            if read > MAX_PIECES {
                return Ok(Err(TooMany));
            }
            // The trigrams only narrow: the piece must hold the term itself.
            if r.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?.contains(term) {
                ids.push(r.get::<_, i64>(0)?);
            }
        }
    }
    let mut stmt = conn.prepare_cached("SELECT seq, created_at, dims FROM search_postings WHERE term = ?1")?;
    let mut out = Vec::new();
    for id in &ids {
        let mut rows = stmt.query([id])?;
        while let Some(r) = rows.next()? {
            if out.len() >= limit {
                return Ok(Err(TooMany));
            }
            out.push(Posting { seq: r.get(0)?, created_at: r.get(1)?, dims: r.get(2)? });
        }
    }
    if ids.len() > 1 {
        // A log with the term in two of its pieces is listed under both.
        out.sort_unstable_by_key(|p| p.seq);
        out.dedup_by_key(|p| p.seq);
    }
    Ok(Ok(out))
}

/// Piece ids the writer has looked up, in two generations: when the newer fills up it becomes
/// the older, so the pieces in use stay while one-off ones (a request id) age out.
#[derive(Default)]
pub(crate) struct TermCache {
    newer: HashMap<Box<str>, i64, RandomState>,
    older: HashMap<Box<str>, i64, RandomState>,
}

/// Pieces a generation of [`TermCache`] holds.
const CACHED_TERMS: usize = 20_000;

impl TermCache {
    fn get(&mut self, text: &str) -> Option<i64> {
        if let Some(id) = self.newer.get(text) {
            return Some(*id);
        }
        let (text, id) = self.older.remove_entry(text)?;
        self.put(text, id);
        Some(id)
    }

    fn put(&mut self, text: Box<str>, id: i64) {
        if self.newer.len() >= CACHED_TERMS {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(text, id);
    }

    /// Forgets every id (another connection may have deleted pieces, or a transaction that
    /// created some rolled back).
    pub(crate) fn clear(&mut self) {
        self.newer.clear();
        self.older.clear();
    }

    /// Forgets the pieces deleted with their last log.
    pub(crate) fn forget(&mut self, texts: &[String]) {
        for t in texts {
            self.newer.remove(t.as_str());
            self.older.remove(t.as_str());
        }
    }
}

/// Pieces added by one call of [`index`]: the first id free, then each new piece's id and text
/// (its trigrams go in last).
struct NewTerms<'t> {
    next: i64,
    added: Vec<(i64, &'t str)>,
}

/// The id of the piece `text`, added if new. The caller holds the write lock, so the ids after
/// the largest are free: a new piece costs one INSERT (no RETURNING, no second lookup).
fn term_id<'t>(
    conn: &Connection,
    cache: &mut TermCache,
    text: &'t str,
    new: &mut NewTerms<'t>,
) -> Result<i64, StoreError> {
    if let Some(id) = cache.get(text) {
        return Ok(id);
    }
    let added = conn
        .prepare_cached("INSERT INTO search_terms (id, text) VALUES (?1, ?2) ON CONFLICT (text) DO NOTHING")?
        .execute(params![new.next, text])?;
    let id = if added == 1 {
        new.added.push((new.next, text));
        new.next += 1;
        new.next - 1
    } else {
        conn.prepare_cached("SELECT id FROM search_terms WHERE text = ?1")?.query_row([text], |r| r.get(0))?
    };
    cache.put(text.into(), id);
    Ok(id)
}

/// Postings per INSERT of [`index`].
const POSTINGS_CHUNK: usize = 16;

fn postings_sql(rows: usize) -> String {
    let values = crate::insert::values(4, rows);
    format!("INSERT OR IGNORE INTO search_postings (term, seq, created_at, dims) VALUES {values}")
}

/// Indexes logs: `(seq, created_at, dims, metadata)` each. The postings go in in key order, so
/// that a piece's new rows land together at the end of its run.
pub(crate) fn index<'m>(
    conn: &Connection,
    cache: &mut TermCache,
    logs: impl Iterator<Item = (i64, i64, i64, &'m str)>,
) -> Result<(), StoreError> {
    let folded: Vec<(Posting, String)> =
        logs.map(|(seq, created_at, dims, m)| (Posting { seq, created_at, dims }, m.to_lowercase())).collect();
    if folded.is_empty() {
        return Ok(());
    }
    let next = conn.query_row("SELECT coalesce(max(id), 0) + 1 FROM search_terms", [], |r| r.get(0))?;
    let mut new = NewTerms { next, added: Vec::new() };
    let mut rows: Vec<(i64, Posting)> = Vec::new();
    for (posting, text) in &folded {
        for piece in pieces(text) {
            rows.push((term_id(conn, cache, piece, &mut new)?, *posting));
        }
    }
    rows.sort_unstable_by_key(|(term, p)| (*term, p.seq));
    // Several rows per statement, as the writer inserts logs (`insert.rs`): a statement's start
    // and end are paid once per chunk.
    let mut chunks = rows.chunks_exact(POSTINGS_CHUNK);
    let mut stmt = conn.prepare_cached(&postings_sql(POSTINGS_CHUNK))?;
    for chunk in &mut chunks {
        for (i, (term, p)) in chunk.iter().enumerate() {
            for (j, v) in [term, &p.seq, &p.created_at, &p.dims].into_iter().enumerate() {
                stmt.raw_bind_parameter(1 + 4 * i + j, v)?;
            }
        }
        stmt.raw_execute()?;
    }
    let mut stmt = conn.prepare_cached(&postings_sql(1))?;
    for (term, p) in chunks.remainder() {
        stmt.execute(params![term, p.seq, p.created_at, p.dims])?;
    }
    // The trigrams last, all together: FTS5 writes what it holds in memory to the index at the
    // start of any later statement of the transaction, so inserts between other statements
    // would each write a small segment of their own (and merge them), at ten times the cost.
    let mut stmt = conn.prepare_cached("INSERT INTO search_vocab (rowid, text) VALUES (?1, ?2)")?;
    for (id, text) in new.added {
        stmt.execute(params![id, text])?;
    }
    Ok(())
}

/// The postings of the logs in `temp.doomed`, found from their metadata.
pub(crate) const DOOMED_POSTINGS: &str = "SELECT t.id, l.seq FROM temp.doomed d CROSS JOIN logs l ON l.seq = d.seq
    JOIN json_each(aigw_search_pieces(l.metadata)) p JOIN search_terms t ON t.text = p.value
    WHERE l.metadata IS NOT NULL";

/// Removes the postings of the logs in `temp.doomed` (read from their metadata, so before the
/// rows go), and the pieces no log has any more; returns those pieces' texts. CROSS JOIN keeps
/// the doomed logs as the outer loop: left to itself, SQLite scans every log and probes the list.
pub(crate) fn unindex_doomed(conn: &Connection) -> Result<Vec<String>, StoreError> {
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS unposted (term INTEGER, seq INTEGER, PRIMARY KEY (term, seq)) WITHOUT ROWID;
         DELETE FROM temp.unposted;
         INSERT OR IGNORE INTO temp.unposted {DOOMED_POSTINGS};
         DELETE FROM search_postings WHERE (term, seq) IN (SELECT term, seq FROM temp.unposted);
         CREATE TEMP TABLE IF NOT EXISTS orphans (term INTEGER PRIMARY KEY);
         DELETE FROM temp.orphans;
         INSERT INTO temp.orphans SELECT DISTINCT u.term FROM temp.unposted u
         WHERE NOT EXISTS (SELECT 1 FROM search_postings p WHERE p.term = u.term);
         DELETE FROM temp.unposted;
         DELETE FROM search_vocab WHERE rowid IN (SELECT term FROM temp.orphans);"
    ))?;
    let mut stmt =
        conn.prepare_cached("DELETE FROM search_terms WHERE id IN (SELECT term FROM temp.orphans) RETURNING text")?;
    let gone = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
    conn.execute("DELETE FROM temp.orphans", [])?;
    Ok(gone)
}

/// Replaces the log `seq`'s postings after its metadata changed to `metadata` (`None`: it has
/// none any more). Runs before the row is updated: the old postings are found from the old text.
pub(crate) fn reindex(conn: &Connection, seq: i64, metadata: Option<&str>) -> Result<(), StoreError> {
    crate::delete::fill_doomed(conn, "SELECT ?1", [seq])?;
    unindex_doomed(conn)?;
    conn.execute("DELETE FROM temp.doomed", [])?;
    if let Some(metadata) = metadata {
        let (created_at, dims): (i64, i64) =
            conn.query_row("SELECT created_at, dims FROM logs WHERE seq = ?1", [seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
        index(conn, &mut TermCache::default(), std::iter::once((seq, created_at, dims, metadata)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_cut_into_its_entries_at_braces_and_commas() {
        assert_eq!(
            pieces(r#"{"team":"search","run":12,"ok":true}"#),
            [r#""ok":true"#, r#""run":12"#, r#""team":"search""#]
        );
        // A comma inside a value cuts it too: a term can still only be inside one piece.
        assert_eq!(pieces(r#"{"who":"smith, j","a":1,"a":1}"#), [r#" j""#, r#""a":1"#, r#""who":"smith"#]);
        assert_eq!(pieces_json(r#"{"Team":"Ünïcode"}"#), r#"["\"team\":\"ünïcode\""]"#);
    }

    #[test]
    fn a_term_asks_for_every_trigram_unless_it_crosses_a_piece() {
        assert_eq!(vocab_query("u166").as_deref(), Some(r#""166" AND "u16""#));
        // A quote inside a trigram is doubled in its FTS5 string.
        assert_eq!(vocab_query(r#"m":"s"#).as_deref(), Some(r#"""":""" AND ":""s" AND "m"":""#));
        assert_eq!(vocab_query("ab"), None);
        assert_eq!(vocab_query("a,b"), None);
        assert_eq!(vocab_query("{\"a"), None);
        assert_eq!(vocab_query("ab\0c"), None);
    }
}
