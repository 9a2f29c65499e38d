//! aigw-writer: turns finished `LogRecord`s into batched SQLite writes.
//!
//! The proxy submits records through [`WriterHandle`] (core's `LogSink`) without ever blocking:
//! a record either enters the bounded queue or is counted as dropped. A dedicated OS thread owns
//! the write connection and drains the queue in batches, one transaction per batch, a batch
//! closing when it holds `batch_size` records or `batch_delay` after its first record arrived.
//! Shutdown drains everything queued before the thread exits.
//!
//! # Layout
//! - [`queue`]: the shared counters and the `LogSink` implementation.
//! - [`worker`]: the batch loop on its own thread.

mod queue;
mod worker;

pub use queue::{WriterHandle, WriterStats};
pub use worker::{Writer, WriterError};
