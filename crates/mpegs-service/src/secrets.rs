//! Secrets at rest: blinding seeds, step seeds and the pixels of private
//! media are sealed with XChaCha20-Poly1305 under the service key before they
//! reach the database or the media folder, so a dump of either alone reveals
//! none of them (docs/service.md §Encryption of secrets at rest).
//!
//! A sealed seed reads `v1:<key id>:<hex of nonce ‖ ciphertext>`; sealed image
//! bytes are `v1:<key id>:` followed by the raw `nonce ‖ ciphertext` (hex
//! would double an image). The associated data names the value's place (e.g.
//! `media.secret_seed:<commitment>`, `blobs.bytes:<sha256>`), so a ciphertext
//! copied into another row does not open there. The key id lets the key file
//! hold old keys beside the current one: values open under whichever key
//! they name and are sealed under the current one, which is how rotation
//! re-encrypts without a flag day and survives a crash half-way.
//!
//! The key file holds one key a line, `<key id> <64 hex digits>`; the last line
//! is the current key. It must not be readable by group or others.

use crate::ServiceError;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

const PREFIX: &str = "v1";
const NONCE_LEN: usize = 24;

/// One 32-byte key and its id; its bytes are wiped when it is dropped.
struct Key {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

/// The service's keys: seals under the current (last) one, opens under any.
pub struct SecretBox {
    keys: Vec<Key>,
}

impl std::fmt::Debug for SecretBox {
    // Never print key bytes, only which ids are loaded.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("SecretBox").field("key_ids", &ids).finish()
    }
}

fn random_key() -> Key {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut bytes[..]);
    let mut id = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut id);
    Key {
        id: hex::encode(id),
        bytes,
    }
}

fn err(msg: impl Into<String>) -> ServiceError {
    ServiceError::Secret(msg.into())
}

impl SecretBox {
    /// A box with one fresh random key (tests and first start).
    pub fn generate() -> Self {
        Self {
            keys: vec![random_key()],
        }
    }

    /// The id of the key new values are sealed under.
    pub fn current_id(&self) -> &str {
        &self.keys.last().expect("a SecretBox always holds a key").id
    }

    /// Ids of every loaded key, oldest first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// Whether `value` is sealed (as opposed to a plaintext left by an older
    /// version of the service).
    pub fn is_sealed(value: &str) -> bool {
        value.starts_with("v1:")
    }

    /// The key id a sealed value names.
    pub fn key_id_of(value: &str) -> Option<&str> {
        let mut parts = value.splitn(3, ':');
        (parts.next()? == PREFIX).then_some(())?;
        parts.next()
    }

    /// Encrypts `plain` for the place `ad` under the current key: the current
    /// key's id and `nonce ‖ ciphertext ‖ tag`.
    fn encrypt(&self, ad: &[u8], plain: &[u8]) -> Result<(&str, Vec<u8>), ServiceError> {
        let key = self.keys.last().expect("a SecretBox always holds a key");
        let cipher = XChaCha20Poly1305::new_from_slice(&key.bytes[..])
            .map_err(|_| err("the service key has the wrong length"))?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: ad,
                },
            )
            .map_err(|_| err("sealing failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok((&key.id, out))
    }

    /// Decrypts `nonce ‖ ciphertext ‖ tag` sealed under key `id` for `ad`.
    fn decrypt(&self, ad: &str, id: &str, raw: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| {
            err(format!(
                "{ad}: sealed under key {id:?}, which the service key file does not hold \
                 (wrong key file? see --secret-key-file / MPEGS_SECRET_KEY_FILE)"
            ))
        })?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(err(format!("{ad}: sealed value too short")));
        }
        let cipher = XChaCha20Poly1305::new_from_slice(&key.bytes[..])
            .map_err(|_| err("the service key has the wrong length"))?;
        cipher
            .decrypt(
                XNonce::from_slice(&raw[..NONCE_LEN]),
                Payload {
                    msg: &raw[NONCE_LEN..],
                    aad: ad.as_bytes(),
                },
            )
            .map_err(|_| {
                err(format!(
                    "{ad}: the sealed value does not open (altered, moved from another row, \
                     or a different key with the same id)"
                ))
            })
    }

    /// Seals `plain` for the place `ad`, as text: `v1:<key id>:<hex>`.
    pub fn seal(&self, ad: &str, plain: &[u8]) -> Result<String, ServiceError> {
        let (id, raw) = self.encrypt(ad.as_bytes(), plain)?;
        Ok(format!("{PREFIX}:{id}:{}", hex::encode(raw)))
    }

    /// Opens `sealed` for the place `ad`: a clear error when the key is not
    /// loaded, the value was made for another place, or it was altered.
    pub fn open(&self, ad: &str, sealed: &str) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some(PREFIX), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(err(format!("{ad}: not a sealed value")));
        };
        let raw = hex::decode(body).map_err(|_| err(format!("{ad}: malformed sealed value")))?;
        Ok(Zeroizing::new(self.decrypt(ad, id, &raw)?))
    }

    /// Seals `plain` for the place `ad`, as bytes (image blobs, where hex
    /// would double the size): `v1:<key id>:` then the raw
    /// `nonce ‖ ciphertext ‖ tag`.
    pub fn seal_bytes(&self, ad: &str, plain: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let (id, raw) = self.encrypt(ad.as_bytes(), plain)?;
        let mut out = Vec::with_capacity(PREFIX.len() + id.len() + 2 + raw.len());
        out.extend_from_slice(PREFIX.as_bytes());
        out.push(b':');
        out.extend_from_slice(id.as_bytes());
        out.push(b':');
        out.extend_from_slice(&raw);
        Ok(out)
    }

    /// Whether stored bytes are sealed. Image blobs in the clear are PNG or
    /// JPEG (the API decodes every upload; workers write PNG), whose magic
    /// bytes are not `v1:`, so the prefix alone tells the two apart.
    pub fn is_sealed_bytes(stored: &[u8]) -> bool {
        stored.starts_with(b"v1:")
    }

    /// The key id sealed bytes name (`None`: not sealed bytes, or `head` is
    /// too short to hold the whole id).
    pub fn key_id_of_bytes(head: &[u8]) -> Option<&str> {
        let rest = head.strip_prefix(b"v1:")?;
        let end = rest.iter().position(|&b| b == b':')?;
        std::str::from_utf8(&rest[..end]).ok()
    }

    /// Opens sealed bytes for the place `ad` (errors as for [`Self::open`]).
    pub fn open_bytes(&self, ad: &str, sealed: &[u8]) -> Result<Vec<u8>, ServiceError> {
        let id = Self::key_id_of_bytes(sealed)
            .ok_or_else(|| err(format!("{ad}: not a sealed value")))?;
        let body = &sealed[PREFIX.len() + 1 + id.len() + 1..];
        self.decrypt(ad, id, body)
    }

    /// Whether the key `id` is loaded.
    pub fn holds(&self, id: &str) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }

    fn serialize(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::new());
        for k in &self.keys {
            s.push_str(&k.id);
            s.push(' ');
            let mut h = hex::encode(&k.bytes[..]);
            s.push_str(&h);
            h.zeroize();
            s.push('\n');
        }
        s
    }

    fn parse(text: &str, path: &Path) -> Result<Self, ServiceError> {
        let mut keys = vec![];
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = || {
                err(format!(
                    "{}: line {} is not `<key id> <64 hex>`",
                    path.display(),
                    n + 1
                ))
            };
            let (id, hexkey) = line.split_once(' ').ok_or_else(bad)?;
            if id.is_empty() || id.contains(':') {
                return Err(bad());
            }
            let mut bytes = Zeroizing::new([0u8; 32]);
            hex::decode_to_slice(hexkey.trim(), &mut bytes[..]).map_err(|_| bad())?;
            keys.push(Key {
                id: id.to_string(),
                bytes,
            });
        }
        if keys.is_empty() {
            return Err(err(format!("{}: holds no key", path.display())));
        }
        Ok(Self { keys })
    }

    /// Loads the key file at `path`, creating it (0600, atomically) with one
    /// fresh key when it does not exist. Refuses a file readable by group or
    /// others.
    pub fn load_or_create(path: &Path) -> Result<Self, ServiceError> {
        if !path.exists() {
            let b = Self::generate();
            b.save(path)?;
            return Ok(b);
        }
        Self::load(path)
    }

    /// Loads the key file at `path` (which must exist and be private).
    pub fn load(path: &Path) -> Result<Self, ServiceError> {
        check_private(path)?;
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| ServiceError::Io {
                    path: path.display().to_string(),
                    source,
                })?,
            );
        Self::parse(&text, path)
    }

    /// Writes the key file atomically with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), ServiceError> {
        let io = |source| ServiceError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = tmp_path(path);
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(self.serialize().as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)?;
        // The rename is durable only once the directory entry is: rotation
        // relies on the new key being on disk before anything is sealed under it.
        #[cfg(unix)]
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// Adds a fresh key that becomes the current one (old keys kept).
    pub fn add_current(&mut self) -> String {
        let k = random_key();
        let id = k.id.clone();
        self.keys.push(k);
        id
    }

    /// Drops every key except the current one.
    pub fn drop_old(&mut self) {
        let n = self.keys.len();
        self.keys.drain(..n - 1);
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut id = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let name = format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("secret.key"),
        hex::encode(id)
    );
    path.with_file_name(name)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), ServiceError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| ServiceError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(err(format!(
            "{} has mode {mode:o}: the service key must not be readable by group or others \
             (chmod 600 it)",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), ServiceError> {
    Ok(())
}

/// The associated data of a media item's secret seed (binds it to its row).
pub fn media_seed_ad(commitment: &str) -> String {
    format!("media.secret_seed:{commitment}")
}

/// The associated data of a job's step seeds (binds them to their row).
pub fn job_seeds_ad(job: &str) -> String {
    format!("jobs.seeds:{job}")
}

/// The associated data of the image bytes with SHA-256 `sha` (hex), in the
/// `blobs` row and in the local copy `$MPEGS_HOME/media/<sha>` alike: both are
/// addressed by that hash, so a ciphertext moved to another row or file does
/// not open there (and the opened bytes are checked against the hash too).
pub fn blob_ad(sha: &str) -> String {
    format!("blobs.bytes:{sha}")
}

/// What [`seal_at_rest`] and [`rotate`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Seeds (media and jobs) sealed or re-sealed.
    pub seeds: usize,
    /// Image blobs of private media sealed or re-sealed in the database.
    pub blobs: usize,
    /// Local copies under the media folder replaced by the sealed form.
    pub files: usize,
}

impl Resealed {
    /// Every value written, in the database and on disk.
    pub fn total(&self) -> usize {
        self.seeds + self.blobs + self.files
    }
}

/// Bytes of a blob read to learn whether it is sealed and under which key
/// (`v1:` and a key id; the ids this module makes are 8 characters).
const HEAD_BYTES: i64 = 96;

/// The image hashes of private media (bundle reveals no seed), whose bytes
/// must be sealed. Rows from before the `published` column are decided by
/// their bundle; one that does not parse counts as private (sealing a public
/// image costs nothing, leaving a private one in the clear would).
async fn private_images(db: &crate::Db) -> Result<HashSet<String>, ServiceError> {
    let rows = sqlx::query(
        "SELECT image_sha256, published, \
         CASE WHEN published IS NULL THEN bundle ELSE NULL END AS bundle FROM media",
    )
    .fetch_all(db.pool())
    .await?;
    let mut out = HashSet::new();
    for r in rows {
        let sha: String = r.try_get("image_sha256")?;
        let private = match crate::db::opt_int(&r, "published")? {
            Some(p) => p == 0,
            None => crate::db::opt_text(&r, "bundle")?
                .and_then(|b| mpegs_provenance::Bundle::from_json(b.as_bytes()).ok())
                .is_none_or(|b| b.media.seed.is_none()),
        };
        if private {
            out.insert(sha);
        }
    }
    Ok(out)
}

/// Refuses a key file that cannot open what the database holds: every key
/// id named by a sealed seed or blob must be loaded, and one value sealed
/// under each must open (a file with the right ids but other key bytes). Run
/// on start, so a wrong `--secret-key-file` stops the service with this error
/// instead of failing every edit job later.
pub async fn check_keys(db: &crate::Db) -> Result<(), ServiceError> {
    let b = db.secrets()?;
    // One sample per key id: (place, value).
    let mut text: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut blobs: BTreeMap<String, String> = BTreeMap::new();
    let rows =
        sqlx::query("SELECT commitment, secret_seed FROM media WHERE secret_seed IS NOT NULL")
            .fetch_all(db.pool())
            .await?;
    for r in rows {
        let v: String = r.try_get("secret_seed")?;
        if let Some(id) = SecretBox::key_id_of(&v) {
            let c: String = r.try_get("commitment")?;
            text.entry(id.to_string()).or_insert((media_seed_ad(&c), v));
        }
    }
    let rows = sqlx::query("SELECT id, seeds FROM jobs")
        .fetch_all(db.pool())
        .await?;
    for r in rows {
        let v: String = r.try_get("seeds")?;
        if let Some(id) = SecretBox::key_id_of(&v) {
            let job: String = r.try_get("id")?;
            text.entry(id.to_string())
                .or_insert((job_seeds_ad(&job), v));
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT sha256, substr(bytes, 1, {HEAD_BYTES}) AS head FROM blobs"
    ))
    .fetch_all(db.pool())
    .await?;
    for r in rows {
        let head: Vec<u8> = r.try_get("head")?;
        if let Some(id) = SecretBox::key_id_of_bytes(&head) {
            blobs.entry(id.to_string()).or_insert(r.try_get("sha256")?);
        }
    }
    let missing: BTreeSet<&str> = text
        .keys()
        .chain(blobs.keys())
        .map(String::as_str)
        .filter(|id| !b.holds(id))
        .collect();
    if !missing.is_empty() {
        return Err(err(format!(
            "the database holds values sealed under key(s) {missing:?}, which the service key \
             file does not hold (it holds {:?}): wrong key file? Point --secret-key-file / \
             MPEGS_SECRET_KEY_FILE at the service's key file",
            b.key_ids()
        )));
    }
    for (ad, v) in text.values() {
        b.open(ad, v)?;
    }
    for sha in blobs.values() {
        if let Some(stored) = crate::files::read_stored(db, sha).await? {
            crate::files::open_stored(db, sha, &stored)?;
        }
    }
    Ok(())
}

/// Seals every secret stored in the clear (seeds written before sealing,
/// image bytes of private media written before they were sealed, in the
/// database and in the local copies under `media_dir`) and, with `reseal`,
/// re-seals every value not under the current key (rotation). Each value is
/// its own statement or atomic file write: a run cut short leaves every value
/// either as it was or sealed under a key the key file holds, and the next
/// run finishes the job.
async fn reseal_rows(
    db: &crate::Db,
    media_dir: Option<&Path>,
    reseal: bool,
) -> Result<Resealed, ServiceError> {
    let b = db.secrets()?;
    let mut n = Resealed::default();
    let needs = |v: &str| {
        !SecretBox::is_sealed(v) || (reseal && SecretBox::key_id_of(v) != Some(b.current_id()))
    };
    let rows =
        sqlx::query("SELECT commitment, secret_seed FROM media WHERE secret_seed IS NOT NULL")
            .fetch_all(db.pool())
            .await?;
    for r in rows {
        let c: String = r.try_get("commitment")?;
        let v: String = r.try_get("secret_seed")?;
        if !needs(&v) {
            continue;
        }
        let ad = media_seed_ad(&c);
        let plain = if SecretBox::is_sealed(&v) {
            b.open(&ad, &v)?
        } else {
            Zeroizing::new(v.into_bytes())
        };
        sqlx::query("UPDATE media SET secret_seed = $1 WHERE commitment = $2")
            .bind(b.seal(&ad, &plain)?)
            .bind(&c)
            .execute(db.pool())
            .await?;
        n.seeds += 1;
    }
    let rows = sqlx::query("SELECT id, seeds FROM jobs")
        .fetch_all(db.pool())
        .await?;
    for r in rows {
        let id: String = r.try_get("id")?;
        let v: String = r.try_get("seeds")?;
        if !needs(&v) {
            continue;
        }
        let ad = job_seeds_ad(&id);
        let plain = if SecretBox::is_sealed(&v) {
            b.open(&ad, &v)?
        } else {
            Zeroizing::new(v.into_bytes())
        };
        sqlx::query("UPDATE jobs SET seeds = $1 WHERE id = $2")
            .bind(b.seal(&ad, &plain)?)
            .bind(&id)
            .execute(db.pool())
            .await?;
        n.seeds += 1;
    }

    // Image blobs: only a head is read per row, the whole blob only when it
    // is rewritten, so a start over a large catalog reads little.
    let private = private_images(db).await?;
    let rows = sqlx::query(&format!(
        "SELECT sha256, substr(bytes, 1, {HEAD_BYTES}) AS head FROM blobs"
    ))
    .fetch_all(db.pool())
    .await?;
    let files = media_dir.map(|d| crate::files::MediaFiles::new(d.to_path_buf()));
    for r in rows {
        let sha: String = r.try_get("sha256")?;
        let head: Vec<u8> = r.try_get("head")?;
        let sealed = SecretBox::is_sealed_bytes(&head);
        let stale = sealed && reseal && SecretBox::key_id_of_bytes(&head) != Some(b.current_id());
        let must_seal = !sealed && private.contains(&sha);
        if stale || must_seal {
            let Some(stored) = crate::files::read_stored(db, &sha).await? else {
                continue; // deleted meanwhile
            };
            let plain = crate::files::open_stored(db, &sha, &stored)?;
            sqlx::query("UPDATE blobs SET bytes = $1 WHERE sha256 = $2")
                .bind(b.seal_bytes(&blob_ad(&sha), &plain)?)
                .bind(&sha)
                .execute(db.pool())
                .await?;
            n.blobs += 1;
        }
        // The local copy of a sealed blob must be sealed too, under the
        // current key after a rotation (the old key may be why it rotates).
        if let Some(files) = &files {
            if sealed || must_seal {
                if let Some(local_head) = files.local_head(&sha, HEAD_BYTES as usize)? {
                    let local_ok = SecretBox::is_sealed_bytes(&local_head)
                        && (!reseal
                            || SecretBox::key_id_of_bytes(&local_head) == Some(b.current_id()));
                    if !local_ok {
                        if let Some(stored) = crate::files::read_stored(db, &sha).await? {
                            files.write_local(&sha, &stored)?;
                            n.files += 1;
                        }
                    }
                }
            }
        }
    }
    Ok(n)
}

/// Run on every start: refuses a key file that cannot open what is stored
/// ([`check_keys`]), then seals what older versions left in the clear (seeds,
/// private media's image bytes in the database and under `media_dir`).
pub async fn seal_at_rest(db: &crate::Db, media_dir: &Path) -> Result<Resealed, ServiceError> {
    check_keys(db).await?;
    reseal_rows(db, Some(media_dir), false).await
}

/// Values sealed under a key other than the current one (what `--drop-old`
/// would make unreadable).
async fn under_old_keys(db: &crate::Db) -> Result<usize, ServiceError> {
    let b = db.secrets()?;
    let current = Some(b.current_id());
    let mut n = 0;
    for sql in [
        "SELECT secret_seed AS v FROM media WHERE secret_seed IS NOT NULL",
        "SELECT seeds AS v FROM jobs",
    ] {
        for r in sqlx::query(sql).fetch_all(db.pool()).await? {
            let v: String = r.try_get("v")?;
            if SecretBox::is_sealed(&v) && SecretBox::key_id_of(&v) != current {
                n += 1;
            }
        }
    }
    let rows = sqlx::query(&format!(
        "SELECT substr(bytes, 1, {HEAD_BYTES}) AS head FROM blobs"
    ))
    .fetch_all(db.pool())
    .await?;
    for r in rows {
        let head: Vec<u8> = r.try_get("head")?;
        if SecretBox::is_sealed_bytes(&head) && SecretBox::key_id_of_bytes(&head) != current {
            n += 1;
        }
    }
    Ok(n)
}

/// Removes every key but the current one from the key file at `path`
/// (atomically), refused while the database still holds a value sealed under
/// one of them: what a service or worker left running during a rotation
/// would have written. Returns the ids dropped.
pub async fn drop_old_keys(database_url: &str, path: &Path) -> Result<Vec<String>, ServiceError> {
    let b = std::sync::Arc::new(SecretBox::load(path)?);
    let db = crate::Db::connect(database_url).await?.with_secrets(b);
    db.migrate().await?;
    drop_old_keys_of(&db, path).await
}

async fn drop_old_keys_of(db: &crate::Db, path: &Path) -> Result<Vec<String>, ServiceError> {
    let left = under_old_keys(db).await?;
    if left > 0 {
        return Err(err(format!(
            "{left} value(s) are still sealed under an old key (written during the rotation: \
             was a service or worker running?); {} keeps every key. Stop them and run \
             rotate-secret-key --drop-old again",
            path.display()
        )));
    }
    let mut only = SecretBox::load(path)?;
    let current = only.current_id().to_string();
    if current != db.secrets()?.current_id() {
        return Err(err(format!(
            "{} changed during the rotation (another rotation?); nothing dropped",
            path.display()
        )));
    }
    let mut dropped = only.key_ids();
    dropped.retain(|id| *id != current);
    only.drop_old();
    only.save(path)?;
    Ok(dropped)
}

/// What [`rotate`] did.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// The new current key.
    pub key_id: String,
    /// Values re-sealed under it.
    pub resealed: Resealed,
    /// Key ids removed from the key file (`--drop-old`; empty without).
    pub dropped: Vec<String>,
}

/// Key rotation (`mpegs serve rotate-secret-key`): checks that the key file
/// at `path` opens what is stored, adds a new current key to it (atomically,
/// old keys kept: the file is the keyring), re-seals every seed and private
/// image blob — and the local copies under `media_dir` — under the new key
/// and, with `drop_old`, rewrites the file with the new key alone, but only
/// once a final scan finds nothing left under an old key.
///
/// A crash at any point loses nothing: until the last step the file holds the
/// old keys, which open whatever was not yet re-sealed, and the new one, which
/// opens whatever was; running it again finishes. The service and its workers
/// must be stopped meanwhile: they hold the keys they loaded at start, so they
/// could neither open values re-sealed under the new key nor avoid sealing new
/// ones under the old.
pub async fn rotate(
    database_url: &str,
    path: &Path,
    media_dir: Option<&Path>,
    drop_old: bool,
) -> Result<Rotation, ServiceError> {
    if !path.exists() {
        return Err(err(format!(
            "no key file at {}: nothing to rotate (mpegs serve creates one on first start; \
             --secret-key-file / MPEGS_SECRET_KEY_FILE name another)",
            path.display()
        )));
    }
    let old = std::sync::Arc::new(SecretBox::load(path)?);
    let db = crate::Db::connect(database_url).await?;
    db.migrate().await?;
    // Refuse before writing anything when this is not the service's key file.
    check_keys(&db.clone().with_secrets(old)).await?;
    let mut b = SecretBox::load(path)?;
    let key_id = b.add_current();
    // The new key reaches the file before any value is sealed under it.
    b.save(path)?;
    let db = db.with_secrets(std::sync::Arc::new(b));
    let resealed = reseal_rows(&db, media_dir, true).await?;
    let dropped = if drop_old {
        drop_old_keys_of(&db, path).await?
    } else {
        vec![]
    };
    Ok(Rotation {
        key_id,
        resealed,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_and_place_binding() {
        let b = SecretBox::generate();
        let s = b.seal("media.secret_seed:a", b"seed").unwrap();
        assert_eq!(&b.open("media.secret_seed:a", &s).unwrap()[..], b"seed");
        assert!(b.open("media.secret_seed:b", &s).is_err());
        let other = SecretBox::generate();
        assert!(other.open("media.secret_seed:a", &s).is_err());
    }

    #[test]
    fn rotation_opens_old_values() {
        let mut b = SecretBox::generate();
        let s = b.seal("x", b"1").unwrap();
        let old = b.current_id().to_string();
        b.add_current();
        assert_ne!(b.current_id(), old);
        assert_eq!(&b.open("x", &s).unwrap()[..], b"1");
        let s2 = b.seal("x", b"1").unwrap();
        b.drop_old();
        assert!(b.open("x", &s).is_err());
        assert_eq!(&b.open("x", &s2).unwrap()[..], b"1");
    }

    #[test]
    fn key_file_mode_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret.key");
        let b = SecretBox::load_or_create(&p).unwrap();
        let again = SecretBox::load(&p).unwrap();
        assert_eq!(b.key_ids(), again.key_ids());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = SecretBox::load(&p).unwrap_err().to_string();
            assert!(e.contains("readable by group or others"), "{e}");
        }
    }
}
