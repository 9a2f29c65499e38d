//! `aigw audit verify`: walks every account's hash chain in the database file and names the
//! first broken record (exit 1), or reports how many records it checked (exit 0). Also the
//! records of what the command line itself changes (tokens), written with the change.

use std::path::Path;

use aigw_core::audit::{
    ActionResult, ActionType, AuditAccount, AuditAction, AuditActor, AuditRaw, AuditRecord, AuditResource,
};
use aigw_core::{Clock, Config, SystemClock};
use anyhow::bail;

use crate::load;

pub fn verify(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = load::config(config_path)?;
    let path = &config.storage.path;
    if !path.exists() {
        bail!("no database at {}", path.display());
    }
    let conn = aigw_store::open_read(path)?;
    let report = aigw_store::audit::verify(&conn)?;
    match report.broken {
        None => {
            println!("audit trail intact: {} records in {} accounts", report.records, report.accounts);
            Ok(())
        }
        Some(b) => {
            let what = match (&b.id, b.seq) {
                (Some(id), Some(seq)) => format!("record {id} (seq {seq})"),
                _ => "the head".to_string(),
            };
            bail!("audit trail broken at {what} of account {:?}: {}", b.account_id, b.reason)
        }
    }
}

/// A successful action of the local operator through the command line `command` (which must
/// hold no secret), in `account`.
pub fn cli_record(
    config: &Config,
    account: &str,
    kind: ActionType,
    description: &str,
    resource: AuditResource,
    command: &str,
) -> AuditRecord {
    let now = SystemClock.now_ms();
    let name = config.accounts.iter().find(|a| a.id == account).map(|a| a.name.clone().unwrap_or_else(|| a.id.clone()));
    AuditRecord {
        id: aigw_core::ids::new_ulid(now),
        account: AuditAccount { id: account.to_string(), name },
        action: AuditAction { kind, result: ActionResult::Success, description: description.to_string(), time_ms: now },
        actor: AuditActor::cli(),
        raw: AuditRaw {
            cf_ray_id: aigw_admin::audit::RayId::new().0,
            method: None,
            status_code: None,
            uri: Some(command.to_string()),
            user_agent: Some(format!("aigw/{}", env!("CARGO_PKG_VERSION"))),
        },
        resource,
        zone: Default::default(),
    }
}
