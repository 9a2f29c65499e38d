//! The binary's command line: configuration errors are clear and name what is wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn aigw() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aigw"));
    cmd.env_remove("AIGW_CONFIG")
        .env_remove("AIGW_PROXY_LISTEN")
        .env_remove("AIGW_ADMIN_LISTEN")
        .env_remove("AIGW_DB_PATH");
    cmd
}

#[test]
fn check_accepts_the_embedded_default_config() {
    let out = aigw().arg("check").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("configuration ok"));
    assert!(text.contains("http://127.0.0.1:8080"));
    assert!(text.contains("openai"));
}

#[test]
fn an_unknown_key_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aigw.toml");
    let default = include_str!("../../../config/aigw.toml");
    std::fs::write(&path, default.replace("collect_logs = true", "colect_logs = true")).unwrap();
    let out = aigw().args(["check", "--config"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("colect_logs"), "{err}");
    assert!(err.contains(path.to_str().unwrap()), "names the file: {err}");
}

#[test]
fn environment_overrides_apply_and_bad_values_are_named() {
    let out = aigw()
        .arg("check")
        .env("AIGW_PROXY_LISTEN", "0.0.0.0:9999")
        .env("AIGW_DB_PATH", "/tmp/x/aigw.db")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("http://0.0.0.0:9999") && text.contains("/tmp/x/aigw.db"), "{text}");
    let out = aigw().arg("check").env("AIGW_ADMIN_LISTEN", "not-an-address").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AIGW_ADMIN_LISTEN"));
    let out = aigw().arg("check").env("AIGW_CONFIG", "/nonexistent/aigw.toml").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/aigw.toml"));
}

#[test]
fn health_fails_when_nothing_answers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = aigw().args(["health", "--url", &format!("http://127.0.0.1:{port}/healthz")]).output().unwrap();
    assert!(!out.status.success());
}
