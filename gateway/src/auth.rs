//! Authentication: bearer tokens and session cookies to an [`Actor`], the login-link flow
//! (`requestLoginLink`, `GET` and `POST /login`, `POST /logout`) and its rate limits.
//!
//! Opening a login link uses nothing: mail scanners open links before their recipients do.
//! `GET /login?token=…` shows a page with one button, and that button's `POST /login` uses
//! the link and opens the session.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use catalog::account;
use catalog::email::Email;
use catalog::entity::token;
use catalog::{Actor, Error};
use serde::Deserialize;

use crate::app::AppState;
use crate::{mail, security};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "guichet_session";

pub use crate::client::ClientAddress;

/// True when the request carries an `Authorization: Bearer …` header.
pub fn has_bearer(headers: &HeaderMap) -> bool {
    bearer(headers).is_some()
}

/// The token of an `Authorization: Bearer …` header, if sent.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The value of the session cookie, if sent.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

fn unauthenticated(message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "UNAUTHENTICATED" } }]
    });
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(body),
    )
        .into_response()
}

/// Who is calling: a bearer token wins over the session cookie. A bearer token must be an API
/// token and the cookie a session: an API token sent as the cookie, or a session secret sent
/// as a bearer token, is not accepted. A bearer token that is unknown, expired, revoked or a
/// session is refused outright (401); a stale cookie means anonymous.
pub async fn actor_from_headers(state: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    if let Some(token) = bearer(headers) {
        return match account::authenticate(&state.db, token::API, token).await {
            Ok(Some(account)) => Ok(account.actor()),
            Ok(None) => Err(unauthenticated(
                "Jeton d'accès invalide, expiré ou révoqué.",
            )),
            Err(e) => {
                tracing::error!(error = %e, "authentication failed");
                Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
            }
        };
    }
    if let Some(secret) = session_cookie(headers) {
        return match account::authenticate(&state.db, token::SESSION, secret).await {
            Ok(Some(account)) => Ok(account.actor()),
            Ok(None) => Ok(Actor::Anonymous),
            Err(e) => {
                tracing::error!(error = %e, "authentication failed");
                Err(StatusCode::SERVICE_UNAVAILABLE.into_response())
            }
        };
    }
    Ok(Actor::Anonymous)
}

/// Creates a login link and queues its mail in one transaction, within the rate limits
/// (per address and per client).
pub async fn request_login_link(
    state: &AppState,
    email: &str,
    return_to: Option<&str>,
    client: &ClientAddress,
) -> Result<(), Error> {
    let email = Email::parse(email).map_err(|m| Error::validation("email", m))?;
    if !state
        .limits
        .login_per_client
        .allow(&state.db, &client.0)
        .await?
        || !state
            .limits
            .login_per_email
            .allow(&state.db, email.as_str())
            .await?
    {
        return Err(Error::RateLimited);
    }
    // `.invalid` is reserved (RFC 2606): the placeholder addresses of deleted accounts use it.
    // Nothing is ever sent there, and the answer is the same as for any address.
    if email.as_str().ends_with(".invalid") {
        return Ok(());
    }
    let txn = catalog::db::begin_write(&state.db).await?;
    let secret = account::create_login_link(&txn, &email).await?;
    let mut link = format!("{}/login?token={secret}", state.settings.public_url);
    if let Some(path) = return_to.and_then(return_path) {
        link.push_str("&retour=");
        link.push_str(&percent_encode(path));
    }
    let mail = mail::LOGIN_LINK.render(email.clone(), &[("link", &link)]);
    catalog::outbox::enqueue(&txn, mail).await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    tracing::info!(to = %email.masked(), "login link queued");
    Ok(())
}

/// Longest page address a login link returns to.
const RETURN_PATH_MAX: usize = 500;

/// `path` if it is a page of Guichet to return to after login: a relative path starting with
/// a single `/` (never `//` nor `/\`, which browsers read as another host), of printable
/// ASCII without quotes, angle brackets or backslashes, at most [`RETURN_PATH_MAX`] bytes.
/// Anything else is dropped (the login then goes to the account page): no open redirect.
pub fn return_path(path: &str) -> Option<&str> {
    let bytes = path.as_bytes();
    let shaped = bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && bytes.len() <= RETURN_PATH_MAX
        && bytes.iter().all(|&b| {
            (0x21..=0x7e).contains(&b) && !matches!(b, b'\\' | b'"' | b'\'' | b'<' | b'>' | b'`')
        });
    // Going back to the login itself would only show the login page again.
    let useful = !(path.starts_with("/login") || path.starts_with("/logout"));
    (shaped && useful).then_some(path)
}

/// `value` with every byte but unreserved characters and `/` percent-encoded, for a query.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The token of a `GET` or `POST /login`, and the page to return to.
#[derive(Deserialize)]
pub struct LoginParams {
    token: Option<String>,
    retour: Option<String>,
}

impl LoginParams {
    /// The token if it looks like one: a login link secret is `lien_` and 64 hex digits, so
    /// anything else long or with other characters is not worth a lookup (and what is kept
    /// needs no escaping in the page).
    fn token(&self) -> Option<String> {
        self.token.clone().filter(|t| {
            !t.is_empty()
                && t.len() < 200
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
    }

    /// The page to return to after login, if it is a safe one ([`return_path`]).
    fn return_to(&self) -> Option<String> {
        self.retour
            .as_deref()
            .and_then(return_path)
            .map(str::to_owned)
    }
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .expect("cookie values are ASCII")
}

/// Where an unusable login link leads: the login page, which says why and asks for a new one.
fn invalid_link() -> Response {
    Redirect::to("/connexion?erreur=lien-invalide").into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "Service momentanément indisponible.",
    )
        .into_response()
}

/// A small page with the look of the web front end (its stylesheet, its header), no script.
fn html_page(status: StatusCode, title: &str, main: &str) -> Response {
    let body = format!(
        r#"<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} — Guichet</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header class="site-header">
  <div class="wrap header-inner">
    <a class="brand" href="/"><span class="brand-name">Guichet</span> <span class="brand-tagline">— financements publics des projets ruraux</span></a>
  </div>
</header>
<main id="contenu" class="wrap">
<h1>{title}</h1>
{main}
</main>
</body>
</html>
"#
    );
    let mut response = (status, axum::response::Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page's address holds the link's secret: other requests from it (its stylesheet, the
    // form) carry at most the origin as `Referer`, never the address. Not `no-referrer`: with
    // it browsers send `Origin: null` with the form, and the login's same-origin check fails.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin"),
    );
    response
}

/// `GET /login?token=…`: the page of a login link, with one button « Se connecter » whose
/// form posts the token to [`login`]. It uses nothing, so a mail scanner that opens the link
/// first leaves it to its recipient. An unknown, expired or used link leads to the login page.
pub async fn login_page(
    State(state): State<AppState>,
    query: Result<Query<LoginParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some((token, return_to)) = query
        .ok()
        .and_then(|Query(params)| Some((params.token()?, params.return_to())))
    else {
        return invalid_link();
    };
    // `return_path` lets no quote nor angle bracket through; `&` is escaped.
    let return_field = return_to
        .map(|path| {
            let path = path.replace('&', "&amp;");
            format!("<input type=\"hidden\" name=\"retour\" value=\"{path}\">\n")
        })
        .unwrap_or_default();
    match account::login_link_usable(&state.db, &token).await {
        Ok(true) => {}
        Ok(false) => return invalid_link(),
        Err(e) => {
            tracing::error!(error = %e, "login link lookup failed");
            return unavailable();
        }
    }
    let minutes = account::LOGIN_LINK_TTL.num_minutes();
    html_page(
        StatusCode::OK,
        "Connexion",
        &format!(
            r#"<p class="lead">Pour vous connecter à Guichet, confirmez avec le bouton ci-dessous.</p>
<form class="form" method="post" action="/login">
<input type="hidden" name="token" value="{token}">
{return_field}<p><button type="submit" class="button">Se connecter</button></p>
</form>
<p class="hint">Ce lien ne sert qu’une fois et reste valable {minutes} minutes après son envoi. Si vous n’avez pas demandé à vous connecter, fermez cette page : personne n’est connecté tant que le bouton n’est pas utilisé.</p>"#
        ),
    )
}

/// `POST /login` (the button of [`login_page`]): uses the link once, sets the session cookie,
/// goes to the account page. The form must come from a page of Guichet, so no other site can
/// log a visitor into an account of its choosing (login CSRF). The session the browser held
/// before, if any, is revoked: a new session id at each login, so a cookie planted or seen
/// before login is worth nothing after it.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginParams>, axum::extract::rejection::FormRejection>,
) -> Response {
    if !security::same_origin(&state.settings, &headers) {
        return html_page(
            StatusCode::FORBIDDEN,
            "Connexion refusée",
            r#"<p>Cette demande de connexion ne vient pas d’une page de Guichet : elle a été refusée.</p>
<p>Ouvrez à nouveau le lien reçu par courriel, ou <a href="/connexion">demandez un nouveau lien de connexion</a>.</p>"#,
        );
    }
    let Some((token, return_to)) = form
        .ok()
        .and_then(|Form(params)| Some((params.token()?, params.return_to())))
    else {
        return invalid_link();
    };
    let redeemed = async {
        let txn = catalog::db::begin_write(&state.db).await?;
        let result = account::redeem_login_link(&txn, &token).await?;
        if let Some(previous) = session_cookie(&headers) {
            account::revoke_session(&txn, previous).await?;
        }
        txn.commit().await?;
        Ok::<_, Error>(result)
    }
    .await;
    match redeemed {
        Ok((account, session)) => {
            tracing::info!(account = account.id, "logged in");
            let mut response =
                Redirect::to(return_to.as_deref().unwrap_or("/compte")).into_response();
            let max_age = account::SESSION_TTL.num_seconds();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie(&state, &session, max_age));
            response
        }
        Err(Error::Validation { .. }) => invalid_link(),
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            unavailable()
        }
    }
}

/// `POST /logout`: revokes the session (never an API token sent as the cookie) and clears the
/// cookie. Only from a page of Guichet
/// (see [`security::cross_site_refusal`]).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(refusal) =
        security::cross_site_refusal(&state.settings, &headers, security::Body::Form)
    {
        return refusal;
    }
    if let Some(secret) = session_cookie(&headers)
        && let Err(e) = account::revoke_session(&state.db, secret).await
    {
        tracing::error!(error = %e, "logout failed");
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0));
    response
}
