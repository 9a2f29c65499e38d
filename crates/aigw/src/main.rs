//! aigw: a self-hosted AI gateway. This binary parses the command line, loads the
//! configuration, wires the proxy, writer, store and admin API together, and runs them.

mod access;
mod audit;
mod directory;
mod health;
mod keys;
mod load;
mod serve;
mod tokens;
mod users;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "aigw", version, about = "Self-hosted AI gateway: proxy, logs, keys and audit")]
struct Cli {
    /// Configuration file (default: the embedded config/aigw.toml).
    #[arg(long, global = true, env = "AIGW_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default).
    Serve,
    /// Validate the configuration and price table, print a summary, and exit.
    Check,
    /// Admin API tokens: create (prints the secret once), list, revoke.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// The audit trail: `verify` checks every account's hash chain and names the first broken record.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Dashboard users: create (password from stdin, or generated and printed once), list.
    Users {
        #[command(subcommand)]
        command: users::UsersCommand,
    },
    /// Virtual keys: create (prints the key once), list, revoke.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// GET a URL and exit 0 on 200 (the container healthcheck).
    Health {
        #[arg(long, default_value = "http://127.0.0.1:8081/healthz")]
        url: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chains; exit 1 naming the first broken record.
    Verify,
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Create a token and print its secret (only this once).
    Create {
        /// A name to recognise the token by.
        #[arg(long)]
        name: String,
        /// The account it belongs to (default: the first configured account).
        #[arg(long)]
        account: Option<String>,
        /// Email for X-Auth-Email + X-Auth-Key authentication with this token as the key.
        #[arg(long)]
        email: Option<String>,
        /// Read access only (no create, update, patch or delete).
        #[arg(long)]
        read_only: bool,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by id.
    Revoke { id: String },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve::run(cli.config.as_deref()),
        Command::Check => load::check(cli.config.as_deref()),
        Command::Health { url } => health::run(&url),
        Command::Audit { command: AuditCommand::Verify } => audit::verify(cli.config.as_deref()),
        Command::Users { command } => users::run(cli.config.as_deref(), command),
        Command::Keys { command } => keys::run(cli.config.as_deref(), command),
        Command::Tokens { command } => {
            let config = cli.config.as_deref();
            match command {
                TokensCommand::Create { name, account, email, read_only } => {
                    tokens::create(config, tokens::CreateArgs { account, name, email, read_only })
                }
                TokensCommand::List => tokens::list(config),
                TokensCommand::Revoke { id } => tokens::revoke(config, &id),
            }
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aigw: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
