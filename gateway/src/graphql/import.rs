//! Importing schemes from a file (with a dry run), and curating funders: their aliases and
//! merging duplicates. Staff only; the rules live in `catalog::import`,
//! `catalog::funder_alias` and `dossier::funder_merge`.

use async_graphql::{Context, Enum, Object, SimpleObject, Upload};
use catalog::Actor;
use catalog::import::{self, Format, Summary};

use super::catalog::Funder;
use super::error::ResultExt;
use crate::app::AppState;

/// Largest file `importSchemes` reads: the whole Aides-territoires catalogue as CSV is a
/// few megabytes.
pub const MAX_IMPORT_BYTES: u64 = 20 * 1024 * 1024;

/// The formats `importSchemes` reads (DESIGN §5).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ImportFormat {
    /// JSON array or JSON Lines of scheme records, as `guichet export` writes them.
    Guichet,
    /// The JSON of the Aides-territoires API.
    AidesTerritoires,
    /// The CSV export of Aides-territoires.
    AidesTerritoiresCsv,
}

impl From<ImportFormat> for Format {
    fn from(f: ImportFormat) -> Self {
        match f {
            ImportFormat::Guichet => Format::Guichet,
            ImportFormat::AidesTerritoires => Format::AidesTerritoires,
            ImportFormat::AidesTerritoiresCsv => Format::AidesTerritoiresCsv,
        }
    }
}

/// One record of an imported file and what is said of it.
#[derive(SimpleObject, Clone, Debug)]
pub struct ImportLine {
    /// The record: its slug, or its line or position when it has none.
    pub record: String,
    pub message: String,
}

/// Which funder Guichet holds an imported funder name was matched to.
#[derive(SimpleObject, Clone, Debug)]
pub struct FunderMatch {
    /// The name as the file writes it.
    pub name: String,
    /// The slug of the funder it was matched to; null when the import creates it.
    pub funder: Option<String>,
    /// How: « identifiant », « nom », « alias » or « créé ».
    pub how: String,
}

/// What an import did, or with `dryRun` what it would do (nothing was written).
#[derive(SimpleObject, Clone, Debug)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Slugs of the schemes created.
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    /// Schemes imported as drafts whatever `publish` says (their perimeter cannot be read),
    /// with the reason.
    pub drafts: Vec<ImportLine>,
    /// Records not imported, with the reason.
    pub skipped: Vec<ImportLine>,
    /// What could not be taken over but did not prevent the import.
    pub warnings: Vec<ImportLine>,
    /// Each funder name of the file once, with the funder it was matched to.
    pub funders: Vec<FunderMatch>,
    /// The whole report in French, as the command line prints it.
    pub text: String,
}

fn lines(pairs: &[(String, String)]) -> Vec<ImportLine> {
    pairs
        .iter()
        .map(|(record, message)| ImportLine {
            record: record.clone(),
            message: message.clone(),
        })
        .collect()
}

impl From<Summary> for ImportReport {
    fn from(s: Summary) -> Self {
        ImportReport {
            dry_run: s.dry_run,
            text: s.report(),
            drafts: lines(&s.drafts),
            skipped: lines(&s.skipped),
            warnings: lines(&s.warnings),
            funders: s
                .funders
                .iter()
                .map(|m| FunderMatch {
                    name: m.name.clone(),
                    funder: m.funder.clone(),
                    how: m.how.label().to_owned(),
                })
                .collect(),
            created: s.created,
            updated: s.updated,
            unchanged: s.unchanged,
        }
    }
}

/// A name a funder is also known by.
#[derive(SimpleObject)]
pub struct FunderAlias {
    pub alias: String,
    pub funder: Funder,
}

impl From<catalog::funder_alias::FunderAlias> for FunderAlias {
    fn from(a: catalog::funder_alias::FunderAlias) -> Self {
        FunderAlias {
            alias: a.alias,
            funder: a.funder.into(),
        }
    }
}

#[derive(Default)]
pub struct ImportQuery;

#[Object]
impl ImportQuery {
    /// Every alias of a funder, by alias (staff): an import recognises a funder by them.
    #[graphql(complexity = "super::LONG_LIST_COST * child_complexity")]
    async fn funder_aliases(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<FunderAlias>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        Ok(catalog::funder_alias::list(&state.db, actor)
            .await
            .gql()?
            .into_iter()
            .map(FunderAlias::from)
            .collect())
    }
}

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports schemes from a file (staff; GraphQL multipart request, at most 20 MB, UTF-8).
    /// With `dryRun` (the default) nothing is written and the report says exactly what the
    /// import would do. Funders are matched by slug, then name, then alias; a curated funder
    /// is never changed; an aid whose perimeter cannot be read is a draft.
    async fn import_schemes(
        &self,
        ctx: &Context<'_>,
        file: Upload,
        format: ImportFormat,
        #[graphql(default = false)] publish: bool,
        #[graphql(default = true)] dry_run: bool,
    ) -> async_graphql::Result<ImportReport> {
        use std::io::Read;
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        actor.require_staff().gql()?;
        let upload = file
            .value(ctx)
            .map_err(|_| catalog::Error::validation("file", "Fichier manquant dans la requête."))
            .gql()?;
        let mut bytes = Vec::new();
        upload
            .into_read()
            .take(MAX_IMPORT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(super::error::internal)?;
        if bytes.len() as u64 > MAX_IMPORT_BYTES {
            return Err(catalog::Error::validation(
                "file",
                "Le fichier dépasse 20 Mo : découpez-le.",
            ))
            .gql();
        }
        let input = String::from_utf8(bytes)
            .map_err(|_| {
                catalog::Error::validation(
                    "file",
                    "Le fichier n'est pas en UTF-8 : enregistrez-le en UTF-8 et recommencez.",
                )
            })
            .gql()?;
        let parsed = import::parse(format.into(), &input, &state.territories)
            .map_err(|message| catalog::Error::validation("file", message))
            .gql()?;
        let summary = import::run_with(
            &state.db,
            &state.effects,
            actor,
            &state.territories,
            parsed,
            publish,
            dry_run,
            || {},
        )
        .await
        .gql()?;
        Ok(summary.into())
    }

    /// Makes `alias` a name of the funder `funder` (staff): imports then recognise it.
    async fn set_funder_alias(
        &self,
        ctx: &Context<'_>,
        alias: String,
        funder: String,
    ) -> async_graphql::Result<FunderAlias> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        Ok(
            catalog::funder_alias::set(&state.db, actor, &alias, &funder)
                .await
                .gql()?
                .into(),
        )
    }

    /// Removes an alias (staff); false when there was none.
    async fn delete_funder_alias(
        &self,
        ctx: &Context<'_>,
        alias: String,
    ) -> async_graphql::Result<bool> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        catalog::funder_alias::delete(&state.db, actor, &alias)
            .await
            .gql()
    }

    /// Merges the funder `duplicate` into `survivor` (staff, all or nothing): schemes,
    /// reviews, agents, services and aliases move to the survivor, the duplicate's name and
    /// slug become its aliases, and the duplicate is deleted.
    async fn merge_funders(
        &self,
        ctx: &Context<'_>,
        survivor: String,
        duplicate: String,
    ) -> async_graphql::Result<Funder> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let merged =
            dossier::funder_merge::merge(&state.db, &state.effects, actor, &survivor, &duplicate)
                .await
                .gql()?;
        Ok(merged.into())
    }
}
