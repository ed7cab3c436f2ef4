//! `GET /metrics`: what the gateway does and how it is doing, in the Prometheus text
//! exposition format (version 0.0.4), written by hand.
//!
//! Counted as requests come: HTTP requests by route and status, their latency by route, and
//! GraphQL requests and latency by operation. Read at each scrape: the outbox (pending
//! messages, age of the oldest), the search index's lag behind the database, the database
//! pool and the process's resident memory.
//!
//! Labels have a bounded set of values: routes are the router's patterns (`/pieces/{id}`, and
//! `fallback` for the pages of the front end and unknown paths); a GraphQL operation is known
//! by its name when it is one of the web front end's, else by its first root field, else
//! `other`. Variables and query strings never appear.
//!
//! Who may read it: a client connecting from the loopback interface directly (no
//! `Forwarded`, `X-Forwarded-For` or `X-Real-IP` header, which a reverse proxy adds), the
//! holder of `GUICHET_METRICS_TOKEN` as a bearer token, or a staff account's API token.

use std::collections::{BTreeMap, HashSet};
use std::fmt::{self, Display, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use async_graphql::Positioned;
use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, Selection, SelectionSet,
};
use axum::Extension;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sea_orm::{DatabaseBackend, DatabaseConnection};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth;

/// Upper bounds of the latency buckets, in seconds (Prometheus' defaults).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The route label of requests that matched no route (the front end's pages, unknown paths).
pub const FALLBACK_ROUTE: &str = "fallback";
/// The operation label of GraphQL requests that cannot be named more precisely.
pub const OTHER_OPERATION: &str = "other";

#[derive(Default, Clone)]
struct Histogram {
    /// Observations per bucket (not cumulative); the last slot is above every bound.
    buckets: [u64; BUCKETS.len() + 1],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let slot = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[slot] += 1;
        self.count += 1;
        self.sum += seconds;
    }
}

#[derive(Default)]
struct Counted {
    http_requests: BTreeMap<(String, u16), u64>,
    http_latency: BTreeMap<String, Histogram>,
    graphql_requests: BTreeMap<String, u64>,
    graphql_latency: BTreeMap<String, Histogram>,
}

/// The counters of one running gateway.
pub struct Metrics {
    counted: Mutex<Counted>,
    in_flight: AtomicU64,
    /// Milliseconds after `started` of the last successful search sync.
    search_synced_ms: AtomicU64,
    started: Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            counted: Mutex::default(),
            in_flight: AtomicU64::new(0),
            // The index was opened, in step with the database, as the gateway started.
            search_synced_ms: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

impl Metrics {
    /// New counters. The first call also reads which GraphQL operation names are known, so
    /// that no request pays for it.
    pub fn new() -> Self {
        LazyLock::force(&LABELS);
        Self::default()
    }

    fn counted(&self) -> std::sync::MutexGuard<'_, Counted> {
        self.counted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one answered HTTP request.
    pub fn http_request(&self, route: &str, status: u16, elapsed: Duration) {
        let mut counted = self.counted();
        *counted
            .http_requests
            .entry((route.to_owned(), status))
            .or_default() += 1;
        if let Some(histogram) = counted.http_latency.get_mut(route) {
            histogram.observe(elapsed.as_secs_f64());
        } else {
            let mut histogram = Histogram::default();
            histogram.observe(elapsed.as_secs_f64());
            counted.http_latency.insert(route.to_owned(), histogram);
        }
    }

    /// Records one GraphQL request.
    pub fn graphql_request(&self, operation: &str, elapsed: Duration) {
        let mut counted = self.counted();
        *counted
            .graphql_requests
            .entry(operation.to_owned())
            .or_default() += 1;
        counted
            .graphql_latency
            .entry(operation.to_owned())
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Starts timing a GraphQL request; it is recorded when the returned guard is dropped,
    /// whichever way the handler returns.
    pub fn graphql_timer(&self, operation: Arc<str>) -> GraphqlTimer<'_> {
        GraphqlTimer {
            metrics: self,
            operation,
            started: Instant::now(),
        }
    }

    /// HTTP requests being handled now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Notes that the search index has just caught up with the database.
    pub fn search_synced(&self) {
        let ms = self.started.elapsed().as_millis() as u64;
        self.search_synced_ms.store(ms, Ordering::Relaxed);
    }

    fn since_search_sync(&self) -> Duration {
        let at = Duration::from_millis(self.search_synced_ms.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(at)
    }
}

/// See [`Metrics::graphql_timer`].
pub struct GraphqlTimer<'a> {
    metrics: &'a Metrics,
    operation: Arc<str>,
    started: Instant,
}

impl Drop for GraphqlTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .graphql_request(&self.operation, self.started.elapsed());
    }
}

struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Middleware counting every request by route and status, and timing it.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let metrics = &state.metrics;
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| FALLBACK_ROUTE.to_owned(), |m| m.as_str().to_owned());
    metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let _in_flight = InFlight(&metrics.in_flight);
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.http_request(&route, response.status().as_u16(), started.elapsed());
    response
}

/// Names a GraphQL operation for the metrics.
struct Labels {
    /// Operation names the web front end uses.
    operations: HashSet<String>,
    /// Fields of the `Query` and `Mutation` roots.
    root_fields: HashSet<String>,
}

static LABELS: LazyLock<Labels> = LazyLock::new(|| Labels {
    operations: front_end_operations(),
    root_fields: root_fields(),
});

/// The names of the operations written in the front end's scripts (`query Name(` or
/// `mutation Name {`).
fn front_end_operations() -> HashSet<String> {
    let mut names = HashSet::new();
    for (path, bytes) in crate::web::ASSETS {
        if !path.ends_with(".js") {
            continue;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            continue;
        };
        for keyword in ["query ", "mutation "] {
            for (at, _) in text.match_indices(keyword) {
                let rest = &text[at + keyword.len()..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                let (name, after) = rest.split_at(end);
                let starts_well = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
                if starts_well && after.trim_start().starts_with(['(', '{']) {
                    names.insert(name.to_owned());
                }
            }
        }
    }
    names
}

fn root_fields() -> HashSet<String> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let Ok(document) = async_graphql::parser::parse_schema(crate::graphql::sdl()) else {
        return HashSet::new();
    };
    let mut fields = HashSet::new();
    for definition in document.definitions {
        if let TypeSystemDefinition::Type(ty) = definition
            && matches!(ty.node.name.node.as_str(), "Query" | "Mutation")
            && let TypeKind::Object(object) = ty.node.kind
        {
            fields.extend(
                object
                    .fields
                    .into_iter()
                    .map(|f| f.node.name.node.to_string()),
            );
        }
    }
    fields
}

/// The label of a GraphQL operation (`name`, as selected in `document`): its name when the
/// front end uses that name, else its first root field when the schema has it
/// (`introspection` for `__schema`…), else `other`. See [`crate::graphql::operation`].
pub fn operation_label(
    name: Option<&str>,
    operation: &Positioned<OperationDefinition>,
    document: &ExecutableDocument,
) -> String {
    /// The first field selected, fragments followed once each (a document reaches here
    /// admitted, without fragment cycles, but this walk does not rely on it).
    fn first_field<'a>(
        set: &'a Positioned<SelectionSet>,
        document: &'a ExecutableDocument,
        followed: &mut HashSet<&'a str>,
    ) -> Option<String> {
        for selection in &set.node.items {
            let found = match &selection.node {
                Selection::Field(field) => Some(field.node.name.node.to_string()),
                Selection::InlineFragment(fragment) => {
                    first_field(&fragment.node.selection_set, document, followed)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if followed.insert(name) {
                        document
                            .fragments
                            .get(name)
                            .and_then(|f| first_field(&f.node.selection_set, document, followed))
                    } else {
                        None
                    }
                }
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    let labels = &*LABELS;
    if let Some(name) = name
        && labels.operations.contains(name)
    {
        return name.to_owned();
    }
    match first_field(&operation.node.selection_set, document, &mut HashSet::new()) {
        Some(field) if field.starts_with("__") => "introspection".into(),
        Some(field) if labels.root_fields.contains(&field) => field,
        _ => OTHER_OPERATION.into(),
    }
}

/// A secret given in the environment, never shown by `Debug`.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// Compares in constant time (over the digests, so the length does not show either).
    fn matches(&self, candidate: &str) -> bool {
        let (a, b) = (Sha256::digest(&self.0), Sha256::digest(candidate));
        a.iter()
            .zip(b.iter())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// True for a client on this machine talking to the gateway directly (not through a proxy).
fn direct_loopback(peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    let proxied = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name));
    !proxied && peer.is_some_and(|p| p.ip().is_loopback())
}

/// `GET /metrics`.
pub async fn endpoint(
    State(state): State<AppState>,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    let peer = connect.map(|Extension(ConnectInfo(addr))| addr);
    let token_ok = match (&state.settings.metrics_token, crate::auth::bearer(&headers)) {
        (Some(secret), Some(token)) => secret.matches(token),
        _ => false,
    };
    let allowed = direct_loopback(peer, &headers)
        || token_ok
        || (crate::auth::bearer(&headers).is_some()
            && auth::actor_from_headers(&state, &headers)
                .await
                .is_ok_and(|actor| actor.is_staff()));
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "Métriques réservées : depuis la machine elle-même, avec GUICHET_METRICS_TOKEN \
             ou avec un jeton de l'équipe.",
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render(&state).await,
    )
        .into_response()
}

/// Writes samples of the text format.
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"{}\"", escape(value));
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }

    fn gauge(&mut self, name: &str, help: &str, value: impl Display) {
        self.family(name, "gauge", help);
        self.sample(name, &[], value);
    }

    fn histograms(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        by: &BTreeMap<String, Histogram>,
    ) {
        self.family(name, "histogram", help);
        let bucket = format!("{name}_bucket");
        for (value, histogram) in by {
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                cumulative += count;
                self.sample(
                    &bucket,
                    &[(label, value), ("le", &bound.to_string())],
                    cumulative,
                );
            }
            self.sample(&bucket, &[(label, value), ("le", "+Inf")], histogram.count);
            self.sample(&format!("{name}_sum"), &[(label, value)], histogram.sum);
            self.sample(&format!("{name}_count"), &[(label, value)], histogram.count);
        }
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The whole exposition, counters first, then what is read now.
pub async fn render(state: &AppState) -> String {
    let metrics = &state.metrics;
    let mut out = Exposition(String::with_capacity(16 * 1024));
    {
        let counted = metrics.counted();
        out.family(
            "guichet_http_requests_total",
            "counter",
            "HTTP requests answered, by route and status.",
        );
        for ((route, status), count) in &counted.http_requests {
            out.sample(
                "guichet_http_requests_total",
                &[("route", route), ("status", &status.to_string())],
                count,
            );
        }
        out.histograms(
            "guichet_http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head), by route.",
            "route",
            &counted.http_latency,
        );
        out.family(
            "guichet_graphql_requests_total",
            "counter",
            "GraphQL requests, by operation (front-end operation name, else first root field, else other).",
        );
        for (operation, count) in &counted.graphql_requests {
            out.sample(
                "guichet_graphql_requests_total",
                &[("operation", operation)],
                count,
            );
        }
        out.histograms(
            "guichet_graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation.",
            "operation",
            &counted.graphql_latency,
        );
    }
    out.gauge(
        "guichet_http_requests_in_flight",
        "HTTP requests being handled now.",
        metrics.in_flight(),
    );

    match catalog::outbox::pending(&state.db).await {
        Ok(pending) => {
            out.gauge(
                "guichet_outbox_pending",
                "Messages in the outbox not sent yet (the whole database, every gateway).",
                pending.count,
            );
            let age = pending.oldest.map_or(0.0, |at| {
                (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            out.gauge(
                "guichet_outbox_oldest_pending_age_seconds",
                "Age of the oldest message not sent yet (0 when none).",
                age,
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: outbox not readable"),
    }

    out.gauge(
        "guichet_search_index_last_sync_age_seconds",
        "Seconds since this gateway's search index last caught up with the database.",
        metrics.since_search_sync().as_secs_f64(),
    );
    let watermark = state.search.watermark();
    let since = watermark.unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    match catalog::scheme::changes_since(&state.db, since).await {
        Ok(changes) => {
            let unindexed: Vec<_> = changes
                .into_iter()
                .filter(|(_, at)| watermark.is_none_or(|w| *at > w))
                .map(|(_, at)| at)
                .collect();
            out.gauge(
                "guichet_search_index_unindexed_changes",
                "Schemes changed in the database after the newest change the index holds.",
                unindexed.len(),
            );
            let lag = unindexed.iter().min().map_or(0.0, |oldest| {
                (chrono::Utc::now() - *oldest).num_milliseconds().max(0) as f64 / 1000.0
            });
            out.gauge(
                "guichet_search_index_lag_seconds",
                "Age of the oldest scheme change the index does not hold yet (0 when in step).",
                lag,
            );
        }
        Err(e) => tracing::warn!(error = %e, "metrics: scheme changes not readable"),
    }
    out.gauge(
        "guichet_search_index_documents",
        "Schemes in this gateway's search index.",
        state.search.len(),
    );

    let (size, idle, max) = pool_use(&state.db);
    out.gauge(
        "guichet_db_pool_connections",
        "Connections open in the database pool.",
        size,
    );
    out.gauge(
        "guichet_db_pool_idle_connections",
        "Open connections of the pool not in use.",
        idle,
    );
    out.gauge(
        "guichet_db_pool_max_connections",
        "Most connections the pool opens.",
        max,
    );

    if let Some(bytes) = resident_memory() {
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory of the process.",
            bytes,
        );
    }
    out.gauge(
        "process_uptime_seconds",
        "Seconds since the gateway started.",
        metrics.started.elapsed().as_secs_f64(),
    );
    out.family("guichet_build_info", "gauge", "The running version.");
    out.sample(
        "guichet_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    out.0
}

/// (open, idle, max) connections of the database pool.
fn pool_use(db: &DatabaseConnection) -> (u32, usize, u32) {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => (0, 0, 0),
    }
}

/// The resident set size, from `/proc/self/status` (`VmRSS`, in kB), on Linux.
fn resident_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(query: &str, name: Option<&str>) -> String {
        let mut request = async_graphql::Request::new(query);
        if let Some(name) = name {
            request = request.operation_name(name);
        }
        crate::graphql::admit(&mut request)
            .unwrap()
            .label
            .to_string()
    }

    #[test]
    fn operations_are_named_by_known_names_or_root_fields_and_nothing_else() {
        assert_eq!(
            label(
                "query SearchSchemes($t: String) { searchSchemes(text: $t) { total } }",
                None
            ),
            "SearchSchemes"
        );
        assert_eq!(label("{ funders { slug } }", None), "funders");
        assert_eq!(
            label("query MadeUpByAClient { scheme(slug: \"x\") { id } }", None),
            "scheme"
        );
        assert_eq!(
            label(
                "query A { me { email } } query B { funders { slug } }",
                Some("B")
            ),
            "funders"
        );
        assert_eq!(
            label(
                "query Q { ...F } fragment F on Query { territories(query: \"a\") { code } }",
                None
            ),
            "territories"
        );
        assert_eq!(
            label("{ __schema { types { name } } }", None),
            "introspection"
        );
        assert_eq!(label("{ noSuchField }", None), "other");
        assert_eq!(label("{ not graphql", None), "other");
        assert_eq!(label("{ funders { slug } }", Some("Missing")), "other");
    }

    #[test]
    fn histograms_are_cumulative_and_labels_escaped() {
        let mut by = BTreeMap::new();
        let mut h = Histogram::default();
        h.observe(0.003);
        h.observe(0.2);
        h.observe(60.0);
        by.insert("a\"b".to_owned(), h);
        let mut out = Exposition(String::new());
        out.histograms("x_seconds", "help", "route", &by);
        let text = out.0;
        assert!(
            text.contains("x_seconds_bucket{route=\"a\\\"b\",le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{route=\"a\\\"b\",le=\"0.25\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{route=\"a\\\"b\",le=\"10\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_bucket{route=\"a\\\"b\",le=\"+Inf\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("x_seconds_count{route=\"a\\\"b\"} 3\n"),
            "{text}"
        );
    }

    #[test]
    fn the_metrics_token_is_compared_whole_and_never_shown() {
        let secret = Secret::new("s3cret-token");
        assert!(secret.matches("s3cret-token"));
        assert!(!secret.matches("s3cret-toke"));
        assert!(!secret.matches(""));
        assert!(!format!("{secret:?}").contains("s3cret"));
    }
}
