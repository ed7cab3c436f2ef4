//! Settings, built once at start-up from defaults, environment variables and flags (flags
//! win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::TrustedProxies;

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
    let number = |name: &str, default: u64| whole_number(&var, name, default);
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
    /// How many connections the server holds and how long a client may take (see
    /// [`crate::server`]).
    pub connections: ConnectionLimits,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`GUICHET_TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
}

/// Limits on the connections of `guichet serve`, against clients that hold connections open
/// (slowloris) or open too many.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Longest a client may take to send a request's headers, counted from the connection's
    /// opening or the first byte of the request (`GUICHET_HEADER_READ_TIMEOUT`, seconds).
    pub header_read_timeout: Duration,
    /// Longest the server waits for the next bytes of a request body, or for the client to
    /// take the next bytes of a response (`GUICHET_BODY_READ_TIMEOUT`, seconds): reset at
    /// every piece, so a long upload on a slow line passes as long as it moves.
    pub body_read_timeout: Duration,
    /// Slowest average a request body may come at, in bytes per second, once the first
    /// `body_read_timeout` has passed (`GUICHET_BODY_MIN_RATE`): a body trickled a byte at a
    /// time is cut, a 20 MB upload on a slow line is not.
    pub body_min_rate: usize,
    /// Longest an open connection may wait for its next request
    /// (`GUICHET_KEEP_ALIVE_TIMEOUT`, seconds).
    pub keep_alive_timeout: Duration,
    /// Connections open at once, in all (`GUICHET_MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// Connections open at once from one client address (`GUICHET_MAX_CONNECTIONS_PER_CLIENT`;
    /// not counted for trusted proxies).
    pub max_connections_per_client: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            body_min_rate: 1000,
            keep_alive_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_connections_per_client: 64,
        }
    }
}

impl ConnectionLimits {
    /// The limits from `GUICHET_HEADER_READ_TIMEOUT`, `GUICHET_BODY_READ_TIMEOUT`,
    /// `GUICHET_BODY_MIN_RATE`, `GUICHET_KEEP_ALIVE_TIMEOUT`, `GUICHET_MAX_CONNECTIONS` and
    /// `GUICHET_MAX_CONNECTIONS_PER_CLIENT` as `var` gives them; defaults for those unset. A
    /// value that does not parse is an error naming the variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let defaults = ConnectionLimits::default();
        let seconds = |name: &str, default: Duration| -> anyhow::Result<Duration> {
            let Some(value) = var(name) else {
                return Ok(default);
            };
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| (0.001..=86_400.0).contains(s))
                .map(Duration::from_secs_f64)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{name} : « {value} » n'est pas une durée en secondes (de 0.001 à 86400)"
                    )
                })
        };
        let count = |name: &str, default: usize| whole_number(&var, name, default);
        Ok(ConnectionLimits {
            header_read_timeout: seconds(
                "GUICHET_HEADER_READ_TIMEOUT",
                defaults.header_read_timeout,
            )?,
            body_read_timeout: seconds("GUICHET_BODY_READ_TIMEOUT", defaults.body_read_timeout)?,
            body_min_rate: count("GUICHET_BODY_MIN_RATE", defaults.body_min_rate)?,
            keep_alive_timeout: seconds("GUICHET_KEEP_ALIVE_TIMEOUT", defaults.keep_alive_timeout)?,
            max_connections: count("GUICHET_MAX_CONNECTIONS", defaults.max_connections)?,
            max_connections_per_client: count(
                "GUICHET_MAX_CONNECTIONS_PER_CLIENT",
                defaults.max_connections_per_client,
            )?,
        })
    }
}

/// The whole number from 1 to 1,000,000 in the variable `name` as `var` gives it, `default`
/// when it is unset or blank; anything else is an error naming the variable.
fn whole_number<T: TryFrom<u64>>(
    var: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
) -> anyhow::Result<T> {
    let Some(value) = var(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            anyhow::anyhow!("{name} : « {value} » n'est pas un nombre entier de 1 à 1000000")
        })
}

/// `GUICHET_TRUSTED_PROXIES` as `var` gives it (none when unset); a bad entry is an error
/// naming the variable.
pub fn trusted_proxies_from(
    var: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<TrustedProxies> {
    TrustedProxies::parse(&var("GUICHET_TRUSTED_PROXIES").unwrap_or_default()).map_err(|e| {
        anyhow::anyhow!("GUICHET_TRUSTED_PROXIES : {e} (attendu : adresses ou réseaux séparés par des virgules, par exemple 127.0.0.1,10.0.0.0/8,::1)")
    })
}

/// A set, non-blank environment variable.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Default of [`Settings::shutdown_timeout`].
pub const DEFAULT_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

impl Settings {
    /// Settings for `guichet serve`: [`Settings::new`], and the connection limits, trusted
    /// proxies and quotas from the environment, parsed strictly (a bad value is an error naming its
    /// variable).
    pub fn for_server(data_dir: &Path, listen: SocketAddr) -> anyhow::Result<Self> {
        let mut settings = Settings::new(data_dir, listen);
        settings.connections = ConnectionLimits::from_vars(env_var)?;
        settings.trusted_proxies = trusted_proxies_from(env_var)?;
        settings.quotas = quotas_from(env_var)?;
        Ok(settings)
    }

    /// Settings for this data directory, with the other values from the environment; the
    /// connection limits at their defaults and no trusted proxy (see [`Settings::for_server`]).
    pub fn new(data_dir: &Path, listen: SocketAddr) -> Self {
        let env = env_var;
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
            connections: ConnectionLimits::default(),
            trusted_proxies: TrustedProxies::default(),
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
mod tests {
    use super::*;

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

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn connection_limits_default_when_unset_and_parse_when_set() {
        assert_eq!(
            ConnectionLimits::from_vars(vars(&[])).unwrap(),
            ConnectionLimits::default()
        );
        let limits = ConnectionLimits::from_vars(vars(&[
            ("GUICHET_HEADER_READ_TIMEOUT", "2.5"),
            ("GUICHET_BODY_READ_TIMEOUT", "120"),
            ("GUICHET_BODY_MIN_RATE", "250"),
            ("GUICHET_KEEP_ALIVE_TIMEOUT", " 5 "),
            ("GUICHET_MAX_CONNECTIONS", "4096"),
            ("GUICHET_MAX_CONNECTIONS_PER_CLIENT", "8"),
        ]))
        .unwrap();
        assert_eq!(limits.header_read_timeout, Duration::from_millis(2500));
        assert_eq!(limits.body_read_timeout, Duration::from_secs(120));
        assert_eq!(limits.body_min_rate, 250);
        assert_eq!(limits.keep_alive_timeout, Duration::from_secs(5));
        assert_eq!(limits.max_connections, 4096);
        assert_eq!(limits.max_connections_per_client, 8);
    }

    #[test]
    fn a_bad_connection_limit_is_an_error_naming_its_variable() {
        for (name, value) in [
            ("GUICHET_HEADER_READ_TIMEOUT", "abc"),
            ("GUICHET_HEADER_READ_TIMEOUT", "0"),
            ("GUICHET_BODY_READ_TIMEOUT", "-3"),
            ("GUICHET_BODY_MIN_RATE", "0"),
            ("GUICHET_KEEP_ALIVE_TIMEOUT", "10s"),
            ("GUICHET_MAX_CONNECTIONS", "0"),
            ("GUICHET_MAX_CONNECTIONS", "1.5"),
            ("GUICHET_MAX_CONNECTIONS_PER_CLIENT", "many"),
        ] {
            let error = ConnectionLimits::from_vars(vars(&[(name, value)]))
                .unwrap_err()
                .to_string();
            assert!(error.contains(name) && error.contains(value), "{error}");
        }
        let error = trusted_proxies_from(vars(&[("GUICHET_TRUSTED_PROXIES", "10.0.0.0/8,proxy")]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("GUICHET_TRUSTED_PROXIES") && error.contains("proxy"),
            "{error}"
        );
        assert!(
            trusted_proxies_from(vars(&[("GUICHET_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]))
                .unwrap()
                .contains("::1".parse().unwrap())
        );
    }
}
