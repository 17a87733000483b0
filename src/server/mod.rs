//! The listening service(s), simulated: clients that connect open-loop, the kernel
//! listen queue of each service, its worker processes and the master that forks them,
//! and, for a chain (SPEC section 8), each hop from one service to the next. One `Sim`
//! runs one replication of one model, single-threaded.
//!
//! The unit is the service: in a run each is a `Station` (`station.rs`), one record
//! holding its hot constants, its run state and its statistics, with its cold
//! specification (`compile.rs`) by reference. An event reads its station's index once,
//! from the event, the connection or the process, and works on that record; what
//! every station shares (the event list, the process and connection slabs, the
//! masters, the random streams, the model-wide statistics) is `Shared`. Model-wide
//! outcome counts are summed from the stations when the run ends.
//!
//! The concepts live in their own files: `client.rs` (arrivals, connect, retries,
//! outcomes), `pool.rs` (processes: accept, work, exit), `master.rs` (the fork each
//! master serialises, its own accepts, the drop timer), `family/` (each server family's
//! spawn decisions), `idle.rs` (a station's idle processes, oldest first), `hop.rs`
//! (a chain's hops) and `host.rs` (the host's CPUs, shared by processor sharing). The rules and where they come from are in docs/semantics.md; each
//! is cited where it is made, as `(semantics: ID)`.
//!
//! A run's whole state (`Sim`) is `Clone`: the compiled model is shared by
//! reference and every random stream is a value derived from (seed, replication,
//! purpose), so a copy of a running replication goes on by itself.

mod client;
mod compile;
mod family;
mod hop;
mod host;
mod idle;
mod master;
mod pool;
mod split;
mod station;

pub use compile::Compiled;
pub(crate) use split::Trajectory;

use crate::engine::{stream, EventId, EventQueue, Rng64};
use crate::error::{shown, BadInput};
use crate::model::MAX_TIMELINE_BINS;
use crate::stats::RepStats;
use crate::workload;
use station::Station;
use std::collections::{HashMap, VecDeque};

/// The random stream of the master's draws (startup, fork time, respawn delay).
pub const MASTER_STREAM: u64 = 3;

/// Events of the server model. Small (8 bytes) and `Copy`: the heap moves them by
/// value. Each names the station, the connection or the process it is for.
#[derive(Debug, Clone, Copy)]
enum Ev {
    /// The next client sends its connection.
    Arrival,
    /// A unix client tries again after EAGAIN (on_refused = "retry").
    Retry(u32),
    /// A tcp client retransmits its SYN.
    Syn(u32),
    /// A connection's blocking work is finished: the reply goes out, or the process
    /// connects to the next service.
    WorkDone(u32),
    /// A connection's hold is over: it closes and frees its slot.
    Close(u32),
    /// A process has started and can accept.
    Ready(u32),
    /// A master has finished a fork and can accept again (per-connection mode).
    MasterFree(u16),
    /// Prefork: replace a process of this station that exited.
    Respawn(u16),
    /// An idle process's idle_kill time is up.
    IdleKill(u32),
    /// drop_timeout seconds at process_limit: accept and close what is queued.
    DropTimeout(u16),
    /// process_min_avail: one run of the master's 0-ms prefork timer.
    PreforkRun(u16),
    /// A proxying process gives up waiting for the next service's reply.
    HopTimeout(u32),
    /// A spare-server master's maintenance tick.
    Tick(u16),
    /// load.duration has passed: the observed window ends.
    WindowEnd,
    /// A bin of the timeline ends.
    BinEdge,
    /// The next CPU finish on the host, of this generation (`host.rs`).
    CpuDone(u32),
}

const _: () = assert!(std::mem::size_of::<Ev>() == 8);

/// No connection, process or slot.
const NONE: u32 = u32::MAX;
/// No station.
const NONE16: u16 = u16::MAX;

/// The most connections a replication may hold open at once (each is a slot of a few
/// dozen bytes): past it, it stops with an error rather than take the machine's memory.
pub const MAX_OPEN: usize = 10_000_000;

fn budget_text(n: u64) -> String {
    format!("{n:.3e}", n = n as f64)
}

/// "1 connection" or "N connections", for the messages of a run stopped early.
fn connections(n: u64) -> String {
    if n == 1 {
        "1 connection".into()
    } else {
        format!("{n} connections")
    }
}

/// One connection: a client's to the first service, or, in a chain, a process's to the
/// next service on the client's behalf.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// When the client meant to send it: latency is measured from here.
    origin: f64,
    /// When this connection was first tried (its retries and SYNs count from here).
    sent: f64,
    /// It gives up at this time (infinity without a timeout).
    deadline: f64,
    blocking: f64,
    hold: f64,
    /// When it entered the kernel queue.
    queued_at: f64,
    /// SYN retransmissions so far.
    syns: u8,
    /// The client's connection arrived after the warm-up: counts in the statistics.
    counted: bool,
    /// The client's connection is in the system (was queued somewhere).
    entered: bool,
    /// The client's outcome is still open (a proxy's hop timeout can decide it early).
    live: bool,
    /// The station it is at.
    svc: u16,
    /// The process that holds it, once accepted.
    owner: u32,
    /// The connection of the process that made this one and still holds a slot for it
    /// (a proxy, or a pass hop while it connects), or NONE.
    parent: u32,
}

/// One worker process.
#[derive(Debug, Clone, Copy)]
struct Proc {
    /// Its station.
    svc: u16,
    alive: bool,
    ready: bool,
    /// Watches the listener; false once service_count connections were accepted.
    listening: bool,
    /// Blocked in a hop's connect retries: it accepts nothing meanwhile.
    blocked: bool,
    clients: u32,
    /// Its station's client_limit, kept here so that the slot test, several times an
    /// event, reads no station record.
    client_limit: u32,
    accepted: u64,
    /// Blocking work is served in order; the process is busy until this time.
    busy_until: f64,
    /// Connections whose work is under way or waiting behind another's in this
    /// process: the process counts as busy while this is above 0.
    working: u32,
    /// A connection the master accepted for it before it started (per-connection).
    first: u32,
    idle_timer: Option<EventId>,
    in_free: bool,
    /// Its place in its station's `IdleSet`, or NONE.
    idle_pos: u32,
    /// When it was forked, and since when it has had no connection.
    born: f64,
    idle_since: f64,
    /// Ended by its master (spare servers): not replaced.
    killed: bool,
}

impl Proc {
    fn new(svc: u16, client_limit: u32, now: f64, ready: bool) -> Proc {
        Proc {
            svc,
            alive: true,
            ready,
            listening: true,
            blocked: false,
            clients: 0,
            client_limit,
            accepted: 0,
            busy_until: 0.0,
            working: 0,
            first: NONE,
            idle_timer: None,
            in_free: false,
            idle_pos: NONE,
            born: now,
            idle_since: now,
            killed: false,
        }
    }

    /// It could take a connection now: alive, listening, not blocked in a hop's
    /// retries, with a free slot.
    #[inline(always)]
    fn has_slot(&self) -> bool {
        self.alive && self.listening && !self.blocked && self.clients < self.client_limit
    }
}

/// One master process's state in a run.
#[derive(Debug, Default, Clone)]
struct MasterState {
    free_at: f64,
    wakeup: bool,
    fork_counter: u64,
    /// Stations waiting for it to accept and fork (per-connection mode), in the order
    /// they asked.
    waiting: VecDeque<usize>,
}

/// The random streams of a run besides the clients' own (`workload::Source`). Each
/// is derived from its purpose by one function (`Sim::new`'s), so that a copy of a
/// run can be given streams of its own.
#[derive(Debug, Clone)]
struct Streams {
    master: Rng64,
    retry: Rng64,
    /// The work drawn at a chain's later services, one stream each (station s at
    /// s - 1), and the CPU seconds of that work, one stream each.
    work: Vec<Rng64>,
    cpu: Vec<Rng64>,
}

impl Streams {
    fn new(derive: impl Fn(u64) -> Rng64, stations: usize) -> Streams {
        Streams {
            master: derive(MASTER_STREAM),
            retry: derive(workload::RETRY),
            work: (1..stations as u64)
                .map(|s| derive(workload::SERVICE_WORK_STREAM + s))
                .collect(),
            cpu: (1..stations as u64)
                .map(|s| derive(workload::SERVICE_CPU_STREAM + s))
                .collect(),
        }
    }
}

/// What every station of a run shares: the event list, the process and connection
/// slabs, the masters, the random streams and the model-wide statistics.
#[derive(Clone)]
struct Shared<'a> {
    q: EventQueue<Ev>,
    clients: workload::Source<'a>,
    rng: Streams,
    warmup: f64,
    conns: Vec<Conn>,
    free_conns: Vec<u32>,
    procs: Vec<Proc>,
    free_procs: Vec<u32>,
    masters: Vec<MasterState>,
    /// A proxy's hop timeouts, by connection.
    hop_timers: HashMap<u32, EventId>,
    /// Work waiting for a thread of its process (stations with threads > 1).
    waiting_work: Vec<VecDeque<u32>>,
    arrivals_done: bool,
    /// Connections not yet resolved (or still open).
    open: u64,
    /// The host's CPUs, shared by the stations with `Behaviour::CPU`.
    cpu: host::Cpus,
    /// The model-wide statistics; each station holds its own until the run ends.
    stats: RepStats,
}

/// One replication in progress.
#[derive(Clone)]
struct Sim<'a> {
    c: &'a Compiled,
    stations: Vec<Station<'a>>,
    sh: Shared<'a>,
    /// Timeline bins ended so far: they end on events of their own, which the event
    /// count leaves out. At `MAX_TIMELINE_BINS` no more are scheduled, and a run that
    /// goes on past them is refused when it ends (`finish`).
    bins: u64,
    /// When the observed window opens (infinity once it has).
    window_opens: f64,
    /// Pause after every event (a trajectory of importance splitting, `split.rs`).
    stepping: bool,
}

impl<'a> Sim<'a> {
    fn new(c: &'a Compiled, seed: u64, replication: u64) -> Self {
        let n = c.services.len();
        let mut stats = RepStats::with(c.model.sim.warmup, n, c.masters.len());
        if let Some(width) = c.timeline_bin {
            stats.keep_timeline(width);
        }
        if let Some(cpus) = c.cpus {
            stats.host = Some(crate::stats::HostStats::new(cpus));
        }
        let stations = std::mem::take(&mut stats.services)
            .into_iter()
            .zip(&c.services)
            .enumerate()
            .map(|(s, (st, spec))| Station::new(s, spec, st))
            .collect();
        let processes: u32 = c.services.iter().map(|s| s.process_limit).sum();
        // Every random stream of the run, derived from its purpose by one function.
        let derive = |purpose| stream(seed, replication, purpose);
        Sim {
            c,
            stations,
            sh: Shared {
                q: EventQueue::new(),
                clients: c.workload.source_from(derive),
                rng: Streams::new(derive, n),
                warmup: c.model.sim.warmup,
                conns: Vec::with_capacity(256),
                free_conns: Vec::new(),
                procs: Vec::with_capacity(processes.min(4096) as usize),
                free_procs: Vec::new(),
                masters: vec![MasterState::default(); c.masters.len()],
                hop_timers: HashMap::new(),
                waiting_work: Vec::new(),
                arrivals_done: false,
                open: 0,
                cpu: host::Cpus::new(c.cpus),
                stats,
            },
            bins: 0,
            window_opens: c.model.sim.warmup,
            stepping: false,
        }
    }

    fn run(mut self) -> Result<RepStats, BadInput> {
        self.start();
        self.events()?;
        self.finish()
    }

    /// The event loop's one copy in the binary: to the end, or one event when
    /// `stepping`. Importance splitting steps through this same code rather than an
    /// `advance` of its own, so that the handlers are inlined into one loop, as they
    /// were before it (a second copy cost the plain run 4 % of its instructions).
    fn events(&mut self) -> Result<bool, BadInput> {
        let steps = if self.stepping { 1 } else { u64::MAX };
        self.advance(steps)
    }

    /// t = 0: each station's master starts its pool, and the first events are
    /// scheduled.
    fn start(&mut self) {
        if self.window_opens <= 0.0 {
            self.start_window(0.0);
            self.window_opens = f64::INFINITY;
        }
        for st in &mut self.stations {
            st.start(&mut self.sh);
        }
        if let Some(d) = self.c.model.load.duration {
            self.sh.q.schedule(d, Ev::WindowEnd);
        }
        if let Some(w) = self.c.timeline_bin {
            self.sh.q.schedule(w, Ev::BinEdge);
        }
        self.sh.schedule_next_arrival();
    }

    /// Handles events until the run is over (true), or until `steps` events have been
    /// handled (false): a paused run can be copied, and each copy goes on by itself.
    #[inline(always)]
    fn advance(&mut self, steps: u64) -> Result<bool, BadInput> {
        // The observed window opens when the clock first reaches the warm-up.
        let mut window_opens = self.window_opens;
        // Every event counts against the budget, whatever its kind: retries, ticks,
        // timers and bins can each multiply events without end. The steps asked for
        // and the budget share one counter, so the loop tests one number an event.
        let budget = self.c.event_budget.saturating_sub(self.sh.q.processed());
        let mut left = budget.min(steps);
        let mut over = false;
        while left > 0 {
            let Some((now, ev)) = self.sh.q.pop() else {
                over = true;
                break;
            };
            left -= 1;
            if now >= window_opens {
                self.start_window(window_opens);
                window_opens = f64::INFINITY;
            }
            self.handle(ev, now)?;
            if self.sh.arrivals_done && self.sh.open == 0 {
                over = true;
                break;
            }
        }
        self.window_opens = window_opens;
        if !over && steps >= budget {
            return self.budget_spent();
        }
        Ok(over)
    }

    /// The budget, not the steps asked for, ran out: an event left over is one too
    /// many, and none left means the run is over. Out of the loop, so that the queue's
    /// `pop` stays inlined in it.
    #[cold]
    #[inline(never)]
    fn budget_spent(&mut self) -> Result<bool, BadInput> {
        match self.sh.q.pop() {
            Some((now, ev)) => Err(self.over_budget(ev, now)),
            None => Ok(true),
        }
    }

    /// One event, on the station it names or reaches first.
    #[inline(always)]
    fn handle(&mut self, ev: Ev, now: f64) -> Result<(), BadInput> {
        match ev {
            Ev::Arrival => self.arrival(now),
            Ev::Retry(id) | Ev::Syn(id) => self.connect(id, now),
            Ev::WorkDone(id) => self.work_done(id, now),
            Ev::Close(id) => self.close(id, now),
            Ev::Ready(p) => {
                let s = self.sh.procs[p as usize].svc;
                self.stations[s as usize].ready(&mut self.sh, p, now)
            }
            Ev::MasterFree(m) => self.master_free(m as usize, now),
            Ev::Respawn(s) => {
                self.stations[s as usize].fork(&mut self.sh, now);
            }
            Ev::IdleKill(p) => {
                let s = self.sh.procs[p as usize].svc;
                self.stations[s as usize].idle_kill(&mut self.sh, p, now)
            }
            Ev::DropTimeout(s) => self.drop_timeout(s as usize, now),
            Ev::PreforkRun(s) => self.stations[s as usize].prefork_run(&mut self.sh, now),
            Ev::HopTimeout(id) => self.hop_timeout(id, now),
            Ev::Tick(s) => {
                let st = &mut self.stations[s as usize];
                st.spawn.ticks += 1;
                if st.spawn.ticks > self.c.model.sim.max_connections {
                    return Err(self.too_many_ticks(s as usize, now));
                }
                st.on_tick(&mut self.sh, now)
            }
            Ev::WindowEnd => self.close_window(now),
            Ev::BinEdge => self.bin_edge(now),
            Ev::CpuDone(g) => self.cpu_done(g, now),
        }
        Ok(())
    }

    /// The run is over: the window closes, the stations hand back their statistics
    /// and the model-wide counts are summed from them.
    fn finish(mut self) -> Result<RepStats, BadInput> {
        // A duration run that drained early is still observed until its duration
        // (idle processes count as alive until then); a run of n connections ends here.
        let now = self.sh.q.now();
        let end = match self.c.model.load.duration {
            Some(d) => d.max(now),
            None => now,
        };
        self.close_window(end);
        if self.sh.conns.len() > MAX_OPEN {
            return Err(self.too_many_open());
        }
        if let Some(w) = self.c.timeline_bin {
            if self.bins >= MAX_TIMELINE_BINS as u64 && end > self.bins as f64 * w {
                return Err(self.timeline_too_long(w, end));
            }
        }
        let mut stats = self.sh.stats;
        stats.services = self.stations.into_iter().map(|st| st.stats).collect();
        stats.sum_services();
        stats.finish_timeline(end);
        stats.events = self.sh.q.processed() - self.bins - self.sh.cpu.stale;
        Ok(stats)
    }

    fn start_window(&mut self, at: f64) {
        let stations = self.stations.iter_mut().map(|st| &mut st.stats);
        self.sh.stats.start_window_with(at, stations);
    }

    /// Ends the observed window at `end`: the masters' busy time is cut to it first.
    fn close_window(&mut self, end: f64) {
        let free_at = self.sh.masters.iter().map(|m| m.free_at);
        self.sh.stats.clip_master_busy(free_at, end);
        let stations = self.stations.iter_mut().map(|st| &mut st.stats);
        self.sh.stats.close_window_with(end, stations);
    }

    #[inline(never)]
    fn bin_edge(&mut self, now: f64) {
        self.sh
            .stats
            .bin_edge_with(now, &mut self.stations[0].stats);
        self.bins += 1;
        if let Some(w) = self.c.timeline_bin {
            // The rows stop at the most a timeline may have; a run still going then
            // goes on to its end, so that the refusal can say which bin would do.
            if self.bins < MAX_TIMELINE_BINS as u64 {
                self.sh.q.schedule((self.bins + 1) as f64 * w, Ev::BinEdge);
            }
        }
    }

    #[inline(never)]
    fn over_budget(&self, ev: Ev, now: f64) -> BadInput {
        let m = &self.c.model;
        // What the event that went past the budget was, and the setting that makes
        // such events: the likeliest cause.
        let service = |s: usize| &m.services[s];
        let conn_service = |id: u32| self.sh.conns[id as usize].svc as usize;
        let proc_service = |p: u32| self.sh.procs[p as usize].svc as usize;
        let retry_setting = |id: u32| match self.sh.conns[id as usize].parent {
            NONE => "load.retry_pause and load.retry_for".to_string(),
            parent => {
                let s = conn_service(parent);
                format!(
                    "{} and {}",
                    service(s).path("connect.retry_pause"),
                    service(s).path("connect.retry_for")
                )
            }
        };
        let cause = match ev {
            Ev::Retry(id) => format!("a client's retry after EAGAIN ({})", retry_setting(id)),
            Ev::Syn(id) => format!(
                "a SYN retransmission ({})",
                service(conn_service(id)).path("listener.syn_schedule")
            ),
            Ev::IdleKill(p) => format!(
                "an idle process's timer ({})",
                service(proc_service(p)).path("pool.idle_kill")
            ),
            Ev::Tick(s) => format!(
                "a master's tick ({})",
                service(s as usize).path("master.tick")
            ),
            Ev::BinEdge => "a timeline bin (sim.bin)".to_string(),
            _ => "the connections' own events (the load, and the work each one does)".to_string(),
        };
        BadInput(format!(
            "{}: a replication processed more than {} events (64 per connection of the \
             budget sim.max_connections = {}) and was stopped at simulated time {now:.3e} s, \
             at {cause}, with {} still open: raise sim.max_connections \
             (--set sim.max_connections=N), shorten the run, or lengthen what repeats",
            m.name,
            budget_text(self.c.event_budget),
            m.sim.max_connections,
            connections(self.sh.open)
        ))
    }

    /// A ticking master went past the ticks the budget allows (`Model::check` bounds
    /// those over the arrival window; these came after, while connections drained).
    #[inline(never)]
    fn too_many_ticks(&self, s: usize, now: f64) -> BadInput {
        let m = &self.c.model;
        let tick = m.services[s].master.tick;
        BadInput(format!(
            "{}: `{}`: the master ticked more than sim.max_connections = {} times ({tick} s \
             apart) and the run was still going at simulated time {now:.3e} s: its arrivals \
             ended at {:.3e} s and {} still open, waiting on work far longer than the run; \
             give a longer master.tick, shorter work, or raise the budget with --set \
             sim.max_connections=N",
            m.name,
            m.services[s].path("master.tick"),
            m.sim.max_connections,
            m.arrival_window(),
            connections(self.sh.open)
        ))
    }

    /// The timeline needs more than `MAX_TIMELINE_BINS` rows to reach the run's end.
    #[inline(never)]
    fn timeline_too_long(&self, w: f64, end: f64) -> BadInput {
        let m = &self.c.model;
        let rows = MAX_TIMELINE_BINS;
        // The bin that would do, rounded up to a leading digit of 1, 2 or 5.
        let need = end / rows;
        let decade = 10f64.powf(need.log10().floor());
        let wider = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|f| f * decade)
            .find(|b| *b >= need)
            .unwrap_or(10.0 * decade);
        let given = if m.sim.bin.is_some() {
            ""
        } else {
            " (not given: the arrival window / 200)"
        };
        BadInput(format!(
            "{}: the timeline of `simulate --out` would need more than {rows:.0} rows of \
             sim.bin = {} s{given}: the run went on to simulated time {end:.3e} s (its \
             arrivals ended at {:.3e} s; the rest is the queue draining), and a timeline has \
             at most {rows:.0} rows; give a wider bin, such as --set sim.bin={}",
            m.name,
            shown(w),
            m.arrival_window(),
            shown(wider),
        ))
    }

    #[inline(never)]
    fn too_many_open(&self) -> BadInput {
        BadInput(format!(
            "{}: more than {MAX_OPEN} connections were open at once (queued, retrying or \
             held): the model's load is far beyond what its pool serves; lower load.rate or \
             shorten load.timeout and load.retry_for",
            self.c.model.name
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{load_str, parse_assignment};
    use std::path::Path;

    fn compiled(text: &str, sets: &[&str]) -> Compiled {
        let sets: Vec<_> = ["load.duration=300", "sim.warmup=50"]
            .iter()
            .chain(sets)
            .map(|a| parse_assignment(a).unwrap())
            .collect();
        let model = load_str(text, "model.toml", Path::new("models"), &sets).unwrap();
        Compiled::new(&model)
    }

    /// Shipped models, some under more load than they were made for: between them
    /// every family, both kinds of hop, retries, drops and exits.
    const MODELS: [(&str, &[&str]); 6] = [
        (
            include_str!("../../models/dovecot-login-imap.toml"),
            &["load.rate=30"],
        ),
        (include_str!("../../models/courier-imapd.toml"), &[]),
        (
            include_str!("../../models/php-fpm-ondemand.toml"),
            &["load.rate=30", "pool.service_count=20"],
        ),
        (include_str!("../../models/php-fpm-dynamic.toml"), &[]),
        (include_str!("../../models/apache-prefork.toml"), &[]),
        (
            include_str!("../../models/nginx-gunicorn-chain.toml"),
            &["load.rate=40"],
        ),
    ];

    #[test]
    fn a_run_past_its_event_budget_stops_whatever_kind_of_event_goes_past_it() {
        // No retries here (only Retry and Syn were once checked): a master's ticks
        // (15 connections over 300 s, a tick a second), or arrivals and work, go
        // past a budget of 200 events and the run stops, with the event it stopped at
        // named.
        for (text, rate, cause) in [
            (
                MODELS[4].0,
                "load.rate=0.05",
                "a master's tick (master.tick)",
            ),
            (
                include_str!("../../models/mmck.toml"),
                "load.rate=5",
                "the connections' own events",
            ),
        ] {
            let mut c = compiled(text, &[rate]);
            c.event_budget = 200;
            let Err(BadInput(err)) = c.run(1, 0) else {
                panic!("not stopped at its budget")
            };
            assert!(err.contains("more than 2.000e2 events"), "{err}");
            assert!(err.contains(cause), "{err}");
            c.event_budget = 10_000_000;
            assert!(c.run(1, 0).is_ok());
        }
    }

    #[test]
    fn a_run_copied_midway_finishes_exactly_as_the_original_and_as_a_run_never_paused() {
        for (text, sets) in MODELS {
            let c = compiled(text, sets);
            let whole = c.run(5, 2).unwrap();
            assert!(whole.offered > 300 && whole.events > 2 * whole.offered);
            let whole = format!("{whole:?}");
            let mut first = Sim::new(&c, 5, 2);
            first.start();
            while first.sh.q.now() < 120.0 {
                assert!(!first.advance(1).unwrap(), "paused at 120 s");
            }
            let copy = first.clone();
            for mut run in [first, copy] {
                assert!(run.advance(u64::MAX).unwrap());
                assert_eq!(format!("{:?}", run.finish().unwrap()), whole);
            }
        }
    }
}
