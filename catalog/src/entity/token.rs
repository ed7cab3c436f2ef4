use sea_orm::entity::prelude::*;

pub const API: &str = "api";
pub const SESSION: &str = "session";

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "token")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: i64,
    /// `api` or `session`.
    pub kind: String,
    /// SHA-256 of the secret, hex.
    #[sea_orm(unique)]
    pub hash: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

impl ActiveModelBehavior for ActiveModel {}
