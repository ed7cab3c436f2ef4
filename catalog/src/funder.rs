//! Funders: the bodies that publish schemes and review dossiers.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, TransactionSession, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::change;
use crate::email::Email;
use crate::entity::{funder as funder_row, scheme as scheme_row, scheme_funder};
use crate::error::{Error, Result};
use crate::scheme::{FieldError, is_slug};
use crate::territory::Territories;
use crate::text;
use crate::vocab::{FunderKind, SchemeStatus};

/// A funder as written in scheme JSON and in `upsertFunder`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunderRecord {
    pub slug: String,
    pub name: String,
    pub kind: FunderKind,
    #[serde(default)]
    pub contact_email: Option<String>,
    /// Whether its money is public (a « personne publique »): defaulted from `kind` when
    /// absent, see [`FunderRecord::is_public`].
    #[serde(default)]
    pub public_body: Option<bool>,
    /// The name as it reads inside a sentence, with its article: « l'État », « la Région
    /// Grand Est », « le Département du Jura ». Messages say « de l'État », « du
    /// Département du Jura » from it.
    #[serde(default)]
    pub name_in_sentence: Option<String>,
    /// The slug of the funder it is a local service of (« Préfecture de la Haute-Marne » is a
    /// service of « État — préfectures »). Left out: the funder keeps the parent it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Where it acts, for a service: INSEE commune codes, EPCI SIREN, département and
    /// région codes (`REGION:44` for a région whose code is also a département's), or
    /// `zoning:<slug>`. Left out: the funder keeps the jurisdiction it has.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jurisdiction: Vec<String>,
}

impl FunderRecord {
    /// The record of a stored funder whose parent (if any) has slug `parent`.
    pub(crate) fn from_row_with_parent(row: &funder_row::Model, parent: Option<String>) -> Self {
        FunderRecord {
            parent,
            ..FunderRecord::from_row(row)
        }
    }

    /// The record of a stored funder, without its parent's slug (see
    /// [`FunderRecord::from_row_with_parent`]).
    pub(crate) fn from_row(row: &funder_row::Model) -> Self {
        FunderRecord {
            parent: None,
            jurisdiction: crate::network::parse_jurisdiction(row.jurisdiction.as_deref()),
            slug: row.slug.clone(),
            name: row.name.clone(),
            kind: FunderKind::parse(&row.kind).unwrap_or(FunderKind::Other),
            contact_email: row.contact_email.clone(),
            public_body: row.public_body,
            name_in_sentence: row.name_in_sentence.clone(),
        }
    }

    /// Whether the funder's money is public: `publicBody` when stated, else its kind's
    /// default. The State, local authorities, the EU and public agencies are public persons.
    /// Social-security funds (CAF, MSA caisses, Carsat) are not: they are private-law bodies
    /// entrusted with a public service (CE, 13 mai 1938, Caisse primaire « Aide et
    /// protection »; CSS art. L216-1), so their grants are outside « les financements
    /// apportés par des personnes publiques » of CGCT L1111-10 III. Whether the EU counts
    /// them as national public expenditure for FEADER co-funding depends on the managing
    /// authority: staff set `publicBody` on the funder when a Région says so.
    pub fn is_public(&self) -> bool {
        self.public_body.unwrap_or(match self.kind {
            FunderKind::State
            | FunderKind::Region
            | FunderKind::Department
            | FunderKind::Intercommunality
            | FunderKind::Commune
            | FunderKind::Eu
            | FunderKind::PublicAgency => true,
            FunderKind::SocialSecurity
            | FunderKind::Foundation
            | FunderKind::Bank
            | FunderKind::Network
            | FunderKind::Other => false,
        })
    }

    /// The name inside a sentence after « de » (« de l'État », « du Département du Jura »,
    /// « des caisses de la MSA »); the bare name when no form with its article is stored.
    pub fn of_name(&self) -> String {
        match &self.name_in_sentence {
            Some(form) => text::french::of(form),
            None => format!("de {}", self.name),
        }
    }

    pub(crate) fn normalize(&mut self) {
        self.slug = self.slug.trim().to_owned();
        self.name = self.name.trim().to_owned();
        if let Some(email) = &self.contact_email {
            let email = email.trim();
            self.contact_email = (!email.is_empty()).then(|| email.to_lowercase());
        }
        if let Some(form) = &self.name_in_sentence {
            let form = form.trim();
            self.name_in_sentence = (!form.is_empty()).then(|| form.to_owned());
        }
        if let Some(parent) = &self.parent {
            let parent = parent.trim();
            self.parent = (!parent.is_empty()).then(|| parent.to_owned());
        }
        for entry in &mut self.jurisdiction {
            let trimmed = entry.trim();
            *entry = match trimmed.strip_prefix(crate::network::ZONING_PREFIX) {
                Some(slug) => format!("{}{}", crate::network::ZONING_PREFIX, slug.trim()),
                None => trimmed.to_uppercase(),
            };
        }
        self.jurisdiction.retain(|e| !e.is_empty());
        let mut seen = std::collections::HashSet::new();
        self.jurisdiction.retain(|e| seen.insert(e.clone()));
    }

    /// Problems of the jurisdiction's territory codes (zonings are checked against the
    /// database when saved, see [`check_links`]).
    pub fn validate_jurisdiction(&self, territories: &Territories) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (i, entry) in self.jurisdiction.iter().enumerate() {
            let known = match entry.strip_prefix(crate::network::ZONING_PREFIX) {
                Some(slug) => is_slug(slug),
                None => territories.resolve(entry).is_some(),
            };
            if !known {
                errors.push(FieldError {
                    field: format!("jurisdiction.{i}"),
                    message: format!(
                        "Territoire inconnu dans le ressort : « {entry} » (code INSEE de commune, SIREN d'EPCI, code de département ou de région, ou « zoning:identifiant »)."
                    ),
                });
            }
        }
        errors
    }

    /// Every problem in the record, each naming its field (relative to the funder).
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if !is_slug(&self.slug) {
            errors.push(FieldError {
                field: "slug".into(),
                message: "L'identifiant du financeur doit être en minuscules sans accents, mots séparés par des tirets.".into(),
            });
        }
        if self.name.is_empty() {
            errors.push(FieldError {
                field: "name".into(),
                message: "Le nom du financeur est obligatoire.".into(),
            });
        }
        errors.extend(FieldError::of(text::one_line("name", &self.name)));
        if let Some(form) = &self.name_in_sentence {
            errors.extend(FieldError::of(text::one_line("nameInSentence", form)));
            if !text::french::has_article(form) {
                errors.push(FieldError {
                    field: "nameInSentence".into(),
                    message: format!(
                        "Écrivez le nom avec son article, tel qu'il se lit dans une phrase (ex. « l'État », « la Région Grand Est ») : « {form} »."
                    ),
                });
            }
        }
        if let Some(email) = &self.contact_email
            && Email::parse(email).is_err()
        {
            errors.push(FieldError {
                field: "contactEmail".into(),
                message: format!("Adresse électronique invalide : « {email} »."),
            });
        }
        errors
    }
}

/// A stored funder.
#[derive(Clone, Debug, PartialEq)]
pub struct Funder {
    pub id: i64,
    pub record: FunderRecord,
}

impl From<funder_row::Model> for Funder {
    fn from(row: funder_row::Model) -> Self {
        Funder {
            id: row.id,
            record: FunderRecord::from_row(&row),
        }
    }
}

/// Who writes a funder, which decides what may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Write {
    /// Staff editing the funder itself (`upsertFunder`, the staff screens): the record is
    /// the whole truth (a blank contact address clears it) and the funder becomes curated.
    Staff,
    /// A scheme naming its funder (imports, the seed, scheme edits): a curated funder is
    /// never changed, and a field the record leaves out never erases a value Guichet holds.
    Scheme,
}

/// Creates or updates a funder from a record already validated, logging any change.
pub(crate) async fn save_record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    record: &FunderRecord,
    write: Write,
) -> Result<Funder> {
    let existing = funder_row::Entity::find()
        .filter(funder_row::Column::Slug.eq(&record.slug))
        .one(db)
        .await?;
    let now = Utc::now();
    let mut record = record.clone();
    let mut stored_parent = None;
    if let Some(row) = &existing {
        if write == Write::Scheme && row.curated {
            // Staff curate this funder: a scheme only links to it.
            return Ok(row.clone().into());
        }
        record.public_body = record.public_body.or(row.public_body);
        record.name_in_sentence = record
            .name_in_sentence
            .or_else(|| row.name_in_sentence.clone());
        stored_parent = parent_slug(db, row).await?;
        if write == Write::Scheme {
            // A scheme naming its funder only by slug, name and kind must not erase what
            // Guichet holds: a funder whose address is wiped silently stops receiving
            // dossiers, and one taken out of its network receives another service's.
            record.contact_email = record.contact_email.or_else(|| row.contact_email.clone());
            record.parent = record.parent.or_else(|| stored_parent.clone());
            if record.jurisdiction.is_empty() {
                record.jurisdiction =
                    crate::network::parse_jurisdiction(row.jurisdiction.as_deref());
            }
        }
    }
    let parent_id = check_links(db, &record).await?;
    let record = &record;
    let curated = write == Write::Staff;
    match existing {
        Some(row)
            if FunderRecord::from_row_with_parent(&row, stored_parent) == *record
                && (row.curated || !curated) =>
        {
            Ok(row.into())
        }
        Some(row) => {
            let id = row.id;
            let mut active: funder_row::ActiveModel = row.into();
            active.name = Set(record.name.clone());
            active.kind = Set(record.kind.as_str().to_owned());
            active.contact_email = Set(record.contact_email.clone());
            active.public_body = Set(record.public_body);
            active.name_in_sentence = Set(record.name_in_sentence.clone());
            active.parent_id = Set(parent_id);
            active.jurisdiction = Set(crate::network::jurisdiction_column(&record.jurisdiction));
            if curated {
                active.curated = Set(true);
            }
            active.updated_at = Set(now);
            funder_row::Entity::update(active).exec(db).await?;
            // Its schemes show its name, kind and address: they changed too (and the search
            // index of every process picks them up by this date).
            scheme_row::Entity::update_many()
                .col_expr(scheme_row::Column::UpdatedAt, Expr::value(now))
                .filter(scheme_row::Column::Id.in_subquery(schemes_of(id)))
                .exec(db)
                .await?;
            change::record(
                db,
                actor,
                "funder",
                &record.slug,
                "update",
                serde_json::to_value(record).unwrap_or_default(),
            )
            .await?;
            Ok(Funder {
                id,
                record: record.clone(),
            })
        }
        None => {
            let inserted = funder_row::Entity::insert(funder_row::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                slug: Set(record.slug.clone()),
                name: Set(record.name.clone()),
                kind: Set(record.kind.as_str().to_owned()),
                contact_email: Set(record.contact_email.clone()),
                public_body: Set(record.public_body),
                name_in_sentence: Set(record.name_in_sentence.clone()),
                parent_id: Set(parent_id),
                jurisdiction: Set(crate::network::jurisdiction_column(&record.jurisdiction)),
                curated: Set(curated),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec(db)
            .await?;
            change::record(
                db,
                actor,
                "funder",
                &record.slug,
                "create",
                serde_json::to_value(record).unwrap_or_default(),
            )
            .await?;
            Ok(Funder {
                id: inserted.last_insert_id,
                record: record.clone(),
            })
        }
    }
}

/// The slug of a stored funder's parent.
async fn parent_slug(db: &impl ConnectionTrait, row: &funder_row::Model) -> Result<Option<String>> {
    Ok(match row.parent_id {
        Some(id) => get_by_id(db, id).await?.map(|p| p.record.slug),
        None => None,
    })
}

/// Checks what a record names in the database — its parent (known, and not itself nor one
/// of its own services: a network is a tree) and the zonings of its jurisdiction — and
/// returns the parent's id.
pub(crate) async fn check_links(
    db: &impl ConnectionTrait,
    record: &FunderRecord,
) -> Result<Option<i64>> {
    for entry in &record.jurisdiction {
        if let Some(slug) = entry.strip_prefix(crate::network::ZONING_PREFIX)
            && crate::zoning::get(db, slug).await?.is_none()
        {
            return Err(Error::validation(
                "jurisdiction",
                format!("Zonage inconnu dans le ressort : « {slug} »."),
            ));
        }
    }
    let Some(parent) = &record.parent else {
        return Ok(None);
    };
    let found = get(db, parent).await?.ok_or_else(|| {
        Error::validation(
            "parent",
            format!("Financeur parent inconnu : « {parent} »."),
        )
    })?;
    // Walk up from the parent: meeting the funder itself would close a cycle.
    let mut at = Some(found.clone());
    let mut steps = 0;
    while let Some(funder) = at {
        if funder.record.slug == record.slug || steps > 64 {
            return Err(Error::validation(
                "parent",
                format!(
                    "« {parent} » ne peut pas être le parent de « {} » : il en est lui-même un service (ou le même financeur).",
                    record.slug
                ),
            ));
        }
        steps += 1;
        let row = funder_row::Entity::find()
            .filter(funder_row::Column::Slug.eq(&funder.record.slug))
            .one(db)
            .await?;
        at = match row.and_then(|r| r.parent_id) {
            Some(id) => get_by_id(db, id).await?,
            None => None,
        };
    }
    Ok(Some(found.id))
}

/// Validates and saves a funder (staff only), in one transaction; the funder becomes
/// curated: no import changes it afterwards. The record replaces what Guichet holds, except
/// `publicBody` and `nameInSentence` which an omitted value keeps. Its schemes are
/// searchable as they are now (its name, kind, address) before this returns.
pub async fn upsert<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &crate::Effects,
    actor: &Actor,
    territories: &Territories,
    mut record: FunderRecord,
) -> Result<Funder> {
    actor.require_staff()?;
    record.normalize();
    if let Some(e) = record
        .validate()
        .into_iter()
        .chain(record.validate_jurisdiction(territories))
        .next()
    {
        return Err(e.into());
    }
    let txn = crate::db::begin_write(db).await?;
    let saved = save_record(&txn, actor, &record, Write::Staff).await?;
    txn.commit().await?;
    fx.catalog_changed(db).await?;
    Ok(saved)
}

pub async fn get(db: &impl ConnectionTrait, slug: &str) -> Result<Option<Funder>> {
    Ok(funder_row::Entity::find()
        .filter(funder_row::Column::Slug.eq(slug.trim()))
        .one(db)
        .await?
        .map(Funder::from))
}

pub async fn get_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<Funder>> {
    Ok(funder_row::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(Funder::from))
}

/// The funder with this slug, or a `NotFound` error naming `field`.
pub async fn require(db: &impl ConnectionTrait, slug: &str, field: &str) -> Result<Funder> {
    get(db, slug)
        .await?
        .ok_or_else(|| Error::validation(field, format!("Financeur inconnu : « {slug} ».")))
}

/// Every funder, by name in French alphabetical order (case and accents ignored).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Funder>> {
    let mut funders: Vec<Funder> = funder_row::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(Funder::from)
        .collect();
    funders.sort_by_cached_key(|f| crate::text::fold(&f.record.name));
    Ok(funders)
}

/// The ids of a funder's schemes, as a subquery.
pub(crate) fn schemes_of(funder: i64) -> SelectStatement {
    scheme_funder::Entity::find()
        .select_only()
        .column(scheme_funder::Column::SchemeId)
        .filter(scheme_funder::Column::FunderId.eq(funder))
        .into_query()
}

/// Number of published schemes per funder id.
pub async fn published_scheme_counts(db: &impl ConnectionTrait) -> Result<HashMap<i64, u64>> {
    let published = scheme_row::Entity::find()
        .select_only()
        .column(scheme_row::Column::Id)
        .filter(scheme_row::Column::Status.eq(SchemeStatus::Published.as_str()))
        .into_query();
    let mut counts = HashMap::new();
    for link in scheme_funder::Entity::find()
        .filter(scheme_funder::Column::SchemeId.in_subquery(published))
        .all(db)
        .await?
    {
        *counts.entry(link.funder_id).or_insert(0) += 1;
    }
    Ok(counts)
}
