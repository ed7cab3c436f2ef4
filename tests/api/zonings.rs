//! Zonings: named lists of communes imported at the command line, named by a scheme's
//! perimeter, and followed by the search's territory filter (issue 13).

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_field, guichet, guichet_ok, scheme_input};
use crate::multipart::graphql_upload;

const SLUGS_IN: &str = r#"query($territory: String) {
  searchSchemes(filter: { territory: $territory }, first: 100) { hits { scheme { slug } } }
}"#;

async fn slugs_in(app: &TestApp, territory: &str) -> Vec<String> {
    let body = app
        .graphql(SLUGS_IN, json!({ "territory": territory }))
        .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["searchSchemes"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["scheme"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Creates and publishes a scheme whose perimeter is these zonings.
async fn publish_zoned(app: &TestApp, token: &str, slug: &str, zonings: Value) {
    let mut input = scheme_input(slug);
    input["perimeter"] = json!({ "zonings": zonings });
    for mutation in [
        "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
        "mutation($slug: String!) { publishScheme(slug: $slug) { slug } }",
    ] {
        let body = app
            .graphql_as(
                Some(token),
                mutation,
                json!({ "input": input, "slug": slug }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

fn import(app: &TestApp, file: &std::path::Path, slug: &str) -> std::process::Output {
    guichet(
        app.dir.path(),
        &app.state.settings.database_url,
        &[
            "zoning",
            "import",
            file.to_str().unwrap(),
            "--slug",
            slug,
            "--name",
            "GAL d'essai",
            "--source",
            "https://exemple.fr/gal-essai/territoire",
            "--as-of",
            "2025-01-01",
        ],
    )
}

#[tokio::test]
async fn a_zoning_imported_at_the_command_line_bounds_a_perimeter_and_can_be_replaced() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    let file = app.dir.path().join("gal.csv");
    // A CSV whose header names the code column, with a code that is no commune.
    std::fs::write(
        &file,
        "nom;code_insee\nAgeville;52001\nSaint-Dizier;52448\nNulle part;99999\n",
    )
    .unwrap();
    let out = import(&app, &file, "gal-essai");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("Zonage créé : 2 communes, 1 codes inconnus ignorés"),
        "{stdout}"
    );
    assert!(stderr.contains("ligne 4 : « 99999 »"), "{stderr}");

    let body = app
        .graphql(
            "{ zonings { slug name source asOf communeCount } zoning(slug: \"gal-essai\") { communeCount } }",
            json!({}),
        )
        .await;
    let zoning = body["data"]["zonings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["slug"] == "gal-essai")
        .cloned()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(zoning["communeCount"], 2);
    assert_eq!(zoning["asOf"], "2025-01-01");
    assert_eq!(zoning["source"], "https://exemple.fr/gal-essai/territoire");
    assert_eq!(body["data"]["zoning"]["communeCount"], 2);

    publish_zoned(&app, &token, "aide-du-gal-essai", json!(["gal-essai"])).await;
    // The server learns of another process's import at its next sync.
    app.state.search.sync(&app.state.db).await.unwrap();
    let has = |list: &[String]| list.iter().any(|s| s == "aide-du-gal-essai");
    assert!(
        has(&slugs_in(&app, "52001").await),
        "Ageville is in the list"
    );
    assert!(
        has(&slugs_in(&app, "52").await),
        "its département contains it"
    );
    assert!(
        !has(&slugs_in(&app, "52121").await),
        "Chaumont is not in the list"
    );
    assert!(!has(&slugs_in(&app, "21231").await), "nor Dijon");

    // Re-importing replaces the list; the scheme follows after the index's sync, as it
    // would in every process.
    std::fs::write(&file, "21231\n").unwrap();
    let out = import(&app, &file, "gal-essai");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Zonage remplacé : 1 communes, 1 dispositifs concernés"),
        "{stdout}"
    );
    app.state.search.sync(&app.state.db).await.unwrap();
    assert!(has(&slugs_in(&app, "21231").await));
    assert!(!has(&slugs_in(&app, "52001").await));
}

#[tokio::test]
async fn a_zoning_guichet_does_not_have_is_never_taken_as_all_of_france_nor_as_nowhere() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    publish_zoned(&app, &token, "aide-zonage-absent", json!(["zonage-absent"])).await;
    let body = app
        .graphql(
            "{ scheme(slug: \"aide-zonage-absent\") { perimeter { national zonings } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["scheme"]["perimeter"],
        json!({ "national": false, "zonings": ["zonage-absent"] })
    );
    // Unknown list: a territory filter keeps it (it may apply there), never hides it.
    assert!(
        slugs_in(&app, "52001")
            .await
            .iter()
            .any(|s| s == "aide-zonage-absent")
    );
}

#[tokio::test]
async fn a_bad_zoning_file_is_refused_naming_what_is_wrong_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let url = app.state.settings.database_url.clone();
    let file = app.dir.path().join("rien.csv");
    std::fs::write(&file, "code\n99999\nabc\n").unwrap();
    let out = import(&app, &file, "gal-vide");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Aucun des 2 codes"), "{stderr}");
    let out = guichet(
        app.dir.path(),
        &url,
        &[
            "zoning",
            "import",
            file.to_str().unwrap(),
            "--slug",
            "Mauvais Slug",
            "--name",
            "x",
            "--source",
            "https://exemple.fr",
            "--as-of",
            "2025-01-01",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("identifiant du zonage"), "{stderr}");
    let list = guichet_ok(app.dir.path(), &url, &["zoning", "list"]);
    assert!(!list.contains("gal-vide"), "{list}");
}

const IMPORT_ZONING: &str = "mutation($slug: String!, $name: String!, $source: String!, $asOf: Date!, $file: Upload!) { importZoning(slug: $slug, name: $name, source: $source, asOf: $asOf, file: $file) { replaced zoning { slug name communeCount asOf } unknown { record message } } }";

/// Uploads a zoning list through `importZoning`.
async fn upload_zoning(
    app: &TestApp,
    token: Option<&str>,
    slug: &str,
    source: &str,
    bytes: &[u8],
) -> Value {
    let (content_type, body) = graphql_upload(
        IMPORT_ZONING,
        json!({ "slug": slug, "name": "GAL téléversé", "source": source, "asOf": "2025-06-30", "file": null }),
        "gal.csv",
        "text/csv",
        bytes,
    );
    let mut request = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn staff_upload_a_zoning_and_its_schemes_are_found_with_the_new_list_at_once() {
    let app = TestApp::spawn().await;
    let token = app.staff_token().await;
    let source = "https://exemple.fr/gal-televerse/communes";
    // Latin-1 names beside ASCII codes: the codes still read.
    let mut file = b"nom;insee\nAgeville;52001\nNulle part;99999\n".to_vec();
    file.extend_from_slice(b"Saint-Dizier \xe9;52448\n");
    let body = upload_zoning(&app, Some(&token), "gal-televerse", source, &file).await;
    let done = &body["data"]["importZoning"];
    assert_eq!(done["replaced"], false, "{body}");
    assert_eq!(done["zoning"]["communeCount"], 2);
    assert_eq!(done["zoning"]["asOf"], "2025-06-30");
    assert_eq!(
        done["unknown"],
        json!([{ "record": "ligne 3", "message": "«\u{a0}99999\u{a0}» n'est pas un code de commune connu\u{a0}; ignoré." }])
    );

    publish_zoned(
        &app,
        &token,
        "aide-du-gal-televerse",
        json!(["gal-televerse"]),
    )
    .await;
    let has = |list: &[String]| list.iter().any(|s| s == "aide-du-gal-televerse");
    assert!(has(&slugs_in(&app, "52001").await));
    assert!(
        !has(&slugs_in(&app, "52121").await),
        "Chaumont is not in it"
    );

    // Replaced by a list with Chaumont: found there at once, no sync from the test.
    let body = upload_zoning(
        &app,
        Some(&token),
        "gal-televerse",
        source,
        b"52121\n52001\n",
    )
    .await;
    assert_eq!(body["data"]["importZoning"]["replaced"], true, "{body}");
    assert!(
        has(&slugs_in(&app, "52121").await),
        "the new list is searched"
    );
    assert!(!has(&slugs_in(&app, "52448").await), "Saint-Dizier left it");

    // Bad input names its field and changes nothing; only staff import.
    let body = upload_zoning(
        &app,
        Some(&token),
        "gal-televerse",
        "pas une adresse",
        b"52448\n",
    )
    .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "source");
    let body = upload_zoning(&app, Some(&token), "gal-televerse", source, b"\n# rien\n").await;
    assert_eq!(error_field(&body), "file", "{body}");
    let body = upload_zoning(
        &app,
        Some(&token),
        "gal-televerse",
        source,
        &vec![b'1'; 11 * 1024 * 1024],
    )
    .await;
    assert_eq!(error_field(&body), "file", "{body}");
    let holder = app
        .token_for("maire@village.test", catalog::Role::Holder, None)
        .await;
    let body = upload_zoning(&app, Some(&holder), "gal-televerse", source, b"52448\n").await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = upload_zoning(&app, None, "gal-televerse", source, b"52448\n").await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let body = app
        .graphql(
            "{ zoning(slug: \"gal-televerse\") { communeCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["zoning"]["communeCount"], 2, "{body}");
}
