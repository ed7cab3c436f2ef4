use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "funder_alias")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The normalised name an import compares with.
    #[sea_orm(unique)]
    pub alias_key: String,
    /// The name as written.
    pub alias: String,
    pub funder_id: i64,
    pub created_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
