//! Accounts, API tokens and the passwordless login.

use catalog::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::json;

use crate::helpers::{TestApp, error_code, error_field};

const ME: &str = "{ me { email role roleLabel funder { slug } } }";

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

    let response = app.client.get(&link).send().await.unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/compte");
    let cookie = session_cookie(&response).expect("a session cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();

    let me = app.graphql_with_cookie(&session, ME).await;
    assert_eq!(me["data"]["me"]["email"], "maire@village-test.fr");
    assert_eq!(me["data"]["me"]["role"], "HOLDER");

    // The same link a second time is refused.
    let again = app.client.get(&link).send().await.unwrap();
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

#[tokio::test]
async fn an_expired_or_unknown_link_is_refused() {
    let app = TestApp::spawn().await;
    app.graphql(
        "mutation { requestLoginLink(email: \"tard@village.fr\") }",
        json!({}),
    )
    .await;
    let link = last_login_link(&app, "tard@village.fr").await;
    catalog::entity::login_link::Entity::update_many()
        .col_expr(
            catalog::entity::login_link::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::minutes(1)),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    let response = app.client.get(&link).send().await.unwrap();
    assert_eq!(
        response.headers()["location"],
        "/connexion?erreur=lien-invalide"
    );
    let response = app
        .client
        .get(app.url("/login?token=lien_inconnu"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["location"],
        "/connexion?erreur=lien-invalide"
    );
    let response = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(
        response.headers()["location"],
        "/connexion?erreur=lien-invalide"
    );
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
