//! Conferences of funders: planning, the agenda and its decision grid, and the close.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use catalog::Actor;
use chrono::{DateTime, Utc};
use dossier::conference as domain;

use super::catalog::Funder;
use super::dossier::{Dossier, FunderReview, page_size, parse_id};
use super::eligibility::{FinancingPlanCheck, PlanViolation};
use super::error::ResultExt;
use super::scalars::Date;
use super::{PageInfo, parse_cursor};
use crate::app::AppState;

#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
#[graphql(remote = "dossier::ConferenceStatus")]
pub enum ConferenceStatus {
    Planned,
    Open,
    Closed,
}

/// A conference to plan.
#[derive(InputObject)]
pub struct ConferenceInput {
    pub title: String,
    pub held_on: Date,
    pub funder_slugs: Vec<String>,
}

/// The combined financing plan of an agenda dossier, recorded at close.
#[derive(SimpleObject)]
pub struct CombinedPlan {
    pub total_cost: i64,
    pub own_funds: i64,
    /// The sum of the amounts granted.
    pub granted: i64,
    /// What is left to find: cost − own funds − granted (0 when covered).
    pub remaining: i64,
    pub check: FinancingPlanCheck,
}

impl From<domain::Outcome> for CombinedPlan {
    fn from(o: domain::Outcome) -> Self {
        CombinedPlan {
            total_cost: o.total_cost,
            own_funds: o.own_funds,
            granted: o.granted,
            remaining: o.remaining,
            check: FinancingPlanCheck {
                balanced: o.balanced,
                public_share: o.public_share,
                own_share: o.own_share,
                violations: o
                    .violations
                    .into_iter()
                    .map(|v| PlanViolation {
                        code: v.code,
                        message: v.message,
                        line: v.line.map(|l| l as u64),
                    })
                    .collect(),
                // The close records the violations of the granted plan, not the warnings.
                warnings: Vec::new(),
            },
        }
    }
}

/// A dossier on the agenda: a row of the decision grid.
pub struct AgendaItem {
    dossier: Dossier,
    outcome: Option<domain::Outcome>,
}

#[Object]
impl AgendaItem {
    async fn dossier(&self) -> &Dossier {
        &self.dossier
    }

    /// Each funder's review of the dossier (the cells of the grid).
    async fn reviews(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FunderReview>> {
        let state = ctx.data::<AppState>()?;
        Ok(
            dossier::review::reviews_of(&state.db, self.dossier.inner.id)
                .await
                .gql()?
                .into_iter()
                .map(FunderReview)
                .collect(),
        )
    }

    /// The combined plan, once the conference is closed.
    async fn outcome(&self) -> Option<CombinedPlan> {
        self.outcome.clone().map(Into::into)
    }
}

/// A conference of funders.
pub struct Conference(domain::Conference);

#[Object]
impl Conference {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn held_on(&self) -> Date {
        Date(self.0.held_on)
    }

    async fn status(&self) -> ConferenceStatus {
        self.0.status.into()
    }

    /// The status in French.
    async fn status_label(&self) -> &'static str {
        self.0.status.label()
    }

    /// The invited funders.
    async fn funders(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Funder>> {
        let state = ctx.data::<AppState>()?;
        let mut out = Vec::new();
        for id in domain::funder_ids(&state.db, self.0.id).await.gql()? {
            if let Some(f) = catalog::funder::get_by_id(&state.db, id).await.gql()? {
                out.push(f.into());
            }
        }
        Ok(out)
    }

    /// The dossiers on the agenda that the caller may see, in order.
    async fn agenda(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AgendaItem>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        Ok(domain::visible_agenda(&state.db, actor, &self.0)
            .await
            .gql()?
            .into_iter()
            .map(|v| AgendaItem {
                dossier: Dossier {
                    inner: v.dossier,
                    access: v.access,
                },
                outcome: v.item.outcome,
            })
            .collect())
    }

    /// The minutes, written at close: the part of each agenda dossier the caller may see.
    async fn minutes(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        domain::minutes(&state.db, &state.territories, actor, &self.0)
            .await
            .gql()
    }

    async fn minutes_url(&self) -> Option<String> {
        self.0
            .minutes
            .as_ref()
            .map(|_| format!("/conferences/{}/proces-verbal", self.0.id))
    }

    /// The awarded subsidies as CSV (SCDL « subventions »), once closed.
    async fn decisions_csv_url(&self) -> Option<String> {
        (self.0.status == dossier::ConferenceStatus::Closed)
            .then(|| format!("/conferences/{}/decisions.csv", self.0.id))
    }

    async fn closed_at(&self) -> Option<DateTime<Utc>> {
        self.0.closed_at
    }
}

/// A page of conferences.
#[derive(SimpleObject)]
pub struct ConferenceConnection {
    pub nodes: Vec<Conference>,
    pub total: u64,
    pub page_info: PageInfo,
}

#[derive(Default)]
pub struct ConferenceQuery;

#[Object]
impl ConferenceQuery {
    /// Conferences the caller may see (staff; agents of an invited funder), latest first.
    #[graphql(complexity = "super::page_cost(first.unwrap_or(20), child_complexity)")]
    async fn conferences(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ConferenceConnection> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let limit = page_size(first.unwrap_or(20))?;
        let offset = parse_cursor(after.as_deref())?;
        let (list, total) = domain::list(&state.db, actor, offset, limit).await.gql()?;
        let end = offset + list.len() as u64;
        Ok(ConferenceConnection {
            nodes: list.into_iter().map(Conference).collect(),
            total,
            page_info: PageInfo::new(end, end < total),
        })
    }

    /// A conference the caller may see (null otherwise).
    async fn conference(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<Conference>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        match domain::get(&state.db, actor, id).await {
            Ok(c) => Ok(Some(Conference(c))),
            Err(catalog::Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }
}

#[derive(Default)]
pub struct ConferenceMutation;

#[Object]
impl ConferenceMutation {
    /// Plans a conference of funders (staff).
    async fn create_conference(
        &self,
        ctx: &Context<'_>,
        input: ConferenceInput,
    ) -> async_graphql::Result<Conference> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        Ok(Conference(
            domain::create(
                &state.db,
                actor,
                &input.title,
                input.held_on.0,
                &input.funder_slugs,
            )
            .await
            .gql()?,
        ))
    }

    /// Puts a submitted dossier on the agenda (staff).
    async fn add_to_agenda(
        &self,
        ctx: &Context<'_>,
        conference_id: ID,
        dossier_id: ID,
    ) -> async_graphql::Result<Conference> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let conference_id = parse_id(&conference_id, "conferenceId")?;
        let dossier_id = parse_id(&dossier_id, "dossierId")?;
        Ok(Conference(
            domain::add_to_agenda(&state.db, actor, conference_id, dossier_id)
                .await
                .gql()?,
        ))
    }

    /// Opens the session (staff).
    async fn open_conference(
        &self,
        ctx: &Context<'_>,
        conference_id: ID,
    ) -> async_graphql::Result<Conference> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&conference_id, "conferenceId")?;
        Ok(Conference(domain::open(&state.db, actor, id).await.gql()?))
    }

    /// Closes the conference (staff): refused while a decision is missing; records each
    /// dossier's combined plan, writes the minutes and sends each holder one summary.
    async fn close_conference(
        &self,
        ctx: &Context<'_>,
        conference_id: ID,
    ) -> async_graphql::Result<Conference> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&conference_id, "conferenceId")?;
        let closed = domain::close(&state.db, &state.dossiers, actor, id)
            .await
            .gql()?;
        state.mail_wakeup.notify_one();
        Ok(Conference(closed))
    }
}
