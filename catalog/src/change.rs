//! The catalogue change log: who changed what, when.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::actor::Actor;
use crate::entity::catalog_change;
use crate::error::Result;

/// One recorded change.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: serde_json::Value,
}

/// Records a change of `entity` (`scheme` or `funder`) identified by `slug`.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    entity: &str,
    slug: &str,
    action: &str,
    detail: serde_json::Value,
) -> Result<()> {
    catalog_change::Entity::insert(catalog_change::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        at: Set(Utc::now()),
        actor: Set(actor.label()),
        entity: Set(entity.to_owned()),
        slug: Set(slug.to_owned()),
        action: Set(action.to_owned()),
        detail: Set(detail.to_string()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// The history of one scheme or funder, oldest first.
pub async fn history(db: &impl ConnectionTrait, entity: &str, slug: &str) -> Result<Vec<Change>> {
    Ok(catalog_change::Entity::find()
        .filter(catalog_change::Column::Entity.eq(entity))
        .filter(catalog_change::Column::Slug.eq(slug))
        .order_by_asc(catalog_change::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|c| Change {
            at: c.at,
            actor: c.actor,
            action: c.action,
            detail: serde_json::from_str(&c.detail).unwrap_or_default(),
        })
        .collect())
}

/// A change in French for the change log, when there is more to say than its action.
pub fn summary(change: &Change) -> Option<String> {
    let d = &change.detail;
    let text = match change.action.as_str() {
        "create" => "Créé.".to_owned(),
        "update" => {
            let fields: Vec<&str> = d["fields"]
                .as_array()?
                .iter()
                .filter_map(|f| f.as_str())
                .map(field_label)
                .collect();
            if fields.is_empty() {
                return None;
            }
            format!("Modifié\u{a0}: {}.", fields.join(", "))
        }
        "status" => {
            let label = |v: &serde_json::Value| {
                v.as_str()
                    .and_then(crate::vocab::SchemeStatus::parse)
                    .map(|s| s.label().to_lowercase())
                    .unwrap_or_else(|| v.to_string())
            };
            format!("Statut\u{a0}: {} → {}.", label(&d["from"]), label(&d["to"]))
        }
        "publication_requested" => "Publication demandée.".to_owned(),
        "sent_back" => format!(
            "Renvoyé au financeur\u{a0}: «\u{a0}{}\u{a0}»",
            d["comment"].as_str().unwrap_or_default()
        ),
        _ => return None,
    };
    Some(text)
}

/// The French name of a field of the scheme record.
fn field_label(field: &str) -> &str {
    match field {
        "title" => "titre",
        "summary" => "résumé",
        "description" => "description",
        "funders" => "financeurs",
        "beneficiaryTypes" => "bénéficiaires",
        "themes" => "thèmes",
        "aidTypes" => "types d'aide",
        "natures" => "nature des dépenses",
        "perimeter" => "territoire",
        "rules" => "conditions",
        "funding" => "financement",
        "calendar" => "calendrier",
        "requiredDocuments" => "pièces demandées",
        "applicationUrl" => "adresse de dépôt",
        "sourceUrl" => "source",
        "verifiedOn" => "date de vérification",
        "status" => "statut",
        other => other,
    }
}
