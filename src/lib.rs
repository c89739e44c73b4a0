//! Trellis: an xAPI 1.0.3 / 2.0 Learning Record Store.
//!
//! # Layout
//! - `xapi`: the data model: statement parsing and validation (schema +
//!   rules), query terms, response formats, signatures. No I/O.
//! - `store`: the `Store` trait, its contract suite and the SQLite backend.
//! - `auth`: credentials, scopes and secret hashing.
//! - `http`: the xAPI resources, error mapping and request plumbing.
//! - `metrics`: every Prometheus metric, in a registry the application owns.
//! - `health`: readiness reports from components, the store watcher.
//! - `shutdown`: the shutdown signal and the hooks that run on it.
//! - `simulate`: the seeded learner-population generator. No I/O.
//! - `transfer`: `import` / `export` of statement files through the store.
//! - `client`: a small xAPI HTTP client (the simulator's sender).
//! - `config`, `cli`, `commands`, `startup`, `telemetry`: the program.

pub mod auth;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod cx;
pub mod health;
pub mod http;
#[cfg(test)]
mod layering;
pub mod metrics;
pub mod shutdown;
pub mod simulate;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod transfer;
pub mod xapi;
