//! Accounts and their bearer tokens (docs/service.md §Accounts). A token is
//! shown once when created; the database keeps only its SHA-256, so a leaked
//! database leaks no usable token. Every token belongs to an account (the
//! owner of what it uploads and submits), carries scopes (what it may do) and
//! may expire.

use crate::files::sha256_hex;
use crate::{now_ms, Db, ServiceError};
use rand::RngCore;
use sqlx::Row;

/// Prefix of every token, so leaked tokens are easy to scan for.
pub const TOKEN_PREFIX: &str = "mpegs_";

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// `POST /v1/media`, `DELETE /v1/media/{c}` of its own private items.
    Upload,
    /// `POST /v1/jobs`, `DELETE /v1/jobs/{id}` of its own jobs.
    Jobs,
    /// Everything, on every account's items and jobs (take-downs).
    Admin,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Upload => "upload",
            Scope::Jobs => "jobs",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        match s.trim() {
            "upload" => Ok(Scope::Upload),
            "jobs" => Ok(Scope::Jobs),
            "admin" => Ok(Scope::Admin),
            other => Err(ServiceError::Config(format!(
                "unknown scope {other:?} (upload, jobs, admin)"
            ))),
        }
    }

    /// A comma-separated list (`upload,jobs`), sorted and deduplicated.
    pub fn parse_list(s: &str) -> Result<Vec<Self>, ServiceError> {
        let mut out = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Self::parse)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err(ServiceError::Config(
                "a token needs at least one scope".into(),
            ));
        }
        Ok(out)
    }
}

/// Scopes of tokens made without `--scope` (and of tokens from before scopes).
pub const DEFAULT_SCOPES: &[Scope] = &[Scope::Upload, Scope::Jobs];

fn scope_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(",")
}

/// Who a request's token speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub account: String,
    pub token_name: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }
    /// Whether this principal may act on something owned by `owner` (`None`:
    /// made before accounts existed, which only an admin may change).
    pub fn owns(&self, owner: Option<&str>) -> bool {
        self.is_admin() || owner == Some(self.account.as_str())
    }
}

/// A token to create.
#[derive(Clone, Debug)]
pub struct NewToken<'a> {
    pub name: &'a str,
    /// The account it acts for (default: the token's name).
    pub account: Option<&'a str>,
    pub scopes: &'a [Scope],
    /// Lifetime from now (`None`: until revoked).
    pub expires_in: Option<std::time::Duration>,
}

fn check_label(what: &str, s: &str) -> Result<(), ServiceError> {
    let ok = !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::Config(format!(
            "a {what} must be 1–100 characters of letters, digits and - _ . @"
        )))
    }
}

/// Creates a token named `name` for the account `name` with the default
/// scopes (upload, jobs), never expiring; returns the token (shown once).
pub async fn create(db: &Db, name: &str) -> Result<String, ServiceError> {
    create_with(
        db,
        NewToken {
            name,
            account: None,
            scopes: DEFAULT_SCOPES,
            expires_in: None,
        },
    )
    .await
}

/// Creates a token; returns the token itself (shown once).
pub async fn create_with(db: &Db, t: NewToken<'_>) -> Result<String, ServiceError> {
    let name = t.name.trim();
    check_label("token name", name)?;
    let account = t.account.map(str::trim).unwrap_or(name);
    check_label("account name", account)?;
    if t.scopes.is_empty() {
        return Err(ServiceError::Config(
            "a token needs at least one scope".into(),
        ));
    }
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
    let now = now_ms();
    let expires = t
        .expires_in
        .map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    sqlx::query(
        "INSERT INTO tokens (hash, name, created_at, account, scopes, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(sha256_hex(token.as_bytes()))
    .bind(name)
    .bind(now)
    .bind(account)
    .bind(scope_text(t.scopes))
    .bind(expires)
    .execute(db.pool())
    .await?;
    Ok(token)
}

/// The principal of `token`, if it is a known token that has not expired.
pub async fn check(db: &Db, token: &str) -> Result<Option<Principal>, ServiceError> {
    if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 64 {
        return Ok(None);
    }
    let row = sqlx::query("SELECT name, account, scopes, expires_at FROM tokens WHERE hash = $1")
        .bind(sha256_hex(token.as_bytes()))
        .fetch_optional(db.pool())
        .await?;
    let Some(r) = row else { return Ok(None) };
    let info = info_from_row(&r)?;
    if info.expires_at.is_some_and(|e| e <= now_ms()) {
        return Ok(None);
    }
    Ok(Some(Principal {
        account: info.account,
        token_name: info.name,
        scopes: info.scopes,
    }))
}

/// A token as `mpegs serve token list` shows it (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub account: String,
    pub scopes: Vec<Scope>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
}

fn info_from_row(r: &sqlx::any::AnyRow) -> Result<TokenInfo, ServiceError> {
    let name: String = r.try_get("name")?;
    let account = crate::db::opt_text(r, "account")?.unwrap_or_else(|| name.clone());
    let scopes = match crate::db::opt_text(r, "scopes")? {
        Some(s) => Scope::parse_list(&s)?,
        None => DEFAULT_SCOPES.to_vec(),
    };
    Ok(TokenInfo {
        name,
        account,
        scopes,
        created_at: r.try_get("created_at").unwrap_or(0),
        expires_at: crate::db::opt_int(r, "expires_at")?,
    })
}

/// Every token, oldest first.
pub async fn list(db: &Db) -> Result<Vec<TokenInfo>, ServiceError> {
    let rows = sqlx::query(
        "SELECT name, account, scopes, created_at, expires_at FROM tokens ORDER BY created_at",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(info_from_row).collect()
}

/// Revokes every token named `name`; returns how many.
pub async fn revoke(db: &Db, name: &str) -> Result<u64, ServiceError> {
    Ok(sqlx::query("DELETE FROM tokens WHERE name = $1")
        .bind(name)
        .execute(db.pool())
        .await?
        .rows_affected())
}

/// Parses a lifetime: `30d`, `12h`, `45m`, `90s` (a bare number is days).
pub fn parse_lifetime(s: &str) -> Result<std::time::Duration, ServiceError> {
    let s = s.trim();
    let (digits, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "d"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| ServiceError::Config(format!("{s:?} is not a lifetime like 30d or 12h")))?;
    let secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => {
            return Err(ServiceError::Config(format!(
                "{s:?} is not a lifetime like 30d, 12h, 45m or 90s"
            )))
        }
    };
    if n == 0 {
        return Err(ServiceError::Config(
            "a lifetime must be more than zero".into(),
        ));
    }
    Ok(std::time::Duration::from_secs(n.saturating_mul(secs)))
}
