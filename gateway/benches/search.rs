//! Search and matching benchmark (issues 3 and 4): on synthetic catalogues of 10,000 and
//! 100,000 schemes, (a) in-process latency of `SearchIndex::search`, (b) end-to-end HTTP
//! `searchSchemes` throughput and latency with concurrent clients against the real router on
//! 127.0.0.1, (c) the same queries on PostgreSQL full-text search (french + unaccent, weighted
//! tsvector, GIN index, `ts_rank`, first 20 with the total count) at the same concurrency,
//! (d) index build time, index size and the memory of the server, and (e) `matchProject` for
//! 48 project descriptions, in process and over HTTP.
//!
//! Run it with `scripts/bench-search` (release build; `--postgres` starts a throwaway
//! PostgreSQL for (c)), or `cargo bench --bench search`. Settings, from the environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `GUICHET_BENCH_SIZES` | `10000` | catalogue sizes, comma-separated |
//! | `GUICHET_BENCH_PARTS` | `a,b,c,d,e` | which measures to take |
//! | `GUICHET_BENCH_SECONDS` | `20` | duration of each load test, (b) and (c) |
//! | `GUICHET_BENCH_CLIENTS` | `16` | concurrent clients of (b) and (c) |
//! | `GUICHET_BENCH_ROUNDS` | `10` | passes over the query list in (a) |
//! | `GUICHET_BENCH_POSTGRES_URL` | unset | a PostgreSQL database for (c) (superuser: it creates the `unaccent` extension); (c) is skipped without it |
//! | `GUICHET_BENCH_DATA_DIR` | a temporary directory | where catalogues are stored; kept and reused by later runs |
//! | `GUICHET_BENCH_EXIT_AFTER_START` | unset | exit right after start-up without tearing down (for heap profilers: what is left is what the server holds) |
//!
//! Each size runs in two child processes (the same executable): one generates the catalogue
//! and loads it into SQLite (bulk inserts with the sea-orm entities, as `scheme::save` would
//! store it) and into PostgreSQL's table; the other starts the server on it the way
//! `guichet serve` does (`app::prepare`, which builds the missing index), so that its memory is
//! the server's alone, then measures. The server always uses SQLite (`DATABASE_URL` is
//! ignored). The queries are in `queries.txt`, next to this file.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use catalog::entity::{funder, scheme_document, scheme_funder, scheme_perimeter, scheme_tag};
use catalog::scheme::SchemeRecord;
use catalog::search::{Filter, SearchRequest};
use catalog::vocab::{SchemeStatus, theme_label};
use catalog::{Actor, Territories, TerritoryKind};
use chrono::{DateTime, TimeZone, Utc};
use guichet::config::Settings;
use sea_orm::sqlx::{self, Row, postgres::PgPoolOptions};
use sea_orm::{ActiveValue::Set, EntityTrait, TransactionTrait};

#[path = "support/measure.rs"]
mod measure;
use measure::{cpu_time, load_average, ms, percentile};

#[path = "support/catalogue.rs"]
mod catalogue;
#[path = "support/queries.rs"]
mod queries;
use queries::{Query, SEARCH_QUERY, queries};

const ROLE: &str = "GUICHET_BENCH_ROLE";
const SIZE: &str = "GUICHET_BENCH_SIZE";
const DIR: &str = "GUICHET_BENCH_DIR";

/// PostgreSQL's side: the Aides-territoires way.
const PG_SEARCH: &str =
    "SELECT id, slug, title, summary, closes_on, ts_rank(document, query) AS rank,
       count(*) OVER () AS total
  FROM {table}, websearch_to_tsquery('fr', $1) AS query
 WHERE status = 'PUBLISHED' AND document @@ query
   AND ($2::text[] IS NULL OR national OR places && $2::text[])
 ORDER BY rank DESC, id
 LIMIT 20";

// ---------------------------------------------------------------------------------------------
// Settings and small helpers
// ---------------------------------------------------------------------------------------------

struct Config {
    sizes: Vec<usize>,
    parts: Vec<String>,
    seconds: u64,
    clients: usize,
    rounds: usize,
    postgres: Option<String>,
    data_dir: Option<PathBuf>,
}

impl Config {
    fn from_env() -> Config {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: usize| {
            env(name).map_or(default, |v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: not a number: {v}"))
            })
        };
        Config {
            sizes: env("GUICHET_BENCH_SIZES")
                .unwrap_or_else(|| "10000".into())
                .split(',')
                .map(|s| {
                    s.trim()
                        .replace('_', "")
                        .parse()
                        .expect("GUICHET_BENCH_SIZES: numbers")
                })
                .collect(),
            parts: env("GUICHET_BENCH_PARTS")
                .unwrap_or_else(|| "a,b,c,d,e".into())
                .split(',')
                .map(|s| s.trim().to_lowercase())
                .collect(),
            seconds: number("GUICHET_BENCH_SECONDS", 20) as u64,
            clients: number("GUICHET_BENCH_CLIENTS", 16),
            rounds: number("GUICHET_BENCH_ROUNDS", 10),
            postgres: env("GUICHET_BENCH_POSTGRES_URL"),
            data_dir: env("GUICHET_BENCH_DATA_DIR").map(PathBuf::from),
        }
    }

    fn part(&self, name: &str) -> bool {
        self.parts.iter().any(|p| p == name)
    }
}

/// Prints a result for the parent process (and a readable line).
fn report(key: &str, value: impl Display) {
    println!("@result {key} {value}");
}

/// Resident memory of this process, in MiB (Linux): (VmRSS, VmHWM, RssAnon, RssFile).
fn memory() -> (f64, f64, f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (
        field("VmRSS:"),
        field("VmHWM:"),
        field("RssAnon:"),
        field("RssFile:"),
    )
}

fn report_memory(prefix: &str) {
    let (rss, hwm, anon, file) = memory();
    println!(
        "memory ({prefix}): {rss:.0} MiB resident ({anon:.0} MiB anonymous, {file:.0} MiB file-backed), {hwm:.0} MiB peak"
    );
    report(&format!("{prefix}_rss_mb"), format!("{rss:.0}"));
    report(&format!("{prefix}_hwm_mb"), format!("{hwm:.0}"));
    report(&format!("{prefix}_anon_mb"), format!("{anon:.0}"));
    report(&format!("{prefix}_file_mb"), format!("{file:.0}"));
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

impl Query {
    fn label(&self) -> String {
        match &self.territory {
            Some(t) => format!("{} [{t}]", self.text),
            None => self.text.clone(),
        }
    }
}

/// The settings of the server on a catalogue directory: always SQLite.
fn settings(dir: &Path) -> Settings {
    let mut settings = Settings::new(dir, "127.0.0.1:0".parse().unwrap());
    settings.database_url = format!("sqlite://{}?mode=rwc", dir.join("guichet.db").display());
    settings
}

fn pg_table(count: usize) -> String {
    format!("guichet_bench_fts_{count}")
}

/// A place as stored in PostgreSQL's `places` column: `R:44`, `D:52`, `E:200068658`, `C:52121`.
fn place(kind: TerritoryKind, code: &str) -> String {
    format!("{}:{code}", kind.letter())
}

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("generate") => child(generate),
        Ok("measure") => child(measure),
        _ => parent(),
    }
}

fn child(run: fn(usize, &Path, &Config) -> anyhow::Result<()>) {
    let count: usize = std::env::var(SIZE).unwrap().parse().unwrap();
    let dir = PathBuf::from(std::env::var(DIR).unwrap());
    if let Err(e) = run(count, &dir, &Config::from_env()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: one pair of child processes per size, then the table
// ---------------------------------------------------------------------------------------------

fn run_child(role: &str, count: usize, dir: &Path) -> BTreeMap<String, String> {
    let mut child = Command::new(std::env::current_exe().expect("the bench executable"))
        // The allocator settings `guichet` itself runs with.
        .env("GLIBC_TUNABLES", guichet::app::ALLOCATOR_TUNABLES)
        .env(ROLE, role)
        .env(SIZE, count.to_string())
        .env(DIR, dir)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a child process");
    let mut results = BTreeMap::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap_or_default();
        match line.strip_prefix("@result ") {
            Some(rest) => {
                let (key, value) = rest.split_once(' ').unwrap_or((rest, ""));
                results.insert(key.to_owned(), value.to_owned());
            }
            None => println!("  {line}"),
        }
    }
    let status = child.wait().expect("wait for the child process");
    assert!(
        status.success(),
        "the {role} process for {count} schemes failed ({status})"
    );
    results
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(String::new(), |kb| {
            format!(", {:.0} GiB", kb / 1024.0 / 1024.0)
        });
    format!("{cores} cores ({model}){memory}")
}

fn parent() {
    let config = Config::from_env();
    let queries = queries();
    println!("search benchmark: {}", machine());
    println!(
        "sizes {:?}, parts {}, {} queries ({} with a territory), {} rounds in-process, {} clients for {} s over HTTP{}",
        config.sizes,
        config.parts.join(","),
        queries.len(),
        queries.iter().filter(|q| q.territory.is_some()).count(),
        config.rounds,
        config.clients,
        config.seconds,
        if config.postgres.is_some() {
            " and PostgreSQL"
        } else {
            ""
        }
    );
    if config.part("c") && config.postgres.is_none() {
        println!("(c) PostgreSQL full-text search: skipped, GUICHET_BENCH_POSTGRES_URL is not set");
    }
    let temporary = tempfile::TempDir::new().expect("a temporary directory");
    let root = config
        .data_dir
        .clone()
        .unwrap_or_else(|| temporary.path().to_owned());
    let mut columns = Vec::new();
    for &count in &config.sizes {
        let dir = root.join(format!("catalogue-{count}"));
        println!("\n== {count} schemes ({}) ==", dir.display());
        let mut results = run_child("generate", count, &dir);
        results.extend(run_child("measure", count, &dir));
        columns.push((count, results));
    }
    print_table(&columns);
}

fn print_table(columns: &[(usize, BTreeMap<String, String>)]) {
    let get =
        |r: &BTreeMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_else(|| "–".into());
    let rows: &[(&str, &str, &str)] = &[
        (
            "catalogue: published schemes / text",
            "published",
            "text_mb",
        ),
        (
            "generation / bulk load into SQLite (s)",
            "generate_seconds",
            "sqlite_load_seconds",
        ),
        ("first start, index built (s)", "start_seconds", ""),
        ("index on disk (MiB)", "index_mb", ""),
        (
            "server RSS after start / peak (MiB)",
            "loaded_rss_mb",
            "loaded_hwm_mb",
        ),
        (
            "(a) in-process search p50 / p99 (ms)",
            "inproc_p50_ms",
            "inproc_p99_ms",
        ),
        (
            "(a) in-process mean / max (ms)",
            "inproc_mean_ms",
            "inproc_max_ms",
        ),
        (
            "(a) mean: ranking (first: 0) / the page: 20 stored schemes, highlights (ms)",
            "rank_mean_ms",
            "page_mean_ms",
        ),
        (
            "(a) no text, every published scheme, median (ms)",
            "browse_ms",
            "",
        ),
        (
            "(b) HTTP, answer cache off: throughput (req/s)",
            "nocache_rps",
            "",
        ),
        (
            "(b) HTTP, answer cache off: p50 / p99 (ms)",
            "nocache_p50_ms",
            "nocache_p99_ms",
        ),
        (
            "(b) HTTP, answer cache off: CPU per request, server + client (ms)",
            "nocache_cpu_ms",
            "",
        ),
        (
            "(b) HTTP, answer cache off: requests / errors",
            "nocache_requests",
            "nocache_errors",
        ),
        (
            "(b) HTTP as served (answer cache on): throughput (req/s)",
            "http_rps",
            "",
        ),
        (
            "(b) HTTP as served: p50 / p99 (ms)",
            "http_p50_ms",
            "http_p99_ms",
        ),
        (
            "(b) HTTP as served: requests / errors",
            "http_requests",
            "http_errors",
        ),
        (
            "(b) HTTP as served: CPU per request, server + client (ms)",
            "http_cpu_ms",
            "",
        ),
        (
            "server RSS after HTTP load / peak (MiB)",
            "served_rss_mb",
            "served_hwm_mb",
        ),
        ("(c) PostgreSQL FTS throughput (req/s)", "pg_rps", ""),
        ("(c) PostgreSQL p50 / p99 (ms)", "pg_p50_ms", "pg_p99_ms"),
        (
            "(c) PostgreSQL one client p50 / p99 (ms)",
            "pg_seq_p50_ms",
            "pg_seq_p99_ms",
        ),
        (
            "(c) PostgreSQL load+tsvector / GIN (s)",
            "pg_load_seconds",
            "pg_gin_seconds",
        ),
        ("(c) PostgreSQL table+index (MiB)", "pg_size_mb", ""),
        (
            "HTTP throughput / PostgreSQL's: cache off / as served",
            "nocache_speedup",
            "speedup",
        ),
        (
            "queries without results: Guichet / PostgreSQL",
            "inproc_zero",
            "pg_zero",
        ),
        (
            "(e) matchProject in process p50 / p99 (ms)",
            "match_p50_ms",
            "match_p99_ms",
        ),
        (
            "(e) matchProject: matches per project (eligible or to check)",
            "match_results",
            "",
        ),
        (
            "(e) matchProject over HTTP: throughput (req/s)",
            "match_http_rps",
            "",
        ),
        (
            "(e) matchProject over HTTP: p50 / p99 (ms)",
            "match_http_p50_ms",
            "match_http_p99_ms",
        ),
        (
            "(e) matchProject over HTTP: requests / errors",
            "match_http_requests",
            "match_http_errors",
        ),
        ("(d) reindex (s)", "reindex_seconds", ""),
        (
            "(d) loading every scheme from SQLite (s)",
            "db_load_seconds",
            "",
        ),
        (
            "(d) index on disk after reindex (MiB)",
            "reindex_index_mb",
            "",
        ),
        (
            "server RSS at the end / peak (MiB)",
            "final_rss_mb",
            "final_hwm_mb",
        ),
    ];
    let mut columns: Vec<(usize, BTreeMap<String, String>)> = columns.to_vec();
    for (_, r) in &mut columns {
        for (rps, speedup) in [("http_rps", "speedup"), ("nocache_rps", "nocache_speedup")] {
            if let (Some(h), Some(p)) = (r.get(rps), r.get("pg_rps")) {
                let (h, p): (f64, f64) = (h.parse().unwrap_or(0.0), p.parse().unwrap_or(0.0));
                if p > 0.0 {
                    r.insert(speedup.into(), format!("{:.1}×", h / p));
                }
            }
        }
    }
    println!(
        "\n| measure | {} |",
        columns
            .iter()
            .map(|(n, _)| format!("{n} schemes"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(columns.len()));
    for (label, a, b) in rows {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, r)| {
                if b.is_empty() {
                    get(r, a)
                } else {
                    format!("{} / {}", get(r, a), get(r, b))
                }
            })
            .collect();
        if cells.iter().all(|c| c == "–" || c == "– / –") {
            continue;
        }
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!();
    for (count, r) in &columns {
        let num = |k: &str| {
            r.get(k)
                .and_then(|v| v.trim_end_matches('×').parse::<f64>().ok())
        };
        let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
        if *count == 10_000 {
            for (served, p99, speedup) in [
                ("cache off", "nocache_p99_ms", "nocache_speedup"),
                ("as served", "http_p99_ms", "speedup"),
            ] {
                if let Some(p99) = num(p99) {
                    println!(
                        "target 10,000: HTTP p99 ≤ 20 ms ({served}): {p99:.1} ms, {}",
                        verdict(p99 <= 20.0)
                    );
                }
                if let Some(x) = num(speedup) {
                    println!(
                        "target 10,000: ≥ 10× PostgreSQL's throughput ({served}): {x:.1}×, {}",
                        verdict(x >= 10.0)
                    );
                }
            }
            if let Some(p99) = num("match_p99_ms") {
                println!(
                    "target 10,000 (issue 4): matchProject p99 ≤ 20 ms in process: {p99:.1} ms, {}",
                    verdict(p99 <= 20.0)
                );
            }
        }
        if *count == 100_000 {
            if let Some(s) = num("reindex_seconds") {
                println!(
                    "target 100,000: reindex ≤ 60 s: {s:.1} s, {}",
                    verdict(s <= 60.0)
                );
            }
            let rss = ["loaded_rss_mb", "served_rss_mb", "final_rss_mb"]
                .iter()
                .filter_map(|k| num(k))
                .fold(f64::NAN, f64::max);
            if !rss.is_nan() {
                println!(
                    "target 100,000: server RSS ≤ 300 MB: {rss:.0} MiB at most, {}",
                    verdict(rss <= 300.0)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Child 1: generate the catalogue, load it into SQLite and PostgreSQL
// ---------------------------------------------------------------------------------------------

fn marker(count: usize) -> String {
    format!(
        "generator {} seed {:x} count {count}\n",
        catalogue::VERSION,
        catalogue::SEED
    )
}

fn generate(count: usize, dir: &Path, config: &Config) -> anyhow::Result<()> {
    let territories = Territories::embedded();
    let started = Instant::now();
    let mut records = catalogue::generate(count, &territories);
    for r in &mut records {
        r.normalize();
    }
    let elapsed = started.elapsed();
    for r in &records {
        if let Some(e) = r.validate(&territories).into_iter().next() {
            anyhow::bail!(
                "generated scheme {} is invalid: {}: {}",
                r.slug,
                e.field,
                e.message
            );
        }
    }
    let text: usize = records
        .iter()
        .map(|r| {
            r.title.len()
                + r.summary.as_ref().map_or(0, String::len)
                + r.description.as_ref().map_or(0, String::len)
        })
        .sum();
    let published = records
        .iter()
        .filter(|r| r.status == Some(SchemeStatus::Published))
        .count();
    println!(
        "generated {count} schemes in {:.1} s: {published} published, {:.1} MiB of text ({} bytes per scheme)",
        elapsed.as_secs_f64(),
        text as f64 / 1048576.0,
        text / count.max(1)
    );
    for r in records.iter().step_by((count / 3).max(1)).take(3) {
        println!(
            "  e.g. « {} » — {}",
            r.title,
            r.summary.as_deref().unwrap_or("")
        );
    }
    report("generate_seconds", format!("{:.1}", elapsed.as_secs_f64()));
    report("published", published);
    report("text_mb", format!("{:.0} MiB", text as f64 / 1048576.0));

    let runtime = tokio::runtime::Runtime::new()?;
    let stamp = dir.join("catalogue.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(marker(count).as_str())
        && dir.join("guichet.db").exists()
    {
        println!("reusing the SQLite catalogue in {}", dir.display());
    } else {
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::create_dir_all(dir)?;
        let started = Instant::now();
        runtime.block_on(load_sqlite(&settings(dir), &records))?;
        let elapsed = started.elapsed();
        println!("loaded into SQLite in {:.1} s", elapsed.as_secs_f64());
        report(
            "sqlite_load_seconds",
            format!("{:.1}", elapsed.as_secs_f64()),
        );
        std::fs::write(&stamp, marker(count))?;
    }
    if let (Some(url), true) = (&config.postgres, config.part("c")) {
        runtime.block_on(load_postgres(url, count, &records))?;
    }
    Ok(())
}

fn timestamp(i: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 1, 8, 0, 0).unwrap() + chrono::Duration::seconds(i as i64 * 97)
}

/// Inserts `rows` in statements of at most `per_statement` rows.
async fn insert_chunks<A>(
    db: &impl sea_orm::ConnectionTrait,
    rows: Vec<A>,
    per_statement: usize,
) -> anyhow::Result<()>
where
    A: sea_orm::ActiveModelTrait,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(per_statement).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Stores the schemes the way `catalog::scheme::save` does, in large transactions.
async fn load_sqlite(settings: &Settings, records: &[SchemeRecord]) -> anyhow::Result<()> {
    let (db, _territories) = guichet::app::open(settings).await?;
    let mut funder_ids: BTreeMap<String, i64> = BTreeMap::new();
    let mut funder_rows = Vec::new();
    for f in records.iter().flat_map(|r| &r.funders) {
        if !funder_ids.contains_key(&f.slug) {
            let id = funder_ids.len() as i64 + 1;
            funder_ids.insert(f.slug.clone(), id);
            funder_rows.push(funder::ActiveModel {
                id: Set(id),
                slug: Set(f.slug.clone()),
                name: Set(f.name.clone()),
                kind: Set(f.kind.as_str().to_owned()),
                contact_email: Set(f.contact_email.clone()),
                public_body: Set(f.public_body),
                name_in_sentence: Set(f.name_in_sentence.clone()),
                parent_id: Set(None),
                jurisdiction: Set(None),
                curated: Set(false),
                created_at: Set(timestamp(0)),
                updated_at: Set(timestamp(0)),
            });
        }
    }
    println!("{} funders", funder_rows.len());
    insert_chunks(&db, funder_rows, 500).await?;
    for (batch, chunk) in records.chunks(10_000).enumerate() {
        let txn = db.begin().await?;
        let mut schemes = Vec::new();
        let (mut links, mut tags, mut places, mut documents) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (offset, r) in chunk.iter().enumerate() {
            let index = batch * 10_000 + offset;
            let id = index as i64 + 1;
            let perimeter = r.perimeter.clone().unwrap_or_default();
            let created = timestamp(index);
            let mut row = catalog::scheme::to_active(r, created);
            row.id = Set(id);
            row.updated_at = Set(created + chrono::Duration::days((index % 30) as i64));
            schemes.push(row);
            for (position, f) in r.funders.iter().enumerate() {
                links.push(scheme_funder::ActiveModel {
                    scheme_id: Set(id),
                    funder_id: Set(funder_ids[&f.slug]),
                    position: Set(position as i32),
                });
            }
            let lists = [
                (
                    scheme_tag::BENEFICIARY,
                    r.beneficiary_types
                        .iter()
                        .map(|v| v.as_str())
                        .collect::<Vec<_>>(),
                ),
                (
                    scheme_tag::THEME,
                    r.themes.iter().map(String::as_str).collect(),
                ),
                (
                    scheme_tag::AID_TYPE,
                    r.aid_types.iter().map(|v| v.as_str()).collect(),
                ),
            ];
            for (list, values) in lists {
                for (position, value) in values.into_iter().enumerate() {
                    tags.push(scheme_tag::ActiveModel {
                        scheme_id: Set(id),
                        list: Set(list.to_owned()),
                        value: Set(value.to_owned()),
                        position: Set(position as i32),
                    });
                }
            }
            for (kind, codes) in [
                (TerritoryKind::Region, &perimeter.regions),
                (TerritoryKind::Department, &perimeter.departments),
                (TerritoryKind::Epci, &perimeter.epcis),
                (TerritoryKind::Commune, &perimeter.communes),
            ] {
                for (position, code) in codes.iter().enumerate() {
                    places.push(scheme_perimeter::ActiveModel {
                        scheme_id: Set(id),
                        kind: Set(kind.as_str().to_owned()),
                        code: Set(code.clone()),
                        position: Set(position as i32),
                    });
                }
            }
            for (position, label) in r.required_documents.iter().enumerate() {
                documents.push(scheme_document::ActiveModel {
                    scheme_id: Set(id),
                    position: Set(position as i32),
                    label: Set(label.clone()),
                });
            }
        }
        // SQLite allows 32,766 bound parameters per statement.
        insert_chunks(&txn, schemes, 1_000).await?;
        insert_chunks(&txn, links, 5_000).await?;
        insert_chunks(&txn, tags, 5_000).await?;
        insert_chunks(&txn, places, 5_000).await?;
        insert_chunks(&txn, documents, 5_000).await?;
        txn.commit().await?;
    }
    Ok(())
}

/// A query whose text this file builds (table names); values are always bound.
fn dynamic<'q>(text: &str) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sqlx::AssertSqlSafe(text.to_owned()))
}

/// The words the index puts in its `topics` field: theme labels and funder names.
fn topics(r: &SchemeRecord) -> String {
    r.themes
        .iter()
        .filter_map(|t| theme_label(t))
        .map(str::to_owned)
        .chain(r.funders.iter().map(|f| f.name.clone()))
        .collect::<Vec<_>>()
        .join(" · ")
}

async fn pg_pool(url: &str, connections: u32) -> anyhow::Result<sqlx::PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(connections)
        .min_connections(connections)
        .acquire_timeout(Duration::from_secs(60))
        .connect(url)
        .await?)
}

/// The same catalogue in one PostgreSQL table with a weighted tsvector and a GIN index.
async fn load_postgres(url: &str, count: usize, records: &[SchemeRecord]) -> anyhow::Result<()> {
    let pool = pg_pool(url, 2).await?;
    let table = pg_table(count);
    sqlx::query("CREATE EXTENSION IF NOT EXISTS unaccent")
        .execute(&pool)
        .await?;
    sqlx::query(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'fr') THEN
             CREATE TEXT SEARCH CONFIGURATION fr (COPY = french);
             ALTER TEXT SEARCH CONFIGURATION fr
               ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
           END IF;
         END $$",
    )
    .execute(&pool)
    .await?;
    dynamic(&format!("DROP TABLE IF EXISTS {table}"))
        .execute(&pool)
        .await?;
    dynamic(&format!(
        "CREATE TABLE {table} (
           id bigint PRIMARY KEY, slug text NOT NULL, title text NOT NULL, summary text NOT NULL,
           topics text NOT NULL, description text NOT NULL, status text NOT NULL,
           national boolean NOT NULL, places text[] NOT NULL, closes_on date,
           document tsvector NOT NULL)"
    ))
    .execute(&pool)
    .await?;
    let insert = format!(
        "INSERT INTO {table}
           SELECT id, slug, title, summary, topics, description, status, national,
                  string_to_array(places, ' '), NULLIF(closes_on, '')::date,
                  setweight(to_tsvector('fr', title), 'A')
                  || setweight(to_tsvector('fr', summary || ' ' || topics), 'B')
                  || setweight(to_tsvector('fr', description), 'C')
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::bool[], $9::text[], $10::text[])
               AS u(id, slug, title, summary, topics, description, status, national, places, closes_on)"
    );
    let started = Instant::now();
    for (batch, chunk) in records.chunks(2_000).enumerate() {
        let ids: Vec<i64> = (0..chunk.len())
            .map(|i| (batch * 2_000 + i) as i64 + 1)
            .collect();
        let perimeter = |r: &SchemeRecord| r.perimeter.clone().unwrap_or_default();
        dynamic(&insert)
            .bind(ids)
            .bind(chunk.iter().map(|r| r.slug.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.title.clone()).collect::<Vec<_>>())
            .bind(
                chunk
                    .iter()
                    .map(|r| r.summary.clone().unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
            .bind(chunk.iter().map(topics).collect::<Vec<_>>())
            .bind(
                chunk
                    .iter()
                    .map(|r| r.description.clone().unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|r| r.status.unwrap_or(SchemeStatus::Draft).as_str().to_owned())
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|r| perimeter(r).is_national())
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|r| {
                        let p = perimeter(r);
                        [
                            (TerritoryKind::Region, &p.regions),
                            (TerritoryKind::Department, &p.departments),
                            (TerritoryKind::Epci, &p.epcis),
                            (TerritoryKind::Commune, &p.communes),
                        ]
                        .iter()
                        .flat_map(|(kind, codes)| codes.iter().map(|c| place(*kind, c)))
                        .collect::<Vec<_>>()
                        .join(" ")
                    })
                    .collect::<Vec<_>>(),
            )
            .bind(
                chunk
                    .iter()
                    .map(|r| {
                        r.calendar
                            .closes_on
                            .map_or(String::new(), |d| d.to_string())
                    })
                    .collect::<Vec<_>>(),
            )
            .execute(&pool)
            .await?;
    }
    let load = started.elapsed();
    let started = Instant::now();
    dynamic(&format!(
        "CREATE INDEX {table}_document ON {table} USING gin (document)"
    ))
    .execute(&pool)
    .await?;
    let gin = started.elapsed();
    dynamic(&format!("VACUUM ANALYZE {table}"))
        .execute(&pool)
        .await?;
    let size: i64 = dynamic(&format!("SELECT pg_total_relation_size('{table}')"))
        .fetch_one(&pool)
        .await?
        .try_get(0)?;
    println!(
        "loaded into PostgreSQL table {table}: {:.1} s (rows and tsvectors), GIN index {:.1} s, {:.0} MiB",
        load.as_secs_f64(),
        gin.as_secs_f64(),
        size as f64 / 1048576.0
    );
    report("pg_load_seconds", format!("{:.1}", load.as_secs_f64()));
    report("pg_gin_seconds", format!("{:.1}", gin.as_secs_f64()));
    report("pg_size_mb", format!("{:.0}", size as f64 / 1048576.0));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Child 2: start the server on the catalogue and measure
// ---------------------------------------------------------------------------------------------

fn measure(count: usize, dir: &Path, config: &Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(measure_async(count, dir, config))
}

async fn measure_async(count: usize, dir: &Path, config: &Config) -> anyhow::Result<()> {
    let settings = settings(dir);
    let index_dir = settings.index_dir();
    if index_dir.exists() {
        std::fs::remove_dir_all(&index_dir)?;
    }
    println!("load average before start: {}", load_average());
    let started = Instant::now();
    let state = guichet::app::prepare(settings.clone(), true).await?;
    let start = started.elapsed();
    anyhow::ensure!(
        state.search.len() == count,
        "the index holds {} schemes, not {count}",
        state.search.len()
    );
    println!(
        "first start on the catalogue (app::prepare: migrations, synonyms, loading {count} schemes, building the index): {:.1} s",
        start.as_secs_f64()
    );
    report("start_seconds", format!("{:.1}", start.as_secs_f64()));
    let size = dir_size(&index_dir) as f64 / 1048576.0;
    println!("index on disk: {size:.1} MiB");
    report("index_mb", format!("{size:.0}"));
    report_memory("loaded");
    if std::env::var_os("GUICHET_BENCH_EXIT_AFTER_START").is_some() {
        // For heap profilers (heaptrack): what is still allocated at exit is what the
        // started server holds.
        std::process::exit(0);
    }
    let sync = guichet::app::start_search_sync(&state);

    let queries = queries();
    for q in &queries {
        if let Some(t) = &q.territory {
            anyhow::ensure!(
                state.territories.resolve(t).is_some(),
                "queries.txt: unknown territory {t}"
            );
        }
    }
    if config.part("a") {
        in_process(&state, &queries, config.rounds).await?;
    }
    if config.part("b") {
        // Every search computed (the cache off), then as served (repeated searches answered
        // from memory while the index does not change).
        let uncached = guichet::app::AppState {
            search_cache: Arc::new(guichet::graphql::cache::SearchCache::new(0)),
            ..state.clone()
        };
        http(
            &uncached,
            &queries,
            config.clients,
            config.seconds,
            "nocache",
        )
        .await?;
        http(&state, &queries, config.clients, config.seconds, "http").await?;
        report_memory("served");
    }
    if let (Some(url), true) = (&config.postgres, config.part("c")) {
        postgres(
            url,
            count,
            &state.territories,
            &queries,
            config.clients,
            config.seconds,
        )
        .await?;
    }
    if config.part("e") {
        matching(&state, config.clients, config.seconds, config.rounds.min(3)).await?;
    }
    if config.part("d") {
        println!("load average before (d): {}", load_average());
        let started = Instant::now();
        let indexed = state.search.rebuild(&state.db).await?;
        let reindex = started.elapsed();
        anyhow::ensure!(indexed == count, "reindex saw {indexed} schemes");
        println!(
            "(d) reindex (SearchIndex::rebuild, as `guichet reindex`): {:.1} s",
            reindex.as_secs_f64()
        );
        report("reindex_seconds", format!("{:.1}", reindex.as_secs_f64()));
        let started = Instant::now();
        let mut after = i64::MIN;
        while let Some(last) = catalog::scheme::batch_after(&state.db, after, 2_000)
            .await?
            .last()
        {
            after = last.id;
        }
        let load = started.elapsed();
        println!(
            "(d) of which reading the {count} schemes from SQLite (scheme::batch_after, 2,000 at a time): {:.1} s",
            load.as_secs_f64()
        );
        report("db_load_seconds", format!("{:.1}", load.as_secs_f64()));
        let size = dir_size(&index_dir) as f64 / 1048576.0;
        println!("index on disk after reindex: {size:.1} MiB");
        report("reindex_index_mb", format!("{size:.0}"));
    }
    report_memory("final");
    sync.abort();
    Ok(())
}

fn request(q: &Query) -> SearchRequest {
    SearchRequest {
        text: Some(q.text.clone()),
        filter: Filter {
            territory: q.territory.clone(),
            ..Filter::default()
        },
        first: 20,
        today: catalog::search::today(),
        ..SearchRequest::default()
    }
}

/// (a) `SearchIndex::search`, one query at a time. After each search, the same search with
/// `first: 0` (text scores, filters, facets and sort, without a page to load or highlights),
/// interleaved so that both see the same machine.
async fn in_process(
    state: &guichet::app::AppState,
    queries: &[Query],
    rounds: usize,
) -> anyhow::Result<()> {
    println!("load average before (a): {}", load_average());
    let search = state.search.clone();
    let run = |r: SearchRequest| {
        let search = search.clone();
        async move {
            let started = Instant::now();
            let result = search.search(&Actor::Anonymous, r).await?;
            anyhow::Ok((started.elapsed(), result))
        }
    };
    let mut totals = Vec::new();
    for q in queries {
        totals.push(run(request(q)).await?.1.total);
    }
    let (mut samples, mut ranking) = (Vec::new(), Vec::new());
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
    for _ in 0..rounds {
        for (i, q) in queries.iter().enumerate() {
            let elapsed = run(request(q)).await?.0;
            samples.push(elapsed);
            per_query[i].push(elapsed);
            let mut without_page = request(q);
            without_page.first = 0;
            ranking.push(run(without_page).await?.0);
        }
    }
    samples.sort();
    let mean_of = |v: &[Duration]| v.iter().sum::<Duration>() / v.len().max(1) as u32;
    let (mean, rank) = (mean_of(&samples), mean_of(&ranking));
    let max = *samples.last().unwrap_or(&Duration::ZERO);
    println!(
        "(a) in-process search, {} searches: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, max {:.2} ms",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        ms(mean),
        ms(max)
    );
    report(
        "inproc_p50_ms",
        format!("{:.1}", ms(percentile(&samples, 0.5))),
    );
    report(
        "inproc_p99_ms",
        format!("{:.1}", ms(percentile(&samples, 0.99))),
    );
    report("inproc_mean_ms", format!("{:.1}", ms(mean)));
    report("inproc_max_ms", format!("{:.1}", ms(max)));
    let zero = totals.iter().filter(|t| **t == 0).count();
    report("inproc_zero", zero);
    let mut medians: Vec<(Duration, usize)> = per_query
        .iter_mut()
        .enumerate()
        .map(|(i, s)| {
            s.sort();
            (percentile(s, 0.5), i)
        })
        .collect();
    medians.sort();
    println!("    slowest queries (median):");
    for (median, i) in medians.iter().rev().take(6) {
        println!(
            "      {:7.2} ms  {:6} results  {}",
            ms(*median),
            totals[*i],
            queries[*i].label()
        );
    }
    println!(
        "    fastest: {:.2} ms ({}); queries without results: {zero}",
        ms(medians[0].0),
        queries[medians[0].1].label()
    );
    let page = mean.saturating_sub(rank);
    println!(
        "    mean of a search: {:.2} ms text scores, filters, facets and sort (the same search with first: 0), {:.2} ms its page (20 schemes from the index's store, highlights)",
        ms(rank),
        ms(page),
    );
    report("rank_mean_ms", format!("{:.2}", ms(rank)));
    report("page_mean_ms", format!("{:.2}", ms(page)));
    // The whole catalogue without text: filters, facets and sort of every published scheme.
    let mut browse = Vec::new();
    for _ in 0..10 {
        let mut r = request(&queries[0]);
        r.text = None;
        browse.push(run(r).await?.0);
    }
    browse.sort();
    println!(
        "    no text (every published scheme, facets, first 20): median {:.2} ms",
        ms(percentile(&browse, 0.5))
    );
    report("browse_ms", format!("{:.1}", ms(percentile(&browse, 0.5))));
    Ok(())
}

struct Load {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Load {
    fn print(&self, name: &str, prefix: &str) {
        let mut latencies = self.latencies.clone();
        latencies.sort();
        let rps = latencies.len() as f64 / self.elapsed.as_secs_f64();
        println!(
            "{name}: {} requests in {:.1} s, {rps:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} errors",
            latencies.len(),
            self.elapsed.as_secs_f64(),
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            ms(*latencies.last().unwrap_or(&Duration::ZERO)),
            self.errors
        );
        report(&format!("{prefix}_rps"), format!("{rps:.0}"));
        report(
            &format!("{prefix}_p50_ms"),
            format!("{:.1}", ms(percentile(&latencies, 0.5))),
        );
        report(
            &format!("{prefix}_p99_ms"),
            format!("{:.1}", ms(percentile(&latencies, 0.99))),
        );
        report(&format!("{prefix}_requests"), latencies.len());
        report(&format!("{prefix}_errors"), self.errors);
    }
}

/// Runs `clients` loops of `one(i)` over the query indices until `seconds` have passed.
async fn load<F, Fut>(clients: usize, seconds: u64, queries: usize, one: F) -> Load
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let next = next.clone();
            let one = one.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed) % queries;
                    let started = Instant::now();
                    let ok = one(i).await;
                    latencies.push(started.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut result = Load {
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        let (latencies, errors) = task.await.expect("a load task");
        result.latencies.extend(latencies);
        result.errors += errors;
    }
    result.elapsed = started.elapsed();
    result
}

/// Serves the real router on a free loopback port; returns the `/graphql` address.
async fn serve(
    state: &guichet::app::AppState,
) -> anyhow::Result<(Arc<String>, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let router = guichet::app::router(state.clone());
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    Ok((Arc::new(format!("http://{address}/graphql")), server))
}

fn http_client(clients: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(clients * 2)
        .build()?)
}

/// POSTs the bodies in turn from `clients` concurrent clients for `seconds`; an answer is an
/// error unless it is a 2xx without GraphQL errors.
async fn post_load(
    client: reqwest::Client,
    url: Arc<String>,
    bodies: Arc<Vec<String>>,
    clients: usize,
    seconds: u64,
) -> Load {
    let count = bodies.len();
    load(clients, seconds, count, move |i| {
        let client = client.clone();
        let url = url.clone();
        let bodies = bodies.clone();
        async move {
            match client
                .post(url.as_str())
                .header("content-type", "application/json")
                .body(bodies[i].clone())
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => match response.bytes().await {
                    Ok(bytes) => !bytes.windows(9).any(|w| w == b"\"errors\":"),
                    Err(_) => false,
                },
                _ => false,
            }
        }
    })
    .await
}

/// The project descriptions of (e): holder types, communes across France, themes, words and
/// costs in turn (every fifth without a cost).
fn projects(territories: &Territories) -> Vec<serde_json::Value> {
    let communes: Vec<&str> = territories
        .all()
        .iter()
        .filter(|t| t.kind == TerritoryKind::Commune)
        .step_by(2_300)
        .map(|t| t.code.as_str())
        .collect();
    let holders = [
        "COMMUNE",
        "COMMUNE",
        "EPCI",
        "ASSOCIATION",
        "COMPANY",
        "COMMUNE",
    ];
    let needs = [
        ("commerce", "rouvrir le café multiservice du village"),
        ("sante", "maison de santé pluriprofessionnelle"),
        ("enfance-jeunesse", "micro-crèche intercommunale"),
        ("patrimoine-tourisme", "restauration de l'église"),
        ("energie-climat", "chaufferie bois et réseau de chaleur"),
        ("mobilite", "aire de covoiturage"),
        ("tiers-lieux", "tiers-lieu numérique"),
        ("revitalisation", "revitalisation du centre-bourg"),
    ];
    (0..48)
        .map(|i| {
            let (theme, text) = needs[i % needs.len()];
            serde_json::json!({
                "holderType": holders[i % holders.len()],
                "communeCode": communes[i % communes.len()],
                "themes": [theme],
                "text": text,
                "totalCost": (i % 5 != 0).then_some(20_000 + (i as i64 * 37_000) % 900_000),
            })
        })
        .collect()
}

const MATCH_QUERY: &str = "query($project: ProjectInput!) { matchProject(project: $project) {
  eligibleCount toCheckCount
  matches { verdict score scheme { slug title funders { name } }
            criteria { code status message } estimatedAmount { min max } } } }";

/// (e) `matchProject` (issue 4): in process, one project at a time (`SearchIndex::match_project`
/// after validation), then over HTTP with `clients` concurrent clients.
async fn matching(
    state: &guichet::app::AppState,
    clients: usize,
    seconds: u64,
    rounds: usize,
) -> anyhow::Result<()> {
    let projects = projects(&state.territories);
    let today = catalog::search::today();
    let (mut samples, mut found) = (Vec::new(), 0);
    for _ in 0..rounds {
        for p in &projects {
            let project: catalog::eligibility::Project = project_of(p);
            let project = catalog::eligibility::validate(project, &state.territories, today)?;
            let started = Instant::now();
            let (_, matches) = state.search.match_project(project, false).await?;
            samples.push(started.elapsed());
            found += matches.len();
        }
    }
    samples.sort();
    println!(
        "(e) matchProject in process, {} projects: p50 {:.2} ms, p99 {:.2} ms, {:.0} matches (eligible or to check) on average",
        samples.len(),
        ms(percentile(&samples, 0.5)),
        ms(percentile(&samples, 0.99)),
        found as f64 / samples.len().max(1) as f64
    );
    report(
        "match_p50_ms",
        format!("{:.1}", ms(percentile(&samples, 0.5))),
    );
    report(
        "match_p99_ms",
        format!("{:.1}", ms(percentile(&samples, 0.99))),
    );
    report(
        "match_results",
        format!("{:.0}", found as f64 / samples.len().max(1) as f64),
    );
    let (url, server) = serve(state).await?;
    let bodies: Arc<Vec<String>> = Arc::new(
        projects
            .iter()
            .map(|p| {
                serde_json::json!({ "query": MATCH_QUERY, "variables": { "project": p } })
                    .to_string()
            })
            .collect(),
    );
    let result = post_load(http_client(clients)?, url, bodies, clients, seconds).await;
    result.print(
        &format!("(e) matchProject over HTTP, {clients} clients (every match with its criteria)"),
        "match_http",
    );
    server.abort();
    Ok(())
}

/// The domain project of a `ProjectInput` as (e) sends it.
fn project_of(p: &serde_json::Value) -> catalog::eligibility::Project {
    catalog::eligibility::Project {
        holder_type: catalog::vocab::BeneficiaryType::parse(p["holderType"].as_str().unwrap_or(""))
            .expect("a holder type"),
        commune_code: p["communeCode"].as_str().unwrap_or("").to_owned(),
        themes: vec![p["themes"][0].as_str().unwrap_or("").to_owned()],
        text: p["text"].as_str().map(str::to_owned),
        total_cost: p["totalCost"].as_i64(),
        starts_on: None,
        filing_on: None,
        aid_types: Vec::new(),
        economic_activity: None,
        nature: None,
        cost_basis: catalog::vocab::CostBasis::Ht,
    }
}

/// (b) `searchSchemes` over HTTP against the real router on 127.0.0.1.
async fn http(
    state: &guichet::app::AppState,
    queries: &[Query],
    clients: usize,
    seconds: u64,
    prefix: &str,
) -> anyhow::Result<()> {
    let cached = state.search_cache.enabled();
    let (url, server) = serve(state).await?;
    let bodies: Arc<Vec<String>> = Arc::new(
        queries
            .iter()
            .map(|q| {
                serde_json::json!({
                    "query": SEARCH_QUERY,
                    "variables": {
                        "text": q.text,
                        "filter": q.territory.as_ref().map(|t| serde_json::json!({ "territory": t })),
                        "sort": "RELEVANCE",
                        "first": 20,
                        "after": null,
                        "withFacets": true,
                    }
                })
                .to_string()
            })
            .collect(),
    );
    let client = http_client(clients)?;
    // One checked pass first: every answer must be a result.
    let mut bytes = 0;
    for (i, body) in bodies.iter().enumerate() {
        let response = client
            .post(url.as_str())
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "HTTP {} for {}",
            response.status(),
            queries[i].label()
        );
        let text = response.text().await?;
        bytes += text.len();
        let value: serde_json::Value = serde_json::from_str(&text)?;
        anyhow::ensure!(
            value["errors"].is_null(),
            "{}: {}",
            queries[i].label(),
            value["errors"]
        );
        anyhow::ensure!(
            value["data"]["searchSchemes"]["total"].is_u64(),
            "{}: no total",
            queries[i].label()
        );
    }
    println!(
        "(b) HTTP: POST {url} with the web front end's query (first: 20, facets, highlights), {} bytes per answer on average, no compression",
        bytes / bodies.len().max(1)
    );
    println!("load average before (b): {}", load_average());
    let cpu = cpu_time();
    let result = post_load(client, url, bodies, clients, seconds).await;
    result.print(
        &format!(
            "(b) HTTP searchSchemes, {clients} clients, answer cache {}",
            if cached { "on" } else { "off" }
        ),
        prefix,
    );
    let used = cpu_time().saturating_sub(cpu);
    let per_request = used / result.latencies.len().max(1) as u32;
    println!(
        "    CPU of this process (server and load client): {:.1} s over {:.1} s, {:.2} ms per request; load average after: {}",
        used.as_secs_f64(),
        result.elapsed.as_secs_f64(),
        ms(per_request),
        load_average()
    );
    report(
        &format!("{prefix}_cpu_ms"),
        format!("{:.2}", ms(per_request)),
    );
    server.abort();
    Ok(())
}

/// The places a territory filter admits in PostgreSQL's `places` column: the territory, its
/// ancestors, and every territory inside it (as Guichet's filter does).
fn admitted_places(territories: &Territories, reference: &str) -> Vec<String> {
    let t = territories.resolve(reference).expect("a known territory");
    let mut places = vec![place(t.kind, &t.code)];
    places.extend(t.parents.iter().map(|(k, c)| place(*k, c)));
    let target = (t.kind, t.code.clone());
    places.extend(
        territories
            .all()
            .iter()
            .filter(|inner| inner.parents.contains(&target))
            .map(|inner| place(inner.kind, &inner.code)),
    );
    places
}

/// (c) The same queries on PostgreSQL full-text search, at the same concurrency.
async fn postgres(
    url: &str,
    count: usize,
    territories: &Territories,
    queries: &[Query],
    clients: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let pool = pg_pool(url, clients as u32).await?;
    let sql = Arc::new(PG_SEARCH.replace("{table}", &pg_table(count)));
    let work: Arc<Vec<(String, Option<Vec<String>>)>> = Arc::new(
        queries
            .iter()
            .map(|q| {
                (
                    q.text.clone(),
                    q.territory
                        .as_ref()
                        .map(|t| admitted_places(territories, t)),
                )
            })
            .collect(),
    );
    let run = |pool: sqlx::PgPool,
               sql: Arc<String>,
               work: Arc<Vec<(String, Option<Vec<String>>)>>,
               i: usize| async move {
        let (text, places) = &work[i];
        let rows = dynamic(sql.as_str())
            .bind(text)
            .bind(places.clone())
            .fetch_all(&pool)
            .await?;
        let total: i64 = match rows.first() {
            Some(row) => row.try_get("total")?,
            None => 0,
        };
        anyhow::Ok(total)
    };
    // One checked pass, then a client alone for the latency of a query.
    let mut empty = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        if run(pool.clone(), sql.clone(), work.clone(), i).await? == 0 {
            empty.push(q.label());
        }
    }
    let zero = empty.len();
    println!("(c) PostgreSQL finds nothing for: {}", empty.join(" · "));
    report("pg_zero", zero);
    let plan: Vec<String> = dynamic(&format!(
        "EXPLAIN (ANALYZE, BUFFERS) {}",
        sql.replace("$1", "'maison de santé'")
            .replace("$2::text[]", "NULL::text[]")
    ))
    .fetch_all(&pool)
    .await?
    .iter()
    .filter_map(|r| r.try_get::<String, _>(0).ok())
    .collect();
    println!("(c) PostgreSQL plan of « maison de santé »:");
    for line in &plan {
        println!("      {line}");
    }
    let mut alone = Vec::new();
    for _ in 0..3 {
        for i in 0..work.len() {
            let started = Instant::now();
            run(pool.clone(), sql.clone(), work.clone(), i).await?;
            alone.push(started.elapsed());
        }
    }
    alone.sort();
    println!(
        "(c) PostgreSQL, one client: p50 {:.2} ms, p99 {:.2} ms; queries without results: {zero}",
        ms(percentile(&alone, 0.5)),
        ms(percentile(&alone, 0.99))
    );
    report(
        "pg_seq_p50_ms",
        format!("{:.1}", ms(percentile(&alone, 0.5))),
    );
    report(
        "pg_seq_p99_ms",
        format!("{:.1}", ms(percentile(&alone, 0.99))),
    );
    println!("load average before (c): {}", load_average());
    let result = load(clients, seconds, work.len(), move |i| {
        let (pool, sql, work) = (pool.clone(), sql.clone(), work.clone());
        async move { run(pool, sql, work, i).await.is_ok() }
    })
    .await;
    result.print(
        &format!("(c) PostgreSQL full-text search, {clients} clients"),
        "pg",
    );
    Ok(())
}
