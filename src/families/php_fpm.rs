//! PHP-FPM's process managers (`php-fpm-dynamic`, `php-fpm-ondemand`; pm = static is
//! the fixed pool of `gunicorn.rs`). Both have the master's maintenance tick, once a
//! second (semantics: php-fpm-tick); dynamic keeps its idle children between
//! pm.min_spare_servers and pm.max_spare_servers and starts with pm.start_servers
//! (semantics: php-fpm-dynamic-config). Its backlog is listen.backlog, which the model
//! gives (semantics: php-fpm-backlog).

use super::{
    spare_bounds, spare_changes, start_within_limit, Family, MasterMode, Refusal, Settings,
    SpareFit, SpareRule,
};

/// PHP-FPM's master.
pub struct PhpFpm;

impl Family for PhpFpm {
    fn ticks(&self, _mode: MasterMode) -> bool {
        true
    }

    fn keeps_spares(&self, mode: MasterMode) -> bool {
        mode == MasterMode::PhpFpmDynamic
    }

    /// pm.min_spare_servers and pm.max_spare_servers: PHP-FPM refuses to start without
    /// them, and an importer writes them; a model that leaves them out gets 1 and 3.
    fn spares(&self, s: &Settings) -> (u32, u32) {
        (s.min_spare.unwrap_or(1), s.max_spare.unwrap_or(3))
    }

    /// pm.start_servers, by default min_spare + (max_spare - min_spare) / 2
    /// (semantics: php-fpm-dynamic-config).
    fn start_servers(&self, s: &Settings) -> u32 {
        let (min, max) = self.spares(s);
        s.start_servers.unwrap_or(min + (max - min) / 2)
    }

    /// PHP-FPM refuses a dynamic pool whose pm.max_spare_servers (or min_spare_servers)
    /// is above pm.max_children (semantics: php-fpm-dynamic-config; other-servers,
    /// PHP-FPM 5, `fpm_conf.c`): the smallest limit it starts with is max_spare. A pool
    /// file for fewer children must lower them: max_spare to the limit, min_spare and
    /// start_servers to at most it.
    fn spares_at_limit(&self, s: &Settings, n: u32) -> Option<SpareFit> {
        if !self.keeps_spares(s.mode) {
            return None;
        }
        let (min, max) = self.spares(s);
        let start = self.start_servers(s);
        if max <= n {
            return None;
        }
        let fitted = (start.min(n), min.min(n), n);
        Some(SpareFit {
            rule: SpareRule::Refused { smallest: max },
            changes: spare_changes((start, min, max), fitted),
            why: format!(
                "PHP-FPM refuses to start a dynamic pool with pm.max_spare_servers ({max}) \
                 above pm.max_children (semantics: php-fpm-dynamic-config)"
            ),
        })
    }

    /// PHP-FPM refuses to start with start_servers outside [min_spare, max_spare]
    /// (semantics: php-fpm-dynamic-config).
    fn check(&self, s: &Settings) -> Result<(), Refusal> {
        if !self.keeps_spares(s.mode) {
            return Ok(());
        }
        let (min, max) = self.spares(s);
        spare_bounds(min, max, s.process_limit)?;
        let start = self.start_servers(s);
        if !(min..=max).contains(&start) {
            return Err(Refusal {
                field: "pool.start_servers",
                message: format!(
                    "{start} is outside [min_spare, max_spare] = [{min}, {max}], which \
                     PHP-FPM refuses to start with"
                ),
            });
        }
        start_within_limit(start, s.process_limit)
    }
}
