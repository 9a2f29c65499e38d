//! The rollup-backed listing must answer exactly what the plain query over every row answers:
//! the same page, the same total, the same min/max stats, for any mix of filters, time ranges,
//! searches, directions and pages, also after deletes.

use aigw_core::filter::{Direction, Filter, FilterKey, FilterValue, LogDeleteQuery, LogQuery, Op, OrderBy};
use aigw_core::{LogRecord, Payload, Source, SourceKind, Usage};
use aigw_store::logs::{delete_logs, list_logs, scan_list, Scope};
use aigw_store::LogInserter;

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR: i64 = 3_600_000;
const PROVIDERS: [&str; 3] = ["openai", "anthropic", "google-ai-studio"];
const MODELS: [&str; 4] = ["gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-flash", "gpt-4.1"];
const NAMES: [&str; 4] = ["Alice", "Bob", "Zoë Ünal", "ci-bot"];

fn record(rng: &mut Rng, i: usize, gateway: &str) -> LogRecord {
    let status = *rng.pick(&[200u16, 200, 200, 429, 500]);
    let kind = *rng.pick(&[SourceKind::Direct, SourceKind::VirtualKey, SourceKind::Playground]);
    let name = (kind != SourceKind::Direct).then(|| rng.pick(&NAMES).to_string());
    let usage =
        if rng.below(5) == 0 { Usage::default() } else { Usage::from_provider(rng.below(2000), rng.below(500), 0, 0) };
    let metadata = match rng.below(4) {
        0 => None,
        1 => Some(format!("{{\"team\":\"{}\",\"run\":{}}}", rng.pick(&["Search", "Ränking", "infra"]), rng.below(50))),
        2 => Some(format!("{{\"user\":\"u{}\",\"flag\":true}}", rng.below(30))),
        _ => Some("{\"env\":\"prod\"}".to_string()),
    };
    LogRecord {
        id: format!("01LOG{gateway}{i:08}"),
        account_id: "acct".into(),
        gateway_id: gateway.into(),
        // Ten hours, not in order of id, some logs sharing a millisecond.
        created_at_ms: T0 + rng.below(10 * HOUR as u64) as i64 / 1000 * 1000,
        duration_ms: rng.below(3000),
        provider: rng.pick(&PROVIDERS).to_string(),
        model: rng.pick(&MODELS).to_string(),
        path: rng.pick(&["/v1/chat/completions", "/v1/messages", "/v1/embeddings"]).to_string(),
        request_type: "provider".into(),
        method: "POST".into(),
        status_code: status,
        success: status == 200,
        usage,
        cost: (rng.below(4) != 0).then(|| rng.below(100_000) as f64 / 1e6),
        metadata,
        source: Source { kind, id: name.as_ref().map(|n| format!("id-{n}")), name, owner: None },
        request: Payload { body: Some(bytes::Bytes::from_static(b"{}")), size: 2, truncated: false },
        ..Default::default()
    }
}

fn text(s: &str) -> FilterValue {
    FilterValue::Text(s.to_string())
}

fn random_query(rng: &mut Rng, ids: &[String]) -> LogQuery {
    let mut q = LogQuery { per_page: 7, page: 1 + rng.below(4) as u32, ..Default::default() };
    // Without meta_info a count may be taken as the gateway's total minus the others'.
    q.meta_info = rng.below(2) == 0;
    q.direction = if rng.below(2) == 0 { Direction::Desc } else { Direction::Asc };
    for _ in 0..rng.below(3) {
        let f = match rng.below(9) {
            0 => Filter { key: FilterKey::Provider, op: Op::Eq, values: vec![text(rng.pick::<&str>(&PROVIDERS))] },
            1 => Filter { key: FilterKey::Model, op: Op::Neq, values: vec![text(rng.pick::<&str>(&MODELS))] },
            2 => Filter { key: FilterKey::Success, op: Op::Eq, values: vec![FilterValue::Bool(rng.below(2) == 0)] },
            3 => Filter {
                key: FilterKey::SourceName,
                op: Op::Contains,
                values: vec![text(rng.pick::<&str>(&["ali", "ÜNAL", "o"]))],
            },
            4 => Filter {
                key: FilterKey::CreatedAt,
                op: *rng.pick(&[Op::Gt, Op::Lt, Op::Ge, Op::Le]),
                values: vec![FilterValue::Time(T0 + rng.below(11 * HOUR as u64) as i64 - HOUR / 2)],
            },
            5 => Filter {
                key: FilterKey::SourceKind,
                op: Op::Eq,
                values: vec![text(rng.pick::<&str>(&["direct", "playground"]))],
            },
            6 => Filter { key: FilterKey::StatusCode, op: Op::Gt, values: vec![FilterValue::Number(299.0)] },
            7 => Filter { key: FilterKey::Cost, op: Op::Gt, values: vec![FilterValue::Number(0.05)] },
            _ => Filter { key: FilterKey::MetadataValue, op: Op::Eq, values: vec![FilterValue::Bool(true)] },
        };
        q.filters.push(f);
    }
    if rng.below(3) == 0 {
        let id = rng.pick(ids).clone();
        q.search =
            Some(rng.pick(&["gpt", "ränk", "SEARCH", "u1", "messages", "zoë", "al", "prod", id.as_str()]).to_string());
    }
    if rng.below(8) == 0 {
        // Terms across the JSON around metadata keys and values, which the index does not hold.
        q.search =
            Some(rng.pick(&[r#"m":"sea"#, r#"":""#, r#"prod"}"#, r#"n":1"#, r#","flag"#, r#"{"env"#]).to_string());
    }
    if rng.below(6) == 0 {
        q.order_by = OrderBy::Model;
    }
    q
}

#[test]
fn the_rollups_answer_what_a_full_scan_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut inserter = LogInserter::new(aigw_store::open_write(&path).unwrap()).unwrap();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut ids = Vec::new();
    for batch in 0..6 {
        let records: Vec<LogRecord> =
            (0..400).map(|i| record(&mut rng, batch * 400 + i, if i % 5 == 0 { "other" } else { "main" })).collect();
        ids.extend(records.iter().map(|r| r.id.clone()));
        inserter.insert_batch(&records).unwrap();
    }
    let scope = Scope { account: "acct", gateway: "main" };
    let mut check = |conn: &rusqlite::Connection, rounds: usize| {
        for round in 0..rounds {
            let q = random_query(&mut rng, &ids);
            let fast = list_logs(conn, scope, &q).unwrap();
            let plain = scan_list(conn, scope, &q).unwrap();
            let ids_of = |p: &aigw_store::logs::LogPage| p.logs.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
            assert_eq!(fast.total, plain.total, "round {round}: total of {q:?}");
            assert_eq!(fast.meta, plain.meta, "round {round}: stats of {q:?}");
            assert_eq!(ids_of(&fast), ids_of(&plain), "round {round}: page of {q:?}");
        }
    };
    let conn = aigw_store::open_read(&path).unwrap();
    check(&conn, 400);
    // Deletes recompute the cells they touch.
    let writer = aigw_store::open_write(&path).unwrap();
    let delete = LogDeleteQuery {
        filters: vec![Filter { key: FilterKey::Provider, op: Op::Eq, values: vec![text("anthropic")] }],
        order_by: OrderBy::CreatedAt,
        direction: Direction::Desc,
        limit: 150,
    };
    assert_eq!(delete_logs(&writer, scope, &delete).unwrap(), 150);
    check(&conn, 300);
}

/// Which combinations a filter matches is remembered across requests; new combinations, and a
/// gateway deleted and created again under the same id, must not be answered from stale sets.
#[test]
fn remembered_filter_sets_follow_new_combinations_and_recreated_gateways() {
    use aigw_core::gateway::{Gateway, GatewaySpec};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let writer = aigw_store::open_write(&path).unwrap();
    let gateway = |created: i64| Gateway {
        account_id: "acct".into(),
        id: "main".into(),
        internal_id: format!("i{created}"),
        created_at_ms: created,
        modified_at_ms: created,
        spec: GatewaySpec::default_gateway(),
    };
    aigw_store::gateways::insert_gateway(&writer, &gateway(T0)).unwrap();
    let mut inserter = LogInserter::new(aigw_store::open_write(&path).unwrap()).unwrap();
    let mut rng = Rng(7);
    let with_provider = |rng: &mut Rng, from: usize, provider: &str| -> Vec<LogRecord> {
        (from..from + 50)
            .map(|i| LogRecord { provider: provider.to_string(), ..record(rng, i, "main") })
            .collect::<Vec<_>>()
    };
    let scope = Scope { account: "acct", gateway: "main" };
    let conn = aigw_store::open_read(&path).unwrap();
    let q = |provider: &str, meta_info: bool| LogQuery {
        filters: vec![Filter { key: FilterKey::Provider, op: Op::Eq, values: vec![text(provider)] }],
        meta_info,
        ..Default::default()
    };
    let same = |q: &LogQuery| {
        let (fast, plain) = (list_logs(&conn, scope, q).unwrap(), scan_list(&conn, scope, q).unwrap());
        assert_eq!((fast.total, fast.meta.clone()), (plain.total, plain.meta), "{q:?}");
        assert_eq!(
            fast.logs.iter().map(|l| &l.id).collect::<Vec<_>>(),
            plain.logs.iter().map(|l| &l.id).collect::<Vec<_>>()
        );
        fast.total
    };

    inserter.insert_batch(&with_provider(&mut rng, 0, "openai")).unwrap();
    assert_eq!(same(&q("anthropic", false)), 0);
    assert_eq!(same(&q("openai", false)), 50);
    // New combinations, one matching, one not: both remembered sets must see them.
    inserter.insert_batch(&with_provider(&mut rng, 100, "anthropic")).unwrap();
    assert_eq!(same(&q("anthropic", false)), 50);
    assert_eq!(same(&q("openai", false)), 50);
    assert_eq!(same(&q("openai", true)), 50);

    // The gateway goes, with its combinations, and comes back with different traffic.
    aigw_store::gateways::delete_gateway(&writer, "acct", "main", T0 + 1).unwrap();
    aigw_store::gateways::insert_gateway(&writer, &gateway(T0 + 2)).unwrap();
    // The writer had cached the deleted combinations' ids; the new logs must get new ones.
    let mut later = with_provider(&mut rng, 200, "openai");
    later.extend(with_provider(&mut rng, 300, "mistral"));
    let later: Vec<LogRecord> =
        later.into_iter().map(|r| LogRecord { created_at_ms: r.created_at_ms + 24 * HOUR, ..r }).collect();
    inserter.insert_batch(&later).unwrap();
    assert_eq!(same(&q("anthropic", false)), 0);
    assert_eq!(same(&q("openai", false)), 50);
    assert_eq!(same(&q("openai", true)), 50);
    let orphans: i64 = conn
        .query_row("SELECT count(*) FROM logs WHERE dims NOT IN (SELECT id FROM log_dims)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(orphans, 0, "every log points at a stored combination");
}
