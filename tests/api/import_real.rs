//! The real Aides-territoires CSV export imported into the seed catalogue through
//! `importSchemes`: the dry run reports exactly what the apply does and writes nothing; no
//! funder is created twice under two names; no curated seed funder is renamed or changed; no
//! aid becomes national unless all its funders are national bodies (the Seine-et-Marne
//! engineering agency ID77 stays in Seine-et-Marne); a second import changes nothing.

use std::collections::{HashMap, HashSet};

use catalog::funder_alias::name_key;
use serde_json::{Value, json};

use crate::helpers::{TestApp, shared_data};
use crate::multipart::graphql_upload;

const IMPORT: &str = "mutation($file: Upload!, $dryRun: Boolean!) { importSchemes(file: $file, format: AIDES_TERRITOIRES_CSV, dryRun: $dryRun) { dryRun created updated unchanged drafts { record message } skipped { record message } warnings { record } funders { name funder how } text } }";

/// Sends `bytes` to `importSchemes`; the report.
pub async fn import(
    app: &TestApp,
    token: &str,
    query: &str,
    variables: Value,
    bytes: &[u8],
) -> Value {
    let (content_type, body) = graphql_upload(query, variables, "import.csv", "text/csv", bytes);
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

fn report(body: &Value) -> Value {
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["importSchemes"].clone()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

/// Funders known to act nationwide: the only ones an imported aid may be national with.
/// Written here from their public status, independently of the importer's own list.
const NATIONAL_BODIES: &[&str] = &[
    "ADEME",
    "Agence Nationale de l'Habitat (ANAH)",
    "Agence nationale de la cohésion des territoires (ANCT)",
    "ADRC - Agence nationale pour le développement du cinéma en régions",
    "Agence France Locale (AFL)",
    "Banque des Territoires",
    "Caisse nationale d'assurance vieillesse (CNAV)",
    "Caisse nationale de solidarité pour l'autonomie (CNSA)",
    "Cerema",
    "Commission européenne",
    "Conseil national de l'Ordre des architectes (CNOA)",
    "Direction Générale des Finances Publiques (DGFiP)",
    "ENEDIS",
    "Fondation du Patrimoine",
    "Fédération Française de Basketball",
    "FUB (Fédération française des Usagers de la Bicyclette)",
    "Ministère de l'Europe et des Affaires étrangères",
    "Ministère de la Cohésion des Territoires et des Relations avec les Collectivités Territoriales (MCTRCT)",
    "Ministère de la Transition écologique et de la Cohésion des territoires",
    "Mission interministérielle pour la qualité des constructions publiques (MIQCP)",
    "Plan urbanisme construction architecture (PUCA)",
    "Réseau national des Centres Permanents d'Initiatives pour l'Environnement (CPIE)",
    // Networks named as a whole: every département has its own chamber, agency or council.
    "Chambres de commerce et d'industrie (CCI)",
    "Chambres de métiers et de l'artisanat (CMA)",
    "Agences d'urbanisme",
    "Agences départementales d'information sur le logement (ADIL)",
    "Conseil architecture urbanisme environnement (CAUE)",
];

#[tokio::test]
async fn the_real_aides_territoires_csv_into_the_seed_duplicates_no_funder_and_invents_no_national_aid()
 {
    let Some(csv) = shared_data("aides-territoires-periurbain.csv") else {
        assert!(!crate::helpers::require_all(), "shared/data is missing");
        eprintln!("shared/data absent: skipped");
        return;
    };
    let bytes = std::fs::read(&csv).unwrap();
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let db = &app.state.db;
    let seed_funders = catalog::funder::all(db).await.unwrap();
    let seed_schemes = catalog::scheme::all(db).await.unwrap().len();
    assert!(
        seed_funders.len() > 20,
        "the seed has funders: {}",
        seed_funders.len()
    );

    // Dry run: a full report, nothing written.
    let dry = report(
        &import(
            &app,
            &staff,
            IMPORT,
            json!({ "file": null, "dryRun": true }),
            &bytes,
        )
        .await,
    );
    assert_eq!(dry["dryRun"], true);
    assert_eq!(catalog::funder::all(db).await.unwrap(), seed_funders);
    assert_eq!(catalog::scheme::all(db).await.unwrap().len(), seed_schemes);

    // Apply: the same report.
    let applied = report(
        &import(
            &app,
            &staff,
            IMPORT,
            json!({ "file": null, "dryRun": false }),
            &bytes,
        )
        .await,
    );
    assert_eq!(applied["dryRun"], false);
    for key in [
        "created",
        "updated",
        "unchanged",
        "drafts",
        "skipped",
        "warnings",
        "funders",
    ] {
        assert_eq!(
            dry[key], applied[key],
            "{key} differs between dry run and apply"
        );
    }
    let created = strings(&applied["created"]);
    let drafts = applied["drafts"].as_array().unwrap();
    let skipped = applied["skipped"].as_array().unwrap();
    assert!(created.len() >= 250, "{}", applied["text"]);
    assert_eq!(created.len() + skipped.len(), 274, "{}", applied["text"]);
    assert_eq!(
        catalog::scheme::all(db).await.unwrap().len(),
        seed_schemes + created.len()
    );

    // Each imported name once in the report, matched to the funder the seed holds.
    let matches: HashMap<String, (Value, String)> = applied["funders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                (m["funder"].clone(), m["how"].as_str().unwrap().to_owned()),
            )
        })
        .collect();
    let matched = |name: &str| {
        matches
            .get(name)
            .unwrap_or_else(|| panic!("{name} not reported"))
    };
    assert_eq!(
        matched("Conseil régional du Grand Est"),
        &(json!("region-grand-est"), "nom".into())
    );
    assert_eq!(
        matched("Conseil régional d'Ile de France"),
        &(json!("region-ile-de-france"), "nom".into())
    );
    assert_eq!(
        matched("Agence Nationale de l'Habitat (ANAH)"),
        &(json!("anah"), "nom".into())
    );
    assert_eq!(
        matched("Agence nationale de la cohésion des territoires (ANCT)"),
        &(json!("anct"), "nom".into())
    );
    assert_eq!(matched("ADEME"), &(json!("ademe"), "identifiant".into()));
    assert_eq!(matched("ID77"), &(Value::Null, "créé".into()));

    // No two funders share a normalised name, nor a name that is another funder's alias.
    let funders = catalog::funder::all(db).await.unwrap();
    let mut keys: HashMap<String, String> = HashMap::new();
    for f in &funders {
        if let Some(other) = keys.insert(name_key(&f.record.name), f.record.slug.clone()) {
            panic!("{} and {other} are one funder", f.record.slug);
        }
    }
    let staff_actor = catalog::Actor::Operator;
    for alias in catalog::funder_alias::list(db, &staff_actor).await.unwrap() {
        if let Some(slug) = keys.get(&name_key(&alias.alias)) {
            assert_eq!(slug, &alias.funder.record.slug, "alias « {} »", alias.alias);
        }
    }
    // The seed's funders are all there, unchanged (they are curated).
    let now: HashMap<&str, &catalog::funder::Funder> = funders
        .iter()
        .map(|f| (f.record.slug.as_str(), f))
        .collect();
    for f in &seed_funders {
        assert_eq!(
            now.get(f.record.slug.as_str()),
            Some(&f),
            "seed funder {} changed",
            f.record.slug
        );
    }

    // National only when every funder is a national body; ID77 stays in Seine-et-Marne.
    let national_bodies: HashSet<&str> = NATIONAL_BODIES.iter().copied().collect();
    let all = catalog::scheme::all(db).await.unwrap();
    let imported: Vec<&catalog::scheme::Scheme> = all
        .iter()
        .filter(|s| created.contains(&s.record.slug))
        .collect();
    let mut national = 0;
    let mut id77 = 0;
    for s in &imported {
        let perimeter = s.record.perimeter.as_ref().unwrap();
        let names: Vec<&str> = s.record.funders.iter().map(|f| f.name.as_str()).collect();
        if perimeter.is_national() {
            national += 1;
            for f in &s.record.funders {
                // Matched to a seed funder: the seed's name; else the file's.
                let seed = seed_funders.iter().any(|sf| sf.record.slug == f.slug);
                assert!(
                    seed || national_bodies.contains(f.name.as_str()),
                    "{} is national with {names:?}",
                    s.record.slug
                );
            }
        }
        if s.record.funders.iter().any(|f| f.slug == "id77") {
            id77 += 1;
            assert!(!perimeter.is_national(), "{}", s.record.slug);
            assert_eq!(perimeter.departments, ["77"], "{}", s.record.slug);
        }
        // A draft for its perimeter is never national, and lists nothing.
        if drafts.iter().any(|d| d["record"] == s.record.slug.as_str()) {
            assert!(
                !perimeter.is_national() && !perimeter.lists_anything(),
                "{}",
                s.record.slug
            );
            assert_eq!(s.status(), catalog::vocab::SchemeStatus::Draft);
        }
    }
    assert_eq!(id77, 50, "the file has 50 aids of ID77");
    let created_funders = matches.values().filter(|(f, _)| f.is_null()).count();
    eprintln!(
        "real CSV: {} created, {} skipped, {} drafts (perimeter unreadable), {} national; funders: {} names, {} matched, {} created",
        created.len(),
        skipped.len(),
        drafts.len(),
        national,
        matches.len(),
        matches.len() - created_funders,
        created_funders
    );

    // Again: nothing changes.
    let again = report(
        &import(
            &app,
            &staff,
            IMPORT,
            json!({ "file": null, "dryRun": false }),
            &bytes,
        )
        .await,
    );
    assert_eq!(
        strings(&again["created"]),
        Vec::<String>::new(),
        "{}",
        again["text"]
    );
    assert_eq!(
        strings(&again["updated"]),
        Vec::<String>::new(),
        "{}",
        again["text"]
    );
    assert_eq!(strings(&again["unchanged"]).len(), created.len());
    assert_eq!(catalog::funder::all(db).await.unwrap().len(), funders.len());
}
