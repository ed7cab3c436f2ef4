//! The outbox and its worker, with `.eml` files and with a real SMTP server on loopback
//! (aiosmtpd) that is down when the mail is queued and comes back later.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestApp, require_all};

/// Waits until `check` holds, for at most `limit`.
pub async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The files in `dir`: `.eml` files or a Maildir's messages, not the hidden ones still being
/// written.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files_and_marked_sent() {
    let app = TestApp::spawn().await;
    let worker = guichet::app::start_mail_worker(&app.state).unwrap();
    let body = app
        .graphql(
            "mutation { requestLoginLink(email: \"eml@village.fr\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true);
    let mail_dir = app.state.settings.mail_dir();
    assert!(
        eventually(Duration::from_secs(30), async || !files_in(&mail_dir)
            .is_empty())
        .await,
        "no .eml written"
    );
    let files = files_in(&mail_dir);
    assert_eq!(files.len(), 1);
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("To: eml@village.fr"), "{eml}");
    assert!(eml.contains("Content-Type: text/html"), "{eml}");
    assert!(
        eml.contains("/login?token=") || eml.contains("/login?token=3D"),
        "{eml}"
    );
    // The file is written before the message is marked sent, in a commit of its own.
    assert!(
        eventually(Duration::from_secs(30), async || {
            catalog::outbox::all(&app.state.db).await.unwrap()[0]
                .sent_at
                .is_some()
        })
        .await,
        "the message was written but never marked sent"
    );
    worker.abort();
}

/// The Python interpreter with aiosmtpd, if available.
pub fn python_with_aiosmtpd() -> Option<String> {
    let python = std::env::var("GUICHET_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then_some(python)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An aiosmtpd server writing every message into a Maildir.
pub struct SmtpServer(Child);

impl SmtpServer {
    pub fn start(python: &str, port: u16, maildir: &Path) -> SmtpServer {
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
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        SmtpServer(child)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn mail_queued_while_smtp_is_down_arrives_once_when_it_comes_back() {
    let Some(python) = python_with_aiosmtpd() else {
        assert!(!require_all(), "aiosmtpd is required (GUICHET_TEST_PYTHON)");
        eprintln!("aiosmtpd not available: skipped");
        return;
    };
    let port = free_port();
    let app = TestApp::spawn_with(|s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let worker = guichet::app::start_mail_worker(&app.state).unwrap();

    let body = app
        .graphql(
            "mutation { requestLoginLink(email: \"panne@village.fr\") }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["requestLoginLink"], true, "{body}");

    // SMTP is down: the attempt fails and is scheduled again; nothing is lost.
    let db = app.state.db.clone();
    assert!(
        eventually(Duration::from_secs(15), async || {
            let m = catalog::outbox::all(&db).await.unwrap();
            m[0].attempts >= 1 && m[0].last_error.is_some()
        })
        .await,
        "the failed attempt was not recorded"
    );
    assert!(
        catalog::outbox::all(&db).await.unwrap()[0]
            .sent_at
            .is_none()
    );

    // SMTP comes back.
    let maildir = app.dir.path().join("maildir");
    let _server = SmtpServer::start(&python, port, &maildir);
    let new = maildir.join("new");
    assert!(
        eventually(Duration::from_secs(60), async || !files_in(&new).is_empty()).await,
        "the mail never arrived"
    );
    assert!(
        eventually(Duration::from_secs(10), async || catalog::outbox::all(&db)
            .await
            .unwrap()[0]
            .sent_at
            .is_some())
        .await
    );
    // And only once, even after further worker rounds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let delivered = files_in(&new);
    assert_eq!(delivered.len(), 1);
    let message = std::fs::read_to_string(&delivered[0]).unwrap();
    assert!(message.contains("panne@village.fr"));
    assert!(message.contains("Subject:"));
    worker.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_take_each_message_once_and_leave_none() {
    // What the worker's lanes (and other gateways) do at once: many claimers, one message
    // each time, until nothing is due. PostgreSQL skips locked rows; SQLite compares and sets.
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let mut queued = std::collections::BTreeSet::new();
    for i in 0..40 {
        let mail = guichet::mail::LOGIN_LINK.render(
            catalog::email::Email::parse(&format!("lane-{i}@village.fr")).unwrap(),
            &[("link", "https://guichet.test/login?token=x")],
        );
        queued.insert(catalog::outbox::enqueue(db, mail).await.unwrap());
    }
    let mut claimers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let db = db.clone();
        claimers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = catalog::outbox::claim_due(&db, 1, chrono::Duration::seconds(60))
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|m| m.id));
            }
        });
    }
    let mut claimed = Vec::new();
    while let Some(mine) = claimers.join_next().await {
        claimed.extend(mine.unwrap());
    }
    claimed.sort_unstable();
    let distinct: std::collections::BTreeSet<i64> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), claimed.len(), "a message claimed twice");
    assert_eq!(distinct, queued, "claimed and queued messages differ");
    // All leased: nothing is due until the leases end.
    assert!(
        catalog::outbox::claim_due(db, 10, chrono::Duration::seconds(60))
            .await
            .unwrap()
            .is_empty()
    );
}
