//! Rate limits kept in the database, so that every gateway of one PostgreSQL counts the same
//! events: one row per limited key (its SHA-256), a fixed window and its count.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rate_limit")
                    .if_not_exists()
                    .col(string("bucket").primary_key())
                    // Unix seconds at which the current window began.
                    .col(big_integer("window_start"))
                    .col(integer("hits"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("rate_limit").if_exists().take())
            .await
    }
}
