//! Bugs found by fuzzing /graphql with schemathesis (tests/schemathesis/), kept fixed.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code};

/// The codes of every error, in order.
fn codes(body: &Value) -> Vec<&str> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {body}"))
        .iter()
        .map(|e| e["extensions"]["code"].as_str().unwrap_or("(none)"))
        .collect()
}

#[tokio::test]
async fn a_failed_non_null_field_in_a_list_nulls_up_to_data_not_the_list_items() {
    // `funders: [Funder!]!` and `Funder.schemes: SchemeConnection!`: async-graphql 7.2 answered
    // `"funders": [null, null, …]` (or items without their `schemes` key).
    let app = TestApp::spawn().await;
    for query in [
        "{ funders { schemes(first: 1000) { total } } }",
        "{ funders { slug schemeCount schemes(first: 1000) { total } } }",
    ] {
        let body = app.graphql(query, json!({})).await;
        assert!(body["data"].is_null(), "{query}: {body}");
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(
            body["errors"][0]["path"],
            json!(["funders", 0, "schemes"]),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_failed_non_null_field_nulls_its_nearest_nullable_parent_only() {
    // `scheme: Scheme` is nullable: the failure stops there; the other root field is whole.
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "{ scheme(slug: \"detr\") { title funders { slug schemes(first: 1000) { total } } } \
               funders { slug } }",
            json!({}),
        )
        .await;
    let data = body["data"].as_object().unwrap_or_else(|| panic!("{body}"));
    assert!(
        data.contains_key("scheme") && data["scheme"].is_null(),
        "{body}"
    );
    let funders = data["funders"].as_array().unwrap();
    assert!(
        !funders.is_empty() && funders.iter().all(|f| f["slug"].is_string()),
        "{body}"
    );
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
}

#[tokio::test]
async fn a_failed_nullable_field_is_null_not_missing() {
    // `conference: Conference` refused to an anonymous caller: the key stays, null.
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "{ funders { slug } conference(id: \"1\") { id } }",
            json!({}),
        )
        .await;
    let data = body["data"].as_object().unwrap_or_else(|| panic!("{body}"));
    assert!(data.contains_key("conference"), "{body}");
    assert!(data["conference"].is_null(), "{body}");
    assert!(!data["funders"].as_array().unwrap().is_empty(), "{body}");
    assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{body}");
}

#[tokio::test]
async fn a_failed_non_null_root_field_nulls_data() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "{ funders { slug } schemes(first: 1000) { total } }",
            json!({}),
        )
        .await;
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(codes(&body), ["VALIDATION"], "{body}");
    // Two failures under non-null roots: one `data: null`, both errors kept.
    let body = app
        .graphql(
            "{ a: schemes(first: 1000) { total } b: schemes(after: \"?\") { total } }",
            json!({}),
        )
        .await;
    assert!(body["data"].is_null(), "{body}");
    assert_eq!(codes(&body), ["VALIDATION", "VALIDATION"], "{body}");
}

#[tokio::test]
async fn forged_upload_references_over_json_are_refused_not_a_dropped_connection() {
    // async-graphql panicked on `#__graphql_file__:N` naming no file of the request (index out
    // of bounds) or not a number (unwrap): the connection closed without an answer.
    let app = TestApp::spawn().await;
    let mutation = "mutation($file: Upload!) { addAttachment(dossierId: \"1\", file: $file, label: \"x\") { id } }";
    for file in [
        "#__graphql_file__:0",
        "#__graphql_file__:x",
        "#__graphql_file__:",
    ] {
        let body = app.graphql(mutation, json!({ "file": file })).await;
        assert!(body["data"].is_null(), "{file}: {body}");
        assert_eq!(error_code(&body), "VALIDATION", "{file}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "file", "{body}");
        let inline = format!(
            "mutation {{ addAttachment(dossierId: \"1\", file: \"{file}\", label: \"x\") {{ id }} }}"
        );
        let body = app.graphql(&inline, json!({})).await;
        assert_eq!(error_code(&body), "VALIDATION", "{file}: {body}");
    }
    // Still serving.
    let body = app.graphql("{ funders { slug } }", json!({})).await;
    assert!(body["data"]["funders"].is_array(), "{body}");
}

#[tokio::test]
async fn forged_upload_references_in_a_multipart_request_are_refused() {
    // One file sent, a second variable pointing at a file that is not there.
    let app = TestApp::spawn().await;
    let boundary = "guichet-fuzz-boundary";
    let operations = json!({
        "query": "mutation($a: Upload!, $b: Upload!) { x: addAttachment(dossierId: \"1\", file: $a, label: \"a\") { id } y: addAttachment(dossierId: \"1\", file: $b, label: \"b\") { id } }",
        "variables": { "a": null, "b": "#__graphql_file__:7" }
    });
    let mut body = String::new();
    for (name, value) in [
        ("operations", operations.to_string()),
        ("map", json!({ "0": ["variables.a"] }).to_string()),
    ] {
        body += &format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        );
    }
    body += &format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-1.4\n%%EOF\n\r\n--{boundary}--\r\n"
    );
    let response = app
        .client
        .post(app.url("/graphql"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "file", "{body}");
}
