//! A request id for every request: the client's own `X-Request-Id` when it is sane (1 to 64
//! characters of `A-Z a-z 0-9 . _ -`), a new one otherwise. It is sent back in the
//! `X-Request-Id` header of every response and named in the request's tracing span, so every
//! log line written while handling the request carries it; the span names the method and
//! path, never the query string (`/login?token=…` carries a secret).

use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::{Level, Span};

/// `X-Request-Id`.
pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest accepted incoming request id.
pub const MAX_LEN: usize = 64;

/// The id of the request being handled, in the request's extensions.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// The incoming id when it is sane.
fn sane(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let ok = (1..=MAX_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    ok.then_some(value)
}

/// A new id: 32 hexadecimal digits, random.
pub fn generate() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Middleware (the outermost): gives the request its id and writes it on the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(sane)
        .map_or_else(generate, str::to_owned);
    // Sane and generated ids are both valid header values.
    let value = HeaderValue::from_str(&id).ok();
    match &value {
        Some(value) => {
            request.headers_mut().insert(HEADER.clone(), value.clone());
        }
        None => {
            request.headers_mut().remove(&HEADER);
        }
    }
    request.extensions_mut().insert(RequestId(id));
    let mut response = next.run(request).await;
    if let Some(value) = value {
        response.headers_mut().insert(HEADER.clone(), value);
    }
    response
}

/// Paths polled by machines, logged at debug level only.
fn quiet(path: &str) -> bool {
    matches!(path, "/healthz" | "/metrics")
}

/// The span of one request (for `TraceLayer::make_span_with`): request id, method and path.
pub fn span<B>(request: &axum::http::Request<B>) -> Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .map_or("-", |r| r.0.as_str());
    let method = request.method();
    let path = request.uri().path();
    if quiet(path) {
        tracing::debug_span!("request", request_id = %id, %method, %path)
    } else {
        tracing::info_span!("request", request_id = %id, %method, %path)
    }
}

/// One line per answered request (for `TraceLayer::on_response`): status and latency, in the
/// request's span.
pub fn on_response<B>(response: &axum::http::Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = (latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    if span.metadata().is_some_and(|m| *m.level() == Level::INFO) {
        tracing::info!(status, latency_ms, "request answered");
    } else {
        tracing::debug!(status, latency_ms, "request answered");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_ids_are_kept() {
        let ok = |s: &str| sane(&HeaderValue::from_str(s).unwrap()).is_some();
        assert!(ok("abc-DEF_123.4"));
        assert!(ok(&"a".repeat(64)));
        assert!(!ok(&"a".repeat(65)));
        assert!(!ok(""));
        assert!(!ok("a b"));
        assert!(!ok("a/b"));
        assert!(!ok("id\"x"));
        assert_eq!(generate().len(), 32);
        assert_ne!(generate(), generate());
    }
}
