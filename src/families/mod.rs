//! The server families: the rules each kind of master follows, one file a family
//! (`gunicorn.rs`, `dovecot.rs`, `php_fpm.rs`, `apache.rs`, `courier.rs`). A family
//! owns its defaults (the spare servers its master keeps, the processes it starts
//! with), its checks of a service's settings, and its backlog: the one it derives when
//! the model leaves `listener.backlog` out, and the cap its version puts on what
//! listen() is given. This file holds the master modes, what a family's rules read of
//! a service (`Settings`, copied from the model's tables), and `of`: the one place that
//! decides which family a service is, from its master's mode and its Dovecot version.
//!
//! Nothing here knows the model's types: the model copies a service's settings in and
//! names the paths of what a rule refuses (`Refusal::field` is relative to the
//! service), so the arrow points one way, model → families. The simulator's spawn
//! rules live in `server/`; the harness's and the importers' rules of each real server
//! in their own folders.
//!
//! A new family costs a file here and an arm of `of` (with its mode, if it brings one).

pub mod apache;
pub mod courier;
pub mod dovecot;
pub mod gunicorn;
pub mod php_fpm;

use serde::{Deserialize, Serialize};
use std::fmt;

/// How a service's master forks its processes (`master.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MasterMode {
    /// A fixed pool ready at t = 0, respawned on exit (gunicorn sync workers).
    #[default]
    Prefork,
    /// Dovecot up to 2.4.1: one fork per startup round trip while connections wait.
    OnDemand,
    /// Dovecot 2.4.2 and later (client_limit = 1), courier: the master accepts and forks.
    PerConnection,
    /// PHP-FPM pm = dynamic: a maintenance tick keeps the idle children between
    /// min_spare and max_spare, forking at a rate that doubles per tick.
    PhpFpmDynamic,
    /// PHP-FPM pm = ondemand: one fork per wake-up of its edge-triggered watch.
    PhpFpmOndemand,
    /// Apache httpd's prefork MPM: as dynamic, with its own rules.
    ApachePrefork,
}

impl MasterMode {
    /// Every mode, in the order messages list them.
    pub const ALL: [MasterMode; 6] = [
        MasterMode::Prefork,
        MasterMode::OnDemand,
        MasterMode::PerConnection,
        MasterMode::PhpFpmDynamic,
        MasterMode::PhpFpmOndemand,
        MasterMode::ApachePrefork,
    ];

    /// The modes whose maintenance tick keeps spare servers (PHP-FPM dynamic, Apache
    /// prefork): their family says so.
    pub fn has_spares(self) -> bool {
        of(self, None).keeps_spares(self)
    }

    /// The modes with a maintenance tick at all.
    pub fn ticks(self) -> bool {
        of(self, None).ticks(self)
    }
}

impl fmt::Display for MasterMode {
    /// As a model file writes it ("on-demand"): serde's name, which a test keeps equal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MasterMode::Prefork => "prefork",
            MasterMode::OnDemand => "on-demand",
            MasterMode::PerConnection => "per-connection",
            MasterMode::PhpFpmDynamic => "php-fpm-dynamic",
            MasterMode::PhpFpmOndemand => "php-fpm-ondemand",
            MasterMode::ApachePrefork => "apache-prefork",
        })
    }
}

/// What a family's rules read of one service: its master's mode and version and the
/// pool's limits, as the model's tables give them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings<'a> {
    pub mode: MasterMode,
    /// `master.dovecot_version`, as written.
    pub dovecot_version: Option<&'a str>,
    pub process_limit: u32,
    pub client_limit: u32,
    /// `pool.start_servers`, `pool.min_spare`, `pool.max_spare`, when given.
    pub start_servers: Option<u32>,
    pub min_spare: Option<u32>,
    pub max_spare: Option<u32>,
}

/// What a spare-server master does when its process limit is set to a value below its
/// spare settings: the one rule a plan and a sweep follow when they move
/// `pool.process_limit` (`Family::spares_at_limit`).
#[derive(Debug, Clone, PartialEq)]
pub struct SpareFit {
    pub rule: SpareRule,
    /// The spare settings a configuration for the new limit has: (the service's own
    /// path, the value before, the value for the limit), only those that change.
    pub changes: Vec<(&'static str, u32, u32)>,
    /// What the server does, in its own words, with the source (semantics: ID).
    pub why: String,
}

/// How the server treats spare settings above its process limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpareRule {
    /// It starts and behaves as if they were clamped to the limit (Apache): `changes`
    /// are what it does.
    Clamped,
    /// It refuses to start below `smallest` (PHP-FPM): `changes` are what a
    /// configuration for the limit must write instead.
    Refused { smallest: u32 },
}

/// A setting a family refuses: `field` is the service's own path ("pool.min_spare"),
/// which the model turns into the path the file has.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        field,
        message: message.into(),
    }
}

/// A family's rules. Each method has the answer of a family without the feature, so a
/// family writes only what it has.
pub trait Family: Sync {
    /// Whether `mode`, one of this family's, has a maintenance tick.
    fn ticks(&self, _mode: MasterMode) -> bool {
        false
    }

    /// Whether `mode`'s tick keeps spare servers between `spares`.
    fn keeps_spares(&self, _mode: MasterMode) -> bool {
        false
    }

    /// The fewest and the most idle processes the master keeps, with the family's
    /// defaults for what the model leaves out; read only where `keeps_spares`.
    fn spares(&self, _s: &Settings) -> (u32, u32) {
        (0, 0)
    }

    /// The processes a spare-server master starts with, with the family's default;
    /// read only where `keeps_spares`.
    fn start_servers(&self, _s: &Settings) -> u32 {
        0
    }

    /// What this family does with its spare settings (`pool.start_servers`,
    /// `pool.min_spare`, `pool.max_spare`, with its defaults for those left out) when
    /// `pool.process_limit` is set to `n`; None when they fit under `n` (and for a
    /// master that keeps no spares). `s` is the service's settings before the change.
    fn spares_at_limit(&self, _s: &Settings, _n: u32) -> Option<SpareFit> {
        None
    }

    /// The backlog the server passes to listen() when the model leaves
    /// `listener.backlog` out; None: the model must give it.
    fn derived_backlog(&self, _s: &Settings) -> Option<u32> {
        None
    }

    /// The most the server passes to listen(), whatever it is configured with.
    fn backlog_cap(&self, _s: &Settings) -> Option<u32> {
        None
    }

    /// The family's own rules about a service's settings, after the checks every
    /// service has.
    fn check(&self, _s: &Settings) -> Result<(), Refusal> {
        Ok(())
    }
}

/// The family of a service whose master runs `mode`, with `dovecot_version` when the
/// model names one: the one place this is decided.
pub fn of(mode: MasterMode, dovecot_version: Option<&str>) -> &'static dyn Family {
    match (mode, dovecot_version) {
        (_, Some(_)) | (MasterMode::OnDemand, None) => &dovecot::Dovecot,
        (MasterMode::Prefork, None) => &gunicorn::Gunicorn,
        (MasterMode::PerConnection, None) => &courier::Courier,
        (MasterMode::PhpFpmDynamic | MasterMode::PhpFpmOndemand, None) => &php_fpm::PhpFpm,
        (MasterMode::ApachePrefork, None) => &apache::Apache,
    }
}

/// A master that accepts each connection and forks a process for it gives each
/// process one connection (semantics: dovecot-master-accept, courier-maxprocs).
fn one_connection_per_fork(s: &Settings) -> Result<(), Refusal> {
    if s.mode == MasterMode::PerConnection && s.client_limit != 1 {
        return Err(refuse(
            "master.mode",
            format!(
                "\"per-connection\" forking needs pool.client_limit = 1 (Dovecot 2.4.2 accepts \
                 in the master only then), got client_limit = {}: use \"on-demand\"",
                s.client_limit
            ),
        ));
    }
    Ok(())
}

/// The bounds every spare-server master puts on its spares: min_spare <= max_spare <=
/// process_limit (semantics: php-fpm-dynamic-config, apache-defaults).
fn spare_bounds(min: u32, max: u32, process_limit: u32) -> Result<(), Refusal> {
    if min > max {
        return Err(refuse(
            "pool.min_spare",
            format!("{min} is above pool.max_spare ({max}): give min_spare <= max_spare"),
        ));
    }
    if max > process_limit {
        return Err(refuse(
            "pool.max_spare",
            format!(
                "{max} is above pool.process_limit ({process_limit}): no more processes can \
                 be idle than exist"
            ),
        ));
    }
    Ok(())
}

/// The changes from `before` to `after`, (start_servers, min_spare, max_spare) each, for
/// a `SpareFit`.
fn spare_changes(before: (u32, u32, u32), after: (u32, u32, u32)) -> Vec<(&'static str, u32, u32)> {
    [
        ("pool.start_servers", before.0, after.0),
        ("pool.min_spare", before.1, after.1),
        ("pool.max_spare", before.2, after.2),
    ]
    .into_iter()
    .filter(|(_, a, b)| a != b)
    .collect()
}

/// No master starts more processes than its limit.
fn start_within_limit(start: u32, process_limit: u32) -> Result<(), Refusal> {
    if start > process_limit {
        return Err(refuse(
            "pool.start_servers",
            format!("{start} is above pool.process_limit ({process_limit})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modes_display_is_its_name_in_a_model_file() {
        for mode in MasterMode::ALL {
            let serde = serde_json::to_value(mode).unwrap();
            assert_eq!(serde.as_str(), Some(mode.to_string().as_str()));
        }
    }

    fn spares(mode: MasterMode, start: Option<u32>, min: u32, max: u32) -> Settings<'static> {
        Settings {
            mode,
            dovecot_version: None,
            process_limit: 150,
            client_limit: 1,
            start_servers: start,
            min_spare: Some(min),
            max_spare: Some(max),
        }
    }

    #[test]
    fn php_fpm_refuses_a_limit_below_max_spare_and_apache_behaves_as_if_clamped() {
        // PHP-FPM: max_children must be at least max_spare; a pool file for 2 children
        // lowers max_spare to 2 and start_servers into [min, max].
        let s = spares(MasterMode::PhpFpmDynamic, Some(2), 1, 3);
        let fpm = of(s.mode, None);
        assert_eq!(fpm.spares_at_limit(&s, 3), None);
        let fit = fpm.spares_at_limit(&s, 1).unwrap();
        assert_eq!(fit.rule, SpareRule::Refused { smallest: 3 });
        assert_eq!(
            fit.changes,
            [("pool.start_servers", 2, 1), ("pool.max_spare", 3, 1)]
        );
        assert!(fit.why.contains("php-fpm-dynamic-config"), "{}", fit.why);
        // ondemand keeps no spares.
        let od = spares(MasterMode::PhpFpmOndemand, None, 1, 3);
        assert_eq!(of(od.mode, None).spares_at_limit(&od, 1), None);
        // Apache: clamped, StartServers left out follows the limit by itself.
        let s = spares(MasterMode::ApachePrefork, None, 5, 10);
        let apache = of(s.mode, None);
        assert_eq!(apache.spares_at_limit(&s, 10), None);
        let fit = apache.spares_at_limit(&s, 4).unwrap();
        assert_eq!(fit.rule, SpareRule::Clamped);
        assert_eq!(
            fit.changes,
            [("pool.min_spare", 5, 4), ("pool.max_spare", 10, 4)]
        );
        assert!(fit.why.contains("apache-spawn"), "{}", fit.why);
        // Families without spares have no rule.
        let g = spares(MasterMode::Prefork, None, 0, 0);
        assert_eq!(of(g.mode, None).spares_at_limit(&g, 1), None);
    }

    #[test]
    fn the_family_follows_the_mode_and_a_dovecot_version_makes_it_dovecots() {
        let s = |mode, v: Option<&'static str>| Settings {
            mode,
            dovecot_version: v,
            process_limit: 10,
            client_limit: 1,
            start_servers: None,
            min_spare: None,
            max_spare: None,
        };
        // Dovecot derives its backlog only with a version; no other family does.
        for mode in MasterMode::ALL {
            let with = s(mode, Some("2.3.21"));
            assert_eq!(of(mode, Some("2.3.21")).derived_backlog(&with), Some(10));
            assert_eq!(of(mode, None).derived_backlog(&s(mode, None)), None);
        }
        let spares: Vec<MasterMode> = MasterMode::ALL
            .into_iter()
            .filter(|m| m.has_spares())
            .collect();
        assert_eq!(
            spares,
            [MasterMode::PhpFpmDynamic, MasterMode::ApachePrefork]
        );
        let ticks: Vec<MasterMode> = MasterMode::ALL.into_iter().filter(|m| m.ticks()).collect();
        assert_eq!(
            ticks,
            [
                MasterMode::PhpFpmDynamic,
                MasterMode::PhpFpmOndemand,
                MasterMode::ApachePrefork
            ]
        );
    }
}
