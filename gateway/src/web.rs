//! The web front end: files of `web/` embedded at build time, served under `/assets/`, and
//! `index.html` for every page path (the front end routes on the client).

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The embedded file at `path`, if any.
pub fn asset(path: &str) -> Option<&'static [u8]> {
    ASSETS
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, bytes)| *bytes)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// An embedded file. Its Content-Security-Policy and the other security headers are those
/// every response gets (`security::headers`).
fn respond(path: &str, bytes: &'static [u8]) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path)),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /assets/{*path}`.
pub async fn serve_asset(Path(path): Path<String>) -> Response {
    match asset(&path) {
        Some(bytes) => respond(&path, bytes),
        None => (StatusCode::NOT_FOUND, "Fichier introuvable").into_response(),
    }
}

/// Every page path: the single-page front end.
pub async fn index() -> Response {
    match asset("index.html") {
        Some(bytes) => respond("index.html", bytes),
        None => (
            StatusCode::NOT_FOUND,
            "Interface web absente de cette compilation",
        )
            .into_response(),
    }
}
