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
//! spawn decisions), `idle.rs` (a station's idle processes, oldest first) and `hop.rs`
//! (a chain's hops). The rules and where they come from are in docs/semantics.md; each
//! is cited where it is made, as `(semantics: ID)`.
//!
//! A run's whole state (`Sim`) is `Clone`: the compiled model is shared by
//! reference and every random stream is a value derived from (seed, replication,
//! purpose), so a copy of a running replication goes on by itself.

mod client;
mod compile;
mod family;
mod hop;
mod idle;
mod master;
mod pool;
mod split;
mod station;

pub use compile::Compiled;
pub(crate) use split::Trajectory;

use crate::engine::{stream, EventId, EventQueue, Rng64};
use crate::error::BadInput;
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
    /// s - 1).
    work: Vec<Rng64>,
}

impl Streams {
    fn new(derive: impl Fn(u64) -> Rng64, stations: usize) -> Streams {
        Streams {
            master: derive(MASTER_STREAM),
            retry: derive(workload::RETRY),
            work: (1..stations as u64)
                .map(|s| derive(workload::SERVICE_WORK_STREAM + s))
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
    /// count leaves out.
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
        let stepping = self.stepping;
        self.advance(|_| stepping)
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

    /// Handles events until the run is over (true), or until `pause(now)` says so
    /// after an event (false): a paused run can be copied, and each copy goes on by
    /// itself.
    #[inline(always)]
    fn advance(&mut self, pause: impl Fn(f64) -> bool) -> Result<bool, BadInput> {
        // The observed window opens when the clock first reaches the warm-up.
        let mut window_opens = self.window_opens;
        let mut over = true;
        while let Some((now, ev)) = self.sh.q.pop() {
            if now >= window_opens {
                self.start_window(window_opens);
                window_opens = f64::INFINITY;
            }
            self.handle(ev, now)?;
            if self.sh.arrivals_done && self.sh.open == 0 {
                break;
            }
            if pause(now) {
                over = false;
                break;
            }
        }
        self.window_opens = window_opens;
        Ok(over)
    }

    /// One event, on the station it names or reaches first.
    #[inline(always)]
    fn handle(&mut self, ev: Ev, now: f64) -> Result<(), BadInput> {
        match ev {
            Ev::Arrival => self.arrival(now),
            Ev::Retry(id) | Ev::Syn(id) => {
                // Only retries can multiply events without bound (every other event
                // is bounded by the connections, which the model's check bounds).
                if self.sh.q.processed() > self.c.event_budget {
                    return Err(self.over_budget(now));
                }
                self.connect(id, now)
            }
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
            Ev::Tick(s) => self.stations[s as usize].on_tick(&mut self.sh, now),
            Ev::WindowEnd => self.close_window(now),
            Ev::BinEdge => self.bin_edge(now),
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
        let mut stats = self.sh.stats;
        stats.services = self.stations.into_iter().map(|st| st.stats).collect();
        stats.sum_services();
        stats.finish_timeline(end);
        stats.events = self.sh.q.processed() - self.bins;
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
            self.sh.q.schedule((self.bins + 1) as f64 * w, Ev::BinEdge);
        }
    }

    #[inline(never)]
    fn over_budget(&self, now: f64) -> BadInput {
        let m = &self.c.model;
        BadInput(format!(
            "{}: a replication processed more than {} events (64 per connection of the \
             budget sim.max_connections = {}) and was stopped at simulated time {now:.3} s: \
             raise sim.max_connections (--set sim.max_connections=N) or shorten the run",
            m.name,
            budget_text(self.c.event_budget),
            m.sim.max_connections
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
    fn a_run_copied_midway_finishes_exactly_as_the_original_and_as_a_run_never_paused() {
        for (text, sets) in MODELS {
            let c = compiled(text, sets);
            let whole = c.run(5, 2).unwrap();
            assert!(whole.offered > 300 && whole.events > 2 * whole.offered);
            let whole = format!("{whole:?}");
            let mut first = Sim::new(&c, 5, 2);
            first.start();
            assert!(
                !first.advance(|now| now >= 120.0).unwrap(),
                "paused at 120 s"
            );
            let copy = first.clone();
            for mut run in [first, copy] {
                assert!(run.advance(|_| false).unwrap());
                assert_eq!(format!("{:?}", run.finish().unwrap()), whole);
            }
        }
    }
}
