//! The mock provider handle and its accept loop.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::received::Received;
use crate::router;
use crate::state::{wait_shutdown, Shared};

/// How long the accept loop backs off after a failed accept (e.g. out of file descriptors),
/// so it does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(10);

/// How to start a [`MockProvider`].
#[derive(Clone, Debug)]
pub struct MockOptions {
    /// Keep every request for [`MockProvider::received`]. Benchmarks turn this off so memory
    /// does not grow with the request count; requests are still counted.
    pub record: bool,
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self { record: true, listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)) }
    }
}

/// A running mock provider. Serves until [`shutdown`](Self::shutdown) or drop; either ends
/// every connection, hung and paused requests included.
pub struct MockProvider {
    /// The bound address (the real port when asked for port 0).
    addr: SocketAddr,
    /// Shared with every connection: the recording, the gates.
    shared: Arc<Shared>,
    /// Set to `true` to stop; hung requests and paused streams watch it.
    shutdown: watch::Sender<bool>,
    /// The accept loop, which owns every connection task. `None` once shut down.
    accept: Option<JoinHandle<()>>,
}

impl MockProvider {
    /// Binds 127.0.0.1 on a free port, records requests, and serves in a spawned task.
    pub async fn start() -> io::Result<Self> {
        Self::start_with(MockOptions::default()).await
    }

    /// Binds `options.listen` and serves in a spawned task.
    pub async fn start_with(options: MockOptions) -> io::Result<Self> {
        let listener = TcpListener::bind(options.listen).await?;
        let addr = listener.local_addr()?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared::new(options.record, shutdown_rx.clone()));
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown_rx));
        Ok(Self { addr, shared, shutdown, accept: Some(accept) })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far, in arrival order (empty when not recording).
    pub fn received(&self) -> Vec<Received> {
        self.shared.received()
    }

    /// Resolves once at least `n` requests have arrived (whole body read).
    pub async fn wait_for_requests(&self, n: usize) {
        self.shared.wait_for_requests(n).await;
    }

    /// Opens gate `name`: streams sent with `x-mock-gate: NAME` that sent their first event
    /// continue, and later ones do not stop. A gate stays open.
    pub fn open_gate(&self, name: &str) {
        self.shared.open_gate(name);
    }

    /// Stops accepting, ends every connection and waits for the accept loop to finish.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(accept) = self.accept.take() {
            // The loop does not panic; a JoinError here could only be a cancellation.
            let _ = accept.await;
        }
    }
}

impl Drop for MockProvider {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(accept) = self.accept.take() {
            // Aborting the loop drops its JoinSet, which aborts every connection.
            accept.abort();
        }
    }
}

/// Accepts connections until shutdown. Each connection is a task in `connections`, reaped
/// as it ends and aborted when the loop ends.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let stop = wait_shutdown(shutdown);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                Err(_) => tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await,
            },
        }
    }
    connections.shutdown().await;
}

/// Serves one connection, HTTP/1.1 or h2c (told apart by the h2 preface).
async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    // Streams are written event by event; do not let Nagle hold the small frames back.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        async move { router::handle(&shared, req).await }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    // Errors here are the client's doing (reset, aborted stream) or an x-mock-abort-after;
    // either way the connection is over and there is nobody to tell.
    let _ = builder.serve_connection(TokioIo::new(stream), service).await;
}
