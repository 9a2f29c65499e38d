//! Test harness: the whole gateway in-process on `127.0.0.1:0`, in front of the mock provider,
//! with its own SQLite database in a temporary directory.
//!
//! Tests talk to it over real HTTP, wait on explicit signals (`flush`, `stop`) and read back what
//! the writer stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aigw_core::{Config, FixedClock, PriceTable};
use aigw_mock_provider::MockProvider;
use aigw_proxy::{Gateways, LogContext, Providers, ProxyState};
use aigw_store::StoredLog;
use aigw_writer::{Writer, WriterHandle};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Fake provider keys the gateway holds; tests check they reach the mock and nothing else.
pub const OPENAI_KEY: &str = "sk-gateway-openai-key";
pub const ANTHROPIC_KEY: &str = "sk-ant-gateway-key";
pub const GEMINI_KEY: &str = "gemini-gateway-key";

pub const ACCOUNT: &str = "acct";

pub struct Gateway {
    pub mock: MockProvider,
    pub addr: SocketAddr,
    pub sink: WriterHandle,
    pub db_path: std::path::PathBuf,
    pub clock: Arc<FixedClock>,
    /// The data plane's state: its virtual keys and gateways, and `aigw_proxy::handle` in-process.
    pub state: Arc<ProxyState>,
    stop: watch::Sender<bool>,
    server: Option<JoinHandle<()>>,
    writer: Option<Writer>,
    _dir: tempfile::TempDir,
}

/// Settings a test may change before the gateway starts.
pub struct Options {
    pub config: Config,
    pub grace: Duration,
}

impl Gateway {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Options)) -> Self {
        let mock = MockProvider::start().await.unwrap();
        let mut options = Options { config: test_config(&mock.base_url()), grace: Duration::from_secs(5) };
        adjust(&mut options);
        let config = options.config;
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("aigw.db");
        let writer = Writer::start(
            aigw_store::LogInserter::new(aigw_store::open_write(&db_path).unwrap()).unwrap(),
            &config.writer,
        )
        .unwrap();
        let sink = writer.handle();
        let env = |k: &str| match k {
            "OPENAI_API_KEY" => Some(OPENAI_KEY.to_string()),
            "ANTHROPIC_API_KEY" => Some(ANTHROPIC_KEY.to_string()),
            "GEMINI_API_KEY" => Some(GEMINI_KEY.to_string()),
            _ => None,
        };
        let providers = Providers::from_config(&config.providers, env).unwrap();
        let clock = Arc::new(FixedClock::new(1_763_800_000_000));
        let log = LogContext::new(
            Arc::new(sink.clone()),
            Arc::new(test_prices()),
            clock.clone(),
            config.capture.max_body_bytes,
        );
        let state = Arc::new(ProxyState::new(
            providers,
            Gateways::from_config(&config.accounts, &config.gateways),
            log,
            config.proxy.max_request_bytes,
            config.proxy.upstream_timeout_ms,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = watch::channel(false);
        let grace = options.grace;
        let proxy_state = state.clone();
        let server = tokio::spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            aigw_proxy::serve(listener, state, signal, grace).await;
        });
        Gateway {
            mock,
            addr,
            sink,
            db_path,
            clock,
            state: proxy_state,
            stop,
            server: Some(server),
            writer: Some(writer),
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT/v1/acct/{gateway}/{provider}`: what an SDK's base URL is set to.
    pub fn base_url(&self, gateway: &str, provider: &str) -> String {
        format!("http://{}/v1/{ACCOUNT}/{gateway}/{provider}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until every record submitted so far is committed.
    pub async fn flush(&self) {
        self.sink.flush().await;
    }

    pub fn log(&self, id: &str) -> StoredLog {
        let conn = aigw_store::open_read(&self.db_path).unwrap();
        aigw_store::get_log(&conn, id).unwrap().unwrap_or_else(|| panic!("no log {id}"))
    }

    pub fn count(&self) -> u64 {
        aigw_store::count_logs(&aigw_store::open_read(&self.db_path).unwrap()).unwrap()
    }

    /// Graceful stop: the listener closes, in-flight requests get the grace, the writer drains.
    pub async fn stop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
        if let Some(writer) = self.writer.take() {
            tokio::task::spawn_blocking(move || writer.shutdown()).await.unwrap();
        }
    }

    /// Starts the graceful stop without waiting for it.
    pub fn begin_stop(&self) {
        let _ = self.stop.send(true);
    }
}

pub fn test_config(mock: &str) -> Config {
    let text = format!(
        r#"
        [proxy]
        listen = "127.0.0.1:0"
        [admin]
        listen = "127.0.0.1:0"
        [storage]
        path = "unused"
        [writer]
        batch_delay_ms = 5
        [[accounts]]
        id = "{ACCOUNT}"
        [[gateways]]
        account = "{ACCOUNT}"
        id = "quiet"
        collect_logs = false
        [providers.openai]
        base_url = "{mock}/v1"
        [providers.anthropic]
        base_url = "{mock}"
        [providers.google-ai-studio]
        base_url = "{mock}"
        [providers.groq]
        base_url = "{mock}/openai/v1"
        [providers.mistral]
        base_url = "{mock}/v1"
        [providers.azure-openai]
        base_url = "{mock}/azure"
        [providers.vllm]
        base_url = "{mock}/v1"
        "#
    );
    Config::from_toml(&text).unwrap()
}

/// A small price table with round numbers, so tests can compute costs by hand.
pub fn test_prices() -> PriceTable {
    PriceTable::from_toml(
        r#"
        [[models]]
        provider = "openai"
        model = "gpt-4o-mini"
        input = 1.0
        output = 2.0
        cached_input = 0.5
        [[models]]
        provider = "anthropic"
        model = "claude-sonnet-4"
        input = 3.0
        output = 15.0
        cached_input = 0.3
        cache_write = 3.75
        [[models]]
        provider = "google-ai-studio"
        model = "gemini-2.0-flash"
        input = 0.1
        output = 0.4
        cached_input = 0.025
        "#,
    )
    .unwrap()
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// A plain response read whole.
pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn log_id(&self) -> String {
        self.header("cf-aig-log-id").expect("cf-aig-log-id").to_string()
    }
}

/// Sends a request and reads the whole response.
pub async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = client().request(req.body(Full::new(body.into())).unwrap()).await.unwrap();
    let (parts, body) = res.into_parts();
    Reply { status: parts.status.as_u16(), headers: parts.headers, body: body.collect().await.unwrap().to_bytes() }
}

pub async fn post_json(url: &str, headers: &[(&str, &str)], body: serde_json::Value) -> Reply {
    let mut all = vec![("content-type", "application/json")];
    all.extend_from_slice(headers);
    send("POST", url, &all, body.to_string()).await
}
