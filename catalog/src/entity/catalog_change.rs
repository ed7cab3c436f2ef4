use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "catalog_change")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor: String,
    /// `scheme` or `funder`.
    pub entity: String,
    pub slug: String,
    pub action: String,
    /// JSON: the fields that changed.
    pub detail: String,
}

impl ActiveModelBehavior for ActiveModel {}
