//! The audit trail against a real database file: chains, verification after tampering, every
//! filter form, and cursors in both directions.

use aigw_core::audit::query::{parse_audit_query, AuditCursor, AuditQuery};
use aigw_core::audit::{
    ActionResult, ActionType, ActorContext, ActorType, AuditAccount, AuditAction, AuditActor, AuditRaw, AuditRecord,
    AuditResource, AuditZone,
};
use aigw_core::filter::parse_query_string;
use rusqlite::Connection;
use serde_json::json;

use super::*;

/// 2024-01-01T00:00:00Z.
const DAY0: i64 = 1_704_067_200_000;

fn db() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::open_write(&dir.path().join("a.db")).unwrap();
    (dir, conn)
}

fn record(n: i64, account: &str, time_ms: i64) -> AuditRecord {
    AuditRecord {
        id: format!("rec{n:04}"),
        account: AuditAccount { id: account.into(), name: Some(format!("{account} name")) },
        action: AuditAction {
            kind: if n % 3 == 0 { ActionType::Delete } else { ActionType::Create },
            result: if n % 5 == 0 { ActionResult::Failure } else { ActionResult::Success },
            description: format!("action {n}"),
            time_ms,
        },
        actor: AuditActor {
            id: Some(account.into()),
            kind: ActorType::Account,
            context: Some(ActorContext::ApiToken),
            email: (n % 2 == 0).then(|| "ops@example.com".to_string()),
            ip_address: Some("127.0.0.1".into()),
            token_id: Some(format!("tok{}", n % 2)),
            token_name: Some("ci".into()),
        },
        raw: AuditRaw {
            cf_ray_id: format!("ray{n:04}"),
            method: Some(if n % 3 == 0 { "DELETE" } else { "POST" }.into()),
            status_code: Some(if n % 5 == 0 { 403 } else { 200 }),
            uri: Some(format!("/client/v4/accounts/{account}/ai-gateway/gateways/g{n}")),
            user_agent: Some("test".into()),
        },
        resource: AuditResource::new("ai_gateway", "gateway", Some(&format!("g{n}"))).with_request(json!({"n": n})),
        zone: AuditZone::default(),
    }
}

/// `n` records of account `a`, one a minute from DAY0, and a few of account `b` among them.
fn fill(conn: &Connection, n: i64) {
    for i in 0..n {
        append(conn, &record(i, "a", DAY0 + i * 60_000)).unwrap();
        if i % 10 == 0 {
            append(conn, &record(1000 + i, "b", DAY0 + i * 60_000)).unwrap();
        }
    }
}

fn query(s: &str) -> AuditQuery {
    parse_audit_query(&parse_query_string(&format!("since=2024-01-01&before=2024-01-02&{s}"))).unwrap()
}

fn ids(conn: &Connection, account: &str, s: &str) -> Vec<String> {
    list(conn, account, &query(s)).unwrap().records.into_iter().map(|r| r.record.id).collect()
}

#[test]
fn appended_records_read_back_with_secrets_redacted() {
    let (_dir, conn) = db();
    let mut rec = record(1, "a", DAY0);
    rec.resource.request = Some(json!({"name": "ci", "api_key": "sk-live-0123456789abcdef"}));
    rec.resource.response = Some(json!({"value": "aigw_at_0123456789abcdef0123"}));
    rec.raw.uri = Some("/x?token=abc&limit=1".into());
    append(&conn, &rec).unwrap();
    let back = get(&conn, "a", "rec0001").unwrap().unwrap().record;
    assert_eq!(back.resource.request, Some(json!({"name": "ci", "api_key": "[REDACTED]"})));
    assert_eq!(back.resource.response, Some(json!({"value": "[REDACTED]"})));
    assert_eq!(back.raw.uri.as_deref(), Some("/x?token=[REDACTED]&limit=1"));
    assert_eq!(back.actor, rec.actor);
    assert_eq!(back.action, rec.action);
    assert!(get(&conn, "b", "rec0001").unwrap().is_none(), "another account's record is not found");
}

#[test]
fn each_account_has_its_own_chain_and_it_verifies() {
    let (_dir, conn) = db();
    fill(&conn, 30);
    let report = verify(&conn).unwrap();
    assert_eq!(report, VerifyReport { records: 33, accounts: 2, broken: None });
    let first_b: Vec<u8> = conn
        .query_row("SELECT prev_hash FROM audit_log WHERE account_id = 'b' ORDER BY seq LIMIT 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(first_b, GENESIS.to_vec(), "b's chain starts at genesis, not after a's records");
}

#[test]
fn the_trail_refuses_updates_and_deletes() {
    let (_dir, conn) = db();
    fill(&conn, 3);
    assert!(conn.execute("UPDATE audit_log SET action_result = 'success'", []).is_err());
    assert!(conn.execute("DELETE FROM audit_log", []).is_err());
}

/// Tampering as someone with the file would: drop the guard, then edit.
fn tamper(conn: &Connection, sql: &str) {
    conn.execute_batch("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;").unwrap();
    conn.execute_batch(sql).unwrap();
}

#[test]
fn verify_names_an_edited_record() {
    let (_dir, conn) = db();
    fill(&conn, 20);
    tamper(&conn, "UPDATE audit_log SET action_result = 'success' WHERE id = 'rec0010'");
    let broken = verify(&conn).unwrap().broken.unwrap();
    assert_eq!(broken.id.as_deref(), Some("rec0010"));
    assert!(broken.reason.contains("edited"), "{}", broken.reason);
}

#[test]
fn verify_names_a_rehashed_record_and_the_one_after_a_removed_one() {
    let (_dir, conn) = db();
    fill(&conn, 20);
    // Whoever recomputes the edited record's hash breaks its successor's link instead.
    tamper(&conn, "UPDATE audit_log SET hash = randomblob(32) WHERE id = 'rec0007'");
    let broken = verify(&conn).unwrap().broken.unwrap();
    assert_eq!(broken.id.as_deref(), Some("rec0007"), "its own hash no longer matches");
    let (_dir, conn) = db();
    fill(&conn, 20);
    tamper(&conn, "DELETE FROM audit_log WHERE id = 'rec0007'");
    let broken = verify(&conn).unwrap().broken.unwrap();
    assert_eq!(broken.id.as_deref(), Some("rec0008"));
    assert!(broken.reason.contains("rec0006"), "{}", broken.reason);
}

#[test]
fn verify_notices_removed_newest_records_and_retyped_values() {
    let (_dir, conn) = db();
    fill(&conn, 20);
    tamper(&conn, "DELETE FROM audit_log WHERE id = 'rec0019'");
    let broken = verify(&conn).unwrap().broken.unwrap();
    assert_eq!((broken.account_id.as_str(), broken.id.as_deref()), ("a", Some("rec0018")));
    assert!(broken.reason.contains("newest"), "{}", broken.reason);

    let (_dir, conn) = db();
    fill(&conn, 5);
    tamper(&conn, "UPDATE audit_log SET resource_id = CAST(resource_id AS BLOB) WHERE id = 'rec0002'");
    assert_eq!(verify(&conn).unwrap().broken.unwrap().id.as_deref(), Some("rec0002"));
}

#[test]
fn window_direction_and_account_scope() {
    let (_dir, conn) = db();
    fill(&conn, 30);
    let desc = ids(&conn, "a", "limit=1000");
    assert_eq!(desc.len(), 30);
    assert_eq!(desc.first().map(String::as_str), Some("rec0029"), "newest first by default");
    let asc = ids(&conn, "a", "direction=asc&limit=1000");
    assert_eq!(asc.iter().rev().cloned().collect::<Vec<_>>(), desc);
    assert!(ids(&conn, "b", "limit=1000").iter().all(|id| id.starts_with("rec1")));
    // since inclusive, before exclusive.
    let window = ids(&conn, "a", "since=2024-01-01T00:05:00Z&before=2024-01-01T00:10:00Z&direction=asc");
    assert_eq!(window, ["rec0005", "rec0006", "rec0007", "rec0008", "rec0009"]);
}

#[test]
fn every_filter_in_both_forms() {
    let (_dir, conn) = db();
    fill(&conn, 30);
    let count = |s: &str| ids(&conn, "a", &format!("limit=1000&{s}")).len();
    // (filter, values, expected positive count); the `.not` form must select the rest.
    let cases: &[(&str, &str, usize)] = &[
        ("id", "rec0001", 1),
        ("audit_log_id", "rec0002", 1),
        ("account_name", "a name", 30),
        ("action_result", "failure", 6),
        ("action_type", "delete", 10),
        ("actor_context", "api_token", 30),
        ("actor_email", "ops@example.com", 15),
        ("actor_id", "a", 30),
        ("actor_ip_address", "127.0.0.1", 30),
        ("actor_token_id", "tok1", 15),
        ("actor_token_name", "ci", 30),
        ("actor_type", "account", 30),
        ("raw_cf_ray_id", "ray0003", 1),
        ("raw_method", "delete", 10),
        ("raw_status_code", "403", 6),
        ("raw_uri", "/client/v4/accounts/a/ai-gateway/gateways/g4", 1),
        ("resource_id", "g5", 1),
        ("resource_product", "ai_gateway", 30),
        ("resource_scope", "accounts", 30),
        ("resource_type", "gateway", 30),
        ("zone_id", "z", 0),
        ("zone_name", "example.com", 0),
    ];
    for (name, value, n) in cases {
        assert_eq!(count(&format!("{name}={value}")), *n, "{name}={value}");
        assert_eq!(count(&format!("{name}.not={value}")), 30 - n, "{name}.not={value}");
    }
    // Repeated values: one of them (positive), none of them (negative); forms combine.
    assert_eq!(count("id=rec0001&id=rec0002&id=nope"), 2);
    assert_eq!(count("id.not=rec0001&id.not=rec0002"), 28);
    assert_eq!(count("action_type=create&action_result.not=failure"), 16);
    assert_eq!(count("product_category=ai_gateway"), 30);
    assert_eq!(count("product_category=access_management"), 0);
}

/// Every page of `s` in order by following cursors, checking no record repeats.
fn walk(conn: &Connection, account: &str, s: &str) -> Vec<String> {
    let mut q = query(s);
    let mut all = Vec::new();
    loop {
        let page = list(conn, account, &q).unwrap();
        all.extend(page.records.into_iter().map(|r| r.record.id));
        match page.next {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    all
}

#[test]
fn cursors_visit_every_record_once_in_both_directions() {
    let (_dir, conn) = db();
    fill(&conn, 30);
    // Records that share a millisecond are told apart by seq.
    for i in 0..5 {
        append(&conn, &record(500 + i, "a", DAY0 + 90_000)).unwrap();
    }
    let all_desc = ids(&conn, "a", "limit=1000");
    assert_eq!(all_desc.len(), 35);
    for limit in [1, 3, 7, 35, 100] {
        assert_eq!(walk(&conn, "a", &format!("limit={limit}")), all_desc, "desc, limit {limit}");
        let mut asc = walk(&conn, "a", &format!("limit={limit}&direction=asc"));
        asc.reverse();
        assert_eq!(asc, all_desc, "asc, limit {limit}");
    }
    // Cursors and filters together.
    let failures = walk(&conn, "a", "limit=2&action_result=failure");
    assert_eq!(failures, ids(&conn, "a", "limit=1000&action_result=failure"));
    // The last page has no cursor; an exact fit too.
    assert!(list(&conn, "a", &query("limit=35")).unwrap().next.is_none());
    assert!(list(&conn, "a", &query("limit=34")).unwrap().next.is_some());
}

#[test]
fn a_cursor_outside_the_window_does_not_widen_it() {
    let (_dir, conn) = db();
    fill(&conn, 30);
    let mut q = query("since=2024-01-01T00:10:00Z&before=2024-01-01T00:20:00Z&limit=100");
    q.cursor = Some(AuditCursor { time_ms: DAY0 + 3_600_000, seq: 1_000, direction: q.direction });
    let got: Vec<String> = list(&conn, "a", &q).unwrap().records.into_iter().map(|r| r.record.id).collect();
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|id| ("rec0010"..="rec0019").contains(&id.as_str())), "{got:?}");
}

#[test]
fn the_window_is_read_along_the_index() {
    let (_dir, conn) = db();
    fill(&conn, 3);
    let plan: Vec<String> = conn
        .prepare(
            "EXPLAIN QUERY PLAN SELECT seq FROM audit_log WHERE account_id = 'a' AND time_ms >= 1 AND time_ms < 2
             AND action_result IN ('failure') ORDER BY time_ms DESC, seq DESC LIMIT 101",
        )
        .unwrap()
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("audit_log_account_time"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
}
