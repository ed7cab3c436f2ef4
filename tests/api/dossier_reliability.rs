//! Shared dossiers under failure: the real `guichet serve` killed (SIGKILL) in the middle of a
//! burst of submissions and decisions, then restarted on the same data; and the submission's
//! mail queued while SMTP is down, delivered once, with the dossier PDF, when it comes back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::dossiers::{
    DECIDE, FUNDERS, Fixture, HOLDER_EMAIL, SUBMIT, complete_input, graphql_at, publish_schemes,
    scheme_slugs,
};
use crate::helpers::{TestApp, fresh_database, guichet_ok, require_all};
use crate::mail::{SmtpServer, eventually, files_in, free_port, python_with_aiosmtpd};
use crate::startup::Server;

/// Submissions in the burst, each of its own draft.
const BURST: usize = 30;
/// Dossiers submitted before the burst, whose reviews are decided during it.
const DECIDED_DURING_BURST: usize = 3;
/// The server is killed once this many submissions of the burst were acknowledged.
const KILL_AFTER_ACKNOWLEDGED: usize = 5;

/// One holder creates every draft of the burst before submitting them: more than the
/// default cap on drafts allows.
pub const BURST_QUOTAS: &[(&str, &str)] = &[("GUICHET_QUOTA_DRAFTS", "100")];

/// Creates an account with the CLI and returns a new API token for it.
pub fn account(dir: &Path, url: &str, email: &str, role: &str, funder: Option<&str>) -> String {
    let mut args = vec!["user", "add", "--email", email, "--role", role];
    if let Some(funder) = funder {
        args.extend(["--funder", funder]);
    }
    guichet_ok(dir, url, &args);
    let out = guichet_ok(dir, url, &["token", "issue", "--email", email]);
    out.lines().last().unwrap().trim().to_owned()
}

/// The messages each submission queues: (template, recipient).
pub fn submission_mail() -> Vec<(String, String)> {
    let mut expected = vec![("dossier_submitted".to_owned(), HOLDER_EMAIL.to_owned())];
    for (funder, ..) in FUNDERS {
        expected.push(("dossier_received".into(), format!("contact@{funder}.test")));
        expected.push(("dossier_received".into(), format!("agent@{funder}.test")));
    }
    expected.sort();
    expected
}

/// The dossier reference (`GU-2026-000042`) a message's subject names.
pub fn reference_in(subject: &str) -> Option<String> {
    let start = subject.find("GU-")?;
    subject
        .get(start..start + "GU-2026-000042".len())
        .map(str::to_owned)
}

/// What a request of the burst got: the HTTP status and body, or nothing (connection lost).
pub type Answer = Option<(u16, Value)>;

pub async fn post(
    client: &reqwest::Client,
    base_url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Answer {
    let response = client
        .post(format!("{base_url}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.ok()?))
}

pub fn acknowledged(answer: &Answer, field: &str, status: &str) -> bool {
    matches!(answer, Some((200, body)) if body["errors"].is_null() && body["data"][field]["status"] == status)
}

/// Submits a draft and returns its answer.
pub async fn submit(client: &reqwest::Client, base_url: &str, holder: &str, id: &str) -> Answer {
    post(
        client,
        base_url,
        holder,
        SUBMIT,
        json!({ "id": id, "slugs": scheme_slugs(), "key": format!("depot-{id}-rafale") }),
    )
    .await
}

/// The requests of a burst: every submission of `drafts` by `holder`, and every decision of
/// `decisions` ((review, index of the agent in `agents`, decision)).
pub struct Burst<'a> {
    pub holder: &'a str,
    pub drafts: &'a [String],
    pub agents: &'a [String],
    pub decisions: &'a [(String, usize, &'static str)],
}

/// Sends a burst's requests at once, each in its own task, the i-th submission and the i-th
/// decision to `bases[i % bases.len()]`; `kill` is called as soon as `kill_after`
/// submissions were acknowledged. Returns the answers of the submissions and of the
/// decisions, in their order.
pub async fn send_burst(
    client: &reqwest::Client,
    bases: &[String],
    burst: Burst<'_>,
    kill_after: usize,
    kill: impl FnOnce(),
) -> (Vec<Answer>, Vec<Answer>) {
    let Burst {
        holder,
        drafts,
        agents,
        decisions,
    } = burst;
    let (done, mut finished) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut submissions = Vec::new();
    for (i, id) in drafts.iter().enumerate() {
        let (client, base, holder, id, done) = (
            client.clone(),
            bases[i % bases.len()].clone(),
            holder.to_owned(),
            id.clone(),
            done.clone(),
        );
        submissions.push(tokio::spawn(async move {
            let answer = submit(&client, &base, &holder, &id).await;
            if acknowledged(&answer, "submitDossier", "SUBMITTED") {
                let _ = done.send(());
            }
            answer
        }));
    }
    let mut decided = Vec::new();
    for (i, (review, agent, decision)) in decisions.iter().enumerate() {
        let (client, base, token) = (
            client.clone(),
            bases[i % bases.len()].clone(),
            agents[*agent].clone(),
        );
        let variables = json!({ "id": review, "decision": decision,
            "amount": (*decision == "GRANTED").then_some(20000),
            "motivation": "Décision rendue pendant la rafale." });
        decided.push(tokio::spawn(async move {
            post(&client, &base, &token, DECIDE, variables).await
        }));
    }
    drop(done);
    let mut seen = 0;
    while seen < kill_after && finished.recv().await.is_some() {
        seen += 1;
    }
    kill();
    let mut answers = Vec::new();
    for task in submissions {
        answers.push(task.await.unwrap());
    }
    let mut decision_answers = Vec::new();
    for task in decided {
        decision_answers.push(task.await.unwrap());
    }
    (answers, decision_answers)
}

// Several threads: the burst's answers are read as they come, so the kill follows the
// acknowledgements closely.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_mid_burst_keeps_every_acknowledged_submission_and_half_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let data = dir.path();
    let url = fresh_database(data, true).await;
    let staff = {
        let (data, url) = (data.to_owned(), url.clone());
        tokio::task::spawn_blocking(move || {
            account(&data, &url, "equipe@guichet.test", "staff", None)
        })
    };
    let server =
        Server::start_with(data, &url, &[], BURST_QUOTAS, std::process::Stdio::null()).await;
    let staff = staff.await.unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = server.url().to_owned();
    publish_schemes(&client, &base, &staff).await;
    // The holder and the agents of the funders (which now exist), at once.
    let mut people = vec![(HOLDER_EMAIL.to_owned(), "holder", None)];
    for (funder, ..) in FUNDERS {
        people.push((format!("agent@{funder}.test"), "funder", Some(funder)));
    }
    let mut tokens: Vec<String> = std::thread::scope(|scope| {
        let started: Vec<_> = people
            .iter()
            .map(|(email, role, funder)| scope.spawn(|| account(data, &url, email, role, *funder)))
            .collect();
        started.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let holder = tokens.remove(0);
    let agents = tokens;

    let gql = async |token: &str, query: &str, variables: Value| {
        let body = graphql_at(&client, &base, Some(token), query, variables).await;
        assert!(body["errors"].is_null(), "{query}: {body}");
        body["data"].clone()
    };
    let mut drafts = Vec::new();
    for _ in 0..BURST + DECIDED_DURING_BURST {
        let created = gql(
            &holder,
            "mutation($input: DossierInput!) { createDossier(input: $input) { id } }",
            json!({ "input": complete_input() }),
        )
        .await;
        drafts.push(created["createDossier"]["id"].as_str().unwrap().to_owned());
    }
    let burst: Vec<String> = drafts.split_off(DECIDED_DURING_BURST);
    let mut decisions = Vec::new(); // (review id, agent index, decision)
    for id in &drafts {
        assert!(acknowledged(
            &submit(&client, &base, &holder, id).await,
            "submitDossier",
            "SUBMITTED"
        ));
        let reviews = gql(
            &staff,
            "query($id: ID!) { dossier(id: $id) { reviews { id funder { slug } } } }",
            json!({ "id": id }),
        )
        .await;
        for review in reviews["dossier"]["reviews"].as_array().unwrap() {
            let agent = FUNDERS
                .iter()
                .position(|f| review["funder"]["slug"] == f.0)
                .unwrap();
            let decision = if decisions.len() % 2 == 0 {
                "GRANTED"
            } else {
                "REFUSED"
            };
            decisions.push((review["id"].as_str().unwrap().to_owned(), agent, decision));
        }
    }

    // The burst: every submission and decision at once, each in its own task; the server is
    // killed as soon as enough submissions were acknowledged.
    let (answers, decision_answers) = send_burst(
        &client,
        std::slice::from_ref(&base),
        Burst {
            holder: &holder,
            drafts: &burst,
            agents: &agents,
            decisions: &decisions,
        },
        KILL_AFTER_ACKNOWLEDGED,
        || server.kill(),
    )
    .await;
    let acked: Vec<bool> = answers
        .iter()
        .map(|a| acknowledged(a, "submitDossier", "SUBMITTED"))
        .collect();
    let acked_count = acked.iter().filter(|a| **a).count();
    // An answer that came back is either an acknowledgement or a lost connection: a burst
    // must not make the server fail requests.
    for answer in answers.iter().chain(&decision_answers).flatten() {
        assert!(
            answer.0 == 200 && answer.1["errors"].is_null(),
            "a request of the burst failed: {answer:?}"
        );
    }
    eprintln!(
        "killed after {acked_count}/{BURST} submissions and {}/{} decisions acknowledged",
        decision_answers.iter().filter(|a| a.is_some()).count(),
        decisions.len()
    );
    assert!(acked_count >= KILL_AFTER_ACKNOWLEDGED);

    // Restarted on the same data.
    let server =
        Server::start_with(data, &url, &[], BURST_QUOTAS, std::process::Stdio::null()).await;
    let base = server.url().to_owned();
    let db = catalog::db::connect(&url).await.unwrap();

    // Every submitted dossier has its three reviews and its seven messages; every draft has
    // neither; nothing twice.
    let check = async |ids: &[String], must_be_submitted: &[bool]| {
        let mail = catalog::outbox::all(&db).await.unwrap();
        let mut by_reference: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for m in &mail {
            let reference = reference_in(&m.subject)
                .unwrap_or_else(|| panic!("a message names no dossier: {}", m.subject));
            by_reference
                .entry(reference)
                .or_default()
                .push((m.template.clone(), m.recipient.clone()));
        }
        for (id, must) in ids.iter().zip(must_be_submitted) {
            let d = dossier::dossier::load(&db, id.parse().unwrap())
                .await
                .unwrap()
                .unwrap();
            let reviews = dossier::review::reviews_of(&db, d.id).await.unwrap();
            let mut messages = by_reference.remove(&d.reference).unwrap_or_default();
            messages.sort();
            match d.status {
                dossier::DossierStatus::Draft => {
                    assert!(!must, "{} was acknowledged but is a draft", d.reference);
                    assert!(reviews.is_empty(), "{}: {reviews:?}", d.reference);
                    assert!(messages.is_empty(), "{}: {messages:?}", d.reference);
                    assert!(d.submit_key.is_none() && d.submitted_at.is_none());
                }
                dossier::DossierStatus::Submitted => {
                    let funders: BTreeSet<i64> = reviews.iter().map(|r| r.funder_id).collect();
                    assert_eq!((reviews.len(), funders.len()), (3, 3), "{}", d.reference);
                    assert_eq!(messages, submission_mail(), "{}", d.reference);
                    assert_eq!(d.submit_key, Some(format!("depot-{id}-rafale")));
                }
                other => panic!("{}: unexpected status {other:?}", d.reference),
            }
        }
        by_reference
    };
    let others = check(&burst, &acked).await;
    let mut committed = 0;
    for id in &burst {
        let d = dossier::dossier::load(&db, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        committed += usize::from(d.status == dossier::DossierStatus::Submitted);
    }
    eprintln!("{committed}/{BURST} submissions committed before the crash");

    // Decisions: an acknowledged one is kept; each decided review told the holder once; a
    // dossier whose three reviews are decided is DECIDED.
    let mut decided_reviews = 0;
    let mut references = BTreeSet::new();
    for id in &drafts {
        let d = dossier::dossier::load(&db, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        references.insert(d.reference.clone());
        let reviews = dossier::review::reviews_of(&db, d.id).await.unwrap();
        assert_eq!(reviews.len(), 3);
        let done = reviews.iter().filter(|r| r.status == "DECIDED").count();
        decided_reviews += done;
        let messages = &others[&d.reference];
        let told = messages
            .iter()
            .filter(|(t, _)| t == "dossier_decided")
            .count();
        assert_eq!(told, done, "{}: {messages:?}", d.reference);
        let mut submitted: Vec<_> = messages
            .iter()
            .filter(|(t, _)| t != "dossier_decided")
            .cloned()
            .collect();
        submitted.sort();
        assert_eq!(submitted, submission_mail(), "{}", d.reference);
        let expected = if done == 3 {
            dossier::DossierStatus::Decided
        } else if done > 0 {
            dossier::DossierStatus::InReview
        } else {
            dossier::DossierStatus::Submitted
        };
        assert_eq!(d.status, expected, "{}: {reviews:?}", d.reference);
    }
    for ((review, _, decision), answer) in decisions.iter().zip(&decision_answers) {
        if acknowledged(answer, "decide", "DECIDED") {
            let found = decisions_of(&db, review).await;
            assert_eq!(found.as_deref(), Some(*decision), "review {review}");
        }
    }
    eprintln!("{decided_reviews}/{} reviews decided", decisions.len());
    assert_eq!(
        others.keys().cloned().collect::<BTreeSet<_>>(),
        references,
        "messages about unknown dossiers"
    );

    // The holder retries what was not acknowledged, with the same key: each is submitted,
    // once.
    for (id, ok) in burst.iter().zip(&acked) {
        if !ok {
            let answer = submit(&client, &base, &holder, id).await;
            assert!(
                acknowledged(&answer, "submitDossier", "SUBMITTED"),
                "{answer:?}"
            );
            assert_eq!(
                answer.unwrap().1["data"]["submitDossier"]["id"],
                id.as_str()
            );
        }
    }
    check(&burst, &vec![true; burst.len()]).await;

    // Every message is sent after the restart, as an `.eml` file; one the killed process had
    // claimed waits for its lease to expire first.
    let limit = guichet::mail::LEASE.to_std().unwrap() + Duration::from_secs(15);
    let all_sent = eventually(limit, async || {
        catalog::outbox::all(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.sent_at.is_some())
    })
    .await;
    let mail = catalog::outbox::all(&db).await.unwrap();
    assert!(
        all_sent,
        "unsent: {:?}",
        mail.iter()
            .filter(|m| m.sent_at.is_none())
            .map(|m| (m.id, m.attempts, &m.last_error, m.claimed_until))
            .collect::<Vec<_>>()
    );
    let written: BTreeSet<i64> = files_in(&data.join("mail"))
        .iter()
        .filter_map(|path| message_id(&std::fs::read_to_string(path).unwrap()))
        .collect();
    for m in &mail {
        assert!(written.contains(&m.id), "no .eml for message {}", m.id);
    }
    drop(server);
}

/// The decision recorded on a review, if any.
pub async fn decisions_of(db: &sea_orm::DatabaseConnection, review: &str) -> Option<String> {
    use sea_orm::EntityTrait;
    dossier::entity::review::Entity::find_by_id(review.parse::<i64>().unwrap())
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .decision
}

/// The outbox id in a message's `Message-ID: <outbox-ID-TIMESTAMP@guichet>` header.
pub fn message_id(eml: &str) -> Option<i64> {
    let line = eml
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
    let rest = &line[line.find("<outbox-")? + "<outbox-".len()..];
    rest.split('-').next()?.parse().ok()
}

/// Parses every message of a Maildir folder with Python's `email` package: recipient,
/// subject, Message-ID and attachments (content type, file name, whether it is a PDF).
fn parse_maildir(python: &str, dir: &Path) -> Vec<Value> {
    const SCRIPT: &str = r#"
import email, email.policy, json, pathlib, sys
out = []
for path in sorted(pathlib.Path(sys.argv[1]).iterdir()):
    m = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    attachments = []
    for part in m.walk():
        if part.is_multipart() or part.get_content_disposition() != "attachment":
            continue
        body = part.get_payload(decode=True) or b""
        attachments.append({"contentType": part.get_content_type(),
                            "filename": part.get_filename(),
                            "pdf": body.startswith(b"%PDF-") and b"%%EOF" in body})
    out.append({"to": str(m["To"]), "subject": str(m["Subject"]),
                "messageId": str(m["Message-ID"]), "attachments": attachments})
print(json.dumps(out))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", SCRIPT])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn submission_mail_queued_while_smtp_is_down_arrives_once_with_the_dossier_pdf() {
    let Some(python) = python_with_aiosmtpd() else {
        assert!(!require_all(), "aiosmtpd is required (GUICHET_TEST_PYTHON)");
        eprintln!("aiosmtpd not available: skipped");
        return;
    };
    let port = free_port();
    let app = TestApp::spawn_with(|s| s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let f = Fixture::with_app(app).await;
    let worker = guichet::app::start_mail_worker(&f.app.state).unwrap();
    let id = f.submitted().await;
    let db = f.app.state.db.clone();
    let queued = catalog::outbox::all(&db).await.unwrap();
    assert_eq!(queued.len(), submission_mail().len());

    // SMTP is down: each message fails once and waits for its retry.
    assert!(
        eventually(Duration::from_secs(15), async || {
            catalog::outbox::all(&db)
                .await
                .unwrap()
                .iter()
                .all(|m| m.attempts >= 1 && m.last_error.is_some() && m.sent_at.is_none())
        })
        .await,
        "the failed attempts were not recorded: {:?}",
        catalog::outbox::all(&db).await.unwrap()
    );

    // SMTP comes back.
    let maildir = f.app.dir.path().join("maildir");
    let _smtp = SmtpServer::start(&python, port, &maildir);
    assert!(
        eventually(Duration::from_secs(30), async || {
            catalog::outbox::all(&db)
                .await
                .unwrap()
                .iter()
                .all(|m| m.sent_at.is_some())
        })
        .await,
        "not all sent: {:?}",
        catalog::outbox::all(&db).await.unwrap()
    );
    worker.abort();

    // Each message arrived once; the funders' carry the dossier's PDF.
    let reference = f
        .ok(
            &f.holder,
            "query($id: ID!) { dossier(id: $id) { reference } }",
            json!({ "id": id }),
        )
        .await["dossier"]["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let delivered = parse_maildir(&python, &maildir.join("new"));
    let mut recipients: Vec<(String, String)> = delivered
        .iter()
        .map(|m| {
            let template = if m["attachments"].as_array().unwrap().is_empty() {
                "dossier_submitted"
            } else {
                "dossier_received"
            };
            (template.to_owned(), m["to"].as_str().unwrap().to_owned())
        })
        .collect();
    recipients.sort();
    assert_eq!(recipients, submission_mail(), "{delivered:#?}");
    let ids: BTreeSet<&str> = delivered
        .iter()
        .map(|m| m["messageId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), delivered.len(), "a message arrived twice");
    let outbox_ids: BTreeSet<i64> = ids
        .iter()
        .filter_map(|id| message_id(&format!("Message-ID: {id}")))
        .collect();
    assert_eq!(
        outbox_ids,
        queued.iter().map(|m| m.id).collect(),
        "{delivered:#?}"
    );
    for m in &delivered {
        assert!(m["subject"].as_str().unwrap().contains(&reference), "{m}");
        let to = m["to"].as_str().unwrap();
        if to == HOLDER_EMAIL {
            continue;
        }
        assert_eq!(
            m["attachments"],
            json!([{ "contentType": "application/pdf",
                     "filename": format!("{reference}.pdf"), "pdf": true }]),
            "{to}"
        );
    }
    assert!(reference.starts_with("GU-"));
}
