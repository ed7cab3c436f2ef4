use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scheme_perimeter")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scheme_id: i64,
    /// `REGION`, `DEPARTMENT`, `EPCI`, `COMMUNE`, or `ZONING` (the code is then its slug).
    #[sea_orm(primary_key, auto_increment = false)]
    pub kind: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub code: String,
    pub position: i32,
}

impl ActiveModelBehavior for ActiveModel {}
