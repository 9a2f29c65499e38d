//! The system under test: aigw in front of the mock provider, either as two child processes
//! (the default, as in production) or inside the bench process.
//!
//! Either way aigw runs with its shipped defaults (capture, writer, price table), logging on, a
//! real SQLite file in a temporary directory, and account `bench`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aigw_core::{Config, PriceTable, SystemClock};
use aigw_mock_provider::{MockOptions, MockProvider};
use aigw_proxy::{Gateways, LogContext, Providers, ProxyState};
use aigw_writer::{Writer, WriterHandle};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bench::process::{self, field, Memory, Spawned, WriterCounts};

/// The shipped price table, as the binary loads it.
const PRICING: &str = include_str!("../../../config/pricing.toml");
/// Lets a fresh process finish its start-up allocations before its idle memory is read.
pub const SETTLE: Duration = Duration::from_millis(500);

/// The account the bench's requests name.
pub const ACCOUNT: &str = "bench";

/// aigw's configuration: everything default but the addresses, the database and the provider.
/// `extra` is appended verbatim (`--config-extra`).
pub fn config_toml(mock: &str, db: &Path, extra: &str) -> String {
    format!(
        r#"
[proxy]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[storage]
path = "{}"
[[accounts]]
id = "{ACCOUNT}"
[providers.openai]
base_url = "{mock}/v1"
{extra}
"#,
        db.display()
    )
}

/// `{proxy}/v1/bench/default/openai/chat/completions`.
pub fn chat_url(proxy: &str) -> String {
    format!("{proxy}/v1/{ACCOUNT}/default/openai/chat/completions")
}

/// `aigw serve` in its own process.
pub struct AigwProcess {
    process: Spawned,
    pub proxy: String,
    pub admin: String,
    pub db: PathBuf,
}

impl AigwProcess {
    /// Writes a config into `dir` and starts `{bin_dir}/aigw serve` with it.
    pub fn start(bin_dir: &Path, dir: &Path, mock: &str, extra: &str) -> anyhow::Result<Self> {
        let db = dir.join("aigw.db");
        let config = dir.join("aigw.toml");
        std::fs::write(&config, config_toml(mock, &db, extra))?;
        let mut command = Command::new(bin_dir.join("aigw"));
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .env_remove("AIGW_CONFIG")
            .env_remove("AIGW_PROXY_LISTEN")
            .env_remove("AIGW_ADMIN_LISTEN")
            .env_remove("AIGW_DB_PATH")
            .env_remove("OPENAI_API_KEY");
        let (process, line) = Spawned::start("aigw", command, "aigw ready", &dir.join("aigw.stderr"))?;
        Ok(Self { proxy: field(&line, "proxy")?, admin: field(&line, "admin")?, process, db })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        process::memory(Some(self.pid()))
    }

    pub async fn flush(&self) -> anyhow::Result<WriterCounts> {
        process::flush_over_http(&self.admin).await
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        tokio::task::spawn_blocking(move || self.process.stop()).await?
    }
}

/// Where a request goes: straight to the mock, or through aigw to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arm {
    Direct,
    Aigw,
}

/// aigw and the mock in processes of their own.
pub struct Processes {
    mock: Spawned,
    mock_url: String,
    aigw: AigwProcess,
    _dir: tempfile::TempDir,
}

/// aigw and the mock, wherever they run.
pub enum Deployment {
    Processes(Box<Processes>),
    InProcess(Box<InProcess>),
}

impl Deployment {
    pub async fn start_processes(bin_dir: &Path, extra: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut command = Command::new(bin_dir.join("mock-provider"));
        command.args(["--listen", "127.0.0.1:0", "--no-record"]);
        let (mock, line) = Spawned::start("mock-provider", command, "listening ", &dir.path().join("mock.stderr"))?;
        let mock_url = line.trim_start_matches("listening ").to_string();
        let aigw = AigwProcess::start(bin_dir, dir.path(), &mock_url, extra)?;
        Ok(Self::Processes(Box::new(Processes { mock, mock_url, aigw, _dir: dir })))
    }

    pub async fn start_in_process(extra: &str) -> anyhow::Result<Self> {
        Ok(Self::InProcess(Box::new(InProcess::start(extra).await?)))
    }

    /// The mock's chat completions URL.
    pub fn direct_url(&self) -> String {
        match self {
            Self::Processes(p) => format!("{}/v1/chat/completions", p.mock_url),
            Self::InProcess(g) => format!("{}/v1/chat/completions", g.mock.base_url()),
        }
    }

    /// The same endpoint through aigw.
    pub fn aigw_url(&self) -> String {
        match self {
            Self::Processes(p) => chat_url(&p.aigw.proxy),
            Self::InProcess(g) => chat_url(&format!("http://{}", g.addr)),
        }
    }

    /// Processes whose CPU time is watched: this one first, then aigw and the mock when they
    /// have their own.
    pub fn watched(&self) -> Vec<Option<u32>> {
        match self {
            Self::Processes(p) => vec![None, Some(p.aigw.pid()), Some(p.mock.pid())],
            Self::InProcess(_) => vec![None],
        }
    }

    /// Index in [`watched`](Self::watched) of the process that serves `arm`'s requests.
    pub fn serving(&self, arm: Arm) -> Option<usize> {
        match (self, arm) {
            (Self::Processes(_), Arm::Aigw) => Some(1),
            (Self::Processes(_), Arm::Direct) => Some(2),
            (Self::InProcess(_), _) => None,
        }
    }

    /// aigw's memory; `None` in process when aigw has no process of its own.
    pub fn aigw_memory(&self) -> anyhow::Result<Option<Memory>> {
        match self {
            Self::Processes(p) => p.aigw.memory().map(Some),
            Self::InProcess(_) => Ok(None),
        }
    }

    pub fn mock_memory(&self) -> anyhow::Result<Option<Memory>> {
        match self {
            Self::Processes(p) => process::memory(Some(p.mock.pid())).map(Some),
            Self::InProcess(_) => Ok(None),
        }
    }

    /// Waits until every record is committed; returns the writer's counters.
    pub async fn flush(&self) -> anyhow::Result<WriterCounts> {
        match self {
            Self::Processes(p) => p.aigw.flush().await,
            Self::InProcess(g) => {
                g.sink.flush().await;
                let s = g.sink.stats();
                Ok(WriterCounts {
                    written: s.written,
                    dropped: s.dropped,
                    rejected: s.rejected,
                    queued: s.queued as u64,
                })
            }
        }
    }

    pub fn db_path(&self) -> &Path {
        match self {
            Self::Processes(p) => &p.aigw.db,
            Self::InProcess(g) => &g.db,
        }
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        match self {
            Self::Processes(p) => {
                let Processes { mock, aigw, .. } = *p;
                aigw.stop().await?;
                tokio::task::spawn_blocking(move || mock.stop()).await?
            }
            Self::InProcess(g) => g.stop().await,
        }
    }
}

/// aigw built as `aigw serve` builds it, served on this process's runtime.
pub struct InProcess {
    mock: MockProvider,
    addr: std::net::SocketAddr,
    sink: WriterHandle,
    writer: Writer,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl InProcess {
    async fn start(extra: &str) -> anyhow::Result<Self> {
        let mock = MockProvider::start_with(MockOptions { record: false, ..MockOptions::default() }).await?;
        let dir = tempfile::tempdir()?;
        let db = dir.path().join("aigw.db");
        let config = Config::from_toml(&config_toml(&mock.base_url(), &db, extra))?;
        let writer = Writer::start(aigw_store::LogInserter::new(aigw_store::open_write(&db)?)?, &config.writer)?;
        let sink = writer.handle();
        let log = LogContext::new(
            Arc::new(sink.clone()),
            Arc::new(PriceTable::from_toml(PRICING)?),
            Arc::new(SystemClock),
            config.capture.max_body_bytes,
        );
        let state = Arc::new(ProxyState::new(
            Providers::from_config(&config.providers, |_| None)?,
            Gateways::from_config(&config.accounts, &config.gateways),
            log,
            config.proxy.max_request_bytes,
            config.proxy.upstream_timeout_ms,
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let grace = Duration::from_millis(config.proxy.shutdown_grace_ms);
        let server = tokio::spawn(async move {
            let signal = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            aigw_proxy::serve(listener, state, signal, grace).await;
        });
        Ok(Self { mock, addr, sink, writer, stop, server, db, _dir: dir })
    }

    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.server.await?;
        let writer = self.writer;
        tokio::task::spawn_blocking(move || writer.shutdown()).await?;
        self.mock.shutdown().await;
        Ok(())
    }
}
