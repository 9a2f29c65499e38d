//! `aigw serve`: wire the store, writer, proxy and admin API together and run until a signal.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use aigw_core::SystemClock;
use aigw_proxy::{Gateways, LogContext, Providers, ProxyState};
use aigw_writer::{Writer, WriterHandle};
use anyhow::Context;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::load;

pub fn run(config_path: Option<&Path>) -> anyhow::Result<()> {
    init_tracing();
    let config = load::config(config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(config))
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

async fn serve(config: aigw_core::Config) -> anyhow::Result<()> {
    let pricing = load::pricing(&config)?;
    let providers = Providers::from_config(&config.providers, |k| std::env::var(k).ok())?;
    let gateways = Gateways::from_config(&config.accounts, &config.gateways);

    let conn = aigw_store::open_write(&config.storage.path)
        .with_context(|| format!("cannot open the database {}", config.storage.path.display()))?;
    let writer = Writer::start(aigw_store::LogInserter::new(conn)?, &config.writer)?;
    let sink = writer.handle();

    let log = LogContext {
        sink: Arc::new(sink.clone()),
        pricing: Arc::new(pricing),
        clock: Arc::new(SystemClock),
        max_body_bytes: config.capture.max_body_bytes,
    };
    let state = Arc::new(ProxyState::new(
        providers,
        gateways,
        log,
        config.proxy.max_request_bytes,
        config.proxy.upstream_timeout_ms,
    ));

    let proxy_listener = bind(config.proxy.listen, "proxy").await?;
    let admin_listener = bind(config.admin.listen, "admin").await?;
    let proxy_addr = proxy_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let grace = Duration::from_millis(config.proxy.shutdown_grace_ms);
    let proxy = tokio::spawn(aigw_proxy::serve(
        proxy_listener,
        state,
        stopped(stop_rx.clone()),
        grace,
    ));
    let admin_state = aigw_admin::AdminState {
        ops: Arc::new(WriterOps(sink.clone())),
    };
    let admin = tokio::spawn(async move {
        let app = aigw_admin::router(admin_state);
        axum::serve(admin_listener, app)
            .with_graceful_shutdown(stopped(stop_rx))
            .await
    });

    tracing::info!(proxy = %proxy_addr, admin = %admin_addr, db = %config.storage.path.display(), "aigw ready");
    // One machine-readable line on stdout, for scripts and tests that start aigw on port 0.
    println!("aigw ready proxy=http://{proxy_addr} admin=http://{admin_addr}");

    shutdown_signal().await;
    tracing::info!("shutdown requested: no new connections, draining in-flight requests");
    let _ = stop_tx.send(true);
    if let Err(e) = proxy.await {
        tracing::error!(error = %e, "proxy task failed");
    }
    match admin.await {
        Ok(Err(e)) => tracing::error!(error = %e, "admin server failed"),
        Err(e) => tracing::error!(error = %e, "admin task failed"),
        Ok(Ok(())) => {}
    }
    tokio::task::spawn_blocking(move || writer.shutdown()).await?;
    let stats = sink.stats();
    tracing::info!(
        written = stats.written,
        dropped = stats.dropped,
        rejected = stats.rejected,
        "log writer drained; bye"
    );
    Ok(())
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({what})"))
}

/// Resolves when the stop flag is raised.
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops aigw");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The admin API's view of the writer.
struct WriterOps(WriterHandle);

impl aigw_admin::Ops for WriterOps {
    fn stats(&self) -> Value {
        let s = self.0.stats();
        json!({ "queued": s.queued, "written": s.written, "dropped": s.dropped, "rejected": s.rejected, "batches": s.batches })
    }

    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.0.flush())
    }
}
