//! Sustained load test: the real journey mix against the real `guichet serve` binary (release
//! build) for minutes, at a fixed arrival rate, with every answer checked and the server's
//! memory sampled.
//!
//! Run it with `scripts/bench-load` (release build; `--postgres` runs it on a throwaway
//! PostgreSQL 15 instead of SQLite), or `cargo bench --bench load`. Settings, from the
//! environment:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `GUICHET_BENCH_RATE` | `100` | journeys started per second (open loop: a fixed schedule) |
//! | `GUICHET_BENCH_DURATION` | `300` | measured seconds, after the warm-up |
//! | `GUICHET_BENCH_WARMUP` | `30` | seconds of the same load first, not measured |
//! | `GUICHET_BENCH_HOLDERS` | `100` | holder accounts |
//! | `GUICHET_BENCH_DATABASE` | `sqlite` | `sqlite`, or `postgres` (needs the next one) |
//! | `GUICHET_BENCH_POSTGRES_URL` | unset | a PostgreSQL server; the benchmark creates its own database there and drops it at the end |
//! | `GUICHET_BENCH_SERVER` | this build's `guichet` | another `guichet` binary to serve |
//!
//! The mix, per 100 journeys (the order shuffled in each block of 100):
//! - 55 searches (`searchSchemes` as the web page sends it: first 20, facets, highlights), 80 %
//!   anonymous, 20 % by a logged-in holder; texts from `queries.txt`, with their own territory
//!   filter, another commune, département or région, browsing without text by territory and
//!   theme, a beneficiary filter or the closing-soon sort; the answer cache on, as served;
//! - 15 eligibility checks (`matchProject`, anonymous) of 96 project descriptions;
//! - 15 dossier reads: a holder's dossier (`dossier(id)`, the web page's fields, reviews
//!   included) or their list, a funder agent's inbox (`dossiers`) or one dossier of it;
//! - 10 submissions: `createDossier` (a complete dossier to two of five funders), for one in
//!   three a 32 KiB attachment (`addAttachment`, GraphQL multipart), `submitDossier`;
//! - 5 decisions: an agent of a funder decides its oldest pending review (`decide`, granted
//!   or refused).
//!
//! Open loop: journey `i` is due at `i / rate` seconds, is started then whatever the others are
//! doing, and its latency runs from that due time to its last answer (so a server that falls
//! behind shows in the latency rather than slowing the clients down: no coordinated omission).
//! Every answer must be HTTP 200 without GraphQL `errors`, with the expected content; any error
//! makes the benchmark exit non-zero. The server's resident memory (`VmRSS`) is read every 5 s.
//!
//! The server is `guichet serve` itself (`CARGO_BIN_EXE_guichet`, release), on a fresh data
//! directory: migrations, territories and the 44-scheme seed at start, as in production; mail
//! goes to `.eml` files (no `SMTP_URL`). The benchmark then connects to the same database to
//! create the accounts and their API tokens (as `guichet user add` and `guichet token issue`
//! do), and creates and publishes the five funders' schemes over HTTP as staff.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use catalog::TerritoryKind;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::time::Instant;

#[path = "support/measure.rs"]
mod measure;
#[path = "support/multipart.rs"]
mod multipart;
#[path = "support/queries.rs"]
mod queries;
#[path = "support/schemes.rs"]
mod schemes;
use measure::{cpu_time, load_average, ms, percentile};
use multipart::graphql_upload;
use queries::{Query, SEARCH_QUERY, queries};
use schemes::last_shop_scheme;

/// The five funders: (slug, name, kind). Each has one scheme, `commerce-<slug>`.
const FUNDERS: [(&str, &str, &str); 5] = [
    (
        "charge-etat",
        "Préfecture de la Haute-Marne (DETR)",
        "STATE",
    ),
    ("charge-region", "Région Grand Est", "REGION"),
    (
        "charge-departement",
        "Département de la Haute-Marne",
        "DEPARTMENT",
    ),
    (
        "charge-cc",
        "Communauté de communes des Savoir-Faire",
        "INTERCOMMUNALITY",
    ),
    ("charge-caf", "CAF de la Haute-Marne", "SOCIAL_SECURITY"),
];

/// Agents per funder.
const AGENTS: usize = 2;

/// A dossier's money: 100,000 € of expenses, 40,000 € own funds, 30,000 € from each of two
/// funders (30 % of the cost, within every scheme's 10-50 % and 80,000 €).
const OWN_FUNDS: i64 = 40_000;
const PER_FUNDER: i64 = 30_000;

/// Size of the attachment of one submission in three.
const ATTACHMENT_BYTES: usize = 32 * 1024;

/// How often the server's memory is read.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Journeys in flight beyond which a due journey is not started but counted as an error
/// (the server is hopelessly behind; the client would only pile up connections).
const MAX_IN_FLIGHT: usize = 2_000;

const MATCH: &str = "query($project: ProjectInput!) { matchProject(project: $project) {
  eligibleCount toCheckCount
  matches { verdict score scheme { slug title funders { name } }
            criteria { code status message } estimatedAmount { min max } } } }";

/// The fields of the web page of a dossier (web/dossier-ui.js).
const DOSSIER: &str = "query Dossier($id: ID!) { dossier(id: $id) {
  id reference status statusLabel certified schemeSlugs pdfUrl createdAt updatedAt submittedAt withdrawnReason
  holder { legalName holderType siret rna communeCode communeName representative { name role email phone } }
  project { title description themes communeCode communeName startsOn endsOn }
  budget { totalCost expenses { label amount } }
  financingPlan {
    ownFunds previousDeMinimis
    lines { schemeSlug funderName amount public }
    check { balanced publicShare ownShare violations { code message line } }
  }
  attachments { id label filename contentType size uploadedAt url }
  reviews {
    id status statusLabel decision amount motivation decidedAt requestedAmount schemeSlugs
    funder { slug name }
  }
  informationRequests { id question askedAt answer answeredAt funder { slug name } }
  events { at actor action detail }
  missing { field message }
  notes { id text author at funder { slug name } }
} }";

/// « Mes dossiers » (web/dossier.js).
const MY_DOSSIERS: &str = "query MyDossiers($first: Int!, $after: String) {
  dossiers(first: $first, after: $after, sort: UPDATED_DESC) {
    total
    nodes { id reference status statusLabel updatedAt submittedAt project { title } budget { totalCost }
            reviews { status decision funder { name } } }
    pageInfo { endCursor hasNextPage }
  }
}";

/// A funder agent's inbox (web/instruction.js).
const INBOX: &str =
    "query Inbox($first: Int!, $after: String, $status: [DossierStatus!], $sort: DossierSort!) {
  dossiers(first: $first, after: $after, status: $status, sort: $sort) {
    total
    nodes {
      id reference status statusLabel submittedAt updatedAt
      holder { legalName communeName communeCode }
      project { title communeName }
      budget { totalCost }
      reviews { id status statusLabel decision amount requestedAmount funder { slug name } }
      informationRequests { answer }
    }
    pageInfo { endCursor hasNextPage }
  }
}";

const CREATE: &str = "mutation($input: DossierInput!) {
  createDossier(input: $input) { id status missing { field } } }";

const UPLOAD: &str = "mutation($id: ID!, $file: Upload!, $label: String!) {
  addAttachment(dossierId: $id, file: $file, label: $label) { id size contentType sha256 } }";

const SUBMIT: &str = "mutation($id: ID!, $slugs: [String!]!, $key: String!) {
  submitDossier(id: $id, schemeSlugs: $slugs, idempotencyKey: $key) {
    id reference status reviews { id funder { slug } status requestedAmount } } }";

const DECIDE: &str =
    "mutation($id: ID!, $decision: Decision!, $amount: Int, $motivation: String!) {
  decide(reviewId: $id, decision: $decision, amount: $amount, motivation: $motivation) {
    status decision amount } }";

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

struct Config {
    rate: f64,
    duration: u64,
    warmup: u64,
    holders: usize,
    postgres: Option<String>,
}

impl Config {
    fn from_env() -> anyhow::Result<Config> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let number = |name: &str, default: f64| -> anyhow::Result<f64> {
            env(name).map_or(Ok(default), |v| {
                v.trim()
                    .replace('_', "")
                    .parse::<f64>()
                    .map_err(|_| anyhow::anyhow!("{name}: not a number: {v}"))
            })
        };
        let rate = number("GUICHET_BENCH_RATE", 100.0)?;
        anyhow::ensure!(
            rate > 0.0 && rate <= 10_000.0,
            "GUICHET_BENCH_RATE: 0 to 10,000"
        );
        let postgres = match env("GUICHET_BENCH_DATABASE").as_deref() {
            None | Some("sqlite") => None,
            Some("postgres") => Some(env("GUICHET_BENCH_POSTGRES_URL").ok_or_else(|| {
                anyhow::anyhow!("GUICHET_BENCH_DATABASE=postgres needs GUICHET_BENCH_POSTGRES_URL")
            })?),
            Some(other) => anyhow::bail!("GUICHET_BENCH_DATABASE: sqlite or postgres, not {other}"),
        };
        Ok(Config {
            rate,
            duration: number("GUICHET_BENCH_DURATION", 300.0)?.max(1.0) as u64,
            warmup: number("GUICHET_BENCH_WARMUP", 30.0)?.max(0.0) as u64,
            holders: number("GUICHET_BENCH_HOLDERS", 100.0)?.max(1.0) as usize,
            postgres,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The journeys
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Search,
    Match,
    Read,
    Submit,
    Decide,
}

/// Journeys of each kind per 100.
const MIX: [(Kind, usize); 5] = [
    (Kind::Search, 55),
    (Kind::Match, 15),
    (Kind::Read, 15),
    (Kind::Submit, 10),
    (Kind::Decide, 5),
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Search => "search (searchSchemes)",
            Kind::Match => "eligibility (matchProject)",
            Kind::Read => "dossier read",
            Kind::Submit => "submission (create, 1/3 upload, submit)",
            Kind::Decide => "decision (decide)",
        }
    }
}

/// What went wrong with a journey, by class ("HTTP 500", "GraphQL INTERNAL", "timeout"…).
#[derive(Debug)]
struct Failure {
    class: String,
    detail: String,
}

impl Failure {
    fn new(class: impl Into<String>, detail: impl Into<String>) -> Failure {
        Failure {
            class: class.into(),
            detail: detail.into(),
        }
    }
}

type Outcome<T> = Result<T, Failure>;

fn check(ok: bool, what: &str, data: &Value) -> Outcome<()> {
    if ok {
        Ok(())
    } else {
        Err(Failure::new(
            format!("unexpected answer: {what}"),
            data.to_string().chars().take(300).collect::<String>(),
        ))
    }
}

/// A GraphQL client of the server under test; counts its HTTP requests.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    url: Arc<String>,
    requests: Arc<AtomicU64>,
}

impl Api {
    async fn post(
        &self,
        token: Option<&str>,
        content_type: String,
        body: Vec<u8>,
    ) -> Outcome<Value> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .client
            .post(self.url.as_str())
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let text = response.text().await.map_err(transport)?;
        let body: Value = serde_json::from_str(&text).map_err(|_| {
            Failure::new(
                format!("HTTP {}", status.as_u16()),
                text.chars().take(300).collect::<String>(),
            )
        })?;
        if !status.is_success() {
            return Err(Failure::new(
                format!("HTTP {}", status.as_u16()),
                body.to_string().chars().take(300).collect::<String>(),
            ));
        }
        if !body["errors"].is_null() {
            let code = body["errors"][0]["extensions"]["code"]
                .as_str()
                .unwrap_or("no code");
            return Err(Failure::new(
                format!("GraphQL {code}"),
                body["errors"]
                    .to_string()
                    .chars()
                    .take(300)
                    .collect::<String>(),
            ));
        }
        Ok(body["data"].clone())
    }

    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Outcome<Value> {
        let body = json!({ "query": query, "variables": variables }).to_string();
        self.post(token, "application/json".into(), body.into_bytes())
            .await
    }

    /// `addAttachment` as a GraphQL multipart request, as the web page sends it.
    async fn upload(&self, token: &str, dossier: &str, bytes: &[u8]) -> Outcome<Value> {
        let (content_type, body) = graphql_upload(
            UPLOAD,
            json!({ "id": dossier, "file": null, "label": "Devis des travaux" }),
            "devis.pdf",
            "application/pdf",
            bytes,
        );
        self.post(Some(token), content_type, body).await
    }
}

fn transport(e: reqwest::Error) -> Failure {
    let class = if e.is_timeout() {
        "timeout (30 s)"
    } else if e.is_connect() {
        "connection refused or reset"
    } else {
        "transport"
    };
    Failure::new(class, format!("{e:#}"))
}

struct Holder {
    email: String,
    token: String,
    /// Its submitted dossiers, oldest first.
    dossiers: Mutex<Vec<String>>,
}

/// A review waiting for its funder's decision.
struct Pending {
    review: String,
    requested: i64,
}

/// Everything the journeys share.
struct World {
    api: Api,
    holders: Vec<Holder>,
    /// Per funder: its agents' tokens.
    agents: Vec<Vec<String>>,
    /// Per funder: the reviews waiting for a decision, oldest first.
    pending: Vec<Mutex<VecDeque<Pending>>>,
    /// Per funder: the dossiers it received lately.
    received: Vec<Mutex<VecDeque<String>>>,
    projects: Vec<Value>,
    block: Vec<u8>,
    submissions: AtomicUsize,
}

/// A journey as the schedule draws it.
enum Journey {
    /// Variables, whether a holder asks (else anonymous), whether the answer cache should
    /// have it (an estimate: a first-in first-out cache of the server's size).
    Search(Value, bool, bool),
    Match,
    Read,
    Submit,
    Decide,
}

impl Journey {
    fn kind(&self) -> Kind {
        match self {
            Journey::Search(..) => Kind::Search,
            Journey::Match => Kind::Match,
            Journey::Read => Kind::Read,
            Journey::Submit => Kind::Submit,
            Journey::Decide => Kind::Decide,
        }
    }
}

async fn run_journey(world: &World, journey: &Journey, seed: u64) -> Outcome<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    match journey {
        Journey::Search(variables, as_holder, _) => {
            let token = as_holder.then(|| {
                world.holders[rng.random_range(0..world.holders.len())]
                    .token
                    .as_str()
            });
            let data = world
                .api
                .gql(token, SEARCH_QUERY, variables.clone())
                .await?;
            check(
                data["searchSchemes"]["total"].is_u64() && data["searchSchemes"]["hits"].is_array(),
                "searchSchemes",
                &data,
            )
        }
        Journey::Match => {
            let project = world.projects.choose(&mut rng).expect("projects").clone();
            let data = world
                .api
                .gql(None, MATCH, json!({ "project": project }))
                .await?;
            check(
                data["matchProject"]["matches"].is_array(),
                "matchProject",
                &data,
            )
        }
        Journey::Read => read(world, &mut rng).await,
        Journey::Submit => {
            let n = world.submissions.fetch_add(1, Ordering::Relaxed);
            let holder = rng.random_range(0..world.holders.len());
            submit(world, holder, n, n.is_multiple_of(3)).await
        }
        Journey::Decide => decide(world, &mut rng).await,
    }
}

async fn read(world: &World, rng: &mut StdRng) -> Outcome<()> {
    let api = &world.api;
    let which = rng.random_range(0..15);
    if which < 9 {
        let holder = &world.holders[rng.random_range(0..world.holders.len())];
        if which < 6 {
            // The holder's latest dossier, or one of the others.
            let id = {
                let dossiers = holder.dossiers.lock().unwrap_or_else(|e| e.into_inner());
                if rng.random_bool(0.5) {
                    dossiers.last().cloned()
                } else {
                    dossiers.choose(rng).cloned()
                }
            };
            let Some(id) = id else {
                return Err(Failure::new("harness: a holder without dossier", ""));
            };
            let data = api
                .gql(Some(&holder.token), DOSSIER, json!({ "id": id }))
                .await?;
            check(
                data["dossier"]["id"] == json!(id) && data["dossier"]["reviews"].is_array(),
                "dossier(id) for its holder",
                &data,
            )
        } else {
            let data = api
                .gql(Some(&holder.token), MY_DOSSIERS, json!({ "first": 20 }))
                .await?;
            check(
                data["dossiers"]["total"].as_u64().is_some_and(|t| t > 0),
                "dossiers for a holder",
                &data,
            )
        }
    } else {
        let funder = rng.random_range(0..FUNDERS.len());
        let token = world.agents[funder].choose(rng).expect("agents").as_str();
        if which < 12 {
            let status = if rng.random_bool(0.5) {
                json!(["SUBMITTED", "IN_REVIEW", "INFO_REQUESTED"])
            } else {
                Value::Null
            };
            let data = api
                .gql(
                    Some(token),
                    INBOX,
                    json!({ "first": 20, "status": status, "sort": "SUBMITTED_DESC" }),
                )
                .await?;
            check(
                data["dossiers"]["total"].as_u64().is_some_and(|t| t > 0),
                "an agent's inbox",
                &data,
            )
        } else {
            let id = {
                let received = world.received[funder]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                received
                    .get(rng.random_range(0..received.len().max(1)))
                    .cloned()
            };
            let Some(id) = id else {
                return Err(Failure::new("harness: a funder without dossier", ""));
            };
            let data = api.gql(Some(token), DOSSIER, json!({ "id": id })).await?;
            check(
                data["dossier"]["id"] == json!(id),
                "dossier(id) for an agent",
                &data,
            )
        }
    }
}

fn scheme_slug(funder: usize) -> String {
    format!("commerce-{}", FUNDERS[funder].0)
}

/// The two funders of submission `n`: every pair in turn.
fn funders_of(n: usize) -> [usize; 2] {
    let first = n % FUNDERS.len();
    let second = (first + 1 + (n / FUNDERS.len()) % (FUNDERS.len() - 1)) % FUNDERS.len();
    [first, second]
}

/// A complete dossier: Ageville (52001) reopens its café-épicerie, with two funders.
fn dossier_input(email: &str, funders: [usize; 2]) -> Value {
    json!({
        "holder": {
            "legalName": "Commune d'Ageville", "holderType": "COMMUNE",
            "siret": "215 202 699 00017", "communeCode": "52001",
            "representative": { "name": "Claire Martin", "role": "Maire",
                                "email": email, "phone": "03 25 00 00 00" }
        },
        "project": {
            "title": "Réouverture du café-épicerie",
            "description": "Le dernier café du village a fermé en 2024 ; la commune rachète les murs et rouvre un café-épicerie multiservice avec point poste, dépôt de pain et relais colis.",
            "themes": ["commerce", "revitalisation"], "communeCode": "52001",
            "startsOn": "2027-03-01", "endsOn": "2027-12-31"
        },
        "expenses": [ { "label": "Travaux de rénovation", "amount": 60000 },
                      { "label": "Équipement du café et de l'épicerie", "amount": 40000 } ],
        "financingPlan": {
            "ownFunds": OWN_FUNDS,
            "lines": funders.iter().map(|&f| json!({ "schemeSlug": scheme_slug(f), "amount": PER_FUNDER })).collect::<Vec<_>>()
        },
        "certified": true
    })
}

/// The attachment of submission `n`: a PDF header naming `n` (every file new to the store),
/// then random bytes.
fn attachment(n: usize, block: &[u8]) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.7\n% devis {n:08}\n").into_bytes();
    let rest = block.len().saturating_sub(bytes.len());
    bytes.extend_from_slice(&block[..rest]);
    bytes
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

/// Submission `n` by `holder`: create, perhaps upload, submit to two funders; the reviews
/// join their funders' queues.
async fn submit(world: &World, holder: usize, n: usize, upload: bool) -> Outcome<()> {
    let api = &world.api;
    let holder = &world.holders[holder];
    let funders = funders_of(n);
    let data = api
        .gql(
            Some(&holder.token),
            CREATE,
            json!({ "input": dossier_input(&holder.email, funders) }),
        )
        .await?;
    let created = &data["createDossier"];
    check(
        created["status"] == "DRAFT" && created["missing"] == json!([]),
        "createDossier",
        &data,
    )?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    if upload {
        let file = attachment(n, &world.block);
        let data = api.upload(&holder.token, &id, &file).await?;
        check(
            data["addAttachment"]["size"] == json!(file.len()),
            "addAttachment",
            &data,
        )?;
    }
    let slugs: Vec<String> = funders.iter().map(|&f| scheme_slug(f)).collect();
    let data = api
        .gql(
            Some(&holder.token),
            SUBMIT,
            json!({ "id": id, "slugs": slugs, "key": format!("depot-charge-{id}") }),
        )
        .await?;
    let submitted = &data["submitDossier"];
    let reviews = submitted["reviews"].as_array().cloned().unwrap_or_default();
    check(
        submitted["status"] == "SUBMITTED" && reviews.len() == 2,
        "submitDossier",
        &data,
    )?;
    for review in &reviews {
        let slug = review["funder"]["slug"].as_str().unwrap_or_default();
        let Some(f) = FUNDERS.iter().position(|(s, ..)| *s == slug) else {
            return Err(Failure::new(
                "unexpected answer: submitDossier funder",
                slug.to_owned(),
            ));
        };
        world.pending[f]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(Pending {
                review: review["id"].as_str().unwrap_or_default().to_owned(),
                requested: review["requestedAmount"].as_i64().unwrap_or(PER_FUNDER),
            });
        let mut received = world.received[f].lock().unwrap_or_else(|e| e.into_inner());
        received.push_back(id.clone());
        if received.len() > 200 {
            received.pop_front();
        }
    }
    holder
        .dossiers
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(id);
    Ok(())
}

/// An agent decides the oldest pending review of its funder (another funder's when its own
/// has none).
async fn decide(world: &World, rng: &mut StdRng) -> Outcome<()> {
    let first = rng.random_range(0..FUNDERS.len());
    let mut found = None;
    for k in 0..FUNDERS.len() {
        let f = (first + k) % FUNDERS.len();
        let next = world.pending[f]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front();
        if let Some(p) = next {
            found = Some((f, p));
            break;
        }
    }
    let Some((funder, pending)) = found else {
        return Err(Failure::new("harness: no review to decide", ""));
    };
    let token = world.agents[funder].choose(rng).expect("agents");
    let variables = if rng.random_range(0..3) == 0 {
        json!({ "id": pending.review, "decision": "REFUSED", "amount": null,
                "motivation": "Le projet ne relève pas des priorités de l'appel cette année." })
    } else {
        json!({ "id": pending.review, "decision": "GRANTED", "amount": pending.requested,
                "motivation": "Projet conforme aux critères du dispositif ; montant demandé accordé." })
    };
    let data = world.api.gql(Some(token), DECIDE, variables).await?;
    check(data["decide"]["status"] == "DECIDED", "decide", &data)
}

// ---------------------------------------------------------------------------------------------
// What the schedule draws
// ---------------------------------------------------------------------------------------------

const DEPARTMENTS: [&str; 16] = [
    "52", "48", "15", "25", "29", "63", "2A", "01", "88", "10", "55", "21", "87", "64", "971", "24",
];
const REGIONS: [&str; 5] = [
    "REGION:44",
    "REGION:84",
    "REGION:76",
    "REGION:53",
    "REGION:27",
];
const THEMES: [&str; 8] = [
    "commerce",
    "sante",
    "enfance-jeunesse",
    "patrimoine-tourisme",
    "energie-climat",
    "mobilite",
    "tiers-lieux",
    "revitalisation",
];

/// What searches and eligibility checks draw from.
struct Draws {
    queries: Vec<Query>,
    /// Communes across France, départements, régions.
    places: Vec<String>,
}

impl Draws {
    fn new(communes: &[String]) -> Draws {
        let mut places: Vec<String> = communes.iter().take(60).cloned().collect();
        places.extend(DEPARTMENTS.iter().map(|d| (*d).to_owned()));
        places.extend(REGIONS.iter().map(|r| (*r).to_owned()));
        Draws {
            queries: queries(),
            places,
        }
    }

    /// The variables of a search, as people search: the listed queries as they are (with
    /// their territory), the same texts elsewhere, browsing by place and theme without text,
    /// a beneficiary filter, the closing-soon sort.
    fn search(&self, rng: &mut StdRng) -> Value {
        let q = self.queries.choose(rng).expect("queries");
        let place = self.places.choose(rng).expect("places").clone();
        let (text, filter, sort) = match rng.random_range(0..100) {
            0..40 => (
                Some(q.text.clone()),
                q.territory.as_ref().map(|t| json!({ "territory": t })),
                "RELEVANCE",
            ),
            40..65 => (
                Some(q.text.clone()),
                Some(json!({ "territory": place })),
                "RELEVANCE",
            ),
            65..80 => (
                None,
                Some(json!({ "territory": place, "themes": [THEMES.choose(rng)] })),
                "CLOSING_SOON",
            ),
            80..90 => (
                Some(q.text.clone()),
                Some(json!({
                    "territory": DEPARTMENTS.choose(rng),
                    "beneficiaryTypes": ["COMMUNE"],
                })),
                "RELEVANCE",
            ),
            _ => (Some(q.text.clone()), None, "CLOSING_SOON"),
        };
        json!({
            "text": text, "filter": filter, "sort": sort,
            "first": 20, "after": null, "withFacets": true,
        })
    }
}

/// Project descriptions for `matchProject`: holders of four kinds, communes across France
/// (one in four in Haute-Marne, where the benchmark's schemes are), one theme and a sentence,
/// a cost for four in five.
fn projects(communes: &[String], haute_marne: &[String]) -> Vec<Value> {
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
    (0..96)
        .map(|i| {
            let (theme, text) = needs[i % needs.len()];
            let commune = if i % 4 == 0 {
                &haute_marne[i % haute_marne.len()]
            } else {
                &communes[i % communes.len()]
            };
            json!({
                "holderType": holders[i % holders.len()],
                "communeCode": commune,
                "themes": [theme],
                "text": text,
                "totalCost": (i % 5 != 0).then_some(20_000 + (i as i64 * 37_000) % 900_000),
            })
        })
        .collect()
}

/// The server's answer cache as a model: first in, first out, `capacity` answers.
struct CacheModel {
    capacity: usize,
    keys: HashSet<String>,
    order: VecDeque<String>,
}

impl CacheModel {
    /// Whether the answer to `key` would be kept; keeps it.
    fn touch(&mut self, key: String) -> bool {
        if self.capacity == 0 {
            return false;
        }
        if self.keys.contains(&key) {
            return true;
        }
        self.keys.insert(key.clone());
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        false
    }
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// `guichet serve` in a child process; stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, database_url: Option<&str>) -> anyhow::Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = dir.join("server.log");
        let file = std::fs::File::create(&log)?;
        let binary = std::env::var_os("GUICHET_BENCH_SERVER").map_or_else(
            || PathBuf::from(env!("CARGO_BIN_EXE_guichet")),
            PathBuf::from,
        );
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("GUICHET_DATA_DIR", dir)
            // As deployed: the binary sets its own allocator tunables, the answer cache and
            // the log level are the defaults, mail goes to files.
            .env_remove("GLIBC_TUNABLES")
            .env_remove("GUICHET_SEARCH_CACHE")
            .env_remove("GUICHET_LOG")
            .env_remove("RUST_LOG")
            .env_remove("GUICHET_LISTEN")
            .env_remove("GUICHET_PUBLIC_URL")
            .env_remove("SMTP_URL")
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file);
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let child = command.spawn()?;
        Ok(Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self, client: &reqwest::Client) -> anyhow::Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("guichet serve exited ({status}):\n{}", tail(&self.log, 30));
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(180),
                "guichet serve not ready after 180 s:\n{}",
                tail(&self.log, 30)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A field of `/proc/<pid>/status`, in MiB.
    fn memory(&self, field: &str) -> Option<f64> {
        status_mib(self.pid(), field)
    }

    /// CPU time of the server so far (user + system).
    fn cpu(&self) -> Duration {
        measure::cpu_time_of(&self.pid().to_string())
    }

    /// Stops the server as an operator would (SIGTERM), within 30 s, else kills it.
    fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        self.child.wait().ok();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A field of `/proc/<pid>/status` (`VmRSS:`, `RssAnon:`…), in MiB.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn dir_size(path: &Path) -> (u64, usize) {
    let mut total = (0, 0);
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                let (bytes, files) = dir_size(&p);
                total.0 += bytes;
                total.1 += files;
            } else if let Ok(m) = entry.metadata() {
                total.0 += m.len();
                total.1 += 1;
            }
        }
    }
    total
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// What the data directory holds: the SQLite files, the attachment store, the mail.
fn disk(dir: &Path) -> String {
    let sqlite: u64 = ["guichet.db", "guichet.db-wal", "guichet.db-shm"]
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join(f)).ok())
        .map(|m| m.len())
        .sum();
    let (blobs, blob_files) = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .filter(|e| !matches!(e.file_name().to_str(), Some("mail" | "index")))
                .map(|e| dir_size(&e.path()))
                .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
        })
        .unwrap_or((0, 0));
    let (mail, mails) = dir_size(&dir.join("mail"));
    let mut out = String::new();
    if sqlite > 0 {
        out.push_str(&format!("SQLite {:.1} MiB, ", mib(sqlite)));
    }
    out.push_str(&format!(
        "attachment store {:.1} MiB ({blob_files} files), mail {:.1} MiB ({mails} .eml)",
        mib(blobs),
        mib(mail)
    ));
    out
}

/// Some lines of the server's `/metrics` (loopback may read it).
async fn metrics(client: &reqwest::Client, base: &str, names: &[&str]) -> Vec<String> {
    let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
        return vec!["/metrics: no answer".into()];
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| names.iter().any(|n| l.starts_with(n)))
        .map(str::to_owned)
        .collect()
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

// ---------------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------------

async fn token(
    db: &impl ConnectionTrait,
    email: &str,
    role: catalog::Role,
    funder: Option<&str>,
) -> anyhow::Result<String> {
    catalog::account::add(db, &catalog::Actor::Operator, email, role, funder).await?;
    Ok(catalog::account::issue_api_token(db, email, None).await?.1)
}

/// The five funders' schemes (open to communes of Haute-Marne of at most 3,500 inhabitants),
/// their agents, the holders; then one dossier per holder (with an attachment) so that every
/// holder and funder has something to read and decide.
async fn set_up(
    api: &Api,
    database_url: &str,
    config: &Config,
    communes: &[String],
    haute_marne: &[String],
) -> anyhow::Result<World> {
    let db = catalog::db::connect(database_url).await?;
    let staff = token(&db, "equipe@guichet.test", catalog::Role::Staff, None).await?;
    let fail = |e: Failure| anyhow::anyhow!("{}: {}", e.class, e.detail);
    for (f, funder) in FUNDERS.iter().enumerate() {
        let slug = scheme_slug(f);
        let input = last_shop_scheme(&slug, *funder);
        api.gql(
            Some(&staff),
            "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
            json!({ "input": input }),
        )
        .await
        .map_err(fail)?;
        api.gql(
            Some(&staff),
            "mutation($slug: String!) { publishScheme(slug: $slug) { status } }",
            json!({ "slug": slug }),
        )
        .await
        .map_err(fail)?;
    }
    let mut agents = Vec::new();
    for (funder, ..) in FUNDERS {
        let mut tokens = Vec::new();
        for a in 0..AGENTS {
            tokens.push(
                token(
                    &db,
                    &format!("agent{a}@{funder}.test"),
                    catalog::Role::Funder,
                    Some(funder),
                )
                .await?,
            );
        }
        agents.push(tokens);
    }
    let mut holders = Vec::new();
    for i in 0..config.holders {
        let email = format!("mairie{i}@commune-charge.test");
        let token = token(&db, &email, catalog::Role::Holder, None).await?;
        holders.push(Holder {
            email,
            token,
            dossiers: Mutex::new(Vec::new()),
        });
    }
    db.close().await?;
    let world = Arc::new(World {
        api: api.clone(),
        holders,
        agents,
        pending: (0..FUNDERS.len())
            .map(|_| Mutex::new(VecDeque::new()))
            .collect(),
        received: (0..FUNDERS.len())
            .map(|_| Mutex::new(VecDeque::new()))
            .collect(),
        projects: projects(communes, haute_marne),
        block: random_block(ATTACHMENT_BYTES),
        submissions: AtomicUsize::new(0),
    });
    // One dossier per holder, four at a time.
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (world, next) = (world.clone(), next.clone());
            tokio::spawn(async move {
                loop {
                    let holder = next.fetch_add(1, Ordering::Relaxed);
                    if holder >= world.holders.len() {
                        return Ok(());
                    }
                    let n = world.submissions.fetch_add(1, Ordering::Relaxed);
                    submit(&world, holder, n, true).await?;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?.map_err(fail)?;
    }
    Arc::into_inner(world).ok_or_else(|| anyhow::anyhow!("the set-up tasks still hold the world"))
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// One journey's result.
struct Record {
    kind: Kind,
    /// Due time, from the start of the load.
    due: Duration,
    latency: Duration,
    /// For searches: whether the answer cache should have had it.
    cached: Option<bool>,
    failure: Option<Failure>,
}

struct Sample {
    at: Duration,
    /// Resident memory in MiB: all of it, the heap and other anonymous memory, mapped files
    /// (the executable, the search index).
    rss: f64,
    anon: f64,
    file: f64,
    load: f64,
}

fn main() {
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|rt| rt.block_on(run()));
    match result {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("load test failed: some journeys did not succeed (see above)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run() -> anyhow::Result<bool> {
    let config = Config::from_env()?;
    let backend = if config.postgres.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("load test: {}", machine());
    println!(
        "{backend}; {} journeys/s for {} s after a {} s warm-up; {} holders, {} funders with {AGENTS} agents each",
        config.rate,
        config.duration,
        config.warmup,
        config.holders,
        FUNDERS.len()
    );
    let root = tempfile::TempDir::new()?;
    let dir = root.path().join("data");
    std::fs::create_dir_all(&dir)?;
    let mut postgres = None;
    let database_url = match &config.postgres {
        Some(admin) => {
            let name = format!("guichet_bench_load_{}", uuid::Uuid::new_v4().simple());
            let db = catalog::db::connect(admin).await?;
            db.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await?;
            db.close().await?;
            postgres = Some((admin.clone(), name.clone()));
            with_database(admin, &name)
        }
        None => format!("sqlite://{}?mode=rwc", dir.join("guichet.db").display()),
    };
    let result = run_on(&config, &dir, &database_url, postgres.is_some()).await;
    if let Some((admin, name)) = postgres {
        let db = catalog::db::connect(&admin).await?;
        db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        db.close().await?;
    }
    result
}

async fn run_on(
    config: &Config,
    dir: &Path,
    database_url: &str,
    postgres: bool,
) -> anyhow::Result<bool> {
    println!("load average before start: {}", load_average());
    let mut server = Server::start(dir, postgres.then_some(database_url))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(256)
        .build()?;
    let started = Instant::now();
    server.wait_ready(&client).await?;
    println!(
        "guichet serve (pid {}) ready in {:.1} s: {}",
        server.pid(),
        started.elapsed().as_secs_f64(),
        server.base
    );
    let api = Api {
        client: client.clone(),
        url: Arc::new(format!("{}/graphql", server.base)),
        requests: Arc::new(AtomicU64::new(0)),
    };

    let territories = catalog::Territories::embedded();
    let all_communes: Vec<String> = territories
        .all()
        .iter()
        .filter(|t| t.kind == TerritoryKind::Commune)
        .map(|t| t.code.clone())
        .collect();
    let communes: Vec<String> = all_communes.iter().step_by(401).cloned().collect();
    let haute_marne: Vec<String> = all_communes
        .iter()
        .filter(|c| c.starts_with("52"))
        .step_by(23)
        .cloned()
        .collect();
    drop(territories);
    let draws = Draws::new(&communes);

    let started = Instant::now();
    let world = Arc::new(set_up(&api, database_url, config, &communes, &haute_marne).await?);
    println!(
        "set-up in {:.1} s: 5 schemes published (besides the 44 of the seed), {} holders with one submitted dossier each (a 32 KiB attachment), {} reviews pending",
        started.elapsed().as_secs_f64(),
        world.holders.len(),
        world
            .pending
            .iter()
            .map(|p| p.lock().map_or(0, |p| p.len()))
            .sum::<usize>()
    );

    // The server's memory, and the machine's load, every 5 s.
    let samples: Arc<Mutex<Vec<Sample>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let pid = server.pid();
    let start = Instant::now() + Duration::from_millis(200);
    let sampler = {
        let (samples, stop) = (samples.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(start, SAMPLE_EVERY);
            loop {
                tick.tick().await;
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let field = |name: &str| status_mib(pid, name).unwrap_or(f64::NAN);
                let load = load_average()
                    .split_whitespace()
                    .next()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(f64::NAN);
                samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(Sample {
                        at: start.elapsed(),
                        rss: field("VmRSS:"),
                        anon: field("RssAnon:"),
                        file: field("RssFile:"),
                        load,
                    });
            }
        })
    };

    // The schedule: journey i is due at start + i / rate.
    let warmup = Duration::from_secs(config.warmup);
    let total = warmup + Duration::from_secs(config.duration);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Record>();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut rng = StdRng::seed_from_u64(0x6c6f_6164);
    let mut cache = CacheModel {
        capacity: guichet::graphql::cache::DEFAULT_ENTRIES,
        keys: HashSet::new(),
        order: VecDeque::new(),
    };
    let mut pattern: Vec<Kind> = Vec::new();
    let mut late = Duration::ZERO;
    let mut measured_disk = String::new();
    let (mut server_cpu, mut client_cpu, mut requests) = (Duration::ZERO, Duration::ZERO, 0);
    let mut i: u64 = 0;
    println!("load average before the load: {}", load_average());
    loop {
        let due = Duration::from_secs_f64(i as f64 / config.rate);
        if due >= total {
            break;
        }
        tokio::time::sleep_until(start + due).await;
        late = late.max(start.elapsed().saturating_sub(due));
        if due >= warmup && server_cpu.is_zero() {
            // The measured part begins.
            server_cpu = server.cpu();
            client_cpu = cpu_time();
            requests = api.requests.load(Ordering::Relaxed);
            measured_disk = disk(dir);
            println!(
                "warm-up done: server RSS {:.1} MiB; load average {}; {measured_disk}",
                server.memory("VmRSS:").unwrap_or(f64::NAN),
                load_average()
            );
        }
        if i.is_multiple_of(100) {
            pattern = MIX
                .iter()
                .flat_map(|&(kind, n)| std::iter::repeat_n(kind, n))
                .collect();
            pattern.shuffle(&mut rng);
        }
        let journey = match pattern[(i % 100) as usize] {
            Kind::Search => {
                let variables = draws.search(&mut rng);
                let cached = cache.touch(variables.to_string());
                Journey::Search(variables, rng.random_bool(0.2), cached)
            }
            Kind::Match => Journey::Match,
            Kind::Read => Journey::Read,
            Kind::Submit => Journey::Submit,
            Kind::Decide => Journey::Decide,
        };
        let seed = rng.random::<u64>();
        let (world, tx, in_flight) = (world.clone(), tx.clone(), in_flight.clone());
        if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
            let _ = tx.send(Record {
                kind: journey.kind(),
                due,
                latency: Duration::ZERO,
                cached: None,
                failure: Some(Failure::new(
                    format!("not started: {MAX_IN_FLIGHT} journeys in flight"),
                    "",
                )),
            });
        } else {
            in_flight.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let result = run_journey(&world, &journey, seed).await;
                let latency = start.elapsed().saturating_sub(due);
                let cached = match journey {
                    Journey::Search(_, _, cached) => Some(cached),
                    _ => None,
                };
                let _ = tx.send(Record {
                    kind: journey.kind(),
                    due,
                    latency,
                    cached,
                    failure: result.err(),
                });
                in_flight.fetch_sub(1, Ordering::Relaxed);
            });
        }
        i += 1;
    }
    drop(tx);
    let scheduled_end = start.elapsed();
    let mut records = Vec::with_capacity(i as usize);
    while let Some(record) = rx.recv().await {
        records.push(record);
    }
    let drained = start.elapsed();
    let server_cpu = server.cpu().saturating_sub(server_cpu);
    let client_cpu = cpu_time().saturating_sub(client_cpu);
    let requests = api.requests.load(Ordering::Relaxed) - requests;
    stop.store(true, Ordering::Relaxed);
    sampler.abort();
    let end_rss = server.memory("VmRSS:").unwrap_or(f64::NAN);
    let peak = server.memory("VmHWM:").unwrap_or(f64::NAN);
    println!(
        "load done: {i} journeys due over {:.1} s, the last answered {:.1} s after the start; the schedule ran at most {:.1} ms late; load average {}",
        scheduled_end.as_secs_f64(),
        drained.as_secs_f64(),
        ms(late),
        load_average()
    );
    let end_disk = disk(dir);
    let outbox = metrics(
        &client,
        &server.base,
        &[
            "guichet_outbox_pending",
            "guichet_outbox_oldest_pending_age_seconds",
            "guichet_db_pool_connections",
            "guichet_db_pool_max_connections",
        ],
    )
    .await;

    let samples = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    let ok = report(
        config,
        &records,
        &samples,
        Measured {
            server_cpu,
            client_cpu,
            requests,
            end_rss,
            peak,
        },
    );
    println!("data directory after warm-up: {measured_disk}");
    println!("data directory at the end:   {end_disk}");
    for line in outbox {
        println!("metrics at the end: {line}");
    }
    let status = server.stop();
    println!(
        "guichet serve stopped on SIGTERM: {}",
        status.map_or("killed after 30 s".into(), |s| s.to_string())
    );
    let log_ok = server_log(&server.log);
    Ok(ok && log_ok)
}

struct Measured {
    server_cpu: Duration,
    client_cpu: Duration,
    requests: u64,
    end_rss: f64,
    peak: f64,
}

struct Stats {
    count: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn stats(mut latencies: Vec<Duration>) -> Stats {
    latencies.sort();
    Stats {
        count: latencies.len(),
        p50: ms(percentile(&latencies, 0.50)),
        p95: ms(percentile(&latencies, 0.95)),
        p99: ms(percentile(&latencies, 0.99)),
        max: ms(latencies.last().copied().unwrap_or_default()),
    }
}

/// Least-squares slope of `(x, y)` points.
fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if points.len() < 2 {
        return f64::NAN;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    sxy / sxx
}

/// Prints the results; false when a journey failed.
fn report(config: &Config, records: &[Record], samples: &[Sample], m: Measured) -> bool {
    let warmup = Duration::from_secs(config.warmup);
    let seconds = config.duration as f64;
    let measured: Vec<&Record> = records.iter().filter(|r| r.due >= warmup).collect();

    // Errors, warm-up included, by kind and class.
    let mut errors: BTreeMap<(Kind, String), (usize, String)> = BTreeMap::new();
    for r in records {
        if let Some(f) = &r.failure {
            let entry = errors
                .entry((r.kind, f.class.clone()))
                .or_insert((0, f.detail.clone()));
            entry.0 += 1;
        }
    }
    let failed_total: usize = errors.values().map(|e| e.0).sum();

    println!(
        "\n| journeys (measured {seconds:.0} s, {} /s due) | count | errors | rate (/s) | p50 | p95 | p99 | max (ms) |",
        config.rate
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let row = |label: &str, of: &dyn Fn(&Record) -> bool| {
        let chosen: Vec<&&Record> = measured.iter().filter(|r| of(r)).collect();
        let failed = chosen.iter().filter(|r| r.failure.is_some()).count();
        let s = stats(
            chosen
                .iter()
                .filter(|r| r.failure.is_none())
                .map(|r| r.latency)
                .collect(),
        );
        println!(
            "| {label} | {} | {failed} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} |",
            chosen.len(),
            s.count as f64 / seconds,
            s.p50,
            s.p95,
            s.p99,
            s.max
        );
    };
    for (kind, _) in MIX {
        row(kind.name(), &|r: &Record| r.kind == kind);
    }
    row("**all journeys**", &|_: &Record| true);
    row("search, answer cache hit (estimated)", &|r: &Record| {
        r.cached == Some(true)
    });
    row("search, answer cache miss (estimated)", &|r: &Record| {
        r.cached == Some(false)
    });
    let searches = measured.iter().filter(|r| r.kind == Kind::Search).count();
    let hits = measured.iter().filter(|r| r.cached == Some(true)).count();
    println!(
        "\nsearches answered from the cache (estimated with a model of the server's {}-answer first-in first-out cache): {hits} of {searches} ({:.0} %)",
        guichet::graphql::cache::DEFAULT_ENTRIES,
        100.0 * hits as f64 / searches.max(1) as f64
    );
    println!(
        "HTTP requests in the measured part: {} ({:.1}/s); CPU: server {:.1} s ({:.2} ms per journey), load generator {:.1} s, over {seconds:.0} s on {} cores",
        m.requests,
        m.requests as f64 / seconds,
        m.server_cpu.as_secs_f64(),
        ms(m.server_cpu) / measured.len().max(1) as f64,
        m.client_cpu.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );

    // Memory.
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= warmup).collect();
    let points: Vec<(f64, f64)> = after
        .iter()
        .filter(|s| s.rss.is_finite())
        .map(|s| (s.at.as_secs_f64() / 60.0, s.rss))
        .collect();
    // The answer cache and SQLite's page caches fill for a while after a short warm-up: the
    // second half of the measured part says whether the growth goes on.
    let half = warmup + Duration::from_secs(config.duration / 2);
    let late: Vec<(f64, f64)> = after
        .iter()
        .filter(|s| s.at >= half && s.rss.is_finite())
        .map(|s| (s.at.as_secs_f64() / 60.0, s.rss))
        .collect();
    let first = after.first().map_or(f64::NAN, |s| s.rss);
    let max = samples.iter().map(|s| s.rss).fold(f64::NAN, f64::max);
    let max_after = after.iter().map(|s| s.rss).fold(f64::NAN, f64::max);
    let min_after = after.iter().map(|s| s.rss).fold(f64::NAN, f64::min);
    let loads: Vec<f64> = samples
        .iter()
        .map(|s| s.load)
        .filter(|l| l.is_finite())
        .collect();
    type Of = fn(&Sample) -> f64;
    let series: [(&str, Of); 2] = [("RSS", |s| s.rss), ("of which anonymous", |s| s.anon)];
    for (name, of) in series {
        println!(
            "\nserver {name} (MiB, every {} s from the start of the load):",
            SAMPLE_EVERY.as_secs()
        );
        for chunk in samples.chunks(12) {
            println!(
                "    {:>4.0} s: {}",
                chunk[0].at.as_secs_f64(),
                chunk
                    .iter()
                    .map(|s| format!("{:.1}", of(s)))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    let anon_late: Vec<(f64, f64)> = after
        .iter()
        .filter(|s| s.at >= half && s.anon.is_finite())
        .map(|s| (s.at.as_secs_f64() / 60.0, s.anon))
        .collect();
    let (last_anon, last_file) = after
        .last()
        .map_or((f64::NAN, f64::NAN), |s| (s.anon, s.file));
    let (first_anon, first_file) = after
        .first()
        .map_or((f64::NAN, f64::NAN), |s| (s.anon, s.file));
    println!(
        "\n| server memory | MiB |\n|---|---:|\n| RSS after warm-up | {first:.1} |\n| RSS at the end | {:.1} |\n| RSS min / max after warm-up | {min_after:.1} / {max_after:.1} |\n| RSS max, warm-up included | {max:.1} |\n| peak RSS (VmHWM, since start-up) | {:.1} |\n| RSS slope after warm-up (least squares, {} samples) | {:+.2} MiB/min |\n| RSS slope over the second half (from {:.0} s, {} samples) | {:+.2} MiB/min |\n| anonymous (heap) after warm-up / at the end | {first_anon:.1} / {last_anon:.1} |\n| anonymous slope over the second half | {:+.2} MiB/min |\n| mapped files after warm-up / at the end | {first_file:.1} / {last_file:.1} |",
        m.end_rss,
        m.peak,
        points.len(),
        slope(&points),
        half.as_secs_f64(),
        late.len(),
        slope(&late),
        slope(&anon_late)
    );
    println!(
        "\nmachine load average (1 min) during the load: min {:.2}, mean {:.2}, max {:.2}",
        loads.iter().copied().fold(f64::NAN, f64::min),
        loads.iter().sum::<f64>() / loads.len().max(1) as f64,
        loads.iter().copied().fold(f64::NAN, f64::max)
    );

    if failed_total == 0 {
        println!(
            "\nerrors: none ({} journeys, warm-up included)",
            records.len()
        );
    } else {
        println!(
            "\nERRORS: {failed_total} of {} journeys (warm-up included):",
            records.len()
        );
        for ((kind, class), (count, detail)) in &errors {
            println!("    {count} × {} — {class}: {detail}", kind.name());
        }
    }
    failed_total == 0
}

/// Prints how many warnings and errors the server logged, and the first few kinds; false
/// when there is an error.
fn server_log(log: &Path) -> bool {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let warnings: Vec<&str> = text.lines().filter(|l| l.contains(" WARN ")).collect();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(" ERROR ")).collect();
    println!(
        "server log: {} lines, {} warnings, {} errors",
        text.lines().count(),
        warnings.len(),
        errors.len()
    );
    let mut kinds: Vec<String> = Vec::new();
    for line in errors.iter().chain(&warnings) {
        // Without the timestamp and the request's span.
        let kind: String = line
            .split_once(' ')
            .map_or(*line, |(_, rest)| rest.trim())
            .chars()
            .take(300)
            .collect();
        if !kinds.contains(&kind) && kinds.len() < 5 {
            kinds.push(kind);
        }
    }
    for kind in kinds {
        println!("    {kind}");
    }
    errors.is_empty()
}
