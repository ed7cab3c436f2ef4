//! Database tables, as sea-orm entities. Domain types live in the modules named after
//! them; these are only the storage shape.

pub mod account;
pub mod catalog_change;
pub mod funder;
pub mod funder_alias;
pub mod login_link;
pub mod meta;
pub mod outbox;
pub mod saved_search;
pub mod scheme;
pub mod scheme_document;
pub mod scheme_funder;
pub mod scheme_perimeter;
pub mod scheme_tag;
pub mod synonym;
pub mod territory;
pub mod token;
pub mod zoning;
pub mod zoning_commune;
