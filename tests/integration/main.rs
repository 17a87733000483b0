//! The integration tests: one binary, a module per area.
//! - `common`: the helpers every module uses (the binary, files, models, intervals).
//! - `oracles`: the simulator against exact queueing results, inside 99.9 % intervals.
//! - `deterministic`: constant arrivals and blocking, answers computed by hand.
//! - `determinism`: same seed, same bytes; separate random streams.
//! - `cli_errors`: the command line's exit codes, messages and JSON.
//! - `sweep`: sweeps, shards, resume, charts and plan through the command line.
//! - `import`: models written from `doveconf -n` outputs.
//! - `harness`: real servers measured on this machine beside the prediction.
//! - `harness_mock`: the harness's whole pipeline on the mock target (no servers, no
//!   timing), and the limits it refuses before anything runs.

mod cli_errors;
mod common;
mod determinism;
mod deterministic;
mod harness;
mod harness_mock;
mod import;
mod oracles;
mod sweep;
