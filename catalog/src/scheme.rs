//! Funding schemes: the record of DESIGN §5 (what is imported, exported and edited), its
//! validation, and its relational storage.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::actor::{Actor, Role};
use crate::calendar;
use crate::change;
use crate::effects::Effects;
use crate::email::Email;
use crate::entity::{
    account as account_row, funder as funder_row, scheme as scheme_row, scheme_document,
    scheme_funder, scheme_perimeter, scheme_tag,
};
use crate::error::{Error, Result};
use crate::funder::{self, FunderRecord};
use crate::outbox::{self, Template};
use crate::territory::{Territories, TerritoryKind};
use crate::text;
use crate::vocab::{
    AidType, BeneficiaryType, CostBasis, Nature, Recurrence, SchemeStatus, StateAidRegime,
    theme_label,
};

/// `null` and absence both mean the default (an empty list).
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Where a scheme applies. `national` or any listed territory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Perimeter {
    #[serde(default)]
    pub national: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub regions: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub departments: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub epcis: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub communes: Vec<String>,
    /// Slugs of zonings (named lists of communes: a LEADER GAL, « Petites villes de
    /// demain », FRR…); a commune is inside when any list contains it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub zonings: Vec<String>,
}

impl Perimeter {
    /// The nationwide perimeter.
    pub fn national() -> Self {
        Perimeter {
            national: Some(true),
            ..Perimeter::default()
        }
    }

    fn lists(&self) -> [(TerritoryKind, &'static str, &Vec<String>); 4] {
        [
            (TerritoryKind::Region, "regions", &self.regions),
            (TerritoryKind::Department, "departments", &self.departments),
            (TerritoryKind::Epci, "epcis", &self.epcis),
            (TerritoryKind::Commune, "communes", &self.communes),
        ]
    }

    pub fn is_national(&self) -> bool {
        self.national.unwrap_or(false)
    }

    /// Whether the perimeter lists any territory or zoning.
    pub fn lists_anything(&self) -> bool {
        !self.zonings.is_empty() || self.lists().iter().any(|(_, _, l)| !l.is_empty())
    }
}

/// A condition the data cannot decide (a fiscal criterion, a density…), said to the holder
/// as something to check when it applies. It applies when every bound it states holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// What to check and with whom, in French.
    pub text: String,
    #[serde(default)]
    pub when_commune_population_above: Option<i64>,
    #[serde(default)]
    pub when_epci_population_above: Option<i64>,
    /// Only for these holders (any holder when empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub when_holder_types: Vec<BeneficiaryType>,
}

/// Eligibility conditions; an absent rule means no such condition.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rules {
    #[serde(default)]
    pub max_commune_population: Option<i64>,
    #[serde(default)]
    pub max_epci_population: Option<i64>,
    #[serde(default)]
    pub min_project_cost: Option<i64>,
    #[serde(default)]
    pub max_project_cost: Option<i64>,
    #[serde(default)]
    pub no_start_before_filing: Option<bool>,
    #[serde(default)]
    pub requires_national_public_cofunding: Option<bool>,
    #[serde(default)]
    pub economic_activity: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub conditions: Vec<Condition>,
}

/// Rates (percent) and amounts (whole euros excluding VAT).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Funding {
    #[serde(default)]
    pub rate_min: Option<f64>,
    #[serde(default)]
    pub rate_max: Option<f64>,
    #[serde(default)]
    pub amount_min: Option<i64>,
    #[serde(default)]
    pub amount_max: Option<i64>,
    #[serde(default)]
    pub max_public_aid_rate: Option<f64>,
    #[serde(default)]
    pub regime: Option<StateAidRegime>,
    /// Whether rates and amounts apply to costs excluding or including VAT (unknown when
    /// absent).
    #[serde(default)]
    pub basis: Option<CostBasis>,
    /// For EU funds that need national public co-funding (LEADER): the EU share of the
    /// public money, in percent (80 means 1 € of national public money for 4 € of FEADER).
    #[serde(default)]
    pub eu_cofunding_rate: Option<f64>,
    /// The rate the scheme's funder usually grants, when it says so (a département's DETR
    /// bands): a suggested plan uses it before `rateMax`.
    #[serde(default)]
    pub typical_rate: Option<f64>,
}

/// When a scheme can be applied for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Calendar {
    #[serde(default)]
    pub recurrence: Option<Recurrence>,
    #[serde(default)]
    pub opens_on: Option<NaiveDate>,
    #[serde(default)]
    pub closes_on: Option<NaiveDate>,
}

/// A scheme as written in the `guichet` JSON format (DESIGN §5).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SchemeRecord {
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    pub funders: Vec<FunderRecord>,
    pub beneficiary_types: Vec<BeneficiaryType>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub themes: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub aid_types: Vec<AidType>,
    /// What the scheme funds: investment, operating or both (both when empty).
    #[serde(default, deserialize_with = "null_as_default")]
    pub natures: Vec<Nature>,
    #[serde(default)]
    pub perimeter: Option<Perimeter>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub rules: Rules,
    #[serde(default, deserialize_with = "null_as_default")]
    pub funding: Funding,
    #[serde(default, deserialize_with = "null_as_default")]
    pub calendar: Calendar,
    #[serde(default, deserialize_with = "null_as_default")]
    pub required_documents: Vec<String>,
    #[serde(default)]
    pub application_url: Option<String>,
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub verified_on: Option<NaiveDate>,
    #[serde(default)]
    pub status: Option<SchemeStatus>,
}

/// One problem with one field of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::validation(e.field, e.message)
    }
}

impl FieldError {
    /// The problem a field check found, if any (checks only return validation errors).
    pub(crate) fn of(check: Result<impl Sized>) -> Option<FieldError> {
        match check {
            Err(Error::Validation { field, message }) => Some(FieldError { field, message }),
            Err(e) => Some(FieldError {
                field: String::new(),
                message: e.to_string(),
            }),
            Ok(_) => None,
        }
    }
}

/// True for lowercase ASCII kebab-case of at most 120 characters.
pub fn is_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 120
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn is_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > 10
        && !url.contains(char::is_whitespace)
}

/// Trims text and turns blank strings into `None`.
fn tidy(text: &mut Option<String>) {
    if let Some(t) = text {
        let trimmed = t.trim();
        if trimmed.is_empty() {
            *text = None;
        } else if trimmed.len() != t.len() {
            *t = trimmed.to_owned();
        }
    }
}

impl SchemeRecord {
    /// Parses one JSON value, naming the field of the first error (`funding.rateMax`).
    pub fn from_json(value: serde_json::Value) -> Result<Self, FieldError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner().to_string();
            FieldError {
                field: if field == "." { String::new() } else { field },
                message: french_serde_message(&inner),
            }
        })
    }

    /// Puts the record in canonical form: trimmed text, blank text as null, the perimeter
    /// explicit, lists without duplicates. Idempotent.
    pub fn normalize(&mut self) {
        self.slug = self.slug.trim().to_owned();
        self.title = self.title.trim().to_owned();
        tidy(&mut self.summary);
        tidy(&mut self.description);
        tidy(&mut self.application_url);
        tidy(&mut self.source_url);
        for f in &mut self.funders {
            f.normalize();
        }
        dedup(&mut self.beneficiary_types);
        for theme in &mut self.themes {
            *theme = theme.trim().to_owned();
        }
        dedup(&mut self.themes);
        dedup(&mut self.aid_types);
        dedup(&mut self.natures);
        for condition in &mut self.rules.conditions {
            condition.text = condition.text.trim().to_owned();
            dedup(&mut condition.when_holder_types);
        }
        let mut perimeter = self.perimeter.take().unwrap_or_else(Perimeter::national);
        for list in [
            &mut perimeter.regions,
            &mut perimeter.departments,
            &mut perimeter.epcis,
            &mut perimeter.communes,
        ] {
            for code in list.iter_mut() {
                *code = code.trim().to_uppercase();
            }
            dedup(list);
        }
        for slug in perimeter.zonings.iter_mut() {
            *slug = slug.trim().to_lowercase();
        }
        dedup(&mut perimeter.zonings);
        let listed = perimeter.lists_anything();
        perimeter.national = Some(perimeter.national.unwrap_or(!listed));
        self.perimeter = Some(perimeter);
        self.required_documents = self
            .required_documents
            .iter()
            .map(|d| d.trim().to_owned())
            .collect();
        if self.status.is_none() {
            self.status = Some(SchemeStatus::Draft);
        }
    }

    /// Every problem in the record, each naming its field.
    pub fn validate(&self, territories: &Territories) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut err = |field: &str, message: String| {
            errors.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };
        if !is_slug(&self.slug) {
            err(
                "slug",
                "L'identifiant doit être en minuscules sans accents, mots séparés par des tirets (ex. « detr-haute-marne »).".into(),
            );
        }
        if self.title.is_empty() {
            err("title", "Le titre est obligatoire.".into());
        } else if self.title.chars().count() > 300 {
            err(
                "title",
                "Le titre ne doit pas dépasser 300 caractères.".into(),
            );
        }
        if self.funders.is_empty() {
            err("funders", "Indiquez au moins un financeur.".into());
        }
        for (i, f) in self.funders.iter().enumerate() {
            for e in f
                .validate()
                .into_iter()
                .chain(f.validate_jurisdiction(territories))
            {
                err(&format!("funders.{i}.{}", e.field), e.message);
            }
        }
        if self.beneficiary_types.is_empty() {
            err(
                "beneficiaryTypes",
                "Indiquez au moins un type de bénéficiaire.".into(),
            );
        }
        for (i, theme) in self.themes.iter().enumerate() {
            if theme_label(theme).is_none() {
                err(
                    &format!("themes.{i}"),
                    format!("Thème inconnu : « {theme} »."),
                );
            }
        }
        if let Some(perimeter) = &self.perimeter {
            for (kind, name, codes) in perimeter.lists() {
                for (i, code) in codes.iter().enumerate() {
                    if territories.get_kind(code, kind).is_none() {
                        err(
                            &format!("perimeter.{name}.{i}"),
                            format!("Code de territoire inconnu : « {code} »."),
                        );
                    }
                }
            }
        }
        let r = &self.rules;
        for (field, value) in [
            ("rules.maxCommunePopulation", r.max_commune_population),
            ("rules.maxEpciPopulation", r.max_epci_population),
            ("rules.minProjectCost", r.min_project_cost),
            ("rules.maxProjectCost", r.max_project_cost),
            ("funding.amountMin", self.funding.amount_min),
            ("funding.amountMax", self.funding.amount_max),
        ] {
            if value.is_some_and(|v| v < 0) {
                err(field, "La valeur ne peut pas être négative.".into());
            }
        }
        if let (Some(min), Some(max)) = (r.min_project_cost, r.max_project_cost)
            && min > max
        {
            err(
                "rules.maxProjectCost",
                format!("Le coût maximal ({max} €) est inférieur au coût minimal ({min} €)."),
            );
        }
        let f = &self.funding;
        for (field, value) in [
            ("funding.rateMin", f.rate_min),
            ("funding.rateMax", f.rate_max),
            ("funding.maxPublicAidRate", f.max_public_aid_rate),
            ("funding.euCofundingRate", f.eu_cofunding_rate),
            ("funding.typicalRate", f.typical_rate),
        ] {
            if value.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
                err(
                    field,
                    format!(
                        "Un taux s'écrit en pourcentage, de 0 à 100 (30 pour 30\u{a0}%)\u{a0}: {} n'en est pas un.",
                        value.unwrap_or_default().to_string().replace('.', ",")
                    ),
                );
            }
        }
        if let (Some(min), Some(max)) = (f.rate_min, f.rate_max)
            && min > max
        {
            err(
                "funding.rateMax",
                format!("Le taux maximal ({max} %) est inférieur au taux minimal ({min} %)."),
            );
        }
        if let (Some(min), Some(max)) = (f.amount_min, f.amount_max)
            && min > max
        {
            err(
                "funding.amountMax",
                format!("Le montant maximal ({max} €) est inférieur au montant minimal ({min} €)."),
            );
        }
        if let (Some(open), Some(close)) = (self.calendar.opens_on, self.calendar.closes_on)
            && open > close
        {
            err(
                "calendar.closesOn",
                "La date de clôture précède la date d'ouverture.".into(),
            );
        }
        for (field, url) in [
            ("applicationUrl", &self.application_url),
            ("sourceUrl", &self.source_url),
        ] {
            if url.as_deref().is_some_and(|u| !is_url(u)) {
                err(
                    field,
                    "L'adresse doit commencer par https:// ou http://.".into(),
                );
            }
        }
        if let Some(perimeter) = &self.perimeter {
            for (i, slug) in perimeter.zonings.iter().enumerate() {
                if !is_slug(slug) {
                    err(
                        &format!("perimeter.zonings.{i}"),
                        format!("Identifiant de zonage invalide : « {slug} »."),
                    );
                }
            }
        }
        for (i, condition) in self.rules.conditions.iter().enumerate() {
            if condition.text.is_empty() {
                err(
                    &format!("rules.conditions.{i}.text"),
                    "Le texte de la condition est obligatoire.".into(),
                );
            }
            for (key, value) in [
                (
                    "whenCommunePopulationAbove",
                    condition.when_commune_population_above,
                ),
                (
                    "whenEpciPopulationAbove",
                    condition.when_epci_population_above,
                ),
            ] {
                if value.is_some_and(|v| v < 0) {
                    err(
                        &format!("rules.conditions.{i}.{key}"),
                        "La valeur ne peut pas être négative.".into(),
                    );
                }
            }
        }
        for (i, doc) in self.required_documents.iter().enumerate() {
            if doc.is_empty() {
                err(
                    &format!("requiredDocuments.{i}"),
                    "Le nom de la pièce est vide.".into(),
                );
            }
        }
        errors.extend(self.text_and_date_problems());
        errors
    }

    /// Line breaks or control characters where they do not belong, and dates out of range.
    fn text_and_date_problems(&self) -> Vec<FieldError> {
        let mut checks = vec![
            FieldError::of(text::one_line("slug", &self.slug)),
            FieldError::of(text::one_line("title", &self.title)),
        ];
        for (field, value) in [
            ("summary", &self.summary),
            ("applicationUrl", &self.application_url),
            ("sourceUrl", &self.source_url),
        ] {
            if let Some(value) = value {
                checks.push(FieldError::of(text::one_line(field, value)));
            }
        }
        for (i, condition) in self.rules.conditions.iter().enumerate() {
            checks.push(FieldError::of(text::multi_line(
                &format!("rules.conditions.{i}.text"),
                &condition.text,
            )));
        }
        if let Some(description) = &self.description {
            checks.push(FieldError::of(text::multi_line("description", description)));
        }
        for (i, doc) in self.required_documents.iter().enumerate() {
            checks.push(FieldError::of(text::one_line(
                &format!("requiredDocuments.{i}"),
                doc,
            )));
        }
        for (field, date) in [
            ("calendar.opensOn", self.calendar.opens_on),
            ("calendar.closesOn", self.calendar.closes_on),
            ("verifiedOn", self.verified_on),
        ] {
            if let Some(date) = date {
                checks.push(FieldError::of(calendar::sane(field, date)));
            }
        }
        checks.into_iter().flatten().collect()
    }
}

fn dedup<T: PartialEq + Clone>(list: &mut Vec<T>) {
    let mut seen: Vec<T> = Vec::with_capacity(list.len());
    list.retain(|v| {
        if seen.contains(v) {
            false
        } else {
            seen.push(v.clone());
            true
        }
    });
}

/// Rewrites serde's English messages into French for users.
fn french_serde_message(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let name = rest.split(',').next().unwrap_or(rest);
        return format!("Champ inconnu : {name}.");
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        let (value, expected) = rest.split_once(", expected ").unwrap_or((rest, ""));
        return format!("Valeur inconnue : {value} (valeurs possibles : {expected}).");
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        return format!("Champ obligatoire manquant : {rest}.");
    }
    if message.contains("premature end of input")
        || message.contains("input contains invalid characters")
        || message.contains("trailing input")
    {
        return "Date invalide : le format attendu est AAAA-MM-JJ.".into();
    }
    if message.contains("invalid type") || message.contains("invalid value") {
        return format!("Valeur invalide ({message}).");
    }
    format!("Valeur invalide : {message}.")
}

/// A stored scheme: the record plus its identity and timestamps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scheme {
    pub id: i64,
    pub record: SchemeRecord,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When a funder editor asked for its publication, until staff answer.
    #[serde(default)]
    pub publication_requested_at: Option<DateTime<Utc>>,
    /// What staff asked the funder editors to rework, until it is published.
    #[serde(default)]
    pub review_comment: Option<String>,
}

impl Scheme {
    pub fn status(&self) -> SchemeStatus {
        self.record.status.unwrap_or(SchemeStatus::Draft)
    }
}

/// What saving a record did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Saved {
    Created,
    Updated,
    Unchanged,
}

/// Validates and saves a record (matched by slug): creates it or replaces its content,
/// with its funders, in one transaction, and logs the change (staff; for imports and the
/// seed: a record without status is a draft, and nothing touches the search index).
#[tracing::instrument(skip_all, fields(slug = %record.slug))]
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    territories: &Territories,
    record: SchemeRecord,
) -> Result<(Saved, Scheme)> {
    actor.require_staff()?;
    store(db, actor, &Curator::Staff, territories, record, Write::Save).await
}

/// Who may write a scheme, and which ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Curator {
    /// Staff, administrators and the command line: every scheme, every status.
    Staff,
    /// A funder agent with `editor`: the schemes whose funders include its funder or one of
    /// its services (`network`, the funder first), and only as drafts.
    Editor { funder_id: i64, network: Vec<i64> },
}

impl Curator {
    /// What `actor` may curate; fails for anyone else.
    pub async fn of(db: &impl ConnectionTrait, actor: &Actor) -> Result<Curator> {
        match actor {
            Actor::Anonymous => Err(Error::Unauthenticated),
            _ if actor.is_staff() => Ok(Curator::Staff),
            Actor::Account {
                role: crate::Role::Funder,
                editor: true,
                funder_id: Some(funder_id),
                ..
            } => Ok(Curator::Editor {
                funder_id: *funder_id,
                network: network_of(db, *funder_id).await?,
            }),
            _ => Err(Error::Forbidden),
        }
    }

    /// What `actor` may curate, or `None` for someone who only reads the catalogue.
    pub async fn of_reader(db: &impl ConnectionTrait, actor: &Actor) -> Result<Option<Curator>> {
        match Curator::of(db, actor).await {
            Ok(c) => Ok(Some(c)),
            Err(Error::Unauthenticated | Error::Forbidden) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether this curator may write a scheme funded by `funders` (ids).
    pub fn covers(&self, funders: &[i64]) -> bool {
        match self {
            Curator::Staff => true,
            Curator::Editor { network, .. } => funders.iter().any(|f| network.contains(f)),
        }
    }
}

/// A funder and every service under it (by `funder.parent_id`), the funder first.
pub async fn network_of(db: &impl ConnectionTrait, funder_id: i64) -> Result<Vec<i64>> {
    let links: Vec<(i64, Option<i64>)> = funder_row::Entity::find()
        .select_only()
        .column(funder_row::Column::Id)
        .column(funder_row::Column::ParentId)
        .into_tuple()
        .all(db)
        .await?;
    let mut network = vec![funder_id];
    let mut i = 0;
    while i < network.len() {
        let parent = network[i];
        for (id, p) in &links {
            if *p == Some(parent) && !network.contains(id) {
                network.push(*id);
            }
        }
        i += 1;
    }
    Ok(network)
}

/// The ids of the funders of the scheme `scheme_id`.
async fn funder_ids_of(db: &impl ConnectionTrait, scheme_id: i64) -> Result<Vec<i64>> {
    Ok(scheme_funder::Entity::find()
        .select_only()
        .column(scheme_funder::Column::FunderId)
        .filter(scheme_funder::Column::SchemeId.eq(scheme_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// How a write treats the status and the publication request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Write {
    /// Import and seed: the record says everything (no status: draft).
    Save,
    /// A new scheme through the catalogue screens: the slug must be free.
    Create,
    /// An edit of an existing scheme: without status, it keeps its status.
    Update,
}

async fn store<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    curator: &Curator,
    territories: &Territories,
    mut record: SchemeRecord,
    write: Write,
) -> Result<(Saved, Scheme)> {
    record.slug = record.slug.trim().to_owned();
    let txn = crate::db::begin_write(db).await?;
    let existing = scheme_row::Entity::find()
        .filter(scheme_row::Column::Slug.eq(&record.slug))
        .one(&txn)
        .await?;
    match (write, &existing) {
        (Write::Create, Some(_)) => {
            return Err(Error::Conflict(format!(
                "Un dispositif a déjà l'identifiant « {} ».",
                record.slug
            )));
        }
        (Write::Update, None) => {
            return Err(Error::NotFound(format!("Dispositif « {} »", record.slug)));
        }
        _ => {}
    }
    if write == Write::Update
        && record.status.is_none()
        && let Some(row) = &existing
    {
        record.status = SchemeStatus::parse(&row.status);
    }
    if let Curator::Editor { .. } = curator {
        editor_may_write(&txn, curator, existing.as_ref(), &mut record).await?;
    }
    record.normalize();
    if let Some(e) = record.validate(territories).into_iter().next() {
        return Err(e.into());
    }
    let now = Utc::now();
    let published = record.status == Some(SchemeStatus::Published);
    let review = match &existing {
        Some(row) if !published => (row.publication_requested_at, row.review_comment.clone()),
        _ => (None, None),
    };
    let (saved, id, created_at) = match existing {
        Some(row) => {
            let current = hydrate(&txn, vec![row.clone()]).await?.remove(0);
            if current.record == record {
                txn.commit().await?;
                return Ok((Saved::Unchanged, current));
            }
            let changed = changed_fields(&current.record, &record);
            let mut active = to_active(&record, now);
            active.id = Set(row.id);
            active.created_at = Set(row.created_at);
            if published {
                // Published: nothing waits any more.
                active.publication_requested_at = Set(None);
                active.review_comment = Set(None);
            }
            scheme_row::Entity::update(active).exec(&txn).await?;
            delete_children(&txn, row.id).await?;
            change::record(
                &txn,
                actor,
                "scheme",
                &record.slug,
                "update",
                serde_json::json!({ "fields": changed }),
            )
            .await?;
            let status = record.status.unwrap_or(SchemeStatus::Draft).as_str();
            if row.status != status {
                change::record(
                    &txn,
                    actor,
                    "scheme",
                    &record.slug,
                    "status",
                    serde_json::json!({
                        "from": row.status,
                        "to": status,
                    }),
                )
                .await?;
            }
            (Saved::Updated, row.id, row.created_at)
        }
        None => {
            let inserted = scheme_row::Entity::insert(to_active(&record, now))
                .exec(&txn)
                .await?;
            change::record(
                &txn,
                actor,
                "scheme",
                &record.slug,
                "create",
                serde_json::json!({}),
            )
            .await?;
            (Saved::Created, inserted.last_insert_id, now)
        }
    };
    insert_children(&txn, actor, id, &record).await?;
    txn.commit().await?;
    Ok((
        saved,
        Scheme {
            id,
            record,
            created_at,
            updated_at: now,
            publication_requested_at: review.0,
            review_comment: review.1,
        },
    ))
}

/// The rules of a funder editor's write, checked in its transaction: the scheme (as it was,
/// and as it will be) is funded by the editor's funder or one of its services; a published
/// scheme stays as the public sees it (staff change it: an editor's edit would either
/// unpublish it or publish unreviewed text, so it is refused); what the editor saves is a
/// draft; the funders it names are taken as Guichet holds them (an editor does not rename
/// or re-address a funder through a scheme).
async fn editor_may_write(
    db: &impl ConnectionTrait,
    curator: &Curator,
    existing: Option<&scheme_row::Model>,
    record: &mut SchemeRecord,
) -> Result<()> {
    if let Some(row) = existing {
        if !curator.covers(&funder_ids_of(db, row.id).await?) {
            return Err(Error::Forbidden);
        }
        if row.status == SchemeStatus::Published.as_str() {
            return Err(Error::Conflict(
                "Ce dispositif est publié : seule l'équipe du guichet peut le modifier. \
                 Écrivez-lui la modification à faire."
                    .into(),
            ));
        }
    }
    match record.status {
        None | Some(SchemeStatus::Draft) => record.status = Some(SchemeStatus::Draft),
        Some(SchemeStatus::Archived)
            if existing.is_some_and(|r| r.status == SchemeStatus::Archived.as_str()) =>
        {
            record.status = Some(SchemeStatus::Draft)
        }
        Some(_) => {
            return Err(Error::validation(
                "status",
                "Un financeur enregistre ses dispositifs en brouillon ; demandez leur \
                 publication à l'équipe du guichet.",
            ));
        }
    }
    let mut ids = Vec::with_capacity(record.funders.len());
    for (i, f) in record.funders.iter_mut().enumerate() {
        let stored = funder_row::Entity::find()
            .filter(funder_row::Column::Slug.eq(f.slug.trim()))
            .one(db)
            .await?
            .ok_or_else(|| {
                Error::validation(
                    format!("funders.{i}.slug"),
                    format!(
                        "Financeur inconnu : « {} ». L'équipe du guichet crée les financeurs.",
                        f.slug.trim()
                    ),
                )
            })?;
        ids.push(stored.id);
        *f = funder::Funder::from(stored).record;
    }
    if !curator.covers(&ids) {
        return Err(Error::validation(
            "funders",
            "Parmi les financeurs du dispositif, indiquez le vôtre ou l'un de ses services.",
        ));
    }
    Ok(())
}

/// Creates a scheme through the catalogue screens (staff, or a funder editor for its own
/// funder, then as a draft); searchable before this returns.
pub async fn create<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    territories: &Territories,
    record: SchemeRecord,
) -> Result<Scheme> {
    let curator = Curator::of(db, actor).await?;
    let (_, saved) = store(db, actor, &curator, territories, record, Write::Create).await?;
    fx.schemes_changed(std::slice::from_ref(&saved)).await?;
    Ok(saved)
}

/// Replaces the content of the scheme `slug` (staff, or a funder editor for a draft of its
/// own funder). A record without status keeps the scheme's status; the slug cannot change.
/// Searchable before this returns.
pub async fn update<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    territories: &Territories,
    slug: &str,
    record: SchemeRecord,
) -> Result<Scheme> {
    let curator = Curator::of(db, actor).await?;
    if record.slug.trim() != slug.trim() {
        return Err(Error::validation(
            "slug",
            "L'identifiant d'un dispositif ne peut pas être changé.",
        ));
    }
    let (_, saved) = store(db, actor, &curator, territories, record, Write::Update).await?;
    fx.schemes_changed(std::slice::from_ref(&saved)).await?;
    Ok(saved)
}

/// Sets a scheme's status, logging the change; unchanged when it already has it (staff).
/// Publishing clears a pending publication request and its review comment, and tells the
/// editors who asked.
pub async fn set_status<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    slug: &str,
    status: SchemeStatus,
) -> Result<Scheme> {
    actor.require_staff()?;
    let txn = crate::db::begin_write(db).await?;
    let row = scheme_row::Entity::find()
        .filter(scheme_row::Column::Slug.eq(slug))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("Dispositif « {slug} »")))?;
    let requested = row.publication_requested_at.is_some();
    let mut mailed = false;
    if row.status != status.as_str() || (status == SchemeStatus::Published && requested) {
        let before = row.status.clone();
        let id = row.id;
        let title = row.title.clone();
        let mut active: scheme_row::ActiveModel = row.into();
        active.status = Set(status.as_str().to_owned());
        active.updated_at = Set(Utc::now());
        if status == SchemeStatus::Published {
            active.publication_requested_at = Set(None);
            active.review_comment = Set(None);
        }
        scheme_row::Entity::update(active).exec(&txn).await?;
        change::record(
            &txn,
            actor,
            "scheme",
            slug,
            "status",
            serde_json::json!({ "from": before, "to": status.as_str() }),
        )
        .await?;
        if status == SchemeStatus::Published && requested {
            let link = fx.link(&format!("/dispositifs/{slug}"));
            for to in editors_of(&txn, id).await? {
                outbox::enqueue(
                    &txn,
                    PUBLISHED.render(to, &[("title", &title), ("link", &link)]),
                )
                .await?;
                mailed = true;
            }
        }
    }
    let scheme = get(&txn, slug)
        .await?
        .expect("the scheme exists in this transaction");
    txn.commit().await?;
    fx.schemes_changed(std::slice::from_ref(&scheme)).await?;
    if mailed {
        fx.mail_queued();
    }
    Ok(scheme)
}

/// To staff: a funder editor asks for a draft to be published.
pub const PUBLICATION_REQUESTED: Template = crate::mail_template!("publication_requested");
/// To the funder's editors: staff sent a draft back with a comment.
pub const SENT_BACK: Template = crate::mail_template!("scheme_sent_back");
/// To the funder's editors: the draft they asked about is published.
pub const PUBLISHED: Template = crate::mail_template!("scheme_published");

/// The addresses of the staff (staff and administrator accounts).
async fn staff_addresses(db: &impl ConnectionTrait) -> Result<Vec<Email>> {
    Ok(account_row::Entity::find()
        .filter(account_row::Column::Role.is_in([Role::Staff.as_str(), Role::Admin.as_str()]))
        .order_by_asc(account_row::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| Email::parse(&a.email).ok())
        .collect())
}

/// The addresses of the editors who may curate the scheme `scheme_id`: editor agents of
/// one of its funders or of a funder above one of them.
async fn editors_of(db: &impl ConnectionTrait, scheme_id: i64) -> Result<Vec<Email>> {
    let funders = funder_ids_of(db, scheme_id).await?;
    let editors = account_row::Entity::find()
        .filter(account_row::Column::Role.eq(Role::Funder.as_str()))
        .filter(account_row::Column::Editor.eq(true))
        .order_by_asc(account_row::Column::Id)
        .all(db)
        .await?;
    let mut list = Vec::new();
    for account in editors {
        let Some(funder_id) = account.funder_id else {
            continue;
        };
        if network_of(db, funder_id)
            .await?
            .iter()
            .any(|f| funders.contains(f))
            && let Ok(email) = Email::parse(&account.email)
        {
            list.push(email);
        }
    }
    Ok(list)
}

/// A funder editor asks staff to publish a draft of its funder: the request is recorded
/// (a previous review comment stays until staff answer) and staff are mailed.
pub async fn request_publication<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    slug: &str,
) -> Result<Scheme> {
    let curator = Curator::of(db, actor).await?;
    let slug = slug.trim();
    let txn = crate::db::begin_write(db).await?;
    let row = scheme_row::Entity::find()
        .filter(scheme_row::Column::Slug.eq(slug))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("Dispositif « {slug} »")))?;
    if !curator.covers(&funder_ids_of(&txn, row.id).await?) {
        return Err(Error::Forbidden);
    }
    if row.status == SchemeStatus::Published.as_str() {
        return Err(Error::Conflict("Ce dispositif est déjà publié.".into()));
    }
    let id = row.id;
    let title = row.title.clone();
    let already = row.publication_requested_at.is_some();
    if !already {
        let now = Utc::now();
        let mut active: scheme_row::ActiveModel = row.into();
        active.publication_requested_at = Set(Some(now));
        active.updated_at = Set(now);
        scheme_row::Entity::update(active).exec(&txn).await?;
        change::record(
            &txn,
            actor,
            "scheme",
            slug,
            "publication_requested",
            serde_json::json!({}),
        )
        .await?;
        let link = fx.link(&format!("/gestion/dispositifs/{slug}"));
        let by = actor.label();
        for to in staff_addresses(&txn).await? {
            outbox::enqueue(
                &txn,
                PUBLICATION_REQUESTED
                    .render(to, &[("title", &title), ("by", &by), ("link", &link)]),
            )
            .await?;
        }
    }
    let scheme = hydrate(
        &txn,
        vec![
            scheme_row::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .expect("the scheme exists in this transaction"),
        ],
    )
    .await?
    .remove(0);
    txn.commit().await?;
    if !already {
        fx.mail_queued();
    }
    Ok(scheme)
}

/// Staff send a draft back to its funder's editors with a comment: the request is cleared,
/// the comment kept on the scheme, and the editors mailed.
pub async fn send_back<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &Effects,
    actor: &Actor,
    slug: &str,
    comment: &str,
) -> Result<Scheme> {
    actor.require_staff()?;
    let slug = slug.trim();
    let comment = comment.trim();
    if comment.is_empty() {
        return Err(Error::validation(
            "comment",
            "Écrivez ce qu'il faut reprendre avant de renvoyer le dispositif.",
        ));
    }
    text::multi_line("comment", comment)?;
    if comment.chars().count() > 5000 {
        return Err(Error::validation(
            "comment",
            "Le commentaire ne doit pas dépasser 5 000 caractères.",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let row = scheme_row::Entity::find()
        .filter(scheme_row::Column::Slug.eq(slug))
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound(format!("Dispositif « {slug} »")))?;
    if row.status == SchemeStatus::Published.as_str() {
        return Err(Error::Conflict(
            "Ce dispositif est publié : archivez-le plutôt que de le renvoyer.".into(),
        ));
    }
    let id = row.id;
    let title = row.title.clone();
    let now = Utc::now();
    let mut active: scheme_row::ActiveModel = row.into();
    active.publication_requested_at = Set(None);
    active.review_comment = Set(Some(comment.to_owned()));
    active.updated_at = Set(now);
    scheme_row::Entity::update(active).exec(&txn).await?;
    change::record(
        &txn,
        actor,
        "scheme",
        slug,
        "sent_back",
        serde_json::json!({ "comment": comment }),
    )
    .await?;
    let link = fx.link(&format!("/gestion/dispositifs/{slug}"));
    let mut mailed = false;
    for to in editors_of(&txn, id).await? {
        outbox::enqueue(
            &txn,
            SENT_BACK.render(
                to,
                &[("title", &title), ("comment", comment), ("link", &link)],
            ),
        )
        .await?;
        mailed = true;
    }
    let scheme = get(&txn, slug)
        .await?
        .expect("the scheme exists in this transaction");
    txn.commit().await?;
    if mailed {
        fx.mail_queued();
    }
    Ok(scheme)
}

fn changed_fields(before: &SchemeRecord, after: &SchemeRecord) -> Vec<String> {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    a.keys()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// The `scheme` row of a record (without its id), created and updated at `now`.
pub fn to_active(r: &SchemeRecord, now: DateTime<Utc>) -> scheme_row::ActiveModel {
    let perimeter = r.perimeter.clone().unwrap_or_else(Perimeter::national);
    scheme_row::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        publication_requested_at: sea_orm::ActiveValue::NotSet,
        review_comment: sea_orm::ActiveValue::NotSet,
        slug: Set(r.slug.clone()),
        title: Set(r.title.clone()),
        summary: Set(r.summary.clone()),
        description: Set(r.description.clone()),
        status: Set(r.status.unwrap_or(SchemeStatus::Draft).as_str().to_owned()),
        perimeter_national: Set(perimeter.is_national()),
        max_commune_population: Set(r.rules.max_commune_population),
        max_epci_population: Set(r.rules.max_epci_population),
        min_project_cost: Set(r.rules.min_project_cost),
        max_project_cost: Set(r.rules.max_project_cost),
        no_start_before_filing: Set(r.rules.no_start_before_filing),
        requires_national_public_cofunding: Set(r.rules.requires_national_public_cofunding),
        economic_activity: Set(r.rules.economic_activity),
        rate_min: Set(r.funding.rate_min),
        rate_max: Set(r.funding.rate_max),
        amount_min: Set(r.funding.amount_min),
        amount_max: Set(r.funding.amount_max),
        max_public_aid_rate: Set(r.funding.max_public_aid_rate),
        regime: Set(r.funding.regime.map(|v| v.as_str().to_owned())),
        recurrence: Set(r.calendar.recurrence.map(|v| v.as_str().to_owned())),
        opens_on: Set(r.calendar.opens_on),
        closes_on: Set(r.calendar.closes_on),
        application_url: Set(r.application_url.clone()),
        source_url: Set(r.source_url.clone()),
        verified_on: Set(r.verified_on),
        conditions: Set((!r.rules.conditions.is_empty())
            .then(|| serde_json::to_string(&r.rules.conditions).expect("conditions serialise"))),
        funding_basis: Set(r.funding.basis.map(|v| v.as_str().to_owned())),
        eu_cofunding_rate: Set(r.funding.eu_cofunding_rate),
        typical_rate: Set(r.funding.typical_rate),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

async fn delete_children(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    scheme_funder::Entity::delete_many()
        .filter(scheme_funder::Column::SchemeId.eq(id))
        .exec(db)
        .await?;
    scheme_tag::Entity::delete_many()
        .filter(scheme_tag::Column::SchemeId.eq(id))
        .exec(db)
        .await?;
    scheme_perimeter::Entity::delete_many()
        .filter(scheme_perimeter::Column::SchemeId.eq(id))
        .exec(db)
        .await?;
    scheme_document::Entity::delete_many()
        .filter(scheme_document::Column::SchemeId.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

async fn insert_children(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    r: &SchemeRecord,
) -> Result<()> {
    let mut funder_rows = Vec::new();
    for (position, f) in r.funders.iter().enumerate() {
        let funder = funder::save_record(db, actor, f, funder::Write::Scheme).await?;
        // Two names of one funder link it once.
        if funder_rows
            .iter()
            .any(|row: &scheme_funder::ActiveModel| row.funder_id.as_ref() == &funder.id)
        {
            continue;
        }
        funder_rows.push(scheme_funder::ActiveModel {
            scheme_id: Set(id),
            funder_id: Set(funder.id),
            position: Set(position as i32),
        });
    }
    scheme_funder::Entity::insert_many(funder_rows)
        .exec(db)
        .await?;

    let tags = r
        .beneficiary_types
        .iter()
        .map(|v| (scheme_tag::BENEFICIARY, v.as_str()))
        .enumerate()
        .chain(
            r.themes
                .iter()
                .map(|v| (scheme_tag::THEME, v.as_str()))
                .enumerate(),
        )
        .chain(
            r.aid_types
                .iter()
                .map(|v| (scheme_tag::AID_TYPE, v.as_str()))
                .enumerate(),
        )
        .chain(
            r.natures
                .iter()
                .map(|v| (scheme_tag::NATURE, v.as_str()))
                .enumerate(),
        )
        .map(|(position, (list, value))| scheme_tag::ActiveModel {
            scheme_id: Set(id),
            list: Set(list.to_owned()),
            value: Set(value.to_owned()),
            position: Set(position as i32),
        })
        .collect::<Vec<_>>();
    if !tags.is_empty() {
        scheme_tag::Entity::insert_many(tags).exec(db).await?;
    }

    let perimeter = r.perimeter.clone().unwrap_or_else(Perimeter::national);
    let places = perimeter
        .lists()
        .iter()
        .flat_map(|(kind, _, codes)| {
            codes
                .iter()
                .enumerate()
                .map(move |(position, code)| scheme_perimeter::ActiveModel {
                    scheme_id: Set(id),
                    kind: Set(kind.as_str().to_owned()),
                    code: Set(code.clone()),
                    position: Set(position as i32),
                })
        })
        .chain(
            perimeter
                .zonings
                .iter()
                .enumerate()
                .map(|(position, slug)| scheme_perimeter::ActiveModel {
                    scheme_id: Set(id),
                    kind: Set(ZONING.to_owned()),
                    code: Set(slug.clone()),
                    position: Set(position as i32),
                }),
        )
        .collect::<Vec<_>>();
    if !places.is_empty() {
        scheme_perimeter::Entity::insert_many(places)
            .exec(db)
            .await?;
    }

    let documents = r
        .required_documents
        .iter()
        .enumerate()
        .map(|(position, label)| scheme_document::ActiveModel {
            scheme_id: Set(id),
            position: Set(position as i32),
            label: Set(label.clone()),
        })
        .collect::<Vec<_>>();
    if !documents.is_empty() {
        scheme_document::Entity::insert_many(documents)
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The `kind` of a perimeter row naming a zoning.
pub(crate) const ZONING: &str = "ZONING";

/// Rows hydrated per batch: keeps every `IN (…)` below SQLite's 32,766 bound variables.
const HYDRATE_BATCH: usize = 5_000;

/// Loads the full schemes for these rows, with their child rows, in five queries per batch.
pub(crate) async fn hydrate(
    db: &impl ConnectionTrait,
    mut rows: Vec<scheme_row::Model>,
) -> Result<Vec<Scheme>> {
    let mut schemes = Vec::with_capacity(rows.len());
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(HYDRATE_BATCH));
        schemes.extend(hydrate_batch(db, rows).await?);
        rows = rest;
    }
    Ok(schemes)
}

async fn hydrate_batch(
    db: &impl ConnectionTrait,
    rows: Vec<scheme_row::Model>,
) -> Result<Vec<Scheme>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut funders_of: HashMap<i64, Vec<(i32, FunderRecord)>> = HashMap::new();
    let links = scheme_funder::Entity::find()
        .filter(scheme_funder::Column::SchemeId.is_in(ids.clone()))
        .all(db)
        .await?;
    let mut funder_ids: Vec<i64> = links.iter().map(|l| l.funder_id).collect();
    funder_ids.sort_unstable();
    funder_ids.dedup();
    let funders: HashMap<i64, funder_row::Model> = funder_row::Entity::find()
        .filter(funder_row::Column::Id.is_in(funder_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|f| (f.id, f))
        .collect();
    // The slugs of their parents, for the records.
    let mut parent_ids: Vec<i64> = funders.values().filter_map(|f| f.parent_id).collect();
    parent_ids.sort_unstable();
    parent_ids.dedup();
    let parent_slugs: HashMap<i64, String> = if parent_ids.is_empty() {
        HashMap::new()
    } else {
        funder_row::Entity::find()
            .filter(funder_row::Column::Id.is_in(parent_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.id, f.slug))
            .collect()
    };
    for link in links {
        if let Some(f) = funders.get(&link.funder_id) {
            let parent = f.parent_id.and_then(|p| parent_slugs.get(&p).cloned());
            funders_of
                .entry(link.scheme_id)
                .or_default()
                .push((link.position, FunderRecord::from_row_with_parent(f, parent)));
        }
    }
    let mut tags_of: HashMap<i64, Vec<scheme_tag::Model>> = HashMap::new();
    for tag in scheme_tag::Entity::find()
        .filter(scheme_tag::Column::SchemeId.is_in(ids.clone()))
        .order_by_asc(scheme_tag::Column::Position)
        .all(db)
        .await?
    {
        tags_of.entry(tag.scheme_id).or_default().push(tag);
    }
    let mut places_of: HashMap<i64, Vec<scheme_perimeter::Model>> = HashMap::new();
    for place in scheme_perimeter::Entity::find()
        .filter(scheme_perimeter::Column::SchemeId.is_in(ids.clone()))
        .order_by_asc(scheme_perimeter::Column::Position)
        .all(db)
        .await?
    {
        places_of.entry(place.scheme_id).or_default().push(place);
    }
    let mut documents_of: HashMap<i64, Vec<String>> = HashMap::new();
    for doc in scheme_document::Entity::find()
        .filter(scheme_document::Column::SchemeId.is_in(ids))
        .order_by_asc(scheme_document::Column::Position)
        .all(db)
        .await?
    {
        documents_of
            .entry(doc.scheme_id)
            .or_default()
            .push(doc.label);
    }

    Ok(rows
        .into_iter()
        .map(|row| {
            let mut funders = funders_of.remove(&row.id).unwrap_or_default();
            funders.sort_by_key(|(position, _)| *position);
            let tags = tags_of.remove(&row.id).unwrap_or_default();
            let list = |name: &str| -> Vec<String> {
                tags.iter()
                    .filter(|t| t.list == name)
                    .map(|t| t.value.clone())
                    .collect()
            };
            let places = places_of.remove(&row.id).unwrap_or_default();
            let codes = |kind: TerritoryKind| -> Vec<String> {
                places
                    .iter()
                    .filter(|p| p.kind == kind.as_str())
                    .map(|p| p.code.clone())
                    .collect()
            };
            let record = SchemeRecord {
                slug: row.slug,
                title: row.title,
                summary: row.summary,
                description: row.description,
                funders: funders.into_iter().map(|(_, f)| f).collect(),
                beneficiary_types: list(scheme_tag::BENEFICIARY)
                    .iter()
                    .filter_map(|v| BeneficiaryType::parse(v))
                    .collect(),
                themes: list(scheme_tag::THEME),
                aid_types: list(scheme_tag::AID_TYPE)
                    .iter()
                    .filter_map(|v| AidType::parse(v))
                    .collect(),
                natures: list(scheme_tag::NATURE)
                    .iter()
                    .filter_map(|v| Nature::parse(v))
                    .collect(),
                perimeter: Some(Perimeter {
                    national: Some(row.perimeter_national),
                    regions: codes(TerritoryKind::Region),
                    departments: codes(TerritoryKind::Department),
                    epcis: codes(TerritoryKind::Epci),
                    communes: codes(TerritoryKind::Commune),
                    zonings: places
                        .iter()
                        .filter(|p| p.kind == ZONING)
                        .map(|p| p.code.clone())
                        .collect(),
                }),
                rules: Rules {
                    max_commune_population: row.max_commune_population,
                    max_epci_population: row.max_epci_population,
                    min_project_cost: row.min_project_cost,
                    max_project_cost: row.max_project_cost,
                    no_start_before_filing: row.no_start_before_filing,
                    requires_national_public_cofunding: row.requires_national_public_cofunding,
                    economic_activity: row.economic_activity,
                    conditions: row
                        .conditions
                        .as_deref()
                        .and_then(|json| serde_json::from_str(json).ok())
                        .unwrap_or_default(),
                },
                funding: Funding {
                    rate_min: row.rate_min,
                    rate_max: row.rate_max,
                    amount_min: row.amount_min,
                    amount_max: row.amount_max,
                    max_public_aid_rate: row.max_public_aid_rate,
                    regime: row.regime.as_deref().and_then(StateAidRegime::parse),
                    basis: row.funding_basis.as_deref().and_then(CostBasis::parse),
                    eu_cofunding_rate: row.eu_cofunding_rate,
                    typical_rate: row.typical_rate,
                },
                calendar: Calendar {
                    recurrence: row.recurrence.as_deref().and_then(Recurrence::parse),
                    opens_on: row.opens_on,
                    closes_on: row.closes_on,
                },
                required_documents: documents_of.remove(&row.id).unwrap_or_default(),
                application_url: row.application_url,
                source_url: row.source_url,
                verified_on: row.verified_on,
                status: SchemeStatus::parse(&row.status),
            };
            Scheme {
                id: row.id,
                record,
                created_at: row.created_at,
                updated_at: row.updated_at,
                publication_requested_at: row.publication_requested_at,
                review_comment: row.review_comment,
            }
        })
        .collect())
}

/// The scheme with this slug, whatever its status.
pub async fn get(db: &impl ConnectionTrait, slug: &str) -> Result<Option<Scheme>> {
    let row = scheme_row::Entity::find()
        .filter(scheme_row::Column::Slug.eq(slug))
        .one(db)
        .await?;
    Ok(hydrate(db, row.into_iter().collect()).await?.pop())
}

/// The scheme with this slug as `actor` may see it: drafts and archives only for staff and
/// for the editors of its funders.
pub async fn get_visible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> Result<Option<Scheme>> {
    let Some(scheme) = get(db, slug).await? else {
        return Ok(None);
    };
    if scheme.status() == SchemeStatus::Published || may_curate(db, actor, scheme.id).await? {
        return Ok(Some(scheme));
    }
    Ok(None)
}

/// Whether `actor` may see the drafts, review and change log of the scheme `scheme_id`:
/// staff, and editors of one of its funders.
pub async fn may_curate(db: &impl ConnectionTrait, actor: &Actor, scheme_id: i64) -> Result<bool> {
    if actor.is_staff() {
        return Ok(true);
    }
    Ok(match Curator::of_reader(db, actor).await? {
        Some(curator) => curator.covers(&funder_ids_of(db, scheme_id).await?),
        None => false,
    })
}

/// The schemes with these ids, in no particular order.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<Scheme>> {
    let mut schemes = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(HYDRATE_BATCH) {
        let rows = scheme_row::Entity::find()
            .filter(scheme_row::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?;
        schemes.extend(hydrate(db, rows).await?);
    }
    Ok(schemes)
}

/// The ids and dates of the schemes changed at or after `since` (cheap: nothing is hydrated).
pub async fn changes_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    Ok(scheme_row::Entity::find()
        .select_only()
        .column(scheme_row::Column::Id)
        .column(scheme_row::Column::UpdatedAt)
        .filter(scheme_row::Column::UpdatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?)
}

/// The scheme whose source address is this one, if any.
/// The ids of the schemes whose perimeter names a zoning.
pub async fn naming_zonings(db: &impl ConnectionTrait) -> Result<Vec<i64>> {
    let mut ids: Vec<i64> = scheme_perimeter::Entity::find()
        .filter(scheme_perimeter::Column::Kind.eq(ZONING))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.scheme_id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

pub async fn find_by_source_url(db: &impl ConnectionTrait, url: &str) -> Result<Option<String>> {
    Ok(scheme_row::Entity::find()
        .filter(scheme_row::Column::SourceUrl.eq(url))
        .one(db)
        .await?
        .map(|row| row.slug))
}

/// Which schemes to list.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only these statuses; empty means published only.
    pub statuses: Vec<SchemeStatus>,
    /// Only schemes of this funder (slug).
    pub funder: Option<String>,
    /// Only schemes of this theme (slug).
    pub theme: Option<String>,
    /// Which verification dates (`verified_on`) to keep.
    pub verified: Verified,
    /// Only schemes whose publication was asked for and not answered yet (`true`), or only
    /// the others (`false`). With no status given, `true` looks at every status.
    pub awaiting_publication: Option<bool>,
}

/// A filter on the date someone last checked a scheme against its source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verified {
    /// Any date, or none.
    #[default]
    Any,
    /// Checked before this day (strictly), the schemes to check again.
    Before(NaiveDate),
    /// Never checked.
    Never,
}

/// A page of schemes ordered by title, and the total count.
pub struct Page {
    pub schemes: Vec<Scheme>,
    pub total: u64,
    pub offset: u64,
}

/// Lists schemes by title. Staff see the statuses they ask for; a funder editor who asks
/// for drafts or archives sees only the schemes of its funder and its services (in the
/// statuses asked for); everyone else only ever sees published schemes.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ListFilter,
    offset: u64,
    limit: u64,
) -> Result<Page> {
    let mut statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    if statuses.is_empty() {
        statuses = if filter.awaiting_publication == Some(true) {
            SchemeStatus::ALL.iter().map(|s| s.as_str()).collect()
        } else {
            vec![SchemeStatus::Published.as_str()]
        };
    }
    let beyond_published = statuses
        .iter()
        .any(|s| *s != SchemeStatus::Published.as_str());
    let mut network = None;
    if beyond_published {
        match Curator::of_reader(db, actor).await? {
            Some(Curator::Staff) => {}
            Some(Curator::Editor { network: n, .. }) => network = Some(n),
            None => statuses = vec![SchemeStatus::Published.as_str()],
        }
    }
    let mut query = scheme_row::Entity::find().filter(scheme_row::Column::Status.is_in(statuses));
    if let Some(network) = network {
        query = query.filter(
            scheme_row::Column::Id.in_subquery(
                scheme_funder::Entity::find()
                    .select_only()
                    .column(scheme_funder::Column::SchemeId)
                    .filter(scheme_funder::Column::FunderId.is_in(network))
                    .into_query(),
            ),
        );
    }
    match filter.awaiting_publication {
        Some(true) => {
            query = query.filter(scheme_row::Column::PublicationRequestedAt.is_not_null())
        }
        Some(false) => query = query.filter(scheme_row::Column::PublicationRequestedAt.is_null()),
        None => {}
    }
    if let Some(slug) = &filter.funder {
        let Some(funder) = funder_row::Entity::find()
            .filter(funder_row::Column::Slug.eq(slug))
            .one(db)
            .await?
        else {
            return Ok(Page {
                schemes: Vec::new(),
                total: 0,
                offset,
            });
        };
        query = query.filter(scheme_row::Column::Id.in_subquery(funder::schemes_of(funder.id)));
    }
    if let Some(theme) = &filter.theme {
        let tagged = scheme_tag::Entity::find()
            .select_only()
            .column(scheme_tag::Column::SchemeId)
            .filter(scheme_tag::Column::List.eq(scheme_tag::THEME))
            .filter(scheme_tag::Column::Value.eq(theme.as_str()))
            .into_query();
        query = query.filter(scheme_row::Column::Id.in_subquery(tagged));
    }
    query = match filter.verified {
        Verified::Any => query,
        Verified::Before(day) => query.filter(scheme_row::Column::VerifiedOn.lt(day)),
        Verified::Never => query.filter(scheme_row::Column::VerifiedOn.is_null()),
    };
    let total = query.clone().count(db).await?;
    let rows = query
        .order_by_asc(scheme_row::Column::Title)
        .order_by_asc(scheme_row::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok(Page {
        schemes: hydrate(db, rows).await?,
        total,
        offset,
    })
}

/// Every scheme of every status, by slug (for export).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Scheme>> {
    let rows = scheme_row::Entity::find()
        .order_by_asc(scheme_row::Column::Slug)
        .all(db)
        .await?;
    hydrate(db, rows).await
}

/// Up to `limit` schemes whose id is above `after`, by id: the catalogue in batches.
pub async fn batch_after(db: &impl ConnectionTrait, after: i64, limit: u64) -> Result<Vec<Scheme>> {
    let rows = scheme_row::Entity::find()
        .filter(scheme_row::Column::Id.gt(after))
        .order_by_asc(scheme_row::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    hydrate(db, rows).await
}

/// The number of schemes and the time of the latest change.
pub async fn extent(db: &impl ConnectionTrait) -> Result<(usize, Option<DateTime<Utc>>)> {
    let count = scheme_row::Entity::find().count(db).await?;
    let latest = scheme_row::Entity::find()
        .order_by_desc(scheme_row::Column::UpdatedAt)
        .one(db)
        .await?
        .map(|row| row.updated_at);
    Ok((count as usize, latest))
}

/// Number of schemes per status.
pub async fn count_by_status(db: &impl ConnectionTrait) -> Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for status in SchemeStatus::ALL {
        let n = scheme_row::Entity::find()
            .filter(scheme_row::Column::Status.eq(status.as_str()))
            .count(db)
            .await?;
        counts.insert(status.as_str().to_owned(), n);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lowercase_kebab_case() {
        assert!(is_slug("detr-haute-marne-2026"));
        assert!(!is_slug("DETR"));
        assert!(!is_slug("detr--52"));
        assert!(!is_slug("-detr"));
        assert!(!is_slug("détr"));
        assert!(!is_slug(""));
    }

    /// Issue 13's fields read and write as DESIGN §5 names them; a record written before
    /// them (an old export) still reads, with their defaults.
    #[test]
    fn the_rules_of_issue_13_round_trip_and_old_exports_still_read() {
        let value = serde_json::json!({
            "slug": "leader-gal-essai", "title": "LEADER",
            "funders": [{"slug": "ue", "name": "Union européenne", "kind": "EU",
                         "publicBody": true, "nameInSentence": "l'Union européenne"}],
            "beneficiaryTypes": ["COMMUNE"], "natures": ["INVESTMENT"],
            "perimeter": {"zonings": ["gal-essai"]},
            "rules": {"conditions": [{"text": "Potentiel financier à vérifier.",
                                      "whenCommunePopulationAbove": 2000,
                                      "whenHolderTypes": ["COMMUNE"]}]},
            "funding": {"basis": "HT", "euCofundingRate": 80, "typicalRate": 30}
        });
        let mut record = SchemeRecord::from_json(value).unwrap();
        record.normalize();
        assert_eq!(record.natures, [Nature::Investment]);
        assert_eq!(record.funding.basis, Some(CostBasis::Ht));
        assert_eq!(record.funding.eu_cofunding_rate, Some(80.0));
        assert_eq!(
            record.rules.conditions[0].when_commune_population_above,
            Some(2000)
        );
        let perimeter = record.perimeter.clone().unwrap();
        assert!(
            !perimeter.is_national(),
            "a perimeter naming a zoning is not national"
        );
        let again = SchemeRecord::from_json(serde_json::to_value(&record).unwrap()).unwrap();
        assert_eq!(again, record);
        let written = serde_json::to_value(&record).unwrap();
        assert_eq!(
            written["rules"]["conditions"][0]["whenHolderTypes"][0],
            "COMMUNE"
        );
        assert_eq!(
            written["funders"][0]["nameInSentence"],
            "l'Union européenne"
        );

        let mut old = SchemeRecord::from_json(serde_json::json!({
            "slug": "ancien", "title": "Ancien", "beneficiaryTypes": ["COMMUNE"],
            "funders": [{"slug": "etat", "name": "État", "kind": "STATE"}],
            "perimeter": {"national": true, "regions": []},
            "rules": {"maxCommunePopulation": 2000}, "funding": {"rateMax": 80}
        }))
        .unwrap();
        old.normalize();
        assert!(old.natures.is_empty() && old.rules.conditions.is_empty());
        assert_eq!(old.funding.basis, None);
        assert!(old.funders[0].is_public());
        assert!(old.validate(&Territories::embedded()).is_empty());
    }

    #[test]
    fn parse_errors_name_the_field_in_french() {
        let value = serde_json::json!({
            "slug": "x", "title": "X", "funders": [], "beneficiaryTypes": ["COMMUNE"],
            "funding": {"rateMax": "beaucoup"}
        });
        let e = SchemeRecord::from_json(value).unwrap_err();
        assert_eq!(e.field, "funding.rateMax");
        let e = SchemeRecord::from_json(serde_json::json!({
            "slug": "x", "title": "X", "funders": [], "beneficiaryTypes": ["MAIRIE"]
        }))
        .unwrap_err();
        assert_eq!(e.field, "beneficiaryTypes[0]");
        assert!(e.message.starts_with("Valeur inconnue"), "{}", e.message);
        let e = SchemeRecord::from_json(serde_json::json!({
            "slug": "x", "title": "X", "funders": [], "beneficiaryTypes": [], "colour": "red"
        }))
        .unwrap_err();
        assert!(e.message.contains("colour"), "{}", e.message);
        let e = SchemeRecord::from_json(serde_json::json!({
            "slug": "x", "title": "X", "funders": [], "beneficiaryTypes": [],
            "calendar": {"closesOn": "2026-02-30"}
        }))
        .unwrap_err();
        assert_eq!(e.field, "calendar.closesOn");
    }
}
