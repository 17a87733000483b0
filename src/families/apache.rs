//! Apache httpd's prefork MPM (`apache-prefork`): a maintenance pass after each quiet
//! 1-s sleep (semantics: apache-tick) keeps the idle children between MinSpareServers
//! and MaxSpareServers, 5 and 10 by default, and the server starts with StartServers,
//! 5 by default (semantics: apache-defaults). Its backlog is ListenBacklog, which the
//! model gives (semantics: apache-backlog).

use super::{
    spare_bounds, spare_changes, start_within_limit, Family, MasterMode, Refusal, Settings,
    SpareFit, SpareRule,
};

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

    /// Apache starts with MinSpareServers, MaxSpareServers or StartServers above
    /// MaxRequestWorkers and behaves as if they were MaxRequestWorkers: no more children
    /// can be idle than exist, so "idle > MaxSpareServers" never holds, and "idle <
    /// MinSpareServers" forks min(rate, free slots) whether the minimum is the limit or
    /// above it (semantics: apache-spawn; other-servers, Apache 4, `prefork.c` l. 798 to
    /// 897); it starts at most MaxRequestWorkers children.
    fn spares_at_limit(&self, s: &Settings, n: u32) -> Option<SpareFit> {
        let (min, max) = self.spares(s);
        // StartServers left out follows the limit already (at most process_limit).
        let start = s.start_servers.unwrap_or(0);
        let before = (start, min, max);
        let after = (start.min(n), min.min(n), max.min(n));
        let changes = spare_changes(before, after);
        if changes.is_empty() {
            return None;
        }
        let above: Vec<String> = changes
            .iter()
            .map(|(field, was, _)| {
                let name = match *field {
                    "pool.start_servers" => "StartServers",
                    "pool.min_spare" => "MinSpareServers",
                    _ => "MaxSpareServers",
                };
                format!("{name} {was}")
            })
            .collect();
        Some(SpareFit {
            rule: SpareRule::Clamped,
            changes,
            why: format!(
                "Apache accepts {} above MaxRequestWorkers and behaves as if {} \
                 MaxRequestWorkers: no more children can start or be idle than exist \
                 (semantics: apache-spawn)",
                match above.split_last() {
                    Some((last, [])) => last.clone(),
                    Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                    None => String::new(),
                },
                if above.len() == 1 {
                    "it were"
                } else {
                    "they were"
                }
            ),
        })
    }

    fn check(&self, s: &Settings) -> Result<(), Refusal> {
        let (min, max) = self.spares(s);
        spare_bounds(min, max, s.process_limit)?;
        start_within_limit(self.start_servers(s), s.process_limit)
    }
}
