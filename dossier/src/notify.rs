//! The dossier's mail: French templates and who receives them. Messages are queued in the
//! outbox inside the transaction of the change that causes them.

use catalog::email::Email;
use catalog::entity::account;
use catalog::outbox::{self, Mail, Template, escape_html};
use catalog::{Result, Role};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::model::Dossier;

/// To the holder: the dossier was submitted.
pub const SUBMITTED: Template = catalog::mail_template!("dossier_submitted");
/// To each funder: a dossier was sent to it (with the PDF).
pub const RECEIVED: Template = catalog::mail_template!("dossier_received");
/// To the holder: a funder asks a question.
pub const INFO_REQUESTED: Template = catalog::mail_template!("information_requested");
/// To every funder: the holder answered.
pub const INFO_ANSWERED: Template = catalog::mail_template!("information_answered");
/// To the holder: a funder decided (outside a conference).
pub const DECIDED: Template = catalog::mail_template!("dossier_decided");
/// To every funder: the holder withdrew the dossier.
pub const WITHDRAWN: Template = catalog::mail_template!("dossier_withdrawn");
/// To each holder: every decision of a conference, in one message.
pub const CONFERENCE_SUMMARY: Template = catalog::mail_template!("conference_summary");

/// Links in messages.
#[derive(Clone, Debug)]
pub struct Links {
    /// Base of links, without trailing slash.
    pub public_url: String,
}

impl Links {
    /// The holder's page of a dossier.
    pub fn dossier(&self, id: i64) -> String {
        format!("{}/dossiers/{id}", self.public_url)
    }

    /// The funder agent's page of a dossier.
    pub fn review(&self, id: i64) -> String {
        format!("{}/instruction/{id}", self.public_url)
    }
}

fn push_unique(list: &mut Vec<Email>, email: Option<&str>) {
    if let Some(email) = email.and_then(|e| Email::parse(e).ok())
        // The placeholder of a deleted account is never mailed.
        && !crate::personal_data::is_placeholder_email(email.as_str())
        && !list.contains(&email)
    {
        list.push(email);
    }
}

/// The holder's account and, when another, the legal representative's address.
pub async fn holder_recipients(db: &impl ConnectionTrait, dossier: &Dossier) -> Result<Vec<Email>> {
    let mut list = Vec::new();
    let owner = account::Entity::find_by_id(dossier.account_id)
        .one(db)
        .await?;
    push_unique(&mut list, owner.as_ref().map(|a| a.email.as_str()));
    push_unique(
        &mut list,
        dossier
            .holder
            .as_ref()
            .map(|h| h.representative.email.as_str()),
    );
    Ok(list)
}

/// A funder's contact address and its agents' accounts.
pub async fn funder_recipients(
    db: &impl ConnectionTrait,
    funder_id: i64,
    contact: Option<&str>,
) -> Result<Vec<Email>> {
    let mut list = Vec::new();
    push_unique(&mut list, contact);
    let agents = account::Entity::find()
        .filter(account::Column::FunderId.eq(funder_id))
        .filter(account::Column::Role.eq(Role::Funder.as_str()))
        .order_by_asc(account::Column::Id)
        .all(db)
        .await?;
    for agent in &agents {
        push_unique(&mut list, Some(&agent.email));
    }
    Ok(list)
}

/// Who is told of what reaches the service `funder_id`: its contact address and agents,
/// or when it has none, those of its nearest parent that has some (nobody when no funder
/// of its network up from it has any).
pub async fn service_recipients(db: &impl ConnectionTrait, funder_id: i64) -> Result<Vec<Email>> {
    let network = catalog::network::Network::load(db).await?;
    match network.reader(funder_id) {
        Some(reader) => {
            let contact = network.get(reader).and_then(|n| n.contact_email.clone());
            funder_recipients(db, reader, contact.as_deref()).await
        }
        None => Ok(Vec::new()),
    }
}

/// Queues one message per recipient.
pub async fn send(
    db: &impl ConnectionTrait,
    template: &Template,
    recipients: &[Email],
    vars: &[(&str, &str)],
    attachments: &[outbox::MailAttachment],
) -> Result<()> {
    for recipient in recipients {
        let mut mail: Mail = template.render(recipient.clone(), vars);
        mail.attachments = attachments.to_vec();
        outbox::enqueue(db, mail).await?;
    }
    Ok(())
}

/// A list for the text part (« - item ») and the HTML part (`<ul>`).
pub fn list(items: &[String]) -> (String, String) {
    let text = items.iter().map(|i| format!("- {i}\n")).collect::<String>();
    let html = format!(
        "<ul>{}</ul>",
        items
            .iter()
            .map(|i| format!("<li>{}</li>", escape_html(i)))
            .collect::<String>()
    );
    (text, html)
}
