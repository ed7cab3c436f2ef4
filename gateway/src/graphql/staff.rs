//! Staff management of accounts: find an account, change its role, revoke its access.
//! The rules (who may do what) live in `catalog::account`.

use async_graphql::{Context, ID, Object, SimpleObject};
use catalog::Actor;

use super::account::Account;
use super::error::{GraphqlError, ResultExt};
use super::vocab::Role;
use super::{PageInfo, parse_cursor};
use crate::app::AppState;

/// A page of accounts.
#[derive(SimpleObject)]
pub struct AccountConnection {
    pub nodes: Vec<Account>,
    pub total: u64,
    pub page_info: PageInfo,
}

/// An account id argument as the database's, or a validation error naming `field`.
fn account_id(id: &ID, field: &str) -> async_graphql::Result<i64> {
    id.parse::<i64>().map_err(|_| {
        GraphqlError::extend(catalog::Error::validation(
            field,
            format!("Identifiant de compte invalide : « {} ».", id.as_str()),
        ))
    })
}

#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// Accounts whose email contains `query` (ignoring case), with this role if given, by
    /// email (staff only).
    #[graphql(complexity = "super::page_cost(first.unwrap_or(20), child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(validator(max_length = 254))] query: Option<String>,
        role: Option<Role>,
        #[graphql(default = 20, validator(minimum = 0, maximum = 100))] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AccountConnection> {
        let first = first.unwrap_or(20);
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        actor.require_staff().gql()?;
        let offset = parse_cursor(after.as_deref())?;
        let page = catalog::account::search(
            &state.db,
            actor,
            query.as_deref(),
            role.map(Into::into),
            offset,
            u64::try_from(first).unwrap_or(0),
        )
        .await
        .gql()?;
        let end = page.offset + page.accounts.len() as u64;
        Ok(AccountConnection {
            total: page.total,
            page_info: PageInfo::new(end, end < page.total),
            nodes: page
                .accounts
                .into_iter()
                .map(|entry| Account(entry.account))
                .collect(),
        })
    }
}

#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// Changes an account's role. Administrators change any role; staff only move an account
    /// between holder and funder agent. A funder agent names its `funder` (slug; kept when
    /// omitted) and may be an `editor` of its funder's schemes. Nobody changes their own role.
    async fn set_account_role(
        &self,
        ctx: &Context<'_>,
        id: ID,
        role: Role,
        funder: Option<String>,
        editor: Option<bool>,
    ) -> async_graphql::Result<Account> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = account_id(&id, "id")?;
        catalog::account::set_role(&state.db, actor, id, role.into(), funder.as_deref(), editor)
            .await
            .map(Account)
            .gql()
    }

    /// Revokes every session and API token of an account (staff; administrators for staff
    /// and administrator accounts): every device it used is logged out. Returns how many
    /// sessions and tokens were revoked.
    async fn revoke_account_access(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<u64> {
        let state = ctx.data::<AppState>()?;
        let actor = ctx.data::<Actor>()?;
        let id = account_id(&id, "id")?;
        catalog::account::revoke_access(&state.db, actor, id)
            .await
            .gql()
    }
}
