//! The producer side: a bounded queue, its counters, and the `LogSink` the proxy holds.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;

use aigw_core::config::OnFull;
use aigw_core::{LogRecord, LogSink, SinkError};
use tokio::sync::oneshot;

pub(crate) enum Msg {
    Record(Box<LogRecord>),
    /// Reply once every record queued before this message is committed.
    Flush(oneshot::Sender<()>),
    /// Commit what is queued and exit.
    Stop,
}

/// Counters shared by producers and the worker.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Records in the queue, not yet taken by the worker.
    pub(crate) queued: AtomicUsize,
    /// Records in the batch the worker is gathering (taken from the queue, not yet written).
    pub(crate) gathered: AtomicUsize,
    /// Requests admitted (shed mode) whose record has not been taken by the worker yet.
    pub(crate) reserved: AtomicUsize,
    pub(crate) written: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) over_limit: AtomicU64,
    pub(crate) gateway_deleted: AtomicU64,
    pub(crate) batches: AtomicU64,
}

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    pub queued: usize,
    pub written: u64,
    /// Records that could not be queued (queue full or writer closed).
    pub dropped: u64,
    /// Records the database refused.
    pub rejected: u64,
    /// Records not stored because their gateway reached its `log_management` cap (STOP_INSERTING).
    pub over_limit: u64,
    /// Records of requests in flight when their gateway was deleted (dropped with the gateway).
    pub gateway_deleted: u64,
    pub batches: u64,
}

/// The cloneable producer handle; implements `LogSink`.
#[derive(Clone)]
pub struct WriterHandle {
    pub(crate) tx: SyncSender<Msg>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) capacity: usize,
    pub(crate) on_full: OnFull,
    /// The batch thread, parked while it gathers a batch. A record wakes it only when a whole
    /// batch is queued or the queue is full; a flush or a stop always does.
    pub(crate) writer: std::thread::Thread,
    pub(crate) batch_size: usize,
}

impl WriterHandle {
    pub fn stats(&self) -> WriterStats {
        let c = &self.counters;
        WriterStats {
            queued: c.queued.load(Ordering::Relaxed),
            written: c.written.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            over_limit: c.over_limit.load(Ordering::Relaxed),
            gateway_deleted: c.gateway_deleted.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
        }
    }

    /// Waits until every record submitted before this call is committed (or dropped).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        let tx = self.tx.clone();
        // The queue may be full: a blocking send on the blocking pool, never on a worker thread.
        // Unparked before (a full channel empties only while the writer runs) and after the send.
        self.writer.unpark();
        let sent = tokio::task::spawn_blocking(move || tx.send(Msg::Flush(done)).is_ok()).await;
        self.writer.unpark();
        if matches!(sent, Ok(true)) {
            let _ = wait.await;
        }
    }
}

impl LogSink for WriterHandle {
    fn admit(&self) -> bool {
        if self.on_full == OnFull::DropLogs {
            return true;
        }
        let reserved = &self.counters.reserved;
        let mut current = reserved.load(Ordering::Relaxed);
        loop {
            if current >= self.capacity {
                return false;
            }
            match reserved.compare_exchange_weak(current, current + 1, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    fn release(&self) {
        if self.on_full == OnFull::ShedRequests {
            self.counters.reserved.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn submit(&self, record: LogRecord) -> Result<(), SinkError> {
        let queued = self.counters.queued.fetch_add(1, Ordering::Relaxed) + 1;
        match self.tx.try_send(Msg::Record(Box::new(record))) {
            Ok(()) => {
                if queued + self.counters.gathered.load(Ordering::SeqCst) >= self.batch_size {
                    // A whole batch waits: the writer need not sleep out its batch delay.
                    // (Unparking a thread that is not parked costs no system call.)
                    self.writer.unpark();
                }
                Ok(())
            }
            Err(e) => {
                self.writer.unpark();
                self.counters.queued.fetch_sub(1, Ordering::Relaxed);
                self.release();
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                Err(match e {
                    TrySendError::Full(_) => SinkError::Full,
                    TrySendError::Disconnected(_) => SinkError::Closed,
                })
            }
        }
    }
}
