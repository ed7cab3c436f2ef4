//! Curating the catalogue (issue 14): `updateScheme` keeps the status it is not given, rates
//! are percentages, and funder editors draft their funder's schemes and ask staff to publish
//! them.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_field, scheme_input};

const CREATE: &str = "mutation($input: SchemeInput!) { createScheme(input: $input) { slug status funders { slug name } } }";
const UPDATE: &str = "mutation($slug: String!, $input: SchemeInput!) { updateScheme(slug: $slug, input: $input) { slug status title publicationRequestedAt reviewComment } }";
const REQUEST: &str = "mutation($slug: String!) { requestPublication(slug: $slug) { slug status publicationRequestedAt } }";
const SEND_BACK: &str = "mutation($slug: String!, $comment: String!) { sendBackScheme(slug: $slug, comment: $comment) { slug status publicationRequestedAt reviewComment } }";
const PUBLISH: &str = "mutation($slug: String!) { publishScheme(slug: $slug) { slug status publicationRequestedAt reviewComment } }";
const WAITING: &str =
    "{ schemes(awaitingPublication: true, first: 100) { total nodes { slug status } } }";

/// An account of a funder agent who may edit its funder's schemes, and its token.
async fn editor_token(app: &TestApp, email: &str, funder: &str) -> String {
    let token = app
        .token_for(email, catalog::Role::Funder, Some(funder))
        .await;
    catalog::entity::account::Entity::update_many()
        .col_expr(catalog::entity::account::Column::Editor, Expr::value(true))
        .filter(catalog::entity::account::Column::Email.eq(email))
        .exec(&app.state.db)
        .await
        .unwrap();
    token
}

/// A scheme of `funder` (a seed funder, named as Guichet holds it).
fn input_of(slug: &str, funder: &str) -> Value {
    let mut input = scheme_input(slug);
    input["funders"] = json!([{ "slug": funder, "name": "Nom sans importance", "kind": "REGION" }]);
    input
}

/// The subjects and recipients of queued messages from this template.
async fn mails(app: &TestApp, template: &str) -> Vec<(String, String, String)> {
    catalog::outbox::all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.template == template)
        .map(|m| (m.recipient, m.subject, m.body_text))
        .collect()
}

#[tokio::test]
async fn update_scheme_without_status_keeps_it() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let before = app
        .graphql("{ scheme(slug: \"detr\") { title status } }", json!({}))
        .await;
    assert_eq!(before["data"]["scheme"]["status"], "PUBLISHED", "{before}");
    // The seed's DETR, re-sent without a status, as the edit form sends it.
    let mut input = input_of("detr", "etat-prefectures");
    input["title"] = json!("DETR — titre corrigé");
    let body = app
        .graphql_as(
            Some(&staff),
            UPDATE,
            json!({ "slug": "detr", "input": input }),
        )
        .await;
    assert_eq!(
        body["data"]["updateScheme"]["status"], "PUBLISHED",
        "{body}"
    );
    assert_eq!(
        body["data"]["updateScheme"]["title"],
        "DETR — titre corrigé"
    );
    // Still public, and found by search under its new title at once.
    let public = app
        .graphql(
            "{ scheme(slug: \"detr\") { status } searchSchemes(text: \"titre corrigé\") { total hits { scheme { slug } } } }",
            json!({}),
        )
        .await;
    assert_eq!(public["data"]["scheme"]["status"], "PUBLISHED", "{public}");
    assert_eq!(
        public["data"]["searchSchemes"]["hits"][0]["scheme"]["slug"], "detr",
        "{public}"
    );
    // Given a status, the status changes (and the log says so).
    let mut input = input_of("detr", "etat-prefectures");
    input["status"] = json!("ARCHIVED");
    let body = app
        .graphql_as(
            Some(&staff),
            UPDATE,
            json!({ "slug": "detr", "input": input }),
        )
        .await;
    assert_eq!(body["data"]["updateScheme"]["status"], "ARCHIVED", "{body}");
    let log = app
        .graphql_as(
            Some(&staff),
            "{ scheme(slug: \"detr\") { changes { action actor summary } } }",
            json!({}),
        )
        .await;
    let changes = log["data"]["scheme"]["changes"].as_array().unwrap();
    // Latest first: the status change, then the edit of that same save.
    assert_eq!(changes[0]["action"], "status", "{log}");
    assert_eq!(
        changes[0]["summary"], "Statut\u{a0}: publié → archivé.",
        "{log}"
    );
    assert_eq!(changes[0]["actor"], "equipe@guichet.test");
    assert!(
        changes[1]["summary"].as_str().unwrap().contains("titre"),
        "{log}"
    );
}

#[tokio::test]
async fn rates_are_percentages_from_0_to_100_and_errors_name_the_field() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    for (field, key) in [
        ("funding.rateMin", "rateMin"),
        ("funding.rateMax", "rateMax"),
        ("funding.maxPublicAidRate", "maxPublicAidRate"),
        ("funding.typicalRate", "typicalRate"),
        ("funding.euCofundingRate", "euCofundingRate"),
    ] {
        for bad in [150.0, -1.0, 100.5] {
            let mut input = scheme_input("taux-invalide");
            input["funding"] = json!({ key: bad });
            let body = app
                .graphql_as(Some(&staff), CREATE, json!({ "input": input }))
                .await;
            assert_eq!(error_code(&body), "VALIDATION", "{key}={bad}: {body}");
            assert_eq!(error_field(&body), field, "{body}");
            assert!(
                body["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("de 0 à 100"),
                "{body}"
            );
        }
    }
    // Nothing was half-written.
    let body = app
        .graphql_as(
            Some(&staff),
            "{ scheme(slug: \"taux-invalide\") { slug } }",
            json!({}),
        )
        .await;
    assert!(body["data"]["scheme"].is_null(), "{body}");
    // 0, 100 and 0.3 (0,3 %) are percentages.
    let mut input = scheme_input("taux-limites");
    input["funding"] = json!({ "rateMin": 0.3, "rateMax": 100, "maxPublicAidRate": 0 });
    let body = app
        .graphql_as(Some(&staff), CREATE, json!({ "input": input }))
        .await;
    assert_eq!(body["data"]["createScheme"]["status"], "DRAFT", "{body}");
    // The schema says how rates are written.
    let schema = app
        .graphql(
            "{ __type(name: \"FundingInput\") { inputFields { name description } } }",
            json!({}),
        )
        .await;
    let fields = schema["data"]["__type"]["inputFields"].as_array().unwrap();
    for name in [
        "rateMin",
        "rateMax",
        "maxPublicAidRate",
        "typicalRate",
        "euCofundingRate",
    ] {
        let field = fields.iter().find(|f| f["name"] == name).unwrap();
        assert!(
            field["description"]
                .as_str()
                .unwrap()
                .contains("en pourcentage, de 0 à 100"),
            "{name}: {schema}"
        );
    }
}

#[tokio::test]
async fn a_funder_editor_drafts_asks_is_sent_back_and_staff_publish() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    let editor = editor_token(&app, "redaction@grandest.test", "region-grand-est").await;
    let slug = "aide-editeur-grand-est";

    // The editor drafts a scheme of its funder: a draft, whatever status it asks for…
    let body = app
        .graphql_as(
            Some(&editor),
            CREATE,
            json!({ "input": input_of(slug, "region-grand-est") }),
        )
        .await;
    assert_eq!(body["data"]["createScheme"]["status"], "DRAFT", "{body}");
    // …and the funder as Guichet holds it (an editor does not rename funders).
    assert_eq!(
        body["data"]["createScheme"]["funders"][0]["name"], "Région Grand Est",
        "{body}"
    );
    let mut published = input_of("aide-editeur-publiee", "region-grand-est");
    published["status"] = json!("PUBLISHED");
    let body = app
        .graphql_as(Some(&editor), CREATE, json!({ "input": published }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "status");

    // It sees its draft (the public does not), but cannot publish it.
    let seen = app
        .graphql_as(
            Some(&editor),
            "query($slug: String!) { scheme(slug: $slug) { status } schemes(status: [DRAFT], first: 100) { nodes { slug } } }",
            json!({ "slug": slug }),
        )
        .await;
    assert_eq!(seen["data"]["scheme"]["status"], "DRAFT", "{seen}");
    let drafts: Vec<&str> = seen["data"]["schemes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap())
        .collect();
    assert_eq!(drafts, [slug], "only its funder's drafts: {seen}");
    let public = app
        .graphql(
            "query($slug: String!) { scheme(slug: $slug) { status } }",
            json!({ "slug": slug }),
        )
        .await;
    assert!(public["data"]["scheme"].is_null(), "{public}");
    let body = app
        .graphql_as(Some(&editor), PUBLISH, json!({ "slug": slug }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");

    // It asks for publication: staff are mailed and see what waits.
    let body = app
        .graphql_as(Some(&editor), REQUEST, json!({ "slug": slug }))
        .await;
    assert!(
        body["data"]["requestPublication"]["publicationRequestedAt"].is_string(),
        "{body}"
    );
    let asked = mails(&app, "publication_requested").await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].0, "equipe@guichet.test");
    assert!(asked[0].2.contains("redaction@grandest.test"), "{asked:?}");
    assert!(asked[0].2.contains(&format!("/gestion/dispositifs/{slug}")));
    let waiting = app.graphql_as(Some(&staff), WAITING, json!({})).await;
    assert_eq!(waiting["data"]["schemes"]["total"], 1, "{waiting}");
    assert_eq!(waiting["data"]["schemes"]["nodes"][0]["slug"], slug);
    // The public sees nothing waiting.
    let waiting = app.graphql(WAITING, json!({})).await;
    assert_eq!(waiting["data"]["schemes"]["total"], 0, "{waiting}");

    // Staff send it back with a comment: the editor is mailed and reads the comment.
    let body = app
        .graphql_as(
            Some(&staff),
            SEND_BACK,
            json!({ "slug": slug, "comment": "  " }),
        )
        .await;
    assert_eq!(error_field(&body), "comment", "{body}");
    let body = app
        .graphql_as(
            Some(&staff),
            SEND_BACK,
            json!({ "slug": slug, "comment": "Indiquez la date limite de dépôt." }),
        )
        .await;
    let sent_back = &body["data"]["sendBackScheme"];
    assert!(sent_back["publicationRequestedAt"].is_null(), "{body}");
    assert_eq!(
        sent_back["reviewComment"],
        "Indiquez la date limite de dépôt."
    );
    let back = mails(&app, "scheme_sent_back").await;
    assert_eq!(back.len(), 1, "{back:?}");
    assert_eq!(back[0].0, "redaction@grandest.test");
    assert!(back[0].2.contains("Indiquez la date limite de dépôt."));
    let waiting = app.graphql_as(Some(&staff), WAITING, json!({})).await;
    assert_eq!(waiting["data"]["schemes"]["total"], 0, "{waiting}");

    // The editor edits (without status: still a draft, the comment still there) and asks
    // again.
    let mut input = input_of(slug, "region-grand-est");
    input["calendar"] = json!({ "recurrence": "ONE_OFF", "closesOn": "2027-03-31" });
    let body = app
        .graphql_as(
            Some(&editor),
            UPDATE,
            json!({ "slug": slug, "input": input }),
        )
        .await;
    assert_eq!(body["data"]["updateScheme"]["status"], "DRAFT", "{body}");
    assert_eq!(
        body["data"]["updateScheme"]["reviewComment"],
        "Indiquez la date limite de dépôt."
    );
    let body = app
        .graphql_as(Some(&editor), REQUEST, json!({ "slug": slug }))
        .await;
    assert!(
        body["data"]["requestPublication"]["publicationRequestedAt"].is_string(),
        "{body}"
    );

    // Staff publish: the request and the comment are cleared, the editor is told, the
    // public finds it.
    let body = app
        .graphql_as(Some(&staff), PUBLISH, json!({ "slug": slug }))
        .await;
    let done = &body["data"]["publishScheme"];
    assert_eq!(done["status"], "PUBLISHED", "{body}");
    assert!(done["publicationRequestedAt"].is_null());
    assert!(done["reviewComment"].is_null());
    let told = mails(&app, "scheme_published").await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "redaction@grandest.test");
    let public = app
        .graphql(
            "query($slug: String!) { scheme(slug: $slug) { status } }",
            json!({ "slug": slug }),
        )
        .await;
    assert_eq!(public["data"]["scheme"]["status"], "PUBLISHED", "{public}");

    // A published scheme is staff's to change.
    let body = app
        .graphql_as(
            Some(&editor),
            UPDATE,
            json!({ "slug": slug, "input": input_of(slug, "region-grand-est") }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT", "{body}");

    // The editor reads the change log of its scheme, latest first.
    let log = app
        .graphql_as(
            Some(&editor),
            "query($slug: String!) { scheme(slug: $slug) { changes { action summary } } }",
            json!({ "slug": slug }),
        )
        .await;
    let actions: Vec<&str> = log["data"]["scheme"]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("{log}"))
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "status",
            "publication_requested",
            "update",
            "sent_back",
            "publication_requested",
            "create"
        ],
        "{log}"
    );
}

#[tokio::test]
async fn an_editor_curates_its_services_schemes_and_no_other_funder_s() {
    let app = TestApp::spawn().await;
    let staff = app.staff_token().await;
    // A territorial antenna of the Région, as helper R's `parent` will set it.
    let body = app
        .graphql_as(
            Some(&staff),
            "mutation { upsertFunder(input: { slug: \"region-grand-est-antenne-chaumont\", name: \"Région Grand Est — antenne de Chaumont\", kind: REGION }) { slug } }",
            json!({}),
        )
        .await;
    assert!(body["errors"].is_null(), "{body}");
    let parent = catalog::funder::get(&app.state.db, "region-grand-est")
        .await
        .unwrap()
        .unwrap();
    catalog::entity::funder::Entity::update_many()
        .col_expr(
            catalog::entity::funder::Column::ParentId,
            Expr::value(parent.id),
        )
        .filter(catalog::entity::funder::Column::Slug.eq("region-grand-est-antenne-chaumont"))
        .exec(&app.state.db)
        .await
        .unwrap();
    let editor = editor_token(&app, "redaction@grandest.test", "region-grand-est").await;
    let other = editor_token(&app, "redaction@occitanie.test", "region-occitanie").await;

    // The Région's editor drafts a scheme of its antenna.
    let slug = "aide-antenne-chaumont";
    let body = app
        .graphql_as(
            Some(&editor),
            CREATE,
            json!({ "input": input_of(slug, "region-grand-est-antenne-chaumont") }),
        )
        .await;
    assert_eq!(body["data"]["createScheme"]["status"], "DRAFT", "{body}");

    // Another funder's editor neither reads, edits nor asks for it, nor drafts for that
    // funder, nor creates an unknown funder.
    let body = app
        .graphql_as(
            Some(&other),
            "query($slug: String!) { scheme(slug: $slug) { slug } }",
            json!({ "slug": slug }),
        )
        .await;
    assert!(body["data"]["scheme"].is_null(), "{body}");
    let body = app
        .graphql_as(
            Some(&other),
            UPDATE,
            json!({ "slug": slug, "input": input_of(slug, "region-occitanie") }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .graphql_as(Some(&other), REQUEST, json!({ "slug": slug }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let body = app
        .graphql_as(
            Some(&other),
            CREATE,
            json!({ "input": input_of("aide-usurpee", "region-grand-est") }),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "funders");
    let body = app
        .graphql_as(
            Some(&other),
            CREATE,
            json!({ "input": input_of("aide-financeur-invente", "financeur-invente") }),
        )
        .await;
    assert_eq!(error_field(&body), "funders.0.slug", "{body}");
    assert!(
        catalog::funder::get(&app.state.db, "financeur-invente")
            .await
            .unwrap()
            .is_none()
    );
    let body = app
        .graphql_as(
            Some(&other),
            "{ schemes(status: [DRAFT], first: 100) { total } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["schemes"]["total"], 0, "{body}");

    // A funder agent without `editor`, and a holder, draft nothing.
    let agent = app
        .token_for(
            "agent@grandest.test",
            catalog::Role::Funder,
            Some("region-grand-est"),
        )
        .await;
    let holder = app
        .token_for("maire@village.test", catalog::Role::Holder, None)
        .await;
    for token in [&agent, &holder] {
        let body = app
            .graphql_as(
                Some(token),
                CREATE,
                json!({ "input": input_of("aide-sans-droit", "region-grand-est") }),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    let body = app
        .graphql(
            CREATE,
            json!({ "input": input_of("aide-anonyme", "region-grand-est") }),
        )
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
}

/// The slugs `searchSchemes` finds for this text.
async fn found(app: &TestApp, text: &str) -> Vec<String> {
    let body = app
        .graphql(
            "query($text: String) { searchSchemes(text: $text, first: 100) { hits { scheme { slug } } } }",
            json!({ "text": text }),
        )
        .await;
    body["data"]["searchSchemes"]["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|h| h["scheme"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_change_through_the_domain_is_searchable_at_once_without_the_resolver() {
    let app = TestApp::spawn().await;
    let fx = &app.state.effects;
    let staff = catalog::Actor::Operator;
    let mut record: catalog::scheme::SchemeRecord =
        catalog::scheme::SchemeRecord::from_json(input_of("aide-zephyrine", "region-grand-est"))
            .unwrap();
    record.title = "Aide zéphyrine aux lavoirs".into();
    record.status = Some(catalog::vocab::SchemeStatus::Published);
    // No resolver, no sync: the domain call alone makes it searchable.
    catalog::scheme::create(
        &app.state.db,
        fx,
        &staff,
        &app.state.territories,
        record.clone(),
    )
    .await
    .unwrap();
    assert_eq!(found(&app, "zéphyrine").await, ["aide-zephyrine"]);

    // Archived through the domain: gone from search at once.
    catalog::scheme::set_status(
        &app.state.db,
        fx,
        &staff,
        "aide-zephyrine",
        catalog::vocab::SchemeStatus::Archived,
    )
    .await
    .unwrap();
    assert!(found(&app, "zéphyrine").await.is_empty());

    // A synonym set through the domain is used at once.
    catalog::scheme::set_status(
        &app.state.db,
        fx,
        &staff,
        "aide-zephyrine",
        catalog::vocab::SchemeStatus::Published,
    )
    .await
    .unwrap();
    assert!(
        found(&app, "buanderie")
            .await
            .iter()
            .all(|s| s != "aide-zephyrine")
    );
    catalog::synonym::set(
        &app.state.db,
        fx,
        &staff,
        catalog::synonym::Group {
            term: "lavoir".into(),
            synonyms: vec!["buanderie".into()],
        },
    )
    .await
    .unwrap();
    assert!(
        found(&app, "buanderie")
            .await
            .iter()
            .any(|s| s == "aide-zephyrine")
    );

    // A funder renamed through the domain: its schemes are found under the new name.
    let mut funder = catalog::funder::get(&app.state.db, "region-grand-est")
        .await
        .unwrap()
        .unwrap()
        .record;
    funder.name = "Région Grand Est Quetzalcoatl".into();
    catalog::funder::upsert(&app.state.db, fx, &staff, &app.state.territories, funder)
        .await
        .unwrap();
    assert!(
        found(&app, "quetzalcoatl")
            .await
            .iter()
            .any(|s| s == "aide-zephyrine")
    );

    // Without an index (the command line), the same calls work and the server catches up
    // at its sync.
    let offline = catalog::Effects::offline("http://exemple.test");
    let mut other = record;
    other.slug = "aide-zephyrine-hors-ligne".into();
    other.title = "Aide xylophage hors ligne".into();
    catalog::scheme::create(
        &app.state.db,
        &offline,
        &staff,
        &app.state.territories,
        other,
    )
    .await
    .unwrap();
    assert!(found(&app, "xylophage").await.is_empty(), "not yet");
    app.state.search.sync(&app.state.db).await.unwrap();
    assert_eq!(
        found(&app, "xylophage").await,
        ["aide-zephyrine-hors-ligne"]
    );
}
