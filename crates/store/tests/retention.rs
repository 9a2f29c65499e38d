//! A gateway's `log_management` cap: STOP_INSERTING keeps the first logs and counts the rest as
//! refused; DELETE_OLDEST keeps the newest. Either way totals and stats stay exact.
#![allow(clippy::unwrap_used)] // test setup helpers: a failure is the test failing

use aigw_core::filter::LogQuery;
use aigw_core::gateway::{Gateway, GatewaySpec, LogManagementStrategy};
use aigw_core::LogRecord;
use aigw_store::logs::{list_logs, scan_list, Scope};
use aigw_store::{BatchOutcome, LogInserter};

const T0: i64 = 1_767_225_600_000;

fn records(from: usize, n: usize) -> Vec<LogRecord> {
    (from..from + n)
        .map(|i| LogRecord {
            id: format!("01RET{i:08}"),
            account_id: "acct".into(),
            gateway_id: "capped".into(),
            // Ten minutes apart, so the logs span several hours.
            created_at_ms: T0 + i as i64 * 600_000,
            duration_ms: i as u64,
            provider: if i % 2 == 0 { "openai" } else { "anthropic" }.into(),
            model: "m".into(),
            path: "/v1/chat/completions".into(),
            status_code: 200,
            success: true,
            cost: Some(i as f64 / 1000.0),
            ..Default::default()
        })
        .collect()
}

fn setup(limit: i64, strategy: Option<LogManagementStrategy>) -> (tempfile::TempDir, LogInserter) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let conn = aigw_store::open_write(&path).unwrap();
    let mut spec = GatewaySpec::default_gateway();
    spec.log_management = Some(limit);
    spec.log_management_strategy = strategy;
    let gateway = Gateway {
        account_id: "acct".into(),
        id: "capped".into(),
        internal_id: "i".into(),
        created_at_ms: T0,
        modified_at_ms: T0,
        spec,
    };
    aigw_store::gateways::insert_gateway(&conn, &gateway).unwrap();
    (dir, LogInserter::new(conn).unwrap())
}

fn stored_ids(dir: &tempfile::TempDir) -> (Vec<String>, u64) {
    let conn = aigw_store::open_read(&dir.path().join("t.db")).unwrap();
    let scope = Scope { account: "acct", gateway: "capped" };
    let q = LogQuery { per_page: 50, meta_info: true, ..Default::default() };
    let fast = list_logs(&conn, scope, &q).unwrap();
    let plain = scan_list(&conn, scope, &q).unwrap();
    assert_eq!((fast.total, &fast.meta), (plain.total, &plain.meta), "rollups stay exact");
    (fast.logs.iter().map(|l| l.id.clone()).collect(), fast.total)
}

#[test]
fn stop_inserting_keeps_the_first_logs_and_counts_the_rest() {
    let (dir, mut inserter) = setup(30, Some(LogManagementStrategy::StopInserting));
    assert_eq!(
        inserter.insert_batch(&records(0, 20)).unwrap(),
        BatchOutcome { written: 20, over_limit: 0, gateway_deleted: 0, rejected: 0 }
    );
    assert_eq!(
        inserter.insert_batch(&records(20, 20)).unwrap(),
        BatchOutcome { written: 10, over_limit: 10, gateway_deleted: 0, rejected: 0 }
    );
    let (ids, total) = stored_ids(&dir);
    assert_eq!(total, 30);
    assert_eq!(ids.first().map(String::as_str), Some("01RET00000029"), "newest kept is the 30th");
}

#[test]
fn a_cap_without_a_strategy_stops_inserting() {
    let (dir, mut inserter) = setup(5, None);
    assert_eq!(inserter.insert_batch(&records(0, 8)).unwrap().over_limit, 3);
    assert_eq!(stored_ids(&dir).1, 5);
}

#[test]
fn delete_oldest_keeps_the_newest_logs() {
    let (dir, mut inserter) = setup(30, Some(LogManagementStrategy::DeleteOldest));
    for start in [0, 25, 50] {
        let outcome = inserter.insert_batch(&records(start, 25)).unwrap();
        assert_eq!(outcome, BatchOutcome { written: 25, over_limit: 0, gateway_deleted: 0, rejected: 0 });
    }
    let (ids, total) = stored_ids(&dir);
    assert_eq!(total, 30);
    assert_eq!(ids.first().map(String::as_str), Some("01RET00000074"));
    assert_eq!(ids.last().map(String::as_str), Some("01RET00000045"), "the 45 oldest are gone");
}

/// A request still in flight when its gateway is deleted leaves no log behind; once the gateway
/// is created again, its new requests are logged as usual.
#[test]
fn logs_of_requests_started_before_their_gateway_was_deleted_are_dropped() {
    let (dir, mut inserter) = setup(1_000, None);
    let path = dir.path().join("t.db");
    let admin = aigw_store::open_write(&path).unwrap();
    inserter.insert_batch(&records(0, 3)).unwrap();
    // Deleted right after the 6th request started (records are ten minutes apart).
    let deleted_at = T0 + 5 * 600_000 + 1;
    let gone = aigw_store::gateways::delete_gateway(&admin, "acct", "capped", deleted_at).unwrap();
    assert!(gone.is_some());
    assert_eq!(
        inserter.insert_batch(&records(3, 3)).unwrap(),
        BatchOutcome { written: 0, over_limit: 0, gateway_deleted: 3, rejected: 0 }
    );
    let conn = aigw_store::open_read(&path).unwrap();
    let count = |conn: &rusqlite::Connection| -> i64 {
        conn.query_row("SELECT count(*) FROM logs WHERE gateway_id = 'capped'", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(count(&conn), 0, "the deleted gateway's logs and the late ones are gone");

    // Created again: later requests are stored.
    let again = Gateway {
        account_id: "acct".into(),
        id: "capped".into(),
        internal_id: "j".into(),
        created_at_ms: deleted_at + 1,
        modified_at_ms: deleted_at + 1,
        spec: GatewaySpec::default_gateway(),
    };
    aigw_store::gateways::insert_gateway(&admin, &again).unwrap();
    let mut fresh = LogInserter::new(aigw_store::open_write(&path).unwrap()).unwrap();
    assert_eq!(fresh.insert_batch(&records(6, 2)).unwrap().written, 2);
    assert_eq!(count(&conn), 2);
}

/// Logs for a gateway that has no row and was never deleted are stored: `default` is persisted
/// a moment after its first request, and that request's log must not be lost.
#[test]
fn logs_of_a_gateway_not_yet_stored_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut inserter = LogInserter::new(aigw_store::open_write(&dir.path().join("t.db")).unwrap()).unwrap();
    assert_eq!(inserter.insert_batch(&records(0, 4)).unwrap().written, 4);
}

/// The ids of the capped gateway's logs a search finds (and the plain query agrees).
fn found(dir: &tempfile::TempDir, term: &str) -> Vec<String> {
    let conn = aigw_store::open_read(&dir.path().join("t.db")).unwrap();
    let scope = Scope { account: "acct", gateway: "capped" };
    let q = LogQuery { per_page: 50, search: Some(term.into()), ..Default::default() };
    let fast = list_logs(&conn, scope, &q).unwrap();
    let plain = scan_list(&conn, scope, &q).unwrap();
    let ids = |p: &aigw_store::logs::LogPage| p.logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
    assert_eq!((fast.total, ids(&fast)), (plain.total, ids(&plain)), "search {term:?}");
    ids(&fast)
}

#[test]
fn metadata_deleted_with_the_oldest_logs_is_found_again_when_it_comes_back() {
    let (dir, mut inserter) = setup(2, Some(LogManagementStrategy::DeleteOldest));
    let with = |from: usize, n: usize, value: &str| -> Vec<LogRecord> {
        records(from, n)
            .into_iter()
            .map(|r| LogRecord { metadata: Some(format!(r#"{{"run":"{value}"}}"#)), ..r })
            .collect()
    };
    inserter.insert_batch(&with(0, 2, "alpha-1")).unwrap();
    assert_eq!(found(&dir, "alpha-1"), ["01RET00000001", "01RET00000000"]);
    // Two newer logs push both out: their entry goes with them...
    inserter.insert_batch(&with(2, 2, "beta-2")).unwrap();
    assert!(found(&dir, "alpha-1").is_empty());
    let conn = aigw_store::open_read(&dir.path().join("t.db")).unwrap();
    let entries: Vec<String> = conn
        .prepare("SELECT text FROM search_terms")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(entries, [r#""run":"beta-2""#]);
    // ...and the writer, which had it cached, adds it anew when it is back.
    inserter.insert_batch(&with(4, 1, "alpha-1")).unwrap();
    assert_eq!(found(&dir, "alpha-1"), ["01RET00000004"]);
    assert_eq!(found(&dir, "beta-2"), ["01RET00000003"]);
}

#[test]
fn patched_metadata_is_found_by_its_new_values_only() {
    let (dir, mut inserter) = setup(10, None);
    let recs: Vec<LogRecord> = records(0, 2)
        .into_iter()
        .map(|r| LogRecord { metadata: Some(r#"{"team":"search","ticket":"t-77"}"#.into()), ..r })
        .collect();
    inserter.insert_batch(&recs).unwrap();
    let conn = aigw_store::open_write(&dir.path().join("t.db")).unwrap();
    let scope = Scope { account: "acct", gateway: "capped" };
    let patch = |id: &str, metadata: Option<&str>| {
        let p = aigw_store::logs::LogPatch { metadata: Some(metadata.map(String::from)), ..Default::default() };
        aigw_store::logs::patch_log(&conn, scope, id, &p).unwrap().unwrap();
    };
    patch("01RET00000000", Some(r#"{"team":"Billing"}"#));
    assert_eq!(found(&dir, "billing"), ["01RET00000000"]);
    assert_eq!(found(&dir, "t-77"), ["01RET00000001"]);
    assert_eq!(found(&dir, "search"), ["01RET00000001"]);
    patch("01RET00000001", None);
    assert!(found(&dir, "t-77").is_empty());
    let entries: i64 = conn.query_row("SELECT count(*) FROM search_terms", [], |r| r.get(0)).unwrap();
    assert_eq!(entries, 1, "only the patched log's entry is left");
    // The writer (its cache of entries now stale) indexes a new log with the old entries again.
    inserter
        .insert_batch(&recs[..1].iter().map(|r| LogRecord { id: "01RETNEW".into(), ..r.clone() }).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(found(&dir, "t-77"), ["01RETNEW"]);
}
