//! `matchProject`: which published schemes a project can get, and why.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};
use std::collections::HashMap;

use catalog::eligibility::{self, ValidProject};
use catalog::plan;
use catalog::search::Match;

use super::catalog::Scheme;
use super::error::ResultExt;
use super::scalars::Date;
use super::vocab::{AidType, BeneficiaryType, CostBasis, Nature, domain_list};
use crate::app::AppState;
use catalog::vocab::CostBasis as CostBasisDomain;

/// A project as its holder describes it.
#[derive(InputObject, Clone)]
pub struct ProjectInput {
    pub holder_type: BeneficiaryType,
    /// Where the project happens (INSEE code).
    pub commune_code: String,
    pub themes: Option<Vec<String>>,
    /// Free description; ranks the schemes.
    pub text: Option<String>,
    /// Euros excluding VAT.
    pub total_cost: Option<i64>,
    /// First legal act (signed quote, order, start of works).
    pub starts_on: Option<Date>,
    /// Default: today.
    pub filing_on: Option<Date>,
    pub aid_types: Option<Vec<AidType>>,
    pub economic_activity: Option<bool>,
    /// Investment or operating costs; unknown when absent.
    pub nature: Option<Nature>,
    /// Whether `totalCost` excludes (default) or includes VAT.
    pub cost_basis: Option<CostBasis>,
}

impl ProjectInput {
    pub fn into_domain(self) -> eligibility::Project {
        eligibility::Project {
            holder_type: self.holder_type.into(),
            commune_code: self.commune_code,
            themes: self.themes.unwrap_or_default(),
            text: self.text,
            total_cost: self.total_cost,
            starts_on: self.starts_on.map(|d| d.0),
            filing_on: self.filing_on.map(|d| d.0),
            aid_types: domain_list(self.aid_types),
            economic_activity: self.economic_activity,
            nature: self.nature.map(Into::into),
            cost_basis: self
                .cost_basis
                .map(Into::into)
                .unwrap_or(CostBasisDomain::Ht),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Eligible,
    /// Nothing fails, something is unknown.
    ToCheck,
    Ineligible,
}

impl From<eligibility::Verdict> for Verdict {
    fn from(v: eligibility::Verdict) -> Self {
        match v {
            eligibility::Verdict::Eligible => Verdict::Eligible,
            eligibility::Verdict::ToCheck => Verdict::ToCheck,
            eligibility::Verdict::Ineligible => Verdict::Ineligible,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CriterionStatus {
    Pass,
    Fail,
    Unknown,
}

impl From<eligibility::CriterionStatus> for CriterionStatus {
    fn from(s: eligibility::CriterionStatus) -> Self {
        match s {
            eligibility::CriterionStatus::Pass => CriterionStatus::Pass,
            eligibility::CriterionStatus::Fail => CriterionStatus::Fail,
            eligibility::CriterionStatus::Unknown => CriterionStatus::Unknown,
        }
    }
}

/// One checked condition; the message, in French, names the values compared.
#[derive(SimpleObject)]
pub struct Criterion {
    /// `BENEFICIARY_TYPE`, `TERRITORY`, `POPULATION`, `CONDITION` (one per condition of the
    /// scheme that applies, always UNKNOWN), `NATURE`, `PROJECT_COST`, `CALENDAR`,
    /// `START_BEFORE_FILING`, `THEME` (informs, never FAIL) or `AID_TYPE`.
    pub code: String,
    pub status: CriterionStatus,
    pub message: String,
}

/// Euros; a bound is null when it cannot be known.
#[derive(SimpleObject)]
pub struct AmountRange {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

impl From<eligibility::AmountRange> for AmountRange {
    fn from(r: eligibility::AmountRange) -> Self {
        AmountRange {
            min: r.min,
            max: r.max,
        }
    }
}

/// A scheme evaluated for the project.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SchemeMatch {
    pub scheme: Scheme,
    pub verdict: Verdict,
    /// A theme shared, the project's text matching the scheme, a scheme open to every
    /// theme, or a project giving neither themes nor text. Themes and text say relevance,
    /// never eligibility: the relevant come first within a verdict.
    pub relevant: bool,
    pub score: f64,
    pub criteria: Vec<Criterion>,
    pub estimated_amount: Option<AmountRange>,
    /// The project's commune (INSEE code), to route to the services of the funders.
    #[graphql(skip)]
    pub commune: String,
}

#[ComplexObject]
impl SchemeMatch {
    /// The services a dossier on this scheme would reach for the project's commune: for
    /// each funder of the scheme, the most local service of its network whose jurisdiction
    /// contains the commune, else the funder itself.
    async fn recipients(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Vec<super::catalog::Funder>> {
        let state = ctx.data::<AppState>()?;
        let mut out = Vec::new();
        for id in self.recipient_ids(ctx).await? {
            if let Some(f) = catalog::funder::get_by_id(&state.db, id).await.gql()? {
                out.push(super::catalog::Funder::from(f));
            }
        }
        Ok(out)
    }

    /// Whether a dossier on this scheme can be filed in Guichet for this commune: every
    /// service it would reach (or a parent of it) has an agent or a contact address. When
    /// false, the holder applies on the scheme's `applicationUrl`.
    async fn receives_in_guichet(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let network = super::catalog::network(ctx).await?;
        let ids = self.recipient_ids(ctx).await?;
        Ok(!ids.is_empty() && ids.iter().all(|&id| network.receives(id)))
    }
}

impl SchemeMatch {
    async fn recipient_ids(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<i64>> {
        let state = ctx.data::<AppState>()?;
        let network = super::catalog::network(ctx).await?;
        let zonings = state.search.zonings();
        let commune = state
            .territories
            .get_kind(&self.commune, catalog::TerritoryKind::Commune);
        let mut out = Vec::new();
        for funder in &self.scheme.0.record.funders {
            let Some(node) = network.by_slug(&funder.slug) else {
                continue;
            };
            let id = match commune {
                Some(c) => network.route(node.id, c, &state.territories, &zonings),
                None => node.id,
            };
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn new(m: Match, commune: &str) -> Self {
        let Match {
            scheme,
            score,
            relevant,
            evaluation,
        } = m;
        SchemeMatch {
            scheme: Scheme(scheme),
            verdict: evaluation.verdict.into(),
            relevant,
            score,
            criteria: evaluation
                .criteria
                .into_iter()
                .map(|c| Criterion {
                    code: c.code.as_str().to_owned(),
                    status: c.status.into(),
                    message: c.message,
                })
                .collect(),
            estimated_amount: evaluation.estimated_amount.map(Into::into),
            commune: commune.to_owned(),
        }
    }
}

/// Eligible schemes first, then those to check, then (when asked) the others; within each,
/// the relevant first, then by score.
#[derive(SimpleObject)]
pub struct MatchResult {
    pub matches: Vec<SchemeMatch>,
    pub eligible_count: u64,
    pub to_check_count: u64,
}

/// A financing plan to check: own funds plus one line per expected resource.
#[derive(InputObject)]
pub struct FinancingPlanInput {
    pub holder_type: BeneficiaryType,
    /// Euros, on `costBasis`.
    pub total_cost: i64,
    pub own_funds: i64,
    pub lines: Vec<FundingLineInput>,
    /// De minimis aid received over the last three years.
    #[graphql(default)]
    pub previous_de_minimis: i64,
    /// Investment or operating: the owner's 20 % (CGCT L1111-10 III) concerns investment
    /// only. Unknown when absent: the rule is applied, and its message says so.
    pub nature: Option<Nature>,
    /// The préfet granted a derogation to CGCT L1111-10 III.
    #[graphql(default)]
    pub derogation: bool,
    /// INSEE code of the commune where the project happens: L1111-10 III does not apply
    /// overseas (971 to 978).
    pub commune_code: Option<String>,
    /// Whether amounts exclude (default) or include VAT.
    pub cost_basis: Option<CostBasis>,
}

/// One expected resource: a scheme of the catalogue, or a funder named freely.
#[derive(InputObject)]
pub struct FundingLineInput {
    pub scheme_slug: Option<String>,
    pub funder_name: Option<String>,
    pub amount: i64,
    /// For a line outside the catalogue: false for private money (patronage, a
    /// foundation), which is outside the public base. A catalogued line is public when
    /// every funder of its scheme is a public person.
    #[graphql(default = true)]
    pub public: bool,
    /// GRANT (default) or OTHER are aid; LOAN, RECOVERABLE_ADVANCE and GUARANTEE are the
    /// owner's financing: not public aid, not national co-funding of LEADER.
    #[graphql(default_with = "AidType::Grant")]
    pub aid_type: AidType,
}

impl FundingLineInput {
    pub fn into_domain(self) -> plan::PlanLine {
        plan::PlanLine {
            scheme_slug: self.scheme_slug.map(|s| s.trim().to_owned()),
            funder_name: self.funder_name,
            amount: self.amount,
            public: self.public,
            aid_type: self.aid_type.into(),
        }
    }
}

impl FinancingPlanInput {
    fn into_domain(self) -> plan::FinancingPlan {
        plan::FinancingPlan {
            holder_type: self.holder_type.into(),
            total_cost: self.total_cost,
            own_funds: self.own_funds,
            lines: self
                .lines
                .into_iter()
                .map(FundingLineInput::into_domain)
                .collect(),
            previous_de_minimis: self.previous_de_minimis,
            nature: self.nature.map(Into::into),
            derogation: self.derogation,
            commune_code: self.commune_code,
            cost_basis: self.cost_basis.map_or(CostBasisDomain::Ht, Into::into),
        }
    }
}

/// A rule the plan breaks; `line` is the index of the line concerned, if one is.
#[derive(SimpleObject, Clone)]
pub struct PlanViolation {
    /// `UNBALANCED`, `SELF_FUNDING_BELOW_MINIMUM`, `RATE_ABOVE_MAX`, `AMOUNT_ABOVE_MAX`,
    /// `AMOUNT_BELOW_MIN`, `PUBLIC_AID_CAP`, `DE_MINIMIS_EXCEEDED` or
    /// `MISSING_NATIONAL_COFUNDING`.
    pub code: String,
    pub message: String,
    pub line: Option<u64>,
}

#[derive(SimpleObject, Clone)]
pub struct FinancingPlanCheck {
    pub balanced: bool,
    /// Public aid (public lines that are not loans) over the total cost.
    pub public_share: f64,
    /// Own funds over the total cost.
    pub own_share: f64,
    pub violations: Vec<PlanViolation>,
    /// What the check cannot decide or the holder must know, in French (a scheme funding
    /// on another cost basis, why the owner's 20 % does not apply). Not violations.
    pub warnings: Vec<String>,
}

impl From<plan::PlanCheck> for FinancingPlanCheck {
    fn from(check: plan::PlanCheck) -> Self {
        FinancingPlanCheck {
            balanced: check.balanced,
            public_share: check.public_share,
            own_share: check.own_share,
            violations: check
                .violations
                .into_iter()
                .map(|v| PlanViolation {
                    code: v.code.as_str().to_owned(),
                    message: v.message,
                    line: v.line.map(|l| l as u64),
                })
                .collect(),
            warnings: check.warnings,
        }
    }
}

#[derive(SimpleObject)]
pub struct SuggestedLine {
    pub scheme_slug: String,
    pub funder_name: String,
    pub amount: i64,
    /// False when some funder of the scheme is not a public person.
    pub public: bool,
    /// GRANT, or LOAN / RECOVERABLE_ADVANCE for a scheme that lends: such lines are
    /// counted in `totalLoans`, not in `totalAid`.
    pub aid_type: AidType,
    /// Why the line is there and how its amount was set, in French.
    pub reason: String,
}

/// A plan that passes `checkFinancingPlan`, with what the holder must confirm.
/// `ownFunds + totalAid + totalLoans` is the total cost.
#[derive(SimpleObject)]
pub struct SuggestedPlan {
    pub own_funds: i64,
    /// Aid (grants), loans excluded.
    pub total_aid: i64,
    /// Loans and recoverable advances: the owner's financing, to be repaid.
    pub total_loans: i64,
    pub lines: Vec<SuggestedLine>,
    pub warnings: Vec<String>,
}

/// Validates `project` and evaluates every published scheme for it, best first (the
/// ineligible only when asked for).
async fn evaluate_all(
    state: &AppState,
    project: ProjectInput,
    include_ineligible: bool,
) -> async_graphql::Result<(ValidProject, Vec<Match>)> {
    let project = eligibility::validate(
        project.into_domain(),
        &state.territories,
        catalog::search::today(),
    )
    .gql()?;
    state
        .search
        .match_project(project, include_ineligible)
        .await
        .gql()
}

#[derive(Default)]
pub struct EligibilityQuery;

#[Object]
impl EligibilityQuery {
    /// Evaluates every published scheme for a project: eligible, to check (nothing fails,
    /// something is unknown) or, with `includeIneligible`, ineligible, each with its criteria.
    #[graphql(complexity = "super::EXPENSIVE_COST + child_complexity")]
    async fn match_project(
        &self,
        ctx: &Context<'_>,
        project: ProjectInput,
        #[graphql(default_with = "Some(false)")] include_ineligible: Option<bool>,
    ) -> async_graphql::Result<MatchResult> {
        let state = ctx.data::<AppState>()?;
        let (project, matches) =
            evaluate_all(state, project, include_ineligible.unwrap_or(false)).await?;
        let commune = project.commune().code.clone();
        let count = |verdict| {
            matches
                .iter()
                .filter(|m| m.evaluation.verdict == verdict)
                .count() as u64
        };
        Ok(MatchResult {
            eligible_count: count(eligibility::Verdict::Eligible),
            to_check_count: count(eligibility::Verdict::ToCheck),
            matches: matches
                .into_iter()
                .map(|m| SchemeMatch::new(m, &commune))
                .collect(),
        })
    }

    /// Checks a financing plan against the co-financing rules: balance, the owner's 20 %
    /// (CGCT L1111-10 III, investment outside overseas, unless the préfet derogated), each
    /// scheme's rates (on its cost basis; on public expenditure for EU funds), amounts and
    /// public aid cap (loans are not aid), de minimis ceilings, proportional national
    /// co-funding for LEADER-type schemes.
    #[graphql(complexity = "super::EXPENSIVE_COST + child_complexity")]
    async fn check_financing_plan(
        &self,
        ctx: &Context<'_>,
        plan: FinancingPlanInput,
    ) -> async_graphql::Result<FinancingPlanCheck> {
        let state = ctx.data::<AppState>()?;
        let plan = plan.into_domain();
        let mut schemes = HashMap::new();
        for slug in plan.lines.iter().filter_map(|l| l.scheme_slug.as_deref()) {
            if schemes.contains_key(slug) {
                continue;
            }
            if let Some(scheme) = catalog::scheme::get(&state.db, slug).await.gql()?
                && scheme.status() == catalog::vocab::SchemeStatus::Published
            {
                schemes.insert(slug.to_owned(), scheme.record);
            }
        }
        Ok(plan::check(&plan, &schemes, &state.territories)
            .gql()?
            .into())
    }

    /// A financing plan for the project from the schemes it is eligible for (and those to
    /// check, with warnings), maximising aid, grants first, that passes
    /// `checkFinancingPlan`.
    #[graphql(complexity = "super::EXPENSIVE_COST + child_complexity")]
    async fn suggest_financing_plan(
        &self,
        ctx: &Context<'_>,
        project: ProjectInput,
    ) -> async_graphql::Result<SuggestedPlan> {
        let state = ctx.data::<AppState>()?;
        let (project, matches) = evaluate_all(state, project, false).await?;
        // Only what the project is about: an eligible scheme on another subject (a heat
        // network's fund for a café) is not a line a funder would sign.
        let candidates: Vec<_> = matches
            .iter()
            .filter(|m| m.relevant)
            .map(|m| (&m.scheme.record, &m.evaluation))
            .collect();
        let suggested = plan::suggest(&project, &candidates);
        Ok(SuggestedPlan {
            own_funds: suggested.own_funds,
            total_aid: suggested.total_aid,
            total_loans: suggested.total_loans,
            lines: suggested
                .lines
                .into_iter()
                .map(|l| SuggestedLine {
                    scheme_slug: l.scheme_slug,
                    funder_name: l.funder_name,
                    amount: l.amount,
                    public: l.public,
                    aid_type: l.aid_type.into(),
                    reason: l.reason,
                })
                .collect(),
            warnings: suggested.warnings,
        })
    }
}
