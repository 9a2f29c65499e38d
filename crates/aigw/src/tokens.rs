//! `aigw tokens create|list|revoke`: admin API tokens, straight on the database file. The secret
//! is printed once; only its hash is stored.

use std::path::Path;

use aigw_admin::auth::{hash_secret, new_token_secret};
use aigw_core::{Clock, SystemClock};
use aigw_store::tokens::{Access, ApiToken};
use anyhow::{bail, Context};

use crate::load;

pub struct CreateArgs {
    pub account: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub read_only: bool,
}

pub fn create(config_path: Option<&Path>, args: CreateArgs) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let account = match args.account {
        Some(a) => a,
        None => config.accounts.first().map(|a| a.id.clone()).context("the configuration has no [[accounts]]")?,
    };
    if !config.accounts.iter().any(|a| a.id == account) {
        bail!("account {account:?} is not in the configuration's [[accounts]]");
    }
    let secret = new_token_secret().map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    let token = ApiToken {
        id: uuid::Uuid::new_v4().simple().to_string(),
        account_id: account,
        name: args.name,
        email: args.email,
        access: if args.read_only { Access::Read } else { Access::Write },
        secret_hash: hash_secret(&secret),
        created_at_ms: SystemClock.now_ms(),
        last_used_at_ms: None,
        revoked_at_ms: None,
    };
    let conn = aigw_store::open_write(&config.storage.path)?;
    aigw_store::tokens::insert_token(&conn, &token)?;
    eprintln!(
        "created token {} ({}, {} access, account {}); the secret is shown only now:",
        token.id,
        token.name,
        token.access.as_str(),
        token.account_id
    );
    println!("{secret}");
    Ok(())
}

pub fn list(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let conn = aigw_store::open_write(&config.storage.path)?;
    println!("{:<34} {:<12} {:<6} {:<8} NAME", "ID", "ACCOUNT", "ACCESS", "STATE");
    for t in aigw_store::tokens::list_tokens(&conn, None)? {
        let state = if t.revoked_at_ms.is_some() { "revoked" } else { "active" };
        println!("{:<34} {:<12} {:<6} {:<8} {}", t.id, t.account_id, t.access.as_str(), state, t.name);
    }
    Ok(())
}

pub fn revoke(config_path: Option<&Path>, id: &str) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let conn = aigw_store::open_write(&config.storage.path)?;
    if !aigw_store::tokens::revoke_token(&conn, id, SystemClock.now_ms())? {
        bail!("no active token with id {id:?}");
    }
    eprintln!("revoked token {id}");
    Ok(())
}

/// The token named by `AIGW_ADMIN_TOKEN` (first start, docker), created with write access on the
/// first account if it is not stored yet.
pub fn ensure_env_token(conn: &rusqlite::Connection, config: &aigw_core::Config, secret: &str) -> anyhow::Result<()> {
    let hash = hash_secret(secret);
    if aigw_store::tokens::find_token(conn, &hash)?.is_some() {
        return Ok(());
    }
    let account =
        config.accounts.first().map(|a| a.id.clone()).context("AIGW_ADMIN_TOKEN needs an [[accounts]] entry")?;
    let token = ApiToken {
        id: uuid::Uuid::new_v4().simple().to_string(),
        account_id: account,
        name: "AIGW_ADMIN_TOKEN".into(),
        email: std::env::var("AIGW_ADMIN_EMAIL").ok().filter(|e| !e.is_empty()),
        access: Access::Write,
        secret_hash: hash,
        created_at_ms: SystemClock.now_ms(),
        last_used_at_ms: None,
        revoked_at_ms: None,
    };
    aigw_store::tokens::insert_token(conn, &token)?;
    tracing::info!(token_id = %token.id, account = %token.account_id, "admin token from AIGW_ADMIN_TOKEN stored (as a hash)");
    Ok(())
}
