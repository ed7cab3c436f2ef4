//! The catalogue of Guichet: funding schemes and funders, French territories, and the
//! accounts and outbox that every domain shares. Knows nothing of HTTP or GraphQL.

pub mod account;
pub mod actor;
pub mod alert;
pub mod calendar;
pub mod change;
pub mod db;
pub mod effects;
pub mod eligibility;
pub mod email;
pub mod entity;
pub mod error;
pub mod export;
pub mod funder;
pub mod funder_alias;
pub mod import;
pub mod network;
pub mod outbox;
pub mod plan;
pub mod scheme;
pub mod search;
pub mod seed;
pub mod synonym;
pub mod territory;
pub mod text;
pub mod vocab;
pub mod zoning;

pub use actor::{Actor, Role};
pub use effects::Effects;
pub use error::{Error, Result};
pub use territory::{Territories, Territory, TerritoryKind};
