//! Starting Guichet: the real binary, the seed catalogue, restarts.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use guichet::config::Settings;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::helpers::fresh_database;

/// A `guichet serve` process, killed (SIGKILL) when dropped.
pub struct Server(Child, String);

impl Server {
    /// Starts `guichet serve` on a free loopback port, without SMTP (mail goes to `.eml`
    /// files), and waits until `/healthz` answers.
    pub async fn start(dir: &std::path::Path, database_url: &str, extra: &[&str]) -> Server {
        Self::start_with(dir, database_url, extra, &[], Stdio::null()).await
    }

    /// Like [`Server::start`], with more environment variables and the log (standard error)
    /// sent to `log`.
    pub async fn start_with(
        dir: &std::path::Path,
        database_url: &str,
        extra: &[&str],
        env: &[(&str, &str)],
        log: Stdio,
    ) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_guichet"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .arg("--data-dir")
            .arg(dir)
            .env("DATABASE_URL", database_url)
            .env_remove("SMTP_URL")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Server(child, format!("http://127.0.0.1:{port}"));
        let start = Instant::now();
        loop {
            if let Ok(r) = reqwest::get(format!("{}/healthz", server.1)).await
                && r.status() == 200
            {
                return server;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The server's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.1
    }

    /// Sends SIGTERM, as a service manager stopping Guichet does.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status, once the process has ended; `None` while it runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.0.try_wait().unwrap()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    async fn graphql(&self, query: &str) -> Value {
        reqwest::Client::new()
            .post(format!("{}/graphql", self.1))
            .json(&json!({ "query": query }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const COUNTS: &str = "{ schemes(first: 1) { total } territory(code: \"52121\") { name } }";

#[tokio::test]
async fn serve_loads_the_seed_once_and_restarts_on_the_same_data() {
    let dir = TempDir::new().unwrap();
    let url = fresh_database(dir.path(), false).await;
    let first = Server::start(dir.path(), &url, &[]).await;
    let body = first.graphql(COUNTS).await;
    assert!(
        body["data"]["schemes"]["total"].as_u64().unwrap() >= 40,
        "{body}"
    );
    assert_eq!(body["data"]["territory"]["name"], "Chaumont");
    drop(first);
    let second = Server::start(dir.path(), &url, &[]).await;
    let again = second.graphql(COUNTS).await;
    assert_eq!(
        again["data"]["schemes"]["total"],
        body["data"]["schemes"]["total"]
    );
}

#[tokio::test]
async fn serve_with_no_seed_starts_an_empty_catalogue() {
    let dir = TempDir::new().unwrap();
    let url = fresh_database(dir.path(), false).await;
    let server = Server::start(dir.path(), &url, &["--no-seed"]).await;
    let body = server.graphql(COUNTS).await;
    assert_eq!(body["data"]["schemes"]["total"], 0, "{body}");
    assert_eq!(body["data"]["territory"]["name"], "Chaumont");
}

#[tokio::test]
async fn an_interrupted_seed_is_completed_on_the_next_start() {
    let dir = TempDir::new().unwrap();
    let mut settings = Settings::new(dir.path(), "127.0.0.1:0".parse().unwrap());
    settings.database_url = fresh_database(dir.path(), false).await;
    // A first start that died after a few schemes: the seed is marked started.
    let (db, territories) = guichet::app::open(&settings).await.unwrap();
    catalog::entity::meta::set(&db, "seed", "started")
        .await
        .unwrap();
    let some: Vec<Value> = serde_json::from_str::<Vec<Value>>(catalog::seed::SCHEMES)
        .unwrap()
        .into_iter()
        .take(3)
        .collect();
    let parsed = catalog::import::guichet::parse(&serde_json::to_string(&some).unwrap()).unwrap();
    catalog::import::run(
        &db,
        &catalog::Actor::Operator,
        &territories,
        parsed,
        false,
        || {},
    )
    .await
    .unwrap();
    assert_eq!(catalog::scheme::all(&db).await.unwrap().len(), 3);

    let state = guichet::app::prepare(settings.clone(), false)
        .await
        .unwrap();
    let all = catalog::scheme::all(&state.db).await.unwrap();
    assert_eq!(
        all.len(),
        serde_json::from_str::<Vec<Value>>(catalog::seed::SCHEMES)
            .unwrap()
            .len()
    );
    // Done: a later start does not load it again, even after schemes are archived or removed.
    assert!(
        catalog::seed::load_if_empty(&state.db, &state.territories)
            .await
            .unwrap()
            .is_none()
    );
}
