//! Funders as they are organised (issue 14): a network of local services, each dossier
//! routed to the most local service whose jurisdiction contains the project's commune, who
//! sees what in a network, who receives, and an agent who arrives after the dossiers.

use serde_json::{Value, json};

use crate::dossiers::{HOLDER_EMAIL, SUBMIT, outbox};
use crate::helpers::{TestApp, error_code, error_field, scheme_input};

const HEAD: &str = "etat-reseau-test";
const HAUTE_MARNE: &str = "prefecture-haute-marne-test";
const JURA: &str = "prefecture-jura-test";
/// Below the Haute-Marne préfecture: the EPCI of Chaumont (200068658), Ageville's.
const ANTENNE: &str = "antenne-chaumont-test";
const SCHEMES: [&str; 2] = ["detr-reseau-test", "dsil-reseau-test"];

struct Network {
    app: TestApp,
    staff: String,
    holder: String,
}

const UPSERT: &str = "mutation($input: FunderInput!) { upsertFunder(input: $input) {
  slug parent { slug } jurisdiction receives services { slug } } }";

impl Network {
    async fn new() -> Network {
        let app = TestApp::spawn().await;
        let staff = app.staff_token().await;
        let holder = app
            .token_for(HOLDER_EMAIL, catalog::Role::Holder, None)
            .await;
        let n = Network { app, staff, holder };
        for (slug, name, parent, jurisdiction) in [
            (HEAD, "État — réseau test", None, vec![]),
            (
                HAUTE_MARNE,
                "Préfecture de la Haute-Marne (test)",
                Some(HEAD),
                vec!["52"],
            ),
            (JURA, "Préfecture du Jura (test)", Some(HEAD), vec!["39"]),
            (
                ANTENNE,
                "Antenne de Chaumont (test)",
                Some(HAUTE_MARNE),
                vec!["200068658"],
            ),
        ] {
            n.ok(
                &n.staff.clone(),
                UPSERT,
                json!({ "input": { "slug": slug, "name": name, "kind": "STATE",
                                   "parent": parent, "jurisdiction": jurisdiction } }),
            )
            .await;
        }
        for slug in SCHEMES {
            let mut input = scheme_input(slug);
            input["funders"] =
                json!([{ "slug": HEAD, "name": "État — réseau test", "kind": "STATE" }]);
            input["perimeter"] = json!({ "departments": ["52", "39", "21"] });
            n.ok(
                &n.staff.clone(),
                "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
                json!({ "input": input }),
            )
            .await;
            n.ok(
                &n.staff.clone(),
                "mutation($slug: String!) { publishScheme(slug: $slug) { status } }",
                json!({ "slug": slug }),
            )
            .await;
        }
        n
    }

    async fn as_(&self, token: &str, query: &str, variables: Value) -> Value {
        self.app.graphql_as(Some(token), query, variables).await
    }

    async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.as_(token, query, variables).await;
        assert!(body["errors"].is_null(), "{query}: {body}");
        body["data"].clone()
    }

    async fn agent(&self, email: &str, funder: &str) -> String {
        self.app
            .token_for(email, catalog::Role::Funder, Some(funder))
            .await
    }

    /// A complete draft of the holder for a project in `commune`, asking 20,000 € of each
    /// network scheme; returns its id.
    async fn draft(&self, commune: &str) -> String {
        let mut input = crate::dossiers::complete_input();
        input["project"]["communeCode"] = json!(commune);
        input["financingPlan"] = json!({
            "ownFunds": 60000,
            "lines": SCHEMES.iter().map(|s| json!({ "schemeSlug": s, "amount": 20000 })).collect::<Vec<_>>()
        });
        let data = self
            .ok(
                &self.holder,
                "mutation($input: DossierInput!) { createDossier(input: $input) { id missing { field } } }",
                json!({ "input": input }),
            )
            .await;
        assert_eq!(data["createDossier"]["missing"], json!([]), "{data}");
        data["createDossier"]["id"].as_str().unwrap().to_owned()
    }

    async fn submit(&self, id: &str) -> Value {
        self.as_(
            &self.holder,
            SUBMIT,
            json!({ "id": id, "slugs": SCHEMES, "key": format!("depot-reseau-{id}") }),
        )
        .await
    }

    async fn inbox(&self, token: &str) -> Vec<String> {
        let data = self
            .ok(token, "{ dossiers(first: 50) { nodes { id } } }", json!({}))
            .await;
        let mut ids: Vec<String> = data["dossiers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// The match of the first network scheme for a project in Ageville.
    async fn detr_match(&self) -> Value {
        let data = self
            .ok(
                &self.holder,
                "{ matchProject(project: {holderType: COMMUNE, communeCode: \"52001\", totalCost: 100000}) {
                    matches { scheme { slug receivesInGuichet } receivesInGuichet recipients { slug } } } }",
                json!({}),
            )
            .await;
        data["matchProject"]["matches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["scheme"]["slug"] == SCHEMES[0])
            .cloned()
            .unwrap_or_else(|| panic!("no match for the network scheme: {data}"))
    }

    async fn review_id(&self, dossier: &str) -> String {
        let data = self
            .ok(
                &self.staff,
                "query($id: ID!) { dossier(id: $id) { reviews { id } } }",
                json!({ "id": dossier }),
            )
            .await;
        data["dossier"]["reviews"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

#[tokio::test]
async fn a_network_is_validated_and_shown() {
    let n = Network::new().await;
    let data = n
        .ok(
            &n.staff,
            "{ funder(slug: \"etat-reseau-test\") { services { slug parent { slug } jurisdiction } parent { slug } receives } }",
            json!({}),
        )
        .await;
    let services = data["funder"]["services"].as_array().unwrap();
    let slugs: Vec<&str> = services
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert!(
        slugs.contains(&HAUTE_MARNE) && slugs.contains(&JURA),
        "{data}"
    );
    assert!(!slugs.contains(&ANTENNE), "only direct services: {data}");
    assert_eq!(data["funder"]["parent"], Value::Null);
    assert_eq!(data["funder"]["receives"], false);
    let jura = services.iter().find(|s| s["slug"] == JURA).unwrap();
    assert_eq!(jura["jurisdiction"], json!(["39"]));
    assert_eq!(jura["parent"]["slug"], HEAD);

    for (input, field) in [
        (
            json!({ "slug": "x-test", "name": "X", "kind": "STATE", "parent": "inconnu" }),
            "parent",
        ),
        // The head under its own grandchild: a cycle.
        (
            json!({ "slug": HEAD, "name": "État — réseau test", "kind": "STATE", "parent": ANTENNE }),
            "parent",
        ),
        (
            json!({ "slug": "x-test", "name": "X", "kind": "STATE", "parent": HEAD, "jurisdiction": ["99999"] }),
            "jurisdiction.0",
        ),
        (
            json!({ "slug": "x-test", "name": "X", "kind": "STATE", "parent": HEAD, "jurisdiction": ["zoning:pas-de-tel-zonage"] }),
            "jurisdiction",
        ),
    ] {
        let body = n.as_(&n.staff, UPSERT, json!({ "input": input })).await;
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(error_field(&body), field, "{body}");
    }
    // Nothing was written by the refusals.
    let data = n
        .ok(&n.staff, "{ funder(slug: \"x-test\") { slug } f: funder(slug: \"etat-reseau-test\") { parent { slug } } }", json!({}))
        .await;
    assert_eq!(data["funder"], Value::Null);
    assert_eq!(data["f"]["parent"], Value::Null);
    // A seed GAL names its zoning: zonings are accepted when known.
    let data = n
        .ok(
            &n.staff,
            UPSERT,
            json!({ "input": { "slug": "gal-test", "name": "GAL test", "kind": "OTHER",
                               "parent": HEAD, "jurisdiction": ["zoning:leader-gal-pays-de-chaumont"] } }),
        )
        .await;
    assert_eq!(
        data["upsertFunder"]["jurisdiction"],
        json!(["zoning:leader-gal-pays-de-chaumont"])
    );
    // Re-saving without parent and jurisdiction keeps them (a scheme naming its funder by
    // slug, name and kind only must not erase them).
    let data = n
        .ok(
            &n.staff,
            UPSERT,
            json!({ "input": { "slug": JURA, "name": "Préfecture du Jura (test)", "kind": "STATE" } }),
        )
        .await;
    assert_eq!(data["upsertFunder"]["parent"]["slug"], HEAD);
    assert_eq!(data["upsertFunder"]["jurisdiction"], json!(["39"]));
}

#[tokio::test]
async fn a_funder_that_cannot_receive_is_refused_and_said_so() {
    let n = Network::new().await;
    let id = n.draft("52001").await;
    let body = n.submit(&id).await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "schemeSlugs");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("Aide au dernier commerce — test")
            && message.contains("ne reçoit pas encore les dossiers par Guichet"),
        "{message}"
    );
    // Nothing was sent: still a draft, no mail.
    let data = n
        .ok(
            &n.holder,
            "query($id: ID!) { dossier(id: $id) { status reviews { id } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["dossier"]["status"], "DRAFT");
    assert!(outbox(&n.app).await.is_empty());

    let data = n.detr_match().await;
    let detr = data;
    assert_eq!(detr["receivesInGuichet"], false);
    assert_eq!(detr["scheme"]["receivesInGuichet"], false);
    assert_eq!(detr["recipients"], json!([{ "slug": ANTENNE }]));

    // A contact address on the head: every service of the network receives through it.
    n.ok(
        &n.staff,
        UPSERT,
        json!({ "input": { "slug": HEAD, "name": "État — réseau test", "kind": "STATE",
                           "contactEmail": "courrier@etat-reseau.test" } }),
    )
    .await;
    let data = n.detr_match().await;
    let detr = data;
    assert_eq!(detr["receivesInGuichet"], true, "{detr}");
    let body = n.submit(&id).await;
    assert!(body["errors"].is_null(), "{body}");
    // The antenne has no reader: the head's address is told, naming the antenne.
    let mails = catalog::outbox::all(&n.app.state.db).await.unwrap();
    let received: Vec<_> = mails
        .iter()
        .filter(|m| m.template == "dossier_received")
        .collect();
    assert_eq!(received.len(), 1, "{mails:?}");
    assert_eq!(received[0].recipient, "courrier@etat-reseau.test");
    assert!(received[0].subject.contains("Antenne de Chaumont (test)"));
}

#[tokio::test]
async fn dossiers_reach_the_most_local_service_and_agents_see_their_part() {
    let n = Network::new().await;
    let head_agent = n.agent("national@etat-reseau.test", HEAD).await;
    let agent_52 = n.agent("agent@haute-marne.test", HAUTE_MARNE).await;
    let agent_39 = n.agent("agent@jura.test", JURA).await;

    // Ageville (52001, EPCI of Chaumont): the antenne, the deepest service containing it.
    // Two schemes of the same network make one review.
    let ageville = n.draft("52001").await;
    let body = n.submit(&ageville).await;
    assert!(body["errors"].is_null(), "{body}");
    let reviews = &body["data"]["submitDossier"]["reviews"];
    assert_eq!(reviews.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(reviews[0]["funder"]["slug"], ANTENNE);
    assert_eq!(reviews[0]["requestedAmount"], 40000);
    // Arinthod (39016, Jura): the Jura préfecture.
    let jura = n.draft("39016").await;
    let body = n.submit(&jura).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["submitDossier"]["reviews"][0]["funder"]["slug"],
        JURA
    );
    // Ahuy (21003, Côte-d'Or): no service there, the head itself.
    let cote_dor = n.draft("21003").await;
    let body = n.submit(&cote_dor).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["submitDossier"]["reviews"][0]["funder"]["slug"],
        HEAD
    );

    // The antenne has no agent: the Haute-Marne préfecture's agent is told; the Jura
    // préfecture's agent only of the Jura dossier; the event names the service.
    let mails = outbox(&n.app).await;
    let told = |who: &str| {
        mails
            .iter()
            .filter(|(t, r)| t == "dossier_received" && r == who)
            .count()
    };
    assert_eq!(told("agent@haute-marne.test"), 1, "{mails:?}");
    assert_eq!(told("agent@jura.test"), 1, "{mails:?}");
    assert_eq!(told("national@etat-reseau.test"), 1, "{mails:?}");
    let data = n
        .ok(
            &n.holder,
            "query($id: ID!) { dossier(id: $id) { events { action detail } } }",
            json!({ "id": ageville }),
        )
        .await;
    assert!(
        data.to_string().contains("Antenne de Chaumont (test)"),
        "{data}"
    );

    // Who sees what: the Haute-Marne agent sees the Ageville dossier (its sub-service's),
    // not the Jura one; the Jura agent the Jura one only; the head agent all three.
    let mut expected = vec![ageville.clone()];
    expected.sort();
    assert_eq!(n.inbox(&agent_52).await, expected);
    assert_eq!(n.inbox(&agent_39).await, vec![jura.clone()]);
    let mut all = vec![ageville.clone(), jura.clone(), cote_dor.clone()];
    all.sort();
    assert_eq!(n.inbox(&head_agent).await, all);
    let body = n
        .as_(
            &agent_39,
            "query($id: ID!) { dossier(id: $id) { id } }",
            json!({ "id": ageville }),
        )
        .await;
    assert_eq!(body["data"]["dossier"], Value::Null, "{body}");

    // Read-only: neither the head agent nor the préfecture acts on the antenne's review.
    let review = n.review_id(&ageville).await;
    for token in [&head_agent, &agent_52] {
        let body = n
            .as_(
                token,
                "mutation($id: ID!) { startReview(reviewId: $id) { status } }",
                json!({ "id": review }),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        let body = n
            .as_(
                token,
                crate::dossiers::DECIDE,
                json!({ "id": review, "decision": "REFUSED", "motivation": "Hors délai." }),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        let body = n
            .as_(
                token,
                "mutation($id: ID!) { requestInformation(dossierId: $id, question: \"Quel calendrier ?\") { id } }",
                json!({ "id": ageville }),
            )
            .await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    }
    // The head agent acts on what is routed to the head itself.
    let review = n.review_id(&cote_dor).await;
    let data = n
        .ok(
            &head_agent,
            "mutation($id: ID!) { startReview(reviewId: $id) { status } }",
            json!({ "id": review }),
        )
        .await;
    assert_eq!(data["startReview"]["status"], "IN_REVIEW");
    // The Jura agent acts on the Jura dossier.
    let review = n.review_id(&jura).await;
    let data = n
        .ok(
            &agent_39,
            "mutation($id: ID!) { startReview(reviewId: $id) { status } }",
            json!({ "id": review }),
        )
        .await;
    assert_eq!(data["startReview"]["status"], "IN_REVIEW");
}

#[tokio::test]
async fn an_agent_added_later_finds_the_waiting_dossiers_and_one_digest() {
    let n = Network::new().await;
    // The head reads the mail of the network until the antenne has an agent.
    n.agent("national@etat-reseau.test", HEAD).await;
    let first = n.draft("52001").await;
    assert!(n.submit(&first).await["errors"].is_null());
    let second = n.draft("52001").await;
    assert!(n.submit(&second).await["errors"].is_null());
    let references = n
        .ok(
            &n.staff,
            "query($a: ID!, $b: ID!) { a: dossier(id: $a) { reference } b: dossier(id: $b) { reference } }",
            json!({ "a": first, "b": second }),
        )
        .await;
    // Only staff invite.
    let body = n
        .as_(
            &n.holder,
            "mutation { inviteAgent(funder: \"antenne-chaumont-test\", email: \"x@y.test\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
    let before = catalog::outbox::all(&n.app.state.db).await.unwrap().len();
    let data = n
        .ok(
            &n.staff,
            "mutation { inviteAgent(funder: \"antenne-chaumont-test\", email: \"Nouvel.Agent@Chaumont.test\", editor: true) {
                id email role funder { slug } } }",
            json!({}),
        )
        .await;
    let account = &data["inviteAgent"];
    assert_eq!(account["role"], "FUNDER");
    let stored = catalog::account::find_by_email(
        &n.app.state.db,
        &catalog::email::Email::parse("nouvel.agent@chaumont.test").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(stored.editor);
    assert_eq!(account["funder"]["slug"], ANTENNE);
    let mails = catalog::outbox::all(&n.app.state.db).await.unwrap();
    let new: Vec<_> = mails[before..].iter().collect();
    let to_agent: Vec<&str> = new
        .iter()
        .filter(|m| m.recipient == "nouvel.agent@chaumont.test")
        .map(|m| m.template.as_str())
        .collect();
    assert_eq!(to_agent, ["agent_invited", "agent_digest"], "{new:?}");
    let digest = new.iter().find(|m| m.template == "agent_digest").unwrap();
    assert!(
        digest.subject.starts_with("2 dossiers"),
        "{}",
        digest.subject
    );
    for reference in [&references["a"]["reference"], &references["b"]["reference"]] {
        assert!(
            digest.body_text.contains(reference.as_str().unwrap()),
            "{}",
            digest.body_text
        );
    }
    let invite = new.iter().find(|m| m.template == "agent_invited").unwrap();
    assert!(
        invite.body_text.contains("/login?token=lien_"),
        "{}",
        invite.body_text
    );
    // Its inbox shows them, and it acts on them.
    let agent =
        catalog::account::issue_api_token(&n.app.state.db, "nouvel.agent@chaumont.test", None)
            .await
            .unwrap()
            .1;
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort();
    assert_eq!(n.inbox(&agent).await, expected);
    let review = n.review_id(&first).await;
    let data = n
        .ok(
            &agent,
            "mutation($id: ID!) { startReview(reviewId: $id) { status } }",
            json!({ "id": review }),
        )
        .await;
    assert_eq!(data["startReview"]["status"], "IN_REVIEW");
    // The agents of the antenne, as staff and as the agent see them; nobody else does.
    let query = "{ funder(slug: \"antenne-chaumont-test\") { agents { email } } }";
    let data = n.ok(&n.staff, query, json!({})).await;
    assert_eq!(
        data["funder"]["agents"],
        json!([{ "email": "nouvel.agent@chaumont.test" }])
    );
    let data = n.ok(&n.holder, query, json!({})).await;
    assert_eq!(data["funder"]["agents"], json!([]));

    // Removed: a holder again, its token revoked.
    let id = account["id"].as_str().unwrap();
    let data = n
        .ok(
            &n.staff,
            "mutation($id: ID!) { removeAgent(accountId: $id) { role funder { slug } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["removeAgent"]["role"], "HOLDER");
    assert_eq!(data["removeAgent"]["funder"], Value::Null);
    let body = n.as_(&agent, "{ me { role } }", json!({})).await;
    assert_ne!(body["data"]["me"]["role"], "FUNDER", "{body}");
}

#[tokio::test]
async fn a_scheme_naming_a_service_round_trips_through_the_json_export() {
    let dir = tempfile::TempDir::new().unwrap();
    let url = crate::helpers::fresh_database(dir.path(), false).await;
    let head = json!({ "slug": HEAD, "name": "État — réseau test", "kind": "STATE" });
    let service = json!({ "slug": HAUTE_MARNE, "name": "Préfecture de la Haute-Marne (test)",
                          "kind": "STATE", "parent": HEAD, "jurisdiction": ["52", "REGION:44"] });
    let mut first = scheme_input("aide-nationale-test");
    first["funders"] = json!([head]);
    first["status"] = json!("PUBLISHED");
    let mut second = scheme_input("aide-locale-test");
    second["funders"] = json!([service]);
    second["status"] = json!("PUBLISHED");
    let file = dir.path().join("schemes.json");
    std::fs::write(&file, json!([first, second]).to_string()).unwrap();
    crate::helpers::guichet_ok(dir.path(), &url, &["import", file.to_str().unwrap()]);
    let exported = crate::helpers::guichet_ok(dir.path(), &url, &["export", "--format", "guichet"]);
    let records: Vec<Value> = serde_json::from_str(&exported).unwrap();
    let local = records
        .iter()
        .find(|r| r["slug"] == "aide-locale-test")
        .unwrap();
    assert_eq!(local["funders"][0]["parent"], HEAD, "{local}");
    assert_eq!(
        local["funders"][0]["jurisdiction"],
        json!(["52", "REGION:44"])
    );
    // Into an empty instance and out again: the same.
    let other = tempfile::TempDir::new().unwrap();
    let other_url = crate::helpers::fresh_database(other.path(), false).await;
    let file = other.path().join("export.json");
    std::fs::write(&file, &exported).unwrap();
    crate::helpers::guichet_ok(
        other.path(),
        &other_url,
        &["import", file.to_str().unwrap()],
    );
    let again =
        crate::helpers::guichet_ok(other.path(), &other_url, &["export", "--format", "guichet"]);
    assert_eq!(exported, again);
}

#[tokio::test]
async fn the_command_line_sends_the_digest_to_an_agent_it_adds() {
    let n = Network::new().await;
    n.agent("national@etat-reseau.test", HEAD).await;
    let id = n.draft("52001").await;
    assert!(n.submit(&id).await["errors"].is_null());
    let url = n.app.state.settings.database_url.clone();
    let out = crate::helpers::guichet_ok(
        n.app.dir.path(),
        &url,
        &[
            "user",
            "add",
            "--email",
            "tard@chaumont.test",
            "--role",
            "funder",
            "--funder",
            ANTENNE,
        ],
    );
    assert!(out.contains("Récapitulatif envoyé : 1 dossier(s)"), "{out}");
    let digests: Vec<_> = catalog::outbox::all(&n.app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.template == "agent_digest" && m.recipient == "tard@chaumont.test")
        .collect();
    assert_eq!(digests.len(), 1);
    assert!(
        digests[0].subject.starts_with("1 dossier en attente"),
        "{}",
        digests[0].subject
    );
}
