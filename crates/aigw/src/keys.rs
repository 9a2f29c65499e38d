//! `aigw keys create|list|revoke`: virtual keys, straight on the database file. The key is
//! printed once; only its hash is stored. Changes are audited in their transaction; a running
//! gateway picks them up within a few seconds (it watches the directory version).

use std::path::Path;

use aigw_core::audit::{product, ActionType, AuditResource};
use aigw_core::clock::rfc3339_ms;
use aigw_core::keys::{hash_key, Budget, KeyLimits, KeyOwner, RateLimit, VirtualKey};
use aigw_core::period::BudgetPeriod;
use aigw_core::{Clock, SystemClock};
use anyhow::{bail, Context};
use rusqlite::TransactionBehavior;
use serde_json::json;

use crate::load;

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(clap::Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it (only this once).
    Create {
        /// A name to recognise the key by (logs show it).
        #[arg(long)]
        name: String,
        /// Email of the user who owns the key.
        #[arg(long)]
        owner: String,
        /// The account (default: the first configured account).
        #[arg(long)]
        account: Option<String>,
        /// When the key stops working (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
        /// Gateways it may use, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        gateways: Vec<String>,
        /// Providers it may use, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        providers: Vec<String>,
        /// Models it may use, comma-separated, `provider/model` or a trailing `*` allowed
        /// (default: all).
        #[arg(long, value_delimiter = ',')]
        models: Vec<String>,
        /// Requests per minute.
        #[arg(long)]
        rpm: Option<u32>,
        /// Tokens per minute.
        #[arg(long)]
        tpm: Option<u64>,
        /// Budget in USD per --budget-period.
        #[arg(long)]
        budget_usd: Option<f64>,
        /// day, week, month or total (UTC calendar periods).
        #[arg(long, default_value = "month")]
        budget_period: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

pub fn run(config: Option<&Path>, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create {
            name,
            owner,
            account,
            expires_at,
            gateways,
            providers,
            models,
            rpm,
            tpm,
            budget_usd,
            budget_period,
        } => create(
            config,
            CreateArgs {
                account,
                name,
                owner,
                expires_at,
                gateways,
                providers,
                models,
                requests_per_minute: rpm,
                tokens_per_minute: tpm,
                budget_usd,
                budget_period,
            },
        ),
        KeysCommand::List => list(config),
        KeysCommand::Revoke { id } => revoke(config, &id),
    }
}

pub struct CreateArgs {
    pub account: Option<String>,
    pub name: String,
    /// Email of the user who owns the key.
    pub owner: String,
    /// RFC 3339 expiry.
    pub expires_at: Option<String>,
    pub gateways: Vec<String>,
    pub providers: Vec<String>,
    pub models: Vec<String>,
    pub requests_per_minute: Option<u32>,
    pub tokens_per_minute: Option<u64>,
    pub budget_usd: Option<f64>,
    pub budget_period: String,
}

pub fn create(config_path: Option<&Path>, args: CreateArgs) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let account = crate::users::account(&config, args.account)?;
    let now = SystemClock.now_ms();
    let expires_at_ms = match &args.expires_at {
        Some(text) => {
            let t = parse_time(text)?;
            if t <= now {
                bail!("--expires-at must be in the future");
            }
            Some(t)
        }
        None => None,
    };
    let period = BudgetPeriod::parse(&args.budget_period)
        .with_context(|| format!("--budget-period must be {}", BudgetPeriod::NAMES))?;
    let limits = KeyLimits {
        gateways: args.gateways,
        providers: args.providers,
        models: args.models,
        rate_limit: RateLimit {
            requests_per_minute: args.requests_per_minute,
            tokens_per_minute: args.tokens_per_minute,
        },
        budget: args.budget_usd.map(|usd| Budget { usd, period }),
    };
    limits.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = args.name.trim().to_string();
    if name.is_empty() || name.chars().count() > aigw_core::keys::MAX_NAME_CHARS {
        bail!("--name must be 1 to {} characters", aigw_core::keys::MAX_NAME_CHARS);
    }

    let mut conn = aigw_store::open_write(&config.storage.path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let owner = aigw_store::users::find_by_email(&tx, &account, args.owner.trim())?.with_context(|| {
        format!("no user with email {:?} in account {account:?} (create one with `aigw users create`)", args.owner)
    })?;
    let (id, secret) =
        aigw_admin::keys::new_key().map_err(|e| anyhow::anyhow!("no randomness available: {}", e.message))?;
    let key = VirtualKey {
        id,
        account_id: account,
        name,
        owner: KeyOwner { id: owner.id, email: owner.email, name: owner.name },
        secret_hash: hash_key(&secret).to_vec(),
        created_at_ms: now,
        modified_at_ms: now,
        expires_at_ms,
        revoked_at_ms: None,
        limits,
    };
    let command =
        format!("aigw keys create --name {:?} --owner {:?} --account {:?}", key.name, key.owner.email, key.account_id);
    let resource = AuditResource::new(product::KEYS, "key", Some(&key.id));
    let record = crate::audit::cli_record(
        &config,
        &key.account_id,
        ActionType::Create,
        "Create virtual key",
        resource,
        &command,
    )
    .with_response(aigw_admin::keys::wire(&key, None, now));
    aigw_store::audit::append_with(&tx, record, |c, _| aigw_store::keys::insert_key(c, &key))?;
    tx.commit()?;
    eprintln!("created virtual key {} ({}, owner {}); the key is shown only now:", key.id, key.name, key.owner.email);
    println!("{secret}");
    Ok(())
}

/// An RFC 3339 time in ms since the Unix epoch.
fn parse_time(text: &str) -> anyhow::Result<i64> {
    let t = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .with_context(|| format!("--expires-at must be an RFC 3339 time such as 2026-01-01T00:00:00Z, not {text:?}"))?;
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).context("--expires-at is out of range")
}

pub fn list(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let conn = aigw_store::open_write(&config.storage.path)?;
    let now = SystemClock.now_ms();
    println!("{:<16} {:<12} {:<8} {:<24} {:<26} NAME", "ID", "ACCOUNT", "STATUS", "EXPIRES", "OWNER");
    for k in aigw_store::keys::all_keys(&conn)? {
        let expires = k.expires_at_ms.map_or_else(|| "never".to_string(), rfc3339_ms);
        println!(
            "{:<16} {:<12} {:<8} {:<24} {:<26} {}",
            k.id,
            k.account_id,
            k.status(now).as_str(),
            expires,
            k.owner.email,
            k.name
        );
    }
    Ok(())
}

pub fn revoke(config_path: Option<&Path>, id: &str) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let mut conn = aigw_store::open_write(&config.storage.path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let key = aigw_store::keys::all_keys(&tx)?.into_iter().find(|k| k.id == id && k.revoked_at_ms.is_none());
    let Some(key) = key else {
        bail!("no active virtual key with id {id:?}");
    };
    let now = SystemClock.now_ms();
    let resource = AuditResource::new(product::KEYS, "key", Some(id)).with_request(json!({ "id": id }));
    let command = format!("aigw keys revoke {id:?}");
    let record = crate::audit::cli_record(
        &config,
        &key.account_id,
        ActionType::Delete,
        "Revoke virtual key",
        resource,
        &command,
    )
    .with_response(aigw_admin::keys::wire(&key, None, now));
    aigw_store::audit::append_with(&tx, record, |c, _| aigw_store::keys::revoke_key(c, &key.account_id, id, now))?;
    tx.commit()?;
    eprintln!("revoked virtual key {id}");
    Ok(())
}
