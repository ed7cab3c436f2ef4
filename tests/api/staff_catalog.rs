//! The staff's list of schemes (`/gestion/dispositifs`): filters by theme and by the date a
//! scheme was last checked against its source.

use serde_json::json;

use crate::helpers::{TestApp, scheme_input};

const CREATE: &str = "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }";
const LIST: &str = "query($theme: String, $before: Date, $never: Boolean) {
  schemes(first: 100, status: [DRAFT, PUBLISHED, ARCHIVED], theme: $theme, verifiedBefore: $before, neverVerified: $never) {
    total nodes { slug themes verifiedOn }
  }
}";

fn slugs(body: &serde_json::Value) -> Vec<String> {
    body["data"]["schemes"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|n| n["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_filter_the_schemes_by_theme_and_verification_date() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    for (slug, theme, verified) in [
        ("liste-sante-ancienne", "sante", json!("2024-05-02")),
        ("liste-sante-recente", "sante", json!("2026-10-01")),
        ("liste-culture-jamais", "culture", json!(null)),
    ] {
        let mut input = scheme_input(slug);
        input["themes"] = json!([theme]);
        input["verifiedOn"] = verified;
        let body = app
            .graphql_as(Some(&staff), CREATE, json!({ "input": input }))
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }

    // By theme: drafts included, only schemes holding the theme.
    let body = app
        .graphql_as(Some(&staff), LIST, json!({ "theme": "sante" }))
        .await;
    let found = slugs(&body);
    assert!(found.contains(&"liste-sante-ancienne".to_owned()), "{body}");
    assert!(found.contains(&"liste-sante-recente".to_owned()), "{body}");
    assert!(
        !found.contains(&"liste-culture-jamais".to_owned()),
        "{body}"
    );
    for node in body["data"]["schemes"]["nodes"].as_array().unwrap() {
        assert!(
            node["themes"].as_array().unwrap().contains(&json!("sante")),
            "{node}"
        );
    }
    assert_eq!(
        body["data"]["schemes"]["total"].as_u64().unwrap() as usize,
        found.len()
    );

    // Checked before a day (strictly): the old one, not the recent one nor the unchecked.
    let body = app
        .graphql_as(
            Some(&staff),
            LIST,
            json!({ "theme": "sante", "before": "2026-01-01" }),
        )
        .await;
    assert_eq!(slugs(&body), ["liste-sante-ancienne"], "{body}");
    let body = app
        .graphql_as(Some(&staff), LIST, json!({ "before": "2024-05-02" }))
        .await;
    assert!(
        !slugs(&body).contains(&"liste-sante-ancienne".to_owned()),
        "{body}"
    );

    // Never checked: the seed (nobody checked it) and the new unchecked one, no dated one.
    let body = app
        .graphql_as(Some(&staff), LIST, json!({ "never": true }))
        .await;
    let found = slugs(&body);
    assert!(found.contains(&"liste-culture-jamais".to_owned()), "{body}");
    assert!(
        !found.iter().any(|s| s.starts_with("liste-sante")),
        "{body}"
    );
    for node in body["data"]["schemes"]["nodes"].as_array().unwrap() {
        assert!(node["verifiedOn"].is_null(), "{node}");
    }

    // An anonymous caller still sees published schemes only, filters applied.
    let body = app.graphql(LIST, json!({ "theme": "culture" })).await;
    assert!(
        !slugs(&body).contains(&"liste-culture-jamais".to_owned()),
        "{body}"
    );
}
