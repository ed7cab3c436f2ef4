//! Saved searches (alerts): a holder's query and filters, mailed as a digest of new or
//! changed schemes, daily or weekly.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("saved_search")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("account_id"))
                    .col(text_null("text"))
                    // JSON of the search filter.
                    .col(text("filter"))
                    .col(string("frequency"))
                    .col(string_uniq("unsubscribe_token"))
                    .col(timestamp_with_time_zone("created_at"))
                    // Schemes changed after this are news for the next digest.
                    .col(timestamp_with_time_zone("covered_until"))
                    .col(timestamp_with_time_zone("next_due_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("saved_search", "account_id")
                            .to("account", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_saved_search_due")
                    .table("saved_search")
                    .col("next_due_at")
                    .if_not_exists()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("saved_search").if_exists().take())
            .await
    }
}
