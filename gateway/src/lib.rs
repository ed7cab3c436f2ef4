//! The Guichet gateway: command line, HTTP server, GraphQL schema, authentication, the mail
//! worker and the web assets. Domain rules live in the `catalog` and `dossier` crates; this crate wires
//! them to the outside world.

pub mod alerts;
pub mod app;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod client;
pub mod config;
pub mod files;
pub mod graphiql;
pub mod graphql;
pub mod mail;
pub mod metrics;
pub mod rate_limit;
pub mod request_id;
pub mod security;
pub mod server;
pub mod shutdown;
pub mod web;
