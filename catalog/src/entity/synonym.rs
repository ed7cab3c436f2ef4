use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "synonym")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub term: String,
    /// JSON array of expressions.
    pub synonyms: String,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
