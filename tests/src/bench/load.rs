//! The load generators.
//!
//! Open loop (wrk2 style): request `i` is due at `t0 + i / rate`, whatever happened to earlier
//! requests. A pacer thread sleeps until each due time and hands it to connection `i % C`; the
//! connection sends it as soon as it is free. Latency runs from the *due* time, so a stall in the
//! system under test shows up as latency of every request that should have gone out meanwhile,
//! not as fewer requests (no coordinated omission).
//!
//! Closed loop: C connections each send their next request when the previous answer is read;
//! the completion rate is the maximum throughput.
//!
//! Both run on their own thread with a current-thread runtime, so the generator costs one core
//! at most and never shares a scheduler with an in-process gateway. Latency is wall-clock time,
//! so it is read from `std::time::Instant` directly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// An answer slower than this counts as an error and its connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Histogram range: 1 µs .. 60 s, in nanoseconds, 3 significant digits.
const HIST_LOW_NS: u64 = 1_000;
const HIST_HIGH_NS: u64 = 60_000_000_000;
/// The first due time is this far after the generator starts, so that the pacer is ready.
const START_DELAY: Duration = Duration::from_millis(20);

/// Where the load goes: one URL, one body, POSTed as JSON.
#[derive(Debug, Clone)]
pub struct Target {
    addr: SocketAddr,
    authority: String,
    path: String,
    body: Bytes,
}

impl Target {
    /// `url` is `http://IP:PORT/path`.
    pub fn new(url: &str, body: Bytes) -> anyhow::Result<Self> {
        let uri: http::Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
        let authority = uri.authority().context("URL without host")?.to_string();
        let addr = authority.parse().with_context(|| format!("{authority} is not IP:PORT"))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        Ok(Self { addr, authority, path, body })
    }

    fn request(&self) -> anyhow::Result<Request<Full<Bytes>>> {
        Ok(Request::post(self.path.as_str())
            .header(HOST, self.authority.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, "Bearer sk-bench-client-key")
            .body(Full::new(self.body.clone()))?)
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Run {
    /// ns from the due time (open loop) or the send (closed loop) to the last body byte.
    pub latency: Histogram<u64>,
    /// ns from the actual send to the last body byte.
    pub service: Histogram<u64>,
    /// Requests due (open loop) or started (closed loop).
    pub sent: u64,
    /// 2xx answers read whole.
    pub ok: u64,
    /// Answers with another status.
    pub bad_status: u64,
    /// No answer: connect, I/O or timeout errors.
    pub failed: u64,
    /// Largest delay between a due time and the send on an idle connection: the generator's
    /// own lateness (pacer wake-up, scheduling), which is part of the measured latency.
    pub max_send_lag: Duration,
    /// Time over which the answers counted in `ok + bad_status` arrived.
    pub elapsed: Duration,
    /// Every HTTP answer, warm-up and overrun of a closed loop included: each made a log record.
    pub all_answered: u64,
}

impl Run {
    pub fn new() -> Self {
        let hist = || {
            Histogram::new_with_bounds(HIST_LOW_NS, HIST_HIGH_NS, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds are valid"))
        };
        Self {
            latency: hist(),
            service: hist(),
            sent: 0,
            ok: 0,
            bad_status: 0,
            failed: 0,
            max_send_lag: Duration::ZERO,
            elapsed: Duration::ZERO,
            all_answered: 0,
        }
    }

    /// Adds `other`'s answers; `elapsed` adds up too (runs one after the other).
    pub fn merge(&mut self, other: &Run) {
        // Same bounds on both sides: `add` cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        self.sent += other.sent;
        self.ok += other.ok;
        self.bad_status += other.bad_status;
        self.failed += other.failed;
        self.max_send_lag = self.max_send_lag.max(other.max_send_lag);
        self.all_answered += other.all_answered;
        self.elapsed += other.elapsed;
    }

    fn record(&mut self, from: Instant, sent: Instant, done: Instant) {
        self.latency.saturating_record(nanos(done - from));
        self.service.saturating_record(nanos(done - sent));
    }

    /// Every request that got an HTTP answer (each one makes a log record in aigw).
    pub fn answered(&self) -> u64 {
        self.ok + self.bad_status
    }

    pub fn errors(&self) -> u64 {
        self.bad_status + self.failed
    }

    /// Answers per second.
    pub fn rate(&self) -> f64 {
        self.answered() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Sends `rate` requests per second for `duration` over `connections` keep-alive connections.
/// Blocking: call it on its own thread.
pub fn open_loop(target: Arc<Target>, rate: u32, duration: Duration, connections: usize) -> anyhow::Result<Run> {
    let total = (f64::from(rate) * duration.as_secs_f64()).round() as u64;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let senders = connect_all(&target, connections).await?;
        let mut due_tx = Vec::with_capacity(connections);
        let mut tasks = Vec::with_capacity(connections);
        for sender in senders {
            let (tx, rx) = mpsc::unbounded_channel::<Instant>();
            due_tx.push(tx);
            tasks.push(tokio::spawn(paced(target.clone(), sender, rx)));
        }
        let t0 = Instant::now() + START_DELAY;
        let pacer =
            std::thread::Builder::new().name("bench-pacer".into()).spawn(move || pace(t0, rate, total, due_tx))?;
        let mut run = Run::new();
        let mut last = t0;
        for task in tasks {
            let (part, last_done) = task.await?;
            run.merge(&part);
            last = last.max(last_done);
        }
        pacer.join().map_err(|_| anyhow::anyhow!("pacer thread panicked"))?;
        run.elapsed = last.saturating_duration_since(t0);
        Ok(run)
    })
}

/// Hands due time `t0 + i / rate` to connection `i % C`, sleeping until it comes.
fn pace(t0: Instant, rate: u32, total: u64, due: Vec<mpsc::UnboundedSender<Instant>>) {
    let step_ns = 1e9 / f64::from(rate.max(1));
    for i in 0..total {
        let at = t0 + Duration::from_nanos((i as f64 * step_ns) as u64);
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        // A closed receiver means its task gave up; the request is not counted as sent.
        let _ = due[(i % due.len() as u64) as usize].send(at);
    }
}

/// One connection of the open loop: sends each due request when it is free.
async fn paced(
    target: Arc<Target>,
    sender: SendRequest<Full<Bytes>>,
    mut due: mpsc::UnboundedReceiver<Instant>,
) -> (Run, Instant) {
    let mut run = Run::new();
    let mut sender = Some(sender);
    let mut last = Instant::now();
    while let Some(at) = due.recv().await {
        run.sent += 1;
        let sent = Instant::now();
        run.max_send_lag = run.max_send_lag.max(sent.saturating_duration_since(at));
        match exchange(&target, &mut sender).await {
            Some(ok) => {
                let done = Instant::now();
                run.all_answered += 1;
                run.record(at, sent, done);
                if ok {
                    run.ok += 1;
                } else {
                    run.bad_status += 1;
                }
                last = done;
            }
            None => run.failed += 1,
        }
    }
    (run, last)
}

/// Keeps `connections` requests in flight for `duration` and counts the answers that arrive after
/// `warmup`. Blocking: call it on its own thread.
pub fn closed_loop(
    target: Arc<Target>,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Run> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let senders = connect_all(&target, connections).await?;
        let start = Instant::now() + warmup;
        let end = start + duration;
        let tasks: Vec<_> = senders.into_iter().map(|s| tokio::spawn(looped(target.clone(), s, start, end))).collect();
        let mut run = Run::new();
        for task in tasks {
            run.merge(&task.await?);
        }
        run.elapsed = duration;
        Ok(run)
    })
}

async fn looped(target: Arc<Target>, sender: SendRequest<Full<Bytes>>, start: Instant, end: Instant) -> Run {
    let mut run = Run::new();
    let mut sender = Some(sender);
    loop {
        let sent = Instant::now();
        if sent >= end {
            return run;
        }
        let outcome = exchange(&target, &mut sender).await;
        let done = Instant::now();
        run.all_answered += u64::from(outcome.is_some());
        if sent < start || done > end {
            continue;
        }
        run.sent += 1;
        match outcome {
            Some(ok) => {
                run.record(sent, sent, done);
                if ok {
                    run.ok += 1;
                } else {
                    run.bad_status += 1;
                }
            }
            None => run.failed += 1,
        }
    }
}

async fn connect_all(target: &Target, connections: usize) -> anyhow::Result<Vec<SendRequest<Full<Bytes>>>> {
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        senders.push(connect(target).await?);
    }
    Ok(senders)
}

async fn connect(target: &Target) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(target.addr).await.with_context(|| format!("cannot connect to {}", target.addr))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends when its sender is dropped or the server closes it.
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request and reads the whole answer: `Some(true)` for 2xx, `Some(false)` for
/// another status, `None` when no answer came (the connection is then replaced on next use).
async fn exchange(target: &Target, sender: &mut Option<SendRequest<Full<Bytes>>>) -> Option<bool> {
    let attempt = async {
        if sender.is_none() {
            *sender = Some(connect(target).await?);
        }
        let s = sender.as_mut().context("no connection")?;
        s.ready().await?;
        let response = s.send_request(target.request()?).await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        anyhow::Ok(ok)
    };
    match tokio::time::timeout(REQUEST_TIMEOUT, attempt).await {
        Ok(Ok(ok)) => Some(ok),
        _ => {
            *sender = None;
            None
        }
    }
}
