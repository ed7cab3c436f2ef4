//! Zonings: named, dated and sourced lists of communes (a LEADER GAL's territory, « Petites
//! villes de demain », France Ruralités Revitalisation…) that a scheme's perimeter may name
//! (`perimeter.zonings`). A commune is inside a zoning when its list holds the commune's
//! INSEE code. A zoning Guichet does not have, or has without communes, decides nothing.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionSession, TransactionTrait,
};
use serde::Deserialize;

use crate::actor::Actor;
use crate::calendar;
use crate::change;
use crate::entity::{scheme as scheme_row, scheme_perimeter, zoning as zoning_row, zoning_commune};
use crate::error::{Error, Result};
use crate::scheme::is_slug;
use crate::territory::{Territories, TerritoryKind};
use crate::text;

/// One zoning with its communes.
#[derive(Clone, Debug, PartialEq)]
pub struct Zoning {
    pub slug: String,
    pub name: String,
    /// Address of the public list the communes come from.
    pub source: String,
    /// The date the list is valid on.
    pub as_of: NaiveDate,
    communes: HashSet<Box<str>>,
}

impl Zoning {
    pub fn new(
        slug: impl Into<String>,
        name: impl Into<String>,
        source: impl Into<String>,
        as_of: NaiveDate,
        communes: impl IntoIterator<Item = String>,
    ) -> Self {
        Zoning {
            slug: slug.into(),
            name: name.into(),
            source: source.into(),
            as_of,
            communes: communes.into_iter().map(String::into_boxed_str).collect(),
        }
    }

    /// Whether the commune with this INSEE code is in the list.
    pub fn contains(&self, commune: &str) -> bool {
        self.communes.contains(commune)
    }

    pub fn commune_count(&self) -> usize {
        self.communes.len()
    }

    /// Whether its communes are loaded: a zoning without communes decides nothing.
    pub fn is_loaded(&self) -> bool {
        !self.communes.is_empty()
    }

    /// Its communes' INSEE codes, in no particular order.
    pub fn communes(&self) -> impl Iterator<Item = &str> {
        self.communes.iter().map(|c| &**c)
    }
}

/// Every zoning Guichet has, by slug.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Zonings {
    by_slug: HashMap<String, Zoning>,
}

impl Zonings {
    pub fn new(zonings: impl IntoIterator<Item = Zoning>) -> Self {
        Zonings {
            by_slug: zonings.into_iter().map(|z| (z.slug.clone(), z)).collect(),
        }
    }

    pub fn get(&self, slug: &str) -> Option<&Zoning> {
        self.by_slug.get(slug)
    }

    /// Every zoning stored in the database, with its communes.
    pub async fn load(db: &impl ConnectionTrait) -> Result<Self> {
        let rows = zoning_row::Entity::find().all(db).await?;
        let mut communes: HashMap<i64, Vec<String>> = HashMap::new();
        for row in zoning_commune::Entity::find().all(db).await? {
            communes.entry(row.zoning_id).or_default().push(row.code);
        }
        Ok(Zonings::new(rows.into_iter().map(|row| {
            Zoning::new(
                row.slug,
                row.name,
                row.source,
                row.as_of,
                communes.remove(&row.id).unwrap_or_default(),
            )
        })))
    }
}

/// A zoning as stored, without its communes (`zonings` in GraphQL).
#[derive(Clone, Debug, PartialEq)]
pub struct ZoningSummary {
    pub slug: String,
    pub name: String,
    pub source: String,
    pub as_of: NaiveDate,
    pub commune_count: i64,
}

impl From<zoning_row::Model> for ZoningSummary {
    fn from(row: zoning_row::Model) -> Self {
        ZoningSummary {
            slug: row.slug,
            name: row.name,
            source: row.source,
            as_of: row.as_of,
            commune_count: i64::from(row.commune_count),
        }
    }
}

/// Every zoning, by slug.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ZoningSummary>> {
    Ok(zoning_row::Entity::find()
        .order_by_asc(zoning_row::Column::Slug)
        .all(db)
        .await?
        .into_iter()
        .map(ZoningSummary::from)
        .collect())
}

pub async fn get(db: &impl ConnectionTrait, slug: &str) -> Result<Option<ZoningSummary>> {
    Ok(zoning_row::Entity::find()
        .filter(zoning_row::Column::Slug.eq(slug.trim()))
        .one(db)
        .await?
        .map(ZoningSummary::from))
}

/// What changes when zonings change: their number and latest import, compared by the
/// search index of every process to know when to reload them.
pub async fn version(db: &impl ConnectionTrait) -> Result<String> {
    let count = zoning_row::Entity::find().count(db).await?;
    let latest = zoning_row::Entity::find()
        .order_by_desc(zoning_row::Column::ImportedAt)
        .one(db)
        .await?
        .map(|z| z.imported_at.to_rfc3339());
    Ok(format!("{count}:{}", latest.unwrap_or_default()))
}

/// A zoning to import: what `guichet zoning import` and the seed give.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ZoningInput {
    pub slug: String,
    pub name: String,
    pub source: String,
    pub as_of: NaiveDate,
    /// INSEE codes of its communes; may be empty only for a zoning known but not sourced.
    pub communes: Vec<String>,
}

/// One code of a list that is not a commune Guichet knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownCode {
    /// 1-based line of the file.
    pub line: usize,
    pub code: String,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    /// Communes now in the zoning.
    pub communes: usize,
    /// Codes left out because no such commune exists.
    pub unknown: Vec<UnknownCode>,
    /// Whether a zoning of that slug existed (its list was replaced).
    pub replaced: bool,
    /// Schemes whose perimeter names the zoning (re-indexed with the new list).
    pub schemes: usize,
}

/// Names a CSV column that holds INSEE codes.
const CODE_COLUMNS: [&str; 8] = [
    "insee",
    "code_insee",
    "insee_com",
    "codgeo",
    "code",
    "com",
    "code_commune",
    "code_commune_insee",
];

/// The INSEE codes of a file: one code a line, or a CSV (comma or semicolon) whose header
/// names the code column (`insee`, `code_insee`, `codgeo`, `code`, `com`…) or whose first
/// column holds the codes. Blank lines and `#` comments are skipped. Each code comes with
/// its line number.
pub fn parse_codes(content: &str) -> Vec<(usize, String)> {
    let content = content.trim_start_matches('\u{feff}');
    let separator = |line: &str| {
        if line.contains(';') {
            Some(';')
        } else if line.contains(',') {
            Some(',')
        } else if line.contains('\t') {
            Some('\t')
        } else {
            None
        }
    };
    let clean = |cell: &str| cell.trim().trim_matches('"').trim().to_uppercase();
    let mut column = 0;
    let mut codes = Vec::new();
    let mut first = true;
    for (i, line) in content.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<String> = match separator(line) {
            Some(sep) => line.split(sep).map(clean).collect(),
            None => vec![clean(line)],
        };
        if std::mem::take(&mut first) {
            let header: Vec<String> = cells
                .iter()
                .map(|c| text::fold(c).to_lowercase().replace([' ', '-'], "_"))
                .collect();
            if let Some(at) = CODE_COLUMNS
                .iter()
                .find_map(|name| header.iter().position(|h| h == name))
            {
                column = at;
                continue;
            }
            if !looks_like_code(&cells[0]) {
                // A header naming no known column: the codes are in the first column.
                continue;
            }
        }
        if let Some(code) = cells.get(column) {
            codes.push((i + 1, code.clone()));
        }
    }
    codes
}

/// Five characters, digits or Corsica's 2A/2B: the shape of an INSEE commune code.
fn looks_like_code(cell: &str) -> bool {
    cell.len() == 5
        && cell
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_digit() || (i == 1 && (b == b'A' || b == b'B')))
}

/// Checks a zoning's fields, naming the first wrong one.
fn validate(input: &ZoningInput) -> Result<()> {
    if !is_slug(input.slug.trim()) {
        return Err(Error::validation(
            "slug",
            "L'identifiant du zonage doit être en minuscules sans accents, mots séparés par des tirets (ex. « petites-villes-de-demain »).",
        ));
    }
    let name = input.name.trim();
    if name.is_empty() {
        return Err(Error::validation(
            "name",
            "Le nom du zonage est obligatoire.",
        ));
    }
    text::one_line("name", name)?;
    let source = input.source.trim();
    if !(source.starts_with("https://") || source.starts_with("http://"))
        || source.contains(char::is_whitespace)
    {
        return Err(Error::validation(
            "source",
            "Indiquez l'adresse (https://…) de la liste publique d'où viennent les communes.",
        ));
    }
    calendar::sane("asOf", input.as_of)?;
    Ok(())
}

/// Creates a zoning or replaces its list, in one transaction: the communes whose code
/// Guichet does not know are left out and reported. The schemes naming the zoning are
/// marked changed, so every search index re-reads them with the new list. A list where no
/// code is a known commune is refused unless it is empty on purpose (`allow_empty`: a
/// zoning known by name whose list is not sourced yet).
pub async fn import<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    actor: &Actor,
    territories: &Territories,
    input: ZoningInput,
    allow_empty: bool,
) -> Result<Imported> {
    actor.require_staff()?;
    validate(&input)?;
    let slug = input.slug.trim().to_owned();
    let mut unknown = Vec::new();
    let mut communes: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for (i, code) in input.communes.iter().enumerate() {
        let code = code.trim().to_uppercase();
        if territories
            .get_kind(&code, TerritoryKind::Commune)
            .is_some()
        {
            if seen.insert(code.clone()) {
                communes.push(code);
            }
        } else {
            unknown.push(UnknownCode { line: i + 1, code });
        }
    }
    if communes.is_empty() && !(allow_empty && input.communes.is_empty()) {
        return Err(Error::validation(
            "communes",
            if input.communes.is_empty() {
                "La liste ne contient aucun code de commune.".to_owned()
            } else {
                format!(
                    "Aucun des {} codes de la liste n'est une commune connue (ex. « {} ») : indiquez des codes INSEE de communes.",
                    input.communes.len(),
                    input.communes[0].trim()
                )
            },
        ));
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let existing = zoning_row::Entity::find()
        .filter(zoning_row::Column::Slug.eq(&slug))
        .one(&txn)
        .await?;
    let replaced = existing.is_some();
    let id = match existing {
        Some(row) => {
            let id = row.id;
            let mut active: zoning_row::ActiveModel = row.into();
            active.name = Set(input.name.trim().to_owned());
            active.source = Set(input.source.trim().to_owned());
            active.as_of = Set(input.as_of);
            active.commune_count = Set(communes.len() as i32);
            active.imported_at = Set(now);
            zoning_row::Entity::update(active).exec(&txn).await?;
            zoning_commune::Entity::delete_many()
                .filter(zoning_commune::Column::ZoningId.eq(id))
                .exec(&txn)
                .await?;
            id
        }
        None => {
            zoning_row::Entity::insert(zoning_row::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                slug: Set(slug.clone()),
                name: Set(input.name.trim().to_owned()),
                source: Set(input.source.trim().to_owned()),
                as_of: Set(input.as_of),
                commune_count: Set(communes.len() as i32),
                imported_at: Set(now),
            })
            .exec(&txn)
            .await?
            .last_insert_id
        }
    };
    // Below SQLite's bound on variables per statement.
    for chunk in communes.chunks(5_000) {
        zoning_commune::Entity::insert_many(chunk.iter().map(|code| zoning_commune::ActiveModel {
            zoning_id: Set(id),
            code: Set(code.clone()),
        }))
        .exec(&txn)
        .await?;
    }
    let naming = Query::select()
        .column(scheme_perimeter::Column::SchemeId)
        .from(scheme_perimeter::Entity)
        .and_where(scheme_perimeter::Column::Kind.eq(crate::scheme::ZONING))
        .and_where(scheme_perimeter::Column::Code.eq(&slug))
        .to_owned();
    let schemes = scheme_row::Entity::update_many()
        .col_expr(scheme_row::Column::UpdatedAt, Expr::value(now))
        .filter(scheme_row::Column::Id.in_subquery(naming))
        .exec(&txn)
        .await?
        .rows_affected as usize;
    change::record(
        &txn,
        actor,
        "zoning",
        &slug,
        if replaced { "replace" } else { "create" },
        serde_json::json!({
            "name": input.name.trim(),
            "source": input.source.trim(),
            "asOf": input.as_of,
            "communes": communes.len(),
            "unknownCodes": unknown.len(),
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(Imported {
        communes: communes.len(),
        unknown,
        replaced,
        schemes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_from_the_shapes_public_lists_come_in() {
        // (file, codes with their line numbers)
        let cases: &[(&str, &[(usize, &str)])] = &[
            ("52001\n52448\n", &[(1, "52001"), (2, "52448")]),
            (
                "\u{feff}# liste PVD\n\ninsee_com;lib\n52001;Ageville\n2a004;Ajaccio\n",
                &[(4, "52001"), (5, "2A004")],
            ),
            ("lib;code commune insee\nAgeville;52001\n", &[(2, "52001")]),
            ("Nom,Code INSEE\n\"Ageville\",\"52001\"\n", &[(2, "52001")]),
            ("CODGEO\tLIBGEO\n52448\tSaint-Dizier\n", &[(2, "52448")]),
            // A header naming no known column: the first column holds the codes.
            ("commune_id,nom\n52001,Ageville\n", &[(2, "52001")]),
        ];
        for (file, expected) in cases {
            let codes = parse_codes(file);
            let expected: Vec<(usize, String)> = expected
                .iter()
                .map(|(l, c)| (*l, (*c).to_owned()))
                .collect();
            assert_eq!(codes, expected, "{file:?}");
        }
    }

    #[test]
    fn a_zoning_contains_only_its_communes_and_an_empty_one_decides_nothing() {
        let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let gal = Zoning::new("gal", "GAL", "https://exemple.fr", day, ["52001".into()]);
        let empty = Zoning::new("pvd", "PVD", "https://exemple.fr", day, []);
        assert!(gal.contains("52001") && !gal.contains("52448") && gal.is_loaded());
        assert!(!empty.is_loaded());
        let all = Zonings::new([gal, empty]);
        assert_eq!(all.get("gal").map(Zoning::commune_count), Some(1));
        assert!(all.get("frr").is_none());
    }
}

/// Largest zoning file accepted from a browser or the command line: the 35,000 communes
/// of France with a few columns each fit several times over.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// What importing a zoning file did, each unknown code with its line in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileImported {
    pub imported: Imported,
    /// The codes left out, with the line of the file each came from.
    pub unknown: Vec<UnknownCode>,
}

/// Imports a zoning from the content of a list file (see [`parse_codes`]; the codes are
/// ASCII, so a file in another encoding than UTF-8 still reads), then makes the change
/// visible to this process's search index. The command line and GraphQL both come here.
#[allow(clippy::too_many_arguments)]
pub async fn import_file<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    fx: &crate::Effects,
    actor: &Actor,
    territories: &Territories,
    slug: &str,
    name: &str,
    source: &str,
    as_of: NaiveDate,
    content: &[u8],
) -> Result<FileImported> {
    actor.require_staff()?;
    if content.len() > MAX_FILE_BYTES {
        return Err(Error::validation(
            "file",
            format!(
                "Le fichier dépasse {}\u{a0}Mo : envoyez seulement la liste des codes INSEE.",
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    let content = String::from_utf8_lossy(content);
    let parsed = parse_codes(&content);
    if parsed.is_empty() {
        return Err(Error::validation(
            "file",
            "Le fichier ne contient aucun code de commune (un code INSEE par ligne, ou un CSV avec une colonne « insee » ou « code »).",
        ));
    }
    let input = ZoningInput {
        slug: slug.to_owned(),
        name: name.to_owned(),
        source: source.to_owned(),
        as_of,
        communes: parsed.iter().map(|(_, code)| code.clone()).collect(),
    };
    let imported = import(db, actor, territories, input, false).await?;
    let unknown = imported
        .unknown
        .iter()
        .map(|u| UnknownCode {
            line: parsed[u.line - 1].0,
            code: u.code.clone(),
        })
        .collect();
    fx.catalog_changed(db).await?;
    Ok(FileImported { imported, unknown })
}
