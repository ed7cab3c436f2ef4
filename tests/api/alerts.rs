//! Alerts: saved searches mailed as digests through the outbox and a real SMTP server.

use std::time::Duration;

use catalog::Role;
use catalog::entity::saved_search;
use sea_orm::{EntityTrait, sea_query::Expr};
use serde_json::json;

use crate::helpers::{TestApp, error_code, error_field, require_all, scheme_input};
use crate::mail::{SmtpServer, eventually, files_in, free_port, python_with_aiosmtpd};

const SAVE: &str = "mutation($text: String, $filter: SchemeFilter) { saveSearch(text: $text, filter: $filter, frequency: WEEKLY) { id description frequency } }";

/// Makes every alert due now.
async fn make_due(app: &TestApp) {
    saved_search::Entity::update_many()
        .col_expr(
            saved_search::Column::NextDueAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn saving_a_search_needs_an_account_and_valid_filters() {
    let app = TestApp::spawn().await;
    let body = app.graphql(SAVE, json!({ "text": "lavoir" })).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let holder = app.token_for("maire@village.fr", Role::Holder, None).await;
    let body = app
        .graphql_as(
            Some(&holder),
            SAVE,
            json!({ "text": "lavoir", "filter": { "territory": "00000" } }),
        )
        .await;
    assert_eq!(error_field(&body), "filter.territory");
    let body = app
        .graphql_as(Some(&holder), SAVE, json!({ "text": "lavoir", "filter": { "territory": "52121", "themes": ["patrimoine-tourisme"] } }))
        .await;
    let description = body["data"]["saveSearch"]["description"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"));
    assert!(
        description.contains("Chaumont") && description.contains("Patrimoine"),
        "{description}"
    );
    let list = app
        .graphql_as(
            Some(&holder),
            "{ savedSearches { id frequency } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["savedSearches"].as_array().unwrap().len(), 1);
    // Someone else cannot delete it.
    let other = app.token_for("autre@village.fr", Role::Holder, None).await;
    let id = list["data"]["savedSearches"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = app
        .graphql_as(
            Some(&other),
            "mutation($id: ID!) { deleteSavedSearch(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = app
        .graphql_as(
            Some(&holder),
            "mutation($id: ID!) { deleteSavedSearch(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(body["data"]["deleteSavedSearch"], true);
}

#[tokio::test]
async fn a_digest_lists_new_schemes_once_and_unsubscribing_needs_no_login() {
    let python = python_with_aiosmtpd();
    if python.is_none() {
        assert!(!require_all(), "aiosmtpd is required (GUICHET_TEST_PYTHON)");
    }
    let port = free_port();
    let app = TestApp::spawn_with(|s| {
        if python.is_some() {
            s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        }
    })
    .await;
    let maildir = app.dir.path().join("maildir");
    let _server = python
        .as_deref()
        .map(|p| SmtpServer::start(p, port, &maildir));
    let worker = guichet::app::start_mail_worker(&app.state).unwrap();
    let holder = app.token_for("alerte@village.fr", Role::Holder, None).await;
    let body = app
        .graphql_as(Some(&holder), SAVE, json!({ "text": "lavoirs" }))
        .await;
    assert!(body["errors"].is_null(), "{body}");

    // Nothing new: no mail.
    make_due(&app).await;
    assert_eq!(
        guichet::alerts::send_due_digests(&app.state).await.unwrap(),
        0
    );

    // A new matching scheme is published: one digest.
    let staff = app.staff_token().await;
    let mut input = scheme_input("restauration-lavoirs");
    input["title"] = json!("Restauration des lavoirs & fontaines <communales>");
    input["status"] = json!("PUBLISHED");
    app.graphql_as(
        Some(&staff),
        "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
        json!({ "input": input }),
    )
    .await;
    make_due(&app).await;
    assert_eq!(
        guichet::alerts::send_due_digests(&app.state).await.unwrap(),
        1
    );
    // Not twice.
    assert_eq!(
        guichet::alerts::send_due_digests(&app.state).await.unwrap(),
        0
    );

    let db = app.state.db.clone();
    assert!(
        eventually(Duration::from_secs(20), async || catalog::outbox::all(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.sent_at.is_some()))
        .await,
        "the digest was not sent"
    );
    let digest = catalog::outbox::all(&db)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.template == "alert_digest")
        .unwrap();
    assert_eq!(digest.recipient, "alerte@village.fr");
    assert!(
        digest.subject.contains("1 dispositif"),
        "{}",
        digest.subject
    );
    assert!(
        digest
            .body_text
            .contains("Restauration des lavoirs & fontaines <communales>")
    );
    assert!(
        digest
            .body_html
            .contains("Restauration des lavoirs &amp; fontaines &lt;communales&gt;"),
        "{}",
        digest.body_html
    );
    if python.is_some() {
        let delivered = files_in(&maildir.join("new"));
        assert_eq!(delivered.len(), 1);
    }

    // The unsubscribe link works without a session.
    let start = digest
        .body_text
        .find("/alertes/desinscription?jeton=")
        .unwrap();
    let link = digest.body_text[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let page = reqwest::get(app.url(&link))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Vous ne recevrez plus cette alerte"),
        "{page}"
    );
    let list = app
        .graphql_as(Some(&holder), "{ savedSearches { id } }", json!({}))
        .await;
    assert_eq!(list["data"]["savedSearches"], json!([]));
    let again = reqwest::get(app.url(&link))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("Alerte introuvable"));
    worker.abort();
}
