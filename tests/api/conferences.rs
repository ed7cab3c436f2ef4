//! The conference of funders: agenda, refusal to close while a decision is missing, the
//! combined plan, the minutes, one summary per holder, and the SCDL export.

use serde_json::json;

use crate::dossiers::{DECIDE, FUNDERS, Fixture, HOLDER_EMAIL, SUBMIT, complete_input, outbox};
use crate::helpers::{error_code, error_field};

const CREATE: &str = "mutation($input: ConferenceInput!) { createConference(input: $input) { id status funders { slug } } }";
const ADD: &str = "mutation($c: ID!, $d: ID!) { addToAgenda(conferenceId: $c, dossierId: $d) { agenda { dossier { id } } } }";
const CLOSE: &str = "mutation($c: ID!) { closeConference(conferenceId: $c) { status minutes minutesUrl decisionsCsvUrl
  agenda { dossier { reference status } reviews { funder { slug } decision amount }
           outcome { totalCost ownFunds granted remaining check { balanced violations { code } } } } } }";

#[tokio::test]
async fn a_conference_decides_together_and_each_holder_gets_one_summary() {
    let f = Fixture::new().await;
    let first = f.submitted().await;
    let second = f.submitted().await;
    let draft = f.complete_draft().await;
    let slugs: Vec<&str> = FUNDERS.iter().map(|x| x.0).collect();

    // Staff only; inputs checked.
    let input = json!({ "title": "Conférence des financeurs de Haute-Marne", "heldOn": "2027-01-15", "funderSlugs": slugs });
    let body = f.as_(&f.agents[0], CREATE, json!({ "input": input })).await;
    assert_eq!(error_code(&body), "FORBIDDEN");
    let body = f.as_(&f.staff, CREATE, json!({ "input": { "title": "Conférence", "heldOn": "2027-01-15", "funderSlugs": ["inconnu"] } })).await;
    assert_eq!(error_field(&body), "input.funderSlugs.0");
    let data = f.ok(&f.staff, CREATE, json!({ "input": input })).await;
    let conference = data["createConference"]["id"].as_str().unwrap().to_owned();
    assert_eq!(data["createConference"]["status"], "PLANNED");

    // A draft cannot go on the agenda; a submitted dossier can, once.
    let body = f
        .as_(&f.staff, ADD, json!({ "c": conference, "d": draft }))
        .await;
    assert_eq!(error_field(&body), "dossierId");
    f.ok(&f.staff, ADD, json!({ "c": conference, "d": first }))
        .await;
    f.ok(&f.staff, ADD, json!({ "c": conference, "d": second }))
        .await;
    let data = f
        .ok(&f.staff, ADD, json!({ "c": conference, "d": first }))
        .await;
    assert_eq!(data["addToAgenda"]["agenda"].as_array().unwrap().len(), 2);
    f.ok(
        &f.staff,
        "mutation($c: ID!) { openConference(conferenceId: $c) { status } }",
        json!({ "c": conference }),
    )
    .await;

    // Invited agents see the conference; others do not.
    let seen = "query($c: ID!) { conference(id: $c) { title agenda { dossier { reference } } } }";
    assert_eq!(
        f.ok(&f.agents[1], seen, json!({ "c": conference })).await["conference"]["agenda"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(f.ok(&f.stranger, seen, json!({ "c": conference })).await["conference"].is_null());
    assert!(f.ok(&f.holder, seen, json!({ "c": conference })).await["conference"].is_null());

    // Decisions: the région and the département grant, the CAF refuses the second dossier;
    // one decision is missing at first.
    let outcomes = [(20000, 15000), (20000, 20000)];
    for (dossier, (region, departement)) in [&first, &second].into_iter().zip(outcomes) {
        let reviews = f.review_ids(dossier).await;
        f.ok(&f.agents[0], DECIDE, json!({ "id": reviews[0], "decision": "GRANTED", "amount": region, "motivation": "Priorité régionale." })).await;
        f.ok(&f.agents[1], DECIDE, json!({ "id": reviews[1], "decision": "GRANTED", "amount": departement, "motivation": "Soutien aux communes rurales." })).await;
    }
    let first_reviews = f.review_ids(&first).await;
    let second_reviews = f.review_ids(&second).await;
    f.ok(&f.agents[2], DECIDE, json!({ "id": first_reviews[2], "decision": "GRANTED", "amount": 20000, "motivation": "Lien social." })).await;
    let body = f.as_(&f.staff, CLOSE, json!({ "c": conference })).await;
    assert_eq!(error_code(&body), "CONFLICT");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("CAF Test"), "{message}");
    // No decision mail went to the holder while the dossiers were on the agenda.
    assert_eq!(
        outbox(&f.app)
            .await
            .iter()
            .filter(|(t, _)| t == "dossier_decided")
            .count(),
        0
    );
    // Staff records the last decision in the grid.
    f.ok(&f.staff, DECIDE, json!({ "id": second_reviews[2], "decision": "REFUSED", "motivation": "Hors du périmètre CAF." })).await;
    let data = f.ok(&f.staff, CLOSE, json!({ "c": conference })).await;
    let closed = &data["closeConference"];
    assert_eq!(closed["status"], "CLOSED");
    let minutes = closed["minutes"].as_str().unwrap();
    assert!(
        minutes.contains("PROCÈS-VERBAL") && minutes.contains("Hors du périmètre CAF."),
        "{minutes}"
    );
    let agenda = closed["agenda"].as_array().unwrap();
    assert_eq!(agenda[0]["dossier"]["status"], "DECIDED");
    assert_eq!(agenda[0]["outcome"]["granted"], 55000);
    assert_eq!(agenda[0]["outcome"]["remaining"], 5000);
    assert_eq!(agenda[0]["outcome"]["check"]["balanced"], false);
    assert_eq!(agenda[1]["outcome"]["granted"], 40000);
    assert_eq!(agenda[1]["outcome"]["remaining"], 20000);
    // Closing twice is a conflict; the agenda no longer changes.
    assert_eq!(
        error_code(&f.as_(&f.staff, CLOSE, json!({ "c": conference })).await),
        "CONFLICT"
    );
    assert_eq!(
        error_code(
            &f.as_(&f.staff, ADD, json!({ "c": conference, "d": first }))
                .await
        ),
        "CONFLICT"
    );

    // The holder of both dossiers gets one summary covering both.
    let messages = catalog::outbox::all(&f.app.state.db).await.unwrap();
    let summaries: Vec<_> = messages
        .iter()
        .filter(|m| m.template == "conference_summary")
        .collect();
    assert_eq!(summaries.len(), 1, "{:?}", outbox(&f.app).await);
    assert_eq!(summaries[0].recipient, HOLDER_EMAIL);
    assert!(
        summaries[0].body_text.contains("Hors du périmètre CAF.")
            && summaries[0].body_text.contains("15\u{202f}000"),
        "{}",
        summaries[0].body_text
    );

    // Minutes and the SCDL file: staff and invited agents; not the holder.
    let csv_url = f.app.url(closed["decisionsCsvUrl"].as_str().unwrap());
    let response = f
        .app
        .client
        .get(&csv_url)
        .bearer_auth(&f.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "nomAttribuant,idAttribuant,dateConvention,referenceDecision,nomBeneficiaire,idBeneficiaire,objet,montant,nature,conditionsVersement,datesPeriodeVersement,idRAE,notificationUE,pourcentageSubvention,dispositifAide"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(
        rows.iter().any(|r| r.starts_with("Département Test,")
            && r.contains(",21520269900017,")
            && r.contains(",15000,")
            && r.contains(",0.15,")),
        "{csv}"
    );
    let minutes_url = f.app.url(closed["minutesUrl"].as_str().unwrap());
    assert_eq!(
        f.app
            .client
            .get(&minutes_url)
            .bearer_auth(&f.agents[0])
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        f.app
            .client
            .get(&minutes_url)
            .bearer_auth(&f.holder)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        f.app
            .client
            .get(&csv_url)
            .bearer_auth(&f.stranger)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

/// A dossier of the holder, under `legal_name`, sent to the funder `FUNDERS[funder]` alone;
/// returns its id and reference.
async fn submitted_to(f: &Fixture, funder: usize, legal_name: &str) -> (String, String) {
    let mut input = complete_input();
    input["holder"]["legalName"] = json!(legal_name);
    input["financingPlan"] = json!({
        "ownFunds": 80000,
        "lines": [{ "schemeSlug": FUNDERS[funder].3, "amount": 20000 }]
    });
    let data = f
        .ok(
            &f.holder,
            "mutation($input: DossierInput!) { createDossier(input: $input) { id missing { message } } }",
            json!({ "input": input }),
        )
        .await;
    assert_eq!(data["createDossier"]["missing"], json!([]), "{data}");
    let id = data["createDossier"]["id"].as_str().unwrap().to_owned();
    let data = f
        .ok(
            &f.holder,
            SUBMIT,
            json!({ "id": id, "slugs": [FUNDERS[funder].3], "key": format!("depot-conference-{id}") }),
        )
        .await;
    let reference = data["submitDossier"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, reference)
}

/// GETs `path` with `token`; the status and the body.
async fn download(f: &Fixture, token: &str, path: &str) -> (u16, String) {
    let response = f
        .app
        .client
        .get(f.app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn each_agent_reads_in_the_minutes_and_the_csv_only_the_dossiers_sent_to_their_funder() {
    let f = Fixture::new().await;
    let (first, first_ref) = submitted_to(&f, 0, "Commune d'Ageville").await;
    // A name a spreadsheet would run as a formula.
    let (second, second_ref) =
        submitted_to(&f, 1, "=HYPERLINK(\"https://exemple.test\";\"Ouvrir\")").await;
    let slugs = [FUNDERS[0].0, FUNDERS[1].0];
    let input = json!({ "title": "Conférence à deux financeurs", "heldOn": "2027-02-01", "funderSlugs": slugs });
    let data = f.ok(&f.staff, CREATE, json!({ "input": input })).await;
    let conference = data["createConference"]["id"].as_str().unwrap().to_owned();
    for dossier in [&first, &second] {
        f.ok(&f.staff, ADD, json!({ "c": conference, "d": dossier }))
            .await;
    }
    for (agent, dossier) in [(0, &first), (1, &second)] {
        let review = f
            .ok(
                &f.agents[agent],
                "query($id: ID!) { dossier(id: $id) { reviews { id } } }",
                json!({ "id": dossier }),
            )
            .await["dossier"]["reviews"][0]["id"]
            .clone();
        f.ok(&f.agents[agent], DECIDE, json!({ "id": review, "decision": "GRANTED", "amount": 20000, "motivation": format!("Accord du financeur {agent}.") })).await;
    }
    let data = f.ok(&f.staff, CLOSE, json!({ "c": conference })).await;
    let closed = &data["closeConference"];
    let minutes_url = closed["minutesUrl"].as_str().unwrap().to_owned();
    let csv_url = closed["decisionsCsvUrl"].as_str().unwrap().to_owned();
    // Staff read everything.
    let minutes = closed["minutes"].as_str().unwrap();
    assert!(
        minutes.contains(&format!("1. {first_ref}"))
            && minutes.contains(&format!("2. {second_ref}")),
        "{minutes}"
    );
    let (status, csv) = download(&f, &f.staff, &csv_url).await;
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // The formula is neutralised in the CSV; the amount is still a number.
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"https://exemple.test\"\";\"\"Ouvrir\"\")\",")
            && csv.contains(",20000,"),
        "{csv}"
    );

    let query =
        "query($c: ID!) { conference(id: $c) { agenda { dossier { reference } } minutes } }";
    // Each agent: the agenda, the minutes (field and page) and the CSV hold their dossier
    // alone, without the other's reference, holder or motivation.
    let check = async |agent: usize, mine: &str, hidden: [&str; 3], motivation: &str| {
        let token = &f.agents[agent];
        let data = f.ok(token, query, json!({ "c": conference })).await;
        let agenda: Vec<&str> = data["conference"]["agenda"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["dossier"]["reference"].as_str().unwrap())
            .collect();
        assert_eq!(agenda, [mine]);
        let minutes = data["conference"]["minutes"].as_str().unwrap().to_owned();
        let (status, page) = download(&f, token, &minutes_url).await;
        assert_eq!(status, 200);
        assert_eq!(page, minutes, "the page and the field say the same");
        assert!(
            minutes.starts_with("PROCÈS-VERBAL")
                && minutes.contains(&format!("\n1. {mine}"))
                && !minutes.contains("\n2. ")
                && minutes.contains(motivation),
            "{minutes}"
        );
        let (status, csv) = download(&f, token, &csv_url).await;
        assert_eq!(status, 200);
        assert_eq!(csv.lines().count(), 2, "{csv}");
        assert!(csv.contains(mine), "{csv}");
        for text in hidden {
            assert!(!minutes.contains(text), "{text} in {minutes}");
            assert!(!csv.contains(text), "{text} in {csv}");
        }
    };
    let first_hidden = [second_ref.as_str(), "HYPERLINK", "Accord du financeur 1."];
    let second_hidden = [
        first_ref.as_str(),
        "Commune d'Ageville",
        "Accord du financeur 0.",
    ];
    check(0, &first_ref, first_hidden, "Accord du financeur 0.").await;
    check(1, &second_ref, second_hidden, "Accord du financeur 1.").await;

    // Conferences closed before each dossier's part of the minutes was kept: the agent's
    // minutes are written again from the reviews, and still name only their dossier.
    use dossier::entity::agenda_item;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    for item in agenda_item::Entity::find()
        .filter(agenda_item::Column::ConferenceId.eq(conference.parse::<i64>().unwrap()))
        .all(&f.app.state.db)
        .await
        .unwrap()
    {
        let mut outcome: serde_json::Value =
            serde_json::from_str(item.outcome.as_deref().unwrap()).unwrap();
        outcome.as_object_mut().unwrap().remove("minutes").unwrap();
        agenda_item::Entity::update_many()
            .col_expr(
                agenda_item::Column::Outcome,
                sea_orm::sea_query::Expr::value(Some(outcome.to_string())),
            )
            .filter(agenda_item::Column::ConferenceId.eq(item.conference_id))
            .filter(agenda_item::Column::DossierId.eq(item.dossier_id))
            .exec(&f.app.state.db)
            .await
            .unwrap();
    }
    check(0, &first_ref, first_hidden, "Accord du financeur 0.").await;
    check(1, &second_ref, second_hidden, "Accord du financeur 1.").await;
}
