//! Key-value facts about the database itself (data versions).

use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, sea_query::OnConflict};

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meta")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    pub value: String,
}

impl ActiveModelBehavior for ActiveModel {}

/// Sets `key` to `value`, inserting or replacing.
pub async fn set(db: &impl ConnectionTrait, key: &str, value: &str) -> Result<(), DbErr> {
    Entity::insert(ActiveModel {
        key: Set(key.to_owned()),
        value: Set(value.to_owned()),
    })
    .on_conflict(
        OnConflict::column(Column::Key)
            .update_column(Column::Value)
            .to_owned(),
    )
    .exec(db)
    .await?;
    Ok(())
}
