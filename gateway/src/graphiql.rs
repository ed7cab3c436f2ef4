//! The GraphiQL page (`GET /graphql` from a browser) and its files: GraphiQL and React pinned
//! in `gateway/graphiql/` (with their licences), embedded at build time and served under
//! `/assets/graphiql/`. The page loads nothing from another site and runs no inline script.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/graphiql_assets.rs"));

/// The page's policy: code and styles from Guichet only (styles may also be inline: GraphiQL's
/// components set some), fonts and icons GraphiQL's stylesheet holds as `data:` URLs, requests
/// to Guichet only, no form, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                       font-src data:; img-src 'self' data:; connect-src 'self'; \
                       base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The page: the pinned React, ReactDOM and GraphiQL, then our start-up script.
const PAGE: &str = r#"<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guichet — explorateur de l’API GraphQL (GraphiQL)</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/graphiql/graphiql-4.1.2.min.css">
<link rel="stylesheet" href="/assets/graphiql/guichet-graphiql.css">
</head>
<body>
<div id="graphiql">Chargement de GraphiQL…</div>
<script src="/assets/graphiql/react-18.3.1.production.min.js"></script>
<script src="/assets/graphiql/react-dom-18.3.1.production.min.js"></script>
<script src="/assets/graphiql/graphiql-4.1.2.min.js"></script>
<script src="/assets/graphiql/guichet-graphiql.js"></script>
</body>
</html>
"#;

/// `GET /graphql` without a query from a browser: the GraphiQL page, with its own
/// Content-Security-Policy ([`CSP`]).
pub fn page() -> Response {
    let mut response = Html(PAGE).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    response
}

/// `GET /assets/graphiql/{file}`. The pinned files carry their version in their name, so
/// browsers may keep them for a year; our own files (start-up script and style) are checked
/// at each load, as the web front end's are.
pub async fn serve_asset(Path(file): Path<String>) -> Response {
    let Some((name, bytes)) = GRAPHIQL_ASSETS.iter().find(|(name, _)| *name == file) else {
        return (StatusCode::NOT_FOUND, "Fichier introuvable").into_response();
    };
    let content_type = match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    };
    let cache = if name.starts_with("guichet-") {
        "no-cache"
    } else {
        "public, max-age=31536000, immutable"
    };
    let mut response = Response::new(Body::from(*bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
