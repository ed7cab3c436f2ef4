//! Funders under imports: a field an import leaves out never erases a value (the contact
//! address that dossiers are sent to), a curated funder is never renamed or changed, names
//! are matched by slug, normalised name and the editable alias list, a dry run writes
//! nothing, and two duplicates merge into one.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_field};
use crate::import_real::import;

const IMPORT_JSON: &str = "mutation($file: Upload!, $dryRun: Boolean!) { importSchemes(file: $file, format: GUICHET, dryRun: $dryRun) { dryRun created updated unchanged drafts { record message } skipped { record message } funders { name funder how } text } }";

/// A scheme record in the `guichet` format naming these funders.
fn scheme(slug: &str, funders: Value) -> Value {
    json!({
        "slug": slug,
        "title": format!("Aide {slug}"),
        "funders": funders,
        "beneficiaryTypes": ["COMMUNE"],
        "perimeter": {"departments": ["52"]},
    })
}

async fn import_json(app: &TestApp, token: &str, records: Value, dry_run: bool) -> Value {
    let body = import(
        app,
        token,
        IMPORT_JSON,
        json!({ "file": null, "dryRun": dry_run }),
        records.to_string().as_bytes(),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["importSchemes"].clone()
}

async fn funder(app: &TestApp, slug: &str) -> Value {
    let body = app
        .graphql(
            "query($slug: String!) { funder(slug: $slug) { slug name kind contactEmail aliases } }",
            json!({ "slug": slug }),
        )
        .await;
    body["data"]["funder"].clone()
}

async fn funders_of(app: &TestApp, token: &str, scheme: &str) -> Vec<String> {
    let body = app
        .graphql_as(
            Some(token),
            "query($slug: String!) { scheme(slug: $slug) { funders { slug } } }",
            json!({ "slug": scheme }),
        )
        .await;
    body["data"]["scheme"]["funders"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|f| f["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_import_never_erases_an_address_nor_changes_a_curated_funder() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    // The first scheme gives the GAL's address, the second names the GAL without it: the
    // address stays (before, the second wiped it and the GAL stopped receiving dossiers).
    let gal = json!({"slug": "gal-essai", "name": "GAL Essai", "kind": "EU",
                     "contactEmail": "leader@gal-essai.fr"});
    import_json(&app, &staff, json!([scheme("imp-a", json!([gal]))]), false).await;
    let report = import_json(
        &app,
        &staff,
        json!([scheme(
            "imp-b",
            json!([{"slug": "gal-essai", "name": "GAL Essai", "kind": "EU"}])
        )]),
        false,
    )
    .await;
    assert_eq!(report["created"], json!(["imp-b"]), "{report}");
    assert_eq!(
        report["funders"],
        json!([{"name": "GAL Essai", "funder": "gal-essai", "how": "identifiant"}])
    );
    assert_eq!(
        funder(&app, "gal-essai").await["contactEmail"],
        "leader@gal-essai.fr"
    );

    // A curated seed funder, under another name and slug: linked, never renamed or changed.
    let before = funder(&app, "region-grand-est").await;
    let report = import_json(
        &app,
        &staff,
        json!([scheme(
            "imp-c",
            json!([{"slug": "conseil-regional-du-grand-est", "name": "Conseil régional du Grand Est",
                    "kind": "OTHER", "contactEmail": "pirate@exemple.fr"}])
        )]),
        false,
    )
    .await;
    assert_eq!(
        report["funders"],
        json!([{"name": "Conseil régional du Grand Est", "funder": "region-grand-est", "how": "nom"}])
    );
    assert_eq!(
        funders_of(&app, &staff, "imp-c").await,
        ["region-grand-est"]
    );
    assert_eq!(funder(&app, "region-grand-est").await, before);
    assert!(
        funder(&app, "conseil-regional-du-grand-est")
            .await
            .is_null()
    );

    // Staff edits make a funder curated: afterwards an import no longer renames it.
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation { upsertFunder(input: {slug: \"gal-essai\", name: \"GAL de l'Essai\", kind: EU, contactEmail: \"leader@gal-essai.fr\"}) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["upsertFunder"]["name"], "GAL de l'Essai",
        "{body}"
    );
    import_json(
        &app,
        &staff,
        json!([scheme(
            "imp-d",
            json!([{"slug": "gal-essai", "name": "GAL ESSAI (renommé)", "kind": "OTHER"}])
        )]),
        false,
    )
    .await;
    let gal = funder(&app, "gal-essai").await;
    assert_eq!(gal["name"], "GAL de l'Essai");
    assert_eq!(gal["kind"], "EU");
    // Re-importing the same records changes nothing.
    let again = import_json(
        &app,
        &staff,
        json!([scheme(
            "imp-b",
            json!([{"slug": "gal-essai", "name": "GAL Essai", "kind": "EU"}])
        )]),
        false,
    )
    .await;
    assert_eq!(again["unchanged"], json!(["imp-b"]), "{again}");
}

#[tokio::test]
async fn a_dry_run_reports_what_the_apply_does_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let records = json!([
        scheme("essai-1", json!([{"slug": "anct-bis", "name": "ANCT", "kind": "PUBLIC_AGENCY"}])),
        scheme("essai-2", json!([{"slug": "nouveau-financeur", "name": "Nouveau financeur", "kind": "OTHER"}])),
        {"slug": "essai-3", "title": "Sans bénéficiaire", "funders": [], "beneficiaryTypes": []},
    ]);
    let funders_before = catalog::funder::all(&app.state.db).await.unwrap();
    let dry = import_json(&app, &staff, records.clone(), true).await;
    assert_eq!(dry["dryRun"], true);
    assert!(
        dry["text"].as_str().unwrap().starts_with("Essai à blanc"),
        "{dry}"
    );
    assert_eq!(
        catalog::funder::all(&app.state.db).await.unwrap(),
        funders_before
    );
    assert!(
        catalog::scheme::get(&app.state.db, "essai-1")
            .await
            .unwrap()
            .is_none()
    );
    let applied = import_json(&app, &staff, records, false).await;
    for key in [
        "created",
        "updated",
        "unchanged",
        "drafts",
        "skipped",
        "funders",
    ] {
        assert_eq!(dry[key], applied[key], "{key}");
    }
    assert_eq!(applied["created"], json!(["essai-1", "essai-2"]));
    assert_eq!(applied["skipped"][0]["record"], "essai-3");
    // « ANCT » is a seed alias of the agency.
    assert_eq!(
        applied["funders"][0],
        json!({"name": "ANCT", "funder": "anct", "how": "alias"})
    );
    assert_eq!(funders_of(&app, &staff, "essai-1").await, ["anct"]);
    assert_eq!(
        applied["funders"][1],
        json!({"name": "Nouveau financeur", "funder": null, "how": "créé"})
    );

    // Staff only; an unreadable file is a VALIDATION on `file`.
    let holder = app
        .token_for("porteur@guichet.test", catalog::Role::Holder, None)
        .await;
    let body = import(
        &app,
        &holder,
        IMPORT_JSON,
        json!({"file": null, "dryRun": true}),
        b"[]",
    )
    .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = import(
        &app,
        &staff,
        IMPORT_JSON,
        json!({"file": null, "dryRun": true}),
        b"[1,",
    )
    .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "file", "{body}");
}

#[tokio::test]
async fn staff_edit_the_aliases_that_imports_recognise() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let set = "mutation($a: String!, $f: String!) { setFunderAlias(alias: $a, funder: $f) { alias funder { slug } } }";
    let body = app
        .graphql_as(
            Some(&staff),
            set,
            json!({"a": "Agence des territoires ruraux", "f": "anct"}),
        )
        .await;
    assert_eq!(
        body["data"]["setFunderAlias"],
        json!({"alias": "Agence des territoires ruraux", "funder": {"slug": "anct"}}),
        "{body}"
    );
    let aliases = funder(&app, "anct").await["aliases"].clone();
    assert!(
        aliases
            .as_array()
            .unwrap()
            .contains(&json!("Agence des territoires ruraux")),
        "{aliases}"
    );
    let body = app
        .graphql_as(
            Some(&staff),
            "{ funderAliases { alias funder { slug } } }",
            json!({}),
        )
        .await;
    assert!(
        body["data"]["funderAliases"]
            .as_array()
            .unwrap()
            .contains(&json!({"alias": "ANCT", "funder": {"slug": "anct"}})),
        "{body}"
    );
    // An import naming it (in other case and accents) reaches the agency.
    let report = import_json(
        &app,
        &staff,
        json!([scheme(
            "alias-1",
            json!([{"slug": "atr", "name": "AGENCE DES TERRITOIRES RURAUX", "kind": "OTHER"}])
        )]),
        false,
    )
    .await;
    assert_eq!(report["funders"][0]["funder"], "anct", "{report}");
    assert_eq!(report["funders"][0]["how"], "alias");

    // Unknown funder, wrong role, deletion.
    let body = app
        .graphql_as(Some(&staff), set, json!({"a": "X", "f": "personne"}))
        .await;
    assert_eq!(error_field(&body), "funder", "{body}");
    let holder = app
        .token_for("porteur@guichet.test", catalog::Role::Holder, None)
        .await;
    let body = app
        .graphql_as(Some(&holder), set, json!({"a": "X", "f": "anct"}))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let delete = "mutation($a: String!) { deleteFunderAlias(alias: $a) }";
    let body = app
        .graphql_as(
            Some(&staff),
            delete,
            json!({"a": "agence des territoires ruraux"}),
        )
        .await;
    assert_eq!(body["data"]["deleteFunderAlias"], true, "{body}");
    let body = app
        .graphql_as(
            Some(&staff),
            delete,
            json!({"a": "Agence des territoires ruraux"}),
        )
        .await;
    assert_eq!(body["data"]["deleteFunderAlias"], false, "{body}");
}

#[tokio::test]
async fn merging_two_funders_moves_everything_to_the_survivor() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let db = &app.state.db;
    let dup = json!({"slug": "anct-doublon", "name": "Agence cohésion territoires (doublon)",
                     "kind": "PUBLIC_AGENCY", "contactEmail": "contact@doublon.fr"});
    let anct = json!({"slug": "anct", "name": "Agence nationale de la cohésion des territoires",
                      "kind": "PUBLIC_AGENCY"});
    import_json(
        &app,
        &staff,
        json!([
            scheme("fus-1", json!([dup])),
            scheme("fus-2", json!([anct, dup]))
        ]),
        false,
    )
    .await;
    assert_eq!(
        funders_of(&app, &staff, "fus-2").await,
        ["anct", "anct-doublon"]
    );
    let agent = app
        .token_for(
            "agent@doublon.fr",
            catalog::Role::Funder,
            Some("anct-doublon"),
        )
        .await;
    assert!(!agent.is_empty());
    let dup_id = catalog::funder::get(db, "anct-doublon")
        .await
        .unwrap()
        .unwrap()
        .id;
    let anct_id = catalog::funder::get(db, "anct").await.unwrap().unwrap().id;
    // A service of the duplicate.
    let service = catalog::funder::upsert(
        db,
        &app.state.effects,
        &catalog::Actor::Operator,
        &app.state.territories,
        serde_json::from_value(
            json!({"slug": "anct-service", "name": "Service test", "kind": "PUBLIC_AGENCY"}),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let mut row: catalog::entity::funder::ActiveModel =
        catalog::entity::funder::Entity::find_by_id(service.id)
            .one(db)
            .await
            .unwrap()
            .unwrap()
            .into();
    row.parent_id = Set(Some(dup_id));
    row.update(db).await.unwrap();

    let merge = "mutation($s: String!, $d: String!) { mergeFunders(survivor: $s, duplicate: $d) { slug contactEmail aliases } }";
    // Not into itself, not into one of its services.
    let body = app
        .graphql_as(Some(&staff), merge, json!({"s": "anct", "d": "anct"}))
        .await;
    assert_eq!(error_field(&body), "duplicate", "{body}");
    let body = app
        .graphql_as(
            Some(&staff),
            merge,
            json!({"s": "anct-service", "d": "anct-doublon"}),
        )
        .await;
    assert_eq!(error_field(&body), "survivor", "{body}");
    let body = app
        .graphql_as(Some(&staff), merge, json!({"s": "anct", "d": "inconnu"}))
        .await;
    assert_eq!(error_field(&body), "duplicate", "{body}");

    let body = app
        .graphql_as(
            Some(&staff),
            merge,
            json!({"s": "anct", "d": "anct-doublon"}),
        )
        .await;
    let merged = &body["data"]["mergeFunders"];
    assert_eq!(merged["slug"], "anct", "{body}");
    // The survivor had no address: it takes the duplicate's.
    assert_eq!(merged["contactEmail"], "contact@doublon.fr");
    let aliases = merged["aliases"].as_array().unwrap();
    assert!(
        aliases.contains(&json!("Agence cohésion territoires (doublon)")),
        "{merged}"
    );
    assert!(aliases.contains(&json!("anct-doublon")), "{merged}");
    assert_eq!(funders_of(&app, &staff, "fus-1").await, ["anct"]);
    assert_eq!(funders_of(&app, &staff, "fus-2").await, ["anct"]);
    assert!(
        catalog::funder::get(db, "anct-doublon")
            .await
            .unwrap()
            .is_none()
    );
    let account = catalog::entity::account::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.email == "agent@doublon.fr")
        .unwrap();
    assert_eq!(account.funder_id, Some(anct_id));
    let service = catalog::entity::funder::Entity::find_by_id(service.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(service.parent_id, Some(anct_id));
    // An import under the old slug now reaches the survivor.
    let report = import_json(
        &app,
        &staff,
        json!([scheme("fus-3", json!([{"slug": "anct-doublon", "name": "Agence cohésion territoires (doublon)", "kind": "PUBLIC_AGENCY"}]))]),
        false,
    )
    .await;
    assert_eq!(report["funders"][0]["funder"], "anct", "{report}");
}

#[tokio::test]
async fn a_merge_moves_reviews_and_agents_and_refuses_a_dossier_reviewed_by_both() {
    let f = crate::dossiers::Fixture::new().await;
    let dossier = f.submitted().await;
    let merge =
        "mutation($s: String!, $d: String!) { mergeFunders(survivor: $s, duplicate: $d) { slug } }";
    // Both review this dossier: two decisions cannot become one.
    let body = f
        .as_(
            &f.staff,
            merge,
            json!({"s": "region-test", "d": "caf-test"}),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "duplicate", "{body}");
    assert!(
        catalog::funder::get(&f.app.state.db, "caf-test")
            .await
            .unwrap()
            .is_some()
    );
    // Staff only.
    let body = f
        .as_(
            &f.agents[0],
            merge,
            json!({"s": "region-test", "d": "caf-test"}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    f.ok(
        &f.staff,
        "mutation { upsertFunder(input: {slug: \"caf-haute-marne\", name: \"CAF de la Haute-Marne\", kind: SOCIAL_SECURITY}) { slug } }",
        json!({}),
    )
    .await;
    let data = f
        .ok(
            &f.staff,
            merge,
            json!({"s": "caf-haute-marne", "d": "caf-test"}),
        )
        .await;
    assert_eq!(data["mergeFunders"]["slug"], "caf-haute-marne");
    let data = f
        .ok(
            &f.staff,
            "query($id: ID!) { dossier(id: $id) { reviews { funder { slug } } } }",
            json!({ "id": dossier }),
        )
        .await;
    let mut slugs: Vec<&str> = data["dossier"]["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["funder"]["slug"].as_str().unwrap())
        .collect();
    slugs.sort();
    assert_eq!(
        slugs,
        ["caf-haute-marne", "departement-test", "region-test"]
    );
    // The CAF's agent moved with its review: it still sees the dossier.
    let data = f
        .ok(
            &f.agents[2],
            "query($id: ID!) { dossier(id: $id) { id } }",
            json!({ "id": dossier }),
        )
        .await;
    assert_eq!(data["dossier"]["id"], dossier.as_str());
}

#[tokio::test]
async fn the_command_line_dry_runs_an_import_and_edits_aliases() {
    use crate::helpers::{fresh_database, guichet, guichet_ok};
    let dir = tempfile::TempDir::new().unwrap();
    let url = fresh_database(dir.path(), true).await;
    let file = dir.path().join("import.json");
    std::fs::write(
        &file,
        json!([scheme(
            "cli-essai",
            json!([{"slug": "crge", "name": "Conseil régional du Grand Est", "kind": "REGION"}])
        )])
        .to_string(),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let out = guichet_ok(dir.path(), &url, &["import", file, "--dry-run"]);
    assert!(out.starts_with("Essai à blanc"), "{out}");
    assert!(out.contains("Créés : 1\n"), "{out}");
    assert!(
        out.contains("« Conseil régional du Grand Est » → region-grand-est (par nom)"),
        "{out}"
    );
    let exported = guichet_ok(dir.path(), &url, &["export"]);
    assert!(!exported.contains("cli-essai"), "a dry run writes nothing");
    let out = guichet_ok(dir.path(), &url, &["import", file]);
    assert!(out.starts_with("Créés : 1\n"), "{out}");

    let out = guichet_ok(
        dir.path(),
        &url,
        &[
            "funder",
            "alias",
            "add",
            "Région GE",
            "--funder",
            "region-grand-est",
        ],
    );
    assert!(out.contains("region-grand-est"), "{out}");
    let list = guichet_ok(dir.path(), &url, &["funder", "alias", "list"]);
    assert!(list.contains("Région GE;region-grand-est\n"), "{list}");
    assert!(list.contains("ANCT;anct\n"), "the seed's aliases: {list}");
    guichet_ok(
        dir.path(),
        &url,
        &["funder", "alias", "remove", "région ge"],
    );
    let list = guichet_ok(dir.path(), &url, &["funder", "alias", "list"]);
    assert!(!list.contains("Région GE"), "{list}");
    let refused = guichet(
        dir.path(),
        &url,
        &["funder", "alias", "remove", "région ge"],
    );
    assert!(!refused.status.success());
    let refused = guichet(
        dir.path(),
        &url,
        &[
            "funder",
            "merge",
            "--survivor",
            "anct",
            "--duplicate",
            "anct",
        ],
    );
    assert!(!refused.status.success());
}
