//! Per-key limits, in memory: the request and token rate limits and the USD budget.
//!
//! - Requests per minute: a token bucket holding up to the limit, refilled at limit/60 s; a
//!   request takes one token.
//! - Tokens per minute: a bucket of the same shape that finished requests drain by the tokens
//!   they used (it may go below zero); a request is admitted while it holds any.
//! - Budget: before forwarding, a request reserves an estimate of its cost (see [`estimate`]);
//!   it is admitted only if what was spent in the period, plus every open reservation, plus its
//!   own estimate stays within the budget. When it finishes, the reservation is replaced by the
//!   real cost. So concurrent requests never take a budget past its limit on estimates, and
//!   only a request whose real cost exceeds its estimate can overshoot it.
//!
//! Spend is kept for every period at once (day, week, month, total), so a key whose budget
//! period changes needs no recount. Time comes from the gateway's clock, in ms.

use std::sync::{Arc, Mutex};

use aigw_core::keys::{KeySpend, VirtualKey};
use aigw_core::period::BudgetPeriod;
use aigw_core::{Clock, PriceTable};
use serde_json::Value;

/// Output tokens a budget reservation assumes when the request sets no maximum.
pub const DEFAULT_OUTPUT_ESTIMATE: u64 = 4096;
const MINUTE_MS: f64 = 60_000.0;
/// Budgets compare with this slack, so that five requests of $0.1 fit a $0.5 budget.
const USD_EPSILON: f64 = 1e-9;

/// A token bucket: `level` of `capacity`, refilled at `capacity` per minute.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    capacity: f64,
    level: f64,
    updated_ms: i64,
}

impl Bucket {
    fn full(capacity: f64, now_ms: i64) -> Self {
        Self { capacity, level: capacity, updated_ms: now_ms }
    }

    /// Refills for the time since the last update; follows a changed limit.
    fn refill(&mut self, capacity: f64, now_ms: i64) {
        if capacity != self.capacity {
            self.capacity = capacity;
            self.level = self.level.min(capacity);
        }
        let elapsed = (now_ms - self.updated_ms).max(0) as f64;
        self.level = (self.level + elapsed * self.capacity / MINUTE_MS).min(self.capacity);
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    /// Milliseconds until the level reaches `at_least`.
    fn wait_ms(&self, at_least: f64) -> u64 {
        let missing = (at_least - self.level).max(0.0);
        (missing * MINUTE_MS / self.capacity).ceil() as u64
    }
}

/// Spend in the current day, week and month (UTC) and in total.
#[derive(Debug, Clone, PartialEq)]
struct Spend {
    /// Starts of the current day, week and month.
    starts: [i64; 3],
    /// USD spent in the day, week, month, and in total.
    usd: [f64; 4],
}

const CALENDAR: [BudgetPeriod; 3] = [BudgetPeriod::Day, BudgetPeriod::Week, BudgetPeriod::Month];

impl Spend {
    fn new(now_ms: i64) -> Self {
        Self { starts: CALENDAR.map(|p| p.start_ms(now_ms)), usd: [0.0; 4] }
    }

    /// Starts new periods that began since the last call.
    fn roll(&mut self, now_ms: i64) {
        for (i, period) in CALENDAR.iter().enumerate() {
            let start = period.start_ms(now_ms);
            if start > self.starts[i] {
                self.starts[i] = start;
                self.usd[i] = 0.0;
            }
        }
    }

    /// Adds the cost of a request that started at `at_ms` to the periods it belongs to.
    fn add(&mut self, at_ms: i64, usd: f64, now_ms: i64) {
        self.roll(now_ms);
        for i in 0..3 {
            if at_ms >= self.starts[i] {
                self.usd[i] += usd;
            }
        }
        self.usd[3] += usd;
    }

    fn get(&self, period: BudgetPeriod) -> f64 {
        match period {
            BudgetPeriod::Day => self.usd[0],
            BudgetPeriod::Week => self.usd[1],
            BudgetPeriod::Month => self.usd[2],
            BudgetPeriod::Total => self.usd[3],
        }
    }
}

/// The live state of one key. Survives reloads of the key itself.
#[derive(Debug)]
pub(crate) struct KeyState {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    spend: Spend,
    /// Sum of the estimates of requests admitted and not finished.
    reserved: f64,
    last_used_ms: Option<i64>,
}

impl KeyState {
    pub(crate) fn new(now_ms: i64) -> Self {
        Self { requests: None, tokens: None, spend: Spend::new(now_ms), reserved: 0.0, last_used_ms: None }
    }

    /// Sets what the store says was spent (at start).
    pub(crate) fn seed(&mut self, spend: &KeySpend, now_ms: i64) {
        self.spend = Spend::new(now_ms);
        self.spend.usd = [spend.day, spend.week, spend.month, spend.total];
        self.last_used_ms = self.last_used_ms.max(spend.last_used_ms);
    }

    pub(crate) fn touch(&mut self, now_ms: i64) {
        self.last_used_ms = Some(now_ms);
    }

    /// USD spent in `period` as of `now_ms`, finished requests only.
    pub(crate) fn spent(&mut self, period: BudgetPeriod, now_ms: i64) -> f64 {
        self.spend.roll(now_ms);
        self.spend.get(period)
    }

    pub(crate) fn last_used_ms(&self) -> Option<i64> {
        self.last_used_ms
    }
}

/// Why a request was not admitted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    Requests { limit: u32, retry_after_ms: u64 },
    Tokens { limit: u64, retry_after_ms: u64 },
    Budget { spent: f64, reserved: f64, usd: f64, period: BudgetPeriod, resets_at_ms: Option<i64> },
}

/// Admits a request of `key` that is estimated to cost `estimate_usd`, or says why not. Nothing
/// is taken from any limit unless the request is admitted.
pub(crate) fn admit(
    state: &Arc<Mutex<KeyState>>,
    key: &VirtualKey,
    estimate_usd: f64,
    clock: &Arc<dyn Clock>,
) -> Result<Reservation, Refusal> {
    let now = clock.now_ms();
    let limits = &key.limits;
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    let s = &mut *s;

    match limits.rate_limit.requests_per_minute {
        Some(limit) => {
            let bucket = s.requests.get_or_insert_with(|| Bucket::full(f64::from(limit), now));
            bucket.refill(f64::from(limit), now);
            if bucket.level < 1.0 {
                return Err(Refusal::Requests { limit, retry_after_ms: bucket.wait_ms(1.0) });
            }
        }
        None => s.requests = None,
    }
    match limits.rate_limit.tokens_per_minute {
        Some(limit) => {
            let bucket = s.tokens.get_or_insert_with(|| Bucket::full(limit as f64, now));
            bucket.refill(limit as f64, now);
            if bucket.level <= 0.0 {
                // Admitted again once the bucket holds any token.
                return Err(Refusal::Tokens { limit, retry_after_ms: bucket.wait_ms(1.0).max(1) });
            }
        }
        None => s.tokens = None,
    }
    if let Some(budget) = limits.budget {
        s.spend.roll(now);
        let spent = s.spend.get(budget.period);
        if spent + s.reserved + estimate_usd > budget.usd + USD_EPSILON {
            return Err(Refusal::Budget {
                spent,
                reserved: s.reserved,
                usd: budget.usd,
                period: budget.period,
                resets_at_ms: budget.period.end_ms(now),
            });
        }
    }

    if let Some(bucket) = s.requests.as_mut() {
        bucket.level -= 1.0;
    }
    s.reserved += estimate_usd;
    s.last_used_ms = Some(now);
    Ok(Reservation { state: state.clone(), estimate_usd, at_ms: now, clock: clock.clone(), settled: false })
}

/// An admitted request's hold on its key's limits, settled when the request finishes. Dropped
/// unsettled, it gives its estimate back.
pub(crate) struct Reservation {
    state: Arc<Mutex<KeyState>>,
    estimate_usd: f64,
    /// When the request was admitted: its cost counts in the periods that contain this.
    at_ms: i64,
    clock: Arc<dyn Clock>,
    settled: bool,
}

impl std::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservation").field("estimate_usd", &self.estimate_usd).finish_non_exhaustive()
    }
}

impl Reservation {
    /// Replaces the estimate with what the request cost (`None`: nothing known, nothing spent)
    /// and counts the tokens it used.
    pub(crate) fn settle(mut self, cost_usd: Option<f64>, tokens: u64) {
        self.apply(cost_usd.filter(|c| c.is_finite() && *c > 0.0).unwrap_or(0.0), tokens);
    }

    fn apply(&mut self, cost_usd: f64, tokens: u64) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        let now = self.clock.now_ms();
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.reserved = (s.reserved - self.estimate_usd).max(0.0);
        if cost_usd > 0.0 {
            s.spend.add(self.at_ms, cost_usd, now);
        }
        if let Some(bucket) = s.tokens.as_mut() {
            let capacity = bucket.capacity;
            bucket.refill(capacity, now);
            bucket.level -= tokens as f64;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.apply(0.0, 0);
    }
}

/// The cost a budget reserves for a request before it is sent: every byte of the body counted as
/// an input token (no tokenizer yields more tokens than bytes of text) at the model's highest
/// input rate, plus the output the request allows (`max_tokens`, `max_completion_tokens`,
/// `max_output_tokens` or Gemini's `maxOutputTokens`, times `n`; [`DEFAULT_OUTPUT_ESTIMATE`]
/// when it sets none) at the output rate. `None` when the model has no price.
pub(crate) fn estimate(prices: &PriceTable, provider: &str, model: &str, body: &[u8]) -> Option<f64> {
    let price = prices.lookup(provider, model)?;
    let input_rate = price.input.max(price.cached_input.unwrap_or(0.0)).max(price.cache_write.unwrap_or(0.0));
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let output = json.as_ref().map_or(DEFAULT_OUTPUT_ESTIMATE, max_output_tokens);
    Some((body.len() as f64 * input_rate + output as f64 * price.output) / 1_000_000.0)
}

fn max_output_tokens(v: &Value) -> u64 {
    let named = ["max_tokens", "max_completion_tokens", "max_output_tokens"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_u64))
        .or_else(|| v.get("generationConfig").and_then(|g| g.get("maxOutputTokens")).and_then(Value::as_u64));
    let choices = v
        .get("n")
        .or_else(|| v.get("generationConfig").and_then(|g| g.get("candidateCount")))
        .and_then(Value::as_u64)
        .unwrap_or(1)
        .clamp(1, 128);
    named.unwrap_or(DEFAULT_OUTPUT_ESTIMATE).saturating_mul(choices)
}

#[cfg(test)]
mod tests;
