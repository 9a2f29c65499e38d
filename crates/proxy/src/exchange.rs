//! One exchange in flight: the record being built and how it is finished and handed to the sink.

use std::sync::Arc;

use aigw_core::{Clock, CustomCost, LogRecord, LogSink, Payload, PriceTable};
use tokio::time::Instant;

use crate::operation::Operation;
use crate::usage::UsageAcc;

/// What every exchange needs to finish its record.
pub struct LogContext {
    pub sink: Arc<dyn LogSink>,
    pub pricing: Arc<PriceTable>,
    pub clock: Arc<dyn Clock>,
    /// Bytes of each body kept.
    pub max_body_bytes: usize,
}

/// An exchange whose record is not finished yet. Finishing consumes it, so a record is
/// submitted (or its admission released) exactly once.
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
}

impl Exchange {
    /// Completes the record with the response's payload, usage and outcome, and submits it.
    pub(crate) fn finish(self, response: Payload, usage: UsageAcc, error: Option<String>) {
        let Exchange {
            mut record,
            started,
            custom_cost,
            collect_payload,
            collect_log,
            ctx,
            ..
        } = self;
        if !collect_log {
            ctx.sink.release();
            return;
        }
        record.duration_ms = started.elapsed().as_millis() as u64;
        record.usage = usage.usage();
        record.cost = match custom_cost {
            Some(custom) => {
                record.custom_cost = true;
                custom.cost(&record.usage)
            }
            None => ctx
                .pricing
                .cost(&record.provider, &record.model, &record.usage),
        };
        record.success = (200..300).contains(&record.status_code) && error.is_none();
        record.error = error.or(record.error.take());
        record.response = response;
        if !collect_payload {
            record.request.body = None;
            record.request.truncated = false;
            record.response.body = None;
            record.response.truncated = false;
        }
        let id = record.id.clone();
        if let Err(e) = ctx.sink.submit(record) {
            tracing::warn!(log_id = %id, error = %e, "log record dropped");
        }
    }

    /// Finishes an exchange that got no provider response (the gateway refused or failed).
    pub(crate) fn fail(mut self, status: u16, error: String, response_body: bytes::Bytes) {
        self.record.status_code = status;
        self.record.response_content_type = Some("application/json".into());
        let response = Payload {
            size: response_body.len() as u64,
            body: Some(response_body),
            truncated: false,
        };
        self.finish(response, UsageAcc::default(), Some(error));
    }
}
