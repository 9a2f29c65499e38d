//! Memory per in-flight stream: a fresh aigw process in front of an in-process mock whose
//! streams stop after their first event until the bench opens the gate. With K streams held
//! open (each on its own client connection, and so its own upstream connection), aigw's
//! resident memory minus its memory just before, divided by K, is what one stream costs.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aigw_mock_provider::{MockOptions, MockProvider};
use anyhow::Context;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};

use crate::bench::deploy::{AigwProcess, SETTLE};
use crate::bench::process::{db_count, Memory, WriterCounts};

/// The gate every stream waits on.
const GATE: &str = "bench-streams";
/// Streams being opened at once (connect, send, first event); more would overflow accept queues.
const OPENING_AT_ONCE: usize = 64;
/// How long all streams may take to deliver their first event.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);
/// Plain (ungated) streams sent first, so one-time start-up costs are not counted per stream.
pub const WARMUP_STREAMS: usize = 20;
const STREAM_BODY: &str = r#"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"system","content":"You are a terse assistant."},{"role":"user","content":"Summarise the benefits of an AI gateway in one sentence."}]}"#;

#[derive(Debug, Clone, Copy)]
pub struct StreamsRun {
    pub streams: usize,
    /// Streams whose first event reached the client.
    pub opened: usize,
    /// Streams that then ended with `data: [DONE]`.
    pub completed: usize,
    /// aigw right after start.
    pub idle: Memory,
    /// aigw after a few warm-up requests, just before the streams open.
    pub before: Memory,
    /// aigw with every stream open.
    pub held: Memory,
    pub writer: WriterCounts,
    pub records: u64,
}

impl StreamsRun {
    /// Bytes of resident memory per open stream.
    pub fn per_stream(&self) -> f64 {
        self.held.rss.saturating_sub(self.before.rss) as f64 / self.opened.max(1) as f64
    }
}

pub async fn run(bin_dir: &Path, streams: usize, extra: &str) -> anyhow::Result<StreamsRun> {
    let mock = MockProvider::start_with(MockOptions { record: false, ..MockOptions::default() }).await?;
    let dir = tempfile::tempdir()?;
    let (bin, path, mock_url, extra) =
        (bin_dir.to_path_buf(), dir.path().to_path_buf(), mock.base_url(), extra.to_string());
    let aigw = tokio::task::spawn_blocking(move || AigwProcess::start(&bin, &path, &mock_url, &extra)).await??;
    tokio::time::sleep(SETTLE).await;
    let idle = aigw.memory()?;
    let url = crate::bench::deploy::chat_url(&aigw.proxy);
    for _ in 0..WARMUP_STREAMS {
        let reply = aigw_tests::send("POST", &url, &[("content-type", "application/json")], STREAM_BODY).await;
        anyhow::ensure!(reply.status == 200, "warm-up stream answered {}", reply.status);
    }
    tokio::time::sleep(SETTLE).await;
    let before = aigw.memory()?;

    let uri: http::Uri = url.parse()?;
    let authority = uri.authority().context("no authority")?.to_string();
    let addr: SocketAddr = authority.parse()?;
    let path = uri.path().to_string();
    let (release_tx, release) = watch::channel(false);
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel::<bool>();
    let opening = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = Vec::with_capacity(streams);
    for _ in 0..streams {
        let (authority, path, opening, opened_tx, release) =
            (authority.clone(), path.clone(), opening.clone(), opened_tx.clone(), release.clone());
        tasks.push(tokio::spawn(async move { hold_one(addr, &authority, &path, &opening, &opened_tx, release).await }));
    }
    drop(opened_tx);
    let mut opened = 0;
    let all_opened = async {
        for _ in 0..streams {
            match opened_rx.recv().await {
                Some(true) => opened += 1,
                Some(false) => {}
                None => break,
            }
        }
    };
    if tokio::time::timeout(OPEN_TIMEOUT, all_opened).await.is_err() {
        eprintln!("  streams: only {opened}/{streams} delivered a first event within {OPEN_TIMEOUT:?}");
    }
    tokio::time::sleep(SETTLE).await;
    let held = aigw.memory()?;

    mock.open_gate(GATE);
    let _ = release_tx.send(true);
    let mut completed = 0;
    for task in tasks {
        if matches!(task.await, Ok(Ok(true))) {
            completed += 1;
        }
    }
    let writer = aigw.flush().await?;
    let records = db_count(&aigw.db)?;
    aigw.stop().await?;
    mock.shutdown().await;
    Ok(StreamsRun { streams, opened, completed, idle, before, held, writer, records })
}

/// Opens one stream, reports its first event on `opened`, waits for `release`, reads the rest.
/// Returns whether the stream ended with `data: [DONE]`.
async fn hold_one(
    addr: SocketAddr,
    authority: &str,
    path: &str,
    opening: &Semaphore,
    opened: &mpsc::UnboundedSender<bool>,
    mut release: watch::Receiver<bool>,
) -> anyhow::Result<bool> {
    let first = async {
        let _permit = opening.acquire().await?;
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (mut sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
        let conn = tokio::spawn(conn);
        let request = http::Request::post(path)
            .header(HOST, authority)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, "Bearer sk-bench-client-key")
            .header("x-mock-gate", GATE)
            .body(Full::new(Bytes::from_static(STREAM_BODY.as_bytes())))?;
        let response = sender.send_request(request).await?;
        anyhow::ensure!(response.status() == 200, "stream answered {}", response.status());
        let mut body = response.into_body();
        let mut seen = Vec::new();
        while seen.is_empty() {
            let frame = body.frame().await.context("stream ended before its first event")??;
            if let Ok(data) = frame.into_data() {
                seen.extend_from_slice(&data);
            }
        }
        anyhow::Ok((body, seen, sender, conn))
    };
    let (mut body, mut seen, _sender, _conn) = match first.await {
        Ok(open) => {
            let _ = opened.send(true);
            open
        }
        Err(e) => {
            let _ = opened.send(false);
            return Err(e);
        }
    };
    let _ = release.wait_for(|r| *r).await;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            seen.extend_from_slice(&data);
        }
    }
    Ok(seen.ends_with(b"data: [DONE]\n\n"))
}
