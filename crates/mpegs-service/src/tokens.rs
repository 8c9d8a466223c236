//! Bearer tokens for writes. A token is shown once when created; the database
//! keeps only its SHA-256, so a leaked database leaks no usable token.

use crate::files::sha256_hex;
use crate::{now_ms, Db, ServiceError};
use rand::RngCore;
use sqlx::Row;

/// Prefix of every token, so leaked tokens are easy to scan for.
pub const TOKEN_PREFIX: &str = "mpegs_";

/// Creates a token named `name`; returns the token itself (shown once).
pub async fn create(db: &Db, name: &str) -> Result<String, ServiceError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServiceError::Config(
            "a token name must be 1–100 characters".into(),
        ));
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    sqlx::query("INSERT INTO tokens (hash, name, created_at) VALUES ($1, $2, $3)")
        .bind(sha256_hex(token.as_bytes()))
        .bind(name)
        .bind(now_ms())
        .execute(db.pool())
        .await?;
    Ok(token)
}

/// The name of the token `token`, if it is a known one.
pub async fn check(db: &Db, token: &str) -> Result<Option<String>, ServiceError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT name FROM tokens WHERE hash = $1")
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(db.pool())
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get::<String, _>(0)?),
        None => None,
    })
}

/// (name, created at ms) of every token.
pub async fn list(db: &Db) -> Result<Vec<(String, i64)>, ServiceError> {
    let rows = sqlx::query("SELECT name, created_at FROM tokens ORDER BY created_at")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Revokes every token named `name`; returns how many.
pub async fn revoke(db: &Db, name: &str) -> Result<u64, ServiceError> {
    Ok(sqlx::query("DELETE FROM tokens WHERE name = $1")
        .bind(name)
        .execute(db.pool())
        .await?
        .rows_affected())
}
