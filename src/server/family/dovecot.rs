//! Dovecot's masters (`on-demand` up to 2.4.1, `per-connection` from 2.4.2; courier's
//! couriertcpd forks per connection the same way): the processes kept free
//! (process_min_avail), the fork on demand while connections wait, the master's own
//! accept, and the idle processes ended after idle_kill. Dovecot's other rules
//! (versions, backlog caps, fork mode) are `crate::dovecot`'s.

use super::super::station::{Behaviour, Station};
use super::super::{Ev, Shared};
use crate::model::Pool;

/// Dovecot forks at most this many processes per prefork timer run
/// (SERVICE_PREFORK_MAX_AT_ONCE; semantics: dovecot-min-avail).
const PREFORK_MAX_AT_ONCE: u32 = 10;

/// A Dovecot master's settings.
#[derive(Debug, Clone, Copy)]
pub(in crate::server) struct Dovecot {
    /// process_min_avail: processes kept with a free slot.
    pub min_avail: u32,
    /// idle_kill: seconds before an idle process beyond min_avail ends (0: never).
    pub idle_kill: f64,
}

impl Dovecot {
    pub(super) fn of(pool: &Pool) -> Dovecot {
        Dovecot {
            min_avail: pool.process_min_avail,
            idle_kill: pool.idle_kill,
        }
    }

    /// Both modes read process_avail; a master with process_min_avail > 0 tops it up
    /// (semantics: dovecot-min-avail), one with idle_kill > 0 ends idle processes
    /// (semantics: dovecot-idle-kill).
    pub(super) fn behaviour(self) -> Behaviour {
        let mut does = Behaviour::AVAIL;
        if self.min_avail > 0 {
            does = does.with(Behaviour::TOPS_UP);
        }
        if self.idle_kill > 0.0 {
            does = does.with(Behaviour::IDLE_KILL | Behaviour::IDLE);
        }
        does
    }

    /// t = 0: process_min_avail processes.
    pub(super) fn start(self, st: &mut Station, sh: &mut Shared) {
        for _ in 0..self.min_avail {
            st.new_process(sh, 0.0, true);
        }
    }

    /// service_monitor_start_extra_avail(): keep process_min_avail processes with a
    /// free slot: one fork at once if none is available, the rest from a 0-ms timer
    /// (semantics: dovecot-min-avail).
    #[inline(never)]
    pub(super) fn top_up(self, st: &mut Station, sh: &mut Shared, now: f64) {
        let (min, limit, m) = (self.min_avail, st.process_limit, st.master as usize);
        if st.avail >= min || st.alive >= limit {
            return;
        }
        if st.avail == 0 {
            st.fork(sh, now);
            if st.avail >= min {
                return;
            }
        }
        if !st.spawn.prefork_pending {
            st.spawn.prefork_pending = true;
            st.spawn.prefork_counter = sh.masters[m].fork_counter;
            let at = now.max(sh.masters[m].free_at);
            sh.q.schedule(at, Ev::PreforkRun(st.index));
        }
    }

    /// service_monitor_prefork_timeout(): skipped when other forks happened since the
    /// last run (the master looks busy), otherwise up to 10 forks (semantics:
    /// dovecot-min-avail).
    pub(super) fn prefork_run(self, st: &mut Station, sh: &mut Shared, now: f64) {
        let (min, limit, m) = (self.min_avail, st.process_limit, st.master as usize);
        if sh.masters[m].fork_counter != st.spawn.prefork_counter {
            st.spawn.prefork_counter = sh.masters[m].fork_counter;
            let at = now.max(sh.masters[m].free_at);
            sh.q.schedule(at, Ev::PreforkRun(st.index));
            return;
        }
        let need = min.saturating_sub(st.avail);
        let room = limit - st.alive;
        let n = need.min(PREFORK_MAX_AT_ONCE).min(room);
        for _ in 0..n {
            st.fork(sh, now);
        }
        if n == PREFORK_MAX_AT_ONCE && st.avail < min && st.alive < limit {
            let at = now.max(sh.masters[m].free_at);
            sh.q.schedule(at, Ev::PreforkRun(st.index));
        } else {
            st.spawn.prefork_pending = false;
        }
    }

    /// An idle process beyond process_min_avail ends after idle_kill seconds without a
    /// connection (simplified from Dovecot 2.3.21's per-interval count; semantics:
    /// dovecot-idle-kill).
    pub(super) fn idle_kill(self, st: &mut Station, sh: &mut Shared, p: u32, now: f64) {
        let proc = &mut sh.procs[p as usize];
        proc.idle_timer = None;
        if !(proc.alive && proc.ready && proc.listening && proc.clients == 0) {
            return;
        }
        if st.idle > self.min_avail {
            st.exit(sh, p, now);
            st.dispatch(sh, now);
        } else {
            st.start_idle_timer(sh, p, now);
        }
    }
}

/// On-demand (Dovecot <= 2.4.1): the master watches the listener only while no
/// process has a free slot; it forks one process and stops watching until that
/// child has started and used its slots (semantics: dovecot-who-accepts,
/// dovecot-on-demand-fork). One fork per round trip. True when it forked.
pub(super) fn fork_on_demand(st: &mut Station, sh: &mut Shared, now: f64) -> bool {
    if st.avail == 0 && st.alive < st.process_limit {
        st.fork(sh, now);
        return true;
    }
    false
}

/// Per-connection (Dovecot 2.4.2+, courier): the master accepts the connection at
/// the head of the queue itself and forks a process for it, when its forks allow
/// (`master.rs`). True when it took it.
pub(super) fn master_takes(st: &mut Station, sh: &mut Shared, now: f64) -> bool {
    if !st.master_accepts(sh, now) {
        return false;
    }
    let id = *st.queue.front().expect("a connection waits");
    st.dequeue(now);
    st.master_accept(sh, id, now);
    true
}

/// (Re)arms process `p`'s idle_kill timer.
#[inline(never)]
pub(super) fn restart_idle_timer(sh: &mut Shared, p: u32, idle_kill: f64, now: f64) {
    if let Some(t) = sh.procs[p as usize].idle_timer.take() {
        sh.q.cancel(t);
    }
    let t = sh.q.schedule(now + idle_kill, Ev::IdleKill(p));
    sh.procs[p as usize].idle_timer = Some(t);
}
