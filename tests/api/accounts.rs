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

const ACCOUNTS: &str = "query($q: String, $role: Role, $first: Int, $after: String) {
    accounts(query: $q, role: $role, first: $first, after: $after) {
        total nodes { id email role editor createdAt lastLoginAt funder { slug } }
        pageInfo { endCursor hasNextPage }
    } }";
const SET_ROLE: &str = "mutation($id: ID!, $role: Role!, $funder: String, $editor: Boolean) {
    setAccountRole(id: $id, role: $role, funder: $funder, editor: $editor) {
        id email role editor funder { slug } } }";
const REVOKE: &str = "mutation($id: ID!) { revokeAccountAccess(id: $id) }";

/// The id of the account with this email, as staff see it.
async fn account_id(app: &TestApp, staff: &str, email: &str) -> String {
    let body = app
        .graphql_as(Some(staff), ACCOUNTS, json!({ "q": email }))
        .await;
    let nodes = body["data"]["accounts"]["nodes"].as_array().expect("nodes");
    let node = nodes
        .iter()
        .find(|n| n["email"] == email)
        .unwrap_or_else(|| panic!("{email} not found in {body}"));
    node["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn staff_find_accounts_by_email_fragment_and_role_page_by_page() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    for i in 0..3 {
        app.token_for(&format!("maire{i}@village-test.fr"), Role::Holder, None)
            .await;
    }
    app.token_for(
        "agent@prefecture.test",
        Role::Funder,
        Some("etat-prefectures"),
    )
    .await;
    // A LIKE wildcard typed in the query is matched literally.
    app.token_for("a_b@village-test.fr", Role::Holder, None)
        .await;

    let body = app
        .graphql_as(
            Some(&staff),
            ACCOUNTS,
            json!({ "q": "VILLAGE-test", "first": 2 }),
        )
        .await;
    let page = &body["data"]["accounts"];
    assert_eq!(page["total"], 4, "{body}");
    assert_eq!(page["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(page["nodes"][0]["email"], "a_b@village-test.fr");
    assert_eq!(page["pageInfo"]["hasNextPage"], true);
    assert!(page["nodes"][0]["createdAt"].is_string(), "{body}");
    assert!(page["nodes"][0]["lastLoginAt"].is_null());
    let after = page["pageInfo"]["endCursor"].as_str().unwrap();
    let body = app
        .graphql_as(
            Some(&staff),
            ACCOUNTS,
            json!({ "q": "village-test", "first": 2, "after": after }),
        )
        .await;
    let emails: Vec<&str> = body["data"]["accounts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["maire1@village-test.fr", "maire2@village-test.fr"]);
    assert_eq!(body["data"]["accounts"]["pageInfo"]["hasNextPage"], false);

    let body = app
        .graphql_as(Some(&staff), ACCOUNTS, json!({ "q": "_" }))
        .await;
    assert_eq!(body["data"]["accounts"]["total"], 1, "{body}");

    let body = app
        .graphql_as(Some(&staff), ACCOUNTS, json!({ "role": "FUNDER" }))
        .await;
    assert_eq!(body["data"]["accounts"]["total"], 1, "{body}");
    let agent = &body["data"]["accounts"]["nodes"][0];
    assert_eq!(agent["email"], "agent@prefecture.test");
    assert_eq!(agent["funder"]["slug"], "etat-prefectures");
}

#[tokio::test]
async fn holders_and_funder_agents_cannot_list_or_manage_accounts() {
    let app = TestApp::spawn().await;
    let holder = app
        .token_for("maire@village-test.fr", Role::Holder, None)
        .await;
    let agent = app
        .token_for(
            "agent@prefecture.test",
            Role::Funder,
            Some("etat-prefectures"),
        )
        .await;
    for token in [&holder, &agent] {
        let body = app.graphql_as(Some(token), ACCOUNTS, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        assert!(body["data"].is_null(), "{body}");
    }
    let body = app.graphql(ACCOUNTS, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");

    let staff = app.staff_token().await;
    let holder_id = account_id(&app, &staff, "maire@village-test.fr").await;
    let body = app
        .graphql_as(
            Some(&agent),
            SET_ROLE,
            json!({ "id": holder_id, "role": "FUNDER", "funder": "etat-prefectures" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .graphql_as(Some(&holder), REVOKE, json!({ "id": holder_id }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn staff_switch_holders_and_funder_agents_but_only_admins_make_staff() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let admin = app.token_for("admin@guichet.test", Role::Admin, None).await;
    app.token_for("maire@village-test.fr", Role::Holder, None)
        .await;
    let id = account_id(&app, &staff, "maire@village-test.fr").await;

    // A funder agent must name its funder, by a known slug.
    let body = app
        .graphql_as(
            Some(&staff),
            SET_ROLE,
            json!({ "id": id, "role": "FUNDER" }),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "funder");
    let body = app
        .graphql_as(
            Some(&staff),
            SET_ROLE,
            json!({ "id": id, "role": "FUNDER", "funder": "pas-un-financeur" }),
        )
        .await;
    assert_eq!(error_field(&body), "funder", "{body}");

    let body = app
        .graphql_as(
            Some(&staff),
            SET_ROLE,
            json!({ "id": id, "role": "FUNDER", "funder": "etat-prefectures", "editor": true }),
        )
        .await;
    let account = &body["data"]["setAccountRole"];
    assert_eq!(account["role"], "FUNDER", "{body}");
    assert_eq!(account["editor"], true);
    assert_eq!(account["funder"]["slug"], "etat-prefectures");
    let stored = catalog::account::entry(&app.state.db, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.account.editor);
    assert_eq!(stored.account.role, Role::Funder);

    // Back to holder: the funder and the editor right go with the role.
    let body = app
        .graphql_as(
            Some(&staff),
            SET_ROLE,
            json!({ "id": id, "role": "HOLDER" }),
        )
        .await;
    assert_eq!(body["data"]["setAccountRole"]["role"], "HOLDER", "{body}");
    assert_eq!(body["data"]["setAccountRole"]["editor"], false);
    assert!(body["data"]["setAccountRole"]["funder"].is_null());
    let body = app
        .graphql_as(
            Some(&staff),
            SET_ROLE,
            json!({ "id": id, "role": "HOLDER", "editor": true }),
        )
        .await;
    assert_eq!(error_field(&body), "editor", "{body}");

    // A staff member cannot make an admin, nor a staff member; nothing is written.
    for role in ["ADMIN", "STAFF"] {
        let body = app
            .graphql_as(Some(&staff), SET_ROLE, json!({ "id": id, "role": role }))
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    let stored = catalog::account::entry(&app.state.db, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.account.role, Role::Holder);

    // An administrator can; then staff can no longer change that account.
    let body = app
        .graphql_as(Some(&admin), SET_ROLE, json!({ "id": id, "role": "STAFF" }))
        .await;
    assert_eq!(body["data"]["setAccountRole"]["role"], "STAFF", "{body}");
    let body = app
        .graphql_as(
            Some(&staff),
            SET_ROLE,
            json!({ "id": id, "role": "HOLDER" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // Nobody changes their own role.
    let admin_id = account_id(&app, &admin, "admin@guichet.test").await;
    let body = app
        .graphql_as(
            Some(&admin),
            SET_ROLE,
            json!({ "id": admin_id, "role": "HOLDER" }),
        )
        .await;
    assert_eq!(error_field(&body), "role", "{body}");

    let body = app
        .graphql_as(
            Some(&admin),
            SET_ROLE,
            json!({ "id": "abc", "role": "HOLDER" }),
        )
        .await;
    assert_eq!(error_field(&body), "id", "{body}");
    let body = app
        .graphql_as(
            Some(&admin),
            SET_ROLE,
            json!({ "id": "999999", "role": "HOLDER" }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn revoking_an_account_logs_out_its_sessions_and_tokens() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let link = request_login_link(&app, "maire@village-test.fr").await;
    let response = follow_login_link(&app.client, &link, None).await;
    let session = session_cookie(&response)
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let me = app.graphql_with_cookie(&session, ME).await;
    assert_eq!(me["data"]["me"]["email"], "maire@village-test.fr", "{me}");
    let (_, token, _) =
        catalog::account::issue_api_token(&app.state.db, "maire@village-test.fr", None)
            .await
            .unwrap();
    let id = account_id(&app, &staff, "maire@village-test.fr").await;
    let body = app
        .graphql_as(Some(&staff), ACCOUNTS, json!({ "q": "maire@" }))
        .await;
    assert!(
        body["data"]["accounts"]["nodes"][0]["lastLoginAt"].is_string(),
        "{body}"
    );

    let body = app
        .graphql_as(Some(&staff), REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["revokeAccountAccess"], 2, "{body}");
    let me = app.graphql_with_cookie(&session, ME).await;
    assert!(me["data"]["me"].is_null(), "{me}");
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": ME }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Nothing left to revoke.
    let body = app
        .graphql_as(Some(&staff), REVOKE, json!({ "id": id }))
        .await;
    assert_eq!(body["data"]["revokeAccountAccess"], 0, "{body}");

    // Staff cannot log out an administrator; an administrator can.
    let admin = app.token_for("admin@guichet.test", Role::Admin, None).await;
    let admin_id = account_id(&app, &staff, "admin@guichet.test").await;
    let body = app
        .graphql_as(Some(&staff), REVOKE, json!({ "id": admin_id }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    assert!(app.graphql_as(Some(&admin), ME, json!({})).await["data"]["me"].is_object());
    let staff_id = account_id(&app, &staff, "equipe@guichet.test").await;
    let body = app
        .graphql_as(Some(&admin), REVOKE, json!({ "id": staff_id }))
        .await;
    assert_eq!(body["data"]["revokeAccountAccess"], 1, "{body}");
}

/// Asks a login link for `email` returning to `return_to`; returns the link mailed.
async fn login_link_returning(app: &TestApp, email: &str, return_to: &str) -> String {
    let body = app
        .graphql(
            "mutation($e: String!, $r: String) { requestLoginLink(email: $e, returnTo: $r) }",
            json!({ "e": email, "r": return_to }),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    last_login_link(app, email).await
}

/// A form body, every byte but ASCII letters and digits percent-encoded.
fn form_body(fields: &[(String, String)]) -> String {
    let encode = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Opens `link` and posts its page's form (every hidden field) as the button does.
async fn press_login_button(app: &TestApp, link: &str) -> reqwest::Response {
    let page = app
        .client
        .get(link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut fields = Vec::new();
    for part in page.split("<input type=\"hidden\" name=\"").skip(1) {
        let (name, rest) = part.split_once("\" value=\"").unwrap();
        let value = rest.split('"').next().unwrap().replace("&amp;", "&");
        fields.push((name.to_owned(), value));
    }
    app.client
        .post(app.url("/login"))
        .header("origin", &app.address)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&fields))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn after_login_the_user_returns_to_the_page_they_were_on_of_this_site_only() {
    let app = TestApp::spawn().await;
    let back = "/recherche?commune=52448&q=salle%20des%20f%C3%AAtes";
    let link = login_link_returning(&app, "maire@village-test.fr", back).await;
    assert!(
        link.contains("&retour=/recherche%3Fcommune%3D52448%26q%3D"),
        "{link}"
    );
    let response = press_login_button(&app, &link).await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], back);
    assert!(session_cookie(&response).is_some());

    // No open redirect: another host, a scheme, `//` or `/\` lead to the account page.
    for (i, evil) in [
        "/recherche?q=\"<script>\"",
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
    ]
    .into_iter()
    .enumerate()
    {
        // One address per link: login links are rate-limited per address.
        let email = format!("maire{i}@village-test.fr");
        let link = login_link_returning(&app, &email, evil).await;
        assert!(!link.contains("retour"), "{evil}: {link}");
        let response = press_login_button(&app, &link).await;
        assert_eq!(response.headers()["location"], "/compte", "{evil}");
    }
    // Nor when the link or the form is forged with one.
    let link = request_login_link(&app, "autre@village-test.fr").await;
    let forged = format!("{link}&retour=%2F%2Fevil.example");
    let page = app
        .client
        .get(&forged)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("evil"), "{page}");
    let token = link.split_once("token=").unwrap().1;
    let response = app
        .client
        .post(app.url("/login"))
        .header("origin", &app.address)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("token".to_owned(), token.to_owned()),
            ("retour".to_owned(), "//evil.example".to_owned()),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/compte");
}
