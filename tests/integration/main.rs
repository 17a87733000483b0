//! The integration tests: one binary, a module per area.
//! - `chain`: chains of services and shared masters, exact and by hand (SPEC 8).
//! - `common`: the helpers every module uses (the binary, files, models, intervals).
//! - `oracles`: the simulator against exact queueing results, inside 99.9 % intervals.
//! - `deterministic`: constant arrivals and blocking, answers computed by hand.
//! - `determinism`: same seed, same bytes; separate random streams.
//! - `cli_errors`: the command line's exit codes, messages and JSON.
//! - `sweep`: sweeps, shards, resume, charts and plan through the command line.
//! - `import`: models written from `doveconf -n` outputs.
//! - `nginx_log`: traces and models from access logs (SPEC section 10).
//! - `harness`: real servers measured on this machine beside the prediction.
//! - `harness_servers`: nginx + PHP-FPM, Apache prefork and couriertcpd measured
//!   beside the prediction, and the spawn sequences counted from /proc (SPEC 11).
//! - `harness_mock`: the harness's whole pipeline on the mock target (no servers, no
//!   timing), and the limits it refuses before anything runs.
//! - `load_over_time`: profiles, traces and timelines (SPEC section 9).
//! - `servers`: threads, and PHP-FPM's and Apache's masters (SPEC section 11).
//! - `reliability`: inputs that once panicked, hung or mixed results, each refused.
//! - `fuzz`: mutated model files and command lines, bounded in time.

mod chain;
mod cli_errors;
mod common;
mod determinism;
mod deterministic;
mod fuzz;
mod harness;
mod harness_mock;
mod harness_servers;
mod import;
mod load_over_time;
mod nginx_log;
mod oracles;
mod reliability;
mod servers;
mod sweep;
