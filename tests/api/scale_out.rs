//! Scale-out: three real `guichet serve` processes on one PostgreSQL database, each with its
//! own data directory (its search index) and one attachment store they share
//! (`GUICHET_ATTACHMENTS_DIR`), all sending mail to one loopback SMTP server. No load balancer:
//! the test spreads its requests over the three itself, kills one with SIGKILL in the middle of
//! a burst, and checks that nothing acknowledged is lost and nothing is done twice.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::dossier_reliability::{
    BURST_QUOTAS, Burst, account, acknowledged, decisions_of, message_id, post, reference_in,
    send_burst, submission_mail, submit,
};
use crate::dossiers::{
    DECIDE, FUNDERS, HOLDER_EMAIL, SUBMIT, complete_input, graphql_at, publish_schemes,
    scheme_slugs, upload_at,
};
use crate::helpers::{fresh_database, postgres_admin_url, require_all, scheme_input};
use crate::mail::{SmtpServer, eventually, files_in, free_port, python_with_aiosmtpd};
use crate::startup::Server;

const GATEWAYS: usize = 3;
/// Submissions in the burst, spread over the gateways.
const BURST: usize = 30;
/// Dossiers submitted before the burst, whose reviews are decided during it.
const DECIDED_DURING_BURST: usize = 3;
/// The killed gateway goes once this many submissions of the burst were acknowledged.
const KILL_AFTER_ACKNOWLEDGED: usize = 6;
/// The gateway that is killed, twice: while the catalogue changes, then mid-burst.
const VICTIM: usize = 1;
/// How long a change made through one gateway may take to be searchable through another. The
/// gateways follow the change log every 500 ms (README « Operating Guichet »); the margin is
/// for a loaded CI machine.
const FRESHNESS_LIMIT: Duration = Duration::from_secs(10);

/// Three data directories, one attachment store, one database and one SMTP server.
struct Cluster {
    dirs: Vec<TempDir>,
    attachments: String,
    url: String,
    smtp_url: String,
}

impl Cluster {
    async fn start(&self, index: usize) -> Server {
        Server::start_with(
            self.dirs[index].path(),
            &self.url,
            &[],
            &[
                ("GUICHET_ATTACHMENTS_DIR", &self.attachments),
                ("SMTP_URL", &self.smtp_url),
                BURST_QUOTAS[0],
            ],
            Stdio::null(),
        )
        .await
    }
}

/// The slugs `searchSchemes` finds for `text` through the gateway at `base`.
async fn found(client: &reqwest::Client, base: &str, text: &str) -> Vec<String> {
    let body = graphql_at(
        client,
        base,
        None,
        "query($text: String) { searchSchemes(text: $text, first: 50) { hits { scheme { slug } } } }",
        json!({ "text": text }),
    )
    .await;
    assert!(body["errors"].is_null(), "{body}");
    body["data"]["searchSchemes"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["scheme"]["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until every gateway of `bases` finds `slug` for `text`; returns the longest wait.
async fn searchable_everywhere(
    client: &reqwest::Client,
    bases: &[&str],
    text: &str,
    slug: &str,
) -> Duration {
    let start = Instant::now();
    for base in bases {
        let ok = eventually(FRESHNESS_LIMIT, async || {
            found(client, base, text).await.iter().any(|s| s == slug)
        })
        .await;
        assert!(
            ok,
            "{slug} not searchable through {base} after {FRESHNESS_LIMIT:?}"
        );
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_gateways_share_one_postgresql_and_a_killed_one_loses_nothing() {
    if postgres_admin_url().is_none() {
        // Several processes on one SQLite file would work too, but the scale mode is PostgreSQL.
        eprintln!("PostgreSQL only (GUICHET_TEST_DATABASE_URL): skipped");
        return;
    }
    let Some(python) = python_with_aiosmtpd() else {
        assert!(!require_all(), "aiosmtpd is required (GUICHET_TEST_PYTHON)");
        eprintln!("aiosmtpd not available: skipped");
        return;
    };
    let shared = TempDir::new().unwrap();
    let dirs: Vec<TempDir> = (0..GATEWAYS).map(|_| TempDir::new().unwrap()).collect();
    let url = fresh_database(dirs[0].path(), true).await;
    let port = free_port();
    let maildir = shared.path().join("maildir");
    let _smtp = SmtpServer::start(&python, port, &maildir);
    let cluster = Cluster {
        attachments: shared.path().join("attachments").display().to_string(),
        dirs,
        url,
        smtp_url: format!("smtp://127.0.0.1:{port}"),
    };
    let data = cluster.dirs[0].path().to_owned();
    let staff = {
        let (data, url) = (data.clone(), cluster.url.clone());
        tokio::task::spawn_blocking(move || {
            account(&data, &url, "equipe@guichet.test", "staff", None)
        })
    };
    let mut gateways: Vec<Option<Server>> = Vec::new();
    for index in 0..GATEWAYS {
        gateways.push(Some(cluster.start(index).await));
    }
    let staff = staff.await.unwrap();
    let bases: Vec<String> = gateways
        .iter()
        .map(|g| g.as_ref().unwrap().url().to_owned())
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    // The catalogue changes through gateway 0 and is searchable through the others.
    publish_schemes(&client, &bases[0], &staff).await;
    let others: Vec<&str> = bases[1..].iter().map(String::as_str).collect();
    let lag = searchable_everywhere(&client, &others, "dernier commerce", FUNDERS[2].3).await;
    eprintln!(
        "a scheme published through one gateway was searchable through the others after {lag:?}"
    );

    // A gateway down while the catalogue changes catches up when it comes back.
    gateways[VICTIM].take().unwrap().kill();
    let mut input = scheme_input("aide-pendant-la-panne");
    input["title"] = json!("Aide aux lavoirs communaux pendant la panne");
    // The funder as published above (a scheme's funder entry updates the funder).
    let (funder, name, kind, _) = FUNDERS[0];
    input["funders"] = json!([{ "slug": funder, "name": name, "kind": kind,
                                "contactEmail": format!("contact@{funder}.test") }]);
    for (mutation, variables) in [
        (
            "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
            json!({ "input": input }),
        ),
        (
            "mutation($slug: String!) { publishScheme(slug: $slug) { status } }",
            json!({ "slug": "aide-pendant-la-panne" }),
        ),
    ] {
        let body = graphql_at(&client, &bases[0], Some(&staff), mutation, variables).await;
        assert!(body["errors"].is_null(), "{body}");
    }
    gateways[VICTIM] = Some(cluster.start(VICTIM).await);
    let bases: Vec<String> = gateways
        .iter()
        .map(|g| g.as_ref().unwrap().url().to_owned())
        .collect();
    let lag = searchable_everywhere(
        &client,
        &[&bases[VICTIM], &bases[2]],
        "lavoirs",
        "aide-pendant-la-panne",
    )
    .await;
    eprintln!(
        "a change made while a gateway was down was searchable through it {lag:?} after its restart"
    );

    // Accounts: tokens issued once work through every gateway.
    let mut people = vec![(HOLDER_EMAIL.to_owned(), "holder", None)];
    for (funder, ..) in FUNDERS {
        people.push((format!("agent@{funder}.test"), "funder", Some(funder)));
    }
    let mut tokens: Vec<String> = std::thread::scope(|scope| {
        let started: Vec<_> = people
            .iter()
            .map(|(email, role, funder)| {
                scope.spawn(|| account(&data, &cluster.url, email, role, *funder))
            })
            .collect();
        started.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let holder = tokens.remove(0);
    let agents = tokens;
    let gql = async |gateway: usize, token: &str, query: &str, variables: Value| {
        let body = graphql_at(&client, &bases[gateway], Some(token), query, variables).await;
        assert!(body["errors"].is_null(), "{query}: {body}");
        body["data"].clone()
    };

    // A login link asked through gateway 0 opens a session through gateway 2 that gateway 1
    // knows; a logout through gateway 1 ends it on gateway 0 with the next request.
    let db = catalog::db::connect(&cluster.url).await.unwrap();
    let asked = graphql_at(
        &client,
        &bases[0],
        None,
        "mutation { requestLoginLink(email: \"mairie@trois-passerelles.test\") }",
        json!({}),
    )
    .await;
    assert_eq!(asked["data"]["requestLoginLink"], true, "{asked}");
    let link = catalog::outbox::all(&db)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.template == "login_link")
        .expect("the login link was queued");
    let token = link.body_text.split("/login?token=").nth(1).unwrap();
    let token = token.split_whitespace().next().unwrap();
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let opened = crate::accounts::follow_login_link(
        &no_redirect,
        &format!("{}/login?token={token}", bases[2]),
        None,
    )
    .await;
    let cookie = crate::accounts::session_cookie(&opened).expect("a session cookie");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let me = async |gateway: usize| {
        let body: Value = client
            .post(format!("{}/graphql", bases[gateway]))
            .header("cookie", &cookie)
            .json(&json!({ "query": "{ me { email } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["data"]["me"]["email"].clone()
    };
    assert_eq!(me(1).await, "mairie@trois-passerelles.test");
    let closed = no_redirect
        .post(format!("{}/logout", bases[1]))
        .header("cookie", &cookie)
        .header("origin", &bases[1])
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 303);
    assert!(me(0).await.is_null(), "the session outlived its logout");

    // One dossier through all three: created on 0, a piece added on 1 and downloaded from 2
    // (the shared store), submitted on 2 and submitted again with the same key on 0.
    let created = gql(
        0,
        &holder,
        "mutation($input: DossierInput!) { createDossier(input: $input) { id } }",
        json!({ "input": complete_input() }),
    )
    .await;
    let journey = created["createDossier"]["id"].as_str().unwrap().to_owned();
    let piece = b"%PDF-1.4\n% devis du lavoir\n%%EOF\n".repeat(40);
    let uploaded = upload_at(
        &client,
        &bases[1],
        &holder,
        &journey,
        "Devis",
        "devis.pdf",
        &piece,
    )
    .await;
    assert!(uploaded["errors"].is_null(), "{uploaded}");
    let piece_url = uploaded["data"]["addAttachment"]["url"].as_str().unwrap();
    let downloaded = client
        .get(format!("{}{piece_url}", bases[2]))
        .bearer_auth(&holder)
        .send()
        .await
        .unwrap();
    assert_eq!(downloaded.status(), 200);
    assert_eq!(downloaded.bytes().await.unwrap().as_ref(), piece.as_slice());
    let key = json!({ "id": journey, "slugs": scheme_slugs(), "key": "depot-trois-passerelles" });
    let first = gql(2, &holder, SUBMIT, key.clone()).await;
    let again = gql(0, &holder, SUBMIT, key).await;
    assert_eq!(
        first, again,
        "the same key gave another result on another gateway"
    );
    assert_eq!(first["submitDossier"]["status"], "SUBMITTED");

    // Drafts for the burst, and dossiers whose reviews are decided during it.
    let mut drafts = Vec::new();
    for i in 0..BURST + DECIDED_DURING_BURST {
        let created = gql(
            i % GATEWAYS,
            &holder,
            "mutation($input: DossierInput!) { createDossier(input: $input) { id } }",
            json!({ "input": complete_input() }),
        )
        .await;
        drafts.push(created["createDossier"]["id"].as_str().unwrap().to_owned());
    }
    let burst: Vec<String> = drafts.split_off(DECIDED_DURING_BURST);
    let mut decisions = Vec::new(); // (review id, agent index, decision)
    for (i, id) in drafts.iter().enumerate() {
        assert!(acknowledged(
            &submit(&client, &bases[i % GATEWAYS], &holder, id).await,
            "submitDossier",
            "SUBMITTED"
        ));
        let reviews = gql(
            i % GATEWAYS,
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
            let decision = ["GRANTED", "REFUSED"][decisions.len() % 2];
            decisions.push((review["id"].as_str().unwrap().to_owned(), agent, decision));
        }
    }

    // The burst, spread over the three gateways; the victim is killed once enough
    // submissions were acknowledged.
    let (answers, decision_answers) = send_burst(
        &client,
        &bases,
        Burst {
            holder: &holder,
            drafts: &burst,
            agents: &agents,
            decisions: &decisions,
        },
        KILL_AFTER_ACKNOWLEDGED,
        || gateways[VICTIM].take().unwrap().kill(),
    )
    .await;

    // The surviving gateways answered everything; the victim answered or lost the connection,
    // never with an error.
    let burst_gateway = |i: usize| i % GATEWAYS;
    for (i, answer) in answers.iter().enumerate() {
        match answer {
            Some((status, body)) => assert!(
                *status == 200 && body["errors"].is_null(),
                "submission {i} through gateway {} failed: {answer:?}",
                burst_gateway(i)
            ),
            None => assert_eq!(
                burst_gateway(i),
                VICTIM,
                "a surviving gateway dropped a submission"
            ),
        }
    }
    for (i, answer) in decision_answers.iter().enumerate() {
        match answer {
            Some((status, body)) => assert!(
                *status == 200 && body["errors"].is_null(),
                "decision {i} failed: {answer:?}"
            ),
            None => assert_eq!(
                i % GATEWAYS,
                VICTIM,
                "a surviving gateway dropped a decision"
            ),
        }
    }
    let acked: Vec<bool> = answers
        .iter()
        .map(|a| acknowledged(a, "submitDossier", "SUBMITTED"))
        .collect();
    eprintln!(
        "gateway {VICTIM} killed: {}/{BURST} submissions and {}/{} decisions acknowledged, {} lost with it",
        acked.iter().filter(|a| **a).count(),
        decision_answers.iter().filter(|a| a.is_some()).count(),
        decisions.len(),
        answers
            .iter()
            .chain(&decision_answers)
            .filter(|a| a.is_none())
            .count()
    );

    // What was not acknowledged is retried on a surviving gateway, with the same key: each
    // submission is then submitted once; a decision is recorded once (a retry of one the
    // victim had committed meets the decided review).
    let survivor = |i: usize| {
        if i % GATEWAYS == VICTIM {
            0
        } else {
            i % GATEWAYS
        }
    };
    for (i, (id, ok)) in burst.iter().zip(&acked).enumerate() {
        if !ok {
            let answer = submit(&client, &bases[survivor(i)], &holder, id).await;
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
    for (i, ((review, agent, decision), answer)) in
        decisions.iter().zip(&decision_answers).enumerate()
    {
        if answer.is_none() && decisions_of(&db, review).await.is_none() {
            let variables = json!({ "id": review, "decision": decision,
                "amount": (*decision == "GRANTED").then_some(20000),
                "motivation": "Décision rendue pendant la rafale." });
            let retried = post(
                &client,
                &bases[survivor(i)],
                &agents[*agent],
                DECIDE,
                variables,
            )
            .await;
            assert!(acknowledged(&retried, "decide", "DECIDED"), "{retried:?}");
        }
        assert_eq!(
            decisions_of(&db, review).await.as_deref(),
            Some(*decision),
            "review {review}"
        );
    }

    // Every dossier: its three reviews, its status, and its messages queued exactly once.
    let mail = catalog::outbox::all(&db).await.unwrap();
    let mut by_reference: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for m in mail.iter().filter(|m| m.template != "login_link") {
        let reference = reference_in(&m.subject)
            .unwrap_or_else(|| panic!("a message names no dossier: {}", m.subject));
        by_reference
            .entry(reference)
            .or_default()
            .push((m.template.clone(), m.recipient.clone()));
    }
    let all: Vec<&String> = std::iter::once(&journey)
        .chain(&drafts)
        .chain(&burst)
        .collect();
    for id in &all {
        let d = dossier::dossier::load(&db, id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        let reviews = dossier::review::reviews_of(&db, d.id).await.unwrap();
        let funders: BTreeSet<i64> = reviews.iter().map(|r| r.funder_id).collect();
        assert_eq!((reviews.len(), funders.len()), (3, 3), "{}", d.reference);
        let mut messages = by_reference.remove(&d.reference).unwrap_or_default();
        let told = messages
            .iter()
            .filter(|(t, _)| t == "dossier_decided")
            .count();
        let decided = reviews.iter().filter(|r| r.status == "DECIDED").count();
        assert_eq!(told, decided, "{}: {messages:?}", d.reference);
        messages.retain(|(t, _)| t != "dossier_decided");
        messages.sort();
        assert_eq!(messages, submission_mail(), "{}", d.reference);
        let expected = match decided {
            3 => dossier::DossierStatus::Decided,
            0 => dossier::DossierStatus::Submitted,
            _ => dossier::DossierStatus::InReview,
        };
        assert_eq!(d.status, expected, "{}", d.reference);
    }
    assert!(
        by_reference.is_empty(),
        "messages about unknown dossiers: {by_reference:?}"
    );

    // The two survivors send every message; those the victim was sending (at most
    // `IN_FLIGHT`), if any, wait for their leases. Each arrives once, except those, which may
    // arrive twice with the same Message-ID (delivery is at least once: the victim may have
    // died between the SMTP server's acceptance and marking them sent).
    let limit = guichet::mail::LEASE.to_std().unwrap() + Duration::from_secs(60);
    let all_sent = eventually(limit, async || {
        catalog::outbox::all(&db)
            .await
            .unwrap()
            .iter()
            .all(|m| m.sent_at.is_some())
    })
    .await;
    assert!(all_sent, "messages left unsent");
    let mut delivered: BTreeMap<i64, usize> = BTreeMap::new();
    for path in files_in(&maildir.join("new")) {
        let id = message_id(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|| panic!("no Message-ID in {}", path.display()));
        *delivered.entry(id).or_default() += 1;
    }
    let queued: BTreeSet<i64> = mail.iter().map(|m| m.id).collect();
    assert_eq!(
        delivered.keys().copied().collect::<BTreeSet<_>>(),
        queued,
        "delivered and queued messages differ"
    );
    let twice: Vec<(&i64, &usize)> = delivered.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= guichet::mail::IN_FLIGHT && twice.iter().all(|(_, n)| **n == 2),
        "messages delivered more than once: {twice:?}"
    );
    eprintln!(
        "{} messages, each delivered once{}",
        queued.len(),
        if twice.is_empty() {
            String::new()
        } else {
            format!(
                " but {:?} (twice: in flight when their sender died)",
                twice.iter().map(|(id, _)| id).collect::<Vec<_>>()
            )
        }
    );
}
