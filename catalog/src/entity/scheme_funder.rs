use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scheme_funder")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scheme_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub funder_id: i64,
    pub position: i32,
}

impl ActiveModelBehavior for ActiveModel {}
