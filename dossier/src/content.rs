//! The sections of a dossier, modelled on the common subsidy form (CERFA 12156): the holder's
//! identity and legal representative, the project, the budget and the financing plan. Each
//! section is validated when saved; completeness is checked at submission.

use catalog::calendar;
use catalog::email::Email;
use catalog::vocab::{AidType, BeneficiaryType, CostBasis, Nature};
use catalog::{Error, Result, Territories, TerritoryKind};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Who carries the project (CERFA 12156 §1 and §2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Holder {
    pub legal_name: String,
    pub holder_type: BeneficiaryType,
    pub siret: String,
    pub rna: Option<String>,
    pub commune_code: String,
    pub representative: Representative,
}

/// The legal representative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Representative {
    pub name: String,
    pub role: String,
    pub email: String,
    pub phone: Option<String>,
}

/// The project (CERFA 12156 §6).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Project {
    pub title: String,
    pub description: String,
    pub themes: Vec<String>,
    pub commune_code: String,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// Investment or operating (CGCT L1111-10 III concerns investment only); unknown in
    /// dossiers saved before issue 13.
    #[serde(default)]
    pub nature: Option<Nature>,
    /// Whether the budget excludes (HT, the default) or includes (TTC) VAT (arrêté du 21
    /// août 2018).
    #[serde(default = "cost_basis_ht")]
    pub cost_basis: CostBasis,
}

fn cost_basis_ht() -> CostBasis {
    CostBasis::Ht
}

fn grant() -> AidType {
    AidType::Grant
}

/// One line of the budget (on the project's cost basis).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expense {
    pub label: String,
    pub amount: i64,
}

/// One expected resource of the financing plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanLine {
    pub scheme_slug: Option<String>,
    pub funder_name: Option<String>,
    pub amount: i64,
    pub public: bool,
    /// GRANT (the default, and in dossiers saved before issue 13), LOAN,
    /// RECOVERABLE_ADVANCE, GUARANTEE or OTHER: loans are the owner's financing, not aid.
    #[serde(default = "grant")]
    pub aid_type: AidType,
}

/// The financing plan: own funds and one line per expected aid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    pub own_funds: i64,
    pub lines: Vec<PlanLine>,
    pub previous_de_minimis: i64,
    /// The préfet granted a derogation to CGCT L1111-10 III.
    #[serde(default)]
    pub derogation: bool,
}

impl Plan {
    /// The plan in the checker's terms, with the project's nature, place and cost basis
    /// when the project is known.
    pub fn to_financing_plan(
        &self,
        holder_type: BeneficiaryType,
        total_cost: i64,
        project: Option<&Project>,
    ) -> catalog::plan::FinancingPlan {
        catalog::plan::FinancingPlan {
            holder_type,
            total_cost,
            nature: project.and_then(|p| p.nature),
            derogation: self.derogation,
            commune_code: project.map(|p| p.commune_code.clone()),
            cost_basis: project.map_or(CostBasis::Ht, |p| p.cost_basis),
            own_funds: self.own_funds,
            lines: self
                .lines
                .iter()
                .map(|l| catalog::plan::PlanLine {
                    scheme_slug: l.scheme_slug.clone(),
                    funder_name: l.funder_name.clone(),
                    amount: l.amount,
                    public: l.public,
                    aid_type: l.aid_type,
                })
                .collect(),
            previous_de_minimis: self.previous_de_minimis,
        }
    }

    /// The amount asked under `slug`.
    pub fn asked_for(&self, slug: &str) -> i64 {
        self.lines
            .iter()
            .filter(|l| l.scheme_slug.as_deref() == Some(slug))
            .map(|l| l.amount)
            .sum()
    }
}

/// Parts of a dossier to save; `None` keeps what is saved.
#[derive(Clone, Debug, Default)]
pub struct DossierInput {
    pub holder: Option<Holder>,
    pub project: Option<Project>,
    pub expenses: Option<Vec<Expense>>,
    pub plan: Option<Plan>,
    pub certified: Option<bool>,
}

/// The aid types a plan line may have: money, or a guaranteed loan.
const PLAN_LINE_TYPES: [AidType; 5] = [
    AidType::Grant,
    AidType::Loan,
    AidType::RecoverableAdvance,
    AidType::Guarantee,
    AidType::Other,
];

/// Most lines of a budget or a plan, and largest amount, in euros.
pub const MAX_LINES: usize = 50;
pub const MAX_AMOUNT: i64 = 10_000_000_000;

/// A one-line text (a name, a title, a label): trimmed, `min` to `max` characters, no line
/// break or control character.
fn text(field: &str, value: &str, label: &str, min: usize, max: usize) -> Result<String> {
    let value = bounded(field, value, label, min, max)?;
    catalog::text::one_line(field, &value)?;
    Ok(value)
}

/// A text of several lines (a description): as [`text`], line breaks and tabs allowed.
fn paragraphs(field: &str, value: &str, label: &str, min: usize, max: usize) -> Result<String> {
    let value = bounded(field, value, label, min, max)?;
    catalog::text::multi_line(field, &value)?;
    Ok(value)
}

fn bounded(field: &str, value: &str, label: &str, min: usize, max: usize) -> Result<String> {
    let value = value.trim();
    let count = value.chars().count();
    if count < min.max(1) {
        return Err(Error::validation(field, format!("Indiquez {label}.")));
    }
    if count < min {
        return Err(Error::validation(
            field,
            format!("{} : au moins {min} caractères.", capitalise(label)),
        ));
    }
    if count > max {
        return Err(Error::validation(
            field,
            format!("{} : au plus {max} caractères.", capitalise(label)),
        ));
    }
    Ok(value.to_owned())
}

fn capitalise(label: &str) -> String {
    let label = label
        .trim_start_matches("le ")
        .trim_start_matches("la ")
        .trim_start_matches("l'")
        .trim_start_matches("les ");
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn amount(field: &str, value: i64, min: i64) -> Result<i64> {
    if value < min {
        return Err(Error::validation(
            field,
            if min > 0 {
                "Le montant doit être supérieur à zéro.".to_owned()
            } else {
                "Le montant ne peut pas être négatif.".to_owned()
            },
        ));
    }
    if value > MAX_AMOUNT {
        return Err(Error::validation(field, "Ce montant est trop élevé."));
    }
    Ok(value)
}

fn commune(field: &str, code: &str, territories: &Territories) -> Result<String> {
    let code = code.trim();
    match territories.get_kind(code, TerritoryKind::Commune) {
        Some(t) => Ok(t.code.clone()),
        None => Err(Error::validation(
            field,
            format!("Commune inconnue : « {code} » (code INSEE attendu, par exemple 52448)."),
        )),
    }
}

/// True when `digits` (ASCII digits only) pass the Luhn check.
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let d = d * 2;
                if d > 9 { d - 9 } else { d }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Normalises and checks a SIRET: 14 digits (spaces allowed), Luhn-valid. La Poste's
/// establishments (SIREN 356 000 000) follow their own rule: the digits sum to a multiple of 5.
pub fn siret(field: &str, value: &str) -> Result<String> {
    let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::validation(
            field,
            "Le SIRET compte 14 chiffres (SIREN à 9 chiffres suivi de 5 chiffres).",
        ));
    }
    let valid = luhn(&digits)
        || (digits.starts_with("356000000")
            && digits
                .bytes()
                .map(|b| u32::from(b - b'0'))
                .sum::<u32>()
                .is_multiple_of(5));
    if !valid {
        return Err(Error::validation(
            field,
            "Ce SIRET n'est pas valide (clé de contrôle incorrecte) : vérifiez les chiffres.",
        ));
    }
    Ok(digits)
}

/// Normalises and checks an RNA number: `W` followed by 9 digits.
pub fn rna(field: &str, value: &str) -> Result<String> {
    let value: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    let value = value.to_ascii_uppercase();
    let valid = value.len() == 10
        && value.starts_with('W')
        && value[1..].bytes().all(|b| b.is_ascii_digit());
    if !valid {
        return Err(Error::validation(
            field,
            "Le numéro RNA s'écrit W suivi de 9 chiffres (par exemple W521000123).",
        ));
    }
    Ok(value)
}

fn phone(field: &str, value: &str) -> Result<String> {
    let value = value.trim();
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .all(|c| c.is_ascii_digit() || " +.-()".contains(c));
    if !allowed || !(6..=15).contains(&digits) {
        return Err(Error::validation(
            field,
            "Numéro de téléphone invalide (par exemple 03 25 00 00 00).",
        ));
    }
    Ok(value.to_owned())
}

impl Holder {
    /// Checks and normalises every field; errors name `holder.…`.
    pub fn validate(self, territories: &Territories) -> Result<Self> {
        let r = self.representative;
        let email = Email::parse(&r.email)
            .map_err(|message| Error::validation("holder.representative.email", message))?;
        Ok(Holder {
            legal_name: text(
                "holder.legalName",
                &self.legal_name,
                "la raison sociale",
                2,
                200,
            )?,
            holder_type: self.holder_type,
            siret: siret("holder.siret", &self.siret)?,
            rna: match self.rna.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(value) => Some(rna("holder.rna", value)?),
            },
            commune_code: commune("holder.communeCode", &self.commune_code, territories)?,
            representative: Representative {
                name: text(
                    "holder.representative.name",
                    &r.name,
                    "le nom du représentant légal",
                    2,
                    200,
                )?,
                role: text(
                    "holder.representative.role",
                    &r.role,
                    "la qualité du représentant légal",
                    2,
                    200,
                )?,
                email: email.as_str().to_owned(),
                phone: match r.phone.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(value) => Some(phone("holder.representative.phone", value)?),
                },
            },
        })
    }
}

impl Project {
    /// Checks and normalises every field; errors name `project.…`.
    pub fn validate(self, territories: &Territories) -> Result<Self> {
        let mut themes = Vec::new();
        for (i, theme) in self.themes.iter().enumerate() {
            let theme = theme.trim();
            if catalog::vocab::theme_label(theme).is_none() {
                return Err(Error::validation(
                    format!("project.themes.{i}"),
                    format!("Thématique inconnue : « {theme} »."),
                ));
            }
            if !themes.iter().any(|t| t == theme) {
                themes.push(theme.to_owned());
            }
        }
        if let (Some(start), Some(end)) = (self.starts_on, self.ends_on)
            && end < start
        {
            return Err(Error::validation(
                "project.endsOn",
                "La date de fin précède la date de début.",
            ));
        }
        Ok(Project {
            title: text("project.title", &self.title, "le titre du projet", 3, 200)?,
            description: paragraphs(
                "project.description",
                &self.description,
                "la description du projet",
                1,
                20_000,
            )?,
            themes,
            commune_code: commune("project.communeCode", &self.commune_code, territories)?,
            starts_on: self
                .starts_on
                .map(|d| calendar::sane("project.startsOn", d))
                .transpose()?,
            ends_on: self
                .ends_on
                .map(|d| calendar::sane("project.endsOn", d))
                .transpose()?,
            nature: self.nature,
            cost_basis: self.cost_basis,
        })
    }
}

/// Checks the budget lines; errors name `expenses.N.…`.
pub fn validate_expenses(expenses: Vec<Expense>) -> Result<Vec<Expense>> {
    if expenses.len() > MAX_LINES {
        return Err(Error::validation(
            "expenses",
            format!("Le budget compte au plus {MAX_LINES} lignes."),
        ));
    }
    expenses
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            Ok(Expense {
                label: text(
                    &format!("expenses.{i}.label"),
                    &e.label,
                    "l'intitulé de la dépense",
                    1,
                    200,
                )?,
                amount: amount(&format!("expenses.{i}.amount"), e.amount, 1)?,
            })
        })
        .collect()
}

impl Plan {
    /// Checks the plan's own shape (amounts, one source per line); errors name
    /// `financingPlan.…`. The co-financing rules are checked by [`catalog::plan::check`].
    pub fn validate(self) -> Result<Self> {
        if self.lines.len() > MAX_LINES {
            return Err(Error::validation(
                "financingPlan.lines",
                format!("Le plan compte au plus {MAX_LINES} lignes."),
            ));
        }
        let lines = self
            .lines
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                let scheme_slug = l
                    .scheme_slug
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty());
                if let Some(slug) = &scheme_slug {
                    catalog::text::one_line(&format!("financingPlan.lines.{i}.schemeSlug"), slug)?;
                }
                let funder_name = match l.funder_name.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some(name) => Some(text(
                        &format!("financingPlan.lines.{i}.funderName"),
                        name,
                        "le nom du financeur",
                        1,
                        200,
                    )?),
                };
                if scheme_slug.is_none() && funder_name.is_none() {
                    return Err(Error::validation(
                        format!("financingPlan.lines.{i}.schemeSlug"),
                        "Indiquez le dispositif ou le nom du financeur.",
                    ));
                }
                if !PLAN_LINE_TYPES.contains(&l.aid_type) {
                    return Err(Error::validation(
                        format!("financingPlan.lines.{i}.aidType"),
                        "Une ligne du plan est une subvention, un prêt, une avance remboursable ou une garantie.",
                    ));
                }
                Ok(PlanLine {
                    scheme_slug,
                    funder_name,
                    amount: amount(&format!("financingPlan.lines.{i}.amount"), l.amount, 0)?,
                    public: l.public,
                    aid_type: l.aid_type,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan {
            derogation: self.derogation,
            own_funds: amount("financingPlan.ownFunds", self.own_funds, 0)?,
            lines,
            previous_de_minimis: amount(
                "financingPlan.previousDeMinimis",
                self.previous_de_minimis,
                0,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siret_is_luhn_checked_and_normalised() {
        assert_eq!(siret("s", "215 202 699 00017").unwrap(), "21520269900017");
        assert!(siret("s", "21520269900016").is_err());
        assert!(siret("s", "2152026990001").is_err());
        assert!(siret("s", "2152026990001A").is_err());
        // La Poste's rule: sum of digits multiple of 5.
        assert!(siret("s", "35600000000048").is_ok());
        assert!(siret("s", "35600000012300").is_ok());
        assert!(siret("s", "35600000012345").is_err());
        let err = siret("holder.siret", "123").unwrap_err();
        assert!(matches!(err, Error::Validation { field, .. } if field == "holder.siret"));
    }

    #[test]
    fn rna_is_w_and_nine_digits() {
        assert_eq!(rna("r", "w521000123").unwrap(), "W521000123");
        assert!(rna("r", "W52100012").is_err());
        assert!(rna("r", "X521000123").is_err());
    }

    #[test]
    fn plan_lines_need_a_source_and_non_negative_amounts() {
        let plan = Plan {
            own_funds: 100,
            previous_de_minimis: 0,
            derogation: false,
            lines: vec![PlanLine {
                scheme_slug: None,
                funder_name: Some("  ".into()),
                amount: 10,
                public: true,
                aid_type: AidType::Grant,
            }],
        };
        let err = plan.clone().validate().unwrap_err();
        assert!(
            matches!(err, Error::Validation { field, .. } if field == "financingPlan.lines.0.schemeSlug")
        );
        let mut negative = plan;
        negative.lines[0].funder_name = Some("Mécène".into());
        negative.own_funds = -1;
        let err = negative.validate().unwrap_err();
        assert!(
            matches!(err, Error::Validation { field, .. } if field == "financingPlan.ownFunds")
        );
    }

    #[test]
    fn plan_lines_bring_money_and_old_dossiers_still_read() {
        let mut plan = Plan {
            own_funds: 100,
            previous_de_minimis: 0,
            derogation: false,
            lines: vec![PlanLine {
                scheme_slug: None,
                funder_name: Some("Banque des Territoires".into()),
                amount: 10,
                public: true,
                aid_type: AidType::Loan,
            }],
        };
        assert!(plan.clone().validate().is_ok());
        plan.lines[0].aid_type = AidType::TechnicalEngineering;
        let err = plan.validate().unwrap_err();
        assert!(
            matches!(err, Error::Validation { field, .. } if field == "financingPlan.lines.0.aidType")
        );
        // Saved before issue 13: no aid type, derogation, nature nor cost basis.
        let old: Plan = serde_json::from_str(
            r#"{"ownFunds":1,"previousDeMinimis":0,"lines":[{"schemeSlug":null,"funderName":"X","amount":2,"public":true}]}"#,
        )
        .unwrap();
        assert_eq!(
            (old.lines[0].aid_type, old.derogation),
            (AidType::Grant, false)
        );
        let old: Project = serde_json::from_str(
            r#"{"title":"Café","description":"D","themes":[],"communeCode":"52001","startsOn":null,"endsOn":null}"#,
        )
        .unwrap();
        assert_eq!((old.nature, old.cost_basis), (None, CostBasis::Ht));
    }

    #[test]
    fn expenses_name_the_line_at_fault() {
        let err = validate_expenses(vec![
            Expense {
                label: "Travaux".into(),
                amount: 1000,
            },
            Expense {
                label: "Études".into(),
                amount: 0,
            },
        ])
        .unwrap_err();
        assert!(matches!(err, Error::Validation { field, .. } if field == "expenses.1.amount"));
    }

    fn holder() -> Holder {
        Holder {
            legal_name: "Commune de Chaumont".into(),
            holder_type: BeneficiaryType::Commune,
            siret: "21520269900017".into(),
            rna: None,
            commune_code: "52001".into(),
            representative: Representative {
                name: "Christine Guillemy".into(),
                role: "Maire".into(),
                email: "mairie@chaumont.fr".into(),
                phone: Some("03 25 30 60 00".into()),
            },
        }
    }

    fn project() -> Project {
        Project {
            title: "Maison de santé".into(),
            description: "Une maison de santé.\n\nDeux médecins\tet une infirmière.".into(),
            themes: vec![],
            commune_code: "52001".into(),
            starts_on: NaiveDate::from_ymd_opt(2026, 9, 1),
            ends_on: NaiveDate::from_ymd_opt(2027, 6, 30),
            nature: Some(Nature::Investment),
            cost_basis: CostBasis::Ht,
        }
    }

    fn field_of(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(Error::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn one_line_fields_of_a_dossier_refuse_line_breaks_and_control_characters() {
        let territories = Territories::embedded();
        assert!(holder().validate(&territories).is_ok());
        type Edit = fn(&mut Holder);
        let cases: [(&str, Edit); 3] = [
            ("holder.legalName", |h| {
                h.legal_name = "Commune\nde Chaumont".into()
            }),
            ("holder.representative.name", |h| {
                h.representative.name = "Christine\rGuillemy".into()
            }),
            ("holder.representative.role", |h| {
                h.representative.role = "Maire\u{0}".into()
            }),
        ];
        for (field, edit) in cases {
            let mut h = holder();
            edit(&mut h);
            assert_eq!(field_of(h.validate(&territories)), field);
        }
        let mut p = project();
        p.title = "Maison\nde santé".into();
        assert_eq!(field_of(p.validate(&territories)), "project.title");
        let label = validate_expenses(vec![Expense {
            label: "Travaux\tgros œuvre".into(),
            amount: 10,
        }]);
        assert_eq!(field_of(label), "expenses.0.label");
    }

    #[test]
    fn a_project_description_keeps_its_lines_but_refuses_other_control_characters() {
        let territories = Territories::embedded();
        let valid = project().validate(&territories).expect("a valid project");
        assert!(valid.description.contains("\n\nDeux médecins\tet"));
        let mut p = project();
        p.description = "Texte\u{1b}[2J effacé".into();
        assert_eq!(field_of(p.validate(&territories)), "project.description");
    }

    #[test]
    fn project_dates_outside_1900_to_2100_name_their_field() {
        let territories = Territories::embedded();
        let mut p = project();
        p.starts_on = NaiveDate::from_ymd_opt(-1, 1, 1);
        p.ends_on = None;
        assert_eq!(field_of(p.validate(&territories)), "project.startsOn");
        let mut p = project();
        p.ends_on = NaiveDate::from_ymd_opt(9999, 12, 31);
        assert_eq!(field_of(p.validate(&territories)), "project.endsOn");
    }
}
