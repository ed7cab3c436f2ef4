//! Funding schemes: the record of DESIGN §5 (what is imported, exported and edited), its
//! validation, and its relational storage.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::actor::Actor;
use crate::calendar;
use crate::change;
use crate::entity::{
    funder as funder_row, scheme as scheme_row, scheme_document, scheme_funder, scheme_perimeter,
    scheme_tag,
};
use crate::error::{Error, Result};
use crate::funder::{self, FunderRecord};
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
                    "Un taux est un pourcentage compris entre 0 et 100.".into(),
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
/// with its funders, in one transaction, and logs the change.
#[tracing::instrument(skip_all, fields(slug = %record.slug))]
pub async fn save<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    territories: &Territories,
    mut record: SchemeRecord,
) -> Result<(Saved, Scheme)> {
    actor.require_staff()?;
    record.normalize();
    if let Some(e) = record.validate(territories).into_iter().next() {
        return Err(e.into());
    }
    let txn = crate::db::begin_write(db).await?;
    let existing = scheme_row::Entity::find()
        .filter(scheme_row::Column::Slug.eq(&record.slug))
        .one(&txn)
        .await?;
    let now = Utc::now();
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
        },
    ))
}

/// Sets a scheme's status, logging the change; unchanged when it already has it.
pub async fn set_status<C: ConnectionTrait + TransactionTrait>(
    db: &C,
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
    if row.status != status.as_str() {
        let before = row.status.clone();
        let mut active: scheme_row::ActiveModel = row.into();
        active.status = Set(status.as_str().to_owned());
        active.updated_at = Set(Utc::now());
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
    }
    let scheme = get(&txn, slug)
        .await?
        .expect("the scheme exists in this transaction");
    txn.commit().await?;
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

/// The scheme with this slug as `actor` may see it: drafts and archives only for staff.
pub async fn get_visible(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> Result<Option<Scheme>> {
    Ok(get(db, slug)
        .await?
        .filter(|s| actor.is_staff() || s.status() == SchemeStatus::Published))
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

/// Lists schemes by title; non-staff actors only ever see published ones.
pub async fn list(
    db: &impl ConnectionTrait,
    actor: &Actor,
    filter: &ListFilter,
    offset: u64,
    limit: u64,
) -> Result<Page> {
    let mut statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
    if statuses.is_empty() || !actor.is_staff() {
        statuses = vec![SchemeStatus::Published.as_str()];
    }
    let mut query = scheme_row::Entity::find().filter(scheme_row::Column::Status.is_in(statuses));
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
