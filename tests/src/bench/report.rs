//! Printing: per-phase rows and the final table of targets.

use crate::bench::load::Run;

/// Milliseconds with 3 decimals.
pub fn ms(ns: u64) -> String {
    format!("{:.3}", ns as f64 / 1e6)
}

fn signed_ms(ns: i64) -> String {
    format!("{:+.3}", ns as f64 / 1e6)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// CPU a run cost.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    /// µs of CPU the process serving the arm (the mock direct, aigw through aigw) spent per
    /// request; `None` in process mode.
    pub serving_us_per_request: Option<f64>,
    /// Of which aigw's writer thread (through aigw only).
    pub writer_us_per_request: Option<f64>,
    /// Cores' worth of CPU that processes outside the bench used during the run.
    pub foreign_cores: f64,
}

impl Cpu {
    pub fn per_request(&self) -> String {
        self.serving_us_per_request.map_or_else(|| "-".into(), |us| format!("{us:.0}"))
    }

    /// `(writer N)` when the writer's share is known.
    pub fn writer_share(&self) -> String {
        self.writer_us_per_request.map_or_else(String::new, |us| format!(" (writer {us:.0})"))
    }
}

pub fn print_latency_header() {
    println!(
        "  {:<7} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>6} {:>8} | {:>5} {:>5}",
        "arm",
        "rate",
        "achieved",
        "p50",
        "p99",
        "p99.9",
        "max",
        "svc p50",
        "svc p99",
        "errors",
        "gen lag",
        "cpu",
        "other"
    );
}

/// One arm at one rate. Latency columns are ms from the due time; `svc` ones from the send.
pub fn print_latency(arm: &str, rate: u32, run: &Run, cpu: &Cpu) {
    let l = &run.latency;
    let s = &run.service;
    println!(
        "  {:<7} {:>7} {:>9.0} {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>6} {:>8} | {:>5} {:>5.2}{}",
        arm,
        rate,
        run.rate(),
        ms(l.value_at_quantile(0.5)),
        ms(l.value_at_quantile(0.99)),
        ms(l.value_at_quantile(0.999)),
        ms(l.max()),
        ms(s.value_at_quantile(0.5)),
        ms(s.value_at_quantile(0.99)),
        run.errors(),
        ms(u64::try_from(run.max_send_lag.as_nanos()).unwrap_or(u64::MAX)),
        cpu.per_request(),
        cpu.foreign_cores,
        cpu.writer_share(),
    );
    if run.errors() > 0 {
        println!("          ({} non-2xx answers, {} requests without an answer)", run.bad_status, run.failed);
    }
}

/// aigw's added latency at one rate: aigw arm minus direct arm, per quantile, in ns.
#[derive(Debug, Clone, Copy)]
pub struct Added {
    pub rate: u32,
    pub p50: i64,
    pub p99: i64,
    pub p999: i64,
}

impl Added {
    pub fn between(rate: u32, direct: &Run, aigw: &Run) -> Self {
        let d = |q: f64| aigw.latency.value_at_quantile(q) as i64 - direct.latency.value_at_quantile(q) as i64;
        Self { rate, p50: d(0.5), p99: d(0.99), p999: d(0.999) }
    }

    pub fn print(&self) {
        println!(
            "  added by aigw at {} req/s: p50 {} ms, p99 {} ms, p99.9 {} ms",
            self.rate,
            signed_ms(self.p50),
            signed_ms(self.p99),
            signed_ms(self.p999)
        );
    }
}

/// The figures the targets are checked against; `None` when the phase did not run.
#[derive(Debug, Default)]
pub struct Figures {
    pub added: Vec<Added>,
    pub max_aigw: Option<f64>,
    pub max_direct: Option<f64>,
    pub writer: Option<WriterFigure>,
    pub per_stream_bytes: Option<f64>,
    pub idle_rss: Option<u64>,
    pub records_lost: Option<i64>,
    pub stream_records_lost: Option<i64>,
    pub writer_records_lost: Option<i64>,
}

/// Records per second of the writer alone over its runs.
#[derive(Debug, Clone, Copy)]
pub struct WriterFigure {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

impl WriterFigure {
    /// The median (of an even count, the mean of the middle two) and the range of `rates`.
    pub fn of(rates: &[f64]) -> Self {
        let mut sorted = rates.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = match n {
            0 => 0.0,
            _ if n % 2 == 1 => sorted[n / 2],
            _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Self {
            median,
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
            runs: n,
        }
    }
}

struct Row {
    target: String,
    measured: String,
    pass: Option<bool>,
}

fn row(target: &str, measured: Option<String>, pass: Option<bool>) -> Row {
    Row { target: target.to_string(), measured: measured.unwrap_or_else(|| "not run".into()), pass }
}

pub fn print_summary(f: &Figures) {
    let added = |rate: u32| f.added.iter().find(|a| a.rate == rate);
    let ms_row = |target: &str, value: Option<i64>, limit_ns: i64| {
        row(target, value.map(|v| format!("{} ms", signed_ms(v))), value.map(|v| v <= limit_ns))
    };
    let lost =
        [f.records_lost, f.stream_records_lost, f.writer_records_lost].into_iter().flatten().reduce(|a, b| a + b);
    let rows = [
        ms_row("added p50 @1,000 req/s <= 0.3 ms", added(1000).map(|a| a.p50), 300_000),
        ms_row("added p99 @1,000 req/s <= 1.0 ms", added(1000).map(|a| a.p99), 1_000_000),
        ms_row("added p99 @5,000 req/s <= 2.0 ms", added(5000).map(|a| a.p99), 2_000_000),
        row(
            "max through aigw, logging on >= 12,000 req/s",
            f.max_aigw.map(|r| {
                let ratio = f
                    .max_direct
                    .map_or(String::new(), |d| format!(" ({:.0}% of direct {d:.0})", 100.0 * r / d.max(1.0)));
                format!("{r:.0} req/s{ratio}")
            }),
            f.max_aigw.map(|r| r >= 12_000.0),
        ),
        row(
            "writer alone >= 50,000 records/s",
            f.writer.map(|w| match w.runs {
                1 => format!("{:.0} records/s", w.median),
                n => format!("{:.0} records/s (median of {n})", w.median),
            }),
            f.writer.map(|w| w.median >= 50_000.0),
        ),
        row(
            "memory per in-flight stream <= 64 KB",
            f.per_stream_bytes.map(|b| format!("{:.1} KB", b / 1024.0)),
            f.per_stream_bytes.map(|b| b <= 64.0 * 1024.0),
        ),
        row("idle RSS of aigw < 30 MB", f.idle_rss.map(mib), f.idle_rss.map(|b| b < 30 * 1024 * 1024)),
        row("zero records lost", lost.map(|l| format!("{l} lost")), lost.map(|l| l == 0)),
    ];
    println!("\n== Summary ==");
    println!("  {:<46} {:<36} result", "target", "measured");
    for r in rows {
        let verdict = match r.pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "-",
        };
        println!("  {:<46} {:<36} {verdict}", r.target, r.measured);
    }
}
