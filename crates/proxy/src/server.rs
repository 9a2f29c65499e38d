//! The listener: HTTP/1.1 and h2c on one port, with graceful shutdown.
//!
//! On shutdown the listener stops accepting, idle connections close, and in-flight requests and
//! streams get `grace` to finish. Whatever is still open after that is dropped; its bodies finish
//! their log records as interrupted, so even those are recorded.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::handler::handle;
use crate::state::ProxyState;

/// Pause after a failed accept (e.g. out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// After the grace, how long cut-off requests get to finish their records.
const CUT_OFF_SETTLE: Duration = Duration::from_secs(2);

/// Serves the data plane on `listener` until `shutdown` resolves, then drains for `grace`.
pub async fn serve(listener: TcpListener, state: Arc<ProxyState>, shutdown: impl Future<Output = ()>, grace: Duration) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: log, back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(state, req).await) }
                });
                let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                let conn = graceful.watch(conn);
                connections.spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
                while connections.try_join_next().is_some() {}
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(open_connections = connections.len(), "proxy stopping; letting in-flight requests finish");
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            grace_ms = grace.as_millis() as u64,
            "in-flight requests outlived the shutdown grace; closing them"
        );
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
    // h2 streams run on tasks of their own: wait until every admitted exchange has finished its
    // record, so the writer's drain that follows sees them all.
    if tokio::time::timeout(CUT_OFF_SETTLE, state.log.wait_idle()).await.is_err() {
        tracing::warn!(in_flight = state.log.in_flight(), "requests still unfinished after shutdown");
    }
}
