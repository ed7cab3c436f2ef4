//! The mail outbox: every notification is written here in the same transaction as the
//! change that causes it, then sent by a worker that claims, sends and marks each message.
//! Claims are leases, so a message whose sender died is retried after the lease expires.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Expr, LockBehavior, LockType, Order, Query},
};

use crate::email::Email;
use crate::entity::outbox;
use crate::error::Result;

pub use outbox::Model as Message;

/// A rendered message, ready to be queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mail {
    /// Name of the template it came from (for logs and tests).
    pub template: String,
    pub recipient: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Files stored in the content-addressed store of the data directory.
    pub attachments: Vec<MailAttachment>,
}

/// A file attached to a message, by the SHA-256 of its content.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    pub sha256: String,
}

/// The attachments of a queued message.
pub fn attachments(message: &Message) -> Vec<MailAttachment> {
    message
        .attachments
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default()
}

/// A mail template: subject, text and HTML, with `{{name}}` placeholders. Each crate keeps
/// its templates as files next to its code, declared with [`mail_template!`](crate::mail_template).
pub struct Template {
    pub name: &'static str,
    pub subject: &'static str,
    pub text: &'static str,
    pub html: &'static str,
}

/// A [`Template`] from three files `templates/NAME.{subject,txt,html}` beside the source file
/// that names it (`include_str!` resolves paths from the file where it is written, which for
/// a macro is the caller's).
#[macro_export]
macro_rules! mail_template {
    ($name:literal) => {
        $crate::outbox::Template {
            name: $name,
            subject: include_str!(concat!("templates/", $name, ".subject")),
            text: include_str!(concat!("templates/", $name, ".txt")),
            html: include_str!(concat!("templates/", $name, ".html")),
        }
    };
}

/// Escapes text for HTML.
pub fn escape_html(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

impl Template {
    /// Fills `{{name}}` placeholders; values are HTML-escaped in the HTML part, except
    /// those whose name ends in `_html`, which the caller has built safely.
    pub fn render(&self, recipient: Email, vars: &[(&str, &str)]) -> Mail {
        let fill = |source: &str, escape: bool| {
            let mut out = source.to_owned();
            for (name, value) in vars {
                let value = if escape && !name.ends_with("_html") {
                    escape_html(value)
                } else {
                    (*value).to_owned()
                };
                out = out.replace(&format!("{{{{{name}}}}}"), &value);
            }
            out
        };
        Mail {
            template: self.name.to_owned(),
            recipient,
            subject: fill(self.subject.trim(), false),
            text: fill(self.text, false),
            html: fill(self.html, true),
            attachments: Vec::new(),
        }
    }
}

/// Queues a message; call it inside the transaction of the change that causes it.
pub async fn enqueue(db: &impl ConnectionTrait, mail: Mail) -> Result<i64> {
    let now = Utc::now();
    let inserted = outbox::Entity::insert(outbox::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        template: Set(mail.template),
        recipient: Set(mail.recipient.as_str().to_owned()),
        subject: Set(mail.subject),
        body_text: Set(mail.text),
        body_html: Set(mail.html),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_until: Set(None),
        sent_at: Set(None),
        last_error: Set(None),
        attachments: Set((!mail.attachments.is_empty())
            .then(|| serde_json::to_string(&mail.attachments).unwrap_or_default())),
    })
    .exec(db)
    .await?;
    Ok(inserted.last_insert_id)
}

/// Claims up to `limit` messages that are due, each for `lease`. Another worker (in this
/// process or another) cannot claim them until the lease expires.
///
/// On PostgreSQL, one statement: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)
/// RETURNING`, so concurrent workers each take different messages instead of queueing behind
/// one another. SQLite (one writer at a time, no `SKIP LOCKED`) selects the candidates, then
/// claims each with a compare-and-set on its previous lease.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    limit: u64,
    lease: Duration,
) -> Result<Vec<Message>> {
    let now = Utc::now();
    let due = Condition::all()
        .add(outbox::Column::SentAt.is_null())
        .add(outbox::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(outbox::Column::ClaimedUntil.is_null())
                .add(outbox::Column::ClaimedUntil.lt(now)),
        );
    if db.get_database_backend() == DbBackend::Postgres {
        let ids = Query::select()
            .column(outbox::Column::Id)
            .from(outbox::Entity)
            .cond_where(due)
            .order_by(outbox::Column::NextAttemptAt, Order::Asc)
            .order_by(outbox::Column::Id, Order::Asc)
            .limit(limit)
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let mut claimed = outbox::Entity::update_many()
            .col_expr(outbox::Column::ClaimedUntil, Expr::value(now + lease))
            .filter(outbox::Column::Id.in_subquery(ids))
            .exec_with_returning(db)
            .await?;
        claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
        return Ok(claimed);
    }
    // Candidates all taken by another worker in between: look again, so that "nothing
    // claimed" means "nothing due" (every lost race is another worker's progress). A few
    // times only: the worker's next round comes soon anyway, and a claim must never spin.
    for _ in 0..LOOKS {
        let candidates = outbox::Entity::find()
            .filter(due.clone())
            .order_by_asc(outbox::Column::NextAttemptAt)
            .order_by_asc(outbox::Column::Id)
            .limit(limit)
            .all(db)
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut claimed = Vec::with_capacity(candidates.len());
        for message in candidates {
            let mut update = outbox::Entity::update_many()
                .col_expr(outbox::Column::ClaimedUntil, Expr::value(now + lease))
                .filter(outbox::Column::Id.eq(message.id))
                .filter(outbox::Column::SentAt.is_null());
            update = match message.claimed_until {
                Some(previous) => update.filter(outbox::Column::ClaimedUntil.eq(previous)),
                None => update.filter(outbox::Column::ClaimedUntil.is_null()),
            };
            if update.exec(db).await?.rows_affected == 1 {
                claimed.push(message);
            }
        }
        if !claimed.is_empty() {
            return Ok(claimed);
        }
    }
    Ok(Vec::new())
}

/// How many times a claim on SQLite looks for candidates when others took them first.
const LOOKS: usize = 8;

/// Marks a message as sent.
pub async fn mark_sent(db: &impl ConnectionTrait, id: i64) -> Result<()> {
    outbox::Entity::update_many()
        .col_expr(outbox::Column::SentAt, Expr::value(Some(Utc::now())))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbox::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The delay before attempt `attempts + 1`: 5 s, 10 s, 20 s… capped at one hour.
pub fn backoff(attempts: i32) -> Duration {
    let seconds = 5i64.saturating_mul(1i64 << attempts.clamp(0, 20));
    Duration::seconds(seconds.min(3600))
}

/// Records a failed attempt and schedules the next one with exponential backoff.
pub async fn mark_failed(
    db: &impl ConnectionTrait,
    message: &Message,
    error: &str,
) -> Result<DateTime<Utc>> {
    let attempts = message.attempts + 1;
    let next = Utc::now() + backoff(message.attempts);
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Attempts, Expr::value(attempts))
        .col_expr(outbox::Column::NextAttemptAt, Expr::value(next))
        .col_expr(
            outbox::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            outbox::Column::LastError,
            Expr::value(Some(error.chars().take(1000).collect::<String>())),
        )
        .filter(outbox::Column::Id.eq(message.id))
        .exec(db)
        .await?;
    Ok(next)
}

/// The earliest time a pending message becomes due, if any.
pub async fn next_due(db: &impl ConnectionTrait) -> Result<Option<DateTime<Utc>>> {
    Ok(outbox::Entity::find()
        .filter(outbox::Column::SentAt.is_null())
        .order_by_asc(outbox::Column::NextAttemptAt)
        .one(db)
        .await?
        .map(|m| m.next_attempt_at))
}

/// Messages not sent yet: how many, and when the oldest was queued.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pending {
    pub count: u64,
    pub oldest: Option<DateTime<Utc>>,
}

/// The messages not sent yet (for metrics).
pub async fn pending(db: &impl ConnectionTrait) -> Result<Pending> {
    let unsent = || outbox::Entity::find().filter(outbox::Column::SentAt.is_null());
    let count = unsent().count(db).await?;
    let oldest = unsent()
        .select_only()
        .column(outbox::Column::CreatedAt)
        .order_by_asc(outbox::Column::Id)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await?;
    Ok(Pending { count, oldest })
}

/// Every message, oldest first (for tests and operators).
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<Message>> {
    Ok(outbox::Entity::find()
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(0).num_seconds(), 5);
        assert_eq!(backoff(1).num_seconds(), 10);
        assert_eq!(backoff(3).num_seconds(), 40);
        assert_eq!(backoff(30).num_seconds(), 3600);
    }
}
