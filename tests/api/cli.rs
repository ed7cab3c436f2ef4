//! The `guichet` command line, run as a real process.

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::{TestApp, fresh_database, guichet, guichet_ok, shared_data};

fn seed_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/seed/schemes.json")
}

/// An empty, migrated-on-first-use database in a new data directory.
async fn empty_instance() -> (TempDir, String) {
    let dir = TempDir::new().unwrap();
    let url = fresh_database(dir.path(), false).await;
    (dir, url)
}

#[test]
fn every_command_has_help_in_french() {
    let dir = TempDir::new().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["import", "--help"],
        vec!["export", "--help"],
        vec!["reindex", "--help"],
        vec!["user", "add", "--help"],
        vec!["token", "issue", "--help"],
        vec!["token", "revoke", "--help"],
        vec!["synonyms", "import", "--help"],
        vec!["zoning", "import", "--help"],
        vec!["zoning", "list", "--help"],
        vec!["funder", "alias", "add", "--help"],
        vec!["funder", "alias", "list", "--help"],
        vec!["funder", "merge", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(&args)
            .env("GUICHET_DATA_DIR", dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage"), "{args:?}: {text}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(["import", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Format du fichier"));
}

#[tokio::test]
async fn a_token_issued_at_the_command_line_works_against_the_running_server() {
    let app = TestApp::spawn().await;
    let url = app.state.settings.database_url.clone();
    let out = guichet_ok(
        app.dir.path(),
        &url,
        &[
            "user",
            "add",
            "--email",
            "agent@region.test",
            "--role",
            "funder",
            "--funder",
            "etat-prefectures",
        ],
    );
    assert!(out.contains("Compte créé"), "{out}");
    let out = guichet_ok(
        app.dir.path(),
        &url,
        &[
            "token",
            "issue",
            "--email",
            "agent@region.test",
            "--ttl-days",
            "30",
        ],
    );
    let token = out.lines().last().unwrap().trim().to_owned();
    let body = app
        .graphql_as(
            Some(&token),
            "{ me { email role funder { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["me"]["email"], "agent@region.test", "{body}");
    assert_eq!(body["data"]["me"]["funder"]["slug"], "etat-prefectures");

    let out = guichet_ok(
        app.dir.path(),
        &url,
        &["token", "revoke", "--token", &token],
    );
    assert!(out.contains("Jetons révoqués : 1"), "{out}");
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": "{ me { email } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let again = guichet(
        app.dir.path(),
        &url,
        &["token", "revoke", "--token", &token],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("aucun jeton actif"));
}

#[tokio::test]
async fn user_add_reports_bad_input_clearly() {
    let (dir, url) = empty_instance().await;
    for (args, expected) in [
        (
            vec!["user", "add", "--email", "agent@x.fr", "--role", "funder"],
            "financeur",
        ),
        (
            vec![
                "user",
                "add",
                "--email",
                "pas-une-adresse",
                "--role",
                "holder",
            ],
            "Adresse électronique invalide",
        ),
        (
            vec![
                "user", "add", "--email", "a@x.fr", "--role", "funder", "--funder", "inconnu",
            ],
            "Financeur inconnu",
        ),
        (
            vec!["token", "issue", "--email", "absent@x.fr"],
            "introuvable",
        ),
    ] {
        let out = guichet(dir.path(), &url, &args);
        assert!(!out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[tokio::test]
async fn importing_reports_bad_records_by_slug_and_reimporting_changes_nothing() {
    let (dir, url) = empty_instance().await;
    let file = dir.path().join("schemes.jsonl");
    let good = |slug: &str| json!({ "slug": slug, "title": format!("Aide {slug}"), "funders": [{"slug": "etat", "name": "État", "kind": "STATE"}], "beneficiaryTypes": ["COMMUNE"] });
    let lines = [
        good("aide-un"),
        good("aide-deux"),
        json!({ "slug": "aide-mauvaise", "title": "X", "funders": [{"slug": "etat", "name": "État", "kind": "STATE"}], "beneficiaryTypes": ["MAIRIE"] }),
        json!({ "slug": "aide-negative", "title": "X", "funders": [{"slug": "etat", "name": "État", "kind": "STATE"}], "beneficiaryTypes": ["COMMUNE"], "funding": {"amountMax": -1} }),
        json!({ "slug": "aide-inconnue", "title": "X", "funders": [], "beneficiaryTypes": ["COMMUNE"], "couleur": "bleu" }),
        json!({ "slug": "aide-date", "title": "X", "funders": [{"slug": "etat", "name": "État", "kind": "STATE"}], "beneficiaryTypes": ["COMMUNE"], "calendar": {"closesOn": "2026-13-01"} }),
    ];
    std::fs::write(
        &file,
        lines
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let out = guichet_ok(dir.path(), &url, &["import", file, "--publish"]);
    assert!(out.contains("Créés : 2"), "{out}");
    assert!(out.contains("Ignorés : 4"), "{out}");
    for slug in [
        "aide-mauvaise",
        "aide-negative",
        "aide-inconnue",
        "aide-date",
    ] {
        assert!(
            out.contains(&format!("« {slug} »")),
            "{slug} not reported: {out}"
        );
    }
    assert!(out.contains("beneficiaryTypes"), "{out}");
    assert!(out.contains("funding.amountMax"), "{out}");
    assert!(out.contains("couleur"), "{out}");
    assert!(out.contains("calendar.closesOn"), "{out}");
    let out = guichet_ok(dir.path(), &url, &["import", file, "--publish"]);
    assert!(
        out.contains("Créés : 0\nMis à jour : 0\nInchangés : 2"),
        "{out}"
    );
}

#[tokio::test]
async fn an_unreadable_file_or_format_fails_without_writing() {
    let (dir, url) = empty_instance().await;
    let out = guichet(dir.path(), &url, &["import", "/nonexistent/file.json"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("lecture de /nonexistent/file.json impossible")
    );
    let file = dir.path().join("broken.json");
    std::fs::write(&file, "[{\"slug\": ").unwrap();
    let out = guichet(dir.path(), &url, &["import", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JSON illisible"));
    let out = guichet(
        dir.path(),
        &url,
        &["import", file.to_str().unwrap(), "--format", "xml"],
    );
    assert!(!out.status.success());
    let exported: Value = serde_json::from_str(&guichet_ok(dir.path(), &url, &["export"])).unwrap();
    assert_eq!(exported, json!([]));
}

#[tokio::test]
async fn export_round_trips_exactly_through_an_empty_instance() {
    let (first, first_url) = empty_instance().await;
    let out = guichet_ok(
        first.path(),
        &first_url,
        &["import", seed_file().to_str().unwrap()],
    );
    assert!(out.contains("Ignorés : 0"), "{out}");
    let exported = guichet_ok(first.path(), &first_url, &["export", "--format", "guichet"]);

    let (second, second_url) = empty_instance().await;
    let file = second.path().join("export.json");
    std::fs::write(&file, &exported).unwrap();
    let out = guichet_ok(
        second.path(),
        &second_url,
        &["import", file.to_str().unwrap()],
    );
    assert!(
        out.contains("Créés : 44") || out.contains("Créés : 4"),
        "{out}"
    );
    let again = guichet_ok(second.path(), &second_url, &["export"]);
    assert_eq!(exported, again);
    let records: Vec<Value> = serde_json::from_str(&again).unwrap();
    assert!(records.len() >= 40);
    assert!(records.iter().all(|r| r["status"] == "PUBLISHED"));
}

#[tokio::test]
async fn the_commongrants_export_has_stable_ids_and_statuses() {
    let (dir, url) = empty_instance().await;
    guichet_ok(dir.path(), &url, &["import", seed_file().to_str().unwrap()]);
    let first: Vec<Value> = serde_json::from_str(&guichet_ok(
        dir.path(),
        &url,
        &["export", "--format", "commongrants"],
    ))
    .unwrap();
    let second: Vec<Value> = serde_json::from_str(&guichet_ok(
        dir.path(),
        &url,
        &["export", "--format", "commongrants"],
    ))
    .unwrap();
    assert!(first.len() >= 40);
    let ids: Vec<_> = first
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        second
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    );
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    for o in &first {
        assert!(uuid::Uuid::parse_str(o["id"].as_str().unwrap()).is_ok());
        assert!(["open", "closed", "forecasted"].contains(&o["status"]["value"].as_str().unwrap()));
        assert!(o["title"].is_string() && o["description"].is_string());
        assert!(o["customFields"]["slug"]["value"].is_string());
    }
    let detr = first
        .iter()
        .find(|o| o["customFields"]["slug"]["value"] == "detr")
        .unwrap();
    assert_eq!(
        detr["id"],
        catalog::export::commongrants_id("detr").to_string()
    );
}

#[tokio::test]
async fn the_real_aides_territoires_export_imports_and_reimports_idempotently() {
    let Some(csv) = shared_data("aides-territoires-periurbain.csv") else {
        assert!(!crate::helpers::require_all(), "shared/data is missing");
        eprintln!("shared/data absent: skipped");
        return;
    };
    let (dir, url) = empty_instance().await;
    let csv = csv.to_str().unwrap();
    let out = guichet_ok(
        dir.path(),
        &url,
        &["import", csv, "--format", "aides-territoires-csv"],
    );
    let created: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("Créés : "))
        .unwrap()
        .parse()
        .unwrap();
    let skipped: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("Ignorés : "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(created >= 260, "{out}");
    assert_eq!(created + skipped, 274, "{out}");
    let out = guichet_ok(
        dir.path(),
        &url,
        &["import", csv, "--format", "aides-territoires-csv"],
    );
    assert!(out.contains("Créés : 0\nMis à jour : 0\n"), "{out}");
    // Imported as drafts: not public until published.
    let exported: Vec<Value> =
        serde_json::from_str(&guichet_ok(dir.path(), &url, &["export"])).unwrap();
    assert!(exported.iter().all(|r| r["status"] == "DRAFT"));
}

#[tokio::test]
async fn synonyms_import_and_export_at_the_command_line() {
    let (dir, url) = empty_instance().await;
    let file = dir.path().join("synonymes.csv");
    std::fs::write(&file, "terme;synonymes\nguinguette;café, buvette\n").unwrap();
    let out = guichet_ok(
        dir.path(),
        &url,
        &["synonyms", "import", file.to_str().unwrap()],
    );
    assert!(out.contains("importés : 1"), "{out}");
    let exported = guichet_ok(dir.path(), &url, &["synonyms", "export"]);
    assert!(exported.contains("guinguette;café,buvette"), "{exported}");
    std::fs::write(&file, "pas de point-virgule\n").unwrap();
    let out = guichet(
        dir.path(),
        &url,
        &["synonyms", "import", file.to_str().unwrap()],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ligne 1"));
}
