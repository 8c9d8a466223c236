//! The catalog of verified media items: only media whose bundle verified is
//! ever inserted (the API verifies uploads; a worker verifies each job's output
//! before inserting it).

use crate::db::{opt_int, opt_text};
use crate::files::{put_blob, sha256_hex};
use crate::{now_ms, Db, ServiceError};
use mpegs_media::Seed;
use mpegs_provenance::bundle::Kind;
use mpegs_provenance::Bundle;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

/// One edit step of an item, as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepSummary {
    pub filter: String,
    pub tiles: usize,
    pub circuits: usize,
}

/// A media item, as `GET /v1/media/{commitment}` returns it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct MediaItem {
    pub commitment: String,
    pub kind: String,
    pub parent: Option<String>,
    pub children: Vec<String>,
    pub format: String,
    pub width: i64,
    pub height: i64,
    pub tile: i64,
    pub device: Option<String>,
    pub captured_at: Option<i64>,
    pub steps: Vec<StepSummary>,
    pub verification: Verification,
    /// Whether the bundle reveals the media's seed (anyone can check the pixels).
    pub published: bool,
    pub created_at: i64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Verification {
    pub status: &'static str,
    pub proofs_verified: i64,
    pub verified_at: i64,
}

/// A verified item about to be inserted.
pub struct NewMedia<'a> {
    pub bundle: &'a Bundle,
    pub image: &'a [u8],
    pub image_type: &'a str,
    /// The seed of private media (kept to prove edits of it; never served).
    pub secret_seed: Option<Seed>,
    pub proofs_verified: usize,
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Attestation => "attestation",
        Kind::Edit => "edit",
    }
}

/// Steps of a bundle's own edit record (not of its parents).
pub fn steps_of(bundle: &Bundle) -> Vec<StepSummary> {
    bundle.edit.as_ref().map_or_else(Vec::new, |e| {
        e.steps
            .iter()
            .map(|s| StepSummary {
                filter: s.filter.clone(),
                tiles: s.tiles.len(),
                circuits: s.circuits.len(),
            })
            .collect()
    })
}

/// Inserts a verified item (idempotent: an item already present is kept).
/// Returns whether it was new.
pub async fn insert(db: &Db, item: NewMedia<'_>) -> Result<bool, ServiceError> {
    let b = item.bundle;
    let header = b.media.header;
    let origin = b.origin().attestation.as_ref();
    let parent = b.edit.as_ref().map(|e| e.parent.media.commitment.clone());
    let sha = sha256_hex(item.image);
    let bundle_json =
        serde_json::to_string(b).map_err(|e| ServiceError::Internal(e.to_string()))?;
    let mut tx = db.pool().begin().await?;
    put_blob(&mut *tx, &sha, item.image).await?;
    let inserted = sqlx::query(
        "INSERT INTO media (commitment, kind, parent, format, width, height, tile, device, \
         captured_at, image_sha256, image_type, bundle, secret_seed, proofs_verified, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (commitment) DO NOTHING",
    )
    .bind(&b.media.commitment)
    .bind(kind_name(b.kind))
    .bind(parent)
    .bind(header.format.to_string())
    .bind(header.width as i64)
    .bind(header.height as i64)
    .bind(header.tile as i64)
    .bind(origin.map(|a| a.device.to_ascii_lowercase()))
    .bind(origin.map(|a| a.captured_at as i64))
    .bind(&sha)
    .bind(item.image_type)
    .bind(bundle_json)
    .bind(item.secret_seed.map(|s| s.to_hex()))
    .bind(item.proofs_verified as i64)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(inserted == 1)
}

/// Whether `c` is a commitment in its one spelling (0x + 64 lowercase hex).
pub fn is_commitment(c: &str) -> bool {
    c.len() == 66
        && c.starts_with("0x")
        && c[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

const ITEM_COLUMNS: &str = "commitment, kind, parent, format, width, height, tile, device, \
    captured_at, bundle, proofs_verified, created_at";

fn item_from_row(row: &AnyRow, children: Vec<String>) -> Result<MediaItem, ServiceError> {
    let bundle: String = row.try_get("bundle")?;
    let bundle = Bundle::from_json(bundle.as_bytes())?;
    let created_at: i64 = row.try_get("created_at")?;
    Ok(MediaItem {
        commitment: row.try_get("commitment")?,
        kind: row.try_get("kind")?,
        parent: opt_text(row, "parent")?,
        children,
        format: row.try_get("format")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        tile: row.try_get("tile")?,
        device: opt_text(row, "device")?,
        captured_at: opt_int(row, "captured_at")?,
        steps: steps_of(&bundle),
        verification: Verification {
            status: "valid",
            proofs_verified: row.try_get("proofs_verified")?,
            verified_at: created_at,
        },
        published: bundle.media.seed.is_some(),
        created_at,
    })
}

/// The item with commitment `c`, with its children.
pub async fn get(db: &Db, c: &str) -> Result<Option<MediaItem>, ServiceError> {
    let row = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM media WHERE commitment = $1"
    ))
    .bind(c)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let children =
        sqlx::query("SELECT commitment FROM media WHERE parent = $1 ORDER BY created_at")
            .bind(c)
            .fetch_all(db.pool())
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<Result<_, _>>()?;
    Ok(Some(item_from_row(&row, children)?))
}

/// Which items a list shows (all filters apply together).
#[derive(Clone, Debug, Default)]
pub struct ListFilter<'a> {
    /// Only items whose history starts at this device (lowercase address).
    pub device: Option<&'a str>,
    /// Only items whose commitment starts with this (`0x` and lowercase hex).
    pub prefix: Option<&'a str>,
}

/// Most recent items first, optionally only those a device captured (or derived
/// from its captures) and those whose commitment starts with a prefix.
pub async fn list(
    db: &Db,
    filter: ListFilter<'_>,
    limit: i64,
) -> Result<Vec<MediaItem>, ServiceError> {
    let mut conditions = vec![];
    let mut binds = vec![];
    if let Some(d) = filter.device {
        binds.push(d.to_ascii_lowercase());
        conditions.push(format!("device = ${}", binds.len()));
    }
    if let Some(p) = filter.prefix {
        // Only hex digits reach here (the API checks), so LIKE has no wildcard
        // to escape.
        binds.push(format!("{}%", p.to_ascii_lowercase()));
        conditions.push(format!("commitment LIKE ${}", binds.len()));
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM media {filter_sql} \
         ORDER BY created_at DESC, commitment LIMIT ${}",
        binds.len() + 1
    );
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = query.bind(b);
    }
    let rows = query.bind(limit).fetch_all(db.pool()).await?;
    rows.iter().map(|r| item_from_row(r, vec![])).collect()
}

/// The commitments and bundles of the items whose parent is `c`, oldest first.
pub async fn children(db: &Db, c: &str) -> Result<Vec<(String, Bundle)>, ServiceError> {
    let rows = sqlx::query(
        "SELECT commitment, bundle FROM media WHERE parent = $1 ORDER BY created_at, commitment",
    )
    .bind(c)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let bundle: String = r.try_get("bundle")?;
            Ok((
                r.try_get("commitment")?,
                Bundle::from_json(bundle.as_bytes())?,
            ))
        })
        .collect()
}

/// Whether the catalog holds the item `c`.
pub async fn contains(db: &Db, c: &str) -> Result<bool, ServiceError> {
    Ok(sqlx::query("SELECT 1 FROM media WHERE commitment = $1")
        .bind(c)
        .fetch_optional(db.pool())
        .await?
        .is_some())
}

/// What proving an edit of an item needs: its bundle, image bytes and seed.
pub struct Source {
    pub bundle: Bundle,
    pub image_sha256: String,
    pub image_type: String,
    /// The revealed seed, else the kept secret one (`None`: cannot be edited).
    pub seed: Option<Seed>,
}

pub async fn source(db: &Db, c: &str) -> Result<Option<Source>, ServiceError> {
    let row = sqlx::query(
        "SELECT bundle, image_sha256, image_type, secret_seed FROM media WHERE commitment = $1",
    )
    .bind(c)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let bundle: String = row.try_get("bundle")?;
    let bundle = Bundle::from_json(bundle.as_bytes())?;
    let secret = match opt_text(&row, "secret_seed")? {
        Some(hex) => Some(Seed::from_hex(&hex)?),
        None => None,
    };
    Ok(Some(Source {
        seed: bundle.media.seed.or(secret),
        bundle,
        image_sha256: row.try_get("image_sha256")?,
        image_type: row.try_get("image_type")?,
    }))
}
