//! Financing plans: the rules a plan must respect (DESIGN §6 violation codes, with the legal
//! figures of `scheme-facts.md`), and a suggested plan, built from the matched schemes, that
//! respects them all. Pure functions: the caller passes the schemes a plan refers to.

use std::collections::HashMap;

use crate::eligibility::{self, CriterionStatus, Evaluation, ValidProject, Verdict, share_of};
use crate::error::{Error, Result};
use crate::scheme::{Funding, SchemeRecord};
use crate::text::french;
use crate::vocab::{AidType, BeneficiaryType, CostBasis, FunderKind, Nature, StateAidRegime};

/// The most lines a plan may have.
const MAX_LINES: usize = 100;

/// One resource of a plan (`FundingLineInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanLine {
    pub scheme_slug: Option<String>,
    pub funder_name: Option<String>,
    /// Whole euros.
    pub amount: i64,
    /// False for private money (patronage, a foundation, a bank loan at market rate).
    pub public: bool,
}

/// A financing plan (`FinancingPlanInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinancingPlan {
    pub holder_type: BeneficiaryType,
    /// Euros excluding VAT.
    pub total_cost: i64,
    pub own_funds: i64,
    pub lines: Vec<PlanLine>,
    /// De minimis aid the holder received over the last three years.
    pub previous_de_minimis: i64,
}

/// What a plan can break.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ViolationCode {
    Unbalanced,
    SelfFundingBelowMinimum,
    RateAboveMax,
    AmountAboveMax,
    AmountBelowMin,
    PublicAidCap,
    DeMinimisExceeded,
    MissingNationalCofunding,
}

impl ViolationCode {
    pub const ALL: &'static [ViolationCode] = &[
        ViolationCode::Unbalanced,
        ViolationCode::SelfFundingBelowMinimum,
        ViolationCode::RateAboveMax,
        ViolationCode::AmountAboveMax,
        ViolationCode::AmountBelowMin,
        ViolationCode::PublicAidCap,
        ViolationCode::DeMinimisExceeded,
        ViolationCode::MissingNationalCofunding,
    ];

    /// The code as written in GraphQL.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::Unbalanced => "UNBALANCED",
            ViolationCode::SelfFundingBelowMinimum => "SELF_FUNDING_BELOW_MINIMUM",
            ViolationCode::RateAboveMax => "RATE_ABOVE_MAX",
            ViolationCode::AmountAboveMax => "AMOUNT_ABOVE_MAX",
            ViolationCode::AmountBelowMin => "AMOUNT_BELOW_MIN",
            ViolationCode::PublicAidCap => "PUBLIC_AID_CAP",
            ViolationCode::DeMinimisExceeded => "DE_MINIMIS_EXCEEDED",
            ViolationCode::MissingNationalCofunding => "MISSING_NATIONAL_COFUNDING",
        }
    }
}

/// One broken rule, explained in French.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub code: ViolationCode,
    pub message: String,
    /// Index of the line concerned in the plan's lines, when one is.
    pub line: Option<usize>,
}

/// The verdict on a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanCheck {
    pub balanced: bool,
    /// Public lines over the total cost.
    pub public_share: f64,
    /// Own funds over the total cost.
    pub own_share: f64,
    pub violations: Vec<Violation>,
}

/// Checks `plan` against the law and the schemes its lines name (`schemes` by slug). Bad
/// input (negative amounts, an unknown scheme…) is a validation error naming the field.
pub fn check(plan: &FinancingPlan, schemes: &HashMap<String, SchemeRecord>) -> Result<PlanCheck> {
    let resolved = resolve(plan, schemes)?;
    let share = |part: i64| {
        if plan.total_cost == 0 {
            0.0
        } else {
            part as f64 / plan.total_cost as f64
        }
    };
    Ok(PlanCheck {
        balanced: resolved.unbalanced().is_none(),
        public_share: share(resolved.public_aid()),
        own_share: share(plan.own_funds),
        violations: resolved.violations(),
    })
}

/// Validates the plan and finds the scheme of each line.
fn resolve<'a>(
    plan: &'a FinancingPlan,
    schemes: &'a HashMap<String, SchemeRecord>,
) -> Result<Resolved<'a>> {
    eligibility::positive_amount("totalCost", plan.total_cost)?;
    eligibility::amount("ownFunds", plan.own_funds)?;
    eligibility::amount("previousDeMinimis", plan.previous_de_minimis)?;
    if plan.lines.len() > MAX_LINES {
        return Err(Error::validation(
            "lines",
            format!("Un plan de financement compte au plus {MAX_LINES} lignes."),
        ));
    }
    let mut lines: Vec<Line<'a>> = Vec::with_capacity(plan.lines.len());
    for (i, line) in plan.lines.iter().enumerate() {
        eligibility::amount(&format!("lines[{i}].amount"), line.amount)?;
        let slug = line
            .scheme_slug
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let funder_name = line
            .funder_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let scheme = slug
            .map(|slug| resolve_scheme(i, slug, schemes, &lines))
            .transpose()?;
        if scheme.is_none() && funder_name.is_none() {
            return Err(Error::validation(
                format!("lines[{i}].funderName"),
                "Indiquez le dispositif ou le nom du financeur de cette ligne.",
            ));
        }
        lines.push(Line {
            amount: line.amount,
            public: line.public,
            scheme,
            funder_name,
        });
    }
    Ok(Resolved {
        holder_type: plan.holder_type,
        total_cost: plan.total_cost,
        own_funds: plan.own_funds,
        previous_de_minimis: plan.previous_de_minimis,
        lines,
    })
}

fn resolve_scheme<'a>(
    i: usize,
    slug: &str,
    schemes: &'a HashMap<String, SchemeRecord>,
    before: &[Line<'_>],
) -> Result<&'a SchemeRecord> {
    let field = format!("lines[{i}].schemeSlug");
    let scheme = schemes
        .get(slug)
        .ok_or_else(|| Error::validation(&field, format!("Dispositif inconnu : « {slug} ».")))?;
    if let Some(j) = before
        .iter()
        .position(|l| l.scheme.is_some_and(|s| s.slug == scheme.slug))
    {
        return Err(Error::validation(
            field,
            format!(
                "Ce dispositif figure déjà à la ligne {} : regroupez ses montants sur une seule ligne.",
                j + 1
            ),
        ));
    }
    Ok(scheme)
}

/// A line with its scheme.
#[derive(Clone, Debug)]
struct Line<'a> {
    amount: i64,
    public: bool,
    scheme: Option<&'a SchemeRecord>,
    funder_name: Option<&'a str>,
}

impl Line<'_> {
    fn funding(&self) -> Option<&Funding> {
        self.scheme.map(|s| &s.funding)
    }

    fn de_minimis_ceiling(&self) -> Option<i64> {
        self.funding()
            .and_then(|f| f.regime)
            .and_then(de_minimis_ceiling)
    }

    fn requires_national_cofunding(&self) -> bool {
        self.scheme
            .is_some_and(|s| s.rules.requires_national_public_cofunding == Some(true))
    }

    /// Whether the line brings national public money. A catalogued line does when its
    /// scheme is funded by a national public body and by no EU fund, and does not itself
    /// wait for national co-funding. A public line outside the catalogue is taken as
    /// national: EU funds reach rural projects through catalogued programmes (LEADER,
    /// FEDER), and the holder has declared the line public.
    fn is_national_public(&self) -> bool {
        if !self.public || self.amount == 0 || self.requires_national_cofunding() {
            return false;
        }
        self.scheme.is_none_or(|s| {
            let kinds = || s.funders.iter().map(|f| f.kind);
            kinds().any(|k| NATIONAL_PUBLIC.contains(&k)) && !kinds().any(|k| k == FunderKind::Eu)
        })
    }

    /// How a message names the line (at the start of a sentence): its number, with its
    /// scheme's title or its funder's name.
    fn name(&self, index: usize) -> String {
        match (self.scheme, self.funder_name) {
            (Some(s), _) => format!("La ligne {} (« {} »)", index + 1, s.title),
            (None, Some(name)) => format!("La ligne {} ({name})", index + 1),
            (None, None) => format!("La ligne {}", index + 1),
        }
    }
}

/// Funder kinds that bring national public money.
const NATIONAL_PUBLIC: [FunderKind; 7] = [
    FunderKind::State,
    FunderKind::PublicAgency,
    FunderKind::Region,
    FunderKind::Department,
    FunderKind::Intercommunality,
    FunderKind::Commune,
    FunderKind::SocialSecurity,
];

/// Funder kinds whose money is private.
const PRIVATE: [FunderKind; 3] = [
    FunderKind::Foundation,
    FunderKind::Bank,
    FunderKind::Network,
];

/// The ceiling of a de minimis regime over three rolling years: Reg. (UE) 2023/2831
/// (general), 2023/2832 (SIEG), 1408/2013 as amended by 2024/3118 (agriculture).
pub fn de_minimis_ceiling(regime: StateAidRegime) -> Option<i64> {
    match regime {
        StateAidRegime::None => None,
        StateAidRegime::DeMinimis => Some(300_000),
        StateAidRegime::DeMinimisSieg => Some(750_000),
        StateAidRegime::DeMinimisAgriculture => Some(50_000),
    }
}

/// Holders bound by CGCT L1111-10 III: local authorities and their groupings.
fn is_local_authority(holder: BeneficiaryType) -> bool {
    matches!(
        holder,
        BeneficiaryType::Commune
            | BeneficiaryType::Epci
            | BeneficiaryType::Department
            | BeneficiaryType::Region
    )
}

/// Holders whose own funds are public money.
fn is_public_body(holder: BeneficiaryType) -> bool {
    is_local_authority(holder) || holder == BeneficiaryType::PublicEstablishment
}

/// A validated plan, or a plan being suggested.
#[derive(Clone, Debug)]
struct Resolved<'a> {
    holder_type: BeneficiaryType,
    total_cost: i64,
    own_funds: i64,
    previous_de_minimis: i64,
    lines: Vec<Line<'a>>,
}

impl<'a> Resolved<'a> {
    fn lines_total(&self) -> i64 {
        self.lines.iter().map(|l| l.amount).sum()
    }

    fn public_aid(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.public)
            .map(|l| l.amount)
            .sum()
    }

    fn violations(&self) -> Vec<Violation> {
        let mut violations: Vec<Violation> = self.unbalanced().into_iter().collect();
        violations.extend(self.self_funding());
        for (i, line) in self.lines.iter().enumerate() {
            violations.extend(self.line_bounds(i, line));
        }
        violations.extend(self.public_aid_caps());
        violations.extend(self.de_minimis());
        violations.extend(
            self.missing_cofunding()
                .into_iter()
                .map(|i| self.cofunding_violation(i)),
        );
        violations
    }

    fn unbalanced(&self) -> Option<Violation> {
        let lines = self.lines_total();
        let resources = self.own_funds + lines;
        (resources != self.total_cost).then(|| Violation {
            code: ViolationCode::Unbalanced,
            message: format!(
                "Le plan n'est pas équilibré : {} de fonds propres et {} de financements font {}, pour un coût total de {} (écart de {}).",
                french::euros(self.own_funds),
                french::euros(lines),
                french::euros(resources),
                french::euros(self.total_cost),
                french::euros((resources - self.total_cost).abs()),
            ),
            line: None,
        })
    }

    /// CGCT L1111-10 III, as `scheme-facts.md` §3.1 states it: a local authority that owns
    /// the project funds at least 20 % of the total public financing, its own share
    /// included; private money is outside that base. So own ≥ 20 % × (own + public aid),
    /// that is own ≥ public aid / 4. Derogations (heritage, calamities, 10 % for school
    /// energy renovation…) are the préfet's decision and are not assumed.
    fn self_funding(&self) -> Option<Violation> {
        let public_aid = self.public_aid();
        if !is_local_authority(self.holder_type) || 4 * self.own_funds >= public_aid {
            return None;
        }
        let minimum = (public_aid + 3) / 4;
        Some(Violation {
            code: ViolationCode::SelfFundingBelowMinimum,
            message: format!(
                "Maître d'ouvrage public ({}), le porteur doit apporter au moins 20 % du total des financements publics du projet, sa propre part comprise (CGCT, art. L1111-10) : avec {} d'aides publiques, ses fonds propres doivent atteindre {} ; le plan en prévoit {}.",
                self.holder_type.label(),
                french::euros(public_aid),
                french::euros(minimum),
                french::euros(self.own_funds),
            ),
            line: None,
        })
    }

    fn line_bounds(&self, i: usize, line: &Line<'_>) -> Vec<Violation> {
        let Some(funding) = line.funding() else {
            return Vec::new();
        };
        let name = line.name(i);
        let asked = french::euros(line.amount);
        let mut violations = Vec::new();
        let mut add = |code, message| {
            violations.push(Violation {
                code,
                message,
                line: Some(i),
            })
        };
        if let Some(rate) = funding.rate_max
            && line.amount > share_of(self.total_cost, rate)
        {
            add(
                ViolationCode::RateAboveMax,
                format!(
                    "{name} demande {asked}, au-delà du taux maximal de {} du coût total, soit {}.",
                    french::percent(rate),
                    french::euros(share_of(self.total_cost, rate))
                ),
            );
        }
        if let Some(max) = funding.amount_max
            && line.amount > max
        {
            add(
                ViolationCode::AmountAboveMax,
                format!(
                    "{name} demande {asked}, au-delà du plafond de {} de ce dispositif.",
                    french::euros(max)
                ),
            );
        }
        if let Some(min) = funding.amount_min
            && line.amount < min
        {
            add(
                ViolationCode::AmountBelowMin,
                format!(
                    "{name} demande {asked}, en deçà du montant minimal de {} de ce dispositif.",
                    french::euros(min)
                ),
            );
        }
        violations
    }

    /// Each scheme's `maxPublicAidRate` caps the public lines of the whole plan.
    fn public_aid_caps(&self) -> Vec<Violation> {
        let public_aid = self.public_aid();
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(i, line)| {
                let rate = line.funding()?.max_public_aid_rate?;
                let cap = share_of(self.total_cost, rate);
                (public_aid > cap).then(|| Violation {
                    code: ViolationCode::PublicAidCap,
                    message: format!(
                        "{} relève d'un dispositif qui limite le total des aides publiques à {} du coût du projet, soit {} ; le plan en prévoit {}.",
                        line.name(i),
                        french::percent(rate),
                        french::euros(cap),
                        french::euros(public_aid)
                    ),
                    line: Some(i),
                })
            })
            .collect()
    }

    /// The de minimis aid counted against `ceiling`: the lines under a regime whose
    /// ceiling is at most that one, as the regulations let lower-ceiling aid (agriculture)
    /// cumulate with higher-ceiling aid (general, then SIEG) up to the higher ceiling.
    fn de_minimis_lines(&self, ceiling: i64) -> impl Iterator<Item = (usize, &Line<'a>)> {
        self.lines
            .iter()
            .enumerate()
            .filter(move |(_, l)| l.de_minimis_ceiling().is_some_and(|c| c <= ceiling))
    }

    /// For each de minimis regime of the plan: aid already received over three years plus
    /// the plan's lines counted against its ceiling. The line named is the one at which
    /// the running total crosses the ceiling.
    fn de_minimis(&self) -> Vec<Violation> {
        StateAidRegime::ALL
            .iter()
            .filter_map(|&regime| {
                let ceiling = de_minimis_ceiling(regime)?;
                let in_regime = |l: &Line<'_>| l.funding().and_then(|f| f.regime) == Some(regime);
                if !self.lines.iter().any(in_regime) {
                    return None;
                }
                let mut total = self.previous_de_minimis;
                let mut crossing = None;
                for (i, line) in self.de_minimis_lines(ceiling) {
                    total += line.amount;
                    if total > ceiling && crossing.is_none() {
                        crossing = Some(i);
                    }
                }
                crossing.map(|i| Violation {
                    code: ViolationCode::DeMinimisExceeded,
                    message: format!(
                        "Régime « {} » : {} d'aides de minimis déjà reçus sur trois ans et {} dans ce plan font {}, au-delà du plafond de {} sur trois ans.",
                        regime.label(),
                        french::euros(self.previous_de_minimis),
                        french::euros(total - self.previous_de_minimis),
                        french::euros(total),
                        french::euros(ceiling)
                    ),
                    line: Some(i),
                })
            })
            .collect()
    }

    /// The lines whose scheme needs national public co-funding (LEADER: `scheme-facts.md`
    /// §3.6) and lacks it. Co-funding is another line bringing national public money, or
    /// the own funds of a public holder: the facts' « at least 20 % public co-funding of
    /// which 4 % from the holder » counts the holder's contribution in it, as FEADER rules
    /// count a public body's own funds as national public expenditure.
    fn missing_cofunding(&self) -> Vec<usize> {
        if is_public_body(self.holder_type) && self.own_funds > 0 {
            return Vec::new();
        }
        let cofunded = |i: usize| {
            self.lines
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && other.is_national_public())
        };
        self.lines
            .iter()
            .enumerate()
            .filter(|(i, line)| line.requires_national_cofunding() && !cofunded(*i))
            .map(|(i, _)| i)
            .collect()
    }

    fn cofunding_violation(&self, i: usize) -> Violation {
        let remedy = if is_public_body(self.holder_type) {
            "ajoutez au plan une ligne d'un tel financeur, ou des fonds propres"
        } else {
            "ajoutez au plan une ligne d'un tel financeur"
        };
        Violation {
            code: ViolationCode::MissingNationalCofunding,
            message: format!(
                "{} : ce dispositif exige un cofinancement public national (État, collectivité, organisme public) ; {remedy}.",
                self.lines[i].name(i),
            ),
            line: Some(i),
        }
    }
}

/// One line of a suggested plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuggestedLine {
    pub scheme_slug: String,
    pub funder_name: String,
    pub amount: i64,
    /// False when every funder of the scheme is private (foundation, bank, network).
    pub public: bool,
}

/// A plan proposed for a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuggestedPlan {
    pub own_funds: i64,
    pub total_aid: i64,
    pub lines: Vec<SuggestedLine>,
    /// What the holder must confirm, in French.
    pub warnings: Vec<String>,
}

impl SuggestedPlan {
    /// The suggestion as a plan to check or to put in a dossier (no previous de minimis).
    pub fn to_plan(&self, holder_type: BeneficiaryType) -> FinancingPlan {
        FinancingPlan {
            holder_type,
            total_cost: self.own_funds + self.total_aid,
            own_funds: self.own_funds,
            lines: self
                .lines
                .iter()
                .map(|l| PlanLine {
                    scheme_slug: Some(l.scheme_slug.clone()),
                    funder_name: Some(l.funder_name.clone()),
                    amount: l.amount,
                    public: l.public,
                })
                .collect(),
            previous_de_minimis: 0,
        }
    }
}

/// A scheme the suggester may use.
struct Candidate<'a> {
    scheme: &'a SchemeRecord,
    evaluation: &'a Evaluation,
    grant: bool,
    public: bool,
    /// The most it can give on the project's cost.
    ceiling: i64,
}

/// Aid types that bring money into a plan.
const MONEY: [AidType; 3] = [AidType::Grant, AidType::Loan, AidType::RecoverableAdvance];

/// The most a scheme can give on `cost`: its maximal rate and amount, and the cost itself;
/// `None` when the scheme publishes neither.
fn scheme_ceiling(funding: &Funding, cost: i64) -> Option<i64> {
    let by_rate = funding.rate_max.map(|r| share_of(cost, r));
    let ceiling = match (by_rate, funding.amount_max) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(ceiling.min(cost))
}

/// Proposes a plan for `project` from the evaluated schemes: one line per scheme at most,
/// grants first, as much aid as the rules allow (the 20 % minimum self-funding of local
/// authorities, each scheme's rate and amount bounds, public aid caps, de minimis ceilings
/// with no previous aid, national co-funding for LEADER-type schemes); own funds are the
/// rest. Ineligible schemes are left out; schemes to check are used and flagged.
pub fn suggest(
    project: &ValidProject,
    candidates: &[(&SchemeRecord, &Evaluation)],
) -> SuggestedPlan {
    let Some(cost) = project.total_cost() else {
        return SuggestedPlan {
            own_funds: 0,
            total_aid: 0,
            lines: Vec::new(),
            warnings: vec![
                "Indiquez le coût total du projet pour obtenir une proposition de plan de financement.".into(),
            ],
        };
    };
    let mut warnings = Vec::new();
    let mut pool = usable(candidates, cost, &mut warnings);
    let plan = loop {
        let plan = best_plan(project.holder_type(), cost, &pool);
        let lacking = plan.missing_cofunding();
        if lacking.is_empty() {
            break plan;
        }
        for i in lacking {
            let scheme = plan.lines[i].scheme.expect("suggested lines have a scheme");
            warnings.push(format!(
                "« {} » n'est pas retenu : il exige un cofinancement public national (État, collectivité, organisme public) que ce plan ne contient pas.",
                scheme.title
            ));
            pool.retain(|c| c.scheme.slug != scheme.slug);
        }
    };
    warnings.extend(plan_warnings(project, &plan, &pool));
    let lines: Vec<SuggestedLine> = plan
        .lines
        .iter()
        .map(|l| {
            let scheme = l.scheme.expect("suggested lines have a scheme");
            SuggestedLine {
                scheme_slug: scheme.slug.clone(),
                funder_name: funder_names(scheme),
                amount: l.amount,
                public: l.public,
            }
        })
        .collect();
    SuggestedPlan {
        own_funds: plan.own_funds,
        total_aid: plan.lines_total(),
        lines,
        warnings,
    }
}

/// The candidates a plan can use: not ineligible, first of each slug, bringing money, with
/// a known ceiling. Says why the others are left out.
fn usable<'a>(
    candidates: &[(&'a SchemeRecord, &'a Evaluation)],
    cost: i64,
    warnings: &mut Vec<String>,
) -> Vec<Candidate<'a>> {
    let mut pool: Vec<Candidate<'a>> = Vec::new();
    for &(scheme, evaluation) in candidates {
        if evaluation.verdict == Verdict::Ineligible
            || pool.iter().any(|c| c.scheme.slug == scheme.slug)
        {
            continue;
        }
        let types = &scheme.aid_types;
        if !types.is_empty() && !types.iter().any(|t| MONEY.contains(t)) {
            let labels: Vec<&str> = types.iter().map(|t| t.label()).collect();
            warnings.push(format!(
                "« {} » apporte {} et non un financement : il n'entre pas dans le plan, mais vous pouvez le solliciter en parallèle.",
                scheme.title,
                french::list(&labels).to_lowercase()
            ));
            continue;
        }
        let Some(ceiling) = scheme_ceiling(&scheme.funding, cost) else {
            warnings.push(format!(
                "« {} » ne publie ni taux ni montant maximal : il n'entre pas dans le plan ; demandez au financeur le montant possible.",
                scheme.title
            ));
            continue;
        };
        pool.push(Candidate {
            scheme,
            evaluation,
            grant: types.contains(&AidType::Grant),
            public: scheme.funders.is_empty()
                || !scheme.funders.iter().all(|f| PRIVATE.contains(&f.kind)),
            ceiling,
        });
    }
    pool
}

/// The better of two greedy plans: candidates in order of preference (grants, eligible
/// before to check, larger ceiling), and the same with schemes capping public aid last, as
/// such a cap taken early can shut out larger aid. Grants count first, then all aid.
fn best_plan<'a>(holder_type: BeneficiaryType, cost: i64, pool: &[Candidate<'a>]) -> Resolved<'a> {
    let mut preferred: Vec<&Candidate<'a>> = pool.iter().collect();
    preferred.sort_by(|a, b| {
        (!a.grant, a.evaluation.verdict, -a.ceiling, &a.scheme.slug).cmp(&(
            !b.grant,
            b.evaluation.verdict,
            -b.ceiling,
            &b.scheme.slug,
        ))
    });
    let mut caps_last = preferred.clone();
    caps_last.sort_by_key(|c| c.scheme.funding.max_public_aid_rate.is_some());
    let value = |plan: &Resolved<'_>| {
        let grants: i64 = plan
            .lines
            .iter()
            .filter(|l| {
                l.scheme
                    .is_some_and(|s| s.aid_types.contains(&AidType::Grant))
            })
            .map(|l| l.amount)
            .sum();
        (grants, plan.lines_total())
    };
    let first = greedy(holder_type, cost, &preferred);
    let second = greedy(holder_type, cost, &caps_last);
    if value(&second) > value(&first) {
        second
    } else {
        first
    }
}

/// Takes the candidates in order, each for as much as every rule still allows.
fn greedy<'a>(holder_type: BeneficiaryType, cost: i64, order: &[&Candidate<'a>]) -> Resolved<'a> {
    let mut plan = Resolved {
        holder_type,
        total_cost: cost,
        own_funds: cost,
        previous_de_minimis: 0,
        lines: Vec::new(),
    };
    for candidate in order {
        let floor = candidate.scheme.funding.amount_min.unwrap_or(0).max(1);
        if let Some(amount) = plan.room(candidate).filter(|room| *room >= floor) {
            plan.own_funds -= amount;
            plan.lines.push(Line {
                amount,
                public: candidate.public,
                scheme: Some(candidate.scheme),
                funder_name: None,
            });
        }
    }
    plan
}

impl Resolved<'_> {
    /// The most `candidate` can add while every rule checked by [`check`] still holds;
    /// `None` when it cannot be added at all.
    fn room(&self, candidate: &Candidate<'_>) -> Option<i64> {
        let public_aid = self.public_aid();
        let mut room = candidate.ceiling.min(self.own_funds);
        let caps = self
            .lines
            .iter()
            .filter_map(|l| l.funding()?.max_public_aid_rate)
            .chain(candidate.scheme.funding.max_public_aid_rate);
        for rate in caps {
            let cap_room = share_of(self.total_cost, rate) - public_aid;
            if candidate.public {
                room = room.min(cap_room);
            } else if cap_room < 0 {
                return None;
            }
        }
        if is_local_authority(self.holder_type) {
            // 4 × (own − x) ≥ public aid (+ x when the line is public).
            let slack = 4 * self.own_funds - public_aid;
            room = room.min(slack.div_euclid(if candidate.public { 5 } else { 4 }));
        }
        if let Some(ceiling) = candidate.scheme.funding.regime.and_then(de_minimis_ceiling) {
            let ceilings = self
                .lines
                .iter()
                .filter_map(Line::de_minimis_ceiling)
                .chain([ceiling])
                .filter(|c| *c >= ceiling);
            for c in ceilings {
                let counted: i64 = self.de_minimis_lines(c).map(|(_, l)| l.amount).sum();
                room = room.min(c - self.previous_de_minimis - counted);
            }
        }
        Some(room)
    }
}

fn funder_names(scheme: &SchemeRecord) -> String {
    if scheme.funders.is_empty() {
        return scheme.title.clone();
    }
    let names: Vec<&str> = scheme.funders.iter().map(|f| f.name.as_str()).collect();
    names.join(", ")
}

/// What the holder must confirm about the suggested plan.
fn plan_warnings(
    project: &ValidProject,
    plan: &Resolved<'_>,
    pool: &[Candidate<'_>],
) -> Vec<String> {
    if plan.lines.is_empty() {
        return vec!["Aucun dispositif retenu : le projet reste financé sur fonds propres.".into()];
    }
    let chosen: Vec<&Candidate<'_>> = plan
        .lines
        .iter()
        .filter_map(|l| {
            let slug = &l.scheme?.slug;
            pool.iter().find(|c| &c.scheme.slug == slug)
        })
        .collect();
    let titles = |keep: &dyn Fn(&Candidate<'_>) -> bool| -> Vec<String> {
        chosen
            .iter()
            .filter(|c| keep(c))
            .map(|c| format!("« {} »", c.scheme.title))
            .collect()
    };
    let mut warnings = vec![
        "Montants estimés d'après les taux et plafonds publiés appliqués au coût total : chaque financeur fixe le montant définitif sur la dépense qu'il retient.".to_owned(),
    ];
    for c in chosen
        .iter()
        .filter(|c| c.evaluation.verdict == Verdict::ToCheck)
    {
        let unknown: Vec<&str> = c
            .evaluation
            .criteria
            .iter()
            .filter(|k| k.status == CriterionStatus::Unknown)
            .map(|k| k.message.as_str())
            .collect();
        warnings.push(format!(
            "« {} » est retenu sous réserve : {}",
            c.scheme.title,
            unknown.join(" ")
        ));
    }
    for c in chosen.iter().filter(|c| !c.grant) {
        let title = &c.scheme.title;
        warnings.push(if c.scheme.aid_types.is_empty() {
            format!("« {title} » ne précise pas la forme de son aide : vérifiez s'il s'agit d'une subvention ou d'un prêt.")
        } else {
            let labels: Vec<&str> = c.scheme.aid_types.iter().map(|t| t.label()).collect();
            format!(
                "« {title} » n'est pas une subvention ({}) : vérifiez ses conditions, notamment de remboursement.",
                french::list(&labels).to_lowercase()
            )
        });
    }
    let de_minimis = titles(&|c| {
        c.scheme
            .funding
            .regime
            .and_then(de_minimis_ceiling)
            .is_some()
    });
    if !de_minimis.is_empty() {
        warnings.push(format!(
            "Aides de minimis ({}) : ce plan suppose qu'aucune aide de minimis n'a été reçue ces trois dernières années ; déclarez celles reçues, qui réduisent les montants possibles.",
            de_minimis.join(", ")
        ));
    }
    let no_early_start = titles(&|c| c.scheme.rules.no_start_before_filing == Some(true));
    if !no_early_start.is_empty() {
        warnings.push(format!(
            "Ne signez ni devis ni bon de commande avant d'avoir déposé la demande auprès de : {} ; tout commencement d'exécution avant le dépôt rendrait le projet inéligible.",
            no_early_start.join(", ")
        ));
    }
    if is_local_authority(project.holder_type()) {
        warnings.push(
            "Maître d'ouvrage public, le porteur garde à sa charge au moins 20 % du total des financements publics (CGCT, art. L1111-10).".into(),
        );
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eligibility::tests::{
        BREHAT, Edit, SAINT_DIZIER, day, project, scheme, territories, valid,
    };
    use crate::eligibility::{Project, tests::evaluate_without_zonings as evaluate};
    use crate::funder::FunderRecord;
    use crate::scheme::Perimeter;

    fn funder(kind: FunderKind) -> FunderRecord {
        FunderRecord {
            slug: format!(
                "financeur-{}",
                kind.as_str().to_lowercase().replace('_', "-")
            ),
            name: format!("Financeur {}", kind.label()),
            kind,
            contact_email: None,
            public_body: None,
            name_in_sentence: None,
        }
    }

    fn with_funding(slug: &str, edit: impl FnOnce(&mut SchemeRecord)) -> SchemeRecord {
        let mut s = scheme(slug);
        edit(&mut s);
        s
    }

    fn leader() -> SchemeRecord {
        with_funding("leader", |s| {
            s.funders = vec![funder(FunderKind::Eu)];
            s.rules.requires_national_public_cofunding = Some(true);
            s.funding.rate_max = Some(80.0);
        })
    }

    fn catalogue() -> HashMap<String, SchemeRecord> {
        [
            with_funding("detr", |s| {
                s.funding.rate_max = Some(80.0);
                s.funding.amount_min = Some(5_000);
                s.funding.amount_max = Some(500_000);
            }),
            with_funding("region", |s| s.funders = vec![funder(FunderKind::Region)]),
            with_funding("pass-commerce", |s| {
                s.funders = vec![funder(FunderKind::Region)];
                s.funding.max_public_aid_rate = Some(50.0);
            }),
            with_funding("commerce-de-minimis", |s| {
                s.funding.regime = Some(StateAidRegime::DeMinimis)
            }),
            with_funding("sieg", |s| {
                s.funding.regime = Some(StateAidRegime::DeMinimisSieg)
            }),
            with_funding("agricole", |s| {
                s.funding.regime = Some(StateAidRegime::DeMinimisAgriculture)
            }),
            with_funding("fondation", |s| {
                s.funders = vec![funder(FunderKind::Foundation)]
            }),
            leader(),
        ]
        .into_iter()
        .map(|s| (s.slug.clone(), s))
        .collect()
    }

    fn line(slug: &str, amount: i64) -> PlanLine {
        PlanLine {
            scheme_slug: Some(slug.into()),
            funder_name: None,
            amount,
            public: true,
        }
    }

    fn private(name: &str, amount: i64) -> PlanLine {
        PlanLine {
            scheme_slug: None,
            funder_name: Some(name.into()),
            amount,
            public: false,
        }
    }

    fn plan(holder_type: BeneficiaryType, own_funds: i64, lines: Vec<PlanLine>) -> FinancingPlan {
        FinancingPlan {
            holder_type,
            total_cost: own_funds + lines.iter().map(|l| l.amount).sum::<i64>(),
            own_funds,
            lines,
            previous_de_minimis: 0,
        }
    }

    /// The codes and lines of a plan's violations.
    type Found = Vec<(ViolationCode, Option<usize>)>;

    fn violations(plan: &FinancingPlan) -> Found {
        check(plan, &catalogue())
            .expect("a valid plan")
            .violations
            .iter()
            .map(|v| (v.code, v.line))
            .collect()
    }

    use BeneficiaryType::{Association, Commune};
    use ViolationCode as V;

    #[test]
    fn each_violation_code_is_found_on_its_line() {
        #[rustfmt::skip]
        let cases: Vec<(&str, FinancingPlan, Found)> = vec![
            ("balanced, 20 % own funds", plan(Commune, 20_000, vec![line("detr", 80_000)]), vec![]),
            ("unbalanced", FinancingPlan { total_cost: 100_000, ..plan(Commune, 20_000, vec![line("detr", 70_000)]) }, vec![(V::Unbalanced, None)]),
            ("self-funding below 20 %", plan(Commune, 10_000, vec![line("region", 90_000)]), vec![(V::SelfFundingBelowMinimum, None)]),
            ("private money is outside the base", plan(Commune, 18_000, vec![line("region", 72_000), private("Mécène", 10_000)]), vec![]),
            ("the same money made public breaks it", plan(Commune, 18_000, vec![line("region", 72_000), line("fondation", 10_000)]), vec![(V::SelfFundingBelowMinimum, None)]),
            ("rate above max", plan(Association, 10_000, vec![line("detr", 90_000)]), vec![(V::RateAboveMax, Some(0))]),
            ("amount above max", plan(Association, 1_000_000, vec![line("region", 100), line("detr", 600_000)]), vec![(V::AmountAboveMax, Some(1))]),
            ("amount below min", plan(Association, 96_000, vec![line("detr", 4_000)]), vec![(V::AmountBelowMin, Some(0))]),
            ("public aid cap", plan(Association, 40_000, vec![line("pass-commerce", 30_000), line("region", 30_000)]), vec![(V::PublicAidCap, Some(0))]),
            ("public aid cap ignores private money", plan(Association, 40_000, vec![line("pass-commerce", 30_000), private("Banque", 30_000)]), vec![]),
            ("de minimis general", FinancingPlan { previous_de_minimis: 250_000, ..plan(Association, 20_000, vec![line("region", 10_000), line("commerce-de-minimis", 80_000)]) }, vec![(V::DeMinimisExceeded, Some(1))]),
            ("de minimis SIEG is higher", FinancingPlan { previous_de_minimis: 250_000, ..plan(Association, 20_000, vec![line("sieg", 80_000)]) }, vec![]),
            ("de minimis SIEG ceiling", plan(Association, 20_000, vec![line("sieg", 760_000)]), vec![(V::DeMinimisExceeded, Some(0))]),
            ("de minimis agriculture", plan(Association, 40_000, vec![line("agricole", 60_000)]), vec![(V::DeMinimisExceeded, Some(0))]),
            ("agriculture cumulates with general", plan(Association, 10_000, vec![line("agricole", 40_000), line("commerce-de-minimis", 270_000)]), vec![(V::DeMinimisExceeded, Some(1))]),
            ("LEADER alone", plan(Association, 20_000, vec![line("leader", 80_000)]), vec![(V::MissingNationalCofunding, Some(0))]),
            ("LEADER with a Région", plan(Association, 20_000, vec![line("leader", 60_000), line("region", 20_000)]), vec![]),
            ("LEADER with a manual public line", plan(Association, 20_000, vec![line("leader", 60_000), PlanLine { public: true, ..private("Conseil départemental", 20_000) }]), vec![]),
            ("LEADER with a foundation", plan(Association, 20_000, vec![line("leader", 60_000), line("fondation", 20_000)]), vec![(V::MissingNationalCofunding, Some(0))]),
            ("LEADER with patronage", plan(Association, 20_000, vec![line("leader", 60_000), private("Mécène", 20_000)]), vec![(V::MissingNationalCofunding, Some(0))]),
            ("LEADER with a commune's own funds", plan(Commune, 20_000, vec![line("leader", 80_000)]), vec![]),
        ];
        for (name, plan, expected) in cases {
            assert_eq!(violations(&plan), expected, "{name}");
        }
    }

    #[test]
    fn violations_explain_the_figures_in_french() {
        let result = check(
            &plan(Commune, 10_000, vec![line("region", 90_000)]),
            &catalogue(),
        )
        .unwrap();
        let message = result.violations[0]
            .message
            .replace(['\u{202f}', '\u{a0}'], " ");
        assert!(message.contains("L1111-10"), "{message}");
        assert!(message.contains("90 000 € d'aides publiques"), "{message}");
        assert!(message.contains("doivent atteindre 22 500 €"), "{message}");
        assert_eq!(
            V::SelfFundingBelowMinimum.as_str(),
            "SELF_FUNDING_BELOW_MINIMUM"
        );
        let codes: Vec<&str> = ViolationCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes.len(), 8);
        let rate = check_messages(&plan(Association, 10_000, vec![line("detr", 90_000)]));
        assert!(
            rate[0].contains("taux maximal de 80 % du coût total, soit 80 000 €"),
            "{rate:?}"
        );
    }

    fn check_messages(plan: &FinancingPlan) -> Vec<String> {
        check(plan, &catalogue())
            .unwrap()
            .violations
            .into_iter()
            .map(|v| v.message.replace(['\u{202f}', '\u{a0}'], " "))
            .collect()
    }

    #[test]
    fn only_local_authorities_owe_twenty_percent() {
        for holder in BeneficiaryType::ALL {
            let found = violations(&plan(*holder, 10_000, vec![line("region", 90_000)]));
            let bound = matches!(
                holder,
                Commune
                    | BeneficiaryType::Epci
                    | BeneficiaryType::Department
                    | BeneficiaryType::Region
            );
            assert_eq!(!found.is_empty(), bound, "{holder:?}: {found:?}");
        }
    }

    #[test]
    fn shares_are_fractions_of_the_total_cost() {
        let c = check(
            &plan(
                Commune,
                25_000,
                vec![line("detr", 50_000), private("Mécène", 25_000)],
            ),
            &catalogue(),
        )
        .unwrap();
        assert!(c.balanced);
        assert!((c.public_share - 0.5).abs() < 1e-9);
        assert!((c.own_share - 0.25).abs() < 1e-9);
    }

    #[test]
    fn invalid_plans_name_the_field() {
        let base = || {
            plan(
                Commune,
                20_000,
                vec![line("detr", 80_000), private("Mécène", 0)],
            )
        };
        let cases: &[(&str, Edit<FinancingPlan>)] = &[
            ("totalCost", |p| p.total_cost = 0),
            ("totalCost", |p| p.total_cost = -5),
            ("ownFunds", |p| p.own_funds = -1),
            ("previousDeMinimis", |p| p.previous_de_minimis = -1),
            ("lines[1].amount", |p| p.lines[1].amount = -5),
            ("lines[0].amount", |p| {
                p.lines[0].amount = eligibility::MAX_AMOUNT + 1
            }),
            ("lines[0].schemeSlug", |p| {
                p.lines[0].scheme_slug = Some("inconnu".into())
            }),
            ("lines[1].schemeSlug", |p| {
                p.lines[1].scheme_slug = Some("detr".into())
            }),
            ("lines[1].funderName", |p| {
                p.lines[1].funder_name = Some("  ".into())
            }),
            ("lines", |p| {
                p.lines = vec![private("Mécène", 1); MAX_LINES + 1]
            }),
        ];
        for (field, edit) in cases {
            let mut p = base();
            edit(&mut p);
            match check(&p, &catalogue()) {
                Err(Error::Validation { field: f, message }) => assert_eq!(f, *field, "{message}"),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    fn suggestion(
        holder: BeneficiaryType,
        cost: Option<i64>,
        schemes: &[SchemeRecord],
    ) -> SuggestedPlan {
        let p = valid(Project {
            total_cost: cost,
            ..project(holder, SAINT_DIZIER)
        });
        let evaluations: Vec<Evaluation> = schemes
            .iter()
            .map(|s| evaluate(&p, s, territories()))
            .collect();
        let candidates: Vec<_> = schemes.iter().zip(&evaluations).collect();
        let suggested = suggest(&p, &candidates);
        if cost.is_some() {
            let by_slug = schemes
                .iter()
                .rev()
                .map(|s| (s.slug.clone(), s.clone()))
                .collect();
            let checked = check(&suggested.to_plan(holder), &by_slug).unwrap();
            assert!(checked.violations.is_empty(), "{:?}", checked.violations);
        }
        suggested
    }

    fn amounts(plan: &SuggestedPlan) -> Vec<(&str, i64)> {
        plan.lines
            .iter()
            .map(|l| (l.scheme_slug.as_str(), l.amount))
            .collect()
    }

    fn grant(slug: &str, rate_max: f64) -> SchemeRecord {
        with_funding(slug, |s| s.funding.rate_max = Some(rate_max))
    }

    #[test]
    fn a_suggestion_needs_the_total_cost() {
        let s = suggestion(Commune, None, &[grant("detr", 80.0)]);
        assert!(s.lines.is_empty());
        assert!(s.warnings[0].contains("coût total"), "{:?}", s.warnings);
    }

    #[test]
    fn a_commune_keeps_twenty_percent_of_public_funding() {
        let s = suggestion(
            Commune,
            Some(100_000),
            &[grant("region", 30.0), grant("detr", 80.0)],
        );
        assert_eq!(amounts(&s), [("detr", 80_000)]);
        assert_eq!((s.own_funds, s.total_aid), (20_000, 80_000));
        assert!(s.warnings.iter().any(|w| w.contains("L1111-10")));
        let s = suggestion(
            Commune,
            Some(100_000),
            &[grant("region", 30.0), grant("detr", 40.0)],
        );
        assert_eq!(amounts(&s), [("detr", 40_000), ("region", 30_000)]);
    }

    #[test]
    fn private_money_lets_a_commune_raise_more() {
        let mut patron = grant("fondation", 30.0);
        patron.funders = vec![funder(FunderKind::Foundation)];
        let s = suggestion(Commune, Some(100_000), &[grant("detr", 80.0), patron]);
        assert_eq!(amounts(&s), [("detr", 80_000)]);
        let s = suggestion(
            Commune,
            Some(100_000),
            &[
                grant("detr", 60.0),
                with_funding("fondation", |s| {
                    s.funders = vec![funder(FunderKind::Foundation)];
                    s.funding.rate_max = Some(30.0);
                }),
            ],
        );
        assert_eq!(amounts(&s), [("detr", 60_000), ("fondation", 25_000)]);
        assert!(!s.lines[1].public);
    }

    #[test]
    fn grants_come_before_loans() {
        let loan = with_funding("pret", |s| {
            s.aid_types = vec![AidType::Loan];
            s.funding.rate_max = Some(100.0);
        });
        let s = suggestion(Association, Some(100_000), &[loan, grant("region", 50.0)]);
        assert_eq!(amounts(&s), [("region", 50_000), ("pret", 50_000)]);
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("« Dispositif pret » n'est pas une subvention (prêt)")),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn a_public_aid_cap_is_placed_where_it_costs_least() {
        let capped = with_funding("pass-commerce", |s| {
            s.funding.rate_max = Some(60.0);
            s.funding.max_public_aid_rate = Some(60.0);
        });
        let s = suggestion(
            Association,
            Some(100_000),
            &[capped, grant("a", 50.0), grant("b", 40.0)],
        );
        assert_eq!(amounts(&s), [("a", 50_000), ("b", 40_000)]);
    }

    #[test]
    fn de_minimis_aid_stays_under_the_ceiling() {
        let dm = |slug| {
            with_funding(slug, |s| {
                s.funding.amount_max = Some(200_000);
                s.funding.regime = Some(StateAidRegime::DeMinimis);
            })
        };
        let s = suggestion(
            BeneficiaryType::Company,
            Some(1_000_000),
            &[dm("a"), dm("b")],
        );
        assert_eq!(amounts(&s), [("a", 200_000), ("b", 100_000)]);
        assert!(s.warnings.iter().any(|w| w.starts_with("Aides de minimis")));
    }

    #[test]
    fn leader_is_kept_only_with_national_cofunding() {
        let s = suggestion(Association, Some(100_000), &[leader()]);
        assert!(s.lines.is_empty());
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("cofinancement public national")),
            "{:?}",
            s.warnings
        );
        let region = with_funding("region", |s| {
            s.funders = vec![funder(FunderKind::Region)];
            s.funding.rate_max = Some(20.0);
        });
        let s = suggestion(Association, Some(100_000), &[leader(), region]);
        assert_eq!(amounts(&s), [("leader", 80_000), ("region", 20_000)]);
        let s = suggestion(Commune, Some(100_000), &[leader()]);
        assert_eq!(amounts(&s), [("leader", 80_000)]);
    }

    #[test]
    fn ineligible_schemes_are_left_out_and_doubtful_ones_flagged() {
        let mut ineligible = grant("lot", 80.0);
        ineligible.perimeter = Some(Perimeter {
            national: Some(false),
            departments: vec!["46".into()],
            ..Perimeter::default()
        });
        let mut doubtful = grant("detr", 50.0);
        doubtful.rules.no_start_before_filing = Some(true);
        let engineering = with_funding("villages-d-avenir", |s| {
            s.aid_types = vec![AidType::TechnicalEngineering]
        });
        let unpriced = scheme("fonds-vert");
        let s = suggestion(
            Commune,
            Some(100_000),
            &[ineligible, doubtful, engineering, unpriced],
        );
        assert_eq!(amounts(&s), [("detr", 50_000)]);
        let all = s.warnings.join("\n");
        assert!(
            all.contains("« Dispositif detr » est retenu sous réserve : Date de début"),
            "{all}"
        );
        assert!(all.contains("Ne signez ni devis"), "{all}");
        assert!(
            all.contains("ingénierie technique et non un financement"),
            "{all}"
        );
        assert!(
            all.contains("« Dispositif fonds-vert » ne publie ni taux"),
            "{all}"
        );
        assert!(!all.contains("« Dispositif lot »"), "{all}");
    }

    /// A small deterministic generator (xorshift64*), so that the property test needs no
    /// dependency and fails the same way every time.
    struct Random(u64);

    impl Random {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len() as u64) as usize]
        }

        fn subset<T: Copy>(&mut self, items: &[T], percent: u64) -> Vec<T> {
            items
                .iter()
                .copied()
                .filter(|_| self.chance(percent))
                .collect()
        }

        /// An amount spread over every order of magnitude up to ten million.
        fn amount(&mut self) -> i64 {
            let digits = 1 + self.below(7) as u32;
            1 + self.below(10u64.pow(digits)) as i64
        }

        fn rate(&mut self) -> f64 {
            self.below(201) as f64 / 2.0
        }

        fn ordered<T: PartialOrd>(a: Option<T>, b: Option<T>) -> (Option<T>, Option<T>) {
            match (a, b) {
                (Some(x), Some(y)) if x > y => (Some(y), Some(x)),
                pair => pair,
            }
        }
    }

    const COMMUNES: [&str; 5] = [SAINT_DIZIER, "52121", BREHAT, "46001", "2A004"];
    const THEMES: [&str; 4] = ["commerce", "sante", "culture", "mobilite"];

    fn random_project(r: &mut Random) -> Project {
        Project {
            holder_type: r.pick(BeneficiaryType::ALL),
            commune_code: r.pick(&COMMUNES).into(),
            themes: r.subset(&THEMES, 30).into_iter().map(Into::into).collect(),
            text: None,
            total_cost: r.chance(95).then(|| r.amount()),
            starts_on: r
                .chance(50)
                .then(|| day("2026-01-01") + chrono::Days::new(r.below(200))),
            filing_on: Some(day("2026-03-16")),
            aid_types: if r.chance(80) {
                vec![]
            } else {
                r.subset(AidType::ALL, 50)
            },
            economic_activity: None,
            nature: [None, Some(Nature::Investment), Some(Nature::Operating)][r.below(3) as usize],
            cost_basis: CostBasis::Ht,
        }
    }

    fn random_scheme(r: &mut Random, slug: String, holder: BeneficiaryType) -> SchemeRecord {
        let mut s = scheme(&slug);
        s.funders = (0..=r.below(2))
            .map(|_| funder(r.pick(FunderKind::ALL)))
            .collect();
        s.beneficiary_types = if r.chance(85) {
            vec![holder]
        } else {
            r.subset(BeneficiaryType::ALL, 40)
        };
        s.themes = r.subset(&THEMES, 20).into_iter().map(Into::into).collect();
        s.aid_types = if r.chance(70) {
            vec![AidType::Grant]
        } else {
            r.subset(AidType::ALL, 30)
        };
        if r.chance(30) {
            let department = r.pick(&["52", "46", "22", "2A"]);
            s.perimeter = Some(Perimeter {
                national: Some(false),
                departments: vec![department.into()],
                ..Perimeter::default()
            });
        }
        s.rules.max_commune_population = r.chance(20).then(|| r.amount());
        s.rules.max_epci_population = r.chance(20).then(|| r.amount());
        (s.rules.min_project_cost, s.rules.max_project_cost) = Random::ordered(
            r.chance(20).then(|| r.amount()),
            r.chance(10).then(|| r.amount()),
        );
        s.rules.no_start_before_filing = r.chance(30).then_some(true);
        s.rules.requires_national_public_cofunding = r.chance(20).then_some(true);
        (s.funding.rate_min, s.funding.rate_max) = Random::ordered(
            r.chance(40).then(|| r.rate()),
            r.chance(75).then(|| r.rate()),
        );
        (s.funding.amount_min, s.funding.amount_max) = Random::ordered(
            r.chance(25).then(|| r.amount()),
            r.chance(50).then(|| r.amount()),
        );
        s.funding.max_public_aid_rate = r.chance(20).then(|| r.rate());
        s.funding.regime = r.chance(40).then(|| r.pick(StateAidRegime::ALL));
        if r.chance(10) {
            s.calendar.closes_on = Some(day("2026-03-01"));
        }
        s
    }

    #[test]
    fn suggested_plans_always_pass_the_checker() {
        let mut r = Random(0x5eed_1234_abcd_0001);
        let mut with_lines = 0;
        let rounds = 4_000;
        for round in 0..rounds {
            let p = random_project(&mut r);
            let holder = p.holder_type;
            let project = valid(p);
            let count = r.below(9);
            let mut schemes: Vec<SchemeRecord> = Vec::new();
            for i in 0..count {
                // Now and then a scheme listed twice: the plan must still use it once.
                let scheme = if i > 0 && r.chance(15) {
                    schemes[r.below(i) as usize].clone()
                } else {
                    random_scheme(&mut r, format!("s{i}"), holder)
                };
                schemes.push(scheme);
            }
            let evaluations: Vec<Evaluation> = schemes
                .iter()
                .map(|s| evaluate(&project, s, territories()))
                .collect();
            let candidates: Vec<_> = schemes.iter().zip(&evaluations).collect();
            let suggested = suggest(&project, &candidates);
            let context = format!("round {round}: {project:?}\n{schemes:#?}\n{suggested:#?}");

            let mut slugs: Vec<&str> = suggested
                .lines
                .iter()
                .map(|l| l.scheme_slug.as_str())
                .collect();
            slugs.sort_unstable();
            let before = slugs.len();
            slugs.dedup();
            assert_eq!(slugs.len(), before, "two lines for one scheme, {context}");
            let Some(cost) = project.total_cost() else {
                assert!(suggested.lines.is_empty(), "{context}");
                continue;
            };
            assert_eq!(suggested.own_funds + suggested.total_aid, cost, "{context}");
            assert!(suggested.lines.iter().all(|l| l.amount > 0), "{context}");
            for line in &suggested.lines {
                let (_, evaluation) = candidates
                    .iter()
                    .find(|(s, _)| s.slug == line.scheme_slug)
                    .unwrap();
                assert_ne!(evaluation.verdict, Verdict::Ineligible, "{context}");
            }
            let by_slug: HashMap<String, SchemeRecord> = schemes
                .iter()
                .map(|s| (s.slug.clone(), s.clone()))
                .collect();
            let checked = check(&suggested.to_plan(holder), &by_slug).expect("a valid plan");
            assert!(checked.balanced, "{context}");
            assert!(
                checked.violations.is_empty(),
                "{:#?}\n{context}",
                checked.violations
            );
            with_lines += usize::from(!suggested.lines.is_empty());
        }
        assert!(
            with_lines > rounds / 4,
            "only {with_lines} plans with a line"
        );
    }
}
