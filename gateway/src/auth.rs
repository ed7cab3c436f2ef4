//! Authentication: bearer tokens and session cookies to an [`Actor`], the login-link flow
//! (`requestLoginLink`, `GET /login`, `POST /logout`) and its rate limits.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use catalog::account;
use catalog::email::Email;
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

/// Who is calling: a bearer token wins over the session cookie. A bearer token that is
/// unknown, expired or revoked is refused outright (401); a stale cookie means anonymous.
pub async fn actor_from_headers(state: &AppState, headers: &HeaderMap) -> Result<Actor, Response> {
    if let Some(token) = bearer(headers) {
        return match account::authenticate(&state.db, token).await {
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
        return match account::authenticate(&state.db, secret).await {
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
    let link = format!("{}/login?token={secret}", state.settings.public_url);
    let mail = mail::LOGIN_LINK.render(email.clone(), &[("link", &link)]);
    catalog::outbox::enqueue(&txn, mail).await?;
    txn.commit().await?;
    state.mail_wakeup.notify_one();
    tracing::info!(to = %email.masked(), "login link queued");
    Ok(())
}

#[derive(Deserialize)]
pub struct LoginParams {
    token: Option<String>,
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

/// `GET /login?token=…`: uses the link, sets the session cookie, goes to the account page.
/// The session the browser held before, if any, is revoked: a new session id at each login,
/// so a cookie planted or seen before login is worth nothing after it.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<LoginParams>,
) -> Response {
    let invalid = Redirect::to("/connexion?erreur=lien-invalide").into_response();
    let Some(token) = params.token.filter(|t| !t.is_empty() && t.len() < 200) else {
        return invalid;
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
            let mut response = Redirect::to("/compte").into_response();
            let max_age = account::SESSION_TTL.num_seconds();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, cookie(&state, &session, max_age));
            response
        }
        Err(Error::Validation { .. }) => invalid,
        Err(e) => {
            tracing::error!(error = %e, "login failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service momentanément indisponible.",
            )
                .into_response()
        }
    }
}

/// `POST /logout`: revokes the session and clears the cookie. Only from a page of Guichet
/// (see [`security::cross_site_refusal`]).
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(refusal) =
        security::cross_site_refusal(&state.settings, &headers, security::Body::Form)
    {
        return refusal;
    }
    if let Some(secret) = session_cookie(&headers)
        && let Err(e) = account::revoke(&state.db, secret).await
    {
        tracing::error!(error = %e, "logout failed");
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0));
    response
}
