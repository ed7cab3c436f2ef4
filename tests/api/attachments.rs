//! Attachment quotas and names: the per-dossier and per-account totals hold under concurrent
//! uploads, the number of drafts is capped, and files are served under a clean name with the
//! extension of their sniffed type, in ASCII and in UTF-8.

use serde_json::{Value, json};

use crate::dossiers::{Fixture, SUBMIT, futures_join_all, scheme_slugs, upload};
use crate::helpers::{TestApp, error_code, error_field};

const MB: u64 = 1024 * 1024;

/// A PDF of exactly `size` bytes whose content differs with `seed`.
fn pdf(size: usize, seed: u32) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.4\n% {seed}\n").into_bytes();
    bytes.resize(size, b'0' + (seed % 10) as u8);
    bytes
}

/// The attachments of a dossier, as the holder sees them.
async fn attachments(f: &Fixture, dossier: &str) -> Vec<Value> {
    f.ok(
        &f.holder,
        "query($id: ID!) { dossier(id: $id) { attachments { filename size sha256 url } } }",
        json!({ "id": dossier }),
    )
    .await["dossier"]["attachments"]
        .as_array()
        .unwrap()
        .clone()
}

/// Uploads each `(dossier, file)` at once; returns how many were accepted, after checking
/// that every refusal is a VALIDATION error on `file`.
async fn upload_all_at_once(f: &Fixture, files: &[(String, Vec<u8>)]) -> usize {
    let names: Vec<String> = (0..files.len()).map(|i| format!("devis-{i}.pdf")).collect();
    let answers =
        futures_join_all(files.iter().zip(&names).map(|((dossier, bytes), name)| {
            upload(&f.app, &f.holder, dossier, "Devis", name, bytes)
        }))
        .await;
    let mut accepted = 0;
    for body in &answers {
        if body["errors"].is_null() {
            assert!(body["data"]["addAttachment"]["id"].is_string(), "{body}");
            accepted += 1;
        } else {
            assert_eq!(error_code(body), "VALIDATION", "{body}");
            assert_eq!(error_field(body), "file", "{body}");
        }
    }
    accepted
}

#[tokio::test]
async fn concurrent_uploads_never_put_more_in_a_dossier_than_its_quota() {
    let app = TestApp::spawn_with(|s| s.quotas.dossier_bytes = MB).await;
    let f = Fixture::with_app(app).await;
    let draft = f.complete_draft().await;
    // Eight different files of 300 kB at once: three fit in 1 MB, a fourth would not.
    let files: Vec<(String, Vec<u8>)> = (0..8).map(|i| (draft.clone(), pdf(300_000, i))).collect();
    assert_eq!(upload_all_at_once(&f, &files).await, 3);
    let stored = attachments(&f, &draft).await;
    let total: u64 = stored.iter().map(|a| a["size"].as_u64().unwrap()).sum();
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(total <= MB, "{total} bytes in the dossier");
    // The refusal says what the limit is.
    let body = upload(
        &f.app,
        &f.holder,
        &draft,
        "Devis",
        "devis.pdf",
        &pdf(300_000, 99),
    )
    .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("1 Mo"), "{message}");
}

#[tokio::test]
async fn an_account_holds_no_more_than_its_quota_over_all_its_dossiers() {
    let app = TestApp::spawn_with(|s| s.quotas.account_bytes = MB).await;
    let f = Fixture::with_app(app).await;
    let first = f.complete_draft().await;
    let shared = pdf(600_000, 1);
    let body = upload(&f.app, &f.holder, &first, "Statuts", "statuts.pdf", &shared).await;
    assert!(body["errors"].is_null(), "{body}");
    // The next draft starts with the same file: it is counted once.
    let second = f.complete_draft().await;
    assert_eq!(attachments(&f, &second).await.len(), 1);
    // Another 600 kB file would make 1.2 MB for the account, though each dossier has room.
    let body = upload(
        &f.app,
        &f.holder,
        &second,
        "Devis",
        "devis.pdf",
        &pdf(600_000, 2),
    )
    .await;
    assert_eq!(error_field(&body), "file", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("tous vos dossiers"), "{message}");
    // The same file again takes no more room.
    let body = upload(
        &f.app,
        &f.holder,
        &second,
        "Statuts",
        "statuts.pdf",
        &shared,
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    // Eight files of 150 kB at once over both dossiers: about 450 kB are left, so two fit.
    let files: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| {
            let dossier = if i % 2 == 0 { &first } else { &second };
            (dossier.clone(), pdf(150_000, 10 + i))
        })
        .collect();
    assert_eq!(upload_all_at_once(&f, &files).await, 2);
    let mut distinct = std::collections::BTreeMap::new();
    for dossier in [&first, &second] {
        for a in attachments(&f, dossier).await {
            distinct.insert(
                a["sha256"].as_str().unwrap().to_owned(),
                a["size"].as_u64().unwrap(),
            );
        }
    }
    assert!(distinct.values().sum::<u64>() <= MB, "{distinct:?}");
    // Another holder is not affected.
    let body = f
        .as_(
            &f.other_holder,
            "mutation { createDossier(input: {}) { id } }",
            json!({}),
        )
        .await;
    let other = body["data"]["createDossier"]["id"].as_str().unwrap();
    let body = upload(
        &f.app,
        &f.other_holder,
        other,
        "Devis",
        "devis.pdf",
        &pdf(600_000, 3),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
}

#[tokio::test]
async fn a_holder_has_at_most_so_many_drafts_at_once() {
    let app = TestApp::spawn_with(|s| s.quotas.open_drafts = 2).await;
    let f = Fixture::with_app(app).await;
    let first = f.complete_draft().await;
    f.complete_draft().await;
    let create = "mutation { createDossier(input: {}) { id } }";
    let body = f.as_(&f.holder, create, json!({})).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "dossier", "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("brouillons"), "{message}");
    // Nothing was written.
    let data = f.ok(&f.holder, "{ dossiers { total } }", json!({})).await;
    assert_eq!(data["dossiers"]["total"], 2);
    // Once one is submitted, another draft may start.
    f.ok(
        &f.holder,
        SUBMIT,
        json!({ "id": first, "slugs": scheme_slugs(), "key": "depot-brouillons-1" }),
    )
    .await;
    f.ok(&f.holder, create, json!({})).await;
}

/// The `Content-Disposition` header of a download.
async fn disposition(f: &Fixture, url: &str) -> String {
    let response = f
        .app
        .client
        .get(f.app.url(url))
        .bearer_auth(&f.holder)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn attachments_are_served_with_a_clean_name_and_the_extension_of_their_content() {
    let f = Fixture::new().await;
    let draft = f.complete_draft().await;
    let content = pdf(2_000, 7);
    for (sent, shown, served) in [
        // A PDF named as a web page is saved as a PDF.
        (
            "devis.html",
            "devis.html",
            "attachment; filename=\"devis.pdf\"; filename*=UTF-8''devis.pdf",
        ),
        // A right-to-left override would show « exe.pdf »; it is removed.
        (
            "\u{202e}fdp.exe",
            "fdp.exe",
            "attachment; filename=\"fdp.pdf\"; filename*=UTF-8''fdp.pdf",
        ),
        // Accents are kept, and sent in UTF-8 beside an ASCII fallback.
        (
            "Délibération.pdf",
            "Délibération.pdf",
            "attachment; filename=\"Deliberation.pdf\"; filename*=UTF-8''D%C3%A9lib%C3%A9ration.pdf",
        ),
    ] {
        let body = upload(&f.app, &f.holder, &draft, "Pièce", sent, &content).await;
        let added = &body["data"]["addAttachment"];
        assert_eq!(added["filename"], shown, "{body}");
        assert_eq!(
            disposition(&f, added["url"].as_str().unwrap()).await,
            served
        );
    }
}
