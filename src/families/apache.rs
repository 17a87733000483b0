//! Apache httpd's prefork MPM (`apache-prefork`): a maintenance pass after each quiet
//! 1-s sleep (semantics: apache-tick) keeps the idle children between MinSpareServers
//! and MaxSpareServers, 5 and 10 by default, and the server starts with StartServers,
//! 5 by default (semantics: apache-defaults). Its backlog is ListenBacklog, which the
//! model gives (semantics: apache-backlog).

use super::{spare_bounds, start_within_limit, Family, MasterMode, Refusal, Settings};

/// Apache's prefork master.
pub struct Apache;

impl Family for Apache {
    fn ticks(&self, _mode: MasterMode) -> bool {
        true
    }

    fn keeps_spares(&self, _mode: MasterMode) -> bool {
        true
    }

    /// MinSpareServers 5, MaxSpareServers 10 (semantics: apache-defaults).
    fn spares(&self, s: &Settings) -> (u32, u32) {
        (s.min_spare.unwrap_or(5), s.max_spare.unwrap_or(10))
    }

    /// StartServers 5, at most the process limit (semantics: apache-defaults).
    fn start_servers(&self, s: &Settings) -> u32 {
        s.start_servers.unwrap_or(5.min(s.process_limit))
    }

    fn check(&self, s: &Settings) -> Result<(), Refusal> {
        let (min, max) = self.spares(s);
        spare_bounds(min, max, s.process_limit)?;
        start_within_limit(self.start_servers(s), s.process_limit)
    }
}
