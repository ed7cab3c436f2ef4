//! Shared dossiers: the holder's profile, dossiers with their attachments, one review per
//! funder, information requests, private notes, the audit log, conferences of funders and
//! their agendas; attachments of outgoing mail.

use sea_orm_migration::{prelude::*, schema::*};

use crate::index_on as index;

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(
    table: &'static str,
    column: &'static str,
    to: &'static str,
    cascade: bool,
) -> ForeignKeyCreateStatement {
    let mut key = ForeignKey::create().from(table, column).to(to, "id").take();
    if cascade {
        key.on_delete(ForeignKeyAction::Cascade);
    }
    key
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("holder_profile")
                    .if_not_exists()
                    .col(big_integer("account_id").primary_key())
                    // JSON of the organisation (identity, representative).
                    .col(text("holder"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("holder_profile", "account_id", "account", true))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("dossier")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_uniq("reference"))
                    .col(big_integer("account_id"))
                    .col(string("status"))
                    // JSON of each section of the form; null until given.
                    .col(text_null("holder"))
                    .col(text_null("project"))
                    .col(text("expenses"))
                    .col(text_null("plan"))
                    .col(boolean("certified"))
                    // JSON list of the schemes it was submitted to.
                    .col(text("scheme_slugs"))
                    .col(string_null("submit_key"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("submitted_at"))
                    .col(text_null("withdrawn_reason"))
                    .foreign_key(&mut fk("dossier", "account_id", "account", false))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_dossier_account", "dossier", &["account_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("attachment")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("dossier_id"))
                    .col(string("label"))
                    .col(string("filename"))
                    .col(string("content_type"))
                    .col(big_integer("size"))
                    .col(string("sha256"))
                    .col(timestamp_with_time_zone("uploaded_at"))
                    .foreign_key(&mut fk("attachment", "dossier_id", "dossier", true))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_attachment_dossier",
                "attachment",
                &["dossier_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("review")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("dossier_id"))
                    .col(big_integer("funder_id"))
                    .col(string("status"))
                    .col(string_null("decision"))
                    .col(big_integer_null("amount"))
                    .col(text_null("motivation"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .col(string_null("decided_by"))
                    .col(big_integer("requested_amount"))
                    .col(text("scheme_slugs"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("review", "dossier_id", "dossier", true))
                    .foreign_key(&mut fk("review", "funder_id", "funder", false))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "idx_review_dossier_funder",
                    "review",
                    &["dossier_id", "funder_id"],
                )
                .unique()
                .take(),
            )
            .await?;
        manager
            .create_index(index("idx_review_funder", "review", &["funder_id"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("information_request")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("dossier_id"))
                    .col(big_integer("funder_id"))
                    .col(string("asked_by"))
                    .col(text("question"))
                    .col(timestamp_with_time_zone("asked_at"))
                    .col(text_null("answer"))
                    .col(timestamp_with_time_zone_null("answered_at"))
                    .foreign_key(&mut fk(
                        "information_request",
                        "dossier_id",
                        "dossier",
                        true,
                    ))
                    .foreign_key(&mut fk("information_request", "funder_id", "funder", false))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_information_request_dossier",
                "information_request",
                &["dossier_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("review_note")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("review_id"))
                    .col(big_integer("funder_id"))
                    .col(string("author"))
                    .col(text("text"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(&mut fk("review_note", "review_id", "review", true))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("dossier_event")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("dossier_id"))
                    .col(timestamp_with_time_zone("at"))
                    .col(string("actor"))
                    .col(string("action"))
                    .col(text("detail"))
                    .foreign_key(&mut fk("dossier_event", "dossier_id", "dossier", true))
                    .take(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_dossier_event_dossier",
                "dossier_event",
                &["dossier_id"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("conference")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(text("title"))
                    .col(date("held_on"))
                    .col(string("status"))
                    .col(text_null("minutes"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("closed_at"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("conference_funder")
                    .if_not_exists()
                    .col(big_integer("conference_id"))
                    .col(big_integer("funder_id"))
                    .primary_key(Index::create().col("conference_id").col("funder_id"))
                    .foreign_key(&mut fk(
                        "conference_funder",
                        "conference_id",
                        "conference",
                        true,
                    ))
                    .foreign_key(&mut fk("conference_funder", "funder_id", "funder", false))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("agenda_item")
                    .if_not_exists()
                    .col(big_integer("conference_id"))
                    .col(big_integer("dossier_id"))
                    .col(integer("position"))
                    // JSON of the combined financing plan recorded at close.
                    .col(text_null("outcome"))
                    .primary_key(Index::create().col("conference_id").col("dossier_id"))
                    .foreign_key(&mut fk("agenda_item", "conference_id", "conference", true))
                    .foreign_key(&mut fk("agenda_item", "dossier_id", "dossier", true))
                    .take(),
            )
            .await?;

        // Files attached to an outgoing message: JSON list of {filename, contentType, sha256}.
        manager
            .alter_table(
                Table::alter()
                    .table("outbox")
                    .add_column(text_null("attachments"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("outbox")
                    .drop_column("attachments")
                    .take(),
            )
            .await?;
        for table in [
            "agenda_item",
            "conference_funder",
            "conference",
            "dossier_event",
            "review_note",
            "information_request",
            "review",
            "attachment",
            "dossier",
            "holder_profile",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().take())
                .await?;
        }
        Ok(())
    }
}
