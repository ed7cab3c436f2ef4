//! `searchSchemes`: French analysis, synonyms, typos, filters, facets, highlights, cursors
//! and freshness.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_field, guichet_ok, scheme_input, shared_data};

const SEARCH: &str =
    "query($text: String, $filter: SchemeFilter, $sort: SchemeSort, $first: Int, $after: String) {
  searchSchemes(text: $text, filter: $filter, sort: $sort, first: $first, after: $after) {
    total
    hits { score highlight scheme { slug title status } }
    facets { field values { value label count } }
    pageInfo { endCursor hasNextPage }
  } }";

async fn search(app: &TestApp, token: Option<&str>, variables: Value) -> Value {
    let body = app.graphql_as(token, SEARCH, variables).await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["searchSchemes"].clone()
}

fn slugs(result: &Value) -> Vec<String> {
    result["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["scheme"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Every slug of a search, following the cursors to the end.
async fn all_slugs(app: &TestApp, mut variables: Value) -> (Vec<String>, u64) {
    let mut seen = Vec::new();
    variables["first"] = json!(7);
    loop {
        let result = search(app, None, variables.clone()).await;
        seen.extend(slugs(&result));
        if !result["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (seen, result["total"].as_u64().unwrap());
        }
        variables["after"] = result["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn french_analysis_finds_words_whatever_their_form() {
    let app = TestApp::spawn().await;
    for (query, expected) in [
        ("maisons de santé", "departement-jura-maisons-de-sante"),
        ("MAISON DE SANTE", "departement-lot-maisons-de-sante"),
        ("épiceries", "mieux-manger-pour-tous-volet-local"),
        ("epicerie", "mieux-manger-pour-tous-volet-local"),
        ("cafés", "programme-1000-cafes"),
        ("tiers lieux", "fabriques-de-territoire"),
        ("tiers-lieux", "fabriques-de-territoire"),
        ("l'électrification", "face-electrification-rurale"),
    ] {
        let result = search(&app, None, json!({ "text": query })).await;
        assert!(
            slugs(&result).contains(&expected.to_owned()),
            "{query}: {:?}",
            slugs(&result)
        );
    }
}

#[tokio::test]
async fn a_typo_still_finds_the_word() {
    let app = TestApp::spawn().await;
    for query in ["electrificaton", "electrfication", "eletcrification"] {
        let result = search(&app, None, json!({ "text": query })).await;
        assert!(
            slugs(&result).contains(&"face-electrification-rurale".to_owned()),
            "{query}: {:?}",
            slugs(&result)
        );
    }
}

#[tokio::test]
async fn synonyms_widen_recall_and_can_be_edited_by_staff() {
    let app = TestApp::spawn().await;
    let before = search(&app, None, json!({ "text": "guinguette" })).await;
    assert_eq!(before["total"], 0);
    let staff = app.staff_token().await;
    let body = app
        .graphql_as(Some(&staff), "mutation { setSynonyms(term: \"guinguette\", synonyms: [\"café\"]) { term synonyms } }", json!({}))
        .await;
    assert_eq!(
        body["data"]["setSynonyms"]["synonyms"],
        json!(["café"]),
        "{body}"
    );
    let after = search(&app, None, json!({ "text": "guinguette" })).await;
    assert!(
        slugs(&after).contains(&"programme-1000-cafes".to_owned()),
        "{after}"
    );
    // Anonymous users and holders may not edit them.
    let body = app
        .graphql(
            "mutation { deleteSynonyms(term: \"guinguette\") }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation { setSynonyms(term: \" \", synonyms: [\"x\"]) { term } }",
            json!({}),
        )
        .await;
    assert_eq!(error_field(&body), "term");
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation { deleteSynonyms(term: \"guinguette\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["deleteSynonyms"], true);
    assert_eq!(
        search(&app, None, json!({ "text": "guinguette" })).await["total"],
        0
    );
}

#[tokio::test]
async fn a_literal_match_ranks_above_a_synonym() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    app.graphql_as(
        Some(&staff),
        "mutation { setSynonyms(term: \"électrification\", synonyms: [\"santé\"]) { term } }",
        json!({}),
    )
    .await;
    let result = search(&app, None, json!({ "text": "électrification" })).await;
    let found = slugs(&result);
    assert_eq!(found[0], "face-electrification-rurale", "{found:?}");
    assert!(found.len() > 1, "the synonym widened nothing: {found:?}");
}

#[tokio::test]
async fn words_are_anded_with_a_fallback_and_phrases_and_exclusions_work() {
    let app = TestApp::spawn().await;
    let and = search(&app, None, json!({ "text": "maison santé Jura" })).await;
    assert_eq!(slugs(&and)[0], "departement-jura-maisons-de-sante");
    let fallback = search(&app, None, json!({ "text": "électrification zzzzqqq" })).await;
    assert!(slugs(&fallback).contains(&"face-electrification-rurale".to_owned()));
    let phrase = search(&app, None, json!({ "text": "\"maisons de santé\"" })).await;
    assert!(phrase["total"].as_u64().unwrap() >= 2);
    let excluded = search(&app, None, json!({ "text": "maison de santé -Jura" })).await;
    assert!(
        !slugs(&excluded).contains(&"departement-jura-maisons-de-sante".to_owned()),
        "{excluded}"
    );
    assert!(slugs(&excluded).contains(&"departement-lot-maisons-de-sante".to_owned()));
    for odd in [
        "\"",
        "-",
        "((",
        "title:x AND OR",
        "*",
        "\\",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "a\"b\"c-d",
        "--x",
    ] {
        let body = app.graphql(SEARCH, json!({ "text": odd })).await;
        assert!(body["errors"].is_null(), "{odd}: {body}");
    }
}

#[tokio::test]
async fn highlights_mark_terms_and_escape_everything_else() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let mut input = scheme_input("aide-piegee");
    input["description"] = json!(
        "Une aide <script>alert('x')</script> pour la boulangerie & le fournil <b>du village</b>."
    );
    input["status"] = json!("PUBLISHED");
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
            json!({ "input": input }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let result = search(&app, None, json!({ "text": "boulangerie <script>" })).await;
    let highlight = result["hits"][0]["highlight"].as_str().unwrap();
    assert!(
        highlight.contains("<mark>boulangerie</mark>"),
        "{highlight}"
    );
    assert!(
        !highlight.contains("<script>") && !highlight.contains("<b>"),
        "{highlight}"
    );
    assert!(
        highlight.contains("&lt;") && highlight.contains("&gt;") && highlight.contains("&amp;"),
        "{highlight}"
    );
    let without_marks = highlight.replace("<mark>", "").replace("</mark>", "");
    assert!(!without_marks.contains('<'), "{highlight}");
}

#[tokio::test]
async fn the_territory_filter_follows_containment_at_every_level() {
    let app = TestApp::spawn().await;
    let slugs_in = |code: &str| {
        let app = &app;
        let code = code.to_owned();
        async move {
            all_slugs(app, json!({ "filter": { "territory": code } }))
                .await
                .0
        }
    };
    let chaumont = slugs_in("52121").await; // commune in Haute-Marne, Grand Est
    let haute_marne = slugs_in("52").await;
    let grand_est = {
        let result = search(
            &app,
            None,
            json!({ "filter": { "territory": "REGION:44" } }),
        )
        .await;
        result["total"].as_u64().unwrap()
    };
    let lot_commune = slugs_in("46042").await; // Cahors
    let occitanie_epci = slugs_in("200023737").await; // CA du Grand Cahors
    let has = |list: &Vec<String>, slug: &str| list.iter().any(|s| s == slug);
    // National schemes are everywhere.
    for list in [&chaumont, &haute_marne, &lot_commune, &occitanie_epci] {
        assert!(has(list, "detr"), "{list:?}");
    }
    // A Grand Est scheme reaches Chaumont but not Cahors; a Lot scheme the reverse.
    assert!(has(&chaumont, "region-grand-est-accor"));
    assert!(!has(&lot_commune, "region-grand-est-accor"));
    assert!(has(&lot_commune, "departement-lot-maisons-de-sante"));
    assert!(
        has(&occitanie_epci, "departement-lot-maisons-de-sante"),
        "an EPCI sees its département's schemes"
    );
    assert!(!has(&chaumont, "departement-lot-maisons-de-sante"));
    // A région sees the schemes of the places inside it.
    let occitanie = slugs_in("REGION:76").await;
    assert!(
        has(&occitanie, "departement-lot-maisons-de-sante"),
        "{occitanie:?}"
    );
    assert!(has(&occitanie, "region-occitanie-pass-commerce-proximite"));
    assert!(!has(&occitanie, "region-grand-est-accor"));
    // The whole région sees at least what one of its départements sees.
    assert!(grand_est as usize >= haute_marne.len());
    let loire_atlantique = slugs_in("44").await;
    assert!(
        !has(&loire_atlantique, "region-grand-est-accor"),
        "a bare 44 is the département"
    );
    let body = app
        .graphql(SEARCH, json!({ "filter": { "territory": "99999" } }))
        .await;
    assert_eq!(error_field(&body), "filter.territory");
}

#[tokio::test]
async fn facets_count_the_filtered_results_each_ignoring_its_own_filter() {
    let app = TestApp::spawn().await;
    let all = search(&app, None, json!({})).await;
    let facet = |result: &Value, field: &str, value: &str| -> u64 {
        result["facets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .and_then(|f| {
                f["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["value"] == value)
            })
            .map_or(0, |v| v["count"].as_u64().unwrap())
    };
    let commerce_count = facet(&all, "themes", "commerce");
    assert!(commerce_count > 0);
    let commerce = search(&app, None, json!({ "filter": { "themes": ["commerce"] } })).await;
    assert_eq!(commerce["total"].as_u64().unwrap(), commerce_count);
    // The themes facet still shows the other themes with their counts.
    assert!(commerce["facets"][0]["values"].as_array().unwrap().len() > 1);
    // Other facets count within the filter: their counts add up to at least the total.
    let communes = facet(&commerce, "beneficiaryTypes", "COMMUNE");
    let both = search(
        &app,
        None,
        json!({ "filter": { "themes": ["commerce"], "beneficiaryTypes": ["COMMUNE"] } }),
    )
    .await;
    assert_eq!(both["total"].as_u64().unwrap(), communes);
    // Labels are French.
    let labels: Vec<_> = all["facets"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"Commerce"), "{labels:?}");
    let funder_labels: Vec<_> = all["facets"][3]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert!(
        funder_labels.iter().any(|l| l.contains("État")),
        "{funder_labels:?}"
    );
}

#[tokio::test]
async fn cursors_page_through_every_result_exactly_once() {
    let app = TestApp::spawn().await;
    for variables in [
        json!({}),
        json!({ "sort": "CLOSING_SOON" }),
        json!({ "sort": "RECENT", "text": "commune" }),
    ] {
        let (seen, total) = all_slugs(&app, variables.clone()).await;
        assert_eq!(seen.len() as u64, total, "{variables}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), seen.len(), "{variables}");
    }
    let body = app.graphql(SEARCH, json!({ "after": "garbage" })).await;
    assert_eq!(error_field(&body), "after");
}

#[tokio::test]
async fn drafts_and_archives_are_found_only_by_staff_who_ask() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    app.graphql_as(
        Some(&staff),
        "mutation { archiveScheme(slug: \"detr\") { status } }",
        json!({}),
    )
    .await;
    let public = search(
        &app,
        None,
        json!({ "text": "DETR", "filter": { "status": ["ARCHIVED"] } }),
    )
    .await;
    assert!(!slugs(&public).contains(&"detr".to_owned()));
    let staff_view = search(
        &app,
        Some(&staff),
        json!({ "text": "DETR", "filter": { "status": ["ARCHIVED"] } }),
    )
    .await;
    assert_eq!(slugs(&staff_view), ["detr"]);
}

#[tokio::test]
async fn dates_filter_open_and_closing_schemes() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    for (slug, opens, closes) in [
        ("aide-ouverte", "2026-01-01", "2026-12-31"),
        ("aide-close", "2025-01-01", "2025-06-30"),
    ] {
        let mut input = scheme_input(slug);
        input["calendar"] =
            json!({ "recurrence": "ONE_OFF", "opensOn": opens, "closesOn": closes });
        input["status"] = json!("PUBLISHED");
        let body = app
            .graphql_as(
                Some(&staff),
                "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
                json!({ "input": input }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }
    let open = all_slugs(&app, json!({ "filter": { "openOn": "2026-06-01" } }))
        .await
        .0;
    assert!(open.contains(&"aide-ouverte".to_owned()) && !open.contains(&"aide-close".to_owned()));
    assert!(
        open.contains(&"detr".to_owned()),
        "schemes without dates stay"
    );
    let closing = all_slugs(&app, json!({ "filter": { "closesBefore": "2026-01-01" } }))
        .await
        .0;
    assert_eq!(closing, ["aide-close"]);
    // An expired scheme ranks below an open one for the same words.
    let ranked = search(&app, None, json!({ "text": "dernier commerce test" })).await;
    let order = slugs(&ranked);
    let open_at = order.iter().position(|s| s == "aide-ouverte").unwrap();
    let closed_at = order.iter().position(|s| s == "aide-close").unwrap();
    assert!(open_at < closed_at, "{order:?}");
}

#[tokio::test]
async fn a_change_through_a_mutation_is_searchable_when_it_returns() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let mut input = scheme_input("aide-fraiche");
    input["title"] = json!("Aide à la rénovation des lavoirs communaux");
    app.graphql_as(
        Some(&staff),
        "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
        json!({ "input": input }),
    )
    .await;
    assert_eq!(
        search(&app, None, json!({ "text": "lavoirs" })).await["total"],
        0,
        "a draft is not public"
    );
    app.graphql_as(
        Some(&staff),
        "mutation { publishScheme(slug: \"aide-fraiche\") { status } }",
        json!({}),
    )
    .await;
    assert_eq!(
        slugs(&search(&app, None, json!({ "text": "lavoirs" })).await),
        ["aide-fraiche"]
    );
}

/// A public search is answered from memory while the index does not change, with the same
/// answer; a staff request, another query or a change of the index is computed afresh.
#[tokio::test]
async fn public_searches_are_answered_from_memory_until_the_index_changes() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let cache = &app.state.search_cache;
    let variables = json!({ "text": "lavoirs" });
    let first = search(&app, None, variables.clone()).await;
    assert_eq!(cache.len(), 1);
    assert_eq!(search(&app, None, variables.clone()).await, first);
    assert_eq!(cache.len(), 1, "the second answer came from memory");
    search(&app, Some(&staff), variables.clone()).await;
    let mixed = app
        .graphql(
            "{ searchSchemes { total } territory(code: \"52\") { name } }",
            json!({}),
        )
        .await;
    assert!(mixed["errors"].is_null(), "{mixed}");
    assert_eq!(cache.len(), 1, "staff and mixed queries are not kept");
    let mut input = scheme_input("aide-lavoirs");
    input["title"] = json!("Restauration des lavoirs communaux");
    for (mutation, variables) in [
        (
            "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
            json!({ "input": input }),
        ),
        (
            "mutation { publishScheme(slug: \"aide-lavoirs\") { status } }",
            json!({}),
        ),
    ] {
        let body = app.graphql_as(Some(&staff), mutation, variables).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    assert_eq!(first["total"], 0, "{first}");
    let after = search(&app, None, variables).await;
    assert_eq!(slugs(&after), ["aide-lavoirs"], "{after}");
}

/// Hits show the funder as it is now: renaming a funder changes its schemes' results (and
/// their date, so that other processes' indexes pick them up).
#[tokio::test]
async fn a_renamed_funder_shows_in_the_results_when_the_mutation_returns() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let query = "query($text: String) { searchSchemes(text: $text, first: 1) {
        hits { scheme { slug updatedAt funders { id slug name schemeCount } } } } }";
    let before = app
        .graphql(query, json!({ "text": "FACE électrification rurale" }))
        .await;
    let hit = before["data"]["searchSchemes"]["hits"][0]["scheme"].clone();
    assert_eq!(hit["slug"], "face-electrification-rurale", "{before}");
    let funder = hit["funders"][0].clone();
    assert!(
        funder["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{funder}"
    );
    assert!(funder["schemeCount"].as_u64().unwrap() >= 1, "{funder}");
    let body = app
        .graphql_as(
            Some(&staff),
            "query($slug: String!) { funder(slug: $slug) { kind } }",
            json!({ "slug": funder["slug"] }),
        )
        .await;
    let kind = body["data"]["funder"]["kind"].clone();
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation($input: FunderInput!) { upsertFunder(input: $input) { name } }",
            json!({ "input": { "slug": funder["slug"], "name": "Financeur renommé", "kind": kind } }),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let after = app
        .graphql(query, json!({ "text": "FACE électrification rurale" }))
        .await;
    let hit = &after["data"]["searchSchemes"]["hits"][0]["scheme"];
    assert_eq!(hit["funders"][0]["name"], "Financeur renommé", "{after}");
    assert_eq!(hit["funders"][0]["id"], funder["id"]);
    assert_ne!(
        hit["updatedAt"],
        before["data"]["searchSchemes"]["hits"][0]["scheme"]["updatedAt"]
    );
}

#[tokio::test]
async fn an_import_from_another_process_is_searchable_within_seconds() {
    let app = TestApp::spawn().await;
    let sync = guichet::app::start_search_sync(&app.state);
    let file = app.dir.path().join("one.json");
    let record = json!([{ "slug": "aide-externe", "title": "Aide aux fontaines et abreuvoirs", "funders": [{"slug": "etat", "name": "État", "kind": "STATE"}], "beneficiaryTypes": ["COMMUNE"], "status": "PUBLISHED" }]);
    std::fs::write(&file, record.to_string()).unwrap();
    guichet_ok(
        app.dir.path(),
        &app.state.settings.database_url,
        &["import", file.to_str().unwrap()],
    );
    let start = Instant::now();
    loop {
        if search(&app, None, json!({ "text": "abreuvoirs" })).await["total"] == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the import never became searchable"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sync.abort();
}

#[tokio::test]
async fn reindex_rebuilds_the_index_and_a_missing_or_corrupt_index_is_rebuilt_at_start() {
    let app = TestApp::spawn().await;
    let settings = (*app.state.settings).clone();
    let total = search(&app, None, json!({})).await["total"].clone();
    // While the server holds the index, `reindex` asks it to rebuild.
    let sync = guichet::app::start_search_sync(&app.state);
    let out = guichet_ok(app.dir.path(), &settings.database_url, &["reindex"]);
    assert!(out.contains("serveur"), "{out}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(search(&app, None, json!({})).await["total"], total);
    sync.abort();
    let TestApp {
        state, dir: _dir, ..
    } = app;
    drop(state);
    // Corrupt the index: the next start rebuilds it from the database.
    let index_dir = settings.index_dir();
    for entry in std::fs::read_dir(&index_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            std::fs::write(&path, "{ not json").unwrap();
        }
    }
    let state = guichet::app::prepare(settings.clone(), false)
        .await
        .unwrap();
    assert_eq!(
        state.search.len() as u64,
        catalog::scheme::all(&state.db).await.unwrap().len() as u64
    );
    drop(state);
    std::fs::remove_dir_all(&index_dir).unwrap();
    let out = guichet_ok(
        settings.data_dir.as_path(),
        &settings.database_url,
        &["reindex"],
    );
    assert!(out.contains("reconstruit"), "{out}");
}

#[tokio::test]
async fn a_crash_during_an_import_leaves_database_and_index_consistent() {
    let Some(csv) = shared_data("aides-territoires-periurbain.csv") else {
        assert!(!crate::helpers::require_all(), "shared/data is missing");
        return;
    };
    let app = TestApp::spawn().await;
    let settings = (*app.state.settings).clone();
    drop(app);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args([
            "import",
            csv.to_str().unwrap(),
            "--format",
            "aides-territoires-csv",
            "--publish",
            "--data-dir",
        ])
        .arg(&settings.data_dir)
        .env("DATABASE_URL", &settings.database_url)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let state = guichet::app::prepare(settings, false).await.unwrap();
    let in_database = catalog::scheme::all(&state.db).await.unwrap();
    let published = in_database
        .iter()
        .filter(|s| s.status() == catalog::vocab::SchemeStatus::Published)
        .count();
    let result = state
        .search
        .search(
            &catalog::Actor::Anonymous,
            catalog::search::SearchRequest {
                first: 1,
                today: catalog::search::today(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(result.total, published);
    assert_eq!(state.search.len(), in_database.len());
}

/// The relevance set (`catalog/tests/relevance.json`) on the seed catalogue plus the 274
/// real Aides-territoires aids: each expected scheme among the first `within` results,
/// each unwanted one absent.
#[tokio::test]
async fn the_relevance_set_finds_the_expected_schemes() {
    let Some(csv) = shared_data("aides-territoires-periurbain.csv") else {
        assert!(!crate::helpers::require_all(), "shared/data is missing");
        return;
    };
    let app = TestApp::spawn().await;
    let state = &app.state;
    let parsed = catalog::import::parse(
        catalog::import::Format::AidesTerritoiresCsv,
        &std::fs::read_to_string(csv).unwrap(),
        &state.territories,
    )
    .unwrap();
    catalog::import::run(
        &state.db,
        &catalog::Actor::Operator,
        &state.territories,
        parsed,
        true,
        || {},
    )
    .await
    .unwrap();
    state.search.sync(&state.db).await.unwrap();

    let cases: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../catalog/tests/relevance.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let query = case["query"].as_str().unwrap();
        let filter = &case["filter"];
        let strings = |key: &str| -> Vec<String> {
            filter[key]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        let request = catalog::search::SearchRequest {
            text: Some(query.to_owned()),
            filter: catalog::search::Filter {
                territory: filter["territory"].as_str().map(str::to_owned),
                themes: strings("themes"),
                beneficiary_types: strings("beneficiaryTypes")
                    .iter()
                    .filter_map(|v| catalog::vocab::BeneficiaryType::parse(v))
                    .collect(),
                aid_types: strings("aidTypes")
                    .iter()
                    .filter_map(|v| catalog::vocab::AidType::parse(v))
                    .collect(),
                ..Default::default()
            },
            first: 400,
            today: catalog::search::today(),
            ..Default::default()
        };
        let result = state
            .search
            .search(&catalog::Actor::Anonymous, request)
            .await
            .unwrap();
        let found: Vec<&str> = result
            .hits
            .iter()
            .map(|h| h.scheme.record.slug.as_str())
            .collect();
        let within = case["within"].as_u64().unwrap_or(5) as usize;
        for expected in case["expectTop"].as_array().into_iter().flatten() {
            let slug = expected.as_str().unwrap();
            if !found.iter().take(within).any(|s| *s == slug) {
                let rank = found
                    .iter()
                    .position(|s| *s == slug)
                    .map_or("absent".into(), |p| format!("rank {}", p + 1));
                failures.push(format!(
                    "« {query} »: {slug} not in the first {within} ({rank}); top: {:?}",
                    &found[..found.len().min(within)]
                ));
            }
        }
        for unwanted in case["expectAbsent"].as_array().into_iter().flatten() {
            if found.contains(&unwanted.as_str().unwrap()) {
                failures.push(format!("« {query} »: {unwanted} should not be found"));
            }
        }
    }
    let passed = cases.len() - failures.len().min(cases.len());
    eprintln!(
        "relevance: {passed}/{} expectations met\n{}",
        cases.len(),
        failures.join("\n")
    );
    assert!(
        failures.is_empty(),
        "{} relevance failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
