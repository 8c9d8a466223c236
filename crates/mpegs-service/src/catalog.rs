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
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
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
    /// The first page of the item's children (oldest first, at most
    /// [`MAX_CHILDREN_PAGE`]); `children_next` is the cursor of the next page
    /// (`GET /v1/media/{c}?children_after=…`), `None` when this is the last.
    pub children: Vec<String>,
    pub children_next: Option<String>,
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

/// A verified item checked and serialised for insertion (outside any
/// transaction: the read-back check parses the whole bundle).
pub struct Prepared<'a> {
    pub bundle: &'a Bundle,
    item: NewMedia<'a>,
    sha: String,
    bundle_json: String,
    steps_json: String,
}

/// Checks that `item`'s bundle reads back through the bundle reader
/// (`Bundle::from_json`, with every limit of the format): stored, one that
/// does not would make every listing that meets it fail.
pub fn prepare(item: NewMedia<'_>) -> Result<Prepared<'_>, ServiceError> {
    let b = item.bundle;
    let bundle_json =
        serde_json::to_string(b).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Bundle::from_json(bundle_json.as_bytes()).map_err(|e| {
        ServiceError::Provenance(mpegs_provenance::ProvenanceError::Malformed(format!(
            "the bundle would not read back, so it is not stored: {e}"
        )))
    })?;
    let steps_json =
        serde_json::to_string(&steps_of(b)).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(Prepared {
        bundle: b,
        sha: sha256_hex(item.image),
        item,
        bundle_json,
        steps_json,
    })
}

/// Inserts a verified item (idempotent: an item already present is kept).
/// Returns whether it was new. A bundle that does not read back is refused
/// ([`prepare`]).
pub async fn insert(db: &Db, item: NewMedia<'_>) -> Result<bool, ServiceError> {
    let prepared = prepare(item)?;
    let mut tx = db.pool().begin().await?;
    let inserted = insert_in(&mut tx, db, &prepared).await?;
    tx.commit().await?;
    Ok(inserted)
}

/// [`insert`] inside a transaction of the caller's (a job's output is
/// published in the transaction that finishes the job).
pub async fn insert_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    db: &Db,
    p: &Prepared<'_>,
) -> Result<bool, ServiceError> {
    let b = p.bundle;
    let item = &p.item;
    let header = b.media.header;
    let origin = b.origin().attestation.as_ref();
    let parent = b.edit.as_ref().map(|e| e.parent.media.commitment.clone());
    // Private media's pixels are sealed at rest; published ones are public anyway.
    put_blob(&mut **tx, db, &p.sha, item.image, b.media.seed.is_none()).await?;
    let inserted = sqlx::query(
        "INSERT INTO media (commitment, kind, parent, format, width, height, tile, device, \
         captured_at, image_sha256, image_type, bundle, secret_seed, proofs_verified, created_at, \
         owner, published, steps) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
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
    .bind(&p.sha)
    .bind(item.image_type)
    .bind(&p.bundle_json)
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
    .bind(&p.steps_json)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Fills `steps` and `published` of rows stored before those columns existed
/// (NULL there), from their bundles; run on start. Until then such a row is
/// fetched by listings whatever its owner and judged after the page is cut,
/// so a page cursor could name another owner's private item. Rows whose
/// bundle does not read back stay NULL (listings skip them). Returns the
/// number filled.
pub async fn backfill_item_columns(db: &Db) -> Result<u64, ServiceError> {
    let rows = sqlx::query(
        "SELECT commitment, bundle FROM media WHERE steps IS NULL OR published IS NULL",
    )
    .fetch_all(db.pool())
    .await?;
    let mut filled = 0;
    for row in &rows {
        let commitment: String = row.try_get("commitment")?;
        let bundle: String = row.try_get("bundle")?;
        let bundle = match Bundle::from_json(bundle.as_bytes()) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(%commitment, "catalog row does not read back, left as is: {e}");
                continue;
            }
        };
        let steps = serde_json::to_string(&steps_of(&bundle))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        filled += sqlx::query(
            "UPDATE media SET steps = $1, published = $2 \
             WHERE commitment = $3 AND (steps IS NULL OR published IS NULL)",
        )
        .bind(steps)
        .bind(i64::from(bundle.media.seed.is_some()))
        .bind(&commitment)
        .execute(db.pool())
        .await?
        .rows_affected();
    }
    Ok(filled)
}

/// Whether `c` is a commitment in its one spelling (0x + 64 lowercase hex).
pub fn is_commitment(c: &str) -> bool {
    c.len() == 66
        && c.starts_with("0x")
        && c[2..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Most children one page of an item lists (`children_limit`, and the
/// page `GET /v1/media/{c}` shows): an item with thousands of children costs a
/// reader one page, never all of them.
pub const MAX_CHILDREN_PAGE: i64 = 100;

/// A position in a listing: after the row created at `created_at` with
/// `commitment` (the order's tie-break). Written `CREATED_AT-COMMITMENT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub commitment: String,
}

impl Cursor {
    pub fn parse(s: &str) -> Option<Self> {
        let (t, c) = s.split_once('-')?;
        let created_at = t.parse().ok()?;
        is_commitment(c).then(|| Self {
            created_at,
            commitment: c.to_string(),
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.created_at, self.commitment)
    }
}

fn cursor_of(row: &AnyRow) -> Result<Cursor, ServiceError> {
    Ok(Cursor {
        created_at: row.try_get("created_at")?,
        commitment: row.try_get("commitment")?,
    })
}

/// The columns of an item. The bundle itself is read only for rows from
/// before `steps` and `published` were stored (NULL there): every other row
/// is shown from its columns, with no bundle parsed.
const ITEM_COLUMNS: &str = "commitment, kind, parent, format, width, height, tile, device, \
    captured_at, proofs_verified, created_at, owner, published, steps, \
    CASE WHEN steps IS NULL OR published IS NULL THEN bundle END AS bundle";

fn item_from_row(row: &AnyRow) -> Result<MediaItem, ServiceError> {
    let created_at: i64 = row.try_get("created_at")?;
    let (steps, published) = match (opt_text(row, "steps")?, opt_int(row, "published")?) {
        (Some(steps), Some(published)) => (
            serde_json::from_str::<Vec<StepSummary>>(&steps)
                .map_err(|e| ServiceError::Internal(format!("stored steps: {e}")))?,
            published == 1,
        ),
        _ => {
            let bundle: String = row.try_get("bundle")?;
            let bundle = Bundle::from_json(bundle.as_bytes())?;
            (steps_of(&bundle), bundle.media.seed.is_some())
        }
    };
    Ok(MediaItem {
        commitment: row.try_get("commitment")?,
        kind: row.try_get("kind")?,
        parent: opt_text(row, "parent")?,
        children: vec![],
        children_next: None,
        format: row.try_get("format")?,
        width: row.try_get("width")?,
        height: row.try_get("height")?,
        tile: row.try_get("tile")?,
        device: opt_text(row, "device")?,
        captured_at: opt_int(row, "captured_at")?,
        steps,
        verification: Verification {
            status: "valid",
            proofs_verified: row.try_get("proofs_verified")?,
            verified_at: created_at,
        },
        published,
        created_at,
        owner: opt_text(row, "owner")?,
    })
}

/// The item with commitment `c`, with the first page of its children
/// (`children_after`: the page after that cursor; `children_limit`: at most
/// that many, capped at [`MAX_CHILDREN_PAGE`]).
pub async fn get(
    db: &Db,
    c: &str,
    reader: Option<&Principal>,
    children_after: Option<&Cursor>,
    children_limit: i64,
) -> Result<Option<MediaItem>, ServiceError> {
    let row = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM media WHERE commitment = $1"
    ))
    .bind(c)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let item = item_from_row(&row)?;
    if !item.visible_to(reader) {
        return Ok(None);
    }
    let (children, next) = children_page(db, c, reader, children_after, children_limit).await?;
    Ok(Some(MediaItem {
        children,
        children_next: next.map(|n| n.to_string()),
        ..item
    }))
}

/// The SQL condition (and its bind, if any) that keeps the rows `reader` may
/// see; rows from before `published` was stored pass it and are checked
/// against their bundle.
fn visible_sql(reader: Option<&Principal>, bind_no: usize) -> (String, Option<String>) {
    match reader {
        Some(r) if r.is_admin() => ("TRUE".into(), None),
        Some(r) => (
            format!("(published IS NULL OR published = 1 OR owner = ${bind_no})"),
            Some(r.account.clone()),
        ),
        None => ("(published IS NULL OR published = 1)".into(), None),
    }
}

/// One page of the commitments of the items whose parent is `c` that `reader`
/// may see, oldest first, after `after`; and the cursor of the next page
/// when there may be one. At most `limit` (capped at [`MAX_CHILDREN_PAGE`])
/// rows are read, and no bundle is parsed but those of rows from before
/// `published` was stored.
pub async fn children_page(
    db: &Db,
    c: &str,
    reader: Option<&Principal>,
    after: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<String>, Option<Cursor>), ServiceError> {
    let limit = limit.clamp(1, MAX_CHILDREN_PAGE);
    let rows = child_rows(db, c, reader, after, limit + 1, false).await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next = match (more, rows.last()) {
        (true, Some(last)) => Some(cursor_of(last)?),
        _ => None,
    };
    let mut out = vec![];
    for r in rows {
        let visible = match opt_int(r, "published")? {
            Some(_) => true,
            None => {
                let read = (|| {
                    let bundle: String = r.try_get("bundle")?;
                    Ok::<_, ServiceError>(Bundle::from_json(bundle.as_bytes())?)
                })();
                readable(r, read).is_some_and(|b| {
                    b.media.seed.is_some()
                        || reader
                            .is_some_and(|p| p.owns(opt_text(r, "owner").ok().flatten().as_deref()))
                })
            }
        };
        if visible {
            out.push(r.try_get("commitment")?);
        }
    }
    Ok((out, next))
}

async fn child_rows(
    db: &Db,
    c: &str,
    reader: Option<&Principal>,
    after: Option<&Cursor>,
    limit: i64,
    with_bundles: bool,
) -> Result<Vec<AnyRow>, ServiceError> {
    let (visible, account) = visible_sql(reader, 2);
    let mut binds: Vec<String> = vec![c.to_string()];
    binds.extend(account);
    let mut cond = format!("parent = $1 AND {visible}");
    let mut after_time = None;
    if let Some(a) = after {
        binds.push(a.commitment.clone());
        cond.push_str(&format!(
            " AND (created_at > ${t} OR (created_at = ${t} AND commitment > ${c}))",
            t = binds.len() + 1,
            c = binds.len()
        ));
        after_time = Some(a.created_at);
    }
    let bundle = if with_bundles {
        "bundle"
    } else {
        "CASE WHEN published IS NULL THEN bundle END AS bundle"
    };
    let sql = format!(
        "SELECT commitment, owner, published, created_at, {bundle} FROM media WHERE {cond} \
         ORDER BY created_at, commitment LIMIT ${}",
        binds.len() + usize::from(after_time.is_some()) + 1
    );
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(b);
    }
    if let Some(t) = after_time {
        q = q.bind(t);
    }
    Ok(q.bind(limit).fetch_all(db.pool()).await?)
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

/// Most recent items first (after `before`, a cursor from a previous page),
/// optionally only those a device captured (or derived from its captures)
/// and those whose commitment starts with a prefix; only the items the reader
/// may see; and the cursor of the next page when there may be one. No bundle
/// is parsed but those of rows from before steps were stored. A row that
/// cannot be read is skipped and logged: one bad row must not take the
/// listing down for everyone.
pub async fn list(
    db: &Db,
    filter: ListFilter<'_>,
    before: Option<&Cursor>,
    limit: i64,
) -> Result<(Vec<MediaItem>, Option<Cursor>), ServiceError> {
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
    let (visible, account) = visible_sql(filter.reader, binds.len() + 1);
    binds.extend(account);
    conditions.push(visible);
    if let Some(b) = before {
        binds.push(b.commitment.clone());
        conditions.push(format!(
            "(created_at < ${t} OR (created_at = ${t} AND commitment > ${c}))",
            t = binds.len() + 1,
            c = binds.len()
        ));
    }
    let time_bind = before.map(|b| b.created_at);
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM media WHERE {} \
         ORDER BY created_at DESC, commitment LIMIT ${}",
        conditions.join(" AND "),
        binds.len() + usize::from(time_bind.is_some()) + 1
    );
    let mut query = sqlx::query(&sql);
    for b in binds {
        query = query.bind(b);
    }
    if let Some(t) = time_bind {
        query = query.bind(t);
    }
    let rows = query.bind(limit + 1).fetch_all(db.pool()).await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit.max(0) as usize)];
    let next = match (more, rows.last()) {
        (true, Some(last)) => Some(cursor_of(last)?),
        _ => None,
    };
    Ok((
        rows.iter()
            .filter_map(|r| readable(r, item_from_row(r)))
            .filter(|item| item.visible_to(filter.reader))
            .collect(),
        next,
    ))
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

/// The commitments and bundles of the first `limit` (at most
/// [`MAX_CHILDREN_PAGE`]) items whose parent is `c` that `reader` may see,
/// oldest first (unreadable rows skipped and logged), and whether there are
/// more: the provenance graph parses bundles, so it asks for a bounded number.
pub async fn children(
    db: &Db,
    c: &str,
    reader: Option<&Principal>,
    limit: i64,
) -> Result<(Vec<(String, Bundle)>, bool), ServiceError> {
    let limit = limit.clamp(0, MAX_CHILDREN_PAGE);
    if limit == 0 {
        let any = !child_rows(db, c, reader, None, 1, false).await?.is_empty();
        return Ok((vec![], any));
    }
    let rows = child_rows(db, c, reader, None, limit + 1, true).await?;
    let more = rows.len() as i64 > limit;
    let rows = &rows[..rows.len().min(limit as usize)];
    Ok((
        rows.iter()
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
            .collect(),
        more,
    ))
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

/// Deletes the item `c`, in one transaction with the jobs that read or made
/// it (cancelled first if unfinished; their tasks, proofs and idempotency
/// answers go with them), the idempotency answer of its upload and — when no
/// other item uses them — its image bytes (the blob row; the server's local
/// copy in `files` after the commit). Returns whether the item was there.
pub async fn delete(
    db: &Db,
    files: &crate::files::MediaFiles,
    c: &str,
) -> Result<bool, ServiceError> {
    let mut tx = db.pool().begin().await?;
    // The jobs first (a write, and the job rows locked before the item's, in
    // the order a finishing worker locks them): then the item.
    crate::queue::delete_jobs_of_item_in(&mut tx, db, c).await?;
    let Some(row) = sqlx::query("SELECT image_sha256 FROM media WHERE commitment = $1")
        .bind(c)
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.rollback().await?;
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
