//! The caller's account, and passwordless login.

use async_graphql::{Context, ID, Object};
use catalog::Actor;

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
            } => Some(Account(catalog::account::Account {
                id: *id,
                email: email.clone(),
                role: *role,
                funder_id: *funder_id,
            })),
            _ => None,
        })
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Emails a single-use login link valid 15 minutes. Always true for a well-formed
    /// address, whether or not it has an account.
    async fn request_login_link(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> async_graphql::Result<bool> {
        let state = ctx.data::<AppState>()?;
        let client = ctx.data::<ClientAddress>()?;
        auth::request_login_link(state, &email, client)
            .await
            .gql()?;
        Ok(true)
    }
}
