//! The integration tests: one binary, a module per area.
//! - `common`: the helpers every module uses (the binary, files, models, intervals).
//! - `oracles`: the simulator against exact queueing results, inside 99.9 % intervals.
//! - `deterministic`: constant arrivals and blocking, answers computed by hand.
//! - `determinism`: same seed, same bytes; separate random streams.
//! - `cli_errors`: the command line's exit codes, messages and JSON.
//! - `sweep`: sweeps, shards, resume, charts and plan through the command line.
//! - `import`: models written from `doveconf -n` outputs.
//! - `harness`: real servers measured on this machine beside the prediction.

mod cli_errors;
mod common;
mod determinism;
mod deterministic;
mod harness;
mod import;
mod oracles;
mod sweep;
