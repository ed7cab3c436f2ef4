//! Search synonyms, editable by staff.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("synonym")
                    .if_not_exists()
                    .col(string("term").primary_key())
                    // JSON array of expressions.
                    .col(text("synonyms"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("synonym").if_exists().take())
            .await
    }
}
