//! Dashboard sessions. The cookie holds a random token; only its SHA-256 is stored. A session
//! ends when it expires, when its user logs out, changes password or is deleted.

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::users::{Role, User};

/// A session as it is created.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Public id (names the session in the audit trail; not a credential).
    pub id: String,
    /// SHA-256 of the cookie's token.
    pub token_hash: Vec<u8>,
    pub user_id: String,
    /// The token state-changing requests must echo in `X-CSRF-Token`.
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
}

/// A live session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub user: User,
    pub csrf_token: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

pub fn insert_session(conn: &Connection, s: &NewSession) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO sessions (id, token_hash, user_id, csrf_token, created_at, expires_at, ip_address, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        s.id,
        s.token_hash,
        s.user_id,
        s.csrf_token,
        s.created_at_ms,
        s.expires_at_ms,
        s.ip_address,
        s.user_agent
    ])?;
    Ok(())
}

/// The live session whose token hashes to `token_hash`: not revoked, not expired at `now_ms`,
/// its user not deleted.
pub fn find_session(conn: &Connection, token_hash: &[u8], now_ms: i64) -> Result<Option<Session>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT s.id, s.csrf_token, s.created_at, s.expires_at,
                    u.id, u.account_id, u.email, u.name, u.role, u.created_at, u.modified_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2 AND u.deleted_at IS NULL",
        )?
        .query_row(params![token_hash, now_ms], |r| {
            let role: String = r.get(8)?;
            Ok(Session {
                id: r.get(0)?,
                csrf_token: r.get(1)?,
                created_at_ms: r.get(2)?,
                expires_at_ms: r.get(3)?,
                user: User {
                    id: r.get(4)?,
                    account_id: r.get(5)?,
                    email: r.get(6)?,
                    name: r.get(7)?,
                    role: Role::parse(&role).unwrap_or(Role::Member),
                    created_at_ms: r.get(9)?,
                    modified_at_ms: r.get(10)?,
                },
            })
        })
        .optional()?)
}

/// Ends session `id`; false when it had ended already.
pub fn revoke_session(conn: &Connection, id: &str, now_ms: i64) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL")?
        .execute(params![id, now_ms])?;
    Ok(n > 0)
}

/// Ends every session of `user_id`; returns how many were live.
pub fn revoke_user_sessions(conn: &Connection, user_id: &str, now_ms: i64) -> Result<u64, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE sessions SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2",
        )?
        .execute(params![user_id, now_ms])?;
    Ok(n as u64)
}

/// Deletes sessions that ended more than `keep_ms` before `now_ms` (housekeeping).
pub fn delete_ended(conn: &Connection, now_ms: i64, keep_ms: i64) -> Result<u64, StoreError> {
    let before = now_ms.saturating_sub(keep_ms);
    let n = conn
        .prepare_cached("DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1")?
        .execute(params![before])?;
    Ok(n as u64)
}

#[cfg(test)]
mod tests {
    use aigw_core::keys::{KeyLimits, KeyOwner, VirtualKey};

    use super::*;
    use crate::users::{Role, User, UserChange};

    fn user(id: &str, email: &str, role: Role) -> User {
        User {
            id: id.into(),
            account_id: "acct".into(),
            email: email.into(),
            name: id.to_uppercase(),
            role,
            created_at_ms: 0,
            modified_at_ms: 0,
        }
    }

    fn session(id: &str, user_id: &str, hash: u8, expires_at_ms: i64) -> NewSession {
        NewSession {
            id: id.into(),
            token_hash: vec![hash; 32],
            user_id: user_id.into(),
            csrf_token: format!("csrf-{id}"),
            created_at_ms: 0,
            expires_at_ms,
            ip_address: None,
            user_agent: None,
        }
    }

    #[test]
    fn sessions_end_on_expiry_logout_password_change_and_deletion() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::open_write(&dir.path().join("aigw.db")).unwrap();
        crate::users::insert_user(&conn, &user("ann", "Ann@Example.com", Role::Admin), "$h1").unwrap();
        crate::users::insert_user(&conn, &user("bob", "bob@example.com", Role::Member), "$h2").unwrap();
        let dup = crate::users::insert_user(&conn, &user("ann2", "ann@example.COM", Role::Member), "$h3");
        assert!(matches!(dup, Err(StoreError::Conflict(_))));
        assert_eq!(crate::users::find_login(&conn, "ANN@example.com").unwrap().unwrap().1, "$h1");

        insert_session(&conn, &session("s1", "ann", 1, 100)).unwrap();
        insert_session(&conn, &session("s2", "bob", 2, 100)).unwrap();
        let found = find_session(&conn, &[1; 32], 99).unwrap().unwrap();
        assert_eq!((found.user.id.as_str(), found.csrf_token.as_str()), ("ann", "csrf-s1"));
        assert!(find_session(&conn, &[1; 32], 100).unwrap().is_none(), "expired");
        assert!(revoke_session(&conn, "s1", 5).unwrap());
        assert!(find_session(&conn, &[1; 32], 6).unwrap().is_none(), "logged out");

        let change = UserChange { password_hash: Some("$new".into()), ..UserChange::default() };
        crate::users::update_user(&conn, "acct", "bob", &change, 7).unwrap().unwrap();
        assert!(find_session(&conn, &[2; 32], 8).unwrap().is_none(), "password changed");

        let key = VirtualKey {
            id: "k1".into(),
            account_id: "acct".into(),
            name: "ci".into(),
            owner: KeyOwner { id: "bob".into(), ..KeyOwner::default() },
            secret_hash: vec![9; 32],
            created_at_ms: 0,
            modified_at_ms: 0,
            expires_at_ms: None,
            revoked_at_ms: None,
            limits: KeyLimits { models: vec!["gpt-4o".into()], ..KeyLimits::default() },
        };
        crate::keys::insert_key(&conn, &key).unwrap();
        let stored = crate::keys::get_key(&conn, "acct", "k1").unwrap().unwrap();
        assert_eq!(
            (stored.owner.email.as_str(), stored.limits.models.clone()),
            ("bob@example.com", vec!["gpt-4o".into()])
        );
        insert_session(&conn, &session("s3", "bob", 3, 100)).unwrap();
        let before = crate::users::directory_version(&conn).unwrap();
        crate::users::delete_user(&conn, "acct", "bob", 9).unwrap().unwrap();
        assert!(find_session(&conn, &[3; 32], 10).unwrap().is_none(), "user deleted");
        assert_eq!(crate::keys::get_key(&conn, "acct", "k1").unwrap().unwrap().revoked_at_ms, Some(9));
        assert!(crate::users::directory_version(&conn).unwrap() > before);
        assert_eq!(crate::users::count_admins(&conn, "acct").unwrap(), 1);
        // The email is free again once its user is deleted.
        crate::users::insert_user(&conn, &user("bob2", "bob@example.com", Role::Member), "$h").unwrap();
    }
}
