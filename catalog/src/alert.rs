//! Alerts: a logged-in user saves a search (text and filters) and receives, daily or
//! weekly, a digest of the schemes new or changed since the previous one — nothing when
//! nothing changed — with a one-click unsubscribe link that needs no login.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};

use crate::actor::Actor;
use crate::entity::saved_search;
use crate::error::{Error, Result};
use crate::search::Filter;
use crate::text;

/// How often a digest is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    Weekly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "DAILY",
            Frequency::Weekly => "WEEKLY",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "DAILY" => Some(Frequency::Daily),
            "WEEKLY" => Some(Frequency::Weekly),
            _ => None,
        }
    }

    /// The French adjective (« quotidienne », « hebdomadaire »).
    pub fn label(self) -> &'static str {
        match self {
            Frequency::Daily => "quotidienne",
            Frequency::Weekly => "hebdomadaire",
        }
    }

    pub fn period(self) -> Duration {
        match self {
            Frequency::Daily => Duration::days(1),
            Frequency::Weekly => Duration::days(7),
        }
    }
}

/// A saved search.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedSearch {
    pub id: i64,
    pub account_id: i64,
    pub text: Option<String>,
    pub filter: Filter,
    pub frequency: Frequency,
    pub unsubscribe_token: String,
    pub created_at: DateTime<Utc>,
    pub covered_until: DateTime<Utc>,
    pub next_due_at: DateTime<Utc>,
}

impl From<saved_search::Model> for SavedSearch {
    fn from(row: saved_search::Model) -> Self {
        SavedSearch {
            id: row.id,
            account_id: row.account_id,
            text: row.text,
            filter: serde_json::from_str(&row.filter).unwrap_or_default(),
            frequency: Frequency::parse(&row.frequency).unwrap_or(Frequency::Weekly),
            unsubscribe_token: row.unsubscribe_token,
            created_at: row.created_at,
            covered_until: row.covered_until,
            next_due_at: row.next_due_at,
        }
    }
}

fn account_id(actor: &Actor) -> Result<i64> {
    match actor {
        Actor::Account { id, .. } => Ok(*id),
        _ => Err(Error::Unauthenticated),
    }
}

/// Most alerts one account may keep.
pub const MAX_PER_ACCOUNT: u64 = 20;

/// Saves a search for the logged-in actor. Drafts and archives never go into alerts.
pub async fn create(
    db: &impl ConnectionTrait,
    actor: &Actor,
    text: Option<String>,
    mut filter: Filter,
    frequency: Frequency,
) -> Result<SavedSearch> {
    let account = account_id(actor)?;
    let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    if text.as_ref().is_some_and(|t| t.chars().count() > 500) {
        return Err(Error::validation(
            "text",
            "La recherche ne doit pas dépasser 500 caractères.",
        ));
    }
    if let Some(text) = &text {
        text::one_line("text", text)?;
    }
    filter.check_dates()?;
    let existing = saved_search::Entity::find()
        .filter(saved_search::Column::AccountId.eq(account))
        .count(db)
        .await?;
    if existing >= MAX_PER_ACCOUNT {
        return Err(Error::Conflict(format!(
            "Vous avez déjà {MAX_PER_ACCOUNT} alertes : supprimez-en une d'abord."
        )));
    }
    filter.status.clear();
    let now = Utc::now();
    let row = saved_search::Entity::insert(saved_search::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        account_id: Set(account),
        text: Set(text),
        filter: Set(serde_json::to_string(&filter).unwrap_or_default()),
        frequency: Set(frequency.as_str().to_owned()),
        unsubscribe_token: Set(uuid::Uuid::new_v4().simple().to_string()),
        created_at: Set(now),
        covered_until: Set(now),
        next_due_at: Set(now + frequency.period()),
    })
    .exec_with_returning(db)
    .await?;
    Ok(row.into())
}

/// The actor's saved searches, oldest first.
pub async fn mine(db: &impl ConnectionTrait, actor: &Actor) -> Result<Vec<SavedSearch>> {
    let account = account_id(actor)?;
    Ok(saved_search::Entity::find()
        .filter(saved_search::Column::AccountId.eq(account))
        .order_by_asc(saved_search::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Deletes one of the actor's saved searches.
pub async fn delete(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<()> {
    let account = account_id(actor)?;
    let deleted = saved_search::Entity::delete_many()
        .filter(saved_search::Column::Id.eq(id))
        .filter(saved_search::Column::AccountId.eq(account))
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::NotFound("Alerte".into()));
    }
    Ok(())
}

/// Deletes the saved search of this unsubscribe link; true when there was one.
pub async fn unsubscribe(db: &impl ConnectionTrait, token: &str) -> Result<bool> {
    let deleted = saved_search::Entity::delete_many()
        .filter(saved_search::Column::UnsubscribeToken.eq(token.trim()))
        .exec(db)
        .await?;
    Ok(deleted.rows_affected > 0)
}

/// Saved searches whose digest is due.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<SavedSearch>> {
    Ok(saved_search::Entity::find()
        .filter(saved_search::Column::NextDueAt.lte(now))
        .order_by_asc(saved_search::Column::NextDueAt)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Marks a digest done up to `covered_until` and schedules the next one. Compare-and-set
/// on the previous schedule, so two workers never send the same digest: false when another
/// got there first.
pub async fn advance(
    db: &impl ConnectionTrait,
    alert: &SavedSearch,
    covered_until: DateTime<Utc>,
) -> Result<bool> {
    let updated = saved_search::Entity::update_many()
        .col_expr(
            saved_search::Column::CoveredUntil,
            Expr::value(covered_until),
        )
        .col_expr(
            saved_search::Column::NextDueAt,
            Expr::value(covered_until + alert.frequency.period()),
        )
        .filter(saved_search::Column::Id.eq(alert.id))
        .filter(saved_search::Column::NextDueAt.eq(alert.next_due_at))
        .exec(db)
        .await?;
    Ok(updated.rows_affected == 1)
}
