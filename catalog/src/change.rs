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
