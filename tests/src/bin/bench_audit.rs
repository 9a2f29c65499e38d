//! `cargo run --release -p aigw-tests --bin bench_audit [-- --records N --days D]`: the audit
//! trail's read benchmark. It appends N audit records (default 1,000,000, hash chain and all)
//! spread evenly over D days (default 30) to a fresh database, starts the real admin router on
//! `127.0.0.1:0`, and times `GET /client/v4/accounts/{account}/logs/audit` over HTTP for a
//! one-day window at a random day, in several shapes (first page, other direction, 1000 rows,
//! a `.not` filter, a cursor page, a filter that matches nothing so the whole day is read). It
//! prints p50/p95/p99 per shape and the time `verify` takes over the whole trail. Requests are
//! sequential on one keep-alive connection, so figures are latency, not throughput. Timing
//! never fails the run; a non-200 answer or an empty window does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aigw_core::audit::{
    product, ActionResult, ActionType, ActorContext, ActorType, AuditAccount, AuditAction, AuditActor, AuditRaw,
    AuditRecord, AuditResource, AuditZone,
};
use aigw_core::gateway::GatewaySpec;
use aigw_core::SystemClock;
use aigw_store::tokens::{Access, ApiToken};
use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

const ACCOUNT: &str = "bench";
const TOKEN: &str = "aigw_at_bench-read-token-000000000000000000000";
const DAY_MS: i64 = 86_400_000;
/// 2025-01-01T00:00:00Z: the first day of the trail.
const START_MS: i64 = 1_735_689_600_000;

#[derive(Parser)]
struct Args {
    /// Audit records to load.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Days they are spread over (a one-day window holds records/days of them).
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Timed requests per shape (after 20 warm-up requests).
    #[arg(long, default_value_t = 400)]
    iterations: u32,
    /// Keep the database at this path, and reuse it when it exists (skips loading; `--records`
    /// and `--days` must match what it was loaded with).
    #[arg(long)]
    db: Option<std::path::PathBuf>,
}

struct NoOps;

impl aigw_admin::Ops for NoOps {
    fn stats(&self) -> Value {
        json!({})
    }
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
    fn gateway_changed(&self, _: &str, _: &str, _: Option<&GatewaySpec>) {}
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = args.db.clone().unwrap_or_else(|| dir.path().join("audit.db"));
    println!("== Audit Logs v2 list benchmark ==");
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("  cpus: {cpus}, records: {}, days: {}", args.records, args.days);

    if path.exists() {
        println!("  reusing {}", path.display());
    } else {
        let started = Instant::now();
        load(&path, args.records, args.days)?;
        let secs = started.elapsed().as_secs_f64();
        let size = std::fs::metadata(&path)?.len();
        println!(
            "  loaded {} records in {secs:.1} s ({:.0}/s, chain and all), database {:.0} MiB",
            args.records,
            args.records as f64 / secs,
            size as f64 / 1_048_576.0
        );
    }

    let db = aigw_admin::Db::open(&path)?;
    let state = aigw_admin::AdminState { db, clock: Arc::new(SystemClock), ops: Arc::new(NoOps), head_bytes: 1024 };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // As `aigw serve` does: no Nagle on the admin listener (nor in the client).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = aigw_admin::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let base = format!("http://{addr}/client/v4/accounts/{ACCOUNT}/logs/audit");
    println!(
        "  per day: ~{} records; {} timed requests per shape\n",
        args.records as i64 / args.days.max(1),
        args.iterations
    );
    println!("  {:<44} {:>9} {:>9} {:>9} {:>7}", "shape (one-day window)", "p50 ms", "p95 ms", "p99 ms", "rows");

    let shapes: [(&str, &str); 5] = [
        ("first page, limit 100, desc (default)", ""),
        ("first page, limit 100, asc", "&direction=asc"),
        ("first page, limit 1000", "&limit=1000"),
        ("action_result.not=success (5% match)", "&action_result.not=success"),
        ("raw_cf_ray_id=none (reads the whole day)", "&raw_cf_ray_id=0000000000000000"),
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for (name, extra) in shapes {
        let (h, rows) = time_shape(&client, &base, extra, &args, &mut seed, false).await?;
        report(name, &h, rows);
    }
    let (h, rows) = time_shape(&client, &base, "", &args, &mut seed, true).await?;
    report("second page through the cursor", &h, rows);

    let conn = aigw_store::open_read(&path)?;
    let started = Instant::now();
    let v = aigw_store::audit::verify(&conn)?;
    if v.broken.is_some() {
        bail!("the loaded trail does not verify: {:?}", v.broken);
    }
    println!(
        "\n  verify: {} records in {} accounts in {:.2} s",
        v.records,
        v.accounts,
        started.elapsed().as_secs_f64()
    );
    server.abort();
    Ok(())
}

fn report(name: &str, h: &Histogram<u64>, rows: u64) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!("  {:<44} {:>9.2} {:>9.2} {:>9.2} {:>7}", name, ms(0.50), ms(0.95), ms(0.99), rows);
}

/// Times `iterations` requests of one shape, each at a random day; the rows of the last.
async fn time_shape(
    client: &Client<HttpConnector, Empty<Bytes>>,
    base: &str,
    extra: &str,
    args: &Args,
    seed: &mut u64,
    second_page: bool,
) -> anyhow::Result<(Histogram<u64>, u64)> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut rows = 0;
    for i in 0..args.iterations + 20 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let day = START_MS + (*seed % args.days.max(1) as u64) as i64 * DAY_MS;
        let window = format!("?since={}&before={}", rfc3339(day), rfc3339(day + DAY_MS));
        let mut url = format!("{base}{window}{extra}");
        if second_page {
            let first = get(client, &url).await?;
            let cursor = first["result_info"]["cursor"].as_str().context("a full day has a second page")?.to_string();
            url.push_str(&format!("&cursor={cursor}"));
        }
        let t = Instant::now();
        let body = get(client, &url).await?;
        let elapsed = t.elapsed();
        rows = body["result_info"]["count"].as_u64().unwrap_or(0);
        if rows == 0 && !extra.contains("raw_cf_ray_id") {
            bail!("{url} returned no records");
        }
        if i >= 20 {
            h.record(elapsed.as_micros().max(1) as u64)?;
        }
    }
    Ok((h, rows))
}

async fn get(client: &Client<HttpConnector, Empty<Bytes>>, url: &str) -> anyhow::Result<Value> {
    let req = http::Request::get(url).header("authorization", format!("Bearer {TOKEN}")).body(Empty::new())?;
    let response = tokio::time::timeout(Duration::from_secs(30), client.request(req)).await??;
    let status = response.status();
    let bytes = response.into_body().collect().await?.to_bytes();
    if status != 200 {
        bail!("{url}: {status} {}", String::from_utf8_lossy(&bytes));
    }
    Ok(serde_json::from_slice(&bytes)?)
}

fn rfc3339(ms: i64) -> String {
    aigw_core::clock::rfc3339_ms(ms)
}

/// Appends `n` records, evenly over `days` days, 95% to the benchmarked account; and its token.
fn load(path: &std::path::Path, n: u64, days: i64) -> anyhow::Result<()> {
    let mut conn = aigw_store::open_write(path)?;
    let token = ApiToken {
        id: "bench-reader".into(),
        account_id: ACCOUNT.into(),
        name: "bench".into(),
        email: None,
        access: Access::Read,
        secret_hash: aigw_admin::auth::hash_secret(TOKEN),
        created_at_ms: START_MS,
        last_used_at_ms: None,
        revoked_at_ms: None,
    };
    aigw_store::tokens::insert_token(&conn, &token)?;
    let step = (days * DAY_MS) as f64 / n.max(1) as f64;
    let mut i = 0u64;
    while i < n {
        let tx = conn.transaction()?;
        for _ in 0..10_000.min(n - i) {
            let time_ms = START_MS + (i as f64 * step) as i64;
            aigw_store::audit::append(&tx, &record(i, time_ms))?;
            i += 1;
        }
        tx.commit()?;
    }
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;")?;
    Ok(())
}

fn record(i: u64, time_ms: i64) -> AuditRecord {
    let account = if i % 20 == 7 { "noise" } else { ACCOUNT };
    let kind = [ActionType::Create, ActionType::Update, ActionType::Delete, ActionType::View][(i % 4) as usize];
    let failed = i % 20 == 3;
    AuditRecord {
        id: aigw_core::ids::new_ulid(time_ms),
        account: AuditAccount { id: account.into(), name: Some("Bench Inc".into()) },
        action: AuditAction {
            kind,
            result: if failed { ActionResult::Failure } else { ActionResult::Success },
            description: "Update gateway".into(),
            time_ms,
        },
        actor: AuditActor {
            id: Some(account.into()),
            kind: ActorType::Account,
            context: Some(ActorContext::ApiToken),
            email: Some(format!("user{}@example.com", i % 50)),
            ip_address: Some(format!("10.0.{}.{}", i % 7, i % 250)),
            token_id: Some(format!("token{}", i % 13)),
            token_name: Some("ci".into()),
        },
        raw: AuditRaw {
            cf_ray_id: format!("{:016x}", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            method: Some("PUT".into()),
            status_code: Some(if failed { 403 } else { 200 }),
            uri: Some(format!("/client/v4/accounts/{account}/ai-gateway/gateways/gw{}", i % 100)),
            user_agent: Some("Cloudflare/Python 5.9.0".into()),
        },
        resource: AuditResource::new(product::AI_GATEWAY, "gateway", Some(&format!("gw{}", i % 100)))
            .with_request(json!({ "cache_ttl": i % 600, "collect_logs": true, "rate_limiting_limit": 10 }))
            .with_response(json!({ "id": format!("gw{}", i % 100), "cache_ttl": i % 600, "collect_logs": true })),
        zone: AuditZone::default(),
    }
}
