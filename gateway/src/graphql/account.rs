//! The caller's account, passwordless login, and the caller's personal data: its export
//! (also downloadable at `GET /compte/donnees.json`) and the deletion of the account.

use async_graphql::{Context, ErrorExtensions, ID, Json, Object, SimpleObject};
use axum::http::header;
use catalog::Actor;
use chrono::{DateTime, Utc};

use super::catalog::Funder;
use super::error::ResultExt;
use super::vocab::Role;
use crate::app::AppState;
use crate::auth::{self, ClientAddress};

/// A logged-in account.
pub struct Account(pub catalog::account::Account);

#[Object]
impl Account {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn role(&self) -> Role {
        self.0.role.into()
    }
    /// The role in French.
    async fn role_label(&self) -> &'static str {
        self.0.role.label()
    }
    /// The funder a funder agent works for.
    async fn funder(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Funder>> {
        let state = ctx.data::<AppState>()?;
        match self.0.funder_id {
            Some(id) => Ok(catalog::funder::get_by_id(&state.db, id)
                .await
                .gql()?
                .map(Funder::from)),
            None => Ok(None),
        }
    }
    /// A funder agent who may draft and edit its funder's schemes.
    async fn editor(&self) -> bool {
        self.0.editor
    }
    /// When the account was created.
    async fn created_at(&self, ctx: &Context<'_>) -> async_graphql::Result<DateTime<Utc>> {
        Ok(self.dates(ctx).await?.0)
    }
    /// When the account last logged in with a login link; null if never.
    async fn last_login_at(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<DateTime<Utc>>> {
        Ok(self.dates(ctx).await?.1)
    }
}

impl Account {
    /// The account's creation and last login dates, read from the database.
    async fn dates(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        let state = ctx.data::<AppState>()?;
        let entry = catalog::account::entry(&state.db, self.0.id)
            .await
            .gql()?
            .ok_or_else(|| async_graphql::Error::new("Compte introuvable."))?;
        Ok((entry.created_at, entry.last_login_at))
    }
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The caller's account; null when not logged in.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Account>> {
        Ok(match ctx.data::<Actor>()? {
            Actor::Account {
                id,
                email,
                role,
                funder_id,
                editor,
            } => Some(Account(catalog::account::Account {
                id: *id,
                email: email.clone(),
                role: *role,
                funder_id: *funder_id,
                editor: *editor,
            })),
            _ => None,
        })
    }

    /// Everything Guichet holds on the caller (RGPD articles 15 and 20), as the JSON document
    /// downloadable at `/compte/donnees.json`; its keys are documented in the README.
    async fn my_personal_data(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Json<dossier::personal_data::PersonalData>> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        dossier::personal_data::export(&state.db, &state.dossiers, actor)
            .await
            .map(Json)
            .gql()
    }
}

/// What deleting the caller's account did.
#[derive(SimpleObject)]
pub struct AccountDeletion {
    /// References of the dossiers deleted (drafts, withdrawn dossiers no funder decided).
    pub deleted_dossiers: Vec<String>,
    /// References of the dossiers kept for the funders' legal obligations, without the
    /// contact person's name, email and phone.
    pub anonymised_dossiers: Vec<String>,
    pub deleted_saved_searches: u64,
    /// Sessions and API tokens ended (every device is logged out).
    pub ended_sessions: u64,
    /// What was done, in French.
    pub message: String,
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Emails a single-use login link valid 15 minutes. Always true for a well-formed
    /// address, whether or not it has an account. `returnTo`: the page of Guichet (a path
    /// such as `/dispositifs/x?y=z`) the link leads back to once logged in; ignored unless
    /// it is a relative path of this site.
    async fn request_login_link(
        &self,
        ctx: &Context<'_>,
        email: String,
        #[graphql(validator(max_length = 500))] return_to: Option<String>,
    ) -> async_graphql::Result<bool> {
        let state = ctx.data::<AppState>()?;
        let client = ctx.data::<ClientAddress>()?;
        auth::request_login_link(state, &email, return_to.as_deref(), client)
            .await
            .gql()?;
        Ok(true)
    }

    /// Deletes the caller's account (holders only; RGPD article 17). `confirmation` must be
    /// the account's email address. Drafts and withdrawn dossiers are deleted; dossiers sent
    /// to funders are kept without the contact person; alerts, sessions, tokens and login
    /// links are deleted, so every device is logged out; a confirmation is mailed.
    async fn delete_my_account(
        &self,
        ctx: &Context<'_>,
        confirmation: String,
    ) -> async_graphql::Result<AccountDeletion> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let done =
            match dossier::personal_data::delete_account(&state.db, actor, &confirmation).await {
                Ok(done) => done,
                Err(catalog::Error::Forbidden) => {
                    return Err(async_graphql::Error::new(
                        dossier::personal_data::SELF_DELETION_REFUSED,
                    )
                    .extend_with(|_, ext| ext.set("code", "FORBIDDEN")));
                }
                Err(e) => return Err(e).gql(),
            };
        state.mail_wakeup.notify_one();
        match dossier::personal_data::remove_unused_files(
            &state.db,
            &state.dossiers.blobs,
            &done.unused_files,
            dossier::personal_data::FILE_GRACE,
        )
        .await
        {
            Ok(removed) => tracing::info!(removed, "unused files of a deleted account removed"),
            Err(e) => tracing::warn!(error = %e, "unused files of a deleted account not removed"),
        }
        // The session is gone from the database already; the browser forgets its cookie.
        let secure = if state.settings.public_url.starts_with("https://") {
            "; Secure"
        } else {
            ""
        };
        ctx.insert_http_header(
            header::SET_COOKIE,
            format!(
                "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
                auth::SESSION_COOKIE
            ),
        );
        let done_text = "Votre compte et vos données personnelles ont été supprimés.";
        let message = match done.anonymised_dossiers.as_slice() {
            [] => done_text.to_owned(),
            [one] => format!(
                "{done_text} Le dossier {one}, déposé auprès des financeurs, reste conservé pour leurs obligations légales, sans vos coordonnées."
            ),
            several => format!(
                "{done_text} Les dossiers {}, déposés auprès des financeurs, restent conservés pour leurs obligations légales, sans vos coordonnées.",
                several.join(", ")
            ),
        };
        Ok(AccountDeletion {
            deleted_dossiers: done.deleted_dossiers,
            anonymised_dossiers: done.anonymised_dossiers,
            deleted_saved_searches: done.deleted_saved_searches,
            ended_sessions: done.ended_sessions,
            message,
        })
    }
}
