//! `seed_logs --db PATH --logs N [--account A] [--gateway G] [--days D]`: fills a gateway with
//! N synthetic logs, through the store's own batch insert (`LogInserter`, what the writer uses,
//! so every index, search entry and rollup the store keeps is written as in production).
//!
//! For the dashboard's load test (a Logs page over 1,000,000 logs) and for trying the dashboard
//! on a big gateway by hand. The logs are spread evenly over the last D days up to now, and mix
//! what the page shows: virtual keys, Playground users and direct callers; successes and errors;
//! several providers and models; metadata; small chat bodies.

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use aigw_core::ids::new_ulid;
use aigw_core::{LogRecord, Payload, Source, SourceKind, Usage};
use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;

/// Records per transaction.
const BATCH: usize = 5_000;
const DAY_MS: i64 = 86_400_000;

#[derive(Parser, Debug)]
#[command(about = "Fill a gateway with synthetic logs through the store's batch insert")]
struct Args {
    /// The SQLite database (created and migrated if missing).
    #[arg(long)]
    db: PathBuf,
    /// How many logs to write.
    #[arg(long, default_value_t = 1_000_000)]
    logs: u64,
    #[arg(long, default_value = "acct")]
    account: String,
    #[arg(long, default_value = "default")]
    gateway: String,
    /// The logs span this many days, ending now.
    #[arg(long, default_value_t = 30)]
    days: u32,
}

const MODELS: &[(&str, &str, &str)] = &[
    ("openai", "gpt-4o-mini", "chat/completions"),
    ("openai", "gpt-4o", "chat/completions"),
    ("anthropic", "claude-sonnet-4-6", "v1/messages"),
    ("openai", "text-embedding-3-small", "embeddings"),
];
const KEYS: &[&str] = &["search-backend", "billing-worker", "support-bot", "ci-evals", "mobile-app"];
const USERS: &[&str] = &["Ada Lovelace", "Grace Hopper", "Alan Turing"];
const TEAMS: &[&str] = &["search", "billing", "support", "research"];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.days == 0 {
        bail!("--days must be at least 1");
    }
    let started = Instant::now();
    let conn = aigw_store::open_write(&args.db).with_context(|| format!("cannot open {}", args.db.display()))?;
    let mut inserter = aigw_store::LogInserter::new(conn)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64;
    let span = i64::from(args.days) * DAY_MS;
    let first = now - span;
    let step = span as f64 / args.logs.max(1) as f64;
    let mut batch = Vec::with_capacity(BATCH);
    let mut written = 0u64;
    for i in 0..args.logs {
        batch.push(record(&args, i, first + (i as f64 * step) as i64));
        if batch.len() == BATCH || i + 1 == args.logs {
            let outcome = inserter.insert_batch(&batch)?;
            if outcome.written != batch.len() {
                bail!("the store kept {} of {} records ({outcome:?})", outcome.written, batch.len());
            }
            written += outcome.written as u64;
            batch.clear();
        }
    }
    println!(
        "seeded {written} logs into {}/{} in {:.1} s",
        args.account,
        args.gateway,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn record(args: &Args, i: u64, created_at_ms: i64) -> LogRecord {
    let (provider, model, path) = MODELS[(i % MODELS.len() as u64) as usize];
    let failed = i % 10 == 3;
    let status_code = if failed { [500, 429, 400][(i / 10 % 3) as usize] } else { 200 };
    let (tokens_in, tokens_out) = (20 + i % 200, if path == "embeddings" { 0 } else { 5 + i % 80 });
    let source = match i % 10 {
        0..=4 => Source {
            kind: SourceKind::VirtualKey,
            id: Some(format!("vk_{}", i % KEYS.len() as u64)),
            name: Some(KEYS[(i % KEYS.len() as u64) as usize].to_string()),
            owner: Some("user_1".into()),
        },
        5..=7 => Source {
            kind: SourceKind::Playground,
            id: Some(format!("user_{}", i % USERS.len() as u64)),
            name: Some(USERS[(i % USERS.len() as u64) as usize].to_string()),
            owner: None,
        },
        _ => Source { kind: SourceKind::Direct, id: None, name: None, owner: None },
    };
    let request = format!(
        r#"{{"model":"{model}","messages":[{{"role":"system","content":"You are helpful."}},{{"role":"user","content":"Question number {i}?"}}]}}"#
    );
    let response = if failed {
        format!(r#"{{"error":{{"message":"upstream said {status_code}","type":"server_error"}}}}"#)
    } else {
        format!(
            r#"{{"id":"chatcmpl-{i}","object":"chat.completion","model":"{model}","choices":[{{"index":0,"message":{{"role":"assistant","content":"Answer number {i}."}},"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{tokens_in},"completion_tokens":{tokens_out}}}}}"#
        )
    };
    LogRecord {
        id: new_ulid(created_at_ms),
        account_id: args.account.clone(),
        gateway_id: args.gateway.clone(),
        created_at_ms,
        duration_ms: 80 + i % 900,
        provider: provider.into(),
        model: model.into(),
        model_type: Some(if path == "embeddings" { "embedding" } else { "chat" }.into()),
        path: path.into(),
        request_type: "provider".into(),
        method: "POST".into(),
        stream: i % 4 == 1,
        request_content_type: Some("application/json".into()),
        response_content_type: Some("application/json".into()),
        status_code,
        success: !failed,
        cached: false,
        usage: if failed { Usage::missing() } else { Usage::from_provider(tokens_in, tokens_out, 0, 0) },
        cost: (!failed).then(|| (tokens_in as f64 * 0.15 + tokens_out as f64 * 0.6) / 1_000_000.0),
        custom_cost: false,
        metadata: Some(format!(r#"{{"team":"{}","request":{i}}}"#, TEAMS[(i % TEAMS.len() as u64) as usize])),
        event_id: None,
        step: 0,
        user_agent: Some("seed_logs".into()),
        error: failed.then(|| format!("upstream said {status_code}")),
        source,
        request: payload(request),
        response: payload(response),
    }
}

fn payload(text: String) -> Payload {
    Payload { size: text.len() as u64, body: Some(Bytes::from(text)), truncated: false }
}
