//! Funders as they are organised (issue 14): a funder may be a service of another (a
//! préfecture of « État — préfectures », a GAL of LEADER) with a jurisdiction; staff curate
//! funders (an import never changes a curated one) and keep a list of aliases so that an
//! imported name finds the funder it means; an agent may edit its funder's catalogue, and a
//! scheme drafted by an agent waits for staff to publish it or send it back.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index_on as index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns added to existing tables, one `ALTER TABLE` each (SQLite adds one at a time).
fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        // The funder this one is a service of; null for a funder at the top of its network.
        ("funder", big_integer_null("parent_id")),
        // JSON list of territory codes and `zoning:<slug>`; null when it has none.
        ("funder", text_null("jurisdiction")),
        // Set by staff edits: an import never renames or changes a curated funder.
        ("funder", boolean("curated").default(false).to_owned()),
        // A funder agent who may draft and edit the schemes of its funder.
        ("account", boolean("editor").default(false).to_owned()),
        // When an agent asked staff to publish this draft; null when nobody waits.
        (
            "scheme",
            timestamp_with_time_zone_null("publication_requested_at"),
        ),
        // Staff's comment when sending a draft back to the funder.
        ("scheme", text_null("review_comment")),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, mut column) in added_columns() {
            manager
                .alter_table(Table::alter().table(table).add_column(&mut column).take())
                .await?;
        }
        manager
            .create_index(index("funder_parent", "funder", &["parent_id"]))
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("funder_alias")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    // The normalised name (case, accents, punctuation and articles folded).
                    .col(string_uniq("alias_key"))
                    // The name as written.
                    .col(string("alias"))
                    .col(big_integer("funder_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("funder_alias", "funder_id")
                            .to("funder", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("funder_alias").if_exists().take())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("funder_parent")
                    .table("funder")
                    .to_owned(),
            )
            .await?;
        for (table, column) in added_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .drop_column(column.get_column_name())
                        .take(),
                )
                .await?;
        }
        Ok(())
    }
}
