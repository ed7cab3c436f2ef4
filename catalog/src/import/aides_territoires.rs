//! The Aides-territoires formats: the JSON of their public API (v1.6) and their CSV export
//! (DESIGN §5).
//!
//! Both formats are first read into a `RawAid` (the source's own words), which is then
//! mapped onto a [`SchemeRecord`]: French labels and API codes become vocabulary values,
//! HTML becomes plain text, the perimeter is looked up among the territories. What cannot be
//! mapped but does not prevent the import becomes a French warning; what prevents it (no
//! funder, no known beneficiary, an unreadable date or rate) makes the record an error that
//! names its field. Every record is matched on re-import by its Aides-territoires page
//! address.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::Parsed;
use crate::funder::FunderRecord;
use crate::scheme::{Calendar, FieldError, Funding, Perimeter, Rules, SchemeRecord};
use crate::territory::{Territories, Territory, TerritoryKind};
use crate::text::{fold, place_key, words};
use crate::vocab::{AidType, BeneficiaryType, FunderKind, Recurrence};

/// Where relative page addresses of the API point to.
const SITE: &str = "https://aides-territoires.beta.gouv.fr";
/// Prefix of the slugs of imported schemes, so they never collide with hand-written ones.
const SLUG_PREFIX: &str = "at-";
const MAX_SLUG_CHARS: usize = 120;
const MAX_TITLE_CHARS: usize = 300;
const MAX_SUMMARY_CHARS: usize = 240;

// ---------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------

/// Parses the JSON of the Aides-territoires API v1.6: an object with a `results` array, or
/// a bare array of aids. Keys this importer does not use are ignored. Only an unreadable
/// file is an error; each aid gives one [`Parsed`], ok or not.
pub fn parse_api_json(input: &str, territories: &Territories) -> Result<Vec<Parsed>, String> {
    let value: Value = serde_json::from_str(input.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("JSON illisible : {e}"))?;
    let aids = match value {
        Value::Array(aids) => aids,
        Value::Object(mut page) => match page.remove("results") {
            Some(Value::Array(aids)) => aids,
            _ => return Err(NOT_A_LIST_OF_AIDS.into()),
        },
        _ => return Err(NOT_A_LIST_OF_AIDS.into()),
    };
    let context = Context::new(territories);
    Ok(aids
        .into_iter()
        .enumerate()
        .map(|(i, aid)| {
            let position = format!("enregistrement {}", i + 1);
            match aid {
                Value::Object(fields) => build(raw_aid_from_api(&fields, position), &context),
                _ => unreadable(position, "Chaque aide doit être un objet JSON.".into()),
            }
        })
        .collect())
}

const NOT_A_LIST_OF_AIDS: &str =
    "Le JSON doit être un tableau d'aides ou un objet contenant un tableau « results ».";

/// Parses the CSV export of Aides-territoires (`Nom, Lien, Financeurs, Bénéficiaire, Types
/// d'aides, AAP/AMI, Récurrence, Descriptif, Date Clôture`; lists separated by `;`, dates
/// `JJ/MM/AAAA`). A header without `Nom`, `Lien`, `Financeurs`, `Bénéficiaire` or `Types
/// d'aides` is an error naming the missing columns; each data row gives one [`Parsed`].
pub fn parse_csv(input: &str, territories: &Territories) -> Result<Vec<Parsed>, String> {
    let input = input.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(csv_delimiter(input))
        .flexible(true)
        .from_reader(input.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("En-tête CSV illisible : {e}"))?
        .clone();
    let columns = CsvColumns::locate(&headers)?;
    let context = Context::new(territories);
    let mut parsed = Vec::new();
    for (i, row) in reader.records().enumerate() {
        match row {
            Ok(row) if row.iter().all(|cell| cell.trim().is_empty()) => {}
            Ok(row) => {
                let line = row.position().map_or(i as u64 + 2, |p| p.line());
                parsed.push(build(
                    columns.raw_aid(&row, format!("ligne {line}")),
                    &context,
                ));
            }
            Err(e) => {
                let line = e.position().map_or(i as u64 + 2, |p| p.line());
                parsed.push(unreadable(
                    format!("ligne {line}"),
                    format!("Ligne CSV illisible : {e}"),
                ));
            }
        }
    }
    Ok(parsed)
}

/// A record that could not even be read.
fn unreadable(position: String, message: String) -> Parsed {
    Parsed {
        label: position,
        result: Err(FieldError {
            field: String::new(),
            message,
        }),
        warnings: Vec::new(),
        match_by_source_url: true,
    }
}

// ---------------------------------------------------------------------------------------
// Reading each format into a RawAid
// ---------------------------------------------------------------------------------------

/// One aid in the source's own words, before mapping to the vocabulary.
#[derive(Debug, Default)]
struct RawAid {
    /// « ligne 3 » or « enregistrement 2 »: the label when no slug can be made.
    position: String,
    /// The aid's page on Aides-territoires, absolute.
    page_url: Option<String>,
    /// What to make the slug of when there is no page address (API slug, else the name).
    slug_hint: Option<String>,
    name: String,
    /// HTML or plain text.
    description: Option<String>,
    /// HTML or plain text, appended to the description.
    eligibility: Option<String>,
    financers: Vec<String>,
    audiences: Vec<String>,
    aid_types: Vec<String>,
    recurrence: Option<String>,
    opens_on: Option<String>,
    closes_on: Option<String>,
    rate_min: Option<Value>,
    rate_max: Option<Value>,
    perimeter: PerimeterSource,
    /// API categories, `Thème|Sous-thème`; empty for the CSV.
    categories: Vec<String>,
    application_url: Option<String>,
}

/// How to find where an aid applies.
#[derive(Debug, Default)]
enum PerimeterSource {
    /// The CSV has no perimeter: infer it from the funders' names.
    #[default]
    FromFunders,
    /// The API names a territory, with its scale (« Département »…) when given.
    Named {
        name: Option<String>,
        scale: Option<String>,
    },
}

/// Positions of the CSV columns.
struct CsvColumns {
    name: usize,
    link: usize,
    funders: usize,
    audiences: usize,
    aid_types: usize,
    recurrence: Option<usize>,
    description: Option<usize>,
    closes_on: Option<usize>,
}

impl CsvColumns {
    /// Finds the columns by name (case, accent and punctuation insensitive).
    fn locate(headers: &csv::StringRecord) -> Result<Self, String> {
        let keys: Vec<String> = headers.iter().map(compact_key).collect();
        let find = |aliases: &[&str]| keys.iter().position(|k| aliases.contains(&k.as_str()));
        let required = [
            ("Nom", find(&["nom"])),
            ("Lien", find(&["lien"])),
            ("Financeurs", find(&["financeurs", "financeur"])),
            ("Bénéficiaire", find(&["beneficiaire", "beneficiaires"])),
            (
                "Types d'aides",
                find(&["typesdaides", "typedaide", "typesdaide"]),
            ),
        ];
        let missing: Vec<String> = required
            .iter()
            .filter(|(_, index)| index.is_none())
            .map(|(label, _)| format!("« {label} »"))
            .collect();
        match missing.len() {
            0 => {}
            1 => {
                return Err(format!(
                    "Colonne obligatoire absente de l'en-tête CSV : {}.",
                    missing[0]
                ));
            }
            _ => {
                return Err(format!(
                    "Colonnes obligatoires absentes de l'en-tête CSV : {}.",
                    missing.join(", ")
                ));
            }
        }
        let [name, link, funders, audiences, aid_types] =
            required.map(|(_, index)| index.unwrap_or_default());
        Ok(CsvColumns {
            name,
            link,
            funders,
            audiences,
            aid_types,
            recurrence: find(&["recurrence"]),
            description: find(&["descriptif", "description"]),
            closes_on: find(&["datecloture", "datedecloture"]),
        })
    }

    fn raw_aid(&self, row: &csv::StringRecord, position: String) -> RawAid {
        let cell = |index: usize| {
            row.get(index)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let optional = |index: Option<usize>| index.and_then(cell);
        let list = |index: usize| split_list(row.get(index).unwrap_or_default());
        let name = cell(self.name).unwrap_or_default();
        RawAid {
            position,
            page_url: cell(self.link).and_then(|link| absolute_url(&link)),
            slug_hint: Some(name.clone()),
            name,
            description: optional(self.description),
            financers: list(self.funders),
            audiences: list(self.audiences),
            aid_types: list(self.aid_types),
            recurrence: optional(self.recurrence),
            closes_on: optional(self.closes_on),
            ..RawAid::default()
        }
    }
}

/// `;` when the header line has more semicolons than commas, else `,`.
fn csv_delimiter(input: &str) -> u8 {
    let header = input.lines().next().unwrap_or_default();
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

/// Splits a `;`-separated cell into trimmed, non-empty values.
fn split_list(cell: &str) -> Vec<String> {
    cell.split(';')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn raw_aid_from_api(aid: &Map<String, Value>, position: String) -> RawAid {
    let text = |key: &str| aid.get(key).and_then(text_of);
    let name = text("name")
        .or_else(|| text("short_title"))
        .unwrap_or_default();
    RawAid {
        position,
        page_url: text("url").and_then(|url| absolute_url(&url)),
        slug_hint: text("slug").or_else(|| Some(name.clone())),
        name,
        description: text("description"),
        eligibility: text("eligibility"),
        financers: list_of(aid.get("financers")),
        audiences: list_of(aid.get("targeted_audiences")),
        aid_types: list_of(aid.get("aid_types")),
        recurrence: text("recurrence"),
        opens_on: text("start_date"),
        closes_on: text("submission_deadline"),
        rate_min: aid.get("subvention_rate_lower_bound").cloned(),
        rate_max: aid.get("subvention_rate_upper_bound").cloned(),
        perimeter: PerimeterSource::Named {
            name: text("perimeter"),
            scale: text("perimeter_scale"),
        },
        categories: list_of(aid.get("categories")),
        application_url: text("application_url"),
    }
}

/// A JSON value as text: a non-blank string, a number, or an object's `name`.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(fields) => fields.get("name").and_then(text_of),
        _ => None,
    }
}

/// A JSON list of names (strings or objects with a `name`); a lone string is a list of one.
fn list_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(text_of).collect(),
        Some(other) => text_of(other).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The page address made absolute, or `None` when it is not an address.
fn absolute_url(url: &str) -> Option<String> {
    let url = url.trim();
    if is_http_url(url) {
        Some(url.to_owned())
    } else if url.starts_with('/') && !url.contains(char::is_whitespace) {
        Some(format!("{SITE}{url}"))
    } else if url.starts_with("aides-territoires.beta.gouv.fr/") {
        Some(format!("https://{url}"))
    } else {
        None
    }
}

/// An absolute web address without spaces, as [`SchemeRecord`] validation wants it.
fn is_http_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() > 10
        && !url.contains(char::is_whitespace)
}

// ---------------------------------------------------------------------------------------
// Mapping a RawAid onto a SchemeRecord
// ---------------------------------------------------------------------------------------

/// What every record of a file is mapped with.
struct Context<'a> {
    territories: &'a Territories,
    /// Départements and régions by (kind, place key of their name).
    named_areas: HashMap<(TerritoryKind, String), &'a Territory>,
}

impl<'a> Context<'a> {
    fn new(territories: &'a Territories) -> Self {
        let named_areas = territories
            .all()
            .iter()
            .filter(|t| matches!(t.kind, TerritoryKind::Department | TerritoryKind::Region))
            .map(|t| ((t.kind, place_key(&t.name)), t))
            .collect();
        Context {
            territories,
            named_areas,
        }
    }
}

/// Maps one raw aid to its [`Parsed`] record, labelled by its slug.
fn build(raw: RawAid, context: &Context<'_>) -> Parsed {
    let slug = scheme_slug(&raw);
    let label = slug.clone().unwrap_or_else(|| raw.position.clone());
    let mut warnings = Vec::new();
    let result = to_record(raw, slug, context, &mut warnings);
    Parsed {
        label,
        result,
        warnings,
        match_by_source_url: true,
    }
}

fn field_error(field: &str, message: String) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message,
    }
}

/// The record, or the first problem that prevents it; warnings pile up along the way.
fn to_record(
    raw: RawAid,
    slug: Option<String>,
    context: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Result<SchemeRecord, FieldError> {
    let title = truncate_words(&single_line(&raw.name), MAX_TITLE_CHARS);
    let funders = funders(&raw.financers);
    let beneficiary_types = beneficiary_types(&raw.audiences, warnings);
    let aid_types = aid_types(&raw.aid_types, warnings);
    let recurrence = raw
        .recurrence
        .as_deref()
        .and_then(|r| recurrence(r, warnings));
    let perimeter = match &raw.perimeter {
        PerimeterSource::FromFunders => perimeter_from_funders(&funders, context),
        PerimeterSource::Named { name, scale } => {
            named_perimeter(name.as_deref(), scale.as_deref(), context, warnings)
        }
    };
    let themes = themes(&title, &raw.categories, &aid_types);
    let main_text = raw
        .description
        .as_deref()
        .map(to_plain_text)
        .filter(|d| !d.is_empty());
    let summary = main_text.as_deref().and_then(first_sentence);
    let description = with_eligibility(main_text, raw.eligibility.as_deref());
    let application_url = raw
        .application_url
        .as_deref()
        .and_then(|url| application_url(url, warnings));

    if title.is_empty() {
        return Err(field_error("title", "Le nom de l'aide est vide.".into()));
    }
    let slug = slug.ok_or_else(|| {
        field_error(
            "slug",
            "Impossible de former un identifiant : ni adresse de fiche, ni nom utilisable.".into(),
        )
    })?;
    if funders.is_empty() {
        return Err(field_error(
            "funders",
            "Aucun financeur indiqué : l'aide ne peut pas être reprise.".into(),
        ));
    }
    if beneficiary_types.is_empty() {
        return Err(field_error(
            "beneficiaryTypes",
            no_beneficiary_message(&raw.audiences),
        ));
    }
    let calendar = Calendar {
        recurrence,
        opens_on: optional_date(raw.opens_on.as_deref(), "calendar.opensOn")?,
        closes_on: optional_date(raw.closes_on.as_deref(), "calendar.closesOn")?,
    };
    let funding = Funding {
        rate_min: rate(raw.rate_min.as_ref(), "funding.rateMin")?,
        rate_max: rate(raw.rate_max.as_ref(), "funding.rateMax")?,
        ..Funding::default()
    };
    Ok(SchemeRecord {
        slug,
        title,
        summary,
        description,
        funders,
        beneficiary_types,
        themes,
        aid_types,
        // The export does not say whether an aid funds investment or operating costs.
        natures: Vec::new(),
        perimeter: Some(perimeter),
        rules: Rules::default(),
        funding,
        calendar,
        required_documents: Vec::new(),
        application_url,
        source_url: raw.page_url,
        verified_on: None,
        status: None,
    })
}

fn no_beneficiary_message(audiences: &[String]) -> String {
    if audiences.is_empty() {
        "Aucun bénéficiaire indiqué : l'aide ne peut pas être reprise.".into()
    } else {
        let listed: Vec<String> = audiences.iter().map(|a| format!("« {a} »")).collect();
        format!(
            "Aucun type de bénéficiaire reconnu parmi {} : l'aide ne peut pas être reprise.",
            listed.join(", ")
        )
    }
}

/// The description, followed by the eligibility conditions as their own paragraph.
fn with_eligibility(description: Option<String>, eligibility: Option<&str>) -> Option<String> {
    let eligibility = eligibility.map(to_plain_text).filter(|e| !e.is_empty());
    match (description, eligibility) {
        (Some(d), Some(e)) => Some(format!("{d}\n\nConditions d'éligibilité :\n{e}")),
        (None, Some(e)) => Some(format!("Conditions d'éligibilité :\n{e}")),
        (d, None) => d,
    }
}

fn application_url(url: &str, warnings: &mut Vec<String>) -> Option<String> {
    if is_http_url(url) {
        Some(url.to_owned())
    } else {
        warnings.push(format!(
            "Adresse de candidature non reprise (ce n'est pas une adresse web) : « {url} »"
        ));
        None
    }
}

// --- Slugs -------------------------------------------------------------------------------

/// `at-` + the last segment of the page address, else `at-` + the slug hint.
fn scheme_slug(raw: &RawAid) -> Option<String> {
    let base = raw
        .page_url
        .as_deref()
        .and_then(last_path_segment)
        .map(slugify)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            raw.slug_hint
                .as_deref()
                .map(slugify)
                .filter(|s| !s.is_empty())
        })?;
    Some(limit_slug(&format!("{SLUG_PREFIX}{base}")))
}

/// The last non-empty segment of an address's path (no query, no fragment).
fn last_path_segment(url: &str) -> Option<&str> {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme.split(['?', '#']).next().unwrap_or_default();
    let (_host, path) = path.split_once('/')?;
    path.rsplit('/').find(|segment| !segment.is_empty())
}

/// Lowercase ASCII kebab-case: accents folded, anything else a single hyphen, at most 120
/// characters cut at a hyphen.
fn slugify(text: &str) -> String {
    let mut slug = String::with_capacity(text.len());
    for c in fold(text).chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    limit_slug(slug.trim_end_matches('-'))
}

fn limit_slug(slug: &str) -> String {
    if slug.len() <= MAX_SLUG_CHARS {
        return slug.to_owned();
    }
    let head = &slug[..=MAX_SLUG_CHARS];
    let cut = head.rfind('-').filter(|&i| i > 0).unwrap_or(MAX_SLUG_CHARS);
    slug[..cut].trim_end_matches('-').to_owned()
}

// --- Funders -----------------------------------------------------------------------------

/// One funder per distinct name (by slug), with its kind guessed from the name.
fn funders(names: &[String]) -> Vec<FunderRecord> {
    let mut funders: Vec<FunderRecord> = Vec::new();
    for name in names {
        let name = single_line(name);
        let slug = slugify(&name);
        if slug.is_empty() || funders.iter().any(|f| f.slug == slug) {
            continue;
        }
        funders.push(FunderRecord {
            slug,
            kind: funder_kind(&name),
            name,
            contact_email: None,
            public_body: None,
            name_in_sentence: None,
            parent: None,
            jurisdiction: Vec::new(),
        });
    }
    funders
}

/// Funder kinds by keywords of their names, the first match winning (so « Banque des
/// Territoires » is a public agency before « Banque » makes it a bank, and « Établissement
/// public foncier d'État » an agency before « État » makes it the State).
#[rustfmt::skip]
const FUNDER_KINDS: &[(FunderKind, &[&str])] = &[
    (FunderKind::Foundation, &["fondation*"]),
    (FunderKind::PublicAgency, &[
        "banque des territoires", "caisse des depots", "etablissement* public*", "epf", "epfl",
        "epflo", "epora", "ademe", "anct", "cerema", "anah", "bpi", "bpifrance", "agence*",
        "office", "offices", "chambre*",
    ]),
    (FunderKind::SocialSecurity, &[
        "caf", "caisse* d allocations familiales", "msa", "mutualite sociale agricole", "carsat",
        "cpam", "cnav", "cnsa", "urssaf", "assurance*",
    ]),
    (FunderKind::State, &[
        "etat", "prefecture*", "prefet*", "ministere*", "interministeriel*", "gouvernement",
        "dreal", "ddt", "ddtm", "drac", "dreets", "ddets", "draaf", "dgfip", "sgar", "direction*",
    ]),
    (FunderKind::Department, &["conseil departemental", "conseil general", "departement"]),
    (FunderKind::Region, &["conseil regional", "region"]),
    (FunderKind::Bank, &["banque*", "credit*", "caisse* d epargne"]),
    (FunderKind::Eu, &[
        "union europeenne", "commission europeenne", "fonds europeen*", "feder", "feader", "fse",
        "leader", "interreg", "europe",
    ]),
    (FunderKind::Intercommunality, &[
        "communaute de communes", "communaute d agglomeration", "communaute urbaine",
        "agglomeration", "metropole", "petr", "pays", "syndicat*", "sivom", "sivu",
    ]),
    (FunderKind::Commune, &["commune", "ville", "mairie"]),
    (FunderKind::Network, &["reseau*", "france active", "initiative*", "federation*"]),
];

/// The kind of a funder guessed from its name; [`FunderKind::Other`] when nothing matches.
fn funder_kind(name: &str) -> FunderKind {
    let name_words: Vec<String> = words(name).collect();
    FUNDER_KINDS
        .iter()
        .find(|(_, keywords)| keywords.iter().any(|k| contains_keyword(&name_words, k)))
        .map_or(FunderKind::Other, |(kind, _)| *kind)
}

// --- Beneficiaries, aid types, recurrence --------------------------------------------------

/// `None` means a known value deliberately not mapped (warned about).
const BENEFICIARIES: &[(&str, Option<BeneficiaryType>)] = &[
    ("communes", Some(BeneficiaryType::Commune)),
    ("commune", Some(BeneficiaryType::Commune)),
    ("intercommunalitespays", Some(BeneficiaryType::Epci)),
    ("intercommunalites", Some(BeneficiaryType::Epci)),
    ("epci", Some(BeneficiaryType::Epci)),
    ("departements", Some(BeneficiaryType::Department)),
    ("department", Some(BeneficiaryType::Department)),
    ("regions", Some(BeneficiaryType::Region)),
    ("region", Some(BeneficiaryType::Region)),
    (
        "etablissementspublicsecolesbibliothequesservicesdeletat",
        Some(BeneficiaryType::PublicEstablishment),
    ),
    ("publicorg", Some(BeneficiaryType::PublicEstablishment)),
    (
        "entreprisespubliqueslocalessemsplsemop",
        Some(BeneficiaryType::PublicEstablishment),
    ),
    ("publiccies", Some(BeneficiaryType::PublicEstablishment)),
    ("associations", Some(BeneficiaryType::Association)),
    ("association", Some(BeneficiaryType::Association)),
    ("entreprisesprivees", Some(BeneficiaryType::Company)),
    ("privatesector", Some(BeneficiaryType::Company)),
    ("particuliers", Some(BeneficiaryType::Individual)),
    ("privateperson", Some(BeneficiaryType::Individual)),
    ("agriculteurs", Some(BeneficiaryType::Farmer)),
    ("farmer", Some(BeneficiaryType::Farmer)),
];

/// The beneficiary types of the audiences, in order and without duplicates; each audience
/// that has no equivalent adds a warning.
fn beneficiary_types(audiences: &[String], warnings: &mut Vec<String>) -> Vec<BeneficiaryType> {
    let mut types = Vec::new();
    for audience in audiences {
        let key = compact_key(audience);
        let mapped = BeneficiaryType::parse(audience.trim()).or_else(|| {
            BENEFICIARIES
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, t)| *t)
        });
        match mapped {
            Some(t) if !types.contains(&t) => types.push(t),
            Some(_) => {}
            None => warnings.push(format!("Bénéficiaire non repris : « {audience} »")),
        }
    }
    types
}

const AID_TYPES: &[(&str, AidType)] = &[
    ("subvention", AidType::Grant),
    ("grant", AidType::Grant),
    ("pret", AidType::Loan),
    ("loan", AidType::Loan),
    ("avancerecuperable", AidType::RecoverableAdvance),
    ("recoverableadvance", AidType::RecoverableAdvance),
    ("garantie", AidType::Guarantee),
    ("ingenierietechnique", AidType::TechnicalEngineering),
    ("technicalengineering", AidType::TechnicalEngineering),
    ("ingenieriefinanciere", AidType::FinancialEngineering),
    ("financialengineering", AidType::FinancialEngineering),
    (
        "ingenieriejuridiqueadministrative",
        AidType::LegalEngineering,
    ),
    (
        "ingenieriejuridiqueetadministrative",
        AidType::LegalEngineering,
    ),
    ("legalengineering", AidType::LegalEngineering),
    ("autreaidefinanciere", AidType::Other),
    ("certificatdeconomiedenergiecee", AidType::Other),
    ("cee", AidType::Other),
    ("other", AidType::Other),
];

/// The aid types, in order and without duplicates; an unknown label counts as
/// [`AidType::Other`] with a warning.
fn aid_types(labels: &[String], warnings: &mut Vec<String>) -> Vec<AidType> {
    let mut types = Vec::new();
    for label in labels {
        let key = compact_key(label);
        let known = AidType::parse(label.trim())
            .or_else(|| AID_TYPES.iter().find(|(k, _)| *k == key).map(|(_, t)| *t));
        let aid_type = known.unwrap_or_else(|| {
            warnings.push(format!(
                "Type d'aide non reconnu, classé « Autre » : « {label} »"
            ));
            AidType::Other
        });
        if !types.contains(&aid_type) {
            types.push(aid_type);
        }
    }
    types
}

fn recurrence(label: &str, warnings: &mut Vec<String>) -> Option<Recurrence> {
    match compact_key(label).as_str() {
        "permanente" | "permanent" | "ongoing" => Some(Recurrence::Permanent),
        "recurrente" | "recurrent" | "recurring" => Some(Recurrence::Recurring),
        "ponctuelle" | "ponctuel" | "oneoff" => Some(Recurrence::OneOff),
        _ => {
            warnings.push(format!("Récurrence non reprise : « {label} »"));
            None
        }
    }
}

// --- Dates and rates ---------------------------------------------------------------------

/// A date written `JJ/MM/AAAA`, `AAAA-MM-JJ` or `AAAA-MM-JJThh:mm…`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let day = text.split(['T', ' ']).next().unwrap_or(text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(day, "%d/%m/%Y"))
        .ok()
        .filter(|d| d.format("%Y").to_string().len() == 4)
}

fn optional_date(text: Option<&str>, field: &str) -> Result<Option<NaiveDate>, FieldError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => parse_date(t).map(Some).ok_or_else(|| {
            field_error(
                field,
                format!("Date illisible : « {t} » (formats attendus : JJ/MM/AAAA ou AAAA-MM-JJ)."),
            )
        }),
    }
}

/// A percentage between 0 and 100: a JSON number, or a string such as « 40 % ».
fn rate(value: Option<&Value>, field: &str) -> Result<Option<f64>, FieldError> {
    let rate = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .trim_end_matches('%')
            .trim()
            .replace(',', ".")
            .parse()
            .ok(),
        Some(_) => None,
    };
    match rate {
        Some(r) if (0.0..=100.0).contains(&r) => Ok(Some(r)),
        Some(r) => Err(field_error(
            field,
            format!("Un taux est un pourcentage compris entre 0 et 100 (reçu : {r})."),
        )),
        None => Err(field_error(
            field,
            format!(
                "Taux illisible : {}.",
                value.map(Value::to_string).unwrap_or_default()
            ),
        )),
    }
}

// --- Perimeter ---------------------------------------------------------------------------

/// For the CSV: the départements and régions named at the end of Département or Région
/// funders' names (« Conseil départemental du Morbihan »); national when there are none.
fn perimeter_from_funders(funders: &[FunderRecord], context: &Context<'_>) -> Perimeter {
    let mut perimeter = Perimeter::default();
    for funder in funders {
        let kind = match funder.kind {
            FunderKind::Department => TerritoryKind::Department,
            FunderKind::Region => TerritoryKind::Region,
            _ => continue,
        };
        if let Some(territory) = area_named_at_end(&funder.name, kind, context) {
            add_to_perimeter(&mut perimeter, territory);
        }
    }
    if perimeter == Perimeter::default() {
        Perimeter::national()
    } else {
        perimeter.national = Some(false);
        perimeter
    }
}

/// The département or région (of `kind`) whose name ends `name`, longest name first, so
/// « … de la Haute-Marne » is Haute-Marne, not Marne. A trailing « (sigle) » is ignored.
fn area_named_at_end<'a>(
    name: &str,
    kind: TerritoryKind,
    context: &Context<'a>,
) -> Option<&'a Territory> {
    let name = match name
        .trim_end()
        .strip_suffix(')')
        .and_then(|n| n.rsplit_once('('))
    {
        Some((before, _)) => before,
        None => name,
    };
    let key_words: Vec<String> = words_of_place_key(name);
    (1..key_words.len())
        .map(|start| key_words[start..].join(" "))
        .find_map(|tail| context.named_areas.get(&(kind, tail)).copied())
}

fn words_of_place_key(name: &str) -> Vec<String> {
    place_key(name)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Names that mean « everywhere » for this catalogue.
fn is_nationwide(name: &str) -> bool {
    matches!(
        place_key(name).as_str(),
        "france" | "france metropolitaine" | "europe" | "union europeenne" | "outre mer"
    )
}

/// For the API: the territory the perimeter names; national for France, Europe, outre-mer
/// or nothing, and national with a warning for a name that is not found.
fn named_perimeter(
    name: Option<&str>,
    scale: Option<&str>,
    context: &Context<'_>,
    warnings: &mut Vec<String>,
) -> Perimeter {
    let Some(name) = name.filter(|n| !is_nationwide(n)) else {
        return Perimeter::national();
    };
    match territory_named(name, scale, context.territories) {
        Some(territory) => {
            let mut perimeter = Perimeter {
                national: Some(false),
                ..Perimeter::default()
            };
            add_to_perimeter(&mut perimeter, territory);
            perimeter
        }
        None => {
            warnings.push(format!("Périmètre non trouvé parmi les territoires, aide considérée comme nationale : « {name} »"));
            Perimeter::national()
        }
    }
}

/// The territory whose name is exactly `name` (as a place key); among several, the one of
/// the given scale, else a département, a région, a commune, then an EPCI.
fn territory_named<'a>(
    name: &str,
    scale: Option<&str>,
    territories: &'a Territories,
) -> Option<&'a Territory> {
    let key = place_key(name);
    let wanted = scale.and_then(kind_of_scale);
    let preference = |kind: TerritoryKind| match kind {
        TerritoryKind::Department => 0,
        TerritoryKind::Region => 1,
        TerritoryKind::Commune => 2,
        TerritoryKind::Epci => 3,
    };
    territories
        .search(name, 5)
        .into_iter()
        .filter(|t| place_key(&t.name) == key)
        .min_by_key(|t| (Some(t.kind) != wanted, preference(t.kind)))
}

/// The territory kind of an API `perimeter_scale` (« Département », « Région »…).
fn kind_of_scale(scale: &str) -> Option<TerritoryKind> {
    match compact_key(scale).as_str() {
        "commune" => Some(TerritoryKind::Commune),
        "epci" | "intercommunalite" => Some(TerritoryKind::Epci),
        "departement" => Some(TerritoryKind::Department),
        "region" => Some(TerritoryKind::Region),
        _ => None,
    }
}

fn add_to_perimeter(perimeter: &mut Perimeter, territory: &Territory) {
    let list = match territory.kind {
        TerritoryKind::Region => &mut perimeter.regions,
        TerritoryKind::Department => &mut perimeter.departments,
        TerritoryKind::Epci => &mut perimeter.epcis,
        TerritoryKind::Commune => &mut perimeter.communes,
    };
    if !list.contains(&territory.code) {
        list.push(territory.code.clone());
    }
}

// --- Themes ------------------------------------------------------------------------------

/// Strong keywords (folded words; `*` ends a prefix), reliable even in a bare title.
#[rustfmt::skip]
const TITLE_THEMES: &ThemeTable = &[
    ("commerce", &["commerce*", "commercant*"]),
    ("alimentation", &["alimentation", "alimentaire*"]),
    ("sante", &["sante", "soins", "medical*", "medecin*"]),
    ("mobilite", &[
        "mobilite*", "velo", "velos", "cyclable*", "cycliste*", "covoiturage",
        "transport* collectif*", "transport* en commun",
    ]),
    ("numerique", &["numerique*"]),
    ("tiers-lieux", &["tiers lieu*"]),
    ("culture", &["culture", "cultures", "culturel*", "lecture publique"]),
    ("sport", &["sport*"]),
    ("lien-social", &["lien social", "cohesion sociale"]),
    ("enfance-jeunesse", &["jeunesse", "enfance", "jeune* enfant*", "creche*"]),
    ("autonomie", &["perte d autonomie", "personne* agee*", "handicap*"]),
    ("habitat", &["logement*", "habitat", "habitats"]),
    ("energie-climat", &["energie*", "energetique*", "chaleur", "photovolta*"]),
    ("environnement", &["eau", "eaux", "biodiversite", "dechet*", "environnement*"]),
    ("patrimoine-tourisme", &["patrimoine*", "tourisme", "touristique*"]),
    ("services-publics", &["service* public*", "france services"]),
    ("economie-emploi", &["emploi*", "artisan*", "developpement economique"]),
    ("agriculture", &["agricul*"]),
    ("revitalisation", &["revitalisation", "redynamisation", "centre* bourg*", "centre* ville*"]),
    ("ingenierie", &["ingenierie"]),
];

/// Further keywords for the API categories, which name a theme on purpose.
#[rustfmt::skip]
const CATEGORY_THEMES: &ThemeTable = &[
    ("commerce", &["artisanat"]),
    ("alimentation", &["circuit* court*"]),
    ("mobilite", &["transport*", "deplacement*", "intermodalite"]),
    ("numerique", &["internet", "telecommunication*", "donnees"]),
    ("culture", &[
        "musee*", "bibliotheque*", "spectacle*", "arts", "lecture", "cinema", "musique",
    ]),
    ("lien-social", &["solidarite*", "pauvrete", "inclusion", "vie associative", "egalite*"]),
    ("enfance-jeunesse", &["jeune*", "education", "scolaire*", "ecole*", "parentalite"]),
    ("autonomie", &["autonomie", "vieillissement", "grand age", "seniors"]),
    ("energie-climat", &["climat*", "renouvelable*"]),
    ("environnement", &[
        "nature", "milieux aquatiques", "assainissement", "economie circulaire", "pollution*",
        "paysage*",
    ]),
    ("patrimoine-tourisme", &["monument*"]),
    ("services-publics", &["acces aux services", "equipement* public*", "batiment* public*"]),
    ("economie-emploi", &[
        "economie sociale*", "economie locale", "entreprise*", "industri*", "innovation",
        "formation professionnelle", "activite* economique*",
    ]),
    ("agriculture", &["agroalimentaire", "foret*", "forestier*", "elevage", "peche"]),
    ("revitalisation", &["friche*", "centralite*"]),
    ("ingenierie", &["appui methodologique", "maitrise d ouvrage"]),
];

/// A table of themes and the keywords that reveal them.
type ThemeTable = [(&'static str, &'static [&'static str])];

/// Keywords that do not count when the text also holds one of the listed words: a
/// « patrimoine » that is public, communal or to be insulated is building stock, not heritage.
const AMBIGUOUS_KEYWORDS: &[(&str, &[&str])] = &[(
    "patrimoine*",
    &[
        "patrimoine public",
        "patrimoine communal",
        "patrimoine immobilier",
        "energie*",
        "energetique*",
    ],
)];

/// Themes from the API categories (else, conservatively, from the title), plus
/// `ingenierie` when the aid is engineering.
fn themes(title: &str, categories: &[String], aid_types: &[AidType]) -> Vec<String> {
    let mut themes: Vec<String> = Vec::new();
    for theme in categories
        .iter()
        .flat_map(|category| themes_of_category(category))
    {
        if !themes.contains(&theme) {
            themes.push(theme);
        }
    }
    if themes.is_empty() {
        themes = themes_in(title, &[TITLE_THEMES]);
    }
    let engineering = [
        AidType::TechnicalEngineering,
        AidType::FinancialEngineering,
        AidType::LegalEngineering,
    ];
    if aid_types.iter().any(|t| engineering.contains(t))
        && !themes.iter().any(|t| t == "ingenierie")
    {
        themes.push("ingenierie".to_owned());
    }
    themes
}

/// `Thème|Sous-thème`: the sub-theme decides, the theme only when the sub-theme says nothing
/// (so « Urbanisme / Logement / Aménagement|Revitalisation » is not about housing).
fn themes_of_category(category: &str) -> Vec<String> {
    let tables: [&ThemeTable; 2] = [TITLE_THEMES, CATEGORY_THEMES];
    let (theme, sub_theme) = category.rsplit_once('|').unwrap_or(("", category));
    let found = themes_in(sub_theme, &tables);
    if found.is_empty() {
        themes_in(theme, &tables)
    } else {
        found
    }
}

/// The themes whose keywords the text holds, in table order.
fn themes_in(text: &str, tables: &[&ThemeTable]) -> Vec<String> {
    let text_words: Vec<String> = words(text).collect();
    let mut themes: Vec<String> = Vec::new();
    for (theme, keywords) in tables.iter().flat_map(|table| table.iter()) {
        if !themes.iter().any(|t| t == theme)
            && keywords.iter().any(|k| keyword_counts(&text_words, k))
        {
            themes.push((*theme).to_owned());
        }
    }
    themes
}

/// The keyword is in the words, and not made ambiguous by another (see [`AMBIGUOUS_KEYWORDS`]).
fn keyword_counts(text_words: &[String], keyword: &str) -> bool {
    contains_keyword(text_words, keyword)
        && !AMBIGUOUS_KEYWORDS
            .iter()
            .filter(|(ambiguous, _)| *ambiguous == keyword)
            .any(|(_, spoilers)| spoilers.iter().any(|s| contains_keyword(text_words, s)))
}

/// True when the folded words contain the keyword's words in a row; a keyword word ending
/// in `*` matches any word it begins.
fn contains_keyword(text_words: &[String], keyword: &str) -> bool {
    let wanted: Vec<&str> = keyword.split(' ').collect();
    text_words.windows(wanted.len()).any(|window| {
        window
            .iter()
            .zip(&wanted)
            .all(|(word, want)| match want.strip_suffix('*') {
                Some(prefix) => word.starts_with(prefix),
                None => word == want,
            })
    })
}

// ---------------------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------------------

/// Folded, with only letters and digits: « Types d'aides » → `typesdaides`.
fn compact_key(text: &str) -> String {
    fold(text).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Plain text on one line, whitespace collapsed.
fn single_line(text: &str) -> String {
    to_plain_text(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text at most `max` characters long, cut after a whole word and ended with « … » when it
/// had to be cut.
fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let head: String = text.chars().take(max).collect();
    let cut = match head.rfind(char::is_whitespace) {
        Some(i) if i > 0 => &head[..i],
        _ => {
            let end = head
                .char_indices()
                .nth(max - 1)
                .map_or(head.len(), |(i, _)| i);
            &head[..end]
        }
    };
    let cut = cut.trim_end_matches(|c: char| c.is_whitespace() || ",;:–—-".contains(c));
    format!("{cut}…")
}

/// The first sentence of a plain-text description (within its first line), at most 240
/// characters.
fn first_sentence(description: &str) -> Option<String> {
    let line = description.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line.strip_prefix("- ").unwrap_or(line);
    let end = sentence_end(line).unwrap_or(line.len());
    let sentence = truncate_words(line[..end].trim(), MAX_SUMMARY_CHARS);
    (!sentence.is_empty()).then_some(sentence)
}

/// Abbreviations whose dot does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "cf", "ex", "art", "mme", "mmes", "mm", "mr", "env", "hab", "nb", "st", "ste",
];

/// The byte offset just after the first sentence-ending mark: `.`, `!` or `?` followed by a
/// space and a capital, a digit or a quote (or the end), after at least 20 characters and
/// not after an abbreviation or a list number.
fn sentence_end(text: &str) -> Option<usize> {
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '!' | '?') || i < 20 {
            continue;
        }
        let after = &text[i + c.len_utf8()..];
        let next_starts_sentence = match after.strip_prefix(char::is_whitespace) {
            Some(rest) => rest
                .trim_start()
                .chars()
                .next()
                .is_none_or(|n| n.is_uppercase() || n.is_ascii_digit() || "«\"“".contains(n)),
            None => after.is_empty(),
        };
        let previous_word = text[..i]
            .rsplit(|ch: char| !ch.is_alphanumeric())
            .next()
            .unwrap_or_default();
        let after_abbreviation = c == '.'
            && (previous_word.chars().count() == 1
                || previous_word.chars().all(|ch| ch.is_ascii_digit())
                || ABBREVIATIONS.contains(&fold(previous_word).as_str()));
        if next_starts_sentence && !after_abbreviation {
            return Some(i + c.len_utf8());
        }
    }
    None
}

/// Plain text from HTML or text: tags removed (paragraphs and list items become line
/// breaks, a blank line between paragraphs), entities decoded, whitespace collapsed. In
/// text without tags, existing line breaks and blank lines are kept.
fn to_plain_text(input: &str) -> String {
    let html = looks_like_html(input);
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find(['<', '&']) {
        push_source_text(&mut out, &rest[..i], html);
        let tail = &rest[i..];
        if let Some((tag, after)) = split_tag(tail) {
            out.push_str(tag.line_break());
            rest = if tag.hides_content() {
                skip_element(after, &tag.name)
            } else {
                after
            };
        } else if let Some((decoded, after)) = split_entity(tail) {
            out.push_str(&decoded);
            rest = after;
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    push_source_text(&mut out, rest, html);
    tidy_lines(&out)
}

/// In HTML, source line breaks are mere spaces; in text they are kept.
fn push_source_text(out: &mut String, text: &str, html: bool) {
    if html {
        out.extend(
            text.chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
    } else {
        out.push_str(&text.replace("\r\n", "\n").replace('\r', "\n"));
    }
}

fn looks_like_html(text: &str) -> bool {
    text.match_indices('<')
        .any(|(i, _)| split_tag(&text[i..]).is_some())
}

/// An HTML tag or comment.
struct Tag {
    /// Lowercase element name; empty for comments and declarations.
    name: String,
    closing: bool,
}

impl Tag {
    /// What the tag becomes in plain text.
    fn line_break(&self) -> &'static str {
        match self.name.as_str() {
            "br" => "\n",
            "li" if !self.closing => "\n- ",
            "p" | "div" | "ul" | "ol" | "table" | "tr" | "blockquote" | "section" | "article"
            | "header" | "footer" | "hr" | "pre" | "dl" | "dt" | "dd" | "h1" | "h2" | "h3"
            | "h4" | "h5" | "h6" => "\n\n",
            "td" | "th" => " ",
            _ => "",
        }
    }

    fn hides_content(&self) -> bool {
        !self.closing && matches!(self.name.as_str(), "script" | "style")
    }
}

/// Splits `<tag …>` (or `<!-- … -->`) off the start of `text`; `None` when `text` does not
/// start with one (« < 90 k€ » is text).
fn split_tag(text: &str) -> Option<(Tag, &str)> {
    let inner = text.strip_prefix('<')?;
    if let Some(comment) = inner.strip_prefix("!--") {
        let end = comment.find("-->")?;
        return Some((
            Tag {
                name: String::new(),
                closing: false,
            },
            &comment[end + 3..],
        ));
    }
    let first = inner.chars().next()?;
    if !(first.is_ascii_alphabetic() || first == '/' || first == '!' || first == '?') {
        return None;
    }
    let end = inner.find('>')?;
    let body = &inner[..end];
    let closing = body.starts_with('/');
    let name: String = body
        .trim_start_matches(['/', '!', '?'])
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if closing && name.is_empty() {
        return None;
    }
    Some((Tag { name, closing }, &inner[end + 1..]))
}

/// What follows the closing tag of `name` (the content of a script or style is dropped).
fn skip_element<'t>(text: &'t str, name: &str) -> &'t str {
    let closing = format!("</{name}");
    match text.to_ascii_lowercase().find(&closing) {
        Some(start) => match text[start..].find('>') {
            Some(end) => &text[start + end + 1..],
            None => "",
        },
        None => "",
    }
}

/// Splits a character entity (`&amp;`, `&#39;`, `&#x2019;`) off the start of `text`, decoded.
fn split_entity(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('&')?;
    let end = body.char_indices().take(12).find(|(_, c)| *c == ';')?.0;
    let name = &body[..end];
    let decoded = match name.strip_prefix('#') {
        Some(number) => {
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)?.to_string()
        }
        None => named_entity(name)?.to_owned(),
    };
    Some((decoded, &body[end + 1..]))
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "nbsp" | "ensp" | "emsp" | "thinsp" | "nnbsp" => " ",
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "shy" | "zwnj" | "zwj" => "",
        "rsquo" => "’",
        "lsquo" => "‘",
        "rdquo" => "”",
        "ldquo" => "“",
        "laquo" => "«",
        "raquo" => "»",
        "hellip" => "…",
        "ndash" => "–",
        "mdash" => "—",
        "bull" => "•",
        "middot" => "·",
        "euro" => "€",
        "deg" => "°",
        "times" => "×",
        "eacute" => "é",
        "Eacute" => "É",
        "egrave" => "è",
        "Egrave" => "È",
        "ecirc" => "ê",
        "Ecirc" => "Ê",
        "euml" => "ë",
        "agrave" => "à",
        "Agrave" => "À",
        "acirc" => "â",
        "Acirc" => "Â",
        "ccedil" => "ç",
        "Ccedil" => "Ç",
        "icirc" => "î",
        "iuml" => "ï",
        "ocirc" => "ô",
        "ugrave" => "ù",
        "ucirc" => "û",
        "uuml" => "ü",
        "oelig" => "œ",
        "OElig" => "Œ",
        _ => return None,
    })
}

/// Collapses spaces within lines, drops empty list markers, and keeps at most one blank line
/// between paragraphs, none at the edges.
fn tidy_lines(text: &str) -> String {
    let mut paragraphs: Vec<String> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if line.is_empty() || line == "-" {
            if !current.is_empty() {
                paragraphs.push(current.join("\n"));
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        paragraphs.push(current.join("\n"));
    }
    paragraphs.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn territories() -> &'static Territories {
        static TERRITORIES: std::sync::OnceLock<Territories> = std::sync::OnceLock::new();
        TERRITORIES.get_or_init(Territories::embedded)
    }

    fn ok(parsed: &Parsed) -> &SchemeRecord {
        parsed
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("{} : {} — {}", parsed.label, e.field, e.message))
    }

    fn err(parsed: &Parsed) -> &FieldError {
        parsed
            .result
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("{} should fail", parsed.label))
    }

    #[test]
    fn the_real_export_imports_at_least_260_aids() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/data/aides-territoires-periurbain.csv");
        let Ok(input) = std::fs::read_to_string(&path) else {
            eprintln!("skipped: {} is absent", path.display());
            return;
        };
        let territories = territories();
        let parsed = parse_csv(&input, territories).unwrap();
        assert_eq!(parsed.len(), 274);

        let mut failures = Vec::new();
        let mut slugs = std::collections::HashSet::new();
        let mut warnings: HashMap<&str, usize> = HashMap::new();
        for item in &parsed {
            for warning in &item.warnings {
                *warnings.entry(warning.as_str()).or_default() += 1;
            }
            match &item.result {
                Ok(record) => {
                    assert!(
                        slugs.insert(record.slug.clone()),
                        "duplicate slug {}",
                        record.slug
                    );
                    assert!(
                        record.source_url.is_some(),
                        "{} has no source address",
                        record.slug
                    );
                    let mut record = record.clone();
                    record.normalize();
                    for e in record.validate(territories) {
                        failures.push(format!("{} : {} — {}", record.slug, e.field, e.message));
                    }
                }
                Err(e) => eprintln!("ignoré « {} » : {} — {}", item.label, e.field, e.message),
            }
        }
        let oks = parsed.iter().filter(|p| p.result.is_ok()).count();
        eprintln!("{oks} aides reprises sur {}", parsed.len());
        let mut warnings: Vec<_> = warnings.into_iter().collect();
        warnings.sort();
        for (warning, count) in warnings {
            eprintln!("avertissement ×{count} : {warning}");
        }
        assert!(oks >= 260, "only {oks} aids imported");
        assert!(
            failures.is_empty(),
            "invalid records:\n{}",
            failures.join("\n")
        );

        let morbihan = parsed
            .iter()
            .find(|p| p.label == "at-e342-copie-14h23-favoriser-laccessibilite-des-bati")
            .expect("the Morbihan cycling aid");
        let record = ok(morbihan);
        assert!(
            record
                .title
                .starts_with("Accompagner et développer le maillage des liaisons")
        );
        assert_eq!(
            record.source_url.as_deref(),
            Some(
                "https://aides-territoires.beta.gouv.fr/aides/e342-copie-14h23-favoriser-laccessibilite-des-bati/"
            )
        );
        assert_eq!(
            record.funders,
            [FunderRecord {
                slug: "conseil-departemental-du-morbihan".into(),
                name: "Conseil départemental du Morbihan".into(),
                kind: FunderKind::Department,
                contact_email: None,
                public_body: None,
                name_in_sentence: None,
                parent: None,
                jurisdiction: Vec::new(),
            }]
        );
        assert_eq!(
            record.beneficiary_types,
            [BeneficiaryType::Commune, BeneficiaryType::Epci]
        );
        assert_eq!(
            record.aid_types,
            [AidType::Grant, AidType::FinancialEngineering]
        );
        let perimeter = record.perimeter.as_ref().unwrap();
        assert_eq!(perimeter.departments, ["56"]);
        assert!(!perimeter.is_national());
        assert_eq!(record.calendar.recurrence, Some(Recurrence::Permanent));
        for theme in ["mobilite", "patrimoine-tourisme", "ingenierie"] {
            assert!(
                record.themes.iter().any(|t| t == theme),
                "{theme} in {:?}",
                record.themes
            );
        }
        assert_eq!(
            record.summary.as_deref(),
            Some(
                "Soutien financier en faveur du développement des itinéraires cyclables et de leurs équipements."
            )
        );
        assert!(morbihan.warnings.is_empty());
        assert!(morbihan.match_by_source_url);
    }

    #[test]
    fn a_csv_header_without_a_required_column_is_rejected() {
        let input =
            "Nom,Lien,Bénéficiaire,Types d'aides\nA,https://example.org/a/,Communes,Subvention\n";
        let e = parse_csv(input, territories()).unwrap_err();
        assert!(e.contains("« Financeurs »"), "{e}");
        let e = parse_csv("", territories()).unwrap_err();
        assert!(
            e.contains("« Nom »") && e.contains("« Types d'aides »"),
            "{e}"
        );
    }

    #[test]
    fn csv_rows_report_their_problems_by_field() {
        let input = "\u{feff}Nom,Lien,Financeurs,Bénéficiaire,Types d'aides,AAP/AMI,Récurrence,Descriptif,Date Clôture\n\
            Aide A,https://aides-territoires.beta.gouv.fr/aides/aaaa-aide-a/,Région Occitanie,Communes;Recherche,Subvention;Garantie,,Ponctuelle,\"Texte  <b>gras</b>.\",31/12/2026\n\
            Aide B,https://aides-territoires.beta.gouv.fr/aides/bbbb-aide-b/,ADEME,Communes,Subvention,,Permanente,,31/02/2026\n\
            Aide C,https://aides-territoires.beta.gouv.fr/aides/cccc-aide-c/,ADEME,Recherche,Subvention,,Permanente,,\n\
            Aide D,,,Communes,Subvention,,Permanente,,\n";
        let parsed = parse_csv(input, territories()).unwrap();
        assert_eq!(parsed.len(), 4);

        let a = ok(&parsed[0]);
        assert_eq!(a.slug, "at-aaaa-aide-a");
        assert_eq!(a.perimeter.as_ref().unwrap().regions, ["76"]);
        assert_eq!(a.funders[0].kind, FunderKind::Region);
        assert_eq!(a.beneficiary_types, [BeneficiaryType::Commune]);
        assert_eq!(a.aid_types, [AidType::Grant, AidType::Guarantee]);
        assert_eq!(a.calendar.closes_on, NaiveDate::from_ymd_opt(2026, 12, 31));
        assert_eq!(a.calendar.recurrence, Some(Recurrence::OneOff));
        assert_eq!(a.description.as_deref(), Some("Texte gras."));
        assert_eq!(
            parsed[0].warnings,
            ["Bénéficiaire non repris : « Recherche »"]
        );

        let b = err(&parsed[1]);
        assert_eq!(b.field, "calendar.closesOn");
        assert!(b.message.contains("31/02/2026"), "{}", b.message);
        assert_eq!(parsed[1].label, "at-bbbb-aide-b");

        let c = err(&parsed[2]);
        assert_eq!(c.field, "beneficiaryTypes");
        assert!(c.message.contains("« Recherche »"), "{}", c.message);

        assert_eq!(parsed[3].label, "at-aide-d");
        assert_eq!(err(&parsed[3]).field, "funders");
    }

    #[test]
    fn reads_the_api_json_with_its_results_wrapper() {
        let input = include_str!("../../tests/fixtures/aides-territoires-api.json");
        let territories = territories();
        let parsed = parse_api_json(input, territories).unwrap();
        assert_eq!(parsed.len(), 3);
        for item in &parsed {
            let mut record = ok(item).clone();
            record.normalize();
            assert_eq!(record.validate(territories), []);
            assert!(item.match_by_source_url);
        }

        let commerce = ok(&parsed[0]);
        assert_eq!(
            commerce.slug,
            "at-8f2c-maintenir-le-dernier-commerce-en-milieu-rural"
        );
        assert_eq!(
            commerce.source_url.as_deref(),
            Some(
                "https://aides-territoires.beta.gouv.fr/aides/8f2c-maintenir-le-dernier-commerce-en-milieu-rural/"
            )
        );
        assert_eq!(commerce.funders[0].kind, FunderKind::Department);
        assert_eq!(
            commerce.funders[0].slug,
            "conseil-departemental-de-la-haute-marne"
        );
        assert_eq!(commerce.perimeter.as_ref().unwrap().departments, ["52"]);
        assert_eq!(
            commerce.beneficiary_types,
            [BeneficiaryType::Commune, BeneficiaryType::Epci]
        );
        assert_eq!(commerce.aid_types, [AidType::Grant]);
        assert_eq!(commerce.themes, ["commerce", "revitalisation"]);
        assert_eq!(commerce.funding.rate_min, Some(10.0));
        assert_eq!(commerce.funding.rate_max, Some(30.0));
        assert_eq!(commerce.calendar.recurrence, Some(Recurrence::Permanent));
        assert_eq!(
            commerce.application_url.as_deref(),
            Some("https://haute-marne.fr/aides/dernier-commerce")
        );
        assert_eq!(
            commerce.summary.as_deref(),
            Some(
                "Le Département aide les communes à maintenir ou rouvrir le dernier commerce du village."
            )
        );
        assert_eq!(
            commerce.description.as_deref(),
            Some(
                "Le Département aide les communes à maintenir ou rouvrir le dernier commerce du village. \
                 Sont financés l'acquisition et les travaux.\n\n\
                 - Taux : 10 à 30 %\n- Plafond : 50 000 €\n\n\
                 Conditions d'éligibilité :\nCommunes de moins de 2 000 habitants & leurs EPCI."
            )
        );
        assert!(parsed[0].warnings.is_empty(), "{:?}", parsed[0].warnings);

        let renovation = ok(&parsed[1]);
        assert_eq!(
            renovation.beneficiary_types,
            [BeneficiaryType::Commune, BeneficiaryType::Association]
        );
        assert_eq!(
            renovation.aid_types,
            [AidType::TechnicalEngineering, AidType::Other]
        );
        assert!(renovation.perimeter.as_ref().unwrap().is_national());
        assert_eq!(renovation.funders[0].kind, FunderKind::PublicAgency);
        assert_eq!(renovation.themes, ["energie-climat", "ingenierie"]);
        assert_eq!(
            renovation.calendar.opens_on,
            NaiveDate::from_ymd_opt(2026, 1, 15)
        );
        assert_eq!(
            renovation.calendar.closes_on,
            NaiveDate::from_ymd_opt(2026, 4, 30)
        );
        assert_eq!(renovation.calendar.recurrence, Some(Recurrence::OneOff));
        assert_eq!(
            parsed[1].warnings,
            [
                "Bénéficiaire non repris : « researcher »",
                "Bénéficiaire non repris : « special »",
                "Type d'aide non reconnu, classé « Autre » : « Prêt d'honneur »",
            ]
        );

        let region = ok(&parsed[2]);
        assert_eq!(region.perimeter.as_ref().unwrap().regions, ["76"]);
        assert_eq!(region.funders.len(), 2);
        assert_eq!(region.funders[1].kind, FunderKind::Eu);
        assert_eq!(region.themes, ["mobilite"]);
        assert_eq!(region.slug, "at-velo-du-quotidien-occitanie");
        assert_eq!(region.source_url, None);
    }

    #[test]
    fn reads_a_bare_api_array_and_reports_each_problem() {
        let input = r#"[
          {"id": 1, "slug": "a-1", "url": "/aides/a-1/", "name": "Aide  sans   bénéficiaire",
           "financers": ["ANCT"], "targeted_audiences": ["researcher"], "aid_types": ["Subvention"]},
          {"id": 2, "url": "/aides/a-2/", "name": "Taux faux", "financers": [{"name": "ANCT"}],
           "targeted_audiences": ["commune"], "subvention_rate_upper_bound": 150},
          {"id": 3, "url": "/aides/a-3/", "name": "Date fausse", "financers": ["ANCT"],
           "targeted_audiences": ["commune"], "submission_deadline": "2026-13-01"},
          {"id": 4, "url": "/aides/a-4/", "name": "Ailleurs", "financers": ["Mairie de Chaumont"],
           "targeted_audiences": ["Communes"], "perimeter": "Atlantide", "recurrence": "Parfois",
           "application_url": "écrire au maire", "extra": {"nested": [1, 2]}},
          {"id": 5, "url": "/aides/a-5/", "name": "Sans financeur", "financers": [],
           "targeted_audiences": ["commune"]},
          "not an object"
        ]"#;
        let parsed = parse_api_json(input, territories()).unwrap();
        assert_eq!(parsed.len(), 6);
        assert_eq!(parsed[0].label, "at-a-1");
        assert_eq!(err(&parsed[0]).field, "beneficiaryTypes");
        assert_eq!(err(&parsed[1]).field, "funding.rateMax");
        assert_eq!(err(&parsed[2]).field, "calendar.closesOn");
        assert!(err(&parsed[2]).message.contains("2026-13-01"));
        let elsewhere = ok(&parsed[3]);
        assert!(elsewhere.perimeter.as_ref().unwrap().is_national());
        assert_eq!(elsewhere.funders[0].kind, FunderKind::Commune);
        assert_eq!(elsewhere.application_url, None);
        assert_eq!(elsewhere.calendar.recurrence, None);
        assert_eq!(
            parsed[3].warnings,
            [
                "Récurrence non reprise : « Parfois »",
                "Périmètre non trouvé parmi les territoires, aide considérée comme nationale : « Atlantide »",
                "Adresse de candidature non reprise (ce n'est pas une adresse web) : « écrire au maire »",
            ]
        );
        assert_eq!(err(&parsed[4]).field, "funders");
        assert_eq!(parsed[5].label, "enregistrement 6");
        assert!(parsed[5].result.is_err());

        assert!(parse_api_json("{\"count\": 0}", territories()).is_err());
        assert!(parse_api_json("[1,", territories()).is_err());
        assert_eq!(
            parse_api_json("{\"results\": []}", territories()).unwrap(),
            []
        );
    }

    #[test]
    fn slugs_come_from_the_page_address() {
        let url = "https://aides-territoires.beta.gouv.fr/aides/e342-copie-14h23-favoriser-laccessibilite-des-bati/";
        assert_eq!(
            last_path_segment(url),
            Some("e342-copie-14h23-favoriser-laccessibilite-des-bati")
        );
        assert_eq!(
            last_path_segment("https://example.org/aides/x-y?page=2#top"),
            Some("x-y")
        );
        assert_eq!(last_path_segment("https://example.org/"), None);
        assert_eq!(
            slugify("  L'Été -- à  Saint-Dizier !"),
            "l-ete-a-saint-dizier"
        );
        assert_eq!(slugify("«»"), "");
        let long = format!("{}-fin", "mot-".repeat(40));
        let limited = limit_slug(&long);
        assert!(
            limited.len() <= 120 && !limited.ends_with('-') && limited.ends_with("mot"),
            "{limited}"
        );
        assert!(crate::scheme::is_slug(&limited));
        assert_eq!(
            absolute_url("/aides/x/").as_deref(),
            Some("https://aides-territoires.beta.gouv.fr/aides/x/")
        );
        assert_eq!(absolute_url("voir le site"), None);
    }

    #[test]
    fn html_becomes_plain_text() {
        assert_eq!(
            to_plain_text(
                "<p>Un&nbsp;texte  <strong>important</strong>\n sur deux lignes.</p><p>L&#39;autre &amp; la suite&hellip;</p>"
            ),
            "Un texte important sur deux lignes.\n\nL'autre & la suite…"
        );
        assert_eq!(
            to_plain_text(
                "<ul><li>un</li><li>deux</li></ul><br/>fin<!-- note --><script>alert(1)</script>"
            ),
            "- un\n- deux\n\nfin"
        );
        assert_eq!(
            to_plain_text("travaux < 90 k€ HT &Vous &unknown; a > b"),
            "travaux < 90 k€ HT &Vous &unknown; a > b"
        );
        assert_eq!(
            to_plain_text("Ligne 1\r\nLigne   2\n\n\n\nParagraphe"),
            "Ligne 1\nLigne 2\n\nParagraphe"
        );
        assert_eq!(to_plain_text("&#x2019;&#8217;"), "’’");
    }

    #[test]
    fn titles_and_summaries_are_cut_on_words() {
        assert_eq!(truncate_words("un deux trois", 20), "un deux trois");
        assert_eq!(truncate_words("un deux trois", 10), "un deux…");
        assert_eq!(
            truncate_words("anticonstitutionnellement", 10),
            "anticonst…"
        );
        let long = "mot ".repeat(100);
        assert!(truncate_words(long.trim(), 300).chars().count() <= 300);
        assert_eq!(
            first_sentence("1. Préparer votre intervention pour le projet. Ensuite, le reste.")
                .as_deref(),
            Some("1. Préparer votre intervention pour le projet.")
        );
        assert_eq!(
            first_sentence(
                "Aide de la Région, cf. le règlement, etc. et la suite. Deuxième phrase."
            )
            .as_deref(),
            Some("Aide de la Région, cf. le règlement, etc. et la suite.")
        );
        assert_eq!(
            first_sentence("\n\nPas de point\nautre ligne").as_deref(),
            Some("Pas de point")
        );
        assert!(
            first_sentence(&"long ".repeat(100))
                .unwrap()
                .chars()
                .count()
                <= 240
        );
    }

    #[test]
    fn dates_and_rates_are_read_strictly() {
        assert_eq!(
            parse_date("31/12/2022"),
            NaiveDate::from_ymd_opt(2022, 12, 31)
        );
        assert_eq!(
            parse_date("2026-04-30"),
            NaiveDate::from_ymd_opt(2026, 4, 30)
        );
        assert_eq!(
            parse_date("2026-04-30T00:00:00+02:00"),
            NaiveDate::from_ymd_opt(2026, 4, 30)
        );
        assert_eq!(parse_date("31/02/2022"), None);
        assert_eq!(parse_date("demain"), None);
        assert_eq!(optional_date(Some("  "), "calendar.closesOn"), Ok(None));
        assert_eq!(
            rate(Some(&serde_json::json!(40)), "funding.rateMax"),
            Ok(Some(40.0))
        );
        assert_eq!(
            rate(Some(&serde_json::json!("25,5 %")), "funding.rateMax"),
            Ok(Some(25.5))
        );
        assert_eq!(rate(Some(&Value::Null), "funding.rateMax"), Ok(None));
        assert_eq!(
            rate(Some(&serde_json::json!(-1)), "funding.rateMin")
                .unwrap_err()
                .field,
            "funding.rateMin"
        );
        assert_eq!(
            rate(Some(&serde_json::json!("beaucoup")), "funding.rateMax")
                .unwrap_err()
                .field,
            "funding.rateMax"
        );
    }

    #[test]
    fn funder_kinds_are_guessed_from_names() {
        for (name, kind) in [
            ("Conseil départemental du Morbihan", FunderKind::Department),
            ("Département de la Haute-Marne", FunderKind::Department),
            ("Conseil régional d'Ile de France", FunderKind::Region),
            ("Région Occitanie", FunderKind::Region),
            ("Préfecture de la Haute-Marne", FunderKind::State),
            ("DDT de la Lozère", FunderKind::State),
            (
                "Direction départementale des Territoires et de la Mer (DDTM) du Finistère",
                FunderKind::State,
            ),
            (
                "Ministère de l'Europe et des Affaires étrangères",
                FunderKind::State,
            ),
            ("Banque des Territoires", FunderKind::PublicAgency),
            (
                "Établissements publics fonciers d'Etat et établissements publics fonciers locaux (EPF/EPFL)",
                FunderKind::PublicAgency,
            ),
            (
                "Établissement Public Foncier au cœur de la région Auvergne Rhône-Alpes (EPORA)",
                FunderKind::PublicAgency,
            ),
            (
                "Agence technique départementale du Rhône (ATD 69)",
                FunderKind::PublicAgency,
            ),
            ("Cerema", FunderKind::PublicAgency),
            (
                "Caisse nationale d'assurance vieillesse (CNAV)",
                FunderKind::SocialSecurity,
            ),
            ("MSA Marne Ardennes Meuse", FunderKind::SocialSecurity),
            ("Fondation du Patrimoine", FunderKind::Foundation),
            ("Commission européenne", FunderKind::Eu),
            ("FEDER", FunderKind::Eu),
            (
                "Communauté de communes Pays du Mont-blanc",
                FunderKind::Intercommunality,
            ),
            (
                "Syndicat Départemental d'Energies du Calvados (SDEC ENERGIE)",
                FunderKind::Intercommunality,
            ),
            (
                "Ouest Charente - Cognac (PETR)",
                FunderKind::Intercommunality,
            ),
            ("Ville de Chaumont", FunderKind::Commune),
            ("Caisse d'épargne Grand Est Europe", FunderKind::Bank),
            ("Crédit Agricole", FunderKind::Bank),
            ("France Active", FunderKind::Network),
            (
                "Réseau national des Centres Permanents d'Initiatives pour l'Environnement (CPIE)",
                FunderKind::Network,
            ),
            ("ID77", FunderKind::Other),
            ("Hellio Solutions", FunderKind::Other),
        ] {
            assert_eq!(funder_kind(name), kind, "{name}");
        }
    }

    #[test]
    fn the_perimeter_is_inferred_from_departement_and_region_funders() {
        let context = Context::new(territories());
        let perimeter = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            perimeter_from_funders(&funders(&names), &context)
        };
        assert_eq!(
            perimeter(&["Conseil départemental du Morbihan"]).departments,
            ["56"]
        );
        assert_eq!(perimeter(&["Région Occitanie"]).regions, ["76"]);
        assert_eq!(
            perimeter(&["Conseil régional d'Ile de France"]).regions,
            ["11"]
        );
        assert_eq!(
            perimeter(&["Conseil départemental de la Haute-Marne (CD52)"]).departments,
            ["52"]
        );
        assert_eq!(
            perimeter(&["Conseil départemental de Meurthe et Moselle"]).departments,
            ["54"]
        );
        let both = perimeter(&[
            "Conseil départemental de l'Aube",
            "Conseil régional du Grand Est",
            "ADEME",
        ]);
        assert_eq!(both.departments, ["10"]);
        assert_eq!(both.regions, ["44"]);
        assert_eq!(both.national, Some(false));
        assert!(perimeter(&["DDT de la Lozère"]).is_national());
        assert!(perimeter(&["Conseil départemental"]).is_national());
    }

    #[test]
    fn api_perimeters_need_an_exact_name() {
        let context = Context::new(territories());
        let mut warnings = Vec::new();
        let mut named = |name: &str, scale: Option<&str>| {
            named_perimeter(Some(name), scale, &context, &mut warnings)
        };
        assert_eq!(named("Haute-Marne", None).departments, ["52"]);
        assert_eq!(named("Grand Est", None).regions, ["44"]);
        assert_eq!(named("Paris", None).departments, ["75"]);
        assert_eq!(named("Paris", Some("Commune")).communes, ["75056"]);
        assert_eq!(named("saint-dizier", None).communes, ["52448"]);
        assert!(named("France", None).is_national());
        assert!(named("Outre-mer", None).is_national());
        assert!(named("Marne-la", None).is_national());
        assert_eq!(
            warnings,
            [
                "Périmètre non trouvé parmi les territoires, aide considérée comme nationale : « Marne-la »"
            ]
        );
    }

    #[test]
    fn themes_come_from_categories_or_strong_title_words() {
        let categories = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            themes(
                "",
                &categories(&["Urbanisme / Logement / Aménagement|Revitalisation"]),
                &[]
            ),
            ["revitalisation"]
        );
        assert_eq!(
            themes(
                "",
                &categories(&[
                    "Solidarité / cohésion sociale|Personnes âgées",
                    "Sport|Équipement sportif"
                ]),
                &[]
            ),
            ["autonomie", "sport"]
        );
        assert_eq!(
            themes("", &categories(&["Économie|Autre"]), &[]),
            Vec::<String>::new()
        );
        assert_eq!(
            themes(
                "Réhabiliter le réseau d'eau et le centre-bourg",
                &[],
                &[AidType::TechnicalEngineering]
            ),
            ["environnement", "revitalisation", "ingenierie"]
        );
        assert_eq!(
            themes("Nouveau réseau, agriculture", &[], &[]),
            ["agriculture"]
        );
        assert_eq!(
            themes("Valoriser le patrimoine bâti", &[], &[]),
            ["patrimoine-tourisme"]
        );
        assert_eq!(
            themes(
                "Rénover votre patrimoine bâti (rénovation énergétique)",
                &[],
                &[]
            ),
            ["energie-climat"]
        );
        assert_eq!(
            themes("Réaliser un diagnostic du patrimoine public", &[], &[]),
            Vec::<String>::new()
        );
    }
}
