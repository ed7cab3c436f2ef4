//! Eligibility matching: a project described once by its holder is checked against each
//! scheme's published conditions, criterion by criterion (DESIGN §6), with a French sentence
//! for each, a verdict, an estimate of the aid and a ranking score. Pure functions: the
//! caller loads the schemes and the territories.

use chrono::NaiveDate;

use crate::calendar;
use crate::error::{Error, Result};
use crate::scheme::{Condition, Funding, Perimeter, SchemeRecord};
use crate::territory::{Territories, Territory, TerritoryKind};
use crate::vocab::{
    AidType, BeneficiaryType, CostBasis, FunderKind, Nature, Recurrence, theme_label,
};
use crate::zoning::{Zoning, Zonings};

/// The largest amount accepted anywhere (10 billion euros): anything above is a typing error.
pub const MAX_AMOUNT: i64 = 10_000_000_000;
/// The longest free description accepted, in characters.
const MAX_TEXT_CHARS: usize = 10_000;

/// A project as its holder describes it (`ProjectInput`).
#[derive(Clone, Debug, PartialEq)]
pub struct Project {
    pub holder_type: BeneficiaryType,
    /// INSEE code of the commune where the project happens.
    pub commune_code: String,
    pub themes: Vec<String>,
    pub text: Option<String>,
    /// Euros excluding VAT.
    pub total_cost: Option<i64>,
    /// First legal act (signed quote, order, start of works).
    pub starts_on: Option<NaiveDate>,
    /// Filing date; today when absent.
    pub filing_on: Option<NaiveDate>,
    pub aid_types: Vec<AidType>,
    pub economic_activity: Option<bool>,
    /// Investment or operating costs; unknown when `None`.
    pub nature: Option<Nature>,
    /// Whether `total_cost` excludes or includes VAT.
    pub cost_basis: CostBasis,
}

/// A project that passed [`validate`]: its commune is resolved, its filing date set, its
/// amounts, dates and themes are valid.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidProject {
    holder_type: BeneficiaryType,
    commune: Territory,
    /// The commune's EPCI, département and région, as far as they are known.
    parents: Vec<Territory>,
    themes: Vec<String>,
    text: Option<String>,
    total_cost: Option<i64>,
    starts_on: Option<NaiveDate>,
    filing_on: NaiveDate,
    aid_types: Vec<AidType>,
    economic_activity: Option<bool>,
    nature: Option<Nature>,
    cost_basis: CostBasis,
}

impl ValidProject {
    pub fn holder_type(&self) -> BeneficiaryType {
        self.holder_type
    }

    pub fn commune(&self) -> &Territory {
        &self.commune
    }

    /// The commune's EPCI, if it belongs to one.
    pub fn epci(&self) -> Option<&Territory> {
        self.parents.iter().find(|t| t.kind == TerritoryKind::Epci)
    }

    pub fn themes(&self) -> &[String] {
        &self.themes
    }

    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    pub fn total_cost(&self) -> Option<i64> {
        self.total_cost
    }

    pub fn starts_on(&self) -> Option<NaiveDate> {
        self.starts_on
    }

    pub fn filing_on(&self) -> NaiveDate {
        self.filing_on
    }

    pub fn aid_types(&self) -> &[AidType] {
        &self.aid_types
    }

    pub fn economic_activity(&self) -> Option<bool> {
        self.economic_activity
    }

    pub fn nature(&self) -> Option<Nature> {
        self.nature
    }

    pub fn cost_basis(&self) -> CostBasis {
        self.cost_basis
    }

    /// The commune, then its EPCI, département and région.
    fn places(&self) -> impl Iterator<Item = &Territory> {
        std::iter::once(&self.commune).chain(&self.parents)
    }
}

/// Checks a project and resolves its commune; `filing_on` defaults to `today`. Errors name
/// the field as `ProjectInput` does.
pub fn validate(
    project: Project,
    territories: &Territories,
    today: NaiveDate,
) -> Result<ValidProject> {
    let commune = resolve_commune(&project.commune_code, territories)?;
    let parents = territories.parents_of(commune).cloned().collect();
    let total_cost = project
        .total_cost
        .map(|cost| positive_amount("totalCost", cost))
        .transpose()?;
    let starts_on = project
        .starts_on
        .map(|d| calendar::sane("startsOn", d))
        .transpose()?;
    let filing_on = calendar::sane("filingOn", project.filing_on.unwrap_or(today))?;
    let text = project
        .text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(Error::validation(
            "text",
            format!(
                "La description ne doit pas dépasser {} caractères.",
                french::number(MAX_TEXT_CHARS as i64)
            ),
        ));
    }
    let mut aid_types = project.aid_types;
    dedup(&mut aid_types);
    Ok(ValidProject {
        holder_type: project.holder_type,
        commune: commune.clone(),
        parents,
        themes: valid_themes(project.themes)?,
        text,
        total_cost,
        starts_on,
        filing_on,
        aid_types,
        economic_activity: project.economic_activity,
        nature: project.nature,
        cost_basis: project.cost_basis,
    })
}

fn resolve_commune<'a>(code: &str, territories: &'a Territories) -> Result<&'a Territory> {
    let code = code.trim();
    if code.is_empty() {
        return Err(Error::validation(
            "communeCode",
            "Indiquez le code INSEE de la commune du projet.",
        ));
    }
    territories
        .get_kind(code, TerritoryKind::Commune)
        .ok_or_else(|| {
            Error::validation(
                "communeCode",
                format!("Commune inconnue : « {code} ». Indiquez son code INSEE (ex. 52448)."),
            )
        })
}

fn valid_themes(themes: Vec<String>) -> Result<Vec<String>> {
    let mut valid = Vec::with_capacity(themes.len());
    for theme in themes {
        let theme = theme.trim().to_owned();
        if theme_label(&theme).is_none() {
            return Err(Error::validation(
                "themes",
                format!("Thème inconnu : « {theme} »."),
            ));
        }
        valid.push(theme);
    }
    dedup(&mut valid);
    Ok(valid)
}

fn dedup<T: PartialEq>(list: &mut Vec<T>) {
    let mut i = 0;
    while i < list.len() {
        if list[..i].contains(&list[i]) {
            list.remove(i);
        } else {
            i += 1;
        }
    }
}

/// `value` as an amount in whole euros: not negative, at most [`MAX_AMOUNT`].
pub(crate) fn amount(field: &str, value: i64) -> Result<i64> {
    if value < 0 {
        Err(Error::validation(
            field,
            "Le montant ne peut pas être négatif.",
        ))
    } else if value > MAX_AMOUNT {
        Err(Error::validation(
            field,
            format!(
                "Le montant dépasse {} : vérifiez la saisie.",
                french::euros(MAX_AMOUNT)
            ),
        ))
    } else {
        Ok(value)
    }
}

/// `value` as a total cost: an [`amount`] above zero.
pub(crate) fn positive_amount(field: &str, value: i64) -> Result<i64> {
    if value == 0 {
        return Err(Error::validation(
            field,
            "Le coût total doit être supérieur à zéro.",
        ));
    }
    amount(field, value)
}

/// The `rate` percent of `cost`, rounded down: the largest whole amount within that rate.
pub(crate) fn share_of(cost: i64, rate: f64) -> i64 {
    // The small epsilon keeps exact products (80 % of 12 345) from rounding one euro down.
    ((cost as f64) * rate / 100.0 + 1e-6).floor() as i64
}

/// What is checked, in the order criteria are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CriterionCode {
    BeneficiaryType,
    Territory,
    Population,
    /// A condition of `rules.conditions` that applies to the project: always to check.
    Condition,
    Nature,
    ProjectCost,
    Calendar,
    StartBeforeFiling,
    /// Informs on relevance; never fails (themes do not decide eligibility).
    Theme,
    AidType,
}

impl CriterionCode {
    pub const ALL: &'static [CriterionCode] = &[
        CriterionCode::BeneficiaryType,
        CriterionCode::Territory,
        CriterionCode::Population,
        CriterionCode::Condition,
        CriterionCode::Nature,
        CriterionCode::ProjectCost,
        CriterionCode::Calendar,
        CriterionCode::StartBeforeFiling,
        CriterionCode::Theme,
        CriterionCode::AidType,
    ];

    /// The code as written in GraphQL.
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionCode::BeneficiaryType => "BENEFICIARY_TYPE",
            CriterionCode::Territory => "TERRITORY",
            CriterionCode::Population => "POPULATION",
            CriterionCode::Condition => "CONDITION",
            CriterionCode::Nature => "NATURE",
            CriterionCode::ProjectCost => "PROJECT_COST",
            CriterionCode::Calendar => "CALENDAR",
            CriterionCode::StartBeforeFiling => "START_BEFORE_FILING",
            CriterionCode::Theme => "THEME",
            CriterionCode::AidType => "AID_TYPE",
        }
    }
}

/// The outcome of one criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CriterionStatus {
    Pass,
    Unknown,
    Fail,
}

impl CriterionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionStatus::Pass => "PASS",
            CriterionStatus::Unknown => "UNKNOWN",
            CriterionStatus::Fail => "FAIL",
        }
    }
}

/// One checked condition, with a French sentence naming the values compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Criterion {
    pub code: CriterionCode,
    pub status: CriterionStatus,
    pub message: String,
}

impl Criterion {
    fn pass(code: CriterionCode, message: impl Into<String>) -> Self {
        Criterion {
            code,
            status: CriterionStatus::Pass,
            message: message.into(),
        }
    }

    fn fail(code: CriterionCode, message: impl Into<String>) -> Self {
        Criterion {
            code,
            status: CriterionStatus::Fail,
            message: message.into(),
        }
    }

    fn unknown(code: CriterionCode, message: impl Into<String>) -> Self {
        Criterion {
            code,
            status: CriterionStatus::Unknown,
            message: message.into(),
        }
    }
}

/// The verdict on a scheme for a project; variants in the order matches are listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Verdict {
    Eligible,
    /// Nothing fails, something is unknown.
    ToCheck,
    Ineligible,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Eligible => "ELIGIBLE",
            Verdict::ToCheck => "TO_CHECK",
            Verdict::Ineligible => "INELIGIBLE",
        }
    }

    /// Ineligible when a criterion fails, to check when one is unknown, else eligible.
    pub fn of(criteria: &[Criterion]) -> Self {
        match criteria.iter().map(|c| c.status).max() {
            Some(CriterionStatus::Fail) => Verdict::Ineligible,
            Some(CriterionStatus::Unknown) => Verdict::ToCheck,
            _ => Verdict::Eligible,
        }
    }
}

/// A range of euros; a bound is `None` when it cannot be known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmountRange {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// A scheme evaluated for a project.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub criteria: Vec<Criterion>,
    /// `None` when neither bound can be known.
    pub estimated_amount: Option<AmountRange>,
}

/// Evaluates `scheme` for `project` on every criterion code (`CONDITION` once per condition
/// of the scheme that applies, none when none does). `territories` names the places of a
/// perimeter the project is outside of; `zonings` are the lists of communes a perimeter may
/// name.
pub fn evaluate(
    project: &ValidProject,
    scheme: &SchemeRecord,
    territories: &Territories,
    zonings: &Zonings,
) -> Evaluation {
    let mut criteria = vec![
        beneficiary_type(project, scheme),
        territory(project, scheme, territories, zonings),
        population(project, scheme),
    ];
    criteria.extend(conditions(project, scheme));
    criteria.extend([
        nature(project, scheme),
        project_cost(project, scheme),
        calendar(project, scheme),
        start_before_filing(project, scheme),
        theme(project, scheme),
        aid_type(project, scheme),
    ]);
    Evaluation {
        verdict: Verdict::of(&criteria),
        criteria,
        estimated_amount: estimate(&scheme.funding, project.total_cost),
    }
}

fn beneficiary_type(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::BeneficiaryType;
    let holder = project.holder_type.label();
    if scheme.beneficiary_types.is_empty() {
        Criterion::unknown(
            code,
            "Ce dispositif ne précise pas les bénéficiaires admis : renseignez-vous auprès du financeur.",
        )
    } else if scheme.beneficiary_types.contains(&project.holder_type) {
        Criterion::pass(
            code,
            format!("Ce dispositif est ouvert aux porteurs de type « {holder} »."),
        )
    } else {
        let admitted: Vec<&str> = scheme.beneficiary_types.iter().map(|b| b.label()).collect();
        Criterion::fail(
            code,
            format!(
                "Le porteur est de type « {holder} » ; ce dispositif est réservé aux porteurs suivants : {}.",
                french::list(&admitted)
            ),
        )
    }
}

/// How a perimeter reaches the project's commune.
enum Reach<'a> {
    National,
    /// The narrowest listed territory that contains the commune (possibly the commune).
    Listed(&'a Territory),
    /// A loaded zoning the perimeter names lists the commune.
    Zoned(&'a Zoning),
    /// No list contains the commune, and these zonings the perimeter names (by name when
    /// Guichet has them, else by slug) have no communes loaded: nothing can be decided.
    Unloaded(Vec<String>),
    Outside,
}

/// The codes a perimeter lists for territories of `kind`.
fn listed(perimeter: &Perimeter, kind: TerritoryKind) -> &[String] {
    match kind {
        TerritoryKind::Region => &perimeter.regions,
        TerritoryKind::Department => &perimeter.departments,
        TerritoryKind::Epci => &perimeter.epcis,
        TerritoryKind::Commune => &perimeter.communes,
    }
}

const NARROWEST_FIRST: [TerritoryKind; 4] = [
    TerritoryKind::Commune,
    TerritoryKind::Epci,
    TerritoryKind::Department,
    TerritoryKind::Region,
];

/// Whether the scheme's perimeter contains the project's commune, and how: the commune is
/// inside when any list (a territory or a loaded zoning) contains it. An absent perimeter,
/// or one listing nothing, is national (as `SchemeRecord::normalize` makes it); a perimeter
/// saying `national: true` is national whatever else it lists. Outside every list, a named
/// zoning that Guichet lacks or holds without communes leaves the question open: it is
/// never read as « toute la France » nor as « outside ».
fn reach<'a>(project: &'a ValidProject, scheme: &SchemeRecord, zonings: &'a Zonings) -> Reach<'a> {
    let Some(perimeter) = &scheme.perimeter else {
        return Reach::National;
    };
    let within = NARROWEST_FIRST.iter().find_map(|&kind| {
        let codes = listed(perimeter, kind);
        project
            .places()
            .filter(|t| t.kind == kind)
            .find(|t| codes.iter().any(|c| c.trim().eq_ignore_ascii_case(&t.code)))
    });
    // A zoning is a list of communes: narrower than an EPCI, after the commune itself.
    let zoned = perimeter
        .zonings
        .iter()
        .filter_map(|slug| zonings.get(slug.trim()))
        .find(|z| z.contains(&project.commune.code));
    match (within, zoned) {
        (Some(place), _) if place.kind == TerritoryKind::Commune => return Reach::Listed(place),
        (_, Some(zoning)) => return Reach::Zoned(zoning),
        (Some(place), None) => return Reach::Listed(place),
        (None, None) => {}
    }
    if perimeter.national.unwrap_or(!perimeter.lists_anything()) {
        return Reach::National;
    }
    let unloaded: Vec<String> = perimeter
        .zonings
        .iter()
        .filter_map(|slug| match zonings.get(slug.trim()) {
            None => Some(slug.trim().to_owned()),
            Some(z) if !z.is_loaded() => Some(z.name.clone()),
            Some(_) => None,
        })
        .collect();
    if unloaded.is_empty() {
        Reach::Outside
    } else {
        Reach::Unloaded(unloaded)
    }
}

/// With whom to check something: « auprès de l'État » when the scheme's first funder has
/// its name with its article, else « auprès du financeur (name) ».
fn with_whom(scheme: &SchemeRecord) -> String {
    match scheme.funders.first() {
        Some(funder) if funder.name_in_sentence.is_some() => {
            format!("auprès {}", funder.of_name())
        }
        Some(funder) => format!("auprès du financeur ({})", funder.name),
        None => "auprès du financeur".to_owned(),
    }
}

/// « « A » », « « A » et « B » ».
fn quoted_list(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("« {n} »")).collect();
    let quoted: Vec<&str> = quoted.iter().map(String::as_str).collect();
    french::list(&quoted)
}

/// Names of the territories a perimeter lists, narrowest last, then its zonings; at most
/// `limit` then a count.
fn perimeter_names(
    perimeter: &Perimeter,
    territories: &Territories,
    zonings: &Zonings,
    limit: usize,
) -> String {
    let names: Vec<String> = NARROWEST_FIRST
        .iter()
        .rev()
        .flat_map(|&kind| {
            listed(perimeter, kind).iter().map(move |code| {
                territories
                    .get_kind(code, kind)
                    .map_or_else(|| code.clone(), |t| t.name.clone())
            })
        })
        .chain(perimeter.zonings.iter().map(|slug| {
            zonings
                .get(slug.trim())
                .map_or_else(|| slug.clone(), |z| format!("« {} »", z.name))
        }))
        .collect();
    if names.len() <= limit {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return french::list(&names);
    }
    format!(
        "{} et {} autres territoires",
        names[..limit].join(", "),
        names.len() - limit
    )
}

fn territory(
    project: &ValidProject,
    scheme: &SchemeRecord,
    territories: &Territories,
    zonings: &Zonings,
) -> Criterion {
    let code = CriterionCode::Territory;
    let place = format!("{} ({})", project.commune.name, project.commune.code);
    match reach(project, scheme, zonings) {
        Reach::National => Criterion::pass(
            code,
            format!("Ce dispositif couvre toute la France, donc {place}."),
        ),
        Reach::Listed(t) if t.kind == TerritoryKind::Commune => Criterion::pass(
            code,
            format!("{place} figure dans le périmètre de ce dispositif."),
        ),
        Reach::Listed(t) => Criterion::pass(
            code,
            format!(
                "{place} est dans le périmètre de ce dispositif : {}.",
                t.name
            ),
        ),
        Reach::Zoned(zoning) => Criterion::pass(
            code,
            format!(
                "{place} fait partie de « {} » (liste du {}).",
                zoning.name,
                french::date(zoning.as_of)
            ),
        ),
        Reach::Unloaded(names) => {
            let (lists, loaded) = if names.len() == 1 {
                ("Liste", "non chargée")
            } else {
                ("Listes", "non chargées")
            };
            Criterion::unknown(
                code,
                format!(
                    "{lists} des communes de {} {loaded} dans Guichet : vérifiez {} que {place} en fait partie.",
                    quoted_list(&names),
                    with_whom(scheme)
                ),
            )
        }
        Reach::Outside => {
            let names = scheme
                .perimeter
                .as_ref()
                .map(|p| perimeter_names(p, territories, zonings, 5))
                .unwrap_or_default();
            Criterion::fail(
                code,
                format!("{place} est hors du périmètre de ce dispositif : {names}."),
            )
        }
    }
}

/// An EPCI holder is judged on its EPCI's population when the scheme caps it; otherwise the
/// commune ceiling describes the place of the project and applies to every holder (DETR:
/// an EPCI of 75,000 inhabitants or fewer is eligible wherever its project lies). A ceiling
/// is inclusive: a scheme « réservé aux communes de 3 500 habitants au plus » admits a
/// commune of exactly 3,500.
fn population(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::Population;
    let rules = &scheme.rules;
    if project.holder_type == BeneficiaryType::Epci
        && let Some(max) = rules.max_epci_population
    {
        let rule = format!(
            "ce dispositif est réservé aux EPCI de {} au plus",
            inhabitants(max)
        );
        return match project.epci() {
            None => Criterion::unknown(
                code,
                format!(
                    "La commune ne relève d'aucune intercommunalité connue ; {rule} : population de l'EPCI à vérifier."
                ),
            ),
            Some(epci) => {
                let message = format!(
                    "{} compte {} ; {rule}.",
                    epci.name,
                    inhabitants(epci.population)
                );
                if epci.population > max {
                    Criterion::fail(code, message)
                } else {
                    Criterion::pass(code, message)
                }
            }
        };
    }
    let population = inhabitants(project.commune.population);
    match rules.max_commune_population {
        None => Criterion::pass(code, "Ce dispositif ne fixe pas de plafond de population."),
        Some(max) => {
            let message = format!(
                "La commune compte {population} ; ce dispositif est réservé aux communes de {} au plus.",
                inhabitants(max)
            );
            if project.commune.population > max {
                Criterion::fail(code, message)
            } else {
                Criterion::pass(code, message)
            }
        }
    }
}

/// Whether `condition` applies to the project: every bound it states holds (a commune or
/// EPCI population strictly above its bound, a holder type in its list). A commune outside
/// any known EPCI cannot show its EPCI is small enough: the EPCI bound then applies.
fn applies(condition: &Condition, project: &ValidProject) -> bool {
    condition
        .when_commune_population_above
        .is_none_or(|bound| project.commune.population > bound)
        && condition
            .when_epci_population_above
            .is_none_or(|bound| project.epci().is_none_or(|epci| epci.population > bound))
        && (condition.when_holder_types.is_empty()
            || condition.when_holder_types.contains(&project.holder_type))
}

/// One UNKNOWN criterion per condition of the scheme that applies to the project, saying
/// what to check (e.g. DETR, CGCT L2334-33: a commune of 2,001 to 20,000 inhabitants is
/// eligible only if its potentiel financier par habitant is low enough; Guichet does not
/// hold it).
fn conditions(project: &ValidProject, scheme: &SchemeRecord) -> Vec<Criterion> {
    scheme
        .rules
        .conditions
        .iter()
        .filter(|c| applies(c, project))
        .map(|c| {
            let text = c.text.trim();
            let text = if text.ends_with(['.', '!', '?', '»']) {
                text.to_owned()
            } else {
                format!("{text}.")
            };
            Criterion::unknown(CriterionCode::Condition, text)
        })
        .collect()
}

/// What a nature of operation is called in a sentence.
fn nature_name(nature: Nature) -> &'static str {
    match nature {
        Nature::Investment => "l'investissement",
        Nature::Operating => "le fonctionnement",
    }
}

/// The scheme's `natures` (none, or both, = both) against the project's nature.
fn nature(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::Nature;
    let funded = &scheme.natures;
    let restricted = !funded.is_empty() && Nature::ALL.iter().any(|n| !funded.contains(n));
    if !restricted {
        return Criterion::pass(
            code,
            "Ce dispositif finance l'investissement comme le fonctionnement.",
        );
    }
    // Two natures: a restricted scheme funds only the one it names.
    let only = funded[0];
    let only_name = nature_name(only);
    match project.nature {
        None => Criterion::unknown(
            code,
            format!(
                "Ce dispositif ne finance que {only_name} : précisez la nature du projet (investissement ou fonctionnement)."
            ),
        ),
        Some(nature) if nature == only => Criterion::pass(
            code,
            format!(
                "Le projet relève {}, que ce dispositif finance.",
                french::of(nature_name(nature))
            ),
        ),
        Some(nature) => Criterion::fail(
            code,
            format!(
                "Le projet relève {} ; ce dispositif ne finance que {only_name}.",
                french::of(nature_name(nature))
            ),
        ),
    }
}

fn inhabitants(count: i64) -> String {
    format!("{} habitants", french::number(count))
}

fn project_cost(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::ProjectCost;
    let (min, max) = (scheme.rules.min_project_cost, scheme.rules.max_project_cost);
    let bounds = match (min, max) {
        (None, None) => {
            return Criterion::pass(
                code,
                "Ce dispositif ne fixe pas de coût minimal ni maximal de projet.",
            );
        }
        (Some(min), None) => format!("d'au moins {} HT", french::euros(min)),
        (None, Some(max)) => format!("de {} HT au plus", french::euros(max)),
        (Some(min), Some(max)) => format!("de {} à {} HT", french::euros(min), french::euros(max)),
    };
    let Some(cost) = project.total_cost else {
        return Criterion::unknown(
            code,
            format!("Coût du projet non indiqué ; ce dispositif finance les projets {bounds}."),
        );
    };
    let message = format!(
        "Le projet coûte {} HT ; ce dispositif finance les projets {bounds}.",
        french::euros(cost)
    );
    if min.is_some_and(|m| cost < m) || max.is_some_and(|m| cost > m) {
        Criterion::fail(code, message)
    } else {
        Criterion::pass(code, message)
    }
}

fn calendar(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::Calendar;
    let calendar = &scheme.calendar;
    let filing_on = project.filing_on;
    let filing = french::date(filing_on);
    match (calendar.opens_on, calendar.closes_on) {
        (None, None) => match calendar.recurrence {
            Some(Recurrence::Permanent) => Criterion::pass(
                code,
                format!("Ce dispositif est ouvert en permanence : dépôt possible le {filing}."),
            ),
            Some(Recurrence::Recurring | Recurrence::OneOff) => Criterion::unknown(
                code,
                format!(
                    "Dates de la prochaine session non publiées : renseignez-vous {} (dépôt prévu le {filing}).",
                    with_whom(scheme)
                ),
            ),
            None => Criterion::unknown(
                code,
                format!(
                    "Calendrier non publié : ce dispositif ne dit pas s'il est ouvert en permanence ou par sessions ; renseignez-vous {} (dépôt prévu le {filing}).",
                    with_whom(scheme)
                ),
            ),
        },
        (Some(opens), _) if filing_on < opens => Criterion::fail(
            code,
            format!(
                "Dépôt prévu le {filing} ; ce dispositif n'ouvre que le {}.",
                french::date(opens)
            ),
        ),
        (_, Some(closes)) if filing_on > closes => {
            let next = if calendar.recurrence == Some(Recurrence::Recurring) {
                " Il est récurrent : surveillez l'ouverture de la prochaine session."
            } else {
                ""
            };
            Criterion::fail(
                code,
                format!(
                    "Dépôt prévu le {filing} ; ce dispositif a clôturé le {}.{next}",
                    french::date(closes)
                ),
            )
        }
        (opens, closes) => {
            let window = match (opens, closes) {
                (Some(o), Some(c)) => format!("du {} au {}", french::date(o), french::date(c)),
                (Some(o), None) => format!("à partir du {}", french::date(o)),
                (None, Some(c)) => format!("jusqu'au {}", french::date(c)),
                (None, None) => unreachable!("handled above"),
            };
            Criterion::pass(
                code,
                format!("Dépôt prévu le {filing} ; ce dispositif est ouvert {window}."),
            )
        }
    }
}

/// What « commencement d'exécution » means, said where a scheme forbids it before filing.
const START_RULE: &str = "tout commencement d'exécution (devis signé, bon de commande, début des travaux) avant le dépôt de la demande rend le projet inéligible";

/// `noStartBeforeFiling` not stated: what to check. For the State's investment subsidies the
/// rule is general: no start of execution before the request is received (décret
/// n° 2018-514 du 25 juin 2018, art. 2; CGCT R2334-24 for the DETR). Other funders mostly
/// refuse to fund what has already started, but no text makes it general, and an operating
/// action is outside the decree: said more softly there.
fn start_rule_unstated(project: &ValidProject, scheme: &SchemeRecord) -> String {
    let whom = with_whom(scheme);
    let state = scheme.funders.iter().any(|f| f.kind == FunderKind::State);
    let operating = project.nature == Some(Nature::Operating);
    if state && !operating {
        format!(
            "Ce dispositif ne précise pas si le projet peut commencer avant la demande ; pour les subventions d'investissement de l'État, aucun commencement d'exécution (devis signé, bon de commande, début des travaux) n'est admis avant la réception de la demande (décret n° 2018-514 du 25 juin 2018, art. 2 ; pour la DETR, article R2334-24 du CGCT) : vérifiez {whom} avant de vous engager."
        )
    } else if operating {
        format!(
            "Ce dispositif ne précise pas si l'action peut commencer avant la demande ; beaucoup de financeurs n'aident pas une action déjà engagée : vérifiez {whom} avant de vous engager."
        )
    } else {
        format!(
            "Ce dispositif ne précise pas si le projet peut commencer avant la demande ; la plupart des financeurs n'aident pas un projet déjà commencé (pour les subventions d'investissement de l'État, c'est la règle : décret n° 2018-514 du 25 juin 2018, art. 2) : vérifiez {whom} avant de signer un devis."
        )
    }
}

fn start_before_filing(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::StartBeforeFiling;
    let filing = french::date(project.filing_on);
    match scheme.rules.no_start_before_filing {
        Some(false) => {
            return Criterion::pass(
                code,
                "Ce dispositif n'interdit pas de commencer le projet avant le dépôt de la demande.",
            );
        }
        // Starting after filing keeps any such rule: decided whatever the scheme says.
        None => {
            return match project.starts_on {
                Some(start) if start >= project.filing_on => Criterion::pass(
                    code,
                    format!(
                        "Le projet commence le {}, pas avant le dépôt de la demande le {filing} ; d'ici là, ne signez ni devis ni bon de commande.",
                        french::date(start)
                    ),
                ),
                _ => Criterion::unknown(code, start_rule_unstated(project, scheme)),
            };
        }
        Some(true) => {}
    }
    match project.starts_on {
        None => Criterion::unknown(
            code,
            format!(
                "Date de début du projet non indiquée ; pour ce dispositif, {START_RULE} (dépôt prévu le {filing})."
            ),
        ),
        Some(start) if start < project.filing_on => Criterion::fail(
            code,
            format!(
                "Le projet commence le {}, avant le dépôt de la demande le {filing} ; pour ce dispositif, {START_RULE}.",
                french::date(start)
            ),
        ),
        Some(start) => Criterion::pass(
            code,
            format!(
                "Le projet commence le {}, pas avant le dépôt de la demande le {filing} ; d'ici là, ne signez ni devis ni bon de commande.",
                french::date(start)
            ),
        ),
    }
}

/// How the values a project asks for meet those a scheme offers.
enum Overlap<'a, T> {
    /// The project asks for nothing in particular.
    Unasked,
    /// The scheme is not limited.
    Unrestricted,
    Shared(Vec<&'a T>),
    Disjoint,
}

fn overlap<'a, T: PartialEq>(asked: &'a [T], offered: &[T]) -> Overlap<'a, T> {
    if asked.is_empty() {
        return Overlap::Unasked;
    }
    if offered.is_empty() {
        return Overlap::Unrestricted;
    }
    let shared: Vec<&T> = asked.iter().filter(|v| offered.contains(v)).collect();
    if shared.is_empty() {
        Overlap::Disjoint
    } else {
        Overlap::Shared(shared)
    }
}

fn theme_labels<'a>(themes: impl IntoIterator<Item = &'a String>) -> String {
    let labels: Vec<&str> = themes
        .into_iter()
        .map(|t| theme_label(t).unwrap_or(t))
        .collect();
    french::list(&labels)
}

/// Informs on the themes; never FAIL nor UNKNOWN: themes say relevance, not eligibility.
fn theme(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::Theme;
    match overlap(&project.themes, &scheme.themes) {
        Overlap::Unasked if scheme.themes.is_empty() => {
            Criterion::pass(code, "Ni le projet ni ce dispositif ne précisent de thème.")
        }
        Overlap::Unasked => Criterion::pass(
            code,
            format!(
                "Aucun thème indiqué pour le projet ; ce dispositif porte sur : {}.",
                theme_labels(&scheme.themes)
            ),
        ),
        Overlap::Unrestricted => {
            Criterion::pass(code, "Ce dispositif n'est pas limité à certains thèmes.")
        }
        Overlap::Shared(shared) => Criterion::pass(
            code,
            format!("Thèmes en commun : {}.", theme_labels(shared)),
        ),
        // Themes say how relevant a scheme is, not whether the holder may get it.
        Overlap::Disjoint => Criterion::pass(
            code,
            format!(
                "Le projet porte sur : {} ; ce dispositif porte sur : {}. Les thèmes disent la pertinence d'un dispositif, pas l'éligibilité.",
                theme_labels(&project.themes),
                theme_labels(&scheme.themes)
            ),
        ),
    }
}

fn aid_labels<'a>(types: impl IntoIterator<Item = &'a AidType>) -> String {
    let labels: Vec<&str> = types.into_iter().map(|t| t.label()).collect();
    french::list(&labels)
}

fn aid_type(project: &ValidProject, scheme: &SchemeRecord) -> Criterion {
    let code = CriterionCode::AidType;
    match overlap(&project.aid_types, &scheme.aid_types) {
        Overlap::Unasked if scheme.aid_types.is_empty() => Criterion::pass(
            code,
            "Ni le projet ni ce dispositif ne précisent de forme d'aide.",
        ),
        Overlap::Unasked => Criterion::pass(
            code,
            format!(
                "Aucune forme d'aide précisée pour le projet ; ce dispositif propose : {}.",
                aid_labels(&scheme.aid_types)
            ),
        ),
        Overlap::Unrestricted => {
            Criterion::pass(code, "Ce dispositif ne précise pas la forme de son aide.")
        }
        Overlap::Shared(shared) => Criterion::pass(
            code,
            format!(
                "Forme d'aide recherchée et proposée : {}.",
                aid_labels(shared)
            ),
        ),
        Overlap::Disjoint => Criterion::fail(
            code,
            format!(
                "Le projet recherche : {} ; ce dispositif propose : {}.",
                aid_labels(&project.aid_types),
                aid_labels(&scheme.aid_types)
            ),
        ),
    }
}

/// The aid a scheme could give on `total_cost`: its rates applied to the cost, each clamped
/// to the scheme's amounts and to the cost. A bound is `None` without a cost, or without a
/// rate or an amount to derive it from; the range is `None` when both are.
pub fn estimate(funding: &Funding, total_cost: Option<i64>) -> Option<AmountRange> {
    let cost = total_cost?;
    let clamp = |value: i64| {
        let value = funding.amount_min.map_or(value, |min| value.max(min));
        funding
            .amount_max
            .map_or(value, |max| value.min(max))
            .min(cost)
    };
    let bound = |rate: Option<f64>, amount: Option<i64>| {
        rate.map(|r| share_of(cost, r)).or(amount).map(clamp)
    };
    let range = AmountRange {
        min: bound(funding.rate_min, funding.amount_min),
        max: bound(funding.rate_max, funding.amount_max),
    };
    (range.min.is_some() || range.max.is_some()).then_some(range)
}

/// What orders matches within a verdict: relevant first, then by [`RankKey::score`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankKey {
    /// Whether the scheme is relevant to the project: a theme shared, the scheme open to
    /// every theme, the project's text matching it, or a project giving neither themes nor
    /// text. Themes and text never decide eligibility, only this and the order.
    pub relevant: bool,
    /// Themes the project and the scheme share.
    pub shared_themes: usize,
    /// Text relevance from the search index (0 when there is none).
    pub text_score: f64,
    /// 4 when the perimeter lists the commune, 3 its EPCI or a zoning containing it, 2 its
    /// département, 1 its région; 0 when national, outside or undecided.
    pub locality: u8,
    /// Days from filing to closing, when the scheme closes on or after the filing date.
    pub days_to_close: Option<i64>,
}

impl RankKey {
    /// A single score, higher first: each shared theme weighs 1, more than text relevance
    /// (< 0.6), a local perimeter (≤ 0.2) and closing within the year (≤ 0.1) together.
    pub fn score(&self) -> f64 {
        let text = self.text_score.max(0.0);
        let closing = self
            .days_to_close
            .map_or(0.0, |days| (1.0 - days as f64 / 365.0).max(0.0));
        self.shared_themes as f64
            + 0.6 * text / (1.0 + text)
            + 0.05 * f64::from(self.locality)
            + 0.1 * closing
    }
}

/// The ranking of `scheme` for `project`: relevance, then shared themes, then text
/// relevance (`text_score` from the search index), then a narrower perimeter before a
/// national one, then closing soon before permanent.
pub fn rank_key(
    project: &ValidProject,
    scheme: &SchemeRecord,
    zonings: &Zonings,
    text_score: Option<f64>,
) -> RankKey {
    let locality = match reach(project, scheme, zonings) {
        Reach::Listed(t) => match t.kind {
            TerritoryKind::Commune => 4,
            TerritoryKind::Epci => 3,
            TerritoryKind::Department => 2,
            TerritoryKind::Region => 1,
        },
        Reach::Zoned(_) => 3,
        Reach::National | Reach::Unloaded(_) | Reach::Outside => 0,
    };
    let shared_themes = project
        .themes
        .iter()
        .filter(|t| scheme.themes.contains(t))
        .count();
    let text_score = text_score.unwrap_or(0.0);
    let says_nothing = project.themes.is_empty() && project.text.is_none();
    RankKey {
        relevant: shared_themes > 0 || scheme.themes.is_empty() || text_score > 0.0 || says_nothing,
        shared_themes,
        text_score,
        locality,
        days_to_close: scheme
            .calendar
            .closes_on
            .map(|c| (c - project.filing_on).num_days())
            .filter(|days| *days >= 0),
    }
}

use crate::text::french;

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::funder::FunderRecord;
    use crate::scheme::{Calendar, Rules};
    use crate::vocab::FunderKind;

    /// The embedded territories, parsed once for every test.
    pub(crate) fn territories() -> &'static Territories {
        static TERRITORIES: OnceLock<Territories> = OnceLock::new();
        TERRITORIES.get_or_init(Territories::embedded)
    }

    pub(crate) fn day(text: &str) -> NaiveDate {
        text.parse().expect("a valid date")
    }

    /// Saint-Dizier (52448, 22,858 inhabitants), in the CA du Grand Saint-Dizier Der et
    /// Vallées (200068666, 55,597), Haute-Marne (52), Grand Est (44).
    pub(crate) const SAINT_DIZIER: &str = "52448";
    pub(crate) const SAINT_DIZIER_EPCI: &str = "200068666";
    /// Île-de-Bréhat (22016, 429 inhabitants) belongs to no EPCI.
    pub(crate) const BREHAT: &str = "22016";
    /// Ageville (52001, 290 inhabitants), Haute-Marne.
    pub(crate) const AGEVILLE: &str = "52001";

    pub(crate) fn project(holder_type: BeneficiaryType, commune_code: &str) -> Project {
        Project {
            holder_type,
            commune_code: commune_code.into(),
            themes: vec![],
            text: None,
            total_cost: Some(100_000),
            starts_on: None,
            filing_on: Some(day("2026-03-16")),
            aid_types: vec![],
            economic_activity: None,
            nature: None,
            cost_basis: CostBasis::Ht,
        }
    }

    pub(crate) fn valid(project: Project) -> ValidProject {
        validate(project, territories(), day("2026-03-01")).expect("a valid project")
    }

    pub(crate) fn scheme(slug: &str) -> SchemeRecord {
        SchemeRecord {
            slug: slug.into(),
            title: format!("Dispositif {slug}"),
            summary: None,
            description: None,
            funders: vec![FunderRecord {
                slug: "prefecture-haute-marne".into(),
                name: "Préfecture de la Haute-Marne".into(),
                kind: FunderKind::State,
                contact_email: None,
                public_body: None,
                name_in_sentence: None,
                parent: None,
                jurisdiction: Vec::new(),
            }],
            beneficiary_types: BeneficiaryType::ALL.to_vec(),
            themes: vec![],
            aid_types: vec![AidType::Grant],
            natures: vec![],
            perimeter: Some(Perimeter::national()),
            // Everything the data can decide is stated: the scheme is ELIGIBLE for any
            // holder anywhere until a test changes it.
            rules: Rules {
                no_start_before_filing: Some(false),
                ..Rules::default()
            },
            funding: Funding::default(),
            calendar: Calendar {
                recurrence: Some(Recurrence::Permanent),
                ..Calendar::default()
            },
            required_documents: vec![],
            application_url: None,
            source_url: None,
            verified_on: None,
            status: None,
        }
    }

    /// A perimeter naming only these zonings.
    fn zoned(slugs: &[&str]) -> Perimeter {
        Perimeter {
            national: Some(false),
            zonings: slugs.iter().map(|s| (*s).to_owned()).collect(),
            ..Perimeter::default()
        }
    }

    fn condition(
        text: &str,
        commune_above: Option<i64>,
        epci_above: Option<i64>,
        holders: &[BeneficiaryType],
    ) -> Condition {
        Condition {
            text: text.into(),
            when_commune_population_above: commune_above,
            when_epci_population_above: epci_above,
            when_holder_types: holders.to_vec(),
        }
    }

    fn perimeter(kind: TerritoryKind, code: &str) -> Perimeter {
        let mut p = Perimeter {
            national: Some(false),
            ..Perimeter::default()
        };
        let list = match kind {
            TerritoryKind::Region => &mut p.regions,
            TerritoryKind::Department => &mut p.departments,
            TerritoryKind::Epci => &mut p.epcis,
            TerritoryKind::Commune => &mut p.communes,
        };
        list.push(code.into());
        p
    }

    /// [`evaluate`] with the embedded territories and no zonings.
    pub(crate) fn evaluate_plain(project: &ValidProject, scheme: &SchemeRecord) -> Evaluation {
        evaluate_without_zonings(project, scheme, territories())
    }

    /// [`evaluate`] as it was before zonings, for the tests of other modules.
    pub(crate) fn evaluate_without_zonings(
        project: &ValidProject,
        scheme: &SchemeRecord,
        territories: &Territories,
    ) -> Evaluation {
        evaluate(project, scheme, territories, &Zonings::default())
    }

    /// The zonings of the tests: « GAL Nord Haute-Marne » holds Ageville (52001) and
    /// Saint-Dizier (52448); « PVD test » is known without communes.
    pub(crate) fn zonings() -> Zonings {
        Zonings::new([
            Zoning::new(
                "gal-nord-52",
                "GAL Nord Haute-Marne",
                "https://example.org/gal",
                day("2025-01-01"),
                [AGEVILLE.to_owned(), SAINT_DIZIER.to_owned()],
            ),
            Zoning::new(
                "pvd",
                "Petites villes de demain",
                "https://example.org/pvd",
                day("2024-07-01"),
                [],
            ),
            Zoning::new(
                "gal-lot",
                "GAL Lot",
                "https://example.org/lot",
                day("2025-01-01"),
                ["46042".to_owned()],
            ),
        ])
    }

    /// The first criterion of `code` (every code but `CONDITION` is always evaluated).
    fn criterion(project: &ValidProject, scheme: &SchemeRecord, code: CriterionCode) -> Criterion {
        evaluate(project, scheme, territories(), &zonings())
            .criteria
            .into_iter()
            .find(|c| c.code == code)
            .expect("the code is evaluated")
    }

    /// Removes the typographic spaces so that assertions read naturally.
    fn plain(text: &str) -> String {
        text.replace(['\u{202f}', '\u{a0}'], " ")
    }

    /// Changes a test value.
    pub(crate) type Edit<T> = fn(&mut T);

    type Case = (
        &'static str,
        CriterionCode,
        Edit<Project>,
        Edit<SchemeRecord>,
        CriterionStatus,
        &'static str,
    );

    use CriterionCode as C;
    use CriterionStatus::{Fail, Pass, Unknown};

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        ("holder admitted", C::BeneficiaryType, |_| {}, |s| s.beneficiary_types = vec![BeneficiaryType::Commune], Pass, "« Commune »"),
        ("holder refused", C::BeneficiaryType, |p| p.holder_type = BeneficiaryType::Association, |s| s.beneficiary_types = vec![BeneficiaryType::Commune, BeneficiaryType::Epci], Fail, "réservé aux porteurs suivants : Commune et Intercommunalité (EPCI)"),
        ("no beneficiary listed", C::BeneficiaryType, |_| {}, |s| s.beneficiary_types.clear(), Unknown, "ne précise pas"),
        ("national perimeter", C::Territory, |_| {}, |s| s.perimeter = Some(Perimeter::national()), Pass, "toute la France"),
        ("absent perimeter is national", C::Territory, |_| {}, |s| s.perimeter = None, Pass, "toute la France"),
        ("perimeter listing nothing is national", C::Territory, |_| {}, |s| s.perimeter = Some(Perimeter::default()), Pass, "toute la France"),
        ("commune listed", C::Territory, |_| {}, |s| s.perimeter = Some(perimeter(TerritoryKind::Commune, SAINT_DIZIER)), Pass, "Saint-Dizier (52448) figure"),
        ("EPCI listed", C::Territory, |_| {}, |s| s.perimeter = Some(perimeter(TerritoryKind::Epci, SAINT_DIZIER_EPCI)), Pass, "CA du Grand Saint-Dizier Der et Vallées"),
        ("département listed", C::Territory, |_| {}, |s| s.perimeter = Some(perimeter(TerritoryKind::Department, "52")), Pass, ": Haute-Marne."),
        ("région listed", C::Territory, |_| {}, |s| s.perimeter = Some(perimeter(TerritoryKind::Region, "44")), Pass, ": Grand Est."),
        ("other département", C::Territory, |_| {}, |s| s.perimeter = Some(perimeter(TerritoryKind::Department, "46")), Fail, "hors du périmètre de ce dispositif : Lot."),
        ("région 52 is not département 52", C::Territory, |_| {}, |s| s.perimeter = Some(perimeter(TerritoryKind::Region, "52")), Fail, "Pays de la Loire"),
        ("other EPCI", C::Territory, |_| {}, |s| s.perimeter = Some(perimeter(TerritoryKind::Epci, "200068658")), Fail, "CA de Chaumont"),
        // Issue 13 « zonings »: a commune is inside when any list contains it.
        ("zoning lists the commune", C::Territory, |p| p.commune_code = AGEVILLE.into(), |s| s.perimeter = Some(zoned(&["gal-nord-52"])), Pass, "Ageville (52001) fait partie de « GAL Nord Haute-Marne » (liste du 1er janvier 2025)."),
        ("zoning or département: the zoning is named", C::Territory, |p| p.commune_code = AGEVILLE.into(), |s| { let mut z = perimeter(TerritoryKind::Department, "52"); z.zonings = vec!["gal-nord-52".into()]; s.perimeter = Some(z) }, Pass, "« GAL Nord Haute-Marne »"),
        ("zoning not loaded, département lists the commune", C::Territory, |_| {}, |s| { let mut z = perimeter(TerritoryKind::Department, "52"); z.zonings = vec!["pvd".into()]; s.perimeter = Some(z) }, Pass, ": Haute-Marne."),
        ("loaded zoning without the commune", C::Territory, |p| p.commune_code = AGEVILLE.into(), |s| s.perimeter = Some(zoned(&["gal-lot"])), Fail, "hors du périmètre de ce dispositif : « GAL Lot »."),
        ("zoning without communes loaded is never « toute la France »", C::Territory, |p| p.commune_code = AGEVILLE.into(), |s| s.perimeter = Some(zoned(&["pvd"])), Unknown, "Liste des communes de « Petites villes de demain » non chargée dans Guichet : vérifiez auprès du financeur (Préfecture de la Haute-Marne) que Ageville (52001) en fait partie."),
        ("zoning Guichet lacks", C::Territory, |_| {}, |s| s.perimeter = Some(zoned(&["gal-lot", "gal-inconnu"])), Unknown, "Liste des communes de « gal-inconnu » non chargée"),
        ("zonings not loaded, with the State's name", C::Territory, |_| {}, |s| { s.perimeter = Some(zoned(&["pvd", "frr"])); s.funders[0].name_in_sentence = Some("l'État".into()) }, Unknown, "Listes des communes de « Petites villes de demain » et « frr » non chargées dans Guichet : vérifiez auprès de l'État"),
        ("unloaded zoning, other département", C::Territory, |_| {}, |s| { let mut z = perimeter(TerritoryKind::Department, "46"); z.zonings = vec!["pvd".into()]; s.perimeter = Some(z) }, Unknown, "non chargée"),
        ("national with zonings is national", C::Territory, |_| {}, |s| { let mut z = zoned(&["pvd"]); z.national = Some(true); s.perimeter = Some(z) }, Pass, "toute la France"),
        ("no population rule", C::Population, |_| {}, |_| {}, Pass, "pas de plafond"),
        ("commune too large", C::Population, |_| {}, |s| s.rules.max_commune_population = Some(2000), Fail, "La commune compte 22 858 habitants ; ce dispositif est réservé aux communes de 2 000 habitants au plus."),
        ("commune small enough", C::Population, |p| p.commune_code = BREHAT.into(), |s| s.rules.max_commune_population = Some(2000), Pass, "429 habitants"),
        ("the ceiling is inclusive (« au plus »)", C::Population, |_| {}, |s| s.rules.max_commune_population = Some(22_858), Pass, "réservé aux communes de 22 858 habitants au plus"),
        ("one above the ceiling", C::Population, |_| {}, |s| s.rules.max_commune_population = Some(22_857), Fail, "de 22 857 habitants au plus"),
        ("EPCI small enough", C::Population, |p| p.holder_type = BeneficiaryType::Epci, |s| { s.rules.max_commune_population = Some(2000); s.rules.max_epci_population = Some(75_000) }, Pass, "55 597 habitants ; ce dispositif est réservé aux EPCI de 75 000 habitants au plus."),
        ("EPCI at the ceiling", C::Population, |p| p.holder_type = BeneficiaryType::Epci, |s| s.rules.max_epci_population = Some(55_597), Pass, "55 597 habitants au plus"),
        ("EPCI too large", C::Population, |p| p.holder_type = BeneficiaryType::Epci, |s| s.rules.max_epci_population = Some(50_000), Fail, "réservé aux EPCI de 50 000 habitants au plus"),
        ("EPCI unknown", C::Population, |p| { p.holder_type = BeneficiaryType::Epci; p.commune_code = BREHAT.into() }, |s| s.rules.max_epci_population = Some(50_000), Unknown, "aucune intercommunalité"),
        ("EPCI holder, commune ceiling only", C::Population, |p| p.holder_type = BeneficiaryType::Epci, |s| s.rules.max_commune_population = Some(2000), Fail, "22 858"),
        ("EPCI ceiling ignored for a commune", C::Population, |_| {}, |s| s.rules.max_epci_population = Some(50_000), Pass, "pas de plafond"),
        // CGCT L2334-33: DETR communes of 2,001 to 20,000 inhabitants depend on their
        // potentiel financier, which Guichet does not hold.
        ("CGCT L2334-33: potentiel financier above 2,000 inhabitants", C::Condition, |_| {}, |s| s.rules.conditions = vec![condition("Potentiel financier par habitant à vérifier auprès de la préfecture", Some(2000), None, &[])], Unknown, "Potentiel financier par habitant à vérifier auprès de la préfecture."),
        // CGCT L2334-33: an EPCI above 75,000 inhabitants is excluded only with a commune
        // above 20,000 and a density of 150/km² or more; Guichet has no areas.
        ("CGCT L2334-33: an EPCI above the bound checks its density", C::Condition, |p| p.holder_type = BeneficiaryType::Epci, |s| s.rules.conditions = vec![condition("Densité de l'EPCI à vérifier.", None, Some(50_000), &[BeneficiaryType::Epci])], Unknown, "Densité de l'EPCI à vérifier."),
        ("natures not restricted", C::Nature, |p| p.nature = Some(Nature::Operating), |_| {}, Pass, "finance l'investissement comme le fonctionnement"),
        ("both natures listed", C::Nature, |_| {}, |s| s.natures = vec![Nature::Operating, Nature::Investment], Pass, "comme le fonctionnement"),
        ("nature matches", C::Nature, |p| p.nature = Some(Nature::Investment), |s| s.natures = vec![Nature::Investment], Pass, "Le projet relève de l'investissement, que ce dispositif finance."),
        ("nature differs", C::Nature, |p| p.nature = Some(Nature::Operating), |s| s.natures = vec![Nature::Investment], Fail, "Le projet relève du fonctionnement ; ce dispositif ne finance que l'investissement."),
        ("nature unknown", C::Nature, |_| {}, |s| s.natures = vec![Nature::Operating], Unknown, "Ce dispositif ne finance que le fonctionnement : précisez la nature"),
        ("no cost rule", C::ProjectCost, |p| p.total_cost = None, |_| {}, Pass, "ne fixe pas"),
        ("cost above the floor", C::ProjectCost, |_| {}, |s| s.rules.min_project_cost = Some(5000), Pass, "Le projet coûte 100 000 € HT ; ce dispositif finance les projets d'au moins 5 000 € HT."),
        ("cost below the floor", C::ProjectCost, |p| p.total_cost = Some(3000), |s| s.rules.min_project_cost = Some(5000), Fail, "3 000 € HT"),
        ("cost above the ceiling", C::ProjectCost, |_| {}, |s| { s.rules.min_project_cost = Some(1000); s.rules.max_project_cost = Some(50_000) }, Fail, "de 1 000 € à 50 000 € HT"),
        ("cost unknown", C::ProjectCost, |p| p.total_cost = None, |s| s.rules.min_project_cost = Some(5000), Unknown, "non indiqué"),
        ("permanent", C::Calendar, |_| {}, |_| {}, Pass, "en permanence"),
        ("recurring without published dates", C::Calendar, |_| {}, |s| s.calendar.recurrence = Some(Recurrence::Recurring), Unknown, "Dates de la prochaine session non publiées : renseignez-vous auprès du financeur (Préfecture de la Haute-Marne)"),
        ("one-off without dates, the funder with its article", C::Calendar, |_| {}, |s| { s.calendar.recurrence = Some(Recurrence::OneOff); s.funders[0].name_in_sentence = Some("l'État".into()) }, Unknown, "renseignez-vous auprès de l'État"),
        ("no recurrence and no dates", C::Calendar, |_| {}, |s| s.calendar.recurrence = None, Unknown, "Calendrier non publié"),
        ("open window", C::Calendar, |_| {}, |s| { s.calendar.opens_on = Some(day("2026-01-05")); s.calendar.closes_on = Some(day("2026-03-16")) }, Pass, "du 5 janvier 2026 au 16 mars 2026"),
        ("not open yet", C::Calendar, |_| {}, |s| s.calendar.opens_on = Some(day("2026-04-01")), Fail, "n'ouvre que le 1er avril 2026"),
        ("closed", C::Calendar, |_| {}, |s| { s.calendar.closes_on = Some(day("2026-02-28")); s.calendar.recurrence = Some(Recurrence::Recurring) }, Fail, "a clôturé le 28 février 2026. Il est récurrent"),
        ("filing defaults to today", C::Calendar, |p| p.filing_on = None, |s| s.calendar.closes_on = Some(day("2026-03-01")), Pass, "Dépôt prévu le 1er mars 2026"),
        ("start allowed", C::StartBeforeFiling, |p| p.starts_on = Some(day("2025-12-01")), |_| {}, Pass, "n'interdit pas"),
        ("start after filing", C::StartBeforeFiling, |p| p.starts_on = Some(day("2026-03-16")), |s| s.rules.no_start_before_filing = Some(true), Pass, "ne signez ni devis"),
        ("start before filing", C::StartBeforeFiling, |p| p.starts_on = Some(day("2026-02-02")), |s| s.rules.no_start_before_filing = Some(true), Fail, "Le projet commence le 2 février 2026, avant le dépôt de la demande le 16 mars 2026 ; pour ce dispositif, tout commencement d'exécution (devis signé, bon de commande, début des travaux) avant le dépôt de la demande rend le projet inéligible."),
        ("start unknown", C::StartBeforeFiling, |_| {}, |s| s.rules.no_start_before_filing = Some(true), Unknown, "devis signé"),
        // Décret n° 2018-514 art. 2 (CGCT R2334-24 for DETR): the State's investment
        // subsidies admit no start before the request is received.
        ("décret 2018-514 art. 2: rule not stated, State investment", C::StartBeforeFiling, |p| p.nature = Some(Nature::Investment), |s| { s.rules.no_start_before_filing = None; s.funders[0].name_in_sentence = Some("l'État".into()) }, Unknown, "aucun commencement d'exécution (devis signé, bon de commande, début des travaux) n'est admis avant la réception de la demande (décret n° 2018-514 du 25 juin 2018, art. 2 ; pour la DETR, article R2334-24 du CGCT) : vérifiez auprès de l'État"),
        ("décret 2018-514 art. 2: started before filing, rule not stated", C::StartBeforeFiling, |p| p.starts_on = Some(day("2026-01-02")), |s| s.rules.no_start_before_filing = None, Unknown, "décret n° 2018-514"),
        ("rule not stated, starting after filing keeps it", C::StartBeforeFiling, |p| p.starts_on = Some(day("2026-04-01")), |s| s.rules.no_start_before_filing = None, Pass, "pas avant le dépôt"),
        ("rule not stated, operating action of a Région", C::StartBeforeFiling, |p| p.nature = Some(Nature::Operating), |s| { s.rules.no_start_before_filing = None; s.funders[0].kind = FunderKind::Region }, Unknown, "beaucoup de financeurs n'aident pas une action déjà engagée"),
        ("rule not stated, investment for a Département", C::StartBeforeFiling, |_| {}, |s| { s.rules.no_start_before_filing = None; s.funders[0].kind = FunderKind::Department; s.funders[0].name_in_sentence = Some("le Département de la Haute-Marne".into()) }, Unknown, "vérifiez auprès du Département de la Haute-Marne avant de signer un devis"),
        ("shared theme", C::Theme, |p| p.themes = vec!["commerce".into(), "culture".into()], |s| s.themes = vec!["commerce".into()], Pass, "Thèmes en commun : Commerce."),
        // Issue 13: themes say relevance, never eligibility.
        ("no shared theme is no failure", C::Theme, |p| p.themes = vec!["culture".into()], |s| s.themes = vec!["commerce".into(), "sante".into()], Pass, "porte sur : Culture ; ce dispositif porte sur : Commerce et Santé. Les thèmes disent la pertinence d'un dispositif, pas l'éligibilité."),
        ("no project theme", C::Theme, |_| {}, |s| s.themes = vec!["sante".into()], Pass, "Aucun thème"),
        ("no scheme theme", C::Theme, |p| p.themes = vec!["sante".into()], |_| {}, Pass, "pas limité"),
        ("shared aid type", C::AidType, |p| p.aid_types = vec![AidType::Grant], |_| {}, Pass, "Subvention"),
        ("no shared aid type", C::AidType, |p| p.aid_types = vec![AidType::Loan], |_| {}, Fail, "Le projet recherche : Prêt ; ce dispositif propose : Subvention."),
        ("no aid type asked", C::AidType, |_| {}, |_| {}, Pass, "Aucune forme d'aide précisée"),
        ("no aid type offered", C::AidType, |p| p.aid_types = vec![AidType::Loan], |s| s.aid_types.clear(), Pass, "ne précise pas"),
    ];

    #[test]
    fn each_criterion_passes_fails_or_is_unknown_with_a_french_sentence() {
        for (name, code, edit_project, edit_scheme, status, phrase) in CASES {
            let mut p = project(BeneficiaryType::Commune, SAINT_DIZIER);
            edit_project(&mut p);
            let mut s = scheme("cas");
            edit_scheme(&mut s);
            let c = criterion(&valid(p), &s, *code);
            assert_eq!(c.status, *status, "{name}: {}", c.message);
            assert!(
                plain(&c.message).contains(phrase),
                "{name}: « {} » lacks « {phrase} »",
                c.message
            );
            assert!(!c.message.contains("de État"), "{name}: {}", c.message);
        }
        for code in CriterionCode::ALL {
            let statuses: Vec<_> = CASES.iter().filter(|c| c.1 == *code).map(|c| c.4).collect();
            let expected: &[CriterionStatus] = match code {
                // Themes never decide eligibility; a condition is always to check.
                C::Theme => &[Pass],
                C::Condition => &[Unknown],
                _ => &[Pass, Fail],
            };
            assert!(
                expected.iter().all(|s| statuses.contains(s)),
                "{code:?}: {statuses:?}"
            );
        }
    }

    #[test]
    fn every_holder_type_is_matched_against_the_beneficiary_types() {
        for holder in BeneficiaryType::ALL {
            let p = valid(project(*holder, SAINT_DIZIER));
            let mut s = scheme("tous");
            assert_eq!(evaluate_plain(&p, &s).verdict, Verdict::Eligible);
            s.beneficiary_types.retain(|b| b != holder);
            let e = evaluate_plain(&p, &s);
            assert_eq!(e.verdict, Verdict::Ineligible, "{holder:?}");
            assert!(e.criteria[0].message.contains(holder.label()));
        }
    }

    #[test]
    fn the_verdict_is_the_worst_criterion() {
        let p = valid(Project {
            total_cost: None,
            ..project(BeneficiaryType::Commune, SAINT_DIZIER)
        });
        let mut s = scheme("detr");
        assert_eq!(evaluate_plain(&p, &s).verdict, Verdict::Eligible);
        s.rules.min_project_cost = Some(5000);
        assert_eq!(evaluate_plain(&p, &s).verdict, Verdict::ToCheck);
        s.rules.max_commune_population = Some(2000);
        let e = evaluate_plain(&p, &s);
        assert_eq!(e.verdict, Verdict::Ineligible);
        let codes: Vec<_> = e.criteria.iter().map(|c| c.code).collect();
        let without_conditions: Vec<_> = CriterionCode::ALL
            .iter()
            .copied()
            .filter(|c| *c != CriterionCode::Condition)
            .collect();
        assert_eq!(codes, without_conditions);
        assert_eq!(Verdict::ToCheck.as_str(), "TO_CHECK");
        assert_eq!(
            CriterionCode::StartBeforeFiling.as_str(),
            "START_BEFORE_FILING"
        );
        assert_eq!(CriterionStatus::Unknown.as_str(), "UNKNOWN");
    }

    #[test]
    fn invalid_projects_name_the_field() {
        let cases: &[(&str, Edit<Project>)] = &[
            ("communeCode", |p| p.commune_code = "99999".into()),
            ("communeCode", |p| p.commune_code = "  ".into()),
            ("communeCode", |p| p.commune_code = "52".into()),
            ("totalCost", |p| p.total_cost = Some(-1)),
            ("totalCost", |p| p.total_cost = Some(0)),
            ("totalCost", |p| p.total_cost = Some(MAX_AMOUNT + 1)),
            ("startsOn", |p| p.starts_on = Some(day("1899-12-31"))),
            ("filingOn", |p| p.filing_on = Some(day("2101-01-01"))),
            ("themes", |p| {
                p.themes = vec!["commerce".into(), "bistrot".into()]
            }),
            ("text", |p| p.text = Some("a".repeat(MAX_TEXT_CHARS + 1))),
        ];
        for (field, edit) in cases {
            let mut p = project(BeneficiaryType::Commune, SAINT_DIZIER);
            edit(&mut p);
            match validate(p, territories(), day("2026-03-01")) {
                Err(Error::Validation { field: f, message }) => {
                    assert_eq!(f, *field, "{message}");
                    assert!(message.ends_with('.'), "{message}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn validation_resolves_the_commune_and_tidies_the_input() {
        let p = valid(Project {
            themes: vec![" commerce ".into(), "commerce".into()],
            text: Some("   ".into()),
            aid_types: vec![AidType::Grant, AidType::Grant],
            filing_on: None,
            ..project(BeneficiaryType::Commune, " 52448 ")
        });
        assert_eq!(p.commune().name, "Saint-Dizier");
        assert_eq!(p.epci().map(|t| t.code.as_str()), Some(SAINT_DIZIER_EPCI));
        assert_eq!(p.themes(), ["commerce"]);
        assert_eq!(p.aid_types(), [AidType::Grant]);
        assert_eq!(p.text(), None);
        assert_eq!(p.filing_on(), day("2026-03-01"));
        let corsica = valid(project(BeneficiaryType::Commune, "2a004"));
        assert_eq!(corsica.commune().code, "2A004");
    }

    #[test]
    fn the_estimate_applies_rates_clamped_to_amounts() {
        let funding = |rate_min, rate_max, amount_min, amount_max| Funding {
            rate_min,
            rate_max,
            amount_min,
            amount_max,
            ..Funding::default()
        };
        let range = |min, max| Some(AmountRange { min, max });
        #[rustfmt::skip]
        let cases = [
            (funding(Some(20.0), Some(80.0), None, None), Some(100_000), range(Some(20_000), Some(80_000))),
            (funding(Some(20.0), Some(80.0), None, Some(50_000)), Some(100_000), range(Some(20_000), Some(50_000))),
            (funding(Some(20.0), Some(80.0), Some(30_000), None), Some(100_000), range(Some(30_000), Some(80_000))),
            (funding(None, Some(30.0), Some(10_000), Some(100_000)), Some(1_000_000), range(Some(10_000), Some(100_000))),
            (funding(None, None, None, Some(7_500)), Some(5_000), range(None, Some(5_000))),
            (funding(None, Some(27.5), None, None), Some(12_345), range(None, Some(3_394))),
            (funding(Some(80.0), Some(80.0), None, None), Some(12_345), range(Some(9_876), Some(9_876))),
            (funding(Some(20.0), Some(80.0), None, None), None, None),
            (funding(None, None, None, None), Some(100_000), None),
        ];
        for (funding, cost, expected) in cases {
            assert_eq!(
                estimate(&funding, cost),
                expected,
                "{funding:?} on {cost:?}"
            );
        }
    }

    #[test]
    fn ranking_prefers_shared_themes_then_local_then_closing_soon() {
        let p = valid(Project {
            themes: vec!["commerce".into()],
            ..project(BeneficiaryType::Commune, SAINT_DIZIER)
        });
        let national = scheme("national");
        let mut themed = scheme("themed");
        themed.themes = vec!["commerce".into()];
        let mut local = scheme("local");
        local.perimeter = Some(perimeter(TerritoryKind::Department, "52"));
        let mut commune = scheme("commune");
        commune.perimeter = Some(perimeter(TerritoryKind::Commune, SAINT_DIZIER));
        let mut closing = scheme("closing");
        closing.calendar.closes_on = Some(day("2026-03-31"));
        let mut zoned_scheme = scheme("zoned");
        zoned_scheme.perimeter = Some(zoned(&["gal-nord-52"]));
        let mut unloaded = scheme("unloaded");
        unloaded.perimeter = Some(zoned(&["pvd"]));
        let zonings = zonings();
        let key = |s: &SchemeRecord, text| rank_key(&p, s, &zonings, text);
        assert_eq!(key(&local, None).locality, 2);
        assert_eq!(key(&commune, None).locality, 4);
        assert_eq!(key(&zoned_scheme, None).locality, 3);
        assert_eq!(key(&unloaded, None).locality, 0);
        assert_eq!(key(&closing, None).days_to_close, Some(15));
        assert!(key(&themed, None).score() > key(&commune, Some(50.0)).score());
        assert!(key(&commune, None).score() > key(&local, None).score());
        assert!(key(&local, None).score() > key(&national, None).score());
        assert!(key(&closing, None).score() > key(&national, None).score());
        assert!(key(&national, Some(2.0)).score() > key(&local, None).score());
    }

    #[test]
    fn a_condition_applies_when_every_bound_it_states_holds() {
        /// (case and source, commune and EPCI bounds, holder types, holder, commune, applies)
        type ConditionCase<'a> = (
            &'a str,
            Option<i64>,
            Option<i64>,
            &'a [BeneficiaryType],
            BeneficiaryType,
            &'a str,
            bool,
        );
        #[rustfmt::skip]
        let cases: &[ConditionCase<'_>] = &[
            ("CGCT L2334-33: Saint-Dizier (22,858) is above 2,000", Some(2000), None, &[], BeneficiaryType::Commune, SAINT_DIZIER, true),
            ("CGCT L2334-33: Ageville (290) is not above 2,000", Some(2000), None, &[], BeneficiaryType::Commune, AGEVILLE, false),
            ("a bound is strict: 22,858 is not above 22,858", Some(22_858), None, &[], BeneficiaryType::Commune, SAINT_DIZIER, false),
            ("CGCT L2334-33: EPCI of 55,597 above 50,000", None, Some(50_000), &[BeneficiaryType::Epci], BeneficiaryType::Epci, SAINT_DIZIER, true),
            ("CGCT L2334-33: EPCI of 55,597 not above 75,000", None, Some(75_000), &[BeneficiaryType::Epci], BeneficiaryType::Epci, SAINT_DIZIER, false),
            ("an unknown EPCI cannot show it is below the bound", None, Some(75_000), &[], BeneficiaryType::Epci, BREHAT, true),
            ("holder type outside the list", None, Some(50_000), &[BeneficiaryType::Epci], BeneficiaryType::Commune, SAINT_DIZIER, false),
            ("every bound must hold: commune too small", Some(30_000), Some(50_000), &[], BeneficiaryType::Commune, SAINT_DIZIER, false),
            ("every bound holds", Some(20_000), Some(50_000), &[BeneficiaryType::Commune], BeneficiaryType::Commune, SAINT_DIZIER, true),
            ("no bound: always", None, None, &[], BeneficiaryType::Association, AGEVILLE, true),
        ];
        for (name, commune_above, epci_above, holders, holder, commune, expected) in cases {
            let p = valid(project(*holder, commune));
            let mut s = scheme("conditions");
            s.rules.conditions = vec![condition(
                "À vérifier",
                *commune_above,
                *epci_above,
                holders,
            )];
            let e = evaluate_plain(&p, &s);
            let found: Vec<_> = e
                .criteria
                .iter()
                .filter(|c| c.code == CriterionCode::Condition)
                .collect();
            assert_eq!(found.len(), usize::from(*expected), "{name}");
            if *expected {
                assert_eq!(found[0].status, Unknown, "{name}");
                assert_eq!(found[0].message, "À vérifier.");
                assert_eq!(e.verdict, Verdict::ToCheck, "{name}");
            } else {
                assert_eq!(e.verdict, Verdict::Eligible, "{name}");
            }
        }
        // One criterion per condition that applies, in the scheme's order.
        let p = valid(project(BeneficiaryType::Commune, SAINT_DIZIER));
        let mut s = scheme("deux");
        s.rules.conditions = vec![
            condition("Première.", Some(2000), None, &[]),
            condition("Ignorée.", Some(100_000), None, &[]),
            condition("Seconde.", None, None, &[]),
        ];
        let messages: Vec<_> = evaluate_plain(&p, &s)
            .criteria
            .into_iter()
            .filter(|c| c.code == CriterionCode::Condition)
            .map(|c| c.message)
            .collect();
        assert_eq!(messages, ["Première.", "Seconde."]);
    }

    /// Issue 13: « Themes never make a scheme INELIGIBLE »; they only set `relevant`.
    #[test]
    fn themes_never_make_a_scheme_ineligible_nor_to_check() {
        let all: Vec<String> = crate::vocab::THEMES
            .iter()
            .map(|(t, _)| (*t).to_owned())
            .collect();
        for asked in &all {
            for offered in &all {
                let p = valid(Project {
                    themes: vec![asked.clone()],
                    ..project(BeneficiaryType::Commune, SAINT_DIZIER)
                });
                let mut s = scheme("themes");
                s.themes = vec![offered.clone()];
                let e = evaluate_plain(&p, &s);
                assert_eq!(e.verdict, Verdict::Eligible, "{asked} / {offered}");
                let key = rank_key(&p, &s, &Zonings::default(), None);
                assert_eq!(key.relevant, asked == offered, "{asked} / {offered}");
            }
        }
    }

    #[test]
    fn a_scheme_is_relevant_by_a_shared_theme_its_text_or_a_project_saying_nothing() {
        /// (case, project themes, project text, scheme themes, text score, relevant)
        type RelevanceCase<'a> = (
            &'a str,
            &'a [&'a str],
            Option<&'a str>,
            &'a [&'a str],
            Option<f64>,
            bool,
        );
        #[rustfmt::skip]
        let cases: &[RelevanceCase<'_>] = &[
            ("a shared theme", &["commerce", "lien-social"], None, &["commerce"], None, true),
            ("other themes", &["commerce"], None, &["sante"], None, false),
            ("other themes, the text matches", &["commerce"], Some("café"), &["sante"], Some(1.5), true),
            ("other themes, the text does not match", &["commerce"], Some("café"), &["sante"], Some(0.0), false),
            ("no theme, a text that does not match", &[], Some("café"), &["sante"], None, false),
            ("neither themes nor text", &[], None, &["sante"], None, true),
            ("a scheme open to every theme", &["commerce"], None, &[], None, true),
        ];
        for (name, themes, text, offered, score, expected) in cases {
            let p = valid(Project {
                themes: themes.iter().map(|t| (*t).to_owned()).collect(),
                text: text.map(str::to_owned),
                ..project(BeneficiaryType::Commune, SAINT_DIZIER)
            });
            let mut s = scheme("pertinence");
            s.themes = offered.iter().map(|t| (*t).to_owned()).collect();
            let key = rank_key(&p, &s, &Zonings::default(), *score);
            assert_eq!(key.relevant, *expected, "{name}");
        }
    }

    #[test]
    fn french_typography() {
        assert_eq!(plain(&french::number(22_858)), "22 858");
        assert_eq!(plain(&french::number(-1_234_567)), "-1 234 567");
        assert_eq!(french::number(999), "999");
        assert_eq!(plain(&french::euros(300_000)), "300 000 €");
        assert_eq!(plain(&french::percent(27.5)), "27,5 %");
        assert_eq!(plain(&french::percent(80.0)), "80 %");
        assert_eq!(french::date(day("2026-08-01")), "1er août 2026");
        assert_eq!(french::list(&["a", "b", "c"]), "a, b et c");
    }
}
