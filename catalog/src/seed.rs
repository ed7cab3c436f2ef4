//! The seed catalogue: real schemes from `seed/schemes.json`, loaded on the first start of
//! an empty database. A start interrupted while seeding finishes the job on the next one.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, TransactionTrait,
};

use crate::actor::Actor;
use crate::entity::{funder, meta, scheme};
use crate::error::Result;
use crate::import::{self, Summary};
use crate::territory::Territories;
use crate::zoning::{self, ZoningInput};

/// The seed catalogue, in the `guichet` format.
pub const SCHEMES: &str = include_str!("../seed/schemes.json");

/// The zonings the seed's perimeters name, with their sources (`catalog/seed/SOURCES.md`).
pub const ZONINGS: &str = include_str!("../seed/zonings.json");

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
    curate_funders(db).await?;
    tracing::info!(
        created = summary.created.len(),
        resumed = resume,
        "seed catalogue loaded"
    );
    Ok(Some(summary))
}

const CURATED_KEY: &str = "seed-funders-curated";

/// Once per database: marks the seed's funders as curated (staff vouch for them: an import
/// never renames or changes them) and adds the aliases they are known by
/// ([`crate::funder_alias::SEED_ALIASES`]). A database seeded before funders could be curated
/// gets them on its next start; an alias staff deleted afterwards is not brought back.
/// Returns the number of aliases added, `None` when already done.
pub async fn curate_funders(db: &impl ConnectionTrait) -> Result<Option<usize>> {
    if meta::Entity::find_by_id(CURATED_KEY)
        .one(db)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let parsed = import::guichet::parse(SCHEMES).expect("the seed catalogue is valid JSON");
    let mut slugs: Vec<String> = parsed
        .iter()
        .filter_map(|p| p.result.as_ref().ok())
        .flat_map(|r| r.funders.iter().map(|f| f.slug.clone()))
        .collect();
    slugs.sort();
    slugs.dedup();
    funder::Entity::update_many()
        .col_expr(funder::Column::Curated, Expr::value(true))
        .filter(funder::Column::Slug.is_in(slugs))
        .exec(db)
        .await?;
    let added = crate::funder_alias::load_seed_aliases(db).await?;
    meta::set(db, CURATED_KEY, DONE).await?;
    Ok(Some(added))
}

/// Imports each seed zoning that the database does not have yet (a zoning staff imported is
/// never replaced by the seed's). Returns how many were imported.
pub async fn load_zonings<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    territories: &Territories,
) -> Result<usize> {
    let zonings: Vec<ZoningInput> =
        serde_json::from_str(ZONINGS).expect("the seed zonings are valid JSON");
    let mut loaded = 0;
    for input in zonings {
        if zoning::get(db, &input.slug).await?.is_some() {
            continue;
        }
        let slug = input.slug.clone();
        let imported = zoning::import(db, &Actor::Operator, territories, input, true).await?;
        for unknown in &imported.unknown {
            tracing::warn!(%slug, code = %unknown.code, "seed zoning: unknown commune code");
        }
        loaded += 1;
    }
    Ok(loaded)
}

/// The local services of the seed's networks (the préfectures of the départements the seed
/// covers, its LEADER GAL), `seed/funders.json`. No public contact address of theirs is in
/// the sources the seed was built from (`seed/SOURCES.md`): they have none, so they do not
/// receive dossiers until staff give them an agent or an address.
pub const SERVICES: &str = include_str!("../seed/funders.json");

/// Creates each seed service that the database does not have yet, once its parent and the
/// zonings of its jurisdiction exist (a service staff changed is never touched). Returns
/// how many were created.
pub async fn load_services<C: ConnectionTrait + sea_orm::TransactionTrait>(
    db: &C,
    territories: &Territories,
) -> Result<usize> {
    let services: Vec<crate::funder::FunderRecord> =
        serde_json::from_str(SERVICES).expect("the seed services are valid JSON");
    let mut created = 0;
    for record in services {
        if crate::funder::get(db, &record.slug).await?.is_some() {
            continue;
        }
        let parent_known = match &record.parent {
            Some(parent) => crate::funder::get(db, parent).await?.is_some(),
            None => true,
        };
        if !parent_known {
            continue;
        }
        crate::funder::upsert(
            db,
            &crate::Effects::default(),
            &Actor::Operator,
            territories,
            record,
        )
        .await?;
        created += 1;
    }
    Ok(created)
}
