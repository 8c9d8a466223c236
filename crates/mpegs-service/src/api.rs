//! The HTTP API (docs/service.md §API). JSON in and out; every error is a JSON
//! object `{"error": code, "reason": text}` with a 4xx status for bad requests
//! and 5xx for the service's own trouble. Writes need a bearer token.

use crate::catalog::{self, NewMedia};
use crate::config::Limits;
use crate::files::{sha256_hex, MediaFiles};
use crate::tokens::{Principal, Scope};
use crate::{http, metrics, queue, tokens, web, Db, ServiceConfig, ServiceError};
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;
use mpegs_app::graph::Graph;
use mpegs_filters::parse_filtergraph;
use mpegs_media::{decode_image, image_dimensions, Seed};
use mpegs_provenance::prove::{blinding_seed, EditWork, OsEntropy};
use mpegs_provenance::verify::Report;
use mpegs_provenance::{Bundle, MediaSecret};
use mpegs_zk::keys::{KeySetJson, KeyStore};
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    db: Db,
    store: Arc<KeyStore>,
    files: MediaFiles,
    limits: Limits,
    verify_slots: Arc<Semaphore>,
    /// Open event streams (`MPEGS_MAX_EVENT_STREAMS`).
    stream_slots: Arc<Semaphore>,
    /// Open event streams per account (`MPEGS_MAX_EVENT_STREAMS_PER_ACCOUNT`).
    account_streams: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
    /// KiB of `POST /v1/verify` bodies held at once (`MPEGS_VERIFY_MEMORY_BYTES`).
    verify_memory: Arc<Semaphore>,
    /// Becomes true when the server shuts down: event streams end then.
    stopping: tokio::sync::watch::Receiver<bool>,
    /// The application configuration (home, chain) for use cases that need it.
    app: Arc<mpegs_app::Config>,
}

impl AppState {
    pub fn new(
        db: Db,
        store: Arc<KeyStore>,
        config: &ServiceConfig,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Result<Self, ServiceError> {
        Ok(Self {
            db,
            store,
            files: MediaFiles::new(config.media_dir()),
            verify_slots: Arc::new(Semaphore::new(config.limits.verify_concurrency)),
            stream_slots: Arc::new(Semaphore::new(config.limits.max_event_streams)),
            account_streams: Default::default(),
            verify_memory: Arc::new(Semaphore::new(verify_memory_units(&config.limits))),
            stopping,
            limits: config.limits.clone(),
            app: Arc::new(config.app()),
        })
    }
}

/// A JSON error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    reason: String,
    /// Seconds for a Retry-After header, when the refusal is temporary.
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
            retry_after: None,
        }
    }
    fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", reason)
    }
    fn unprocessable(code: &'static str, reason: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, reason)
    }
    fn not_found(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", reason)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(json!({"error": self.code, "reason": self.reason})),
        )
            .into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        res
    }
}

/// The service's own errors: logged in full (with the request's id, from the
/// span), answered with a generic reason — database text, file paths and
/// internal state are nobody's business outside.
impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Database(e) => {
                tracing::error!("database: {e}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is unavailable; try again later",
                )
            }
            other => {
                tracing::error!("internal: {other}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the service failed to answer this request (logged with its x-request-id)",
                )
            }
        }
    }
}

impl From<MultipartError> for ApiError {
    fn from(e: MultipartError) -> Self {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::new(status, "too_large", e.body_text());
        }
        Self::new(status, "bad_multipart", e.body_text())
    }
}

impl From<MultipartRejection> for ApiError {
    fn from(e: MultipartRejection) -> Self {
        Self::new(e.status(), "bad_multipart", e.body_text())
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The router with every route, limit and the JSON fallbacks (the layers every
/// response gets — request id, access log, security headers, rate limits — are
/// added by `http::layers`).
pub fn router(state: AppState) -> Router {
    let timeout = state.limits.request_timeout;
    let limits = state.limits.clone();
    let db = state.db.clone();
    let router = Router::new()
        .route("/healthz", get(readyz))
        .route("/readyz", get(readyz))
        .route("/livez", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/metrics", get(metrics_text))
        .route("/v1/media", post(upload_media).get(list_media))
        .route(
            "/v1/media/{commitment}",
            get(get_media).delete(delete_media),
        )
        .route("/v1/media/{commitment}/graph", get(get_graph))
        .route("/v1/media/{commitment}/image", get(get_image))
        .route("/v1/media/{commitment}/bundle", get(get_bundle))
        .route("/v1/jobs", post(create_job))
        .route("/v1/jobs/{id}", get(get_job).delete(cancel_job))
        .route("/v1/jobs/{id}/events", get(job_events))
        .route(
            "/v1/verify",
            post(verify).layer(DefaultBodyLimit::max(state.limits.verify_body_limit())),
        )
        .route("/v1/keys", get(get_keys))
        // The explorer (docs/explorer.md): pages and their assets.
        .route("/", get(web::index))
        .route("/m/{commitment}", get(web::item))
        .route("/verify", get(web::verify))
        .route("/capture", get(web::capture))
        .route("/assets/{*path}", get(web::file))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(state.limits.max_upload_bytes))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            request_timeout(req, next, timeout)
        }))
        .with_state(state);
    http::layers(router, &limits, db)
}

/// Ends a request that takes longer than `limit` with 503 and a JSON reason.
/// Event streams are exempt: they have their own lifetime
/// (`MPEGS_EVENT_STREAM_SECS`).
async fn request_timeout(req: Request, next: Next, limit: Duration) -> Response {
    if req.uri().path().ends_with("/events") {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {limit:?} (MPEGS_REQUEST_TIMEOUT_SECS)"),
        )
        .into_response(),
    }
}

fn unauthorized(reason: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", reason.to_string())
}

/// The principal of the request's bearer token: `None` without an
/// `Authorization` header, 401 for a malformed, unknown or expired token.
async fn principal_of(
    parts: &axum::http::request::Parts,
    state: &AppState,
) -> ApiResult<Option<Principal>> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
    let p = tokens::check(&state.db, token.trim())
        .await?
        .ok_or_else(|| unauthorized("unknown or expired token"))?;
    // The access log names the account (never the token).
    tracing::Span::current().record("account", p.account.as_str());
    Ok(Some(p))
}

/// A writer: a request with a valid token. As an extractor it runs on the
/// request's head, before any body extractor, so a request without a valid
/// token is refused before its body is read.
pub struct Writer(pub Principal);

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> ApiResult<Self> {
        principal_of(parts, state)
            .await?
            .map(Writer)
            .ok_or_else(|| {
                unauthorized(
                    "writes need `Authorization: Bearer <token>` (mpegs serve token create)",
                )
            })
    }
}

/// A reader: anyone; a token (optional) lets its account see its private
/// items and unfinished jobs.
pub struct Reader(pub Option<Principal>);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> ApiResult<Self> {
        Ok(Reader(principal_of(parts, state).await?))
    }
}

fn need(p: &Principal, scope: Scope) -> ApiResult<()> {
    if p.has(scope) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "scope",
            format!(
                "this token lacks the {} scope (mpegs serve token create --scope {})",
                scope.name(),
                scope.name()
            ),
        ))
    }
}

/// Readiness: the database answers and its migrations are applied.
async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!("readiness: database: {e}");
            return unhealthy("unreachable".into());
        }
        Err(_) => return unhealthy("no answer within 3 s".into()),
    }
    let migrated = sqlx::query("SELECT COUNT(*) FROM idempotency")
        .fetch_one(state.db.pool())
        .await;
    if migrated.is_err() {
        return unhealthy("schema migrations not applied".into());
    }
    Json(json!({"status": "ok", "database": "ok"})).into_response()
}

fn unhealthy(reason: String) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unhealthy", "database": reason})),
    )
        .into_response()
}

async fn metrics_text(State(state): State<AppState>) -> ApiResult<Response> {
    let text = metrics::render(&state.db).await?;
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// The parts of an upload.
#[derive(Default)]
struct Upload {
    image: Option<Vec<u8>>,
    bundle: Option<Vec<u8>>,
    secret: Option<Vec<u8>>,
}

async fn read_upload(mut multipart: Multipart) -> ApiResult<Upload> {
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_string();
        let slot = match name.as_str() {
            "image" => &mut upload.image,
            "bundle" => &mut upload.bundle,
            "secret" => &mut upload.secret,
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown form field {other:?} (expected image, bundle and optionally secret)"
                )))
            }
        };
        if slot.is_some() {
            return Err(ApiError::bad_request(format!(
                "form field {name:?} given twice"
            )));
        }
        *slot = Some(field.bytes().await?.to_vec());
    }
    Ok(upload)
}

/// An upload checked all the way: image decoded within limits, bundle parsed,
/// and the verifier's report.
struct Checked {
    image: Vec<u8>,
    image_type: &'static str,
    bundle: Bundle,
    secret: Option<Seed>,
    report: Report,
}

/// Parses an uploaded bundle within the service's budget: its size
/// (`MPEGS_MAX_BUNDLE_BYTES`) and, before any JSON tree is built, the shape of
/// its JSON (`http::check_json_shape`: nesting, values in all) — a 60 MB array
/// of zeros would otherwise become a 2 GB tree.
fn parse_bundle(limits: &Limits, bytes: &[u8]) -> ApiResult<Bundle> {
    if bytes.len() > limits.max_bundle_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the bundle is {} bytes, more than {} (MPEGS_MAX_BUNDLE_BYTES)",
                bytes.len(),
                limits.max_bundle_bytes
            ),
        ));
    }
    http::check_json_shape(bytes, limits.max_json_depth, limits.max_json_values)
        .map_err(|e| ApiError::unprocessable("bad_bundle", e))?;
    Bundle::from_json(bytes).map_err(|e| ApiError::unprocessable("bad_bundle", e.to_string()))
}

/// Decodes and verifies an upload off the async threads, at most
/// `verify_concurrency` at a time — parsing included: the slot is taken before
/// the bundle is parsed, so concurrent uploads cannot multiply its memory.
async fn check_upload(state: &AppState, upload: Upload) -> ApiResult<Checked> {
    check_upload_holding(state, upload, None).await
}

/// Sets its flag when dropped: a request's future holds one, so the flag
/// says the request is gone (answered, or dropped by the request timeout)
/// to work that outlives it on a blocking thread.
pub(crate) struct CancelOnDrop(pub(crate) Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// [`check_upload`], keeping `hold` (the request's memory reservation) until
/// the blocking work ends. The work stops early — between parsing, decoding
/// and every batch of proofs — once the request is dropped (it timed out,
/// `MPEGS_REQUEST_TIMEOUT_SECS`), so its verification slot and memory are
/// free again soon instead of after a verification nobody waits for.
async fn check_upload_holding(
    state: &AppState,
    upload: Upload,
    hold: Option<OwnedSemaphorePermit>,
) -> ApiResult<Checked> {
    let cancel = Arc::new(AtomicBool::new(false));
    let _cancel_on_drop = CancelOnDrop(cancel.clone());
    let image = upload
        .image
        .ok_or_else(|| ApiError::bad_request("missing form field \"image\""))?;
    let bundle_bytes = upload
        .bundle
        .ok_or_else(|| ApiError::bad_request("missing form field \"bundle\""))?;
    let (w, h) = image_dimensions(&image, "image")
        .map_err(|e| ApiError::unprocessable("bad_image", e.to_string()))?;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > state.limits.max_upload_pixels {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the image is {w}×{h}, more than {} pixels (MPEGS_MAX_UPLOAD_PIXELS)",
                state.limits.max_upload_pixels
            ),
        ));
    }
    let image_type = if image.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let _slot = state
        .verify_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::from(ServiceError::Internal(e.to_string())))?;
    let store = state.store.clone();
    let limits = state.limits.clone();
    let secret_bytes = upload.secret;
    let (image, bundle, secret, report) = tokio::task::spawn_blocking(move || {
        // The slot and the memory reservation move with the work: a request
        // that timed out stops waiting, but both stay taken until this work
        // has ended — which the cancel flag makes soon.
        let _slot = _slot;
        let _hold = hold;
        let gone = || {
            if cancel.load(Ordering::Relaxed) {
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cancelled",
                    "the request ended before its verification (MPEGS_REQUEST_TIMEOUT_SECS)",
                ))
            } else {
                Ok(())
            }
        };
        gone()?;
        let bundle = parse_bundle(&limits, &bundle_bytes)?;
        drop(bundle_bytes);
        gone()?;
        let secret = match &secret_bytes {
            Some(bytes) => Some(
                MediaSecret::from_json_for(bytes, &bundle.media, "secret")
                    .map_err(|e| ApiError::unprocessable("bad_secret", e.to_string()))?,
            ),
            None => None,
        };
        let frame = decode_image(&image, "image")
            .map_err(|e| ApiError::unprocessable("bad_image", e.to_string()))?;
        gone()?;
        // verify_frame's verifier, stopping between proof batches once the
        // request is gone.
        let report = mpegs_provenance::verify::verify_cancellable(
            &frame,
            &bundle,
            secret.as_ref(),
            store.as_ref(),
            &mut |_, _, _| {},
            &cancel,
        );
        // A stopped verification's report is nobody's answer.
        gone()?;
        Ok::<_, ApiError>((image, bundle, secret, report))
    })
    .await
    .map_err(|e| ApiError::from(ServiceError::Internal(e.to_string())))??;
    Ok(Checked {
        image,
        image_type,
        bundle,
        secret,
        report,
    })
}

/// `Idempotency-Key` of a write (1–200 printable ASCII characters), if any.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let v = v
        .to_str()
        .ok()
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .ok_or_else(|| {
            ApiError::bad_request("an Idempotency-Key is 1 to 200 printable ASCII characters")
        })?;
    Ok(Some(v.to_string()))
}

/// A write's answer, as `idempotent` records it.
pub(crate) struct Answer {
    status: StatusCode,
    body: serde_json::Value,
    /// What the write made (a job id, a commitment): deleting it deletes the
    /// recorded answer too.
    resource: Option<String>,
    /// The write completed the idempotency key itself, in its own transaction.
    completed: bool,
}

/// Runs `write` at most once per (account, key): a retry with the same key
/// and the same request gets the first answer again; the same key with
/// another request is refused with 422. Without a key, `write` just runs.
/// `write` gets the reservation, to complete it in its own transaction when
/// it can (a job submission does).
async fn idempotent<F, Fut>(
    state: &AppState,
    who: &Principal,
    key: Option<String>,
    request_sha256: String,
    write: F,
) -> ApiResult<Response>
where
    F: FnOnce(Option<crate::idempotency::Held>) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Answer>>,
{
    use crate::idempotency::{self, Held, Reservation};
    let Some(key) = key else {
        let a = write(None).await?;
        return Ok((a.status, Json(a.body)).into_response());
    };
    match idempotency::reserve(&state.db, &who.account, &key, &request_sha256).await? {
        Reservation::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok((status, [("idempotent-replayed", "true")], body).into_response())
        }
        Reservation::Mismatch => Err(ApiError::unprocessable(
            "idempotency_mismatch",
            "this Idempotency-Key was used with another request",
        )),
        Reservation::InProgress => Err(in_progress()),
        Reservation::Reserved { token } => {
            let held = Held {
                account: who.account.clone(),
                key,
                token,
            };
            match write(Some(held.clone())).await {
                Ok(a) => {
                    if !a.completed {
                        let text = a.body.to_string();
                        let status = a.status.as_u16();
                        let resource = a.resource.as_deref();
                        idempotency::complete(&state.db, &held, status, &text, resource).await?;
                    }
                    Ok((a.status, Json(a.body)).into_response())
                }
                Err(e) => {
                    // A refused request did nothing: the key may be used again.
                    idempotency::release(&state.db, &held).await?;
                    Err(e)
                }
            }
        }
    }
}

fn in_progress() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_in_progress",
        "a request with this Idempotency-Key is still being answered; retry later",
    )
}

/// `POST /v1/media`: verify, then store (owned by the token's account).
async fn upload_media(
    State(state): State<AppState>,
    Writer(who): Writer,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    need(&who, Scope::Upload)?;
    let key = idempotency_key(&headers)?;
    let upload = read_upload(multipart?).await?;
    let request_sha256 = {
        let part = |b: &Option<Vec<u8>>| b.as_deref().map(sha256_hex).unwrap_or_default();
        sha256_hex(
            format!(
                "POST /v1/media\n{}\n{}\n{}",
                part(&upload.image),
                part(&upload.bundle),
                part(&upload.secret)
            )
            .as_bytes(),
        )
    };
    let st = state.clone();
    let account = who.account.clone();
    idempotent(&state, &who, key, request_sha256, |_| async move {
        store_upload(&st, &account, upload).await
    })
    .await
}

async fn store_upload(state: &AppState, account: &str, upload: Upload) -> ApiResult<Answer> {
    let checked = check_upload(state, upload).await?;
    if !checked.report.valid {
        return Err(ApiError::unprocessable(
            "invalid_bundle",
            checked.report.reason.unwrap_or_default(),
        ));
    }
    let b = &checked.bundle;
    if let Some(existing) = catalog::source(&state.db, &b.media.commitment).await? {
        // The same private item again from another account would otherwise
        // answer 200 and tell it the item exists; it is its first uploader's.
        if !existing.published() && existing.owner.as_deref() != Some(account) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "exists",
                "this item is already held by another account",
            ));
        }
    }
    let new = catalog::insert(
        &state.db,
        NewMedia {
            bundle: b,
            image: &checked.image,
            image_type: checked.image_type,
            // Kept only for private media, whose edits need it.
            secret_seed: if b.media.seed.is_some() {
                None
            } else {
                checked.secret
            },
            proofs_verified: checked.report.proofs_verified,
            owner: Some(account),
        },
    )
    .await?;
    // The stored form: sealed for private media (secrets.rs).
    state
        .files
        .copy_from_db(&state.db, &sha256_hex(&checked.image))
        .await?;
    let body = json!({
        "commitment": b.media.commitment,
        "kind": if b.edit.is_some() { "edit" } else { "attestation" },
        "width": b.media.header.width,
        "height": b.media.header.height,
        "created": new,
    });
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(Answer {
        status,
        body,
        resource: Some(b.media.commitment.clone()),
        completed: false,
    })
}

fn check_commitment(c: &str) -> ApiResult<()> {
    if catalog::is_commitment(c) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "a commitment is 0x followed by 64 lowercase hex digits",
        ))
    }
}

#[derive(Deserialize)]
struct ListQuery {
    device: Option<String>,
    /// A commitment prefix: `0x` and 1 to 64 hex digits.
    commitment: Option<String>,
    limit: Option<i64>,
    /// The cursor of the page to show (a previous page's `next`).
    before: Option<String>,
}

/// Most items a list returns.
pub const MAX_LIST: i64 = 200;
/// Items a list returns when the request does not say.
pub const DEFAULT_LIST: i64 = 50;

/// `0x` + 40 hex digits (any case), lowercased.
fn device_address(d: &str) -> ApiResult<String> {
    let ok = d.len() == 42 && d.starts_with("0x") && d[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(d.to_ascii_lowercase())
    } else {
        Err(ApiError::bad_request(
            "a device address is 0x followed by 40 hex digits",
        ))
    }
}

/// `0x` + 1 to 64 hex digits (any case), lowercased.
fn commitment_prefix(p: &str) -> ApiResult<String> {
    let ok = p.len() > 2
        && p.len() <= 66
        && p.starts_with("0x")
        && p[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(p.to_ascii_lowercase())
    } else {
        Err(ApiError::bad_request(
            "a commitment prefix is 0x followed by 1 to 64 hex digits",
        ))
    }
}

/// `GET /v1/media?device=0x…&commitment=0x…&limit=N`: recent items, newest first.
async fn list_media(
    State(state): State<AppState>,
    Reader(reader): Reader,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::new(e.status(), "bad_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIST).clamp(1, MAX_LIST);
    let device = q.device.as_deref().map(device_address).transpose()?;
    let prefix = q.commitment.as_deref().map(commitment_prefix).transpose()?;
    let filter = catalog::ListFilter {
        device: device.as_deref(),
        prefix: prefix.as_deref(),
        reader: reader.as_ref(),
    };
    let before = cursor(q.before.as_deref())?;
    let (items, next) = catalog::list(&state.db, filter, before.as_ref(), limit).await?;
    let next = next.map(|n| n.to_string());
    Ok(Json(json!({ "items": items, "next": next })).into_response())
}

/// Most catalog items one provenance graph walks through (beyond them it is
/// cut, and says so with `"truncated": true`).
pub const MAX_GRAPH_ITEMS: usize = 256;
/// Most unfinished jobs a graph lists per item.
pub const MAX_GRAPH_JOBS: i64 = 20;

/// `GET /v1/media/{commitment}/graph`: the item's provenance — its whole
/// history from its bundle, and every catalog item derived from any item of
/// that history — with the unfinished jobs on them. Built only from verified
/// bundles (mpegs_app::graph); nothing the service does not record.
async fn get_graph(
    State(state): State<AppState>,
    Reader(reader): Reader,
    Path(c): Path<String>,
) -> ApiResult<Response> {
    check_commitment(&c)?;
    let reader = reader.as_ref();
    let source = visible_source(&state, &c, reader).await?;
    let mut graph = Graph::of_bundle(&source.bundle);
    let mut pending: std::collections::VecDeque<String> =
        graph.items().map(str::to_string).collect();
    let mut walked = std::collections::HashSet::new();
    let mut truncated = false;
    let mut parsed = 0usize;
    while let Some(item) = pending.pop_front() {
        if !walked.insert(item.clone()) {
            continue;
        }
        if walked.len() > MAX_GRAPH_ITEMS {
            truncated = true;
            break;
        }
        // Every child's bundle is parsed: at most MAX_GRAPH_ITEMS of them
        // per graph, however many children the items have.
        let budget = (MAX_GRAPH_ITEMS - parsed) as i64;
        let (children, more) = catalog::children(&state.db, &item, reader, budget).await?;
        truncated |= more;
        parsed += children.len();
        for (child, bundle) in children {
            graph.add_bundle(&bundle);
            pending.push_back(child);
        }
    }
    let mut held = std::collections::HashSet::new();
    for n in &graph.nodes {
        if n.role != mpegs_app::graph::Role::Intermediate
            && catalog::source(&state.db, &n.commitment)
                .await
                .ok()
                .flatten()
                .is_some_and(|s| s.visible_to(reader))
        {
            held.insert(n.commitment.clone());
        }
    }
    graph.mark(|c| held.contains(c));
    let mut jobs = vec![];
    for item in graph.items() {
        if held.contains(item) {
            jobs.extend(queue::unfinished_jobs(&state.db, item, reader, MAX_GRAPH_JOBS).await?);
        }
    }
    let devices = graph
        .nodes
        .iter()
        .filter_map(|n| n.device.clone())
        .collect();
    let chain = chain_records(&state, graph.items().map(str::to_string).collect(), devices).await;
    Ok(Json(json!({
        "commitment": c,
        "nodes": graph.nodes,
        "edges": graph.edges,
        "jobs": jobs,
        "chain": chain,
        "truncated": truncated,
    }))
    .into_response())
}

/// The configured chain's registry records of a graph's items, as JSON: `null`
/// when no contracts are deployed there; `{"error": …}` when the chain cannot be
/// read (the graph is still served: the chain is an extra, not the history).
async fn chain_records(
    state: &AppState,
    items: Vec<String>,
    devices: Vec<String>,
) -> serde_json::Value {
    let app = state.app.clone();
    let read =
        tokio::task::spawn_blocking(move || mpegs_app::chain::records(&app, &items, &devices))
            .await;
    match read {
        Ok(Ok(records)) => json!(records),
        Ok(Err(e)) => json!({ "error": format!("cannot read the chain: {e}") }),
        Err(e) => json!({ "error": format!("cannot read the chain: {e}") }),
    }
}

/// `GET /v1/keys`: the key set this server trusts — every verifying key in its
/// store, with its hash and description, as `mpegs_zk::keys::KeySetJson` (what
/// the WASM verifier parses). Public: it is what a browser verifies
/// with (and shows by hash, so a reader can compare it with a key set they trust).
async fn get_keys(State(state): State<AppState>) -> ApiResult<Response> {
    let store = state.store.clone();
    let set = tokio::task::spawn_blocking(move || {
        KeySetJson::from_store(&store).map_err(ServiceError::from)
    })
    .await
    .map_err(|e| ApiError::from(ServiceError::Internal(e.to_string())))??;
    Ok(Json(set).into_response())
}

/// The item `c` if `reader` may see it; 404 otherwise (also for an item that
/// exists but is someone else's private one: its existence is theirs too).
async fn visible_source(
    state: &AppState,
    c: &str,
    reader: Option<&Principal>,
) -> ApiResult<catalog::Source> {
    catalog::source(&state.db, c)
        .await?
        .filter(|s| s.visible_to(reader))
        .ok_or_else(|| ApiError::not_found(format!("no media item {c}")))
}

#[derive(Deserialize)]
struct ItemQuery {
    /// The cursor of the page of children to show (`children_next`).
    children_after: Option<String>,
    /// Children per page: 1 to `catalog::MAX_CHILDREN_PAGE` (the default).
    children_limit: Option<i64>,
}

fn cursor(s: Option<&str>) -> ApiResult<Option<catalog::Cursor>> {
    s.map(|s| {
        catalog::Cursor::parse(s).ok_or_else(|| {
            ApiError::bad_request("a cursor is the `next` value a previous page returned")
        })
    })
    .transpose()
}

async fn get_media(
    State(state): State<AppState>,
    Reader(reader): Reader,
    Path(c): Path<String>,
    q: Result<Query<ItemQuery>, QueryRejection>,
) -> ApiResult<Response> {
    check_commitment(&c)?;
    let Query(q) = q.map_err(|e| ApiError::new(e.status(), "bad_query", e.body_text()))?;
    let after = cursor(q.children_after.as_deref())?;
    let limit = q
        .children_limit
        .unwrap_or(catalog::MAX_CHILDREN_PAGE)
        .clamp(1, catalog::MAX_CHILDREN_PAGE);
    let item = catalog::get(&state.db, &c, reader.as_ref(), after.as_ref(), limit)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no media item {c}")))?;
    Ok(Json(item).into_response())
}

async fn get_image(
    State(state): State<AppState>,
    Reader(reader): Reader,
    Path(c): Path<String>,
) -> ApiResult<Response> {
    check_commitment(&c)?;
    let source = visible_source(&state, &c, reader.as_ref()).await?;
    if source.bundle.media.seed.is_none() {
        // A private original: its commitment hides its pixels (docs/commitment.md
        // §17); serving them would undo that. The service keeps them to prove edits.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "private",
            "this item is private media (its bundle reveals no seed): its pixels are not \
             published; its edits are",
        ));
    }
    let bytes = state
        .files
        .read(&state.db, &source.image_sha256)
        .await?
        .ok_or_else(|| ApiError::not_found("the item's image is missing"))?;
    Ok((
        [(header::CONTENT_TYPE, source.image_type)],
        Body::from(bytes),
    )
        .into_response())
}

async fn get_bundle(
    State(state): State<AppState>,
    Reader(reader): Reader,
    Path(c): Path<String>,
) -> ApiResult<Response> {
    check_commitment(&c)?;
    let source = visible_source(&state, &c, reader.as_ref()).await?;
    Ok(Json(source.bundle).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRequest {
    input: String,
    vf: String,
}

/// Edits below a bundle's own: how deep its history already is.
fn history_depth(b: &Bundle) -> usize {
    let mut depth = 0;
    let mut cur = b;
    while let Some(e) = &cur.edit {
        depth += 1;
        cur = &e.parent;
    }
    depth
}

/// A job refused by a limit: 422 naming it.
fn over_limit(reason: String) -> ApiError {
    ApiError::unprocessable("limit", reason)
}

/// Every limit the output's bundle will have to pass (steps, history depth,
/// pixels and tiles of every frame — `mpegs_provenance::limits`) and the
/// service's own job size limit, checked from the frame shapes alone: no plan
/// is built for a job that would be refused.
fn check_job_limits(
    limits: &Limits,
    chain: &mpegs_filters::FilterChain,
    input: &Bundle,
) -> ApiResult<()> {
    use mpegs_provenance::limits as fmt;
    let steps = chain.filters.len();
    if steps > fmt::MAX_STEPS {
        return Err(over_limit(format!(
            "step count {steps} exceeds the limit of {} (MAX_STEPS)",
            fmt::MAX_STEPS
        )));
    }
    // The output's history is the input's plus the input itself.
    let depth = history_depth(input) + 1;
    if depth > fmt::MAX_HISTORY_DEPTH {
        return Err(over_limit(format!(
            "history depth {depth} exceeds the limit of {} (MAX_HISTORY_DEPTH)",
            fmt::MAX_HISTORY_DEPTH
        )));
    }
    let mut header = input.media.header;
    let mut tiles = 0usize;
    for f in &chain.filters {
        let info = f
            .output_info(header.info())
            .map_err(|e| ApiError::unprocessable("bad_filter", e.to_string()))?;
        header = mpegs_media::MediaHeader {
            format: info.format,
            width: info.width,
            height: info.height,
            tile: header.tile,
        };
        fmt::check_header(&header).map_err(|e| over_limit(e.to_string()))?;
        tiles = tiles.saturating_add(header.tile_count());
    }
    if tiles as u64 > limits.max_job_tiles {
        return Err(over_limit(format!(
            "the job has {tiles} tiles to prove, more than {} (MPEGS_MAX_JOB_TILES)",
            limits.max_job_tiles
        )));
    }
    Ok(())
}

/// `POST /v1/jobs`: check everything that can be checked now (the token may
/// submit jobs, the input is one it may edit, the chain parses and fits every
/// limit and the account's quotas), then queue it.
async fn create_job(
    State(state): State<AppState>,
    Writer(who): Writer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    need(&who, Scope::Jobs)?;
    let key = idempotency_key(&headers)?;
    let req: JobRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_json", e.to_string()))?;
    let request_sha256 = sha256_hex(&[b"POST /v1/jobs\n".as_slice(), &body].concat());
    let st = state.clone();
    let w = who.clone();
    idempotent(&state, &who, key, request_sha256, |held| async move {
        submit_job(&st, &w, req, held).await
    })
    .await
}

async fn submit_job(
    state: &AppState,
    who: &Principal,
    req: JobRequest,
    held: Option<crate::idempotency::Held>,
) -> ApiResult<Answer> {
    check_commitment(&req.input)?;
    if req.vf.len() > state.limits.max_vf_bytes {
        return Err(ApiError::unprocessable(
            "bad_filter",
            format!(
                "the filter chain is longer than {} bytes",
                state.limits.max_vf_bytes
            ),
        ));
    }
    refuse_server_files(&req.vf)?;
    let chain = parse_filtergraph(&req.vf)
        .map_err(|e| ApiError::unprocessable("bad_filter", e.to_string()))?;
    let source = catalog::source(&state.db, &req.input)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no media item {}", req.input)))?;
    if !source.published() && !who.owns(source.owner.as_deref()) {
        // Someone else's private original: its kept secret is theirs to use.
        // 403 (not 404): its commitment is public through its published edits.
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_owner",
            "the input is another account's private media: only its owner can edit it",
        ));
    }
    if source.seed.is_none() {
        return Err(ApiError::unprocessable(
            "private_input",
            "the input is private and was uploaded without its secret, so it cannot be edited here",
        ));
    }
    check_job_limits(&state.limits, &chain, &source.bundle)?;
    // The plan's cost follows the request (a big pad, a long chain): built off
    // the async threads, within the request's time.
    let header = source.bundle.media.header;
    let plan_chain = chain.clone();
    let work = tokio::task::spawn_blocking(move || EditWork::of(&plan_chain, header))
        .await
        .map_err(|e| ApiError::from(ServiceError::Internal(e.to_string())))?
        .map_err(|e| ApiError::unprocessable("bad_filter", e.to_string()))?;
    let seeds: Vec<Seed> = (0..chain.filters.len())
        .map(|i| blinding_seed(&OsEntropy, i))
        .collect();
    // The answer, recorded for the key in the job's own transaction (the
    // job's id is filled in there).
    let answer = |id: &str| json!({"id": id, "status": "queued", "progress": {"done": 0, "total": work.total_tiles()}});
    let template = answer("{id}").to_string();
    let quota = crate::quota::Quota::of(&state.limits);
    let created = queue::submit_job(
        &state.db,
        queue::NewJob {
            input: &req.input,
            vf: &chain.canonical(),
            seeds: &seeds,
            work: &work,
            owner: Some(&who.account),
        },
        queue::Submission {
            // Admins have no quota.
            quota: (!who.is_admin()).then_some(&quota),
            idempotency: held
                .as_ref()
                .map(|h| (h, StatusCode::ACCEPTED.as_u16(), template.as_str())),
        },
    )
    .await?;
    match created {
        queue::Created::Job(id) => Ok(Answer {
            status: StatusCode::ACCEPTED,
            body: answer(&id),
            resource: Some(id),
            completed: held.is_some(),
        }),
        queue::Created::OverQuota(reason) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "quota",
            reason,
        )),
        queue::Created::ReservationLost => Err(in_progress()),
    }
}

/// Filters that read constants from files (overlay's watermark) are refused
/// before parsing: parsing would open a path *on the server* that a client
/// chose, and workers elsewhere could not read it anyway.
fn refuse_server_files(vf: &str) -> ApiResult<()> {
    for item in vf.split(',') {
        let name = item.split('=').next().unwrap_or_default().trim();
        if name == "overlay" {
            return Err(ApiError::unprocessable(
                "bad_filter",
                "overlay takes its watermark from a file, which the service does not accept \
                 in jobs; prove watermarks with `mpegs edit`",
            ));
        }
    }
    Ok(())
}

fn check_job_id(id: &str) -> ApiResult<()> {
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ApiError::bad_request("a job id is 32 hex digits"))
    }
}

/// The job `id` if `reader` may follow it (its owner, or an admin); 404
/// otherwise, so another account's job ids do not even show they exist.
async fn visible_job(
    state: &AppState,
    id: &str,
    reader: Option<&Principal>,
) -> ApiResult<queue::JobStatus> {
    queue::job(&state.db, id)
        .await?
        .filter(|j| reader.is_some_and(|r| r.owns(j.owner.as_deref())))
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))
}

async fn get_job(
    State(state): State<AppState>,
    Reader(reader): Reader,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    check_job_id(&id)?;
    let job = visible_job(&state, &id, reader.as_ref()).await?;
    Ok(Json(job).into_response())
}

/// `DELETE /v1/jobs/{id}`: cancels the account's unfinished job.
async fn cancel_job(
    State(state): State<AppState>,
    Writer(who): Writer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    need(&who, Scope::Jobs)?;
    check_job_id(&id)?;
    let job = visible_job(&state, &id, Some(&who)).await?;
    if job.finished() || job.status == "cancelled" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "finished",
            format!("the job has already ended ({})", job.status),
        ));
    }
    let reason = format!("cancelled by {}", who.account);
    queue::cancel_job(&state.db, &id, &reason).await?;
    let job = queue::job(&state.db, &id).await?;
    Ok(Json(job).into_response())
}

/// `DELETE /v1/media/{c}`: the owner deletes its private item; an admin may
/// take down any item. Its bytes go too (blob row and local file) unless
/// another item uses them, and so do the jobs that read or made it (the
/// unfinished ones cancelled: a worker still holding one of their tasks
/// publishes nothing).
async fn delete_media(
    State(state): State<AppState>,
    Writer(who): Writer,
    Path(c): Path<String>,
) -> ApiResult<Response> {
    check_commitment(&c)?;
    let source = visible_source(&state, &c, Some(&who)).await?;
    if !who.is_admin() {
        need(&who, Scope::Upload)?;
        if !who.owns(source.owner.as_deref()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_owner",
                "only its owner or an admin can delete this item",
            ));
        }
        if source.published() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "published",
                "a published item can only be taken down by an admin",
            ));
        }
    }
    // One transaction: the item, and the jobs that read or made it with
    // their tasks, proofs and idempotency answers (catalog::delete).
    catalog::delete(&state.db, &state.files, &c).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One open event stream counted against its account's
/// `MPEGS_MAX_EVENT_STREAMS_PER_ACCOUNT`; uncounted when the stream ends.
struct AccountStream {
    account: String,
    open: Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
}

impl AccountStream {
    fn open(state: &AppState, account: String) -> ApiResult<Self> {
        let mut open = state
            .account_streams
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let n = open.entry(account.clone()).or_insert(0);
        if *n >= state.limits.max_event_streams_per_account {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                "this account has too many open event streams \
                 (MPEGS_MAX_EVENT_STREAMS_PER_ACCOUNT); close one or poll GET /v1/jobs/{id}",
            );
            e.retry_after = Some(1);
            return Err(e);
        }
        *n += 1;
        Ok(Self {
            account,
            open: state.account_streams.clone(),
        })
    }
}

impl Drop for AccountStream {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.account) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.account);
            }
        }
    }
}

/// How often an event stream looks at its job.
pub const EVENT_POLL: Duration = Duration::from_millis(250);

/// `GET /v1/jobs/{id}/events`: a `progress` event whenever the job changes, then
/// one `done` or `failed` event, then the stream ends. Only for the job's
/// owner; at most `MPEGS_MAX_EVENT_STREAMS` open at once (503 beyond), at most
/// `MPEGS_MAX_EVENT_STREAMS_PER_ACCOUNT` of them one account's (429 beyond),
/// each at most `MPEGS_EVENT_STREAM_SECS` long, all ended when the server
/// stops.
async fn job_events(
    State(state): State<AppState>,
    Reader(reader): Reader,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>> {
    check_job_id(&id)?;
    let first = visible_job(&state, &id, reader.as_ref()).await?;
    // visible_job found the reader to own the job: there is an account.
    let account = reader.map(|r| r.account).unwrap_or_default();
    let account_slot = AccountStream::open(&state, account)?;
    let slot = state
        .stream_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many open event streams (MPEGS_MAX_EVENT_STREAMS); poll GET /v1/jobs/{id}",
            )
        })?;
    let deadline = tokio::time::Instant::now() + state.limits.event_stream_lifetime;
    let stream = futures_util::stream::unfold(
        (
            state,
            id,
            Some(first),
            None::<queue::JobStatus>,
            false,
            (slot, account_slot),
        ),
        move |(mut state, id, mut next, last, ended, slot)| async move {
            if ended || *state.stopping.borrow() {
                return None;
            }
            loop {
                let job = match next.take() {
                    Some(j) => j,
                    None => {
                        let stopping = &mut state.stopping;
                        tokio::select! {
                            _ = tokio::time::sleep(EVENT_POLL) => {}
                            _ = tokio::time::sleep_until(deadline) => return None,
                            _ = stopping.wait_for(|s| *s) => return None,
                        }
                        match queue::job(&state.db, &id).await {
                            Ok(Some(j)) => j,
                            // The database may be restarting: keep the stream open.
                            Ok(None) | Err(_) => continue,
                        }
                    }
                };
                if last.as_ref() == Some(&job) {
                    continue;
                }
                let name = match job.status.as_str() {
                    "done" => "done",
                    "failed" => "failed",
                    "cancelled" => "cancelled",
                    _ => "progress",
                };
                let data = serde_json::to_string(&job).unwrap_or_default();
                let event = Event::default().event(name).data(data);
                let finished = job.finished() || job.status == "cancelled";
                return Some((Ok(event), (state, id, None, Some(job), finished, slot)));
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `POST /v1/verify`: the report `mpegs verify --json` prints, for uploaded files.
///
/// Anyone may call it, so its memory is bounded before its body is read: the
/// body must declare its length (411 without Content-Length), at most
/// `Limits::verify_body_limit` (413), and that many bytes are reserved from
/// `MPEGS_VERIFY_MEMORY_BYTES` — a request that does not fit beside those in
/// flight is answered 503 with Retry-After at once, its body unread, rather
/// than buffered to wait for a verification slot.
async fn verify(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let reservation = reserve_verify_memory(&state, req.headers())?;
    let multipart = Multipart::from_request(req, &state).await?;
    let upload = read_upload(multipart).await?;
    let checked = check_upload_holding(&state, upload, Some(reservation)).await?;
    Ok(Json(checked.report).into_response())
}

/// The verify memory budget counts KiB, so that a budget of terabytes still
/// fits a semaphore and one request's share a `u32`.
const VERIFY_MEMORY_UNIT: usize = 1024;

fn verify_memory_units(limits: &Limits) -> usize {
    limits
        .verify_memory_bytes
        .div_ceil(VERIFY_MEMORY_UNIT)
        .clamp(1, u32::MAX as usize)
}

/// Reserves a `POST /v1/verify` body's declared length from the verify
/// memory budget (see [`verify`]).
fn reserve_verify_memory(state: &AppState, headers: &HeaderMap) -> ApiResult<OwnedSemaphorePermit> {
    let limit = state.limits.verify_body_limit();
    let length_required = || {
        ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "POST /v1/verify needs a Content-Length (no chunked bodies)",
        )
    };
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Err(length_required());
    }
    let length: u64 = headers
        .get(header::CONTENT_LENGTH)
        .ok_or_else(length_required)?
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| ApiError::bad_request("Content-Length is not a whole number"))?;
    if length > limit as u64 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the body is {length} bytes, more than {limit} (MPEGS_MAX_IMAGE_BYTES + \
                 MPEGS_MAX_BUNDLE_BYTES + 64 KiB)"
            ),
        ));
    }
    // A budget below one request's size still admits it alone: it is then
    // the whole budget.
    let units = (length as usize)
        .div_ceil(VERIFY_MEMORY_UNIT)
        .clamp(1, verify_memory_units(&state.limits)) as u32;
    state
        .verify_memory
        .clone()
        .try_acquire_many_owned(units)
        .map_err(|_| {
            let mut e = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "verifications in flight hold the verify memory budget \
                 (MPEGS_VERIFY_MEMORY_BYTES); retry later",
            );
            e.retry_after = Some(1);
            e
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request timeout drops the request's future; the flag the blocking
    /// verification looks at must be set then.
    #[tokio::test]
    async fn a_request_dropped_by_its_timeout_sets_its_cancel_flag() {
        let flag = Arc::new(AtomicBool::new(false));
        let held = flag.clone();
        let request = async move {
            let _cancel_on_drop = CancelOnDrop(held);
            std::future::pending::<()>().await
        };
        assert!(tokio::time::timeout(Duration::from_millis(10), request)
            .await
            .is_err());
        assert!(flag.load(Ordering::Relaxed));
    }
}
