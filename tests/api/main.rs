//! End-to-end tests: each boots the real router on a loopback port with its own database
//! (SQLite by default; PostgreSQL when `GUICHET_TEST_DATABASE_URL` names a server) and
//! talks to it over HTTP, or runs the real `guichet` binary.

mod accounts;
mod ageville;
mod alerts;
mod attachments;
mod backup;
mod catalog;
mod cli;
mod conferences;
mod connections;
mod dossier_reliability;
mod dossiers;
mod eligibility;
mod funder_curation;
mod funder_networks;
mod fuzz_regressions;
mod gateway;
mod helpers;
mod hostile_requests;
mod import_real;
mod inputs;
mod mail;
#[path = "../../gateway/benches/support/multipart.rs"]
mod multipart;
mod operations;
mod personal_data;
mod scale_out;
mod scheme_curation;
mod search;
mod security;
mod staff_catalog;
mod startup;
mod territories;
mod zonings;
