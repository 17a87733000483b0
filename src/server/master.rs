//! The master processes: the pool each service starts with, how a master forks in each
//! `master.mode` (one fork at a time, for every service it serves), process_min_avail
//! preforks, and the process_limit drop timer.

use super::{Ev, Sim};
use crate::model::MasterMode;

/// Dovecot forks at most this many processes per prefork timer run
/// (SERVICE_PREFORK_MAX_AT_ONCE; semantics: dovecot-min-avail).
const PREFORK_MAX_AT_ONCE: u32 = 10;

impl Sim<'_> {
    /// The processes of service `s` that exist at t = 0: the whole pool for prefork
    /// (gunicorn spawns its workers before it serves), process_min_avail for Dovecot's
    /// masters.
    pub(super) fn start_pool(&mut self, s: usize) {
        let svc = &self.c.svcs[s];
        let n = match svc.mode {
            MasterMode::Prefork => svc.process_limit,
            MasterMode::OnDemand | MasterMode::PerConnection => svc.min_avail,
            // pm.start_servers / StartServers (semantics: php-fpm-dynamic-config,
            // apache-defaults); ondemand starts with none (semantics: php-fpm-ondemand).
            MasterMode::PhpFpmDynamic | MasterMode::ApachePrefork => svc.start_servers,
            MasterMode::PhpFpmOndemand => 0,
        };
        for _ in 0..n {
            self.new_process(s, 0.0, true);
        }
    }

    /// Forks one process of service `s`. A master forks synchronously in its one event
    /// loop, for every service it serves (semantics: dovecot-fork-serial), so forks
    /// are serialised by each service's `master.fork_time`, in the order they were
    /// asked for; the child is ready `master.startup` after its fork.
    pub(super) fn fork(&mut self, s: usize, now: f64) -> u32 {
        let svc = &self.c.svcs[s];
        let m = svc.master;
        let at = self.masters[m].free_at.max(now);
        let took = svc.fork_time.sample(&mut self.master_rng);
        self.masters[m].free_at = at + took;
        let ready_at = self.masters[m].free_at + svc.startup.sample(&mut self.master_rng);
        let p = self.new_process(s, now, false);
        self.masters[m].fork_counter += 1;
        if now >= self.warmup {
            self.stats.services[s].forks += 1;
            let busy = if self.stats.window_closed() {
                // Asked for after the window: a fork, but not busy time inside it.
                0.0
            } else {
                took
            };
            self.stats.masters[m].fork(at - now, busy);
        }
        self.q.schedule(ready_at, Ev::Ready(p));
        p
    }

    /// Per-connection mode (Dovecot 2.4.2+, commit 4e75476a95; semantics:
    /// dovecot-master-accept): while no process has a free slot the master accepts
    /// queued connections itself, one per fork, as fast as its own forks allow.
    #[inline(always)]
    pub(super) fn master_can_accept(&mut self, s: usize, now: f64) -> bool {
        // The mode is tested here, inline, so that the dispatch loop of every other
        // mode pays no call for it.
        self.any.master_accepts
            && self.c.svcs[s].mode == MasterMode::PerConnection
            && self.master_accepts(s, now)
    }

    fn master_accepts(&mut self, s: usize, now: f64) -> bool {
        let svc = &self.c.svcs[s];
        let line = &self.lines[s];
        if line.avail > 0 || line.alive >= svc.process_limit || line.dropping {
            return false;
        }
        // The master forks for its services in the order they asked: a service waits
        // its turn behind those that asked before it.
        let m = svc.master;
        let master = &mut self.masters[m];
        let turn = master.waiting.front().is_none_or(|&w| w == s);
        if master.free_at <= now && turn {
            if master.waiting.front() == Some(&s) {
                master.waiting.pop_front();
            }
            return true;
        }
        if !master.waiting.contains(&s) {
            master.waiting.push_back(s);
        }
        if !master.wakeup {
            master.wakeup = true;
            let at = master.free_at.max(now);
            self.q.schedule(at, Ev::MasterFree(m as u16));
        }
        false
    }

    /// Master `m` has finished its forks: the services waiting for it go on, the one
    /// that asked first first; one that no longer needs it leaves the line.
    pub(super) fn master_free(&mut self, m: usize, now: f64) {
        self.masters[m].wakeup = false;
        while let Some(&s) = self.masters[m].waiting.front() {
            if self.masters[m].free_at > now {
                break;
            }
            let forks = self.masters[m].fork_counter;
            self.dispatch(s, now);
            if self.masters[m].fork_counter == forks && self.masters[m].waiting.front() == Some(&s)
            {
                // It took nothing: its queue emptied or a process freed a slot.
                self.masters[m].waiting.pop_front();
            }
        }
        if !self.masters[m].waiting.is_empty() && !self.masters[m].wakeup {
            self.masters[m].wakeup = true;
            let at = self.masters[m].free_at.max(now);
            self.q.schedule(at, Ev::MasterFree(m as u16));
        }
    }

    pub(super) fn master_accept(&mut self, s: usize, id: u32, now: f64) {
        let p = self.fork(s, now);
        self.take(p, id, now);
        self.procs[p as usize].first = id;
        // The child reports itself busy as soon as it has its connection, which tops up
        // process_min_avail as an accept by a child does (semantics: dovecot-min-avail).
        self.extra_avail(s, now);
    }

    /// After service `s`'s queue was served: the on-demand fork and the drop timer.
    #[inline(always)]
    pub(super) fn master_check(&mut self, s: usize, now: f64) {
        if !self.any.master_watches {
            return;
        }
        let line = &self.lines[s];
        if line.queue.is_empty() {
            return;
        }
        let svc = &self.c.svcs[s];
        let limit = svc.process_limit;
        // On-demand (Dovecot <= 2.4.1): the master watches the listener only while no
        // process has a free slot; it forks one process and stops watching until that
        // child has started and used its slots (semantics: dovecot-who-accepts,
        // dovecot-on-demand-fork). One fork per round trip.
        if svc.mode == MasterMode::OnDemand && line.avail == 0 && line.alive < limit {
            self.fork(s, now);
            return;
        }
        // process_limit reached and no free slot: nothing accepts for drop_timeout
        // seconds, then the master accepts and closes (semantics: dovecot-drop-timer).
        if line.avail == 0 && line.alive >= limit && !line.dropping && line.drop_timer.is_none() {
            if let Some(t) = svc.drop_timeout {
                self.lines[s].drop_timer =
                    Some(self.q.schedule(now + t, Ev::DropTimeout(s as u16)));
            }
        }
    }

    /// service_drop_timeout(): accept and close everything queued, then every new
    /// connection until a slot frees (semantics: dovecot-drop-timer).
    pub(super) fn drop_timeout(&mut self, s: usize, now: f64) {
        self.lines[s].drop_timer = None;
        while let Some(id) = self.lines[s].queue.pop_front() {
            self.fail(id, now, super::client::Outcome::Dropped);
        }
        self.stats.services[s].queue.set(now, 0);
        self.lines[s].dropping = true;
    }

    /// A slot of service `s` is free again (a connection closed, or a process
    /// exited): its master stops dropping and the timer is cancelled.
    #[inline(always)]
    pub(super) fn slot_freed(&mut self, s: usize) {
        // Only a master that watches its queue ever drops.
        if !self.any.master_watches {
            return;
        }
        if let Some(t) = self.lines[s].drop_timer.take() {
            self.q.cancel(t);
        }
        self.lines[s].dropping = false;
    }

    pub(super) fn process_exited(&mut self, s: usize, killed: bool, now: f64) {
        self.slot_freed(s);
        match self.c.svcs[s].mode {
            // PHP-FPM replaces a child that exited by itself (pm.max_requests) at
            // once, one for one; one its master killed is not replaced (semantics:
            // php-fpm-respawn).
            MasterMode::PhpFpmDynamic | MasterMode::PhpFpmOndemand => {
                if !killed {
                    self.fork(s, now);
                }
            }
            // Apache replaces children only on its tick, and skips the maintenance of
            // a tick that reaped one: the next comes a tick after this exit (semantics:
            // apache-tick, apache-max-connections).
            MasterMode::ApachePrefork => {
                if let Some(t) = self.lines[s].tick.take() {
                    self.q.cancel(t);
                }
                let t = self
                    .q
                    .schedule(now + self.c.svcs[s].tick, Ev::Tick(s as u16));
                self.lines[s].tick = Some(t);
            }
            // gunicorn replaces a worker that exited (max_requests): after a random
            // 0 to 100 ms gap in spawn_workers (semantics: gunicorn-respawn) plus its
            // boot.
            MasterMode::Prefork => {
                let delay = self.c.svcs[s].respawn_delay.sample(&mut self.master_rng);
                self.q.schedule(now + delay, Ev::Respawn(s as u16));
            }
            MasterMode::OnDemand | MasterMode::PerConnection => self.extra_avail(s, now),
        }
    }

    /// service_monitor_start_extra_avail(): keep process_min_avail processes with a free
    /// slot: one fork at once if none is available, the rest from a 0-ms timer
    /// (semantics: dovecot-min-avail).
    #[inline(always)]
    pub(super) fn extra_avail(&mut self, s: usize, now: f64) {
        if self.any.tops_up && self.c.svcs[s].tops_up {
            self.top_up(s, now);
        }
    }

    fn top_up(&mut self, s: usize, now: f64) {
        let svc = &self.c.svcs[s];
        let (min, limit, m) = (svc.min_avail, svc.process_limit, svc.master);
        if self.lines[s].avail >= min || self.lines[s].alive >= limit {
            return;
        }
        if self.lines[s].avail == 0 {
            self.fork(s, now);
            if self.lines[s].avail >= min {
                return;
            }
        }
        if !self.lines[s].prefork_pending {
            self.lines[s].prefork_pending = true;
            self.lines[s].prefork_counter = self.masters[m].fork_counter;
            let at = now.max(self.masters[m].free_at);
            self.q.schedule(at, Ev::PreforkRun(s as u16));
        }
    }

    /// service_monitor_prefork_timeout(): skipped when other forks happened since the
    /// last run (the master looks busy), otherwise up to 10 forks (semantics:
    /// dovecot-min-avail).
    pub(super) fn prefork_run(&mut self, s: usize, now: f64) {
        let svc = &self.c.svcs[s];
        let (min, limit, m) = (svc.min_avail, svc.process_limit, svc.master);
        if self.masters[m].fork_counter != self.lines[s].prefork_counter {
            self.lines[s].prefork_counter = self.masters[m].fork_counter;
            let at = now.max(self.masters[m].free_at);
            self.q.schedule(at, Ev::PreforkRun(s as u16));
            return;
        }
        let need = min.saturating_sub(self.lines[s].avail);
        let room = limit - self.lines[s].alive;
        let n = need.min(PREFORK_MAX_AT_ONCE).min(room);
        for _ in 0..n {
            self.fork(s, now);
        }
        if n == PREFORK_MAX_AT_ONCE && self.lines[s].avail < min && self.lines[s].alive < limit {
            let at = now.max(self.masters[m].free_at);
            self.q.schedule(at, Ev::PreforkRun(s as u16));
        } else {
            self.lines[s].prefork_pending = false;
        }
    }
}
