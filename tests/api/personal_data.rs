//! Personal data (RGPD articles 15, 17 and 20): a holder downloads everything Guichet holds on
//! them, and deletes their account — drafts, alerts, sessions gone; dossiers sent to funders
//! kept for them without the contact person; the address free to register again.

use serde_json::{Value, json};

use crate::accounts::session_cookie;
use crate::dossiers::{DECIDE, Fixture, HOLDER_EMAIL, upload};
use crate::helpers::{TestApp, error_code, error_field};

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
const DELETE: &str = "mutation($c: String!) { deleteMyAccount(confirmation: $c) {
  deletedDossiers anonymisedDossiers deletedSavedSearches endedSessions message } }";
const ME: &str = "{ me { id email } }";

/// `GET /compte/donnees.json` with a bearer token (or none): status, headers and body text.
async fn download(app: &TestApp, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app.client.get(app.url("/compte/donnees.json"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// Logs `email` in through a login link; returns the `guichet_session=…` cookie pair.
async fn log_in(app: &TestApp, email: &str) -> String {
    let body = app
        .graphql(
            "mutation($e: String!) { requestLoginLink(email: $e) }",
            json!({ "e": email }),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");
    let messages = catalog::outbox::all(&app.state.db).await.unwrap();
    let message = messages
        .iter()
        .rev()
        .find(|m| m.recipient == email && m.template == "login_link")
        .expect("a login link was queued");
    let (_, rest) = message.body_text.split_once("/login?token=").unwrap();
    let secret = rest.split_whitespace().next().unwrap();
    let response = crate::accounts::follow_login_link(
        &app.client,
        &app.url(&format!("/login?token={secret}")),
        None,
    )
    .await;
    assert_eq!(response.headers()["location"], "/compte");
    session_cookie(&response)
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A holder's dossier with something of everything: submitted to the three funders, asked
/// a question (answered), a private note by one funder, a decision by each, an attachment;
/// plus a draft with its own attachment and an alert. Returns (submitted id, reference,
/// draft id, the draft's file's SHA-256).
async fn rich_holder(f: &Fixture) -> (String, String, String, String) {
    let draft_for_files = f.complete_draft().await;
    let up = upload(
        &f.app,
        &f.holder,
        &draft_for_files,
        "Délibération",
        "deliberation.pdf",
        PDF,
    )
    .await;
    assert!(up["errors"].is_null(), "{up}");
    let submitted = draft_for_files;
    let data = f
        .ok(
            &f.holder,
            crate::dossiers::SUBMIT,
            json!({ "id": submitted, "slugs": crate::dossiers::scheme_slugs(), "key": format!("depot-{submitted}-rgpd") }),
        )
        .await;
    let reference = data["submitDossier"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let asked = f
        .ok(
            &f.agents[0],
            "mutation($d: ID!) { requestInformation(dossierId: $d, question: \"Quel est le loyer prévu ?\") { id } }",
            json!({ "d": submitted }),
        )
        .await;
    f.ok(
        &f.holder,
        "mutation($r: ID!) { answerInformationRequest(requestId: $r, answer: \"300 € par mois, Claire Martin\") { id } }",
        json!({ "r": asked["requestInformation"]["id"] }),
    )
    .await;
    let reviews = f.review_ids(&submitted).await;
    f.ok(
        &f.agents[0],
        "mutation($r: ID!) { addReviewNote(reviewId: $r, text: \"NOTE-PRIVEE-du-financeur\") { id } }",
        json!({ "r": reviews[0] }),
    )
    .await;
    for (agent, review) in f.agents.iter().zip(&reviews) {
        f.ok(
            agent,
            DECIDE,
            json!({ "id": review, "decision": "GRANTED", "amount": 20000, "motivation": "Projet structurant pour le village." }),
        )
        .await;
    }
    // A draft whose file nobody else has.
    let draft = f
        .ok(
            &f.holder,
            "mutation { createDossier(input: {}) { id } }",
            json!({}),
        )
        .await["createDossier"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let own_file = b"%PDF-1.4\n% devis propre au brouillon\n%%EOF\n";
    let up = upload(&f.app, &f.holder, &draft, "Devis", "devis.pdf", own_file).await;
    assert!(up["errors"].is_null(), "{up}");
    let sha = up["data"]["addAttachment"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    f.ok(
        &f.holder,
        "mutation { saveSearch(text: \"épicerie solidaire\", frequency: WEEKLY) { id } }",
        json!({}),
    )
    .await;
    (submitted, reference, draft, sha)
}

#[tokio::test]
async fn the_export_holds_the_holders_data_and_nothing_of_others() {
    let f = Fixture::new().await;
    let (submitted, reference, draft, sha) = rich_holder(&f).await;
    let other = f
        .ok(
            &f.other_holder,
            "mutation { createDossier(input: {project: {title: \"PROJET-DE-L-AUTRE-PORTEUR\", description: \"Une épicerie solidaire dans l'ancienne gare du bourg.\", themes: [\"commerce\"], communeCode: \"52001\"}}) { id } }",
            json!({}),
        )
        .await;
    assert!(other["createDossier"]["id"].is_string());

    let (status, headers, text) = download(&f.app, Some(&f.holder)).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{headers:?}"
    );
    let today = chrono::Utc::now().format("%Y-%m-%d");
    assert_eq!(
        headers["content-disposition"],
        format!(
            "attachment; filename=\"guichet-mes-donnees-{today}.json\"; filename*=UTF-8''guichet-mes-donnees-{today}.json"
        )
        .as_str()
    );
    assert_eq!(headers["cache-control"], "private, no-store");
    let data: Value = serde_json::from_str(&text).unwrap();
    assert!(data["generatedAt"].is_string(), "{data}");
    assert!(data["notice"].as_str().unwrap().contains("données"));
    assert_eq!(data["account"]["email"], HOLDER_EMAIL);
    assert_eq!(data["account"]["role"], "HOLDER");

    let dossiers = data["dossiers"].as_array().unwrap();
    assert_eq!(dossiers.len(), 2, "{data}");
    let sent = dossiers
        .iter()
        .find(|d| d["id"] == submitted.parse::<i64>().unwrap())
        .unwrap();
    assert_eq!(sent["reference"], reference.as_str());
    assert_eq!(sent["status"], "DECIDED");
    assert!(sent["decidedAt"].is_string(), "{sent}");
    assert_eq!(sent["holder"]["representative"]["name"], "Claire Martin");
    assert_eq!(sent["totalCost"], 100000);
    assert_eq!(sent["reviews"].as_array().unwrap().len(), 3);
    assert_eq!(sent["reviews"][0]["decision"], "GRANTED");
    assert_eq!(
        sent["reviews"][0]["motivation"],
        "Projet structurant pour le village."
    );
    assert_eq!(
        sent["informationRequests"][0]["answer"],
        "300 € par mois, Claire Martin"
    );
    let file = &sent["attachments"][0];
    assert_eq!(file["filename"], "deliberation.pdf");
    assert_eq!(file["size"], PDF.len());
    assert_eq!(file["sha256"].as_str().unwrap().len(), 64);
    assert!(
        file["url"]
            .as_str()
            .unwrap()
            .starts_with(&f.app.url("/pieces/")),
        "{file}"
    );
    let draft_data = dossiers
        .iter()
        .find(|d| d["id"] == draft.parse::<i64>().unwrap())
        .unwrap();
    assert_eq!(draft_data["status"], "DRAFT");
    assert!(
        draft_data["attachments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["sha256"] == sha.as_str() && a["filename"] == "devis.pdf"),
        "{draft_data}"
    );
    assert_eq!(data["savedSearches"][0]["text"], "épicerie solidaire");
    assert!(data["holderProfile"]["holder"]["legalName"].is_string());
    let templates: Vec<&str> = data["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["template"].as_str().unwrap())
        .collect();
    assert!(templates.contains(&"dossier_submitted"), "{templates:?}");
    assert!(templates.contains(&"dossier_decided"), "{templates:?}");
    assert_eq!(data["sessions"][0]["kind"], "API_TOKEN");
    assert_eq!(data["sessions"][0]["active"], true);

    // Nobody else's data, no private note of a funder, no secret.
    for absent in [
        "PROJET-DE-L-AUTRE-PORTEUR",
        "asso@autre.test",
        "NOTE-PRIVEE-du-financeur",
        f.holder.as_str(),
        catalog::account::digest(&f.holder).as_str(),
        "\"hash\"",
        "unsubscribe",
        "/login?token=",
    ] {
        assert!(!text.contains(absent), "the export contains {absent}");
    }

    // The same document through GraphQL.
    let gql = f.ok(&f.holder, "{ myPersonalData }", json!({})).await;
    assert_eq!(gql["myPersonalData"]["account"]["email"], HOLDER_EMAIL);
    assert_eq!(
        gql["myPersonalData"]["dossiers"].as_array().unwrap().len(),
        2
    );

    // A funder agent's export: their account, the actions recorded in their name, no dossier.
    let (status, _, text) = download(&f.app, Some(&f.agents[0])).await;
    assert_eq!(status, 200);
    let agent: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(agent["account"]["funder"]["slug"], "region-test");
    assert_eq!(agent["dossiers"], json!([]));
    assert!(
        agent["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "DECIDED" && a["reference"] == reference.as_str()),
        "{agent}"
    );
    assert!(!text.contains("Claire Martin"));
}

#[tokio::test]
async fn nobody_logged_in_gets_401() {
    let app = TestApp::spawn().await;
    let (status, _, text) = download(&app, None).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("Connexion requise"), "{text}");
    let (status, _, _) = download(&app, Some("gui_jeton-inconnu")).await;
    assert_eq!(status, 401);
    let body = app.graphql("{ myPersonalData }", json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let body = app.graphql(DELETE, json!({ "c": "x@y.fr" })).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
}

#[tokio::test]
async fn a_wrong_confirmation_changes_nothing() {
    let f = Fixture::new().await;
    let draft = f.complete_draft().await;
    for wrong in ["", "asso@autre.test", "maire@ageville"] {
        let body = f.as_(&f.holder, DELETE, json!({ "c": wrong })).await;
        assert_eq!(error_code(&body), "VALIDATION", "{body}");
        assert_eq!(error_field(&body), "confirmation", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("adresse électronique")
        );
    }
    let data = f
        .ok(
            &f.holder,
            "query($id: ID!) { me { email } dossier(id: $id) { id } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(data["me"]["email"], HOLDER_EMAIL);
    assert_eq!(data["dossier"]["id"], draft.as_str());
    let templates: Vec<String> = crate::dossiers::outbox(&f.app)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(!templates.contains(&"account_deleted".to_owned()));
}

#[tokio::test]
async fn deleting_an_account_removes_drafts_alerts_and_sessions_and_anonymises_sent_dossiers() {
    let f = Fixture::new().await;
    let (submitted, reference, draft, own_sha) = rich_holder(&f).await;
    let cookie = log_in(&f.app, HOLDER_EMAIL).await;
    assert_eq!(
        f.app.graphql_with_cookie(&cookie, ME).await["data"]["me"]["email"],
        HOLDER_EMAIL
    );
    // Another holder uses the same file as the submitted dossier: it must survive.
    let theirs = f
        .ok(
            &f.other_holder,
            "mutation { createDossier(input: {}) { id } }",
            json!({}),
        )
        .await["createDossier"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shared = upload(
        &f.app,
        &f.other_holder,
        &theirs,
        "Statuts",
        "statuts.pdf",
        PDF,
    )
    .await;
    let shared_url = shared["data"]["addAttachment"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let shared_sha = shared["data"]["addAttachment"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    // A message not sent yet to the holder.
    let unsent_before = catalog::outbox::all(&f.app.state.db)
        .await
        .unwrap()
        .iter()
        .filter(|m| m.recipient == HOLDER_EMAIL && m.sent_at.is_none())
        .count();
    assert!(unsent_before > 0);
    let old_id = f.ok(&f.holder, ME, json!({})).await["me"]["id"].clone();

    // Deleted through the browser session, as the account page does.
    let response = f
        .app
        .client
        .post(f.app.url("/graphql"))
        .header("cookie", &cookie)
        .header("origin", &f.app.address)
        .json(&json!({ "query": DELETE, "variables": { "c": "  Maire@Ageville.test " } }))
        .send()
        .await
        .unwrap();
    let cleared = session_cookie(&response).expect("the cookie is cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let body: Value = response.json().await.unwrap();
    assert!(body["errors"].is_null(), "{body}");
    let done = &body["data"]["deleteMyAccount"];
    assert_eq!(done["anonymisedDossiers"], json!([reference]));
    assert_eq!(
        done["deletedDossiers"].as_array().unwrap().len(),
        1,
        "{done}"
    );
    assert_eq!(done["deletedSavedSearches"], 1);
    assert_eq!(
        done["endedSessions"], 2,
        "the API token and the browser session"
    );
    assert!(done["message"].as_str().unwrap().contains(&reference));

    // Logged out everywhere: the token is refused, the cookie is anonymous.
    let body = f.as_(&f.holder, ME, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    assert_eq!(
        f.app.graphql_with_cookie(&cookie, ME).await["data"]["me"],
        Value::Null
    );
    let (status, _, _) = download(&f.app, Some(&f.holder)).await;
    assert_eq!(status, 401);

    // The draft is gone, for everyone.
    let gone = f
        .ok(
            &f.staff,
            "query($id: ID!) { dossier(id: $id) { id } }",
            json!({ "id": draft }),
        )
        .await;
    assert_eq!(gone["dossier"], Value::Null);

    // The submitted dossier is still there for its funders, without the contact person.
    let query = "query($id: ID!) { dossier(id: $id) { reference status
        holder { legalName siret communeCode representative { name role email phone } }
        reviews { funder { slug } status decision amount motivation decidedAt }
        informationRequests { question answer }
        events { actor action detail } } }";
    let seen = f.ok(&f.agents[1], query, json!({ "id": submitted })).await;
    let d = &seen["dossier"];
    assert_eq!(d["reference"], reference.as_str());
    assert_eq!(d["status"], "DECIDED");
    assert_eq!(d["holder"]["legalName"], "Commune d'Ageville");
    assert_eq!(
        d["holder"]["siret"].as_str().unwrap().replace(' ', ""),
        "21520269900017"
    );
    assert_eq!(d["holder"]["representative"]["name"], "Personne supprimée");
    assert_eq!(d["holder"]["representative"]["role"], "Maire");
    assert_eq!(d["holder"]["representative"]["email"], "");
    assert_eq!(d["holder"]["representative"]["phone"], Value::Null);
    for review in d["reviews"].as_array().unwrap() {
        assert_eq!(review["decision"], "GRANTED", "{review}");
        assert_eq!(review["amount"], 20000);
        assert_eq!(review["motivation"], "Projet structurant pour le village.");
        assert!(review["decidedAt"].is_string());
    }
    assert_eq!(
        d["informationRequests"][0]["answer"],
        "300 € par mois, Claire Martin"
    );
    let events = d["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "HOLDER_ACCOUNT_DELETED"),
        "{d}"
    );
    let staff_view = f
        .ok(&f.staff, query, json!({ "id": submitted }))
        .await
        .to_string();
    assert!(!staff_view.contains(HOLDER_EMAIL), "{staff_view}");
    assert!(!staff_view.contains("03 25 00 00 00"), "{staff_view}");

    // In the database: no alert, no token, no profile; the account's address replaced.
    let db = &f.app.state.db;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let account = catalog::entity::account::Entity::find_by_id(
        old_id.as_str().unwrap().parse::<i64>().unwrap(),
    )
    .one(db)
    .await
    .unwrap()
    .expect("kept: a dossier still points to it");
    assert!(
        account.email.ends_with("@compte-supprime.invalid"),
        "{}",
        account.email
    );
    assert_eq!(account.last_login_at, None);
    for count in [
        catalog::entity::saved_search::Entity::find()
            .filter(catalog::entity::saved_search::Column::AccountId.eq(account.id))
            .count(db)
            .await
            .unwrap(),
        catalog::entity::token::Entity::find()
            .filter(catalog::entity::token::Column::AccountId.eq(account.id))
            .count(db)
            .await
            .unwrap(),
        dossier::entity::holder_profile::Entity::find_by_id(account.id)
            .count(db)
            .await
            .unwrap(),
        catalog::entity::login_link::Entity::find()
            .filter(catalog::entity::login_link::Column::Email.eq(HOLDER_EMAIL))
            .count(db)
            .await
            .unwrap(),
    ] {
        assert_eq!(count, 0);
    }
    // Mail: nothing left to send to the address but the confirmation; sent messages keep
    // no address nor body.
    let messages = catalog::outbox::all(db).await.unwrap();
    let to_holder: Vec<_> = messages
        .iter()
        .filter(|m| m.recipient == HOLDER_EMAIL)
        .collect();
    assert_eq!(
        to_holder.len(),
        1,
        "{:?}",
        to_holder.iter().map(|m| &m.template).collect::<Vec<_>>()
    );
    assert_eq!(to_holder[0].template, "account_deleted");
    assert!(to_holder[0].body_text.contains(&reference));
    assert!(to_holder[0].body_text.contains("conservés"));
    assert!(
        messages
            .iter()
            .filter(|m| m.recipient.ends_with("@compte-supprime.invalid"))
            .all(|m| m.body_text.is_empty() && m.body_html.is_empty())
    );
    // The placeholder address opens nothing: a login link asked for it is never queued.
    let asked = f
        .app
        .graphql(
            "mutation($email: String!) { requestLoginLink(email: $email) }",
            json!({ "email": account.email }),
        )
        .await;
    assert_eq!(asked["data"]["requestLoginLink"], true, "{asked}");
    assert_eq!(
        catalog::outbox::all(db).await.unwrap().len(),
        messages.len()
    );

    // Files: the other holder's (same content as a kept dossier's) still downloads; the
    // draft's own file is unused, young files are spared, and removed once past the grace.
    let response = f
        .app
        .client
        .get(f.app.url(&shared_url))
        .bearer_auth(&f.other_holder)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let blobs = &f.app.state.dossiers.blobs;
    assert!(
        blobs.get(&own_sha).await.unwrap().is_some(),
        "a young file is spared"
    );
    let removed = dossier::personal_data::remove_unused_files(
        db,
        blobs,
        &[own_sha.clone(), shared_sha.clone()],
        chrono::Duration::zero(),
    )
    .await
    .unwrap();
    assert_eq!(removed, 1);
    assert!(blobs.get(&own_sha).await.unwrap().is_none());
    assert!(
        blobs.get(&shared_sha).await.unwrap().is_some(),
        "a used file stays"
    );

    // The address is free: logging in again creates a new, empty account.
    let cookie = log_in(&f.app, HOLDER_EMAIL).await;
    let again = f
        .app
        .graphql_with_cookie(
            &cookie,
            "{ me { id email role } dossiers { total } savedSearches { id } }",
        )
        .await;
    assert_eq!(again["data"]["me"]["email"], HOLDER_EMAIL, "{again}");
    assert_eq!(again["data"]["me"]["role"], "HOLDER");
    assert_ne!(again["data"]["me"]["id"], old_id);
    assert_eq!(again["data"]["dossiers"]["total"], 0);
    assert_eq!(again["data"]["savedSearches"], json!([]));
}

#[tokio::test]
async fn an_account_with_only_drafts_is_deleted_outright() {
    let f = Fixture::new().await;
    let draft = f.complete_draft().await;
    let id: i64 = f.ok(&f.holder, ME, json!({})).await["me"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let done = f.ok(&f.holder, DELETE, json!({ "c": HOLDER_EMAIL })).await;
    assert_eq!(done["deleteMyAccount"]["anonymisedDossiers"], json!([]));
    assert_eq!(
        done["deleteMyAccount"]["deletedDossiers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    use sea_orm::EntityTrait;
    let db = &f.app.state.db;
    assert!(
        catalog::entity::account::Entity::find_by_id(id)
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        dossier::entity::dossier::Entity::find_by_id(draft.parse::<i64>().unwrap())
            .one(db)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn funder_agents_and_staff_cannot_delete_their_own_account() {
    let f = Fixture::new().await;
    for (token, email) in [
        (&f.agents[0], "agent@region-test.test"),
        (&f.staff, "equipe@guichet.test"),
    ] {
        let body = f.as_(token, DELETE, json!({ "c": email })).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("attribuables"),
            "{body}"
        );
        let me = f.ok(token, ME, json!({})).await;
        assert_eq!(me["me"]["email"], email);
    }
}

#[tokio::test]
async fn withdrawn_dossiers_go_unless_a_funder_decided_on_them() {
    let f = Fixture::new().await;
    const WITHDRAW: &str = "mutation($id: ID!) { withdrawDossier(id: $id, reason: \"Projet abandonné par le conseil municipal.\") { reference status } }";
    // One funder decided, then the holder withdrew: the decision is an act to keep.
    let decided = f.submitted().await;
    let reviews = f.review_ids(&decided).await;
    f.ok(
        &f.agents[0],
        DECIDE,
        json!({ "id": reviews[0], "decision": "REFUSED", "motivation": "Hors des priorités de l'année." }),
    )
    .await;
    let kept =
        f.ok(&f.holder, WITHDRAW, json!({ "id": decided })).await["withdrawDossier"]["reference"]
            .as_str()
            .unwrap()
            .to_owned();
    // Withdrawn before any decision: deleted.
    let undecided = f.submitted().await;
    let gone =
        f.ok(&f.holder, WITHDRAW, json!({ "id": undecided })).await["withdrawDossier"]["reference"]
            .as_str()
            .unwrap()
            .to_owned();

    let done = f.ok(&f.holder, DELETE, json!({ "c": HOLDER_EMAIL })).await;
    assert_eq!(done["deleteMyAccount"]["anonymisedDossiers"], json!([kept]));
    assert_eq!(done["deleteMyAccount"]["deletedDossiers"], json!([gone]));

    let query = "query($id: ID!) { dossier(id: $id) { status holder { representative { name } } reviews { decision motivation } } }";
    let seen = f.ok(&f.agents[0], query, json!({ "id": decided })).await;
    assert_eq!(seen["dossier"]["status"], "WITHDRAWN");
    assert_eq!(
        seen["dossier"]["holder"]["representative"]["name"],
        "Personne supprimée"
    );
    assert!(
        seen["dossier"]["reviews"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["decision"] == "REFUSED"
                && r["motivation"] == "Hors des priorités de l'année."),
        "{seen}"
    );
    for token in [&f.agents[0], &f.staff] {
        let seen = f.ok(token, query, json!({ "id": undecided })).await;
        assert_eq!(seen["dossier"], Value::Null);
    }
}
