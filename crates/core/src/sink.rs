//! The seam between the data plane and the write path.

use crate::record::LogRecord;

/// Why a record was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SinkError {
    /// The queue is full; the record was dropped and counted.
    #[error("log queue is full")]
    Full,
    /// The writer has shut down; the record was dropped and counted.
    #[error("log writer is closed")]
    Closed,
}

/// Where finished log records go. The proxy only ever sees this trait; the binary hands it the
/// writer. No method blocks: `submit` is called from inside a response body's poll.
///
/// Every request the proxy serves calls [`admit`](LogSink::admit) first; if admitted, it later
/// calls exactly one of [`submit`](LogSink::submit) (with the request's record) or
/// [`release`](LogSink::release) (no record, e.g. logging was off). A sink that sheds load keeps
/// room in its queue for every admitted request, so no served request goes unlogged.
pub trait LogSink: Send + Sync + 'static {
    /// Whether a new request may start. `false` means: refuse it (503), the backlog is full.
    fn admit(&self) -> bool {
        true
    }

    /// The admitted request ends without a record.
    fn release(&self) {}

    /// Queues the record of an admitted request.
    fn submit(&self, record: LogRecord) -> Result<(), SinkError>;
}

/// A sink that keeps nothing (some tests, and deployments that store no logs).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl LogSink for NullSink {
    fn submit(&self, _record: LogRecord) -> Result<(), SinkError> {
        Ok(())
    }
}
