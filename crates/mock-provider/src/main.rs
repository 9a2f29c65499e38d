//! `mock-provider [--listen ADDR] [--no-record]`: runs the mock provider until SIGTERM or
//! SIGINT. Prints one line, `listening http://ADDR`, once it accepts connections.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use aigw_mock_provider::{MockOptions, MockProvider};

const USAGE: &str = "usage: mock-provider [--listen 127.0.0.1:0] [--no-record]";

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("mock-provider: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mock = match MockProvider::start_with(options).await {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("mock-provider: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "listening {}", mock.base_url()).and_then(|()| stdout.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    drop(stdout);
    if let Err(e) = stop_signal().await {
        eprintln!("mock-provider: cannot wait for signals: {e}");
        return ExitCode::FAILURE;
    }
    mock.shutdown().await;
    ExitCode::SUCCESS
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<MockOptions, String> {
    let mut options = MockOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                let value = args.next().ok_or("--listen needs an address")?;
                options.listen = value.parse::<SocketAddr>().map_err(|e| format!("bad --listen {value:?}: {e}"))?;
            }
            "--no-record" => options.record = false,
            "-h" | "--help" => return Err("help requested".into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

/// Resolves on SIGINT, or SIGTERM on Unix.
async fn stop_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
