//! Shared dossiers: the holder's form, attachments, submission and tracking; the funders'
//! reviews, questions, notes and decisions. Resolvers are thin: every rule is in the
//! `dossier` crate.

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject, Upload};
use catalog::Actor;
use chrono::{DateTime, Utc};
use dossier::content;
use dossier::entity::{attachment, dossier_event, information_request, review_note};
use dossier::{Access, review::Review};

use super::catalog::Funder;
use super::eligibility::{FinancingPlanCheck, FundingLineInput};
use super::error::ResultExt;
use super::scalars::Date;
use super::vocab::{AidType, BeneficiaryType, CostBasis, Nature};
use super::{PageInfo, parse_cursor};
use crate::app::AppState;

macro_rules! mirror {
    ($(#[$meta:meta])* $name:ident = $remote:literal { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}

mirror!(
    /// Where a dossier stands.
    DossierStatus = "dossier::DossierStatus" {
        Draft, Submitted, InReview, InfoRequested, Decided, Withdrawn,
    }
);
mirror!(
    /// Where one funder's review stands.
    ReviewStatus = "dossier::ReviewStatus" { Received, InReview, Decided }
);
mirror!(
    /// A funder's decision.
    Decision = "dossier::Decision" { Granted, Refused }
);

/// The order of a dossier list.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DossierSort {
    #[default]
    UpdatedDesc,
    UpdatedAsc,
    SubmittedDesc,
    SubmittedAsc,
}

/// Largest page of a list.
const MAX_PAGE: i32 = 100;

pub(crate) fn page_size(first: i32) -> async_graphql::Result<u64> {
    if !(0..=MAX_PAGE).contains(&first) {
        return Err(catalog::Error::validation(
            "first",
            format!("« first » doit être compris entre 0 et {MAX_PAGE}."),
        ))
        .gql();
    }
    Ok(first as u64)
}

pub(crate) fn parse_id(value: &ID, field: &str) -> async_graphql::Result<i64> {
    value
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| catalog::Error::validation(field, "Identifiant invalide."))
        .gql()
}

// ---------------------------------------------------------------------------------------
// Inputs (DESIGN §6)

/// The organisation that carries the project.
#[derive(InputObject)]
pub struct HolderInput {
    pub legal_name: String,
    pub holder_type: BeneficiaryType,
    /// 14 digits, Luhn-valid.
    pub siret: String,
    /// W followed by 9 digits (associations).
    pub rna: Option<String>,
    pub commune_code: String,
    pub representative: RepresentativeInput,
}

/// The legal representative.
#[derive(InputObject)]
pub struct RepresentativeInput {
    pub name: String,
    pub role: String,
    pub email: String,
    pub phone: Option<String>,
}

/// The project.
#[derive(InputObject)]
pub struct ProjectDetailsInput {
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    pub commune_code: String,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    /// Investment or operating: the owner's 20 % (CGCT L1111-10 III) concerns investment
    /// only.
    pub nature: Option<Nature>,
    /// Whether the budget excludes (default) or includes VAT.
    pub cost_basis: Option<CostBasis>,
}

/// One budget line, on the project's cost basis.
#[derive(InputObject)]
pub struct ExpenseInput {
    pub label: String,
    pub amount: i64,
}

/// The financing plan: own funds and one line per expected aid.
#[derive(InputObject)]
pub struct PlanInput {
    pub own_funds: i64,
    pub lines: Vec<FundingLineInput>,
    #[graphql(default)]
    pub previous_de_minimis: i64,
    /// The préfet granted a derogation to CGCT L1111-10 III.
    #[graphql(default)]
    pub derogation: bool,
}

/// Parts of a dossier; each is optional so that a draft can be saved piece by piece.
#[derive(InputObject)]
pub struct DossierInput {
    pub holder: Option<HolderInput>,
    pub project: Option<ProjectDetailsInput>,
    pub expenses: Option<Vec<ExpenseInput>>,
    pub financing_plan: Option<PlanInput>,
    pub certified: Option<bool>,
}

impl DossierInput {
    fn into_domain(self) -> content::DossierInput {
        content::DossierInput {
            holder: self.holder.map(|h| content::Holder {
                legal_name: h.legal_name,
                holder_type: h.holder_type.into(),
                siret: h.siret,
                rna: h.rna,
                commune_code: h.commune_code,
                representative: content::Representative {
                    name: h.representative.name,
                    role: h.representative.role,
                    email: h.representative.email,
                    phone: h.representative.phone,
                },
            }),
            project: self.project.map(|p| content::Project {
                title: p.title,
                description: p.description,
                themes: p.themes,
                commune_code: p.commune_code,
                starts_on: p.starts_on.map(|d| d.0),
                ends_on: p.ends_on.map(|d| d.0),
                nature: p.nature.map(Into::into),
                cost_basis: p
                    .cost_basis
                    .map_or(catalog::vocab::CostBasis::Ht, Into::into),
            }),
            expenses: self.expenses.map(|list| {
                list.into_iter()
                    .map(|e| content::Expense {
                        label: e.label,
                        amount: e.amount,
                    })
                    .collect()
            }),
            plan: self.financing_plan.map(|p| content::Plan {
                own_funds: p.own_funds,
                previous_de_minimis: p.previous_de_minimis,
                derogation: p.derogation,
                lines: p
                    .lines
                    .into_iter()
                    .map(|l| content::PlanLine {
                        scheme_slug: l.scheme_slug,
                        funder_name: l.funder_name,
                        amount: l.amount,
                        public: l.public,
                        aid_type: l.aid_type.into(),
                    })
                    .collect(),
            }),
            certified: self.certified,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Outputs

/// The legal representative.
#[derive(SimpleObject)]
pub struct Representative {
    pub name: String,
    pub role: String,
    pub email: String,
    pub phone: Option<String>,
}

/// The organisation that carries the project.
#[derive(SimpleObject)]
pub struct Holder {
    pub legal_name: String,
    pub holder_type: BeneficiaryType,
    pub siret: String,
    pub rna: Option<String>,
    pub commune_code: String,
    pub commune_name: Option<String>,
    pub representative: Representative,
}

fn commune_name(state: &AppState, code: &str) -> Option<String> {
    state
        .territories
        .get_kind(code, catalog::TerritoryKind::Commune)
        .map(|t| t.name.clone())
}

fn holder(state: &AppState, h: &content::Holder) -> Holder {
    Holder {
        legal_name: h.legal_name.clone(),
        holder_type: h.holder_type.into(),
        siret: h.siret.clone(),
        rna: h.rna.clone(),
        commune_name: commune_name(state, &h.commune_code),
        commune_code: h.commune_code.clone(),
        representative: Representative {
            name: h.representative.name.clone(),
            role: h.representative.role.clone(),
            email: h.representative.email.clone(),
            phone: h.representative.phone.clone(),
        },
    }
}

/// The project.
#[derive(SimpleObject)]
pub struct ProjectDetails {
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    pub commune_code: String,
    pub commune_name: Option<String>,
    pub starts_on: Option<Date>,
    pub ends_on: Option<Date>,
    /// Investment or operating; null when the holder has not said.
    pub nature: Option<Nature>,
    pub cost_basis: CostBasis,
}

/// One budget line.
#[derive(SimpleObject)]
pub struct Expense {
    pub label: String,
    pub amount: i64,
}

/// The budget: its lines and their sum, the total cost.
#[derive(SimpleObject)]
pub struct Budget {
    pub expenses: Vec<Expense>,
    pub total_cost: i64,
}

/// One line of a dossier's financing plan.
#[derive(SimpleObject)]
pub struct DossierPlanLine {
    pub scheme_slug: Option<String>,
    pub funder_name: Option<String>,
    pub amount: i64,
    pub public: bool,
    pub aid_type: AidType,
}

/// The financing plan of a dossier, with its check against the co-financing rules (null
/// until the holder and the budget are given).
#[derive(SimpleObject)]
pub struct DossierPlan {
    pub own_funds: i64,
    pub previous_de_minimis: i64,
    /// The préfet granted a derogation to CGCT L1111-10 III.
    pub derogation: bool,
    pub lines: Vec<DossierPlanLine>,
    pub check: Option<FinancingPlanCheck>,
}

/// A file attached to a dossier.
#[derive(SimpleObject)]
pub struct Attachment {
    pub id: ID,
    pub label: String,
    pub filename: String,
    /// Sniffed from the content.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
    /// Where to download it (for people allowed to see the dossier).
    pub url: String,
}

impl From<attachment::Model> for Attachment {
    fn from(a: attachment::Model) -> Self {
        Attachment {
            id: ID(a.id.to_string()),
            url: format!("/pieces/{}", a.id),
            label: a.label,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            uploaded_at: a.uploaded_at,
        }
    }
}

/// Something that prevents submission; `field` as in `DossierInput`.
#[derive(SimpleObject)]
pub struct MissingItem {
    pub field: String,
    pub message: String,
}

/// A change of state of the dossier.
#[derive(SimpleObject)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

impl From<dossier_event::Model> for AuditEvent {
    fn from(e: dossier_event::Model) -> Self {
        AuditEvent {
            at: e.at,
            actor: e.actor,
            action: e.action,
            detail: e.detail,
        }
    }
}

async fn funder_by_id(ctx: &Context<'_>, id: i64) -> async_graphql::Result<Funder> {
    let state = ctx.data::<AppState>()?;
    catalog::funder::get_by_id(&state.db, id)
        .await
        .gql()?
        .map(Funder::from)
        .ok_or_else(|| super::error::internal(format!("funder {id} missing")))
}

/// A funder's private note on its review.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ReviewNote {
    pub id: ID,
    pub text: String,
    pub author: String,
    pub at: DateTime<Utc>,
    #[graphql(skip)]
    funder_id: i64,
}

#[ComplexObject]
impl ReviewNote {
    async fn funder(&self, ctx: &Context<'_>) -> async_graphql::Result<Funder> {
        funder_by_id(ctx, self.funder_id).await
    }
}

impl From<review_note::Model> for ReviewNote {
    fn from(n: review_note::Model) -> Self {
        ReviewNote {
            id: ID(n.id.to_string()),
            text: n.text,
            author: n.author,
            at: n.at,
            funder_id: n.funder_id,
        }
    }
}

/// A question from a funder, seen by every funder of the dossier and by the holder.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct InformationRequest {
    pub id: ID,
    pub question: String,
    pub asked_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    funder_id: i64,
}

#[ComplexObject]
impl InformationRequest {
    /// The funder who asked.
    async fn funder(&self, ctx: &Context<'_>) -> async_graphql::Result<Funder> {
        funder_by_id(ctx, self.funder_id).await
    }
}

impl From<information_request::Model> for InformationRequest {
    fn from(r: information_request::Model) -> Self {
        InformationRequest {
            id: ID(r.id.to_string()),
            question: r.question,
            asked_at: r.asked_at,
            answer: r.answer,
            answered_at: r.answered_at,
            funder_id: r.funder_id,
        }
    }
}

/// One funder's review of a dossier. Co-funders see each other's decisions.
pub struct FunderReview(pub Review);

#[Object]
impl FunderReview {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn funder(&self, ctx: &Context<'_>) -> async_graphql::Result<Funder> {
        funder_by_id(ctx, self.0.funder_id).await
    }

    async fn status(&self) -> ReviewStatus {
        dossier::ReviewStatus::parse(&self.0.status)
            .unwrap_or(dossier::ReviewStatus::Received)
            .into()
    }

    /// The status in French.
    async fn status_label(&self) -> &'static str {
        dossier::ReviewStatus::parse(&self.0.status).map_or("", dossier::ReviewStatus::label)
    }

    async fn decision(&self) -> Option<Decision> {
        self.0
            .decision
            .as_deref()
            .and_then(dossier::Decision::parse)
            .map(Into::into)
    }

    /// The amount granted, in euros.
    async fn amount(&self) -> Option<i64> {
        self.0.amount
    }

    async fn motivation(&self) -> Option<&str> {
        self.0.motivation.as_deref()
    }

    async fn decided_at(&self) -> Option<DateTime<Utc>> {
        self.0.decided_at
    }

    /// The amount the financing plan asks of this funder.
    async fn requested_amount(&self) -> i64 {
        self.0.requested_amount
    }

    /// The schemes of this funder the dossier was submitted to.
    async fn scheme_slugs(&self) -> Vec<String> {
        serde_json::from_str(&self.0.scheme_slugs).unwrap_or_default()
    }

    /// The dossier reviewed.
    async fn dossier(&self, ctx: &Context<'_>) -> async_graphql::Result<Dossier> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let (d, access) = dossier::dossier::get(&state.db, actor, self.0.dossier_id)
            .await
            .gql()?;
        Ok(Dossier { inner: d, access })
    }
}

/// A shared dossier, as the caller may see it.
pub struct Dossier {
    pub inner: dossier::Dossier,
    pub access: Access,
}

#[Object]
impl Dossier {
    async fn id(&self) -> ID {
        ID(self.inner.id.to_string())
    }

    /// Human-readable, e.g. GU-2026-000042.
    async fn reference(&self) -> &str {
        &self.inner.reference
    }

    async fn status(&self) -> DossierStatus {
        self.inner.status.into()
    }

    /// The status in French.
    async fn status_label(&self) -> &'static str {
        self.inner.status.label()
    }

    async fn holder(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Holder>> {
        let state = ctx.data::<AppState>()?;
        Ok(self.inner.holder.as_ref().map(|h| holder(state, h)))
    }

    async fn project(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ProjectDetails>> {
        let state = ctx.data::<AppState>()?;
        Ok(self.inner.project.as_ref().map(|p| ProjectDetails {
            title: p.title.clone(),
            description: p.description.clone(),
            themes: p.themes.clone(),
            commune_name: commune_name(state, &p.commune_code),
            commune_code: p.commune_code.clone(),
            starts_on: p.starts_on.map(Date),
            ends_on: p.ends_on.map(Date),
            nature: p.nature.map(Into::into),
            cost_basis: p.cost_basis.into(),
        }))
    }

    async fn budget(&self) -> Budget {
        Budget {
            expenses: self
                .inner
                .expenses
                .iter()
                .map(|e| Expense {
                    label: e.label.clone(),
                    amount: e.amount,
                })
                .collect(),
            total_cost: self.inner.total_cost(),
        }
    }

    async fn financing_plan(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DossierPlan>> {
        let Some(plan) = &self.inner.plan else {
            return Ok(None);
        };
        let state = ctx.data::<AppState>()?;
        let check = dossier::dossier::check_plan(&state.db, &state.territories, &self.inner)
            .await
            .gql()?;
        Ok(Some(DossierPlan {
            own_funds: plan.own_funds,
            previous_de_minimis: plan.previous_de_minimis,
            derogation: plan.derogation,
            lines: plan
                .lines
                .iter()
                .map(|l| DossierPlanLine {
                    scheme_slug: l.scheme_slug.clone(),
                    funder_name: l.funder_name.clone(),
                    amount: l.amount,
                    public: l.public,
                    aid_type: l.aid_type.into(),
                })
                .collect(),
            check: check.map(Into::into),
        }))
    }

    /// The holder's sworn statement.
    async fn certified(&self) -> bool {
        self.inner.certified
    }

    async fn attachments(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Attachment>> {
        let state = ctx.data::<AppState>()?;
        Ok(dossier::dossier::attachments(&state.db, self.inner.id)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// One review per funder the dossier was sent to.
    async fn reviews(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FunderReview>> {
        let state = ctx.data::<AppState>()?;
        Ok(dossier::review::reviews_of(&state.db, self.inner.id)
            .await
            .gql()?
            .into_iter()
            .map(FunderReview)
            .collect())
    }

    async fn information_requests(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<InformationRequest>> {
        let state = ctx.data::<AppState>()?;
        Ok(dossier::review::requests_of(&state.db, self.inner.id)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Every change of state, oldest first.
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AuditEvent>> {
        let state = ctx.data::<AppState>()?;
        Ok(dossier::dossier::events(&state.db, self.inner.id)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The schemes the dossier was submitted to (empty for a draft).
    async fn scheme_slugs(&self) -> &[String] {
        &self.inner.scheme_slugs
    }

    /// What prevents submission (empty when the dossier is complete).
    async fn missing(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<MissingItem>> {
        let state = ctx.data::<AppState>()?;
        Ok(
            dossier::dossier::missing(&state.db, &state.territories, &self.inner)
                .await
                .gql()?
                .into_iter()
                .map(|m| MissingItem {
                    field: m.field,
                    message: m.message,
                })
                .collect(),
        )
    }

    /// Private notes of the caller's funder (staff: all; the holder: none).
    async fn notes(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ReviewNote>> {
        let state = ctx.data::<AppState>()?;
        Ok(
            dossier::review::notes_of(&state.db, self.access, self.inner.id)
                .await
                .gql()?
                .into_iter()
                .map(Into::into)
                .collect(),
        )
    }

    /// Where to download the dossier as PDF.
    async fn pdf_url(&self) -> String {
        format!("/dossiers/{}/pdf", self.inner.id)
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.inner.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.inner.updated_at
    }

    async fn submitted_at(&self) -> Option<DateTime<Utc>> {
        self.inner.submitted_at
    }

    async fn withdrawn_reason(&self) -> Option<&str> {
        self.inner.withdrawn_reason.as_deref()
    }
}

/// A page of dossiers.
#[derive(SimpleObject)]
pub struct DossierConnection {
    pub nodes: Vec<Dossier>,
    pub total: u64,
    pub page_info: PageInfo,
}

/// The holder's saved organisation and the documents their next dossier reuses.
#[derive(SimpleObject)]
pub struct HolderProfile {
    pub holder: Holder,
    pub attachments: Vec<Attachment>,
}

#[derive(Default)]
pub struct DossierQuery;

#[Object]
impl DossierQuery {
    /// A dossier the caller may see (null otherwise).
    async fn dossier(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Dossier>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        match dossier::dossier::get(&state.db, actor, id).await {
            Ok((inner, access)) => Ok(Some(Dossier { inner, access })),
            Err(catalog::Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e).gql(),
        }
    }

    /// The dossiers the caller may see: a holder's own, those sent to an agent's funder,
    /// every one for staff.
    #[graphql(complexity = "super::page_cost(first.unwrap_or(20), child_complexity)")]
    async fn dossiers(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<DossierStatus>>,
        #[graphql(default_with = "Some(DossierSort::UpdatedDesc)")] sort: Option<DossierSort>,
    ) -> async_graphql::Result<DossierConnection> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let limit = page_size(first.unwrap_or(20))?;
        let offset = parse_cursor(after.as_deref())?;
        let query = dossier::dossier::ListQuery {
            statuses: status
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            sort: match sort.unwrap_or_default() {
                DossierSort::UpdatedDesc => dossier::dossier::Sort::UpdatedDesc,
                DossierSort::UpdatedAsc => dossier::dossier::Sort::UpdatedAsc,
                DossierSort::SubmittedDesc => dossier::dossier::Sort::SubmittedDesc,
                DossierSort::SubmittedAsc => dossier::dossier::Sort::SubmittedAsc,
            },
            offset,
            limit,
        };
        let (list, total) = dossier::dossier::list(&state.db, actor, &query)
            .await
            .gql()?;
        let mut nodes = Vec::with_capacity(list.len());
        for inner in list {
            let access = dossier::dossier::access(&state.db, actor, &inner)
                .await
                .gql()?;
            nodes.push(Dossier { inner, access });
        }
        let end = offset + nodes.len() as u64;
        Ok(DossierConnection {
            nodes,
            total,
            page_info: PageInfo::new(end, end < total),
        })
    }

    /// The holder's saved organisation (null before their first dossier).
    async fn holder_profile(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<HolderProfile>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let Some(h) = dossier::dossier::profile(&state.db, actor).await.gql()? else {
            return Ok(None);
        };
        let attachments = dossier::dossier::profile_attachments(&state.db, actor)
            .await
            .gql()?;
        Ok(Some(HolderProfile {
            holder: holder(state, &h),
            attachments: attachments.into_iter().map(Into::into).collect(),
        }))
    }
}

#[derive(Default)]
pub struct DossierMutation;

fn env(state: &AppState) -> &dossier::Env {
    &state.dossiers
}

async fn full(
    state: &AppState,
    actor: &Actor,
    d: dossier::Dossier,
) -> async_graphql::Result<Dossier> {
    let access = dossier::dossier::access(&state.db, actor, &d).await.gql()?;
    Ok(Dossier { inner: d, access })
}

#[Object]
impl DossierMutation {
    /// Starts a dossier (holders); status DRAFT. Without `holder`, the holder's saved
    /// organisation is used, and the documents of their previous dossier are attached again.
    async fn create_dossier(
        &self,
        ctx: &Context<'_>,
        input: DossierInput,
    ) -> async_graphql::Result<Dossier> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let d = dossier::dossier::create(&state.db, env(state), actor, input.into_domain())
            .await
            .gql()?;
        full(state, actor, d).await
    }

    /// Saves the parts given of a draft; the others are kept.
    async fn update_dossier(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DossierInput,
    ) -> async_graphql::Result<Dossier> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&id, "id")?;
        let d = dossier::dossier::update(&state.db, env(state), actor, id, input.into_domain())
            .await
            .gql()?;
        full(state, actor, d).await
    }

    /// Attaches a file to a draft (GraphQL multipart request): at most 20 MB a file and
    /// 100 MB a dossier; PDF, PNG, JPEG, WebP, OpenDocument or Office, sniffed from the content.
    async fn add_attachment(
        &self,
        ctx: &Context<'_>,
        dossier_id: ID,
        file: Upload,
        label: String,
    ) -> async_graphql::Result<Attachment> {
        use std::io::Read;
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let dossier_id = parse_id(&dossier_id, "dossierId")?;
        let upload = file
            .value(ctx)
            .map_err(|_| catalog::Error::validation("file", "Fichier manquant dans la requête."))
            .gql()?;
        let filename = upload.filename.clone();
        let mut bytes = Vec::new();
        upload
            .into_read()
            .take(dossier::blob::MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(super::error::internal)?;
        let added = dossier::dossier::add_attachment(
            &state.db,
            env(state),
            actor,
            dossier_id,
            &label,
            &filename,
            bytes,
        )
        .await
        .gql()?;
        Ok(added.into())
    }

    /// Removes a file from a draft.
    async fn remove_attachment(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Dossier> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&id, "id")?;
        let d = dossier::dossier::remove_attachment(&state.db, actor, id)
            .await
            .gql()?;
        full(state, actor, d).await
    }

    /// Sends the dossier to the distinct funders of these schemes, all or nothing. The same
    /// `idempotencyKey` returns the submitted dossier again and never submits twice.
    async fn submit_dossier(
        &self,
        ctx: &Context<'_>,
        id: ID,
        scheme_slugs: Vec<String>,
        idempotency_key: String,
    ) -> async_graphql::Result<Dossier> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&id, "id")?;
        let d = dossier::dossier::submit(
            &state.db,
            env(state),
            actor,
            id,
            &scheme_slugs,
            &idempotency_key,
        )
        .await
        .gql()?;
        state.mail_wakeup.notify_one();
        full(state, actor, d).await
    }

    /// Withdraws a submitted dossier; its funders are told.
    async fn withdraw_dossier(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
    ) -> async_graphql::Result<Dossier> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&id, "id")?;
        let d = dossier::dossier::withdraw(&state.db, env(state), actor, id, &reason)
            .await
            .gql()?;
        state.mail_wakeup.notify_one();
        full(state, actor, d).await
    }

    /// RECEIVED → IN_REVIEW (an agent of the review's funder).
    async fn start_review(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
    ) -> async_graphql::Result<FunderReview> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&review_id, "reviewId")?;
        Ok(FunderReview(
            dossier::review::start(&state.db, actor, id).await.gql()?,
        ))
    }

    /// Asks the holder a question, seen by every funder of the dossier; the holder is
    /// emailed and the dossier is INFO_REQUESTED until answered.
    async fn request_information(
        &self,
        ctx: &Context<'_>,
        dossier_id: ID,
        question: String,
    ) -> async_graphql::Result<InformationRequest> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&dossier_id, "dossierId")?;
        let asked =
            dossier::review::request_information(&state.db, env(state), actor, id, &question)
                .await
                .gql()?;
        state.mail_wakeup.notify_one();
        Ok(asked.into())
    }

    /// The holder answers a question, once; every funder of the dossier is emailed.
    async fn answer_information_request(
        &self,
        ctx: &Context<'_>,
        request_id: ID,
        answer: String,
    ) -> async_graphql::Result<InformationRequest> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&request_id, "requestId")?;
        let answered = dossier::review::answer(&state.db, env(state), actor, id, &answer)
            .await
            .gql()?;
        state.mail_wakeup.notify_one();
        Ok(answered.into())
    }

    /// Records the funder's decision: GRANTED with an amount, or REFUSED; always motivated.
    /// Staff may record it for a funder during a conference.
    async fn decide(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
        decision: Decision,
        amount: Option<i64>,
        motivation: String,
    ) -> async_graphql::Result<FunderReview> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&review_id, "reviewId")?;
        let decided = dossier::review::decide(
            &state.db,
            env(state),
            actor,
            id,
            decision.into(),
            amount,
            &motivation,
        )
        .await
        .gql()?;
        state.mail_wakeup.notify_one();
        Ok(FunderReview(decided))
    }

    /// A private note on a review, read only by that funder's agents and staff.
    async fn add_review_note(
        &self,
        ctx: &Context<'_>,
        review_id: ID,
        text: String,
    ) -> async_graphql::Result<ReviewNote> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = parse_id(&review_id, "reviewId")?;
        Ok(dossier::review::add_note(&state.db, actor, id, &text)
            .await
            .gql()?
            .into())
    }
}
