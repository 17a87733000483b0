//! eagain: predicts when a pre-forking server starts refusing connections.
//!
//! A discrete-event simulation of one listening service: clients arrive open-loop,
//! the kernel listen queue holds what no process has accepted yet, a master forks
//! worker processes at a limited rate, and each process is blocked for a while on
//! every connection it serves.
pub mod analytic;
pub mod cli;
pub mod commands;
pub mod dist;
pub mod engine;
pub mod error;
pub mod harness;
pub mod import;
pub mod model;
pub mod plan;
pub mod plot;
pub mod report;
pub mod server;
pub mod simulate;
pub mod stats;
pub mod sweep;

pub use commands::run;
