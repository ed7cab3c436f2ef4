//! The conference of funders: agenda, refusal to close while a decision is missing, the
//! combined plan, the minutes, one summary per holder, and the SCDL export.

use serde_json::json;

use crate::dossiers::{DECIDE, FUNDERS, Fixture, HOLDER_EMAIL, outbox};
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
