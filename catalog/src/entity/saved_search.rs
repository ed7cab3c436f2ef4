use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "saved_search")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    pub text: Option<String>,
    /// JSON of the search filter.
    pub filter: String,
    /// `DAILY` or `WEEKLY`.
    pub frequency: String,
    #[sea_orm(unique)]
    pub unsubscribe_token: String,
    pub created_at: DateTimeUtc,
    pub covered_until: DateTimeUtc,
    pub next_due_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
