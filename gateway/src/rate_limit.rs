//! Rate limits shared by every gateway of one database: at most N events per key in a fixed
//! window, counted by one atomic upsert (no read-then-write race between processes). Keys are
//! stored as SHA-256 digests, so no address or email sits in the table.

use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use sha2::{Digest, Sha256};

/// Counts events per key over fixed windows.
pub struct RateLimiter {
    /// Distinguishes the limits that share the table (`login-email`, `login-client`).
    name: &'static str,
    limit: i64,
    window: Duration,
}

impl RateLimiter {
    pub fn new(name: &'static str, limit: usize, window: Duration) -> Self {
        RateLimiter {
            name,
            limit: limit as i64,
            window,
        }
    }

    fn bucket(&self, key: &str) -> String {
        let digest = Sha256::digest(format!("{}\u{0}{key}", self.name).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Records an event for `key` now; false when the key is over its limit in this window.
    pub async fn allow(&self, db: &impl ConnectionTrait, key: &str) -> Result<bool, DbErr> {
        let now = chrono::Utc::now().timestamp();
        self.allow_at(db, key, now).await
    }

    async fn allow_at(
        &self,
        db: &impl ConnectionTrait,
        key: &str,
        now: i64,
    ) -> Result<bool, DbErr> {
        let expired = now - self.window.as_secs() as i64;
        let backend = db.get_database_backend();
        let sql = match backend {
            DbBackend::Postgres => {
                "INSERT INTO rate_limit (bucket, window_start, hits) VALUES ($1, $2, 1) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                 hits = CASE WHEN rate_limit.window_start <= $3 THEN 1 ELSE rate_limit.hits + 1 END, \
                 window_start = CASE WHEN rate_limit.window_start <= $3 THEN $2 ELSE rate_limit.window_start END \
                 RETURNING hits"
            }
            _ => {
                "INSERT INTO rate_limit (bucket, window_start, hits) VALUES (?1, ?2, 1) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                 hits = CASE WHEN rate_limit.window_start <= ?3 THEN 1 ELSE rate_limit.hits + 1 END, \
                 window_start = CASE WHEN rate_limit.window_start <= ?3 THEN ?2 ELSE rate_limit.window_start END \
                 RETURNING hits"
            }
        };
        let row = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [
                    Value::from(self.bucket(key)),
                    Value::from(now),
                    Value::from(expired),
                ],
            ))
            .await?
            .ok_or_else(|| DbErr::Custom("rate limit upsert returned nothing".into()))?;
        let hits: i32 = row.try_get("", "hits")?;
        Ok(i64::from(hits) <= self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database() -> sea_orm::DatabaseConnection {
        use migrations::MigratorTrait;
        let db = catalog::db::connect("sqlite::memory:").await.unwrap();
        migrations::Migrator::up(&db, None).await.unwrap();
        db
    }

    #[tokio::test]
    async fn allows_up_to_the_limit_per_key_and_window() {
        let db = database().await;
        let limiter = RateLimiter::new("test", 2, Duration::from_secs(60));
        assert!(limiter.allow_at(&db, "a", 1000).await.unwrap());
        assert!(limiter.allow_at(&db, "a", 1001).await.unwrap());
        assert!(!limiter.allow_at(&db, "a", 1002).await.unwrap());
        assert!(limiter.allow_at(&db, "b", 1002).await.unwrap());
        // Another limit with the same key counts apart.
        let other = RateLimiter::new("other", 1, Duration::from_secs(60));
        assert!(other.allow_at(&db, "a", 1002).await.unwrap());
        // A new window starts over.
        assert!(limiter.allow_at(&db, "a", 1060).await.unwrap());
        assert!(limiter.allow_at(&db, "a", 1061).await.unwrap());
        assert!(!limiter.allow_at(&db, "a", 1062).await.unwrap());
    }
}
