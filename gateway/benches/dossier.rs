//! Shared-dossier benchmark (issue 5): (a) submissions end to end over HTTP against the real
//! router on 127.0.0.1, each one a complete dossier created (`createDossier`), a 1 MiB
//! attachment uploaded (GraphQL multipart `addAttachment`) and the dossier submitted to five
//! funders (`submitDossier`), with 1 and 8 concurrent holders, on SQLite and on PostgreSQL;
//! then, in process, what a submission spends in the dossier PDF and in the attachment
//! store; (b) the mail worker sending the notifications those submissions queued (the
//! dossier PDF attached to every funder's copy) to an aiosmtpd server on 127.0.0.1, then the
//! same messages again into `.eml` files.
//!
//! Run it with `scripts/bench-dossier` (release build; `--postgres` starts a throwaway
//! PostgreSQL 15; the script finds or creates a Python with aiosmtpd), or
//! `cargo bench --bench dossier`. Settings, from the environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `GUICHET_BENCH_CLIENTS` | `1,8` | concurrent holders; one run each |
//! | `GUICHET_BENCH_SUBMISSIONS` | `200` | submissions in each run |
//! | `GUICHET_BENCH_ATTACHMENT_KB` | `1024` | size of the attachment of each submission |
//! | `GUICHET_BENCH_MAIL` | `1100` | messages (b) sends, the oldest of those (a) queued (11 per submission) |
//! | `GUICHET_BENCH_PARTS` | `a,b` | which measures to take |
//! | `GUICHET_BENCH_POSTGRES_URL` | unset | a PostgreSQL server; the benchmark creates its own database there and drops it at the end (the PostgreSQL column is skipped without it) |
//! | `GUICHET_BENCH_PYTHON` | `python3` | a Python with aiosmtpd (the SMTP measure is skipped without one) |
//!
//! Each backend runs in a child process (the same executable, with the allocator settings
//! `guichet` runs with) on a fresh data directory: `app::prepare` as `guichet serve` does
//! (migrations, territories, the 44-scheme seed, the search index), then five funders with
//! one published scheme each and an agent per funder, and one holder account per submission
//! (each a commune submitting its first dossier).
//!
//! `mail::send_due` is not public: (b) runs the worker as `guichet serve` does
//! (`mail::spawn_worker`, whose first round is `send_due` over the whole outbox) and takes the
//! time from its start to the last `sent_at` it wrote.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use catalog::entity::outbox;
use chrono::{DateTime, Utc};
use guichet::app::AppState;
use guichet::config::Settings;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};

#[path = "support/measure.rs"]
mod measure;
#[path = "support/multipart.rs"]
mod multipart;
#[path = "support/schemes.rs"]
mod schemes;
use measure::{cpu_time, load_average, ms, percentile};
use multipart::graphql_upload;
use schemes::last_shop_scheme;

const ROLE: &str = "GUICHET_BENCH_ROLE";
const BACKEND: &str = "GUICHET_BENCH_BACKEND";
const DIR: &str = "GUICHET_BENCH_DIR";

/// The five funders: (slug, name, kind). Each has one scheme, `commerce-<slug>`.
const FUNDERS: [(&str, &str, &str); 5] = [
    ("bench-etat", "Préfecture de la Haute-Marne (DETR)", "STATE"),
    ("bench-region", "Région Grand Est", "REGION"),
    (
        "bench-departement",
        "Département de la Haute-Marne",
        "DEPARTMENT",
    ),
    (
        "bench-cc",
        "Communauté de communes des Savoir-Faire",
        "INTERCOMMUNALITY",
    ),
    ("bench-caf", "CAF de la Haute-Marne", "SOCIAL_SECURITY"),
];

/// The dossier's money: 200,000 € of expenses, 60,000 € own funds (the commune funds at least
/// 20 % of the public money: 60,000 × 4 ≥ 140,000), 28,000 € (14 %) from each funder.
const TOTAL_COST: i64 = 200_000;
const OWN_FUNDS: i64 = 60_000;
const PER_FUNDER: i64 = 28_000;

const CREATE: &str = "mutation($input: DossierInput!) {
  createDossier(input: $input) { id status missing { field } } }";

const SUBMIT: &str = "mutation($id: ID!, $slugs: [String!]!, $key: String!) {
  submitDossier(id: $id, schemeSlugs: $slugs, idempotencyKey: $key) {
    id reference status reviews { funder { slug } status requestedAmount } } }";

const UPLOAD: &str = "mutation($id: ID!, $file: Upload!, $label: String!) {
  addAttachment(dossierId: $id, file: $file, label: $label) { id size contentType sha256 } }";

const CHECK_PLAN: &str = "query($plan: FinancingPlanInput!) {
  checkFinancingPlan(plan: $plan) { balanced publicShare ownShare violations { code message } } }";

// ---------------------------------------------------------------------------------------------
// Settings and small helpers
// ---------------------------------------------------------------------------------------------

struct Config {
    clients: Vec<usize>,
    submissions: usize,
    attachment_bytes: usize,
    mail: usize,
    parts: Vec<String>,
    postgres: Option<String>,
    python: Option<String>,
}

impl Config {
    fn from_env() -> Config {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: usize| {
            env(name).map_or(default, |v| {
                v.trim()
                    .replace('_', "")
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: not a number: {v}"))
            })
        };
        let python = env("GUICHET_BENCH_PYTHON").unwrap_or_else(|| "python3".into());
        let has_aiosmtpd = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        Config {
            clients: env("GUICHET_BENCH_CLIENTS")
                .unwrap_or_else(|| "1,8".into())
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse::<usize>()
                        .expect("GUICHET_BENCH_CLIENTS: numbers")
                })
                .filter(|&n| n > 0)
                .collect(),
            submissions: number("GUICHET_BENCH_SUBMISSIONS", 200).max(1),
            attachment_bytes: number("GUICHET_BENCH_ATTACHMENT_KB", 1024).max(1) * 1024,
            mail: number("GUICHET_BENCH_MAIL", 1100).max(1),
            parts: env("GUICHET_BENCH_PARTS")
                .unwrap_or_else(|| "a,b".into())
                .split(',')
                .map(|s| s.trim().to_lowercase())
                .collect(),
            postgres: env("GUICHET_BENCH_POSTGRES_URL"),
            python: has_aiosmtpd.then_some(python),
        }
    }

    fn part(&self, name: &str) -> bool {
        self.parts.iter().any(|p| p == name)
    }
}

/// Prints a result for the parent process.
fn report(key: &str, value: impl Display) {
    println!("@result {key} {value}");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    percentile(&samples, 0.5)
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({model})")
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn main() {
    match std::env::var(ROLE).as_deref() {
        Ok("measure") => {
            let backend = std::env::var(BACKEND).expect("GUICHET_BENCH_BACKEND");
            let dir = PathBuf::from(std::env::var(DIR).expect("GUICHET_BENCH_DIR"));
            let result = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(measure(&backend, &dir, &Config::from_env())));
            if let Err(e) = result {
                eprintln!("error: {e:#}");
                std::process::exit(1);
            }
        }
        _ => parent(),
    }
}

// ---------------------------------------------------------------------------------------------
// The parent: one child process per backend, then the table
// ---------------------------------------------------------------------------------------------

fn run_child(backend: &str, dir: &Path) -> BTreeMap<String, String> {
    let mut child = Command::new(std::env::current_exe().expect("the bench executable"))
        // The allocator settings `guichet` itself runs with.
        .env("GLIBC_TUNABLES", guichet::app::ALLOCATOR_TUNABLES)
        .env(ROLE, "measure")
        .env(BACKEND, backend)
        .env(DIR, dir)
        .env_remove("DATABASE_URL")
        .env_remove("SMTP_URL")
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
        "the {backend} measure process failed ({status})"
    );
    results
}

fn parent() {
    let config = Config::from_env();
    println!("dossier benchmark: {}", machine());
    println!(
        "{} submissions per run with {:?} concurrent holders, a {} KiB attachment each, parts {}",
        config.submissions,
        config.clients,
        config.attachment_bytes / 1024,
        config.parts.join(",")
    );
    if config.postgres.is_none() {
        println!("PostgreSQL: skipped, GUICHET_BENCH_POSTGRES_URL is not set");
    }
    if config.part("b") && config.python.is_none() {
        println!("(b) SMTP: skipped, no Python with aiosmtpd (GUICHET_BENCH_PYTHON)");
    }
    let root = tempfile::TempDir::new().expect("a temporary directory");
    let mut columns = Vec::new();
    for (backend, label) in [("sqlite", "SQLite"), ("postgres", "PostgreSQL")] {
        if backend == "postgres" && config.postgres.is_none() {
            continue;
        }
        let dir = root.path().join(backend);
        println!("\n== {label} ({}) ==", dir.display());
        columns.push((label, run_child(backend, &dir)));
    }
    print_table(&config, &columns);
}

fn print_table(config: &Config, columns: &[(&str, BTreeMap<String, String>)]) {
    let get =
        |r: &BTreeMap<String, String>, k: &str| r.get(k).cloned().unwrap_or_else(|| "–".into());
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let mut row = |label: String, a: &str, b: &str| rows.push((label, a.into(), b.into()));
    for &n in &config.clients {
        let who = if n == 1 {
            "1 client".to_owned()
        } else {
            format!("{n} clients")
        };
        row(
            format!("(a) {who}: submissions/s"),
            &format!("c{n}_rate"),
            "",
        );
        for (step, name) in [
            ("create", "createDossier"),
            ("upload", "1 MiB upload"),
            ("submit", "submitDossier"),
            ("total", "whole submission"),
        ] {
            let name = if step == "upload" && config.attachment_bytes != 1024 * 1024 {
                format!("{} KiB upload", config.attachment_bytes / 1024)
            } else {
                name.to_owned()
            };
            row(
                format!("(a) {who}: {name} p50 / p99 (ms)"),
                &format!("c{n}_{step}_p50"),
                &format!("c{n}_{step}_p99"),
            );
        }
        row(
            format!("(a) {who}: CPU per submission, server + clients (ms)"),
            &format!("c{n}_cpu_ms"),
            "",
        );
        row(
            format!("(a) {who}: submissions / errors"),
            &format!("c{n}_done"),
            &format!("c{n}_errors"),
        );
    }
    row(
        "(a) server log: warnings and errors".into(),
        "server_errors",
        "",
    );
    row(
        "(a) in process: dossier PDF built, median (ms) / size (KiB)".into(),
        "pdf_ms",
        "pdf_kb",
    );
    row(
        "(a) in process: attachment store, one new 1 MiB file (write, fsync, rename) median (ms)"
            .into(),
        "blob_ms",
        "",
    );
    row(
        "(b) messages queued / with the PDF attached".into(),
        "mail_messages",
        "mail_with_pdf",
    );
    row("(b) message size, average (KiB)".into(), "mail_kb", "");
    row(
        "(b) worker to aiosmtpd on 127.0.0.1: messages/s".into(),
        "smtp_rate",
        "",
    );
    row(
        "(b) worker to aiosmtpd: time for all (s)".into(),
        "smtp_seconds",
        "",
    );
    row(
        "(b) worker to .eml files: messages/s".into(),
        "eml_rate",
        "",
    );
    row(
        "(b) worker to .eml files: time for all (s)".into(),
        "eml_seconds",
        "",
    );
    println!(
        "\n| measure | {} |",
        columns
            .iter()
            .map(|(label, _)| *label)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}", "---|".repeat(columns.len()));
    for (label, a, b) in &rows {
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
}

// ---------------------------------------------------------------------------------------------
// The measuring process
// ---------------------------------------------------------------------------------------------

async fn measure(backend: &str, dir: &Path, config: &Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut settings = Settings::new(dir, "127.0.0.1:0".parse()?);
    let mut postgres = None;
    if backend == "postgres" {
        let admin = config
            .postgres
            .clone()
            .ok_or_else(|| anyhow::anyhow!("GUICHET_BENCH_POSTGRES_URL is not set"))?;
        let name = format!("guichet_bench_dossier_{}", uuid::Uuid::new_v4().simple());
        let db = catalog::db::connect(&admin).await?;
        db.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        db.close().await?;
        settings.database_url = with_database(&admin, &name);
        postgres = Some((admin, name));
    } else {
        settings.database_url = format!("sqlite://{}?mode=rwc", dir.join("guichet.db").display());
    }
    let result = measure_on(settings, dir, config).await;
    if let Some((admin, name)) = postgres {
        let db = catalog::db::connect(&admin).await?;
        db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        db.close().await?;
    }
    result
}

async fn measure_on(settings: Settings, dir: &Path, config: &Config) -> anyhow::Result<()> {
    // The server's warnings and errors (the details behind an INTERNAL answer) go to a file.
    let log = dir.join("server.log");
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(std::fs::File::create(&log)?))
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .try_init();
    println!("load average before start: {}", load_average());
    let started = Instant::now();
    let state = guichet::app::prepare(settings, false).await?;
    println!(
        "start (app::prepare: migrations, territories, seed, index): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (url, server) = serve(&state).await?;
    let most = config.clients.iter().copied().max().unwrap_or(1);
    let api = Api {
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(most * 2)
            .build()?,
        url,
    };
    const WARM_UP: usize = 2;
    let runs = if config.part("a") {
        config.clients.len()
    } else {
        0
    };
    let holders = Arc::new(set_up(&state, &api, WARM_UP + runs * config.submissions).await?);
    let attachment = Arc::new(random_block(config.attachment_bytes));
    let serial = Arc::new(AtomicUsize::new(0));
    // Warm-up, not measured: connections, caches, the first PDF.
    for _ in 0..WARM_UP {
        let n = serial.fetch_add(1, Ordering::Relaxed);
        submission(&api, &holders[n], n, &attachment).await?;
    }
    let mut last = None;
    if config.part("a") {
        for &clients in &config.clients {
            last = submissions(
                &api,
                &holders,
                clients,
                config.submissions,
                &attachment,
                &serial,
            )
            .await?
            .or(last);
        }
        server_log(&log);
        if let Some(id) = &last {
            in_process(&state, id, config.attachment_bytes).await?;
        }
    }
    server.abort();
    if config.part("b") {
        mail(&state, dir, config).await?;
    }
    state.db.clone().close().await?;
    Ok(())
}

/// A GraphQL client of the server under test.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    url: Arc<String>,
}

impl Api {
    /// Runs a query that must succeed; returns `data`.
    async fn ok(&self, token: &str, query: &str, variables: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(self.url.as_str())
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?;
        answer(response).await
    }

    /// `addAttachment` as a GraphQL multipart request, as the web page sends it.
    async fn upload(&self, token: &str, dossier: &str, bytes: &[u8]) -> anyhow::Result<Value> {
        let (content_type, body) = graphql_upload(
            UPLOAD,
            json!({ "id": dossier, "file": null, "label": "Devis des travaux" }),
            "devis.pdf",
            "application/pdf",
            bytes,
        );
        let response = self
            .client
            .post(self.url.as_str())
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await?;
        answer(response).await
    }
}

async fn answer(response: reqwest::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text().await?;
    let body: Value = serde_json::from_str(&text).map_err(|_| {
        anyhow::anyhow!(
            "HTTP {status}: {}",
            text.chars().take(300).collect::<String>()
        )
    })?;
    anyhow::ensure!(
        status.is_success() && body["errors"].is_null(),
        "HTTP {status}: {}",
        body["errors"]
    );
    Ok(body["data"].clone())
}

/// Serves the real router on a free loopback port; returns the `/graphql` address.
async fn serve(
    state: &AppState,
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

fn scheme_slug(funder: &str) -> String {
    format!("commerce-{funder}")
}

fn scheme_slugs() -> Vec<String> {
    FUNDERS.iter().map(|(f, ..)| scheme_slug(f)).collect()
}

/// An API token for a new account.
async fn token(
    state: &AppState,
    email: &str,
    role: catalog::Role,
    funder: Option<&str>,
) -> anyhow::Result<String> {
    catalog::account::add(&state.db, &catalog::Actor::Operator, email, role, funder).await?;
    Ok(catalog::account::issue_api_token(&state.db, email, None)
        .await?
        .1)
}

/// Five funders with one published scheme each (open to communes of Haute-Marne of at most
/// 3,500 inhabitants, 10-50 % of the cost, at most 80,000 €) and an agent each; `holders`
/// holder accounts, one per submission: a new dossier takes up the documents of its holder's
/// previous one, so a holder submitting hundreds would carry hundreds of attachments. Checks
/// that the dossier's plan passes `checkFinancingPlan`. Returns the holders' tokens.
async fn set_up(
    state: &AppState,
    api: &Api,
    holders: usize,
) -> anyhow::Result<Vec<(usize, String)>> {
    let staff = token(state, "equipe@guichet.test", catalog::Role::Staff, None).await?;
    for (funder, name, kind) in FUNDERS {
        let slug = scheme_slug(funder);
        let input = last_shop_scheme(&slug, (funder, name, kind));
        api.ok(
            &staff,
            "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
            json!({ "input": input }),
        )
        .await?;
        api.ok(
            &staff,
            "mutation($slug: String!) { publishScheme(slug: $slug) { status } }",
            json!({ "slug": slug }),
        )
        .await?;
        token(
            state,
            &format!("agent@{funder}.test"),
            catalog::Role::Funder,
            Some(funder),
        )
        .await?;
    }
    let plan = json!({
        "holderType": "COMMUNE", "totalCost": TOTAL_COST, "ownFunds": OWN_FUNDS,
        "lines": scheme_slugs().iter().map(|s| json!({ "schemeSlug": s, "amount": PER_FUNDER })).collect::<Vec<_>>()
    });
    let check = api.ok(&staff, CHECK_PLAN, json!({ "plan": plan })).await?;
    let check = &check["checkFinancingPlan"];
    anyhow::ensure!(
        check["balanced"] == true && check["violations"] == json!([]),
        "the benchmark's plan does not pass checkFinancingPlan: {check}"
    );
    println!(
        "dataset: 5 funders with one published scheme each (and the seed catalogue); a dossier of {TOTAL_COST} € for a commune, {OWN_FUNDS} € own funds, {PER_FUNDER} € from each funder (checkFinancingPlan: balanced, no violation; public share {}, own share {})",
        check["publicShare"], check["ownShare"]
    );
    let mut tokens = Vec::new();
    for i in 0..holders {
        tokens.push((
            i,
            token(state, &holder_email(i), catalog::Role::Holder, None).await?,
        ));
    }
    Ok(tokens)
}

fn holder_email(i: usize) -> String {
    format!("mairie{i}@commune-bench.test")
}

/// A complete dossier: Ageville (52001) reopens its café-épicerie.
fn complete_input(holder: usize) -> Value {
    json!({
        "holder": {
            "legalName": "Commune d'Ageville", "holderType": "COMMUNE",
            "siret": "215 202 699 00017", "communeCode": "52001",
            "representative": { "name": "Claire Martin", "role": "Maire",
                                "email": holder_email(holder), "phone": "03 25 00 00 00" }
        },
        "project": {
            "title": "Réouverture du café-épicerie",
            "description": "Le dernier café du village a fermé en 2024 ; la commune rachète les murs et rouvre un café-épicerie multiservice avec point poste, dépôt de pain et relais colis.",
            "themes": ["commerce", "revitalisation"], "communeCode": "52001",
            "startsOn": "2027-03-01", "endsOn": "2027-12-31"
        },
        "expenses": [ { "label": "Travaux de rénovation", "amount": 120000 },
                      { "label": "Équipement du café et de l'épicerie", "amount": 80000 } ],
        "financingPlan": {
            "ownFunds": OWN_FUNDS,
            "lines": scheme_slugs().iter().map(|s| json!({ "schemeSlug": s, "amount": PER_FUNDER })).collect::<Vec<_>>()
        },
        "certified": true
    })
}

/// Incompressible bytes (xorshift64*, fixed seed), like a scanned document.
fn random_block(size: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(size + 8);
    while bytes.len() < size {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

/// The attachment of submission `n`: a PDF header naming `n` (so that every file is new to
/// the store), then the random block, `block.len()` bytes in all.
fn attachment(n: usize, block: &[u8]) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.7\n% devis {n:08}\n").into_bytes();
    let rest = block.len().saturating_sub(bytes.len());
    bytes.extend_from_slice(&block[..rest]);
    bytes
}

/// One submission: create, upload, submit. Returns the dossier's id and the three steps' times.
async fn submission(
    api: &Api,
    (holder, token): &(usize, String),
    n: usize,
    block: &[u8],
) -> anyhow::Result<(String, [Duration; 3])> {
    let started = Instant::now();
    let data = api
        .ok(token, CREATE, json!({ "input": complete_input(*holder) }))
        .await?;
    let created = &data["createDossier"];
    anyhow::ensure!(
        created["status"] == "DRAFT" && created["missing"] == json!([]),
        "the dossier is not complete: {created}"
    );
    let id = created["id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no id: {created}"))?
        .to_owned();
    let create = started.elapsed();

    let file = attachment(n, block);
    let started = Instant::now();
    let data = api.upload(token, &id, &file).await?;
    anyhow::ensure!(
        data["addAttachment"]["size"] == json!(file.len()),
        "upload: {data}"
    );
    let upload = started.elapsed();

    let started = Instant::now();
    let data = api
        .ok(
            token,
            SUBMIT,
            json!({ "id": id, "slugs": scheme_slugs(), "key": format!("depot-bench-{id}") }),
        )
        .await?;
    let submitted = &data["submitDossier"];
    anyhow::ensure!(
        submitted["status"] == "SUBMITTED"
            && submitted["reviews"].as_array().map(Vec::len) == Some(FUNDERS.len()),
        "submit: {submitted}"
    );
    Ok((id, [create, upload, started.elapsed()]))
}

/// (a) `count` submissions by `clients` concurrent clients, each by a holder of its own (the
/// next of `holders`); returns the id of a submitted dossier.
async fn submissions(
    api: &Api,
    holders: &Arc<Vec<(usize, String)>>,
    clients: usize,
    count: usize,
    block: &Arc<Vec<u8>>,
    serial: &Arc<AtomicUsize>,
) -> anyhow::Result<Option<String>> {
    println!(
        "load average before (a) with {clients} clients: {}",
        load_average()
    );
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = cpu_time();
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (api, next, block, serial, holders) = (
                api.clone(),
                next.clone(),
                block.clone(),
                serial.clone(),
                holders.clone(),
            );
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut errors = Vec::new();
                let mut last = None;
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let n = serial.fetch_add(1, Ordering::Relaxed);
                    match submission(&api, &holders[n], n, &block).await {
                        Ok((id, steps)) => {
                            samples.push(steps);
                            last = Some(id);
                        }
                        Err(e) => errors.push(format!("{e:#}")),
                    }
                }
                (samples, errors, last)
            })
        })
        .collect();
    let (mut samples, mut errors, mut last) = (Vec::new(), Vec::new(), None);
    for task in tasks {
        let (s, e, l) = task.await?;
        samples.extend(s);
        errors.extend(e);
        last = l.or(last);
    }
    let elapsed = started.elapsed();
    let used = cpu_time().saturating_sub(cpu);
    let done = samples.len();
    let rate = done as f64 / elapsed.as_secs_f64();
    let prefix = format!("c{clients}");
    println!(
        "(a) {clients} clients: {done} submissions in {:.1} s, {rate:.1} submissions/s, {} errors; CPU {:.1} s ({:.0} ms per submission); load average after: {}",
        elapsed.as_secs_f64(),
        errors.len(),
        used.as_secs_f64(),
        ms(used) / done.max(1) as f64,
        load_average()
    );
    if let Some(first) = errors.first() {
        println!("    first error: {first}");
    }
    report(&format!("{prefix}_rate"), format!("{rate:.1}"));
    report(&format!("{prefix}_done"), done);
    report(&format!("{prefix}_errors"), errors.len());
    report(
        &format!("{prefix}_cpu_ms"),
        format!("{:.0}", ms(used) / done.max(1) as f64),
    );
    type Step = fn(&[Duration; 3]) -> Duration;
    let steps: [(&str, Step); 4] = [
        ("create", |s| s[0]),
        ("upload", |s| s[1]),
        ("submit", |s| s[2]),
        ("total", |s| s[0] + s[1] + s[2]),
    ];
    for (step, of) in steps {
        let mut times: Vec<Duration> = samples.iter().map(of).collect();
        times.sort();
        let (p50, p99) = (ms(percentile(&times, 0.5)), ms(percentile(&times, 0.99)));
        println!(
            "    {step}: p50 {p50:.1} ms, p99 {p99:.1} ms, max {:.1} ms",
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
        report(&format!("{prefix}_{step}_p50"), format!("{p50:.0}"));
        report(&format!("{prefix}_{step}_p99"), format!("{p99:.0}"));
    }
    Ok(last)
}

/// Prints how many warnings and errors the server logged, and the first few kinds.
fn server_log(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    report("server_errors", lines.len());
    if lines.is_empty() {
        return;
    }
    println!(
        "server log: {} warnings and errors, among them:",
        lines.len()
    );
    // Without the timestamp, each kind once.
    let mut kinds: Vec<&str> = Vec::new();
    for line in &lines {
        let kind = line.split_once(' ').map_or(*line, |(_, rest)| rest.trim());
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    for kind in kinds.iter().take(5) {
        println!("    {}", kind.chars().take(400).collect::<String>());
    }
}

/// Where a submission's time goes, in process: the dossier PDF (built inside `submitDossier`,
/// on the request's task) and the attachment store (one new file, synced, per upload and per
/// submission).
async fn in_process(state: &AppState, id: &str, attachment_bytes: usize) -> anyhow::Result<()> {
    let id: i64 = id.parse()?;
    let dossier = dossier::dossier::load(&state.db, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("dossier {id} not found"))?;
    let files = dossier::dossier::attachments(&state.db, id).await?;
    let funders: Vec<(String, i64)> = FUNDERS
        .iter()
        .map(|(_, name, _)| ((*name).to_owned(), PER_FUNDER))
        .collect();
    let mut size = 0;
    let pdf = median(
        (0..20)
            .map(|_| {
                let started = Instant::now();
                let pdf =
                    dossier::document::dossier_pdf(&dossier, &state.territories, &funders, &files);
                let elapsed = started.elapsed();
                size = pdf.len();
                elapsed
            })
            .collect(),
    );
    let block = random_block(attachment_bytes);
    let mut puts = Vec::new();
    for i in 0..10 {
        let bytes = attachment(usize::MAX - i, &block);
        let started = Instant::now();
        state.dossiers.blobs.put(bytes).await?;
        puts.push(started.elapsed());
    }
    let blob = median(puts);
    println!(
        "in process: dossier PDF {:.1} ms ({:.0} KiB, median of 20); storing a new {} KiB file {:.1} ms (median of 10)",
        ms(pdf),
        size as f64 / 1024.0,
        attachment_bytes / 1024,
        ms(blob)
    );
    report("pdf_ms", format!("{:.1}", ms(pdf)));
    report("pdf_kb", format!("{:.0}", size as f64 / 1024.0));
    report("blob_ms", format!("{:.1}", ms(blob)));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// (b) The mail worker
// ---------------------------------------------------------------------------------------------

async fn unsent(db: &impl ConnectionTrait) -> anyhow::Result<u64> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::SentAt.is_null())
        .count(db)
        .await?)
}

/// Runs the mail worker as `guichet serve` does until the outbox holds nothing to send;
/// returns the time from its start to the last message marked sent.
async fn drain(state: &AppState, transport: guichet::mail::Transport) -> anyhow::Result<Duration> {
    let pending = unsent(&state.db).await?;
    let wall = Utc::now();
    let started = Instant::now();
    let worker = guichet::mail::spawn_worker(
        state.db.clone(),
        transport,
        state.settings.mail_from.clone(),
        state.dossiers.blobs.clone(),
        Arc::new(tokio::sync::Notify::new()),
    );
    let result = async {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if unsent(&state.db).await? == 0 {
                break;
            }
            let failed = outbox::Entity::find()
                .filter(outbox::Column::Attempts.gt(0))
                .count(&state.db)
                .await?;
            anyhow::ensure!(failed == 0, "{failed} messages failed to send");
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(1800),
                "the worker did not send {pending} messages in 30 minutes"
            );
        }
        let sent: Vec<Option<DateTime<Utc>>> = outbox::Entity::find()
            .select_only()
            .column(outbox::Column::SentAt)
            .into_tuple()
            .all(&state.db)
            .await?;
        let last = sent
            .into_iter()
            .flatten()
            .max()
            .ok_or_else(|| anyhow::anyhow!("nothing was sent"))?;
        Ok((last - wall).to_std().unwrap_or_default())
    }
    .await;
    worker.abort();
    result
}

/// Marks the messages up to `last` unsent again, for the next transport.
async fn reset(db: &impl ConnectionTrait, last: i64) -> anyhow::Result<()> {
    outbox::Entity::update_many()
        .col_expr(
            outbox::Column::SentAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(outbox::Column::Attempts, Expr::value(0i32))
        .filter(outbox::Column::Id.lte(last))
        .exec(db)
        .await?;
    Ok(())
}

/// An aiosmtpd server writing every message into a Maildir; stopped when dropped.
struct SmtpServer(Child);

impl SmtpServer {
    fn start(python: &str, port: u16, maildir: &Path) -> anyhow::Result<SmtpServer> {
        let child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = SmtpServer(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (b) Every message the submissions queued, sent by the worker to aiosmtpd, then again
/// into `.eml` files.
async fn mail(state: &AppState, dir: &Path, config: &Config) -> anyhow::Result<()> {
    // The oldest `config.mail` messages; the others are set aside (marked sent when queued).
    let ids: Vec<i64> = outbox::Entity::find()
        .select_only()
        .column(outbox::Column::Id)
        .filter(outbox::Column::SentAt.is_null())
        .order_by_asc(outbox::Column::Id)
        .into_tuple()
        .all(&state.db)
        .await?;
    anyhow::ensure!(!ids.is_empty(), "nothing to send");
    let kept = ids.len().min(config.mail);
    let last = ids[kept - 1];
    outbox::Entity::update_many()
        .col_expr(outbox::Column::SentAt, Expr::col(outbox::Column::CreatedAt))
        .filter(outbox::Column::Id.gt(last))
        .exec(&state.db)
        .await?;
    let pending = unsent(&state.db).await?;
    let with_pdf = outbox::Entity::find()
        .filter(outbox::Column::SentAt.is_null())
        .filter(outbox::Column::Attachments.is_not_null())
        .count(&state.db)
        .await?;
    println!(
        "(b) {pending} messages of the {} queued, {with_pdf} with the dossier PDF attached",
        ids.len()
    );
    report("mail_messages", pending);
    report("mail_with_pdf", with_pdf);
    let rate = |elapsed: Duration| pending as f64 / elapsed.as_secs_f64();
    if let Some(python) = &config.python {
        let port = free_port()?;
        let maildir = dir.join("maildir");
        let _server = SmtpServer::start(python, port, &maildir)?;
        let url = format!("smtp://127.0.0.1:{port}");
        let transport =
            guichet::mail::Transport::from_settings(Some(url.as_str()), dir.join("unused-mail"))?;
        println!("load average before (b) SMTP: {}", load_average());
        let elapsed = drain(state, transport).await?;
        let delivered = files_in(&maildir.join("new")).len() as u64;
        anyhow::ensure!(
            delivered == pending,
            "aiosmtpd received {delivered} messages of {pending}"
        );
        println!(
            "(b) worker to aiosmtpd on 127.0.0.1: {pending} messages in {:.1} s, {:.0} messages/s",
            elapsed.as_secs_f64(),
            rate(elapsed)
        );
        report("smtp_rate", format!("{:.0}", rate(elapsed)));
        report("smtp_seconds", format!("{:.1}", elapsed.as_secs_f64()));
        reset(&state.db, last).await?;
    }
    let mail_dir = dir.join("mail");
    let transport = guichet::mail::Transport::from_settings(None, mail_dir.clone())?;
    println!("load average before (b) files: {}", load_average());
    let elapsed = drain(state, transport).await?;
    let files = files_in(&mail_dir);
    anyhow::ensure!(
        files.len() as u64 == pending,
        "{} .eml files for {pending} messages",
        files.len()
    );
    let bytes: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let average = bytes as f64 / pending as f64 / 1024.0;
    println!(
        "(b) worker to .eml files: {pending} messages in {:.1} s, {:.0} messages/s; {average:.0} KiB per message on average",
        elapsed.as_secs_f64(),
        rate(elapsed)
    );
    report("eml_rate", format!("{:.0}", rate(elapsed)));
    report("eml_seconds", format!("{:.1}", elapsed.as_secs_f64()));
    report("mail_kb", format!("{average:.0}"));
    Ok(())
}
