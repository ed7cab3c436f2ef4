//! A funder's agents: staff invite them and remove them.

use async_graphql::{Context, ID, Object};
use catalog::Actor;

use super::account::Account;
use super::error::ResultExt;
use crate::app::AppState;

#[derive(Default)]
pub struct AgentMutation;

#[Object]
impl AgentMutation {
    /// Makes `email` an agent of the funder `funder` (staff): creates or updates the account
    /// with the funder role (and `editor`, the right to draft its schemes), mails a login
    /// link, and mails one digest of the dossiers already waiting for that service.
    async fn invite_agent(
        &self,
        ctx: &Context<'_>,
        funder: String,
        email: String,
        #[graphql(default = false)] editor: bool,
    ) -> async_graphql::Result<Account> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let invited = dossier::agent::invite(
            &state.db,
            &state.dossiers.links,
            actor,
            &funder,
            &email,
            editor,
        )
        .await
        .gql()?;
        state.mail_wakeup.notify_one();
        Ok(Account(invited.account))
    }

    /// Makes a funder agent a holder again (staff); its sessions and API tokens are revoked.
    async fn remove_agent(
        &self,
        ctx: &Context<'_>,
        account_id: ID,
    ) -> async_graphql::Result<Account> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id: i64 = account_id
            .parse()
            .map_err(|_| catalog::Error::validation("accountId", "Identifiant de compte invalide."))
            .gql()?;
        Ok(Account(
            dossier::agent::remove(&state.db, actor, id).await.gql()?,
        ))
    }
}
