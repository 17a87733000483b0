//! Apache httpd's prefork MPM: a spare-server master (`spare.rs`) with its own rules.
//! A starting child counts as idle (semantics: apache-idle), set by its `Behaviour`.

use super::super::station::Station;
use super::super::Shared;
use super::spare::{self, Spares};

/// Forks min(rate, free slots) (semantics: apache-spawn).
pub(super) fn maintain(st: &mut Station, sh: &mut Shared, s: Spares, now: f64) {
    let forks = |rate: u32, _idle: u32, room: u32| rate.min(room);
    spare::maintain(st, sh, s, forks, now);
}

/// Apache replaces children only on its tick, and skips the maintenance of a tick
/// that reaped one: the next comes a tick after this exit (semantics: apache-tick,
/// apache-max-connections).
pub(super) fn exited(st: &mut Station, sh: &mut Shared, s: Spares, now: f64) {
    if let Some(t) = st.spawn.tick.take() {
        sh.q.cancel(t);
    }
    spare::arm_tick(st, sh, s.tick, now);
}
