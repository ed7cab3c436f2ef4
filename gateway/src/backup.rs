//! `guichet backup DIR` and `guichet restore DIR`: a consistent copy of the embedded database
//! and of the attachment store, taken while the server runs, and its return into a data
//! directory.
//!
//! A backup directory holds `guichet.db` (SQLite only: a `VACUUM INTO` snapshot, one
//! consistent read transaction that does not stop writers), `attachments/` (the
//! content-addressed store, copied after the snapshot: files are immutable and written before
//! the rows that name them, so every row of the snapshot has its file) and `manifest.json`,
//! written last and atomically: a directory without it is an interrupted backup. On
//! PostgreSQL the database is saved with `pg_dump`, which Guichet explains rather than runs.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// Name of the manifest, written last.
pub const MANIFEST: &str = "manifest.json";
/// Name of the SQLite snapshot in a backup.
pub const DATABASE_FILE: &str = "guichet.db";
/// Name of the dump `pg_dump` is asked to write into a backup (PostgreSQL).
pub const PG_DUMP_FILE: &str = "guichet.pgdump";
/// Folder of the attachment store in a backup (same layout as in a data directory).
pub const ATTACHMENTS_DIR: &str = "attachments";
/// The manifest format this version writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Which database a backup comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    Sqlite,
    Postgres,
}

impl DatabaseKind {
    fn of(settings: &Settings) -> Self {
        if settings.is_sqlite() {
            DatabaseKind::Sqlite
        } else {
            DatabaseKind::Postgres
        }
    }

    fn label(self) -> &'static str {
        match self {
            DatabaseKind::Sqlite => "SQLite",
            DatabaseKind::Postgres => "PostgreSQL",
        }
    }
}

/// What the database held when the backup was taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub schemes: u64,
    pub dossiers: u64,
    pub attachments: u64,
}

/// `manifest.json`: what a complete backup contains, with the checksums restore verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format_version: u32,
    pub guichet_version: String,
    pub created_at: DateTime<Utc>,
    pub database: DatabaseKind,
    /// The database file in the backup (`guichet.db`; on PostgreSQL, `guichet.pgdump` when
    /// `pg_dump` had written it there before the backup), if any.
    pub database_file: Option<String>,
    /// SHA-256 of `database_file`.
    pub database_sha256: Option<String>,
    pub counts: Counts,
    /// SHA-256 of every file of `attachments/`, sorted.
    pub attachments: Vec<String>,
}

/// The SQLite file a `sqlite:` URL names (`None` for an in-memory database).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

/// Takes a backup of the data of `settings` into `dir`; returns what to tell the operator.
pub async fn backup(settings: &Settings, dir: &Path) -> anyhow::Result<String> {
    let kind = DatabaseKind::of(settings);
    check_backup_target(dir, kind)?;
    if kind == DatabaseKind::Sqlite {
        let source = sqlite_path(&settings.database_url)
            .context("DATABASE_URL ne désigne pas un fichier SQLite")?;
        if !source.exists() {
            bail!(
                "aucune base à sauvegarder : {} n'existe pas",
                source.display()
            );
        }
    }
    std::fs::create_dir_all(dir)
        .with_context(|| format!("impossible de créer le dossier {}", dir.display()))?;
    let mut out = String::new();
    let (counts, required, database_file) = match kind {
        DatabaseKind::Sqlite => {
            let snapshot = dir.join(DATABASE_FILE);
            snapshot_sqlite(&settings.database_url, &snapshot).await?;
            let (counts, required) = read_snapshot(&snapshot).await?;
            (counts, required, Some(DATABASE_FILE.to_owned()))
        }
        DatabaseKind::Postgres => {
            // Read before the files are copied, so that every row counted has its file.
            let db = catalog::db::connect(&settings.database_url)
                .await
                .context("connexion à la base de données impossible")?;
            let read = (count_rows(&db).await?, required_digests(&db).await?);
            db.close().await?;
            let dump = dir.join(PG_DUMP_FILE);
            let file = dump.exists().then(|| PG_DUMP_FILE.to_owned());
            if file.is_none() {
                writeln!(
                    out,
                    "La base PostgreSQL n'est pas copiée par Guichet : sauvegardez-la avec pg_dump, \
                     de préférence juste avant cette commande (les pièces jointes sont écrites avant \
                     les lignes qui les nomment, donc chaque ligne de la copie aura son fichier) :\n\n  \
                     pg_dump --format=custom --file={} \"$DATABASE_URL\"\n",
                    shell_quote(&dump)
                )?;
            }
            (read.0, read.1, file)
        }
    };

    let (source_store, target_store) =
        (settings.attachments_dir.clone(), dir.join(ATTACHMENTS_DIR));
    let copied =
        tokio::task::spawn_blocking(move || copy_store(&source_store, &target_store)).await??;
    let missing: Vec<&String> = required.difference(&copied).collect();
    if !missing.is_empty() {
        bail!(
            "sauvegarde incomplète : {} pièce(s) jointe(s) nommée(s) par la base manquent dans {} \
             (par exemple {}) ; aucun manifest.json n'a été écrit",
            missing.len(),
            settings.attachments_dir.display(),
            missing[0]
        );
    }
    let database_sha256 = match &database_file {
        Some(name) => Some(sha256_file(&dir.join(name))?),
        None => None,
    };
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        guichet_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at: Utc::now(),
        database: kind,
        database_file,
        database_sha256,
        counts,
        attachments: copied.into_iter().collect(),
    };
    write_atomically(&dir.join(MANIFEST), &serde_json::to_vec_pretty(&manifest)?)?;
    writeln!(
        out,
        "Sauvegarde terminée dans {} : {} dispositifs, {} dossiers, {} pièces jointes ({} fichiers).",
        dir.display(),
        counts.schemes,
        counts.dossiers,
        counts.attachments,
        manifest.attachments.len()
    )?;
    if kind == DatabaseKind::Postgres && manifest.database_file.is_none() {
        writeln!(
            out,
            "Cette sauvegarde ne contient que les pièces jointes : gardez le fichier de pg_dump avec elle."
        )?;
    }
    Ok(out)
}

/// A backup goes into a new or empty folder (on PostgreSQL, one that may already hold the
/// dump `pg_dump` just wrote).
fn check_backup_target(dir: &Path, kind: DatabaseKind) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        bail!("{} existe et n'est pas un dossier", dir.display());
    }
    let entries: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("lecture de {} impossible", dir.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    if entries.iter().any(|e| e == MANIFEST) {
        bail!(
            "{} contient déjà une sauvegarde (manifest.json) : choisissez un dossier vide",
            dir.display()
        );
    }
    let allowed = |e: &String| kind == DatabaseKind::Postgres && e == PG_DUMP_FILE;
    if entries.iter().any(|e| !allowed(e)) {
        bail!(
            "{} n'est pas vide : une sauvegarde va dans un dossier nouveau ou vide",
            dir.display()
        );
    }
    Ok(())
}

/// `VACUUM INTO`: one read transaction, so a consistent snapshot even while others write
/// (WAL lets them go on).
async fn snapshot_sqlite(url: &str, snapshot: &Path) -> anyhow::Result<()> {
    let target = snapshot
        .to_str()
        .context("le chemin de la sauvegarde n'est pas en UTF-8")?;
    let db = catalog::db::connect(url)
        .await
        .context("connexion à la base de données impossible")?;
    let result = db
        .execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [target.into()],
        ))
        .await;
    db.close().await?;
    result.context("copie de la base (VACUUM INTO) impossible")?;
    Ok(())
}

/// Opens the snapshot alone, makes it a single self-contained file (rollback journal, not
/// WAL), checks it and reads what the manifest records.
async fn read_snapshot(snapshot: &Path) -> anyhow::Result<(Counts, BTreeSet<String>)> {
    use sea_orm::sqlx::sqlite::SqliteJournalMode;
    let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rw", snapshot.display()));
    options
        .sqlx_logging(false)
        .max_connections(1)
        .map_sqlx_sqlite_opts(|o| o.journal_mode(SqliteJournalMode::Delete));
    let db = Database::connect(options)
        .await
        .context("la copie de la base ne s'ouvre pas")?;
    let check = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA quick_check",
        ))
        .await?
        .map(|row| row.try_get_by_index::<String>(0))
        .transpose()?;
    if check.as_deref() != Some("ok") {
        bail!(
            "la copie de la base est invalide : {}",
            check.unwrap_or_default()
        );
    }
    let read = (count_rows(&db).await?, required_digests(&db).await?);
    db.close().await?;
    Ok(read)
}

async fn table_exists(db: &DatabaseConnection, table: &str) -> anyhow::Result<bool> {
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = $1"
        }
        _ => {
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            [table.into()],
        ))
        .await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()? == Some(1))
}

/// Rows of `table`, 0 when the table does not exist (a database older than dossiers).
async fn count(db: &DatabaseConnection, table: &str) -> anyhow::Result<u64> {
    if !table_exists(db, table).await? {
        return Ok(0);
    }
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT count(*) FROM {table}"),
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0)
        .max(0) as u64)
}

async fn count_rows(db: &DatabaseConnection) -> anyhow::Result<Counts> {
    Ok(Counts {
        schemes: count(db, "scheme").await?,
        dossiers: count(db, "dossier").await?,
        attachments: count(db, "attachment").await?,
    })
}

/// The files the database names: attachments, and the files of queued messages (the dossier
/// PDFs sent to funders).
async fn required_digests(db: &DatabaseConnection) -> anyhow::Result<BTreeSet<String>> {
    let backend = db.get_database_backend();
    let mut digests = BTreeSet::new();
    if table_exists(db, "attachment").await? {
        for row in db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT DISTINCT sha256 FROM attachment",
            ))
            .await?
        {
            digests.insert(row.try_get_by_index::<String>(0)?);
        }
    }
    if table_exists(db, "outbox").await? {
        let has_files = db
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT attachments FROM outbox WHERE 1 = 0",
            ))
            .await
            .is_ok();
        if has_files {
            for row in db
                .query_all_raw(Statement::from_string(
                    backend,
                    "SELECT attachments FROM outbox WHERE attachments IS NOT NULL",
                ))
                .await?
            {
                let json: String = row.try_get_by_index(0)?;
                let files: Vec<catalog::outbox::MailAttachment> =
                    serde_json::from_str(&json).unwrap_or_default();
                digests.extend(files.into_iter().map(|f| f.sha256));
            }
        }
    }
    Ok(digests)
}

fn is_digest(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The files of a content-addressed store (`ROOT/ab/abcdef…`), by digest; temporary files
/// of writes in progress are not part of it.
fn store_files(root: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    if !root.exists() {
        return Ok(files);
    }
    for shard in std::fs::read_dir(root)
        .with_context(|| format!("lecture de {} impossible", root.display()))?
    {
        let shard = shard?;
        if !shard.file_type()?.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(shard.path())? {
            let file = file?;
            let name = file.file_name().to_string_lossy().into_owned();
            if is_digest(&name) && name[..2] == *shard.file_name().to_string_lossy() {
                files.push((name, file.path()));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn store_path(root: &Path, digest: &str) -> PathBuf {
    root.join(&digest[..2]).join(digest)
}

/// Copies every file of the store at `from` into `to`, checking each against its name;
/// returns their digests.
fn copy_store(from: &Path, to: &Path) -> anyhow::Result<BTreeSet<String>> {
    let mut copied = BTreeSet::new();
    for (digest, path) in store_files(from)? {
        let bytes = std::fs::read(&path)
            .with_context(|| format!("lecture de {} impossible", path.display()))?;
        if dossier::blob::sha256_hex(&bytes) != digest {
            bail!(
                "la pièce jointe {} ne correspond plus à son empreinte SHA-256 (fichier altéré dans {})",
                digest,
                from.display()
            );
        }
        let target = store_path(to, &digest);
        std::fs::create_dir_all(target.parent().expect("sharded path"))?;
        std::fs::write(&target, &bytes)
            .with_context(|| format!("écriture de {} impossible", target.display()))?;
        copied.insert(digest);
    }
    Ok(copied)
}

/// SHA-256 of a file, read in pieces.
fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("lecture de {} impossible", path.display()))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)
        .with_context(|| format!("lecture de {} impossible", path.display()))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn temp_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", rand::random::<u64>()))
}

fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temp = temp_beside(path);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        sync_parent(path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| format!("écriture de {} impossible", path.display()))
}

/// Copies `from` to `to` through a synced temporary file and a rename; `before_rename` runs
/// once the copy is safe on disk.
fn copy_atomically(
    from: &Path,
    to: &Path,
    before_rename: impl FnOnce() -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let temp = temp_beside(to);
    let result = (|| {
        std::fs::copy(from, &temp)?;
        std::fs::File::open(&temp)?.sync_all()?;
        before_rename()?;
        std::fs::rename(&temp, to)?;
        sync_parent(to)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result.with_context(|| {
        format!(
            "copie de {} vers {} impossible",
            from.display(),
            to.display()
        )
    })
}

/// Reads and checks `DIR/manifest.json` and every file it names; the errors say what is
/// wrong, and nothing has been touched yet.
pub fn verify(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} n'a pas de manifest.json : ce n'est pas une sauvegarde Guichet, ou elle a été \
             interrompue avant la fin",
            dir.display()
        ),
        Err(e) => {
            return Err(e).with_context(|| format!("lecture de {} impossible", path.display()));
        }
    };
    let manifest: Manifest = serde_json::from_slice(&text)
        .map_err(|e| anyhow::anyhow!("manifest.json illisible ({e}) : la sauvegarde est abîmée"))?;
    if manifest.format_version != FORMAT_VERSION {
        bail!(
            "manifest.json est au format {} ; cette version de Guichet ({}) lit le format {}",
            manifest.format_version,
            env!("CARGO_PKG_VERSION"),
            FORMAT_VERSION
        );
    }
    let mut problems = Vec::new();
    match (&manifest.database_file, &manifest.database_sha256) {
        (Some(name), Some(expected)) => {
            let file = dir.join(name);
            if name.contains(['/', '\\']) || name.starts_with('.') {
                problems.push(format!("{name} : nom de fichier refusé"));
            } else if !file.exists() {
                problems.push(format!("{name} est absent"));
            } else if sha256_file(&file)? != *expected {
                problems.push(format!(
                    "{name} ne correspond pas à l'empreinte SHA-256 du manifeste (fichier abîmé ou modifié)"
                ));
            }
        }
        (None, None) if manifest.database == DatabaseKind::Postgres => {}
        _ => problems.push("le manifeste ne dit pas quel fichier contient la base".to_owned()),
    }
    let store = dir.join(ATTACHMENTS_DIR);
    for digest in &manifest.attachments {
        if !is_digest(digest) {
            problems.push(format!("« {digest} » n'est pas une empreinte SHA-256"));
            continue;
        }
        match std::fs::read(store_path(&store, digest)) {
            Ok(bytes) if dossier::blob::sha256_hex(&bytes) == *digest => {}
            Ok(_) => problems.push(format!(
                "la pièce jointe attachments/{}/{digest} ne correspond pas à son empreinte SHA-256 (fichier abîmé ou modifié)",
                &digest[..2]
            )),
            Err(_) => problems.push(format!(
                "la pièce jointe attachments/{}/{digest} est absente",
                &digest[..2]
            )),
        }
    }
    if !problems.is_empty() {
        let shown = problems.len().min(10);
        let mut message = format!(
            "la sauvegarde {} est invalide ; rien n'a été restauré :",
            dir.display()
        );
        for problem in &problems[..shown] {
            message.push_str("\n  - ");
            message.push_str(problem);
        }
        if problems.len() > shown {
            let _ = write!(message, "\n  … et {} autre(s)", problems.len() - shown);
        }
        bail!(message);
    }
    Ok(manifest)
}

/// Restores the backup in `dir` into the data of `settings`; returns what to tell the
/// operator. The server must be stopped.
pub async fn restore(settings: &Settings, dir: &Path, force: bool) -> anyhow::Result<String> {
    let manifest = verify(dir)?;
    let kind = DatabaseKind::of(settings);
    if manifest.database != kind {
        bail!(
            "cette sauvegarde vient d'une base {}, mais DATABASE_URL désigne une base {}",
            manifest.database.label(),
            kind.label()
        );
    }
    let mut out = String::new();
    let target = match kind {
        DatabaseKind::Sqlite => {
            let target = sqlite_path(&settings.database_url)
                .context("DATABASE_URL ne désigne pas un fichier SQLite")?;
            if target.exists() && !force {
                bail!(
                    "le dossier de données contient déjà une base ({}) ; ajoutez --force pour la \
                     remplacer (serveur arrêté)",
                    target.display()
                );
            }
            Some(target)
        }
        DatabaseKind::Postgres => None,
    };
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "impossible de créer le dossier de données {}",
            settings.data_dir.display()
        )
    })?;
    let (backup, store, digests) = (
        dir.to_owned(),
        settings.attachments_dir.clone(),
        manifest.attachments.clone(),
    );
    let database_file = manifest.database_file.clone();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        if let (Some(target), Some(name)) = (&target, &database_file) {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // The old database's journal must go with it: applied to the new file, it would
            // corrupt it.
            copy_atomically(&backup.join(name), target, || {
                for suffix in ["-wal", "-shm", "-journal"] {
                    let mut side = target.clone().into_os_string();
                    side.push(suffix);
                    match std::fs::remove_file(PathBuf::from(side)) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                Ok(())
            })?;
        }
        let from = backup.join(ATTACHMENTS_DIR);
        for digest in &digests {
            let to = store_path(&store, digest);
            if to.exists() && sha256_file(&to)? == *digest {
                continue;
            }
            std::fs::create_dir_all(to.parent().expect("sharded path"))?;
            copy_atomically(&store_path(&from, digest), &to, || Ok(()))?;
        }
        Ok(())
    })
    .await??;
    let index = settings.index_dir();
    if index.exists() {
        std::fs::remove_dir_all(&index)
            .with_context(|| format!("suppression de l'index {} impossible", index.display()))?;
    }
    if kind == DatabaseKind::Postgres {
        let dump = dir.join(manifest.database_file.as_deref().unwrap_or(PG_DUMP_FILE));
        writeln!(
            out,
            "La base PostgreSQL n'est pas restaurée par Guichet : restaurez-la avec pg_restore \
             (dump au format custom) dans une base vide, avant de démarrer le serveur :\n\n  \
             pg_restore --no-owner --dbname=\"$DATABASE_URL\" {}\n\n\
             ou, pour un dump en SQL : psql \"$DATABASE_URL\" --file=FICHIER.sql\n",
            shell_quote(&dump)
        )?;
    }
    writeln!(
        out,
        "Sauvegarde du {} restaurée dans {} : {} dispositifs, {} dossiers, {} pièces jointes ({} fichiers). \
         L'index de recherche sera reconstruit au prochain démarrage.",
        manifest.created_at.format("%d/%m/%Y à %H:%M:%S UTC"),
        settings.data_dir.display(),
        manifest.counts.schemes,
        manifest.counts.dossiers,
        manifest.counts.attachments,
        manifest.attachments.len()
    )?;
    Ok(out)
}

/// A path as one shell word.
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:,@".contains(c))
    {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/x/guichet.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x/guichet.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:guichet.db"),
            Some(PathBuf::from("guichet.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://h/db"), None);
    }

    #[test]
    fn paths_are_quoted_for_the_shell() {
        assert_eq!(shell_quote(Path::new("/srv/sauvegarde")), "/srv/sauvegarde");
        assert_eq!(shell_quote(Path::new("/srv/l'été")), "'/srv/l'\\''été'");
    }
}
