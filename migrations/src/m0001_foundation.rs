//! Territories, funders, schemes (with their lists as child tables), the catalogue change log,
//! accounts, tokens, login links and the mail outbox.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index_on as index;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A foreign key from `table.column` to `scheme.id`, deleted with the scheme.
fn fk_scheme(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, "scheme_id")
        .to("scheme", "id")
        .on_delete(ForeignKeyAction::Cascade)
        .take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("meta")
                    .if_not_exists()
                    .col(string("key").primary_key())
                    .col(text("value"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("territory")
                    .if_not_exists()
                    .col(string("kind"))
                    .col(string("code"))
                    .col(string("name"))
                    .col(big_integer("population"))
                    .col(text("postcodes"))
                    .col(text("parents"))
                    // Région and département codes overlap (44 is both).
                    .primary_key(Index::create().col("kind").col("code"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("funder")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_uniq("slug"))
                    .col(string("name"))
                    .col(string("kind"))
                    .col(string_null("contact_email"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scheme")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_uniq("slug"))
                    .col(text("title"))
                    .col(text_null("summary"))
                    .col(text_null("description"))
                    .col(string("status"))
                    .col(boolean("perimeter_national"))
                    .col(big_integer_null("max_commune_population"))
                    .col(big_integer_null("max_epci_population"))
                    .col(big_integer_null("min_project_cost"))
                    .col(big_integer_null("max_project_cost"))
                    .col(boolean_null("no_start_before_filing"))
                    .col(boolean_null("requires_national_public_cofunding"))
                    .col(boolean_null("economic_activity"))
                    .col(double_null("rate_min"))
                    .col(double_null("rate_max"))
                    .col(big_integer_null("amount_min"))
                    .col(big_integer_null("amount_max"))
                    .col(double_null("max_public_aid_rate"))
                    .col(string_null("regime"))
                    .col(string_null("recurrence"))
                    .col(date_null("opens_on"))
                    .col(date_null("closes_on"))
                    .col(text_null("application_url"))
                    .col(text_null("source_url"))
                    .col(date_null("verified_on"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_scheme_source_url", "scheme", &["source_url"]))
            .await?;
        manager
            .create_index(index("idx_scheme_updated_at", "scheme", &["updated_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scheme_funder")
                    .if_not_exists()
                    .col(big_integer("scheme_id"))
                    .col(big_integer("funder_id"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("scheme_id").col("funder_id"))
                    .foreign_key(&mut fk_scheme("scheme_funder"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("scheme_funder", "funder_id")
                            .to("funder", "id"),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_scheme_funder_funder",
                "scheme_funder",
                &["funder_id"],
            ))
            .await?;

        // Beneficiary types, themes and aid types: one row per value, `list` telling which.
        manager
            .create_table(
                Table::create()
                    .table("scheme_tag")
                    .if_not_exists()
                    .col(big_integer("scheme_id"))
                    .col(string("list"))
                    .col(string("value"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("scheme_id").col("list").col("value"))
                    .foreign_key(&mut fk_scheme("scheme_tag"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_scheme_tag_value",
                "scheme_tag",
                &["list", "value"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scheme_perimeter")
                    .if_not_exists()
                    .col(big_integer("scheme_id"))
                    .col(string("kind"))
                    .col(string("code"))
                    .col(integer("position"))
                    .primary_key(Index::create().col("scheme_id").col("kind").col("code"))
                    .foreign_key(&mut fk_scheme("scheme_perimeter"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_scheme_perimeter_code",
                "scheme_perimeter",
                &["code"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scheme_document")
                    .if_not_exists()
                    .col(big_integer("scheme_id"))
                    .col(integer("position"))
                    .col(text("label"))
                    .primary_key(Index::create().col("scheme_id").col("position"))
                    .foreign_key(&mut fk_scheme("scheme_document"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("catalog_change")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string("actor"))
                    .col(string("entity"))
                    .col(string("slug"))
                    .col(string("action"))
                    .col(text("detail"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_catalog_change_slug",
                "catalog_change",
                &["entity", "slug"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("account")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_uniq("email"))
                    .col(string("role"))
                    .col(big_integer_null("funder_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_login_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("account", "funder_id")
                            .to("funder", "id"),
                    )
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("token")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("account_id"))
                    .col(string("kind"))
                    .col(string_uniq("hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("token", "account_id")
                            .to("account", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("login_link")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string("email"))
                    .col(string_uniq("hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string("template"))
                    .col(string("recipient"))
                    .col(text("subject"))
                    .col(text("body_text"))
                    .col(text("body_html"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(timestamp_with_time_zone_null("claimed_until"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(text_null("last_error"))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_outbox_due",
                "outbox",
                &["sent_at", "next_attempt_at"],
            ))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "outbox",
            "login_link",
            "token",
            "account",
            "catalog_change",
            "scheme_document",
            "scheme_perimeter",
            "scheme_tag",
            "scheme_funder",
            "scheme",
            "funder",
            "territory",
            "meta",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
