//! couriertcpd, and any master that accepts each connection and forks a process for
//! it (`master.mode = "per-connection"` with no Dovecot version): up to -maxprocs
//! processes, none kept ready (semantics: courier-maxprocs). Its backlog is the C
//! library's compile-time SOMAXCONN, which the model gives (semantics:
//! courier-backlog).

use super::{one_connection_per_fork, Family, Refusal, Settings};

/// couriertcpd.
pub struct Courier;

impl Family for Courier {
    fn check(&self, s: &Settings) -> Result<(), Refusal> {
        one_connection_per_fork(s)
    }
}
