use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "zoning_commune")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub zoning_id: i64,
    /// INSEE code of a commune of the zoning.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
}

impl ActiveModelBehavior for ActiveModel {}
