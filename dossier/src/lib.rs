//! Shared dossiers of Guichet: one dossier per project, sent once to every funder
//! concerned; their reviews, questions and decisions; conferences of funders that decide
//! together; the audit log and the mail each change causes (written to the outbox in the
//! same transaction). Knows nothing of HTTP or GraphQL; every access rule is enforced here.

pub mod agent;
pub mod blob;
pub mod conference;
pub mod content;
pub mod document;
pub mod dossier;
pub mod entity;
pub mod model;
pub mod notify;
pub mod pdf;
pub mod personal_data;
pub mod review;

pub use dossier::{Env, Quotas};
pub use model::{Access, ConferenceStatus, Decision, Dossier, DossierStatus, ReviewStatus};
