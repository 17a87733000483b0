//! The listening service(s), simulated: clients that connect open-loop, the kernel
//! listen queue of each service, its worker processes and the master that forks them,
//! and, for a chain (SPEC section 8), each hop from one service to the next. One `Sim`
//! runs one replication of one model, single-threaded; the concepts live in their own
//! files as `impl Sim` blocks: `client.rs` (arrivals, connect, retries, outcomes),
//! `pool.rs` (processes: accept, work, exit, idle kill), `master.rs` (forking by mode,
//! process_min_avail, the drop timer) and `hop.rs` (a chain's hops: the connection
//! handed on or proxied, a process blocked by its retries). The rules and where they
//! come from are in docs/semantics.md; each is cited where it is made, as
//! `(semantics: ID)`.

mod client;
mod hop;
mod master;
mod pool;
mod spare;

use crate::dist::Dist;
use crate::engine::{stream, EventId, EventQueue, Rng64};
use crate::error::BadInput;
use crate::model::{Handoff, ListenerKind, MasterMode, Model, OnRefused};
use crate::stats::RepStats;
use crate::workload::{self, Workload};
use std::collections::{HashMap, VecDeque};

/// The random stream of the master's draws (startup, fork time, respawn delay).
pub const MASTER_STREAM: u64 = 3;

/// How a client connects: the clients' rules (`load`) for the first service, a hop's
/// (`connect`) for the next.
#[derive(Debug, Clone)]
struct Rules {
    on_refused: OnRefused,
    retry_for: f64,
    retry_pause: Dist,
    /// TCP: give up connecting after this long (infinity: the kernel's own limit).
    connect_timeout: f64,
    /// Give up waiting for the reply after this long.
    timeout: f64,
}

/// One service compiled: its listener, pool and master as constants and samplers.
#[derive(Debug, Clone)]
struct Svc {
    name: String,
    kind: ListenerKind,
    capacity: usize,
    syn_times: &'static [f64],
    syn_give_up: f64,
    client_limit: u32,
    service_count: u64,
    process_limit: u32,
    min_avail: u32,
    idle_kill: f64,
    mode: MasterMode,
    drop_timeout: Option<f64>,
    /// Connections of a process doing their work at once.
    threads: u32,
    /// Spare-server masters: the tick, the spares kept, the processes at t = 0 and
    /// the most forked in one tick.
    tick: f64,
    min_spare: u32,
    max_spare: u32,
    start_servers: u32,
    max_spawn_rate: u32,
    startup: Dist,
    fork_time: Dist,
    respawn_delay: Dist,
    /// Dovecot's masters keep process_min_avail > 0 processes free
    /// (semantics: dovecot-min-avail).
    tops_up: bool,
    /// Dovecot's masters end processes idle for idle_kill > 0 seconds
    /// (semantics: dovecot-idle-kill).
    idle_kills: bool,
    /// The master process that forks for this service.
    master: usize,
    /// The work of a connection handed on to this service (the first service's comes
    /// with the client's connection, from the workload).
    blocking: Dist,
    hold: Dist,
    /// The service its processes connect to when their work is done, and how.
    next: Option<usize>,
    handoff: Handoff,
    hop: Rules,
}

/// What some service of the model does. The per-connection path tests these before it
/// reads the service's own record: a single prefork service (the M/M/c/K benchmark)
/// then skips each step that does not apply to it with one test of a constant, which
/// kept the hot loop as fast as before there were chains and master modes.
#[derive(Debug, Clone, Copy)]
struct Any {
    /// A service hands its connections on to a next.
    chain: bool,
    /// A service has threads > 1.
    threads: bool,
    /// A service's processes exit after service_count connections.
    service_count: bool,
    /// A master ends idle processes on timers (Dovecot's idle_kill).
    idle_kills: bool,
    /// A master tops up process_min_avail.
    tops_up: bool,
    /// A master accepts connections itself (per-connection mode).
    master_accepts: bool,
    /// A master watches a queue that is left waiting: it forks on demand, or drops
    /// after drop_timeout (without one, no service ever drops).
    master_watches: bool,
    /// Some master reads its services' process_avail (`Line::avail`): without one
    /// it is not kept, which saves two slot tests a connection.
    avail: bool,
}

impl Any {
    fn of(svcs: &[Svc]) -> Any {
        let any = |f: fn(&Svc) -> bool| svcs.iter().any(f);
        let tops_up = any(|s| s.tops_up);
        let master_accepts = any(|s| s.mode == MasterMode::PerConnection);
        let master_watches = any(|s| s.mode == MasterMode::OnDemand || s.drop_timeout.is_some());
        Any {
            chain: any(|s| s.next.is_some()),
            threads: any(|s| s.threads > 1),
            service_count: any(|s| s.service_count > 0),
            idle_kills: any(|s| s.idle_kills),
            tops_up,
            master_accepts,
            master_watches,
            avail: tops_up || master_accepts || master_watches,
        }
    }
}

/// A model turned into samplers and constants, shared by every replication.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub model: Model,
    workload: Workload,
    client: Rules,
    svcs: Vec<Svc>,
    /// The masters' labels (a service's own name when it shares none).
    masters: Vec<String>,
    any: Any,
    event_budget: u64,
    timeline_bin: Option<f64>,
}

fn rules(
    on_refused: OnRefused,
    retry_for: f64,
    retry_pause: &crate::dist::DistSpec,
    connect_timeout: Option<f64>,
    timeout: Option<f64>,
) -> Rules {
    Rules {
        on_refused,
        retry_for,
        retry_pause: retry_pause.sampler(),
        connect_timeout: connect_timeout.unwrap_or(f64::INFINITY),
        timeout: timeout.unwrap_or(f64::INFINITY),
    }
}

impl Compiled {
    /// Call with a model that passed `Model::check`.
    pub fn new(model: &Model) -> Compiled {
        let list = &model.services;
        let mut masters: Vec<String> = Vec::new();
        let index = |name: &str| list.iter().position(|s| s.name == name);
        let svcs: Vec<Svc> = list
            .iter()
            .map(|s| {
                let label = s.master.process.clone().unwrap_or_else(|| s.name.clone());
                let master = match masters.iter().position(|m| *m == label) {
                    Some(m) => m,
                    None => {
                        masters.push(label);
                        masters.len() - 1
                    }
                };
                let (syn_times, syn_give_up) = s.listener.syn_schedule.times();
                let c = &s.connect;
                let spares = crate::model::spares(&s.pool, s.master.mode);
                // Dovecot's masters top up process_min_avail and end idle processes on
                // timers of their own; PHP-FPM and Apache do it on their tick.
                let dovecot = matches!(
                    s.master.mode,
                    MasterMode::OnDemand | MasterMode::PerConnection
                );
                Svc {
                    name: s.name.clone(),
                    kind: s.listener.kind,
                    capacity: usize::try_from(s.queue_capacity()).unwrap_or(usize::MAX),
                    syn_times,
                    syn_give_up,
                    client_limit: s.pool.client_limit,
                    service_count: s.pool.service_count,
                    process_limit: s.pool.process_limit,
                    min_avail: s.pool.process_min_avail,
                    idle_kill: s.pool.idle_kill,
                    mode: s.master.mode,
                    drop_timeout: s.master.drop_timeout,
                    threads: s.pool.threads,
                    tick: s.master.tick,
                    min_spare: spares.0,
                    max_spare: spares.1,
                    start_servers: crate::model::start_servers(&s.pool, s.master.mode),
                    max_spawn_rate: s.master.max_spawn_rate,
                    startup: s.master.startup.sampler(),
                    fork_time: s.master.fork_time.sampler(),
                    respawn_delay: s.master.respawn_delay.sampler(),
                    tops_up: dovecot && s.pool.process_min_avail > 0,
                    idle_kills: dovecot && s.pool.idle_kill > 0.0,
                    master,
                    blocking: s.work.blocking.sampler(),
                    hold: s.work.hold.sampler(),
                    next: s.next.as_deref().and_then(index),
                    handoff: s.handoff.unwrap_or_default(),
                    hop: rules(
                        c.on_refused,
                        c.retry_for,
                        &c.retry_pause,
                        c.connect_timeout,
                        c.timeout,
                    ),
                }
            })
            .collect();
        let l = &model.load;
        Compiled {
            workload: Workload::new(model),
            client: rules(
                l.on_refused,
                l.retry_for,
                &l.retry_pause,
                l.connect_timeout,
                l.timeout,
            ),
            any: Any::of(&svcs),
            svcs,
            masters,
            event_budget: model.event_budget(),
            timeline_bin: None,
            model: model.clone(),
        }
    }

    /// Keeps a timeline of every replication in bins of `width` seconds.
    pub fn keep_timeline(&mut self, width: f64) {
        self.timeline_bin = Some(width);
    }

    /// For a chain: the services' names and queue capacities, and the masters'
    /// labels, as a summary reports them (empty for a single service).
    pub fn names(&self) -> (Vec<String>, Vec<u64>, Vec<String>) {
        if !self.model.is_chain() {
            return (Vec::new(), Vec::new(), Vec::new());
        }
        (
            self.svcs.iter().map(|s| s.name.clone()).collect(),
            self.svcs.iter().map(|s| s.capacity as u64).collect(),
            self.masters.clone(),
        )
    }

    /// Runs replication number `replication` (0-based) with the model's streams for
    /// `seed`. A replication that goes past its budget (`sim.max_connections` x 64
    /// events, or `MAX_OPEN` connections open at once) stops with an error that says
    /// which.
    pub fn run(&self, seed: u64, replication: u64) -> Result<RepStats, BadInput> {
        Sim::new(self, seed, replication).run()
    }
}

/// Events of the server model. Small and `Copy`: the heap moves them by value.
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
    /// Prefork: replace a process of this service that exited.
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

const NONE: u32 = u32::MAX;

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
    /// The service it is at.
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
    svc: u16,
    alive: bool,
    ready: bool,
    /// Watches the listener; false once service_count connections were accepted.
    listening: bool,
    /// Blocked in a hop's connect retries: it accepts nothing meanwhile.
    blocked: bool,
    clients: u32,
    /// Its service's client_limit, kept here so that the slot test, several times an
    /// event, reads no service record.
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
    /// When it was forked, and since when it has had no connection.
    born: f64,
    idle_since: f64,
    /// Ended by its master (spare servers): not replaced.
    killed: bool,
}

/// One service's state in a run.
#[derive(Debug, Default)]
struct Line {
    /// The kernel listen queue: one FIFO shared by every process (semantics:
    /// unix-shared-fifo).
    queue: VecDeque<u32>,
    /// Ready processes with a free slot, most recently freed on top (lazily cleaned).
    free: Vec<u32>,
    /// Processes alive, starting or ready.
    alive: u32,
    /// Processes alive, listening and with a free slot: Dovecot's process_avail (kept
    /// only when a master reads it: `Any::avail`).
    avail: u32,
    prefork_counter: u64,
    prefork_pending: bool,
    drop_timer: Option<EventId>,
    dropping: bool,
    /// A spare-server master: its next tick, and the processes its next fork
    /// makes (1, doubling).
    tick: Option<EventId>,
    spawn_rate: u32,
    /// PHP-FPM ondemand: the time of the last wake-up of its watch.
    last_edge: f64,
}

/// One master process's state in a run.
#[derive(Debug, Default, Clone)]
struct MasterState {
    free_at: f64,
    wakeup: bool,
    fork_counter: u64,
    /// Services waiting for it to accept and fork (per-connection mode), in the order
    /// they asked.
    waiting: VecDeque<usize>,
}

struct Sim<'a> {
    c: &'a Compiled,
    /// `c.any`, copied: tested several times a connection, one load from here.
    any: Any,
    q: EventQueue<Ev>,
    clients: workload::Source<'a>,
    master_rng: Rng64,
    retry_rng: Rng64,
    /// The work drawn at a chain's later services, one stream each.
    work_rngs: Vec<Rng64>,
    warmup: f64,
    conns: Vec<Conn>,
    free_conns: Vec<u32>,
    procs: Vec<Proc>,
    free_procs: Vec<u32>,
    lines: Vec<Line>,
    masters: Vec<MasterState>,
    /// A proxy's hop timeouts, by connection.
    hop_timers: HashMap<u32, EventId>,
    /// Work waiting for a thread of its process (services with threads > 1).
    waiting_work: Vec<VecDeque<u32>>,
    arrivals_done: bool,
    /// Connections not yet resolved (or still open).
    open: u64,
    stats: RepStats,
}

impl<'a> Sim<'a> {
    fn new(c: &'a Compiled, seed: u64, replication: u64) -> Self {
        let n = c.svcs.len();
        let mut stats = RepStats::with(c.model.sim.warmup, n, c.masters.len());
        if let Some(width) = c.timeline_bin {
            stats.keep_timeline(width);
        }
        let processes: u32 = c.svcs.iter().map(|s| s.process_limit).sum();
        Sim {
            c,
            any: c.any,
            q: EventQueue::new(),
            clients: c.workload.source(seed, replication),
            master_rng: stream(seed, replication, MASTER_STREAM),
            retry_rng: stream(seed, replication, workload::RETRY),
            work_rngs: (1..n)
                .map(|s| stream(seed, replication, workload::SERVICE_WORK_STREAM + s as u64))
                .collect(),
            warmup: c.model.sim.warmup,
            conns: Vec::with_capacity(256),
            free_conns: Vec::new(),
            procs: Vec::with_capacity(processes.min(4096) as usize),
            free_procs: Vec::new(),
            lines: c
                .svcs
                .iter()
                .map(|s| Line {
                    queue: VecDeque::with_capacity(s.capacity.min(1 << 16)),
                    spawn_rate: 1,
                    last_edge: f64::NEG_INFINITY,
                    ..Line::default()
                })
                .collect(),
            masters: vec![MasterState::default(); c.masters.len()],
            hop_timers: HashMap::new(),
            waiting_work: Vec::new(),
            arrivals_done: false,
            open: 0,
            stats,
        }
    }

    fn run(mut self) -> Result<RepStats, BadInput> {
        // The observed window opens when the clock first reaches the warm-up.
        let mut window_opens = self.warmup;
        if window_opens <= 0.0 {
            self.stats.start_window(0.0);
            window_opens = f64::INFINITY;
        }
        for s in 0..self.c.svcs.len() {
            self.start_pool(s);
            self.start_ticks(s);
        }
        if let Some(d) = self.c.model.load.duration {
            self.q.schedule(d, Ev::WindowEnd);
        }
        let budget = self.c.event_budget;
        // Timeline bins end on events of their own, which the event count leaves out.
        let mut bins = 0u64;
        if let Some(w) = self.c.timeline_bin {
            self.q.schedule(w, Ev::BinEdge);
        }
        self.schedule_next_arrival();
        while let Some((now, ev)) = self.q.pop() {
            if now >= window_opens {
                self.stats.start_window(window_opens);
                window_opens = f64::INFINITY;
            }
            match ev {
                Ev::Arrival => self.arrival(now),
                Ev::Retry(id) | Ev::Syn(id) => {
                    // Only retries can multiply events without bound (every other event
                    // is bounded by the connections, which the model's check bounds).
                    if self.q.processed() > budget {
                        return Err(self.over_budget(now));
                    }
                    self.connect(id, now)
                }
                Ev::WorkDone(id) => self.work_done(id, now),
                Ev::Close(id) => self.close(id, now),
                Ev::Ready(p) => self.ready(p, now),
                Ev::MasterFree(m) => self.master_free(m as usize, now),
                Ev::Respawn(s) => {
                    self.fork(s as usize, now);
                }
                Ev::IdleKill(p) => self.idle_kill(p, now),
                Ev::DropTimeout(s) => self.drop_timeout(s as usize, now),
                Ev::PreforkRun(s) => self.prefork_run(s as usize, now),
                Ev::HopTimeout(id) => self.hop_timeout(id, now),
                Ev::Tick(s) => self.tick(s as usize, now),
                Ev::WindowEnd => self.close_window(now),
                Ev::BinEdge => {
                    self.stats.bin_edge(now);
                    bins += 1;
                    if let Some(w) = self.c.timeline_bin {
                        self.q.schedule((bins + 1) as f64 * w, Ev::BinEdge);
                    }
                }
            }
            if self.arrivals_done && self.open == 0 {
                break;
            }
        }
        // A duration run that drained early is still observed until its duration
        // (idle processes count as alive until then); a run of n connections ends here.
        let end = match self.c.model.load.duration {
            Some(d) => d.max(self.q.now()),
            None => self.q.now(),
        };
        self.close_window(end);
        self.stats.finish_timeline(end);
        self.stats.events = self.q.processed() - bins;
        if self.conns.len() > MAX_OPEN {
            return Err(self.too_many_open());
        }
        Ok(self.stats)
    }

    /// Ends the observed window at `end`: the masters' busy time is cut to it first.
    fn close_window(&mut self, end: f64) {
        let free_at = self.masters.iter().map(|m| m.free_at);
        self.stats.clip_master_busy(free_at, end);
        self.stats.close_window(end);
    }

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

    fn too_many_open(&self) -> BadInput {
        BadInput(format!(
            "{}: more than {MAX_OPEN} connections were open at once (queued, retrying or \
             held): the model's load is far beyond what its pool serves; lower load.rate or \
             shorten load.timeout and load.retry_for",
            self.c.model.name
        ))
    }

    /// Gives every connection queued at service `s` it can to a process, in FIFO order.
    #[inline(always)]
    fn dispatch(&mut self, s: usize, now: f64) {
        while let Some(&id) = self.lines[s].queue.front() {
            if let Some(p) = self.free_process(s) {
                self.dequeue(s, now);
                self.accept(p, id, now);
            } else if self.master_can_accept(s, now) {
                self.dequeue(s, now);
                self.master_accept(s, id, now);
            } else {
                break;
            }
        }
        self.master_check(s, now);
    }

    #[inline]
    fn dequeue(&mut self, s: usize, now: f64) {
        let line = &mut self.lines[s];
        line.queue.pop_front();
        let len = line.queue.len() as u64;
        self.stats.services[s].queue.set(now, len);
    }
}
