//! Edge cases of the rollup-backed listing found in review, each compared with the plain scan:
//! remembered filter sets across a gateway's deletion, NULs in search terms and values, and
//! pages of searches whose metadata hits fall in hours without matching combinations.

#![allow(clippy::unwrap_used)] // test helpers: a failure is the test failing

use aigw_core::filter::{Direction, Filter, FilterKey, FilterValue, LogQuery, Op};
use aigw_core::{LogRecord, Source, SourceKind};
use aigw_store::logs::{list_logs, scan_list, Scope};
use aigw_store::LogInserter;

const T0: i64 = 1_767_225_600_000;
const HOUR: i64 = 3_600_000;

fn rec(i: usize, gw: &str, at: i64, provider: &str, model: &str, name: Option<&str>, meta: Option<&str>) -> LogRecord {
    LogRecord {
        id: format!("LOG{gw}{i:08}"),
        account_id: "acct".into(),
        gateway_id: gw.into(),
        created_at_ms: at,
        duration_ms: i as u64,
        provider: provider.into(),
        model: model.into(),
        path: "/v1/messages".into(),
        request_type: "provider".into(),
        method: "POST".into(),
        status_code: 200,
        success: true,
        metadata: meta.map(|s| s.to_string()),
        source: Source {
            kind: if name.is_some() { SourceKind::Playground } else { SourceKind::Direct },
            id: None,
            name: name.map(|s| s.to_string()),
            owner: None,
        },
        ..Default::default()
    }
}

fn cmp(conn: &rusqlite::Connection, gw: &str, q: &LogQuery) -> (u64, u64, bool) {
    let scope = Scope { account: "acct", gateway: gw };
    let fast = list_logs(conn, scope, q).unwrap();
    let plain = scan_list(conn, scope, q).unwrap();
    let a: Vec<_> = fast.logs.iter().map(|l| l.id.clone()).collect();
    let b: Vec<_> = plain.logs.iter().map(|l| l.id.clone()).collect();
    (fast.total, plain.total, a == b)
}

/// A fresh database: its directory (kept alive by the caller), an inserter, a read connection.
fn fresh() -> (tempfile::TempDir, LogInserter, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let ins = LogInserter::new(aigw_store::open_write(&path).unwrap()).unwrap();
    let conn = aigw_store::open_read(&path).unwrap();
    (dir, ins, conn)
}

fn prov(p: &str) -> Filter {
    Filter { key: FilterKey::Provider, op: Op::Eq, values: vec![FilterValue::Text(p.into())] }
}

#[test]
fn a_gateway_without_a_row_deleted_and_used_again_gets_a_fresh_filter_set() {
    use aigw_core::gateway::{Gateway, GatewaySpec};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let writer = aigw_store::open_write(&path).unwrap();
    let mut ins = LogInserter::new(aigw_store::open_write(&path).unwrap()).unwrap();
    let conn = aigw_store::open_read(&path).unwrap();
    // rowless gateway, one combination (id 1)
    ins.insert_batch(&[rec(0, "g", T0, "openai", "m", None, None)]).unwrap();
    let q = LogQuery { filters: vec![prov("anthropic")], ..Default::default() };
    assert_eq!(cmp(&conn, "g", &q).0, 0);
    // the gateway gets a row, then is deleted (combination 1 goes)
    let g = Gateway {
        account_id: "acct".into(),
        id: "g".into(),
        internal_id: "x".into(),
        created_at_ms: T0,
        modified_at_ms: T0,
        spec: GatewaySpec::default_gateway(),
    };
    aigw_store::gateways::insert_gateway(&writer, &g).unwrap();
    aigw_store::gateways::delete_gateway(&writer, "acct", "g", T0 + 10).unwrap();
    // a later request's log arrives: rowless again, its new combination reuses id 1
    ins.insert_batch(&[rec(1, "g", T0 + 100, "anthropic", "m", None, None)]).unwrap();
    let (f, p, _) = cmp(&conn, "g", &q);
    assert_eq!(f, p, "stale cache");
}

/// Five logs of `model` in gateway `g`: searching them for `term` answers as the plain query does.
fn search_agrees_with_the_plain_query(model: &str, term: &str) {
    let (_dir, mut ins, conn) = fresh();
    let recs: Vec<_> = (0..5).map(|i| rec(i, "g", T0 + i as i64, "openai", model, None, None)).collect();
    ins.insert_batch(&recs).unwrap();
    let q = LogQuery { search: Some(term.into()), ..Default::default() };
    let (f, p, same) = cmp(&conn, "g", &q);
    assert!(f == p && same);
}

#[test]
fn a_search_term_with_a_nul_is_answered_by_the_plain_query() {
    search_agrees_with_the_plain_query("gpt", "ages\0zz");
}

#[test]
fn a_value_with_a_nul_matches_as_sqlite_like_reads_it() {
    search_agrees_with_the_plain_query("gpt\0-4o", "-4o");
}

#[test]
fn pages_of_a_search_count_its_metadata_hits_in_every_hour() {
    let (_dir, mut ins, conn) = fresh();
    let mut recs = Vec::new();
    let mut i = 0;
    for h in 0..20 {
        for m in 0..100 {
            let at = T0 + h * HOUR + m * 1000;
            let meta = if m % 10 == 0 { Some("{\"owner\":\"alice\"}") } else { None };
            recs.push(rec(i, "g", at, "openai", &format!("model-{m}"), None, meta));
            i += 1;
        }
        // one Alice log per 5 hours
        if h % 5 == 0 {
            recs.push(rec(i, "g", T0 + h * HOUR + 500, "openai", "model-0", Some("Alice"), None));
            i += 1;
        }
    }
    ins.insert_batch(&recs).unwrap();
    let mut bad = 0;
    for dir in [Direction::Desc, Direction::Asc] {
        for page in 1..4 {
            for mi in [false, true] {
                let q = LogQuery {
                    search: Some("alice".into()),
                    per_page: 7,
                    page,
                    direction: dir,
                    meta_info: mi,
                    ..Default::default()
                };
                let (f, p, same) = cmp(&conn, "g", &q);
                if !(f == p && same) {
                    bad += 1;
                }
            }
        }
    }
    assert_eq!(bad, 0);
}

/// An hour with more metadata hits than a page query names one by one, beside logs of a name
/// the term matches too: pages in both directions and at both ends of the hour agree.
#[test]
fn an_hour_with_thousands_of_metadata_hits_pages_as_the_plain_query() {
    let (_dir, mut ins, conn) = fresh();
    let recs: Vec<LogRecord> = (0..3_300)
        .map(|i| {
            let at = T0 + (i as i64 % 1_650) * 2_000;
            let (model, meta) = match i % 3 {
                0 => ("gpt-4o", Some(r#"{"ticket":"zeta-9"}"#)),
                1 => ("zeta-model", None),
                _ => ("gpt-4o", Some(r#"{"ticket":"other"}"#)),
            };
            rec(i, "g", at, if i % 2 == 0 { "openai" } else { "anthropic" }, model, None, meta)
        })
        .collect();
    ins.insert_batch(&recs).unwrap();
    for filters in [vec![], vec![prov("openai")]] {
        for direction in [Direction::Desc, Direction::Asc] {
            for page in [1, 2, 40, 65, 90] {
                for meta_info in [false, true] {
                    let q = LogQuery {
                        search: Some("ZETA".into()),
                        filters: filters.clone(),
                        per_page: 25,
                        page,
                        direction,
                        meta_info,
                        ..Default::default()
                    };
                    let (fast, plain, same) = cmp(&conn, "g", &q);
                    assert_eq!(fast, plain, "{q:?}");
                    assert!(same, "{q:?}");
                }
            }
        }
    }
}
