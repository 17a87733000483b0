//! eagain: predicts when a pre-forking server starts refusing connections.
//!
//! A discrete-event simulation of a listening service: clients arrive open-loop, the
//! kernel listen queue holds what no process has accepted yet, a master forks worker
//! processes at a limited rate, and each process is blocked for a while on every
//! connection it serves.
//!
//! The layers, each depending only on those after it: `app` (the command line) →
//! `sweep`, `plan`, `harness`, `import`, `plot`, `output`, `analytic` → `replicate` →
//! `server` → `engine`, `model`, `dist`, `stats`, and `model` → `families` (each server
//! family's rules).
//!
//! The public API is what a program that simulates models needs: `model` (load and
//! check a model file), `server::Compiled` (run one replication), `stats` (what a
//! replication measures and how replications combine), `analytic` (the exact oracles)
//! and `app::main` (the command line). Everything else is the crate's own.
pub mod analytic;
pub mod app;
pub mod dist;
pub(crate) mod engine;
pub mod error;
pub(crate) mod families;
pub(crate) mod harness;
pub(crate) mod import;
pub(crate) mod input;
pub mod model;
pub(crate) mod output;
pub(crate) mod plan;
pub(crate) mod plot;
pub(crate) mod rare;
pub(crate) mod replicate;
pub mod server;
pub mod stats;
pub(crate) mod sweep;
pub(crate) mod workload;
