//! The worker processes: start, accept, serve blocking work one connection after
//! another (or several at once on threads), close, and exit after service_count
//! connections. Each belongs to one station (`Proc::svc`), whose record the event
//! works on.

use super::station::{Behaviour, Station};
use super::{Ev, Shared, Sim, NONE};
use std::collections::VecDeque;

impl Station<'_> {
    /// Takes a connection into process `p`'s slot; `counted`: the connection counts
    /// in the statistics, and it waited in the queue since `queued_at`.
    #[inline(always)]
    pub(super) fn take(
        &mut self,
        sh: &mut Shared,
        p: u32,
        counted: bool,
        queued_at: f64,
        now: f64,
    ) {
        let service_count = self.service_count;
        self.update(&mut sh.procs, p, |proc| {
            proc.clients += 1;
            proc.accepted += 1;
            // After service_count connections the process stops listening and exits
            // once its connections end (semantics: dovecot-service-count).
            if service_count > 0 && proc.accepted >= service_count {
                proc.listening = false;
            }
        });
        if self.does.has(Behaviour::IDLE_KILL) {
            if let Some(t) = sh.procs[p as usize].idle_timer.take() {
                sh.q.cancel(t);
            }
        }
        if counted {
            self.stats.queue_wait(now - queued_at);
        }
    }

    /// Process `p` accepts connection `id` from the kernel queue and starts its work.
    #[inline(always)]
    pub(super) fn accept(&mut self, sh: &mut Shared, p: u32, id: u32, now: f64) {
        let c = &mut sh.conns[id as usize];
        c.owner = p;
        let (counted, queued_at, blocking) = (c.counted, c.queued_at, c.blocking);
        self.take(sh, p, counted, queued_at, now);
        if !sh.procs[p as usize].has_slot() {
            // It was on top of the free list.
            self.free.pop();
            sh.procs[p as usize].in_free = false;
        }
        self.start_work(sh, p, id, blocking, now);
        self.extra_avail(sh, now);
    }

    /// Blocking work is served in order inside a process: with client_limit > 1 a
    /// connection's work waits for the work accepted before it (SPEC 1.5). The
    /// connection `id` (its owner already `p`) needs `blocking` seconds.
    #[inline(always)]
    pub(super) fn start_work(&mut self, sh: &mut Shared, p: u32, id: u32, blocking: f64, now: f64) {
        // Threads, and work shared with the host's CPUs, whose end is not known when
        // it starts (one thread then), take the threads' path.
        if self.does.has(Behaviour::THREADS | Behaviour::CPU) {
            self.start_threaded(sh, p, id, blocking, now);
            return;
        }
        let proc = &mut sh.procs[p as usize];
        // Busy is counted per process, not per connection (Processes::busy_mean: the
        // number of processes doing blocking work). Keyed on `working` rather than on
        // `busy_until > now`: with client_limit > 1 a connection can be accepted at the
        // very instant the previous one's work ends, before that WorkDone event is
        // handled, and the time test then counted the process busy twice for good.
        if proc.working == 0 {
            self.stats.busy.add(now, 1);
        }
        proc.working += 1;
        let start = proc.busy_until.max(now);
        proc.busy_until = start + blocking;
        let done = proc.busy_until;
        sh.q.schedule(done, Ev::WorkDone(id));
    }

    /// With threads > 1: up to `threads` connections of the process work at once; the
    /// others wait for a thread, in order (gunicorn gthread's executor, Apache's
    /// worker threads). On the host's CPUs (`host.rs`) the same with one thread
    /// when the process has none: its connections' work, one after another.
    #[inline(never)]
    fn start_threaded(&mut self, sh: &mut Shared, p: u32, id: u32, blocking: f64, now: f64) {
        if sh.procs[p as usize].working < self.threads {
            let proc = &mut sh.procs[p as usize];
            if proc.working == 0 {
                self.stats.busy.add(now, 1);
            }
            proc.working += 1;
            self.begin(sh, id, blocking, now);
        } else {
            if sh.waiting_work.len() <= p as usize {
                sh.waiting_work.resize_with(p as usize + 1, VecDeque::new);
            }
            sh.waiting_work[p as usize].push_back(id);
        }
    }

    /// A thread starts connection `id`'s work: its CPU part on the host's CPUs, or
    /// `blocking` seconds.
    #[inline(always)]
    fn begin(&self, sh: &mut Shared, id: u32, blocking: f64, now: f64) {
        if self.does.has(Behaviour::CPU) {
            sh.start_on_host(id, blocking, now);
        } else {
            sh.q.schedule(now + blocking, Ev::WorkDone(id));
        }
    }

    /// A connection's blocking work in process `p` is done: on threads (or the host's
    /// CPUs), the next connection waiting in the process takes the thread.
    #[inline(always)]
    fn work_finished(&mut self, sh: &mut Shared, p: u32, now: f64) {
        sh.procs[p as usize].working -= 1;
        if self.does.has(Behaviour::THREADS | Behaviour::CPU) {
            if let Some(next) = sh
                .waiting_work
                .get_mut(p as usize)
                .and_then(VecDeque::pop_front)
            {
                sh.procs[p as usize].working += 1;
                let blocking = sh.conns[next as usize].blocking;
                self.begin(sh, next, blocking, now);
            }
        }
        if sh.procs[p as usize].working == 0 {
            self.stats.busy.add(now, -1);
        }
    }

    /// A connection of process `p` is gone: its slot frees, or the process exits.
    #[inline(always)]
    pub(super) fn free_slot(&mut self, sh: &mut Shared, p: u32, now: f64) {
        self.update(&mut sh.procs, p, |proc| proc.clients -= 1);
        let proc = &sh.procs[p as usize];
        let (listening, clients) = (proc.listening, proc.clients);
        if !listening && clients == 0 {
            self.exit(sh, p, now);
        } else {
            if proc.has_slot() {
                self.offer_slot(&mut sh.procs, p);
                self.slot_freed(sh);
            }
            if clients == 0 {
                sh.procs[p as usize].idle_since = now;
                self.start_idle_timer(sh, p, now);
            }
        }
        self.dispatch(sh, now);
    }

    /// Process `p` has started: it accepts (or serves the connection the master gave
    /// it).
    #[inline(never)]
    pub(super) fn ready(&mut self, sh: &mut Shared, p: u32, now: f64) {
        self.update(&mut sh.procs, p, |proc| proc.ready = true);
        let first = std::mem::replace(&mut sh.procs[p as usize].first, NONE);
        if first != NONE {
            let c = &mut sh.conns[first as usize];
            c.owner = p;
            let blocking = c.blocking;
            self.start_work(sh, p, first, blocking, now);
        } else if sh.procs[p as usize].has_slot() {
            sh.procs[p as usize].idle_since = now;
            self.offer_slot(&mut sh.procs, p);
            self.start_idle_timer(sh, p, now);
        }
        self.dispatch(sh, now);
    }

    /// Process `p` exits; its master's family decides what follows.
    #[inline(never)]
    pub(super) fn exit(&mut self, sh: &mut Shared, p: u32, now: f64) {
        self.update(&mut sh.procs, p, |proc| proc.alive = false);
        if let Some(t) = sh.procs[p as usize].idle_timer.take() {
            sh.q.cancel(t);
        }
        sh.free_procs.push(p);
        self.alive -= 1;
        self.stats.processes.set(now, u64::from(self.alive));
        let killed = sh.procs[p as usize].killed;
        self.on_exit(sh, killed, now);
    }
}

impl Sim<'_> {
    /// A connection's blocking work is done: the process connects to the next
    /// service, or the reply goes out and the connection closes now or after its hold.
    /// Out of the event loop, for the reason `arrival` gives.
    #[inline(never)]
    pub(super) fn work_done(&mut self, id: u32, now: f64) {
        let c = &self.sh.conns[id as usize];
        let (p, s, parent) = (c.owner, c.svc as usize, c.parent);
        let mut st = &mut self.stations[s];
        st.work_finished(&mut self.sh, p, now);
        if st.does.has(Behaviour::HOP) {
            // In a chain the process now connects to the next service (`hop.rs`).
            self.hop(s, id, now);
            return;
        }
        if parent != NONE {
            // The reply comes back through the proxies behind it.
            self.reply_through(parent, now);
            st = &mut self.stations[s];
        }
        let c = &self.sh.conns[id as usize];
        let hold = c.hold;
        st.reply(&mut self.sh.stats, c, now);
        if hold > 0.0 {
            self.sh.q.schedule(now + hold, Ev::Close(id));
        } else {
            self.sh.release(id);
            st.free_slot(&mut self.sh, p, now);
        }
    }

    /// The connection's hold is over: it closes; its slot frees, or the process exits.
    pub(super) fn close(&mut self, id: u32, now: f64) {
        let c = &self.sh.conns[id as usize];
        let (p, s) = (c.owner, c.svc as usize);
        self.sh.release(id);
        self.stations[s].free_slot(&mut self.sh, p, now);
    }
}
