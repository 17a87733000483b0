//! The integration tests: one binary, a module per area.
//! - `oracles`: the simulator against exact queueing results, inside 99.9 % intervals.
//! - `deterministic`: constant arrivals and blocking, answers computed by hand.
//! - `determinism`: same seed, same bytes; separate random streams.
//! - `cli_errors`: the command line's exit codes, messages and JSON.

mod cli_errors;
mod common;
mod determinism;
mod deterministic;
mod harness;
mod import;
mod oracles;
mod sweep;
