//! What a catalogue change sets off once it is committed: the search index of this process
//! sees the change at once, and the mail worker wakes for what the change queued.
//!
//! Domain functions that change schemes, funders, synonyms or zonings take an [`Effects`]
//! and call it after their transaction commits, so that the command line, GraphQL and the
//! staff screens cannot diverge. The command line has no running index: its `Effects` has
//! none, and the servers pick the change up by their periodic sync (`SearchIndex::sync`).

use std::sync::Arc;

use sea_orm::ConnectionTrait;
use tokio::sync::Notify;

use crate::error::Result;
use crate::scheme::Scheme;
use crate::search::SearchIndex;

/// The handles a catalogue change needs after commit. Cheap to clone.
#[derive(Clone, Default)]
pub struct Effects {
    /// The search index of this process, when it runs one.
    pub search: Option<Arc<SearchIndex>>,
    /// Wakes the mail worker of this process, when it runs one.
    pub mail_wakeup: Option<Arc<Notify>>,
    /// Base of links in messages, without trailing slash.
    pub public_url: String,
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("search", &self.search.is_some())
            .field("mail_wakeup", &self.mail_wakeup.is_some())
            .field("public_url", &self.public_url)
            .finish()
    }
}

impl Effects {
    /// Effects for a process that runs an index and a mail worker (the server).
    pub fn new(search: Arc<SearchIndex>, mail_wakeup: Arc<Notify>, public_url: &str) -> Self {
        Effects {
            search: Some(search),
            mail_wakeup: Some(mail_wakeup),
            public_url: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// Effects for the command line: no index, no worker; servers sync by themselves.
    pub fn offline(public_url: &str) -> Self {
        Effects {
            public_url: public_url.trim_end_matches('/').to_owned(),
            ..Effects::default()
        }
    }

    /// These schemes changed: searchable as they are now.
    pub async fn schemes_changed(&self, schemes: &[Scheme]) -> Result<()> {
        if let Some(search) = &self.search
            && !schemes.is_empty()
        {
            search.upsert(schemes.to_vec()).await?;
        }
        Ok(())
    }

    /// Schemes, funders, zonings or synonyms changed in ways the caller did not list:
    /// the index catches up with the database now.
    pub async fn catalog_changed(&self, db: &impl ConnectionTrait) -> Result<()> {
        if let Some(search) = &self.search {
            search.sync(db).await?;
        }
        Ok(())
    }

    /// The synonyms changed.
    pub async fn synonyms_changed(&self, db: &impl ConnectionTrait) -> Result<()> {
        if let Some(search) = &self.search {
            search.reload_synonyms(db).await?;
        }
        Ok(())
    }

    /// Messages were queued in the outbox.
    pub fn mail_queued(&self) {
        if let Some(wakeup) = &self.mail_wakeup {
            wakeup.notify_one();
        }
    }

    /// An absolute link to a page of the site (`path` starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url)
    }
}
