//! The seed catalogue: real schemes from `seed/schemes.json`, loaded on the first start of
//! an empty database. A start interrupted while seeding finishes the job on the next one.

use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait, TransactionTrait};

use crate::actor::Actor;
use crate::entity::{meta, scheme};
use crate::error::Result;
use crate::import::{self, Summary};
use crate::territory::Territories;

/// The seed catalogue, in the `guichet` format.
pub const SCHEMES: &str = include_str!("../seed/schemes.json");

const STATE_KEY: &str = "seed";
const STARTED: &str = "started";
const DONE: &str = "done";

/// Loads the seed catalogue when the database has no scheme yet, or when a previous load
/// was interrupted. Records are saved one by one and re-saving is idempotent, so resuming
/// is simply loading again.
#[tracing::instrument(skip_all)]
pub async fn load_if_empty<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    territories: &Territories,
) -> Result<Option<Summary>> {
    let state = meta::Entity::find_by_id(STATE_KEY)
        .one(db)
        .await?
        .map(|m| m.value);
    let resume = state.as_deref() == Some(STARTED);
    if !resume && (state.is_some() || scheme::Entity::find().count(db).await? > 0) {
        return Ok(None);
    }
    meta::set(db, STATE_KEY, STARTED).await?;
    let parsed = import::guichet::parse(SCHEMES).expect("the seed catalogue is valid JSON");
    let summary = import::run(db, &Actor::Operator, territories, parsed, false, || {}).await?;
    meta::set(db, STATE_KEY, DONE).await?;
    tracing::info!(
        created = summary.created.len(),
        resumed = resume,
        "seed catalogue loaded"
    );
    Ok(Some(summary))
}
