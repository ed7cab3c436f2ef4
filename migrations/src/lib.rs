//! Database schema of Guichet. Migrations run at start-up, on SQLite and PostgreSQL alike,
//! and are written with sea-query builders so that one definition serves both backends.

pub use sea_orm_migration::prelude::*;

mod m0001_foundation;
mod m0002_synonyms;
mod m0003_saved_searches;
mod m0004_dossiers;
mod m0005_rate_limits;
mod m0006_trustworthy_rules;
mod m0007_funder_networks;

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::Migration),
            Box::new(m0002_synonyms::Migration),
            Box::new(m0003_saved_searches::Migration),
            Box::new(m0004_dossiers::Migration),
            Box::new(m0005_rate_limits::Migration),
            Box::new(m0006_trustworthy_rules::Migration),
            Box::new(m0007_funder_networks::Migration),
        ]
    }
}

/// An index named `name` on `table`'s `columns`, created unless it exists.
pub(crate) fn index_on(
    name: &'static str,
    table: &'static str,
    columns: &[&'static str],
) -> IndexCreateStatement {
    let mut index = Index::create()
        .name(name)
        .table(table)
        .if_not_exists()
        .take();
    for column in columns {
        index.col(*column);
    }
    index
}
