use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "zoning")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    /// Address of the public list the communes come from.
    pub source: String,
    /// The date the list is valid on.
    pub as_of: Date,
    pub commune_count: i32,
    pub imported_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
