//! Financing plans: the rules a plan must respect (DESIGN §6 violation codes, with the legal
//! figures of `scheme-facts.md` and `scheme-facts-2026-12.md`), and a suggested plan, built
//! from the matched schemes, that respects them all. Pure functions: the caller passes the
//! schemes a plan refers to and the territories.
//!
//! The rules, with their sources:
//! - CGCT art. L1111-10 III: a local authority that owns an **investment** operation brings
//!   at least 20 % of the public financing, its own share included (facts C1); not for
//!   operating requests, not in the eight overseas territories the article names, not when
//!   the préfet has granted a derogation (C2). When the nature is unknown the rule is
//!   applied, and its message says that it concerns investment operations only.
//! - Loans are not aid (C4): LOAN, RECOVERABLE_ADVANCE and GUARANTEE lines are the owner's
//!   financing, to be repaid. They count in the owner's participation for L1111-10, never in
//!   public aid (the base of L1111-10 and of `maxPublicAidRate`), never as national
//!   co-funding of an EU fund. A recoverable advance is repaid when the project succeeds:
//!   Guichet counts it with loans (a suggested plan must not lean on money that comes back).
//! - A line is public when every funder of its scheme is a public person
//!   ([`FunderRecord::is_public`](crate::funder::FunderRecord::is_public)); a line outside the
//!   catalogue says it itself.
//! - LEADER-type EU funds (Reg. (EU) 2021/2115 art. 91; facts C3): the EU share
//!   `euCofundingRate = r` of public expenditure needs (100 − r)/r euros of national public
//!   money per euro of EU money, and the fund's `rateMax` applies to public expenditure.
//! - HT or TTC (arrêté du 21 août 2018; facts C9): rates apply to the scheme's basis; when
//!   the plan's differs, Guichet bounds the unknown cost with the 20 % standard VAT rate
//!   (CGI art. 278: TTC ≤ 1,2 × HT) and warns.

use std::collections::HashMap;

use crate::eligibility::{self, CriterionStatus, Evaluation, ValidProject, Verdict, share_of};
use crate::error::{Error, Result};
use crate::scheme::{Funding, SchemeRecord};
use crate::territory::{Territories, Territory, TerritoryKind};
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
    /// For a line outside the catalogue (or whose scheme names no funder): false for
    /// private money (patronage, a foundation, a bank). A catalogued line is public when
    /// every funder of its scheme is.
    pub public: bool,
    /// GRANT (the default) or OTHER are aid; LOAN, RECOVERABLE_ADVANCE and GUARANTEE are the
    /// owner's financing.
    pub aid_type: AidType,
}

/// A financing plan (`FinancingPlanInput`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinancingPlan {
    pub holder_type: BeneficiaryType,
    /// Euros, on `cost_basis`.
    pub total_cost: i64,
    pub own_funds: i64,
    pub lines: Vec<PlanLine>,
    /// De minimis aid the holder received over the last three years.
    pub previous_de_minimis: i64,
    /// Investment or operating; unknown when absent (L1111-10 III is then applied).
    pub nature: Option<Nature>,
    /// The préfet's derogation to L1111-10 III has been granted.
    pub derogation: bool,
    /// INSEE code of the commune where the project happens (for the overseas exemption).
    pub commune_code: Option<String>,
    /// Whether the amounts exclude (HT) or include (TTC) VAT.
    pub cost_basis: CostBasis,
}

impl FinancingPlan {
    /// A plan with no previous de minimis aid, an unknown nature and place, no derogation,
    /// costs excluding VAT.
    pub fn new(
        holder_type: BeneficiaryType,
        total_cost: i64,
        own_funds: i64,
        lines: Vec<PlanLine>,
    ) -> Self {
        FinancingPlan {
            holder_type,
            total_cost,
            own_funds,
            lines,
            previous_de_minimis: 0,
            nature: None,
            derogation: false,
            commune_code: None,
            cost_basis: CostBasis::Ht,
        }
    }
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
    /// Public aid (public lines that are not loans) over the total cost.
    pub public_share: f64,
    /// Own funds over the total cost.
    pub own_share: f64,
    pub violations: Vec<Violation>,
    /// What Guichet cannot decide or the holder must know (a cost basis it cannot convert,
    /// why the 20 % rule does not apply), in French. Not violations.
    pub warnings: Vec<String>,
}

/// Checks `plan` against the law and the schemes its lines name (`schemes` by slug). Bad
/// input (negative amounts, an unknown scheme or commune, an aid type that brings no
/// money…) is a validation error naming the field.
pub fn check(
    plan: &FinancingPlan,
    schemes: &HashMap<String, SchemeRecord>,
    territories: &Territories,
) -> Result<PlanCheck> {
    let resolved = resolve(plan, schemes, territories)?;
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
        warnings: resolved.warnings(),
    })
}

/// Aid types a plan line may have: the ones that bring money (or secure a loan).
const LINE_TYPES: [AidType; 5] = [
    AidType::Grant,
    AidType::Loan,
    AidType::RecoverableAdvance,
    AidType::Guarantee,
    AidType::Other,
];

/// Aid types that are the owner's financing, to be repaid, not aid (facts C4).
const REPAYABLE: [AidType; 3] = [
    AidType::Loan,
    AidType::RecoverableAdvance,
    AidType::Guarantee,
];

/// Whether money of this type is aid (not repaid).
pub fn is_aid(aid_type: AidType) -> bool {
    !REPAYABLE.contains(&aid_type)
}

/// Validates the plan and finds the scheme of each line.
fn resolve<'a>(
    plan: &'a FinancingPlan,
    schemes: &'a HashMap<String, SchemeRecord>,
    territories: &Territories,
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
    let commune = match plan.commune_code.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Some(
            territories
                .get_kind(code, TerritoryKind::Commune)
                .ok_or_else(|| {
                    Error::validation(
                        "communeCode",
                        format!(
                            "Commune inconnue : « {code} » (code INSEE attendu, par exemple 52448)."
                        ),
                    )
                })?,
        ),
    };
    let mut lines: Vec<Line<'a>> = Vec::with_capacity(plan.lines.len());
    for (i, line) in plan.lines.iter().enumerate() {
        eligibility::amount(&format!("lines[{i}].amount"), line.amount)?;
        if !LINE_TYPES.contains(&line.aid_type) {
            return Err(Error::validation(
                format!("lines[{i}].aidType"),
                format!(
                    "Une ligne du plan apporte de l'argent : subvention, prêt, avance remboursable ou garantie, et non « {} ».",
                    line.aid_type.label().to_lowercase()
                ),
            ));
        }
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
            public: is_public_line(scheme, line.public),
            aid_type: line.aid_type,
            scheme,
            funder_name,
        });
    }
    Ok(Resolved {
        holder_type: plan.holder_type,
        total_cost: plan.total_cost,
        own_funds: plan.own_funds,
        previous_de_minimis: plan.previous_de_minimis,
        cost_basis: plan.cost_basis,
        rule: SelfFundingRule::of(plan.holder_type, plan.nature, plan.derogation, commune),
        lines,
    })
}

/// A catalogued line is public when every funder of its scheme is a public person; a
/// scheme with no funder, or a line outside the catalogue, takes what the holder declared.
fn is_public_line(scheme: Option<&SchemeRecord>, declared: bool) -> bool {
    match scheme {
        Some(s) if !s.funders.is_empty() => s.funders.iter().all(|f| f.is_public()),
        _ => declared,
    }
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

/// The overseas départements and collectivités where CGCT L1111-10 III does not apply (the
/// article's last paragraph), with how a sentence says « in » them.
const OVERSEAS: [(&str, &str); 8] = [
    ("971", "en Guadeloupe"),
    ("972", "en Martinique"),
    ("973", "en Guyane"),
    ("974", "à La Réunion"),
    ("975", "à Saint-Pierre-et-Miquelon"),
    ("976", "à Mayotte"),
    ("977", "à Saint-Barthélemy"),
    ("978", "à Saint-Martin"),
];

/// Where CGCT L1111-10 III stands for a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SelfFundingRule {
    /// The holder is not a local authority.
    NotBound,
    /// The 20 % minimum applies; `nature_known` is false when the plan does not say the
    /// operation is an investment.
    Applies { nature_known: bool },
    /// An operating request: the article concerns investment operations only.
    Operating,
    /// The project is overseas (« en Guadeloupe »…).
    Overseas(&'static str),
    /// The préfet granted a derogation.
    Derogation,
}

impl SelfFundingRule {
    /// CGCT art. L1111-10 III for this holder, nature, derogation and commune.
    pub fn of(
        holder: BeneficiaryType,
        nature: Option<Nature>,
        derogation: bool,
        commune: Option<&Territory>,
    ) -> Self {
        let department = commune.and_then(|c| {
            c.parents
                .iter()
                .find(|(kind, _)| *kind == TerritoryKind::Department)
                .map(|(_, code)| code.as_str())
        });
        if !is_local_authority(holder) {
            SelfFundingRule::NotBound
        } else if nature == Some(Nature::Operating) {
            SelfFundingRule::Operating
        } else if let Some((_, place)) = OVERSEAS.iter().find(|(code, _)| Some(*code) == department)
        {
            SelfFundingRule::Overseas(place)
        } else if derogation {
            SelfFundingRule::Derogation
        } else {
            SelfFundingRule::Applies {
                nature_known: nature.is_some(),
            }
        }
    }

    pub fn applies(self) -> bool {
        matches!(self, SelfFundingRule::Applies { .. })
    }

    /// Why a local authority does not owe its 20 %, in French (`None` when it does or is not
    /// bound).
    pub fn exemption(self) -> Option<String> {
        let why = match self {
            SelfFundingRule::NotBound | SelfFundingRule::Applies { .. } => return None,
            SelfFundingRule::Operating => {
                "elle ne vise que les opérations d'investissement, et celle-ci relève du fonctionnement".to_owned()
            }
            SelfFundingRule::Overseas(place) => format!("elle ne s'applique pas {place}"),
            SelfFundingRule::Derogation => {
                "le préfet y a dérogé ; joignez sa décision à la demande".to_owned()
            }
        };
        Some(format!(
            "La participation minimale de 20 % du maître d'ouvrage public (CGCT, art. L1111-10 III) n'est pas exigée : {why}."
        ))
    }
}

/// A line with its scheme.
#[derive(Clone, Debug)]
struct Line<'a> {
    amount: i64,
    /// Resolved: from the scheme's funders, else as declared.
    public: bool,
    aid_type: AidType,
    scheme: Option<&'a SchemeRecord>,
    funder_name: Option<&'a str>,
}

impl Line<'_> {
    fn funding(&self) -> Option<&Funding> {
        self.scheme.map(|s| &s.funding)
    }

    fn is_aid(&self) -> bool {
        is_aid(self.aid_type)
    }

    fn is_public_aid(&self) -> bool {
        self.public && self.is_aid()
    }

    fn de_minimis_ceiling(&self) -> Option<i64> {
        self.funding()
            .and_then(|f| f.regime)
            .and_then(de_minimis_ceiling)
    }

    fn requires_national_cofunding(&self) -> bool {
        self.scheme.is_some_and(requires_national_cofunding)
    }

    /// The EU share of public expenditure, for a line whose scheme needs national
    /// co-funding and states it.
    fn eu_rate(&self) -> Option<f64> {
        self.scheme.and_then(eu_rate)
    }

    /// Whether the line brings national public money (co-funding for an EU fund): aid (not
    /// a loan) from public funders none of which is an EU fund, not itself waiting for
    /// national co-funding. A public line outside the catalogue is taken as national: EU
    /// funds reach rural projects through catalogued programmes (LEADER, FEDER), and the
    /// holder has declared the line public.
    fn is_national_public(&self) -> bool {
        if !self.is_public_aid() || self.amount == 0 || self.requires_national_cofunding() {
            return false;
        }
        self.scheme
            .is_none_or(|s| !s.funders.iter().any(|f| f.kind == FunderKind::Eu))
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

fn requires_national_cofunding(scheme: &SchemeRecord) -> bool {
    scheme.rules.requires_national_public_cofunding == Some(true)
}

/// `funding.euCofundingRate` of a scheme that needs national co-funding, when it is a
/// usable percentage.
fn eu_rate(scheme: &SchemeRecord) -> Option<f64> {
    if !requires_national_cofunding(scheme) {
        return None;
    }
    scheme
        .funding
        .eu_cofunding_rate
        .filter(|r| *r > 0.0 && *r <= 100.0)
}

/// The national public money `eu_amount` euros of an EU fund covering `rate` % of public
/// expenditure need: (100 − r)/r × the EU amount, rounded up (Reg. (EU) 2021/2115 art. 91).
fn national_share_needed(eu_amount: i64, rate: f64) -> i64 {
    ((eu_amount as f64) * (100.0 - rate) / rate - 1e-6)
        .ceil()
        .max(0.0) as i64
}

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

/// Holders whose own funds are public money (« autofinancement public appelant du
/// FEADER », facts C3).
fn is_public_body(holder: BeneficiaryType) -> bool {
    is_local_authority(holder) || holder == BeneficiaryType::PublicEstablishment
}

/// A rate's limit on the plan's cost when the scheme's basis may differ from the plan's:
/// above `certain` the line is above the rate whatever the VAT; up to `safe` it is within.
#[derive(Clone, Copy, Debug)]
struct Limit {
    safe: i64,
    certain: i64,
}

/// `rate` % of a cost known on `plan_basis`, for a scheme funding on `scheme_basis` (unknown:
/// taken as the plan's). VAT is at most 20 % (CGI art. 278), so HT ≥ TTC / 1,2 and
/// TTC ≤ 1,2 × HT.
fn rate_limit(
    cost: i64,
    rate: f64,
    plan_basis: CostBasis,
    scheme_basis: Option<CostBasis>,
) -> Limit {
    let on_cost = share_of(cost, rate);
    match (plan_basis, scheme_basis) {
        (CostBasis::Ttc, Some(CostBasis::Ht)) => Limit {
            safe: share_of(cost * 5 / 6, rate),
            certain: on_cost,
        },
        (CostBasis::Ht, Some(CostBasis::Ttc)) => Limit {
            safe: on_cost,
            certain: share_of((cost * 6 + 4) / 5, rate),
        },
        _ => Limit {
            safe: on_cost,
            certain: on_cost,
        },
    }
}

/// A validated plan, or a plan being suggested.
#[derive(Clone, Debug)]
struct Resolved<'a> {
    holder_type: BeneficiaryType,
    total_cost: i64,
    own_funds: i64,
    previous_de_minimis: i64,
    cost_basis: CostBasis,
    rule: SelfFundingRule,
    lines: Vec<Line<'a>>,
}

impl<'a> Resolved<'a> {
    fn lines_total(&self) -> i64 {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// Public aid: public lines that are not loans.
    fn public_aid(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.is_public_aid())
            .map(|l| l.amount)
            .sum()
    }

    /// All aid, public or private (loans excluded).
    fn aid(&self) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.is_aid())
            .map(|l| l.amount)
            .sum()
    }

    /// Loans, recoverable advances and guaranteed amounts: the owner's financing.
    fn repayable(&self) -> i64 {
        self.lines_total() - self.aid()
    }

    /// National public money that can co-fund an EU fund: national public aid lines, and
    /// the own funds of a public holder.
    fn national_counterpart(&self) -> i64 {
        let lines: i64 = self
            .lines
            .iter()
            .filter(|l| l.is_national_public())
            .map(|l| l.amount)
            .sum();
        lines
            + if is_public_body(self.holder_type) {
                self.own_funds
            } else {
                0
            }
    }

    fn violations(&self) -> Vec<Violation> {
        let mut violations: Vec<Violation> = self.unbalanced().into_iter().collect();
        violations.extend(self.self_funding());
        for (i, line) in self.lines.iter().enumerate() {
            violations.extend(self.line_bounds(i, line));
        }
        violations.extend(self.public_aid_caps());
        violations.extend(self.de_minimis());
        violations.extend(self.cofunding());
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

    /// CGCT L1111-10 III (facts C1, C2): the public owner of an investment operation brings
    /// at least 20 % of the total public financing, its own share included; private money
    /// is outside that base. Its share is its own funds and what it borrows (loans are its
    /// financing, facts C4), so participation ≥ 20 % × (participation + public aid), that
    /// is participation ≥ public aid / 4. Not for operating requests, overseas, or with the
    /// préfet's derogation ([`SelfFundingRule`]).
    fn self_funding(&self) -> Option<Violation> {
        let SelfFundingRule::Applies { nature_known } = self.rule else {
            return None;
        };
        let public_aid = self.public_aid();
        let participation = self.own_funds + self.repayable();
        if 4 * participation >= public_aid {
            return None;
        }
        let minimum = (public_aid + 3) / 4;
        let what = if self.repayable() > 0 {
            "sa participation (fonds propres et emprunts) doit"
        } else {
            "ses fonds propres doivent"
        };
        let mut message = format!(
            "Maître d'ouvrage public ({}), le porteur d'une opération d'investissement doit apporter au moins 20 % du total des financements publics du projet, sa propre part comprise (CGCT, art. L1111-10 III) : avec {} d'aides publiques, {what} atteindre {} ; le plan en prévoit {}.",
            self.holder_type.label(),
            french::euros(public_aid),
            french::euros(minimum),
            french::euros(participation),
        );
        if !nature_known {
            message.push_str(" Cette règle ne vise que l'investissement : si l'opération relève du fonctionnement, indiquez-le.");
        }
        message.push_str(" Le préfet peut y déroger dans les cas prévus par la loi ; elle ne s'applique pas outre-mer.");
        Some(Violation {
            code: ViolationCode::SelfFundingBelowMinimum,
            message,
            line: None,
        })
    }

    /// The limit of `rate` for `line`: on public expenditure (the line and its national
    /// counterpart) for an EU fund with a stated EU share (Reg. (EU) 2021/2115 art. 91),
    /// else on the total cost on the scheme's basis.
    fn line_limit(&self, line: &Line<'_>, rate: f64) -> (Limit, String) {
        if line.eu_rate().is_some() {
            let base = line.amount + self.national_counterpart();
            let limit = share_of(base, rate);
            return (
                Limit {
                    safe: limit,
                    certain: limit,
                },
                format!("de la dépense publique ({})", french::euros(base)),
            );
        }
        let basis = line.funding().and_then(|f| f.basis);
        let limit = rate_limit(self.total_cost, rate, self.cost_basis, basis);
        let base = basis.unwrap_or(self.cost_basis).label();
        (limit, format!("du coût total {base}"))
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
        if let Some(rate) = funding.rate_max {
            let (limit, base) = self.line_limit(line, rate);
            if line.amount > limit.certain {
                add(
                    ViolationCode::RateAboveMax,
                    format!(
                        "{name} demande {asked}, au-delà du taux maximal de {} {base}, soit {}.",
                        french::percent(rate),
                        french::euros(limit.certain)
                    ),
                );
            }
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

    /// Each scheme's `maxPublicAidRate` caps the public aid of the whole plan (loans are
    /// not aid), on the scheme's cost basis.
    fn public_aid_caps(&self) -> Vec<Violation> {
        let public_aid = self.public_aid();
        self.lines
            .iter()
            .enumerate()
            .filter_map(|(i, line)| {
                let funding = line.funding()?;
                let rate = funding.max_public_aid_rate?;
                let cap = rate_limit(self.total_cost, rate, self.cost_basis, funding.basis);
                (public_aid > cap.certain).then(|| Violation {
                    code: ViolationCode::PublicAidCap,
                    message: format!(
                        "{} relève d'un dispositif qui limite le total des aides publiques à {} du coût du projet, soit {} ; le plan en prévoit {} (les prêts n'en font pas partie).",
                        line.name(i),
                        french::percent(rate),
                        french::euros(cap.certain),
                        french::euros(public_aid)
                    ),
                    line: Some(i),
                })
            })
            .collect()
    }

    /// The de minimis aid counted against `ceiling`: the lines under a regime whose
    /// ceiling is at most that one, as the regulations let lower-ceiling aid (agriculture)
    /// cumulate with higher-ceiling aid (general, then SIEG) up to the higher ceiling. A
    /// loan counts at its nominal amount, more than its grant equivalent: on the safe side.
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

    /// National public co-funding of the lines whose scheme needs it (LEADER: facts C3,
    /// Reg. (EU) 2021/2115 art. 91). With an EU share `r` stated, the national public money
    /// must reach (100 − r)/r × the EU line; the counterpart is shared out among such lines
    /// in plan order, and each line short of it gets the amount missing. Without `r`, at
    /// least one national public line, or the own funds of a public holder, must be there.
    /// Loans are never co-funding (facts C4).
    fn cofunding(&self) -> Vec<Violation> {
        let counterpart = self.national_counterpart();
        let mut left = counterpart;
        let mut violations = Vec::new();
        let own = if is_public_body(self.holder_type) {
            ", ou les fonds propres du porteur public"
        } else {
            ""
        };
        for (i, line) in self.lines.iter().enumerate() {
            if !line.requires_national_cofunding() {
                continue;
            }
            match line.eu_rate() {
                Some(rate) => {
                    let needed = national_share_needed(line.amount, rate);
                    if left >= needed {
                        left -= needed;
                        continue;
                    }
                    violations.push(Violation {
                        code: ViolationCode::MissingNationalCofunding,
                        message: format!(
                            "{} : ces fonds européens ne financent que {} de la dépense publique (Règl. (UE) 2021/2115, art. 91) ; {} appellent au moins {} de cofinancement public national (subventions de l'État, de collectivités ou d'organismes publics{own} ; les prêts n'en sont pas). Le plan en apporte {} : il manque {}.",
                            line.name(i),
                            french::percent(rate),
                            french::euros(line.amount),
                            french::euros(needed),
                            french::euros(left),
                            french::euros(needed - left),
                        ),
                        line: Some(i),
                    });
                    left = 0;
                }
                None => {
                    let cofunded = (is_public_body(self.holder_type) && self.own_funds > 0)
                        || self
                            .lines
                            .iter()
                            .enumerate()
                            .any(|(j, other)| j != i && other.is_national_public());
                    if !cofunded {
                        let remedy = if is_public_body(self.holder_type) {
                            "ajoutez au plan une ligne d'un tel financeur, ou des fonds propres"
                        } else {
                            "ajoutez au plan une ligne d'un tel financeur"
                        };
                        violations.push(Violation {
                            code: ViolationCode::MissingNationalCofunding,
                            message: format!(
                                "{} : ce dispositif exige un cofinancement public national (subvention de l'État, d'une collectivité, d'un organisme public ; un prêt n'en est pas) ; {remedy}.",
                                line.name(i),
                            ),
                            line: Some(i),
                        });
                    }
                }
            }
        }
        violations
    }

    /// What the check cannot decide: a scheme funding on another cost basis than the
    /// plan's (arrêté du 21 août 2018, facts C9), and why the 20 % rule does not apply.
    fn warnings(&self) -> Vec<String> {
        let mut warnings: Vec<String> = self.rule.exemption().into_iter().collect();
        for (i, line) in self.lines.iter().enumerate() {
            let Some(scheme) = line.scheme else { continue };
            let Some(basis) = scheme.funding.basis.filter(|b| *b != self.cost_basis) else {
                continue;
            };
            let mut warning = format!(
                "{} : ce dispositif calcule ses taux sur le coût {}, le plan est établi {} ; Guichet ne peut pas convertir, vérifiez le montant sur le coût {} (arrêté du 21 août 2018).",
                line.name(i),
                basis.label(),
                self.cost_basis.label(),
                basis.label(),
            );
            if self.holder_type == BeneficiaryType::Association {
                warning
                    .push_str(" Une association non assujettie à la TVA présente son budget TTC.");
            }
            warnings.push(warning);
        }
        warnings
    }
}

/// One line of a suggested plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuggestedLine {
    pub scheme_slug: String,
    pub funder_name: String,
    pub amount: i64,
    /// False when some funder of the scheme is not a public person.
    pub public: bool,
    /// From the scheme's aid types: GRANT when it gives grants, else LOAN or
    /// RECOVERABLE_ADVANCE.
    pub aid_type: AidType,
    /// Why the line is there and how its amount was set, in French.
    pub reason: String,
}

/// A plan proposed for a project. `own_funds + total_aid + total_loans` is the total cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuggestedPlan {
    pub own_funds: i64,
    /// Aid lines (grants), loans excluded.
    pub total_aid: i64,
    /// Loans and recoverable advances: the owner's financing, to be repaid.
    pub total_loans: i64,
    pub lines: Vec<SuggestedLine>,
    /// What the holder must confirm, in French.
    pub warnings: Vec<String>,
}

impl SuggestedPlan {
    /// The suggestion as a plan to check or to put in a dossier (no previous de minimis, no
    /// derogation).
    pub fn to_plan(&self, project: &ValidProject) -> FinancingPlan {
        FinancingPlan {
            holder_type: project.holder_type(),
            total_cost: self.own_funds + self.total_aid + self.total_loans,
            own_funds: self.own_funds,
            lines: self
                .lines
                .iter()
                .map(|l| PlanLine {
                    scheme_slug: Some(l.scheme_slug.clone()),
                    funder_name: Some(l.funder_name.clone()),
                    amount: l.amount,
                    public: l.public,
                    aid_type: l.aid_type,
                })
                .collect(),
            previous_de_minimis: 0,
            nature: project.nature(),
            derogation: false,
            commune_code: Some(project.commune().code.clone()),
            cost_basis: project.cost_basis(),
        }
    }
}

/// A scheme the suggester may use.
struct Candidate<'a> {
    scheme: &'a SchemeRecord,
    evaluation: &'a Evaluation,
    aid_type: AidType,
    public: bool,
    /// The most it can give on the project's cost.
    ceiling: i64,
}

impl Candidate<'_> {
    fn grant(&self) -> bool {
        is_aid(self.aid_type)
    }

    /// An EU fund that needs national co-funding.
    fn eu(&self) -> bool {
        requires_national_cofunding(self.scheme)
    }
}

/// Aid types that bring money into a plan.
const MONEY: [AidType; 3] = [AidType::Grant, AidType::Loan, AidType::RecoverableAdvance];

/// The aid type of a scheme's suggested line: GRANT when it gives grants (or does not say),
/// else its first kind of repayable money.
fn line_type(scheme: &SchemeRecord) -> AidType {
    let types = &scheme.aid_types;
    if types.is_empty() || types.contains(&AidType::Grant) {
        AidType::Grant
    } else {
        MONEY
            .into_iter()
            .find(|t| types.contains(t))
            .unwrap_or(AidType::Grant)
    }
}

/// The rate a suggestion applies: the usual rate when the scheme publishes one (never above
/// its maximal rate), else the maximal rate.
fn suggested_rate(funding: &Funding) -> Option<f64> {
    match (funding.typical_rate, funding.rate_max) {
        (Some(t), Some(m)) => Some(t.min(m)),
        (t, m) => t.or(m),
    }
}

/// The most a scheme can give on `cost`: its suggested rate (on its own cost basis, the
/// safe side when it differs) and maximal amount, and the cost itself; `None` when the
/// scheme publishes neither. An EU fund with a stated EU share applies its rate to public
/// expenditure, which the plan decides: only its amount and the cost bound it here.
fn scheme_ceiling(scheme: &SchemeRecord, cost: i64, basis: CostBasis) -> Option<i64> {
    let funding = &scheme.funding;
    let rate = suggested_rate(funding);
    let by_rate = if eu_rate(scheme).is_some() {
        rate.map(|_| cost)
    } else {
        rate.map(|r| rate_limit(cost, r, basis, funding.basis).safe)
    };
    let ceiling = match (by_rate, funding.amount_max) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some(ceiling.min(cost))
}

/// Proposes a plan for `project` from the evaluated schemes: one line per scheme at most,
/// grants first, as much aid as the rules allow (the 20 % minimum participation of local
/// authorities where it applies, each scheme's usual or maximal rate and its amount bounds,
/// public aid caps, de minimis ceilings with no previous aid, proportional national
/// co-funding for LEADER-type funds, which come after the national lines that co-fund
/// them); loans after grants and apart from aid; own funds are the rest. Ineligible schemes
/// are left out; schemes to check are used and flagged. Every plan it returns passes
/// [`check`].
pub fn suggest(
    project: &ValidProject,
    candidates: &[(&SchemeRecord, &Evaluation)],
) -> SuggestedPlan {
    let Some(cost) = project.total_cost() else {
        return SuggestedPlan {
            own_funds: 0,
            total_aid: 0,
            total_loans: 0,
            lines: Vec::new(),
            warnings: vec![
                "Indiquez le coût total du projet pour obtenir une proposition de plan de financement.".into(),
            ],
        };
    };
    let mut warnings = Vec::new();
    let pool = usable(candidates, cost, project.cost_basis(), &mut warnings);
    let empty = Resolved {
        holder_type: project.holder_type(),
        total_cost: cost,
        own_funds: cost,
        previous_de_minimis: 0,
        cost_basis: project.cost_basis(),
        rule: SelfFundingRule::of(
            project.holder_type(),
            project.nature(),
            false,
            Some(project.commune()),
        ),
        lines: Vec::new(),
    };
    let plan = best_plan(&empty, &pool);
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
                aid_type: l.aid_type,
                reason: reason(&plan, l),
            }
        })
        .collect();
    SuggestedPlan {
        own_funds: plan.own_funds,
        total_aid: plan.aid(),
        total_loans: plan.repayable(),
        lines,
        warnings,
    }
}

/// The candidates a plan can use: not ineligible, first of each slug, bringing money, with
/// a known ceiling. Says why the others are left out.
fn usable<'a>(
    candidates: &[(&'a SchemeRecord, &'a Evaluation)],
    cost: i64,
    basis: CostBasis,
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
        let Some(ceiling) = scheme_ceiling(scheme, cost, basis) else {
            warnings.push(format!(
                "« {} » ne publie ni taux ni montant maximal : il n'entre pas dans le plan ; demandez au financeur le montant possible.",
                scheme.title
            ));
            continue;
        };
        pool.push(Candidate {
            scheme,
            evaluation,
            aid_type: line_type(scheme),
            public: is_public_line(Some(scheme), true),
            ceiling,
        });
    }
    pool
}

/// The better of two greedy plans: candidates in order of preference (grants, national
/// before EU funds that need national co-funding, eligible before to check, larger
/// ceiling), and the same with schemes capping public aid last, as such a cap taken early
/// can shut out larger aid. Grants count first, then all money.
fn best_plan<'a>(empty: &Resolved<'a>, pool: &[Candidate<'a>]) -> Resolved<'a> {
    let mut preferred: Vec<&Candidate<'a>> = pool.iter().collect();
    preferred.sort_by(|a, b| {
        (
            !a.grant(),
            a.eu(),
            a.evaluation.verdict,
            -a.ceiling,
            &a.scheme.slug,
        )
            .cmp(&(
                !b.grant(),
                b.eu(),
                b.evaluation.verdict,
                -b.ceiling,
                &b.scheme.slug,
            ))
    });
    let mut caps_last = preferred.clone();
    caps_last.sort_by_key(|c| c.scheme.funding.max_public_aid_rate.is_some());
    let value = |plan: &Resolved<'_>| (plan.aid(), plan.lines_total());
    let first = greedy(empty, &preferred);
    let second = greedy(empty, &caps_last);
    if value(&second) > value(&first) {
        second
    } else {
        first
    }
}

/// Takes the candidates in order, each for as much as every rule of [`check`] still allows
/// (and no more than its usual rate), so that the plan stays valid at every step.
fn greedy<'a>(empty: &Resolved<'a>, order: &[&Candidate<'a>]) -> Resolved<'a> {
    let mut plan = empty.clone();
    for candidate in order {
        let floor = candidate.scheme.funding.amount_min.unwrap_or(0).max(1);
        let Some(upper) = plan.room(candidate).filter(|room| *room >= floor) else {
            continue;
        };
        let with = |amount: i64| {
            let mut next = plan.clone();
            next.own_funds -= amount;
            next.lines.push(Line {
                amount,
                public: candidate.public,
                aid_type: candidate.aid_type,
                scheme: Some(candidate.scheme),
                funder_name: None,
            });
            next
        };
        let valid = |amount: i64| {
            let next = with(amount);
            next.violations().is_empty() && next.within_usual_rates()
        };
        // Every rule is an upper bound on the amount: the valid amounts are an interval.
        let amount = if valid(upper) {
            upper
        } else if !valid(floor) {
            continue;
        } else {
            let (mut low, mut high) = (floor, upper);
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if valid(middle) {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            low
        };
        plan = with(amount);
    }
    plan
}

impl Resolved<'_> {
    /// An upper bound of what `candidate` can add while every rule checked by [`check`]
    /// still holds (exact for the simple rules; [`greedy`] verifies it); `None` when it
    /// cannot be added at all.
    fn room(&self, candidate: &Candidate<'_>) -> Option<i64> {
        let public_aid = self.public_aid();
        let public_aid_line = candidate.public && candidate.grant();
        let mut room = candidate.ceiling.min(self.own_funds);
        let caps = self
            .lines
            .iter()
            .filter_map(|l| l.funding()?.max_public_aid_rate)
            .chain(candidate.scheme.funding.max_public_aid_rate);
        for rate in caps {
            let cap_room = share_of(self.total_cost, rate) - public_aid;
            if public_aid_line {
                room = room.min(cap_room);
            } else if cap_room < 0 {
                return None;
            }
        }
        if self.rule.applies() && candidate.grant() {
            // 4 × (participation − x) ≥ public aid (+ x when the line is public); a loan
            // leaves the participation as it is.
            let slack = 4 * (self.own_funds + self.repayable()) - public_aid;
            room = room.min(slack.div_euclid(if public_aid_line { 5 } else { 4 }));
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

    /// Whether every line stays within its scheme's usual rate, when published (on public
    /// expenditure for EU funds with a stated share).
    fn within_usual_rates(&self) -> bool {
        self.lines
            .iter()
            .all(|line| match line.funding().and_then(|f| f.typical_rate) {
                Some(rate) => line.amount <= self.line_limit(line, rate).0.safe,
                None => true,
            })
    }
}

fn funder_names(scheme: &SchemeRecord) -> String {
    if scheme.funders.is_empty() {
        return scheme.title.clone();
    }
    let names: Vec<&str> = scheme.funders.iter().map(|f| f.name.as_str()).collect();
    names.join(", ")
}

/// Who publishes a scheme, after « par » (« par l'État », « par Région Grand Est »).
fn by_funder(scheme: &SchemeRecord) -> String {
    match scheme.funders.first() {
        Some(f) => format!("par {}", f.name_in_sentence.as_deref().unwrap_or(&f.name)),
        None => format!("pour « {} »", scheme.title),
    }
}

/// Why a suggested line is there and how its amount was set, in French.
fn reason(plan: &Resolved<'_>, line: &Line<'_>) -> String {
    let scheme = line.scheme.expect("suggested lines have a scheme");
    let funding = &scheme.funding;
    let amount = french::euros(line.amount);
    let mut sentences = Vec::new();
    if !line.is_aid() {
        sentences.push(format!(
            "{} {} : financement du porteur, à rembourser ; il n'est compté ni dans les aides ni dans la part d'aides publiques.",
            line.aid_type.label(),
            by_funder(scheme)
        ));
    }
    if let Some(r) = line.eu_rate() {
        sentences.push(format!(
            "Fonds européens : {} au plus de la dépense publique, appelés par le cofinancement national du plan (Règl. (UE) 2021/2115, art. 91).",
            french::percent(r),
        ));
    }
    let basis = funding.basis.unwrap_or(plan.cost_basis).label();
    let base = if line.eu_rate().is_some() {
        "de la dépense publique".to_owned()
    } else {
        format!("du coût {basis}")
    };
    let by_rate = match (funding.typical_rate, funding.rate_max) {
        (Some(t), max) if max.is_none_or(|m| t <= m) => Some(format!(
            "Taux usuel de {} {base} publié {}",
            french::percent(t),
            by_funder(scheme)
        )),
        (_, Some(m)) => Some(format!(
            "Taux maximal de {} {base} de « {} »",
            french::percent(m),
            scheme.title
        )),
        _ => None,
    };
    let limit = by_rate
        .as_ref()
        .and(suggested_rate(funding))
        .map(|r| plan.line_limit(line, r).0.safe);
    match (by_rate, funding.amount_max) {
        (Some(text), Some(max)) if line.amount == max && limit.is_none_or(|l| max <= l) => {
            sentences.push(format!(
                "Plafond de {} de « {} » ({}).",
                french::euros(max),
                scheme.title,
                text.to_lowercase_first()
            ))
        }
        (Some(text), _) if limit == Some(line.amount) => {
            sentences.push(format!("{text} : {amount}."))
        }
        (None, Some(max)) if line.amount == max => sentences.push(format!(
            "Plafond de {} de « {} ».",
            french::euros(max),
            scheme.title
        )),
        (Some(text), _) => sentences.push(format!(
            "{text} ; montant ramené à {amount} pour respecter les autres règles du plan (participation du maître d'ouvrage, plafonds d'aides publiques, de minimis, cofinancements)."
        )),
        (None, _) => sentences.push(format!(
            "Montant de {amount}, limité par les autres règles du plan."
        )),
    }
    let cofunded: Vec<String> = plan
        .lines
        .iter()
        .filter(|other| other.eu_rate().is_some() || other.requires_national_cofunding())
        .filter_map(|other| other.scheme.map(|s| format!("« {} »", s.title)))
        .collect();
    if line.is_national_public() && !cofunded.is_empty() {
        sentences.push(format!(
            "Cofinancement national de {}.",
            cofunded.join(", ")
        ));
    }
    if funding.typical_rate.is_none() && funding.rate_max.is_some() && line.is_aid() {
        // A legal or published maximum is not what is granted (DETR: the commission
        // départementale sets the bands each year, scheme-facts-2026-12 D1).
        sentences.push(
            "Ce dispositif ne publie pas de taux usuel : le taux accordé est souvent inférieur à ce maximum, demandez-le au financeur."
                .to_owned(),
        );
    }
    sentences.join(" ")
}

/// Lower-cases the first letter (to put a sentence inside another).
trait LowercaseFirst {
    fn to_lowercase_first(&self) -> String;
}

impl LowercaseFirst for String {
    fn to_lowercase_first(&self) -> String {
        let mut chars = self.chars();
        match chars.next() {
            Some(first) => first.to_lowercase().chain(chars).collect(),
            None => String::new(),
        }
    }
}

/// What the holder must confirm about the suggested plan.
fn plan_warnings(
    project: &ValidProject,
    plan: &Resolved<'_>,
    pool: &[Candidate<'_>],
) -> Vec<String> {
    let mut warnings = Vec::new();
    // EU funds left out: say why (facts C3).
    for c in pool.iter().filter(|c| c.eu()) {
        if plan
            .lines
            .iter()
            .any(|l| l.scheme.is_some_and(|s| s.slug == c.scheme.slug))
        {
            continue;
        }
        let share = match eu_rate(c.scheme) {
            Some(r) => format!(
                " : ses fonds ne couvrent que {} de la dépense publique (Règl. (UE) 2021/2115, art. 91) et",
                french::percent(r)
            ),
            None => " : il".to_owned(),
        };
        warnings.push(format!(
            "« {} » n'est pas retenu{share} exige un cofinancement public national (subvention de l'État, d'une collectivité, d'un organisme public ; un prêt n'en est pas) que ce plan ne peut pas apporter.",
            c.scheme.title
        ));
    }
    if let Some(exemption) = plan.rule.exemption() {
        warnings.push(exemption);
    }
    if plan.lines.is_empty() {
        warnings
            .push("Aucun dispositif retenu : le projet reste financé sur fonds propres.".into());
        return warnings;
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
    warnings.push(format!(
        "Montants estimés d'après les taux publiés (le taux usuel quand le financeur le donne, sinon le taux maximal) et les plafonds, appliqués au coût total {} : chaque financeur fixe le montant définitif sur la dépense qu'il retient.",
        project.cost_basis().label()
    ));
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
    for c in &chosen {
        let Some(basis) = c
            .scheme
            .funding
            .basis
            .filter(|b| *b != project.cost_basis())
        else {
            continue;
        };
        let estimate = if basis == CostBasis::Ht {
            "le montant proposé est calculé sur le coût TTC divisé par 1,2 (TVA au taux normal de 20 %), au plus bas"
        } else {
            "le montant proposé est calculé sur le coût HT, au plus bas"
        };
        let mut warning = format!(
            "« {} » calcule ses taux sur le coût {}, et le coût du projet est indiqué {} : Guichet ne peut pas convertir ; {estimate} ; revoyez-le avec le coût {} réel (arrêté du 21 août 2018).",
            c.scheme.title,
            basis.label(),
            project.cost_basis().label(),
            basis.label()
        );
        if project.holder_type() == BeneficiaryType::Association {
            warning.push_str(" Une association non assujettie à la TVA présente son budget TTC.");
        }
        warnings.push(warning);
    }
    for c in chosen.iter().filter(|c| !c.grant()) {
        let labels: Vec<&str> = c.scheme.aid_types.iter().map(|t| t.label()).collect();
        warnings.push(format!(
            "« {} » n'est pas une subvention ({}) : vérifiez ses conditions, notamment de remboursement. Il est présenté à part des aides.",
            c.scheme.title,
            french::list(&labels).to_lowercase()
        ));
    }
    for c in chosen.iter().filter(|c| c.scheme.aid_types.is_empty()) {
        warnings.push(format!(
            "« {} » ne précise pas la forme de son aide : vérifiez s'il s'agit d'une subvention ou d'un prêt.",
            c.scheme.title
        ));
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
    if let SelfFundingRule::Applies { nature_known } = plan.rule {
        let mut warning = "Maître d'ouvrage public d'une opération d'investissement, le porteur garde à sa charge au moins 20 % du total des financements publics (CGCT, art. L1111-10 III), fonds propres ou emprunts.".to_owned();
        if !nature_known {
            warning.push_str(" La règle ne vise que l'investissement : si votre opération relève du fonctionnement, indiquez-le, elle ne s'applique pas.");
        }
        warnings.push(warning);
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
            parent: None,
            jurisdiction: Vec::new(),
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

    /// LEADER as the GALs publish it: FEADER is 80 % of public expenditure (Reg. (EU)
    /// 2021/2115 art. 91; « 1 € de cofinancement public mobilise 4 € de FEADER »).
    fn leader_80() -> SchemeRecord {
        with_funding("leader-80", |s| {
            s.funders = vec![funder(FunderKind::Eu)];
            s.rules.requires_national_public_cofunding = Some(true);
            s.funding.rate_max = Some(80.0);
            s.funding.eu_cofunding_rate = Some(80.0);
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
            leader_80(),
            with_funding("pret-bdt", |s| {
                s.funders = vec![funder(FunderKind::PublicAgency)];
                s.aid_types = vec![AidType::Loan];
            }),
            with_funding("caf", |s| {
                s.funders = vec![funder(FunderKind::SocialSecurity)]
            }),
            with_funding("caf-publique", |s| {
                s.funders = vec![FunderRecord {
                    public_body: Some(true),
                    ..funder(FunderKind::SocialSecurity)
                }]
            }),
            with_funding("etat-et-fondation", |s| {
                s.funders = vec![funder(FunderKind::State), funder(FunderKind::Foundation)]
            }),
            with_funding("basis-ht", |s| {
                s.funding.rate_max = Some(50.0);
                s.funding.basis = Some(CostBasis::Ht);
            }),
            with_funding("basis-ttc", |s| {
                s.funding.rate_max = Some(50.0);
                s.funding.basis = Some(CostBasis::Ttc);
            }),
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
            aid_type: AidType::Grant,
        }
    }

    fn private(name: &str, amount: i64) -> PlanLine {
        PlanLine {
            scheme_slug: None,
            funder_name: Some(name.into()),
            amount,
            public: false,
            aid_type: AidType::Grant,
        }
    }

    fn plan(holder_type: BeneficiaryType, own_funds: i64, lines: Vec<PlanLine>) -> FinancingPlan {
        let total_cost = own_funds + lines.iter().map(|l| l.amount).sum::<i64>();
        FinancingPlan::new(holder_type, total_cost, own_funds, lines)
    }

    /// The codes and lines of a plan's violations.
    type Found = Vec<(ViolationCode, Option<usize>)>;

    fn violations(plan: &FinancingPlan) -> Found {
        check(plan, &catalogue(), territories())
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
            ("the same money declared public breaks it", plan(Commune, 18_000, vec![line("region", 72_000), PlanLine { public: true, ..private("Syndicat", 10_000) }]), vec![(V::SelfFundingBelowMinimum, None)]),
            ("a foundation's scheme is private whatever the line says", plan(Commune, 18_000, vec![line("region", 72_000), line("fondation", 10_000)]), vec![]),
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
            territories(),
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
            rate[0].contains("taux maximal de 80 % du coût total HT, soit 80 000 €"),
            "{rate:?}"
        );
    }

    fn check_messages(plan: &FinancingPlan) -> Vec<String> {
        check(plan, &catalogue(), territories())
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
            territories(),
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
            match check(&p, &catalogue(), territories()) {
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
        suggestion_for(
            Project {
                total_cost: cost,
                ..project(holder, SAINT_DIZIER)
            },
            schemes,
        )
    }

    /// The suggestion for `project`, checked: it must pass [`check`].
    fn suggestion_for(project: Project, schemes: &[SchemeRecord]) -> SuggestedPlan {
        let cost = project.total_cost;
        let p = valid(project);
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
            let checked = check(&suggested.to_plan(&p), &by_slug, territories()).unwrap();
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
        assert_eq!(amounts(&s), [("region", 20_000), ("leader", 80_000)]);
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

    fn check_of(plan: &FinancingPlan) -> PlanCheck {
        check(plan, &catalogue(), territories()).expect("a valid plan")
    }

    fn placed(
        holder: BeneficiaryType,
        nature: Option<Nature>,
        derogation: bool,
        commune: &str,
        own_funds: i64,
        lines: Vec<PlanLine>,
    ) -> FinancingPlan {
        FinancingPlan {
            nature,
            derogation,
            commune_code: Some(commune.into()),
            ..plan(holder, own_funds, lines)
        }
    }

    /// CGCT art. L1111-10 III (facts C1, C2): the 20 % minimum of a public owner concerns
    /// investment operations only, not the eight overseas territories the article names,
    /// and yields to the préfet's derogation. 10 % own funds and 90 % public aid each time.
    #[test]
    fn cgct_l1111_10_iii_binds_investment_outside_overseas_without_derogation() {
        use Nature::{Investment, Operating};
        /// (case, holder, nature, derogation, commune, the 20 % minimum applies)
        type Case = (
            &'static str,
            BeneficiaryType,
            Option<Nature>,
            bool,
            &'static str,
            bool,
        );
        #[rustfmt::skip]
        const CASES: &[Case] = &[
            ("L1111-10 III: investment by a commune", Commune, Some(Investment), false, SAINT_DIZIER, true),
            ("L1111-10 III: nature unknown, applied (investment assumed)", Commune, None, false, SAINT_DIZIER, true),
            ("L1111-10 III: operating request, never", Commune, Some(Operating), false, SAINT_DIZIER, false),
            ("L1111-10 III: operating request of an EPCI", BeneficiaryType::Epci, Some(Operating), false, BREHAT, false),
            ("L1111-10 III: préfet's derogation", Commune, Some(Investment), true, SAINT_DIZIER, false),
            ("L1111-10 III: Guadeloupe", Commune, Some(Investment), false, "97105", false),
            ("L1111-10 III: Martinique", Commune, Some(Investment), false, "97209", false),
            ("L1111-10 III: Guyane", Commune, Some(Investment), false, "97302", false),
            ("L1111-10 III: La Réunion", Commune, None, false, "97411", false),
            ("L1111-10 III: Saint-Pierre-et-Miquelon", Commune, Some(Investment), false, "97502", false),
            ("L1111-10 III: Mayotte", Commune, Some(Investment), false, "97611", false),
            ("L1111-10 III: Saint-Barthélemy", Commune, Some(Investment), false, "97701", false),
            ("L1111-10 III: Saint-Martin", Commune, Some(Investment), false, "97801", false),
            ("L1111-10 III: Corsica is not overseas", Commune, Some(Investment), false, "2A004", true),
            ("L1111-10 III: an association is not a public owner", Association, Some(Investment), false, SAINT_DIZIER, false),
        ];
        for &(case, holder, nature, derogation, commune, applies) in CASES {
            let p = placed(
                holder,
                nature,
                derogation,
                commune,
                10_000,
                vec![line("region", 90_000)],
            );
            let checked = check_of(&p);
            let found: Found = checked
                .violations
                .iter()
                .map(|v| (v.code, v.line))
                .collect();
            let expected: Found = if applies {
                vec![(V::SelfFundingBelowMinimum, None)]
            } else {
                vec![]
            };
            assert_eq!(found, expected, "{case}");
            let explained = checked
                .warnings
                .iter()
                .any(|w| w.contains("n'est pas exigée"));
            assert_eq!(
                explained,
                !applies && holder != Association,
                "{case}: {:?}",
                checked.warnings
            );
        }
        let unknown = check_of(&placed(
            Commune,
            None,
            false,
            SAINT_DIZIER,
            10_000,
            vec![line("region", 90_000)],
        ));
        assert!(
            unknown.violations[0]
                .message
                .contains("ne vise que l'investissement"),
            "{:?}",
            unknown.violations
        );
        let overseas = check_of(&placed(
            Commune,
            None,
            false,
            "97411",
            10_000,
            vec![line("region", 90_000)],
        ));
        assert!(
            overseas.warnings[0].contains("à La Réunion"),
            "{:?}",
            overseas.warnings
        );
    }

    #[test]
    fn the_place_of_the_plan_must_be_a_known_commune() {
        let p = placed(
            Commune,
            None,
            false,
            "99999",
            20_000,
            vec![line("detr", 80_000)],
        );
        match check(&p, &catalogue(), territories()) {
            Err(Error::Validation { field, message }) => {
                assert_eq!(field, "communeCode");
                assert!(message.contains("99999"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        let mut p = plan(Commune, 20_000, vec![line("detr", 80_000)]);
        p.lines[0].aid_type = AidType::TechnicalEngineering;
        match check(&p, &catalogue(), territories()) {
            Err(Error::Validation { field, .. }) => assert_eq!(field, "lines[0].aidType"),
            other => panic!("{other:?}"),
        }
    }

    fn loan(slug: &str, amount: i64, aid_type: AidType) -> PlanLine {
        PlanLine {
            aid_type,
            ..line(slug, amount)
        }
    }

    /// Facts C4: a loan (Banque des Territoires, Carsat…) is the owner's financing, not a
    /// subsidy: outside the public-aid base of CGCT L1111-10 III and of `maxPublicAidRate`,
    /// never national co-funding of LEADER. Recoverable advances and guarantees alike.
    #[test]
    fn loans_are_the_owners_financing_not_aid() {
        use AidType::{Guarantee, Loan, RecoverableAdvance};
        #[rustfmt::skip]
        let cases: Vec<(&str, FinancingPlan, Found)> = vec![
            ("C4, L1111-10 III: a commune's loan is its participation", plan(Commune, 0, vec![line("region", 80_000), loan("pret-bdt", 20_000, Loan)]), vec![]),
            ("C4, L1111-10 III: the same money as a public grant breaks the 20 %", plan(Commune, 0, vec![line("region", 80_000), line("detr", 20_000)]), vec![(V::SelfFundingBelowMinimum, None)]),
            ("C4: a recoverable advance is repaid, not aid", plan(Commune, 0, vec![line("region", 80_000), loan("region-avance", 20_000, RecoverableAdvance)]), vec![]),
            ("C4: a guaranteed loan outside the catalogue", plan(Commune, 0, vec![line("region", 80_000), PlanLine { aid_type: Guarantee, ..private("Prêt garanti", 20_000) }]), vec![]),
            ("C4: a loan is outside maxPublicAidRate", plan(Association, 20_000, vec![line("pass-commerce", 30_000), loan("pret-bdt", 50_000, Loan)]), vec![]),
            ("C4: the same amount as a grant is above the cap", plan(Association, 20_000, vec![line("pass-commerce", 30_000), line("region", 50_000)]), vec![(V::PublicAidCap, Some(0))]),
            ("C4, C3: a public loan is not LEADER co-funding", plan(Association, 60_000, vec![line("leader-80", 20_000), loan("pret-bdt", 20_000, Loan)]), vec![(V::RateAboveMax, Some(0)), (V::MissingNationalCofunding, Some(0))]),
            ("C4, C3: nor without a stated EU share", plan(Association, 60_000, vec![line("leader", 20_000), loan("pret-bdt", 20_000, Loan)]), vec![(V::MissingNationalCofunding, Some(0))]),
        ];
        let mut catalogue = catalogue();
        catalogue.insert(
            "region-avance".into(),
            with_funding("region-avance", |s| {
                s.slug = "region-avance".into();
                s.funders = vec![funder(FunderKind::Region)];
                s.aid_types = vec![AidType::RecoverableAdvance];
            }),
        );
        for (case, plan, expected) in cases {
            let found: Found = check(&plan, &catalogue, territories())
                .expect("a valid plan")
                .violations
                .iter()
                .map(|v| (v.code, v.line))
                .collect();
            assert_eq!(found, expected, "{case}");
        }
        let shares = check_of(&plan(
            Commune,
            0,
            vec![line("region", 80_000), loan("pret-bdt", 20_000, Loan)],
        ));
        assert!(
            (shares.public_share - 0.8).abs() < 1e-9,
            "loans are not public aid"
        );
    }

    /// Who is public is the funders' property (`FunderRecord::is_public`), not the line's:
    /// CAF/MSA/Carsat are private-law bodies (CSS art. L216-1) unless staff say otherwise.
    #[test]
    fn a_line_is_public_when_every_funder_of_its_scheme_is() {
        #[rustfmt::skip]
        let cases: Vec<(&str, FinancingPlan, Found)> = vec![
            ("CSS L216-1: a CAF grant is outside the L1111-10 base", plan(Commune, 18_000, vec![line("region", 72_000), line("caf", 10_000)]), vec![]),
            ("publicBody set on the CAF: inside the base", plan(Commune, 18_000, vec![line("region", 72_000), line("caf-publique", 10_000)]), vec![(V::SelfFundingBelowMinimum, None)]),
            ("a scheme with a private co-funder is not public", plan(Commune, 18_000, vec![line("region", 72_000), line("etat-et-fondation", 10_000)]), vec![]),
            ("a line outside the catalogue says it itself", plan(Commune, 18_000, vec![line("region", 72_000), private("Mécène", 10_000)]), vec![]),
        ];
        for (case, plan, expected) in cases {
            assert_eq!(violations(&plan), expected, "{case}");
        }
    }

    /// Reg. (EU) 2021/2115 art. 91 and the GAL pages (facts C3): FEADER is a share r of
    /// public expenditure, so national public money must reach (100 − r)/r × the FEADER
    /// line, and LEADER's rate applies to public expenditure.
    #[test]
    fn leader_cofunding_is_proportional_to_the_eu_share() {
        #[rustfmt::skip]
        let cases: Vec<(&str, FinancingPlan, Found)> = vec![
            ("art. 91: 20 000 € of national money for 80 000 € of FEADER", plan(Association, 0, vec![line("leader-80", 80_000), line("region", 20_000)]), vec![]),
            ("art. 91: 1 € of co-funding under 80 000 € of FEADER", plan(Association, 19_999, vec![line("leader-80", 80_000), line("region", 1)]), vec![(V::RateAboveMax, Some(0)), (V::MissingNationalCofunding, Some(0))]),
            ("C3: a commune's own funds are « autofinancement public »", plan(Commune, 20_000, vec![line("leader-80", 80_000)]), vec![]),
            ("C3: an association's own funds are not", plan(Association, 20_000, vec![line("leader-80", 80_000)]), vec![(V::RateAboveMax, Some(0)), (V::MissingNationalCofunding, Some(0))]),
            ("C3: a foundation is not national public money", plan(Association, 0, vec![line("leader-80", 80_000), line("fondation", 20_000)]), vec![(V::RateAboveMax, Some(0)), (V::MissingNationalCofunding, Some(0))]),
            ("art. 91: the rate applies to public expenditure, not the whole cost", plan(Association, 900_000, vec![line("leader-80", 80_000), line("region", 20_000)]), vec![]),
            ("art. 91: 60 000 € of FEADER on 70 000 € of public expenditure", plan(Association, 30_000, vec![line("leader-80", 60_000), line("region", 10_000)]), vec![(V::RateAboveMax, Some(0)), (V::MissingNationalCofunding, Some(0))]),
        ];
        for (case, plan, expected) in cases {
            assert_eq!(violations(&plan), expected, "{case}");
        }
        let messages = check_messages(&plan(
            Association,
            19_999,
            vec![line("leader-80", 80_000), line("region", 1)],
        ));
        let cofunding = messages
            .iter()
            .find(|m| m.contains("cofinancement public national"))
            .unwrap();
        assert!(cofunding.contains("au moins 20 000 €"), "{cofunding}");
        assert!(cofunding.contains("il manque 19 999 €"), "{cofunding}");
        assert!(cofunding.contains("2021/2115, art. 91"), "{cofunding}");
        let rate = messages
            .iter()
            .find(|m| m.contains("taux maximal"))
            .unwrap();
        assert!(rate.contains("de la dépense publique (80 001 €)"), "{rate}");
    }

    /// Arrêté du 21 août 2018 (facts C9): a budget says HT or TTC; a scheme's rate applies
    /// to its own basis. VAT is at most 20 % (CGI art. 278): when the bases differ, Guichet
    /// flags only what is above the rate whatever the VAT, and warns.
    #[test]
    fn rates_apply_on_the_schemes_cost_basis() {
        let on = |basis, holder, amount| FinancingPlan {
            cost_basis: basis,
            ..plan(
                holder,
                100_000 - amount,
                vec![line(
                    if basis == CostBasis::Ttc {
                        "basis-ht"
                    } else {
                        "basis-ttc"
                    },
                    amount,
                )],
            )
        };
        #[rustfmt::skip]
        const CASES: &[(&str, CostBasis, i64, bool)] = &[
            // (case, plan's basis, amount asked on 100 000 €, RATE_ABOVE_MAX)
            ("C9: TTC plan, HT scheme, 50 % of the TTC cost may be within", CostBasis::Ttc, 50_000, false),
            ("C9: TTC plan, HT scheme, above 50 % of TTC is above 50 % of HT", CostBasis::Ttc, 50_001, true),
            ("C9: HT plan, TTC scheme, up to 50 % of 1,2 × HT may be within", CostBasis::Ht, 60_000, false),
            ("C9: HT plan, TTC scheme, above it is certain", CostBasis::Ht, 60_001, true),
        ];
        for &(case, basis, amount, above) in CASES {
            let checked = check_of(&on(basis, Association, amount));
            let codes: Vec<ViolationCode> = checked.violations.iter().map(|v| v.code).collect();
            assert_eq!(
                codes,
                if above { vec![V::RateAboveMax] } else { vec![] },
                "{case}"
            );
            assert_eq!(checked.warnings.len(), 1, "{case}: {:?}", checked.warnings);
            assert!(
                checked.warnings[0].contains("arrêté du 21 août 2018"),
                "{case}"
            );
            assert!(
                checked.warnings[0]
                    .contains("association non assujettie à la TVA présente son budget TTC"),
                "{case}"
            );
        }
        let same = check_of(&FinancingPlan {
            cost_basis: CostBasis::Ht,
            ..plan(Commune, 50_000, vec![line("basis-ht", 50_000)])
        });
        assert!(
            same.violations.is_empty() && same.warnings.is_empty(),
            "{same:?}"
        );
        let commune = check_of(&on(CostBasis::Ttc, Commune, 10_000));
        assert!(
            !commune.warnings[0].contains("association"),
            "{:?}",
            commune.warnings
        );
    }

    fn region(rate: f64) -> SchemeRecord {
        with_funding("region", |s| {
            s.funders = vec![FunderRecord {
                name_in_sentence: Some("la Région Grand Est".into()),
                ..funder(FunderKind::Region)
            }];
            s.funding.rate_max = Some(rate);
        })
    }

    fn reasons(plan: &SuggestedPlan) -> Vec<String> {
        plan.lines
            .iter()
            .map(|l| l.reason.replace(['\u{202f}', '\u{a0}'], " "))
            .collect()
    }

    /// Issue 13: « no line above a rate the scheme's own department practises when the
    /// scheme states it »: the usual rate comes before the maximal one, and says so.
    #[test]
    fn a_suggestion_uses_the_usual_rate_and_says_why() {
        let mut detr = grant("detr", 80.0);
        detr.funders = vec![FunderRecord {
            name_in_sentence: Some("l'État".into()),
            ..funder(FunderKind::State)
        }];
        detr.funding.typical_rate = Some(30.0);
        let s = suggestion(Commune, Some(100_000), &[detr, region(20.0)]);
        assert_eq!(amounts(&s), [("detr", 30_000), ("region", 20_000)]);
        let why = reasons(&s);
        assert_eq!(
            why[0],
            "Taux usuel de 30 % du coût HT publié par l'État : 30 000 €."
        );
        assert!(
            why[1].starts_with("Taux maximal de 20 % du coût HT de « Dispositif region »"),
            "{why:?}"
        );
        // Facts D1: a maximum is not what is granted; only the line without a usual rate
        // says so.
        assert!(why[1].ends_with("demandez-le au financeur."), "{why:?}");
        assert!(!why[0].contains("taux usuel :"), "{why:?}");
        assert!(s.lines.iter().all(|l| l.aid_type == AidType::Grant));
    }

    /// Reg. (EU) 2021/2115 art. 91 (facts C3): LEADER comes with its proportional national
    /// co-funding, sized from the national lines, or is dropped with a sentence.
    #[test]
    fn leader_is_sized_on_its_national_cofunding_or_dropped() {
        let s = suggestion(Association, Some(100_000), &[leader_80(), region(10.0)]);
        assert_eq!(amounts(&s), [("region", 10_000), ("leader-80", 40_000)]);
        assert_eq!((s.own_funds, s.total_aid), (50_000, 50_000));
        let why = reasons(&s);
        assert!(
            why[0].contains("Cofinancement national de « Dispositif leader-80 »"),
            "{why:?}"
        );
        assert!(
            why[1].contains("80 % au plus de la dépense publique"),
            "{why:?}"
        );
        let s = suggestion(Association, Some(100_000), &[leader_80()]);
        assert!(s.lines.is_empty());
        let all = s.warnings.join("\n").replace('\u{a0}', " ");
        assert!(all.contains("« Dispositif leader-80 » n'est pas retenu : ses fonds ne couvrent que 80 % de la dépense publique"), "{all}");
        // A commune's own funds are its national counterpart: 80 000 € of FEADER need 20 000 €.
        let s = suggestion(Commune, Some(100_000), &[leader_80()]);
        assert_eq!(amounts(&s), [("leader-80", 80_000)]);
        assert_eq!(s.own_funds, 20_000);
    }

    /// Facts C4: loans are shown apart from aid, with their type and why.
    #[test]
    fn loans_are_shown_apart_from_aid() {
        let bdt = with_funding("pret-bdt", |s| {
            s.funders = vec![funder(FunderKind::PublicAgency)];
            s.aid_types = vec![AidType::Loan];
            s.funding.amount_max = Some(40_000);
        });
        let s = suggestion(Commune, Some(100_000), &[region(50.0), bdt]);
        assert_eq!(amounts(&s), [("region", 50_000), ("pret-bdt", 40_000)]);
        assert_eq!(
            (s.own_funds, s.total_aid, s.total_loans),
            (10_000, 50_000, 40_000)
        );
        assert_eq!(s.lines[1].aid_type, AidType::Loan);
        assert!(reasons(&s)[1].starts_with("Prêt par Financeur Agence ou opérateur public : financement du porteur, à rembourser"), "{:?}", reasons(&s));
    }

    /// CGCT art. L1111-10 III: an operating request, or one overseas, is not held to 20 %.
    #[test]
    fn an_exempt_commune_may_receive_more_than_eighty_percent() {
        use crate::vocab::Nature::{Investment, Operating};
        const CASES: &[(&str, Option<Nature>, &str, i64)] = &[
            (
                "L1111-10 III: investment",
                Some(Investment),
                SAINT_DIZIER,
                80_000,
            ),
            (
                "L1111-10 III: operating",
                Some(Operating),
                SAINT_DIZIER,
                90_000,
            ),
            ("L1111-10 III: Mayotte", Some(Investment), "97611", 90_000),
        ];
        for &(case, nature, commune, aid) in CASES {
            let s = suggestion_for(
                Project {
                    nature,
                    ..project(Commune, commune)
                },
                &[region(90.0)],
            );
            assert_eq!(s.total_aid, aid, "{case}");
            let exempt = s.warnings.iter().any(|w| w.contains("n'est pas exigée"));
            assert_eq!(exempt, aid == 90_000, "{case}: {:?}", s.warnings);
        }
    }

    /// Arrêté du 21 août 2018 (facts C9): estimates on the scheme's basis; a TTC cost for
    /// an HT scheme is bounded with the 20 % VAT rate (CGI art. 278), and said.
    #[test]
    fn a_suggestion_on_another_cost_basis_is_bounded_and_flagged() {
        let mut ht = grant("region", 50.0);
        ht.funding.basis = Some(CostBasis::Ht);
        let s = suggestion_for(
            Project {
                cost_basis: CostBasis::Ttc,
                total_cost: Some(120_000),
                ..project(Association, SAINT_DIZIER)
            },
            &[ht],
        );
        assert_eq!(amounts(&s), [("region", 50_000)]);
        let all = s.warnings.join("\n");
        assert!(
            all.contains("calcule ses taux sur le coût HT, et le coût du projet est indiqué TTC"),
            "{all}"
        );
        assert!(
            all.contains("association non assujettie à la TVA présente son budget TTC"),
            "{all}"
        );
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

    const COMMUNES: [&str; 8] = [
        SAINT_DIZIER,
        "52121",
        BREHAT,
        "46001",
        "2A004",
        "97411",
        "97611",
        "97701",
    ];
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
            cost_basis: r.pick(CostBasis::ALL),
        }
    }

    fn random_scheme(r: &mut Random, slug: String, holder: BeneficiaryType) -> SchemeRecord {
        let mut s = scheme(&slug);
        s.funders = (0..=r.below(2))
            .map(|_| FunderRecord {
                public_body: [None, None, Some(true), Some(false)][r.below(4) as usize],
                ..funder(r.pick(FunderKind::ALL))
            })
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
        s.funding.typical_rate = r.chance(25).then(|| r.rate());
        s.funding.basis = [None, Some(CostBasis::Ht), Some(CostBasis::Ttc)][r.below(3) as usize];
        if s.rules.requires_national_public_cofunding == Some(true) && r.chance(70) {
            s.funding.eu_cofunding_rate = Some(r.pick(&[45.0, 60.0, 80.0, 100.0, 12.5]));
        }
        s.funding.regime = r.chance(40).then(|| r.pick(StateAidRegime::ALL));
        if r.chance(10) {
            s.calendar.closes_on = Some(day("2026-03-01"));
        }
        s
    }

    #[test]
    fn suggested_plans_always_pass_the_checker() {
        let mut r = Random(0x5eed_1234_abcd_0001);
        let (mut with_lines, mut with_loans, mut with_eu_share, mut exempt_below_twenty) =
            (0, 0, 0, 0);
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
            assert_eq!(
                suggested.own_funds + suggested.total_aid + suggested.total_loans,
                cost,
                "{context}"
            );
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
            let checked =
                check(&suggested.to_plan(&project), &by_slug, territories()).expect("a valid plan");
            assert!(checked.balanced, "{context}");
            assert!(
                checked.violations.is_empty(),
                "{:#?}\n{context}",
                checked.violations
            );
            with_lines += usize::from(!suggested.lines.is_empty());
            with_loans += usize::from(suggested.total_loans > 0);
            with_eu_share += usize::from(suggested.lines.iter().any(|l| {
                by_slug[&l.scheme_slug].funding.eu_cofunding_rate.is_some()
                    && by_slug[&l.scheme_slug]
                        .rules
                        .requires_national_public_cofunding
                        == Some(true)
            }));
            let exempt = matches!(project.commune().code.as_str(), "97411" | "97611" | "97701")
                || project.nature() == Some(Nature::Operating);
            if is_local_authority(holder) && exempt && 4 * suggested.own_funds < suggested.total_aid
            {
                exempt_below_twenty += 1;
            }
        }
        assert!(
            with_lines > rounds / 4,
            "only {with_lines} plans with a line"
        );
        // The generator reaches the new rules: loans, EU shares, exempt local authorities.
        assert!(with_loans > 20, "only {with_loans} plans with a loan");
        assert!(
            with_eu_share > 20,
            "only {with_eu_share} plans with an EU share"
        );
        assert!(
            exempt_below_twenty > 20,
            "only {exempt_below_twenty} exempt plans below 20 %"
        );
    }
}
