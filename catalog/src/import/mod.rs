//! Importing schemes: parsing each format into [`SchemeRecord`]s, then saving them one by
//! one (each in its own transaction), so a bad record or a crash never leaves a scheme
//! half-written and never aborts the rest of the file.
//!
//! Each funder a record names is first matched with the funder Guichet holds (by slug, then
//! normalised name, then alias: [`crate::funder_alias`]): the scheme links to it, a curated
//! funder is never changed and a field the import leaves out never erases a value. A dry run
//! does all of it in one transaction that is rolled back, so its report is the apply's.

pub mod aides_territoires;
pub mod guichet;

use sea_orm::{ConnectionTrait, TransactionSession, TransactionTrait};

use crate::actor::Actor;
use crate::error::Error;
use crate::funder::FunderRecord;
use crate::funder_alias::{self, How};
use crate::scheme::{self, FieldError, Saved, SchemeRecord};
use crate::territory::Territories;
use crate::vocab::SchemeStatus;

/// The import formats of DESIGN §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Guichet,
    AidesTerritoires,
    AidesTerritoiresCsv,
}

impl Format {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "guichet" => Some(Format::Guichet),
            "aides-territoires" => Some(Format::AidesTerritoires),
            "aides-territoires-csv" => Some(Format::AidesTerritoiresCsv),
            _ => None,
        }
    }
}

/// One record of an input file, parsed or not.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// How to name the record in reports: its slug, or its position when it has none.
    pub label: String,
    pub result: Result<SchemeRecord, FieldError>,
    /// Values that could not be mapped to the vocabulary but did not prevent the import.
    pub warnings: Vec<String>,
    /// True when the record should be matched by source address rather than slug.
    pub match_by_source_url: bool,
    /// Why the record can only be a draft (its perimeter could not be read): it is never
    /// published by the import, and the reason is in the report.
    pub draft_reason: Option<String>,
}

/// Parses a whole input in the given format.
pub fn parse(
    format: Format,
    input: &str,
    territories: &Territories,
) -> Result<Vec<Parsed>, String> {
    match format {
        Format::Guichet => guichet::parse(input),
        Format::AidesTerritoires => aides_territoires::parse_api_json(input, territories),
        Format::AidesTerritoiresCsv => aides_territoires::parse_csv(input, territories),
    }
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// (record, reason)
    pub skipped: Vec<(String, String)>,
    /// (record, warning)
    pub warnings: Vec<(String, String)>,
    /// (record, reason): imported as drafts whatever `publish` says.
    pub drafts: Vec<(String, String)>,
    /// Each funder name of the file once, in order of appearance, with what it was matched to.
    pub funders: Vec<FunderMatch>,
    /// True when nothing was written.
    pub dry_run: bool,
}

/// Which funder an imported funder name was matched to, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct FunderMatch {
    /// The name as the file writes it.
    pub name: String,
    /// The slug of the funder it was matched to; `None` when it was created.
    pub funder: Option<String>,
    pub how: How,
}

impl Summary {
    /// The summary in French, one line per skipped record and warning.
    pub fn report(&self) -> String {
        let mut out = String::new();
        if self.dry_run {
            out.push_str("Essai à blanc : rien n'a été enregistré.\n");
        }
        out.push_str(&format!(
            "Créés : {}\nMis à jour : {}\nInchangés : {}\nIgnorés : {}\nBrouillons : {}\n",
            self.created.len(),
            self.updated.len(),
            self.unchanged.len(),
            self.skipped.len(),
            self.drafts.len()
        ));
        for (label, reason) in &self.skipped {
            out.push_str(&format!("  ignoré « {label} » : {reason}\n"));
        }
        for (label, reason) in &self.drafts {
            out.push_str(&format!("  brouillon « {label} » : {reason}\n"));
        }
        if !self.funders.is_empty() {
            let created = self.funders.iter().filter(|m| m.funder.is_none()).count();
            out.push_str(&format!(
                "Financeurs : {} reconnus, {} créés\n",
                self.funders.len() - created,
                created
            ));
            for m in &self.funders {
                match &m.funder {
                    Some(slug) => out.push_str(&format!(
                        "  « {} » → {slug} (par {})\n",
                        m.name,
                        m.how.label()
                    )),
                    None => out.push_str(&format!("  « {} » → créé\n", m.name)),
                }
            }
        }
        if !self.warnings.is_empty() {
            out.push_str(&format!("Avertissements : {}\n", self.warnings.len()));
            for (label, warning) in &self.warnings {
                out.push_str(&format!("  « {label} » : {warning}\n"));
            }
        }
        out
    }
}

/// Saves parsed records. `publish` publishes every imported scheme (except those that can
/// only be drafts); otherwise a record without a status is a draft. `progress` is called
/// after each record.
pub async fn run<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    territories: &Territories,
    parsed: Vec<Parsed>,
    publish: bool,
    progress: impl FnMut(),
) -> Result<Summary, Error> {
    let fx = crate::Effects::default();
    run_with(
        db,
        &fx,
        actor,
        territories,
        parsed,
        publish,
        false,
        progress,
    )
    .await
}

/// [`run`], or with `dry_run` the same work in one transaction rolled back at the end: the
/// report says exactly what an apply would do, and nothing is written. What is applied is
/// searchable before this returns (`fx`).
#[allow(clippy::too_many_arguments)]
pub async fn run_with<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &crate::Effects,
    actor: &Actor,
    territories: &Territories,
    parsed: Vec<Parsed>,
    publish: bool,
    dry_run: bool,
    progress: impl FnMut(),
) -> Result<Summary, Error> {
    actor.require_staff()?;
    if !dry_run {
        let summary = apply(db, actor, territories, parsed, publish, progress).await?;
        fx.catalog_changed(db).await?;
        return Ok(summary);
    }
    let txn = crate::db::begin_write(db).await?;
    let result = apply(&txn, actor, territories, parsed, publish, progress).await;
    txn.rollback().await?;
    let mut summary = result?;
    summary.dry_run = true;
    Ok(summary)
}

async fn apply<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    territories: &Territories,
    parsed: Vec<Parsed>,
    publish: bool,
    mut progress: impl FnMut(),
) -> Result<Summary, Error> {
    let parsed = parents_first(parsed);
    let mut summary = Summary::default();
    for item in parsed {
        for warning in item.warnings {
            summary.warnings.push((item.label.clone(), warning));
        }
        let mut record = match item.result {
            Ok(record) => record,
            Err(e) => {
                summary.skipped.push((item.label, describe(&e)));
                progress();
                continue;
            }
        };
        if publish {
            record.status = Some(SchemeStatus::Published);
        }
        if item.match_by_source_url
            && let Some(url) = record.source_url.clone()
            && let Some(existing) = scheme::find_by_source_url(db, &url).await?
        {
            record.slug = existing;
        }
        if let Some(reason) = &item.draft_reason {
            match scheme::get(db, record.slug.trim()).await? {
                // Staff gave it a perimeter since: theirs stands, and so does its status.
                Some(existing)
                    if existing
                        .record
                        .perimeter
                        .as_ref()
                        .is_some_and(|p| p.lists_anything()) =>
                {
                    record.perimeter = existing.record.perimeter.clone();
                    record.status = existing.record.status;
                }
                _ => {
                    record.status = Some(SchemeStatus::Draft);
                    summary.drafts.push((record.slug.clone(), reason.clone()));
                }
            }
        }
        record.funders = match_funders(db, record.funders, &mut summary.funders).await?;
        let label = record.slug.clone();
        match scheme::save(db, actor, territories, record).await {
            Ok((Saved::Created, _)) => summary.created.push(label),
            Ok((Saved::Updated, _)) => summary.updated.push(label),
            Ok((Saved::Unchanged, _)) => summary.unchanged.push(label),
            Err(Error::Validation { field, message }) => {
                summary
                    .skipped
                    .push((label, describe(&FieldError { field, message })));
            }
            Err(e) => return Err(e),
        }
        progress();
    }
    Ok(summary)
}

/// The records in an order where a funder named as a parent is saved before its services
/// (an export is by scheme slug: a GAL's scheme may come before its network's); otherwise
/// as given.
fn parents_first(mut parsed: Vec<Parsed>) -> Vec<Parsed> {
    let mut parent_of: std::collections::HashMap<String, String> = Default::default();
    for item in &parsed {
        if let Ok(record) = &item.result {
            for f in &record.funders {
                if let Some(parent) = &f.parent {
                    parent_of.insert(f.slug.trim().to_owned(), parent.trim().to_owned());
                }
            }
        }
    }
    if parent_of.is_empty() {
        return parsed;
    }
    let depth = |slug: &str| {
        let mut at = slug;
        let mut depth = 0;
        while let Some(parent) = parent_of.get(at)
            && depth < 16
        {
            depth += 1;
            at = parent;
        }
        depth
    };
    parsed.sort_by_cached_key(|item| match &item.result {
        Ok(record) => record
            .funders
            .iter()
            .map(|f| depth(f.slug.trim()))
            .max()
            .unwrap_or(0),
        Err(_) => 0,
    });
    parsed
}

/// The funders of a record as they are to be saved: each matched with the funder Guichet
/// holds ([`funder_alias::resolve`]), once each. Each name seen for the first time in this
/// import adds a line to `report`.
async fn match_funders(
    db: &impl ConnectionTrait,
    funders: Vec<FunderRecord>,
    report: &mut Vec<FunderMatch>,
) -> Result<Vec<FunderRecord>, Error> {
    let mut resolved: Vec<FunderRecord> = Vec::new();
    for mut imported in funders {
        imported.normalize();
        let (record, matched) = match funder_alias::find_match(db, &imported).await? {
            Some((row, how)) => (
                funder_alias::resolve(&row, how, &imported),
                FunderMatch {
                    name: imported.name.clone(),
                    funder: Some(row.slug.clone()),
                    how,
                },
            ),
            None => (
                imported.clone(),
                FunderMatch {
                    name: imported.name.clone(),
                    funder: None,
                    how: How::Created,
                },
            ),
        };
        if !report.iter().any(|m| m.name == matched.name) {
            report.push(matched);
        }
        if !resolved.iter().any(|f| f.slug == record.slug) {
            resolved.push(record);
        }
    }
    Ok(resolved)
}

fn describe(e: &FieldError) -> String {
    if e.field.is_empty() {
        e.message.clone()
    } else {
        format!("{} — {}", e.field, e.message)
    }
}
