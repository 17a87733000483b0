//! The scenario: what a model file says (serde structs with `deny_unknown_fields`),
//! its defaults (Linux >= 5.4 and the servers' own), and the checks that turn a parsed
//! file into a model the simulator can trust. Loading, `--set` overrides and error
//! locations live in `source.rs`; the list of addressable paths in `paths.rs`; how a
//! file is read and written, one service or a chain, in `chain.rs`. The rules of each
//! server family (its defaults, checks and backlog) live in `crate::families`, which
//! the model calls with a service's settings.
//!
//! **One shape.** A model is its load, its run settings and `services`, a list of one
//! or more services, the one the clients connect to first. A file that writes one
//! service with top-level `listener`, `pool`, `master` and `work` tables loads as a
//! list of one whose service has an empty name; a chain of `[[services]]` names every
//! service. That empty name is how the written shape is kept: `Model::is_chain` (the
//! output's per-service tables are for chains only), serialising the model back as
//! the user wrote it, and `Service::path`, which gives `pool.x` for the one service of
//! a single-service file and `services.NAME.pool.x` in a chain, so that every message
//! names a path the user's file has. What runs one service asks `Model::single`, which
//! refuses a chain.
//!
//! **Time steps.** Every time a model gives that repeats an event has a lower bound,
//! so that no run multiplies events without end: `master.tick` at least `MIN_TICK`
//! and at most `sim.max_connections` ticks over the arrival window; `pool.idle_kill`
//! (0, never, or at least `MIN_TICK`) likewise for the timers of the processes
//! `process_min_avail` keeps; `sim.bin` at least the arrival window /
//! `MAX_TIMELINE_BINS`; a retry pause a mean of at least `MIN_RETRY_PAUSE`. What comes
//! after the arrival window (a drain) is bounded while it runs: every event of any kind
//! counts against the run's event budget. A chain has at most `MAX_SERVICES` services.

mod chain;
mod check;
mod host;
mod paths;
pub mod profile;
mod source;
pub mod trace;

pub use chain::{Connect, Handoff, Service};
pub use host::{Host, MemoryUse, MAX_CPUS};

pub use crate::families::MasterMode;
pub use paths::check_path;
pub(crate) use paths::is_integer_path;
pub(crate) use source::load_text;
pub use source::{load, load_str, parse_assignment, parse_value, LoadedModel, Override};

use crate::dist::DistSpec;
use crate::families::{self, Settings};
use serde::{Deserialize, Serialize};

/// A whole model: its load, its services (the one the clients connect to first) and
/// its run settings. It is read and written as the file writes it (`chain.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    pub name: String,
    pub description: String,
    pub load: Load,
    /// One or more services, the first the one the clients connect to: a single-service
    /// file's one service (named ""), or a chain's, in the file's order.
    pub services: Vec<Service>,
    /// The machine the services share (SPEC 13); None: no CPU contention, no memory
    /// check.
    pub host: Option<Host>,
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

pub(crate) fn default_retry_for() -> f64 {
    // Dovecot SOCKET_CONNECT_RETRY_MSECS = 500 (semantics: dovecot-login-retry).
    0.5
}

pub(crate) fn default_retry_pause() -> DistSpec {
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

impl Default for Listener {
    /// A unix listener whose backlog the file did not give.
    fn default() -> Self {
        Listener {
            kind: ListenerKind::default(),
            backlog: BACKLOG_NOT_GIVEN,
            somaxconn: default_somaxconn(),
            syn_schedule: SynSchedule::default(),
        }
    }
}

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
    /// Seconds before an idle process beyond process_min_avail is ended; 0 = never
    /// (PHP-FPM ondemand: pm.process_idle_timeout).
    #[serde(default = "default_idle_kill")]
    pub idle_kill: f64,
    /// How many of a process's connections do their blocking work at the same time
    /// (gunicorn --threads, Apache ThreadsPerChild, Puma and uWSGI threads).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub threads: u32,
    /// Spare-server masters (PHP-FPM dynamic, Apache prefork): processes at t = 0
    /// (pm.start_servers, StartServers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_servers: Option<u32>,
    /// Fewest idle processes the master keeps (pm.min_spare_servers, MinSpareServers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_spare: Option<u32>,
    /// Most idle processes it keeps (pm.max_spare_servers, MaxSpareServers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_spare: Option<u32>,
    /// Resident memory of one process in MiB (ps's RSS), counted against
    /// `host.memory_mib` (SPEC 13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_memory_mib: Option<f64>,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

fn one() -> u32 {
    1
}

fn default_idle_kill() -> f64 {
    // Dovecot default_idle_kill = 60 s (semantics: dovecot-defaults).
    60.0
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
    /// Services whose masters have the same label share one master process, which
    /// forks for all of them one fork at a time (Dovecot's one master).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// Seconds between maintenance ticks (PHP-FPM, Apache: 1).
    #[serde(default = "default_tick", skip_serializing_if = "is_default_tick")]
    pub tick: f64,
    /// The most processes one tick forks (pm.max_spawn_rate; Apache's MAX_SPAWN_RATE).
    #[serde(
        default = "default_max_spawn_rate",
        skip_serializing_if = "is_default_max_spawn_rate"
    )]
    pub max_spawn_rate: u32,
}

fn default_tick() -> f64 {
    // FPM_IDLE_SERVER_MAINTENANCE_HEARTBEAT 1000 ms; Apache's 1-s sleep
    // (semantics: php-fpm-tick, apache-tick).
    1.0
}

fn is_default_tick(t: &f64) -> bool {
    *t == 1.0
}

fn default_max_spawn_rate() -> u32 {
    // pm.max_spawn_rate 32; Apache MAX_SPAWN_RATE 32 (semantics: php-fpm-max-spawn-rate,
    // apache-spawn).
    32
}

fn is_default_max_spawn_rate(n: &u32) -> bool {
    *n == 32
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
            process: None,
            tick: default_tick(),
            max_spawn_rate: default_max_spawn_rate(),
        }
    }
}

fn zero() -> DistSpec {
    DistSpec::constant(0.0)
}

/// What a connection costs the process that serves it: its CPU part first (shared with
/// the other busy processes on the host's CPUs, SPEC 13), then its time off the CPU,
/// then its hold. Read and written through `WorkTable`, which keeps what the file
/// gave: `blocking` is required unless `cpu` is given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "WorkTable", into = "WorkTable")]
pub struct Work {
    /// Time the connection blocks its process off the CPU (waiting on a database, the
    /// network, a sleep); 0 when the file gives only `cpu`.
    pub blocking: DistSpec,
    /// Time the connection stays open after its work, the process free for others.
    pub hold: DistSpec,
    /// CPU seconds the connection needs, before its time off the CPU (default 0).
    pub cpu: DistSpec,
    /// The file (or a `--set`) gave `blocking`, `cpu`: so that the model is written
    /// back as it was read, and a missing `blocking` is refused only without `cpu`.
    pub blocking_given: bool,
    pub cpu_given: bool,
}

/// The `work` table as a file writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkTable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    blocking: Option<DistSpec>,
    #[serde(default = "zero")]
    hold: DistSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cpu: Option<DistSpec>,
}

impl From<WorkTable> for Work {
    fn from(t: WorkTable) -> Work {
        Work {
            blocking_given: t.blocking.is_some(),
            cpu_given: t.cpu.is_some(),
            blocking: t.blocking.unwrap_or_else(zero),
            hold: t.hold,
            cpu: t.cpu.unwrap_or_else(zero),
        }
    }
}

impl From<Work> for WorkTable {
    fn from(w: Work) -> WorkTable {
        WorkTable {
            blocking: w.blocking_given.then_some(w.blocking),
            hold: w.hold,
            cpu: w.cpu_given.then_some(w.cpu),
        }
    }
}

impl Work {
    /// Mean seconds a connection's work takes its process with a CPU of its own: its
    /// CPU part and its time off the CPU.
    pub fn mean_time(&self) -> f64 {
        self.cpu.mean() + self.blocking.mean()
    }

    /// Whether connections need any CPU.
    pub fn uses_cpu(&self) -> bool {
        !matches!(self.cpu, DistSpec::Constant { value } if value == 0.0)
    }
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
    /// Estimate the refusal probabilities by importance splitting (RESTART, and fixed
    /// effort for the chance of any refusal in a run) instead of plain runs (SPEC
    /// section 14, `crate::rare`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub rare: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            seed: 1,
            replications: 10,
            warmup: 0.0,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            bin: None,
            rare: false,
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
/// The shortest maintenance tick (`master.tick`), a millisecond: PHP-FPM's and
/// Apache's are a second, fixed in their code (semantics: php-fpm-tick, apache-tick),
/// and a shorter one would only multiply the run's events.
pub const MIN_TICK: f64 = 1e-3;
/// The most services of a chain: real chains have two or three, and the simulator keeps
/// a record of each per replication.
pub const MAX_SERVICES: usize = 100;

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

/// The family's view of a service's tables: what its rules read.
fn settings<'a>(pool: &Pool, mode: MasterMode, dovecot_version: Option<&'a str>) -> Settings<'a> {
    Settings {
        mode,
        dovecot_version,
        process_limit: pool.process_limit,
        client_limit: pool.client_limit,
        start_servers: pool.start_servers,
        min_spare: pool.min_spare,
        max_spare: pool.max_spare,
    }
}

/// The fewest and the most idle processes a spare-server master keeps, with its
/// family's defaults (PHP-FPM: semantics: php-fpm-dynamic-config; Apache: semantics:
/// apache-defaults); (0, 0) for a master that keeps none.
pub(crate) fn spares(pool: &Pool, mode: MasterMode) -> (u32, u32) {
    families::of(mode, None).spares(&settings(pool, mode, None))
}

/// The processes a spare-server master starts with: pm.start_servers or StartServers,
/// with its family's default.
pub(crate) fn start_servers(pool: &Pool, mode: MasterMode) -> u32 {
    families::of(mode, None).start_servers(&settings(pool, mode, None))
}

fn bad(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        path: path.to_string(),
        message: message.into(),
    }
}

impl Model {
    /// Fills what follows from other fields: a trace's rate and window, and each
    /// service's backlog when the file leaves it out and its family derives one (a
    /// Dovecot master's process_limit x client_limit, at least 4; semantics:
    /// dovecot-backlog). Returns whether the first service's backlog was derived.
    fn derive(&mut self) -> bool {
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
        let mut front_derived = false;
        for (i, s) in self.services.iter_mut().enumerate() {
            if s.listener.backlog != BACKLOG_NOT_GIVEN {
                continue;
            }
            if let Some(b) = s.family().derived_backlog(&s.settings()) {
                s.listener.backlog = b;
                front_derived |= i == 0;
            }
        }
        front_derived
    }

    /// The service the clients connect to: a single-service file's one service, or a
    /// chain's first.
    pub fn front(&self) -> &Service {
        &self.services[0]
    }

    /// Whether the file gives a chain of `[[services]]` rather than one service's
    /// top-level tables (a chain of one included).
    pub fn is_chain(&self) -> bool {
        !self.front().name.is_empty()
    }

    /// The one service of a single-service model, for what runs one service. A chain is
    /// refused with a message that reads after the name of what refuses it ("the
    /// builtin server runs one service, not a chain: ...") and names the services.
    pub fn single(&self) -> Result<&Service, FieldError> {
        if self.is_chain() {
            let names: Vec<&str> = self.services.iter().map(|s| s.name.as_str()).collect();
            return Err(bad(
                "services",
                format!(
                    "runs one service, not a chain: this model is a chain of {} service{} ({})",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
            ));
        }
        Ok(self.front())
    }

    /// What the first service's listen() is given.
    pub fn listen_backlog(&self) -> u32 {
        self.front().listen_backlog()
    }

    /// The first service's queue capacity.
    pub fn queue_capacity(&self) -> u64 {
        self.front().queue_capacity()
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

    /// A trace replayed at a rate other than its own, because the file or a `--set`
    /// gives `load.rate`: (its own rate, the rate it is replayed at). None for a trace
    /// at its own rate, and for other arrivals.
    pub fn trace_rescaled(&self) -> Option<(f64, f64)> {
        let tr = self.load.trace_data.as_ref()?;
        let own = (tr.t.len() > 1 && tr.span() > 0.0).then(|| tr.natural_rate())?;
        ((self.load.rate - own).abs() > 1e-9 * own).then_some((own, self.load.rate))
    }

    /// Events one replication may process before it is stopped as too long.
    pub fn event_budget(&self) -> u64 {
        self.sim
            .max_connections
            .saturating_mul(EVENTS_PER_CONNECTION)
            .saturating_add(1_000_000)
    }

    /// Offered load in Erlangs: arrival rate times the first service's mean work time
    /// (its CPU part and its time off the CPU).
    pub fn offered_load(&self) -> f64 {
        // 0 + blocking is blocking exactly: a model without `cpu` gives what it gave.
        self.load.rate * self.front().work.mean_time()
    }
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
            dovecot("2.3.21", "on-demand", 1)
                .unwrap()
                .front()
                .listener
                .backlog,
            1024
        );
        assert_eq!(
            dovecot("2.3.21", "on-demand", 3)
                .unwrap()
                .front()
                .listener
                .backlog,
            3072
        );
        let text = "name = \"x\"\n[load]\nrate = 1\nduration = 1\n[listener]\n\
                    [pool]\nprocess_limit = 1\n[work]\nblocking = { dist = \"constant\", value = 1 }\n";
        let e = source::load_str(text, "x.toml", Path::new("."), &[])
            .unwrap_err()
            .0;
        assert!(e.contains("`listener.backlog`: is required"), "{e}");
    }

    const ONE: &str = "name = \"one\"\n[load]\nrate = 1\nduration = 10\n[listener]\nbacklog = 8\n\
                       [pool]\nprocess_limit = 2\n[work]\nblocking = { dist = \"constant\", value = 1 }\n";
    const TWO: &str = "name = \"two\"\n[load]\nrate = 1\nduration = 10\n\
                       [[services]]\nname = \"front\"\nnext = \"back\"\n\
                       listener = { backlog = 8 }\npool = { process_limit = 2 }\n\
                       work = { blocking = { dist = \"constant\", value = 1 } }\n\
                       [[services]]\nname = \"back\"\n\
                       listener = { backlog = 8 }\npool = { process_limit = 2 }\n\
                       work = { blocking = { dist = \"constant\", value = 1 } }\n";

    #[test]
    fn a_single_service_file_is_a_list_of_one_that_names_the_paths_the_file_has() {
        let one = source::load_str(ONE, "one.toml", Path::new("."), &[]).unwrap();
        assert_eq!(one.services.len(), 1);
        assert!(!one.is_chain());
        let s = one.single().unwrap();
        assert_eq!(s.path("pool.process_limit"), "pool.process_limit");
        assert_eq!(one.queue_capacity(), 9);
        // Written back as the user wrote it: top-level tables, no [[services]].
        let text = toml::to_string(&one).unwrap();
        assert!(
            text.contains("[listener]") && !text.contains("services"),
            "{text}"
        );
        assert_eq!(
            source::load_str(&text, "back.toml", Path::new("."), &[]).unwrap(),
            one
        );

        let two = source::load_str(TWO, "two.toml", Path::new("."), &[]).unwrap();
        assert!(two.is_chain());
        assert_eq!(
            two.services[1].path("pool.process_limit"),
            "services.back.pool.process_limit"
        );
        let e = two.single().unwrap_err();
        assert_eq!(e.path, "services");
        assert_eq!(
            e.message,
            "runs one service, not a chain: this model is a chain of 2 services (front, back)"
        );
        // A chain writes each hop's connect table, so it reads back as it writes.
        let text = toml::to_string(&two).unwrap();
        assert!(text.contains("[[services]]"), "{text}");
        let again = source::load_str(&text, "back.toml", Path::new("."), &[]).unwrap();
        assert_eq!(toml::to_string(&again).unwrap(), text);
    }

    #[test]
    fn a_chains_service_named_empty_is_refused_so_the_written_shape_stays_known() {
        let e = source::load_str(
            &TWO.replace("name = \"front\"", "name = \"\""),
            "two.toml",
            Path::new("."),
            &[],
        )
        .unwrap_err()
        .0;
        assert!(
            e.contains("`services[0].name`: `` is not a service name"),
            "{e}"
        );
    }

    #[test]
    fn a_dovecot_version_on_a_master_that_is_not_dovecots_is_refused() {
        for mode in ["php-fpm-dynamic", "php-fpm-ondemand", "apache-prefork"] {
            let e = dovecot("2.3.21", mode, 1).unwrap_err();
            assert!(
                e.contains("`master.mode`")
                    && e.contains(&format!("\"{mode}\" is not how a Dovecot master"))
                    && e.contains("leave master.dovecot_version out"),
                "{e}"
            );
        }
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
