//! One exchange in flight: the record being built and how it is finished and handed to the sink.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aigw_core::{Clock, CustomCost, LogRecord, LogSink, Payload, PriceTable};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::limits::Reservation;
use crate::operation::Operation;
use crate::usage::UsageAcc;

/// What every exchange needs to finish its record.
pub struct LogContext {
    pub sink: Arc<dyn LogSink>,
    pub pricing: Arc<PriceTable>,
    pub clock: Arc<dyn Clock>,
    /// Bytes of each body kept.
    pub max_body_bytes: usize,
    /// Exchanges admitted and not finished yet; shutdown waits for them.
    in_flight: AtomicUsize,
    idle: Notify,
}

impl LogContext {
    pub fn new(sink: Arc<dyn LogSink>, pricing: Arc<PriceTable>, clock: Arc<dyn Clock>, max_body_bytes: usize) -> Self {
        Self { sink, pricing, clock, max_body_bytes, in_flight: AtomicUsize::new(0), idle: Notify::new() }
    }

    /// Exchanges not finished yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Resolves once no exchange is in flight.
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.in_flight() == 0 {
                return;
            }
            notified.await;
        }
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    fn end(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

/// An admitted exchange whose record is not finished yet. It is finished exactly once: by
/// `finish`/`fail`, or, if the request is dropped first (the caller hung up while aigw waited on
/// the provider, or shutdown cut it off), by `Drop`, as an interrupted request.
pub(crate) struct Exchange {
    pub record: LogRecord,
    pub started: Instant,
    pub op: Operation,
    pub custom_cost: Option<CustomCost>,
    /// Whether bodies are kept (`cf-aig-collect-log-payload`).
    pub collect_payload: bool,
    /// Whether a record is kept at all (`collect_logs` / `cf-aig-collect-log`).
    pub collect_log: bool,
    pub ctx: Arc<LogContext>,
    /// The virtual key's hold on its limits, settled with the real cost and tokens.
    pub reservation: Option<Reservation>,
    finished: bool,
}

/// Status recorded for a caller that went away before the provider answered (nginx's 499).
const CLIENT_CLOSED_REQUEST: u16 = 499;

impl Exchange {
    /// A new exchange for an admitted request.
    pub(crate) fn begin(
        record: LogRecord,
        started: Instant,
        op: Operation,
        collect_log: bool,
        ctx: Arc<LogContext>,
    ) -> Self {
        ctx.begin();
        Self {
            record,
            started,
            op,
            custom_cost: None,
            collect_payload: true,
            collect_log,
            ctx,
            reservation: None,
            finished: false,
        }
    }

    /// Completes the record with the response's payload, usage and outcome, and submits it.
    pub(crate) fn finish(mut self, response: Payload, usage: UsageAcc, error: Option<String>) {
        self.complete(response, usage, error);
    }

    /// Finishes an exchange that got no provider response (the gateway refused or failed).
    pub(crate) fn fail(mut self, status: u16, error: String, response_body: bytes::Bytes) {
        self.record.status_code = status;
        self.record.response_content_type = Some("application/json".into());
        let response = Payload { size: response_body.len() as u64, body: Some(response_body), truncated: false };
        self.complete(response, UsageAcc::default(), Some(error));
    }

    fn complete(&mut self, response: Payload, usage: UsageAcc, error: Option<String>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        let ctx = self.ctx.clone();
        if self.collect_log {
            let mut record = std::mem::take(&mut self.record);
            record.duration_ms = self.started.elapsed().as_millis() as u64;
            record.usage = usage.usage();
            record.cost = match self.custom_cost {
                Some(custom) => {
                    record.custom_cost = true;
                    custom.cost(&record.usage)
                }
                None => ctx.pricing.cost(&record.provider, &record.model, &record.usage),
            };
            if let Some(reservation) = self.reservation.take() {
                let tokens = record.usage.tokens_in.unwrap_or(0) + record.usage.tokens_out.unwrap_or(0);
                reservation.settle(record.cost, tokens);
            }
            record.success = (200..300).contains(&record.status_code) && error.is_none();
            record.error = error.or(record.error.take());
            record.response = response;
            if !self.collect_payload {
                record.request = Payload { body: None, truncated: false, ..record.request };
                record.response = Payload { body: None, truncated: false, ..record.response };
            }
            if let Err(e) = ctx.sink.submit(record) {
                // Counted by the sink and reported in aggregate; one line per record would flood.
                tracing::debug!(error = %e, "log record dropped");
            }
        } else {
            ctx.sink.release();
        }
        ctx.end();
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if !self.finished {
            if self.record.status_code == 0 {
                self.record.status_code = CLIENT_CLOSED_REQUEST;
            }
            let error = "client disconnected before the provider answered".to_string();
            self.complete(Payload::default(), UsageAcc::default(), Some(error));
        }
    }
}
