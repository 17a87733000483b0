//! The worker processes: start, accept, serve blocking work one connection after
//! another, close, exit after service_count connections, and end when idle too long.
//! Each belongs to one service (`Proc::svc`).

use super::{Ev, Proc, Sim, NONE};
use std::collections::VecDeque;

impl Proc {
    /// It could take a connection now: alive, listening, not blocked in a hop's
    /// retries, with a free slot.
    #[inline(always)]
    pub(super) fn has_slot(&self) -> bool {
        self.alive && self.listening && !self.blocked && self.clients < self.client_limit
    }
}

impl Sim<'_> {
    #[inline(always)]
    pub(super) fn has_slot(&self, p: u32) -> bool {
        self.procs[p as usize].has_slot()
    }

    /// Runs `f` on process `p` and keeps its service's `avail` (Dovecot's
    /// process_avail) in step, when a master reads it. This runs twice a connection.
    #[inline(always)]
    pub(super) fn update(&mut self, p: u32, f: impl FnOnce(&mut Proc)) {
        let proc = &mut self.procs[p as usize];
        if !self.any.avail {
            f(proc);
            return;
        }
        let before = proc.has_slot();
        f(proc);
        let after = proc.has_slot();
        if before != after {
            let line = &mut self.lines[proc.svc as usize];
            if after {
                line.avail += 1;
            } else {
                line.avail -= 1;
            }
        }
    }

    /// The ready process of service `s` with a free slot that accepts next, if any.
    #[inline(always)]
    pub(super) fn free_process(&mut self, s: usize) -> Option<u32> {
        while let Some(&p) = self.lines[s].free.last() {
            // The list is cleaned lazily: a slot may since belong to a process of
            // another service.
            let proc = &self.procs[p as usize];
            let mine = proc.svc as usize == s;
            if mine && proc.ready && proc.has_slot() {
                return Some(p);
            }
            self.lines[s].free.pop();
            if mine {
                self.procs[p as usize].in_free = false;
            }
        }
        None
    }

    #[inline(always)]
    pub(super) fn offer_slot(&mut self, p: u32) {
        let proc = &mut self.procs[p as usize];
        if !proc.in_free {
            proc.in_free = true;
            let s = proc.svc as usize;
            self.lines[s].free.push(p);
        }
    }

    /// A new process of service `s`, counted as available at once (Dovecot's
    /// service_process_create: `process_avail++` before the child has started;
    /// semantics: dovecot-on-demand-fork).
    pub(super) fn new_process(&mut self, s: usize, now: f64, ready: bool) -> u32 {
        let proc = Proc {
            svc: s as u16,
            alive: true,
            ready,
            listening: true,
            blocked: false,
            clients: 0,
            client_limit: self.c.svcs[s].client_limit,
            accepted: 0,
            busy_until: 0.0,
            working: 0,
            first: NONE,
            idle_timer: None,
            in_free: false,
            born: now,
            idle_since: now,
            killed: false,
        };
        let p = match self.free_procs.pop() {
            Some(p) => {
                // A slot still in its old service's free list stays there (cleaned
                // lazily); in another service's, it is not in this one's.
                let old = self.procs[p as usize];
                let in_free = old.in_free && old.svc as usize == s;
                self.procs[p as usize] = Proc { in_free, ..proc };
                p
            }
            None => {
                self.procs.push(proc);
                (self.procs.len() - 1) as u32
            }
        };
        let line = &mut self.lines[s];
        line.alive += 1;
        if self.any.avail {
            line.avail += 1;
        }
        let alive = u64::from(line.alive);
        self.stats.services[s].processes.set(now, alive);
        if ready {
            self.offer_slot(p);
        }
        p
    }

    /// Takes a connection into process `p`'s slot.
    #[inline(always)]
    pub(super) fn take(&mut self, p: u32, id: u32, now: f64) {
        let s = self.procs[p as usize].svc as usize;
        let service_count = if self.any.service_count {
            self.c.svcs[s].service_count
        } else {
            0
        };
        self.update(p, |proc| {
            proc.clients += 1;
            proc.accepted += 1;
            // After service_count connections the process stops listening and exits
            // once its connections end (semantics: dovecot-service-count).
            if service_count > 0 && proc.accepted >= service_count {
                proc.listening = false;
            }
        });
        if self.any.idle_kills {
            if let Some(t) = self.procs[p as usize].idle_timer.take() {
                self.q.cancel(t);
            }
        }
        let c = &self.conns[id as usize];
        if c.counted {
            let wait = now - c.queued_at;
            self.stats.services[s].queue_wait(wait);
        }
    }

    /// Process `p` accepts connection `id` from the kernel queue and starts its work.
    #[inline(always)]
    pub(super) fn accept(&mut self, p: u32, id: u32, now: f64) {
        self.take(p, id, now);
        if !self.has_slot(p) {
            let s = self.procs[p as usize].svc as usize;
            self.lines[s].free.pop();
            self.procs[p as usize].in_free = false;
        }
        self.start_work(p, id, now);
        self.extra_avail(self.procs[p as usize].svc as usize, now);
    }

    /// Blocking work is served in order inside a process: with client_limit > 1 a
    /// connection's work waits for the work accepted before it (SPEC 1.5).
    #[inline(always)]
    pub(super) fn start_work(&mut self, p: u32, id: u32, now: f64) {
        let s = self.procs[p as usize].svc as usize;
        if self.any.threads && self.c.svcs[s].threads > 1 {
            self.start_threaded(p, id, now);
            return;
        }
        let blocking = self.conns[id as usize].blocking;
        let proc = &mut self.procs[p as usize];
        // Busy is counted per process, not per connection (Processes::busy_mean: the
        // number of processes doing blocking work). Keyed on `working` rather than on
        // `busy_until > now`: with client_limit > 1 a connection can be accepted at the
        // very instant the previous one's work ends, before that WorkDone event is
        // handled, and the time test then counted the process busy twice for good.
        if proc.working == 0 {
            let s = proc.svc as usize;
            self.stats.services[s].busy.add(now, 1);
        }
        let proc = &mut self.procs[p as usize];
        proc.working += 1;
        let start = proc.busy_until.max(now);
        proc.busy_until = start + blocking;
        let done = proc.busy_until;
        self.q.schedule(done, Ev::WorkDone(id));
        self.conns[id as usize].owner = p;
    }

    /// With threads > 1: up to `threads` connections of the process work at once; the
    /// others wait for a thread, in order (gunicorn gthread's executor, Apache's
    /// worker threads).
    fn start_threaded(&mut self, p: u32, id: u32, now: f64) {
        self.conns[id as usize].owner = p;
        let s = self.procs[p as usize].svc as usize;
        if self.procs[p as usize].working < self.c.svcs[s].threads {
            self.run_thread(p, id, now);
        } else {
            if self.waiting_work.len() <= p as usize {
                self.waiting_work.resize_with(p as usize + 1, VecDeque::new);
            }
            self.waiting_work[p as usize].push_back(id);
        }
    }

    fn run_thread(&mut self, p: u32, id: u32, now: f64) {
        let proc = &mut self.procs[p as usize];
        if proc.working == 0 {
            let s = proc.svc as usize;
            self.stats.services[s].busy.add(now, 1);
        }
        let proc = &mut self.procs[p as usize];
        proc.working += 1;
        let done = now + self.conns[id as usize].blocking;
        self.q.schedule(done, Ev::WorkDone(id));
    }

    #[inline]
    pub(super) fn work_done(&mut self, id: u32, now: f64) {
        let p = self.conns[id as usize].owner;
        let proc = &mut self.procs[p as usize];
        proc.working -= 1;
        // A thread freed: the next connection waiting in this process takes it.
        if self.any.threads {
            if let Some(next) = self
                .waiting_work
                .get_mut(p as usize)
                .and_then(VecDeque::pop_front)
            {
                self.procs[p as usize].working += 1;
                let done = now + self.conns[next as usize].blocking;
                self.q.schedule(done, Ev::WorkDone(next));
            }
        }
        let proc = &mut self.procs[p as usize];
        if proc.working == 0 {
            let s = proc.svc as usize;
            self.stats.services[s].busy.add(now, -1);
        }
        let s = self.conns[id as usize].svc as usize;
        if self.any.chain && self.c.svcs[s].next.is_some() {
            // In a chain the process now connects to the next service (`hop.rs`).
            self.hop(id, now);
            return;
        }
        self.reply(id, now);
        let hold = self.conns[id as usize].hold;
        if hold > 0.0 {
            self.q.schedule(now + hold, Ev::Close(id));
        } else {
            self.close(id, now);
        }
    }

    /// The connection ends; its slot frees, or the process exits.
    #[inline]
    pub(super) fn close(&mut self, id: u32, now: f64) {
        let p = self.conns[id as usize].owner;
        self.release(id);
        self.free_slot(p, now);
    }

    /// A connection of process `p` is gone: its slot frees, or the process exits.
    #[inline(always)]
    pub(super) fn free_slot(&mut self, p: u32, now: f64) {
        self.update(p, |proc| proc.clients -= 1);
        let proc = &self.procs[p as usize];
        let (s, listening, clients) = (proc.svc as usize, proc.listening, proc.clients);
        if !listening && clients == 0 {
            self.exit(p, now);
        } else {
            if proc.has_slot() {
                self.offer_slot(p);
                self.slot_freed(s);
            }
            if clients == 0 {
                self.procs[p as usize].idle_since = now;
                self.start_idle_timer(p, now);
            }
        }
        self.dispatch(s, now);
    }

    /// The process has started: it accepts (or serves the connection the master gave it).
    pub(super) fn ready(&mut self, p: u32, now: f64) {
        self.procs[p as usize].ready = true;
        let first = std::mem::replace(&mut self.procs[p as usize].first, NONE);
        if first != NONE {
            self.start_work(p, first, now);
        } else if self.has_slot(p) {
            self.procs[p as usize].idle_since = now;
            self.offer_slot(p);
            self.start_idle_timer(p, now);
        }
        self.dispatch(self.procs[p as usize].svc as usize, now);
    }

    pub(super) fn exit(&mut self, p: u32, now: f64) {
        self.update(p, |proc| proc.alive = false);
        if let Some(t) = self.procs[p as usize].idle_timer.take() {
            self.q.cancel(t);
        }
        self.free_procs.push(p);
        let s = self.procs[p as usize].svc as usize;
        self.lines[s].alive -= 1;
        let alive = u64::from(self.lines[s].alive);
        self.stats.services[s].processes.set(now, alive);
        let killed = self.procs[p as usize].killed;
        self.process_exited(s, killed, now);
    }

    /// idle_kill applies to Dovecot's masters; gunicorn keeps its fixed pool.
    #[inline(always)]
    fn start_idle_timer(&mut self, p: u32, now: f64) {
        let s = self.procs[p as usize].svc as usize;
        if self.any.idle_kills && self.c.svcs[s].idle_kills {
            self.restart_idle_timer(p, now);
        }
    }

    fn restart_idle_timer(&mut self, p: u32, now: f64) {
        let s = self.procs[p as usize].svc as usize;
        let idle_kill = self.c.svcs[s].idle_kill;
        if let Some(t) = self.procs[p as usize].idle_timer.take() {
            self.q.cancel(t);
        }
        let t = self.q.schedule(now + idle_kill, Ev::IdleKill(p));
        self.procs[p as usize].idle_timer = Some(t);
    }

    /// An idle process beyond process_min_avail ends after idle_kill seconds without a
    /// connection (simplified from Dovecot 2.3.21's per-interval count; semantics:
    /// dovecot-idle-kill).
    pub(super) fn idle_kill(&mut self, p: u32, now: f64) {
        self.procs[p as usize].idle_timer = None;
        let proc = self.procs[p as usize];
        if !(proc.alive && proc.ready && proc.listening && proc.clients == 0) {
            return;
        }
        let s = proc.svc;
        let idle = self
            .procs
            .iter()
            .filter(|q| q.svc == s && q.alive && q.ready && q.listening && q.clients == 0)
            .count();
        if idle > self.c.svcs[s as usize].min_avail as usize {
            self.exit(p, now);
            self.dispatch(s as usize, now);
        } else {
            self.start_idle_timer(p, now);
        }
    }
}
