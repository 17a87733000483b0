//! The maintenance tick of the spare-server masters (SPEC section 11), shared by
//! PHP-FPM's dynamic process manager and Apache httpd's prefork MPM: every
//! `master.tick` seconds (1) the master counts its idle children and kills one, forks
//! a few, or does nothing; the number it forks doubles from tick to tick up to
//! `master.max_spawn_rate` (32). Each family says how many it forks (`php_fpm.rs`,
//! `apache.rs`) and which children count as idle (a `Behaviour` bit).

use super::super::station::Station;
use super::super::{Ev, Shared};
use crate::model::{Master, Pool};

/// A spare-server master's settings.
#[derive(Debug, Clone, Copy)]
pub(in crate::server) struct Spares {
    /// The fewest and the most idle children it keeps.
    pub min: u32,
    pub max: u32,
    /// Children at t = 0.
    pub start: u32,
    pub max_spawn_rate: u32,
    pub tick: f64,
}

impl Spares {
    pub(super) fn of(pool: &Pool, master: &Master) -> Spares {
        let (min, max) = crate::model::spares(pool, master.mode);
        Spares {
            min,
            max,
            start: crate::model::start_servers(pool, master.mode),
            max_spawn_rate: master.max_spawn_rate,
            tick: master.tick,
        }
    }

    /// t = 0: the children it starts with, and the first tick, whose phase is the
    /// master's start, not the load's.
    pub(super) fn start(self, st: &mut Station, sh: &mut Shared) {
        for _ in 0..self.start {
            st.new_process(sh, 0.0, true);
        }
        first_tick(st, sh, self.tick);
    }
}

/// Arms a master's first maintenance tick, `tick` seconds after t = 0.
pub(super) fn first_tick(st: &mut Station, sh: &mut Shared, tick: f64) {
    st.spawn.tick = Some(sh.q.schedule(tick, Ev::Tick(st.index)));
}

/// Arms the master's next tick, `tick` seconds from now.
pub(super) fn arm_tick(st: &mut Station, sh: &mut Shared, tick: f64, now: f64) {
    st.spawn.tick = Some(sh.q.schedule(now + tick, Ev::Tick(st.index)));
}

/// Keeps the idle children between min_spare and max_spare: the oldest idle child is
/// killed above it; below it, `forks(rate, idle, room)` are forked (room: the
/// children process_limit still allows); the rate doubles after each tick that forks,
/// and falls back to 1 on any other.
pub(super) fn maintain(
    st: &mut Station,
    sh: &mut Shared,
    s: Spares,
    forks: impl Fn(u32, u32, u32) -> u32,
    now: f64,
) {
    let idle = st.idle;
    let rate = st.spawn.spawn_rate;
    if idle > s.max {
        if let Some(p) = st.idle_set.oldest() {
            st.kill(sh, p, now);
        }
        st.spawn.spawn_rate = 1;
    } else if idle < s.min {
        let room = st.process_limit.saturating_sub(st.alive);
        let n = forks(rate, idle, room);
        if n == 0 {
            // "server reached pm.max_children" / AH00161: nothing to fork.
            st.spawn.spawn_rate = 1;
        } else {
            for _ in 0..n {
                st.fork(sh, now);
            }
            if rate < s.max_spawn_rate {
                st.spawn.spawn_rate = rate * 2;
            }
        }
    } else {
        st.spawn.spawn_rate = 1;
    }
    st.dispatch(sh, now);
}
