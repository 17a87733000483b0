//! The scenario: what a model file says (serde structs with `deny_unknown_fields`),
//! its defaults (Linux >= 5.4 and the servers' own), and the checks that turn a parsed
//! file into a model the simulator can trust. Loading, `--set` overrides and error
//! locations live in `source.rs`; the list of addressable paths in `paths.rs`.

mod paths;
pub mod profile;
mod source;
pub mod trace;

pub use paths::{check_path, PATHS};
pub use source::{gives, load, load_str, parse_assignment, parse_value, LoadedModel, Override};

use crate::dist::DistSpec;
use crate::dovecot::Version;
use serde::{Deserialize, Serialize};

/// A whole model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub load: Load,
    pub listener: Listener,
    pub pool: Pool,
    #[serde(default)]
    pub master: Master,
    pub work: Work,
    #[serde(default)]
    pub sim: SimSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// The n-th connection at n/rate, as vegeta's constant pacer sends.
    Constant,
    /// Exponential gaps with mean 1/rate.
    #[default]
    Poisson,
    /// The times of `load.trace`, scaled to `load.rate` when it is given.
    Trace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnRefused {
    /// Give up at once (nginx answers 502).
    #[default]
    Fail,
    /// Pause and try again until `retry_for` has passed (Dovecot's imap-login).
    Retry,
}

/// The clients: open loop, they never wait for a reply before sending the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    #[serde(default)]
    pub arrival: Arrival,
    /// Connections per second (a trace may leave it out: then it replays at its own).
    #[serde(default = "rate_not_given")]
    pub rate: f64,
    /// The rate over time: `load.rate` x the profile's factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<profile::Profile>,
    /// With arrival = "trace": the CSV of arrival times (relative to the model's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
    /// The trace, read.
    #[serde(skip)]
    pub trace_data: Option<std::sync::Arc<trace::Trace>>,
    /// Arrival window in seconds (or `connections`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Number of connections (or `duration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<u64>,
    /// A client with no reply after this many seconds gives up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// TCP only: give up connecting after this many seconds (nginx proxy_connect_timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<f64>,
    #[serde(default)]
    pub on_refused: OnRefused,
    /// Unix retry window in seconds, counted from the first try.
    #[serde(default = "default_retry_for")]
    pub retry_for: f64,
    /// Pause between unix retries.
    #[serde(default = "default_retry_pause")]
    pub retry_pause: DistSpec,
}

/// Marks a rate the file did not give (only a trace may leave it out).
fn rate_not_given() -> f64 {
    f64::NAN
}

fn default_retry_for() -> f64 {
    // Dovecot SOCKET_CONNECT_RETRY_MSECS = 500 (semantics: dovecot-login-retry).
    0.5
}

fn default_retry_pause() -> DistSpec {
    // Dovecot: usleep(i_rand_minmax(1, 10) * 10000), 10 to 100 ms
    // (semantics: dovecot-login-retry).
    DistSpec::Uniform {
        low: 0.01,
        high: 0.1,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerKind {
    #[default]
    Unix,
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SynSchedule {
    /// Linux >= 6.5 (tcp_syn_linear_timeouts = 4): 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s, give up at 131 s.
    #[default]
    #[serde(rename = "linux-6.5")]
    Linux65,
    /// Before 6.5: 1, 3, 7, 15, 31, 63 s, give up at 127 s.
    #[serde(rename = "linux-legacy")]
    LinuxLegacy,
}

impl SynSchedule {
    /// Retransmission times after the first SYN, and the time connect() gives up
    /// (semantics: tcp-syn-retries; ip-sysctl.rst, commit ccce324dabfe).
    pub fn times(self) -> (&'static [f64], f64) {
        match self {
            SynSchedule::Linux65 => (
                &[1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0],
                131.0,
            ),
            SynSchedule::LinuxLegacy => (&[1.0, 3.0, 7.0, 15.0, 31.0, 63.0], 127.0),
        }
    }
}

/// The listening socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listener {
    #[serde(default)]
    pub kind: ListenerKind,
    /// What the server passes to listen(). A Dovecot model (master.dovecot_version)
    /// may leave it out: Dovecot passes process_limit x client_limit, at least 4
    /// (semantics: dovecot-backlog).
    #[serde(default = "backlog_not_given")]
    pub backlog: u32,
    /// net.core.somaxconn: caps every listen() backlog (semantics: somaxconn-cap).
    #[serde(default = "default_somaxconn")]
    pub somaxconn: u32,
    #[serde(default)]
    pub syn_schedule: SynSchedule,
}

/// Marks a backlog the file did not give; listen() takes an int, so no real backlog
/// is this large (`check` refuses anything above i32::MAX).
pub const BACKLOG_NOT_GIVEN: u32 = u32::MAX;

fn backlog_not_given() -> u32 {
    BACKLOG_NOT_GIVEN
}

fn default_somaxconn() -> u32 {
    // SOMAXCONN is 4096 since Linux 5.4 (semantics: somaxconn-default).
    4096
}

/// The worker processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pool {
    pub process_limit: u32,
    #[serde(default = "one")]
    pub client_limit: u32,
    /// Connections before a process exits; 0 = never.
    #[serde(default)]
    pub service_count: u64,
    #[serde(default)]
    pub process_min_avail: u32,
    /// Seconds before an idle process beyond process_min_avail is ended; 0 = never.
    #[serde(default = "default_idle_kill")]
    pub idle_kill: f64,
}

fn one() -> u32 {
    1
}

fn default_idle_kill() -> f64 {
    // Dovecot default_idle_kill = 60 s (semantics: dovecot-defaults).
    60.0
}

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
}

/// The master process that forks the workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Master {
    #[serde(default)]
    pub mode: MasterMode,
    /// From fork to ready to accept.
    #[serde(default = "zero")]
    pub startup: DistSpec,
    /// The master's own time per fork: forks are serialised by it.
    #[serde(default = "zero")]
    pub fork_time: DistSpec,
    /// Wait before replacing an exited process (prefork).
    #[serde(default = "zero")]
    pub respawn_delay: DistSpec,
    /// Seconds at process_limit with no free slot before accept-and-close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_timeout: Option<f64>,
    /// The Dovecot version this master is, when it is one ("2.2.10", "2.3.21",
    /// "2.4.2"): it caps the backlog as that version did and checks the fork mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dovecot_version: Option<String>,
}

impl Default for Master {
    fn default() -> Self {
        Master {
            mode: MasterMode::default(),
            startup: zero(),
            fork_time: zero(),
            respawn_delay: zero(),
            drop_timeout: None,
            dovecot_version: None,
        }
    }
}

fn zero() -> DistSpec {
    DistSpec::constant(0.0)
}

/// What a connection costs the process that serves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Work {
    /// Time the connection blocks its process.
    pub blocking: DistSpec,
    /// Time the connection stays open after its work, the process free for others.
    #[serde(default = "zero")]
    pub hold: DistSpec,
}

/// Run control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    #[serde(default = "one_u64")]
    pub seed: u64,
    #[serde(default = "ten")]
    pub replications: u32,
    /// Seconds at the start whose arrivals are left out of the statistics.
    #[serde(default)]
    pub warmup: f64,
    /// The budget of one replication: the connections it may send (checked before it
    /// runs), and 64 events per connection (checked while it runs).
    #[serde(
        default = "default_max_connections",
        skip_serializing_if = "is_default_max_connections"
    )]
    pub max_connections: u64,
    /// Seconds per row of `simulate --out`'s timeline (default: the arrival window / 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<f64>,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            seed: 1,
            replications: 10,
            warmup: 0.0,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            bin: None,
        }
    }
}

/// The most rows of a timeline.
pub const MAX_TIMELINE_BINS: f64 = 1_000_000.0;

/// Connections one replication may send unless `sim.max_connections` says otherwise:
/// about ten seconds of one core.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 100_000_000;
/// Events a replication may process per connection of its budget.
pub const EVENTS_PER_CONNECTION: u64 = 64;
/// The most processes a pool may have: the simulator keeps a slot for each.
pub const MAX_PROCESSES: u32 = 1_000_000;
/// The most replications of one point.
pub const MAX_REPLICATIONS: u32 = 1_000_000;
/// The shortest mean pause between a client's retries: below it the clock of a
/// retrying client would hardly advance.
pub const MIN_RETRY_PAUSE: f64 = 1e-6;

fn default_max_connections() -> u64 {
    DEFAULT_MAX_CONNECTIONS
}

fn is_default_max_connections(n: &u64) -> bool {
    *n == DEFAULT_MAX_CONNECTIONS
}

fn one_u64() -> u64 {
    1
}

fn ten() -> u32 {
    10
}

/// A check that failed: the dotted path of the field and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub path: String,
    pub message: String,
}

fn bad(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_string(),
        message: message.into(),
    }
}

impl Model {
    /// Fills what follows from other fields: a Dovecot master's backlog,
    /// process_limit x client_limit and at least 4 (service_get_backlog(); semantics:
    /// dovecot-backlog).
    pub fn derive(&mut self) {
        // A trace replays at its own rate unless load.rate says otherwise, and lasts
        // its span unless the file bounds it.
        if let Some(tr) = self.load.trace_data.clone() {
            if self.load.rate.is_nan() {
                // One arrival has no gaps, so no rate of its own; any rate replays it.
                self.load.rate = if tr.t.len() > 1 && tr.span() > 0.0 {
                    tr.natural_rate()
                } else {
                    1.0
                };
            }
            if self.load.duration.is_none() && self.load.connections.is_none() {
                let scale = self.trace_scale();
                if tr.span() > 0.0 && scale.is_finite() {
                    self.load.duration = Some(tr.span() * scale);
                } else {
                    self.load.connections = Some(tr.t.len() as u64);
                }
            }
        }
        if self.listener.backlog == BACKLOG_NOT_GIVEN && self.master.dovecot_version.is_some() {
            self.listener.backlog =
                crate::dovecot::backlog(self.pool.process_limit, self.pool.client_limit);
        }
    }

    /// Every rule a parsed model must meet before it is simulated.
    pub fn check(&self) -> Result<(), FieldError> {
        let l = &self.load;
        if l.rate.is_nan() {
            return Err(bad(
                "load.rate",
                "is required: connections per second (only a trace may leave it out, to \
                 replay at its own rate)",
            ));
        }
        positive("load.rate", l.rate, "connections per second")?;
        match (l.arrival, &l.trace, &l.profile) {
            (Arrival::Trace, None, _) => {
                return Err(bad(
                    "load.trace",
                    "is required with arrival = \"trace\": the CSV of arrival times \
                     (a column `t`, optionally `blocking`)",
                ))
            }
            (Arrival::Trace, Some(_), Some(_)) => {
                return Err(bad(
                    "load.profile",
                    "a trace carries its own timing: give a profile or a trace, not both",
                ))
            }
            (Arrival::Constant | Arrival::Poisson, Some(_), _) => {
                return Err(bad("load.trace", "is read only with arrival = \"trace\""))
            }
            _ => {}
        }
        if let Some(p) = &l.profile {
            p.check().map_err(|m| bad("load.profile", m))?;
        }
        if let Some(tr) = &l.trace_data {
            if tr.t.len() > 1 && tr.span() == 0.0 {
                return Err(bad(
                    "load.trace",
                    "every arrival has the same t: a trace needs times that advance",
                ));
            }
        }
        match (l.duration, l.connections) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "load.duration",
                    "give `load.duration` or `load.connections`, not both",
                ))
            }
            (None, None) => return Err(bad(
                "load.duration",
                "give `load.duration` (seconds) or `load.connections` (a count): one is required",
            )),
            (Some(d), None) => positive("load.duration", d, "seconds")?,
            (None, Some(0)) => return Err(bad("load.connections", "must be at least 1")),
            (None, Some(_)) => {}
        }
        if let Some(t) = l.timeout {
            positive("load.timeout", t, "seconds")?;
            at_most_max_seconds("load.timeout", t)?;
        }
        if let Some(t) = l.connect_timeout {
            positive("load.connect_timeout", t, "seconds")?;
            at_most_max_seconds("load.connect_timeout", t)?;
        }
        non_negative("load.retry_for", l.retry_for)?;
        at_most_max_seconds("load.retry_for", l.retry_for)?;
        dist("load.retry_pause", &l.retry_pause)?;
        if l.on_refused == OnRefused::Retry {
            if self.listener.kind == ListenerKind::Tcp {
                return Err(bad(
                    "load.on_refused",
                    "\"retry\" is for unix listeners (EAGAIN); a tcp client retransmits its SYN \
                     on `listener.syn_schedule` instead: use \"fail\" with listener.kind = \"tcp\"",
                ));
            }
            if l.retry_pause.mean().is_nan() || l.retry_pause.mean() < MIN_RETRY_PAUSE {
                return Err(bad(
                    "load.retry_pause",
                    format!(
                        "with on_refused = \"retry\" the pause must have a mean of at least \
                         {MIN_RETRY_PAUSE:e} s (1 µs), got {:e}",
                        l.retry_pause.mean()
                    ),
                ));
            }
        }
        if self.listener.backlog == BACKLOG_NOT_GIVEN {
            return Err(bad(
                "listener.backlog",
                "is required: the backlog the server passes to listen() (only a Dovecot \
                 model, with master.dovecot_version, may leave it out)",
            ));
        }
        if self.listener.backlog > i32::MAX as u32 {
            return Err(bad(
                "listener.backlog",
                format!(
                    "{} is more than listen() takes (an int, at most {})",
                    self.listener.backlog,
                    i32::MAX
                ),
            ));
        }
        if self.listener.somaxconn == 0 {
            // The kernel accepts 0, but then listen() gives one pending slot whatever the
            // server asks; nobody runs that on purpose.
            return Err(bad("listener.somaxconn", "must be at least 1"));
        }
        let p = &self.pool;
        if p.process_limit == 0 {
            return Err(bad("pool.process_limit", "must be at least 1 process"));
        }
        if p.process_limit > MAX_PROCESSES {
            return Err(bad(
                "pool.process_limit",
                format!(
                    "{} processes is more than the {MAX_PROCESSES} a simulated pool may have",
                    p.process_limit
                ),
            ));
        }
        if p.client_limit == 0 {
            return Err(bad("pool.client_limit", "must be at least 1 connection"));
        }
        if p.process_min_avail > p.process_limit {
            return Err(bad(
                "pool.process_min_avail",
                format!(
                    "{} idle processes cannot be kept with process_limit = {}: use at most {}",
                    p.process_min_avail, p.process_limit, p.process_limit
                ),
            ));
        }
        non_negative("pool.idle_kill", p.idle_kill)?;
        at_most_max_seconds("pool.idle_kill", p.idle_kill)?;
        let m = &self.master;
        dist("master.startup", &m.startup)?;
        dist("master.fork_time", &m.fork_time)?;
        dist("master.respawn_delay", &m.respawn_delay)?;
        if let Some(t) = m.drop_timeout {
            non_negative("master.drop_timeout", t)?;
            at_most_max_seconds("master.drop_timeout", t)?;
        }
        if m.mode == MasterMode::PerConnection && p.client_limit != 1 {
            return Err(bad(
                "master.mode",
                format!(
                    "\"per-connection\" forking needs pool.client_limit = 1 (Dovecot 2.4.2 accepts \
                     in the master only then), got client_limit = {}: use \"on-demand\"",
                    p.client_limit
                ),
            ));
        }
        if let Some(raw) = &m.dovecot_version {
            let v = Version::parse(raw).ok_or_else(|| {
                bad(
                    "master.dovecot_version",
                    format!(
                        "`{raw}` is not a version: write it as doveconf prints it, e.g. \"2.3.21\""
                    ),
                )
            })?;
            let per_connection = v.forks_per_connection(p.client_limit);
            match (m.mode, per_connection) {
                (MasterMode::OnDemand, true) => {
                    return Err(bad(
                        "master.mode",
                        format!(
                            "Dovecot {raw} with client_limit = 1 accepts in the master and forks per \
                             connection: use \"per-connection\""
                        ),
                    ))
                }
                (MasterMode::PerConnection, false) => {
                    return Err(bad(
                        "master.mode",
                        format!(
                            "Dovecot {raw} forks on demand here (per-connection forking came in 2.4.2, \
                             for client_limit = 1): use \"on-demand\""
                        ),
                    ))
                }
                (MasterMode::Prefork, _) => {
                    return Err(bad(
                        "master.mode",
                        format!("a Dovecot master ({raw}) does not keep a fixed pool: use \"on-demand\" or \"per-connection\""),
                    ))
                }
                _ => {}
            }
        }
        dist("work.blocking", &self.work.blocking)?;
        dist("work.hold", &self.work.hold)?;
        let s = &self.sim;
        if s.replications == 0 {
            return Err(bad("sim.replications", "must be at least 1"));
        }
        if s.replications > MAX_REPLICATIONS {
            return Err(bad(
                "sim.replications",
                format!("must be at most {MAX_REPLICATIONS}, got {}", s.replications),
            ));
        }
        if s.max_connections == 0 || s.max_connections > u64::MAX / EVENTS_PER_CONNECTION {
            return Err(bad(
                "sim.max_connections",
                format!(
                    "must be a whole number from 1 to {}, got {}",
                    u64::MAX / EVENTS_PER_CONNECTION,
                    s.max_connections
                ),
            ));
        }
        if let Some(b) = s.bin {
            positive("sim.bin", b, "seconds per row of the timeline")?;
            let rows = (self.arrival_window() / b).ceil();
            if rows > MAX_TIMELINE_BINS {
                return Err(bad(
                    "sim.bin",
                    format!(
                        "{b} s bins make about {rows:.0} rows over the arrival window: at most \
                         {MAX_TIMELINE_BINS:.0}; give a larger bin"
                    ),
                ));
            }
        }
        let expected = self.expected_connections();
        if expected > s.max_connections as f64 {
            let (field, what) = match l.connections {
                Some(_) => ("load.connections", "load.connections".to_string()),
                None => (
                    "load.duration",
                    format!(
                        "load.rate x load.duration = {} x {}",
                        l.rate,
                        l.duration.unwrap_or(0.0)
                    ),
                ),
            };
            return Err(bad(
                field,
                format!(
                    "about {expected:.3e} connections per replication ({what}) is more than \
                     the budget sim.max_connections = {}: shorten the run, or raise the budget \
                     with --set sim.max_connections=N (about 10^7 connections take a second)",
                    s.max_connections
                ),
            ));
        }
        non_negative("sim.warmup", s.warmup)?;
        if let Some(d) = l.duration {
            if s.warmup >= d {
                return Err(bad(
                    "sim.warmup",
                    format!(
                        "the warm-up ({}) must be shorter than load.duration ({d})",
                        s.warmup
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What listen() is given: `listener.backlog`, cut by the Dovecot version's cap.
    pub fn listen_backlog(&self) -> u32 {
        let cap = self
            .master
            .dovecot_version
            .as_deref()
            .and_then(Version::parse)
            .and_then(|v| v.backlog_cap());
        cap.map_or(self.listener.backlog, |c| self.listener.backlog.min(c))
    }

    /// Pending connections the kernel holds: min(backlog, somaxconn) + 1, because both
    /// unix_recvq_full() and sk_acceptq_is_full() test `>` (semantics: unix-capacity,
    /// tcp-capacity, somaxconn-cap).
    pub fn queue_capacity(&self) -> u64 {
        u64::from(self.listen_backlog().min(self.listener.somaxconn)) + 1
    }

    /// Connections one replication sends: `load.connections`, or about rate x duration
    /// (the profile's integral; a trace's own count).
    pub fn expected_connections(&self) -> f64 {
        let l = &self.load;
        if let Some(tr) = &l.trace_data {
            return (tr.t.len() as f64).min(l.connections.map_or(f64::INFINITY, |n| n as f64));
        }
        match (l.connections, l.duration) {
            (Some(n), _) => n as f64,
            (None, Some(d)) => match &l.profile {
                Some(p) => l.rate * profile::Curve::new(p).integral(d),
                None => l.rate * d,
            },
            (None, None) => 0.0,
        }
    }

    /// The arrival window in seconds: `load.duration`, or about the time the
    /// connections of `load.connections` take to arrive.
    pub fn arrival_window(&self) -> f64 {
        let l = &self.load;
        match (l.duration, l.connections) {
            (Some(d), _) => d,
            (None, Some(n)) => match &l.trace_data {
                Some(tr) => {
                    let i = (n as usize).min(tr.t.len()).saturating_sub(1);
                    tr.t[i] * self.trace_scale()
                }
                None => n as f64 / l.rate,
            },
            (None, None) => 0.0,
        }
    }

    /// The width of a timeline's bins: `sim.bin`, or the arrival window / 200.
    pub fn timeline_bin(&self) -> f64 {
        self.sim.bin.unwrap_or_else(|| {
            let w = self.arrival_window() / 200.0;
            if w > 0.0 {
                w
            } else {
                1.0
            }
        })
    }

    /// How much a trace's times are stretched: 1 at its own rate, 1/2 at twice it.
    pub fn trace_scale(&self) -> f64 {
        match &self.load.trace_data {
            Some(tr) if tr.t.len() > 1 && tr.span() > 0.0 => tr.natural_rate() / self.load.rate,
            _ => 1.0,
        }
    }

    /// Events one replication may process before it is stopped as too long.
    pub fn event_budget(&self) -> u64 {
        self.sim
            .max_connections
            .saturating_mul(EVENTS_PER_CONNECTION)
            .saturating_add(1_000_000)
    }

    /// Offered load in Erlangs: arrival rate times mean blocking time.
    pub fn offered_load(&self) -> f64 {
        self.load.rate * self.work.blocking.mean()
    }
}

fn positive(path: &str, x: f64, unit: &str) -> Result<(), FieldError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(bad(
            path,
            format!("must be a number above 0 ({unit}), got {x}"),
        ))
    }
}

fn non_negative(path: &str, x: f64) -> Result<(), FieldError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(bad(path, format!("must be a number >= 0, got {x}")))
    }
}

fn at_most_max_seconds(path: &str, x: f64) -> Result<(), FieldError> {
    if x <= crate::dist::MAX_SECONDS {
        Ok(())
    } else {
        Err(bad(
            path,
            format!(
                "{x:e} s is more than {:e} s (about 31 years), the longest time a model may give",
                crate::dist::MAX_SECONDS
            ),
        ))
    }
}

fn dist(path: &str, d: &DistSpec) -> Result<(), FieldError> {
    d.check().map_err(|m| bad(path, m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn dovecot(version: &str, mode: &str, client_limit: u32) -> Result<Model, String> {
        let text = format!(
            r#"
name = "d"
[load]
rate = 1
duration = 10
[listener]
somaxconn = 4096
[pool]
process_limit = 1024
client_limit = {client_limit}
[master]
mode = "{mode}"
dovecot_version = "{version}"
[work]
blocking = {{ dist = "constant", value = 1 }}
"#
        );
        source::load_str(&text, "d.toml", Path::new("."), &[]).map_err(|e| e.0)
    }

    #[test]
    fn dovecot_versions_cap_the_backlog_as_they_did() {
        // 128 up to 2.0.12, 511 from 2.0.13 to 2.2.25, none from 2.2.26
        // (semantics: dovecot-backlog-cap).
        let cap = |v| dovecot(v, "on-demand", 1).unwrap().queue_capacity();
        assert_eq!(cap("2.0.12"), 129);
        assert_eq!(cap("2.0.13"), 512);
        assert_eq!(cap("2.2.25"), 512);
        assert_eq!(cap("2.2.26"), 1025);
        assert_eq!(cap("2.3.19.1"), 1025);
    }

    #[test]
    fn a_dovecot_backlog_left_out_is_process_limit_times_client_limit() {
        assert_eq!(
            dovecot("2.3.21", "on-demand", 1).unwrap().listener.backlog,
            1024
        );
        assert_eq!(
            dovecot("2.3.21", "on-demand", 3).unwrap().listener.backlog,
            3072
        );
        let text = "name = \"x\"\n[load]\nrate = 1\nduration = 1\n[listener]\n\
                    [pool]\nprocess_limit = 1\n[work]\nblocking = { dist = \"constant\", value = 1 }\n";
        let e = source::load_str(text, "x.toml", Path::new("."), &[])
            .unwrap_err()
            .0;
        assert!(e.contains("`listener.backlog`: is required"), "{e}");
    }

    #[test]
    fn dovecot_versions_fix_the_fork_mode() {
        assert!(dovecot("2.4.2", "per-connection", 1).is_ok());
        assert!(dovecot("2.4.2", "on-demand", 2).is_ok());
        let e = dovecot("2.4.2", "on-demand", 1).unwrap_err();
        assert!(
            e.contains("`master.mode`") && e.contains("per-connection"),
            "{e}"
        );
        let e = dovecot("2.3.21", "per-connection", 1).unwrap_err();
        assert!(e.contains("2.4.2"), "{e}");
        let e = dovecot("two", "on-demand", 1).unwrap_err();
        assert!(e.contains("`master.dovecot_version`"), "{e}");
    }
}
