//! Shared dossiers end to end: the holder's draft, attachments, one submission to three
//! funders (idempotent, also under concurrent retries), questions answered once, decisions
//! (one winner when two agents decide at once), withdrawal, and who sees what.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_code, error_field, scheme_input};
use crate::multipart::graphql_upload;

/// Three funders, each with one published scheme open to small communes of Haute-Marne, a
/// holder, an agent per funder, another holder, an agent of an unrelated funder, and staff.
pub struct Fixture {
    pub app: TestApp,
    pub staff: String,
    pub holder: String,
    pub other_holder: String,
    /// Agents of the three funders, in the order of [`FUNDERS`].
    pub agents: Vec<String>,
    /// An agent of a funder the dossier is not sent to.
    pub stranger: String,
}

/// (funder slug, name, kind, scheme slug)
pub const FUNDERS: [(&str, &str, &str, &str); 3] = [
    (
        "region-test",
        "Région Test",
        "REGION",
        "commerce-region-test",
    ),
    (
        "departement-test",
        "Département Test",
        "DEPARTMENT",
        "commerce-departement-test",
    ),
    (
        "caf-test",
        "CAF Test",
        "SOCIAL_SECURITY",
        "commerce-caf-test",
    ),
];

pub const HOLDER_EMAIL: &str = "maire@ageville.test";

/// POSTs a GraphQL request to the server at `base_url`, optionally with a bearer token;
/// returns the JSON body.
pub async fn graphql_at(
    client: &reqwest::Client,
    base_url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(format!("{base_url}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

/// Publishes, as `staff`, the scheme of each of [`FUNDERS`] (with its funder and contact
/// address) on the server at `base_url`.
pub async fn publish_schemes(client: &reqwest::Client, base_url: &str, staff: &str) {
    for (funder, name, kind, slug) in FUNDERS {
        let mut input = scheme_input(slug);
        input["funders"] = json!([{ "slug": funder, "name": name, "kind": kind,
                                    "contactEmail": format!("contact@{funder}.test") }]);
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
            let body = graphql_at(client, base_url, Some(staff), mutation, variables).await;
            assert!(body["errors"].is_null(), "{body}");
        }
    }
}

impl Fixture {
    pub async fn new() -> Fixture {
        Self::with_app(TestApp::spawn().await).await
    }

    pub async fn with_app(app: TestApp) -> Fixture {
        let staff = app.staff_token().await;
        publish_schemes(&app.client, &app.address, &staff).await;
        // A funder with no scheme in the dossier.
        let body = app
            .graphql_as(
                Some(&staff),
                "mutation { upsertFunder(input: {slug: \"fondation-tierce\", name: \"Fondation tierce\", kind: FOUNDATION}) { slug } }",
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        let holder = app
            .token_for(HOLDER_EMAIL, catalog::Role::Holder, None)
            .await;
        let other_holder = app
            .token_for("asso@autre.test", catalog::Role::Holder, None)
            .await;
        let mut agents = Vec::new();
        for (funder, ..) in FUNDERS {
            agents.push(
                app.token_for(
                    &format!("agent@{funder}.test"),
                    catalog::Role::Funder,
                    Some(funder),
                )
                .await,
            );
        }
        let stranger = app
            .token_for(
                "agent@fondation-tierce.test",
                catalog::Role::Funder,
                Some("fondation-tierce"),
            )
            .await;
        Fixture {
            app,
            staff,
            holder,
            other_holder,
            agents,
            stranger,
        }
    }

    pub async fn as_(&self, token: &str, query: &str, variables: Value) -> Value {
        self.app.graphql_as(Some(token), query, variables).await
    }

    /// Runs a query that must succeed; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.as_(token, query, variables).await;
        assert!(body["errors"].is_null(), "{query}: {body}");
        body["data"].clone()
    }

    /// A complete draft of the holder; returns its id.
    pub async fn complete_draft(&self) -> String {
        let data = self
            .ok(
                &self.holder,
                "mutation($input: DossierInput!) { createDossier(input: $input) { id status missing { field } } }",
                json!({ "input": complete_input() }),
            )
            .await;
        assert_eq!(data["createDossier"]["status"], "DRAFT");
        assert_eq!(data["createDossier"]["missing"], json!([]), "{data}");
        data["createDossier"]["id"].as_str().unwrap().to_owned()
    }

    /// A dossier submitted to the three funders; returns its id.
    pub async fn submitted(&self) -> String {
        let id = self.complete_draft().await;
        let data = self
            .ok(
                &self.holder,
                SUBMIT,
                json!({ "id": id, "slugs": scheme_slugs(), "key": format!("depot-{id}-1") }),
            )
            .await;
        assert_eq!(data["submitDossier"]["status"], "SUBMITTED");
        id
    }

    /// The review ids of a dossier, in the order of [`FUNDERS`].
    pub async fn review_ids(&self, dossier: &str) -> Vec<String> {
        let data = self
            .ok(
                &self.staff,
                "query($id: ID!) { dossier(id: $id) { reviews { id funder { slug } } } }",
                json!({ "id": dossier }),
            )
            .await;
        let reviews = data["dossier"]["reviews"].as_array().unwrap();
        FUNDERS
            .iter()
            .map(|(funder, ..)| {
                reviews
                    .iter()
                    .find(|r| r["funder"]["slug"] == *funder)
                    .unwrap_or_else(|| panic!("no review for {funder}: {data}"))["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }
}

pub const SUBMIT: &str = "mutation($id: ID!, $slugs: [String!]!, $key: String!) {
  submitDossier(id: $id, schemeSlugs: $slugs, idempotencyKey: $key) {
    id reference status submittedAt reviews { funder { slug } status requestedAmount } } }";

pub const DECIDE: &str =
    "mutation($id: ID!, $decision: Decision!, $amount: Int, $motivation: String!) {
  decide(reviewId: $id, decision: $decision, amount: $amount, motivation: $motivation) {
    status decision amount motivation decidedAt } }";

pub fn scheme_slugs() -> Vec<&'static str> {
    FUNDERS.iter().map(|f| f.3).collect()
}

/// Ageville (52001) reopens its café: 100,000 €, 40,000 € own funds, 20,000 € from each funder.
pub fn complete_input() -> Value {
    json!({
        "holder": {
            "legalName": "Commune d'Ageville", "holderType": "COMMUNE",
            "siret": "215 202 699 00017", "communeCode": "52001",
            "representative": { "name": "Claire Martin", "role": "Maire",
                                "email": HOLDER_EMAIL, "phone": "03 25 00 00 00" }
        },
        "project": {
            "title": "Réouverture du café-épicerie", "description": "Le dernier café du village a fermé en 2024 ; la commune rachète les murs et rouvre un café-épicerie multiservice.",
            "themes": ["commerce", "revitalisation"], "communeCode": "52001",
            "startsOn": "2027-03-01", "endsOn": "2027-12-31"
        },
        "expenses": [ { "label": "Travaux de rénovation", "amount": 60000 },
                      { "label": "Équipement du café", "amount": 40000 } ],
        "financingPlan": {
            "ownFunds": 40000,
            "lines": FUNDERS.iter().map(|f| json!({ "schemeSlug": f.3, "amount": 20000 })).collect::<Vec<_>>()
        },
        "certified": true
    })
}

/// The outbox, as (template, recipient) pairs.
pub async fn outbox(app: &TestApp) -> Vec<(String, String)> {
    catalog::outbox::all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.template, m.recipient))
        .collect()
}

/// Uploads a file with the GraphQL multipart request convention.
pub async fn upload(
    app: &TestApp,
    token: &str,
    dossier: &str,
    label: &str,
    filename: &str,
    bytes: &[u8],
) -> Value {
    upload_at(
        &app.client,
        &app.address,
        token,
        dossier,
        label,
        filename,
        bytes,
    )
    .await
}

/// [`upload`] to the server at `base_url`; the JSON answer, or the HTTP status and text of a
/// refusal that is not JSON (413).
pub async fn upload_at(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    dossier: &str,
    label: &str,
    filename: &str,
    bytes: &[u8],
) -> Value {
    let (content_type, body) = graphql_upload(
        "mutation($id: ID!, $file: Upload!, $label: String!) { addAttachment(dossierId: $id, file: $file, label: $label) { id label filename contentType size sha256 url } }",
        json!({ "id": dossier, "file": null, "label": label }),
        filename,
        "application/octet-stream",
        bytes,
    );
    let response = client
        .post(format!("{base_url}/graphql"))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    serde_json::from_str(&text)
        .unwrap_or_else(|_| json!({ "httpStatus": status.as_u16(), "text": text }))
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

#[tokio::test]
async fn a_draft_is_saved_piece_by_piece_and_errors_name_the_field() {
    let f = Fixture::new().await;
    let data = f
        .ok(
            &f.holder,
            "mutation { createDossier(input: {}) { id reference status holder { legalName } missing { field } } }",
            json!({}),
        )
        .await;
    let created = &data["createDossier"];
    assert_eq!(created["status"], "DRAFT");
    assert!(
        created["reference"].as_str().unwrap().starts_with("GU-20"),
        "{created}"
    );
    assert!(created["holder"].is_null());
    let fields: Vec<&str> = created["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "holder",
            "project",
            "expenses",
            "financingPlan",
            "certified"
        ]
    );
    let id = created["id"].as_str().unwrap();

    let update = "mutation($id: ID!, $input: DossierInput!) { updateDossier(id: $id, input: $input) { holder { siret rna communeName } project { title } budget { totalCost } } }";
    // A wrong SIRET names its field; nothing is saved.
    let mut holder = complete_input()["holder"].clone();
    holder["siret"] = json!("21520269900016");
    let body = f
        .as_(
            &f.holder,
            update,
            json!({ "id": id, "input": { "holder": holder } }),
        )
        .await;
    assert_eq!(error_code(&body), "VALIDATION");
    assert_eq!(error_field(&body), "holder.siret");
    holder["siret"] = json!("21520269900017");
    holder["rna"] = json!("X123");
    let body = f
        .as_(
            &f.holder,
            update,
            json!({ "id": id, "input": { "holder": holder } }),
        )
        .await;
    assert_eq!(error_field(&body), "holder.rna");
    holder["rna"] = json!("w521000123");
    let data = f
        .ok(
            &f.holder,
            update,
            json!({ "id": id, "input": { "holder": holder } }),
        )
        .await;
    assert_eq!(data["updateDossier"]["holder"]["siret"], "21520269900017");
    assert_eq!(data["updateDossier"]["holder"]["rna"], "W521000123");
    assert_eq!(data["updateDossier"]["holder"]["communeName"], "Ageville");
    // Other parts are kept when one is saved.
    let body = f
        .as_(
            &f.holder,
            update,
            json!({ "id": id, "input": { "expenses": [{ "label": "Travaux", "amount": 0 }] } }),
        )
        .await;
    assert_eq!(error_field(&body), "expenses.0.amount");
    let data = f
        .ok(
            &f.holder,
            update,
            json!({ "id": id, "input": { "expenses": [{ "label": "Travaux", "amount": 50000 }] } }),
        )
        .await;
    assert_eq!(data["updateDossier"]["budget"]["totalCost"], 50000);
    assert_eq!(data["updateDossier"]["holder"]["siret"], "21520269900017");
    let mut project = complete_input()["project"].clone();
    project["communeCode"] = json!("99999");
    let body = f
        .as_(
            &f.holder,
            update,
            json!({ "id": id, "input": { "project": project } }),
        )
        .await;
    assert_eq!(error_field(&body), "project.communeCode");

    // The organisation is remembered: the next dossier starts with it.
    let data = f
        .ok(
            &f.holder,
            "mutation { createDossier(input: {}) { holder { legalName siret } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["createDossier"]["holder"]["legalName"],
        "Commune d'Ageville"
    );
    let data = f
        .ok(
            &f.holder,
            "{ holderProfile { holder { siret } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["holderProfile"]["holder"]["siret"], "21520269900017");

    // Only holders create dossiers.
    let body = f
        .as_(
            &f.agents[0],
            "mutation { createDossier(input: {}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = f
        .app
        .graphql("mutation { createDossier(input: {}) { id } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn attachments_are_sniffed_limited_stored_once_and_reused() {
    let f = Fixture::new().await;
    let id = f.complete_draft().await;
    let body = upload(&f.app, &f.holder, &id, "Devis", "devis.pdf", PDF).await;
    let added = &body["data"]["addAttachment"];
    assert_eq!(added["contentType"], "application/pdf", "{body}");
    assert_eq!(added["size"], PDF.len());
    assert_eq!(added["filename"], "devis.pdf");
    let sha = added["sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    // Content decides, not the name: HTML named .pdf is refused.
    let body = upload(
        &f.app,
        &f.holder,
        &id,
        "Devis",
        "devis.pdf",
        b"<html><script>alert(1)</script>",
    )
    .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(error_field(&body), "file");
    // Over 20 MB: refused.
    let big = vec![b'%'; 20 * 1024 * 1024 + 10];
    let body = upload(&f.app, &f.holder, &id, "Gros", "gros.pdf", &big).await;
    assert!(
        body["httpStatus"] == 413 || error_field(&body) == "file",
        "{body}"
    );
    // The same content under another name is stored once.
    let body = upload(
        &f.app,
        &f.holder,
        &id,
        "Délibération",
        "../../deliberation.pdf",
        PDF,
    )
    .await;
    assert_eq!(body["data"]["addAttachment"]["sha256"], sha.as_str());
    assert_eq!(
        body["data"]["addAttachment"]["filename"],
        "deliberation.pdf"
    );
    let stored: Vec<_> = walk(&f.app.dir.path().join("attachments"));
    assert_eq!(
        stored.iter().filter(|p| p.ends_with(&sha)).count(),
        1,
        "{stored:?}"
    );

    // Download: the holder gets the bytes; another holder and anonymous get nothing.
    let url = f
        .app
        .url(body["data"]["addAttachment"]["url"].as_str().unwrap());
    let response = f
        .app
        .client
        .get(&url)
        .bearer_auth(&f.holder)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), PDF);
    let response = f
        .app
        .client
        .get(&url)
        .bearer_auth(&f.other_holder)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = f.app.client.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    // A funder agent sees the attachments only once the dossier is sent to their funder.
    let response = f
        .app
        .client
        .get(&url)
        .bearer_auth(&f.agents[0])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    // The next dossier of the same holder starts with the same documents.
    let data = f
        .ok(
            &f.holder,
            "mutation { createDossier(input: {}) { attachments { label sha256 } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["createDossier"]["attachments"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{data}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
    }
    out
}

#[tokio::test]
async fn submission_reaches_every_funder_once_even_under_concurrent_retries() {
    let f = Fixture::new().await;
    let id = f.complete_draft().await;
    upload(&f.app, &f.holder, &id, "Devis", "devis.pdf", PDF).await;

    // Incomplete or wrong choices are refused and change nothing.
    let body = f
        .as_(
            &f.holder,
            SUBMIT,
            json!({ "id": id, "slugs": [], "key": "cle-vide-0001" }),
        )
        .await;
    assert_eq!(error_field(&body), "schemeSlugs");
    let body = f
        .as_(
            &f.holder,
            SUBMIT,
            json!({ "id": id, "slugs": ["n-existe-pas"], "key": "cle-inconnue-01" }),
        )
        .await;
    assert_eq!(error_field(&body), "schemeSlugs");
    let body = f
        .as_(
            &f.holder,
            SUBMIT,
            json!({ "id": id, "slugs": scheme_slugs(), "key": "x" }),
        )
        .await;
    assert_eq!(error_field(&body), "idempotencyKey");
    // Another holder cannot submit it.
    let body = f
        .as_(
            &f.other_holder,
            SUBMIT,
            json!({ "id": id, "slugs": scheme_slugs(), "key": "cle-autre-0001" }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    assert!(outbox(&f.app).await.is_empty());

    // Eight concurrent retries with the same key: one submission.
    let key = "depot-ageville-2026-11-27";
    let attempts = (0..8).map(|_| {
        f.as_(
            &f.holder,
            SUBMIT,
            json!({ "id": id, "slugs": scheme_slugs(), "key": key }),
        )
    });
    let results = futures_join_all(attempts).await;
    for body in &results {
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(body["data"]["submitDossier"]["status"], "SUBMITTED");
        assert_eq!(body["data"]["submitDossier"]["id"], id.as_str());
    }
    let reviews = results[0]["data"]["submitDossier"]["reviews"]
        .as_array()
        .unwrap();
    assert_eq!(reviews.len(), 3);
    for r in reviews {
        assert_eq!(r["status"], "RECEIVED");
        assert_eq!(r["requestedAmount"], 20000);
    }
    // A later retry with the same key returns the same result; another key is a conflict.
    let again = f
        .ok(
            &f.holder,
            SUBMIT,
            json!({ "id": id, "slugs": scheme_slugs(), "key": key }),
        )
        .await;
    assert_eq!(
        again["submitDossier"]["submittedAt"],
        results[0]["data"]["submitDossier"]["submittedAt"]
    );
    let body = f
        .as_(
            &f.holder,
            SUBMIT,
            json!({ "id": id, "slugs": scheme_slugs(), "key": "une-autre-cle-01" }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Déposé"),
        "{body}"
    );

    // Exactly: one acknowledgement to the holder, one notification per funder address and agent.
    let mut mail = outbox(&f.app).await;
    mail.sort();
    let mut expected = vec![("dossier_submitted".to_owned(), HOLDER_EMAIL.to_owned())];
    for (funder, ..) in FUNDERS {
        expected.push(("dossier_received".into(), format!("contact@{funder}.test")));
        expected.push(("dossier_received".into(), format!("agent@{funder}.test")));
    }
    expected.sort();
    assert_eq!(mail, expected);
    // Each funder's notification names the amount asked of it and carries the PDF.
    let messages = catalog::outbox::all(&f.app.state.db).await.unwrap();
    let to_region = messages
        .iter()
        .find(|m| m.recipient == "contact@region-test.test")
        .unwrap();
    assert!(
        to_region.body_text.contains("20\u{202f}000\u{a0}€"),
        "{}",
        to_region.body_text
    );
    let attached = catalog::outbox::attachments(to_region);
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].content_type, "application/pdf");
    let pdf = f
        .app
        .state
        .dossiers
        .blobs
        .get(&attached[0].sha256)
        .await
        .unwrap()
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));

    // Submitted: the draft can no longer change.
    let body = f
        .as_(
            &f.holder,
            "mutation($id: ID!) { updateDossier(id: $id, input: {certified: false}) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    // The audit log has the submission.
    let data = f
        .ok(
            &f.holder,
            "query($id: ID!) { dossier(id: $id) { events { action actor detail } } }",
            json!({ "id": id }),
        )
        .await;
    let events = data["dossier"]["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "SUBMITTED" && e["actor"] == HOLDER_EMAIL),
        "{data}"
    );
}

/// Joins futures without an extra dependency.
pub async fn futures_join_all<F: std::future::Future<Output = Value>>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<Value> {
    let mut set = Vec::new();
    for future in futures {
        set.push(future);
    }
    let mut out = Vec::new();
    // Poll them together through a local task set of boxed futures.
    let boxed: Vec<std::pin::Pin<Box<F>>> = set.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<Value>> = vec![None; boxed.len()];
    let mut boxed: Vec<Option<std::pin::Pin<Box<F>>>> = boxed.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, slot) in boxed.iter_mut().enumerate() {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    for r in results {
        out.push(r.unwrap_or(Value::Null));
    }
    out
}

#[tokio::test]
async fn questions_are_shared_answered_once_and_decisions_race_to_one_winner() {
    let f = Fixture::new().await;
    let id = f.submitted().await;
    let reviews = f.review_ids(&id).await;
    let start = "mutation($id: ID!) { startReview(reviewId: $id) { status } }";
    let data = f.ok(&f.agents[0], start, json!({ "id": reviews[0] })).await;
    assert_eq!(data["startReview"]["status"], "IN_REVIEW");
    let body = f
        .as_(&f.agents[0], start, json!({ "id": reviews[0] }))
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("En instruction"),
        "{body}"
    );
    // An agent of another funder cannot start this funder's review, nor can the holder.
    let body = f
        .as_(&f.agents[1], start, json!({ "id": reviews[0] }))
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = f.as_(&f.holder, start, json!({ "id": reviews[1] })).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = f.as_(&f.stranger, start, json!({ "id": reviews[1] })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");

    // The région asks a question: everyone sees it, the holder is emailed.
    let ask = "mutation($id: ID!, $q: String!) { requestInformation(dossierId: $id, question: $q) { id question funder { slug } } }";
    let asked = f
        .ok(
            &f.agents[0],
            ask,
            json!({ "id": id, "q": "Pouvez-vous joindre le devis signé de l'équipement ?" }),
        )
        .await;
    let request = asked["requestInformation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = f
        .as_(
            &f.holder,
            ask,
            json!({ "id": id, "q": "Une question du porteur ?" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let status = "query($id: ID!) { dossier(id: $id) { status informationRequests { question answer funder { slug } } } }";
    for token in [&f.holder, &f.agents[1], &f.agents[2]] {
        let data = f.ok(token, status, json!({ "id": id })).await;
        assert_eq!(data["dossier"]["status"], "INFO_REQUESTED");
        assert_eq!(
            data["dossier"]["informationRequests"][0]["funder"]["slug"],
            "region-test"
        );
    }
    let answer = "mutation($id: ID!, $a: String!) { answerInformationRequest(requestId: $id, answer: $a) { answer answeredAt } }";
    let body = f
        .as_(
            &f.agents[0],
            answer,
            json!({ "id": request, "a": "Réponse d'un agent" }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    f.ok(
        &f.holder,
        answer,
        json!({ "id": request, "a": "Le devis signé est joint." }),
    )
    .await;
    let body = f
        .as_(
            &f.holder,
            answer,
            json!({ "id": request, "a": "Deuxième réponse" }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    let data = f.ok(&f.agents[2], status, json!({ "id": id })).await;
    assert_eq!(data["dossier"]["status"], "IN_REVIEW");
    assert_eq!(
        data["dossier"]["informationRequests"][0]["answer"],
        "Le devis signé est joint."
    );
    let mail = outbox(&f.app).await;
    assert_eq!(
        mail.iter()
            .filter(|(t, _)| t == "information_requested")
            .count(),
        1
    );
    // Every funder (contact address and agent) is told of the answer, once.
    assert_eq!(
        mail.iter()
            .filter(|(t, _)| t == "information_answered")
            .count(),
        6
    );

    // Private notes stay with their funder.
    f.ok(&f.agents[0], "mutation($id: ID!) { addReviewNote(reviewId: $id, text: \"Attention au plafond régional\") { id } }", json!({ "id": reviews[0] })).await;
    let notes = "query($id: ID!) { dossier(id: $id) { notes { text funder { slug } } } }";
    assert_eq!(
        f.ok(&f.agents[0], notes, json!({ "id": id })).await["dossier"]["notes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        f.ok(&f.agents[1], notes, json!({ "id": id })).await["dossier"]["notes"],
        json!([])
    );
    assert_eq!(
        f.ok(&f.holder, notes, json!({ "id": id })).await["dossier"]["notes"],
        json!([])
    );
    assert_eq!(
        f.ok(&f.staff, notes, json!({ "id": id })).await["dossier"]["notes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Validation of decisions.
    let body = f
        .as_(
            &f.agents[1],
            DECIDE,
            json!({ "id": reviews[1], "decision": "GRANTED", "motivation": "ok" }),
        )
        .await;
    assert_eq!(error_field(&body), "amount");
    let body = f
        .as_(
            &f.agents[1],
            DECIDE,
            json!({ "id": reviews[1], "decision": "REFUSED", "motivation": "  " }),
        )
        .await;
    assert_eq!(error_field(&body), "motivation");
    // Two agents of the same funder decide at once: one wins, the other gets CONFLICT.
    let second = f
        .app
        .token_for(
            "agent2@departement-test.test",
            catalog::Role::Funder,
            Some("departement-test"),
        )
        .await;
    let results = futures_join_all([
        f.as_(&f.agents[1], DECIDE, json!({ "id": reviews[1], "decision": "GRANTED", "amount": 20000, "motivation": "Projet structurant." })),
        f.as_(&second, DECIDE, json!({ "id": reviews[1], "decision": "REFUSED", "motivation": "Hors priorités." })),
    ])
    .await;
    let wins = results.iter().filter(|b| b["errors"].is_null()).count();
    let conflicts = results
        .iter()
        .filter(|b| !b["errors"].is_null() && error_code(b) == "CONFLICT")
        .count();
    assert_eq!((wins, conflicts), (1, 1), "{results:?}");
    // Co-funders see the decision.
    let data = f
        .ok(
            &f.agents[2],
            "query($id: ID!) { dossier(id: $id) { reviews { funder { slug } status decision } } }",
            json!({ "id": id }),
        )
        .await;
    let decided = data["dossier"]["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["funder"]["slug"] == "departement-test")
        .unwrap()
        .clone();
    assert_eq!(decided["status"], "DECIDED");
    // Outside a conference, the holder is told of each decision.
    assert_eq!(
        outbox(&f.app)
            .await
            .iter()
            .filter(|(t, _)| t == "dossier_decided")
            .count(),
        1
    );
}

#[tokio::test]
async fn who_sees_what() {
    let f = Fixture::new().await;
    let draft = f.complete_draft().await;
    let submitted = f.submitted().await;
    let reviews = f.review_ids(&submitted).await;
    let one = "query($id: ID!) { dossier(id: $id) { id } }";
    let list = "{ dossiers(first: 50) { total nodes { id status } } }";
    let sees = |body: &Value| !body["data"]["dossier"].is_null();

    // (token, sees the draft, sees the submitted dossier, dossiers total)
    let cases: Vec<(&str, Option<&str>, bool, bool, u64)> = vec![
        ("holder", Some(&f.holder), true, true, 2),
        ("other holder", Some(&f.other_holder), false, false, 0),
        (
            "agent of a funder of the dossier",
            Some(&f.agents[0]),
            false,
            true,
            1,
        ),
        (
            "agent of another funder",
            Some(&f.stranger),
            false,
            false,
            0,
        ),
        ("staff", Some(&f.staff), true, true, 2),
    ];
    for (who, token, draft_visible, submitted_visible, total) in cases {
        let token = token.unwrap();
        assert_eq!(
            sees(&f.as_(token, one, json!({ "id": draft })).await),
            draft_visible,
            "{who} / draft"
        );
        assert_eq!(
            sees(&f.as_(token, one, json!({ "id": submitted })).await),
            submitted_visible,
            "{who} / submitted"
        );
        let data = f.ok(token, list, json!({})).await;
        assert_eq!(data["dossiers"]["total"], total, "{who}: {data}");
        for (path, visible) in [
            (format!("/dossiers/{submitted}/pdf"), submitted_visible),
            (format!("/dossiers/{draft}/pdf"), draft_visible),
        ] {
            let status = f
                .app
                .client
                .get(f.app.url(&path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, if visible { 200 } else { 404 }, "{who} {path}");
        }
    }
    // Anonymous: nothing.
    let body = f.app.graphql(list, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    assert_eq!(
        f.app
            .client
            .get(f.app.url(&format!("/dossiers/{submitted}/pdf")))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    // Guessed ids: same answer as a missing one.
    assert!(
        f.as_(&f.other_holder, one, json!({ "id": "999999" })).await["data"]["dossier"].is_null()
    );
    let body = f
        .as_(
            &f.other_holder,
            "mutation($id: ID!) { updateDossier(id: $id, input: {certified: true}) { id } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = f
        .as_(
            &f.other_holder,
            "mutation($id: ID!) { withdrawDossier(id: $id, reason: \"x\") { id } }",
            json!({ "id": submitted }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = f
        .as_(
            &f.agents[0],
            "mutation($id: ID!) { withdrawDossier(id: $id, reason: \"x\") { id } }",
            json!({ "id": submitted }),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = f
        .as_(
            &f.stranger,
            DECIDE,
            json!({ "id": reviews[0], "decision": "REFUSED", "motivation": "x" }),
        )
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    let body = f.as_(&f.other_holder, "mutation($id: ID!) { requestInformation(dossierId: $id, question: \"Une question ?\") { id } }", json!({ "id": submitted })).await;
    assert_eq!(error_code(&body), "NOT_FOUND");
    // The PDF is a real PDF with the reference in its title.
    let response = f
        .app
        .client
        .get(f.app.url(&format!("/dossiers/{submitted}/pdf")))
        .bearer_auth(&f.holder)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "application/pdf");
    let bytes = response.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"%PDF-1.4") && bytes.ends_with(b"%%EOF\n")
            || bytes.windows(5).any(|w| w == b"%%EOF")
    );

    // Withdrawal: the funders are told; nothing more can be decided.
    let data = f.ok(&f.holder, "mutation($id: ID!) { withdrawDossier(id: $id, reason: \"Projet abandonné\") { status withdrawnReason } }", json!({ "id": submitted })).await;
    assert_eq!(data["withdrawDossier"]["status"], "WITHDRAWN");
    let body = f
        .as_(
            &f.agents[0],
            DECIDE,
            json!({ "id": reviews[0], "decision": "REFUSED", "motivation": "x" }),
        )
        .await;
    assert_eq!(error_code(&body), "CONFLICT");
    assert_eq!(
        outbox(&f.app)
            .await
            .iter()
            .filter(|(t, _)| t == "dossier_withdrawn")
            .count(),
        6
    );
}

/// Every mutation of dossiers and conferences, tried by everyone who must not succeed: the
/// error code says why (unknown to them, forbidden, or not logged in), and nothing changes.
#[tokio::test]
async fn every_operation_refuses_whoever_may_not_do_it() {
    let f = Fixture::new().await;
    let draft = f.complete_draft().await;
    let attachment =
        upload(&f.app, &f.holder, &draft, "Devis", "devis.pdf", PDF).await["data"]["addAttachment"]
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let submitted = f.submitted().await;
    let reviews = f.review_ids(&submitted).await;
    let request = f
        .ok(
            &f.agents[0],
            "mutation($id: ID!) { requestInformation(dossierId: $id, question: \"Le devis est-il signé ?\") { id } }",
            json!({ "id": submitted }),
        )
        .await["requestInformation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conference = f
        .ok(
            &f.staff,
            "mutation { createConference(input: {title: \"Conférence test\", heldOn: \"2027-02-01\", funderSlugs: [\"region-test\"]}) { id } }",
            json!({}),
        )
        .await["createConference"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = outbox(&f.app).await.len();

    let holder = Some(f.holder.as_str());
    let other = Some(f.other_holder.as_str());
    let agent = Some(f.agents[0].as_str());
    let co_agent = Some(f.agents[1].as_str());
    let stranger = Some(f.stranger.as_str());
    let staff = Some(f.staff.as_str());
    const U: &str = "UNAUTHENTICATED";
    const F: &str = "FORBIDDEN";
    const N: &str = "NOT_FOUND";
    type Case<'a> = (&'a str, Value, Vec<(Option<&'a str>, &'a str)>);
    let cases: Vec<Case<'_>> = vec![
        (
            "mutation { createDossier(input: {}) { id } }",
            json!({}),
            vec![(None, U), (agent, F), (staff, F)],
        ),
        (
            "mutation($id: ID!) { updateDossier(id: $id, input: {certified: false}) { id } }",
            json!({ "id": draft }),
            vec![(None, U), (other, N), (agent, N), (stranger, N), (staff, F)],
        ),
        (
            "mutation($id: ID!) { removeAttachment(id: $id) { id } }",
            json!({ "id": attachment }),
            vec![(None, U), (other, N), (agent, N), (staff, N)],
        ),
        (
            SUBMIT,
            json!({ "id": draft, "slugs": scheme_slugs(), "key": "cle-matrice-0001" }),
            vec![(None, U), (other, N), (agent, N), (staff, F)],
        ),
        (
            "mutation($id: ID!) { withdrawDossier(id: $id, reason: \"essai\") { id } }",
            json!({ "id": submitted }),
            vec![(None, U), (other, N), (agent, F), (stranger, N), (staff, F)],
        ),
        (
            "mutation($id: ID!) { startReview(reviewId: $id) { id } }",
            json!({ "id": reviews[0] }),
            vec![
                (None, U),
                (holder, F),
                (other, N),
                (co_agent, F),
                (stranger, N),
            ],
        ),
        (
            "mutation($id: ID!) { requestInformation(dossierId: $id, question: \"Une question ?\") { id } }",
            json!({ "id": submitted }),
            vec![
                (None, U),
                (holder, F),
                (other, N),
                (stranger, N),
                (staff, F),
            ],
        ),
        (
            "mutation($id: ID!) { answerInformationRequest(requestId: $id, answer: \"Oui\") { id } }",
            json!({ "id": request }),
            vec![(None, U), (other, N), (agent, F), (stranger, N), (staff, F)],
        ),
        (
            DECIDE,
            json!({ "id": reviews[0], "decision": "REFUSED", "motivation": "essai" }),
            vec![
                (None, U),
                (holder, F),
                (other, N),
                (co_agent, F),
                (stranger, N),
            ],
        ),
        (
            "mutation($id: ID!) { addReviewNote(reviewId: $id, text: \"note\") { id } }",
            json!({ "id": reviews[0] }),
            vec![
                (None, U),
                (holder, F),
                (other, N),
                (co_agent, F),
                (stranger, N),
            ],
        ),
        (
            "mutation { createConference(input: {title: \"Conférence\", heldOn: \"2027-02-01\", funderSlugs: [\"region-test\"]}) { id } }",
            json!({}),
            vec![(None, U), (holder, F), (agent, F)],
        ),
        (
            "mutation($c: ID!, $d: ID!) { addToAgenda(conferenceId: $c, dossierId: $d) { id } }",
            json!({ "c": conference, "d": submitted }),
            vec![(None, U), (holder, F), (agent, F)],
        ),
        (
            "mutation($c: ID!) { openConference(conferenceId: $c) { id } }",
            json!({ "c": conference }),
            vec![(None, U), (holder, F), (agent, F)],
        ),
        (
            "mutation($c: ID!) { closeConference(conferenceId: $c) { id } }",
            json!({ "c": conference }),
            vec![(None, U), (holder, F), (agent, F)],
        ),
        ("{ conferences { total } }", json!({}), vec![(None, U)]),
        (
            "{ holderProfile { holder { siret } } }",
            json!({}),
            vec![(None, U)],
        ),
    ];
    for (query, variables, refusals) in cases {
        for (token, code) in refusals {
            let body = match token {
                Some(token) => f.as_(token, query, variables.clone()).await,
                None => f.app.graphql(query, variables.clone()).await,
            };
            assert_eq!(error_code(&body), code, "{query} as {token:?}: {body}");
        }
    }
    for (token, code) in [(&f.other_holder, N), (&f.agents[0], N), (&f.staff, F)] {
        let body = upload(&f.app, token, &draft, "Intrus", "intrus.pdf", PDF).await;
        assert_eq!(error_code(&body), code, "addAttachment: {body}");
    }
    // Nothing changed: no mail, the draft is still a draft with its attachment, no review moved.
    assert_eq!(outbox(&f.app).await.len(), before);
    let data = f
        .ok(
            &f.holder,
            "query($id: ID!) { dossier(id: $id) { status certified attachments { id } } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(
        data["dossier"],
        json!({ "status": "DRAFT", "certified": true, "attachments": [{ "id": attachment }] })
    );
    let data = f
        .ok(
            &f.staff,
            "query($id: ID!) { dossier(id: $id) { status reviews { status } notes { id } } }",
            json!({ "id": submitted }),
        )
        .await;
    assert_eq!(data["dossier"]["status"], "INFO_REQUESTED");
    assert!(
        data["dossier"]["reviews"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "RECEIVED")
    );
    assert_eq!(data["dossier"]["notes"], json!([]));
    // Conferences are invisible to holders and unrelated agents.
    for token in [&f.holder, &f.other_holder, &f.stranger] {
        let data = f
            .ok(
                token,
                "query($c: ID!) { conference(id: $c) { id } conferences { total } }",
                json!({ "c": conference }),
            )
            .await;
        assert!(data["conference"].is_null());
        assert_eq!(data["conferences"]["total"], 0);
    }
}

#[tokio::test]
async fn dossier_lists_filter_sort_and_paginate() {
    let f = Fixture::new().await;
    let older = f.submitted().await;
    let draft = f.complete_draft().await;
    let newer = f.submitted().await;
    let list = "query($first: Int, $after: String, $status: [DossierStatus!], $sort: DossierSort) {
      dossiers(first: $first, after: $after, status: $status, sort: $sort) {
        total nodes { id status } pageInfo { endCursor hasNextPage } } }";
    let ids = |data: &Value| -> Vec<String> {
        data["dossiers"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Submitted first, the draft (never submitted) last, on every backend.
    let data = f
        .ok(&f.holder, list, json!({ "sort": "SUBMITTED_DESC" }))
        .await;
    assert_eq!(ids(&data), [newer.clone(), older.clone(), draft.clone()]);
    let data = f
        .ok(&f.holder, list, json!({ "sort": "SUBMITTED_ASC" }))
        .await;
    assert_eq!(ids(&data), [older.clone(), newer.clone(), draft.clone()]);
    let data = f.ok(&f.holder, list, json!({ "status": ["DRAFT"] })).await;
    assert_eq!(
        (ids(&data), data["dossiers"]["total"].as_u64()),
        (vec![draft.clone()], Some(1))
    );
    // A funder agent's inbox: received dossiers, never drafts; pages of one.
    let data = f
        .ok(
            &f.agents[0],
            list,
            json!({ "first": 1, "sort": "SUBMITTED_ASC" }),
        )
        .await;
    assert_eq!(ids(&data), [older.as_str()]);
    assert_eq!(data["dossiers"]["total"], 2);
    assert_eq!(data["dossiers"]["pageInfo"]["hasNextPage"], true);
    let cursor = data["dossiers"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let data = f
        .ok(
            &f.agents[0],
            list,
            json!({ "first": 1, "after": cursor, "sort": "SUBMITTED_ASC" }),
        )
        .await;
    assert_eq!(ids(&data), [newer]);
    assert_eq!(data["dossiers"]["pageInfo"]["hasNextPage"], false);
    // Bad paging input names its field.
    let body = f.as_(&f.holder, list, json!({ "first": 1000 })).await;
    assert_eq!(error_field(&body), "first");
    let body = f.as_(&f.holder, list, json!({ "after": "nope" })).await;
    assert_eq!(error_field(&body), "after");
}

/// Holders working at the same moment: every save succeeds (on SQLite, a transaction that
/// read before writing used to fail with "database is locked" when another wrote meanwhile).
#[tokio::test]
async fn concurrent_holders_all_save_and_submit() {
    let f = Fixture::new().await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(
            f.app
                .token_for(
                    &format!("maire{i}@concurrence.test"),
                    catalog::Role::Holder,
                    None,
                )
                .await,
        );
    }
    let create = "mutation($input: DossierInput!) { createDossier(input: $input) { id } }";
    let created = futures_join_all(
        tokens
            .iter()
            .map(|t| f.as_(t, create, json!({ "input": complete_input() }))),
    )
    .await;
    for body in &created {
        assert!(body["errors"].is_null(), "{body}");
    }
    let submitted = futures_join_all(tokens.iter().zip(&created).map(|(t, body)| {
        let id = body["data"]["createDossier"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        f.as_(
            t,
            SUBMIT,
            json!({ "id": id.clone(), "slugs": scheme_slugs(), "key": format!("concurrent-{id}") }),
        )
    }))
    .await;
    for body in &submitted {
        assert!(body["errors"].is_null(), "{body}");
        assert_eq!(body["data"]["submitDossier"]["status"], "SUBMITTED");
    }
}

/// Issue 13: the dossier's project says its nature and cost basis, its plan lines their aid
/// type and its plan the préfet's derogation; the dossier's plan check uses them (CGCT
/// L1111-10 III concerns investment only; loans are not aid).
#[tokio::test]
async fn the_dossier_plan_check_knows_nature_loans_and_derogation() {
    let f = Fixture::new().await;
    let created = f
        .ok(
            &f.holder,
            "mutation { createDossier(input: {}) { id } }",
            json!({}),
        )
        .await;
    let id = created["createDossier"]["id"].as_str().unwrap();
    let update =
        "mutation($id: ID!, $input: DossierInput!) { updateDossier(id: $id, input: $input) {
        project { nature costBasis }
        financingPlan { derogation lines { aidType } check { violations { code } warnings } } } }";
    // 10 % own funds, 60,000 € from the three funders and 30,000 € from the Département.
    let mut input = complete_input();
    input["financingPlan"]["ownFunds"] = json!(10000);
    input["financingPlan"]["lines"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "funderName": "Conseil départemental", "amount": 30000 }));
    let codes = |data: &Value| -> Vec<String> {
        data["updateDossier"]["financingPlan"]["check"]["violations"]
            .as_array()
            .unwrap_or_else(|| panic!("{data}"))
            .iter()
            .map(|v| v["code"].as_str().unwrap().to_owned())
            .collect()
    };
    #[rustfmt::skip]
    let cases = [
        ("L1111-10 III: investment", "INVESTMENT", false, None, true),
        ("L1111-10 III: operating, never", "OPERATING", false, None, false),
        ("L1111-10 III: the préfet's derogation", "INVESTMENT", true, None, false),
        ("C4: the Département's money as a loan is the commune's participation", "INVESTMENT", false, Some("LOAN"), false),
    ];
    for (case, nature, derogation, aid_type, applies) in cases {
        input["project"]["nature"] = json!(nature);
        input["financingPlan"]["derogation"] = json!(derogation);
        input["financingPlan"]["lines"][3]["aidType"] = json!(aid_type.unwrap_or("GRANT"));
        let data = f
            .ok(&f.holder, update, json!({ "id": id, "input": input }))
            .await;
        let found = codes(&data);
        assert_eq!(
            found.contains(&"SELF_FUNDING_BELOW_MINIMUM".to_owned()),
            applies,
            "{case}: {data}"
        );
        assert_eq!(data["updateDossier"]["project"]["nature"], nature, "{case}");
        assert_eq!(
            data["updateDossier"]["project"]["costBasis"], "HT",
            "{case}"
        );
        let plan = &data["updateDossier"]["financingPlan"];
        assert_eq!(plan["derogation"], derogation, "{case}");
        assert_eq!(
            plan["lines"][3]["aidType"],
            aid_type.unwrap_or("GRANT"),
            "{case}"
        );
    }
    input["financingPlan"]["lines"][3]["aidType"] = json!("LEGAL_ENGINEERING");
    let body = f
        .as_(&f.holder, update, json!({ "id": id, "input": input }))
        .await;
    assert_eq!(error_code(&body), "VALIDATION", "{body}");
    assert_eq!(
        error_field(&body),
        "financingPlan.lines.3.aidType",
        "{body}"
    );
}
