//! Browser-facing protections: the same-origin check that keeps other sites from making a
//! logged-in browser change anything (CSRF), and the security headers every response carries.
//! (Secrets in query strings — login links, unsubscribe tokens — stay out of the logs because
//! the request span names the path only: see `request_id::span`.)
//!
//! Only requests authenticated by the session cookie need the CSRF check: a browser adds the
//! cookie to requests that other sites trigger, never an `Authorization` header.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth;
use crate::config::Settings;

/// The header a cookie-authenticated multipart upload must carry. A page of another site can
/// send a multipart form without asking, but not with this header: the browser would first ask
/// permission (a CORS preflight), which Guichet never grants.
pub const PREFLIGHT_HEADER: &str = "graphql-require-preflight";

/// The Content-Security-Policy of responses that set none themselves: the web pages' own
/// policy (scripts, styles and images of this origin only, no inline script, no framing).
pub const DEFAULT_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
                               script-src 'self'; connect-src 'self'; form-action 'self'; \
                               frame-ancestors 'none'; base-uri 'none'";

/// `Referrer-Policy`: `same-origin` sends the full address to Guichet itself (the CSRF check
/// may fall back on it) and nothing to other sites, so page addresses — dossier numbers, an
/// unsubscribe token — never reach the funders' sites that pages link to.
pub const REFERRER_POLICY: &str = "same-origin";

/// Adds the security headers to every response, keeping those a handler set itself (the
/// downloads' `sandbox` policy, GraphiQL's, the login page's `Referrer-Policy`).
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let defaults: [(HeaderName, &'static str); 4] = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, REFERRER_POLICY),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CONTENT_SECURITY_POLICY, DEFAULT_CSP),
    ];
    for (name, value) in defaults {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}

/// True when the request is authenticated by the session cookie rather than a bearer token.
pub fn cookie_authenticated(headers: &HeaderMap) -> bool {
    auth::session_cookie(headers).is_some() && !auth::has_bearer(headers)
}

/// `scheme://host[:port]` of a URL, lowercased and without the default port; `None` for
/// anything that is not an http(s) URL (such as the `null` origin).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

/// True when the request comes from a page of Guichet: its `Origin` (or, without one, the
/// origin of its `Referer`) is that of the public address or of the `Host` it was sent to.
pub fn same_origin(settings: &Settings, headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let Some(origin) = text(header::ORIGIN)
        .or_else(|| text(header::REFERER))
        .and_then(origin_of)
    else {
        return false;
    };
    if origin_of(&settings.public_url).as_deref() == Some(origin.as_str()) {
        return true;
    }
    text(header::HOST).is_some_and(|host| {
        ["http", "https"]
            .iter()
            .any(|scheme| origin_of(&format!("{scheme}://{host}")).as_deref() == Some(&origin))
    })
}

/// What a state-changing request sends as its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// A GraphQL mutation (`application/json`, or `multipart/form-data` for an upload).
    Graphql,
    /// A form without content that matters (`POST /logout`).
    Form,
}

/// The refusal of a cookie-authenticated state change that may come from another site, if
/// it is one: it needs a same-origin `Origin` (or `Referer`); a GraphQL mutation also needs a
/// JSON body, or for an upload the [`PREFLIGHT_HEADER`]. Requests with a bearer token or no
/// cookie pass.
pub fn cross_site_refusal(
    settings: &Settings,
    headers: &HeaderMap,
    body: Body,
) -> Option<Response> {
    if !cookie_authenticated(headers) {
        return None;
    }
    if !same_origin(settings, headers) {
        return Some(forbidden(
            "Requête refusée : elle ne vient pas d'une page de Guichet (en-tête Origin absent ou d'un autre site).",
        ));
    }
    if body == Body::Form {
        return None;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.starts_with("application/json") {
        None
    } else if content_type.starts_with("multipart/form-data") {
        (!headers.contains_key(PREFLIGHT_HEADER)).then(|| {
            forbidden(
                "Requête refusée : un envoi de fichier par une session doit porter l'en-tête GraphQL-Require-Preflight.",
            )
        })
    } else {
        Some(forbidden(
            "Requête refusée : une mutation faite par une session doit être envoyée en application/json.",
        ))
    }
}

/// 403 with a GraphQL error body, `extensions.code` FORBIDDEN.
fn forbidden(message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "FORBIDDEN" } }]
    });
    (StatusCode::FORBIDDEN, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            origin_of("HTTPS://Guichet.Example.fr:443/compte?x=1").as_deref(),
            Some("https://guichet.example.fr")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("file:///etc/passwd"), None);
        assert_eq!(origin_of("https://"), None);
    }
}
