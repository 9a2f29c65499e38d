//! The consumer side: one OS thread that owns the write connection and commits batches.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aigw_core::config::WriterConfig;
use aigw_core::LogRecord;
use aigw_store::{LogInserter, StoreError};
use tokio::sync::oneshot;

use crate::queue::{Counters, Msg, WriterHandle};

/// Room in the channel beyond the record capacity, for flush messages.
const CONTROL_HEADROOM: usize = 64;
/// Dropped records are reported at most this often.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("cannot start the log writer thread: {0}")]
    Spawn(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The running writer. Dropping every handle and calling [`Writer::shutdown`] drains the queue.
pub struct Writer {
    handle: WriterHandle,
    thread: Option<JoinHandle<()>>,
    /// Copies the WAL into the database file, so that commits never do (`aigw_store::Checkpointer`).
    checkpoints: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the batch thread over `inserter`.
    pub fn start(mut inserter: LogInserter, config: &WriterConfig) -> Result<Self, WriterError> {
        let (nudge, nudged) = sync_channel(1);
        let checkpoints = match inserter.checkpoint_elsewhere(nudge)? {
            Some(checkpointer) => {
                let (ready, started) = sync_channel(1);
                let thread = std::thread::Builder::new()
                    .name("aigw-checkpoint".into())
                    .spawn(move || {
                        run_when_idle();
                        let _ = ready.send(());
                        checkpoint_loop(&checkpointer, &nudged)
                    })
                    .map_err(WriterError::Spawn)?;
                // Started in its scheduling class before the first commit can signal it.
                let _ = started.recv();
                Some(thread)
            }
            None => None,
        };
        let (tx, rx) = sync_channel(config.queue_capacity + CONTROL_HEADROOM);
        let counters = Arc::new(Counters::default());
        let batch = BatchLoop {
            rx,
            inserter,
            counters: counters.clone(),
            batch_size: config.batch_size,
            batch_delay: Duration::from_millis(config.batch_delay_ms),
            reserve_on_take: config.on_full == aigw_core::config::OnFull::ShedRequests,
        };
        let thread = std::thread::Builder::new()
            .name("aigw-writer".into())
            .spawn(move || batch.run())
            .map_err(WriterError::Spawn)?;
        let handle = WriterHandle {
            tx,
            counters,
            capacity: config.queue_capacity,
            on_full: config.on_full,
            writer: thread.thread().clone(),
            batch_size: config.batch_size.max(1),
        };
        Ok(Self { handle, thread: Some(thread), checkpoints })
    }

    /// A producer handle (the proxy's `LogSink`).
    pub fn handle(&self) -> WriterHandle {
        self.handle.clone()
    }

    /// Commits everything queued and stops the thread. Producers still holding a handle get
    /// `SinkError::Closed` afterwards (counted as dropped). Blocking: call it from a blocking
    /// context, after the proxy has stopped.
    pub fn shutdown(mut self) {
        self.handle.writer.unpark();
        let _ = self.handle.tx.send(Msg::Stop);
        self.handle.writer.unpark();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("log writer thread panicked");
            }
        }
        // The write connection closed with the batch thread, and with it the checkpoints' signal.
        if let Some(thread) = self.checkpoints.take() {
            if thread.join().is_err() {
                tracing::error!("checkpoint thread panicked");
            }
        }
    }
}

/// Puts the calling thread in the scheduler's idle class (Linux `SCHED_IDLE`): it runs only on
/// a core no request needs. For the checkpoint thread: copying the WAL on a core the proxy wants
/// costs the proxy half a millisecond at p99 (tests/BENCHMARKS.md). It may starve under full load,
/// which loses nothing: the writer then copies the WAL itself from `RESTART_PAGES` on. Never for
/// the writer, which would fall behind and drop records.
fn run_when_idle() {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    let me = thread_priority::thread_native_id();
    if let Err(error) = thread_priority::set_thread_priority_and_policy(me, ThreadPriority::Min, idle) {
        tracing::debug!(?error, "checkpoint thread keeps the normal scheduling class");
    }
}

/// Checkpoints each time the write connection signals, until it closes.
fn checkpoint_loop(checkpointer: &aigw_store::Checkpointer, nudged: &Receiver<()>) {
    while nudged.recv().is_ok() {
        if let Err(error) = checkpointer.run() {
            // The next signal tries again; a WAL that keeps growing is copied by the writer.
            tracing::warn!(%error, "WAL checkpoint failed");
        }
    }
}

struct BatchLoop {
    rx: Receiver<Msg>,
    inserter: LogInserter,
    counters: Arc<Counters>,
    batch_size: usize,
    batch_delay: Duration,
    reserve_on_take: bool,
}

impl BatchLoop {
    fn run(mut self) {
        let mut batch: Vec<LogRecord> = Vec::with_capacity(self.batch_size);
        let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
        let mut reported_drops = 0u64;
        let mut last_report = Instant::now();
        loop {
            // Block for the first message of the next batch; the batch timer starts here.
            let first = match self.rx.recv() {
                Ok(msg) => msg,
                Err(_) => break,
            };
            let deadline = Instant::now() + self.batch_delay;
            let mut closed = false;
            let mut full = self.take(first, &mut batch, &mut waiters, &mut closed);
            while !full && batch.len() < self.batch_size {
                match self.rx.try_recv() {
                    Ok(msg) => full = self.take(msg, &mut batch, &mut waiters, &mut closed),
                    Err(TryRecvError::Empty) => {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        // Parked, not waiting on the channel: a record then costs its sender no
                        // wake-up (a context switch per request, felt at the proxy's tail
                        // latency). A flush, a stop, a whole batch queued or a full queue
                        // unparks this thread.
                        std::thread::park_timeout(deadline - now);
                    }
                    Err(TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            self.write(&mut batch);
            for w in waiters.drain(..) {
                let _ = w.send(());
            }
            let dropped = self.counters.dropped.load(Ordering::Relaxed);
            if dropped != reported_drops && last_report.elapsed() >= DROP_REPORT_INTERVAL {
                tracing::warn!(
                    dropped_total = dropped,
                    dropped_since_last = dropped - reported_drops,
                    "log records dropped: the log queue was full"
                );
                reported_drops = dropped;
                last_report = Instant::now();
            }
            if closed {
                break;
            }
        }
        // Whatever raced in behind the stop is written too.
        let mut closed = true;
        while let Ok(msg) = self.rx.try_recv() {
            self.take(msg, &mut batch, &mut waiters, &mut closed);
        }
        self.write(&mut batch);
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
        let dropped = self.counters.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            tracing::warn!(dropped_total = dropped, "log records were dropped during this run");
        }
    }

    /// Adds `msg` to the batch being gathered; true when it ends the batch (flush or stop).
    fn take(
        &self,
        msg: Msg,
        batch: &mut Vec<LogRecord>,
        waiters: &mut Vec<oneshot::Sender<()>>,
        closed: &mut bool,
    ) -> bool {
        match msg {
            Msg::Record(r) => {
                batch.push(*r);
                // Counted as gathered before it stops counting as queued: a producer never
                // sees a record in neither.
                self.counters.gathered.store(batch.len(), Ordering::SeqCst);
                self.take_one();
                false
            }
            Msg::Flush(w) => {
                waiters.push(w);
                true
            }
            Msg::Stop => {
                *closed = true;
                true
            }
        }
    }

    fn take_one(&self) {
        self.counters.queued.fetch_sub(1, Ordering::SeqCst);
        if self.reserve_on_take {
            self.counters.reserved.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn write(&mut self, batch: &mut Vec<LogRecord>) {
        if batch.is_empty() {
            return;
        }
        match self.inserter.insert_batch(batch) {
            Ok(outcome) => {
                self.counters.written.fetch_add(outcome.written as u64, Ordering::Relaxed);
                self.counters.rejected.fetch_add(outcome.rejected as u64, Ordering::Relaxed);
                self.counters.over_limit.fetch_add(outcome.over_limit as u64, Ordering::Relaxed);
                self.counters.gateway_deleted.fetch_add(outcome.gateway_deleted as u64, Ordering::Relaxed);
            }
            Err(error) => {
                tracing::error!(%error, records = batch.len(), "log batch could not be written");
                self.counters.rejected.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
        }
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        self.counters.gathered.store(0, Ordering::SeqCst);
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigw_core::config::OnFull;
    use aigw_core::LogSink;

    fn record(i: usize) -> LogRecord {
        LogRecord {
            id: aigw_core::ids::new_ulid(1_700_000_000_000 + i as i64),
            account_id: "local".into(),
            gateway_id: "default".into(),
            provider: "openai".into(),
            model: "gpt-4o-mini".into(),
            path: "chat/completions".into(),
            request_type: "provider".into(),
            method: "POST".into(),
            status_code: 200,
            success: true,
            ..Default::default()
        }
    }

    fn start(dir: &tempfile::TempDir, config: WriterConfig) -> (Writer, std::path::PathBuf) {
        let path = dir.path().join("aigw.db");
        let inserter = LogInserter::new(aigw_store::open_write(&path).unwrap()).unwrap();
        (Writer::start(inserter, &config).unwrap(), path)
    }

    fn count(path: &std::path::Path) -> u64 {
        aigw_store::count_logs(&aigw_store::open_read(path).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn flush_commits_everything_submitted_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = WriterConfig { batch_delay_ms: 60_000, batch_size: 7, ..Default::default() };
        let (writer, path) = start(&dir, config);
        let sink = writer.handle();
        for i in 0..20 {
            sink.submit(record(i)).unwrap();
        }
        sink.flush().await;
        assert_eq!(count(&path), 20);
        let stats = sink.stats();
        assert_eq!((stats.written, stats.dropped, stats.queued), (20, 0, 0));
        assert!(stats.batches >= 3, "batches close at batch_size: {stats:?}");
        tokio::task::spawn_blocking(move || writer.shutdown()).await.unwrap();
    }

    #[test]
    fn a_whole_batch_is_written_without_waiting_out_the_batch_delay() {
        let dir = tempfile::tempdir().unwrap();
        let config = WriterConfig { batch_delay_ms: 600_000, batch_size: 5, ..Default::default() };
        let (writer, path) = start(&dir, config);
        let sink = writer.handle();
        let waited = std::time::Instant::now();
        let within = |what: &str| assert!(waited.elapsed() < Duration::from_secs(30), "{what}: {:?}", sink.stats());
        sink.submit(record(0)).unwrap();
        // The writer takes the first record, then gathers the rest of its batch parked.
        while sink.stats().queued > 0 {
            within("first record not taken");
            std::thread::yield_now();
        }
        for i in 1..5 {
            sink.submit(record(i)).unwrap();
        }
        // No flush: the fifth record must wake the writer, which would otherwise sleep ten minutes.
        while sink.stats().written < 5 {
            within("batch not written");
            std::thread::yield_now();
        }
        assert_eq!(count(&path), 5);
        writer.shutdown();
    }

    #[tokio::test]
    async fn shutdown_drains_the_queue() {
        let dir = tempfile::tempdir().unwrap();
        let config = WriterConfig { batch_delay_ms: 60_000, batch_size: 10_000, ..Default::default() };
        let (writer, path) = start(&dir, config);
        let sink = writer.handle();
        for i in 0..500 {
            sink.submit(record(i)).unwrap();
        }
        tokio::task::spawn_blocking(move || writer.shutdown()).await.unwrap();
        assert_eq!(count(&path), 500);
        assert_eq!(sink.submit(record(501)), Err(aigw_core::SinkError::Closed));
        assert_eq!(sink.stats().dropped, 1);
    }

    #[test]
    fn shed_mode_admits_only_what_the_queue_can_hold() {
        let dir = tempfile::tempdir().unwrap();
        let config = WriterConfig { queue_capacity: 3, on_full: OnFull::ShedRequests, ..Default::default() };
        let (writer, path) = start(&dir, config);
        let sink = writer.handle();
        assert!(sink.admit() && sink.admit() && sink.admit());
        assert!(!sink.admit(), "a fourth in-flight request would not fit");
        sink.release();
        assert!(sink.admit());
        writer.shutdown();
        assert_eq!(count(&path), 0);
    }

    #[test]
    fn drop_mode_counts_what_does_not_fit() {
        // A handle over a channel nobody drains: the queue fills deterministically.
        let (tx, _rx) = sync_channel(2);
        let handle = WriterHandle {
            tx,
            counters: Arc::default(),
            capacity: 2,
            on_full: OnFull::DropLogs,
            writer: std::thread::current(),
            batch_size: 2,
        };
        assert!(handle.admit());
        handle.submit(record(0)).unwrap();
        handle.submit(record(1)).unwrap();
        assert_eq!(handle.submit(record(2)), Err(aigw_core::SinkError::Full));
        assert_eq!(handle.stats().dropped, 1);
        assert_eq!(handle.stats().queued, 2);
    }
}
