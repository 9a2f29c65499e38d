//! `aigw users create|list`: dashboard users, straight on the database file; and the admin that
//! `AIGW_ADMIN_EMAIL` + `AIGW_ADMIN_PASSWORD` create at start (first start, docker). Passwords are
//! stored as argon2id hashes. Creating a user is audited in the transaction of the change.

use std::io::BufRead;
use std::path::Path;

use aigw_admin::password::{check_rules, hash_password};
use aigw_core::audit::{product, ActionType, AuditActor, AuditResource};
use aigw_core::{Clock, Config, SystemClock};
use aigw_store::users::{Role, User};
use anyhow::{bail, Context};
use rusqlite::TransactionBehavior;
use serde_json::{json, Value};

use crate::load;

pub const ENV_ADMIN_EMAIL: &str = "AIGW_ADMIN_EMAIL";
pub const ENV_ADMIN_PASSWORD: &str = "AIGW_ADMIN_PASSWORD";

#[derive(clap::Subcommand)]
pub enum UsersCommand {
    /// Create a user. The password is read from standard input with --password-stdin, else
    /// generated and printed (only this once).
    Create {
        #[arg(long)]
        email: String,
        /// Display name (default: the part of the email before '@').
        #[arg(long)]
        name: Option<String>,
        /// admin (reads and changes everything) or member (reads; manages their own keys).
        #[arg(long, default_value = "member")]
        role: String,
        /// The account (default: the first configured account).
        #[arg(long)]
        account: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users (never their passwords).
    List,
}

pub fn run(config: Option<&Path>, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Create { email, name, role, account, password_stdin } => {
            create(config, CreateArgs { account, email, name, role, password_stdin })
        }
        UsersCommand::List => list(config),
    }
}

pub struct CreateArgs {
    pub account: Option<String>,
    pub email: String,
    pub name: Option<String>,
    pub role: String,
    /// Read the password from the first line of standard input; else one is generated and
    /// printed.
    pub password_stdin: bool,
}

/// The account named, or the first configured one; it must be configured.
pub fn account(config: &Config, named: Option<String>) -> anyhow::Result<String> {
    let account = match named {
        Some(a) => a,
        None => config.accounts.first().map(|a| a.id.clone()).context("the configuration has no [[accounts]]")?,
    };
    if !config.accounts.iter().any(|a| a.id == account) {
        bail!("account {account:?} is not in the configuration's [[accounts]]");
    }
    Ok(account)
}

/// What the audit trail keeps of a user: never the password or its hash.
fn user_json(u: &User) -> Value {
    json!({ "id": u.id, "email": u.email, "name": u.name, "role": u.role.as_str(), "account_id": u.account_id })
}

fn new_user(account: String, email: &str, name: Option<String>, role: Role) -> anyhow::Result<User> {
    let email = email.trim().to_string();
    if !email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
        || email.contains(char::is_whitespace)
    {
        bail!("{email:?} is not an email address");
    }
    let name = name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
    let now = SystemClock.now_ms();
    Ok(User {
        id: uuid::Uuid::new_v4().simple().to_string(),
        account_id: account,
        email,
        name,
        role,
        created_at_ms: now,
        modified_at_ms: now,
    })
}

pub fn create(config_path: Option<&Path>, args: CreateArgs) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let account = account(&config, args.account)?;
    let role =
        Role::parse(&args.role).with_context(|| format!("--role must be admin or member, not {:?}", args.role))?;
    let user = new_user(account, &args.email, args.name, role)?;
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_string(), false)
    } else {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
        (hex::encode(bytes), true)
    };
    check_rules(&password)?;
    let hash = hash_password(&password)?;
    let command =
        format!("aigw users create --email {:?} --account {:?} --role {}", user.email, user.account_id, role.as_str());
    let resource = AuditResource::new(product::USERS, "user", Some(&user.id))
        .with_request(json!({ "email": user.email, "name": user.name, "role": role.as_str() }));
    let record =
        crate::audit::cli_record(&config, &user.account_id, ActionType::Create, "Create user", resource, &command)
            .with_response(user_json(&user));
    let mut conn = aigw_store::open_write(&config.storage.path)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    aigw_store::audit::append_with(&tx, record, |c, _| aigw_store::users::insert_user(c, &user, &hash))?;
    tx.commit()?;
    eprintln!("created {} {} ({}) in account {}", role.as_str(), user.email, user.id, user.account_id);
    if generated {
        eprintln!("its password, shown only now:");
        println!("{password}");
    } else {
        println!("{}", user.id);
    }
    Ok(())
}

pub fn list(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let conn = aigw_store::open_write(&config.storage.path)?;
    println!("{:<34} {:<12} {:<7} {:<32} NAME", "ID", "ACCOUNT", "ROLE", "EMAIL");
    for a in &config.accounts {
        let (users, _) = aigw_store::users::list_users(&conn, &a.id, 1, u32::MAX)?;
        for u in users {
            println!("{:<34} {:<12} {:<7} {:<32} {}", u.id, u.account_id, u.role.as_str(), u.email, u.name);
        }
    }
    Ok(())
}

/// The admin named by `AIGW_ADMIN_EMAIL` + `AIGW_ADMIN_PASSWORD`, created in the first account
/// when no user has that email yet (an existing user is left as it is).
pub fn ensure_env_admin(
    conn: &rusqlite::Connection,
    config: &Config,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let account =
        config.accounts.first().map(|a| a.id.clone()).context("AIGW_ADMIN_EMAIL needs an [[accounts]] entry")?;
    if aigw_store::users::find_login(conn, email.trim())?.is_some() {
        return Ok(());
    }
    check_rules(password).with_context(|| format!("{ENV_ADMIN_PASSWORD} is not usable"))?;
    let user =
        new_user(account, email, None, Role::Admin).with_context(|| format!("{ENV_ADMIN_EMAIL} is not usable"))?;
    let hash = hash_password(password)?;
    let resource = AuditResource::new(product::USERS, "user", Some(&user.id))
        .with_request(json!({ "email": user.email, "role": "admin", "from": ENV_ADMIN_EMAIL }));
    let mut record = crate::audit::cli_record(
        config,
        &user.account_id,
        ActionType::Create,
        "Create admin user from AIGW_ADMIN_EMAIL",
        resource,
        "aigw serve (AIGW_ADMIN_EMAIL)",
    )
    .with_response(user_json(&user));
    record.actor = AuditActor::system("aigw");
    aigw_store::audit::append_with(conn, record, |c, _| aigw_store::users::insert_user(c, &user, &hash))?;
    tracing::info!(user_id = %user.id, account = %user.account_id, "admin user from AIGW_ADMIN_EMAIL created");
    Ok(())
}
