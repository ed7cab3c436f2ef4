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
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr,
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
    let result = token::Entity::update_many()
        .col_expr(token::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(token::Column::AccountId.eq(account.id))
        .filter(token::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected)
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
