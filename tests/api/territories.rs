//! Territory look-up through GraphQL.

use serde_json::json;

use crate::helpers::TestApp;

const SEARCH: &str = "query($q: String!, $n: Int) { territories(query: $q, first: $n) { code name kind population postcodes parents { code kind name } } }";

async fn first_names(app: &TestApp, query: &str, n: i32) -> Vec<String> {
    let body = app.graphql(SEARCH, json!({ "q": query, "n": n })).await;
    body["data"]["territories"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn communes_are_found_by_name_whatever_the_accents_case_hyphens_or_saint() {
    let app = TestApp::spawn().await;
    assert_eq!(first_names(&app, "st dizier", 1).await, ["Saint-Dizier"]);
    assert_eq!(first_names(&app, "SAINT DIZIER", 1).await, ["Saint-Dizier"]);
    assert_eq!(first_names(&app, "chaumont", 1).await, ["Chaumont"]);
    assert_eq!(first_names(&app, "ile d yeu", 1).await, ["L'Île-d'Yeu"]);
    assert_eq!(first_names(&app, "epinal", 1).await, ["Épinal"]);
}

#[tokio::test]
async fn communes_are_found_by_postcode_and_code() {
    let app = TestApp::spawn().await;
    assert_eq!(first_names(&app, "52000", 1).await, ["Chaumont"]);
    assert_eq!(first_names(&app, "52121", 1).await, ["Chaumont"]);
    let body = app.graphql(SEARCH, json!({ "q": "52100", "n": 5 })).await;
    let found = body["data"]["territories"].as_array().unwrap();
    assert!(found.iter().any(|t| t["code"] == "52448"), "{body}");
}

#[tokio::test]
async fn a_commune_knows_its_epci_departement_and_region() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql("{ territory(code: \"52121\") { name kind population postcodes parents { kind name } } }", json!({}))
        .await;
    let chaumont = &body["data"]["territory"];
    assert_eq!(chaumont["kind"], "COMMUNE");
    assert!(chaumont["population"].as_i64().unwrap() > 15_000);
    assert_eq!(chaumont["postcodes"], json!(["52000"]));
    let kinds: Vec<_> = chaumont["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["EPCI", "DEPARTMENT", "REGION"]);
    assert_eq!(chaumont["parents"][2]["name"], "Grand Est");
}

#[tokio::test]
async fn a_code_shared_by_a_departement_and_a_region_resolves_to_either() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "{ d: territory(code: \"44\") { name kind } r: territory(code: \"44\", kind: REGION) { name kind } x: territory(code: \"99999\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["d"]["name"], "Loire-Atlantique");
    assert_eq!(body["data"]["r"]["name"], "Grand Est");
    assert!(body["data"]["x"].is_null());
}

#[tokio::test]
async fn every_level_is_loaded() {
    let app = TestApp::spawn().await;
    use catalog::TerritoryKind::*;
    let t = &app.state.territories;
    let count = |kind| t.all().iter().filter(|x| x.kind == kind).count();
    assert!(count(Commune) > 34_800, "{}", count(Commune));
    assert!(count(Epci) > 1_200);
    assert!(count(Department) >= 101);
    assert!(count(Region) >= 18);
}

#[tokio::test]
async fn an_empty_or_absurd_query_finds_nothing_and_first_is_bounded() {
    let app = TestApp::spawn().await;
    assert!(first_names(&app, "   ", 5).await.is_empty());
    assert!(first_names(&app, "zzqqxx", 5).await.is_empty());
    let body = app
        .graphql(SEARCH, json!({ "q": "saint", "n": 1000 }))
        .await;
    assert!(body["errors"].is_array(), "{body}");
}
