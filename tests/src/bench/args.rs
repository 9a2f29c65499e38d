//! The command line of `bench_proxy`. Every flag also reads an `AIGW_BENCH_*` variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Where aigw and the mock provider run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// aigw and the mock each in their own process (`target/release/{aigw,mock-provider}`), as
    /// in production; memory figures are aigw's own.
    Process,
    /// aigw and the mock inside the bench process: one process to profile; no per-process
    /// memory figures.
    InProcess,
}

/// A measurement the bench can run; all run by default, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    /// Open loop at fixed rates, direct vs through aigw, plus records written vs requests.
    Latency,
    /// Closed loop max throughput, direct and through aigw.
    Max,
    /// Memory of aigw per in-flight stream.
    Streams,
    /// The SQLite writer alone.
    Writer,
}

/// Data-plane benchmark of aigw: added latency, max throughput, writer throughput, memory.
#[derive(Debug, Clone, Parser)]
#[command(name = "bench_proxy")]
pub struct Args {
    #[arg(long, value_enum, default_value = "process", env = "AIGW_BENCH_MODE")]
    pub mode: Mode,
    /// Seconds per open-loop phase (each arm at each rate).
    #[arg(long, default_value_t = 10, env = "AIGW_BENCH_DURATION_SECS")]
    pub duration_secs: u64,
    /// Seconds per closed-loop (max throughput) phase.
    #[arg(long, default_value_t = 5, env = "AIGW_BENCH_MAX_SECS")]
    pub max_secs: u64,
    /// CI mode: 2 s per phase, one run of 50,000 writer records.
    #[arg(long, env = "AIGW_BENCH_QUICK")]
    pub quick: bool,
    /// Open-loop rates, requests per second.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000", env = "AIGW_BENCH_RATES")]
    pub rates: Vec<u32>,
    /// Keep-alive connections the open-loop generator spreads its requests over.
    #[arg(long, default_value_t = 64, env = "AIGW_BENCH_CONNECTIONS")]
    pub connections: usize,
    /// Concurrent connections of the closed-loop (max throughput) phase.
    #[arg(long, default_value_t = 64, env = "AIGW_BENCH_MAX_CONNECTIONS")]
    pub max_connections: usize,
    /// Records pushed through the writer alone.
    #[arg(long, default_value_t = 200_000, env = "AIGW_BENCH_WRITER_RECORDS")]
    pub writer_records: u64,
    /// Runs of the writer alone, each on a fresh database; the figure is their median (one run
    /// of a few seconds on a shared VM can land anywhere in a 40% band).
    #[arg(long, default_value_t = 5, env = "AIGW_BENCH_WRITER_RUNS")]
    pub writer_runs: usize,
    /// Concurrent streams held open for the memory-per-stream figure.
    #[arg(long, default_value_t = 1_000, env = "AIGW_BENCH_STREAMS")]
    pub streams: usize,
    /// Phases to run (comma-separated); default all.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        env = "AIGW_BENCH_PHASES",
        default_value = "latency,max,streams,writer"
    )]
    pub phases: Vec<Phase>,
    /// Before the first phase, wait up to this long for other processes to leave the CPU idle
    /// (below 0.25 cores for 2 s in a row); 0 starts at once.
    #[arg(long, default_value_t = 60, env = "AIGW_BENCH_WAIT_QUIET_SECS")]
    pub wait_quiet_secs: u64,
    /// Where `aigw` and `mock-provider` are (default: the release dir beside this binary).
    #[arg(long, env = "AIGW_BENCH_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// TOML appended to aigw's generated config, for experiments (e.g. a gateway with
    /// `collect_logs = false`, or other `[writer]` settings). Empty by default: shipped defaults.
    #[arg(long, default_value = "", env = "AIGW_BENCH_CONFIG_EXTRA")]
    pub config_extra: String,
    /// Do not run `cargo build --release -p aigw -p aigw-mock-provider` first.
    #[arg(long, env = "AIGW_BENCH_NO_BUILD")]
    pub no_build: bool,
}

impl Args {
    /// Each open-loop phase.
    pub fn phase(&self) -> Duration {
        Duration::from_secs(if self.quick { 2 } else { self.duration_secs.max(1) })
    }

    /// Each closed-loop phase.
    pub fn max_phase(&self) -> Duration {
        Duration::from_secs(if self.quick { 2 } else { self.max_secs.max(1) })
    }

    /// The unreported warm-up before the first measured phase of each arm.
    pub fn warmup(&self) -> Duration {
        Duration::from_millis(if self.quick { 500 } else { 1_000 })
    }

    pub fn writer_records(&self) -> u64 {
        if self.quick {
            self.writer_records.min(50_000)
        } else {
            self.writer_records
        }
    }

    pub fn writer_runs(&self) -> usize {
        if self.quick {
            1
        } else {
            self.writer_runs.max(1)
        }
    }

    pub fn runs(&self, phase: Phase) -> bool {
        self.phases.contains(&phase)
    }
}
