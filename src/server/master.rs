//! The master process: the pool it starts with, how it forks in each `master.mode`,
//! process_min_avail preforks, and the process_limit drop timer.

use super::{Ev, Sim};
use crate::model::MasterMode;

/// Dovecot forks at most this many processes per prefork timer run
/// (SERVICE_PREFORK_MAX_AT_ONCE; semantics: dovecot-min-avail).
const PREFORK_MAX_AT_ONCE: u32 = 10;

impl Sim<'_> {
    /// The processes that exist at t = 0: the whole pool for prefork (gunicorn spawns
    /// its workers before it serves), process_min_avail for Dovecot's masters.
    pub(super) fn start_pool(&mut self) {
        let pool = &self.c.model.pool;
        let n = match self.mode() {
            MasterMode::Prefork => pool.process_limit,
            MasterMode::OnDemand | MasterMode::PerConnection => pool.process_min_avail,
        };
        for _ in 0..n {
            self.new_process(0.0, true);
        }
    }

    /// Forks one process. The master forks synchronously in its one event loop
    /// (semantics: dovecot-fork-serial), so forks are serialised by `master.fork_time`;
    /// the child is ready `master.startup` after its fork.
    pub(super) fn fork(&mut self, now: f64) -> u32 {
        let at = self.master_free_at.max(now);
        self.master_free_at = at + self.c.fork_time.sample(&mut self.master_rng);
        let ready_at = self.master_free_at + self.c.startup.sample(&mut self.master_rng);
        let p = self.new_process(now, false);
        self.fork_counter += 1;
        if now >= self.warmup {
            self.stats.forks += 1;
        }
        self.q.schedule(ready_at, Ev::Ready(p));
        p
    }

    /// Per-connection mode (Dovecot 2.4.2+, commit 4e75476a95; semantics:
    /// dovecot-master-accept): while no process has a free slot the master accepts
    /// queued connections itself, one per fork, as fast as its own forks allow.
    pub(super) fn master_can_accept(&mut self, now: f64) -> bool {
        if self.mode() != MasterMode::PerConnection
            || self.avail > 0
            || self.alive >= self.c.model.pool.process_limit
            || self.dropping
        {
            return false;
        }
        if self.master_free_at > now {
            if !self.master_wakeup {
                self.master_wakeup = true;
                self.q.schedule(self.master_free_at, Ev::MasterFree);
            }
            return false;
        }
        true
    }

    pub(super) fn master_accept(&mut self, id: u32, now: f64) {
        let p = self.fork(now);
        self.take(p, id, now);
        self.procs[p as usize].first = id;
        // The child reports itself busy as soon as it has its connection, which tops up
        // process_min_avail as an accept by a child does (semantics: dovecot-min-avail).
        self.extra_avail(now);
    }

    /// After the queue was served: the on-demand fork and the drop timer.
    #[inline]
    pub(super) fn master_check(&mut self, now: f64) {
        if self.queue.is_empty() {
            return;
        }
        let limit = self.c.model.pool.process_limit;
        // On-demand (Dovecot <= 2.4.1): the master watches the listener only while no
        // process has a free slot; it forks one process and stops watching until that
        // child has started and used its slots (semantics: dovecot-who-accepts,
        // dovecot-on-demand-fork). One fork per round trip.
        if self.mode() == MasterMode::OnDemand && self.avail == 0 && self.alive < limit {
            self.fork(now);
            return;
        }
        // process_limit reached and no free slot: nothing accepts for drop_timeout
        // seconds, then the master accepts and closes (semantics: dovecot-drop-timer).
        if self.avail == 0 && self.alive >= limit && !self.dropping && self.drop_timer.is_none() {
            if let Some(t) = self.c.model.master.drop_timeout {
                self.drop_timer = Some(self.q.schedule(now + t, Ev::DropTimeout));
            }
        }
    }

    /// service_drop_timeout(): accept and close everything queued, then every new
    /// connection until a slot frees (semantics: dovecot-drop-timer).
    pub(super) fn drop_timeout(&mut self, now: f64) {
        self.drop_timer = None;
        while let Some(id) = self.queue.pop_front() {
            self.drop_connection(id, now);
        }
        self.stats.queue.set(now, 0);
        self.dropping = true;
    }

    /// A slot is free again (a connection closed, or a process exited): the master
    /// stops dropping and its timer is cancelled.
    #[inline]
    pub(super) fn slot_freed(&mut self) {
        if let Some(t) = self.drop_timer.take() {
            self.q.cancel(t);
        }
        self.dropping = false;
    }

    pub(super) fn process_exited(&mut self, now: f64) {
        self.slot_freed();
        match self.mode() {
            // gunicorn replaces a worker that exited (max_requests): after a random
            // 0 to 100 ms gap in spawn_workers plus its boot (semantics: gunicorn-respawn).
            MasterMode::Prefork => {
                let delay = self.c.respawn_delay.sample(&mut self.master_rng);
                self.q.schedule(now + delay, Ev::Respawn);
            }
            MasterMode::OnDemand | MasterMode::PerConnection => self.extra_avail(now),
        }
    }

    /// service_monitor_start_extra_avail(): keep process_min_avail processes with a free
    /// slot: one fork at once if none is available, the rest from a 0-ms timer
    /// (semantics: dovecot-min-avail).
    #[inline]
    pub(super) fn extra_avail(&mut self, now: f64) {
        if self.c.tops_up {
            self.top_up(now);
        }
    }

    fn top_up(&mut self, now: f64) {
        let min = self.c.model.pool.process_min_avail;
        if self.avail >= min || self.alive >= self.c.model.pool.process_limit {
            return;
        }
        if self.avail == 0 {
            self.fork(now);
            if self.avail >= min {
                return;
            }
        }
        if !self.prefork_pending {
            self.prefork_pending = true;
            self.prefork_counter = self.fork_counter;
            self.q
                .schedule(now.max(self.master_free_at), Ev::PreforkRun);
        }
    }

    /// service_monitor_prefork_timeout(): skipped when other forks happened since the
    /// last run (the master looks busy), otherwise up to 10 forks (semantics:
    /// dovecot-min-avail).
    pub(super) fn prefork_run(&mut self, now: f64) {
        if self.fork_counter != self.prefork_counter {
            self.prefork_counter = self.fork_counter;
            self.q
                .schedule(now.max(self.master_free_at), Ev::PreforkRun);
            return;
        }
        let pool = &self.c.model.pool;
        let need = pool.process_min_avail.saturating_sub(self.avail);
        let room = pool.process_limit - self.alive;
        let n = need.min(PREFORK_MAX_AT_ONCE).min(room);
        for _ in 0..n {
            self.fork(now);
        }
        let pool = &self.c.model.pool;
        if n == PREFORK_MAX_AT_ONCE
            && self.avail < pool.process_min_avail
            && self.alive < pool.process_limit
        {
            self.q
                .schedule(now.max(self.master_free_at), Ev::PreforkRun);
        } else {
            self.prefork_pending = false;
        }
    }
}
