//! Reading the catalogue and curating it through GraphQL.

use serde_json::json;

use crate::helpers::{TestApp, error_code, error_field, scheme_input};

const CREATE: &str = "mutation($input: SchemeInput!) { createScheme(input: $input) { slug status title perimeter { national departments } funding { rateMax amountMax regime } funders { slug name kind } rules { maxCommunePopulation } calendar { recurrence closesOn } requiredDocuments } }";

#[tokio::test]
async fn the_seed_catalogue_is_public_with_its_funders() {
    let app = TestApp::spawn().await;
    let body = app
        .graphql(
            "{ scheme(slug: \"detr\") { title status sourceUrl verifiedOn funders { slug kind kindLabel } beneficiaryTypes } funders { slug schemeCount } schemes(first: 100) { total nodes { slug } } }",
            json!({}),
        )
        .await;
    let detr = &body["data"]["scheme"];
    assert_eq!(detr["status"], "PUBLISHED", "{body}");
    assert!(detr["sourceUrl"].as_str().unwrap().starts_with("https://"));
    // Nobody has checked the seed against its sources yet (issue 13): no date is claimed.
    assert!(detr["verifiedOn"].is_null(), "{body}");
    assert_eq!(detr["funders"][0]["kind"], "STATE");
    assert!(body["data"]["schemes"]["total"].as_u64().unwrap() >= 40);
    let funders = body["data"]["funders"].as_array().unwrap();
    assert!(
        funders
            .iter()
            .any(|f| f["slug"] == "etat-prefectures" && f["schemeCount"].as_u64().unwrap() >= 3)
    );
}

#[tokio::test]
async fn scheme_pages_follow_their_cursor() {
    let app = TestApp::spawn().await;
    let query = "query($after: String) { schemes(first: 10, after: $after) { total nodes { slug } pageInfo { endCursor hasNextPage } } }";
    let mut after = serde_json::Value::Null;
    let mut seen = Vec::new();
    loop {
        let body = app.graphql(query, json!({ "after": after })).await;
        let page = &body["data"]["schemes"];
        seen.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["slug"].as_str().unwrap().to_owned()),
        );
        if !page["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            assert_eq!(seen.len() as u64, page["total"].as_u64().unwrap());
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len());
    let body = app.graphql(query, json!({ "after": "nonsense" })).await;
    assert_eq!(error_field(&body), "after");
}

#[tokio::test]
async fn staff_create_publish_and_archive_a_scheme_and_each_change_is_recorded() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let body = app
        .graphql_as(
            Some(&staff),
            CREATE,
            json!({ "input": scheme_input("dernier-commerce-52") }),
        )
        .await;
    let created = &body["data"]["createScheme"];
    assert_eq!(created["status"], "DRAFT", "{body}");
    assert_eq!(
        created["perimeter"],
        json!({ "national": false, "departments": ["52"] })
    );
    assert_eq!(created["funding"]["amountMax"], 80000);
    assert_eq!(created["funders"][0]["name"], "Région Test");

    // A draft is invisible to the public.
    let public = app
        .graphql(
            "{ scheme(slug: \"dernier-commerce-52\") { slug } }",
            json!({}),
        )
        .await;
    assert!(public["data"]["scheme"].is_null(), "{public}");

    let body = app
        .graphql_as(
            Some(&staff),
            "mutation { publishScheme(slug: \"dernier-commerce-52\") { status } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["publishScheme"]["status"], "PUBLISHED");
    let public = app
        .graphql(
            "{ scheme(slug: \"dernier-commerce-52\") { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(public["data"]["scheme"]["slug"], "dernier-commerce-52");

    let mut input = scheme_input("dernier-commerce-52");
    input["funding"]["amountMax"] = json!(90000);
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation($input: SchemeInput!) { updateScheme(slug: \"dernier-commerce-52\", input: $input) { funding { amountMax } status } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(
        body["data"]["updateScheme"]["funding"]["amountMax"], 90000,
        "{body}"
    );
    // Sent without a status, the scheme keeps its status (issue 14).
    assert_eq!(
        body["data"]["updateScheme"]["status"], "PUBLISHED",
        "{body}"
    );

    let body = app
        .graphql_as(
            Some(&staff),
            "mutation { archiveScheme(slug: \"dernier-commerce-52\") { status } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["archiveScheme"]["status"], "ARCHIVED");

    let body = app
        .graphql_as(
            Some(&staff),
            "{ scheme(slug: \"dernier-commerce-52\") { changes { actor action detail } } }",
            json!({}),
        )
        .await;
    let changes = body["data"]["scheme"]["changes"].as_array().unwrap();
    let actions: Vec<_> = changes
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    // Latest first.
    assert_eq!(actions, ["status", "update", "status", "create"], "{body}");
    assert_eq!(changes[0]["actor"], "equipe@guichet.test");
    assert!(changes[1]["detail"].as_str().unwrap().contains("funding"));
}

#[tokio::test]
async fn invalid_schemes_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let cases = [
        ("slug", json!("Pas Un Slug"), "slug"),
        ("title", json!("  "), "title"),
        ("themes", json!(["cafe"]), "themes.0"),
        (
            "perimeter",
            json!({ "departments": ["999"] }),
            "perimeter.departments.0",
        ),
        (
            "funding",
            json!({ "rateMin": 60, "rateMax": 20 }),
            "funding.rateMax",
        ),
        ("funding", json!({ "amountMax": -5 }), "funding.amountMax"),
        ("funding", json!({ "rateMax": 120 }), "funding.rateMax"),
        (
            "calendar",
            json!({ "opensOn": "2026-05-01", "closesOn": "2026-01-01" }),
            "calendar.closesOn",
        ),
        ("sourceUrl", json!("ftp://x"), "sourceUrl"),
        ("beneficiaryTypes", json!([]), "beneficiaryTypes"),
        (
            "funders",
            json!([{ "slug": "x", "name": "X", "kind": "STATE", "contactEmail": "pas-une-adresse" }]),
            "funders.0.contactEmail",
        ),
    ];
    for (key, value, field) in cases {
        let mut input = scheme_input("aide-invalide");
        input[key] = value;
        let body = app
            .graphql_as(Some(&staff), CREATE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), "VALIDATION", "{key}: {body}");
        assert_eq!(error_field(&body), field, "{key}: {body}");
        assert!(!body["errors"][0]["message"].as_str().unwrap().is_empty());
    }
    // Nothing was written.
    let body = app
        .graphql_as(
            Some(&staff),
            "{ scheme(slug: \"aide-invalide\") { slug } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["scheme"].is_null());
    // A bad date is refused by the GraphQL layer itself.
    let mut input = scheme_input("aide-invalide");
    input["verifiedOn"] = json!("27/11/2026");
    let body = app
        .graphql_as(Some(&staff), CREATE, json!({ "input": input }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
}

#[tokio::test]
async fn curation_needs_a_staff_account() {
    let app = TestApp::spawn().await;
    let input = json!({ "input": scheme_input("aide-pirate") });
    let body = app.graphql(CREATE, input.clone()).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let holder = app
        .token_for("maire@village.fr", catalog::Role::Holder, None)
        .await;
    let body = app.graphql_as(Some(&holder), CREATE, input).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .graphql_as(
            Some(&holder),
            "mutation { archiveScheme(slug: \"detr\") { status } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn creating_a_taken_slug_is_a_conflict_and_updating_a_missing_one_not_found() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let body = app
        .graphql_as(
            Some(&staff),
            CREATE,
            json!({ "input": scheme_input("detr") }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation($input: SchemeInput!) { updateScheme(slug: \"absent\", input: $input) { slug } }",
            json!({ "input": scheme_input("absent") }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn staff_upsert_funders_with_validation() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let upsert = "mutation($input: FunderInput!) { upsertFunder(input: $input) { slug name kind contactEmail } }";
    let body = app
        .graphql_as(
            Some(&staff),
            upsert,
            json!({ "input": { "slug": "gal-haute-marne", "name": "GAL Haute-Marne", "kind": "EU", "contactEmail": "Leader@Exemple.FR" } }),
        )
        .await;
    assert_eq!(
        body["data"]["upsertFunder"]["contactEmail"], "leader@exemple.fr",
        "{body}"
    );
    let body = app
        .graphql_as(Some(&staff), upsert, json!({ "input": { "slug": "gal-haute-marne", "name": "GAL du Pays de Chaumont", "kind": "EU" } }))
        .await;
    assert_eq!(
        body["data"]["upsertFunder"]["name"],
        "GAL du Pays de Chaumont"
    );
    let body = app
        .graphql_as(
            Some(&staff),
            upsert,
            json!({ "input": { "slug": "GAL", "name": "", "kind": "EU" } }),
        )
        .await;
    assert_eq!(error_field(&body), "slug");
    let body = app
        .graphql(
            "{ funder(slug: \"gal-haute-marne\") { name schemeCount } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["funder"]["schemeCount"], 0);
}
