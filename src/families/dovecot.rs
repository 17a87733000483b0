//! Dovecot's rules, once, for the model, the simulator, the harness and the importer:
//! how a version is written and compared, the backlog its master passes to listen(),
//! how its master forks, what it does at process_limit, and the versions that changed
//! start-up, pre-forking and idle_kill. `master.mode = "on-demand"`, and any mode with
//! a `master.dovecot_version`, is this family (`super::of`).

use super::{one_connection_per_fork, refuse, Family, MasterMode, Refusal, Settings};

/// Dovecot's master.
pub struct Dovecot;

impl Family for Dovecot {
    /// A backlog left out of a model with a version: process_limit x client_limit, at
    /// least 4 (service_get_backlog(); semantics: dovecot-backlog).
    fn derived_backlog(&self, s: &Settings) -> Option<u32> {
        s.dovecot_version
            .map(|_| backlog(s.process_limit, s.client_limit))
    }

    /// The version's own cap on what listen() is given (semantics: dovecot-backlog-cap).
    fn backlog_cap(&self, s: &Settings) -> Option<u32> {
        s.dovecot_version
            .and_then(Version::parse)
            .and_then(|v| v.backlog_cap())
    }

    /// A per-connection master gives each process one connection, and a version fixes
    /// the fork mode (semantics: dovecot-fork).
    fn check(&self, s: &Settings) -> Result<(), Refusal> {
        one_connection_per_fork(s)?;
        match s.dovecot_version {
            Some(raw) => check_version(raw, s.mode, s.client_limit),
            None => Ok(()),
        }
    }
}

/// A Dovecot master's version fixes its fork mode (semantics: dovecot-fork).
fn check_version(raw: &str, mode: MasterMode, client_limit: u32) -> Result<(), Refusal> {
    let v = Version::parse(raw).ok_or_else(|| {
        refuse(
            "master.dovecot_version",
            format!(
                "`{}` is not a version: write it as doveconf prints it, e.g. \"2.3.21\"",
                crate::error::quoted(raw)
            ),
        )
    })?;
    let wrong = |message: String| Err(refuse("master.mode", message));
    match (mode, v.forks_per_connection(client_limit)) {
        (MasterMode::OnDemand, true) => wrong(format!(
            "Dovecot {raw} with client_limit = 1 accepts in the master and forks per \
             connection: use \"per-connection\""
        )),
        (MasterMode::PerConnection, false) => wrong(format!(
            "Dovecot {raw} forks on demand here (per-connection forking came in 2.4.2, \
             for client_limit = 1): use \"on-demand\""
        )),
        (MasterMode::Prefork, _) => wrong(format!(
            "a Dovecot master ({raw}) does not keep a fixed pool: use \"on-demand\" or \
             \"per-connection\""
        )),
        (MasterMode::OnDemand | MasterMode::PerConnection, _) => Ok(()),
        (other, _) => wrong(format!(
            "\"{other}\" is not how a Dovecot master ({raw}) forks: use \"on-demand\" or \
             \"per-connection\", or leave master.dovecot_version out"
        )),
    }
}

/// A Dovecot version as doveconf prints it (`2.3.19.1`, `2.4.1-4`) or a model gives it
/// in `master.dovecot_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Major, minor, patch and a fourth number (0 when absent).
    pub parts: [u32; 4],
    /// As written.
    pub text: String,
}

/// The smallest backlog the master passes (MIN_BACKLOG in service_get_backlog(),
/// semantics: dovecot-backlog).
pub const MIN_BACKLOG: u32 = 4;

/// Seconds at process_limit before the master accepts and closes what is queued
/// (SERVICE_DROP_TIMEOUT_MSECS, semantics: dovecot-drop-timer).
pub const DROP_TIMEOUT_S: f64 = 10.0;

/// How long imap-login retries a connect to imap that failed with EAGAIN
/// (SOCKET_CONNECT_RETRY_MSECS, semantics: dovecot-login-retry).
pub const LOGIN_RETRY_S: f64 = 0.5;

impl Version {
    /// The leading dotted numbers of `token`; at least major and minor.
    pub fn parse(token: &str) -> Option<Version> {
        let token = token.trim();
        let mut parts = [0u32; 4];
        let mut count = 0;
        for piece in token.split('.') {
            let digits: String = piece.chars().take_while(|c| c.is_ascii_digit()).collect();
            if digits.is_empty() || count == 4 {
                break;
            }
            parts[count] = digits.parse().ok()?;
            count += 1;
            if digits.len() != piece.len() {
                break;
            }
        }
        if count < 2 || !token.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        Some(Version {
            parts,
            text: token.to_string(),
        })
    }

    /// As `master.dovecot_version` takes it: dotted numbers only (`2.4.1-4` is `2.4.1`).
    pub fn numbers(&self) -> String {
        let [a, b, c, d] = self.parts;
        if d > 0 {
            format!("{a}.{b}.{c}.{d}")
        } else {
            format!("{a}.{b}.{c}")
        }
    }

    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.parts[..3] >= [major, minor, patch][..]
    }

    /// 2.4 renamed service_count and idle_kill.
    pub fn is_2_4(&self) -> bool {
        self.at_least(2, 4, 0)
    }

    /// The most this version's master passes to listen(): 128 up to 2.0.12
    /// (MAX_BACKLOG), 511 from 2.0.13 to 2.2.25 (commit 6ea8dfa4a9), no cap of its own
    /// from 2.2.26 on (semantics: dovecot-backlog-cap).
    pub fn backlog_cap(&self) -> Option<u32> {
        if !self.at_least(2, 0, 13) {
            Some(128)
        } else if !self.at_least(2, 2, 26) {
            Some(511)
        } else {
            None
        }
    }

    /// The versions that share this version's backlog cap, as messages name them
    /// ("2.0.0 to 2.0.12"); None where there is no cap (semantics: dovecot-backlog-cap).
    pub fn backlog_cap_versions(&self) -> Option<&'static str> {
        self.backlog_cap().map(|cap| {
            if cap == 128 {
                "2.0.0 to 2.0.12"
            } else {
                "2.0.13 to 2.2.25"
            }
        })
    }

    /// From 2.4.2 (commit 4e75476a95) the master can accept a connection itself before
    /// it forks the process for it; it does so only when client_limit = 1
    /// (`forks_per_connection`, semantics: dovecot-fork).
    pub fn can_accept_in_master(&self) -> bool {
        self.at_least(2, 4, 2)
    }

    /// From 2.4.2 (commit 4e75476a95) the master accepts each connection itself and
    /// forks a process for it when client_limit = 1; before, and with a larger
    /// client_limit, it forks on demand (semantics: dovecot-fork).
    pub fn forks_per_connection(&self, client_limit: u32) -> bool {
        self.can_accept_in_master() && client_limit == 1
    }

    /// 2.2.0 to 2.2.6: every new process did a slow host name lookup while it started
    /// (models/dovecot-2.2-slow-fork.toml). Not in eagain's reference (docs/semantics.md):
    /// it comes from SPEC 3's list of shipped models and is unverified.
    pub fn slow_host_lookup_at_startup(&self) -> bool {
        self.at_least(2, 2, 0) && !self.at_least(2, 2, 7)
    }

    /// From 2.3.15 process_min_avail pre-forks up to 10 processes per timer run
    /// (SERVICE_PREFORK_MAX_AT_ONCE); Dovecot's docs say that before, "the pre-forking
    /// was creating processes too slowly" (semantics: dovecot-min-avail).
    pub fn fast_prefork(&self) -> bool {
        self.at_least(2, 3, 15)
    }

    /// From 2.3.21 idle_kill ends, every interval, the fewest processes seen idle during
    /// it less process_min_avail (service_kill_idle()); before, a simpler rule
    /// (semantics: dovecot-idle-kill).
    pub fn idle_kill_counts_idle_processes(&self) -> bool {
        self.at_least(2, 3, 21)
    }

    /// `service` sections, and so the services eagain models, came with 2.0.
    pub fn has_service_sections(&self) -> bool {
        self.at_least(2, 0, 0)
    }

    /// The drop timer at process_limit, by service type: 10 s from 2.1.0; in 2.0 a
    /// normal service accepts and closes at once (0) and a login service keeps its
    /// connections queued (None) (semantics: dovecot-drop-timer, which covers 2.1.0 and
    /// later; the 2.0 behaviour is not in docs/semantics.md).
    pub fn drop_timeout(&self, login: bool) -> Option<f64> {
        if self.at_least(2, 1, 0) {
            Some(DROP_TIMEOUT_S)
        } else if login {
            None
        } else {
            Some(0.0)
        }
    }
}

/// What service_get_backlog() asks for before a version's cap: process_limit x
/// client_limit, at least 4, at most INT_MAX (semantics: dovecot-backlog).
pub fn backlog(process_limit: u32, client_limit: u32) -> u32 {
    let b = u64::from(process_limit) * u64::from(client_limit);
    b.clamp(u64::from(MIN_BACKLOG), i32::MAX as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_as_doveconf_prints_them() {
        let v = Version::parse("2.3.19.1").unwrap();
        assert_eq!(v.parts, [2, 3, 19, 1]);
        assert_eq!(v.numbers(), "2.3.19.1");
        assert_eq!(Version::parse("2.4.1-4").unwrap().parts, [2, 4, 1, 0]);
        assert_eq!(Version::parse("2.3.0.rc1").unwrap().parts, [2, 3, 0, 0]);
        assert_eq!(Version::parse("2.2.10").unwrap().parts, [2, 2, 10, 0]);
        assert!(Version::parse("Dovecot").is_none());
        assert!(Version::parse("2").is_none());
        assert!(Version::parse("two").is_none());
    }

    #[test]
    fn backlog_caps_fork_modes_and_drop_timers_follow_the_version() {
        let v = |t| Version::parse(t).unwrap();
        assert_eq!(v("2.0.12").backlog_cap(), Some(128));
        assert_eq!(v("2.0.13").backlog_cap(), Some(511));
        assert_eq!(v("2.2.25").backlog_cap(), Some(511));
        assert_eq!(v("2.2.26").backlog_cap(), None);
        assert!(v("2.4.2").forks_per_connection(1));
        assert!(!v("2.4.2").forks_per_connection(2));
        assert!(!v("2.4.1").forks_per_connection(1));
        assert_eq!(v("2.3.21").drop_timeout(false), Some(10.0));
        assert_eq!(v("2.0.9").drop_timeout(false), Some(0.0));
        assert_eq!(v("2.0.9").drop_timeout(true), None);
        assert_eq!(v("2.0.12").backlog_cap_versions(), Some("2.0.0 to 2.0.12"));
        assert_eq!(v("2.2.25").backlog_cap_versions(), Some("2.0.13 to 2.2.25"));
        assert_eq!(v("2.2.26").backlog_cap_versions(), None);
        assert!(!v("2.4.1").can_accept_in_master());
        assert!(v("2.4.2").can_accept_in_master());
        assert_eq!(backlog(1, 1), 4);
        assert_eq!(backlog(1024, 1), 1024);
        assert_eq!(backlog(100, 1000), 100_000);
        assert_eq!(backlog(u32::MAX, u32::MAX), i32::MAX as u32);
    }

    #[test]
    fn start_up_prefork_idle_kill_and_service_rules_follow_the_version() {
        let v = |t| Version::parse(t).unwrap();
        assert!(!v("2.1.17").slow_host_lookup_at_startup());
        assert!(v("2.2.0").slow_host_lookup_at_startup());
        assert!(v("2.2.6").slow_host_lookup_at_startup());
        assert!(!v("2.2.7").slow_host_lookup_at_startup());
        assert!(!v("2.3.14").fast_prefork());
        assert!(v("2.3.15").fast_prefork());
        assert!(!v("2.3.20").idle_kill_counts_idle_processes());
        assert!(v("2.3.21").idle_kill_counts_idle_processes());
        assert!(!v("1.2.17").has_service_sections());
        assert!(v("2.0.0").has_service_sections());
    }
}
