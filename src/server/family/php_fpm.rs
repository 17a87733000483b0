//! PHP-FPM's process managers. pm = dynamic keeps its idle children between
//! pm.min_spare_servers and pm.max_spare_servers on its maintenance tick
//! (`spare.rs`); pm = ondemand starts with none, forks on the wake-ups of its
//! edge-triggered watch of the listening socket, and ends a child idle longer than
//! pm.process_idle_timeout on its tick. Either replaces a child that exited by itself.
//! A child counts as idle only once it waits in accept(): a starting child is busy
//! (semantics: php-fpm-idle).

use super::super::station::Station;
use super::super::Shared;
use super::spare::{self, Spares};
use crate::model::{Master, Pool};

/// pm = dynamic: forks min(rate, min_spare - idle, max_children - running)
/// (semantics: php-fpm-dynamic-spawn).
pub(super) fn maintain(st: &mut Station, sh: &mut Shared, s: Spares, now: f64) {
    let forks = |rate: u32, idle: u32, room: u32| rate.min(s.min - idle).min(room);
    spare::maintain(st, sh, s, forks, now);
}

/// PHP-FPM replaces a child that exited by itself (pm.max_requests) at once, one for
/// one; one its master killed is not replaced (semantics: php-fpm-respawn).
pub(super) fn respawn(st: &mut Station, sh: &mut Shared, killed: bool, now: f64) {
    if !killed {
        st.fork(sh, now);
    }
}

/// pm = ondemand's settings.
#[derive(Debug, Clone, Copy)]
pub(in crate::server) struct Ondemand {
    pub tick: f64,
    /// pm.process_idle_timeout (0: children are never ended).
    pub idle_timeout: f64,
}

impl Ondemand {
    pub(super) fn of(pool: &Pool, master: &Master) -> Ondemand {
        Ondemand {
            tick: master.tick,
            idle_timeout: pool.idle_kill,
        }
    }

    /// t = 0: no child (semantics: php-fpm-ondemand), and the first tick.
    pub(super) fn start(self, st: &mut Station, sh: &mut Shared) {
        spare::first_tick(st, sh, self.tick);
    }

    /// The idle child forked first ends when it has been idle longer than
    /// pm.process_idle_timeout; one a tick (semantics: php-fpm-ondemand-idle).
    pub(super) fn retire_idle(self, st: &mut Station, sh: &mut Shared, now: f64) {
        if self.idle_timeout <= 0.0 {
            return;
        }
        if let Some(p) = st.idle_set.oldest() {
            if now - sh.procs[p as usize].idle_since > self.idle_timeout {
                st.kill(sh, p, now);
            }
        }
    }
}

/// A wake-up of ondemand's edge-triggered watch on the listening socket, at a
/// connection's arrival. Arrivals while the master is still handling the last one
/// (the same instant, or while it forks) make no wake-up of their own; at a wake-up
/// it forks one child if none is idle and max_children is not reached (semantics:
/// php-fpm-ondemand).
pub(super) fn edge(st: &mut Station, sh: &mut Shared, now: f64) {
    let m = st.master as usize;
    if st.spawn.last_edge == now || sh.masters[m].free_at > now {
        return;
    }
    st.spawn.last_edge = now;
    if st.alive < st.process_limit && st.idle == 0 {
        st.fork(sh, now);
    }
}
