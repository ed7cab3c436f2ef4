//! What enters through GraphQL stays bounded and clean: long search texts are read up to
//! their first words, malformed cursors and dates out of range are validation errors naming
//! their field, one-line fields refuse line breaks and control characters.

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::dossiers::{Fixture, complete_input};
use crate::helpers::{TestApp, error_code, error_field, fresh_database, guichet_ok, scheme_input};

const SEARCH: &str = "query($text: String, $filter: SchemeFilter, $after: String) {
  searchSchemes(text: $text, filter: $filter, first: 100, after: $after) {
    total hits { scheme { slug } } pageInfo { endCursor hasNextPage } } }";

/// The total and slugs a search answers, asserting it answers without error.
async fn search(app: &TestApp, text: &str) -> (u64, Vec<String>) {
    let body = app.graphql(SEARCH, json!({ "text": text })).await;
    assert!(body["errors"].is_null(), "{body}");
    let result = &body["data"]["searchSchemes"];
    let slugs = result["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["scheme"]["slug"].as_str().unwrap().to_owned())
        .collect();
    (result["total"].as_u64().unwrap(), slugs)
}

/// 3,000 words drawn from the catalogue's vocabulary.
fn many_words(count: usize) -> Vec<&'static str> {
    const WORDS: [&str; 12] = [
        "maison",
        "santé",
        "commerce",
        "village",
        "café",
        "rural",
        "école",
        "mobilité",
        "énergie",
        "patrimoine",
        "tourisme",
        "eau",
    ];
    (0..count).map(|i| WORDS[(i * 7 + i / 12) % 12]).collect()
}

#[tokio::test]
async fn a_three_thousand_word_search_answers_like_its_first_32_words() {
    let app = TestApp::spawn().await;
    let words = many_words(3_000);
    let long = search(&app, &words.join(" ")).await;
    let first = search(&app, &words[..32].join(" ")).await;
    assert!(long.0 > 0, "the first 32 words find something");
    assert_eq!(long, first);
    // Words beyond the 32nd change nothing, even one that would exclude every hit.
    let excluded = format!("{} -maison -commerce", words[..32].join(" "));
    assert_eq!(search(&app, &excluded).await, first);
}

#[tokio::test]
async fn a_hundred_kilobyte_search_answers_like_its_first_500_characters() {
    let app = TestApp::spawn().await;
    // Multi-byte characters all along, so the cut falls between two of them.
    let long = format!("épiceries {}", "é".repeat(50_000));
    assert!(long.len() > 100_000);
    let start: String = long.chars().take(500).collect();
    let found = search(&app, &long).await;
    assert!(
        found
            .1
            .contains(&"mieux-manger-pour-tous-volet-local".to_owned()),
        "{found:?}"
    );
    assert_eq!(found, search(&app, &start).await);
    let spaced = "tiers lieux ".repeat(9_000);
    let found = search(&app, &spaced).await;
    assert!(
        found.1.contains(&"fabriques-de-territoire".to_owned()),
        "{found:?}"
    );

    // The other free texts that become queries answer too.
    let body = app
        .graphql(
            "query($q: String!) { territories(query: $q) { code } }",
            json!({ "q": format!("Chaumont {}", "x".repeat(100_000)) }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let body = app
        .graphql(
            "query($p: ProjectInput!) { matchProject(project: $p) { eligibleCount } }",
            json!({ "p": { "holderType": "COMMUNE", "communeCode": "52001",
                           "text": many_words(1_100).join(" ") } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

/// Cursors that do not stand for a position, each a VALIDATION error on `after`.
const BAD_CURSORS: [&str; 8] = [
    "o9223372036854775808",
    "o18446744073709551616",
    "o-1",
    "o+1",
    "o",
    "x",
    "k1.2",
    "",
];

fn assert_bad_cursor(body: &Value, what: &str) {
    assert_eq!(error_code(body), "VALIDATION", "{what}: {body}");
    assert_eq!(error_field(body), "after", "{what}: {body}");
}

#[tokio::test]
async fn malformed_or_out_of_range_cursors_are_validation_errors_on_every_list() {
    let f = Fixture::new().await;
    f.complete_draft().await;
    let huge = "QUFB".repeat(25_000);
    let lists = [
        (
            "schemes",
            "query($after: String) { schemes(after: $after) { total nodes { slug } pageInfo { hasNextPage } } }",
            &f.staff,
        ),
        (
            "funder.schemes",
            "query($after: String) { funders { slug schemes(after: $after) { total } } }",
            &f.staff,
        ),
        (
            "dossiers",
            "query($after: String) { dossiers(after: $after) { total nodes { id } } }",
            &f.holder,
        ),
        (
            "conferences",
            "query($after: String) { conferences(after: $after) { total nodes { id } } }",
            &f.staff,
        ),
        (
            "searchSchemes",
            "query($after: String) { searchSchemes(after: $after) { total hits { scheme { slug } } } }",
            &f.staff,
        ),
    ];
    for (name, query, token) in lists {
        for cursor in BAD_CURSORS.iter().copied().chain([huge.as_str()]) {
            let body = f.as_(token, query, json!({ "after": cursor })).await;
            assert_bad_cursor(&body, &format!("{name} after {:.30}", cursor));
        }
    }
    // The largest offset is an empty page, not an error.
    for (name, query, field) in [
        (
            "schemes",
            "{ schemes(after: \"o9223372036854775807\") { total nodes { slug } pageInfo { hasNextPage } } }",
            "schemes",
        ),
        (
            "dossiers",
            "{ dossiers(after: \"o9223372036854775807\") { total nodes { id } pageInfo { hasNextPage } } }",
            "dossiers",
        ),
        (
            "conferences",
            "{ conferences(after: \"o9223372036854775807\") { total nodes { id } pageInfo { hasNextPage } } }",
            "conferences",
        ),
    ] {
        let token = if name == "dossiers" {
            &f.holder
        } else {
            &f.staff
        };
        let body = f.as_(token, query, json!({})).await;
        assert!(body["errors"].is_null(), "{name}: {body}");
        assert_eq!(body["data"][field]["nodes"], json!([]), "{name}");
        assert_eq!(
            body["data"][field]["pageInfo"]["hasNextPage"], false,
            "{name}"
        );
    }
    let body = f
        .as_(
            &f.staff,
            "{ funders { schemes(after: \"o9223372036854775807\") { total } } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
}

/// A change to an input that makes it invalid.
type Edit = fn(&mut Value);

const CREATE_SCHEME: &str =
    "mutation($input: SchemeInput!) { createScheme(input: $input) { slug title } }";

#[tokio::test]
async fn one_line_scheme_and_funder_fields_refuse_line_breaks_and_control_characters() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let cases: [(&str, Edit); 6] = [
        ("title", |s| s["title"] = json!("Aide au dernier\ncommerce")),
        ("summary", |s| {
            s["summary"] = json!("Aide aux communes.\r\nDeuxième ligne")
        }),
        ("funders.0.name", |s| {
            s["funders"][0]["name"] = json!("Région\tTest")
        }),
        ("requiredDocuments.1", |s| {
            s["requiredDocuments"][1] = json!("Devis\u{0}")
        }),
        ("description", |s| {
            s["description"] = json!("Texte\u{1b}[2J")
        }),
        ("sourceUrl", |s| {
            s["sourceUrl"] = json!("https://exemple.gouv.fr/\u{7f}")
        }),
    ];
    for (field, edit) in cases {
        let mut input = scheme_input("aide-lignes");
        edit(&mut input);
        let body = app
            .graphql_as(Some(&staff), CREATE_SCHEME, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), "VALIDATION", "{field}: {body}");
        assert!(error_field(&body).ends_with(field), "{field}: {body}");
    }
    // Nothing half-written: the scheme does not exist, and a description keeps its lines.
    let mut input = scheme_input("aide-lignes");
    input["description"] = json!("Premier paragraphe.\n\n- un point\n\tretrait");
    let body = app
        .graphql_as(Some(&staff), CREATE_SCHEME, json!({ "input": input }))
        .await;
    assert!(body["errors"].is_null(), "{body}");

    let upsert = "mutation($input: FunderInput!) { upsertFunder(input: $input) { slug name } }";
    let body = app
        .graphql_as(
            Some(&staff),
            upsert,
            json!({ "input": { "slug": "mecene-test", "name": "Mécène\nTest", "kind": "OTHER" } }),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert!(error_field(&body).ends_with("name"), "{body}");
    let body = app.graphql("{ funders { slug } }", json!({})).await;
    assert!(!body.to_string().contains("mecene-test"), "{body}");
}

#[tokio::test]
async fn scheme_dates_outside_1900_to_2100_are_validation_errors_naming_the_field() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    for (field, date) in [
        ("calendar.opensOn", "1899-12-31"),
        ("calendar.closesOn", "9999-12-31"),
        ("verifiedOn", "0001-01-01"),
    ] {
        let mut input = scheme_input("aide-dates");
        match field {
            "verifiedOn" => input["verifiedOn"] = json!(date),
            _ => input["calendar"][field.trim_start_matches("calendar.")] = json!(date),
        }
        let body = app
            .graphql_as(Some(&staff), CREATE_SCHEME, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&body), "VALIDATION", "{field}: {body}");
        assert!(error_field(&body).ends_with(field), "{field}: {body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("1900"),
            "{body}"
        );
    }
    // A negative year too.
    let mut input = scheme_input("aide-dates");
    input["calendar"]["opensOn"] = json!("-0001-01-01");
    let body = app
        .graphql_as(Some(&staff), CREATE_SCHEME, json!({ "input": input }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert!(error_field(&body).ends_with("calendar.opensOn"), "{body}");

    // Search filters too.
    let body = app
        .graphql(SEARCH, json!({ "filter": { "openOn": "2999-01-01" } }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "filter.openOn", "{body}");
    let body = app
        .graphql(
            SEARCH,
            json!({ "filter": { "closesBefore": "1800-01-01" } }),
        )
        .await;
    assert_eq!(error_field(&body), "filter.closesBefore", "{body}");

    // And saved searches, whose text is also shown on one line in the digests.
    let holder = app
        .token_for("maire@village.fr", catalog::Role::Holder, None)
        .await;
    let save = "mutation($text: String, $filter: SchemeFilter) {
      saveSearch(text: $text, filter: $filter, frequency: WEEKLY) { id } }";
    for (field, variables) in [
        ("text", json!({ "text": "café\nmultiservice" })),
        (
            "filter.openOn",
            json!({ "text": "café", "filter": { "openOn": "9999-12-31" } }),
        ),
    ] {
        let body = app.graphql_as(Some(&holder), save, variables).await;
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(error_field(&body), field, "{body}");
    }
    let body = app
        .graphql_as(Some(&holder), "{ savedSearches { id } }", json!({}))
        .await;
    assert_eq!(body["data"]["savedSearches"], json!([]), "{body}");
}

const UPDATE_DOSSIER: &str = "mutation($id: ID!, $input: DossierInput!) {
  updateDossier(id: $id, input: $input) { holder { legalName } project { title } } }";

#[tokio::test]
async fn one_line_dossier_fields_and_dates_are_checked_and_nothing_is_half_written() {
    let f = Fixture::new().await;
    let draft = f.complete_draft().await;
    let cases: [(&str, Edit); 8] = [
        ("holder.legalName", |i| {
            i["holder"]["legalName"] = json!("Commune\nd'Ageville")
        }),
        ("holder.representative.name", |i| {
            i["holder"]["representative"]["name"] = json!("Claire\rMartin")
        }),
        ("holder.representative.role", |i| {
            i["holder"]["representative"]["role"] = json!("Ma\u{85}ire")
        }),
        ("project.title", |i| {
            i["project"]["title"] = json!("Réouverture\u{2028}du café")
        }),
        ("project.description", |i| {
            i["project"]["description"] = json!("Un café\u{0}")
        }),
        ("expenses.1.label", |i| {
            i["expenses"][1]["label"] = json!("Équipement\tdu café")
        }),
        ("project.startsOn", |i| {
            i["project"]["startsOn"] = json!("1000-01-01")
        }),
        ("project.endsOn", |i| {
            i["project"]["endsOn"] = json!("2200-01-01")
        }),
    ];
    for (field, edit) in cases {
        let mut input = complete_input();
        input["holder"]["legalName"] = json!("Commune d'Ageville modifiée");
        edit(&mut input);
        let body = f
            .as_(
                &f.holder,
                UPDATE_DOSSIER,
                json!({ "id": draft, "input": input }),
            )
            .await;
        assert!(body["errors"].is_array(), "{field} accepted: {body}");
        assert_eq!(error_code(&body), "VALIDATION", "{field}: {body}");
        assert_eq!(error_field(&body), field, "{body}");
    }
    let saved = f
        .ok(
            &f.holder,
            "query($id: ID!) { dossier(id: $id) { holder { legalName } } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(
        saved["dossier"]["holder"]["legalName"],
        "Commune d'Ageville"
    );
    // A description keeps its paragraphs.
    let mut input = complete_input();
    input["project"]["description"] = json!("Premier paragraphe.\n\nSecond\tparagraphe.");
    f.ok(
        &f.holder,
        UPDATE_DOSSIER,
        json!({ "id": draft, "input": input }),
    )
    .await;
}

#[tokio::test]
async fn a_conference_title_is_one_line_and_its_date_within_1900_to_2100() {
    let f = Fixture::new().await;
    let create = "mutation($input: ConferenceInput!) { createConference(input: $input) { id } }";
    for (field, input) in [
        (
            "input.title",
            json!({ "title": "Conférence\ndes financeurs", "heldOn": "2027-01-15", "funderSlugs": ["region-test"] }),
        ),
        (
            "input.heldOn",
            json!({ "title": "Conférence des financeurs", "heldOn": "9999-12-31", "funderSlugs": ["region-test"] }),
        ),
        (
            "input.heldOn",
            json!({ "title": "Conférence des financeurs", "heldOn": "1899-01-01", "funderSlugs": ["region-test"] }),
        ),
    ] {
        let body = f.as_(&f.staff, create, json!({ "input": input })).await;
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(error_field(&body), field, "{body}");
    }
    let body = f.ok(&f.staff, "{ conferences { total } }", json!({})).await;
    assert_eq!(body["conferences"]["total"], 0);
}

#[tokio::test]
async fn the_importer_reports_records_with_line_breaks_or_dates_out_of_range() {
    let dir = TempDir::new().unwrap();
    let url = fresh_database(dir.path(), false).await;
    let file = dir.path().join("schemes.jsonl");
    let record = |slug: &str| json!({ "slug": slug, "title": format!("Aide {slug}"), "funders": [{"slug": "etat", "name": "État", "kind": "STATE"}], "beneficiaryTypes": ["COMMUNE"] });
    let mut two_lines = record("aide-deux-lignes");
    two_lines["title"] = json!("Aide\nsur deux lignes");
    let mut far = record("aide-lointaine");
    far["calendar"] = json!({ "closesOn": "9999-12-31" });
    let mut funder = record("aide-financeur");
    funder["funders"][0]["name"] = json!("É\u{7}tat");
    let lines = [record("aide-bonne"), two_lines, far, funder];
    std::fs::write(
        &file,
        lines
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    let out = guichet_ok(dir.path(), &url, &["import", file.to_str().unwrap()]);
    assert!(out.contains("Créés : 1"), "{out}");
    assert!(out.contains("Ignorés : 3"), "{out}");
    for (slug, field) in [
        ("aide-deux-lignes", "title"),
        ("aide-lointaine", "calendar.closesOn"),
        ("aide-financeur", "funders.0.name"),
    ] {
        assert!(out.contains(&format!("« {slug} »")), "{slug}: {out}");
        assert!(out.contains(field), "{field}: {out}");
    }
}
