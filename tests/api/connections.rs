//! The connection server against slow and greedy clients (raw TCP from loopback addresses),
//! and the client address behind trusted proxies.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{TestApp, error_code};

/// Longest any test waits for the server to close a connection: far above the shortened
/// timeouts, only there so that a server that never closes fails the test instead of hanging.
const PATIENCE: Duration = Duration::from_secs(15);

/// A connection to the app from `source`, one of the loopback addresses (127.0.0.0/8).
async fn connect_from(app: &TestApp, source: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(app.state.settings.listen).await.unwrap()
}

/// Everything the server sends until it closes the connection; panics if it keeps it open.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(PATIENCE, stream.read(&mut buffer)).await {
            Err(_) => panic!(
                "the server kept the connection open; received so far: {}",
                String::from_utf8_lossy(&received)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&received).into_owned(),
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Reads one response to `GET /healthz` (its body is `ok`).
async fn read_health_response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while !String::from_utf8_lossy(&received).ends_with("ok") {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&received));
        received.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&received).into_owned()
}

const HEALTH_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: guichet\r\n\r\n";

/// Asks `/healthz` on this connection and expects a 200.
async fn assert_healthy(stream: &mut TcpStream) {
    stream.write_all(HEALTH_REQUEST).await.unwrap();
    let answer = read_health_response(stream).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_client_that_sends_half_a_header_line_is_disconnected_after_the_header_timeout() {
    let app = TestApp::spawn_with(|s| {
        s.connections.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = connect_from(&app, "127.0.0.1").await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: gui")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    assert!(!received.contains("200"), "{received}");
    // A client that sends its request at once is answered.
    let mut stream = connect_from(&app, "127.0.0.1").await;
    assert_healthy(&mut stream).await;
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(|s| {
        s.connections.header_read_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = connect_from(&app, "127.0.0.1").await;
    assert_eq!(read_until_closed(&mut stream).await, "");
}

#[tokio::test]
async fn a_request_body_that_stops_coming_is_cut_after_the_body_timeout() {
    let app = TestApp::spawn_with(|s| {
        s.connections.body_read_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = connect_from(&app, "127.0.0.1").await;
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: guichet\r\nContent-Type: application/json\r\n\
              Content-Length: 200\r\n\r\n{\"query\": \"{ __typ",
        )
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    assert!(!received.contains("200 OK"), "{received}");
}

#[tokio::test]
async fn a_slow_body_that_keeps_moving_is_not_cut_by_the_body_timeout() {
    let app = TestApp::spawn_with(|s| {
        s.connections.body_read_timeout = Duration::from_secs(2);
        // About 80 bytes a second here: let the rate rule pass it (see the next test).
        s.connections.body_min_rate = 10;
    })
    .await;
    let body = json!({ "query": format!("{{ __typename }}{}", " ".repeat(200)) }).to_string();
    let mut stream = connect_from(&app, "127.0.0.1").await;
    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nHost: guichet\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Twelve pieces a quarter of a second apart: three seconds in all, more than the timeout.
    for piece in body.as_bytes().chunks(body.len().div_ceil(12)) {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let received = read_until_closed(&mut stream).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(received.contains("\"__typename\":\"Query\""), "{received}");
}

#[tokio::test]
async fn a_body_trickled_slower_than_the_minimum_rate_is_cut_though_it_never_stops() {
    let app = TestApp::spawn_with(|s| {
        s.connections.body_read_timeout = Duration::from_secs(1);
        s.connections.body_min_rate = 1000;
    })
    .await;
    let mut stream = connect_from(&app, "127.0.0.1").await;
    stream
        .write_all(
            b"POST /graphql HTTP/1.1\r\nHost: guichet\r\nContent-Type: application/json\r\n\
              Content-Length: 100000\r\n\r\n{\"query\": \"",
        )
        .await
        .unwrap();
    // Ten bytes every tenth of a second: never a second without progress, but 100 bytes a
    // second on average. A client that keeps sending gets an error once the server closes.
    let trickle = async {
        loop {
            if stream.write_all(b"          ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(PATIENCE, trickle)
        .await
        .expect("the server kept reading the trickled body");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_keep_alive_timeout() {
    let app = TestApp::spawn_with(|s| {
        // Far longer than the keep-alive timeout: it is not what closes the connection.
        s.connections.header_read_timeout = Duration::from_secs(60);
        s.connections.keep_alive_timeout = Duration::from_millis(300);
    })
    .await;
    let mut stream = connect_from(&app, "127.0.0.1").await;
    assert_healthy(&mut stream).await;
    assert_eq!(read_until_closed(&mut stream).await, "");
}

#[tokio::test]
async fn a_kept_alive_connection_answers_its_next_request_within_the_keep_alive_timeout() {
    let app = TestApp::spawn_with(|s| {
        s.connections.keep_alive_timeout = Duration::from_secs(30);
    })
    .await;
    let mut stream = connect_from(&app, "127.0.0.1").await;
    for _ in 0..3 {
        assert_healthy(&mut stream).await;
    }
}

#[tokio::test]
async fn the_connection_over_the_per_client_cap_is_refused_while_other_clients_are_served() {
    let app = TestApp::spawn_with(|s| {
        s.connections.max_connections_per_client = 3;
        s.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    // The attacker holds three connections, each with a request that never ends.
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(&app, "127.0.0.2").await;
        stream.write_all(b"GET / HTTP/1.1\r\nX-a: ").await.unwrap();
        held.push(stream);
    }
    let mut fourth = connect_from(&app, "127.0.0.2").await;
    let refusal = read_until_closed(&mut fourth).await;
    assert!(refusal.starts_with("HTTP/1.1 503"), "{refusal}");
    assert!(refusal.contains("Trop de connexions"), "{refusal}");
    // Everyone else is served meanwhile.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let mut other = connect_from(&app, "127.0.0.3").await;
    assert_healthy(&mut other).await;
    // Once the attacker lets one go, it may connect again.
    drop(held.pop());
    let started = std::time::Instant::now();
    loop {
        let mut again = connect_from(&app, "127.0.0.2").await;
        again.write_all(HEALTH_REQUEST).await.unwrap();
        let mut buffer = [0u8; 12];
        let answered = again.read_exact(&mut buffer).await.is_ok();
        if answered && &buffer == b"HTTP/1.1 200" {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the place was never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn connections_over_the_total_cap_are_refused() {
    let app = TestApp::spawn_with(|s| {
        s.connections.max_connections = 2;
        s.connections.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let _first = connect_from(&app, "127.0.0.2").await;
    let _second = connect_from(&app, "127.0.0.3").await;
    let mut third = connect_from(&app, "127.0.0.4").await;
    let refusal = read_until_closed(&mut third).await;
    assert!(refusal.starts_with("HTTP/1.1 503"), "{refusal}");
}

/// Sends `requestLoginLink` for a new address each time, with this `X-Forwarded-For`.
async fn request_login_link(app: &TestApp, n: usize, forwarded_for: &str) -> serde_json::Value {
    app.client
        .post(app.url("/graphql"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({
            "query": format!("mutation {{ requestLoginLink(email: \"habitant{n}@village.fr\") }}")
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `Limits::login_per_client`: 30 links per client in 15 minutes.
const LOGIN_LINKS_PER_CLIENT: usize = 30;

#[tokio::test]
async fn forwarded_for_is_ignored_from_an_untrusted_peer() {
    let app = TestApp::spawn().await;
    for n in 0..LOGIN_LINKS_PER_CLIENT {
        let body = request_login_link(&app, n, &format!("198.51.100.{n}")).await;
        assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    }
    // Another forged address changes nothing: the client is the socket's peer.
    let body = request_login_link(&app, 99, "203.0.113.1").await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_names_the_client_rightmost_untrusted_first() {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies =
            guichet::client::TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
    })
    .await;
    // The client forges a different address on the left each time; the proxies (10.1.1.1
    // and the peer) appended the real one.
    for n in 0..LOGIN_LINKS_PER_CLIENT {
        let forwarded = format!("192.0.2.{n}, 198.51.100.7, 10.1.1.1");
        let body = request_login_link(&app, n, &forwarded).await;
        assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    }
    let body = request_login_link(&app, 98, "192.0.2.200, 198.51.100.7").await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    // Another client behind the same proxy has its own bucket.
    let body = request_login_link(&app, 99, "198.51.100.8, 10.1.1.1").await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
}

#[tokio::test]
async fn clients_of_one_ipv6_64_behind_a_trusted_proxy_share_a_bucket() {
    let app = TestApp::spawn_with(|s| {
        s.trusted_proxies = guichet::client::TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    for n in 0..LOGIN_LINKS_PER_CLIENT {
        let body = request_login_link(&app, n, &format!("2001:db8:5:6::{:x}", n + 1)).await;
        assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    }
    let body = request_login_link(&app, 98, "2001:db8:5:6:ffff::1").await;
    assert_eq!(error_code(&body), "RATE_LIMITED", "{body}");
    let body = request_login_link(&app, 99, "2001:db8:5:7::1").await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
}

#[test]
fn a_bad_connection_setting_stops_the_server_at_start_naming_the_variable() {
    let dir = tempfile::TempDir::new().unwrap();
    for (name, value, named) in [
        ("GUICHET_MAX_CONNECTIONS", "beaucoup", "beaucoup"),
        ("GUICHET_HEADER_READ_TIMEOUT", "10s", "10s"),
        ("GUICHET_TRUSTED_PROXIES", "10.0.0.0/8,le-proxy", "le-proxy"),
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env(name, value)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > PATIENCE {
                child.kill().unwrap();
                panic!("{name}={value} was accepted: the server started");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}={value} was accepted");
        assert!(stderr.contains(name) && stderr.contains(named), "{stderr}");
    }
}

#[tokio::test]
async fn the_log_names_the_client_a_trusted_proxy_forwards_for() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = crate::helpers::fresh_database(dir.path(), true).await;
    let log_path = dir.path().join("serve.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let server = crate::startup::Server::start_with(
        dir.path(),
        &url,
        &[],
        &[
            ("GUICHET_LOG", "info,sqlx=warn,sea_orm=warn"),
            ("GUICHET_TRUSTED_PROXIES", "127.0.0.1"),
        ],
        std::process::Stdio::from(log),
    )
    .await;
    let response = reqwest::Client::new()
        .get(format!("{}/compte", server.url()))
        .header("x-forwarded-for", "198.51.100.9")
        .header("x-request-id", "client-log-test")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.kill();
    let log = std::fs::read_to_string(&log_path).unwrap();
    let line = log
        .lines()
        .find(|l| l.contains("request_id=client-log-test") && l.contains("request answered"))
        .unwrap_or_else(|| panic!("no line for the request:\n{log}"));
    assert!(line.contains("address=198.51.100.9"), "{line}");
}
