//! A station: one service in a run, as one record (simcore's "the component owns its
//! state"). Its first fields are the constants a connection's path reads and the
//! bits of what its master does; then its run state (the kernel listen queue, the
//! free list, the counts its master reads); then its statistics; last its master's
//! rules and a reference to its cold specification. An event reads the station's
//! index once (from the event, the connection or the process) and works on this
//! record; the other slabs (processes, connections, the event list) come in as
//! `Shared`.
//!
//! Here: the queue, handing queued connections to processes (`dispatch`), the free
//! list, and the counts kept as processes change (process_avail, the idle ones).

use super::compile::ServiceSpec;
use super::family::{SpawnState, Spawner};
use super::idle::IdleSet;
use super::{Proc, Shared};
use crate::stats::ServiceStats;
use std::collections::VecDeque;

/// What a station's master and pool do, as bits tested on the connection's path: a
/// station's own bits sit in the cache line the event has already loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Behaviour(u16);

impl Behaviour {
    /// Keeps `avail`, Dovecot's process_avail (processes alive, listening and with a
    /// free slot), for a master that reads it.
    pub const AVAIL: Behaviour = Behaviour(1);
    /// Keeps the count of idle processes.
    pub const IDLE: Behaviour = Behaviour(1 << 1);
    /// Keeps the idle processes in order of age (`IdleSet`).
    pub const OLDEST: Behaviour = Behaviour(1 << 2);
    /// A starting process counts as idle (Apache; semantics: apache-idle).
    pub const STARTING_IDLE: Behaviour = Behaviour(1 << 3);
    /// The master keeps process_min_avail processes free (semantics:
    /// dovecot-min-avail).
    pub const TOPS_UP: Behaviour = Behaviour(1 << 4);
    /// The master ends processes idle for idle_kill seconds on timers (semantics:
    /// dovecot-idle-kill).
    pub const IDLE_KILL: Behaviour = Behaviour(1 << 5);
    /// The master acts on a connection left waiting with no free slot: it forks on
    /// demand, accepts it itself, or arms its drop timer.
    pub const WATCHES: Behaviour = Behaviour(1 << 6);
    /// The master accepts connections itself (per-connection mode).
    pub const MASTER_ACCEPTS: Behaviour = Behaviour(1 << 7);
    /// The master drops connections after drop_timeout at process_limit.
    pub const DROPS: Behaviour = Behaviour(1 << 8);
    /// The master wakes up on an arrival (PHP-FPM ondemand's edge-triggered watch).
    pub const EDGE: Behaviour = Behaviour(1 << 9);
    /// threads > 1: a process works on several connections at once.
    pub const THREADS: Behaviour = Behaviour(1 << 10);
    /// Its processes hand their connections on to a next service.
    pub const HOP: Behaviour = Behaviour(1 << 11);
    /// Its work has a CPU part shared with the host's other busy processes
    /// (`host.rs`): work goes through the threads' path, one thread without threads.
    pub const CPU: Behaviour = Behaviour(1 << 12);

    /// Any of `bits`.
    #[inline(always)]
    pub fn has(self, bits: Behaviour) -> bool {
        self.0 & bits.0 != 0
    }

    pub fn with(self, bits: Behaviour) -> Behaviour {
        Behaviour(self.0 | bits.0)
    }
}

impl std::ops::BitOr for Behaviour {
    type Output = Behaviour;
    fn bitor(self, other: Behaviour) -> Behaviour {
        self.with(other)
    }
}

/// One service in a run. `repr(C)` keeps the fields in the order written: the hot
/// ones first, together.
#[repr(C)]
#[derive(Debug, Clone)]
pub(super) struct Station<'a> {
    pub does: Behaviour,
    /// Its own index, and its master's.
    pub index: u16,
    pub master: u16,
    pub client_limit: u32,
    pub threads: u32,
    pub process_limit: u32,
    pub capacity: usize,
    pub service_count: u64,
    /// The kernel listen queue: one FIFO shared by every process (semantics:
    /// unix-shared-fifo).
    pub queue: VecDeque<u32>,
    /// Ready processes with a free slot, most recently freed on top (lazily cleaned:
    /// a slot may since belong to a process of another station).
    pub free: Vec<u32>,
    /// Processes alive, starting or ready.
    pub alive: u32,
    /// Processes alive, listening and with a free slot: Dovecot's process_avail
    /// (kept with `AVAIL` or `IDLE`).
    pub avail: u32,
    /// Idle processes (kept with `IDLE`), and in order of age (with `OLDEST`).
    pub idle: u32,
    pub idle_set: IdleSet,
    /// The master accepts and closes every new connection (semantics:
    /// dovecot-drop-timer).
    pub dropping: bool,
    pub stats: ServiceStats,
    /// Its master's rules, and their timers and counters.
    pub spawner: Spawner,
    pub spawn: SpawnState,
    pub spec: &'a ServiceSpec,
}

impl<'a> Station<'a> {
    pub(super) fn new(index: usize, spec: &'a ServiceSpec, stats: ServiceStats) -> Station<'a> {
        let oldest = spec.does.has(Behaviour::OLDEST);
        Station {
            does: spec.does,
            index: index as u16,
            master: spec.master,
            client_limit: spec.client_limit,
            threads: spec.threads,
            process_limit: spec.process_limit,
            capacity: spec.capacity,
            service_count: spec.service_count,
            queue: VecDeque::with_capacity(spec.capacity.min(1 << 16)),
            free: Vec::new(),
            alive: 0,
            avail: 0,
            idle: 0,
            idle_set: IdleSet::with_capacity(if oldest {
                spec.process_limit.min(4096) as usize
            } else {
                0
            }),
            dropping: false,
            stats,
            spawner: spec.spawner,
            spawn: SpawnState::default(),
            spec,
        }
    }

    /// Connection `id` enters the queue (it has room; the caller set its
    /// `queued_at`) and the queue is served. One that finds the queue empty and a
    /// process with a free slot is accepted at once: it spends no time in the queue,
    /// which the queue's level records as a step up and back at the same instant,
    /// exactly as entering and leaving would.
    #[inline(always)]
    pub(super) fn admit(&mut self, sh: &mut Shared, id: u32, now: f64) {
        if self.queue.is_empty() {
            if let Some(p) = self.free_process(&mut sh.procs) {
                self.stats.queue.blip(now);
                self.accept(sh, p, id, now);
                return;
            }
        }
        self.enqueue(id, now);
        self.dispatch(sh, now);
    }

    /// Connection `id` enters the queue (it has room; the caller set its
    /// `queued_at`).
    #[inline(always)]
    pub(super) fn enqueue(&mut self, id: u32, now: f64) {
        self.queue.push_back(id);
        let len = self.queue.len() as u64;
        self.stats.queue.set(now, len);
    }

    #[inline(always)]
    pub(super) fn dequeue(&mut self, now: f64) {
        self.queue.pop_front();
        let len = self.queue.len() as u64;
        self.stats.queue.set(now, len);
    }

    /// The connection that just entered leaves again (a dropping master's accept and
    /// close).
    pub(super) fn dequeue_last(&mut self, now: f64) {
        self.queue.pop_back();
        let len = self.queue.len() as u64;
        self.stats.queue.set(now, len);
    }

    /// Gives every queued connection it can to a process, in FIFO order; when one is
    /// left waiting with no free slot, the master may act on it (`family/`).
    #[inline(always)]
    pub(super) fn dispatch(&mut self, sh: &mut Shared, now: f64) {
        while let Some(&id) = self.queue.front() {
            if let Some(p) = self.free_process(&mut sh.procs) {
                self.dequeue(now);
                self.accept(sh, p, id, now);
            } else if !(self.does.has(Behaviour::WATCHES) && self.on_waiting(sh, now)) {
                break;
            }
        }
    }

    /// The ready process with a free slot that accepts next, if any.
    #[inline(always)]
    fn free_process(&mut self, procs: &mut [Proc]) -> Option<u32> {
        while let Some(&p) = self.free.last() {
            let proc = &procs[p as usize];
            let mine = proc.svc == self.index;
            if mine && proc.ready && proc.has_slot() {
                return Some(p);
            }
            self.free.pop();
            if mine {
                procs[p as usize].in_free = false;
            }
        }
        None
    }

    /// Process `p` has a free slot: it goes on top of the free list.
    #[inline(always)]
    pub(super) fn offer_slot(&mut self, procs: &mut [Proc], p: u32) {
        let proc = &mut procs[p as usize];
        if !proc.in_free {
            proc.in_free = true;
            self.free.push(p);
        }
    }

    /// Idle as this station's master counts it: alive, listening, and ready with no
    /// connection (or starting, where a starting process counts).
    #[inline]
    fn is_idle(&self, q: &Proc) -> bool {
        q.alive
            && q.listening
            && if q.ready {
                q.clients == 0
            } else {
                self.does.has(Behaviour::STARTING_IDLE)
            }
    }

    /// Runs `f` on process `p` and keeps the station's counts (process_avail, the
    /// idle processes) in step, when its master reads them. This runs twice a
    /// connection.
    #[inline(always)]
    pub(super) fn update(&mut self, procs: &mut [Proc], p: u32, f: impl FnOnce(&mut Proc)) {
        let proc = &mut procs[p as usize];
        if !self.does.has(Behaviour::AVAIL | Behaviour::IDLE) {
            f(proc);
            return;
        }
        let before = (proc.has_slot(), self.is_idle(proc));
        f(proc);
        self.recount(procs, p, before);
    }

    #[inline(never)]
    fn recount(&mut self, procs: &mut [Proc], p: u32, (slot, idle): (bool, bool)) {
        let proc = &procs[p as usize];
        let now_slot = proc.has_slot();
        if now_slot != slot {
            if now_slot {
                self.avail += 1;
            } else {
                self.avail -= 1;
            }
        }
        let now_idle = self.is_idle(proc);
        if now_idle != idle {
            let oldest = self.does.has(Behaviour::OLDEST);
            if now_idle {
                self.idle += 1;
                if oldest {
                    self.idle_set.insert(procs, p);
                }
            } else {
                self.idle -= 1;
                if oldest {
                    self.idle_set.remove(procs, p);
                }
            }
        }
    }

    /// A new process, counted as available at once (Dovecot's
    /// service_process_create: `process_avail++` before the child has started;
    /// semantics: dovecot-on-demand-fork).
    #[inline(never)]
    pub(super) fn new_process(&mut self, sh: &mut Shared, now: f64, ready: bool) -> u32 {
        let proc = Proc::new(self.index, self.client_limit, now, ready);
        let p = match sh.free_procs.pop() {
            Some(p) => {
                // A slot still in its old station's free list stays there (cleaned
                // lazily); in another station's, it is not in this one's.
                let old = &sh.procs[p as usize];
                let in_free = old.in_free && old.svc == self.index;
                sh.procs[p as usize] = Proc { in_free, ..proc };
                p
            }
            None => {
                sh.procs.push(proc);
                (sh.procs.len() - 1) as u32
            }
        };
        self.alive += 1;
        if self.does.has(Behaviour::AVAIL | Behaviour::IDLE) {
            // A new process has a free slot; whether it is idle depends on the master.
            self.recount(&mut sh.procs, p, (false, false));
        }
        self.stats.processes.set(now, u64::from(self.alive));
        if ready {
            self.offer_slot(&mut sh.procs, p);
        }
        p
    }
}
