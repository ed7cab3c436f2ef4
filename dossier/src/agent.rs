//! A funder's agents: staff invite them (the account gets the funder role and a login
//! link), and an agent who arrives after dossiers were routed to their service gets one
//! digest of what already waits for it. Removing an agent makes the account a holder again.

use catalog::account::Account;
use catalog::email::Email;
use catalog::entity::account;
use catalog::outbox::{Template, escape_html};
use catalog::text::french;
use catalog::{Actor, Error, Result, Role};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};

use crate::entity::review;
use crate::model::{Dossier, DossierStatus, ReviewStatus};
use crate::notify::{self, Links};

/// To a new agent: their account and a login link.
pub const INVITED: Template = catalog::mail_template!("agent_invited");
/// To an agent: the dossiers already waiting for their service, in one message.
pub const DIGEST: Template = catalog::mail_template!("agent_digest");

/// The agents of a funder, by address: for staff and that funder's own agents; nobody else
/// learns who they are.
pub async fn agents(
    db: &impl ConnectionTrait,
    actor: &Actor,
    funder_id: i64,
) -> Result<Vec<Account>> {
    let allowed = actor.is_staff() || crate::model::agent_funder(actor) == Some(funder_id);
    if !allowed {
        return Ok(Vec::new());
    }
    Ok(account::Entity::find()
        .filter(account::Column::FunderId.eq(funder_id))
        .filter(account::Column::Role.eq(Role::Funder.as_str()))
        .order_by_asc(account::Column::Email)
        .all(db)
        .await?
        .into_iter()
        .map(Account::from)
        .collect())
}

/// What `invite` did.
#[derive(Clone, Debug)]
pub struct Invited {
    pub account: Account,
    /// Whether the account was created (else an existing holder or agent was updated).
    pub created: bool,
    /// How many waiting dossiers the digest listed (0: no digest was sent).
    pub waiting: usize,
}

/// Makes `email` an agent of the funder `funder_slug` (staff): creates or updates the
/// account (role funder, `editor`), mails a login link, and mails one digest of the
/// dossiers already waiting for that service. All in one transaction.
pub async fn invite(
    db: &DatabaseConnection,
    links: &Links,
    actor: &Actor,
    funder_slug: &str,
    email: &str,
    editor: bool,
) -> Result<Invited> {
    actor.require_staff()?;
    let email = Email::parse(email).map_err(|m| Error::validation("email", m))?;
    let funder = catalog::funder::require(db, funder_slug, "funder").await?;
    let txn = catalog::db::begin_write(db).await?;
    let existing = account::Entity::find()
        .filter(account::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await?;
    let (row, created) = match existing {
        Some(row) if matches!(Role::parse(&row.role), Some(Role::Staff | Role::Admin)) => {
            return Err(Error::validation(
                "email",
                format!(
                    "« {email} » est le compte d'un membre de l'équipe de Guichet : changez son rôle depuis la gestion des comptes."
                ),
            ));
        }
        Some(row) => {
            let mut active: account::ActiveModel = row.into();
            active.role = Set(Role::Funder.as_str().to_owned());
            active.funder_id = Set(Some(funder.id));
            active.editor = Set(editor);
            (account::Entity::update(active).exec(&txn).await?, false)
        }
        None => (
            account::Entity::insert(account::ActiveModel {
                id: sea_orm::ActiveValue::NotSet,
                email: Set(email.as_str().to_owned()),
                role: Set(Role::Funder.as_str().to_owned()),
                funder_id: Set(Some(funder.id)),
                created_at: Set(Utc::now()),
                last_login_at: Set(None),
                editor: Set(editor),
            })
            .exec_with_returning(&txn)
            .await?,
            true,
        ),
    };
    let agent = Account::from(row);
    let secret = catalog::account::create_login_link(&txn, &email).await?;
    let link = format!("{}/login?token={secret}", links.public_url);
    let login = format!("{}/connexion", links.public_url);
    notify::send(
        &txn,
        &INVITED,
        std::slice::from_ref(&email),
        &[
            ("funder", &funder.record.name),
            ("link", &link),
            ("login", &login),
        ],
        &[],
    )
    .await?;
    let waiting = send_digest(&txn, links, &agent).await?;
    txn.commit().await?;
    Ok(Invited {
        account: agent,
        created,
        waiting,
    })
}

/// The dossiers waiting for the service `funder_id`: RECEIVED or IN_REVIEW reviews routed
/// to it, of dossiers not withdrawn, oldest first.
pub async fn waiting(db: &impl ConnectionTrait, funder_id: i64) -> Result<Vec<Dossier>> {
    let reviews = review::Entity::find()
        .filter(review::Column::FunderId.eq(funder_id))
        .filter(review::Column::Status.is_in([
            ReviewStatus::Received.as_str(),
            ReviewStatus::InReview.as_str(),
        ]))
        .order_by_asc(review::Column::Id)
        .all(db)
        .await?;
    let mut out: Vec<Dossier> = Vec::new();
    for r in reviews {
        if out.iter().any(|d| d.id == r.dossier_id) {
            continue;
        }
        if let Some(d) = crate::dossier::load(db, r.dossier_id).await?
            && d.status != DossierStatus::Withdrawn
        {
            out.push(d);
        }
    }
    Ok(out)
}

/// Mails the agent one digest of the dossiers already waiting for its funder; returns how
/// many it listed (nothing is sent when none waits).
pub async fn send_digest(
    db: &impl ConnectionTrait,
    links: &Links,
    agent: &Account,
) -> Result<usize> {
    let Some(funder_id) = agent.funder_id.filter(|_| agent.role == Role::Funder) else {
        return Ok(0);
    };
    let dossiers = waiting(db, funder_id).await?;
    if dossiers.is_empty() {
        return Ok(0);
    }
    let funder = catalog::funder::get_by_id(db, funder_id)
        .await?
        .map(|f| f.record.name)
        .unwrap_or_default();
    let mut text = String::new();
    let mut html = String::from("<ul>");
    for d in &dossiers {
        let holder = d
            .holder
            .as_ref()
            .map(|h| h.legal_name.clone())
            .unwrap_or_default();
        let link = links.review(d.id);
        let submitted = d
            .submitted_at
            .map(|at| format!(", déposé le {}", french::date(at.date_naive())))
            .unwrap_or_default();
        text.push_str(&format!(
            "- {} « {} » ({holder}{submitted}) : {link}\n",
            d.reference,
            d.title()
        ));
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a> « {} » ({}{})</li>",
            escape_html(&link),
            escape_html(&d.reference),
            escape_html(&d.title()),
            escape_html(&holder),
            escape_html(&submitted)
        ));
    }
    html.push_str("</ul>");
    let count = if dossiers.len() == 1 {
        "1 dossier".to_owned()
    } else {
        format!("{} dossiers", dossiers.len())
    };
    let email = Email::parse(&agent.email).map_err(|m| Error::validation("email", m))?;
    let inbox = format!("{}/instruction", links.public_url);
    notify::send(
        db,
        &DIGEST,
        &[email],
        &[
            ("count", &count),
            ("funder", &funder),
            ("dossiers", &text),
            ("dossiers_html", &html),
            ("inbox", &inbox),
        ],
        &[],
    )
    .await?;
    Ok(dossiers.len())
}

/// Makes a funder agent a holder again (staff); its sessions and API tokens are revoked.
pub async fn remove(db: &DatabaseConnection, actor: &Actor, account_id: i64) -> Result<Account> {
    actor.require_staff()?;
    let txn = catalog::db::begin_write(db).await?;
    let row = account::Entity::find_by_id(account_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound("Compte".into()))?;
    if Role::parse(&row.role) != Some(Role::Funder) {
        return Err(Error::validation(
            "accountId",
            format!("« {} » n'est pas un agent de financeur.", row.email),
        ));
    }
    let email = row.email.clone();
    let mut active: account::ActiveModel = row.into();
    active.role = Set(Role::Holder.as_str().to_owned());
    active.funder_id = Set(None);
    active.editor = Set(false);
    let row = account::Entity::update(active).exec(&txn).await?;
    catalog::account::revoke_all(&txn, &email).await?;
    txn.commit().await?;
    Ok(row.into())
}
