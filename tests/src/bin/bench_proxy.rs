//! `cargo run --release -p aigw-tests --bin bench_proxy [-- --quick]`: aigw's data-plane
//! benchmark. It builds the release `aigw` and `mock-provider` binaries, runs every phase and
//! prints each figure, then a table of targets with PASS/MISS. Timing never fails the run; the
//! exit code is non-zero only when the bench itself could not run. Method: `tests/BENCHMARKS.md`.

#[path = "../bench/mod.rs"]
mod bench;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context};
use clap::Parser;

use bench::args::{Args, Mode, Phase};
use bench::report::{self, mib, Figures};

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bench_proxy: cannot start a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_proxy: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let needs_binaries = args.mode == Mode::Process || args.runs(Phase::Streams);
    let bin_dir = if needs_binaries { binaries(&args)? } else { PathBuf::new() };
    print_header(&args);
    if args.wait_quiet_secs > 0 {
        let busy = bench::cpu::wait_quiet(std::time::Duration::from_secs(args.wait_quiet_secs)).await;
        if busy >= 0.25 {
            println!("  WARNING: other processes use {busy:.2} cores; figures will be noisy (see the `other` column)");
        }
    }
    let mut figures = Figures::default();

    if args.runs(Phase::Latency) || args.runs(Phase::Max) {
        bench::plane::run(&args, &bin_dir, &mut figures).await?;
    }

    if args.runs(Phase::Streams) {
        println!("\n== Memory per in-flight stream (aigw process, in-process gated mock) ==");
        let s = bench::streams::run(&bin_dir, args.streams, &args.config_extra).await?;
        println!(
            "  aigw RSS: idle {}, before streams {}, {} streams open {}",
            mib(s.idle.rss),
            mib(s.before.rss),
            s.opened,
            mib(s.held.rss)
        );
        println!(
            "  per stream {:.1} KB; {} of {} streams opened, {} completed after release",
            s.per_stream() / 1024.0,
            s.opened,
            s.streams,
            s.completed
        );
        let answered = (bench::streams::WARMUP_STREAMS + s.opened) as i64;
        let lost = answered - s.records as i64;
        println!(
            "  records written {} / requests {answered}, lost {lost} (writer dropped {} rejected {})",
            s.records, s.writer.dropped, s.writer.rejected
        );
        figures.per_stream_bytes = Some(s.per_stream());
        figures.stream_records_lost = Some(lost);
        if s.opened < s.streams {
            eprintln!("warning: only {}/{} streams opened", s.opened, s.streams);
        }
    }

    if args.runs(Phase::Writer) {
        let (records, runs) = (args.writer_records(), args.writer_runs());
        println!("\n== Writer alone: {records} records, default writer settings, {runs} run(s) on fresh databases ==");
        let mut rates = Vec::with_capacity(runs);
        let mut lost = 0;
        for _ in 0..runs {
            let dir = tempfile::tempdir()?;
            let path = dir.path().to_path_buf();
            let handle = tokio::runtime::Handle::current();
            let w = bench::on_thread("bench-writer", move || bench::writer::run(&path, records, &handle)).await?;
            let stored = bench::writer::stored(dir.path())?;
            println!(
                "  {:.0} records/s ({} of {} written in {:.2} s, {} batches, {} in the database, {} B per record); \
                 writer thread {:.1} µs of CPU per record; other processes {:.2} cores; {} submits retried, {} lost",
                w.per_second(),
                w.written,
                w.records,
                w.seconds,
                w.batches,
                stored,
                w.db_bytes / w.written.max(1),
                w.writer_cpu * 1e6 / w.written.max(1) as f64,
                w.foreign_cores,
                w.retried,
                w.lost
            );
            rates.push(w.per_second());
            // What the writer counted, or what is missing from the file if that is more.
            lost += w.lost.max(records.saturating_sub(stored));
        }
        let writer = report::WriterFigure::of(&rates);
        println!("  median {:.0} records/s, slowest run {:.0}, fastest {:.0}", writer.median, writer.min, writer.max);
        figures.writer = Some(writer);
        figures.writer_records_lost = Some(lost as i64);
    }

    report::print_summary(&figures);
    Ok(())
}

fn print_header(args: &Args) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("aigw data-plane benchmark ({})", revision());
    println!(
        "  mode {:?}, {cores} cores (load generator, aigw and mock share them), open loop {} s per phase at {:?} req/s over {} connections, closed loop {} s over {} connections",
        args.mode,
        args.phase().as_secs(),
        args.rates,
        args.connections,
        args.max_phase().as_secs(),
        args.max_connections
    );
    if !args.config_extra.is_empty() {
        println!("  aigw config extra: {}", args.config_extra.replace('\n', " | "));
    }
    if cfg!(debug_assertions) {
        println!("  WARNING: the bench is a debug build; run it with --release");
    }
}

/// The workspace's git commit, `+dirty` when the tree has changes: what the figures belong to.
fn revision() -> String {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(&workspace)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(head) => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
            format!("commit {head}{}", if dirty { "+dirty" } else { "" })
        }
        None => "commit unknown".to_string(),
    }
}

/// The directory holding release `aigw` and `mock-provider`, built first unless `--no-build`.
fn binaries(args: &Args) -> anyhow::Result<PathBuf> {
    let dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => release_dir()?,
    };
    if !args.no_build {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("tests crate outside a workspace")?;
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(workspace)
            .args(["build", "--release", "-p", "aigw", "-p", "aigw-mock-provider"])
            .status()
            .context("cannot run cargo build")?;
        if !status.success() {
            bail!("cargo build --release -p aigw -p aigw-mock-provider failed ({status})");
        }
    }
    for bin in ["aigw", "mock-provider"] {
        if !dir.join(bin).is_file() {
            bail!(
                "{} not found; build with `cargo build --release -p aigw -p aigw-mock-provider` or pass --bin-dir",
                dir.join(bin).display()
            );
        }
    }
    Ok(dir)
}

/// `target/release`, found from this binary's own path (`target/{release,debug}/bench_proxy`).
fn release_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let parent = exe.parent().context("binary without a directory")?;
    if parent.file_name().is_some_and(|n| n == "release") {
        return Ok(parent.to_path_buf());
    }
    let target = parent.parent().context("binary outside a target directory")?;
    Ok(target.join("release"))
}
