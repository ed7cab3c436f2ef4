//! Schemes and funders: reading the catalogue, and the staff curation mutations.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use catalog::Actor;
use catalog::funder::FunderRecord;
use catalog::scheme::{self, ListFilter, SchemeRecord, Verified};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::{ResultExt, internal};
use super::scalars::Date;
use super::vocab::{
    AidType, BeneficiaryType, CostBasis, FunderKind, Nature, Recurrence, SchemeStatus,
    StateAidRegime,
};
use super::{PageInfo, parse_cursor};
use crate::app::AppState;

/// Loads funders by slug, in one query per batch.
pub struct FunderLoader(pub sea_orm::DatabaseConnection);

impl Loader<String> for FunderLoader {
    type Value = catalog::funder::Funder;
    type Error = async_graphql::Error;

    async fn load(&self, slugs: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let all = catalog::funder::all(&self.0).await.gql()?;
        Ok(all
            .into_iter()
            .filter(|f| slugs.contains(&f.record.slug))
            .map(|f| (f.record.slug.clone(), f))
            .collect())
    }
}

/// Loads the number of published schemes per funder id.
pub struct SchemeCountLoader(pub sea_orm::DatabaseConnection);

impl Loader<i64> for SchemeCountLoader {
    type Value = u64;
    type Error = async_graphql::Error;

    async fn load(&self, ids: &[i64]) -> Result<HashMap<i64, u64>, Self::Error> {
        let counts = catalog::funder::published_scheme_counts(&self.0)
            .await
            .gql()?;
        Ok(ids
            .iter()
            .map(|id| (*id, counts.get(id).copied().unwrap_or(0)))
            .collect())
    }
}

/// The funders' network, loaded once per request when a field needs it.
#[derive(Default)]
pub struct NetworkCache(tokio::sync::OnceCell<std::sync::Arc<catalog::network::Network>>);

/// The funders' network as of this request.
pub async fn network(
    ctx: &Context<'_>,
) -> async_graphql::Result<std::sync::Arc<catalog::network::Network>> {
    let state = ctx.data::<AppState>()?;
    let cache = ctx.data::<NetworkCache>()?;
    Ok(cache
        .0
        .get_or_try_init(|| async {
            catalog::network::Network::load(&state.db)
                .await
                .map(std::sync::Arc::new)
        })
        .await
        .gql()?
        .clone())
}

/// A body that funds schemes: a stored funder, or one as a scheme names it (its id is then
/// looked up only when asked for).
pub struct Funder {
    id: Option<i64>,
    record: FunderRecord,
}

impl From<catalog::funder::Funder> for Funder {
    fn from(f: catalog::funder::Funder) -> Self {
        Funder {
            id: Some(f.id),
            record: f.record,
        }
    }
}

impl Funder {
    async fn stored_id(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        if let Some(id) = self.id {
            return Ok(id);
        }
        let loader = ctx.data::<DataLoader<FunderLoader>>()?;
        Ok(loader
            .load_one(self.record.slug.clone())
            .await?
            .ok_or_else(|| internal(format!("financeur {} introuvable", self.record.slug)))?
            .id)
    }
}

#[Object]
impl Funder {
    async fn id(&self, ctx: &Context<'_>) -> async_graphql::Result<ID> {
        Ok(ID(self.stored_id(ctx).await?.to_string()))
    }
    async fn slug(&self) -> &str {
        &self.record.slug
    }
    async fn name(&self) -> &str {
        &self.record.name
    }
    async fn kind(&self) -> FunderKind {
        self.record.kind.into()
    }
    /// The kind in French.
    async fn kind_label(&self) -> &'static str {
        self.record.kind.label()
    }
    async fn contact_email(&self) -> Option<&str> {
        self.record.contact_email.as_deref()
    }
    /// Whether its money is public (a « personne publique »): as staff set it, else its
    /// kind's default (social-security funds such as the CAF or the MSA are private-law
    /// bodies: not public).
    async fn public_body(&self) -> bool {
        self.record.is_public()
    }
    /// The name as it reads in a sentence, with its article (« l'État »).
    async fn name_in_sentence(&self) -> Option<&str> {
        self.record.name_in_sentence.as_deref()
    }
    /// The funder it is a local service of (« État — préfectures » for the Préfecture de la
    /// Haute-Marne).
    async fn parent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Funder>> {
        let id = self.stored_id(ctx).await?;
        let network = network(ctx).await?;
        let Some(parent) = network.get(id).and_then(|n| n.parent) else {
            return Ok(None);
        };
        let state = ctx.data::<AppState>()?;
        Ok(catalog::funder::get_by_id(&state.db, parent)
            .await
            .gql()?
            .map(Funder::from))
    }
    /// Its local services, by name.
    async fn services(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Funder>> {
        let id = self.stored_id(ctx).await?;
        let network = network(ctx).await?;
        let state = ctx.data::<AppState>()?;
        let mut out = Vec::new();
        for &service in network.services(id) {
            if let Some(f) = catalog::funder::get_by_id(&state.db, service).await.gql()? {
                out.push(Funder::from(f));
            }
        }
        out.sort_by_cached_key(|f| catalog::text::fold(&f.record.name));
        Ok(out)
    }
    /// Where it acts, for a service: territory codes and `zoning:<slug>`.
    async fn jurisdiction(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let id = self.stored_id(ctx).await?;
        Ok(network(ctx)
            .await?
            .get(id)
            .map(|n| n.jurisdiction.clone())
            .unwrap_or_default())
    }
    /// Whether it receives dossiers in Guichet: it or a parent has an agent or a contact
    /// address.
    async fn receives(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let id = self.stored_id(ctx).await?;
        Ok(network(ctx).await?.receives(id))
    }
    /// Whether staff curate it (an import never changes it).
    async fn curated(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let id = self.stored_id(ctx).await?;
        Ok(network(ctx).await?.get(id).is_some_and(|n| n.curated))
    }
    /// Its agents (staff, and the agents of this funder; empty for anyone else).
    async fn agents(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::account::Account>> {
        let id = self.stored_id(ctx).await?;
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        Ok(dossier::agent::agents(&state.db, actor, id)
            .await
            .gql()?
            .into_iter()
            .map(super::account::Account)
            .collect())
    }
    /// The other names it is known by (« ANCT »): an import recognises it by them.
    async fn aliases(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<String>> {
        let id = self.stored_id(ctx).await?;
        let state = ctx.data::<AppState>()?;
        catalog::funder_alias::of_funder(&state.db, id).await.gql()
    }
    /// Number of published schemes.
    async fn scheme_count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64> {
        let id = self.stored_id(ctx).await?;
        let loader = ctx.data::<DataLoader<SchemeCountLoader>>()?;
        Ok(loader.load_one(id).await?.unwrap_or(0))
    }
    /// Its schemes, by title (published ones, or all for staff).
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn schemes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, validator(minimum = 0, maximum = 100))] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<SchemeConnection> {
        let filter = ListFilter {
            funder: Some(self.record.slug.clone()),
            ..ListFilter::default()
        };
        list_schemes(ctx, filter, first, after).await
    }
}

/// Where a scheme applies.
#[derive(SimpleObject)]
pub struct Perimeter {
    pub national: bool,
    pub regions: Vec<String>,
    pub departments: Vec<String>,
    pub epcis: Vec<String>,
    pub communes: Vec<String>,
    /// Slugs of zonings (named lists of communes); see `zoning(slug)`.
    pub zonings: Vec<String>,
}

/// A condition the data cannot decide, shown to the holder as something to check when it
/// applies (every bound it states holds).
#[derive(SimpleObject)]
pub struct Condition {
    /// What to check and with whom, in French.
    pub text: String,
    pub when_commune_population_above: Option<i64>,
    pub when_epci_population_above: Option<i64>,
    /// Only for these holders (any holder when empty).
    pub when_holder_types: Vec<BeneficiaryType>,
}

/// Eligibility conditions; null means no such condition.
#[derive(SimpleObject)]
pub struct Rules {
    pub max_commune_population: Option<i64>,
    pub max_epci_population: Option<i64>,
    pub min_project_cost: Option<i64>,
    pub max_project_cost: Option<i64>,
    pub no_start_before_filing: Option<bool>,
    pub requires_national_public_cofunding: Option<bool>,
    pub economic_activity: Option<bool>,
    /// Conditions to check with the funder.
    pub conditions: Vec<Condition>,
}

/// Rates in percent, from 0 to 100 (30 for 30 %), amounts in whole euros, on the basis
/// `basis` says.
#[derive(SimpleObject)]
pub struct Funding {
    /// Lowest rate, in percent, from 0 to 100 (30 for 30 %).
    pub rate_min: Option<f64>,
    /// Highest rate, in percent, from 0 to 100 (30 for 30 %).
    pub rate_max: Option<f64>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    /// Highest share of public money in the project's cost, in percent, from 0 to 100
    /// (80 for 80 %).
    pub max_public_aid_rate: Option<f64>,
    pub regime: Option<StateAidRegime>,
    /// Whether amounts and rates apply to costs excluding (HT) or including (TTC) VAT; null
    /// when the scheme does not say.
    pub basis: Option<CostBasis>,
    /// For EU funds that need national public co-funding (LEADER): the EU share of the
    /// public money, in percent, from 0 to 100 (80 for 80 %).
    pub eu_cofunding_rate: Option<f64>,
    /// The rate the funder usually grants, when it says so, in percent, from 0 to 100 (30
    /// for 30 %).
    pub typical_rate: Option<f64>,
}

/// When a scheme can be applied for.
#[derive(SimpleObject)]
pub struct Calendar {
    pub recurrence: Option<Recurrence>,
    pub opens_on: Option<Date>,
    pub closes_on: Option<Date>,
}

/// One recorded change to a scheme or funder.
#[derive(SimpleObject)]
pub struct CatalogChange {
    pub at: DateTime<Utc>,
    /// Who made it: an address, or « ligne de commande ».
    pub actor: String,
    /// `create`, `update`, `status`, `publication_requested`, `sent_back`…
    pub action: String,
    /// The change in French (« Modifié : titre, financement. »), when there is more to say
    /// than the action.
    pub summary: Option<String>,
    /// JSON detail (changed fields, or the new status).
    pub detail: String,
}

/// A funding scheme.
pub struct Scheme(pub scheme::Scheme);

#[Object]
impl Scheme {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn slug(&self) -> &str {
        &self.0.record.slug
    }
    async fn title(&self) -> &str {
        &self.0.record.title
    }
    async fn summary(&self) -> Option<&str> {
        self.0.record.summary.as_deref()
    }
    async fn description(&self) -> Option<&str> {
        self.0.record.description.as_deref()
    }
    /// Whether dossiers on it can be filed in Guichet somewhere: each of its funders has a
    /// service (itself, a parent or a local service) with an agent or a contact address.
    /// Whether it does for a given commune: `SchemeMatch.receivesInGuichet`.
    async fn receives_in_guichet(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let network = network(ctx).await?;
        Ok(!self.0.record.funders.is_empty()
            && self.0.record.funders.iter().all(|f| {
                network
                    .by_slug(&f.slug)
                    .is_some_and(|n| network.some_service_receives(n.id))
            }))
    }
    async fn funders(&self) -> Vec<Funder> {
        self.0
            .record
            .funders
            .iter()
            .map(|record| Funder {
                id: None,
                record: record.clone(),
            })
            .collect()
    }
    async fn beneficiary_types(&self) -> Vec<BeneficiaryType> {
        self.0
            .record
            .beneficiary_types
            .iter()
            .map(|&v| v.into())
            .collect()
    }
    /// Theme slugs (DESIGN §4).
    async fn themes(&self) -> &[String] {
        &self.0.record.themes
    }
    async fn aid_types(&self) -> Vec<AidType> {
        self.0.record.aid_types.iter().map(|&v| v.into()).collect()
    }
    /// What the scheme funds: investment, operating costs, or both when empty.
    async fn natures(&self) -> Vec<Nature> {
        self.0.record.natures.iter().map(|&v| v.into()).collect()
    }
    async fn perimeter(&self) -> Perimeter {
        let p = self.0.record.perimeter.clone().unwrap_or_default();
        Perimeter {
            national: p.is_national(),
            regions: p.regions,
            departments: p.departments,
            epcis: p.epcis,
            communes: p.communes,
            zonings: p.zonings,
        }
    }
    async fn rules(&self) -> Rules {
        let r = &self.0.record.rules;
        Rules {
            max_commune_population: r.max_commune_population,
            max_epci_population: r.max_epci_population,
            min_project_cost: r.min_project_cost,
            max_project_cost: r.max_project_cost,
            no_start_before_filing: r.no_start_before_filing,
            requires_national_public_cofunding: r.requires_national_public_cofunding,
            economic_activity: r.economic_activity,
            conditions: r
                .conditions
                .iter()
                .map(|c| Condition {
                    text: c.text.clone(),
                    when_commune_population_above: c.when_commune_population_above,
                    when_epci_population_above: c.when_epci_population_above,
                    when_holder_types: c.when_holder_types.iter().map(|&v| v.into()).collect(),
                })
                .collect(),
        }
    }
    async fn funding(&self) -> Funding {
        let f = &self.0.record.funding;
        Funding {
            rate_min: f.rate_min,
            rate_max: f.rate_max,
            amount_min: f.amount_min,
            amount_max: f.amount_max,
            max_public_aid_rate: f.max_public_aid_rate,
            regime: f.regime.map(Into::into),
            basis: f.basis.map(Into::into),
            eu_cofunding_rate: f.eu_cofunding_rate,
            typical_rate: f.typical_rate,
        }
    }
    async fn calendar(&self) -> Calendar {
        let c = &self.0.record.calendar;
        Calendar {
            recurrence: c.recurrence.map(Into::into),
            opens_on: c.opens_on.map(Date),
            closes_on: c.closes_on.map(Date),
        }
    }
    async fn required_documents(&self) -> &[String] {
        &self.0.record.required_documents
    }
    async fn application_url(&self) -> Option<&str> {
        self.0.record.application_url.as_deref()
    }
    async fn source_url(&self) -> Option<&str> {
        self.0.record.source_url.as_deref()
    }
    /// The date someone checked the scheme against its source; null when nobody has (the
    /// pages then say « à vérifier »).
    async fn verified_on(&self) -> Option<Date> {
        self.0.record.verified_on.map(Date)
    }
    async fn status(&self) -> SchemeStatus {
        self.0.status().into()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When a funder editor asked for its publication; null once staff published it or
    /// sent it back.
    async fn publication_requested_at(&self) -> Option<DateTime<Utc>> {
        self.0.publication_requested_at
    }
    /// What staff asked the funder's editors to rework (null once published); seen by
    /// staff and the editors of its funders.
    async fn review_comment(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<&str>> {
        let Some(comment) = self.0.review_comment.as_deref() else {
            return Ok(None);
        };
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        Ok(scheme::may_curate(&state.db, actor, self.0.id)
            .await
            .gql()?
            .then_some(comment))
    }
    /// Who changed this scheme, when and what, latest first (staff, and editors of its
    /// funders).
    async fn changes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CatalogChange>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        if matches!(actor, Actor::Anonymous) {
            return Err(catalog::Error::Unauthenticated).gql();
        }
        if !scheme::may_curate(&state.db, actor, self.0.id)
            .await
            .gql()?
        {
            return Err(catalog::Error::Forbidden).gql();
        }
        let mut changes = catalog::change::history(&state.db, "scheme", &self.0.record.slug)
            .await
            .gql()?;
        changes.reverse();
        Ok(changes
            .into_iter()
            .map(|c| CatalogChange {
                summary: catalog::change::summary(&c),
                at: c.at,
                actor: c.actor,
                action: c.action,
                detail: c.detail.to_string(),
            })
            .collect())
    }
}

/// A page of schemes.
#[derive(SimpleObject)]
pub struct SchemeConnection {
    pub nodes: Vec<Scheme>,
    pub total: u64,
    pub page_info: PageInfo,
}

async fn list_schemes(
    ctx: &Context<'_>,
    filter: ListFilter,
    first: i32,
    after: Option<String>,
) -> async_graphql::Result<SchemeConnection> {
    let state = ctx.data::<AppState>()?;
    let actor = ctx.data::<Actor>()?;
    let offset = parse_cursor(after.as_deref())?;
    let page = scheme::list(&state.db, actor, &filter, offset, first as u64)
        .await
        .gql()?;
    let end = page.offset + page.schemes.len() as u64;
    Ok(SchemeConnection {
        total: page.total,
        page_info: PageInfo::new(end, end < page.total),
        nodes: page.schemes.into_iter().map(Scheme).collect(),
    })
}

#[derive(Default)]
pub struct CatalogQuery;

/// A named, dated and sourced list of communes that a scheme's perimeter may name.
#[derive(SimpleObject)]
pub struct Zoning {
    pub slug: String,
    pub name: String,
    /// Address of the public list the communes come from.
    pub source: String,
    /// The date the list is valid on.
    pub as_of: Date,
    /// Number of communes loaded; 0 when the list is not loaded (eligibility then says « à
    /// vérifier »).
    pub commune_count: i64,
}

/// What `importZoning` did.
#[derive(SimpleObject)]
pub struct ZoningImport {
    pub zoning: Zoning,
    /// Whether a zoning of that slug existed (its list was replaced).
    pub replaced: bool,
    /// The codes of the file that are no commune Guichet knows: left out.
    pub unknown: Vec<super::import::ImportLine>,
}

impl From<catalog::zoning::ZoningSummary> for Zoning {
    fn from(z: catalog::zoning::ZoningSummary) -> Self {
        Zoning {
            slug: z.slug,
            name: z.name,
            source: z.source,
            as_of: Date(z.as_of),
            commune_count: z.commune_count,
        }
    }
}

#[Object]
impl CatalogQuery {
    /// Every zoning, by slug.
    async fn zonings(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Zoning>> {
        let state = ctx.data::<AppState>()?;
        Ok(catalog::zoning::list(&state.db)
            .await
            .gql()?
            .into_iter()
            .map(Zoning::from)
            .collect())
    }

    /// The zoning with this slug.
    async fn zoning(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Option<Zoning>> {
        let state = ctx.data::<AppState>()?;
        Ok(catalog::zoning::get(&state.db, &slug)
            .await
            .gql()?
            .map(Zoning::from))
    }

    /// The scheme with this slug (drafts and archives for staff only).
    async fn scheme(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Option<Scheme>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        Ok(scheme::get_visible(&state.db, actor, slug.trim())
            .await
            .gql()?
            .map(Scheme))
    }

    /// Schemes by title: published ones, or the given statuses for staff; a funder editor
    /// who asks for drafts or archives gets those of its funder and its services only.
    // One Rust argument per GraphQL argument of the field.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "super::page_cost(first, child_complexity)")]
    async fn schemes(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20, validator(minimum = 0, maximum = 100))] first: i32,
        after: Option<String>,
        funder: Option<String>,
        status: Option<Vec<SchemeStatus>>,
        #[graphql(desc = "Only schemes of this theme (slug).")] theme: Option<String>,
        #[graphql(desc = "Only schemes last checked against their source before this day.")]
        verified_before: Option<Date>,
        #[graphql(desc = "Only schemes nobody has checked against their source yet.")]
        never_verified: Option<bool>,
        #[graphql(
            desc = "Only the schemes whose publication a funder asked for and that staff have not answered yet (true), or the others (false)."
        )]
        awaiting_publication: Option<bool>,
    ) -> async_graphql::Result<SchemeConnection> {
        let verified = match (never_verified.unwrap_or(false), verified_before) {
            (true, _) => Verified::Never,
            (false, Some(Date(day))) => Verified::Before(day),
            (false, None) => Verified::Any,
        };
        let filter = ListFilter {
            statuses: status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            funder,
            theme: theme.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()),
            verified,
            awaiting_publication,
        };
        list_schemes(ctx, filter, first, after).await
    }

    /// Every funder, by name.
    #[graphql(complexity = "super::LONG_LIST_COST * child_complexity")]
    async fn funders(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Funder>> {
        let state = ctx.data::<AppState>()?;
        Ok(catalog::funder::all(&state.db)
            .await
            .gql()?
            .into_iter()
            .map(Funder::from)
            .collect())
    }

    /// The funder with this slug.
    async fn funder(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Option<Funder>> {
        let state = ctx.data::<AppState>()?;
        Ok(catalog::funder::get(&state.db, &slug)
            .await
            .gql()?
            .map(Funder::from))
    }
}

/// A funder, as given in a scheme or to `upsertFunder`.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunderInput {
    pub slug: String,
    pub name: String,
    pub kind: FunderKind,
    pub contact_email: Option<String>,
    /// Whether its money is public; default from `kind`.
    pub public_body: Option<bool>,
    /// The name with its article, as it reads in a sentence (« l'État »).
    pub name_in_sentence: Option<String>,
    /// The slug of the funder it is a local service of; left out, it keeps its parent.
    pub parent: Option<String>,
    /// Where it acts, for a service: INSEE commune codes, EPCI SIREN, département and région
    /// codes (`REGION:44` for a région whose code is also a département's), or
    /// `zoning:<slug>`; left out, it keeps its jurisdiction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<Vec<String>>,
}

#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PerimeterInput {
    pub national: Option<bool>,
    pub regions: Option<Vec<String>>,
    pub departments: Option<Vec<String>>,
    pub epcis: Option<Vec<String>>,
    pub communes: Option<Vec<String>>,
    pub zonings: Option<Vec<String>>,
}

/// A condition to check (see `Condition`).
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionInput {
    pub text: String,
    pub when_commune_population_above: Option<i64>,
    pub when_epci_population_above: Option<i64>,
    pub when_holder_types: Option<Vec<BeneficiaryType>>,
}

#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RulesInput {
    pub max_commune_population: Option<i64>,
    pub max_epci_population: Option<i64>,
    pub min_project_cost: Option<i64>,
    pub max_project_cost: Option<i64>,
    pub no_start_before_filing: Option<bool>,
    pub requires_national_public_cofunding: Option<bool>,
    pub economic_activity: Option<bool>,
    pub conditions: Option<Vec<ConditionInput>>,
}

/// Rates are percentages from 0 to 100 (30 for 30 %; 0.3 means 0,3 %); a rate outside
/// 0–100 is a `VALIDATION` error naming its field. Amounts are whole euros.
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FundingInput {
    /// Lowest rate, en pourcentage, de 0 à 100 (30 pour 30 %).
    pub rate_min: Option<f64>,
    /// Highest rate, en pourcentage, de 0 à 100 (30 pour 30 %).
    pub rate_max: Option<f64>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    /// Highest share of public money, en pourcentage, de 0 à 100 (80 pour 80 %).
    pub max_public_aid_rate: Option<f64>,
    pub regime: Option<StateAidRegime>,
    pub basis: Option<CostBasis>,
    /// EU share of the public money, en pourcentage, de 0 à 100 (80 pour 80 %).
    pub eu_cofunding_rate: Option<f64>,
    /// Usual rate, en pourcentage, de 0 à 100 (30 pour 30 %).
    pub typical_rate: Option<f64>,
}

#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalendarInput {
    pub recurrence: Option<Recurrence>,
    pub opens_on: Option<Date>,
    pub closes_on: Option<Date>,
}

/// A whole scheme, in the shape of the `guichet` JSON format (DESIGN §5).
#[derive(InputObject, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemeInput {
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub funders: Vec<FunderInput>,
    pub beneficiary_types: Vec<BeneficiaryType>,
    pub themes: Option<Vec<String>>,
    pub aid_types: Option<Vec<AidType>>,
    pub natures: Option<Vec<Nature>>,
    pub perimeter: Option<PerimeterInput>,
    pub rules: Option<RulesInput>,
    pub funding: Option<FundingInput>,
    pub calendar: Option<CalendarInput>,
    pub required_documents: Option<Vec<String>>,
    pub application_url: Option<String>,
    pub source_url: Option<String>,
    pub verified_on: Option<Date>,
    /// Without it, `createScheme` makes a draft and `updateScheme` keeps the status.
    pub status: Option<SchemeStatus>,
}

impl SchemeInput {
    fn into_record(self) -> async_graphql::Result<SchemeRecord> {
        let value = serde_json::to_value(&self).map_err(internal)?;
        SchemeRecord::from_json(value)
            .map_err(|e| super::error::GraphqlError::extend(catalog::Error::from(e)))
    }
}

/// Changes a scheme's status (searchable before this returns: the domain sees to it).
async fn set_status(
    ctx: &Context<'_>,
    slug: &str,
    status: catalog::vocab::SchemeStatus,
) -> async_graphql::Result<Scheme> {
    let state = ctx.data::<AppState>()?;
    let actor = ctx.data::<Actor>()?;
    let saved = scheme::set_status(&state.db, &state.effects, actor, slug.trim(), status)
        .await
        .gql()?;
    Ok(Scheme(saved))
}

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Creates a scheme (staff; or a funder editor for its funder or one of its services,
    /// always as a draft). Fails with CONFLICT when the slug is taken.
    async fn create_scheme(
        &self,
        ctx: &Context<'_>,
        input: SchemeInput,
    ) -> async_graphql::Result<Scheme> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let record = input.into_record()?;
        let saved = scheme::create(&state.db, &state.effects, actor, &state.territories, record)
            .await
            .gql()?;
        Ok(Scheme(saved))
    }

    /// Replaces the content of the scheme `slug` (staff; or a funder editor for a draft of
    /// its funder, which stays a draft; a published scheme is changed by staff only).
    /// Without `status`, the scheme keeps its status.
    async fn update_scheme(
        &self,
        ctx: &Context<'_>,
        slug: String,
        input: SchemeInput,
    ) -> async_graphql::Result<Scheme> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let record = input.into_record()?;
        let saved = scheme::update(
            &state.db,
            &state.effects,
            actor,
            &state.territories,
            slug.trim(),
            record,
        )
        .await
        .gql()?;
        Ok(Scheme(saved))
    }

    /// Asks staff to publish a draft (a funder editor, for its funder's schemes; staff may
    /// too). Staff are mailed; `schemes(awaitingPublication: true)` lists what waits.
    async fn request_publication(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Scheme> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let saved = scheme::request_publication(&state.db, &state.effects, actor, &slug)
            .await
            .gql()?;
        Ok(Scheme(saved))
    }

    /// Sends a draft back to its funder's editors with what to rework (staff): the request
    /// is cleared, the comment kept on the scheme until it is published, the editors mailed.
    async fn send_back_scheme(
        &self,
        ctx: &Context<'_>,
        slug: String,
        comment: String,
    ) -> async_graphql::Result<Scheme> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let saved = scheme::send_back(&state.db, &state.effects, actor, &slug, &comment)
            .await
            .gql()?;
        Ok(Scheme(saved))
    }

    /// Publishes a scheme (staff): a pending publication request and its review comment
    /// are cleared, and the editors who asked are mailed.
    async fn publish_scheme(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Scheme> {
        set_status(ctx, &slug, catalog::vocab::SchemeStatus::Published).await
    }

    /// Archives a scheme (staff): it leaves the public catalogue.
    async fn archive_scheme(
        &self,
        ctx: &Context<'_>,
        slug: String,
    ) -> async_graphql::Result<Scheme> {
        set_status(ctx, &slug, catalog::vocab::SchemeStatus::Archived).await
    }

    /// Creates a zoning or replaces its list from an uploaded file (staff; GraphQL multipart
    /// request, at most 10 MB): one INSEE code a line, or a CSV whose header names the code
    /// column (`insee`, `code_insee`, `codgeo`, `code`…). Codes that are no known commune are
    /// left out and listed; the schemes naming the zoning are searchable with the new list
    /// before this returns.
    async fn import_zoning(
        &self,
        ctx: &Context<'_>,
        slug: String,
        name: String,
        #[graphql(desc = "Address of the public list the communes come from.")] source: String,
        as_of: Date,
        file: async_graphql::Upload,
    ) -> async_graphql::Result<ZoningImport> {
        use std::io::Read;
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        actor.require_staff().gql()?;
        let upload = file
            .value(ctx)
            .map_err(|_| catalog::Error::validation("file", "Fichier manquant dans la requête."))
            .gql()?;
        let mut bytes = Vec::new();
        upload
            .into_read()
            .take(catalog::zoning::MAX_FILE_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(internal)?;
        let done = catalog::zoning::import_file(
            &state.db,
            &state.effects,
            actor,
            &state.territories,
            &slug,
            &name,
            &source,
            as_of.0,
            &bytes,
        )
        .await
        .gql()?;
        let zoning = catalog::zoning::get(&state.db, slug.trim())
            .await
            .gql()?
            .ok_or_else(|| internal("le zonage importé est introuvable"))?;
        Ok(ZoningImport {
            zoning: zoning.into(),
            replaced: done.imported.replaced,
            unknown: done
                .unknown
                .into_iter()
                .map(|u| super::import::ImportLine {
                    record: format!("ligne {}", u.line),
                    message: format!(
                        "«\u{a0}{}\u{a0}» n'est pas un code de commune connu\u{a0}; ignoré.",
                        u.code
                    ),
                })
                .collect(),
        })
    }

    /// Creates or updates a funder (staff).
    async fn upsert_funder(
        &self,
        ctx: &Context<'_>,
        input: FunderInput,
    ) -> async_graphql::Result<Funder> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let record = FunderRecord {
            slug: input.slug,
            name: input.name,
            kind: input.kind.into(),
            contact_email: input.contact_email,
            public_body: input.public_body,
            name_in_sentence: input.name_in_sentence,
            parent: input.parent,
            jurisdiction: input.jurisdiction.unwrap_or_default(),
        };
        let saved =
            catalog::funder::upsert(&state.db, &state.effects, actor, &state.territories, record)
                .await
                .gql()?;
        Ok(saved.into())
    }
}
