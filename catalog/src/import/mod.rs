//! Importing schemes: parsing each format into [`SchemeRecord`]s, then saving them one by
//! one (each in its own transaction), so a bad record or a crash never leaves a scheme
//! half-written and never aborts the rest of the file.

pub mod aides_territoires;
pub mod guichet;

use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::actor::Actor;
use crate::error::Error;
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
}

impl Summary {
    /// The summary in French, one line per skipped record and warning.
    pub fn report(&self) -> String {
        let mut out = format!(
            "Créés : {}\nMis à jour : {}\nInchangés : {}\nIgnorés : {}\n",
            self.created.len(),
            self.updated.len(),
            self.unchanged.len(),
            self.skipped.len()
        );
        for (label, reason) in &self.skipped {
            out.push_str(&format!("  ignoré « {label} » : {reason}\n"));
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

/// Saves parsed records. `publish` publishes every imported scheme; otherwise a record
/// without a status is a draft. `progress` is called after each record.
pub async fn run<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    territories: &Territories,
    parsed: Vec<Parsed>,
    publish: bool,
    mut progress: impl FnMut(),
) -> Result<Summary, Error> {
    actor.require_staff()?;
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

fn describe(e: &FieldError) -> String {
    if e.field.is_empty() {
        e.message.clone()
    } else {
        format!("{} — {}", e.field, e.message)
    }
}
