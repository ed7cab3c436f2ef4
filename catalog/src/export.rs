//! Writing the catalogue out: the `guichet` format (which imports back exactly) and
//! CommonGrants `OpportunityBase` objects.

use chrono::NaiveDate;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::scheme::{Scheme, SchemeRecord};
use crate::vocab::{BeneficiaryType, SchemeStatus};

/// The catalogue as a pretty-printed JSON array in the `guichet` format, by slug.
pub fn guichet(schemes: &[Scheme]) -> String {
    let records: Vec<&SchemeRecord> = schemes.iter().map(|s| &s.record).collect();
    let mut out = serde_json::to_string_pretty(&records).expect("records serialize");
    out.push('\n');
    out
}

/// Namespace of the stable CommonGrants ids (UUID v5 of the scheme slug).
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6775_6963_6865_7400_8000_0000_0000_0001);

/// The stable CommonGrants id of a scheme.
pub fn commongrants_id(slug: &str) -> Uuid {
    Uuid::new_v5(&ID_NAMESPACE, slug.as_bytes())
}

fn money(amount: i64) -> Value {
    json!({ "amount": amount.to_string(), "currency": "EUR" })
}

fn custom(name: &str, field_type: &str, value: Value, description: &str) -> Value {
    json!({ "name": name, "fieldType": field_type, "value": value, "description": description })
}

/// `open`, `closed` or `forecasted` on `today`.
fn status_value(record: &SchemeRecord, today: NaiveDate) -> &'static str {
    if record.status == Some(SchemeStatus::Archived) {
        return "closed";
    }
    if record.calendar.opens_on.is_some_and(|d| d > today) {
        return "forecasted";
    }
    if record.calendar.closes_on.is_some_and(|d| d < today) {
        return "closed";
    }
    "open"
}

/// The CommonGrants applicant type of a beneficiary type: the nearest standard value, or
/// `custom` with our own value.
fn applicant_type(t: BeneficiaryType) -> Value {
    match t {
        BeneficiaryType::Commune => {
            json!({ "value": "government_municipal", "description": t.label() })
        }
        BeneficiaryType::Individual => json!({ "value": "individual", "description": t.label() }),
        _ => json!({ "value": "custom", "customValue": t.as_str(), "description": t.label() }),
    }
}

fn single_date(name: &str, date: NaiveDate) -> Value {
    json!({ "name": name, "eventType": "singleDate", "date": date.to_string() })
}

/// One scheme as a CommonGrants `OpportunityBase` (optional fields left out when unknown).
pub fn commongrants_opportunity(scheme: &Scheme, today: NaiveDate) -> Value {
    let r = &scheme.record;
    let id = commongrants_id(&r.slug).to_string();
    let mut o = json!({
        "id": id,
        "title": r.title,
        "status": { "value": status_value(r, today) },
        "description": r.description.clone().or_else(|| r.summary.clone()).unwrap_or_else(|| r.title.clone()),
        "createdAt": scheme.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "lastModifiedAt": scheme.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "identifiers": { "systemId": { "id": id }, "otherIds": { "guichet": { "id": r.slug } } },
        "acceptedApplicantTypes": r.beneficiary_types.iter().map(|&t| applicant_type(t)).collect::<Vec<_>>(),
    });

    let mut funding = serde_json::Map::new();
    if let Some(min) = r.funding.amount_min {
        funding.insert("minAwardAmount".into(), money(min));
    }
    if let Some(max) = r.funding.amount_max {
        funding.insert("maxAwardAmount".into(), money(max));
    }
    let rates = match (r.funding.rate_min, r.funding.rate_max) {
        (Some(min), Some(max)) => Some(format!(
            "Taux de {min} % à {max} % de la dépense éligible HT"
        )),
        (None, Some(max)) => Some(format!("Taux maximal {max} % de la dépense éligible HT")),
        (Some(min), None) => Some(format!("Taux minimal {min} % de la dépense éligible HT")),
        (None, None) => None,
    };
    if let Some(details) = rates {
        funding.insert("details".into(), Value::String(details));
    }
    if !funding.is_empty() {
        o["funding"] = Value::Object(funding);
    }

    if let Some((first, others)) = r.funders.split_first() {
        let org = |f: &crate::funder::FunderRecord| json!({ "id": Uuid::new_v5(&ID_NAMESPACE, format!("funder:{}", f.slug).as_bytes()).to_string(), "name": f.name });
        let mut funders = json!({ "primary": org(first) });
        if !others.is_empty() {
            let other_orgs: serde_json::Map<String, Value> = others
                .iter()
                .enumerate()
                .map(|(i, f)| (format!("cofinanceur-{}", i + 1), org(f)))
                .collect();
            funders["otherOrgs"] = Value::Object(other_orgs);
        }
        o["funders"] = funders;
    }

    let mut key_dates = serde_json::Map::new();
    if let Some(date) = r.calendar.opens_on {
        key_dates.insert("postDate".into(), single_date("Ouverture du dépôt", date));
    }
    if let Some(date) = r.calendar.closes_on {
        key_dates.insert("closeDate".into(), single_date("Clôture du dépôt", date));
    }
    if let Some(recurrence) = r.calendar.recurrence {
        key_dates.insert(
            "otherDates".into(),
            json!({ "recurrence": { "name": "Récurrence", "eventType": "other", "details": recurrence.label() } }),
        );
    }
    if !key_dates.is_empty() {
        o["keyDates"] = Value::Object(key_dates);
    }
    if let Some(url) = &r.source_url {
        o["source"] = json!(url);
    }

    let perimeter = r.perimeter.clone().unwrap_or_default();
    let mut custom_fields = serde_json::Map::new();
    let mut add = |name: &str, field_type: &str, value: Value, description: &str| {
        custom_fields.insert(name.into(), custom(name, field_type, value, description));
    };
    add(
        "slug",
        "string",
        json!(r.slug),
        "Identifiant Guichet du dispositif",
    );
    add(
        "beneficiaryTypes",
        "array",
        json!(r.beneficiary_types),
        "Types de bénéficiaires",
    );
    add("themes", "array", json!(r.themes), "Thèmes");
    add("aidTypes", "array", json!(r.aid_types), "Types d'aide");
    add(
        "perimeter",
        "object",
        json!(perimeter),
        "Périmètre (codes INSEE, SIREN pour les EPCI)",
    );
    add(
        "rules",
        "object",
        json!(r.rules),
        "Conditions d'éligibilité",
    );
    if let Some(rate) = r.funding.rate_min {
        add("rateMin", "number", json!(rate), "Taux minimal, en %");
    }
    if let Some(rate) = r.funding.rate_max {
        add("rateMax", "number", json!(rate), "Taux maximal, en %");
    }
    if let Some(regime) = r.funding.regime {
        add(
            "stateAidRegime",
            "string",
            json!(regime),
            "Régime d'aide d'État",
        );
    }
    if let Some(rate) = r.funding.max_public_aid_rate {
        add(
            "maxPublicAidRate",
            "number",
            json!(rate),
            "Taux maximal d'aides publiques, en %",
        );
    }
    if let Some(url) = &r.application_url {
        add(
            "applicationUrl",
            "string",
            json!(url),
            "Adresse de candidature",
        );
    }
    if let Some(date) = r.verified_on {
        add(
            "verifiedOn",
            "string",
            json!(date.to_string()),
            "Date de vérification des informations",
        );
    }
    o["customFields"] = Value::Object(custom_fields);
    o
}

/// The published and archived schemes as a JSON array of CommonGrants opportunities
/// (CommonGrants has no notion of a draft).
pub fn commongrants(schemes: &[Scheme], today: NaiveDate) -> String {
    let items: Vec<Value> = schemes
        .iter()
        .filter(|s| s.status() != SchemeStatus::Draft)
        .map(|s| commongrants_opportunity(s, today))
        .collect();
    let mut out = serde_json::to_string_pretty(&items).expect("values serialize");
    out.push('\n');
    out
}
