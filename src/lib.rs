//! Trellis: an xAPI 1.0.3 / 2.0 Learning Record Store.
//!
//! # Layout
//! Bottom to top: a module uses only modules listed before it (leaves and
//! `simulate`/`client` aside; the exact table is in `layering`).
//! - `xapi`: the data model: statement parsing and validation (schema +
//!   rules), query terms, response formats, signatures. No I/O.
//! - `metrics`: every Prometheus metric, in a registry the application owns.
//! - `health`: readiness reports from components, and a watcher that pings
//!   one.
//! - `shutdown`: the shutdown signal, the tasks it waits for, its timeout.
//! - `telemetry`: logging (pretty or JSON lines).
//! - `store`: the `Store` trait, its contract suite, the SQLite backend and
//!   the MongoDB backend (`store::mongo`).
//! - `auth`: credentials, scopes, secret hashing and failure throttling.
//! - `ingest`: a submission's statements checked into the batch the store
//!   takes (ids, authority, duplicates, attachments, signatures); used by
//!   the Statement Resource and `import` alike. No HTTP.
//! - `cx`: learner-experience metrics: facts from the statement log, the
//!   compact state and its snapshots, the aggregator that keeps them, the
//!   metrics and their Prometheus exporter.
//! - `transfer`: `import` / `export` of statement files through the store.
//! - `http`: the xAPI resources, the analytics API, the web dashboard,
//!   error mapping, request plumbing, and the server's settings.
//! - `config`: the layered configuration (defaults, TOML file, `TRELLIS_*`
//!   variables, flags) that combines every subsystem's settings.
//! - `cli`: the command line (clap).
//! - `startup`: builds and runs the application (server, store, aggregator).
//! - `commands`: one thin `run` per subcommand.
//! - `simulate`: the seeded learner-population generator. No I/O.
//! - `client`: a small xAPI HTTP client (the simulator's sender).
//! - `layering` (tests only): the allowed dependencies between these
//!   modules, and the test that checks `src/` against them.

pub mod auth;
pub mod cli;
pub mod client;
pub mod commands;
pub mod config;
pub mod cx;
pub mod health;
pub mod http;
pub mod ingest;
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
