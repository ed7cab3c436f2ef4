//! The outbox worker: claims due messages, sends them, marks them sent, and retries
//! failures with exponential backoff. Wakes on a notification from this process and polls
//! for messages written by other processes. On shutdown it finishes the message it is
//! sending and claims no other.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use catalog::outbox::{self, Message};
use dossier::blob::BlobStore;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::shutdown::Shutdown;

/// How long a claimed message is reserved for its sender: more than one send takes (the SMTP
/// timeout is 20 s), and the longest a message claimed by a process that died waits.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(30);
/// The longest the worker sleeps before looking at the outbox again.
const POLL: Duration = Duration::from_secs(2);

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

impl Transport {
    /// SMTP when a URL is given (`smtp://host:port`), `.eml` files in `mail_dir` otherwise.
    pub fn from_settings(smtp_url: Option<&str>, mail_dir: PathBuf) -> anyhow::Result<Self> {
        match smtp_url {
            Some(url) => {
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .with_context(|| "SMTP_URL invalide (attendu : smtp://hôte:port)".to_owned())?
                    .timeout(Some(Duration::from_secs(20)))
                    .build();
                Ok(Transport::Smtp(transport))
            }
            None => Ok(Transport::Files(mail_dir)),
        }
    }

    async fn send(&self, message: lettre::Message) -> anyhow::Result<()> {
        match self {
            Transport::Smtp(smtp) => {
                smtp.send(message).await?;
            }
            Transport::Files(dir) => {
                // Written under a hidden name, then renamed: whoever reads `*.eml` (a person,
                // a test, a script) never sees half a message, even if the process dies.
                tokio::fs::create_dir_all(dir).await?;
                let name = uuid::Uuid::new_v4();
                let partial = dir.join(format!(".{name}.eml.part"));
                tokio::fs::write(&partial, message.formatted()).await?;
                tokio::fs::rename(&partial, dir.join(format!("{name}.eml"))).await?;
            }
        }
        Ok(())
    }
}

async fn build(
    message: &Message,
    from: &str,
    blobs: &BlobStore,
) -> anyhow::Result<lettre::Message> {
    let body =
        MultiPart::alternative_plain_html(message.body_text.clone(), message.body_html.clone());
    let attachments = outbox::attachments(message);
    let body = if attachments.is_empty() {
        body
    } else {
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in attachments {
            // A missing file is an error to retry (the store may be shared and catching up),
            // not a message sent without the document it announces.
            let bytes = blobs
                .get(&a.sha256)
                .await?
                .with_context(|| format!("pièce jointe {} absente du stockage", a.sha256))?;
            mixed = mixed.singlepart(
                Attachment::new(a.filename).body(bytes, ContentType::parse(&a.content_type)?),
            );
        }
        mixed
    };
    Ok(lettre::Message::builder()
        .from(from.parse()?)
        .to(message.recipient.parse()?)
        .subject(message.subject.clone())
        .message_id(Some(format!(
            "<outbox-{}-{}@guichet>",
            message.id,
            message.created_at.timestamp()
        )))
        .multipart(body)?)
}

/// Messages being sent at once by one process's worker: sending is mostly waiting for the
/// SMTP server (lettre's pooled connections are reused), so a few in flight multiply the
/// rate; each has its own one-message lease, and a process killed mid-send strands at most
/// this many (sent again when their leases expire).
pub const IN_FLIGHT: usize = 4;

/// Sends every message that is due now, [`IN_FLIGHT`] at a time, claiming no new one once
/// `shutdown` is triggered; returns how many were sent.
pub async fn send_due(
    db: &DatabaseConnection,
    transport: &Transport,
    from: &str,
    blobs: &BlobStore,
    shutdown: &Shutdown,
) -> anyhow::Result<usize> {
    let lanes = (0..IN_FLIGHT).map(|_| send_one_by_one(db, transport, from, blobs, shutdown));
    // Every lane ends (none is dropped mid-send); the first error is reported.
    let mut sent = 0;
    for lane in futures_util::future::join_all(lanes).await {
        sent += lane?;
    }
    Ok(sent)
}

/// One lane of [`send_due`]: claims and sends one message at a time until none is due.
async fn send_one_by_one(
    db: &DatabaseConnection,
    transport: &Transport,
    from: &str,
    blobs: &BlobStore,
    shutdown: &Shutdown,
) -> anyhow::Result<usize> {
    let mut sent = 0;
    loop {
        if shutdown.is_triggered() {
            return Ok(sent);
        }
        // One at a time: a lease covers one send, so a slow server cannot outlast the lease
        // of messages still waiting in a batch (another process would send them too), and a
        // crash strands one message per lane, not twenty.
        let batch = outbox::claim_due(db, 1, LEASE).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for message in batch {
            let masked = catalog::email::Email::parse(&message.recipient)
                .map(|e| e.masked())
                .unwrap_or_else(|_| "?".into());
            let result = match build(&message, from, blobs).await {
                Ok(mail) => transport.send(mail).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    outbox::mark_sent(db, message.id).await?;
                    tracing::info!(id = message.id, to = %masked, template = %message.template, "mail sent");
                    sent += 1;
                }
                Err(e) => {
                    let next = outbox::mark_failed(db, &message, &e.to_string()).await?;
                    // SMTP refusals often quote the address: the log gets it masked.
                    let error = e.to_string().replace(&message.recipient, &masked);
                    tracing::warn!(id = message.id, to = %masked, %error, %next, "mail not sent; will retry");
                }
            }
        }
    }
}

/// Runs the worker until the process ends.
pub fn spawn_worker(
    db: DatabaseConnection,
    transport: Transport,
    from: String,
    blobs: BlobStore,
    wakeup: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    spawn_worker_until(db, transport, from, blobs, wakeup, Shutdown::new())
}

/// Runs the worker until `shutdown` is triggered: it then finishes the messages it is
/// sending, claims no other, and ends.
pub fn spawn_worker_until(
    db: DatabaseConnection,
    transport: Transport,
    from: String,
    blobs: BlobStore,
    wakeup: Arc<Notify>,
    shutdown: Shutdown,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while !shutdown.is_triggered() {
            if let Err(e) = send_due(&db, &transport, &from, &blobs, &shutdown).await {
                tracing::warn!(error = %e, "mail worker error");
            }
            let sleep = match outbox::next_due(&db).await {
                Ok(Some(at)) => (at - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(POLL),
                _ => POLL,
            };
            tokio::select! {
                _ = wakeup.notified() => {}
                _ = tokio::time::sleep(sleep.max(Duration::from_millis(50))) => {}
                _ = shutdown.triggered() => {}
            }
        }
    })
}
