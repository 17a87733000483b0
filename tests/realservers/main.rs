//! The tests that measure real servers on this machine (nginx, gunicorn, Dovecot, the
//! builtin server) beside the prediction. They are a test binary of their own: cargo
//! runs test binaries one after another, so no simulation test of `tests/integration`
//! runs beside them and competes for the CPU while the load generator keeps its
//! schedule. Inside this binary the timing-sensitive tests take a lock.
//! - `validate`: `validate` on each real target, as one table of cases.
//! - `harness`: the kernel's listen-queue rule, nothing left behind when the harness is
//!   killed, the bad inputs it refuses, and the helpers the others share.
//! - `harness_servers`: nginx + PHP-FPM, Apache prefork and couriertcpd: the spawn
//!   sequences counted from /proc (SPEC 11), clean-up, the models they refuse.
//! - `cpu`: CPU-bound and mixed pools (builtin, nginx + gunicorn) in a 1-CPU cgroup
//!   quota, measured refusals against the prediction (SPEC 13).
//! - `cluster`: a one-node Slurm cluster (munged, slurmctld, slurmd) running sweeps
//!   through the shipped batch script: docs/cluster.md's commands, and a task stopped
//!   by SIGTERM that resumes (SPEC 15).

mod cluster;
#[path = "../integration/common.rs"]
#[allow(dead_code)]
mod common;
mod cpu;
mod harness;
mod harness_servers;
mod validate;
