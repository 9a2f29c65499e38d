//! What every connection of one mock provider shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::openai::ChatTemplate;
use crate::received::Received;

/// Shared by the accept loop, every connection and the [`MockProvider`](crate::MockProvider)
/// handle; lives as long as the last of them.
pub(crate) struct Shared {
    /// Whether requests are kept in `received` (benchmarks turn this off).
    record: bool,
    /// Every request received so far, in arrival order, when `record` is on.
    received: Mutex<Vec<Received>>,
    /// How many requests have arrived; counted even when not recording, so
    /// `wait_for_requests` works in both modes.
    arrived: watch::Sender<usize>,
    /// Source of the `<n>` in `x-request-id: req_mock_<n>`, starting at 1.
    next_number: AtomicU64,
    /// Gates by name; a gate is created by whichever comes first, the request that waits on
    /// it or `open_gate`, and stays open once opened.
    gates: Mutex<HashMap<String, watch::Sender<bool>>>,
    /// Turns `true` (or closes) when the provider shuts down; hung requests and paused
    /// streams give up then.
    shutdown: watch::Receiver<bool>,
    /// The default non-streaming chat answer, serialised once.
    pub(crate) chat_template: ChatTemplate,
}

impl Shared {
    pub(crate) fn new(record: bool, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            record,
            received: Mutex::new(Vec::new()),
            arrived: watch::Sender::new(0),
            next_number: AtomicU64::new(1),
            gates: Mutex::new(HashMap::new()),
            shutdown,
            chat_template: ChatTemplate::new(),
        }
    }

    /// Numbers a request that has just arrived and records it when recording is on.
    /// `received` is only built when it will be kept.
    pub(crate) fn arrive(&self, received: impl FnOnce() -> Received) -> u64 {
        let number = self.next_number.fetch_add(1, Ordering::Relaxed);
        if self.record {
            lock(&self.received).push(received());
        }
        // After the push, so that a waiter woken here finds the request in `received`.
        self.arrived.send_modify(|n| *n += 1);
        number
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        lock(&self.received).clone()
    }

    pub(crate) async fn wait_for_requests(&self, n: usize) {
        let mut arrived = self.arrived.subscribe();
        // The sender lives in `self`, so the channel cannot close while we wait.
        let _ = arrived.wait_for(|count| *count >= n).await;
    }

    /// A receiver that sees `true` once gate `name` is open (possibly already).
    pub(crate) fn gate(&self, name: &str) -> watch::Receiver<bool> {
        let mut gates = lock(&self.gates);
        match gates.get(name) {
            Some(gate) => gate.subscribe(),
            None => {
                let (gate, rx) = watch::channel(false);
                gates.insert(name.to_owned(), gate);
                rx
            }
        }
    }

    pub(crate) fn open_gate(&self, name: &str) {
        lock(&self.gates).entry(name.to_owned()).or_insert_with(|| watch::Sender::new(false)).send_replace(true);
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }
}

/// Resolves when `shutdown` turns `true` or its sender is gone.
pub(crate) async fn wait_shutdown(mut shutdown: watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|down| *down).await;
}

/// A panic while holding one of these locks cannot leave the data half-updated (each
/// critical section is a single push, clone or insert), so a poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
