//! The seed catalogue: real schemes from `seed/schemes.json`, loaded on the first start of
//! an empty database.

use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, TransactionTrait};

use crate::actor::Actor;
use crate::entity::scheme;
use crate::error::Result;
use crate::import::{self, Summary};
use crate::territory::Territories;

/// The seed catalogue, in the `guichet` format.
pub const SCHEMES: &str = include_str!("../seed/schemes.json");

/// Loads the seed catalogue when the database has no scheme yet. Returns what it did.
#[tracing::instrument(skip_all)]
pub async fn load_if_empty<C: ConnectionTrait + TransactionTrait>(db: &C, territories: &Territories) -> Result<Option<Summary>> {
    if scheme::Entity::find().count(db).await? > 0 {
        return Ok(None);
    }
    let parsed = import::guichet::parse(SCHEMES).expect("the seed catalogue is valid JSON");
    let summary = import::run(db, &Actor::Operator, territories, parsed, false, || {}).await?;
    tracing::info!(created = summary.created.len(), "seed catalogue loaded");
    Ok(Some(summary))
}
