//! `matchProject` end to end: verdicts, criteria in French, ranking and validation errors.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_field, scheme_input};

const MATCH: &str = "query($project: ProjectInput!, $all: Boolean) {
  matchProject(project: $project, includeIneligible: $all) {
    eligibleCount toCheckCount
    matches { verdict relevant score scheme { slug } criteria { code status message }
              estimatedAmount { min max } }
  } }";

/// Publishes the test scheme of `scheme_input` (Haute-Marne, communes under 3,500 inhabitants,
/// projects from 10,000 €, 20 to 50 % up to 80,000 €, commerce and revitalisation).
async fn publish_test_scheme(app: &TestApp, slug: &str) {
    let staff = app.staff_token().await;
    for (mutation, variables) in [
        (
            "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
            json!({ "input": scheme_input(slug) }),
        ),
        (
            "mutation($slug: String!) { publishScheme(slug: $slug) { status } }",
            json!({ "slug": slug }),
        ),
    ] {
        let body = app.graphql_as(Some(&staff), mutation, variables).await;
        assert!(body["errors"].is_null(), "{body}");
    }
}

pub(crate) fn find<'a>(result: &'a Value, slug: &str) -> Option<&'a Value> {
    result["data"]["matchProject"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["scheme"]["slug"] == slug)
}

pub(crate) fn criterion<'a>(found: &'a Value, code: &str) -> &'a Value {
    found["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {found}"))
}

#[tokio::test]
async fn a_small_commune_is_eligible_with_an_estimate_and_a_town_is_told_why_not() {
    let app = TestApp::spawn().await;
    publish_test_scheme(&app, "aide-commerce-52").await;
    // Ageville (52001, 290 inhabitants), a 40,000 € shop.
    let village = json!({ "holderType": "COMMUNE", "communeCode": "52001", "themes": ["commerce"],
        "text": "rouvrir le dernier commerce du village", "totalCost": 40000,
        "startsOn": "2027-03-01", "filingOn": "2026-12-01" });
    let body = app.graphql(MATCH, json!({ "project": village })).await;
    assert!(body["errors"].is_null(), "{body}");
    let found = find(&body, "aide-commerce-52").expect("the scheme matches");
    assert_eq!(found["verdict"], "ELIGIBLE", "{found}");
    assert_eq!(
        found["estimatedAmount"],
        json!({ "min": 8000, "max": 20000 })
    );
    for code in [
        "BENEFICIARY_TYPE",
        "TERRITORY",
        "POPULATION",
        "PROJECT_COST",
        "CALENDAR",
        "START_BEFORE_FILING",
        "THEME",
        "AID_TYPE",
    ] {
        assert_eq!(criterion(found, code)["status"], "PASS", "{code}: {found}");
    }
    assert!(
        body["data"]["matchProject"]["eligibleCount"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // Ranked first among the eligible: it shares the theme and names the département.
    let first = &body["data"]["matchProject"]["matches"][0];
    assert_eq!(first["scheme"]["slug"], "aide-commerce-52", "{body}");

    // Saint-Dizier (52448, 22,858 inhabitants): ineligible, hidden unless asked for.
    let town = json!({ "holderType": "COMMUNE", "communeCode": "52448", "themes": ["commerce"],
        "totalCost": 40000 });
    let body = app.graphql(MATCH, json!({ "project": town.clone() })).await;
    assert!(find(&body, "aide-commerce-52").is_none(), "{body}");
    let body = app
        .graphql(MATCH, json!({ "project": town, "all": true }))
        .await;
    let found = find(&body, "aide-commerce-52").expect("listed with includeIneligible");
    assert_eq!(found["verdict"], "INELIGIBLE");
    let population = criterion(found, "POPULATION");
    assert_eq!(population["status"], "FAIL");
    let message = population["message"].as_str().unwrap();
    assert!(
        message.contains("22") && message.contains("858") && message.contains("3"),
        "{message}"
    );
}

#[tokio::test]
async fn unknowns_make_a_scheme_to_check_and_starting_early_is_named() {
    let app = TestApp::spawn().await;
    publish_test_scheme(&app, "aide-commerce-52").await;
    // No cost given: the scheme's 10,000 € floor cannot be checked.
    let body = app
        .graphql(
            MATCH,
            json!({ "project": { "holderType": "COMMUNE", "communeCode": "52001" } }),
        )
        .await;
    let found = find(&body, "aide-commerce-52").expect("to check");
    assert_eq!(found["verdict"], "TO_CHECK", "{found}");
    assert_eq!(criterion(found, "PROJECT_COST")["status"], "UNKNOWN");
    assert!(found["estimatedAmount"].is_null());
    // Outside the perimeter: a commune of the Alpes-de-Haute-Provence.
    let body = app
        .graphql(
            MATCH,
            json!({ "project": { "holderType": "COMMUNE", "communeCode": "04001", "totalCost": 50000 }, "all": true }),
        )
        .await;
    let found = find(&body, "aide-commerce-52").unwrap();
    assert_eq!(criterion(found, "TERRITORY")["status"], "FAIL", "{found}");
    // An association is not among the beneficiaries.
    let body = app
        .graphql(
            MATCH,
            json!({ "project": { "holderType": "ASSOCIATION", "communeCode": "52001", "totalCost": 50000 }, "all": true }),
        )
        .await;
    let found = find(&body, "aide-commerce-52").unwrap();
    assert_eq!(
        criterion(found, "BENEFICIARY_TYPE")["status"],
        "FAIL",
        "{found}"
    );
}

#[tokio::test]
async fn bad_projects_are_validation_errors_naming_the_field() {
    let app = TestApp::spawn().await;
    for (project, field) in [
        (
            json!({ "holderType": "COMMUNE", "communeCode": "99999" }),
            "communeCode",
        ),
        (
            json!({ "holderType": "COMMUNE", "communeCode": "52001", "totalCost": -5 }),
            "totalCost",
        ),
        (
            json!({ "holderType": "COMMUNE", "communeCode": "52001", "startsOn": "1850-01-01" }),
            "startsOn",
        ),
    ] {
        let body = app.graphql(MATCH, json!({ "project": project })).await;
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(error_field(&body), field, "{body}");
    }
}

const CHECK: &str = "query($plan: FinancingPlanInput!) { checkFinancingPlan(plan: $plan) {
  balanced publicShare ownShare violations { code message line } } }";

fn codes(body: &Value) -> Vec<String> {
    body["data"]["checkFinancingPlan"]["violations"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|v| v["code"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_plan_is_checked_line_by_line_against_the_rules() {
    let app = TestApp::spawn().await;
    publish_test_scheme(&app, "aide-commerce-52").await;
    // 50 % of 40,000 € is the scheme's maximum: 25,000 € is above it; the commune puts in
    // 15,000 €, which is 20 % or more of the public money.
    let plan = json!({ "holderType": "COMMUNE", "totalCost": 40000, "ownFunds": 15000,
        "lines": [{ "schemeSlug": "aide-commerce-52", "amount": 25000 }] });
    let body = app.graphql(CHECK, json!({ "plan": plan })).await;
    assert_eq!(codes(&body), ["RATE_ABOVE_MAX"], "{body}");
    let check = &body["data"]["checkFinancingPlan"];
    assert_eq!(check["balanced"], true);
    assert_eq!(check["violations"][0]["line"], 0);
    assert!((check["publicShare"].as_f64().unwrap() - 0.625).abs() < 1e-9);
    assert!((check["ownShare"].as_f64().unwrap() - 0.375).abs() < 1e-9);

    // Unbalanced, and a commune funding less than 20 % of the public money.
    let plan = json!({ "holderType": "COMMUNE", "totalCost": 100000, "ownFunds": 1000,
        "lines": [{ "funderName": "Département", "amount": 90000 }] });
    let body = app.graphql(CHECK, json!({ "plan": plan })).await;
    let found = codes(&body);
    assert!(found.contains(&"UNBALANCED".to_owned()), "{body}");
    assert!(
        found.contains(&"SELF_FUNDING_BELOW_MINIMUM".to_owned()),
        "{body}"
    );
    assert_eq!(body["data"]["checkFinancingPlan"]["balanced"], false);

    // Patronage is outside the 20 % base: the same commune with private money passes.
    let plan = json!({ "holderType": "COMMUNE", "totalCost": 100000, "ownFunds": 10000,
        "lines": [{ "funderName": "Département", "amount": 40000 },
                  { "funderName": "Fondation du patrimoine", "amount": 50000, "public": false }] });
    assert!(codes(&app.graphql(CHECK, json!({ "plan": plan })).await).is_empty());

    // An unknown scheme is an error naming its line.
    let plan = json!({ "holderType": "COMMUNE", "totalCost": 1000, "ownFunds": 500,
        "lines": [{ "schemeSlug": "aide-inconnue", "amount": 500 }] });
    let body = app.graphql(CHECK, json!({ "plan": plan })).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "lines[0].schemeSlug");
}

#[tokio::test]
async fn the_suggested_plan_passes_the_checker() {
    let app = TestApp::spawn().await;
    publish_test_scheme(&app, "aide-commerce-52").await;
    let project = json!({ "holderType": "COMMUNE", "communeCode": "52001", "themes": ["commerce"],
        "totalCost": 40000, "startsOn": "2027-03-01", "filingOn": "2026-12-01" });
    let body = app
        .graphql(
            "query($project: ProjectInput!) { suggestFinancingPlan(project: $project) {
               ownFunds totalAid lines { schemeSlug funderName amount public } warnings } }",
            json!({ "project": project }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let plan = &body["data"]["suggestFinancingPlan"];
    let lines = plan["lines"].as_array().unwrap();
    let ours = lines
        .iter()
        .find(|l| l["schemeSlug"] == "aide-commerce-52")
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(ours["amount"].as_i64().unwrap() <= 20000, "{plan}");
    let total: i64 = lines.iter().map(|l| l["amount"].as_i64().unwrap()).sum();
    assert_eq!(total, plan["totalAid"].as_i64().unwrap());
    assert_eq!(plan["ownFunds"].as_i64().unwrap() + total, 40000);
    assert!(!plan["warnings"].as_array().unwrap().is_empty());
    let check = json!({ "holderType": "COMMUNE", "totalCost": 40000, "ownFunds": plan["ownFunds"],
        "lines": lines.iter().map(|l| json!({ "schemeSlug": l["schemeSlug"], "amount": l["amount"], "public": l["public"] })).collect::<Vec<_>>() });
    let body = app.graphql(CHECK, json!({ "plan": check })).await;
    assert!(codes(&body).is_empty(), "{body}");
}

/// Without `includeIneligible`, matching skips what the search index's facts rule out before
/// evaluating: it must return exactly the schemes a full evaluation finds eligible or to
/// check, whatever the holder, place, themes, aid types and filing date.
#[tokio::test]
async fn the_shortcut_without_the_ineligible_loses_nothing() {
    let app = TestApp::spawn().await;
    publish_test_scheme(&app, "aide-commerce-52").await;
    let slugs = |body: &Value, all: bool| -> Vec<String> {
        let mut found: Vec<String> = body["data"]["matchProject"]["matches"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .filter(|m| !all || m["verdict"] != "INELIGIBLE")
            .map(|m| m["scheme"]["slug"].as_str().unwrap().to_owned())
            .collect();
        found.sort();
        found
    };
    let holders = [
        "COMMUNE",
        "EPCI",
        "ASSOCIATION",
        "COMPANY",
        "FARMER",
        "DEPARTMENT",
    ];
    let communes = ["52001", "52448", "04001", "22016", "75056", "97411"];
    let themes = [
        json!([]),
        json!(["commerce"]),
        json!(["sante", "mobilite"]),
        json!(["agriculture"]),
    ];
    let aid_types = [
        json!([]),
        json!(["GRANT"]),
        json!(["LOAN", "TECHNICAL_ENGINEERING"]),
    ];
    let filings = ["2026-01-15", "2026-12-01", "2027-06-30"];
    let mut compared = 0;
    for i in 0..24 {
        let project = json!({
            "holderType": holders[i % holders.len()],
            "communeCode": communes[(i / 2) % communes.len()],
            "themes": themes[i % themes.len()],
            "aidTypes": aid_types[(i / 3) % aid_types.len()],
            "filingOn": filings[i % filings.len()],
            "totalCost": (i % 4 != 0).then_some(15_000 * (i + 1)),
        });
        let quick = app
            .graphql(MATCH, json!({ "project": project.clone() }))
            .await;
        let full = app
            .graphql(MATCH, json!({ "project": project.clone(), "all": true }))
            .await;
        assert_eq!(slugs(&quick, false), slugs(&full, true), "{project}");
        compared += slugs(&quick, false).len();
    }
    assert!(
        compared > 24,
        "the projects match some schemes ({compared})"
    );
}

#[tokio::test]
async fn the_description_ranks_schemes_that_are_otherwise_alike() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    for (slug, title) in [
        ("aide-lavoirs-52", "Restauration des lavoirs communaux"),
        (
            "aide-boulangeries-52",
            "Reprise des boulangeries de village",
        ),
    ] {
        let mut input = scheme_input(slug);
        input["title"] = json!(title);
        for (mutation, variables) in [
            (
                "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
                json!({ "input": input }),
            ),
            (
                "mutation($slug: String!) { publishScheme(slug: $slug) { status } }",
                json!({ "slug": slug }),
            ),
        ] {
            let body = app.graphql_as(Some(&staff), mutation, variables).await;
            assert!(body["errors"].is_null(), "{body}");
        }
    }
    for (text, first) in [
        ("restaurer le vieux lavoir", "aide-lavoirs-52"),
        ("reprendre la boulangerie du bourg", "aide-boulangeries-52"),
    ] {
        let project = json!({ "holderType": "COMMUNE", "communeCode": "52001",
            "themes": ["commerce"], "text": text, "totalCost": 40000 });
        let body = app.graphql(MATCH, json!({ "project": project })).await;
        let ranked: Vec<&str> = body["data"]["matchProject"]["matches"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|m| m["scheme"]["slug"].as_str().unwrap())
            .filter(|s| s.ends_with("-52"))
            .collect();
        assert_eq!(ranked.first(), Some(&first), "{text}: {ranked:?}");
    }
}

/// Publishes `schemes` (the `guichet` JSON format) as an import by another process would,
/// and lets the index catch up.
async fn import_published(app: &TestApp, schemes: Value) {
    let parsed = catalog::import::guichet::parse(&schemes.to_string()).unwrap();
    let summary = catalog::import::run(
        &app.state.db,
        &catalog::Actor::Operator,
        &app.state.territories,
        parsed,
        true,
        || {},
    )
    .await
    .unwrap();
    assert!(summary.skipped.is_empty(), "{summary:?}");
    app.state.search.sync(&app.state.db).await.unwrap();
}

fn matches(body: &Value) -> &Vec<Value> {
    body["data"]["matchProject"]["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
}

/// Issue 13: themes say how relevant a scheme is, never whether the holder may get it. A
/// scheme of other themes is still evaluated and listed, after the relevant ones of its
/// verdict.
#[tokio::test]
async fn themes_never_rule_a_scheme_out_they_set_relevant_and_the_order() {
    let app = TestApp::spawn().await;
    let mut health = scheme_input("aide-sante-52");
    health["title"] = json!("Maisons de santé rurales — test");
    health["themes"] = json!(["sante"]);
    import_published(&app, json!([scheme_input("aide-commerce-52"), health])).await;
    let project = |themes: Value| {
        json!({ "holderType": "COMMUNE", "communeCode": "52001", "themes": themes,
            "totalCost": 40000, "startsOn": "2027-03-01", "filingOn": "2026-12-01" })
    };
    for (themes, relevant, irrelevant) in [
        (json!(["sante"]), "aide-sante-52", "aide-commerce-52"),
        (
            json!(["commerce", "lien-social"]),
            "aide-commerce-52",
            "aide-sante-52",
        ),
    ] {
        let body = app
            .graphql(MATCH, json!({ "project": project(themes.clone()) }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let (good, other) = (find(&body, relevant).unwrap(), find(&body, irrelevant));
        let other = other.unwrap_or_else(|| panic!("{irrelevant} dropped for {themes}: {body}"));
        assert_eq!(good["verdict"], "ELIGIBLE", "{good}");
        assert_eq!(other["verdict"], "ELIGIBLE", "{other}");
        assert_eq!(good["relevant"], true);
        assert_eq!(other["relevant"], false);
        let theme = criterion(other, "THEME");
        assert_eq!(theme["status"], "PASS", "{theme}");
        assert!(
            theme["message"]
                .as_str()
                .unwrap()
                .contains("pas l'éligibilité"),
            "{theme}"
        );
        // Within a verdict, every relevant match comes before every other one.
        let list = matches(&body);
        for pair in list.windows(2) {
            if pair[0]["verdict"] == pair[1]["verdict"] {
                assert!(
                    pair[0]["relevant"] == true || pair[1]["relevant"] == false,
                    "{} before {}",
                    pair[0]["scheme"]["slug"],
                    pair[1]["scheme"]["slug"]
                );
            }
        }
        let position = |slug: &str| list.iter().position(|m| m["scheme"]["slug"] == slug);
        assert!(position(relevant) < position(irrelevant), "{themes}");
    }
    // Without themes or text, everything is relevant.
    let body = app
        .graphql(MATCH, json!({ "project": project(json!([])) }))
        .await;
    assert!(
        matches(&body).iter().all(|m| m["relevant"] == true),
        "{body}"
    );
    // The text alone makes a scheme of other themes relevant.
    let mut described = project(json!(["commerce"]));
    described["text"] = json!("créer une maison de santé");
    let body = app.graphql(MATCH, json!({ "project": described })).await;
    assert_eq!(
        find(&body, "aide-sante-52").unwrap()["relevant"],
        true,
        "{body}"
    );
}

/// CGCT L2334-33: DETR communes of 2,001 to 20,000 inhabitants depend on their potentiel
/// financier, which Guichet does not hold: a `CONDITION` to check where it applies. A scheme
/// funding investment only says `NATURE`.
#[tokio::test]
async fn conditions_are_to_check_where_they_apply_and_the_nature_is_a_criterion() {
    let app = TestApp::spawn().await;
    let mut scheme = scheme_input("dotation-test-52");
    scheme["rules"] = json!({ "minProjectCost": 10000, "noStartBeforeFiling": true,
        "conditions": [{ "text": "Éligible si le potentiel financier par habitant est inférieur à 1,3 fois la moyenne de la strate (CGCT, art. L2334-33) : à vérifier auprès de la préfecture",
                         "whenCommunePopulationAbove": 2000 }] });
    scheme["natures"] = json!(["INVESTMENT"]);
    import_published(&app, json!([scheme])).await;
    let project = |commune: &str, nature: Value| {
        json!({ "holderType": "COMMUNE", "communeCode": commune, "themes": ["commerce"],
            "totalCost": 150000, "startsOn": "2027-03-01", "filingOn": "2026-12-01",
            "nature": nature })
    };
    let conditions = |found: &Value| -> Vec<Value> {
        found["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["code"] == "CONDITION")
            .cloned()
            .collect()
    };
    // Ageville (290 inhabitants): the condition does not apply; investment is funded.
    let body = app
        .graphql(
            MATCH,
            json!({ "project": project("52001", json!("INVESTMENT")) }),
        )
        .await;
    let found = find(&body, "dotation-test-52").expect("listed");
    assert_eq!(found["verdict"], "ELIGIBLE", "{found}");
    assert!(conditions(found).is_empty(), "{found}");
    assert_eq!(criterion(found, "NATURE")["status"], "PASS");
    // Saint-Dizier (22,858 inhabitants): the condition applies, to check.
    let body = app
        .graphql(
            MATCH,
            json!({ "project": project("52448", json!("INVESTMENT")) }),
        )
        .await;
    let found = find(&body, "dotation-test-52").expect("to check, not dropped");
    assert_eq!(found["verdict"], "TO_CHECK", "{found}");
    let applied = conditions(found);
    assert_eq!(applied.len(), 1, "{found}");
    assert_eq!(applied[0]["status"], "UNKNOWN");
    assert!(
        applied[0]["message"]
            .as_str()
            .unwrap()
            .contains("L2334-33) : à vérifier auprès de la préfecture."),
        "{applied:?}"
    );
    // Nature not said: to check; operating costs: not funded.
    let body = app
        .graphql(MATCH, json!({ "project": project("52001", Value::Null) }))
        .await;
    let found = find(&body, "dotation-test-52").unwrap();
    assert_eq!(found["verdict"], "TO_CHECK");
    let nature = criterion(found, "NATURE");
    assert_eq!(nature["status"], "UNKNOWN");
    assert!(
        nature["message"]
            .as_str()
            .unwrap()
            .contains("ne finance que l'investissement")
    );
    let body = app
        .graphql(
            MATCH,
            json!({ "project": project("52001", json!("OPERATING")), "all": true }),
        )
        .await;
    let found = find(&body, "dotation-test-52").unwrap();
    assert_eq!(found["verdict"], "INELIGIBLE", "{found}");
    assert_eq!(criterion(found, "NATURE")["status"], "FAIL");
}

/// Issue 13: what the data cannot decide is UNKNOWN, never PASS by default: a session with
/// no published dates, `noStartBeforeFiling` not stated (décret n° 2018-514, art. 2), a
/// perimeter naming a list of communes Guichet does not hold (never « toute la France »).
#[tokio::test]
async fn what_the_data_cannot_decide_is_to_check() {
    let app = TestApp::spawn().await;
    let mut scheme = scheme_input("appel-gal-test");
    scheme["perimeter"] = json!({ "zonings": ["gal-test-inconnu"] });
    scheme["calendar"] = json!({ "recurrence": "RECURRING" });
    scheme["funders"] = json!([{ "slug": "etat-test", "name": "État — test", "kind": "STATE",
        "nameInSentence": "l'État" }]);
    import_published(&app, json!([scheme])).await;
    let body = app
        .graphql(
            MATCH,
            json!({ "project": { "holderType": "COMMUNE", "communeCode": "52001",
                "themes": ["commerce"], "totalCost": 40000, "nature": "INVESTMENT",
                "filingOn": "2026-12-01" } }),
        )
        .await;
    let found = find(&body, "appel-gal-test").expect("to check, not dropped");
    assert_eq!(found["verdict"], "TO_CHECK", "{found}");
    for (code, phrase) in [
        (
            "TERRITORY",
            "Liste des communes de « gal-test-inconnu » non chargée",
        ),
        (
            "CALENDAR",
            "Dates de la prochaine session non publiées : renseignez-vous auprès de l'État",
        ),
        (
            "START_BEFORE_FILING",
            "décret n° 2018-514 du 25 juin 2018, art. 2",
        ),
    ] {
        let c = criterion(found, code);
        assert_eq!(c["status"], "UNKNOWN", "{c}");
        let message = c["message"]
            .as_str()
            .unwrap()
            .replace(['\u{a0}', '\u{202f}'], " ");
        assert!(message.contains(phrase), "{code}: {message}");
        assert!(!message.contains("toute la France"), "{message}");
        assert!(!message.contains("de État"), "{message}");
    }
}

const CHECK_WITH_WARNINGS: &str =
    "query($plan: FinancingPlanInput!) { checkFinancingPlan(plan: $plan) {
  balanced publicShare ownShare violations { code message line } warnings } }";

/// Issue 13 « The financing plan »: CGCT L1111-10 III concerns investment only, not
/// overseas, not with the préfet's derogation; loans are the owner's financing, not aid.
#[tokio::test]
async fn the_plan_knows_its_nature_place_derogation_and_loans() {
    let app = TestApp::spawn().await;
    // A commune with 10 % own funds and 90 % from the Département.
    let plan = |extra: Value| {
        let mut plan = json!({ "holderType": "COMMUNE", "totalCost": 100000, "ownFunds": 10000,
            "lines": [{ "funderName": "Département", "amount": 90000 }] });
        for (key, value) in extra.as_object().unwrap() {
            plan[key] = value.clone();
        }
        plan
    };
    #[rustfmt::skip]
    let cases = [
        ("L1111-10 III: investment", json!({ "nature": "INVESTMENT", "communeCode": "52001" }), true),
        ("L1111-10 III: unknown nature, applied", json!({}), true),
        ("L1111-10 III: operating, never", json!({ "nature": "OPERATING", "communeCode": "52001" }), false),
        ("L1111-10 III: La Réunion", json!({ "nature": "INVESTMENT", "communeCode": "97411" }), false),
        ("L1111-10 III: the préfet's derogation", json!({ "nature": "INVESTMENT", "derogation": true }), false),
    ];
    for (case, extra, applies) in cases {
        let body = app
            .graphql(CHECK_WITH_WARNINGS, json!({ "plan": plan(extra) }))
            .await;
        let found = codes(&body);
        assert_eq!(
            found.contains(&"SELF_FUNDING_BELOW_MINIMUM".to_owned()),
            applies,
            "{case}: {body}"
        );
        let warnings = body["data"]["checkFinancingPlan"]["warnings"].to_string();
        assert_eq!(
            warnings.contains("n'est pas exigée"),
            !applies,
            "{case}: {body}"
        );
    }
    let body = app.graphql(CHECK, json!({ "plan": plan(json!({})) })).await;
    let message = body["data"]["checkFinancingPlan"]["violations"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("L1111-10 III") && message.contains("ne vise que l'investissement"),
        "{message}"
    );

    // A loan is the commune's participation, not public aid.
    let loan = json!({ "holderType": "COMMUNE", "totalCost": 100000, "ownFunds": 0, "nature": "INVESTMENT",
        "lines": [{ "funderName": "Département", "amount": 80000 },
                  { "funderName": "Banque des Territoires", "amount": 20000, "aidType": "LOAN" }] });
    let body = app.graphql(CHECK, json!({ "plan": loan })).await;
    assert!(codes(&body).is_empty(), "{body}");
    let share = body["data"]["checkFinancingPlan"]["publicShare"]
        .as_f64()
        .unwrap();
    assert!((share - 0.8).abs() < 1e-9, "{body}");
    // The same 20,000 € as a grant breaks the 20 %.
    let grant = json!({ "holderType": "COMMUNE", "totalCost": 100000, "ownFunds": 0, "nature": "INVESTMENT",
        "lines": [{ "funderName": "Département", "amount": 80000 },
                  { "funderName": "Région", "amount": 20000 }] });
    let body = app.graphql(CHECK, json!({ "plan": grant })).await;
    assert_eq!(codes(&body), ["SELF_FUNDING_BELOW_MINIMUM"], "{body}");

    // Bad input names its field.
    for (field, bad) in [("communeCode", json!({ "communeCode": "99999" }))] {
        let body = app.graphql(CHECK, json!({ "plan": plan(bad) })).await;
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(error_field(&body), field, "{body}");
    }
    let engineering = json!({ "holderType": "COMMUNE", "totalCost": 100, "ownFunds": 50,
        "lines": [{ "funderName": "CAUE", "amount": 50, "aidType": "TECHNICAL_ENGINEERING" }] });
    let body = app.graphql(CHECK, json!({ "plan": engineering })).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "lines[0].aidType", "{body}");
}

#[tokio::test]
async fn a_suggested_line_says_why_it_is_there_and_loans_stand_apart() {
    let app = TestApp::spawn().await;
    publish_test_scheme(&app, "aide-commerce-52").await;
    let project = json!({ "holderType": "COMMUNE", "communeCode": "52001", "themes": ["commerce"],
        "totalCost": 40000, "startsOn": "2027-03-01", "filingOn": "2026-12-01",
        "nature": "OPERATING", "costBasis": "HT" });
    let body = app
        .graphql(
            "query($project: ProjectInput!) { suggestFinancingPlan(project: $project) {
               ownFunds totalAid totalLoans lines { schemeSlug amount aidType reason } warnings } }",
            json!({ "project": project }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let plan = &body["data"]["suggestFinancingPlan"];
    let lines = plan["lines"].as_array().unwrap();
    assert!(!lines.is_empty(), "{plan}");
    for line in lines {
        assert!(!line["reason"].as_str().unwrap().is_empty(), "{line}");
        assert!(line["aidType"].is_string(), "{line}");
    }
    let total = plan["ownFunds"].as_i64().unwrap()
        + plan["totalAid"].as_i64().unwrap()
        + plan["totalLoans"].as_i64().unwrap();
    assert_eq!(total, 40000, "{plan}");
    // An operating request: the 20 % of L1111-10 III is said not to apply.
    assert!(
        plan["warnings"].to_string().contains("n'est pas exigée"),
        "{plan}"
    );
}
