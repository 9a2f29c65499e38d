//! The data-plane benchmark behind `bench_proxy`; see `tests/BENCHMARKS.md` for the method.
//!
//! # Layout
//! - [`args`]: the command line.
//! - [`load`]: the open-loop (fixed rate, latency from the due time) and closed-loop generators.
//! - [`cpu`]: CPU time per request, and CPU used by processes outside the bench.
//! - [`deploy`]: aigw and the mock as child processes or in-process.
//! - [`process`]: child processes, `/proc` memory figures, the admin flush.
//! - [`plane`]: direct vs through aigw: latency at fixed rates, max throughput, records written.
//! - [`streams`]: aigw's memory per in-flight stream.
//! - [`writer`]: the SQLite writer alone.
//! - [`report`]: the printed rows and the final table of targets.

pub mod args;
pub mod cpu;
pub mod deploy;
pub mod load;
pub mod plane;
pub mod process;
pub mod report;
pub mod streams;
pub mod writer;

/// The request both arms send: a non-streaming OpenAI chat completion of about 200 bytes.
pub const REQUEST_BODY: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a terse assistant."},{"role":"user","content":"Summarise the benefits of an AI gateway in one sentence, please."}],"max_tokens":64}"#;

/// Runs blocking `work` on a thread of its own and awaits its result.
pub async fn on_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name(name.to_string()).spawn(move || {
        let _ = tx.send(work());
    })?;
    rx.await.map_err(|_| anyhow::anyhow!("bench thread {name} panicked"))?
}
