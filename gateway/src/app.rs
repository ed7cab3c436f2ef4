//! Application state, start-up (migrations, territories, seed) and the HTTP router.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use catalog::Territories;
use catalog::search::SearchIndex;
use migrations::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

use crate::config::Settings;
use crate::graphql::cache::SearchCache;
use crate::graphql::{self, GuichetSchema};
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::shutdown::Shutdown;
use crate::{alerts, auth, files, mail, metrics, request_id, security, server, shutdown, web};

/// Largest accepted JSON request body on `/graphql`: the largest real request (a dossier
/// draft with its expenses and plan) is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Largest multipart request (one attachment of at most 20 MB, and the form around it).
pub const MAX_UPLOAD_BYTES: usize = 21 * 1024 * 1024;

/// Rate limits of the public endpoints, counted in the database (shared by every gateway).
pub struct Limits {
    pub login_per_email: RateLimiter,
    pub login_per_client: RateLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            login_per_email: RateLimiter::new("login-email", 5, Duration::from_secs(15 * 60)),
            login_per_client: RateLimiter::new("login-client", 30, Duration::from_secs(15 * 60)),
        }
    }
}

/// The glibc allocator settings `guichet` runs with (see `main.rs`): two arenas, and memory
/// above 8 MiB free at the top of the heap given back.
pub const ALLOCATOR_TUNABLES: &str = "glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=8388608";

/// What every request handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub territories: Arc<Territories>,
    pub settings: Arc<Settings>,
    pub schema: GuichetSchema,
    /// The schema for queries that only introspect it (a deeper limit, for GraphiQL).
    pub introspection_schema: GuichetSchema,
    pub limits: Arc<Limits>,
    pub search: Arc<SearchIndex>,
    /// Answers to public searches, while the index does not change.
    pub search_cache: Arc<SearchCache>,
    /// Wakes the mail worker when a message is queued.
    pub mail_wakeup: Arc<Notify>,
    /// What dossier operations need: territories, the attachment store, links.
    pub dossiers: dossier::Env,
    /// What catalogue changes set off after commit: this process's search index sees them,
    /// its mail worker wakes.
    pub effects: catalog::Effects,
    /// Request counts and latencies, for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Triggered when the server is asked to stop; background tasks watch it.
    pub shutdown: Shutdown,
}

/// Connects to the database, runs the migrations and makes sure the territories are
/// loaded. Used by every command.
pub async fn open(settings: &Settings) -> anyhow::Result<(DatabaseConnection, Arc<Territories>)> {
    if settings.is_sqlite() {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "impossible de créer le dossier de données {}",
                settings.data_dir.display()
            )
        })?;
    }
    let db = catalog::db::connect(&settings.database_url)
        .await
        .with_context(|| "connexion à la base de données impossible".to_owned())?;
    Migrator::up(&db, None)
        .await
        .context("migration de la base de données")?;
    let started = Instant::now();
    let territories = Arc::new(Territories::embedded());
    if catalog::territory::sync_to_database(&db, &territories).await? {
        tracing::info!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "territory data loaded into the database"
        );
    }
    Ok((db, territories))
}

/// The state of a running server: the database opened, the seed loaded unless `no_seed`.
pub async fn prepare(settings: Settings, no_seed: bool) -> anyhow::Result<AppState> {
    let (db, territories) = open(&settings).await?;
    if !no_seed && let Some(summary) = catalog::seed::load_if_empty(&db, &territories).await? {
        tracing::info!(
            created = summary.created.len(),
            skipped = summary.skipped.len(),
            "seed catalogue loaded"
        );
        for (slug, reason) in &summary.skipped {
            tracing::warn!(%slug, %reason, "seed scheme skipped");
        }
    }
    if !no_seed {
        let zonings = catalog::seed::load_zonings(&db, &territories).await?;
        if zonings > 0 {
            tracing::info!(zonings, "seed zonings loaded");
        }
        let services = catalog::seed::load_services(&db, &territories).await?;
        if services > 0 {
            tracing::info!(services, "seed funder services loaded");
        }
        if let Some(aliases) = catalog::seed::curate_funders(&db).await? {
            tracing::info!(aliases, "seed funders curated");
        }
    }
    catalog::synonym::seed_if_empty(&db).await?;
    let search = SearchIndex::open(&settings.index_dir(), &db, territories.clone())
        .await
        .context("ouverture de l'index de recherche")?;
    let search_cache = Arc::new(SearchCache::new(settings.search_cache_entries));
    let mail_wakeup = Arc::new(Notify::new());
    let effects = catalog::Effects::new(search.clone(), mail_wakeup.clone(), &settings.public_url);
    Ok(AppState {
        db,
        schema: graphql::build_schema(),
        introspection_schema: graphql::build_introspection_schema(),
        limits: Arc::new(Limits::default()),
        search,
        search_cache,
        mail_wakeup,
        effects,
        metrics: Arc::new(Metrics::new()),
        shutdown: Shutdown::new(),
        dossiers: dossier::Env {
            territories: territories.clone(),
            blobs: settings.blob_store(),
            links: dossier::notify::Links {
                public_url: settings.public_url.clone(),
            },
            quotas: settings.quotas,
        },
        territories,
        settings: Arc::new(settings),
    })
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "base de données indisponible",
            )
        }
    }
}

/// Limits a request body to [`MAX_BODY_BYTES`], or [`MAX_UPLOAD_BYTES`] for a multipart
/// upload: a longer declared length is refused at once (413), a longer body fails as read.
async fn limit_body(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    let limit = if multipart {
        MAX_UPLOAD_BYTES
    } else {
        MAX_BODY_BYTES
    };
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            if multipart {
                "Fichier trop volumineux : 20 Mo au plus par pièce."
            } else {
                "Requête trop volumineuse."
            },
        )
            .into_response();
    }
    next.run(request.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, limit))))
        .await
}

/// Every route of the gateway.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::endpoint))
        .route(
            "/graphql",
            get(graphql::handler)
                .post(graphql::handler)
                .layer(axum::middleware::from_fn(limit_body)),
        )
        .route("/dossiers/{id}/pdf", get(files::dossier_pdf))
        .route("/pieces/{id}", get(files::attachment))
        .route("/conferences/{id}/proces-verbal", get(files::minutes))
        .route("/conferences/{id}/decisions.csv", get(files::decisions_csv))
        .route("/compte/donnees.json", get(files::personal_data))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/alertes/desinscription", get(alerts::unsubscribe))
        .route("/assets/graphiql/{file}", get(crate::graphiql::serve_asset))
        .route("/assets/{*path}", get(web::serve_asset))
        .fallback(get(web::index))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_id::span::<axum::body::Body>)
                .on_request(())
                .on_response(request_id::on_response::<axum::body::Body>),
        )
        .layer(axum::middleware::from_fn(request_id::assign))
        .with_state(state)
}

/// Starts the mail worker for this state.
pub fn start_mail_worker(state: &AppState) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let transport = mail::Transport::from_settings(
        state.settings.smtp_url.as_deref(),
        state.settings.mail_dir(),
    )?;
    Ok(mail::spawn_worker_until(
        state.db.clone(),
        transport,
        state.settings.mail_from.clone(),
        state.dossiers.blobs.clone(),
        state.mail_wakeup.clone(),
        state.shutdown.clone(),
    ))
}

/// How often the index looks for changes made by other processes.
pub const SEARCH_SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// Keeps the search index in step with changes made by other processes (imports, other
/// gateways) and rebuilds it when `guichet reindex` asks, until the server shuts down.
pub fn start_search_sync(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let mut handled = catalog::search::rebuild_request(&state.db)
            .await
            .ok()
            .flatten();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(SEARCH_SYNC_INTERVAL) => {}
                _ = state.shutdown.triggered() => return,
            }
            match catalog::search::rebuild_request(&state.db).await {
                Ok(request) if request != handled => {
                    match state.search.rebuild(&state.db).await {
                        Ok(count) => tracing::info!(count, "search index rebuilt on request"),
                        Err(e) => tracing::warn!(error = %e, "search index rebuild failed"),
                    }
                    handled = request;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "search sync failed"),
            }
            match state.search.sync(&state.db).await {
                Ok(_) => state.metrics.search_synced(),
                Err(e) => tracing::warn!(error = %e, "search sync failed"),
            }
        }
    })
}

/// Serves HTTP on the configured address, within the connection limits of [`crate::server`],
/// until SIGTERM or Ctrl-C, then stops gracefully: no new connections, requests in flight
/// answered, the mail being sent finished, background tasks stopped — or exits anyway after
/// `shutdown_timeout` (see [`crate::shutdown`]).
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.settings.listen)
        .await
        .with_context(|| format!("impossible d'écouter sur {}", state.settings.listen))?;
    let worker = start_mail_worker(&state)?;
    let sync = start_search_sync(&state);
    let digests = alerts::start_scheduler(&state);
    let address = listener.local_addr()?;
    tracing::info!(%address, "Guichet est prêt");
    println!("Guichet est prêt sur http://{address}");
    let signals = shutdown::Signals::listen().context("écoute des signaux")?;
    let metrics = state.metrics.clone();
    tokio::spawn(shutdown::on_signal(
        signals,
        state.shutdown.clone(),
        state.settings.shutdown_timeout,
        move || metrics.in_flight(),
    ));
    let served = server::run(listener, state.clone(), state.shutdown.clone()).await;
    state.shutdown.trigger();
    tracing::info!("HTTP server stopped: every request in flight was answered");
    shutdown::join("mail worker", worker).await;
    shutdown::join("search sync", sync).await;
    shutdown::join("alert digests", digests).await;
    served?;
    tracing::info!("Guichet stopped");
    Ok(())
}
