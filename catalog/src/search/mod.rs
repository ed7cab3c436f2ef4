//! Catalogue search: a tantivy index derived from the database (rebuilt when missing,
//! corrupt, of an older layout or out of step), French analysis, synonyms, filters, facets,
//! highlights and stable cursors.
//!
//! tantivy finds and scores the text and stores each scheme as the search shows it; what a
//! filter, facet or sort needs is kept in memory per scheme ([`facts`]), so filters and facet
//! counts are exact and cheap, and a page of results needs no database query.

mod analysis;
mod facts;
mod highlight;
pub mod query;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::directory::{Advice, MmapDirectory};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, TermSetQuery};
use tantivy::schema::document::Value;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{
    DocAddress, DocId, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Score, Searcher,
    SegmentReader, TERMINATED, TantivyDocument, Term, doc,
};

use crate::actor::Actor;
use crate::calendar;
use crate::eligibility::{self, Evaluation, ValidProject, Verdict};
use crate::error::{Error, Result};
use crate::scheme::{self, Scheme};
use crate::synonym::{self, Thesaurus};
use crate::territory::Territories;
use crate::vocab::{AidType, BeneficiaryType, SchemeStatus, theme_label};
use crate::zoning::{self, Zonings};
pub use facts::FacetValue;
use facts::{FacetCounts, Facts, Scope};
use highlight::Highlighter;
use query::{Builder, ParsedQuery, TextFields};

/// Bumped whenever the index layout or analysis changes: older indexes are rebuilt.
const LAYOUT: u32 = 2;
/// Schemes read from the database at a time when (re)building.
const BATCH: u64 = 2_000;
/// Decompressed blocks of stored schemes kept per segment.
const DOC_STORE_CACHE_BLOCKS: usize = 16;
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

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    /// The scheme as JSON, to show a hit without the database.
    scheme: Field,
    text: TextFields,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let id = builder.add_i64_field("id", INDEXED | FAST);
    let scheme = builder.add_bytes_field("scheme", STORED);
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
        scheme,
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

impl Filter {
    /// Refuses dates out of [`calendar`]'s range, naming `filter.openOn` or
    /// `filter.closesBefore`.
    pub fn check_dates(&self) -> Result<()> {
        for (field, date) in [
            ("filter.openOn", self.open_on),
            ("filter.closesBefore", self.closes_before),
        ] {
            if let Some(date) = date {
                calendar::sane(field, date)?;
            }
        }
        Ok(())
    }
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
    /// Held by whoever writes to the index, for the whole of a rebuild.
    write_gate: tokio::sync::Mutex<()>,
    fields: Fields,
    facts: RwLock<Facts>,
    territories: Arc<Territories>,
    /// The zonings perimeters name, as of `zonings_version`.
    zonings: RwLock<Arc<Zonings>>,
    zonings_version: Mutex<Option<String>>,
    thesaurus: RwLock<Arc<Thesaurus>>,
    synonyms_version: Mutex<Option<String>>,
    watermark: Mutex<Option<DateTime<Utc>>>,
    /// Moves on each time what a search finds may have changed.
    generation: AtomicU64,
    dir: PathBuf,
}

/// How far back each sync looks again, for transactions that committed late.
const SYNC_OVERLAP: chrono::Duration = chrono::Duration::seconds(10);

/// The index's files, read at random (a page of results reads a few stored documents here
/// and there: reading ahead would only fill memory).
fn directory(dir: &Path) -> tantivy::Result<MmapDirectory> {
    Ok(MmapDirectory::open_with_madvice(dir, Advice::Random)?)
}

fn open_existing(dir: &Path) -> tantivy::Result<(Index, Option<Payload>)> {
    let index = Index::open(directory(dir)?)?;
    let payload = index
        .load_metas()?
        .payload
        .and_then(|p| serde_json::from_str(&p).ok());
    Ok((index, payload))
}

/// A page of results as the ranking leaves it: (slot, score, position).
type Ranked = Vec<(u32, f32, Position)>;

impl SearchIndex {
    /// Opens the index under `dir`, or rebuilds it from the database when it is missing,
    /// unreadable, of an older layout or not in step with the database. The catalogue is read
    /// in batches, so memory does not grow with its size while starting.
    pub async fn open(
        dir: &Path,
        db: &impl ConnectionTrait,
        territories: Arc<Territories>,
    ) -> Result<Arc<SearchIndex>> {
        let (count, watermark) = scheme::extent(db).await?;
        let expected = Payload {
            layout: LAYOUT,
            count,
            watermark,
        };
        let groups = synonym::all(db).await?;
        let synonyms_version = synonym::version(db).await?;
        let zonings_version = zoning::version(db).await?;
        let zonings = Arc::new(Zonings::load(db).await?);
        let dir = dir.to_owned();
        let (index, rebuild) = tokio::task::spawn_blocking(move || {
            Self::create(&dir, &expected, territories, &groups, synonyms_version)
        })
        .await
        .map_err(internal)??;
        let index = Arc::new(index);
        *index.zonings.write().unwrap_or_else(|e| e.into_inner()) = zonings;
        *index
            .zonings_version
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(zonings_version);
        let mut fresh = Facts::default();
        index.load(db, &mut fresh, rebuild).await?;
        *index.facts.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        if rebuild {
            index.commit()?;
            tracing::info!(count = index.len(), "search index rebuilt");
        }
        Ok(index)
    }

    /// Opens the index when it matches `expected`, else creates an empty one; true when it
    /// must be filled.
    fn create(
        dir: &Path,
        expected: &Payload,
        territories: Arc<Territories>,
        groups: &[synonym::Group],
        synonyms_version: Option<String>,
    ) -> Result<(SearchIndex, bool)> {
        let (schema, fields) = schema();
        let reusable = match open_existing(dir) {
            Ok((index, Some(payload))) if payload == *expected && index.schema() == schema => {
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
                let index = Index::create(
                    directory(dir).map_err(internal)?,
                    schema,
                    tantivy::IndexSettings::default(),
                )
                .map_err(internal)?;
                (index, true)
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
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()
            .map_err(internal)?;
        let search = SearchIndex {
            reader,
            writer: Mutex::new(writer),
            write_gate: tokio::sync::Mutex::new(()),
            fields,
            facts: RwLock::new(Facts::default()),
            territories,
            zonings: RwLock::new(Arc::default()),
            zonings_version: Mutex::new(None),
            thesaurus: RwLock::new(Arc::new(Thesaurus::new(groups))),
            synonyms_version: Mutex::new(synonyms_version),
            watermark: Mutex::new(expected.watermark),
            generation: AtomicU64::new(0),
            dir: dir.to_owned(),
        };
        Ok((search, rebuild))
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
            self.fields.scheme => serde_json::to_vec(s).unwrap_or_default(),
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

    /// Reads the whole catalogue in batches into `facts`, and into the index when `write`.
    async fn load(
        self: &Arc<Self>,
        db: &impl ConnectionTrait,
        facts: &mut Facts,
        write: bool,
    ) -> Result<()> {
        let mut after = i64::MIN;
        loop {
            let batch = scheme::batch_after(db, after, BATCH).await?;
            let Some(last) = batch.last() else {
                return Ok(());
            };
            after = last.id;
            let this = self.clone();
            let mut taken = std::mem::take(facts);
            *facts = tokio::task::spawn_blocking(move || {
                this.add(&batch, &mut taken, write).map(|()| taken)
            })
            .await
            .map_err(internal)??;
        }
    }

    /// Adds schemes to `facts` and, when `write`, to the index (uncommitted); advances the
    /// watermark.
    fn add(&self, schemes: &[Scheme], facts: &mut Facts, write: bool) -> Result<()> {
        if write {
            let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            for s in schemes {
                writer.add_document(self.document(s)).map_err(internal)?;
            }
        }
        let zonings = self.zonings();
        for s in schemes {
            facts.insert(s, &self.territories, &zonings);
        }
        let mut watermark = self.watermark.lock().unwrap_or_else(|e| e.into_inner());
        *watermark = (*watermark).max(schemes.iter().map(|s| s.updated_at).max());
        Ok(())
    }

    /// Commits the index with its payload and reloads the reader, so the next search sees it.
    fn commit(&self) -> Result<()> {
        let payload = Payload {
            layout: LAYOUT,
            count: self.len(),
            watermark: *self.watermark.lock().unwrap_or_else(|e| e.into_inner()),
        };
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut commit = writer.prepare_commit().map_err(internal)?;
        commit.set_payload(&serde_json::to_string(&payload).unwrap_or_default());
        commit.commit().map_err(internal)?;
        self.reader.reload().map_err(internal)?;
        self.generation.fetch_add(1, AtomicOrdering::SeqCst);
        Ok(())
    }

    /// A number that moves on each time what a search finds may have changed (schemes or
    /// synonyms), to know when a kept answer is out of date.
    pub fn generation(&self) -> u64 {
        self.generation.load(AtomicOrdering::SeqCst)
    }

    /// The newest scheme change the index holds (`updated_at`); a change after it is not
    /// searchable yet.
    pub fn watermark(&self) -> Option<DateTime<Utc>> {
        *self.watermark.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes these schemes searchable now (after a change in this process).
    pub async fn upsert(self: &Arc<Self>, schemes: Vec<Scheme>) -> Result<()> {
        let _gate = self.write_gate.lock().await;
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            {
                let writer = this.writer.lock().unwrap_or_else(|e| e.into_inner());
                for s in &schemes {
                    writer.delete_term(Term::from_field_i64(this.fields.id, s.id));
                    writer.add_document(this.document(s)).map_err(internal)?;
                }
            }
            {
                let zonings = this.zonings();
                let mut facts = this.facts.write().unwrap_or_else(|e| e.into_inner());
                for s in &schemes {
                    facts.insert(s, &this.territories, &zonings);
                }
            }
            let mut watermark = this.watermark.lock().unwrap_or_else(|e| e.into_inner());
            *watermark = (*watermark).max(schemes.iter().map(|s| s.updated_at).max());
            drop(watermark);
            this.commit()
        })
        .await
        .map_err(internal)?
    }

    /// Rebuilds the whole index from the database, in batches; searches see the old index
    /// until the new one is complete.
    pub async fn rebuild(self: &Arc<Self>, db: &impl ConnectionTrait) -> Result<usize> {
        let _gate = self.write_gate.lock().await;
        self.reload_zonings(db).await?;
        self.writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .delete_all_documents()
            .map_err(internal)?;
        let mut fresh = Facts::default();
        if let Err(e) = self.load(db, &mut fresh, true).await {
            let _ = self
                .writer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .rollback();
            return Err(e);
        }
        let count = fresh.len();
        *self.facts.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        self.generation.fetch_add(1, AtomicOrdering::SeqCst);
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.commit())
            .await
            .map_err(internal)??;
        self.reload_synonyms(db).await?;
        Ok(count)
    }

    /// Picks up changes made by other processes (imports, other gateways): schemes changed
    /// since the last sync, and the synonyms. Returns how many schemes it re-indexed.
    pub async fn sync(self: &Arc<Self>, db: &impl ConnectionTrait) -> Result<usize> {
        // Zonings first: the schemes an import marked changed are re-read with the new list.
        self.sync_zonings(db).await?;
        let since = *self.watermark.lock().unwrap_or_else(|e| e.into_inner());
        let since = since.map_or(DateTime::<Utc>::MIN_UTC, |t| t - SYNC_OVERLAP);
        let stale: Vec<i64> = {
            let changes = scheme::changes_since(db, since).await?;
            let facts = self.facts.read().unwrap_or_else(|e| e.into_inner());
            changes
                .into_iter()
                .filter(|(id, at)| facts.get(*id).is_none_or(|d| d.updated_at != *at))
                .map(|(id, _)| id)
                .collect()
        };
        let count = stale.len();
        if count > 0 {
            self.upsert(scheme::by_ids(db, &stale).await?).await?;
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

    /// Reloads the zonings when they changed since the last look (an import by this or
    /// another process), and re-reads every scheme whose perimeter names one: a scheme
    /// indexed before the list arrived was read without it.
    async fn sync_zonings(self: &Arc<Self>, db: &impl ConnectionTrait) -> Result<()> {
        if self.reload_zonings(db).await? {
            let zoned = scheme::naming_zonings(db).await?;
            if !zoned.is_empty() {
                self.upsert(scheme::by_ids(db, &zoned).await?).await?;
            }
        }
        Ok(())
    }

    /// Reloads the zonings if they changed; true when they did.
    async fn reload_zonings(&self, db: &impl ConnectionTrait) -> Result<bool> {
        let version = zoning::version(db).await?;
        let known = self
            .zonings_version
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if known.as_deref() == Some(version.as_str()) {
            return Ok(false);
        }
        let zonings = Arc::new(Zonings::load(db).await?);
        *self.zonings.write().unwrap_or_else(|e| e.into_inner()) = zonings;
        *self
            .zonings_version
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(version);
        self.generation.fetch_add(1, AtomicOrdering::SeqCst);
        Ok(true)
    }

    /// The zonings as the index last loaded them: what eligibility reads with its facts.
    pub fn zonings(&self) -> Arc<Zonings> {
        self.zonings
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
        self.generation.fetch_add(1, AtomicOrdering::SeqCst);
        Ok(())
    }

    /// Where the index lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of indexed schemes.
    pub fn len(&self) -> usize {
        self.facts.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs a search as `actor` may see it.
    pub async fn search(
        self: &Arc<Self>,
        actor: &Actor,
        request: SearchRequest,
    ) -> Result<SearchResult> {
        let after = match &request.after {
            Some(cursor) => Some(
                Position::from_cursor(cursor)
                    .ok_or_else(|| Error::validation("after", "Curseur de pagination invalide."))?,
            ),
            None => None,
        };
        let this = self.clone();
        let actor = actor.clone();
        tokio::task::spawn_blocking(move || this.search_blocking(&actor, &request, after))
            .await
            .map_err(internal)?
    }

    fn search_blocking(
        &self,
        actor: &Actor,
        request: &SearchRequest,
        after: Option<Position>,
    ) -> Result<SearchResult> {
        let parsed = ParsedQuery::parse(request.text.as_deref().unwrap_or(""));
        let searcher = self.reader.searcher();
        let thesaurus = self
            .thesaurus
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut builder = Builder::new(self.fields.text, &thesaurus);
        // Every scheme matching the text (AND, falling back to OR), with its score.
        let matches = if parsed.is_empty() && parsed.excluded.is_empty() {
            None
        } else {
            let query = builder.build(&parsed, true);
            let mut found = searcher.search(&*query, &AllMatches).map_err(internal)?;
            if found.is_empty() && parsed.words.len() > 1 {
                let any = builder.build(&parsed, false);
                found = searcher.search(&*any, &AllMatches).map_err(internal)?;
            }
            Some(found)
        };
        let facts = self.facts.read().unwrap_or_else(|e| e.into_inner());
        let scope = Scope::new(&facts, &self.territories, &request.filter, actor)?;
        let query_key = parsed.words.join(" ");
        let mut counts = FacetCounts::new(&facts);
        let mut results: Ranked =
            Vec::with_capacity(matches.as_ref().map_or(facts.len(), Vec::len));
        let mut consider = |slot: u32, score: f32| {
            let d = facts.doc(slot);
            if !scope.admits(d) || !counts.add(&scope, d) {
                return;
            }
            let mut score = score;
            if d.expired(request.today) {
                score *= EXPIRED_FACTOR;
            }
            if !query_key.is_empty() && *d.title_key == *query_key {
                score *= EXACT_TITLE_FACTOR;
            }
            let position = match request.sort {
                Sort::Relevance => Position(-f64::from(score), days(d.closes_on, i64::MAX), d.id),
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
            results.push((slot, score, position));
        };
        match &matches {
            Some(found) => {
                for (id, score) in found {
                    if let Some(slot) = facts.slot(*id) {
                        consider(slot, *score);
                    }
                }
            }
            None => {
                for (slot, _) in facts.docs() {
                    consider(slot, 1.0);
                }
            }
        }
        let total = results.len();
        let (page, has_next_page) = page(results, after, request.first);
        let facets = counts.into_lists(&facts);
        let ids: Vec<(i64, f32, Position)> = page
            .into_iter()
            .map(|(slot, score, position)| (facts.doc(slot).id, score, position))
            .collect();
        drop(facts);
        let end_cursor = ids.last().map(|(_, _, position)| position.cursor());
        let mut highlighter = Highlighter::new(builder.into_stems());
        let hits = ids
            .into_iter()
            .filter_map(|(id, score, _)| {
                let scheme = self.stored(&searcher, id)?;
                let r = &scheme.record;
                let highlight = highlighter.snippet(
                    [
                        r.description.as_deref(),
                        r.summary.as_deref(),
                        Some(&r.title),
                    ]
                    .into_iter()
                    .flatten(),
                );
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
            has_next_page,
        })
    }

    /// Every published scheme evaluated for `project` (DESIGN §6 `matchProject`), with the
    /// zonings the index holds: eligible first, then to check, then, with
    /// `include_ineligible`, the others; within each, the relevant (a theme shared, the text
    /// matching, or a project saying neither) before the others, then by score (shared
    /// themes, text relevance of the project's description, a narrower perimeter, closing
    /// soon).
    pub async fn match_project(
        self: &Arc<Self>,
        project: ValidProject,
        include_ineligible: bool,
    ) -> Result<(ValidProject, Vec<Match>)> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            let matches = this.match_blocking(&project, include_ineligible)?;
            Ok((project, matches))
        })
        .await
        .map_err(internal)?
    }

    fn match_blocking(
        &self,
        project: &ValidProject,
        include_ineligible: bool,
    ) -> Result<Vec<Match>> {
        // The zonings the facts were built with (a reload re-reads the schemes naming one).
        let zonings = &*self.zonings();
        // Without the ineligible, what the in-memory facts rule out for sure is not read:
        // another holder type, another place (a zoning counts as its communes; one not
        // loaded is kept, to check), a closed call, no aid type in common. Themes are not
        // filtered: they never make a scheme ineligible.
        let scope = |facts: &Facts| {
            if include_ineligible {
                return Scope::new(
                    facts,
                    &self.territories,
                    &Filter::default(),
                    &Actor::Anonymous,
                );
            }
            let filter = Filter {
                territory: Some(project.commune().code.clone()),
                beneficiary_types: vec![project.holder_type()],
                open_on: Some(project.filing_on()),
                ..Filter::default()
            };
            let aid_types: Vec<&str> = project.aid_types().iter().map(|a| a.as_str()).collect();
            let scope = Scope::new(facts, &self.territories, &filter, &Actor::Anonymous)?;
            Ok(scope.shared_or_none(facts, facts::AID_TYPES, &aid_types))
        };
        let mut matches: Vec<Match> = self
            .published_blocking(project.text(), scope)?
            .into_iter()
            .filter_map(|(scheme, text_score)| {
                let evaluation =
                    eligibility::evaluate(project, &scheme.record, &self.territories, zonings);
                if evaluation.verdict == Verdict::Ineligible && !include_ineligible {
                    return None;
                }
                let key = eligibility::rank_key(
                    project,
                    &scheme.record,
                    zonings,
                    Some(f64::from(text_score)),
                );
                Some(Match {
                    scheme,
                    score: key.score(),
                    relevant: key.relevant,
                    evaluation,
                })
            })
            .collect();
        matches.sort_by(|a, b| {
            a.evaluation
                .verdict
                .cmp(&b.evaluation.verdict)
                .then(b.relevant.cmp(&a.relevant))
                .then(b.score.total_cmp(&a.score))
                .then_with(|| a.scheme.record.slug.cmp(&b.scheme.record.slug))
        });
        Ok(matches)
    }

    /// Every published scheme the scope admits as the index stores it, with its text score
    /// for `text` (its words matched with OR; 0 for a scheme matching none, or without text).
    /// The scope is applied on the in-memory facts before any scheme is read.
    fn published_blocking(
        &self,
        text: Option<&str>,
        scope: impl FnOnce(&Facts) -> Result<Scope>,
    ) -> Result<Vec<(Scheme, f32)>> {
        let searcher = self.reader.searcher();
        // The documents the facts admit: (segment, document, scheme id).
        let admitted: Vec<(usize, DocId, i64)> = {
            let facts = self.facts.read().unwrap_or_else(|e| e.into_inner());
            let scope = scope(&facts)?;
            let mut admitted = Vec::new();
            for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                let ids = segment.fast_fields().i64("id").map_err(internal)?;
                for doc in 0..segment.max_doc() {
                    if segment.alive_bitset().is_some_and(|b| !b.is_alive(doc)) {
                        continue;
                    }
                    if let Some(id) = ids.first(doc)
                        && facts.get(id).is_some_and(|d| scope.admits_all(d))
                    {
                        admitted.push((ord, doc, id));
                    }
                }
            }
            admitted
        };
        // Their text scores: the words with OR, only among them.
        let parsed = ParsedQuery::parse(text.unwrap_or(""));
        let scores: HashMap<i64, f32> = if parsed.is_empty() || admitted.is_empty() {
            HashMap::new()
        } else {
            let thesaurus = self
                .thesaurus
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let words = Builder::new(self.fields.text, &thesaurus).build(&parsed, false);
            let among = TermSetQuery::new(
                admitted
                    .iter()
                    .map(|(_, _, id)| Term::from_field_i64(self.fields.id, *id)),
            );
            let query = BooleanQuery::new(vec![
                (Occur::Must, words),
                (Occur::Must, Box::new(BoostQuery::new(Box::new(among), 0.0))),
            ]);
            searcher
                .search(&query, &AllMatches)
                .map_err(internal)?
                .into_iter()
                .collect()
        };
        let mut stores = Vec::new();
        for segment in searcher.segment_readers() {
            stores.push(segment.get_store_reader(1).map_err(internal)?);
        }
        let mut published = Vec::with_capacity(admitted.len());
        for (ord, doc, id) in admitted {
            let stored: TantivyDocument = stores[ord].get(doc).map_err(internal)?;
            if let Some(scheme) = stored
                .get_first(self.fields.scheme)
                .and_then(|v| v.as_bytes())
                .and_then(|b| serde_json::from_slice::<Scheme>(b).ok())
            {
                published.push((scheme, scores.get(&id).copied().unwrap_or(0.0)));
            }
        }
        Ok(published)
    }

    /// The scheme as stored in the index.
    fn stored(&self, searcher: &Searcher, id: i64) -> Option<Scheme> {
        let term = Term::from_field_i64(self.fields.id, id);
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let Ok(Some(mut postings)) = segment
                .inverted_index(self.fields.id)
                .and_then(|i| Ok(i.read_postings(&term, IndexRecordOption::Basic)?))
            else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if segment.alive_bitset().is_none_or(|b| b.is_alive(doc)) {
                    let stored: TantivyDocument =
                        searcher.doc(DocAddress::new(ord as u32, doc)).ok()?;
                    let bytes = stored.get_first(self.fields.scheme)?.as_bytes()?;
                    return serde_json::from_slice(bytes).ok();
                }
                doc = postings.advance();
            }
        }
        None
    }
}

/// A published scheme evaluated for a project.
#[derive(Clone, Debug)]
pub struct Match {
    pub scheme: Scheme,
    pub score: f64,
    /// A theme shared, the text matching, or a project giving neither (see
    /// [`eligibility::RankKey::relevant`]): listed first within its verdict.
    pub relevant: bool,
    pub evaluation: Evaluation,
}

/// The page after `after` (the start when none), of at most `first` results, in order; and
/// whether more follow. Only the page is sorted.
fn page(mut results: Ranked, after: Option<Position>, first: usize) -> (Ranked, bool) {
    if let Some(after) = after {
        results.retain(|r| r.2.cmp(&after) == Ordering::Greater);
    }
    let has_next = results.len() > first;
    if has_next && first > 0 {
        results.select_nth_unstable_by(first - 1, |a, b| a.2.cmp(&b.2));
    }
    results.truncate(first);
    results.sort_unstable_by(|a, b| a.2.cmp(&b.2));
    (results, has_next)
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
