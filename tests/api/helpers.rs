//! `TestApp`: a running Guichet with its own data directory and database, and helpers
//! named after what they do.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use guichet::app::{self, AppState};
use guichet::config::Settings;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The PostgreSQL server to test against, if any.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var("GUICHET_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// True when CI asks that tests needing outside tools fail rather than skip.
pub fn require_all() -> bool {
    std::env::var("GUICHET_TEST_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// A migrated database holding the territories and the seed catalogue, made once per test
/// run and copied for each test (a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on
/// PostgreSQL) so that tests start in milliseconds.
enum Template {
    /// The template file, and the directory that holds it for the whole run.
    Sqlite(PathBuf, #[allow(dead_code)] TempDir),
    Postgres(String),
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        // Its own thread and runtime: tests each run on a runtime of their own.
        std::thread::spawn(|| {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(make_template())
        })
        .join()
        .unwrap()
    })
}

async fn make_template() -> Template {
    let dir = TempDir::new().unwrap();
    let mut settings = Settings::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    let postgres_name = match postgres_admin_url() {
        Some(admin) => {
            let name = unique_name("guichet_template");
            let db = catalog::db::connect(&admin).await.unwrap();
            db.execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            db.close().await.unwrap();
            settings.database_url = replace_database(&admin, &name);
            Some(name)
        }
        None => None,
    };
    let state = app::prepare(settings, false).await.unwrap();
    if postgres_name.is_none() {
        state
            .db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
    }
    state.db.clone().close().await.unwrap();
    match postgres_name {
        Some(name) => Template::Postgres(name),
        None => Template::Sqlite(dir.path().join("guichet.db"), dir),
    }
}

/// A fresh database for one test, as a URL; `seeded` copies the template.
pub async fn fresh_database(data_dir: &Path, seeded: bool) -> String {
    match (postgres_admin_url(), seeded) {
        (Some(admin), seeded) => {
            let name = unique_name("guichet_test");
            let db = catalog::db::connect(&admin).await.unwrap();
            let sql = match (seeded, template()) {
                (true, Template::Postgres(template)) => {
                    format!("CREATE DATABASE {name} TEMPLATE {template}")
                }
                _ => format!("CREATE DATABASE {name}"),
            };
            let mut attempts = 0;
            while let Err(e) = db.execute_unprepared(&sql).await {
                attempts += 1;
                assert!(attempts < 50, "could not create the test database: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            db.close().await.unwrap();
            replace_database(&admin, &name)
        }
        (None, true) => {
            let Template::Sqlite(path, _) = template() else {
                unreachable!()
            };
            let target = data_dir.join("guichet.db");
            std::fs::copy(path, &target).unwrap();
            format!("sqlite://{}?mode=rwc", target.display())
        }
        (None, false) => format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("guichet.db").display()
        ),
    }
}

/// A Guichet server running on a loopback port.
pub struct TestApp {
    pub address: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub dir: TempDir,
}

impl TestApp {
    /// A server with territories and the seed catalogue, and no mail worker.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with settings adjusted first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = TempDir::new().unwrap();
        let database_url = fresh_database(dir.path(), true).await;
        Self::start(dir, database_url, adjust).await
    }

    /// A second server on the same database, as another process behind a load balancer
    /// would be: its own state, index and data directory, nothing shared in memory.
    pub async fn spawn_sibling(&self) -> TestApp {
        let database_url = self.state.settings.database_url.clone();
        Self::start(TempDir::new().unwrap(), database_url, |_| {}).await
    }

    async fn start(
        dir: TempDir,
        database_url: String,
        adjust: impl FnOnce(&mut Settings),
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let mut settings = Settings::new(dir.path(), listener.local_addr().unwrap());
        settings.database_url = database_url;
        settings.smtp_url = None;
        settings.public_url = address.clone();
        adjust(&mut settings);
        let state = app::prepare(settings, false).await.unwrap();
        // Its own stop signal: tests trigger `state.shutdown` to stop background tasks while
        // the server goes on answering.
        tokio::spawn(guichet::server::run(
            listener,
            state.clone(),
            guichet::shutdown::Shutdown::new(),
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            address,
            state,
            client,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs a GraphQL request, optionally with a bearer token; returns the JSON body.
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        response.json().await.unwrap()
    }

    /// POSTs a GraphQL request with a `Cookie` header (a browser session).
    pub async fn graphql_with_cookie(&self, cookie: &str, query: &str) -> Value {
        let response = self
            .client
            .post(self.url("/graphql"))
            .header("cookie", cookie)
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// POSTs an anonymous GraphQL request.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(None, query, variables).await
    }

    /// Creates an account with this role and returns an API token for it.
    pub async fn token_for(
        &self,
        email: &str,
        role: catalog::Role,
        funder: Option<&str>,
    ) -> String {
        catalog::account::add(
            &self.state.db,
            &catalog::Actor::Operator,
            email,
            role,
            funder,
        )
        .await
        .unwrap();
        catalog::account::issue_api_token(&self.state.db, email, None)
            .await
            .unwrap()
            .1
    }

    /// A token for a staff member.
    pub async fn staff_token(&self) -> String {
        self.token_for("equipe@guichet.test", catalog::Role::Staff, None)
            .await
    }
}

/// The `extensions.code` of the first error.
pub fn error_code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// The `extensions.field` of the first error.
pub fn error_field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field in {body}"))
}

/// Runs the real `guichet` binary on a data directory, with `DATABASE_URL` set.
pub fn guichet(data_dir: &Path, database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_guichet"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("DATABASE_URL", database_url)
        .env_remove("SMTP_URL")
        .output()
        .unwrap()
}

/// Like [`guichet`], asserting success; returns standard output.
pub fn guichet_ok(data_dir: &Path, database_url: &str, args: &[&str]) -> String {
    let out = guichet(data_dir, database_url, args);
    assert!(
        out.status.success(),
        "guichet {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The repository's `shared/` folder beside the checkout, if present.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(name);
    path.exists().then_some(path)
}

/// A valid scheme input for mutations.
pub fn scheme_input(slug: &str) -> Value {
    json!({
        "slug": slug,
        "title": "Aide au dernier commerce — test",
        "summary": "Aide aux communes qui rouvrent leur dernier commerce.",
        "funders": [{"slug": "region-test", "name": "Région Test", "kind": "REGION"}],
        "beneficiaryTypes": ["COMMUNE", "EPCI"],
        "themes": ["commerce", "revitalisation"],
        "aidTypes": ["GRANT"],
        "perimeter": {"departments": ["52"]},
        "rules": {"maxCommunePopulation": 3500, "minProjectCost": 10000},
        "funding": {"rateMin": 20, "rateMax": 50, "amountMax": 80000, "regime": "NONE"},
        "calendar": {"recurrence": "PERMANENT"},
        "requiredDocuments": ["Délibération", "Devis"],
        "sourceUrl": "https://exemple.gouv.fr/aide",
        "verifiedOn": "2026-11-27"
    })
}
