//! The integration tests: one binary, a module per area. The tests that measure real
//! servers are in `tests/realservers`, a binary of their own, so that cargo runs them
//! after these and no simulation competes with their clocks.
//! - `chain`: chains of services and shared masters, exact and by hand (SPEC 8).
//! - `common`: the helpers every module uses (the binary, files, models, intervals).
//! - `oracles`: the simulator against exact queueing results, inside 99.9 % intervals.
//! - `cpu`: the host's CPUs shared by processor sharing, against their chain (SPEC 13).
//! - `deterministic`: constant arrivals and blocking, answers computed by hand.
//! - `determinism`: same seed, same bytes; separate random streams.
//! - `docs`: every command README.md and docs/ show, run; their charts kept current.
//! - `help`: `--help` and its examples, the man page, the completions, and the
//!   command line's common slips answered in words.
//! - `cli_errors`: the command line's exit codes, messages and JSON.
//! - `sweep`: sweeps, shards, resume, charts and plan through the command line.
//! - `scheduler`: sweeps as a batch scheduler runs them: `--shard auto/N`, SIGTERM and
//!   exit code 75, resume, locks, what merge refuses, the table and JSON on stdout.
//! - `deploy`: the shipped Slurm script and Kubernetes manifest run as their scheduler
//!   would run them.
//! - `import`: models written from `doveconf -n` outputs.
//! - `import_servers`: models written from PHP-FPM pool files and Apache prefork
//!   configurations (SPEC section 11).
//! - `nginx_log`: traces and models from access logs (SPEC section 10).
//! - `harness_mock`: the harness's whole pipeline on the mock target (no servers, no
//!   timing), and the limits it refuses before anything runs.
//! - `load_over_time`: profiles, traces and timelines (SPEC section 9).
//! - `servers`: threads, and PHP-FPM's and Apache's masters (SPEC section 11).
//! - `reliability`: inputs that once panicked, hung or mixed results, each refused.
//! - `fuzz`: mutated model files and command lines, bounded in time.
//! - `fuzz_features`: chains, profiles, traces, spares, `--out`, resume, merge, plan and
//!   the importers mutated, each run under time and memory limits (issue 22).
//! - `trust`: plan on every model and limit, spare settings, "none seen" and its bound,
//!   the share of replications with a refusal, plan's JSON (SPEC sections 12 and 14).
//! - `rare`: `sim.rare` (RESTART, fixed effort) against exact answers near 1e-4 to 1e-9
//!   and against plain runs, and its determinism (SPEC section 14).

mod chain;
mod cli_errors;
mod common;
mod cpu;
mod deploy;
mod determinism;
mod deterministic;
mod docs;
mod fuzz;
mod fuzz_features;
mod harness_mock;
mod help;
mod import;
mod import_servers;
mod load_over_time;
mod nginx_log;
mod oracles;
mod rare;
mod reliability;
mod scheduler;
mod servers;
mod sweep;
mod trust;
