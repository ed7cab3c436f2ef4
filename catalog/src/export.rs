//! Writing the catalogue out: the `guichet` format (which imports back exactly) and
//! CommonGrants `OpportunityBase` objects.

use chrono::NaiveDate;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::scheme::{Scheme, SchemeRecord};
use crate::vocab::SchemeStatus;

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

/// One scheme as a CommonGrants `OpportunityBase`.
pub fn commongrants_opportunity(scheme: &Scheme, today: NaiveDate) -> Value {
    let r = &scheme.record;
    let mut funding = serde_json::Map::new();
    if let Some(min) = r.funding.amount_min {
        funding.insert("minAwardAmount".into(), money(min));
    }
    if let Some(max) = r.funding.amount_max {
        funding.insert("maxAwardAmount".into(), money(max));
    }
    let rates = match (r.funding.rate_min, r.funding.rate_max) {
        (Some(min), Some(max)) => Some(format!("Taux de {min} % à {max} %")),
        (None, Some(max)) => Some(format!("Taux maximal {max} %")),
        (Some(min), None) => Some(format!("Taux minimal {min} %")),
        (None, None) => None,
    };
    if let Some(details) = rates {
        funding.insert("details".into(), Value::String(details));
    }
    let mut key_dates = serde_json::Map::new();
    if let Some(date) = r.calendar.opens_on {
        key_dates.insert(
            "appOpens".into(),
            json!({ "name": "Ouverture", "eventType": "singleDate", "date": date.to_string() }),
        );
    }
    if let Some(date) = r.calendar.closes_on {
        key_dates.insert(
            "appDeadline".into(),
            json!({ "name": "Clôture", "eventType": "singleDate", "date": date.to_string() }),
        );
    }
    let perimeter = r.perimeter.clone().unwrap_or_default();
    let mut custom_fields = serde_json::Map::new();
    custom_fields.insert("slug".into(), custom("slug", "string", json!(r.slug), "Identifiant Guichet du dispositif"));
    custom_fields.insert(
        "funders".into(),
        custom("funders", "array", json!(r.funders.iter().map(|f| &f.name).collect::<Vec<_>>()), "Financeurs"),
    );
    custom_fields.insert(
        "beneficiaryTypes".into(),
        custom("beneficiaryTypes", "array", json!(r.beneficiary_types), "Types de bénéficiaires"),
    );
    custom_fields.insert("themes".into(), custom("themes", "array", json!(r.themes), "Thèmes"));
    custom_fields.insert("aidTypes".into(), custom("aidTypes", "array", json!(r.aid_types), "Types d'aide"));
    custom_fields.insert(
        "perimeter".into(),
        custom("perimeter", "object", json!(perimeter), "Périmètre (codes INSEE et SIREN)"),
    );
    custom_fields.insert("rules".into(), custom("rules", "object", json!(r.rules), "Conditions d'éligibilité"));
    if let Some(regime) = r.funding.regime {
        custom_fields.insert("stateAidRegime".into(), custom("stateAidRegime", "string", json!(regime), "Régime d'aide d'État"));
    }
    if let Some(rate) = r.funding.max_public_aid_rate {
        custom_fields.insert("maxPublicAidRate".into(), custom("maxPublicAidRate", "number", json!(rate), "Taux maximal d'aides publiques (%)"));
    }
    if let Some(url) = &r.application_url {
        custom_fields.insert("applicationUrl".into(), custom("applicationUrl", "string", json!(url), "Adresse de candidature"));
    }
    if let Some(date) = r.verified_on {
        custom_fields.insert("verifiedOn".into(), custom("verifiedOn", "string", json!(date.to_string()), "Date de vérification"));
    }
    let mut opportunity = json!({
        "id": commongrants_id(&r.slug).to_string(),
        "title": r.title,
        "status": { "value": status_value(r, today) },
        "description": r.description.clone().or_else(|| r.summary.clone()).unwrap_or_else(|| r.title.clone()),
        "funding": funding,
        "keyDates": key_dates,
        "customFields": custom_fields,
        "createdAt": scheme.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "lastModifiedAt": scheme.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    if let Some(url) = &r.source_url {
        opportunity["source"] = json!(url);
    }
    opportunity
}

/// The catalogue as a JSON array of CommonGrants opportunities.
pub fn commongrants(schemes: &[Scheme], today: NaiveDate) -> String {
    let items: Vec<Value> = schemes.iter().map(|s| commongrants_opportunity(s, today)).collect();
    let mut out = serde_json::to_string_pretty(&items).expect("values serialize");
    out.push('\n');
    out
}
