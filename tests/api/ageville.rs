//! The case issue 13 was filed on, with the seed catalogue as served: the mayor of Ageville
//! (52001, 290 inhabitants, Haute-Marne) buys and renovates the village café for 150,000 €,
//! works in 2027, themes « commerce » and « lien social ». DETR and DSIL must be eligible or
//! to check (never out on themes); LEADER, « Petites villes de demain » and the 1000 cafés
//! programme must say what their perimeters really say; the suggested plan must be one a
//! funder would sign, and pass the checker.

use serde_json::{Value, json};

use crate::eligibility::{criterion, find};
use crate::helpers::TestApp;

const MATCH: &str = "query($project: ProjectInput!) {
  matchProject(project: $project, includeIneligible: true) {
    matches { scheme { slug } verdict relevant criteria { code status message } }
  }
}";

const SUGGEST: &str = "query($project: ProjectInput!) { suggestFinancingPlan(project: $project) {
  ownFunds totalAid totalLoans lines { schemeSlug amount public aidType reason } warnings } }";

const CHECK: &str = "query($plan: FinancingPlanInput!) { checkFinancingPlan(plan: $plan) {
  balanced violations { code message } } }";

fn cafe() -> Value {
    json!({
        "holderType": "COMMUNE", "communeCode": "52001",
        "themes": ["commerce", "lien-social"],
        "text": "Rachat et rénovation du café du village",
        "totalCost": 150000, "startsOn": "2027-03-01", "filingOn": "2026-12-07",
        "nature": "INVESTMENT"
    })
}

fn text(value: &Value) -> String {
    value.as_str().unwrap().replace(['\u{a0}', '\u{202f}'], " ")
}

#[tokio::test]
async fn the_village_cafe_of_ageville_gets_verdicts_a_mayor_can_trust() {
    let app = TestApp::spawn().await;
    let body = app.graphql(MATCH, json!({ "project": cafe() })).await;
    assert!(body["errors"].is_null(), "{body}");
    let matches = body["data"]["matchProject"]["matches"].as_array().unwrap();
    let get = |slug: &str| find(&body, slug).unwrap_or_else(|| panic!("{slug} not listed"));

    // Themes never rule a scheme out (issue 13): no THEME criterion fails anywhere.
    for m in matches {
        assert_ne!(criterion(m, "THEME")["status"], "FAIL", "{m}");
    }
    // The State's two investment grants: eligible or to check, never out.
    for slug in ["detr", "dsil"] {
        let m = get(slug);
        assert!(
            m["verdict"] == "ELIGIBLE" || m["verdict"] == "TO_CHECK",
            "{slug}: {m}"
        );
        // CGCT L2334-33: 290 inhabitants, so the potentiel financier condition (above
        // 2,000) does not apply.
        assert!(
            m["criteria"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["code"] != "CONDITION"),
            "{slug}: {m}"
        );
    }
    // A yearly campaign with no published dates is not « open permanently ».
    let detr_calendar = criterion(get("detr"), "CALENDAR");
    assert_eq!(detr_calendar["status"], "UNKNOWN");
    assert!(text(&detr_calendar["message"]).contains("Dates de la prochaine session non publiées"));
    assert!(text(&detr_calendar["message"]).contains("l'État"));

    // National LEADER: the list of all GALs is not loaded, so « to check », never « toute
    // la France »; the GAL covering Ageville says so by name.
    let leader = get("leader-2023-2027");
    assert_eq!(leader["verdict"], "TO_CHECK", "{leader}");
    let territory = criterion(leader, "TERRITORY");
    assert_eq!(territory["status"], "UNKNOWN");
    assert!(
        text(&territory["message"]).contains("non chargée"),
        "{territory}"
    );
    for c in leader["criteria"].as_array().unwrap() {
        let message = text(&c["message"]);
        assert!(!message.contains("toute la France"), "{message}");
        assert!(!message.contains("ouvert en permanence"), "{message}");
    }
    let gal = get("leader-2023-2027-gal-pays-de-chaumont");
    let territory = criterion(gal, "TERRITORY");
    assert_eq!(territory["status"], "PASS", "{gal}");
    assert!(
        text(&territory["message"]).contains("Pays de Chaumont"),
        "{territory}"
    );

    // « Petites villes de demain » is a closed list, not loaded here: to check, not in.
    let pvd = get("petites-villes-de-demain");
    assert_eq!(pvd["verdict"], "TO_CHECK", "{pvd}");
    assert_eq!(criterion(pvd, "TERRITORY")["status"], "UNKNOWN");

    // The 1000 cafés programme: communes under 3,500 inhabitants, anywhere in France.
    let cafes = get("programme-1000-cafes");
    assert_eq!(criterion(cafes, "POPULATION")["status"], "PASS");
    assert_eq!(criterion(cafes, "TERRITORY")["status"], "PASS");
    assert_eq!(cafes["relevant"], true);

    // Within a verdict, the relevant come first.
    for verdict in ["ELIGIBLE", "TO_CHECK"] {
        let order: Vec<bool> = matches
            .iter()
            .filter(|m| m["verdict"] == verdict)
            .map(|m| m["relevant"].as_bool().unwrap())
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] >= w[1]),
            "{verdict}: {order:?}"
        );
    }
}

#[tokio::test]
async fn the_plan_suggested_for_the_cafe_is_one_a_funder_would_sign() {
    let app = TestApp::spawn().await;
    let body = app.graphql(SUGGEST, json!({ "project": cafe() })).await;
    assert!(body["errors"].is_null(), "{body}");
    let suggested = &body["data"]["suggestFinancingPlan"];
    let lines = suggested["lines"].as_array().unwrap();
    let amount = |slug: &str| {
        lines
            .iter()
            .filter(|l| l["schemeSlug"] == slug)
            .map(|l| l["amount"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert!(
        amount("detr") > 0,
        "the State's main grant is in the plan: {suggested}"
    );
    // Not « LEADER alone »: any FEADER line has its national counterpart, 1 € for 4 €
    // (Reg. (EU) 2021/2115 art. 91; GAL Alpes Sud Isère).
    let feader: i64 = amount("leader-2023-2027") + amount("leader-2023-2027-gal-pays-de-chaumont");
    let national: i64 = lines
        .iter()
        .filter(|l| !l["schemeSlug"].as_str().unwrap().starts_with("leader-"))
        .filter(|l| l["public"] == true && l["aidType"] == "GRANT")
        .map(|l| l["amount"].as_i64().unwrap())
        .sum::<i64>()
        + suggested["ownFunds"].as_i64().unwrap();
    assert!(4 * national >= feader, "{suggested}");
    // Every line says why it is there; nothing on another subject (a heat network fund).
    for line in lines {
        assert!(!line["reason"].as_str().unwrap().is_empty(), "{line}");
        assert_ne!(line["schemeSlug"], "ademe-fonds-chaleur", "{suggested}");
    }
    // CGCT L1111-10 III: the commune keeps at least 20 % of the public money.
    let own = suggested["ownFunds"].as_i64().unwrap();
    let aid = suggested["totalAid"].as_i64().unwrap();
    assert!(5 * own >= own + aid, "{suggested}");

    // The checker, told the same nature and place, finds nothing to say.
    let plan = json!({
        "holderType": "COMMUNE", "totalCost": 150000, "ownFunds": own,
        "nature": "INVESTMENT", "communeCode": "52001",
        "lines": lines.iter().map(|l| json!({
            "schemeSlug": l["schemeSlug"], "amount": l["amount"], "aidType": l["aidType"],
            "public": l["public"],
        })).collect::<Vec<_>>(),
    });
    let body = app.graphql(CHECK, json!({ "plan": plan })).await;
    assert!(body["errors"].is_null(), "{body}");
    assert_eq!(
        body["data"]["checkFinancingPlan"]["violations"],
        json!([]),
        "{body}"
    );
}
