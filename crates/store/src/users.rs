//! Users of the web dashboard. Each belongs to one account with role `admin` or `member`.
//! Passwords are stored as argon2id PHC strings, hashed by the admin crate. Deleting a user
//! keeps the row (keys and logs still name their owner) but marks it deleted, ends its sessions
//! and revokes its keys, in the caller's transaction.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::StoreError;

/// What a user may do in the dashboard and the admin API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads and changes everything in the account.
    Admin,
    /// Reads everything in the account; manages only their own keys.
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub account_id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub created_at_ms: i64,
    pub modified_at_ms: i64,
}

const COLUMNS: &str = "id, account_id, email, name, role, created_at, modified_at";

fn row_to_user(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(4)?;
    Ok(User {
        id: r.get(0)?,
        account_id: r.get(1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        role: Role::parse(&role).unwrap_or(Role::Member),
        created_at_ms: r.get(5)?,
        modified_at_ms: r.get(6)?,
    })
}

/// Adds a user; `Conflict` when a live user has the email already.
pub fn insert_user(conn: &Connection, u: &User, password_hash: &str) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO users ({COLUMNS}, password_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?
    .execute(params![
        u.id,
        u.account_id,
        u.email,
        u.name,
        u.role.as_str(),
        u.created_at_ms,
        u.modified_at_ms,
        password_hash
    ])
    .map_err(|e| StoreError::from_constraint(e, format!("a user with email {:?} exists already", u.email)))?;
    bump_version(conn)
}

/// The live user `id` of `account`.
pub fn get_user(conn: &Connection, account: &str, id: &str) -> Result<Option<User>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE id = ?1 AND account_id = ?2 AND deleted_at IS NULL"
        ))?
        .query_row(params![id, account], row_to_user)
        .optional()?)
}

/// The live user of `account` with `email` (case-insensitive).
pub fn find_by_email(conn: &Connection, account: &str, email: &str) -> Result<Option<User>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM users WHERE email = ?1 COLLATE NOCASE AND account_id = ?2 AND deleted_at IS NULL"
        ))?
        .query_row(params![email, account], row_to_user)
        .optional()?)
}

/// For log-in: the live user with `email` (case-insensitive) in any account, and its hash.
pub fn find_login(conn: &Connection, email: &str) -> Result<Option<(User, String)>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, password_hash FROM users WHERE email = ?1 COLLATE NOCASE AND deleted_at IS NULL"
        ))?
        .query_row(params![email], |r| Ok((row_to_user(r)?, r.get::<_, String>(7)?)))
        .optional()?)
}

/// The password hash of live user `id`.
pub fn password_hash(conn: &Connection, id: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT password_hash FROM users WHERE id = ?1 AND deleted_at IS NULL")?
        .query_row(params![id], |r| r.get(0))
        .optional()?)
}

/// A page of an account's live users, oldest first, and how many there are.
pub fn list_users(conn: &Connection, account: &str, page: u32, per_page: u32) -> Result<(Vec<User>, u64), StoreError> {
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM users WHERE account_id = ?1 AND deleted_at IS NULL")?
        .query_row(params![account], |r| r.get(0))?;
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM users WHERE account_id = ?1 AND deleted_at IS NULL
         ORDER BY created_at, id LIMIT ?2 OFFSET ?3"
    ))?;
    let users = stmt.query_map(params![account, per_page, offset], row_to_user)?.collect::<Result<Vec<_>, _>>()?;
    Ok((users, u64::try_from(total).unwrap_or(0)))
}

/// How many live admins an account has.
pub fn count_admins(conn: &Connection, account: &str) -> Result<u64, StoreError> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM users WHERE account_id = ?1 AND role = 'admin' AND deleted_at IS NULL")?
        .query_row(params![account], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The fields a change sets; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub password_hash: Option<String>,
}

/// Applies `change` to live user `id`; `None` when there is no such user. A new password ends
/// the user's sessions.
pub fn update_user(
    conn: &Connection,
    account: &str,
    id: &str,
    change: &UserChange,
    now_ms: i64,
) -> Result<Option<User>, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE users SET email = coalesce(?3, email), name = coalesce(?4, name), role = coalesce(?5, role),
             password_hash = coalesce(?6, password_hash), modified_at = ?7
             WHERE id = ?1 AND account_id = ?2 AND deleted_at IS NULL",
        )?
        .execute(params![
            id,
            account,
            change.email,
            change.name,
            change.role.map(Role::as_str),
            change.password_hash,
            now_ms
        ])
        .map_err(|e| StoreError::from_constraint(e, "a user with that email exists already".into()))?;
    if n == 0 {
        return Ok(None);
    }
    if change.password_hash.is_some() {
        crate::sessions::revoke_user_sessions(conn, id, now_ms)?;
    }
    bump_version(conn)?;
    get_user(conn, account, id)
}

/// Marks live user `id` deleted, ends its sessions and revokes its keys; returns the user as it
/// was, `None` when there is no such user.
pub fn delete_user(conn: &Connection, account: &str, id: &str, now_ms: i64) -> Result<Option<User>, StoreError> {
    let Some(user) = get_user(conn, account, id)? else {
        return Ok(None);
    };
    conn.prepare_cached("UPDATE users SET deleted_at = ?2, modified_at = ?2 WHERE id = ?1")?
        .execute(params![id, now_ms])?;
    crate::sessions::revoke_user_sessions(conn, id, now_ms)?;
    conn.prepare_cached(
        "UPDATE virtual_keys SET revoked_at = ?2, modified_at = ?2 WHERE owner_id = ?1 AND revoked_at IS NULL",
    )?
    .execute(params![id, now_ms])?;
    bump_version(conn)?;
    Ok(Some(user))
}

/// Records that users or keys changed (see [`directory_version`]).
pub(crate) fn bump_version(conn: &Connection) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE directory_version SET version = version + 1 WHERE id = 1")?.execute([])?;
    Ok(())
}

/// A number that grows with every change to users or keys, by any process.
pub fn directory_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.prepare_cached("SELECT version FROM directory_version WHERE id = 1")?.query_row([], |r| r.get(0))?)
}
