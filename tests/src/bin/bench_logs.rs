//! `cargo run --release -p aigw-tests --bin bench_logs [-- --sizes 1000000,10000000 --keep DIR]`:
//! the admin Logs API benchmark of issue 3. For each size it loads that many synthetic logs into
//! one gateway through `LogInserter` (or reuses a `--keep` database), reports the load rate and
//! the bytes per log, starts the real admin router in-process and times, over HTTP with one
//! keep-alive connection and sequential requests, each query the issue names, then bulk deletes.
//! It prints p50/p99/max per query next to the targets at 10M. Timing never fails the
//! run; the exit code is non-zero only when the bench itself could not run. See
//! `tests/BENCHMARKS.md`.

#[path = "../bench_logs/mod.rs"]
mod bench_logs;

/// CPU counters from `/proc` (bench_proxy's, shared as is): other processes' CPU use.
#[allow(dead_code)]
#[path = "../bench/cpu.rs"]
mod cpu;

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aigw_store::logs::Scope;
use anyhow::{anyhow, bail, Context};
use clap::Parser;
use http::Method;

use bench_logs::args::Args;
use bench_logs::cases::{self, Case};
use bench_logs::data::{ACCOUNT, GATEWAY};
use bench_logs::load::{self, Loaded};
use bench_logs::report::{self, Row, SizeReport};
use bench_logs::server::{Answer, Api};

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench_logs: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match run(&args, &runtime) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_logs: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    print_machine(args);
    let temp;
    let dir: &Path = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            dir
        }
        None => {
            temp = tempfile::Builder::new().prefix("aigw-bench-logs-").tempdir_in("/tmp")?;
            temp.path()
        }
    };
    let mut reports = Vec::new();
    for &size in &args.sizes {
        if size == 0 {
            bail!("--sizes: every size must be at least 1");
        }
        println!("\n== {size} logs: {} ==", load::db_path(dir, size).display());
        let loaded = load::prepare(dir, size, args.keep.is_some(), args.batch, args.days, !args.no_bodies)?;
        report::print_load(&loaded);
        let started = Instant::now();
        let sizes = load::sizes(&loaded.path, !args.no_dbstat)?;
        report::print_sizes(&loaded, &sizes);
        println!("  (size breakdown took {:.1} s)", started.elapsed().as_secs_f64());
        if args.explain {
            bench_logs::explain::run(&loaded.path)?;
        }
        if args.skip_http {
            continue;
        }
        let rows = runtime.block_on(measure(args, &loaded))?;
        reports.push(SizeReport { loaded, sizes, rows });
    }
    println!("\n==================== summary ====================");
    for r in &reports {
        report::print_size(r);
    }
    println!(
        "\n  targets are the issue's, at 10M logs; `store50/99` time the same queries as direct \
         aigw_store::logs::list_logs calls (no HTTP, no JSON); `matched` is the median total_count \
         (deletes: rows deleted)."
    );
    Ok(())
}

fn print_machine(args: &Args) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!("bench_logs: {cores} cores ({cpu}), SQLite {}", rusqlite::version());
    println!(
        "  sizes {:?}, {} samples per query after {} warm-up, {} deletes of {}, bodies {}",
        args.sizes,
        args.samples,
        args.warmup,
        args.deletes,
        args.delete_limit,
        if args.no_bodies { "off" } else { "on" }
    );
}

async fn measure(args: &Args, loaded: &Loaded) -> anyhow::Result<Vec<Row>> {
    let api = Api::start(&loaded.path).await?;
    let ctx = cases::Context { first_ms: loaded.first_ms, last_ms: loaded.last_ms };
    println!("  admin API on http://{}", api.addr);
    report::print_header();
    let mut rows = Vec::new();
    let wanted = |case: &Case| args.only.as_deref().is_none_or(|only| case.name.contains(only));
    for case in cases::read_cases(&ctx, args.warmup, args.samples).into_iter().filter(wanted) {
        quiet(args).await;
        let row = run_case(&api, &case, &loaded.path, args.store_samples, args.slowest).await?;
        report::print_row(&row);
        rows.push(row);
    }
    let delete = cases::delete_case(args.warmup.min(3), args.deletes, args.delete_limit);
    if args.deletes > 0 && wanted(&delete) {
        let case = delete;
        quiet(args).await;
        let row = run_case(&api, &case, &loaded.path, 0, args.slowest).await?;
        report::print_row(&row);
        rows.push(row);
    }
    Ok(rows)
}

/// Waits (up to `--wait-quiet-secs`) for other processes to leave the CPUs alone.
async fn quiet(args: &Args) {
    if args.wait_quiet_secs > 0 {
        let busy = cpu::wait_quiet(Duration::from_secs(args.wait_quiet_secs)).await;
        if busy >= 0.25 {
            println!("  (other processes still use {busy:.2} cores; see the `other` column)");
        }
    }
}

async fn send(api: &Api, method: &Method, query: &str) -> anyhow::Result<Answer> {
    let answer = api.send(method.clone(), &api.logs_uri(query)).await?;
    if answer.status != 200 {
        bail!("{method} ...logs?{query}: HTTP {}: {}", answer.status, String::from_utf8_lossy(&answer.body));
    }
    Ok(answer)
}

/// `result_info.total_count` of a list, `result.deleted` of a delete.
fn matched(method: &Method, body: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if method == Method::DELETE {
        v["result"]["deleted"].as_u64()
    } else {
        v["result_info"]["total_count"].as_u64()
    }
}

async fn run_case(api: &Api, case: &Case, db: &Path, store_samples: usize, slowest: usize) -> anyhow::Result<Row> {
    for q in &case.queries[..case.warmup] {
        send(api, &case.method, q).await?;
    }
    let timed = &case.queries[case.warmup..];
    let before = cpu::snapshot(&[None]);
    let mut times = Vec::with_capacity(timed.len());
    let mut counts = Vec::with_capacity(timed.len());
    for q in timed {
        let answer = send(api, &case.method, q).await?;
        times.push(answer.elapsed);
        counts.extend(matched(&case.method, &answer.body));
    }
    let other_cores = before.until(&cpu::snapshot(&[None])).foreign_cores;
    let mut by_time: Vec<(Duration, &String)> = times.iter().copied().zip(timed).collect();
    by_time.sort_unstable_by_key(|t| std::cmp::Reverse(t.0));
    for (t, q) in by_time.into_iter().take(slowest) {
        println!("    {:>8.2} ms  {q}", t.as_secs_f64() * 1e3);
    }
    let store = if case.method == Method::GET && store_samples > 0 {
        let queries: Vec<String> = timed.iter().take(store_samples).cloned().collect();
        let db = db.to_path_buf();
        let samples = tokio::task::spawn_blocking(move || store_times(&db, &queries)).await??;
        let (p50, p99, _) = report::summary(&samples);
        Some((p50, p99))
    } else {
        None
    };
    counts.sort_unstable();
    let (p50, p99, max) = report::summary(&times);
    Ok(Row {
        name: case.name.to_string(),
        samples: times.len(),
        p50,
        p99,
        max,
        store,
        matched: counts.get(counts.len() / 2).copied(),
        target: case.target,
        other_cores,
    })
}

/// The same list queries as direct store calls on a read-only connection: query parsing and
/// `list_logs`, no HTTP, no JSON.
fn store_times(db: &Path, queries: &[String]) -> anyhow::Result<Vec<Duration>> {
    let conn = aigw_store::open_read(db)?;
    let scope = Scope { account: ACCOUNT, gateway: GATEWAY };
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        let parsed = aigw_core::filter::parse_list(&aigw_core::filter::parse_query_string(q))
            .map_err(|e| anyhow!("{q}: {e}"))?;
        let page = aigw_store::logs::list_logs(&conn, scope, &parsed)?;
        times.push(started.elapsed());
        std::hint::black_box(page);
    }
    Ok(times)
}
