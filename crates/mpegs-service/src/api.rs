//! The HTTP API (docs/service.md §API). JSON in and out; every error is a JSON
//! object `{"error": code, "reason": text}` with a 4xx status for bad requests
//! and 5xx for the service's own trouble. Writes need a bearer token.

use crate::catalog::{self, NewMedia};
use crate::config::Limits;
use crate::files::{sha256_hex, MediaFiles};
use crate::{metrics, queue, tokens, web, Db, ServiceConfig, ServiceError};
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::Stream;
use mpegs_app::graph::Graph;
use mpegs_app::verify::verify_frame;
use mpegs_filters::parse_filtergraph;
use mpegs_media::{decode_image, image_dimensions, Seed};
use mpegs_provenance::prove::{blinding_seed, EditWork, OsEntropy};
use mpegs_provenance::verify::Report;
use mpegs_provenance::{Bundle, MediaSecret};
use mpegs_zk::keys::{KeySetJson, KeyStore};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    db: Db,
    store: Arc<KeyStore>,
    files: MediaFiles,
    limits: Limits,
    verify_slots: Arc<Semaphore>,
    /// The application configuration (home, chain) for use cases that need it.
    app: Arc<mpegs_app::Config>,
}

impl AppState {
    pub fn new(db: Db, store: Arc<KeyStore>, config: &ServiceConfig) -> Result<Self, ServiceError> {
        Ok(Self {
            db,
            store,
            files: MediaFiles::new(config.media_dir()),
            verify_slots: Arc::new(Semaphore::new(config.limits.verify_concurrency)),
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
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            status,
            code,
            reason: reason.into(),
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
        (
            self.status,
            Json(json!({"error": self.code, "reason": self.reason})),
        )
            .into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Database(e) => {
                tracing::warn!("database: {e}");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    format!("the database is unavailable: {e}"),
                )
            }
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                other.to_string(),
            ),
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

/// The router with every route, limit and the JSON fallbacks.
pub fn router(state: AppState) -> Router {
    let timeout = state.limits.request_timeout;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/v1/media", post(upload_media).get(list_media))
        .route("/v1/media/{commitment}", get(get_media))
        .route("/v1/media/{commitment}/graph", get(get_graph))
        .route("/v1/media/{commitment}/image", get(get_image))
        .route("/v1/media/{commitment}/bundle", get(get_bundle))
        .route("/v1/jobs", post(create_job))
        .route("/v1/jobs/{id}", get(get_job))
        .route("/v1/jobs/{id}/events", get(job_events))
        .route("/v1/verify", post(verify))
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
        .with_state(state)
}

/// Ends a request that takes longer than `limit` with 503 and a JSON reason.
/// Event streams are exempt: they last as long as their job.
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

/// The token's name, or 401.
async fn authorize(state: &AppState, headers: &HeaderMap) -> ApiResult<String> {
    let unauthorized =
        |reason: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", reason.to_string());
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            unauthorized("writes need `Authorization: Bearer <token>` (mpegs serve token create)")
        })?
        .to_str()
        .map_err(|_| unauthorized("the Authorization header is not text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
    tokens::check(&state.db, token.trim())
        .await?
        .ok_or_else(|| unauthorized("unknown token"))
}

async fn healthz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(3), state.db.ping()).await {
        Ok(Ok(())) => Json(json!({"status": "ok", "database": "ok"})).into_response(),
        Ok(Err(e)) => unhealthy(e.to_string()),
        Err(_) => unhealthy("no answer within 3 s".into()),
    }
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

/// Decodes and verifies an upload off the async threads, at most
/// `verify_concurrency` at a time.
async fn check_upload(state: &AppState, upload: Upload) -> ApiResult<Checked> {
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
    let bundle = Bundle::from_json(&bundle_bytes)
        .map_err(|e| ApiError::unprocessable("bad_bundle", e.to_string()))?;
    let secret = match &upload.secret {
        Some(bytes) => Some(
            MediaSecret::from_json_for(bytes, &bundle.media, "secret")
                .map_err(|e| ApiError::unprocessable("bad_secret", e.to_string()))?,
        ),
        None => None,
    };
    let image_type = if image.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let _slot = state
        .verify_slots
        .acquire()
        .await
        .map_err(|e| ApiError::from(ServiceError::Internal(e.to_string())))?;
    let store = state.store.clone();
    let (image, bundle, report) = tokio::task::spawn_blocking(move || {
        let frame = decode_image(&image, "image")
            .map_err(|e| ApiError::unprocessable("bad_image", e.to_string()))?;
        let report = verify_frame(&frame, &bundle, secret.as_ref(), &store);
        Ok::<_, ApiError>((image, bundle, report))
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

/// `POST /v1/media`: verify, then store.
async fn upload_media(
    State(state): State<AppState>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    authorize(&state, &headers).await?;
    let upload = read_upload(multipart?).await?;
    let checked = check_upload(&state, upload).await?;
    if !checked.report.valid {
        return Err(ApiError::unprocessable(
            "invalid_bundle",
            checked.report.reason.unwrap_or_default(),
        ));
    }
    let b = &checked.bundle;
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
        },
    )
    .await?;
    state
        .files
        .write_local(&sha256_hex(&checked.image), &checked.image)?;
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
    Ok((status, Json(body)).into_response())
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
    q: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::new(e.status(), "bad_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(DEFAULT_LIST).clamp(1, MAX_LIST);
    let device = q.device.as_deref().map(device_address).transpose()?;
    let prefix = q.commitment.as_deref().map(commitment_prefix).transpose()?;
    let filter = catalog::ListFilter {
        device: device.as_deref(),
        prefix: prefix.as_deref(),
    };
    let items = catalog::list(&state.db, filter, limit).await?;
    Ok(Json(json!({ "items": items })).into_response())
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
async fn get_graph(State(state): State<AppState>, Path(c): Path<String>) -> ApiResult<Response> {
    check_commitment(&c)?;
    let source = catalog::source(&state.db, &c)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no media item {c}")))?;
    let mut graph = Graph::of_bundle(&source.bundle);
    let mut pending: std::collections::VecDeque<String> =
        graph.items().map(str::to_string).collect();
    let mut walked = std::collections::HashSet::new();
    let mut truncated = false;
    while let Some(item) = pending.pop_front() {
        if !walked.insert(item.clone()) {
            continue;
        }
        if walked.len() > MAX_GRAPH_ITEMS {
            truncated = true;
            break;
        }
        for (child, bundle) in catalog::children(&state.db, &item).await? {
            graph.add_bundle(&bundle);
            pending.push_back(child);
        }
    }
    let mut held = std::collections::HashSet::new();
    for n in &graph.nodes {
        if n.role != mpegs_app::graph::Role::Intermediate
            && catalog::contains(&state.db, &n.commitment).await?
        {
            held.insert(n.commitment.clone());
        }
    }
    graph.mark(|c| held.contains(c));
    let mut jobs = vec![];
    for item in graph.items() {
        if held.contains(item) {
            jobs.extend(queue::unfinished_jobs(&state.db, item, MAX_GRAPH_JOBS).await?);
        }
    }
    let chain = chain_records(&state, graph.items().map(str::to_string).collect()).await;
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
async fn chain_records(state: &AppState, items: Vec<String>) -> serde_json::Value {
    let app = state.app.clone();
    let read = tokio::task::spawn_blocking(move || mpegs_app::chain::records(&app, &items)).await;
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

async fn get_media(State(state): State<AppState>, Path(c): Path<String>) -> ApiResult<Response> {
    check_commitment(&c)?;
    let item = catalog::get(&state.db, &c)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no media item {c}")))?;
    Ok(Json(item).into_response())
}

async fn get_image(State(state): State<AppState>, Path(c): Path<String>) -> ApiResult<Response> {
    check_commitment(&c)?;
    let source = catalog::source(&state.db, &c)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no media item {c}")))?;
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

async fn get_bundle(State(state): State<AppState>, Path(c): Path<String>) -> ApiResult<Response> {
    check_commitment(&c)?;
    let source = catalog::source(&state.db, &c)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no media item {c}")))?;
    Ok(Json(source.bundle).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRequest {
    input: String,
    vf: String,
}

/// `POST /v1/jobs`: check everything that can be checked now (the input exists
/// and can be edited, the chain parses and fits its size), then queue it.
async fn create_job(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<JobRequest>, JsonRejection>,
) -> ApiResult<Response> {
    authorize(&state, &headers).await?;
    let Json(req) = body.map_err(|e| ApiError::new(e.status(), "bad_json", e.body_text()))?;
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
    if source.seed.is_none() {
        return Err(ApiError::unprocessable(
            "private_input",
            "the input is private and was uploaded without its secret, so it cannot be edited here",
        ));
    }
    let work = EditWork::of(&chain, source.bundle.media.header)
        .map_err(|e| ApiError::unprocessable("bad_filter", e.to_string()))?;
    let seeds: Vec<Seed> = (0..chain.filters.len())
        .map(|i| blinding_seed(&OsEntropy, i))
        .collect();
    let id = queue::create_job(
        &state.db,
        queue::NewJob {
            input: &req.input,
            vf: &chain.canonical(),
            seeds: &seeds,
            work: &work,
        },
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": id, "status": "queued", "progress": {"done": 0, "total": work.total_tiles()}})),
    )
        .into_response())
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

async fn get_job(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    check_job_id(&id)?;
    let job = queue::job(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))?;
    Ok(Json(job).into_response())
}

/// How often an event stream looks at its job.
pub const EVENT_POLL: Duration = Duration::from_millis(250);

/// `GET /v1/jobs/{id}/events`: a `progress` event whenever the job changes, then
/// one `done` or `failed` event, then the stream ends.
async fn job_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>> {
    check_job_id(&id)?;
    let first = queue::job(&state.db, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no job {id}")))?;
    let stream = futures_util::stream::unfold(
        (state, id, Some(first), None::<queue::JobStatus>, false),
        |(state, id, mut next, last, ended)| async move {
            if ended {
                return None;
            }
            loop {
                let job = match next.take() {
                    Some(j) => j,
                    None => {
                        tokio::time::sleep(EVENT_POLL).await;
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
                    _ => "progress",
                };
                let data = serde_json::to_string(&job).unwrap_or_default();
                let event = Event::default().event(name).data(data);
                let finished = job.finished();
                return Some((Ok(event), (state, id, None, Some(job), finished)));
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `POST /v1/verify`: the report `mpegs verify --json` prints, for uploaded files.
async fn verify(
    State(state): State<AppState>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let upload = read_upload(multipart?).await?;
    let checked = check_upload(&state, upload).await?;
    Ok(Json(checked.report).into_response())
}
