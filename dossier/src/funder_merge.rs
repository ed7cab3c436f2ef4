//! Merging two funders that are one (an import created « ANCT » beside « Agence nationale
//! de la cohésion des territoires »): everything that names the duplicate moves to the
//! survivor, the duplicate's name and slug become aliases, and the duplicate is deleted. It
//! lives here because reviews, questions and conferences name funders too.

use std::collections::HashSet;

use catalog::entity::{account, funder, funder_alias, scheme, scheme_funder};
use catalog::funder::Funder;
use catalog::{Actor, Error, Result};
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionSession,
    TransactionTrait,
};

use crate::entity::{conference_funder, information_request, review, review_note};

/// Merges the funder `duplicate` into `survivor` (staff), in one transaction: schemes
/// (without linking a scheme twice), reviews, questions and notes, conferences, agents,
/// services and aliases move to the survivor; the survivor takes the duplicate's contact
/// address when it has none; the duplicate's name and slug become aliases of the survivor;
/// the duplicate is deleted; both are logged, and the schemes touched are dated now so the
/// search index picks them up. Refuses a funder merged into itself or into one of its own
/// services, and a dossier reviewed by both (two decisions cannot become one).
pub async fn merge<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &catalog::Effects,
    actor: &Actor,
    survivor: &str,
    duplicate: &str,
) -> Result<Funder> {
    actor.require_staff()?;
    let txn = catalog::db::begin_write(db).await?;
    let kept = catalog::funder::require(&txn, survivor.trim(), "survivor").await?;
    let gone = catalog::funder::require(&txn, duplicate.trim(), "duplicate").await?;
    if kept.id == gone.id {
        return Err(Error::validation(
            "duplicate",
            "Un financeur ne peut pas être fusionné avec lui-même.",
        ));
    }
    // The survivor must not be one of the duplicate's services (at any depth).
    let mut parent = parent_of(&txn, kept.id).await?;
    let mut depth = 0;
    while let Some(id) = parent {
        if id == gone.id {
            return Err(Error::validation(
                "survivor",
                format!(
                    "« {} » est un service de « {} » : un financeur ne peut pas être fusionné dans l'un de ses services.",
                    kept.record.name, gone.record.name
                ),
            ));
        }
        depth += 1;
        if depth > 32 {
            break;
        }
        parent = parent_of(&txn, id).await?;
    }

    // Reviews: a dossier reviewed by both cannot be merged.
    let kept_dossiers: HashSet<i64> = review::Entity::find()
        .filter(review::Column::FunderId.eq(kept.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| r.dossier_id)
        .collect();
    if let Some(both) = review::Entity::find()
        .filter(review::Column::FunderId.eq(gone.id))
        .all(&txn)
        .await?
        .into_iter()
        .find(|r| kept_dossiers.contains(&r.dossier_id))
    {
        return Err(Error::validation(
            "duplicate",
            format!(
                "Le dossier n° {} est instruit par les deux financeurs : leurs deux instructions ne peuvent pas être fusionnées.",
                both.dossier_id
            ),
        ));
    }
    review::Entity::update_many()
        .col_expr(review::Column::FunderId, Expr::value(kept.id))
        .filter(review::Column::FunderId.eq(gone.id))
        .exec(&txn)
        .await?;
    information_request::Entity::update_many()
        .col_expr(information_request::Column::FunderId, Expr::value(kept.id))
        .filter(information_request::Column::FunderId.eq(gone.id))
        .exec(&txn)
        .await?;
    review_note::Entity::update_many()
        .col_expr(review_note::Column::FunderId, Expr::value(kept.id))
        .filter(review_note::Column::FunderId.eq(gone.id))
        .exec(&txn)
        .await?;

    // Conferences: one seat each.
    let kept_conferences: HashSet<i64> = conference_funder::Entity::find()
        .filter(conference_funder::Column::FunderId.eq(kept.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|c| c.conference_id)
        .collect();
    for seat in conference_funder::Entity::find()
        .filter(conference_funder::Column::FunderId.eq(gone.id))
        .all(&txn)
        .await?
    {
        let conference_id = seat.conference_id;
        conference_funder::Entity::delete_many()
            .filter(conference_funder::Column::ConferenceId.eq(conference_id))
            .filter(conference_funder::Column::FunderId.eq(gone.id))
            .exec(&txn)
            .await?;
        if !kept_conferences.contains(&conference_id) {
            let mut moved: conference_funder::ActiveModel = seat.into();
            moved.funder_id = Set(kept.id);
            conference_funder::Entity::insert(moved).exec(&txn).await?;
        }
    }

    // Schemes: one link each, then dated now for the search index.
    let kept_schemes: HashSet<i64> = scheme_funder::Entity::find()
        .filter(scheme_funder::Column::FunderId.eq(kept.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|l| l.scheme_id)
        .collect();
    let mut touched = Vec::new();
    for link in scheme_funder::Entity::find()
        .filter(scheme_funder::Column::FunderId.eq(gone.id))
        .all(&txn)
        .await?
    {
        touched.push(link.scheme_id);
        scheme_funder::Entity::delete_many()
            .filter(scheme_funder::Column::SchemeId.eq(link.scheme_id))
            .filter(scheme_funder::Column::FunderId.eq(gone.id))
            .exec(&txn)
            .await?;
        if !kept_schemes.contains(&link.scheme_id) {
            scheme_funder::Entity::insert(scheme_funder::ActiveModel {
                scheme_id: Set(link.scheme_id),
                funder_id: Set(kept.id),
                position: Set(link.position),
            })
            .exec(&txn)
            .await?;
        }
    }
    let now = Utc::now();
    if !touched.is_empty() {
        scheme::Entity::update_many()
            .col_expr(scheme::Column::UpdatedAt, Expr::value(now))
            .filter(scheme::Column::Id.is_in(touched.clone()))
            .exec(&txn)
            .await?;
    }

    // Agents, services, aliases.
    account::Entity::update_many()
        .col_expr(account::Column::FunderId, Expr::value(kept.id))
        .filter(account::Column::FunderId.eq(gone.id))
        .exec(&txn)
        .await?;
    funder::Entity::update_many()
        .col_expr(funder::Column::ParentId, Expr::value(kept.id))
        .filter(funder::Column::ParentId.eq(gone.id))
        .exec(&txn)
        .await?;
    funder_alias::Entity::update_many()
        .col_expr(funder_alias::Column::FunderId, Expr::value(kept.id))
        .filter(funder_alias::Column::FunderId.eq(gone.id))
        .exec(&txn)
        .await?;

    // The survivor keeps its own values; it takes the duplicate's address when it has none
    // (dossiers would otherwise reach nobody).
    if kept.record.contact_email.is_none() && gone.record.contact_email.is_some() {
        let row = funder::Entity::find_by_id(kept.id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Financeur « {survivor} »")))?;
        let mut active: funder::ActiveModel = row.into();
        active.contact_email = Set(gone.record.contact_email.clone());
        active.updated_at = Set(now);
        funder::Entity::update(active).exec(&txn).await?;
    }
    funder::Entity::delete_by_id(gone.id).exec(&txn).await?;
    catalog::funder_alias::add_if_absent(&txn, &gone.record.name, kept.id).await?;
    catalog::funder_alias::add_if_absent(&txn, &gone.record.slug, kept.id).await?;

    let detail = serde_json::json!({
        "survivor": kept.record.slug,
        "duplicate": gone.record.slug,
        "schemes": touched.len(),
    });
    catalog::change::record(
        &txn,
        actor,
        "funder",
        &kept.record.slug,
        "merge",
        detail.clone(),
    )
    .await?;
    catalog::change::record(&txn, actor, "funder", &gone.record.slug, "merged", detail).await?;
    let merged = catalog::funder::get_by_id(&txn, kept.id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("Financeur « {survivor} »")))?;
    txn.commit().await?;
    fx.catalog_changed(db).await?;
    Ok(merged)
}

async fn parent_of(db: &impl ConnectionTrait, id: i64) -> Result<Option<i64>> {
    Ok(funder::Entity::find_by_id(id)
        .one(db)
        .await?
        .and_then(|f| f.parent_id))
}
