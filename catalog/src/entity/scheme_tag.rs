//! Beneficiary types, themes and aid types of a scheme, one row per value.

use sea_orm::entity::prelude::*;

pub const BENEFICIARY: &str = "beneficiary";
pub const THEME: &str = "theme";
pub const AID_TYPE: &str = "aid_type";
pub const NATURE: &str = "nature";

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scheme_tag")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub scheme_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub list: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub value: String,
    pub position: i32,
}

impl ActiveModelBehavior for ActiveModel {}
