//! The personal data Guichet holds on one account (RGPD articles 15 and 20: access and
//! portability) and the erasure of that account (article 17).
//!
//! The export is one JSON document with stable English keys (those of the GraphQL API). It
//! holds the account, its sessions and tokens (metadata, never a secret nor its digest), the
//! login links asked for its address, the saved organisation, the saved searches, every
//! dossier of the account as its holder sees it (never a funder's private notes), the
//! metadata of attachments, the messages sent to its address (template, subject, dates, not
//! the bodies) and the actions recorded under its name.
//!
//! Erasure is for holders only: the agents of funders and the staff act in the name of their
//! institution, and their decisions must stay attributable (an administrator removes their
//! access). In one transaction: drafts, and withdrawn dossiers that no funder decided, are
//! deleted with their attachments, reviews, questions and events; dossiers that reached the
//! funders are kept for their legal obligations, without the contact person (name, email,
//! phone replaced or removed); the saved organisation, saved searches, sessions, API tokens
//! and login links are deleted; unsent messages to the address are deleted, sent ones keep
//! their template, subject and dates without address nor body; the account row is deleted,
//! or, when kept dossiers still point to it, its address is replaced by a unique address
//! under the reserved `.invalid` domain (RFC 6761), which can neither log in nor receive mail.
//! A confirmation goes to the address through the outbox, in the same transaction. Files
//! left unused are removed after the commit (see [`remove_unused_files`]).

use std::collections::BTreeSet;

use catalog::entity::{account, catalog_change, login_link, outbox, saved_search, token};
use catalog::{Actor, Error, Result, Role};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ActiveValue::NotSet, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::blob::BlobStore;
use crate::content::{Expense, Holder, Plan, Project};
use crate::dossier::Env;
use crate::entity::{
    agenda_item, attachment, dossier as row, dossier_event, holder_profile, information_request,
    review, review_note,
};
use crate::model::{Dossier, DossierStatus, account_id};
use crate::notify;

/// To the address of a deleted account: what was deleted and what is kept.
pub const ACCOUNT_DELETED: catalog::outbox::Template = catalog::mail_template!("account_deleted");

/// What replaces the name of a contact person who deleted their account.
pub const DELETED_PERSON: &str = "Personne supprimée";

/// Who the holder's entries in the audit log of a kept dossier name once they are deleted.
pub const DELETED_HOLDER: &str = "porteur (personne supprimée)";

/// The audit action recorded on a kept dossier when its holder deletes their account.
pub const HOLDER_ACCOUNT_DELETED: &str = "HOLDER_ACCOUNT_DELETED";

/// The domain of the addresses that replace deleted accounts' (reserved, RFC 6761).
pub const PLACEHOLDER_DOMAIN: &str = "compte-supprime.invalid";

/// Why an agent of a funder or a member of staff cannot delete their own account.
pub const SELF_DELETION_REFUSED: &str = "Les comptes des agents de financeurs et de l’équipe du guichet ne peuvent pas être supprimés par leur titulaire : leurs décisions et leurs actions doivent rester attribuables. Adressez votre demande à l’administrateur du guichet, qui retirera vos accès.";

/// How recent a file may be and still be removed when unused: an upload stores its file
/// before writing its row, so a file this young may belong to an upload in progress.
pub const FILE_GRACE: Duration = Duration::hours(1);

/// The notice at the top of an export, for the person who downloads it.
const NOTICE: &str = "Voici toutes les données personnelles que Guichet détient sur vous à la date indiquée (RGPD, articles 15 et 20). Les fichiers de vos pièces jointes n’y sont pas inclus : chacun se télécharge à l’adresse indiquée (champ « url »), tant que vous êtes connecté. Les notes internes des financeurs n’en font pas partie. Vous pouvez supprimer votre compte depuis la page « Mon compte ».";

/// Version of the export format: a new key may appear within a version, none disappears.
pub const FORMAT: &str = "guichet-personal-data/1";

/// The placeholder address of a deleted account.
pub fn placeholder_email(account_id: i64) -> String {
    format!("supprime-{account_id}@{PLACEHOLDER_DOMAIN}")
}

/// True for the placeholder address of a deleted account.
pub fn is_placeholder_email(email: &str) -> bool {
    email.ends_with(&format!("@{PLACEHOLDER_DOMAIN}"))
}

// ---------------------------------------------------------------------------------------
// Export

/// Everything Guichet holds on one account.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PersonalData {
    pub format: &'static str,
    pub generated_at: DateTime<Utc>,
    pub notice: &'static str,
    pub account: AccountData,
    pub sessions: Vec<SessionData>,
    pub login_links: Vec<LoginLinkData>,
    /// The organisation saved from the last dossier, reused by the next one.
    pub holder_profile: Option<HolderProfileData>,
    pub saved_searches: Vec<SavedSearchData>,
    pub dossiers: Vec<DossierData>,
    pub messages: Vec<MessageData>,
    /// What the account did on dossiers it does not hold and on the catalogue (funder
    /// agents, staff); its own dossiers' events are in `dossiers`.
    pub actions: Vec<ActionData>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountData {
    pub id: i64,
    pub email: String,
    pub role: &'static str,
    pub role_label: &'static str,
    pub funder: Option<FunderRef>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunderRef {
    pub slug: String,
    pub name: String,
}

/// A browser session or an API token, without its secret.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionData {
    /// `SESSION` (browser, after a login link) or `API_TOKEN`.
    pub kind: &'static str,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Neither expired nor revoked.
    pub active: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginLinkData {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HolderProfileData {
    pub holder: Option<Holder>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedSearchData {
    pub id: i64,
    pub text: Option<String>,
    pub filter: serde_json::Value,
    pub frequency: String,
    pub created_at: DateTime<Utc>,
    pub next_digest_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DossierData {
    pub id: i64,
    pub reference: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub holder: Option<Holder>,
    pub project: Option<Project>,
    pub expenses: Vec<Expense>,
    pub total_cost: i64,
    pub financing_plan: Option<Plan>,
    pub certified: bool,
    pub scheme_slugs: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    /// When the last funder decided, once every funder has.
    pub decided_at: Option<DateTime<Utc>>,
    pub withdrawn_reason: Option<String>,
    pub pdf_url: String,
    pub attachments: Vec<AttachmentData>,
    pub reviews: Vec<ReviewData>,
    pub information_requests: Vec<InformationRequestData>,
    pub events: Vec<EventData>,
}

/// A file's metadata; the bytes are at `url`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentData {
    pub id: i64,
    pub label: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub uploaded_at: DateTime<Utc>,
    pub url: String,
}

/// A funder's review, as the holder sees it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewData {
    pub funder: Option<FunderRef>,
    pub status: String,
    pub requested_amount: i64,
    pub decision: Option<String>,
    pub amount: Option<i64>,
    pub motivation: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InformationRequestData {
    pub funder: Option<FunderRef>,
    pub question: String,
    pub asked_at: DateTime<Utc>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventData {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// A message sent (or to be sent) to the account's address; the body is not included.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageData {
    pub template: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub attachments: Vec<String>,
}

/// Something recorded under the account's name outside its own dossiers.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionData {
    pub at: DateTime<Utc>,
    /// `dossier`, `scheme` or `funder`.
    pub entity: String,
    /// The dossier's reference or the scheme's or funder's slug.
    pub reference: String,
    pub action: String,
}

async fn funder_ref(db: &impl ConnectionTrait, id: i64) -> Result<Option<FunderRef>> {
    Ok(catalog::funder::get_by_id(db, id)
        .await?
        .map(|f| FunderRef {
            slug: f.record.slug,
            name: f.record.name,
        }))
}

/// The logged-in account of `actor`, as stored.
async fn own_account(db: &impl ConnectionTrait, actor: &Actor) -> Result<account::Model> {
    let me = account_id(actor)?;
    account::Entity::find_by_id(me)
        .one(db)
        .await?
        .ok_or(Error::Unauthenticated)
}

/// Everything Guichet holds on the actor's account.
pub async fn export(db: &impl ConnectionTrait, env: &Env, actor: &Actor) -> Result<PersonalData> {
    let me = own_account(db, actor).await?;
    let now = Utc::now();
    let base = env.links.public_url.trim_end_matches('/');
    let role = Role::parse(&me.role).unwrap_or(Role::Holder);
    let funder = match me.funder_id {
        Some(id) => funder_ref(db, id).await?,
        None => None,
    };
    let sessions = token::Entity::find()
        .filter(token::Column::AccountId.eq(me.id))
        .order_by_asc(token::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|t| SessionData {
            kind: if t.kind == token::SESSION {
                "SESSION"
            } else {
                "API_TOKEN"
            },
            active: t.revoked_at.is_none() && t.expires_at.is_none_or(|at| at > now),
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        })
        .collect();
    let login_links = login_link::Entity::find()
        .filter(login_link::Column::Email.eq(me.email.as_str()))
        .order_by_asc(login_link::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|l| LoginLinkData {
            created_at: l.created_at,
            expires_at: l.expires_at,
            used_at: l.used_at,
        })
        .collect();
    let holder_profile = holder_profile::Entity::find_by_id(me.id)
        .one(db)
        .await?
        .map(|p| HolderProfileData {
            holder: serde_json::from_str(&p.holder).ok(),
            updated_at: p.updated_at,
        });
    let saved_searches = saved_search::Entity::find()
        .filter(saved_search::Column::AccountId.eq(me.id))
        .order_by_asc(saved_search::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|s| SavedSearchData {
            id: s.id,
            text: s.text,
            filter: serde_json::from_str(&s.filter).unwrap_or_default(),
            frequency: s.frequency,
            created_at: s.created_at,
            next_digest_at: s.next_due_at,
        })
        .collect();

    let mut dossiers = Vec::new();
    let rows = row::Entity::find()
        .filter(row::Column::AccountId.eq(me.id))
        .order_by_asc(row::Column::Id)
        .all(db)
        .await?;
    for r in rows {
        dossiers.push(dossier_data(db, base, r.into()).await?);
    }

    let messages = outbox::Entity::find()
        .filter(outbox::Column::Recipient.eq(me.email.as_str()))
        .order_by_asc(outbox::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|m| MessageData {
            attachments: catalog::outbox::attachments(&m)
                .into_iter()
                .map(|a| a.filename)
                .collect(),
            template: m.template,
            subject: m.subject,
            created_at: m.created_at,
            sent_at: m.sent_at,
        })
        .collect();

    let mut actions = Vec::new();
    let events = dossier_event::Entity::find()
        .filter(dossier_event::Column::Actor.eq(me.email.as_str()))
        .filter(
            dossier_event::Column::DossierId.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(row::Column::Id)
                    .from(row::Entity)
                    .and_where(row::Column::AccountId.eq(me.id))
                    .to_owned(),
            ),
        )
        .order_by_asc(dossier_event::Column::Id)
        .all(db)
        .await?;
    for e in events {
        let reference = row::Entity::find_by_id(e.dossier_id)
            .one(db)
            .await?
            .map(|d| d.reference)
            .unwrap_or_default();
        actions.push(ActionData {
            at: e.at,
            entity: "dossier".into(),
            reference,
            action: e.action,
        });
    }
    let changes = catalog_change::Entity::find()
        .filter(catalog_change::Column::Actor.eq(me.email.as_str()))
        .order_by_asc(catalog_change::Column::Id)
        .all(db)
        .await?;
    actions.extend(changes.into_iter().map(|c| ActionData {
        at: c.at,
        entity: c.entity,
        reference: c.slug,
        action: c.action,
    }));
    actions.sort_by_key(|a| a.at);

    Ok(PersonalData {
        format: FORMAT,
        generated_at: now,
        notice: NOTICE,
        account: AccountData {
            id: me.id,
            email: me.email,
            role: match role {
                Role::Holder => "HOLDER",
                Role::Funder => "FUNDER",
                Role::Staff => "STAFF",
                Role::Admin => "ADMIN",
            },
            role_label: role.label(),
            funder,
            created_at: me.created_at,
            last_login_at: me.last_login_at,
        },
        sessions,
        login_links,
        holder_profile,
        saved_searches,
        dossiers,
        messages,
        actions,
    })
}

/// One dossier as its holder sees it: no private note of any funder.
async fn dossier_data(db: &impl ConnectionTrait, base: &str, d: Dossier) -> Result<DossierData> {
    let attachments = crate::dossier::attachments(db, d.id)
        .await?
        .into_iter()
        .map(|a| AttachmentData {
            url: format!("{base}/pieces/{}", a.id),
            id: a.id,
            label: a.label,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
            uploaded_at: a.uploaded_at,
        })
        .collect();
    let mut reviews = Vec::new();
    for r in crate::review::reviews_of(db, d.id).await? {
        reviews.push(ReviewData {
            funder: funder_ref(db, r.funder_id).await?,
            status: r.status,
            requested_amount: r.requested_amount,
            decision: r.decision,
            amount: r.amount,
            motivation: r.motivation,
            decided_at: r.decided_at,
        });
    }
    let decided_at = (d.status == DossierStatus::Decided)
        .then(|| reviews.iter().filter_map(|r| r.decided_at).max())
        .flatten();
    let mut information_requests = Vec::new();
    for q in crate::review::requests_of(db, d.id).await? {
        information_requests.push(InformationRequestData {
            funder: funder_ref(db, q.funder_id).await?,
            question: q.question,
            asked_at: q.asked_at,
            answer: q.answer,
            answered_at: q.answered_at,
        });
    }
    let events = crate::dossier::events(db, d.id)
        .await?
        .into_iter()
        .map(|e| EventData {
            at: e.at,
            actor: e.actor,
            action: e.action,
            detail: e.detail,
        })
        .collect();
    Ok(DossierData {
        id: d.id,
        status: d.status.as_str(),
        status_label: d.status.label(),
        total_cost: d.total_cost(),
        pdf_url: format!("{base}/dossiers/{}/pdf", d.id),
        reference: d.reference,
        holder: d.holder,
        project: d.project,
        expenses: d.expenses,
        financing_plan: d.plan,
        certified: d.certified,
        scheme_slugs: d.scheme_slugs,
        created_at: d.created_at,
        updated_at: d.updated_at,
        submitted_at: d.submitted_at,
        decided_at,
        withdrawn_reason: d.withdrawn_reason,
        attachments,
        reviews,
        information_requests,
        events,
    })
}

// ---------------------------------------------------------------------------------------
// Erasure

/// What deleting an account did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deletion {
    /// References of the dossiers deleted (drafts, withdrawn dossiers no funder decided).
    pub deleted_dossiers: Vec<String>,
    /// References of the dossiers kept for the funders, without the contact person.
    pub anonymised_dossiers: Vec<String>,
    pub deleted_saved_searches: u64,
    /// Sessions and API tokens.
    pub ended_sessions: u64,
    /// Files no dossier uses any more, to remove after the commit ([`remove_unused_files`]).
    pub unused_files: Vec<String>,
}

/// The holder's data with the contact person removed: the name replaced by
/// [`DELETED_PERSON`], the email emptied, the phone removed. The organisation's identity
/// (legal name, SIRET, RNA, commune) and the representative's capacity stay: funders must be
/// able to account for the aid requested by, or granted to, that organisation.
pub fn anonymise_holder(holder: &Holder) -> Holder {
    let mut holder = holder.clone();
    holder.representative.name = DELETED_PERSON.to_owned();
    holder.representative.email = String::new();
    holder.representative.phone = None;
    holder
}

/// True when the confirmation typed is the account's address (case and surrounding spaces
/// do not matter).
fn confirmed(confirmation: &str, email: &str) -> bool {
    confirmation.trim().to_lowercase() == email.to_lowercase()
}

/// Deletes the holder's account (see the module's documentation); `confirmation` must be
/// the account's email address. Returns what was done; the caller then removes
/// [`Deletion::unused_files`] with [`remove_unused_files`].
pub async fn delete_account(
    db: &DatabaseConnection,
    actor: &Actor,
    confirmation: &str,
) -> Result<Deletion> {
    let me = own_account(db, actor).await?;
    if Role::parse(&me.role) != Some(Role::Holder) {
        return Err(Error::Forbidden);
    }
    if !confirmed(confirmation, &me.email) {
        return Err(Error::validation(
            "confirmation",
            "Pour confirmer, saisissez exactement l’adresse électronique de votre compte.",
        ));
    }
    let now = Utc::now();
    let txn = catalog::db::begin_write(db).await?;
    // Locked (PostgreSQL; SQLite has one writer): a submission in progress in another tab
    // either happened before, and the dossier is kept, or fails after.
    let account = account::Entity::find_by_id(me.id)
        .lock(LockType::Update)
        .one(&txn)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let rows: Vec<Dossier> = row::Entity::find()
        .filter(row::Column::AccountId.eq(account.id))
        .order_by_asc(row::Column::Id)
        .lock(LockType::Update)
        .all(&txn)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let mut done = Deletion::default();
    let mut files = BTreeSet::new();
    for d in rows {
        let reviews = crate::review::reviews_of(&txn, d.id).await?;
        let decided = reviews.iter().any(|r| r.decision.is_some());
        let delete = match d.status {
            DossierStatus::Draft => true,
            DossierStatus::Withdrawn => !decided,
            _ => false,
        };
        if delete {
            for a in crate::dossier::attachments(&txn, d.id).await? {
                files.insert(a.sha256);
            }
            let review_ids: Vec<i64> = reviews.iter().map(|r| r.id).collect();
            review_note::Entity::delete_many()
                .filter(review_note::Column::ReviewId.is_in(review_ids))
                .exec(&txn)
                .await?;
            review::Entity::delete_many()
                .filter(review::Column::DossierId.eq(d.id))
                .exec(&txn)
                .await?;
            information_request::Entity::delete_many()
                .filter(information_request::Column::DossierId.eq(d.id))
                .exec(&txn)
                .await?;
            agenda_item::Entity::delete_many()
                .filter(agenda_item::Column::DossierId.eq(d.id))
                .exec(&txn)
                .await?;
            dossier_event::Entity::delete_many()
                .filter(dossier_event::Column::DossierId.eq(d.id))
                .exec(&txn)
                .await?;
            attachment::Entity::delete_many()
                .filter(attachment::Column::DossierId.eq(d.id))
                .exec(&txn)
                .await?;
            row::Entity::delete_by_id(d.id).exec(&txn).await?;
            done.deleted_dossiers.push(d.reference);
        } else {
            let holder = d
                .holder
                .as_ref()
                .map(|h| serde_json::to_string(&anonymise_holder(h)).unwrap_or_default());
            row::Entity::update_many()
                .col_expr(row::Column::Holder, Expr::value(holder))
                .filter(row::Column::Id.eq(d.id))
                .exec(&txn)
                .await?;
            // The holder's own entries in the audit log no longer name them.
            dossier_event::Entity::update_many()
                .col_expr(dossier_event::Column::Actor, Expr::value(DELETED_HOLDER))
                .filter(dossier_event::Column::DossierId.eq(d.id))
                .filter(dossier_event::Column::Actor.eq(account.email.as_str()))
                .exec(&txn)
                .await?;
            dossier_event::Entity::insert(dossier_event::ActiveModel {
                id: NotSet,
                dossier_id: Set(d.id),
                at: Set(now),
                actor: Set(DELETED_HOLDER.to_owned()),
                action: Set(HOLDER_ACCOUNT_DELETED.to_owned()),
                detail: Set("Le porteur a supprimé son compte : le dossier est conservé pour les financeurs, sans les coordonnées de la personne à contacter.".to_owned()),
            })
            .exec(&txn)
            .await?;
            done.anonymised_dossiers.push(d.reference);
        }
    }
    holder_profile::Entity::delete_many()
        .filter(holder_profile::Column::AccountId.eq(account.id))
        .exec(&txn)
        .await?;
    done.deleted_saved_searches = saved_search::Entity::delete_many()
        .filter(saved_search::Column::AccountId.eq(account.id))
        .exec(&txn)
        .await?
        .rows_affected;
    // Sessions are checked against the database on every request, by every gateway: their
    // deletion logs the account out everywhere at the commit.
    done.ended_sessions = token::Entity::delete_many()
        .filter(token::Column::AccountId.eq(account.id))
        .exec(&txn)
        .await?
        .rows_affected;
    login_link::Entity::delete_many()
        .filter(login_link::Column::Email.eq(account.email.as_str()))
        .exec(&txn)
        .await?;
    outbox::Entity::delete_many()
        .filter(outbox::Column::Recipient.eq(account.email.as_str()))
        .filter(outbox::Column::SentAt.is_null())
        .exec(&txn)
        .await?;
    let placeholder = placeholder_email(account.id);
    outbox::Entity::update_many()
        .col_expr(outbox::Column::Recipient, Expr::value(placeholder.as_str()))
        .col_expr(outbox::Column::BodyText, Expr::value(""))
        .col_expr(outbox::Column::BodyHtml, Expr::value(""))
        .filter(outbox::Column::Recipient.eq(account.email.as_str()))
        .exec(&txn)
        .await?;
    if done.anonymised_dossiers.is_empty() {
        account::Entity::delete_by_id(account.id).exec(&txn).await?;
    } else {
        account::Entity::update_many()
            .col_expr(account::Column::Email, Expr::value(placeholder.as_str()))
            .col_expr(
                account::Column::LastLoginAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(account::Column::Id.eq(account.id))
            .exec(&txn)
            .await?;
    }
    if let Ok(address) = catalog::email::Email::parse(&account.email) {
        let (kept, kept_html) = kept_text(&done.anonymised_dossiers);
        let date = catalog::text::french::date(now.date_naive());
        let mail = ACCOUNT_DELETED.render(
            address,
            &[("date", &date), ("kept", &kept), ("kept_html", &kept_html)],
        );
        catalog::outbox::enqueue(&txn, mail).await?;
    }
    // Files still used by another dossier (the holder's kept ones, or anyone's with the
    // same content) stay.
    for sha in files {
        if !file_used(&txn, &sha).await? {
            done.unused_files.push(sha);
        }
    }
    txn.commit().await?;
    tracing::info!(
        account = account.id,
        deleted = done.deleted_dossiers.len(),
        anonymised = done.anonymised_dossiers.len(),
        "account deleted at its holder's request"
    );
    Ok(done)
}

/// The paragraph of the confirmation about the dossiers kept, as text and HTML.
fn kept_text(references: &[String]) -> (String, String) {
    if references.is_empty() {
        let text = "Aucun dossier déposé auprès d’un financeur n’est conservé.".to_owned();
        return (text.clone(), format!("<p>{text}</p>"));
    }
    let intro = "Les dossiers déjà déposés auprès des financeurs sont conservés pour leurs obligations légales (contrôle de l’emploi des fonds publics), sans vos nom, adresse électronique ni téléphone :";
    let (list, list_html) = notify::list(references);
    (
        format!("{intro}\n{list}"),
        format!("<p>{}</p>{list_html}", catalog::outbox::escape_html(intro)),
    )
}

/// True when an attachment or a message uses the file stored under `sha`.
async fn file_used(db: &impl ConnectionTrait, sha: &str) -> Result<bool> {
    Ok(attachment::Entity::find()
        .filter(attachment::Column::Sha256.eq(sha))
        .one(db)
        .await?
        .is_some()
        || outbox::Entity::find()
            .filter(outbox::Column::Attachments.contains(sha))
            .one(db)
            .await?
            .is_some())
}

/// Removes the files of `candidates` that no attachment nor message uses and that are older
/// than `grace` (a younger one may belong to an upload in progress, whose row is not written
/// yet: it stays, as an unused file). Returns how many were removed; failures are logged.
pub async fn remove_unused_files(
    db: &impl ConnectionTrait,
    blobs: &BlobStore,
    candidates: &[String],
    grace: Duration,
) -> Result<usize> {
    let mut removed = 0;
    for sha in candidates {
        if file_used(db, sha).await? {
            continue;
        }
        match blobs.remove_if_older(sha, grace).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, sha256 = %sha, "unused file not removed"),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Representative;
    use catalog::vocab::BeneficiaryType;

    #[test]
    fn anonymising_removes_the_person_and_keeps_the_organisation() {
        let holder = Holder {
            legal_name: "Association Le Panier du bourg".into(),
            holder_type: BeneficiaryType::Association,
            siret: "21520269900017".into(),
            rna: Some("W521000001".into()),
            commune_code: "52001".into(),
            representative: Representative {
                name: "Claire Martin".into(),
                role: "Présidente".into(),
                email: "claire@exemple.fr".into(),
                phone: Some("03 25 00 00 00".into()),
            },
        };
        let done = anonymise_holder(&holder);
        assert_eq!(done.representative.name, DELETED_PERSON);
        assert_eq!(done.representative.email, "");
        assert_eq!(done.representative.phone, None);
        assert_eq!(done.representative.role, "Présidente");
        assert_eq!(done.legal_name, holder.legal_name);
        assert_eq!(done.siret, holder.siret);
        assert_eq!(done.rna, holder.rna);
        let json = serde_json::to_string(&done).unwrap();
        assert!(!json.contains("Claire") && !json.contains("claire@") && !json.contains("03 25"));
    }

    #[test]
    fn placeholders_are_recognised_and_never_valid_confirmations() {
        let placeholder = placeholder_email(42);
        assert!(is_placeholder_email(&placeholder));
        assert!(!is_placeholder_email("maire@ageville.fr"));
        assert!(placeholder.ends_with(".invalid"));
        assert!(confirmed(" Maire@Ageville.FR ", "maire@ageville.fr"));
        assert!(!confirmed("", "maire@ageville.fr"));
        assert!(!confirmed("maire@ageville", "maire@ageville.fr"));
    }
}
