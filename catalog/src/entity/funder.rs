use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "funder")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub contact_email: Option<String>,
    pub public_body: Option<bool>,
    pub name_in_sentence: Option<String>,
    pub parent_id: Option<i64>,
    /// JSON list of territory codes and `zoning:<slug>`; null when none.
    pub jurisdiction: Option<String>,
    pub curated: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
