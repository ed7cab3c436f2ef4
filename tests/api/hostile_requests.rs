//! Requests an outsider can send to take the server down or exhaust it (issue 12): each is
//! refused early with a GraphQL error or a 4xx, and the server keeps answering.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_field};

/// POSTs a raw GraphQL body; returns the status and the body text.
async fn post_raw(app: &TestApp, content_type: &str, accept: &str, body: String) -> (u16, String) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .header("accept", accept)
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn assert_alive(app: &TestApp) {
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the server must still answer");
    let body = app.graphql("{ funders { slug } }", json!({})).await;
    assert!(body["data"]["funders"].is_array(), "{body}");
}

fn fan_out(levels: usize) -> String {
    let mut query = String::from("query { ...F0 }\n");
    for i in 0..levels {
        query.push_str(&format!(
            "fragment F{i} on Query {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    query.push_str(&format!("fragment F{levels} on Query {{ __typename }}\n"));
    query
}

#[tokio::test]
async fn a_fragment_cycle_is_a_validation_error_over_post_and_get_and_the_server_stays_up() {
    let app = TestApp::spawn().await;
    let cycle = "{ ...A } fragment A on Query { ...A }";
    let body = app.graphql(cycle, json!({})).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert!(body["data"].is_null(), "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("cycle"),
        "{body}"
    );
    // The GraphQL-over-HTTP media type: a request error is a 400 without `data`.
    let (status, text) = post_raw(
        &app,
        "application/json",
        "application/graphql-response+json",
        json!({ "query": cycle }).to_string(),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    let parsed: Value = serde_json::from_str(&text).unwrap();
    assert!(parsed.get("data").is_none(), "{text}");
    // Over GET, anonymous.
    let response = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", cycle)])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_alive(&app).await;
}

#[tokio::test]
async fn fragment_fan_out_is_refused_before_it_is_expanded_even_four_at_once() {
    let app = TestApp::spawn().await;
    let query = fan_out(24);
    assert!(query.len() < 1_500, "a 1 KB request");
    let requests = (0..4).map(|_| app.graphql(&query, json!({})));
    for body in futures_util::future::join_all(requests).await {
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("champs au plus"),
            "{body}"
        );
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn lists_cost_what_they_ask_for_and_costly_root_fields_are_capped() {
    let app = TestApp::spawn().await;
    // 150 aliases of a page of 100 schemes, each with its funders' 100 schemes: a 22 KB
    // request that returned 34 MB.
    let fields: String = (0..150)
        .map(|i| {
            format!(
                "a{i}: schemes(first: 100) {{ nodes {{ slug funders {{ schemes(first: 100) \
                 {{ nodes {{ slug title }} }} }} }} }} "
            )
        })
        .collect();
    let body = app.graphql(&format!("{{ {fields} }}"), json!({})).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert!(body["data"].is_null(), "{body}");
    // One such page alone is too costly as well: first × what each item selects.
    let one = "{ schemes(first: 100) { nodes { slug funders { schemes(first: 100) { nodes { slug title } } } } } }";
    let body = app.graphql(one, json!({})).await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("trop coûteuse"),
        "{body}"
    );
    // A page the web front end asks for passes.
    let body = app
        .graphql(
            "{ schemes(first: 20) { total nodes { slug title funders { name } } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["schemes"]["total"].as_u64().unwrap() > 0);

    // matchProject accepted 2,400 aliases; four are refused, three pass.
    let project = r#"project: { holderType: COMMUNE, communeCode: "52448" }"#;
    let matches = |n: usize| {
        let fields: String = (0..n)
            .map(|i| format!("m{i}: matchProject({project}) {{ eligibleCount }} "))
            .collect();
        format!("{{ {fields} }}")
    };
    let body = app.graphql(&matches(4), json!({})).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    let body = app.graphql(&matches(3), json!({})).await;
    assert!(body["errors"].is_null(), "{body}");
    assert!(body["data"]["m2"]["eligibleCount"].is_number(), "{body}");
    let body = app.graphql(&matches(2_400), json!({})).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_alive(&app).await;
}

#[tokio::test]
async fn a_json_body_over_256_kib_is_refused_with_413_and_a_french_graphql_error() {
    let app = TestApp::spawn().await;
    assert_eq!(guichet::app::MAX_BODY_BYTES, 256 * 1024);
    let padding = "x".repeat(guichet::app::MAX_BODY_BYTES);
    let body = json!({ "query": "{ funders { slug } }", "variables": { "pad": padding } });
    let (status, _) = post_raw(
        &app,
        "application/json",
        "application/json",
        body.to_string(),
    )
    .await;
    assert_eq!(status, 413);
    // Without a declared length (chunked), the body fails as it is read: 413 too.
    let text = chunked_post(&app, guichet::app::MAX_BODY_BYTES + 64).await;
    assert!(
        text.starts_with("HTTP/1.1 413"),
        "{}",
        &text[..text.len().min(200)]
    );
    let text = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, body)| body)
        .to_owned();
    let parsed: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"));
    assert_eq!(error_code(&parsed), "VALIDATION", "{text}");
    assert_alive(&app).await;
}

/// POSTs a JSON body of `size` bytes in 16 KiB chunks, without a `Content-Length`, over a raw
/// connection; returns what the server answered.
async fn chunked_post(app: &TestApp, size: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let prefix = r#"{"query":"{ funders { slug } }","variables":{"pad":""#;
    let mut body = prefix.as_bytes().to_vec();
    body.resize(size - 3, b'x');
    body.extend_from_slice(br#""}}"#);
    for chunk in body.chunks(16 * 1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer and close before the whole body is sent.
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn malformed_requests_get_a_french_graphql_error_without_internal_detail() {
    let app = TestApp::spawn().await;
    let cases = [
        ("application/json", "[1, 2".to_owned()),
        ("application/json", "\"une chaîne\"".to_owned()),
        ("application/json", r#"{"query": 42}"#.to_owned()),
        ("application/json", "[]".to_owned()),
        (
            "multipart/form-data; boundary=X",
            "--X\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{}\r\n--X--\r\n"
                .to_owned(),
        ),
        (
            "multipart/form-data; boundary=X",
            "pas du multipart".to_owned(),
        ),
    ];
    for (content_type, body) in cases {
        let (status, text) = post_raw(&app, content_type, "application/json", body.clone()).await;
        assert_eq!(status, 400, "{body}: {text}");
        let parsed: Value =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{body}: not JSON: {text}"));
        assert_eq!(error_code(&parsed), "VALIDATION", "{body}: {text}");
        let message = parsed["errors"][0]["message"].as_str().unwrap();
        for leak in ["Invalid", "Error(", "untagged", "Multipart", "variant"] {
            assert!(!message.contains(leak), "{body}: {message}");
        }
        assert!(
            ["requête", "Requête", "« query »"]
                .iter()
                .any(|word| message.contains(word)),
            "{message}"
        );
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn response_keys_follow_the_order_of_the_query_on_every_call() {
    let app = TestApp::spawn().await;
    // `schemeCount` waits on a DataLoader, so async-graphql finished it after its siblings.
    let query = r#"{ scheme(slug: "detr") { funders { schemeCount name slug kind } title } }"#;
    for _ in 0..5 {
        let (status, text) = post_raw(
            &app,
            "application/json",
            "application/json",
            json!({ "query": query }).to_string(),
        )
        .await;
        assert_eq!(status, 200, "{text}");
        let at = |key: &str| {
            text.find(&format!("\"{key}\""))
                .unwrap_or_else(|| panic!("{key} in {text}"))
        };
        assert!(
            at("funders") < at("schemeCount")
                && at("schemeCount") < at("name")
                && at("name") < at("slug")
                && at("slug") < at("kind")
                && at("kind") < at("title"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_nul_character_is_a_validation_error_naming_the_field_not_an_internal_one() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(r#"{ scheme(slug: "a\u0000b") { title } }"#, json!({}))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "slug", "{body}");
    let body = app
        .graphql(
            "query($s: String!) { scheme(slug: $s) { title } }",
            json!({ "s": "a\u{0}b" }),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "s", "{body}");
    let body = app
        .graphql(
            "query($t: String) { searchSchemes(text: $t) { total } }",
            json!({ "t": "café\u{0}" }),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    // The same lookups without the NUL answer normally, on SQLite and PostgreSQL alike.
    let body = app
        .graphql(r#"{ scheme(slug: "ab") { title } }"#, json!({}))
        .await;
    assert!(
        body["errors"].is_null() && body["data"]["scheme"].is_null(),
        "{body}"
    );
}
