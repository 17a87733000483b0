//! eagain: predicts when a pre-forking server starts refusing connections.
//!
//! A discrete-event simulation of a listening service: clients arrive open-loop, the
//! kernel listen queue holds what no process has accepted yet, a master forks worker
//! processes at a limited rate, and each process is blocked for a while on every
//! connection it serves.
//!
//! The layers, each depending only on those after it: `app` (the command line) →
//! `sweep`, `plan`, `harness`, `import`, `plot`, `output`, `analytic` → `replicate` →
//! `server` → `engine`, `model`, `dist`, `stats`.
pub mod analytic;
pub mod app;
pub mod dist;
pub mod dovecot;
pub mod engine;
pub mod error;
pub mod harness;
pub mod import;
pub mod model;
pub mod output;
pub mod plan;
pub mod plot;
pub mod replicate;
pub mod server;
pub mod stats;
pub mod sweep;
pub mod workload;
