//! Operating Guichet: `/metrics`, the request id of every response and log line, and the
//! graceful stop on SIGTERM of the real binary.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::Duration;

use guichet::metrics::Secret;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, fresh_database, scheme_input};
use crate::mail::{eventually, files_in};
use crate::startup::Server;

/// The value of the sample `name{labels}` (with exactly these labels), if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, inner) = match series.split_once('{') {
                Some((metric, rest)) => (metric, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            let pairs: Vec<&str> = inner.split(',').filter(|p| !p.is_empty()).collect();
            let matches = metric == name
                && pairs.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| pairs.contains(&format!("{k}=\"{v}\"").as_str()));
            matches.then(|| value.parse().unwrap())
        })
}

/// Like [`sample`], 0 when absent (a counter not yet incremented).
fn count(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(text, name, labels).unwrap_or(0.0)
}

async fn scrape_url(base: &str) -> String {
    let response = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

async fn scrape(app: &TestApp) -> String {
    scrape_url(&app.address).await
}

const SEARCH: &str = "query SearchSchemes($text: String) { searchSchemes(text: $text) { total } }";

#[tokio::test]
async fn metrics_count_requests_by_route_status_and_graphql_operation() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;
    for _ in 0..3 {
        let body = app
            .graphql(SEARCH, json!({ "text": "variable-secrete-123" }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    app.graphql("{ funders { slug } }", json!({})).await;
    app.graphql("query MadeUpByAClient42 { funders { slug } }", json!({}))
        .await;
    app.graphql("{ noSuchField }", json!({})).await;
    app.client.get(app.url("/healthz")).send().await.unwrap();
    app.client
        .get(app.url("/une/page/inconnue"))
        .send()
        .await
        .unwrap();
    let after = scrape(&app).await;

    let delta = |name: &str, labels: &[(&str, &str)]| {
        count(&after, name, labels) - count(&before, name, labels)
    };
    let http = "guichet_http_requests_total";
    assert_eq!(
        delta(http, &[("route", "/graphql"), ("status", "200")]),
        6.0
    );
    assert_eq!(
        delta(http, &[("route", "/healthz"), ("status", "200")]),
        1.0
    );
    assert_eq!(
        delta(http, &[("route", "/metrics"), ("status", "200")]),
        1.0
    );
    assert_eq!(
        delta(http, &[("route", "fallback"), ("status", "200")]),
        1.0
    );
    assert_eq!(
        delta(
            "guichet_http_request_duration_seconds_count",
            &[("route", "/graphql")]
        ),
        6.0
    );
    assert_eq!(
        delta(
            "guichet_http_request_duration_seconds_bucket",
            &[("route", "/graphql"), ("le", "+Inf")]
        ),
        6.0
    );
    let graphql = "guichet_graphql_requests_total";
    assert_eq!(delta(graphql, &[("operation", "SearchSchemes")]), 3.0);
    assert_eq!(delta(graphql, &[("operation", "funders")]), 2.0);
    assert_eq!(delta(graphql, &[("operation", "other")]), 1.0);
    assert_eq!(
        delta(
            "guichet_graphql_request_duration_seconds_count",
            &[("operation", "SearchSchemes")]
        ),
        3.0
    );
    // Bounded labels: no client-chosen name, no variable.
    assert!(!after.contains("MadeUpByAClient42"), "{after}");
    assert!(!after.contains("variable-secrete-123"), "{after}");
    assert!(!after.contains("noSuchField"), "{after}");
    assert!(after.contains("# TYPE guichet_http_request_duration_seconds histogram\n"));
    assert!(after.contains("# TYPE guichet_graphql_requests_total counter\n"));

    assert!(sample(&after, "guichet_db_pool_max_connections", &[]).unwrap() >= 1.0);
    assert!(sample(&after, "guichet_db_pool_connections", &[]).unwrap() >= 1.0);
    assert!(sample(&after, "guichet_db_pool_idle_connections", &[]).is_some());
    assert!(sample(&after, "process_resident_memory_bytes", &[]).unwrap() > 1e6);
    assert!(sample(&after, "guichet_search_index_documents", &[]).unwrap() >= 40.0);
    assert!(sample(&after, "guichet_search_index_last_sync_age_seconds", &[]).is_some());
    assert!(sample(&after, "guichet_http_requests_in_flight", &[]).unwrap() >= 1.0);
}

#[tokio::test]
async fn outbox_gauges_show_mail_waiting_to_be_sent() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;
    let pending = sample(&before, "guichet_outbox_pending", &[]).unwrap();
    let body = app
        .graphql(
            "mutation($e: String!) { requestLoginLink(email: $e) }",
            json!({ "e": "camille.martin@example.org" }),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    let after = scrape(&app).await;
    assert_eq!(
        sample(&after, "guichet_outbox_pending", &[]).unwrap(),
        pending + 1.0
    );
    assert!(sample(&after, "guichet_outbox_oldest_pending_age_seconds", &[]).unwrap() >= 0.0);
    assert!(!after.contains("camille"), "{after}");

    // Once sent, nothing is pending any more.
    let worker = guichet::app::start_mail_worker(&app.state).unwrap();
    assert!(
        eventually(Duration::from_secs(10), async || {
            sample(&scrape(&app).await, "guichet_outbox_pending", &[]) == Some(0.0)
        })
        .await
    );
    let last = scrape(&app).await;
    assert_eq!(
        sample(&last, "guichet_outbox_oldest_pending_age_seconds", &[]),
        Some(0.0)
    );
    worker.abort();
}

#[tokio::test]
async fn the_index_lag_shows_changes_the_index_has_not_picked_up() {
    let app = TestApp::spawn().await;
    let before = scrape(&app).await;
    assert_eq!(
        sample(&before, "guichet_search_index_unindexed_changes", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&before, "guichet_search_index_lag_seconds", &[]),
        Some(0.0)
    );
    // Another process (here: the domain crate directly) changes the catalogue.
    let parsed =
        catalog::import::guichet::parse(&json!([scheme_input("aide-hors-index")]).to_string())
            .unwrap();
    catalog::import::run(
        &app.state.db,
        &catalog::Actor::Operator,
        &app.state.territories,
        parsed,
        true,
        || {},
    )
    .await
    .unwrap();
    let behind = scrape(&app).await;
    assert_eq!(
        sample(&behind, "guichet_search_index_unindexed_changes", &[]),
        Some(1.0)
    );
    assert!(sample(&behind, "guichet_search_index_lag_seconds", &[]).unwrap() >= 0.0);

    app.state.search.sync(&app.state.db).await.unwrap();
    let caught_up = scrape(&app).await;
    assert_eq!(
        sample(&caught_up, "guichet_search_index_unindexed_changes", &[]),
        Some(0.0)
    );
    assert_eq!(
        sample(&caught_up, "guichet_search_index_lag_seconds", &[]),
        Some(0.0)
    );
}

#[tokio::test]
async fn metrics_through_a_proxy_need_the_metrics_token_or_a_staff_token() {
    let app = TestApp::spawn_with(|settings| {
        settings.metrics_token = Some(Secret::new("jeton-de-collecte"));
    })
    .await;
    let get = |auth: Option<String>| {
        let mut request = app
            .client
            .get(app.url("/metrics"))
            .header("x-forwarded-for", "203.0.113.7");
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(None).await, 403);
    assert_eq!(get(Some("mauvais-jeton".into())).await, 403);
    assert_eq!(get(Some("jeton-de-collecte".into())).await, 200);
    let holder = app
        .token_for("porteur@guichet.test", catalog::Role::Holder, None)
        .await;
    assert_eq!(get(Some(holder)).await, 403);
    assert_eq!(get(Some(app.staff_token().await)).await, 200);
    // Directly from this machine, no token is needed.
    scrape(&app).await;
}

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .unwrap_or_else(|| panic!("no X-Request-Id on {}", response.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_response_carries_a_request_id_kept_when_sane_and_replaced_otherwise() {
    let app = TestApp::spawn().await;
    let generated_ok = |id: &str| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit());

    let first = request_id(&app.client.get(app.url("/healthz")).send().await.unwrap());
    let second = request_id(&app.client.get(app.url("/healthz")).send().await.unwrap());
    assert!(generated_ok(&first), "{first}");
    assert!(generated_ok(&second), "{second}");
    assert_ne!(first, second);

    let given = "lb-7f3a.2026_11_27-0001";
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("x-request-id", given)
        .json(&json!({ "query": "{ funders { slug } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(request_id(&response), given);

    for insane in [
        "avec des espaces".to_owned(),
        "a/b".to_owned(),
        "x".repeat(65),
        "<script>".to_owned(),
    ] {
        let response = app
            .client
            .get(app.url("/healthz"))
            .header("x-request-id", insane.as_str())
            .send()
            .await
            .unwrap();
        let id = request_id(&response);
        assert!(generated_ok(&id), "{insane} gave {id}");
    }
    assert_eq!(
        request_id(
            &app.client
                .get(app.url("/healthz"))
                .header("x-request-id", "x".repeat(64))
                .send()
                .await
                .unwrap()
        ),
        "x".repeat(64)
    );

    // Errors and pages too.
    for response in [
        app.client.post(app.url("/healthz")).send().await.unwrap(),
        app.client
            .get(app.url("/pieces/999999"))
            .send()
            .await
            .unwrap(),
        app.client
            .post(app.url("/graphql"))
            .header("content-type", "text/plain")
            .body("{ funders { slug } }")
            .send()
            .await
            .unwrap(),
        app.client.get(app.url("/dossiers")).send().await.unwrap(),
        app.client
            .get(app.url("/assets/style.css"))
            .send()
            .await
            .unwrap(),
    ] {
        assert!(generated_ok(&request_id(&response)));
    }
}

#[tokio::test]
async fn the_mail_worker_ends_when_the_server_shuts_down() {
    let app = TestApp::spawn().await;
    let worker = guichet::app::start_mail_worker(&app.state).unwrap();
    app.state.shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("the worker did not stop")
        .unwrap();
    // Stopped: a message queued now waits for the next start.
    app.graphql(
        "mutation { requestLoginLink(email: \"apres.arret@example.org\") }",
        json!({}),
    )
    .await;
    assert_eq!(
        sample(&scrape(&app).await, "guichet_outbox_pending", &[]),
        Some(1.0)
    );
    assert!(files_in(&app.dir.path().join("mail")).is_empty());
}

/// A `guichet serve` on a seeded database, logging to a file.
async fn logged_server(dir: &TempDir, env: &[(&str, &str)]) -> (Server, std::path::PathBuf) {
    let url = fresh_database(dir.path(), true).await;
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut env = env.to_vec();
    env.push(("GUICHET_LOG", "info,sqlx=warn,sea_orm=warn,tower_http=warn"));
    let server = Server::start_with(dir.path(), &url, &[], &env, Stdio::from(log)).await;
    (server, log_path)
}

async fn wait_for_exit(server: &mut Server, limit: Duration) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = server.exited() {
            return status;
        }
        assert!(
            start.elapsed() < limit,
            "the server did not exit within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn log_lines_carry_the_request_id_and_no_secret_or_address() {
    let dir = TempDir::new().unwrap();
    let (mut server, log_path) = logged_server(&dir, &[]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    client
        .get(format!(
            "{}/login?token=jeton-secret-dans-l-adresse",
            server.url()
        ))
        .header("x-request-id", "journal-test-42")
        .send()
        .await
        .unwrap();
    let body: Value = client
        .post(format!("{}/graphql", server.url()))
        .json(&json!({ "query": "mutation { requestLoginLink(email: \"camille.martin@example.org\") }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    let mail_dir = dir.path().join("mail");
    assert!(
        eventually(Duration::from_secs(10), async || !files_in(&mail_dir)
            .is_empty())
        .await,
        "the login mail was not written"
    );
    server.terminate();
    assert!(
        wait_for_exit(&mut server, Duration::from_secs(30))
            .await
            .success()
    );

    let log = std::fs::read_to_string(&log_path).unwrap();
    let login_line = log
        .lines()
        .find(|l| l.contains("request_id=journal-test-42"))
        .unwrap_or_else(|| panic!("no line with the request id:\n{log}"));
    assert!(login_line.contains("path=/login"), "{login_line}");
    assert!(login_line.contains("method=GET"), "{login_line}");
    assert!(login_line.contains("status="), "{login_line}");
    assert!(login_line.contains("latency_ms="), "{login_line}");
    assert!(!log.contains("jeton-secret"), "{log}");
    assert!(!log.contains("camille.martin"), "{log}");
    assert!(log.contains("c***@example.org"), "{log}");
    assert!(
        !log.contains("\u{1b}["),
        "colour codes in a log file:\n{log}"
    );
    assert!(log.contains("shutdown requested"), "{log}");
    assert!(log.contains("Guichet stopped"), "{log}");
}

/// Starts a GraphQL POST on a raw connection and sends only the first half of its body: the
/// request is in flight until [`finish_request`].
fn start_request(server: &Server) -> (TcpStream, String) {
    let address = server.url().trim_start_matches("http://").to_owned();
    let body = json!({ "query": "{ funders { slug } }" }).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    (stream, tail.to_owned())
}

fn finish_request(mut stream: TcpStream, tail: &str) -> String {
    stream.write_all(tail.as_bytes()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Waits until the server counts `n` requests in flight besides the scrape itself.
async fn wait_in_flight(server: &Server, n: f64) {
    assert!(
        eventually(Duration::from_secs(10), async || {
            sample(
                &scrape_url(server.url()).await,
                "guichet_http_requests_in_flight",
                &[],
            ) >= Some(n + 1.0)
        })
        .await,
        "the requests never reached the server"
    );
}

#[tokio::test]
async fn sigterm_stops_accepting_finishes_requests_in_flight_and_exits_cleanly() {
    let dir = TempDir::new().unwrap();
    let (mut server, log_path) = logged_server(&dir, &[]).await;
    let address = server.url().trim_start_matches("http://").to_owned();
    let in_flight: Vec<_> = (0..3).map(|_| start_request(&server)).collect();
    wait_in_flight(&server, 3.0).await;

    server.terminate();
    // The listener closes at once…
    assert!(
        eventually(Duration::from_secs(10), async || TcpStream::connect(
            &address
        )
        .is_err())
        .await,
        "the server still accepts connections after SIGTERM"
    );
    // …but the process waits for the requests it has begun.
    assert!(server.exited().is_none(), "the server did not wait");
    for (stream, tail) in in_flight {
        let answer = finish_request(stream, &tail);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        let body = answer.split("\r\n\r\n").nth(1).unwrap();
        let json: Value = serde_json::from_str(body).unwrap();
        assert!(
            json["data"]["funders"]
                .as_array()
                .is_some_and(|f| !f.is_empty()),
            "{json}"
        );
    }
    let status = wait_for_exit(&mut server, Duration::from_secs(30)).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(status.success(), "{status}\n{log}");
    assert!(log.contains("signal=SIGTERM"), "{log}");
    assert!(log.contains("in_flight=3"), "{log}");
    assert!(log.contains("task=\"mail worker\""), "{log}");
    assert!(log.contains("Guichet stopped"), "{log}");
}

#[tokio::test]
async fn a_stop_that_outlasts_the_limit_ends_anyway() {
    let dir = TempDir::new().unwrap();
    let (mut server, log_path) = logged_server(&dir, &[("GUICHET_SHUTDOWN_TIMEOUT", "1")]).await;
    // A client that never finishes its request.
    let (_stuck, _) = start_request(&server);
    wait_in_flight(&server, 1.0).await;
    server.terminate();
    let status = wait_for_exit(&mut server, Duration::from_secs(30)).await;
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("exiting anyway"), "{log}");
}
