//! Zonings: named lists of communes imported at the command line, named by a scheme's
//! perimeter, and followed by the search's territory filter (issue 13).

use serde_json::{Value, json};

use crate::helpers::{TestApp, guichet, guichet_ok, scheme_input};

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
