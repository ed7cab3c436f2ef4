//! Settings, built once at start-up from defaults, environment variables and flags (flags
//! win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./guichet-data";

/// What one holder's account may hold, from `GUICHET_QUOTA_DOSSIER_MB` and
/// `GUICHET_QUOTA_ACCOUNT_MB` (attachments per dossier and over all the account's dossiers,
/// in megabytes) and `GUICHET_QUOTA_DRAFTS` (drafts at once), as `var` gives them; defaults
/// for those unset. A value that is not a whole number from 1 to 1000000 is an error naming
/// its variable.
pub fn quotas_from(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<dossier::Quotas> {
    let number = |name: &str, default: u64| -> anyhow::Result<u64> {
        let Some(value) = var(name).filter(|v| !v.trim().is_empty()) else {
            return Ok(default);
        };
        value
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| {
                anyhow::anyhow!("{name} : « {value} » n'est pas un nombre entier de 1 à 1000000")
            })
    };
    const MB: u64 = 1024 * 1024;
    let defaults = dossier::Quotas::default();
    Ok(dossier::Quotas {
        dossier_bytes: number("GUICHET_QUOTA_DOSSIER_MB", defaults.dossier_bytes / MB)? * MB,
        account_bytes: number("GUICHET_QUOTA_ACCOUNT_MB", defaults.account_bytes / MB)? * MB,
        open_drafts: number("GUICHET_QUOTA_DRAFTS", defaults.open_drafts)?,
    })
}

/// Everything the gateway needs to know about its environment.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Where attachments and generated PDFs are stored, by content
    /// (`GUICHET_ATTACHMENTS_DIR`; default `<data dir>/attachments`). Gateways sharing one
    /// PostgreSQL must share this directory too.
    pub attachments_dir: PathBuf,
    pub database_url: String,
    /// `smtp://host:port`; `None` writes `.eml` files under `<data dir>/mail/`.
    pub smtp_url: Option<String>,
    /// Base of links in emails, without trailing slash.
    pub public_url: String,
    /// Where outgoing mail says it comes from.
    pub mail_from: String,
    /// Answers to public searches kept in memory (`GUICHET_SEARCH_CACHE`; 0 disables).
    pub search_cache_entries: usize,
    /// Bearer token that may read `/metrics` from anywhere (`GUICHET_METRICS_TOKEN`).
    pub metrics_token: Option<crate::metrics::Secret>,
    /// Longest a stop on SIGTERM may take before the process exits anyway
    /// (`GUICHET_SHUTDOWN_TIMEOUT`, in seconds).
    pub shutdown_timeout: std::time::Duration,
    /// Attachments per dossier and per account, drafts per account (see [`quotas_from`]).
    pub quotas: dossier::Quotas,
}

/// Default of [`Settings::shutdown_timeout`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

impl Settings {
    /// Settings for this data directory, with the other values from the environment.
    pub fn new(data_dir: &Path, listen: SocketAddr) -> Self {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let database_url = env("DATABASE_URL").unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("guichet.db").display()
            )
        });
        let public_url = env("GUICHET_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        Settings {
            listen,
            data_dir: data_dir.to_owned(),
            attachments_dir: env("GUICHET_ATTACHMENTS_DIR")
                .map_or_else(|| data_dir.join("attachments"), PathBuf::from),
            database_url,
            smtp_url: env("SMTP_URL"),
            public_url,
            mail_from: env("GUICHET_MAIL_FROM")
                .unwrap_or_else(|| "Guichet <ne-pas-repondre@guichet.localhost>".into()),
            search_cache_entries: env("GUICHET_SEARCH_CACHE")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(crate::graphql::cache::DEFAULT_ENTRIES),
            metrics_token: env("GUICHET_METRICS_TOKEN").map(crate::metrics::Secret::new),
            shutdown_timeout: env("GUICHET_SHUTDOWN_TIMEOUT")
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|s| (0.0..=3600.0).contains(s))
                .map_or(DEFAULT_SHUTDOWN_TIMEOUT, std::time::Duration::from_secs_f64),
            quotas: dossier::Quotas::default(),
        }
    }

    /// Where attachments (and generated PDFs) are stored, by content.
    pub fn blob_store(&self) -> dossier::blob::BlobStore {
        dossier::blob::BlobStore::new(&self.attachments_dir)
    }

    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// Where this process keeps its search index.
    pub fn index_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod quota_tests {
    use super::quotas_from;

    #[test]
    fn quotas_default_when_unset_and_refuse_what_is_not_a_whole_number() {
        assert_eq!(quotas_from(|_| None).unwrap(), dossier::Quotas::default());
        let set = quotas_from(|name| match name {
            "GUICHET_QUOTA_DOSSIER_MB" => Some("50".into()),
            "GUICHET_QUOTA_ACCOUNT_MB" => Some(" 2000 ".into()),
            "GUICHET_QUOTA_DRAFTS" => Some("5".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(set.dossier_bytes, 50 * 1024 * 1024);
        assert_eq!(set.account_bytes, 2000 * 1024 * 1024);
        assert_eq!(set.open_drafts, 5);
        for bad in ["abc", "0", "-1", "1.5"] {
            let error = quotas_from(|name| (name == "GUICHET_QUOTA_DRAFTS").then(|| bad.into()))
                .unwrap_err()
                .to_string();
            assert!(error.contains("GUICHET_QUOTA_DRAFTS"), "{error}");
        }
    }
}
