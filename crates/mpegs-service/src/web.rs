//! The explorer's pages and assets (docs/explorer.md), embedded at compile time
//! from `web/dist` (scripts/build-web.sh). A build without them still compiles:
//! the pages then answer with a page that says the explorer was not built and
//! how to build it (status 503, so it is never taken for the real thing).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Whether this binary embeds a built explorer.
pub fn built() -> bool {
    asset("index.html").is_some()
}

/// The embedded file at `path` (relative to web/dist).
pub fn asset(path: &str) -> Option<&'static [u8]> {
    assets::ASSETS
        .binary_search_by(|(p, _)| (*p).cmp(path))
        .ok()
        .map(|i| assets::ASSETS[i].1)
}

/// Every embedded file's path (for tests and diagnostics).
pub fn paths() -> impl Iterator<Item = &'static str> {
    assets::ASSETS.iter().map(|(p, _)| *p)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The page shown instead of the explorer when the binary was built without it.
pub const NOT_BUILT: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>mpegs: explorer not built</title></head><body>\
<main><h1>The explorer was not built into this binary</h1>\
<p>The API works (<a href=\"/v1/media\">/v1/media</a>, docs/service.md), but the pages \
(home, item pages, <code>/verify</code>, <code>/capture</code>) were not embedded.</p>\
<p>Build them, then the binary:</p>\
<pre>./scripts/build-wasm.sh\n./scripts/build-web.sh\ncargo build --release -p mpegs-cli</pre>\
</main></body></html>\n";

fn serve(path: &str) -> Response {
    match asset(path) {
        Some(bytes) => {
            // Hashed build outputs never change under one name.
            let cache = if path.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, content_type(path)),
                    (header::CACHE_CONTROL, cache),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                ],
                bytes,
            )
                .into_response()
        }
        None if !built() && path.ends_with(".html") => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            NOT_BUILT,
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(
                serde_json::json!({"error": "not_found", "reason": format!("no file {path}")}),
            ),
        )
            .into_response(),
    }
}

pub async fn index() -> Response {
    serve("index.html")
}

/// `/m/{commitment}`: the page reads the commitment from its own address.
pub async fn item(Path(_c): Path<String>) -> Response {
    serve("m.html")
}

pub async fn verify() -> Response {
    serve("verify.html")
}

pub async fn capture() -> Response {
    serve("capture.html")
}

/// `/assets/…`: the built scripts, styles and the WASM module.
pub async fn file(Path(path): Path<String>) -> Response {
    if path.split('/').any(|part| part.is_empty() || part == "..") {
        return serve("");
    }
    serve(&format!("assets/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_sorted_for_lookup() {
        let all: Vec<&str> = paths().collect();
        let mut sorted = all.clone();
        sorted.sort();
        assert_eq!(all, sorted);
        for p in &all {
            assert!(asset(p).is_some(), "{p}");
        }
        assert!(asset("no/such/file").is_none());
    }

    #[test]
    fn types_of_the_files_vite_writes() {
        assert_eq!(content_type("assets/x-1a2b.wasm"), "application/wasm");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/worker-9.js"),
            "text/javascript; charset=utf-8"
        );
    }
}
