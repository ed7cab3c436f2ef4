//! Catalogue search: a tantivy index derived from the database (rebuilt when missing,
//! corrupt, of an older layout or out of step), French analysis, synonyms, filters, facets,
//! highlights and stable cursors.
//!
//! tantivy finds and scores the text; everything a filter, facet or sort needs is kept in
//! memory per scheme ([`Doc`]), so filters and facet counts are exact and cheap.

mod analysis;
pub mod query;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::query::Query;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader, TantivyDocument,
    Term, doc,
};

use crate::actor::Actor;
use crate::error::{Error, Result};
use crate::scheme::{self, Scheme};
use crate::synonym::{self, Thesaurus};
use crate::territory::{Territories, TerritoryKind};
use crate::vocab::{AidType, BeneficiaryType, SchemeStatus, theme_label};
use query::{Builder, ParsedQuery, TextFields};

/// Bumped whenever the index layout or analysis changes: older indexes are rebuilt.
const LAYOUT: u32 = 1;
/// Writer memory budget.
const WRITER_BYTES: usize = 50_000_000;
/// Score factor of a scheme whose closing date has passed.
const EXPIRED_FACTOR: f32 = 0.5;
/// Score factor when the query is the scheme's exact title.
const EXACT_TITLE_FACTOR: f32 = 3.0;

/// What the index commit records, to know whether it matches the database.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Payload {
    layout: u32,
    count: usize,
    watermark: Option<DateTime<Utc>>,
}

/// The facts of a scheme that filters, facets and sorts need.
#[derive(Clone, Debug)]
struct Doc {
    id: i64,
    title_key: String,
    status: SchemeStatus,
    themes: Vec<String>,
    beneficiaries: Vec<BeneficiaryType>,
    aid_types: Vec<AidType>,
    /// (slug, name)
    funders: Vec<(String, String)>,
    national: bool,
    places: Vec<(TerritoryKind, String)>,
    opens_on: Option<NaiveDate>,
    closes_on: Option<NaiveDate>,
    updated_at: DateTime<Utc>,
}

impl Doc {
    fn of(s: &Scheme) -> Doc {
        let r = &s.record;
        let perimeter = r.perimeter.clone().unwrap_or_default();
        let mut places = Vec::new();
        for (kind, codes) in [
            (TerritoryKind::Region, &perimeter.regions),
            (TerritoryKind::Department, &perimeter.departments),
            (TerritoryKind::Epci, &perimeter.epcis),
            (TerritoryKind::Commune, &perimeter.communes),
        ] {
            places.extend(codes.iter().map(|c| (kind, c.clone())));
        }
        Doc {
            id: s.id,
            title_key: crate::synonym::key(&r.title),
            status: s.status(),
            themes: r.themes.clone(),
            beneficiaries: r.beneficiary_types.clone(),
            aid_types: r.aid_types.clone(),
            funders: r
                .funders
                .iter()
                .map(|f| (f.slug.clone(), f.name.clone()))
                .collect(),
            national: perimeter.is_national(),
            places,
            opens_on: r.calendar.opens_on,
            closes_on: r.calendar.closes_on,
            updated_at: s.updated_at,
        }
    }

    fn expired(&self, today: NaiveDate) -> bool {
        self.closes_on.is_some_and(|d| d < today)
    }
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    text: TextFields,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id = builder.add_i64_field("id", INDEXED | FAST | STORED);
    let text = |analyzer: &str, positions: bool| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(analyzer)
                .set_index_option(if positions {
                    IndexRecordOption::WithFreqsAndPositions
                } else {
                    IndexRecordOption::WithFreqs
                }),
        )
    };
    let mut stemmed = Vec::new();
    let mut plain = Vec::new();
    for (name, weight) in [
        ("title", 3.0),
        ("summary", 1.5),
        ("topics", 1.5),
        ("description", 1.0),
    ] {
        stemmed.push((
            builder.add_text_field(name, text(analysis::STEMMED, true)),
            weight,
        ));
        plain.push((
            builder.add_text_field(&format!("{name}_plain"), text(analysis::PLAIN, false)),
            weight,
        ));
    }
    let fields = Fields {
        id,
        text: TextFields {
            stemmed: stemmed.try_into().expect("four fields"),
            plain: plain.try_into().expect("four fields"),
        },
    };
    (builder.build(), fields)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("index de recherche : {e}"))
}

/// Which schemes a search returns, and how.
#[derive(Clone, Debug, Default)]
pub struct SearchRequest {
    pub text: Option<String>,
    pub filter: Filter,
    pub sort: Sort,
    pub first: usize,
    pub after: Option<String>,
    /// The day "open" and "expired" are judged on.
    pub today: NaiveDate,
}

/// DESIGN §6 `SchemeFilter`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Filter {
    pub territory: Option<String>,
    pub beneficiary_types: Vec<BeneficiaryType>,
    pub themes: Vec<String>,
    pub aid_types: Vec<AidType>,
    pub funders: Vec<String>,
    pub open_on: Option<NaiveDate>,
    pub closes_before: Option<NaiveDate>,
    pub status: Vec<SchemeStatus>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Relevance,
    ClosingSoon,
    Recent,
}

/// One result.
#[derive(Clone, Debug)]
pub struct Hit {
    pub scheme: Scheme,
    pub score: f32,
    /// A snippet with matched terms in `<mark>`, the rest HTML-escaped.
    pub highlight: Option<String>,
}

/// One facet value with its count and French label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FacetValue {
    pub value: String,
    pub label: String,
    pub count: usize,
}

/// A page of results with the exact total and the facets.
#[derive(Clone, Debug)]
pub struct SearchResult {
    pub total: usize,
    pub hits: Vec<Hit>,
    /// (field, values): `themes`, `beneficiaryTypes`, `aidTypes`, `funders`.
    pub facets: Vec<(String, Vec<FacetValue>)>,
    pub end_cursor: Option<String>,
    pub has_next_page: bool,
}

/// Collects every matching document's scheme id and score.
struct AllMatches;

struct SegmentMatches {
    ids: tantivy::columnar::Column<i64>,
    found: Vec<(i64, Score)>,
}

impl Collector for AllMatches {
    type Fruit = Vec<(i64, Score)>;
    type Child = SegmentMatches;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentMatches> {
        Ok(SegmentMatches {
            ids: segment.fast_fields().i64("id")?,
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(i64, Score)>>) -> tantivy::Result<Vec<(i64, Score)>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Vec<(i64, Score)>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if let Some(id) = self.ids.first(doc) {
            self.found.push((id, score));
        }
    }

    fn harvest(self) -> Vec<(i64, Score)> {
        self.found
    }
}

/// The position of a result in its ordering: (primary, secondary, id), compared in order.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Position(f64, i64, i64);

impl Position {
    fn cmp(&self, other: &Position) -> Ordering {
        self.0
            .total_cmp(&other.0)
            .then(self.1.cmp(&other.1))
            .then(self.2.cmp(&other.2))
    }

    fn cursor(&self) -> String {
        format!("k{:x}.{}.{}", self.0.to_bits(), self.1, self.2)
    }

    fn from_cursor(cursor: &str) -> Option<Position> {
        let mut parts = cursor.strip_prefix('k')?.split('.');
        let primary = f64::from_bits(u64::from_str_radix(parts.next()?, 16).ok()?);
        let secondary = parts.next()?.parse().ok()?;
        let id = parts.next()?.parse().ok()?;
        parts
            .next()
            .is_none()
            .then_some(Position(primary, secondary, id))
    }
}

fn days(date: Option<NaiveDate>, missing: i64) -> i64 {
    date.map_or(missing, |d| i64::from(d.num_days_from_ce()))
}

/// The search index and the in-memory facts of every scheme.
pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    docs: RwLock<HashMap<i64, Doc>>,
    thesaurus: RwLock<Arc<Thesaurus>>,
    synonyms_version: Mutex<Option<String>>,
    watermark: Mutex<Option<DateTime<Utc>>>,
    dir: PathBuf,
}

/// How far back each sync looks again, for transactions that committed late.
const SYNC_OVERLAP: chrono::Duration = chrono::Duration::seconds(10);

fn open_existing(dir: &Path) -> tantivy::Result<(Index, Option<Payload>)> {
    let index = Index::open_in_dir(dir)?;
    let payload = index
        .load_metas()?
        .payload
        .and_then(|p| serde_json::from_str(&p).ok());
    Ok((index, payload))
}

impl SearchIndex {
    /// Opens the index under `dir`, or rebuilds it from the database when it is missing,
    /// unreadable, of an older layout or not in step with the database.
    pub async fn open(dir: &Path, db: &impl ConnectionTrait) -> Result<Arc<SearchIndex>> {
        let schemes = scheme::all(db).await?;
        let groups = synonym::all(db).await?;
        let synonyms_version = synonym::version(db).await?;
        let dir = dir.to_owned();
        let index = tokio::task::spawn_blocking(move || {
            Self::open_blocking(&dir, schemes, &groups, synonyms_version)
        })
        .await
        .map_err(internal)??;
        Ok(Arc::new(index))
    }

    /// Like [`SearchIndex::open`], with the schemes and synonyms already loaded (blocking).
    pub fn open_blocking(
        dir: &Path,
        schemes: Vec<Scheme>,
        groups: &[synonym::Group],
        synonyms_version: Option<String>,
    ) -> Result<SearchIndex> {
        let expected = Payload {
            layout: LAYOUT,
            count: schemes.len(),
            watermark: schemes.iter().map(|s| s.updated_at).max(),
        };
        let (schema, fields) = schema();
        let reusable = match open_existing(dir) {
            Ok((index, Some(payload))) if payload == expected && index.schema() == schema => {
                Some(index)
            }
            Ok(_) => None,
            Err(e) => {
                if dir.exists() {
                    tracing::warn!(error = %e, "search index unreadable: rebuilding it");
                }
                None
            }
        };
        let (index, rebuild) = match reusable {
            Some(index) => (index, false),
            None => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir).map_err(internal)?;
                }
                std::fs::create_dir_all(dir).map_err(internal)?;
                (Index::create_in_dir(dir, schema).map_err(internal)?, true)
            }
        };
        analysis::register(&index);
        let writer = index
            .writer_with_num_threads(1, WRITER_BYTES)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => Error::Conflict(
                    "L'index de recherche est ouvert par un serveur Guichet en cours d'exécution."
                        .into(),
                ),
                e => internal(e),
            })?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(internal)?;
        let search = SearchIndex {
            reader,
            writer: Mutex::new(writer),
            fields,
            docs: RwLock::new(schemes.iter().map(|s| (s.id, Doc::of(s))).collect()),
            thesaurus: RwLock::new(Arc::new(Thesaurus::new(groups))),
            synonyms_version: Mutex::new(synonyms_version),
            watermark: Mutex::new(expected.watermark),
            dir: dir.to_owned(),
        };
        if rebuild {
            search.write(&schemes, true)?;
            tracing::info!(count = schemes.len(), "search index rebuilt");
        }
        Ok(search)
    }

    fn document(&self, s: &Scheme) -> TantivyDocument {
        let r = &s.record;
        let [title, summary, topics, description] = self.fields.text.stemmed.map(|(f, _)| f);
        let [title_plain, summary_plain, topics_plain, description_plain] =
            self.fields.text.plain.map(|(f, _)| f);
        let topic_text = r
            .themes
            .iter()
            .filter_map(|t| theme_label(t))
            .map(str::to_owned)
            .chain(r.funders.iter().map(|f| f.name.clone()))
            .collect::<Vec<_>>()
            .join(" · ");
        let summary_text = r.summary.clone().unwrap_or_default();
        let description_text = r.description.clone().unwrap_or_default();
        doc!(
            self.fields.id => s.id,
            title => r.title.clone(),
            title_plain => r.title.clone(),
            summary => summary_text.clone(),
            summary_plain => summary_text,
            topics => topic_text.clone(),
            topics_plain => topic_text,
            description => description_text.clone(),
            description_plain => description_text,
        )
    }

    /// Writes schemes into the index (all of them when `replace_all`), commits with the
    /// payload, and reloads the reader so the next search sees them.
    fn write(&self, schemes: &[Scheme], replace_all: bool) -> Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if replace_all {
            writer.delete_all_documents().map_err(internal)?;
        }
        for s in schemes {
            if !replace_all {
                writer.delete_term(Term::from_field_i64(self.fields.id, s.id));
            }
            writer.add_document(self.document(s)).map_err(internal)?;
        }
        let payload = {
            let mut docs = self.docs.write().unwrap_or_else(|e| e.into_inner());
            if replace_all {
                docs.clear();
            }
            for s in schemes {
                docs.insert(s.id, Doc::of(s));
            }
            let mut watermark = self.watermark.lock().unwrap_or_else(|e| e.into_inner());
            *watermark = (*watermark).max(schemes.iter().map(|s| s.updated_at).max());
            Payload {
                layout: LAYOUT,
                count: docs.len(),
                watermark: *watermark,
            }
        };
        let mut commit = writer.prepare_commit().map_err(internal)?;
        commit.set_payload(&serde_json::to_string(&payload).unwrap_or_default());
        commit.commit().map_err(internal)?;
        self.reader.reload().map_err(internal)?;
        Ok(())
    }

    /// Makes these schemes searchable now (after a change in this process).
    pub async fn upsert(self: &Arc<Self>, schemes: Vec<Scheme>) -> Result<()> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.write(&schemes, false))
            .await
            .map_err(internal)?
    }

    /// Rebuilds the whole index from the database.
    pub async fn rebuild(self: &Arc<Self>, db: &impl ConnectionTrait) -> Result<usize> {
        let schemes = scheme::all(db).await?;
        let count = schemes.len();
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.write(&schemes, true))
            .await
            .map_err(internal)??;
        self.reload_synonyms(db).await?;
        Ok(count)
    }

    /// Picks up changes made by other processes (imports, other gateways): schemes changed
    /// since the last sync, and the synonyms. Returns how many schemes it re-indexed.
    pub async fn sync(self: &Arc<Self>, db: &impl ConnectionTrait) -> Result<usize> {
        let since = *self.watermark.lock().unwrap_or_else(|e| e.into_inner());
        let changed = match since {
            Some(t) => scheme::changed_since(db, t - SYNC_OVERLAP).await?,
            None => scheme::all(db).await?,
        };
        let stale: Vec<Scheme> = {
            let docs = self.docs.read().unwrap_or_else(|e| e.into_inner());
            changed
                .into_iter()
                .filter(|s| docs.get(&s.id).is_none_or(|d| d.updated_at != s.updated_at))
                .collect()
        };
        let count = stale.len();
        if count > 0 {
            self.upsert(stale).await?;
        }
        let version = synonym::version(db).await?;
        let known = self
            .synonyms_version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if version != known {
            self.reload_synonyms(db).await?;
        }
        Ok(count)
    }

    /// Reloads the synonyms from the database.
    pub async fn reload_synonyms(&self, db: &impl ConnectionTrait) -> Result<()> {
        let version = synonym::version(db).await?;
        let groups = synonym::all(db).await?;
        *self.thesaurus.write().unwrap_or_else(|e| e.into_inner()) =
            Arc::new(Thesaurus::new(&groups));
        *self
            .synonyms_version
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = version;
        Ok(())
    }

    /// Where the index lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of indexed schemes.
    pub fn len(&self) -> usize {
        self.docs.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Scores of every scheme matching `text` (AND, falling back to OR), by scheme id.
    fn text_scores(&self, parsed: &ParsedQuery) -> Result<(HashMap<i64, f32>, Box<dyn Query>)> {
        let thesaurus = self
            .thesaurus
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut builder = Builder::new(self.fields.text, &thesaurus);
        let searcher = self.reader.searcher();
        let query = builder.build(parsed, true);
        let mut found = searcher.search(&*query, &AllMatches).map_err(internal)?;
        let query = if found.is_empty() && parsed.words.len() > 1 {
            let any = builder.build(parsed, false);
            found = searcher.search(&*any, &AllMatches).map_err(internal)?;
            any
        } else {
            query
        };
        Ok((found.into_iter().collect(), query))
    }

    /// Runs a search as `actor` may see it.
    pub async fn search(
        self: &Arc<Self>,
        db: &impl ConnectionTrait,
        territories: Arc<Territories>,
        actor: &Actor,
        request: SearchRequest,
    ) -> Result<SearchResult> {
        let scope = Scope::new(territories, &request.filter, actor)?;
        let after = match &request.after {
            Some(cursor) => Some(
                Position::from_cursor(cursor)
                    .ok_or_else(|| Error::validation("after", "Curseur de pagination invalide."))?,
            ),
            None => None,
        };
        let this = self.clone();
        let request_for_index = request.clone();
        let (total, page, facets, has_next, query) =
            tokio::task::spawn_blocking(move || this.rank(&request_for_index, &scope, after))
                .await
                .map_err(internal)??;
        let ids: Vec<i64> = page.iter().map(|(id, _, _)| *id).collect();
        let mut schemes: HashMap<i64, Scheme> = scheme::by_ids(db, &ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let searcher = self.reader.searcher();
        let generators = query.as_ref().map(|q| {
            [
                self.fields.text.stemmed[3].0,
                self.fields.text.stemmed[1].0,
                self.fields.text.stemmed[0].0,
            ]
            .map(|field| {
                SnippetGenerator::create(&searcher, &**q, field)
                    .ok()
                    .map(|mut g| {
                        g.set_max_num_chars(220);
                        g
                    })
            })
        });
        let end_cursor = page.last().map(|(_, _, position)| position.cursor());
        let hits = page
            .into_iter()
            .filter_map(|(id, score, _)| {
                let scheme = schemes.remove(&id)?;
                let highlight = generators.as_ref().and_then(|g| highlight(g, &scheme));
                Some(Hit {
                    scheme,
                    score,
                    highlight,
                })
            })
            .collect();
        Ok(SearchResult {
            total,
            hits,
            facets,
            end_cursor,
            has_next_page: has_next,
        })
    }

    #[allow(clippy::type_complexity)]
    fn rank(
        &self,
        request: &SearchRequest,
        scope: &Scope,
        after: Option<Position>,
    ) -> Result<(
        usize,
        Vec<(i64, f32, Position)>,
        Vec<(String, Vec<FacetValue>)>,
        bool,
        Option<Box<dyn Query>>,
    )> {
        let parsed = ParsedQuery::parse(request.text.as_deref().unwrap_or(""));
        let (scores, query) = if parsed.is_empty() && parsed.excluded.is_empty() {
            (None, None)
        } else {
            let (scores, query) = self.text_scores(&parsed)?;
            (Some(scores), Some(query))
        };
        let query_key = parsed.words.join(" ");
        let docs = self.docs.read().unwrap_or_else(|e| e.into_inner());
        let filter = &request.filter;
        // Candidates: matching the text and every filter but the facet ones.
        let candidates: Vec<(&Doc, f32)> = docs
            .values()
            .filter_map(|d| {
                let score = match &scores {
                    Some(scores) => *scores.get(&d.id)?,
                    None => 1.0,
                };
                scope.admits(d).then_some((d, score))
            })
            .collect();
        let facet_checks = FacetChecks::new(filter);
        let mut results: Vec<(i64, f32, Position)> = Vec::new();
        let mut counts: [HashMap<&str, usize>; 4] = Default::default();
        let mut funder_names: HashMap<&str, &str> = HashMap::new();
        for (d, score) in &candidates {
            let values = facet_values(d);
            let passes = facet_checks.passes(&values);
            // Each facet counts the documents passing every other facet filter.
            for (i, values) in values.into_iter().enumerate() {
                if passes.iter().enumerate().all(|(j, ok)| j == i || *ok) {
                    for value in values {
                        *counts[i].entry(value).or_insert(0) += 1;
                    }
                }
            }
            for (slug, name) in &d.funders {
                funder_names.entry(slug).or_insert(name);
            }
            if passes.iter().all(|ok| *ok) {
                let mut score = *score;
                if d.expired(request.today) {
                    score *= EXPIRED_FACTOR;
                }
                if !query_key.is_empty() && d.title_key == query_key {
                    score *= EXACT_TITLE_FACTOR;
                }
                let position = match request.sort {
                    Sort::Relevance => {
                        Position(-f64::from(score), days(d.closes_on, i64::MAX), d.id)
                    }
                    Sort::ClosingSoon => {
                        let bucket = if d.expired(request.today) {
                            2.0
                        } else if d.closes_on.is_some() {
                            0.0
                        } else {
                            1.0
                        };
                        Position(bucket, days(d.closes_on, i64::MAX), d.id)
                    }
                    Sort::Recent => Position(-(d.updated_at.timestamp_micros() as f64), 0, d.id),
                };
                results.push((d.id, score, position));
            }
        }
        results.sort_by(|a, b| a.2.cmp(&b.2));
        let total = results.len();
        let start = match after {
            Some(after) => results.partition_point(|r| r.2.cmp(&after) != Ordering::Greater),
            None => 0,
        };
        let end = (start + request.first).min(total);
        let has_next = end < total;
        let page = results[start..end].to_vec();
        let facets = ["themes", "beneficiaryTypes", "aidTypes", "funders"]
            .into_iter()
            .zip(counts)
            .map(|(field, counts)| (field.to_owned(), facet_list(field, counts, &funder_names)))
            .collect();
        Ok((total, page, facets, has_next, query))
    }
}

fn facet_list(
    field: &str,
    counts: HashMap<&str, usize>,
    funders: &HashMap<&str, &str>,
) -> Vec<FacetValue> {
    let mut values: Vec<FacetValue> = counts
        .into_iter()
        .map(|(value, count)| {
            let label = match field {
                "themes" => theme_label(value),
                "beneficiaryTypes" => BeneficiaryType::parse(value).map(|v| v.label()),
                "aidTypes" => AidType::parse(value).map(|v| v.label()),
                _ => funders.get(value).copied(),
            }
            .unwrap_or(value)
            .to_owned();
            FacetValue {
                value: value.to_owned(),
                label,
                count,
            }
        })
        .collect();
    values.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| crate::text::fold(&a.label).cmp(&crate::text::fold(&b.label)))
    });
    values
}

/// The facet values of a document, in facet order.
fn facet_values(d: &Doc) -> [Vec<&str>; 4] {
    [
        d.themes.iter().map(String::as_str).collect(),
        d.beneficiaries.iter().map(|v| v.as_str()).collect(),
        d.aid_types.iter().map(|v| v.as_str()).collect(),
        d.funders.iter().map(|(slug, _)| slug.as_str()).collect(),
    ]
}

/// The facet filters: a document passes one when it shares a value with it (or it is empty).
struct FacetChecks {
    sets: [HashSet<String>; 4],
}

impl FacetChecks {
    fn new(filter: &Filter) -> Self {
        FacetChecks {
            sets: [
                filter.themes.iter().cloned().collect(),
                filter
                    .beneficiary_types
                    .iter()
                    .map(|v| v.as_str().to_owned())
                    .collect(),
                filter
                    .aid_types
                    .iter()
                    .map(|v| v.as_str().to_owned())
                    .collect(),
                filter.funders.iter().cloned().collect(),
            ],
        }
    }

    fn passes(&self, values: &[Vec<&str>; 4]) -> [bool; 4] {
        std::array::from_fn(|i| {
            self.sets[i].is_empty() || values[i].iter().any(|v| self.sets[i].contains(*v))
        })
    }
}

/// A territory as (kind, code).
type Place = (TerritoryKind, String);

/// The non-facet filters, resolved once: visible statuses, territory and dates.
struct Scope {
    statuses: Vec<SchemeStatus>,
    /// The filtered territory, and it with its ancestors.
    territory: Option<(Place, HashSet<Place>)>,
    territories: Arc<Territories>,
    open_on: Option<NaiveDate>,
    closes_before: Option<NaiveDate>,
}

impl Scope {
    fn new(territories: Arc<Territories>, filter: &Filter, actor: &Actor) -> Result<Scope> {
        let statuses = if actor.is_staff() && !filter.status.is_empty() {
            filter.status.clone()
        } else {
            vec![SchemeStatus::Published]
        };
        let territory = match &filter.territory {
            Some(code) if !code.trim().is_empty() => {
                let t = territories.resolve(code).ok_or_else(|| {
                    Error::validation(
                        "filter.territory",
                        format!("Territoire inconnu : « {} ».", code.trim()),
                    )
                })?;
                let mut around: HashSet<(TerritoryKind, String)> =
                    t.parents.iter().cloned().collect();
                around.insert((t.kind, t.code.clone()));
                Some(((t.kind, t.code.clone()), around))
            }
            _ => None,
        };
        Ok(Scope {
            statuses,
            territory,
            territories,
            open_on: filter.open_on,
            closes_before: filter.closes_before,
        })
    }

    fn admits(&self, d: &Doc) -> bool {
        if !self.statuses.contains(&d.status) {
            return false;
        }
        if let Some(day) = self.open_on
            && (d.opens_on.is_some_and(|o| o > day) || d.closes_on.is_some_and(|c| c < day))
        {
            return false;
        }
        if let Some(day) = self.closes_before
            && d.closes_on.is_none_or(|c| c >= day)
        {
            return false;
        }
        match &self.territory {
            None => true,
            Some((target, around)) => {
                d.national
                    || d.places.iter().any(|place| {
                        around.contains(place)
                            || self
                                .territories
                                .get_kind(&place.1, place.0)
                                .is_some_and(|t| t.parents.contains(target))
                    })
            }
        }
    }
}

/// A snippet from the description, else the summary, else the title.
fn highlight(generators: &[Option<SnippetGenerator>; 3], s: &Scheme) -> Option<String> {
    let r = &s.record;
    let texts = [
        r.description.as_deref(),
        r.summary.as_deref(),
        Some(r.title.as_str()),
    ];
    for (generator, text) in generators.iter().zip(texts) {
        let (Some(generator), Some(text)) = (generator, text) else {
            continue;
        };
        let mut snippet = generator.snippet(text);
        if snippet.highlighted().is_empty() {
            continue;
        }
        snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
        return Some(snippet.to_html());
    }
    None
}

const REINDEX_KEY: &str = "reindex_requested";

/// Asks the server that holds the index to rebuild it (from another process).
pub async fn request_rebuild(db: &impl ConnectionTrait) -> Result<()> {
    crate::entity::meta::set(db, REINDEX_KEY, &Utc::now().timestamp_micros().to_string()).await?;
    Ok(())
}

/// The current rebuild request, if any.
pub async fn rebuild_request(db: &impl ConnectionTrait) -> Result<Option<String>> {
    use sea_orm::EntityTrait;
    Ok(crate::entity::meta::Entity::find_by_id(REINDEX_KEY)
        .one(db)
        .await?
        .map(|m| m.value))
}

/// Today, in France.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}
