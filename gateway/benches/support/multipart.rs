//! A GraphQL multipart request (the `graphql-multipart-request-spec` that `addAttachment`
//! follows) carrying one file as `variables.file`. Shared by the benchmarks and the API tests.

use serde_json::{Value, json};

const BOUNDARY: &str = "guichet-upload-boundary-3c9b7f3a";

/// The content type and body that send `bytes` as the file `filename` with `query`;
/// `variables` must hold `"file": null`.
pub fn graphql_upload(
    query: &str,
    variables: Value,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    let operations = json!({ "query": query, "variables": variables });
    let mut body = Vec::with_capacity(bytes.len() + 1024);
    for (name, value) in [
        ("operations", operations.to_string()),
        ("map", json!({ "0": ["variables.file"] }).to_string()),
    ] {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}
