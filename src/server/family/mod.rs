//! The spawn decisions of each server family, one file each: when its master forks
//! and ends processes. A station's `Spawner` (a plain enum: one variant per master
//! mode, with its settings) is consulted only at five points: at t = 0 (`start`, the
//! pool the master starts with), when a connection waits with no free slot
//! (`on_waiting`: an on-demand fork, the master's own accept, the drop timer), when a
//! process exits (`on_exit`: the respawn rules), on the master's maintenance tick
//! (`on_tick`) and on an arrival (`on_arrival`: PHP-FPM ondemand's wake-up). What a
//! family does on the connection's path besides (Dovecot's top-ups and idle kills) it
//! declares as `Behaviour` bits, which the path tests.
//! - `gunicorn.rs`: a fixed pool, respawned (prefork).
//! - `dovecot.rs`: on-demand and per-connection forks, process_min_avail, idle_kill
//!   (courier's master forks per connection as Dovecot 2.4.2's does).
//! - `php_fpm.rs`: pm = dynamic and pm = ondemand.
//! - `apache.rs`: the prefork MPM.
//! - `spare.rs`: the maintenance tick that PHP-FPM dynamic and Apache share.
//!
//! The fork itself, serialised by each master, is `master.rs`'s.

mod apache;
mod dovecot;
mod gunicorn;
mod php_fpm;
mod spare;

use super::station::{Behaviour, Station};
use super::Shared;
use crate::engine::EventId;
use crate::model::{Master, MasterMode, Pool};

pub(super) use dovecot::Dovecot;
pub(super) use php_fpm::Ondemand;
pub(super) use spare::Spares;

/// A station's master: its family's spawn rules and their settings.
#[derive(Debug, Clone, Copy)]
pub(super) enum Spawner {
    /// gunicorn's arbiter (`prefork`).
    Gunicorn,
    /// Dovecot up to 2.4.1 (`on-demand`).
    DovecotOnDemand(Dovecot),
    /// Dovecot 2.4.2 and later, courier (`per-connection`).
    DovecotPerConnection(Dovecot),
    /// PHP-FPM pm = dynamic.
    PhpFpmDynamic(Spares),
    /// PHP-FPM pm = ondemand.
    PhpFpmOndemand(Ondemand),
    /// Apache httpd's prefork MPM.
    Apache(Spares),
}

/// The state of a station's master rules in a run: their timers and counters.
#[derive(Debug, Clone)]
pub(super) struct SpawnState {
    /// process_min_avail: the master's fork count when its prefork timer last ran,
    /// and whether the timer is armed.
    pub prefork_counter: u64,
    pub prefork_pending: bool,
    pub drop_timer: Option<EventId>,
    /// A spare-server master: its next tick, and the processes its next fork makes
    /// (1, doubling).
    pub tick: Option<EventId>,
    /// The ticks so far: at most `sim.max_connections` in a run.
    pub ticks: u64,
    pub spawn_rate: u32,
    /// PHP-FPM ondemand: the time of the last wake-up of its watch.
    pub last_edge: f64,
}

impl Default for SpawnState {
    fn default() -> Self {
        SpawnState {
            prefork_counter: 0,
            prefork_pending: false,
            drop_timer: None,
            tick: None,
            ticks: 0,
            spawn_rate: 1,
            last_edge: f64::NEG_INFINITY,
        }
    }
}

impl Spawner {
    /// A service's spawner, from its pool and master settings.
    pub(super) fn of(pool: &Pool, master: &Master) -> Spawner {
        match master.mode {
            MasterMode::Prefork => Spawner::Gunicorn,
            MasterMode::OnDemand => Spawner::DovecotOnDemand(Dovecot::of(pool)),
            MasterMode::PerConnection => Spawner::DovecotPerConnection(Dovecot::of(pool)),
            MasterMode::PhpFpmDynamic => Spawner::PhpFpmDynamic(Spares::of(pool, master)),
            MasterMode::PhpFpmOndemand => Spawner::PhpFpmOndemand(Ondemand::of(pool, master)),
            MasterMode::ApachePrefork => Spawner::Apache(Spares::of(pool, master)),
        }
    }

    /// A Dovecot master's settings, in either mode.
    fn dovecot(self) -> Option<Dovecot> {
        match self {
            Spawner::DovecotOnDemand(d) | Spawner::DovecotPerConnection(d) => Some(d),
            _ => None,
        }
    }

    /// What the family does on the connection's path, and which counts it reads.
    pub(super) fn behaviour(self) -> Behaviour {
        match self {
            Spawner::Gunicorn => Behaviour::default(),
            Spawner::DovecotOnDemand(d) => d.behaviour().with(Behaviour::WATCHES),
            Spawner::DovecotPerConnection(d) => d
                .behaviour()
                .with(Behaviour::WATCHES | Behaviour::MASTER_ACCEPTS),
            Spawner::PhpFpmDynamic(_) => Behaviour::IDLE | Behaviour::OLDEST,
            Spawner::PhpFpmOndemand(_) => Behaviour::IDLE | Behaviour::OLDEST | Behaviour::EDGE,
            Spawner::Apache(_) => Behaviour::IDLE | Behaviour::OLDEST | Behaviour::STARTING_IDLE,
        }
    }
}

impl Station<'_> {
    /// t = 0: the processes the master starts with, and its first tick.
    pub(super) fn start(&mut self, sh: &mut Shared) {
        match self.spawner {
            Spawner::Gunicorn => gunicorn::start(self, sh),
            Spawner::DovecotOnDemand(d) | Spawner::DovecotPerConnection(d) => d.start(self, sh),
            Spawner::PhpFpmDynamic(s) | Spawner::Apache(s) => s.start(self, sh),
            Spawner::PhpFpmOndemand(o) => o.start(self, sh),
        }
    }

    /// A connection waits at the head of the queue and no process has a free slot:
    /// true when the master took it itself (the dispatch loop goes on).
    #[inline(never)]
    pub(super) fn on_waiting(&mut self, sh: &mut Shared, now: f64) -> bool {
        // The guards act: the master accepts, or forks.
        let spawner = self.spawner;
        match spawner {
            Spawner::DovecotPerConnection(_) if dovecot::master_takes(self, sh, now) => {
                return true
            }
            Spawner::DovecotOnDemand(_) if dovecot::fork_on_demand(self, sh, now) => return false,
            _ => {}
        }
        self.arm_drop_timer(sh, now);
        false
    }

    /// A process of this station exited (`killed`: its master ended it).
    #[inline(never)]
    pub(super) fn on_exit(&mut self, sh: &mut Shared, killed: bool, now: f64) {
        self.slot_freed(sh);
        match self.spawner {
            Spawner::Gunicorn => gunicorn::respawn(self, sh, now),
            Spawner::DovecotOnDemand(_) | Spawner::DovecotPerConnection(_) => {
                self.extra_avail(sh, now)
            }
            Spawner::PhpFpmDynamic(_) | Spawner::PhpFpmOndemand(_) => {
                php_fpm::respawn(self, sh, killed, now)
            }
            Spawner::Apache(s) => apache::exited(self, sh, s, now),
        }
    }

    /// One maintenance tick of the master (the next one is armed first).
    #[inline(never)]
    pub(super) fn on_tick(&mut self, sh: &mut Shared, now: f64) {
        match self.spawner {
            Spawner::PhpFpmDynamic(s) => {
                spare::arm_tick(self, sh, s.tick, now);
                php_fpm::maintain(self, sh, s, now);
            }
            Spawner::Apache(s) => {
                spare::arm_tick(self, sh, s.tick, now);
                apache::maintain(self, sh, s, now);
            }
            Spawner::PhpFpmOndemand(o) => {
                spare::arm_tick(self, sh, o.tick, now);
                o.retire_idle(self, sh, now);
            }
            Spawner::Gunicorn | Spawner::DovecotOnDemand(_) | Spawner::DovecotPerConnection(_) => {}
        }
    }

    /// A connection arrives and finds room in the queue (`EDGE`).
    #[inline(never)]
    pub(super) fn on_arrival(&mut self, sh: &mut Shared, now: f64) {
        if let Spawner::PhpFpmOndemand(_) = self.spawner {
            php_fpm::edge(self, sh, now);
        }
    }

    /// After an accept: Dovecot's masters top up process_min_avail (`TOPS_UP`).
    #[inline(always)]
    pub(super) fn extra_avail(&mut self, sh: &mut Shared, now: f64) {
        if self.does.has(Behaviour::TOPS_UP) {
            if let Some(d) = self.spawner.dovecot() {
                d.top_up(self, sh, now);
            }
        }
    }

    /// Process `p` has no connection left: Dovecot's masters end it after idle_kill
    /// seconds (`IDLE_KILL`).
    #[inline(always)]
    pub(super) fn start_idle_timer(&mut self, sh: &mut Shared, p: u32, now: f64) {
        if self.does.has(Behaviour::IDLE_KILL) {
            if let Some(d) = self.spawner.dovecot() {
                dovecot::restart_idle_timer(sh, p, d.idle_kill, now);
            }
        }
    }

    /// An idle_kill timer of process `p` is up.
    #[inline(never)]
    pub(super) fn idle_kill(&mut self, sh: &mut Shared, p: u32, now: f64) {
        if let Some(d) = self.spawner.dovecot() {
            d.idle_kill(self, sh, p, now);
        }
    }

    /// The master's prefork timer (process_min_avail) runs.
    #[inline(never)]
    pub(super) fn prefork_run(&mut self, sh: &mut Shared, now: f64) {
        if let Some(d) = self.spawner.dovecot() {
            d.prefork_run(self, sh, now);
        }
    }

    /// The master ends an idle process; it is not replaced (semantics:
    /// php-fpm-respawn).
    fn kill(&mut self, sh: &mut Shared, p: u32, now: f64) {
        sh.procs[p as usize].killed = true;
        self.exit(sh, p, now);
    }
}
