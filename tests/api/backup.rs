//! `guichet backup` taken from the command line while the real server takes dossiers,
//! attachments and schemes, then `guichet restore` into a fresh directory: what comes back is
//! whole and matches the original; damaged backups and occupied data directories are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::dossiers::{
    HOLDER_EMAIL, SUBMIT, complete_input, graphql_at, publish_schemes, scheme_slugs, upload_at,
};
use crate::helpers::{fresh_database, guichet, guichet_ok, postgres_admin_url, scheme_input};
use crate::startup::Server;

/// Concurrent writers, and the most rounds each makes (the dossier list is read in one page).
const WRITERS: usize = 2;
const MAX_ROUNDS: usize = 30;

/// Creates an account with the CLI and returns a new API token for it.
fn account(dir: &Path, url: &str, email: &str, role: &str) -> String {
    guichet_ok(dir, url, &["user", "add", "--email", email, "--role", role]);
    let out = guichet_ok(dir, url, &["token", "issue", "--email", email]);
    out.lines().last().unwrap().trim().to_owned()
}

/// What the writers had finished: dossiers (id, submitted) and created scheme slugs.
#[derive(Clone, Default)]
struct Written {
    dossiers: BTreeMap<String, bool>,
    schemes: BTreeSet<String>,
}

async fn gql(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let body = graphql_at(client, base, Some(token), query, variables).await;
    assert!(body["errors"].is_null(), "{query}: {body}");
    body["data"].clone()
}

/// Attaches `bytes` to a dossier as « Devis ».
async fn upload(client: &reqwest::Client, base: &str, token: &str, dossier: &str, bytes: &[u8]) {
    let answer = upload_at(client, base, token, dossier, "Devis", "devis.pdf", bytes).await;
    assert!(answer["errors"].is_null(), "{answer}");
}

/// One writer: until told to stop, a dossier with an attachment, submitted, and every other
/// round a new scheme.
async fn write_until(
    stop: Arc<AtomicBool>,
    written: Arc<Mutex<Written>>,
    writer: usize,
    client: reqwest::Client,
    base: String,
    holder: String,
    staff: String,
) {
    for round in 0..MAX_ROUNDS {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let created = gql(
            &client,
            &base,
            &holder,
            "mutation($input: DossierInput!) { createDossier(input: $input) { id } }",
            json!({ "input": complete_input() }),
        )
        .await;
        let id = created["createDossier"]["id"].as_str().unwrap().to_owned();
        written.lock().unwrap().dossiers.insert(id.clone(), false);
        let pdf =
            format!("%PDF-1.4\n% devis {writer}-{round}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");
        upload(&client, &base, &holder, &id, pdf.as_bytes()).await;
        let submitted = gql(
            &client,
            &base,
            &holder,
            SUBMIT,
            json!({ "id": id, "slugs": scheme_slugs(), "key": format!("depot-sauvegarde-{id}") }),
        )
        .await;
        assert_eq!(submitted["submitDossier"]["status"], "SUBMITTED");
        written.lock().unwrap().dossiers.insert(id, true);
        if round % 2 == 0 {
            let slug = format!("sauvegarde-{writer}-{round}");
            gql(
                &client,
                &base,
                &staff,
                "mutation($input: SchemeInput!) { createScheme(input: $input) { slug } }",
                json!({ "input": scheme_input(&slug) }),
            )
            .await;
            written.lock().unwrap().schemes.insert(slug);
        }
    }
}

const DOSSIERS: &str = "{ dossiers(first: 100) { total nodes { id reference status
  reviews { funder { slug } status requestedAmount }
  attachments { id label filename contentType size sha256 }
  events { action } } } }";

/// Every dossier staff can see on the server at `base`, by id.
async fn dossiers(client: &reqwest::Client, base: &str, staff: &str) -> BTreeMap<String, Value> {
    let data = gql(client, base, staff, DOSSIERS, json!({})).await;
    let total = data["dossiers"]["total"].as_u64().unwrap();
    let nodes = data["dossiers"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len() as u64, total, "more dossiers than one page");
    nodes
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_owned(), d.clone()))
        .collect()
}

/// The `guichet` export of a data directory, by slug.
fn export(dir: &Path, url: &str) -> BTreeMap<String, Value> {
    let out = guichet_ok(dir, url, &["export", "--format", "guichet"]);
    serde_json::from_str::<Vec<Value>>(&out)
        .unwrap()
        .into_iter()
        .map(|s| (s["slug"].as_str().unwrap().to_owned(), s))
        .collect()
}

fn manifest(backup: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `guichet` expecting failure; returns its standard error.
fn guichet_fails(dir: &Path, url: &str, args: &[&str]) -> String {
    let out = guichet(dir, url, args);
    assert!(!out.status.success(), "guichet {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_whole_into_a_fresh_directory() {
    if postgres_admin_url().is_some() {
        eprintln!(
            "skipped: backup and restore of the database file are for SQLite (PostgreSQL uses pg_dump)"
        );
        return;
    }
    let original = TempDir::new().unwrap();
    let url = fresh_database(original.path(), true).await;
    let staff = account(original.path(), &url, "equipe@guichet.test", "staff");
    let holder = account(original.path(), &url, HOLDER_EMAIL, "holder");
    let server = Server::start(original.path(), &url, &[]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let base = server.url().to_owned();
    publish_schemes(&client, &base, &staff).await;

    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(Mutex::new(Written::default()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            tokio::spawn(write_until(
                stop.clone(),
                written.clone(),
                writer,
                client.clone(),
                base.clone(),
                holder.clone(),
                staff.clone(),
            ))
        })
        .collect();
    let progress = |written: &Arc<Mutex<Written>>| written.lock().unwrap().dossiers.len();
    while progress(&written) < 4 && !writers.iter().any(|w| w.is_finished()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The backup, from the command line, while the writers go on.
    let before = written.lock().unwrap().clone();
    let backups = TempDir::new().unwrap();
    let backup = backups.path().join("sauvegarde");
    let out = {
        let (data, url, backup) = (original.path().to_owned(), url.clone(), backup.clone());
        tokio::task::spawn_blocking(move || {
            guichet_ok(&data, &url, &["backup", backup.to_str().unwrap()])
        })
        .await
        .unwrap()
    };
    assert!(out.contains("Sauvegarde terminée"), "{out}");
    let during = progress(&written);
    while progress(&written) < during + 2 && !writers.iter().all(|w| w.is_finished()) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let after = written.lock().unwrap().clone();
    let original_export = export(original.path(), &url);
    let original_dossiers = dossiers(&client, &base, &staff).await;
    assert_eq!(original_dossiers.len(), after.dossiers.len());

    // A second backup into the same folder is refused.
    let err = guichet_fails(original.path(), &url, &["backup", backup.to_str().unwrap()]);
    assert!(err.contains("contient déjà une sauvegarde"), "{err}");

    let manifest = manifest(&backup);
    assert_eq!(manifest["formatVersion"], 1);
    assert_eq!(manifest["database"], "sqlite");
    assert_eq!(manifest["databaseFile"], "guichet.db");
    let counts = &manifest["counts"];

    // Restore into a fresh directory, and start a server there.
    let restored = TempDir::new().unwrap();
    let restored_url = fresh_database(restored.path(), false).await;
    let out = guichet_ok(
        restored.path(),
        &restored_url,
        &["restore", backup.to_str().unwrap()],
    );
    assert!(out.contains("restaurée"), "{out}");
    assert!(!restored.path().join("index").exists());
    let restored_export = export(restored.path(), &restored_url);
    let second = Server::start(restored.path(), &restored_url, &[]).await;
    assert!(
        restored.path().join("index").exists(),
        "the index is rebuilt at start"
    );

    // The catalogue: every scheme of the snapshot as in the original, none missing that
    // existed before the backup began, the count the manifest says.
    assert_eq!(
        restored_export.len() as u64,
        counts["schemes"].as_u64().unwrap()
    );
    for (slug, scheme) in &restored_export {
        assert_eq!(Some(scheme), original_export.get(slug), "{slug}");
    }
    for slug in original_export.keys() {
        assert!(
            restored_export.contains_key(slug)
                || (after.schemes.contains(slug) && !before.schemes.contains(slug)),
            "{slug} is missing from the restore"
        );
    }

    // Dossiers: whole, as in the original (or still a draft there, when the snapshot came
    // between creation and submission), every attachment downloadable and intact.
    let restored_dossiers = dossiers(&client, second.url(), &staff).await;
    assert_eq!(
        restored_dossiers.len() as u64,
        counts["dossiers"].as_u64().unwrap()
    );
    for (id, submitted) in &before.dossiers {
        let dossier = restored_dossiers
            .get(id)
            .unwrap_or_else(|| panic!("dossier {id}, written before the backup, is missing"));
        if *submitted {
            assert_eq!(dossier["status"], "SUBMITTED", "{dossier}");
        }
    }
    let mut attachments = 0;
    for (id, dossier) in &restored_dossiers {
        let original = &original_dossiers[id];
        if dossier["status"] == "SUBMITTED" {
            assert_eq!(dossier, original);
            assert_eq!(dossier["reviews"].as_array().unwrap().len(), 3, "{dossier}");
        } else {
            assert_eq!(dossier["status"], "DRAFT", "{dossier}");
            assert_eq!(dossier["reviews"], json!([]), "{dossier}");
        }
        for attachment in dossier["attachments"].as_array().unwrap() {
            attachments += 1;
            let response = client
                .get(format!(
                    "{}/pieces/{}",
                    second.url(),
                    attachment["id"].as_str().unwrap()
                ))
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{attachment}");
            let bytes = response.bytes().await.unwrap();
            assert_eq!(
                dossier::blob::sha256_hex(&bytes),
                attachment["sha256"],
                "{attachment}"
            );
        }
    }
    assert_eq!(attachments, counts["attachments"].as_u64().unwrap());
    assert!(attachments as usize >= before.dossiers.values().filter(|s| **s).count());
    drop(second);

    // A data directory that has a database is not overwritten without --force.
    let err = guichet_fails(
        restored.path(),
        &restored_url,
        &["restore", backup.to_str().unwrap()],
    );
    assert!(err.contains("--force"), "{err}");
    let out = guichet_ok(
        restored.path(),
        &restored_url,
        &["restore", backup.to_str().unwrap(), "--force"],
    );
    assert!(out.contains("restaurée"), "{out}");
    assert_eq!(export(restored.path(), &restored_url), restored_export);
}

#[tokio::test]
async fn damaged_or_incomplete_backups_are_refused_before_anything_is_touched() {
    if postgres_admin_url().is_some() {
        eprintln!(
            "skipped: backup and restore of the database file are for SQLite (PostgreSQL uses pg_dump)"
        );
        return;
    }
    let original = TempDir::new().unwrap();
    let url = fresh_database(original.path(), true).await;
    let attachment = b"%PDF-1.4\n% statuts\n%%EOF\n".to_vec();
    let digest = dossier::blob::BlobStore::in_data_dir(original.path())
        .put(attachment)
        .await
        .unwrap();
    let backups = TempDir::new().unwrap();
    let good = backups.path().join("bonne");
    guichet_ok(original.path(), &url, &["backup", good.to_str().unwrap()]);
    assert_eq!(manifest(&good)["attachments"], json!([digest]));

    // A non-empty folder is not a backup target.
    std::fs::write(backups.path().join("occupe.txt"), "x").unwrap();
    let err = guichet_fails(
        original.path(),
        &url,
        &["backup", backups.path().to_str().unwrap()],
    );
    assert!(err.contains("n'est pas vide"), "{err}");

    let target = TempDir::new().unwrap();
    let target_url = fresh_database(target.path(), false).await;
    let refused = |name: &str, damage: &dyn Fn(&Path), expected: &str| {
        let damaged = backups.path().join(name);
        copy_dir(&good, &damaged);
        damage(&damaged);
        let err = guichet_fails(
            target.path(),
            &target_url,
            &["restore", damaged.to_str().unwrap()],
        );
        assert!(err.contains(expected), "{name}: {err}");
        assert!(
            std::fs::read_dir(target.path()).unwrap().next().is_none(),
            "{name}: the data directory was touched"
        );
    };
    let piece = format!("attachments/{}/{digest}", &digest[..2]);
    refused(
        "piece-alteree",
        &|dir| std::fs::write(dir.join(&piece), b"%PDF-1.4\n% autre chose\n").unwrap(),
        &format!("{digest} ne correspond pas à son empreinte"),
    );
    refused(
        "piece-absente",
        &|dir| std::fs::remove_file(dir.join(&piece)).unwrap(),
        &format!("{digest} est absente"),
    );
    refused(
        "base-alteree",
        &|dir| {
            let mut bytes = std::fs::read(dir.join("guichet.db")).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xFF;
            std::fs::write(dir.join("guichet.db"), bytes).unwrap();
        },
        "guichet.db ne correspond pas à l'empreinte",
    );
    refused(
        "sans-manifeste",
        &|dir| std::fs::remove_file(dir.join("manifest.json")).unwrap(),
        "interrompue",
    );
    refused(
        "manifeste-illisible",
        &|dir| std::fs::write(dir.join("manifest.json"), "{").unwrap(),
        "manifest.json illisible",
    );

    // The good one restores, attachment included.
    guichet_ok(
        target.path(),
        &target_url,
        &["restore", good.to_str().unwrap()],
    );
    let restored = dossier::blob::BlobStore::in_data_dir(target.path());
    assert!(restored.get(&digest).await.unwrap().is_some());
}
