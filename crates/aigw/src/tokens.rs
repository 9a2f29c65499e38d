//! `aigw tokens create|list|revoke`: admin API tokens, straight on the database file. The secret
//! is printed once; only its hash is stored. Creating and revoking are audited (actor `cli`, or
//! `aigw` for the `AIGW_ADMIN_TOKEN` stored at start-up) in the transaction of the change.

use std::path::Path;

use aigw_admin::auth::{hash_secret, new_token_secret};
use aigw_core::audit::{product, ActionType, AuditActor, AuditResource};
use aigw_core::{Clock, SystemClock};
use aigw_store::tokens::{Access, ApiToken};
use anyhow::{bail, Context};
use rusqlite::TransactionBehavior;
use serde_json::{json, Value};

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
    let mut command = format!("aigw tokens create --name {:?} --account {:?}", token.name, token.account_id);
    if let Some(email) = &token.email {
        command.push_str(&format!(" --email {email:?}"));
    }
    if args.read_only {
        command.push_str(" --read-only");
    }
    let resource = AuditResource::new(product::TOKENS, "token", Some(&token.id)).with_request(json!({
        "name": token.name, "account": token.account_id, "email": token.email, "read_only": args.read_only,
    }));
    let record =
        crate::audit::cli_record(&config, &token.account_id, ActionType::Create, "Create token", resource, &command)
            .with_response(token_json(&token));
    let mut conn = aigw_store::open_write(&config.storage.path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    aigw_store::audit::append_with(&tx, record, |c, _| aigw_store::tokens::insert_token(c, &token))?;
    tx.commit()?;
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
    let mut conn = aigw_store::open_write(&config.storage.path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let token =
        aigw_store::tokens::list_tokens(&tx, None)?.into_iter().find(|t| t.id == id && t.revoked_at_ms.is_none());
    let Some(token) = token else {
        bail!("no active token with id {id:?}");
    };
    let resource = AuditResource::new(product::TOKENS, "token", Some(id));
    let command = format!("aigw tokens revoke {id:?}");
    let record =
        crate::audit::cli_record(&config, &token.account_id, ActionType::Delete, "Revoke token", resource, &command)
            .with_response(token_json(&token));
    aigw_store::audit::append_with(&tx, record, |c, _| aigw_store::tokens::revoke_token(c, id, SystemClock.now_ms()))?;
    tx.commit()?;
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
    let resource = AuditResource::new(product::TOKENS, "token", Some(&token.id))
        .with_request(json!({ "name": token.name, "account": token.account_id, "from": "AIGW_ADMIN_TOKEN" }));
    let mut record = crate::audit::cli_record(
        config,
        &token.account_id,
        ActionType::Create,
        "Create token from AIGW_ADMIN_TOKEN",
        resource,
        "aigw serve (AIGW_ADMIN_TOKEN)",
    )
    .with_response(token_json(&token));
    record.actor = AuditActor::system("aigw");
    aigw_store::audit::append_with(conn, record, |c, _| aigw_store::tokens::insert_token(c, &token))?;
    tracing::info!(token_id = %token.id, account = %token.account_id, "admin token from AIGW_ADMIN_TOKEN stored (as a hash)");
    Ok(())
}

/// What the audit trail keeps of a token: never its secret or hash.
fn token_json(t: &ApiToken) -> Value {
    json!({ "id": t.id, "name": t.name, "account_id": t.account_id, "email": t.email, "access": t.access.as_str() })
}
