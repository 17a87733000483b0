//! The masters with a maintenance tick (SPEC section 11): PHP-FPM's dynamic and
//! ondemand process managers and Apache httpd's prefork MPM. Every `master.tick`
//! seconds (1) the master counts its idle children and kills one, forks a few, or
//! does nothing; the number it forks doubles from tick to tick up to
//! `master.max_spawn_rate` (32). PHP-FPM ondemand forks on the wake-ups of its
//! edge-triggered watch of the listening socket instead.

use super::{Ev, Sim};
use crate::model::MasterMode;

impl Sim<'_> {
    /// Arms the first maintenance tick of service `s`, when its master has one: its
    /// phase is the master's start, not the load's.
    pub(super) fn start_ticks(&mut self, s: usize) {
        let svc = &self.c.svcs[s];
        if svc.mode.ticks() {
            let t = self.q.schedule(svc.tick, Ev::Tick(s as u16));
            self.lines[s].tick = Some(t);
        }
    }

    /// Idle children of service `s`: PHP-FPM counts a child idle only once it waits in
    /// accept() (a starting child is busy; semantics: php-fpm-idle), Apache counts a
    /// starting child as idle (semantics: apache-idle).
    fn idle(&self, s: usize) -> Vec<u32> {
        let starting_is_idle = self.c.svcs[s].mode == MasterMode::ApachePrefork;
        (0..self.procs.len() as u32)
            .filter(|&p| {
                let q = &self.procs[p as usize];
                q.svc as usize == s
                    && q.alive
                    && q.listening
                    && if q.ready {
                        q.clients == 0
                    } else {
                        starting_is_idle
                    }
            })
            .collect()
    }

    /// The idle child forked first: the one PHP-FPM ends (semantics:
    /// php-fpm-dynamic-spawn, php-fpm-ondemand-idle).
    fn oldest(&self, idle: &[u32]) -> Option<u32> {
        idle.iter().copied().min_by(|&a, &b| {
            self.procs[a as usize]
                .born
                .total_cmp(&self.procs[b as usize].born)
        })
    }

    /// One maintenance tick of service `s`.
    pub(super) fn tick(&mut self, s: usize, now: f64) {
        let svc = &self.c.svcs[s];
        let next = self.q.schedule(now + svc.tick, Ev::Tick(s as u16));
        self.lines[s].tick = Some(next);
        match svc.mode {
            MasterMode::PhpFpmDynamic | MasterMode::ApachePrefork => self.maintain(s, now),
            MasterMode::PhpFpmOndemand => self.retire_idle(s, now),
            _ => {}
        }
    }

    /// Keeps the idle children between min_spare and max_spare: one idle child killed
    /// above it; below it, PHP-FPM forks min(rate, min_spare - idle, max_children -
    /// running) (semantics: php-fpm-dynamic-spawn) and Apache min(rate, free slots)
    /// (semantics: apache-spawn); the rate doubles after each tick that forks, and
    /// falls back to 1 on any other.
    fn maintain(&mut self, s: usize, now: f64) {
        let svc = &self.c.svcs[s];
        let (min, max, limit) = (svc.min_spare, svc.max_spare, svc.process_limit);
        let idle = self.idle(s);
        let n_idle = idle.len() as u32;
        let running = self.lines[s].alive;
        let rate = self.lines[s].spawn_rate;
        if n_idle > max {
            if let Some(p) = self.oldest(&idle) {
                self.kill(p, now);
            }
            self.lines[s].spawn_rate = 1;
        } else if n_idle < min {
            let room = limit.saturating_sub(running);
            let n = match svc.mode {
                MasterMode::ApachePrefork => rate.min(room),
                _ => rate.min(min - n_idle).min(room),
            };
            if n == 0 {
                // "server reached pm.max_children" / AH00161: nothing to fork.
                self.lines[s].spawn_rate = 1;
            } else {
                for _ in 0..n {
                    self.fork(s, now);
                }
                if rate < svc.max_spawn_rate {
                    self.lines[s].spawn_rate = rate * 2;
                }
            }
        } else {
            self.lines[s].spawn_rate = 1;
        }
        self.dispatch(s, now);
    }

    /// PHP-FPM ondemand: the idle child forked first ends when it has been idle longer
    /// than pm.process_idle_timeout; one a tick (semantics: php-fpm-ondemand-idle).
    fn retire_idle(&mut self, s: usize, now: f64) {
        let timeout = self.c.svcs[s].idle_kill;
        if timeout <= 0.0 {
            return;
        }
        let idle = self.idle(s);
        if let Some(p) = self.oldest(&idle) {
            if now - self.procs[p as usize].idle_since > timeout {
                self.kill(p, now);
            }
        }
    }

    /// The master ends an idle child; it is not replaced (semantics:
    /// php-fpm-respawn).
    fn kill(&mut self, p: u32, now: f64) {
        self.procs[p as usize].killed = true;
        self.exit(p, now);
    }

    /// PHP-FPM ondemand: a wake-up of the edge-triggered watch on the listening
    /// socket, at a connection's arrival. Arrivals while the master is still handling
    /// the last one (the same instant, or while it forks) make no wake-up of their
    /// own; at a wake-up it forks one child if none is idle and max_children is not
    /// reached (semantics: php-fpm-ondemand).
    pub(super) fn edge(&mut self, s: usize, now: f64) {
        let m = self.c.svcs[s].master;
        if self.lines[s].last_edge == now || self.masters[m].free_at > now {
            return;
        }
        self.lines[s].last_edge = now;
        if self.lines[s].alive < self.c.svcs[s].process_limit && self.idle(s).is_empty() {
            self.fork(s, now);
        }
    }
}
