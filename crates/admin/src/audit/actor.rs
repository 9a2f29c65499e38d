//! Who made a request that failed: as much as its credentials tell, without trusting them.
//! A token that exists (even of another account, or read-only) names its owner; a live session
//! cookie (when no token is sent) names its user, in context `dash`; anything else leaves the
//! actor unidentified, with the email it claimed, if any. Secrets are only hashed.

use aigw_core::audit::{ActorContext, ActorType, AuditActor};
use axum::http::HeaderMap;

use super::RequestAudit;
use crate::auth::{credentials, hash_secret};
use crate::db::Db;
use crate::session;

/// The actor of a failed request (type `user` when the credentials name no token).
pub(crate) async fn resolve(db: &Db, headers: &HeaderMap, ctx: &RequestAudit) -> AuditActor {
    let mut actor = AuditActor {
        id: None,
        kind: ActorType::User,
        context: ctx.credentials,
        email: None,
        ip_address: ctx.ip_address.clone(),
        token_id: None,
        token_name: None,
    };
    if !session::has_token_credentials(headers) && session::cookie::session_token(headers).is_some() {
        actor.context = Some(ActorContext::Dash);
        return match session::session_of(db, headers, session::wall_ms()).await {
            Ok(Some(s)) => session::user_actor(&s.user.id, &s.user.email, actor.ip_address),
            Ok(None) => actor,
            Err(e) => {
                tracing::warn!(error = %e.message, "cannot look up the session of a failed request");
                actor
            }
        };
    }
    let Ok((secret, email)) = credentials(headers) else {
        return actor;
    };
    actor.email = email;
    let hash = hash_secret(&secret);
    match db.read(move |c| Ok(aigw_store::tokens::find_token(c, &hash)?)).await {
        Ok(Some(token)) => AuditActor {
            id: Some(token.account_id),
            kind: ActorType::Account,
            email: token.email.or(actor.email),
            token_id: Some(token.id),
            token_name: Some(token.name),
            ..actor
        },
        Ok(None) => actor,
        Err(e) => {
            tracing::warn!(error = %e.message, "cannot look up the token of a failed request");
            actor
        }
    }
}
