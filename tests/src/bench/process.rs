//! Child processes (`aigw serve`, `mock-provider`), their memory, and the admin API.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

/// How long a child may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a child may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A child process that printed its ready line. Killed on drop if still running.
pub struct Spawned {
    name: &'static str,
    child: Child,
    /// Kept open so a late write to stdout does not fail in the child.
    _stdout: BufReader<ChildStdout>,
    stderr_path: PathBuf,
}

impl Spawned {
    /// Runs `command` (stderr to `stderr_path`) and waits for a stdout line starting with
    /// `ready_prefix`; returns the child and that line.
    pub fn start(
        name: &'static str,
        mut command: Command,
        ready_prefix: &str,
        stderr_path: &Path,
    ) -> anyhow::Result<(Self, String)> {
        let stderr = std::fs::File::create(stderr_path)?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {name} ({command:?})"))?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, rx) = mpsc::channel();
        let prefix = ready_prefix.to_string();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(None);
                        return;
                    }
                    Ok(_) if line.starts_with(&prefix) => {
                        let _ = tx.send(Some((reader, line.trim_end().to_string())));
                        return;
                    }
                    Ok(_) => {}
                }
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Some((stdout, line))) => {
                Ok((Self { name, child, _stdout: stdout, stderr_path: stderr_path.to_path_buf() }, line))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(stderr_path).unwrap_or_default();
                bail!("{name} did not get ready; its stderr:\n{log}")
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then SIGKILL if it has not exited within `STOP_TIMEOUT`. Blocking.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + STOP_TIMEOUT;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    let log = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
                    eprintln!("{} exited with {status}; stderr:\n{log}", self.name);
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop within {STOP_TIMEOUT:?}; killing it", self.name);
        Ok(())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The word after `key=` in a ready line such as `aigw ready proxy=http://.. admin=http://..`.
pub fn field(line: &str, key: &str) -> anyhow::Result<String> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
        .with_context(|| format!("no {key}= in {line:?}"))
}

/// Resident memory of a process, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// `VmRSS`: resident now, bytes.
    pub rss: u64,
    /// `VmHWM`: the peak resident size so far, bytes.
    pub peak: u64,
}

/// Memory of `pid`, or of this process for `None`.
pub fn memory(pid: Option<u32>) -> anyhow::Result<Memory> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let kb = |key: &str| -> anyhow::Result<u64> {
        let line = text.lines().find(|l| l.starts_with(key)).with_context(|| format!("no {key} in {path}"))?;
        let n: u64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse()?;
        Ok(n * 1024)
    };
    Ok(Memory { rss: kb("VmRSS:")?, peak: kb("VmHWM:")? })
}

/// The writer's counters as the admin API reports them.
#[derive(Debug, Clone, Copy, Default)]
pub struct WriterCounts {
    pub written: u64,
    pub dropped: u64,
    pub rejected: u64,
    pub queued: u64,
}

impl WriterCounts {
    pub fn from_json(v: &Value) -> Self {
        let n = |k: &str| v["writer"][k].as_u64().unwrap_or(0);
        Self { written: n("written"), dropped: n("dropped"), rejected: n("rejected"), queued: n("queued") }
    }
}

/// `POST {admin}/_aigw/flush`: waits until every record is committed, returns the counters.
pub async fn flush_over_http(admin: &str) -> anyhow::Result<WriterCounts> {
    let request = http::Request::post(format!("{admin}/_aigw/flush")).body(Full::new(Bytes::new()))?;
    let response = aigw_tests::client().request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        bail!("flush answered {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(WriterCounts::from_json(&serde_json::from_slice(&body)?))
}

/// Rows in `logs`, read through a read-only connection.
pub fn db_count(db: &Path) -> anyhow::Result<u64> {
    Ok(aigw_store::count_logs(&aigw_store::open_read(db)?)?)
}
