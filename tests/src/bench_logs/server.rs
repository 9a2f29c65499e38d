//! The real admin router (`aigw_admin::router`) on `127.0.0.1:0`, in this process, and a hyper
//! client that keeps its one connection alive across the bench's sequential requests.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aigw_admin::{AdminState, Db, Ops};
use aigw_core::gateway::GatewaySpec;
use aigw_core::SystemClock;
use anyhow::Context;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::data::{ACCOUNT, GATEWAY};
use super::load::TOKEN;

/// No data plane in this process: nothing to flush or notify.
struct BenchOps;

impl Ops for BenchOps {
    fn stats(&self) -> Value {
        json!({})
    }
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async {})
    }
    fn gateway_changed(&self, _: &str, _: &str, _: Option<&GatewaySpec>) {}
}

/// One answer: how long it took (request sent to last body byte read), status, body.
pub struct Answer {
    pub elapsed: Duration,
    pub status: u16,
    pub body: Bytes,
}

pub struct Api {
    pub addr: SocketAddr,
    client: Client<HttpConnector, Empty<Bytes>>,
    bearer: String,
    task: JoinHandle<()>,
}

impl Api {
    pub async fn start(db_path: &Path) -> anyhow::Result<Self> {
        let db = Db::open(db_path).with_context(|| format!("cannot open {}", db_path.display()))?;
        let state = AdminState { db, clock: Arc::new(SystemClock), ops: Arc::new(BenchOps), head_bytes: 1024 };
        let app = aigw_admin::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("bench_logs: admin server stopped: {e}");
            }
        });
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(1).build(connector);
        Ok(Api { addr, client, bearer: format!("Bearer {TOKEN}"), task })
    }

    /// `.../gateways/{g}/logs?{query}` of the bench's gateway.
    pub fn logs_uri(&self, query: &str) -> String {
        format!("http://{}/client/v4/accounts/{ACCOUNT}/ai-gateway/gateways/{GATEWAY}/logs?{query}", self.addr)
    }

    pub async fn send(&self, method: Method, uri: &str) -> anyhow::Result<Answer> {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(http::header::AUTHORIZATION, &self.bearer)
            .body(Empty::<Bytes>::new())?;
        let started = Instant::now();
        let res = self.client.request(req).await?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await?.to_bytes();
        Ok(Answer { elapsed: started.elapsed(), status, body })
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.task.abort();
    }
}
