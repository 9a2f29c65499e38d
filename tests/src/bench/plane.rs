//! Direct vs through aigw, same load in one run: latency at fixed rates (open loop), maximum
//! throughput (closed loop), then every record aigw should have written checked against the
//! database, and the processes' memory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::bench::args::{Args, Mode, Phase};
use crate::bench::cpu;
use crate::bench::deploy::{Arm, Deployment, SETTLE};
use crate::bench::load::{self, Run, Target};
use crate::bench::process::{db_count, memory};
use crate::bench::report::{self, mib, Added, Cpu, Figures};
use crate::bench::{on_thread, REQUEST_BODY};

/// The deployment and the two targets the load goes to.
struct Plane {
    deploy: Deployment,
    direct: Arc<Target>,
    aigw: Arc<Target>,
}

/// How a run loads its target.
#[derive(Clone, Copy)]
enum Load {
    Open { rate: u32, duration: Duration },
    Closed { warmup: Duration, duration: Duration },
}

pub async fn run(args: &Args, bin_dir: &Path, figures: &mut Figures) -> anyhow::Result<()> {
    let deploy = match args.mode {
        Mode::Process => Deployment::start_processes(bin_dir, &args.config_extra).await?,
        Mode::InProcess => Deployment::start_in_process(&args.config_extra).await?,
    };
    tokio::time::sleep(SETTLE).await;
    println!("\n== aigw at rest ==");
    match deploy.aigw_memory()? {
        Some(m) => {
            println!("  idle RSS of aigw {} (peak so far {})", mib(m.rss), mib(m.peak));
            figures.idle_rss = Some(m.rss);
        }
        None => println!("  idle RSS: n/a in process mode (aigw shares the bench process)"),
    }

    let body = Bytes::from_static(REQUEST_BODY.as_bytes());
    let plane = Plane {
        direct: Arc::new(Target::new(&deploy.direct_url(), body.clone())?),
        aigw: Arc::new(Target::new(&deploy.aigw_url(), body)?),
        deploy,
    };
    // Every request aigw answered; each one should be a row in its database.
    let mut answered = probe(&plane.deploy).await?;

    // Unreported warm-up: connections opened, pools filled, caches warm, on both arms.
    let warmup = Load::Open { rate: args.rates.first().copied().unwrap_or(1000), duration: args.warmup() };
    plane.measure(args, Arm::Direct, warmup).await?;
    answered += plane.measure(args, Arm::Aigw, warmup).await?.0.all_answered;

    if args.runs(Phase::Latency) {
        println!(
            "\n== Latency, open loop, {} s per arm per rate, {} connections (ms; cpu: µs of the serving process per request; other: cores used by processes outside the bench) ==",
            args.phase().as_secs(),
            args.connections
        );
        report::print_latency_header();
        for &rate in &args.rates {
            let measured = plane.interleaved(args, rate, args.phase()).await?;
            let ((d, d_cpu), (a, a_cpu)) = (&measured.direct, &measured.aigw);
            report::print_latency("direct", rate, d, d_cpu);
            report::print_latency("aigw", rate, a, a_cpu);
            answered += measured.aigw_answered;
            let added = Added::between(rate, d, a);
            added.print();
            if measured.rerun > 0 {
                println!(
                    "  {} pair(s) of {} ms slices run again: the generator stalled over {} ms (the machine, not an arm)",
                    measured.rerun,
                    SLICE.as_millis(),
                    GENERATOR_STALL.as_millis()
                );
            }
            figures.added.push(added);
        }
    }

    if args.runs(Phase::Max) {
        println!(
            "\n== Max throughput, closed loop, {} connections, {} s ==",
            args.max_connections,
            args.max_phase().as_secs()
        );
        let load = Load::Closed { warmup: args.warmup(), duration: args.max_phase() };
        let (d, d_cpu) = plane.measure(args, Arm::Direct, load).await?;
        let (a, a_cpu) = plane.measure(args, Arm::Aigw, load).await?;
        answered += a.all_answered;
        for (arm, run, cpu) in [("direct", &d, &d_cpu), ("aigw", &a, &a_cpu)] {
            println!(
                "  {arm:<7} {:>8.0} req/s   p50 {} ms  p99 {} ms  errors {}  cpu {} µs/req{}  other {:.2}",
                run.rate(),
                report::ms(run.latency.value_at_quantile(0.5)),
                report::ms(run.latency.value_at_quantile(0.99)),
                run.errors(),
                cpu.per_request(),
                cpu.writer_share(),
                cpu.foreign_cores
            );
        }
        println!("  aigw / direct: {:.1}%", 100.0 * a.rate() / d.rate().max(1.0));
        figures.max_direct = Some(d.rate());
        figures.max_aigw = Some(a.rate());
    }

    let deploy = plane.deploy;
    println!("\n== Records ==");
    let counts = deploy.flush().await?;
    let stored = db_count(deploy.db_path())?;
    let lost = answered as i64 - stored as i64;
    println!("  records written {stored} / requests {answered}, lost {lost}");
    println!(
        "  writer: written {} dropped {} rejected {} queued {}",
        counts.written, counts.dropped, counts.rejected, counts.queued
    );
    figures.records_lost = Some(lost);

    println!("\n== Memory ==");
    if let Some(m) = deploy.aigw_memory()? {
        println!("  aigw          RSS {} peak {}", mib(m.rss), mib(m.peak));
    }
    if let Some(m) = deploy.mock_memory()? {
        println!("  mock-provider RSS {} peak {}", mib(m.rss), mib(m.peak));
    }
    let me = memory(None)?;
    let what = match args.mode {
        Mode::Process => "load generator",
        Mode::InProcess => "load generator + aigw + mock",
    };
    println!("  bench ({what}) RSS {} peak {}", mib(me.rss), mib(me.peak));
    deploy.stop().await
}

/// Length of one open-loop slice: the arms take turns at this grain.
const SLICE: Duration = Duration::from_secs(1);

/// A pair of slices in which the generator itself was this late to send on an idle connection
/// is run again: the machine stopped the load generator (on the shared 2-core VM, stalls of
/// 100 ms come and go), which says nothing about either arm, yet one such stall in one arm's
/// slice moves that arm's p99 by tens of ms. Far above what two busy cores cost a runnable
/// thread under the kernel's fair scheduler (a few ms).
const GENERATOR_STALL: Duration = Duration::from_millis(20);

/// What `interleaved` measured: each arm's kept slices, and what the re-run pairs cost.
struct Interleaved {
    direct: (Run, Cpu),
    aigw: (Run, Cpu),
    /// Pairs of slices run again because the generator stalled in one of them.
    rerun: u32,
    /// Every answer aigw gave, in kept and re-run slices alike: each made a record.
    aigw_answered: u64,
}

impl Plane {
    /// Open loop at `rate` for `duration` per arm, in slices the arms take turns at (direct then
    /// aigw, then aigw then direct, ...), so that whatever else the machine does meanwhile falls
    /// on both arms alike instead of on whichever ran at that moment. A pair in which the
    /// generator stalled ([`GENERATOR_STALL`]) is run again, at most as many times as there are
    /// slices; the count is printed next to the figures.
    async fn interleaved(&self, args: &Args, rate: u32, duration: Duration) -> anyhow::Result<Interleaved> {
        let slices = (duration.as_secs_f64() / SLICE.as_secs_f64()).ceil().max(1.0) as u32;
        let mut arms = [(Run::new(), CpuSum::default()), (Run::new(), CpuSum::default())];
        let (mut kept, mut rerun, mut aigw_answered) = (0, 0, 0);
        while kept < slices {
            let order = if kept % 2 == 0 { [Arm::Direct, Arm::Aigw] } else { [Arm::Aigw, Arm::Direct] };
            let mut pair = Vec::with_capacity(order.len());
            for arm in order {
                let (run, cpu) = self.measure(args, arm, Load::Open { rate, duration: SLICE }).await?;
                if arm == Arm::Aigw {
                    aigw_answered += run.all_answered;
                }
                pair.push((arm, run, cpu));
            }
            if rerun < slices && pair.iter().any(|(_, run, _)| run.max_send_lag > GENERATOR_STALL) {
                rerun += 1;
                continue;
            }
            for (arm, run, cpu) in pair {
                let (total, sum) = &mut arms[usize::from(arm == Arm::Aigw)];
                sum.add(&cpu, run.all_answered);
                total.merge(&run);
            }
            kept += 1;
        }
        let [direct, aigw] = arms.map(|(run, sum)| (run, sum.mean()));
        Ok(Interleaved { direct, aigw, rerun, aigw_answered })
    }

    /// Runs `load` against `arm` on a generator thread, with the CPU it cost.
    async fn measure(&self, args: &Args, arm: Arm, load: Load) -> anyhow::Result<(Run, Cpu)> {
        let target = match arm {
            Arm::Direct => self.direct.clone(),
            Arm::Aigw => self.aigw.clone(),
        };
        let watched = self.deploy.watched();
        let before = cpu::snapshot(&watched);
        let run = match load {
            Load::Open { rate, duration } => {
                let conns = args.connections;
                on_thread("bench-open-loop", move || load::open_loop(target, rate, duration, conns)).await?
            }
            Load::Closed { warmup, duration } => {
                let conns = args.max_connections;
                on_thread("bench-closed-loop", move || load::closed_loop(target, conns, warmup, duration)).await?
            }
        };
        let usage = before.until(&cpu::snapshot(&watched));
        let per_request = |seconds: &[f64]| {
            let i = self.deploy.serving(arm)?;
            Some(seconds.get(i)? * 1e6 / run.all_answered.max(1) as f64)
        };
        let cpu = Cpu {
            serving_us_per_request: per_request(&usage.seconds),
            writer_us_per_request: per_request(&usage.writer_seconds).filter(|_| arm == Arm::Aigw),
            foreign_cores: usage.foreign_cores,
        };
        Ok((run, cpu))
    }
}

/// One request to each arm; checks both answer 200 and prints the body sizes. Returns the
/// number of requests aigw answered.
async fn probe(deploy: &Deployment) -> anyhow::Result<u64> {
    let headers = [("content-type", "application/json"), ("authorization", "Bearer sk-bench-client-key")];
    let direct = aigw_tests::send("POST", &deploy.direct_url(), &headers, REQUEST_BODY).await;
    let via = aigw_tests::send("POST", &deploy.aigw_url(), &headers, REQUEST_BODY).await;
    anyhow::ensure!(
        direct.status == 200 && via.status == 200,
        "probe failed: direct {} {}, aigw {} {}",
        direct.status,
        direct.text(),
        via.status,
        via.text()
    );
    if via.header("cf-aig-log-id").is_none() {
        println!("  NOTE: aigw answered without cf-aig-log-id: logging is off for this gateway");
    }
    println!(
        "  request body {} B; response body {} B direct, {} B through aigw",
        REQUEST_BODY.len(),
        direct.body.len(),
        via.body.len()
    );
    Ok(1)
}

/// [`Cpu`] figures of several runs, weighted by their answers.
#[derive(Default)]
struct CpuSum {
    serving_us: Option<f64>,
    writer_us: Option<f64>,
    foreign_cores: f64,
    answered: u64,
    runs: u32,
}

impl CpuSum {
    fn add(&mut self, cpu: &Cpu, answered: u64) {
        let weigh = |sum: Option<f64>, us: Option<f64>| us.map(|us| sum.unwrap_or(0.0) + us * answered as f64);
        self.serving_us = weigh(self.serving_us, cpu.serving_us_per_request);
        self.writer_us = weigh(self.writer_us, cpu.writer_us_per_request);
        self.foreign_cores += cpu.foreign_cores;
        self.answered += answered;
        self.runs += 1;
    }

    fn mean(&self) -> Cpu {
        let per = |sum: Option<f64>| sum.map(|s| s / self.answered.max(1) as f64);
        Cpu {
            serving_us_per_request: per(self.serving_us),
            writer_us_per_request: per(self.writer_us),
            foreign_cores: self.foreign_cores / f64::from(self.runs.max(1)),
        }
    }
}
