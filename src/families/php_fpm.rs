//! PHP-FPM's process managers (`php-fpm-dynamic`, `php-fpm-ondemand`; pm = static is
//! the fixed pool of `gunicorn.rs`). Both have the master's maintenance tick, once a
//! second (semantics: php-fpm-tick); dynamic keeps its idle children between
//! pm.min_spare_servers and pm.max_spare_servers and starts with pm.start_servers
//! (semantics: php-fpm-dynamic-config). Its backlog is listen.backlog, which the model
//! gives (semantics: php-fpm-backlog).

use super::{spare_bounds, start_within_limit, Family, MasterMode, Refusal, Settings};

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
