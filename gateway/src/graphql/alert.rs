//! Saved searches (alerts) of the logged-in account.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use catalog::Actor;
use catalog::alert::{self, Frequency};
use chrono::{DateTime, Utc};

use super::error::ResultExt;
use super::search::SchemeFilter;
use super::vocab::{AidType, BeneficiaryType};
use crate::app::AppState;

/// How often a digest is sent.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AlertFrequency {
    Daily,
    Weekly,
}

/// The filters of a saved search.
#[derive(SimpleObject)]
pub struct SavedFilter {
    pub territory: Option<String>,
    pub themes: Vec<String>,
    pub beneficiary_types: Vec<BeneficiaryType>,
    pub aid_types: Vec<AidType>,
    pub funders: Vec<String>,
}

/// A search saved as an alert.
#[derive(SimpleObject)]
pub struct SavedSearch {
    pub id: ID,
    pub text: Option<String>,
    pub filter: SavedFilter,
    pub frequency: AlertFrequency,
    /// The search in French, as in the digest.
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub next_digest_at: DateTime<Utc>,
}

fn to_graphql(state: &AppState, a: alert::SavedSearch) -> SavedSearch {
    SavedSearch {
        id: ID(a.id.to_string()),
        description: crate::alerts::describe(state, &a),
        text: a.text,
        frequency: match a.frequency {
            Frequency::Daily => AlertFrequency::Daily,
            Frequency::Weekly => AlertFrequency::Weekly,
        },
        filter: SavedFilter {
            territory: a.filter.territory,
            themes: a.filter.themes,
            beneficiary_types: a
                .filter
                .beneficiary_types
                .into_iter()
                .map(Into::into)
                .collect(),
            aid_types: a.filter.aid_types.into_iter().map(Into::into).collect(),
            funders: a.filter.funders,
        },
        created_at: a.created_at,
        next_digest_at: a.next_due_at,
    }
}

#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// The caller's saved searches.
    async fn saved_searches(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<SavedSearch>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let mine = alert::mine(&state.db, actor).await.gql()?;
        Ok(mine.into_iter().map(|a| to_graphql(state, a)).collect())
    }
}

#[derive(Default)]
pub struct AlertMutation;

#[Object]
impl AlertMutation {
    /// Saves a search as an alert (logged-in accounts): a digest of new or changed schemes,
    /// daily or weekly, with a one-click unsubscribe link.
    async fn save_search(
        &self,
        ctx: &Context<'_>,
        text: Option<String>,
        filter: Option<SchemeFilter>,
        frequency: AlertFrequency,
    ) -> async_graphql::Result<SavedSearch> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let filter = filter.unwrap_or_default().into_domain();
        if let Some(code) = &filter.territory
            && state.territories.resolve(code).is_none()
        {
            return Err(catalog::Error::validation(
                "filter.territory",
                format!("Territoire inconnu : « {code} »."),
            ))
            .gql();
        }
        let frequency = match frequency {
            AlertFrequency::Daily => Frequency::Daily,
            AlertFrequency::Weekly => Frequency::Weekly,
        };
        let saved = alert::create(&state.db, actor, text, filter, frequency)
            .await
            .gql()?;
        Ok(to_graphql(state, saved))
    }

    /// Deletes one of the caller's saved searches.
    async fn delete_saved_search(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id: i64 = id
            .parse()
            .map_err(|_| catalog::Error::validation("id", "Identifiant d'alerte invalide."))
            .gql()?;
        alert::delete(&state.db, actor, id).await.gql()?;
        Ok(true)
    }
}
