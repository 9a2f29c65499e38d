//! The writer alone: how many realistic records per second `Writer` + `LogInserter` commit to a
//! fresh SQLite file with the real schema and the default writer settings.
//!
//! One producer thread submits as fast as the queue accepts. It never lets the queue fill (it
//! waits while `queued` is at capacity), and should a submit still find it full, it builds the
//! same record again and retries, so no record is lost to the measurement itself.

use std::path::Path;
use std::time::{Duration, Instant};

use aigw_core::config::WriterConfig;
use aigw_core::ids::new_ulid;
use aigw_core::{LogRecord, LogSink, Payload, SinkError, Source, SourceKind, Usage};
use aigw_writer::Writer;
use anyhow::bail;
use bytes::Bytes;

use crate::bench::{cpu, REQUEST_BODY};

/// How long the producer waits when the queue is full: a few records' worth of writer time.
const QUEUE_FULL_PAUSE: Duration = Duration::from_micros(200);

/// What the writer did.
#[derive(Debug, Clone, Copy)]
pub struct WriterRun {
    pub records: u64,
    /// Submit, flush included.
    pub seconds: f64,
    pub written: u64,
    /// Submits refused as full and retried (not lost).
    pub retried: u64,
    /// Writer-side losses: dropped (beyond `retried`) plus rejected by the database.
    pub lost: u64,
    pub batches: u64,
    /// Size of the database file once the writer closed it (WAL checkpointed).
    pub db_bytes: u64,
    /// CPU seconds of the writer thread, submit to flush.
    pub writer_cpu: f64,
    /// Cores' worth of CPU other processes used meanwhile.
    pub foreign_cores: f64,
}

impl WriterRun {
    pub fn per_second(&self) -> f64 {
        self.written as f64 / self.seconds.max(1e-9)
    }
}

/// Pushes `records` records through a fresh writer in `dir`. Blocking except for the flush,
/// which is awaited on `runtime`.
pub fn run(dir: &Path, records: u64, runtime: &tokio::runtime::Handle) -> anyhow::Result<WriterRun> {
    let db = dir.join("writer.db");
    let config = WriterConfig::default();
    let writer = Writer::start(aigw_store::LogInserter::new(aigw_store::open_write(&db)?)?, &config)?;
    let handle = writer.handle();
    let cpu_before = cpu::snapshot(&[None]);
    let start = Instant::now();
    let base_ms = now_ms();
    let mut retried = 0u64;
    for i in 0..records {
        while handle.stats().queued >= config.queue_capacity {
            // Sleep rather than spin: a spinning producer would take a core from the writer.
            std::thread::sleep(QUEUE_FULL_PAUSE);
        }
        loop {
            match handle.submit(record(i, base_ms)) {
                Ok(()) => break,
                Err(SinkError::Full) => {
                    retried += 1;
                    std::thread::sleep(QUEUE_FULL_PAUSE);
                }
                Err(e) => bail!("writer refused a record: {e}"),
            }
        }
    }
    runtime.block_on(handle.flush());
    let seconds = start.elapsed().as_secs_f64();
    // Before shutdown: the writer thread's counters go with the thread.
    let cpu = cpu_before.until(&cpu::snapshot(&[None]));
    let stats = handle.stats();
    drop(handle);
    writer.shutdown();
    let db_bytes = std::fs::metadata(&db)?.len();
    Ok(WriterRun {
        records,
        seconds,
        written: stats.written,
        retried,
        lost: stats.dropped.saturating_sub(retried) + stats.rejected,
        batches: stats.batches,
        db_bytes,
        writer_cpu: cpu.writer_seconds.first().copied().unwrap_or(0.0),
        foreign_cores: cpu.foreign_cores,
    })
}

/// Rows in the writer's database (a check that `written` really is in the file).
pub fn stored(dir: &Path) -> anyhow::Result<u64> {
    crate::bench::process::db_count(&dir.join("writer.db"))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Record `i`: a non-streaming chat completion as the proxy records it, every field set.
fn record(i: u64, base_ms: i64) -> LogRecord {
    let created_at_ms = base_ms + (i / 50) as i64;
    let response = response_body(i);
    LogRecord {
        id: new_ulid(created_at_ms),
        account_id: "bench".into(),
        gateway_id: "default".into(),
        created_at_ms,
        duration_ms: 180 + i % 400,
        provider: "openai".into(),
        model: "gpt-4o-mini".into(),
        model_type: Some("chat".into()),
        path: "chat/completions".into(),
        request_type: "provider".into(),
        method: "POST".into(),
        stream: false,
        request_content_type: Some("application/json".into()),
        response_content_type: Some("application/json".into()),
        status_code: 200,
        success: true,
        cached: false,
        usage: Usage::from_provider(40 + i % 50, 12 + i % 20, 0, 0),
        cost: Some(0.000_012_6),
        custom_cost: false,
        metadata: Some(format!(r#"{{"team":"search","request":{i}}}"#)),
        event_id: Some(format!("evt-{i}")),
        step: 0,
        user_agent: Some("OpenAI/Python 1.54.0".into()),
        error: None,
        source: Source {
            kind: SourceKind::VirtualKey,
            id: Some("vk_01JBENCHKEY".into()),
            name: Some("search-backend".into()),
            owner: Some("user_42".into()),
        },
        request: Payload {
            size: REQUEST_BODY.len() as u64,
            body: Some(Bytes::from_static(REQUEST_BODY.as_bytes())),
            truncated: false,
        },
        response: Payload { size: response.len() as u64, body: Some(response), truncated: false },
    }
}

/// A ~330 B chat completion, unique per record as real answers are.
fn response_body(i: u64) -> Bytes {
    Bytes::from(format!(
        concat!(
            r#"{{"id":"chatcmpl-{:016x}","object":"chat.completion","created":1763800000,"#,
            r#""model":"gpt-4o-mini","choices":[{{"index":0,"message":{{"role":"assistant","#,
            r#""content":"An AI gateway: one place for keys, logs, costs and limits."}},"#,
            r#""logprobs":null,"finish_reason":"stop"}}],"usage":{{"prompt_tokens":{},"completion_tokens":{},"#,
            r#""total_tokens":{}}}}}"#
        ),
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        40 + i % 50,
        12 + i % 20,
        52 + i % 50 + i % 20,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_look_like_the_proxy_would_make_them() {
        let r = record(7, 1_763_800_000_000);
        let body = r.response.body.clone().unwrap_or_default();
        assert!((300..360).contains(&body.len()), "{}", body.len());
        assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
        assert!((180..230).contains(&r.request.size), "{}", r.request.size);
    }
}
