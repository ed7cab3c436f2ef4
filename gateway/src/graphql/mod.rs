//! The GraphQL schema: roots merged by concept, limits, the HTTP handler, and SDL export.

pub mod account;
pub mod admission;
pub mod agent;
pub mod alert;
pub mod cache;
pub mod catalog;
pub mod conference;
pub mod conformance;
pub mod dossier;
pub mod eligibility;
pub mod error;
pub mod scalars;
pub mod search;
pub mod staff;
pub mod territory;
pub mod vocab;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use async_graphql::Positioned;
use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::{
    ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use async_graphql::{EmptySubscription, MergedObject, Schema, SimpleObject};
use async_graphql_axum::GraphQLRequest;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::{self, ClientAddress};
use crate::{metrics, security};

#[derive(MergedObject, Default)]
pub struct Query(
    catalog::CatalogQuery,
    search::SearchQuery,
    eligibility::EligibilityQuery,
    alert::AlertQuery,
    dossier::DossierQuery,
    conference::ConferenceQuery,
    territory::TerritoryQuery,
    account::AccountQuery,
    staff::StaffQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    catalog::CatalogMutation,
    search::SearchMutation,
    alert::AlertMutation,
    dossier::DossierMutation,
    conference::ConferenceMutation,
    account::AccountMutation,
    agent::AgentMutation,
    staff::StaffMutation,
);

pub type GuichetSchema = Schema<Query, Mutation, EmptySubscription>;

/// Largest accepted query depth and complexity.
pub const MAX_DEPTH: usize = 12;
pub const MAX_COMPLEXITY: usize = 5_000;

/// Complexity of the root fields that rank or evaluate the whole catalogue
/// ([`admission::EXPENSIVE_FIELDS`]), on top of what they select: four of them alone exceed
/// [`MAX_COMPLEXITY`].
pub const EXPENSIVE_COST: usize = 1_250;

/// Complexity factor of a list with no `first` that may be long (every funder).
pub const LONG_LIST_COST: usize = 10;

/// Largest page a list field gives (its `first` validator refuses more).
pub const MAX_PAGE: i32 = 100;

/// Complexity of a page of `first` items: what each item selects counts `first` times. A
/// `first` beyond [`MAX_PAGE`] costs a full page: its own validator refuses it, naming it.
pub fn page_cost(first: i32, child_complexity: usize) -> usize {
    usize::try_from(first.clamp(1, MAX_PAGE))
        .unwrap_or(1)
        .saturating_mul(child_complexity)
        .saturating_add(1)
}

/// Largest depth of a query that only introspects the schema: the standard introspection
/// query (graphql-js, GraphiQL) nests `ofType` nine levels, depth 14 under `args`. Such a query
/// reaches nothing but the schema's description, so it may go deeper than [`MAX_DEPTH`].
pub const INTROSPECTION_MAX_DEPTH: usize = 20;

/// Builds the schema. The application state, the actor and the loaders are given to each
/// request by [`handler`].
pub fn build_schema() -> GuichetSchema {
    build_schema_with_depth(MAX_DEPTH)
}

/// The same schema for the queries that only introspect ([`Operation::introspection`]).
pub fn build_introspection_schema() -> GuichetSchema {
    build_schema_with_depth(INTROSPECTION_MAX_DEPTH)
}

fn build_schema_with_depth(depth: usize) -> GuichetSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .limit_depth(depth)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    build_schema().sdl()
}

/// Cursor-based page information.
#[derive(SimpleObject)]
pub struct PageInfo {
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

impl PageInfo {
    /// A page ending at `offset` (exclusive).
    pub fn new(offset: u64, has_next_page: bool) -> Self {
        PageInfo {
            end_cursor: Some(format!("o{offset}")),
            has_next_page,
        }
    }
}

/// Page information for cursors that are not offsets.
#[derive(SimpleObject)]
#[graphql(name = "SearchPageInfo")]
pub struct PageInfoCursor {
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

/// The offset a cursor stands for (0 without one): `o` and a number within the database's
/// 64-bit integers; anything else is a validation error on `after`. An offset beyond the end
/// is an empty page.
pub fn parse_cursor(after: Option<&str>) -> async_graphql::Result<u64> {
    match after {
        None => Ok(0),
        Some(cursor) => cursor
            .strip_prefix('o')
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok())
            .filter(|&n| i64::try_from(n).is_ok())
            .ok_or_else(|| {
                error::GraphqlError::extend(::catalog::Error::validation(
                    "after",
                    "Curseur de pagination invalide.",
                ))
            }),
    }
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The operation a parsed request selects: the one named `name`, or the first; with its name.
fn selected_operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<(Option<&'a str>, &'a Positioned<OperationDefinition>)> {
    match name {
        Some(wanted) => document
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(wanted)),
        None => document.operations.iter().next(),
    }
    .map(|(n, op)| (n.map(|n| n.as_str()), op))
}

/// What the handler needs to know of a request's operation before executing it.
#[derive(Clone)]
pub struct Operation {
    /// A mutation (refused over GET; checked for CSRF when a cookie authenticates it).
    pub mutation: bool,
    /// Its name in the metrics ([`metrics::operation_label`]).
    pub label: Arc<str>,
    /// A query whose every root field is `__schema`, `__type` or `__typename`.
    pub introspection: bool,
}

/// Longest query whose [`Operation`] is remembered, and how many are.
const OPERATION_CACHE_QUERY_BYTES: usize = 4096;
const OPERATION_CACHE_ENTRIES: usize = 512;

/// Admits the request ([`admission`]) and tells its [`Operation`]. The query is parsed and
/// checked once per distinct text (the front end's queries are a fixed set), not on every
/// request: a text once admitted is remembered with its operation, and a cached search answer
/// does not need the parse at all. A parse done here is handed on to execution.
pub fn admit(request: &mut async_graphql::Request) -> Result<Operation, admission::Refusal> {
    static SEEN: LazyLock<Mutex<HashMap<Box<str>, Operation>>> = LazyLock::new(Default::default);
    admission::check_variables(&request.variables)?;
    let cacheable =
        request.operation_name.is_none() && request.query.len() <= OPERATION_CACHE_QUERY_BYTES;
    if cacheable
        && let Some(found) = SEEN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(request.query.as_str())
    {
        return Ok(found.clone());
    }
    admission::check_text(&request.query)?;
    let operation_name = request.operation_name.clone();
    // A text that does not parse gets async-graphql's own error when it is executed.
    let found = match request.parsed_query() {
        Ok(document) => {
            admission::check_document(document)?;
            selected_operation(document, operation_name.as_deref()).map(|(name, op)| {
                let roots = &op.node.selection_set.node.items;
                Operation {
                    mutation: op.node.ty == OperationType::Mutation,
                    label: metrics::operation_label(name, op, document).into(),
                    introspection: op.node.ty == OperationType::Query
                        && !roots.is_empty()
                        && roots.iter().all(|root| {
                            matches!(&root.node, Selection::Field(f) if f.node.name.node.starts_with("__"))
                        }),
                }
            })
        }
        Err(_) => None,
    }
    .unwrap_or_else(|| Operation {
        mutation: false,
        label: metrics::OTHER_OPERATION.into(),
        introspection: false,
    });
    if cacheable {
        let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= OPERATION_CACHE_ENTRIES {
            seen.clear();
        }
        seen.insert(request.query.as_str().into(), found.clone());
    }
    Ok(found)
}

/// True when the client accepts the `application/graphql-response+json` media type.
fn graphql_response_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/graphql-response+json"))
}

/// Writes a response following GraphQL over HTTP: with `application/graphql-response+json`
/// a request error is a 400 without `data`; with `application/json` everything is a 200.
fn respond(
    response: async_graphql::Response,
    request_error: bool,
    new_media_type: bool,
) -> Response {
    let headers = response.http_headers.clone();
    let (status, body) = if new_media_type && request_error {
        // A request error has no `data` at all in the new media type.
        let mut body = serde_json::to_value(&response).unwrap_or_default();
        if let Some(object) = body.as_object_mut() {
            object.remove("data");
        }
        (StatusCode::BAD_REQUEST, body.to_string().into_bytes())
    } else {
        (
            StatusCode::OK,
            serde_json::to_vec(&response).unwrap_or_default(),
        )
    };
    let mut http = json_response(status, new_media_type, body.into());
    http.headers_mut().extend(headers);
    http
}

/// A JSON answer in the media type the client asked for.
fn json_response(status: StatusCode, new_media_type: bool, body: axum::body::Bytes) -> Response {
    let content_type = if new_media_type {
        "application/graphql-response+json; charset=utf-8"
    } else {
        "application/json; charset=utf-8"
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn accepted_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("multipart/form-data"))
}

fn request_failure(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "VALIDATION" } }] });
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

/// The answer to a request that is not a GraphQL request at all (a body that is not the JSON
/// of one, a broken multipart form, a body longer than allowed): a GraphQL-over-HTTP error
/// body in French, without the parser's detail (which goes to the log).
fn rejected(
    rejection: async_graphql_axum::rejection::GraphQLRejection,
    new_media_type: bool,
) -> Response {
    use async_graphql::ParseRequestError as E;
    let error = &rejection.0;
    // A body cut by the length limit reaches here as an I/O error whose text is
    // `http_body_util::LengthLimitError`'s (async-graphql-axum keeps only the text).
    let too_large = matches!(error, E::PayloadTooLarge)
        || matches!(error, E::Io(io) if io.to_string() == "length limit exceeded");
    let (status, message) = match error {
        _ if too_large => (StatusCode::PAYLOAD_TOO_LARGE, "Requête trop volumineuse."),
        E::InvalidRequest(_) => (
            StatusCode::BAD_REQUEST,
            "Requête illisible : un objet JSON { \"query\": …, \"variables\": … } est attendu.",
        ),
        E::UnsupportedBatch => (
            StatusCode::BAD_REQUEST,
            "Les lots de requêtes ne sont pas acceptés : envoyez une requête à la fois.",
        ),
        E::Io(_) => (
            StatusCode::BAD_REQUEST,
            "La requête n'a pas pu être lue en entier.",
        ),
        // The multipart variants (the enum is non-exhaustive).
        _ => (
            StatusCode::BAD_REQUEST,
            "Envoi de fichier illisible : la requête multipart ne suit pas la convention \
             GraphQL multipart request.",
        ),
    };
    tracing::debug!(error = %error, "request that is not GraphQL");
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "VALIDATION" } }]
    });
    json_response(status, new_media_type, body.to_string().into())
}

/// `GET` and `POST /graphql`.
pub async fn handler(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    client: ClientAddress,
    request: Result<GraphQLRequest, async_graphql_axum::rejection::GraphQLRejection>,
) -> Response {
    let mut request = match request {
        Ok(request) => request.into_inner(),
        Err(rejection) => {
            if method == Method::GET && wants_html(&headers) {
                return crate::graphiql::page();
            }
            return rejected(rejection, graphql_response_json(&headers));
        }
    };
    let operation = match admit(&mut request) {
        Ok(operation) => operation,
        Err(refusal) => {
            return respond(
                async_graphql::Response::from_errors(vec![refusal.into_server_error()]),
                true,
                graphql_response_json(&headers),
            );
        }
    };
    let _timer = state.metrics.graphql_timer(operation.label.clone());
    if method == Method::POST && !accepted_content_type(&headers) {
        return request_failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Envoyez la requête en application/json (ou multipart/form-data pour un fichier).",
        );
    }
    if request.query.trim().is_empty() && !(method == Method::GET && wants_html(&headers)) {
        return request_failure(StatusCode::BAD_REQUEST, "Paramètre « query » manquant.");
    }
    if method == Method::GET {
        if request.query.trim().is_empty() && wants_html(&headers) {
            return crate::graphiql::page();
        }
        if operation.mutation {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "POST")],
                "Les mutations doivent être envoyées en POST.",
            )
                .into_response();
        }
    }
    if method == Method::POST
        && security::cookie_authenticated(&headers)
        && operation.mutation
        && let Some(refusal) =
            security::cross_site_refusal(&state.settings, &headers, security::Body::Graphql)
    {
        return refusal;
    }
    let actor = match auth::actor_from_headers(&state, &headers).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let new_media_type = graphql_response_json(&headers);
    // Public searches: the kept answer while the index and the day are the same.
    let cached = (state.search_cache.enabled()
        && !actor.is_staff()
        && request.query.contains("searchSchemes"))
    .then(|| {
        let stamp = (state.search.generation(), ::catalog::search::today());
        (
            cache::key(&request, new_media_type),
            stamp,
            request.query.clone(),
        )
    });
    if let Some((key, stamp, _)) = &cached
        && let Some(body) = state.search_cache.get(key, *stamp)
    {
        return json_response(StatusCode::OK, new_media_type, body);
    }
    if conformance::forged_upload(&request) {
        let mut error = async_graphql::ServerError::new("Fichier manquant dans la requête.", None);
        let mut extensions = async_graphql::ErrorExtensionValues::default();
        extensions.set("code", "VALIDATION");
        extensions.set("field", "file");
        error.extensions = Some(extensions);
        return respond(
            async_graphql::Response::from_errors(vec![error]),
            true,
            new_media_type,
        );
    }
    let (query, operation_name) = (request.query.clone(), request.operation_name.clone());
    let request = request
        .data(state.clone())
        .data(actor)
        .data(client)
        .data(DataLoader::new(
            catalog::FunderLoader(state.db.clone()),
            tokio::spawn,
        ))
        .data(DataLoader::new(
            catalog::SchemeCountLoader(state.db.clone()),
            tokio::spawn,
        ))
        .data(catalog::NetworkCache::default());
    let schema = if operation.introspection {
        &state.introspection_schema
    } else {
        &state.schema
    };
    let mut response = schema.execute(request).await;
    conformance::settle(&query, operation_name.as_deref(), &mut response);
    // Parse, validation and variable errors come before execution and have no path.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            // Domain errors all carry a code. What does not is async-graphql's own: parse,
            // validation and input coercion errors (the client's), or missing context data
            // (ours, whose detail stays in the log).
            let client_error = !error.message.starts_with("Data `");
            if client_error {
                extensions.set("code", "VALIDATION");
                if let Some(rest) = error.message.strip_prefix("Failed to parse ") {
                    error.message = format!("Valeur invalide : {rest}");
                } else if error.message == "Query is too complex." {
                    error.message = format!(
                        "Requête trop coûteuse : demandez moins d'éléments (« first ») ou moins \
                         de champs (complexité {MAX_COMPLEXITY} au plus)."
                    );
                } else if error.message == "Query is nested too deep." {
                    error.message = format!("Requête trop profonde : {MAX_DEPTH} niveaux au plus.");
                }
            } else {
                tracing::error!(message = %error.message, "unmapped GraphQL error");
                error.message = "Erreur interne du service.".into();
                extensions.set("code", "INTERNAL");
            }
        }
    }
    if let Some((key, stamp, query)) = cached
        && response.errors.is_empty()
        && response.http_headers.is_empty()
        && cache::is_public_search(&query)
    {
        let body = axum::body::Bytes::from(serde_json::to_vec(&response).unwrap_or_default());
        state.search_cache.put(key, stamp, body.clone());
        return json_response(StatusCode::OK, new_media_type, body);
    }
    respond(response, request_error, new_media_type)
}
