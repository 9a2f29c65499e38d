//! The metadata search index (`log_search`, FTS5 with the trigram tokenizer): what is indexed of
//! a log's metadata, and how a search term asks it.
//!
//! Metadata is a JSON object. Most trigrams of its text span the JSON around the keys and values
//! (`{"t`, `":"`, `","`): every log has them, so they cost the writer the most and narrow a search
//! the least. The index keeps instead the runs of characters between the structural characters
//! `{ } " : ,`, each run in a column of its own, so that no trigram crosses from one run to the
//! next. A term is asked for by those of its trigrams that contain no structural character: every
//! log whose metadata text contains the term holds each of them inside one run, so the index
//! finds a superset of the matches, and the exact check (LIKE over the folded text) keeps the
//! rest. A term with no such trigram (shorter than three characters, or all structure) is left
//! to the plain query.

use std::borrow::Cow;

use rusqlite::{params, Connection};

use crate::error::StoreError;

/// Columns of `log_search`. Runs past the last but one all go, joined by spaces, into the last.
pub(crate) const COLUMNS: usize = 10;

/// The characters JSON puts around keys and values.
fn structural(c: char) -> bool {
    matches!(c, '{' | '}' | '"' | ':' | ',')
}

/// Inserts one log's entry: its `seq`, then the [`COLUMNS`] columns of [`columns`].
pub(crate) const INSERT_SQL: &str = "INSERT INTO log_search (rowid, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

/// What each column holds for metadata whose folded text is `folded`.
pub(crate) fn columns(folded: &str) -> [Option<Cow<'_, str>>; COLUMNS] {
    let mut out: [Option<Cow<'_, str>>; COLUMNS] = Default::default();
    let mut runs = folded.split(structural).filter(|r| !r.is_empty());
    for slot in out.iter_mut().take(COLUMNS - 1) {
        *slot = runs.next().map(Cow::Borrowed);
    }
    let rest: Vec<&str> = runs.collect();
    out[COLUMNS - 1] = match rest.len() {
        0 => None,
        1 => Some(Cow::Borrowed(rest[0])),
        _ => Some(Cow::Owned(rest.join(" "))),
    };
    out
}

/// Indexes the log `seq`, whose metadata folds to `folded`, with a prepared [`INSERT_SQL`].
pub(crate) fn index(stmt: &mut rusqlite::Statement<'_>, seq: i64, folded: &str) -> Result<(), StoreError> {
    let c = columns(folded);
    stmt.execute(params![seq, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]])?;
    Ok(())
}

/// Replaces the log `seq`'s entry (after its metadata changed; `None`: it has none any more).
pub(crate) fn reindex(conn: &Connection, seq: i64, metadata: Option<&str>) -> Result<(), StoreError> {
    conn.execute("DELETE FROM log_search WHERE rowid = ?1", params![seq])?;
    if let Some(metadata) = metadata {
        let mut stmt = conn.prepare_cached(INSERT_SQL)?;
        index(&mut stmt, seq, &metadata.to_lowercase())?;
    }
    Ok(())
}

/// The FTS5 query for a folded term: all its trigrams that the index can hold, as quoted
/// strings joined by AND (none contains `"`, so none needs escaping). `None` when it has none.
pub(crate) fn trigram_query(folded: &str) -> Option<String> {
    let chars: Vec<char> = folded.chars().collect();
    let mut trigrams: Vec<String> = chars
        .windows(3)
        .filter(|w| !w.iter().any(|&c| structural(c)))
        .map(|w| format!("\"{}\"", w.iter().collect::<String>()))
        .collect();
    trigrams.sort();
    trigrams.dedup();
    (!trigrams.is_empty()).then(|| trigrams.join(" AND "))
}

/// `aigw_search_column(folded, i)`: column `i` of [`columns`], for rebuilding the index in SQL.
pub(crate) fn column(folded: &str, i: usize) -> Option<String> {
    columns(folded).into_iter().nth(i).flatten().map(Cow::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_between_the_json_structure_go_to_their_own_columns() {
        let c = columns(r#"{"team":"search","run":12,"ok":true}"#);
        let got: Vec<Option<&str>> = c.iter().map(|c| c.as_deref()).collect();
        assert_eq!(
            got,
            [Some("team"), Some("search"), Some("run"), Some("12"), Some("ok"), Some("true"), None, None, None, None]
        );
        let many = (0..12).map(|i| format!("\"k{i}\":\"v{i}\"")).collect::<Vec<_>>().join(",");
        let c = columns(&many);
        assert_eq!(c[8].as_deref(), Some("k4"));
        assert_eq!(c[9].as_deref(), Some("v4 k5 v5 k6 v6 k7 v7 k8 v8 k9 v9 k10 v10 k11 v11"));
    }

    #[test]
    fn a_term_asks_for_its_trigrams_inside_runs_only() {
        assert_eq!(trigram_query("u166").as_deref(), Some(r#""166" AND "u16""#));
        assert_eq!(trigram_query(r#"m":"sea"#).as_deref(), Some(r#""sea""#));
        assert_eq!(trigram_query(r#"":""#), None);
        assert_eq!(trigram_query("ab"), None);
        assert_eq!(trigram_query("a,b,c"), None);
    }
}
