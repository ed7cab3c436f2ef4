//! The browser-facing security model: CSRF protection of cookie sessions, security headers on
//! every response, session rotation at login, logout and revocation seen by every process at
//! once, and secrets kept out of the logs.

use catalog::Role;
use serde_json::{Value, json};

use crate::accounts::{follow_login_link, session_cookie};
use crate::dossiers::Fixture;
use crate::helpers::{TestApp, error_code, fresh_database};
use crate::multipart::graphql_upload;

const ME: &str = "{ me { email } }";
const SAVE: &str = "mutation { saveSearch(text: \"café\", frequency: WEEKLY) { id } }";

/// Logs `email` in through a login link; returns the `guichet_session=…` cookie pair.
async fn log_in(app: &TestApp, email: &str, cookie: Option<&str>) -> String {
    let body = app
        .graphql(
            "mutation($e: String!) { requestLoginLink(email: $e) }",
            json!({ "e": email }),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    let link = app.url(&format!("/login?token={}", login_secret(app, email).await));
    let response = follow_login_link(&app.client, &link, cookie).await;
    assert_eq!(response.headers()["location"], "/compte");
    session_cookie(&response)
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// The secret of the last login link mailed to `email`.
async fn login_secret(app: &TestApp, email: &str) -> String {
    let messages = catalog::outbox::all(&app.state.db).await.unwrap();
    let message = messages
        .iter()
        .rev()
        .find(|m| m.recipient == email)
        .expect("a mail was queued");
    let (_, rest) = message.body_text.split_once("/login?token=").unwrap();
    rest.split_whitespace().next().unwrap().to_owned()
}

/// POSTs a JSON GraphQL request with a session cookie and these extra headers.
async fn post_with_cookie(
    app: &TestApp,
    cookie: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("cookie", cookie)
        .json(&json!({ "query": query }));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn assert_forbidden(status: u16, body: &Value) {
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_code(body), "FORBIDDEN", "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Requête refusée"),
        "{body}"
    );
}

#[tokio::test]
async fn a_cookie_mutation_needs_a_same_origin_request() {
    let app = TestApp::spawn().await;
    let cookie = log_in(&app, "maire@csrf.test", None).await;

    let own_page = app.url("/compte");
    // No Origin nor Referer, another site's Origin, the opaque `null` origin, another site's
    // Referer: refused, and nothing is written.
    for headers in [
        &[][..],
        &[("origin", "https://attaquant.example")][..],
        &[("origin", "null")][..],
        &[("referer", "https://attaquant.example/piege.html")][..],
        &[
            ("origin", "https://attaquant.example"),
            ("referer", own_page.as_str()),
        ][..],
    ] {
        let (status, body) = post_with_cookie(&app, &cookie, SAVE, headers).await;
        assert_forbidden(status, &body);
    }
    let (_, saved) = post_with_cookie(&app, &cookie, "{ savedSearches { id } }", &[]).await;
    assert_eq!(saved["data"]["savedSearches"], json!([]), "{saved}");

    // From Guichet's own pages: by Origin, or by Referer when the Origin is missing.
    let (status, body) =
        post_with_cookie(&app, &cookie, SAVE, &[("origin", app.address.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["saveSearch"]["id"].is_string(), "{body}");
    let (status, body) = post_with_cookie(
        &app,
        &cookie,
        SAVE,
        &[("referer", app.url("/recherche").as_str())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["saveSearch"]["id"].is_string(), "{body}");

    // Queries stay allowed from anywhere, over POST and GET.
    let (status, body) = post_with_cookie(
        &app,
        &cookie,
        ME,
        &[("origin", "https://attaquant.example")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["me"]["email"], "maire@csrf.test");
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", ME)])
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // A form-encoded or plain-text body is no GraphQL request at all.
    for content_type in ["application/x-www-form-urlencoded", "text/plain"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("cookie", &cookie)
            .header("origin", app.address.as_str())
            .header("content-type", content_type)
            .body(json!({ "query": SAVE }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415);
    }
}

#[tokio::test]
async fn the_host_or_the_public_address_make_an_origin_same() {
    let app = TestApp::spawn_with(|s| s.public_url = "https://guichet.example.fr".into()).await;
    let cookie = log_in(&app, "agent@csrf.test", None).await;
    // The public address (behind a proxy), with the default port written or not.
    for origin in [
        "https://guichet.example.fr",
        "https://GUICHET.example.fr:443",
    ] {
        let (status, body) = post_with_cookie(&app, &cookie, SAVE, &[("origin", origin)]).await;
        assert_eq!(status, 200, "{origin}: {body}");
    }
    // The address the request was sent to (its Host).
    let (status, body) =
        post_with_cookie(&app, &cookie, SAVE, &[("origin", app.address.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    // Another port, scheme or host is another origin.
    for origin in [
        "https://guichet.example.fr:8443",
        "http://guichet.example.fr.attaquant.example",
        "https://autre.example.fr",
    ] {
        let (status, body) = post_with_cookie(&app, &cookie, SAVE, &[("origin", origin)]).await;
        assert_forbidden(status, &body);
    }
}

#[tokio::test]
async fn bearer_tokens_and_anonymous_requests_are_not_affected() {
    let app = TestApp::spawn().await;
    let token = app.token_for("api@csrf.test", Role::Holder, None).await;
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("origin", "https://client-api.example")
        .json(&json!({ "query": SAVE }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["data"]["saveSearch"]["id"].is_string(), "{body}");
    // A bearer token wins over a cookie sent with it.
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .header("cookie", "guichet_session=quelconque")
        .json(&json!({ "query": SAVE }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Without any credential there is nothing to forge.
    let body = app
        .graphql(
            "mutation { requestLoginLink(email: \"anonyme@csrf.test\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
}

/// A multipart `addAttachment` with a session cookie and these extra headers.
async fn upload_with_cookie(app: &TestApp, cookie: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let (content_type, body) = graphql_upload(
        "mutation($id: ID!, $file: Upload!) { addAttachment(dossierId: $id, file: $file, label: \"Devis\") { id } }",
        json!({ "id": "999999", "file": null }),
        "devis.pdf",
        "application/pdf",
        b"%PDF-1.4\n%%EOF\n",
    );
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("cookie", cookie)
        .header("content-type", content_type)
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_cookie_upload_also_needs_the_preflight_header() {
    let app = TestApp::spawn().await;
    let cookie = log_in(&app, "depot@csrf.test", None).await;
    // A multipart form is what another site's page can send without asking: refused.
    let (status, body) =
        upload_with_cookie(&app, &cookie, &[("origin", app.address.as_str())]).await;
    assert_forbidden(status, &body);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("GraphQL-Require-Preflight"),
        "{body}"
    );
    let (status, body) =
        upload_with_cookie(&app, &cookie, &[("graphql-require-preflight", "1")]).await;
    assert_forbidden(status, &body);
    // With the header the web client sends, from Guichet's origin, the mutation runs (and
    // finds no such dossier).
    let (status, body) = upload_with_cookie(
        &app,
        &cookie,
        &[
            ("origin", app.address.as_str()),
            ("graphql-require-preflight", "1"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn logout_needs_a_same_origin_request() {
    let app = TestApp::spawn().await;
    let cookie = log_in(&app, "sortie@csrf.test", None).await;
    for origin in [None, Some("https://attaquant.example")] {
        let mut request = app
            .client
            .post(app.url("/logout"))
            .header("cookie", &cookie);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 403);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "FORBIDDEN");
    }
    let me = app.graphql_with_cookie(&cookie, ME).await;
    assert_eq!(me["data"]["me"]["email"], "sortie@csrf.test", "{me}");

    // The form of Guichet's account page: a same-origin form POST.
    let response = app
        .client
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("origin", app.address.as_str())
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let me = app.graphql_with_cookie(&cookie, ME).await;
    assert!(me["data"]["me"].is_null(), "{me}");
    // Without a session there is nothing to protect.
    let response = app.client.post(app.url("/logout")).send().await.unwrap();
    assert_eq!(response.status(), 303);
}

fn assert_security_headers(what: &str, response: &reqwest::Response) {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("referrer-policy"), "same-origin", "{what}");
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(!csp.contains("'unsafe-inline'"), "{what}: {csp}");
    assert!(!csp.contains("'unsafe-eval'"), "{what}: {csp}");
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let f = Fixture::new().await;
    let app = &f.app;
    let draft = f.complete_draft().await;
    let get = |path: &str| app.client.get(app.url(path));
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("home page", get("/")),
        ("page path", get("/dossiers/nouveau")),
        ("script", get("/assets/app.js")),
        ("style sheet", get("/assets/style.css")),
        ("missing asset", get("/assets/absent.js")),
        ("health", get("/healthz")),
        ("query over GET", get("/graphql").query(&[("query", ME)])),
        (
            "query over POST",
            app.client
                .post(app.url("/graphql"))
                .json(&json!({ "query": ME })),
        ),
        (
            "GraphQL request error",
            app.client
                .post(app.url("/graphql"))
                .header("content-type", "text/plain")
                .body("{}"),
        ),
        (
            "CSRF refusal",
            app.client
                .post(app.url("/graphql"))
                .header("cookie", "guichet_session=x")
                .json(&json!({ "query": SAVE })),
        ),
        ("login link", get("/login?token=lien_inconnu")),
        ("logout", app.client.post(app.url("/logout"))),
        ("wrong method", get("/logout")),
        ("unsubscribe page", get("/alertes/desinscription?jeton=x")),
        (
            "dossier PDF",
            get(&format!("/dossiers/{draft}/pdf")).bearer_auth(&f.holder),
        ),
        ("download refused", get(&format!("/dossiers/{draft}/pdf"))),
        (
            "unknown download",
            get("/pieces/424242").bearer_auth(&f.holder),
        ),
    ];
    for (what, request) in cases {
        let response = request.send().await.unwrap();
        assert_security_headers(what, &response);
    }

    // Pages and downloads keep their own policies.
    let page = get("/").send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let pdf = get(&format!("/dossiers/{draft}/pdf"))
        .bearer_auth(&f.holder)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let csp = pdf.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'; sandbox"), "{csp}");
}

#[tokio::test]
async fn graphiql_loads_only_pinned_files_that_guichet_serves_itself() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/graphql"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let page = response.text().await.unwrap();

    // The policy names no other site, and allows no inline or evaluated script.
    for directive in csp.split(';').map(str::trim) {
        for source in directive.split_whitespace().skip(1) {
            assert!(
                ["'self'", "'none'", "'unsafe-inline'", "data:"].contains(&source),
                "{source} in {csp}"
            );
        }
    }
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("no script-src in {csp}"));
    assert_eq!(script_src, "script-src 'self'");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(page.contains(r#"<html lang="fr">"#), "{page}");
    assert!(!page.contains("<script>"), "an inline script:\n{page}");

    // Every script and stylesheet it references is Guichet's own, served with its type; the
    // pinned files carry their version in their name and may be kept.
    let references: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attribute| page.split(attribute).skip(1))
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    let scripts = references.iter().filter(|r| r.ends_with(".js")).count();
    assert_eq!(scripts, 4, "{page}");
    assert!(
        references
            .iter()
            .any(|r| r.contains("graphiql-4.1.2.min.css"))
    );
    for reference in references {
        assert!(reference.starts_with("/assets/"), "{reference}");
        let file = app.client.get(app.url(reference)).send().await.unwrap();
        assert_eq!(file.status(), 200, "{reference}");
        let content_type = file.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = match reference.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            _ => "image/svg+xml",
        };
        assert!(
            content_type.starts_with(expected),
            "{reference}: {content_type}"
        );
        if reference.contains("-4.1.2.") || reference.contains("-18.3.1.") {
            assert_eq!(
                file.headers()["cache-control"],
                "public, max-age=31536000, immutable",
                "{reference}"
            );
        }
        assert!(!file.bytes().await.unwrap().is_empty(), "{reference}");
    }

    // The licences go with the files.
    for licence in ["LICENSE-graphiql", "LICENSE-react"] {
        let file = app
            .client
            .get(app.url(&format!("/assets/graphiql/{licence}")))
            .send()
            .await
            .unwrap();
        assert_eq!(file.status(), 200, "{licence}");
        assert!(file.text().await.unwrap().contains("MIT License"));
    }
    let missing = app
        .client
        .get(app.url("/assets/graphiql/inconnu.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn logging_in_again_revokes_the_session_the_browser_had() {
    let app = TestApp::spawn().await;
    let first = log_in(&app, "rotation@csrf.test", None).await;
    let second = log_in(&app, "rotation@csrf.test", Some(&first)).await;
    assert_ne!(first, second);
    let me = app.graphql_with_cookie(&second, ME).await;
    assert_eq!(me["data"]["me"]["email"], "rotation@csrf.test", "{me}");
    let me = app.graphql_with_cookie(&first, ME).await;
    assert!(me["data"]["me"].is_null(), "{me}");

    // A cookie planted before login (a session of the attacker's own account) is revoked
    // too, and an API token sent as a cookie is left alone.
    let planted = log_in(&app, "attaquant@csrf.test", None).await;
    let token = app.token_for("api@csrf.test", Role::Holder, None).await;
    let victim = log_in(&app, "victime@csrf.test", Some(&planted)).await;
    assert!(app.graphql_with_cookie(&planted, ME).await["data"]["me"].is_null());
    assert_eq!(
        app.graphql_with_cookie(&victim, ME).await["data"]["me"]["email"],
        "victime@csrf.test"
    );
    log_in(
        &app,
        "victime@csrf.test",
        Some(&format!("guichet_session={token}")),
    )
    .await;
    let body = app.graphql_as(Some(&token), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["email"], "api@csrf.test", "{body}");
}

#[tokio::test]
async fn logout_and_revocation_take_effect_on_every_process_at_once() {
    let first = TestApp::spawn().await;
    let second = first.spawn_sibling().await;

    // A session opened through one process works through the other, and a logout through
    // the first ends it on the second with the very next request.
    let cookie = log_in(&first, "partout@csrf.test", None).await;
    let me = second.graphql_with_cookie(&cookie, ME).await;
    assert_eq!(me["data"]["me"]["email"], "partout@csrf.test", "{me}");
    let response = first
        .client
        .post(first.url("/logout"))
        .header("cookie", &cookie)
        .header("origin", &first.address)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let me = second.graphql_with_cookie(&cookie, ME).await;
    assert!(me["data"]["me"].is_null(), "{me}");

    // An API token revoked by `guichet token revoke` (a third process) is refused by both.
    let token = first.token_for("jeton@csrf.test", Role::Staff, None).await;
    for app in [&first, &second] {
        let body = app.graphql_as(Some(&token), ME, json!({})).await;
        assert_eq!(body["data"]["me"]["email"], "jeton@csrf.test", "{body}");
    }
    crate::helpers::guichet_ok(
        first.dir.path(),
        &first.state.settings.database_url,
        &["token", "revoke", "--token", &token],
    );
    for app in [&first, &second] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": ME }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }

    // Revoking every session of an account reaches both processes too.
    let cookie = log_in(&second, "tout@csrf.test", None).await;
    catalog::account::revoke_all(&first.state.db, "tout@csrf.test")
        .await
        .unwrap();
    for app in [&first, &second] {
        assert!(app.graphql_with_cookie(&cookie, ME).await["data"]["me"].is_null());
    }
}

/// A `guichet serve` process of this test, killed when dropped.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn login_links_sessions_and_tokens_never_reach_the_logs() {
    // The real binary, logging everything it can (`GUICHET_LOG=trace`) to a file.
    let dir = tempfile::TempDir::new().unwrap();
    let database_url = fresh_database(dir.path(), true).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.path().join("guichet.log");
    let server = Serving(
        std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(dir.path())
            .env("DATABASE_URL", &database_url)
            .env("GUICHET_LOG", "trace")
            .env_remove("SMTP_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    while !client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(started.elapsed().as_secs() < 60, "the server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let graphql = |token: Option<&str>, cookie: Option<&str>, query: &str| {
        let mut request = client
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };

    graphql(
        None,
        None,
        "mutation { requestLoginLink(email: \"discret@csrf.test\") }",
    )
    .await
    .unwrap();
    let db = catalog::db::connect(&database_url).await.unwrap();
    let message = catalog::outbox::all(&db)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == "discret@csrf.test")
        .unwrap();
    let (_, rest) = message.body_text.split_once("/login?token=").unwrap();
    let link_secret = rest.split_whitespace().next().unwrap().to_owned();
    let login =
        follow_login_link(&client, &format!("{base}/login?token={link_secret}"), None).await;
    let cookie = session_cookie(&login)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // The used link again (opened and posted), the session, a bearer token, an unsubscribe
    // token.
    client
        .get(format!("{base}/login?token={link_secret}"))
        .send()
        .await
        .unwrap();
    client
        .post(format!("{base}/login"))
        .header("origin", &base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={link_secret}"))
        .send()
        .await
        .unwrap();
    graphql(None, Some(&cookie), ME).await.unwrap();
    catalog::account::add(
        &db,
        &catalog::Actor::Operator,
        "jeton@csrf.test",
        Role::Staff,
        None,
    )
    .await
    .unwrap();
    let (_, token, _) = catalog::account::issue_api_token(&db, "jeton@csrf.test", None)
        .await
        .unwrap();
    graphql(Some(&token), None, ME).await.unwrap();
    client
        .get(format!(
            "{base}/alertes/desinscription?jeton=jeton-de-desinscription"
        ))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    drop(server);

    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        text.contains("path=/login"),
        "the requests were not logged:\n{text}"
    );
    let session_secret = cookie.split_once('=').unwrap().1;
    for secret in [
        link_secret.as_str(),
        session_secret,
        token.as_str(),
        "jeton-de-desinscription",
    ] {
        assert!(!text.contains(secret), "{secret} logged:\n{text}");
    }
}
