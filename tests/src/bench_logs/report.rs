//! Percentiles and the printed tables.

use std::time::Duration;

use super::cases::Target;
use super::load::{Loaded, Sizes};

/// Nearest-rank percentile of sorted samples (`p` in 0..=1), in ms.
pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

/// p50, p99, max in ms.
pub fn summary(samples: &[Duration]) -> (f64, f64, f64) {
    let mut s = samples.to_vec();
    s.sort();
    (percentile(&s, 0.5), percentile(&s, 0.99), percentile(&s, 1.0))
}

/// One measured query.
#[derive(Debug, Clone)]
pub struct Row {
    pub name: String,
    pub samples: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    /// p50 and p99 of the same queries as direct store calls (no HTTP, no JSON).
    pub store: Option<(f64, f64)>,
    /// Median `total_count` of the answers (for deletes: median rows deleted).
    pub matched: Option<u64>,
    pub target: Target,
    /// Cores' worth of CPU other processes used while the HTTP samples ran.
    pub other_cores: f64,
}

impl Row {
    pub fn verdict(&self) -> &'static str {
        match self.target {
            Target::P99Ms(t) if self.p99 <= t => "PASS",
            Target::P99Ms(_) => "MISS",
            Target::None => "-",
        }
    }
}

/// Everything measured at one size.
pub struct SizeReport {
    pub loaded: Loaded,
    pub sizes: Sizes,
    pub rows: Vec<Row>,
}

fn ms(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn print_load(l: &Loaded) {
    match (l.reused, l.load) {
        (false, Some(s)) | (true, Some(s)) => println!(
            "  load{}: {} logs in {:.1} s = {:.0} logs/s (inside insert_batch: {:.1} s = {:.0} logs/s; batches of {})",
            if l.reused { " (recorded when the kept database was loaded)" } else { "" },
            s.records,
            s.secs,
            s.rate(),
            s.insert_secs,
            s.insert_rate(),
            s.batch
        ),
        (_, None) => println!("  load: reused a kept database; its load figures were not recorded"),
    }
}

/// Whether a table or index name belongs to a group.
type NameTest = dyn Fn(&str) -> bool;

pub fn print_sizes(l: &Loaded, s: &Sizes) {
    let n = l.count.max(1) as f64;
    let payloads = s.sum(|name| name == "log_payloads");
    println!(
        "  database: {} = {:.0} B/log; without bodies (log_payloads {} = {:.0} B/log): {:.0} B/log",
        mib(s.file_bytes),
        s.file_bytes as f64 / n,
        mib(payloads),
        payloads as f64 / n,
        (s.file_bytes.saturating_sub(payloads)) as f64 / n
    );
    if let Some(e) = &s.dbstat_error {
        println!("  (dbstat unavailable: {e})");
    }
    if s.objects.is_empty() {
        return;
    }
    let groups: [(&str, &NameTest); 6] = [
        ("logs rows", &|x| x == "logs"),
        ("logs indexes", &|x| x.starts_with("logs_") || x.starts_with("sqlite_autoindex_logs")),
        ("log_payloads", &|x| x == "log_payloads"),
        ("metadata search (postings, vocab)", &|x| {
            x.starts_with("search_") || x.starts_with("sqlite_autoindex_search")
        }),
        ("rollups (log_dims, log_rollup)", &|x| x.starts_with("log_dims") || x.starts_with("log_rollup")),
        ("other", &|_| false),
    ];
    let mut accounted = 0;
    for (label, f) in groups.iter().take(5) {
        let b = s.sum(f);
        accounted += b;
        println!("    {label:<32} {:>12} {:>7.1} B/log", mib(b), b as f64 / n);
    }
    let total: u64 = s.objects.iter().map(|(_, b)| b).sum();
    let other = total.saturating_sub(accounted);
    println!("    {:<32} {:>12} {:>7.1} B/log", groups[5].0, mib(other), other as f64 / n);
    let detail: Vec<String> = s
        .objects
        .iter()
        .filter(|(name, b)| *b > 0 && (name.starts_with("log") || name.starts_with("sqlite_autoindex_log")))
        .map(|(name, b)| format!("{name} {:.1}", *b as f64 / n))
        .collect();
    println!("    B/log per object: {}", detail.join(", "));
}

pub fn print_header() {
    println!(
        "  {:<44} {:>4} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>10} | {:>5} | {:>9} {:>6}",
        "query", "n", "p50 ms", "p99 ms", "max ms", "store50", "store99", "matched", "other", "target", ""
    );
}

pub fn print_row(r: &Row) {
    let (s50, s99) = r.store.map_or(("-".into(), "-".into()), |(a, b)| (ms(a), ms(b)));
    let target = match r.target {
        Target::P99Ms(t) => format!("p99<={t:.0}"),
        Target::None => "-".into(),
    };
    println!(
        "  {:<44} {:>4} {:>8} {:>8} {:>8} | {:>8} {:>8} | {:>10} | {:>5.2} | {:>9} {:>6}",
        r.name,
        r.samples,
        ms(r.p50),
        ms(r.p99),
        ms(r.max),
        s50,
        s99,
        r.matched.map_or("-".into(), |m| m.to_string()),
        r.other_cores,
        target,
        r.verdict()
    );
}

pub fn print_size(r: &SizeReport) {
    println!("\n== {} logs (now {} in the gateway) ==", r.loaded.size, r.loaded.count);
    print_load(&r.loaded);
    print_sizes(&r.loaded, &r.sizes);
    print_header();
    for row in &r.rows {
        print_row(row);
    }
}
