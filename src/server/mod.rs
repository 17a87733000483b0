//! The listening service, simulated: clients that connect open-loop, the kernel
//! listen queue, the worker processes and the master that forks them. One `Sim` runs
//! one replication of one model, single-threaded; the concepts live in their own files
//! as `impl Sim` blocks: `client.rs` (arrivals, connect, retries, outcomes), `pool.rs`
//! (processes: accept, work, exit, idle kill) and `master.rs` (forking by mode,
//! process_min_avail, the drop timer). The rules and where they come from are in
//! docs/semantics.md; each is cited where it is made, as `(semantics: ID)`.

mod client;
mod master;
mod pool;

use crate::dist::Dist;
use crate::engine::{stream, EventId, EventQueue, Rng64};
use crate::error::BadInput;
use crate::model::{ListenerKind, MasterMode, Model, OnRefused};
use crate::stats::RepStats;
use crate::workload::{self, Workload};
use std::collections::VecDeque;

/// The random stream of the master's draws (startup, fork time, respawn delay).
pub const MASTER_STREAM: u64 = 3;

/// A model turned into samplers and constants, shared by every replication.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub model: Model,
    workload: Workload,
    startup: Dist,
    fork_time: Dist,
    respawn_delay: Dist,
    retry_pause: Dist,
    capacity: usize,
    syn_times: &'static [f64],
    syn_give_up: f64,
    // Read on every connection: kept here rather than behind `model`.
    client_limit: u32,
    service_count: u64,
    timeout: f64,
    event_budget: u64,
    timeline_bin: Option<f64>,
    /// Dovecot's masters keep process_min_avail > 0 processes free
    /// (semantics: dovecot-min-avail).
    tops_up: bool,
    /// Dovecot's masters end processes idle for idle_kill > 0 seconds
    /// (semantics: dovecot-idle-kill).
    idle_kills: bool,
}

impl Compiled {
    /// Call with a model that passed `Model::check`.
    pub fn new(model: &Model) -> Compiled {
        let (syn_times, syn_give_up) = model.listener.syn_schedule.times();
        Compiled {
            workload: Workload::new(model),
            startup: model.master.startup.sampler(),
            fork_time: model.master.fork_time.sampler(),
            respawn_delay: model.master.respawn_delay.sampler(),
            retry_pause: model.load.retry_pause.sampler(),
            capacity: usize::try_from(model.queue_capacity()).unwrap_or(usize::MAX),
            syn_times,
            syn_give_up,
            client_limit: model.pool.client_limit,
            service_count: model.pool.service_count,
            timeout: model.load.timeout.unwrap_or(f64::INFINITY),
            event_budget: model.event_budget(),
            timeline_bin: None,
            tops_up: model.master.mode != MasterMode::Prefork && model.pool.process_min_avail > 0,
            idle_kills: model.master.mode != MasterMode::Prefork && model.pool.idle_kill > 0.0,
            model: model.clone(),
        }
    }

    /// Keeps a timeline of every replication in bins of `width` seconds.
    pub fn keep_timeline(&mut self, width: f64) {
        self.timeline_bin = Some(width);
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
    /// A connection's blocking work is finished: the reply goes out.
    WorkDone(u32),
    /// A connection's hold is over: it closes and frees its slot.
    Close(u32),
    /// A process has started and can accept.
    Ready(u32),
    /// The master has finished a fork and can accept again (per-connection mode).
    MasterFree,
    /// Prefork: replace a process that exited.
    Respawn,
    /// An idle process's idle_kill time is up.
    IdleKill(u32),
    /// drop_timeout seconds at process_limit: accept and close what is queued.
    DropTimeout,
    /// process_min_avail: one run of the master's 0-ms prefork timer.
    PreforkRun,
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

/// One client connection.
#[derive(Debug, Clone, Copy)]
struct Conn {
    /// When it was meant to be sent: latency is measured from here.
    sent: f64,
    /// The client gives up at this time (infinity without load.timeout).
    deadline: f64,
    blocking: f64,
    hold: f64,
    /// When it entered the kernel queue.
    queued_at: f64,
    /// SYN retransmissions so far.
    syns: u8,
    /// Arrived after the warm-up: counts in the statistics.
    counted: bool,
    /// The process that holds it, once accepted.
    owner: u32,
}

/// One worker process.
#[derive(Debug, Clone, Copy)]
struct Proc {
    alive: bool,
    ready: bool,
    /// Watches the listener; false once service_count connections were accepted.
    listening: bool,
    clients: u32,
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
}

struct Sim<'a> {
    c: &'a Compiled,
    q: EventQueue<Ev>,
    clients: workload::Source<'a>,
    master_rng: Rng64,
    retry_rng: Rng64,
    warmup: f64,
    conns: Vec<Conn>,
    free_conns: Vec<u32>,
    procs: Vec<Proc>,
    free_procs: Vec<u32>,
    /// The kernel listen queue: one FIFO shared by every process
    /// (semantics: unix-shared-fifo).
    queue: VecDeque<u32>,
    /// Ready processes with a free slot, most recently freed on top (lazily cleaned).
    free: Vec<u32>,
    /// Processes alive, starting or ready.
    alive: u32,
    /// Processes alive, listening and with a free slot: Dovecot's process_avail.
    avail: u32,
    master_free_at: f64,
    master_wakeup: bool,
    fork_counter: u64,
    prefork_counter: u64,
    prefork_pending: bool,
    drop_timer: Option<EventId>,
    dropping: bool,
    arrivals_done: bool,
    /// Connections not yet resolved (or still open).
    open: u64,
    stats: RepStats,
}

impl<'a> Sim<'a> {
    fn new(c: &'a Compiled, seed: u64, replication: u64) -> Self {
        Sim {
            c,
            q: EventQueue::new(),
            clients: c.workload.source(seed, replication),
            master_rng: stream(seed, replication, MASTER_STREAM),
            retry_rng: stream(seed, replication, workload::RETRY),
            warmup: c.model.sim.warmup,
            conns: Vec::with_capacity(256),
            free_conns: Vec::new(),
            procs: Vec::with_capacity(c.model.pool.process_limit.min(4096) as usize),
            free_procs: Vec::new(),
            queue: VecDeque::with_capacity(c.capacity.min(1 << 16)),
            free: Vec::new(),
            alive: 0,
            avail: 0,
            master_free_at: 0.0,
            master_wakeup: false,
            fork_counter: 0,
            prefork_counter: 0,
            prefork_pending: false,
            drop_timer: None,
            dropping: false,
            arrivals_done: false,
            open: 0,
            stats: {
                let mut s = RepStats::new(c.model.sim.warmup);
                if let Some(width) = c.timeline_bin {
                    s.keep_timeline(width);
                }
                s
            },
        }
    }

    fn run(mut self) -> Result<RepStats, BadInput> {
        // The observed window opens when the clock first reaches the warm-up.
        let mut window_opens = self.warmup;
        if window_opens <= 0.0 {
            self.stats.start_window(0.0);
            window_opens = f64::INFINITY;
        }
        self.start_pool();
        if let Some(d) = self.c.model.load.duration {
            self.q.schedule(d, Ev::WindowEnd);
        }
        self.schedule_next_arrival();
        let budget = self.c.event_budget;
        // Timeline bins end on events of their own, which the event count leaves out.
        let mut bins = 0u64;
        if let Some(w) = self.c.timeline_bin {
            self.q.schedule(w, Ev::BinEdge);
        }
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
                Ev::MasterFree => {
                    self.master_wakeup = false;
                    self.dispatch(now);
                }
                Ev::Respawn => {
                    self.fork(now);
                }
                Ev::IdleKill(p) => self.idle_kill(p, now),
                Ev::DropTimeout => self.drop_timeout(now),
                Ev::PreforkRun => self.prefork_run(now),
                Ev::WindowEnd => self.stats.close_window(now),
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
        self.stats.close_window(end);
        self.stats.finish_timeline(end);
        self.stats.events = self.q.processed() - bins;
        if self.conns.len() > MAX_OPEN {
            return Err(self.too_many_open());
        }
        Ok(self.stats)
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

    /// Gives every queued connection it can to a process, in FIFO order.
    fn dispatch(&mut self, now: f64) {
        while let Some(&id) = self.queue.front() {
            if let Some(p) = self.free_process() {
                self.queue.pop_front();
                self.stats.queue.set(now, self.queue.len() as u64);
                self.accept(p, id, now);
            } else if self.master_can_accept(now) {
                self.queue.pop_front();
                self.stats.queue.set(now, self.queue.len() as u64);
                self.master_accept(id, now);
            } else {
                break;
            }
        }
        self.master_check(now);
    }

    fn kind(&self) -> ListenerKind {
        self.c.model.listener.kind
    }

    fn on_refused(&self) -> OnRefused {
        self.c.model.load.on_refused
    }

    fn mode(&self) -> MasterMode {
        self.c.model.master.mode
    }
}
