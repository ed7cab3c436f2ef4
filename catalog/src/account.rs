//! Accounts, API tokens, sessions and single-use login links. Secrets are random, shown
//! once, and stored only as SHA-256 digests.
//!
//! Every secret is 32 bytes (256 bits) from `rand::rng()`, a cryptographic generator
//! seeded by the operating system. A secret is never compared as such: it is hashed and the
//! digest looked up in the database, so what the lookup's timing could reveal is how much of
//! a stored *digest* a guess's digest shares, and going from a digest to its secret is a
//! SHA-256 preimage of 256 random bits. The lookup is therefore constant-time with respect
//! to the secret.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use sha2::{Digest, Sha256};

use crate::actor::{Actor, Role};
use crate::email::Email;
use crate::entity::{account, login_link, token};
use crate::error::{Error, Result};
use crate::funder;

/// How long a login link stays valid.
pub const LOGIN_LINK_TTL: Duration = Duration::minutes(15);
/// How long a browser session lasts.
pub const SESSION_TTL: Duration = Duration::days(30);

/// A stored account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub funder_id: Option<i64>,
    /// A funder agent who may draft and edit its funder's schemes.
    pub editor: bool,
}

impl From<account::Model> for Account {
    fn from(row: account::Model) -> Self {
        Account {
            id: row.id,
            email: row.email,
            role: Role::parse(&row.role).unwrap_or(Role::Holder),
            funder_id: row.funder_id,
            editor: row.editor,
        }
    }
}

impl Account {
    /// The actor this account acts as.
    pub fn actor(&self) -> Actor {
        Actor::Account {
            id: self.id,
            email: self.email.clone(),
            role: self.role,
            funder_id: self.funder_id,
            editor: self.editor,
        }
    }
}

/// A new random secret: 32 bytes, hex, with a prefix telling what it is.
fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

/// The stored form of a secret.
pub fn digest(secret: &str) -> String {
    format!("{:x}", Sha256::digest(secret.as_bytes()))
}

/// Creates an account, or changes the role and funder of an existing one (operators
/// only). A funder agent must name their funder; other roles must not.
pub async fn add(
    db: &impl ConnectionTrait,
    actor: &Actor,
    email: &str,
    role: Role,
    funder_slug: Option<&str>,
) -> Result<(Account, bool)> {
    if *actor != Actor::Operator
        && !matches!(
            actor,
            Actor::Account {
                role: Role::Admin,
                ..
            }
        )
    {
        return Err(Error::Forbidden);
    }
    let email = Email::parse(email).map_err(|m| Error::validation("email", m))?;
    let funder_id = match (role, funder_slug) {
        (Role::Funder, Some(slug)) => Some(funder::require(db, slug, "funder").await?.id),
        (Role::Funder, None) => {
            return Err(Error::validation(
                "funder",
                "Un agent de financeur doit être rattaché à un financeur (--funder).",
            ));
        }
        (_, Some(_)) => {
            return Err(Error::validation(
                "funder",
                "Seuls les agents de financeur sont rattachés à un financeur.",
            ));
        }
        (_, None) => None,
    };
    let existing = account::Entity::find()
        .filter(account::Column::Email.eq(email.as_str()))
        .one(db)
        .await?;
    if let Some(row) = existing {
        let mut active: account::ActiveModel = row.into();
        active.role = Set(role.as_str().to_owned());
        active.funder_id = Set(funder_id);
        let row = account::Entity::update(active).exec(db).await?;
        return Ok((row.into(), false));
    }
    let row = account::Entity::insert(account::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        email: Set(email.as_str().to_owned()),
        role: Set(role.as_str().to_owned()),
        funder_id: Set(funder_id),
        created_at: Set(Utc::now()),
        last_login_at: Set(None),
        editor: Set(false),
    })
    .exec_with_returning(db)
    .await?;
    Ok((row.into(), true))
}

pub async fn find_by_email(db: &impl ConnectionTrait, email: &Email) -> Result<Option<Account>> {
    Ok(account::Entity::find()
        .filter(account::Column::Email.eq(email.as_str()))
        .one(db)
        .await?
        .map(Account::from))
}

async fn insert_token(
    db: &impl ConnectionTrait,
    account_id: i64,
    kind: &str,
    expires_at: Option<DateTime<Utc>>,
    prefix: &str,
) -> Result<String> {
    let secret = new_secret(prefix);
    token::Entity::insert(token::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        account_id: Set(account_id),
        kind: Set(kind.to_owned()),
        hash: Set(digest(&secret)),
        created_at: Set(Utc::now()),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(secret)
}

/// Issues an API token for the account with this email; the secret is returned once.
pub async fn issue_api_token(
    db: &impl ConnectionTrait,
    email: &str,
    ttl_days: Option<u32>,
) -> Result<(Account, String, Option<DateTime<Utc>>)> {
    let email = Email::parse(email).map_err(|m| Error::validation("email", m))?;
    let account = find_by_email(db, &email)
        .await?
        .ok_or_else(|| Error::NotFound(format!("Compte « {email} »")))?;
    let expires_at = ttl_days.map(|d| Utc::now() + Duration::days(i64::from(d)));
    let secret = insert_token(db, account.id, token::API, expires_at, "gui").await?;
    Ok((account, secret, expires_at))
}

/// The account a secret of this kind (`token::API` for a bearer token, `token::SESSION` for
/// a session cookie) belongs to, if it is valid now. A secret of the other kind is refused:
/// an API token is no session, a session secret is no API token.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    kind: &str,
    secret: &str,
) -> Result<Option<Account>> {
    let now = Utc::now();
    let Some(token) = token::Entity::find()
        .filter(token::Column::Hash.eq(digest(secret.trim())))
        .filter(token::Column::Kind.eq(kind))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if token.revoked_at.is_some() || token.expires_at.is_some_and(|at| at <= now) {
        return Ok(None);
    }
    Ok(account::Entity::find_by_id(token.account_id)
        .one(db)
        .await?
        .map(Account::from))
}

/// Revokes a token or session given its secret. True when something was revoked.
pub async fn revoke(db: &impl ConnectionTrait, secret: &str) -> Result<bool> {
    let result = token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(token::Column::Hash.eq(digest(secret.trim())))
        .filter(token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Revokes a browser session given its secret (never an API token). True when one was.
pub async fn revoke_session(db: &impl ConnectionTrait, secret: &str) -> Result<bool> {
    let result = token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(token::Column::Hash.eq(digest(secret.trim())))
        .filter(token::Column::Kind.eq(token::SESSION))
        .filter(token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// Revokes every token and session of the account with this email; returns how many.
pub async fn revoke_all(db: &impl ConnectionTrait, email: &str) -> Result<u64> {
    let email = Email::parse(email).map_err(|m| Error::validation("email", m))?;
    let account = find_by_email(db, &email)
        .await?
        .ok_or_else(|| Error::NotFound(format!("Compte « {email} »")))?;
    revoke_all_of(db, account.id).await
}

/// Revokes every token and session of this account; returns how many.
async fn revoke_all_of(db: &impl ConnectionTrait, account_id: i64) -> Result<u64> {
    let result = token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(token::Column::AccountId.eq(account_id))
        .filter(token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

/// An account as staff see it in the account list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEntry {
    pub account: Account,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl From<account::Model> for AccountEntry {
    fn from(row: account::Model) -> Self {
        AccountEntry {
            created_at: row.created_at,
            last_login_at: row.last_login_at,
            account: row.into(),
        }
    }
}

/// A page of accounts.
#[derive(Clone, Debug)]
pub struct AccountPage {
    pub accounts: Vec<AccountEntry>,
    pub total: u64,
    pub offset: u64,
}

/// One account by id, with its dates; `None` when there is none.
pub async fn entry(db: &impl ConnectionTrait, id: i64) -> Result<Option<AccountEntry>> {
    Ok(account::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(AccountEntry::from))
}

/// The accounts whose email contains `query` (ignoring case), with this role if given,
/// by email; staff only.
pub async fn search(
    db: &impl ConnectionTrait,
    actor: &Actor,
    query: Option<&str>,
    role: Option<Role>,
    offset: u64,
    limit: u64,
) -> Result<AccountPage> {
    actor.require_staff()?;
    let mut select = account::Entity::find();
    if let Some(fragment) = query
        .map(|q| q.trim().to_lowercase())
        .filter(|q| !q.is_empty())
    {
        if fragment.chars().count() > 254 {
            return Err(Error::validation(
                "query",
                "La recherche ne peut dépasser 254\u{a0}caractères.",
            ));
        }
        // Emails are stored in lower case (`Email::parse`); LIKE wildcards typed by the
        // user are matched literally.
        let escaped = fragment
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        select = select.filter(
            account::Column::Email
                .like(sea_orm::sea_query::LikeExpr::new(format!("%{escaped}%")).escape('\\')),
        );
    }
    if let Some(role) = role {
        select = select.filter(account::Column::Role.eq(role.as_str()));
    }
    let total = select.clone().count(db).await?;
    let rows = select
        .order_by_asc(account::Column::Email)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok(AccountPage {
        accounts: rows.into_iter().map(AccountEntry::from).collect(),
        total,
        offset,
    })
}

/// True for administrators and the command line.
fn is_admin(actor: &Actor) -> bool {
    matches!(
        actor,
        Actor::Operator
            | Actor::Account {
                role: Role::Admin,
                ..
            }
    )
}

/// The account `id` or a not-found error.
async fn require_row(db: &impl ConnectionTrait, id: i64) -> Result<account::Model> {
    account::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::NotFound(format!("Compte n°\u{a0}{id}")))
}

/// Changes an account's role, and for a funder agent its funder and whether it edits its
/// funder's catalogue. Staff may only move an account between holder and funder agent (and
/// set its funder and `editor`); making or unmaking staff or administrators is for
/// administrators. Nobody changes their own role. A funder agent keeps its funder when
/// `funder_slug` is `None`; leaving the funder role clears the funder and `editor`.
pub async fn set_role(
    db: &impl ConnectionTrait,
    actor: &Actor,
    id: i64,
    role: Role,
    funder_slug: Option<&str>,
    editor: Option<bool>,
) -> Result<Account> {
    actor.require_staff()?;
    let row = require_row(db, id).await?;
    if matches!(actor, Actor::Account { id: own, .. } if *own == id) {
        return Err(Error::validation(
            "role",
            "Vous ne pouvez pas changer votre propre rôle.",
        ));
    }
    let current = Role::parse(&row.role).unwrap_or(Role::Holder);
    let privileged = |r: Role| matches!(r, Role::Staff | Role::Admin);
    if (privileged(current) || privileged(role)) && !is_admin(actor) {
        return Err(Error::Forbidden);
    }
    let (funder_id, editor) = if role == Role::Funder {
        let funder_id = match funder_slug.map(str::trim).filter(|s| !s.is_empty()) {
            Some(slug) => funder::require(db, slug, "funder").await?.id,
            None => match row.funder_id {
                Some(id) if current == Role::Funder => id,
                _ => {
                    return Err(Error::validation(
                        "funder",
                        "Choisissez le financeur dont ce compte est l'agent.",
                    ));
                }
            },
        };
        let editor = editor.unwrap_or(current == Role::Funder && row.editor);
        (Some(funder_id), editor)
    } else {
        if funder_slug.is_some_and(|s| !s.trim().is_empty()) {
            return Err(Error::validation(
                "funder",
                "Seuls les agents de financeur sont rattachés à un financeur.",
            ));
        }
        if editor == Some(true) {
            return Err(Error::validation(
                "editor",
                "Seuls les agents de financeur peuvent éditer le catalogue de leur financeur.",
            ));
        }
        (None, false)
    };
    let mut active: account::ActiveModel = row.into();
    active.role = Set(role.as_str().to_owned());
    active.funder_id = Set(funder_id);
    active.editor = Set(editor);
    let row = account::Entity::update(active).exec(db).await?;
    Ok(row.into())
}

/// Revokes every session and API token of the account `id` (staff; an administrator for
/// the accounts of staff and administrators); returns how many were revoked.
pub async fn revoke_access(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> Result<u64> {
    actor.require_staff()?;
    let row = require_row(db, id).await?;
    let role = Role::parse(&row.role).unwrap_or(Role::Holder);
    if matches!(role, Role::Staff | Role::Admin) && !is_admin(actor) {
        return Err(Error::Forbidden);
    }
    revoke_all_of(db, id).await
}

/// Creates a login link for this address and returns its secret; the caller sends it by
/// mail in the same transaction.
pub async fn create_login_link(db: &impl ConnectionTrait, email: &Email) -> Result<String> {
    let secret = new_secret("lien");
    let now = Utc::now();
    login_link::Entity::insert(login_link::ActiveModel {
        id: sea_orm::ActiveValue::NotSet,
        email: Set(email.as_str().to_owned()),
        hash: Set(digest(&secret)),
        created_at: Set(now),
        expires_at: Set(now + LOGIN_LINK_TTL),
        used_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(secret)
}

/// True when this login link can be used now (known, not expired, not used). Reads only:
/// showing the login page must not use the link.
pub async fn login_link_usable(db: &impl ConnectionTrait, secret: &str) -> Result<bool> {
    let link = login_link::Entity::find()
        .filter(login_link::Column::Hash.eq(digest(secret.trim())))
        .one(db)
        .await?;
    Ok(link.is_some_and(|link| link.used_at.is_none() && link.expires_at > Utc::now()))
}

/// Uses a login link once: returns the account (created as a holder on first login) and a
/// new session secret. Fails when the link is unknown, expired or already used.
pub async fn redeem_login_link(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<(Account, String)> {
    let now = Utc::now();
    let invalid = || {
        Error::validation(
            "token",
            "Ce lien de connexion n'est plus valable. Demandez-en un nouveau.",
        )
    };
    let link = login_link::Entity::find()
        .filter(login_link::Column::Hash.eq(digest(secret.trim())))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if link.expires_at <= now || link.used_at.is_some() {
        return Err(invalid());
    }
    // Only one concurrent redemption can flip `used_at`.
    let claimed = login_link::Entity::update_many()
        .col_expr(login_link::Column::UsedAt, Expr::value(Some(now)))
        .filter(login_link::Column::Id.eq(link.id))
        .filter(login_link::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(invalid());
    }
    let email = Email::parse(&link.email).map_err(|m| Error::validation("email", m))?;
    let account = match find_by_email(db, &email).await? {
        Some(account) => account,
        None => account::Entity::insert(account::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            email: Set(email.as_str().to_owned()),
            role: Set(Role::Holder.as_str().to_owned()),
            funder_id: Set(None),
            created_at: Set(now),
            last_login_at: Set(None),
            editor: Set(false),
        })
        .exec_with_returning(db)
        .await?
        .into(),
    };
    account::Entity::update_many()
        .col_expr(account::Column::LastLoginAt, Expr::value(Some(now)))
        .filter(account::Column::Id.eq(account.id))
        .exec(db)
        .await?;
    let session = insert_token(
        db,
        account.id,
        token::SESSION,
        Some(now + SESSION_TTL),
        "session",
    )
    .await?;
    Ok((account, session))
}
