//! The scheme the dossier benchmark and the load test publish for each of their funders.

use serde_json::{Value, json};

/// A `SchemeInput`: the last shop of a commune of Haute-Marne (at most 3,500 inhabitants,
/// a project of at least 10,000 €), 10-50 % of the cost, at most 80,000 €, funded by
/// `funder` (slug, name, kind).
pub fn last_shop_scheme(slug: &str, (funder, name, kind): (&str, &str, &str)) -> Value {
    json!({
        "slug": slug,
        "title": format!("Dernier commerce en milieu rural — {name}"),
        "summary": "Aide aux communes qui rouvrent leur dernier commerce.",
        "funders": [{ "slug": funder, "name": name, "kind": kind,
                      "contactEmail": format!("instruction@{funder}.test") }],
        "beneficiaryTypes": ["COMMUNE", "EPCI"],
        "themes": ["commerce", "revitalisation"],
        "aidTypes": ["GRANT"],
        "perimeter": { "departments": ["52"] },
        "rules": { "maxCommunePopulation": 3500, "minProjectCost": 10000 },
        "funding": { "rateMin": 10, "rateMax": 50, "amountMax": 80000, "regime": "NONE" },
        "calendar": { "recurrence": "PERMANENT" },
        "requiredDocuments": ["Délibération", "Devis"],
        "sourceUrl": "https://exemple.gouv.fr/aide",
        "verifiedOn": "2026-11-27"
    })
}
