//! What every request and connection goes through, whatever its route: a
//! request id (`x-request-id`, made here unless the client sent one, echoed on
//! the response and on every log line of the request), an access log line,
//! security headers, a per-client rate limit; and the listener's connection
//! cap and idle timeout. Plus the bounded pre-scan of untrusted JSON.

use crate::config::Limits;
use crate::Db;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The Content-Security-Policy of every response. The explorer's pages load
/// only their own scripts (module scripts from /assets), run the verifier in
/// WebAssembly (`'wasm-unsafe-eval'`) in a Web Worker, show camera frames and
/// pictures from blob:/data: URLs, and talk only to this server; the item page
/// (/m/…) sets `<base href="/">` (so `base-uri 'self'`); nothing may
/// frame them.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' \
    'wasm-unsafe-eval'; worker-src 'self' blob:; img-src 'self' data: blob:; media-src 'self' \
    blob: mediastream:; connect-src 'self'; style-src 'self' 'unsafe-inline'; object-src 'none'; \
    base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `router` in the layers every response gets.
pub fn layers(router: Router, limits: &Limits, _db: Db) -> Router {
    let rate = RateLimiter::new(limits.rate_per_sec, limits.rate_burst);
    let headers: [(&'static str, &'static str); 5] = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    let mut router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
        let rate = rate.clone();
        async move { rate_limit(rate, req, next).await }
    }));
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    // Outermost first on the way in: the id is set, then the access log's
    // span (which carries it) opens, and the id is copied onto the response.
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    // The query string is logged with the values of
                    // secret-looking parameters hidden (`redact_query`):
                    // a client may put a token or password in a URL.
                    let query = req.uri().query().map(redact_query).unwrap_or_default();
                    tracing::info_span!(
                        "request",
                        request_id = %id,
                        method = %req.method(),
                        path = %req.uri().path(),
                        query = %query,
                        account = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(|res: &Response, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(
                        status = res.status().as_u16(),
                        latency_ms = latency.as_secs_f64() * 1e3,
                        "access"
                    );
                })
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// Whom a limit per client counts an address against: an IPv4 address itself
/// (also when it arrives IPv4-mapped, `::ffff:a.b.c.d`), an IPv6 address by
/// its /64 — one subscriber's routed prefix, whose 2^64 addresses would
/// otherwise each get a fresh share.
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// A token bucket per client (per [`client_key`]: IPv6 per /64): `per_sec`
/// tokens a second, at most `burst` saved. `per_sec == 0` turns the limit off.
#[derive(Clone)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
}

impl RateLimiter {
    pub fn new(per_sec: u64, burst: u64) -> Self {
        Self {
            per_sec: per_sec as f64,
            burst: burst.max(1) as f64,
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes one token of `ip`'s bucket: `Err(wait)` when it is empty.
    pub fn take(&self, ip: IpAddr) -> Result<(), Duration> {
        if self.per_sec <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        // Forget idle clients now and then, so the map stays small.
        if buckets.len() > 100_000 {
            let full = self.burst / self.per_sec;
            buckets.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < full);
        }
        let (tokens, last) = buckets.entry(client_key(ip)).or_insert((self.burst, now));
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * self.per_sec).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_sec))
        }
    }
}

async fn rate_limit(rate: RateLimiter, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0 .0.ip());
    if let Some(ip) = ip {
        if let Err(wait) = rate.take(ip) {
            let secs = wait.as_secs().max(1).to_string();
            let mut res = crate::api::ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address (MPEGS_RATE_PER_SEC, MPEGS_RATE_BURST)",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs) {
                res.headers_mut().insert("retry-after", v);
            }
            return res;
        }
    }
    next.run(req).await
}

/// Names of query parameters whose values never reach a log: any name that
/// contains one of these (case-insensitive), e.g. `access_token`, `apiKey`,
/// `X-Amz-Signature`, `db_password`, `client_secret`.
const SECRET_PARAMETER_WORDS: [&str; 5] = ["token", "secret", "password", "key", "signature"];

/// A query string (`a=1&token=abc`, without the `?`) with the value of every
/// parameter whose name looks secret replaced by `***`; the rest, names
/// included, as it was. For access logs and logged URLs.
pub fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (name, value) = match pair.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (pair, None),
            };
            // Names may be percent-encoded (`pass%77ord`): compared decoded.
            let decoded = percent_decode(name).to_ascii_lowercase();
            let secret = SECRET_PARAMETER_WORDS.iter().any(|w| decoded.contains(w));
            match value {
                Some(_) if secret => format!("{name}=***"),
                _ => pair.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `%XX` escapes and `+` decoded (bytes that are not UTF-8 replaced), for
/// comparing parameter names.
fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Checks the shape of untrusted JSON before anything parses it into a tree:
/// nesting at most `max_depth`, at most `max_values` values in all. One pass,
/// constant memory: a 60 MB array of zeros is refused after reading it once
/// instead of becoming a tree of 30 million values.
pub fn check_json_shape(bytes: &[u8], max_depth: usize, max_values: usize) -> Result<(), String> {
    let mut depth = 0usize;
    let mut values = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    // Whether the previous byte ended a scalar token (numbers, true, …):
    // a run of such bytes is one value.
    let mut in_scalar = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        let scalar_byte = b.is_ascii_alphanumeric() || b"+-.".contains(&b);
        if scalar_byte {
            if !in_scalar {
                values += 1;
                in_scalar = true;
            }
        } else {
            in_scalar = false;
            match b {
                b'"' => {
                    in_string = true;
                    values += 1;
                }
                b'[' | b'{' => {
                    values += 1;
                    depth += 1;
                    if depth > max_depth {
                        return Err(format!(
                            "the JSON nests deeper than {max_depth} levels (MPEGS_MAX_JSON_DEPTH)"
                        ));
                    }
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if values > max_values {
            return Err(format!(
                "the JSON has more than {max_values} values (MPEGS_MAX_JSON_VALUES)"
            ));
        }
    }
    Ok(())
}

/// A TCP listener that holds at most `max` connections open at once (the
/// next one is accepted when one closes; meanwhile clients wait in the
/// kernel's backlog), at most `per_ip` of them from one client (per
/// [`client_key`]; one more is closed as soon as it is accepted, so one
/// address cannot fill every slot while others wait), and closes a
/// connection that neither sent nor received a byte for `idle`. (The fixed
/// deadline for a request's headers is the HTTP server's, `lib::serve`.)
pub struct CappedListener {
    inner: tokio::net::TcpListener,
    slots: Arc<Semaphore>,
    per_ip: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    idle: Duration,
}

impl CappedListener {
    pub fn new(inner: tokio::net::TcpListener, max: usize, per_ip: usize, idle: Duration) -> Self {
        Self {
            inner,
            slots: Arc::new(Semaphore::new(max.max(1))),
            per_ip: per_ip.max(1),
            open: Arc::new(Mutex::new(HashMap::new())),
            idle,
        }
    }

    /// Counts a connection from `ip`: `None` when that client already holds
    /// `per_ip` connections.
    fn admit(&self, ip: IpAddr) -> Option<IpSlot> {
        let key = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(key).or_insert(0);
        if *n >= self.per_ip {
            return None;
        }
        *n += 1;
        Some(IpSlot {
            key,
            open: self.open.clone(),
        })
    }
}

/// One connection counted against its client's `per_ip`; uncounted on drop.
struct IpSlot {
    key: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.key) {
            *n -= 1;
            // Forgotten at zero: the map holds only clients with connections.
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

impl axum::serve::Listener for CappedListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let permit = match self.slots.clone().acquire_owned().await {
                Ok(p) => p,
                Err(_) => std::future::pending().await,
            };
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    let Some(ip_slot) = self.admit(addr.ip()) else {
                        // Dropped unanswered: a client over its share gets no
                        // HTTP response to wait for, only a closed connection.
                        tracing::debug!("{}: over MPEGS_MAX_CONNECTIONS_PER_IP", addr.ip());
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    return (
                        Guarded {
                            stream,
                            _permit: permit,
                            _ip_slot: ip_slot,
                            idle: self.idle,
                            timer: Box::pin(tokio::time::sleep(self.idle)),
                        },
                        addr,
                    );
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait, as axum does.
                    tracing::warn!("accept: {e}");
                    drop(permit);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// Serves `router` on `listener` until `stop` becomes true, then lets open
/// connections finish their requests. Each connection is HTTP/1.1 with a
/// fixed deadline, `header_timeout`, from its start (or the end of its
/// previous response) to the end of a request's headers: a client trickling
/// a byte now and then, each in time for the listener's idle timer, still
/// loses the connection at that deadline. (axum::serve gives no way to set
/// it, so the connections are served with hyper directly, as it does.)
pub async fn serve(
    mut listener: CappedListener,
    router: Router,
    header_timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use axum::serve::Listener as _;
    // Each connection's task holds a receiver: all have ended once the
    // sender sees none left.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    loop {
        let (io, addr) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(
            tower_http::add_extension::AddExtension::new(
                router.clone(),
                ConnectInfo(ClientAddr(addr)),
            ),
        );
        let mut stop = stop.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let _open = open;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(header_timeout);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("connection from {addr}: {e}");
                    }
                    return;
                }
                _ = stop.wait_for(|s| *s) => conn.as_mut().graceful_shutdown(),
            }
            if let Err(e) = conn.await {
                tracing::debug!("connection from {addr}: {e}");
            }
        });
    }
    drop(listener);
    drop(open_rx);
    open_tx.closed().await;
}

/// The client's address, as the rate limit sees it.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl axum::extract::connect_info::Connected<axum::serve::IncomingStream<'_, CappedListener>>
    for ClientAddr
{
    fn connect_info(stream: axum::serve::IncomingStream<'_, CappedListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

/// A connection holding its slots, with an idle timer reset by every byte.
pub struct Guarded {
    stream: tokio::net::TcpStream,
    _permit: OwnedSemaphorePermit,
    _ip_slot: IpSlot,
    idle: Duration,
    timer: Pin<Box<tokio::time::Sleep>>,
}

impl Guarded {
    fn touch(&mut self) {
        let at = tokio::time::Instant::now() + self.idle;
        self.timer.as_mut().reset(at);
    }
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.timer.as_mut().poll(cx).is_ready()
    }
}

fn idle_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, "idle connection closed")
}

use std::future::Future;

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.stream).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                self.touch();
                Poll::Ready(Ok(n))
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle_error())),
            other => other,
        }
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_counts_values_and_depth() {
        // Eight values: the object, two keys (counted: they cost memory too),
        // the array, 1, 2, the string with an escaped quote and bracket, true.
        assert!(check_json_shape(br#"{"a":[1,2,"x\"]"],"b":true}"#, 3, 8).is_ok());
        assert!(check_json_shape(br#"{"a":[1,2,"x\"]"],"b":true}"#, 3, 7).is_err());
        assert!(check_json_shape(b"[[[[0]]]]", 3, 100).is_err());
        assert!(check_json_shape(b"[[[0]]]", 3, 100).is_ok());
        let bomb: Vec<u8> = std::iter::once(b'[')
            .chain((0..1000).flat_map(|_| *b"0,"))
            .chain(*b"0]")
            .collect();
        assert!(check_json_shape(&bomb, 128, 1000).is_err());
        assert!(check_json_shape(&bomb, 128, 1002).is_ok());
    }

    #[test]
    fn rate_limiter_refuses_past_the_burst_and_refills() {
        let r = RateLimiter::new(1000, 3);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            r.take(ip).unwrap();
        }
        assert!(r.take(ip).is_err());
        assert!(r.take("10.0.0.2".parse().unwrap()).is_ok());
        std::thread::sleep(Duration::from_millis(5));
        assert!(r.take(ip).is_ok());
        assert!(RateLimiter::new(0, 1).take(ip).is_ok());
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() {
        let r = RateLimiter::new(1000, 2);
        // Two addresses of one /64: one bucket.
        r.take("2001:db8:1:2::1".parse().unwrap()).unwrap();
        r.take("2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap())
            .unwrap();
        assert!(r
            .take("2001:db8:1:2:dead:beef::7".parse().unwrap())
            .is_err());
        // The next /64 is another client.
        assert!(r.take("2001:db8:1:3::1".parse().unwrap()).is_ok());
        // An IPv4 client arriving IPv4-mapped is the IPv4 address.
        r.take("192.0.2.9".parse().unwrap()).unwrap();
        r.take("::ffff:192.0.2.9".parse().unwrap()).unwrap();
        assert!(r.take("192.0.2.9".parse().unwrap()).is_err());
        assert_eq!(
            client_key("2001:db8::abcd:1".parse().unwrap()),
            "2001:db8::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_key("::ffff:10.1.2.3".parse().unwrap()),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn secret_query_parameters_are_redacted() {
        assert_eq!(
            redact_query("page=2&password=hunter2&token=abc&secret=s&key=k&limit=5"),
            "page=2&password=***&token=***&secret=***&key=***&limit=5"
        );
        // Any name containing a secret word, in any case, even percent-encoded.
        assert_eq!(
            redact_query("access_token=a&apiKey=b&X-Amz-Signature=c&pass%77ord=d&Client_Secret=e"),
            "access_token=***&apiKey=***&X-Amz-Signature=***&pass%77ord=***&Client_Secret=***"
        );
        // Other parameters, flags without a value and odd escapes stay.
        assert_eq!(
            redact_query("cursor=x%2&flag&q=key"),
            "cursor=x%2&flag&q=key"
        );
        assert_eq!(redact_query(""), "");
    }
}
