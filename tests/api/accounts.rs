//! Accounts, API tokens and the passwordless login.

use catalog::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::helpers::{TestApp, error_code, error_field};

const ME: &str = "{ me { email role roleLabel funder { slug } } }";

/// Asks a login link for `email` and returns the link mailed.
async fn request_login_link(app: &TestApp, email: &str) -> String {
    let query = format!("mutation {{ requestLoginLink(email: \"{email}\") }}");
    let body = app.graphql(&query, json!({})).await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    last_login_link(app, email).await
}

/// The login link in the last queued mail to `email`.
async fn last_login_link(app: &TestApp, email: &str) -> String {
    let messages = catalog::outbox::all(&app.state.db).await.unwrap();
    let message = messages
        .iter()
        .rev()
        .find(|m| m.recipient == email)
        .expect("a mail was queued");
    assert_eq!(message.template, "login_link");
    let start = message.body_text.find("http").unwrap();
    let link = message.body_text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert!(link.starts_with(&app.url("/login?token=")), "{link}");
    link
}

/// The origin (`http://host:port`) of an absolute URL.
fn origin(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

/// The value of the hidden `token` field of a login page.
fn hidden_token(page: &str) -> &str {
    let (_, rest) = page
        .split_once(r#"name="token" value=""#)
        .unwrap_or_else(|| panic!("no token field in the page:\n{page}"));
    rest.split('"').next().unwrap()
}

/// Opens a login link as a browser does: the `GET` shows a page that uses nothing, then its
/// button « Se connecter » posts the token to `/login` from Guichet's origin, with `cookie`
/// if given. Returns the answer to that `POST` (`client` must not follow redirects).
pub async fn follow_login_link(
    client: &reqwest::Client,
    link: &str,
    cookie: Option<&str>,
) -> reqwest::Response {
    let page = client.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200, "{link}");
    let page = page.text().await.unwrap();
    assert!(page.contains("Se connecter"), "{page}");
    let mut request = client
        .post(format!("{}/login", origin(link)))
        .header("origin", origin(link))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}", hidden_token(&page)));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.send().await.unwrap()
}

pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("guichet_session="))
}

#[tokio::test]
async fn an_api_token_identifies_its_account() {
    let app = TestApp::spawn().await;
    let token = app
        .token_for(
            "agent@prefecture.test",
            Role::Funder,
            Some("etat-prefectures"),
        )
        .await;
    let body = app.graphql_as(Some(&token), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["email"], "agent@prefecture.test");
    assert_eq!(body["data"]["me"]["role"], "FUNDER");
    assert_eq!(body["data"]["me"]["funder"]["slug"], "etat-prefectures");
    let body = app.graphql(ME, json!({})).await;
    assert!(body["data"]["me"].is_null());
}

#[tokio::test]
async fn tokens_are_stored_hashed_and_can_be_revoked_or_expire() {
    let app = TestApp::spawn().await;
    let token = app.token_for("staff@guichet.test", Role::Staff, None).await;
    let stored = catalog::entity::token::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|t| t.hash != token && !t.hash.contains(&token))
    );

    assert!(
        catalog::account::revoke(&app.state.db, &token)
            .await
            .unwrap()
    );
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");

    let (_, expiring, _) =
        catalog::account::issue_api_token(&app.state.db, "staff@guichet.test", Some(1))
            .await
            .unwrap();
    assert!(app.graphql_as(Some(&expiring), ME, json!({})).await["data"]["me"].is_object());
    catalog::entity::token::Entity::update_many()
        .col_expr(
            catalog::entity::token::Column::ExpiresAt,
            Expr::value(Some(chrono::Utc::now() - chrono::Duration::hours(1))),
        )
        .filter(catalog::entity::token::Column::Hash.eq(catalog::account::digest(&expiring)))
        .exec(&app.state.db)
        .await
        .unwrap();
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&expiring)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_login_link_logs_in_once_and_creates_a_holder_account() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "mutation { requestLoginLink(email: \"Maire@Village-Test.fr\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    let link = last_login_link(&app, "maire@village-test.fr").await;

    let response = follow_login_link(&app.client, &link, None).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/compte");
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();

    let me = app.graphql_with_cookie(&session, ME).await;
    assert_eq!(me["data"]["me"]["email"], "maire@village-test.fr");
    assert_eq!(me["data"]["me"]["role"], "HOLDER");

    // The same link a second time is refused, opened or posted.
    let again = app.client.get(&link).send().await.unwrap();
    assert_eq!(
        again.headers()["location"],
        "/connexion?erreur=lien-invalide"
    );
    let token = link.split_once("token=").unwrap().1;
    let again = post_login(&app, token, Some(&app.address)).await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        again.headers()["location"],
        "/connexion?erreur=lien-invalide"
    );
    assert!(session_cookie(&again).is_none());

    // Logging out revokes the session.
    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &session)
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(session_cookie(&out).unwrap().contains("Max-Age=0"));
    let me = app.graphql_with_cookie(&session, ME).await;
    assert!(me["data"]["me"].is_null(), "{me}");
}

/// `POST /login` with this token as a form, from `origin` if given.
async fn post_login(app: &TestApp, token: &str, origin: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn opening_a_login_link_uses_nothing_until_its_button_is_pressed() {
    let app = TestApp::spawn().await;
    let link = request_login_link(&app, "scanne@village.fr").await;
    let token = link.split_once("token=").unwrap().1;

    // A mail scanner opens the link (twice): a page, no session, the link still usable.
    for _ in 0..2 {
        let page = app.client.get(&link).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(session_cookie(&page).is_none());
        let headers = page.headers().clone();
        assert_eq!(headers["referrer-policy"], "strict-origin");
        assert_eq!(headers["cache-control"], "no-store");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(csp.contains("form-action 'self'"), "{csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains(r#"<html lang="fr">"#), "{html}");
        assert!(
            html.contains(r#"<form class="form" method="post" action="/login">"#),
            "{html}"
        );
        assert!(
            html.contains(&format!(
                r#"<input type="hidden" name="token" value="{token}">"#
            )),
            "{html}"
        );
        assert!(
            html.contains(r#"<button type="submit" class="button">Se connecter</button>"#),
            "{html}"
        );
        assert!(!html.contains("<script"), "{html}");
    }
    let unused = catalog::entity::login_link::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(unused.iter().all(|l| l.used_at.is_none()));
    let accounts = catalog::entity::account::Entity::find()
        .filter(catalog::entity::account::Column::Email.eq("scanne@village.fr"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(accounts.is_empty(), "the account exists before the login");

    // The button logs in.
    let response = post_login(&app, token, Some(&app.address)).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/compte");
    let session = session_cookie(&response).unwrap();
    let session = session.split(';').next().unwrap();
    let me = app.graphql_with_cookie(session, ME).await;
    assert_eq!(me["data"]["me"]["email"], "scanne@village.fr", "{me}");
}

#[tokio::test]
async fn a_login_form_posted_from_another_site_is_refused_and_the_link_kept() {
    let app = TestApp::spawn().await;
    let link = request_login_link(&app, "attaque@village.fr").await;
    let token = link.split_once("token=").unwrap().1;

    // Another site's page posting the attacker's link would log its visitor into the
    // attacker's account (login CSRF): refused, whatever the origin says or does not say.
    for origin in [None, Some("https://ailleurs.example"), Some("null")] {
        let response = post_login(&app, token, origin).await;
        assert_eq!(response.status(), 403, "{origin:?}");
        assert!(session_cookie(&response).is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("Connexion refusée"), "{html}");
        assert!(html.contains(r#"href="/connexion""#), "{html}");
    }
    let response = app
        .client
        .post(app.url("/login"))
        .header("referer", "https://ailleurs.example/piege")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // The link was not used: its recipient still logs in with it.
    let response = follow_login_link(&app.client, &link, None).await;
    assert_eq!(response.headers()["location"], "/compte");
    assert!(session_cookie(&response).is_some());
}

#[tokio::test]
async fn an_api_token_is_no_session_cookie_and_a_session_no_bearer_token() {
    let app = TestApp::spawn().await;
    let token = app.token_for("api@village.fr", Role::Staff, None).await;
    let link = request_login_link(&app, "session@village.fr").await;
    let response = follow_login_link(&app.client, &link, None).await;
    let cookie = session_cookie(&response).unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let session = cookie.split_once('=').unwrap().1.to_owned();

    // Each works where it belongs.
    let me = app.graphql_as(Some(&token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "api@village.fr", "{me}");
    let me = app.graphql_with_cookie(&cookie, ME).await;
    assert_eq!(me["data"]["me"]["email"], "session@village.fr", "{me}");

    // An API token as the session cookie: nobody.
    let me = app
        .graphql_with_cookie(&format!("guichet_session={token}"), ME)
        .await;
    assert!(me["data"]["me"].is_null(), "{me}");
    let download = app
        .client
        .get(app.url("/compte/donnees.json"))
        .header("cookie", format!("guichet_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 401);

    // A session secret as a bearer token: refused.
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&session)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");

    // A logout with an API token as the cookie revokes no API token.
    let out = app
        .client
        .post(app.url("/logout"))
        .header("cookie", format!("guichet_session={token}"))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    let me = app.graphql_as(Some(&token), ME, json!({})).await;
    assert_eq!(me["data"]["me"]["email"], "api@village.fr", "{me}");
}

#[tokio::test]
async fn an_expired_or_unknown_link_is_refused() {
    let app = TestApp::spawn().await;
    let link = request_login_link(&app, "tard@village.fr").await;
    let token = link.split_once("token=").unwrap().1.to_owned();
    // The page was opened in time, the button pressed too late.
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    catalog::entity::login_link::Entity::update_many()
        .col_expr(
            catalog::entity::login_link::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    let invalid = "/connexion?erreur=lien-invalide";
    let response = post_login(&app, &token, Some(&app.address)).await;
    assert_eq!(response.headers()["location"], invalid);
    assert!(session_cookie(&response).is_none());
    let response = app.client.get(&link).send().await.unwrap();
    assert_eq!(response.headers()["location"], invalid);
    for path in [
        "/login?token=lien_inconnu",
        "/login",
        "/login?token=<script>",
        "/login?token=a&token=b",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()["location"], invalid, "{path}");
    }
    for body in ["token=lien_inconnu", "", "autre=1"] {
        let response = app
            .client
            .post(app.url("/login"))
            .header("origin", &app.address)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], invalid, "{body}");
    }
}

#[tokio::test]
async fn a_malformed_address_is_refused_and_nothing_is_queued() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "mutation { requestLoginLink(email: \"pas une adresse\") }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(error_field(&body), "email");
    assert!(
        catalog::outbox::all(&app.state.db)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn login_links_are_rate_limited_per_address() {
    let app = TestApp::spawn().await;
    let request = "mutation { requestLoginLink(email: \"presse@village.fr\") }";
    for _ in 0..5 {
        assert_eq!(
            app.graphql(request, json!({})).await["data"]["requestLoginLink"],
            true
        );
    }
    let body = app.graphql(request, json!({})).await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    // Another address from the same client still works.
    let body = app
        .graphql(
            "mutation { requestLoginLink(email: \"autre@village.fr\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true);
    assert_eq!(catalog::outbox::all(&app.state.db).await.unwrap().len(), 6);
}

/// The limits are counted in the database: requests spread over two gateways of one database
/// share them.
#[tokio::test]
async fn rate_limits_are_shared_by_every_gateway() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sibling().await;
    let request = "mutation { requestLoginLink(email: \"mairie@deux-passerelles.fr\") }";
    for i in 0..5 {
        let app = if i % 2 == 0 { &first } else { &second };
        assert_eq!(
            app.graphql(request, json!({})).await["data"]["requestLoginLink"],
            true
        );
    }
    for app in [&first, &second] {
        let body = app.graphql(request, json!({})).await;
        assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    }
    // Another address is not affected.
    let other = "mutation { requestLoginLink(email: \"ecole@deux-passerelles.fr\") }";
    assert_eq!(
        second.graphql(other, json!({})).await["data"]["requestLoginLink"],
        true
    );
}
