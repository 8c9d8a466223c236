//! The catalog of verified media items: only media whose bundle verified is
//! ever inserted (the API verifies uploads; a worker verifies each job's output
//! before inserting it).

use crate::db::{opt_int, opt_text};
use crate::files::{put_blob, sha256_hex};
use crate::tokens::Principal;
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
    /// The account that uploaded it or whose job made it (`None`: from before
    /// accounts). Not shown: account names are nobody else's business.
    #[serde(skip)]
    pub owner: Option<String>,
}

impl MediaItem {
    /// Whether `reader` may see this item: published items are public; a
    /// private one only to its owner (and admins).
    pub fn visible_to(&self, reader: Option<&Principal>) -> bool {
        self.published || reader.is_some_and(|r| r.owns(self.owner.as_deref()))
    }
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
    /// The account it belongs to.
    pub owner: Option<&'a str>,
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
/// Returns whether it was new. A bundle that does not read back through the
/// bundle reader (`Bundle::from_json`, with every limit of the format) is
/// refused: stored, it would make every listing that meets it fail.
pub async fn insert(db: &Db, item: NewMedia<'_>) -> Result<bool, ServiceError> {
    let b = item.bundle;
    let header = b.media.header;
    let origin = b.origin().attestation.as_ref();
    let parent = b.edit.as_ref().map(|e| e.parent.media.commitment.clone());
    let sha = sha256_hex(item.image);
    let bundle_json =
        serde_json::to_string(b).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Bundle::from_json(bundle_json.as_bytes()).map_err(|e| {
        ServiceError::Provenance(mpegs_provenance::ProvenanceError::Malformed(format!(
            "the bundle would not read back, so it is not stored: {e}"
        )))
    })?;
    let mut tx = db.pool().begin().await?;
    // Private media's pixels are sealed at rest; published ones are public anyway.
    put_blob(&mut *tx, db, &sha, item.image, b.media.seed.is_none()).await?;
    let inserted = sqlx::query(
        "INSERT INTO media (commitment, kind, parent, format, width, height, tile, device, \
         captured_at, image_sha256, image_type, bundle, secret_seed, proofs_verified, created_at, \
         owner, published) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
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
    .bind(match item.secret_seed {
        Some(s) => Some(db.secrets()?.seal(
            &crate::secrets::media_seed_ad(&b.media.commitment),
            s.to_hex().as_bytes(),
        )?),
        None => None,
    })
    .bind(item.proofs_verified as i64)
    .bind(now_ms())
    .bind(item.owner)
    .bind(i64::from(b.media.seed.is_some()))
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
    captured_at, bundle, proofs_verified, created_at, owner";

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
        owner: opt_text(row, "owner")?,
    })
}

/// The item with commitment `c`, with its children.
pub async fn get(
    db: &Db,
    c: &str,
    reader: Option<&Principal>,
) -> Result<Option<MediaItem>, ServiceError> {
    let row = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM media WHERE commitment = $1"
    ))
    .bind(c)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let item = item_from_row(&row, vec![])?;
    if !item.visible_to(reader) {
        return Ok(None);
    }
    let children = children(db, c, reader)
        .await?
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    Ok(Some(MediaItem { children, ..item }))
}

/// Which items a list shows (all filters apply together).
#[derive(Clone, Debug, Default)]
pub struct ListFilter<'a> {
    /// Only items whose history starts at this device (lowercase address).
    pub device: Option<&'a str>,
    /// Only items whose commitment starts with this (`0x` and lowercase hex).
    pub prefix: Option<&'a str>,
    /// Who is asking: private items are listed only to their owner.
    pub reader: Option<&'a Principal>,
}

/// Most recent items first, optionally only those a device captured (or derived
/// from its captures) and those whose commitment starts with a prefix; only
/// the items the reader may see. A row that cannot be read (a bundle that no
/// longer parses) is skipped and logged: one bad row must not take the listing
/// down for everyone.
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
    match filter.reader {
        Some(r) if r.is_admin() => {}
        Some(r) => {
            binds.push(r.account.clone());
            conditions.push(format!(
                "(published IS NULL OR published = 1 OR owner = ${})",
                binds.len()
            ));
        }
        None => conditions.push("(published IS NULL OR published = 1)".into()),
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
    Ok(rows
        .iter()
        .filter_map(|r| readable(r, item_from_row(r, vec![])))
        .filter(|item| item.visible_to(filter.reader))
        .collect())
}

/// The row's value, or `None` (logged) when the row cannot be read.
fn readable<T>(row: &AnyRow, value: Result<T, ServiceError>) -> Option<T> {
    match value {
        Ok(v) => Some(v),
        Err(e) => {
            let c: String = row.try_get("commitment").unwrap_or_default();
            tracing::error!(commitment = %c, "skipping an unreadable catalog row: {e}");
            None
        }
    }
}

/// The commitments and bundles of the items whose parent is `c` that `reader`
/// may see, oldest first (unreadable rows skipped and logged).
pub async fn children(
    db: &Db,
    c: &str,
    reader: Option<&Principal>,
) -> Result<Vec<(String, Bundle)>, ServiceError> {
    let rows = sqlx::query(
        "SELECT commitment, bundle, owner FROM media WHERE parent = $1 \
         ORDER BY created_at, commitment",
    )
    .bind(c)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let read = (|| {
                let bundle: String = r.try_get("bundle")?;
                let bundle = Bundle::from_json(bundle.as_bytes())?;
                let owner = opt_text(r, "owner")?;
                Ok::<_, ServiceError>((r.try_get("commitment")?, bundle, owner))
            })();
            readable(r, read)
        })
        .filter(|(_, b, owner): &(String, Bundle, Option<String>)| {
            b.media.seed.is_some() || reader.is_some_and(|r| r.owns(owner.as_deref()))
        })
        .map(|(c, b, _)| (c, b))
        .collect())
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
    /// The account it belongs to (`None`: from before accounts).
    pub owner: Option<String>,
}

impl Source {
    /// Whether its bundle reveals its seed (anyone may see and edit it).
    pub fn published(&self) -> bool {
        self.bundle.media.seed.is_some()
    }
    /// Whether `reader` may see it (published, or private and theirs).
    pub fn visible_to(&self, reader: Option<&Principal>) -> bool {
        self.published() || reader.is_some_and(|r| r.owns(self.owner.as_deref()))
    }
}

pub async fn source(db: &Db, c: &str) -> Result<Option<Source>, ServiceError> {
    let row = sqlx::query(
        "SELECT bundle, image_sha256, image_type, secret_seed, owner FROM media \
         WHERE commitment = $1",
    )
    .bind(c)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let bundle: String = row.try_get("bundle")?;
    let bundle = Bundle::from_json(bundle.as_bytes())?;
    let secret = match opt_text(&row, "secret_seed")? {
        Some(sealed) => {
            let hex = db
                .secrets()?
                .open(&crate::secrets::media_seed_ad(c), &sealed)?;
            let hex = std::str::from_utf8(&hex)
                .map_err(|_| ServiceError::Secret("media.secret_seed: not text".into()))?;
            Some(Seed::from_hex(hex)?)
        }
        None => None,
    };
    Ok(Some(Source {
        seed: bundle.media.seed.or(secret),
        bundle,
        image_sha256: row.try_get("image_sha256")?,
        image_type: row.try_get("image_type")?,
        owner: opt_text(&row, "owner")?,
    }))
}

/// Deletes the item `c` and — when no other item uses them — its image bytes
/// (the blob row and the server's local copy in `files`). Returns whether
/// the item was there.
pub async fn delete(
    db: &Db,
    files: &crate::files::MediaFiles,
    c: &str,
) -> Result<bool, ServiceError> {
    let mut tx = db.pool().begin().await?;
    let Some(row) = sqlx::query("SELECT image_sha256 FROM media WHERE commitment = $1")
        .bind(c)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(false);
    };
    let sha: String = row.try_get(0)?;
    sqlx::query("DELETE FROM media WHERE commitment = $1")
        .bind(c)
        .execute(&mut *tx)
        .await?;
    let still_used = sqlx::query("SELECT 1 FROM media WHERE image_sha256 = $1")
        .bind(&sha)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !still_used {
        sqlx::query("DELETE FROM blobs WHERE sha256 = $1")
            .bind(&sha)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    if !still_used {
        files.remove_local(&sha)?;
    }
    Ok(true)
}
