//! `aigw tokens` leaves audit records, and `aigw audit verify` names the record someone edited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn aigw(config: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aigw"));
    for var in ["AIGW_CONFIG", "AIGW_PROXY_LISTEN", "AIGW_ADMIN_LISTEN", "AIGW_DB_PATH", "AIGW_ADMIN_TOKEN"] {
        cmd.env_remove(var);
    }
    cmd.args(args).arg("--config").arg(config).output().unwrap()
}

fn setup(dir: &Path) -> (PathBuf, PathBuf) {
    let db = dir.join("aigw.db");
    let config = dir.join("aigw.toml");
    let default = include_str!("../../../config/aigw.toml");
    assert!(default.contains("path = \"data/aigw.db\""));
    let toml = default.replace("path = \"data/aigw.db\"", &format!("path = {:?}", db.display().to_string()))
        + "\n[[accounts]]\nid = \"acct\"\nname = \"Acme\"\n";
    std::fs::write(&config, toml).unwrap();
    (config, db)
}

#[test]
fn token_commands_are_audited_and_verify_names_an_edited_record() {
    let dir = tempfile::tempdir().unwrap();
    let (config, db) = setup(dir.path());
    let created = aigw(&config, &["tokens", "create", "--name", "ci", "--account", "acct"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let secret = String::from_utf8(created.stdout).unwrap().trim().to_string();
    let conn = rusqlite::Connection::open(&db).unwrap();
    let token_id: String = conn.query_row("SELECT id FROM api_tokens", [], |r| r.get(0)).unwrap();
    let revoked = aigw(&config, &["tokens", "revoke", &token_id]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));

    let rows: Vec<(String, String, String, String, Option<String>)> = conn
        .prepare("SELECT id, action_description, actor_id, account_name, resource_id FROM audit_log ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let summary: Vec<(&str, &str, &str, Option<&str>)> =
        rows.iter().map(|r| (r.1.as_str(), r.2.as_str(), r.3.as_str(), r.4.as_deref())).collect();
    assert_eq!(
        summary,
        [
            ("Create token", "cli", "Acme", Some(token_id.as_str())),
            ("Revoke token", "cli", "Acme", Some(token_id.as_str()))
        ]
    );
    let dump: String = conn
        .query_row(
            "SELECT group_concat(coalesce(resource_request, '') || coalesce(resource_response, '')) FROM audit_log",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!dump.contains(&secret), "the secret is not in the trail");

    let ok = aigw(&config, &["audit", "verify"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("2 records in 1 accounts"));

    conn.execute_batch("DROP TRIGGER audit_log_no_update").unwrap();
    conn.execute("UPDATE audit_log SET actor_id = 'someone-else' WHERE id = ?1", [&rows[0].0]).unwrap();
    let bad = aigw(&config, &["audit", "verify"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(&rows[0].0) && err.contains("edited"), "{err}");
}
