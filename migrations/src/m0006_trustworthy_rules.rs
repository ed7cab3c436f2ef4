//! Rules as the law and the funders write them (issue 13): zonings (named, dated, sourced
//! lists of communes), a scheme's conditions to check, the basis of its amounts (HT/TTC),
//! its EU co-funding share and usual rate, and whether a funder's money is public.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index_on as index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Columns added to existing tables, one `ALTER TABLE` each (SQLite adds one at a time).
fn added_columns() -> Vec<(&'static str, ColumnDef)> {
    vec![
        // JSON list of {text, whenCommunePopulationAbove…}; null when none.
        ("scheme", text_null("conditions")),
        ("scheme", string_null("funding_basis")),
        ("scheme", double_null("eu_cofunding_rate")),
        ("scheme", double_null("typical_rate")),
        // Null: defaulted from the funder's kind.
        ("funder", boolean_null("public_body")),
        // The name as written inside a sentence, with its article (« l'État »).
        ("funder", string_null("name_in_sentence")),
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
            .create_table(
                Table::create()
                    .table("zoning")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_uniq("slug"))
                    .col(string("name"))
                    .col(string("source"))
                    .col(date("as_of"))
                    .col(integer("commune_count"))
                    .col(timestamp_with_time_zone("imported_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("zoning_commune")
                    .if_not_exists()
                    .col(big_integer("zoning_id"))
                    .col(string("code"))
                    .primary_key(Index::create().col("zoning_id").col("code"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("zoning_commune", "zoning_id")
                            .to("zoning", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index("zoning_commune_code", "zoning_commune", &["code"]))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["zoning_commune", "zoning"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
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
