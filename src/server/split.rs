//! What importance splitting (`crate::rare`) needs of a run, and nothing the plain run
//! pays for: a replication that advances one event at a time, a copy of it that goes on
//! with random streams of its own, and the few figures the splitting reads after every
//! event (a station's importance, the refusals counted so far, the connections
//! offered). The plain `Compiled::run` never comes here.
//!
//! A copy is cheap on purpose: its statistics keep their counts and levels (it goes on
//! changing them) but not the histograms of latencies and waits, which a copy's
//! figures never reach and which would be most of what a copy costs.

use super::{Compiled, Sim, Streams};
use crate::engine::{stream, Rng64};
use crate::error::BadInput;
use crate::stats::RepStats;

/// The random-stream purposes of a copy are the plain run's shifted above every plain
/// purpose (which are below 256), with the copy's branch number above them: each
/// (seed, replication, branch, purpose) has a stream of its own.
const BRANCH_SHIFT: u32 = 8;

/// One replication in progress, as importance splitting drives it.
pub(crate) struct Trajectory<'a> {
    sim: Sim<'a>,
    seed: u64,
    replication: u64,
    /// Its statistics are light copies (every trajectory but a replication's first).
    light: bool,
}

impl Compiled {
    /// Replication `replication` with the streams of `seed`, started (t = 0 done) and
    /// ready to advance.
    pub(crate) fn trajectory(&self, seed: u64, replication: u64) -> Trajectory<'_> {
        let mut sim = Sim::new(self, seed, replication);
        sim.stepping = true;
        sim.start();
        Trajectory {
            sim,
            seed,
            replication,
            light: false,
        }
    }
}

impl<'a> Trajectory<'a> {
    /// Handles the next event; true when the run is over (then only `finish` is left).
    #[inline]
    pub(crate) fn step(&mut self) -> Result<bool, BadInput> {
        self.sim.events()
    }

    /// A copy of the run as it stands, which goes on with the random streams of
    /// `branch` (at least 1; a different branch for every copy of a replication), and
    /// light statistics.
    pub(crate) fn copy(&mut self, branch: u64) -> Trajectory<'a> {
        debug_assert!((1..1 << (64 - BRANCH_SHIFT)).contains(&branch));
        let mut copy = self.replay();
        let (seed, replication) = (self.seed, self.replication);
        let derive = |purpose: u64| -> Rng64 {
            stream(seed, replication, purpose | (branch << BRANCH_SHIFT))
        };
        copy.sim.sh.clients.reseed(derive);
        copy.sim.sh.rng = Streams::new(derive, copy.sim.stations.len());
        copy
    }

    /// A copy of the run as it stands with the same random streams, and light
    /// statistics: it goes on exactly as this one would.
    pub(crate) fn replay(&mut self) -> Trajectory<'a> {
        let sim = if self.light {
            self.sim.clone()
        } else {
            // The histograms stay out of the clone: swapped for light copies while it is
            // made, and put back.
            let sim = &mut self.sim;
            let light = sim.sh.stats.light_copy();
            let model = std::mem::replace(&mut sim.sh.stats, light);
            let stations: Vec<_> = sim
                .stations
                .iter_mut()
                .map(|st| {
                    let light = st.stats.light_copy();
                    std::mem::replace(&mut st.stats, light)
                })
                .collect();
            let copy = sim.clone();
            sim.sh.stats = model;
            for (st, heavy) in sim.stations.iter_mut().zip(stations) {
                st.stats = heavy;
            }
            copy
        };
        Trajectory {
            sim,
            seed: self.seed,
            replication: self.replication,
            light: true,
        }
    }

    /// The importance of station `s`'s state: its kernel queue's occupancy, and with
    /// `net` less the connections its idle and starting processes are about to take
    /// ((alive - busy) x client_limit): for a fixed pool that is the connections in
    /// the station less the processes, for a forking master the queue less what the
    /// forks in progress will take.
    #[inline]
    pub(crate) fn importance(&self, s: usize, net: bool) -> i64 {
        let st = &self.sim.stations[s];
        let queued = st.queue.len() as i64;
        if !net {
            return queued;
        }
        let idle = i64::from(st.alive) - st.stats.busy.value as i64;
        queued - idle.max(0) * i64::from(st.client_limit)
    }

    /// Client connections refused or dropped so far (counted ones: after the warm-up),
    /// at every station.
    #[inline]
    pub(crate) fn failures(&self) -> u64 {
        self.sim
            .stations
            .iter()
            .map(|st| st.stats.refused + st.stats.dropped)
            .sum()
    }

    /// Refused or dropped, at station `s` alone.
    pub(crate) fn failures_at(&self, s: usize) -> u64 {
        let st = &self.sim.stations[s].stats;
        st.refused + st.dropped
    }

    /// The largest queue station `s` has held in the observed window so far.
    pub(crate) fn queue_peak(&self, s: usize) -> u64 {
        self.sim.stations[s]
            .stats
            .queue
            .max
            .max(self.sim.stations[s].stats.queue.value)
    }

    /// Client connections offered so far (counted ones).
    #[inline]
    pub(crate) fn offered(&self) -> u64 {
        self.sim.stations[0].stats.offered
    }

    /// The time of the last event.
    #[inline]
    pub(crate) fn now(&self) -> f64 {
        self.sim.sh.q.now()
    }

    /// Events handled since t = 0 (its ancestors' before it was copied included).
    #[cfg(test)]
    pub(crate) fn events(&self) -> u64 {
        self.sim.sh.q.processed()
    }

    /// The run is over: its statistics, as `Compiled::run` gives them.
    pub(crate) fn finish(self) -> Result<RepStats, BadInput> {
        self.sim.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{load_str, parse_assignment};
    use std::path::Path;

    fn compiled(sets: &[&str]) -> Compiled {
        let text = include_str!("../../models/mmck.toml");
        let sets: Vec<_> = sets.iter().map(|a| parse_assignment(a).unwrap()).collect();
        let model = load_str(text, "mmck.toml", Path::new("models"), &sets).unwrap();
        Compiled::new(&model)
    }

    #[test]
    fn a_run_stepped_one_event_at_a_time_finishes_as_the_plain_run() {
        let c = compiled(&["load.duration=400", "sim.warmup=50"]);
        let whole = format!("{:?}", c.run(3, 1).unwrap());
        let mut t = c.trajectory(3, 1);
        let mut steps = 0u64;
        while !t.step().unwrap() {
            steps += 1;
        }
        assert!(steps > 5000);
        assert_eq!(format!("{:?}", t.finish().unwrap()), whole);
    }

    #[test]
    fn copies_leave_the_original_alone_and_differ_from_it_and_from_each_other() {
        let c = compiled(&["load.duration=400", "sim.warmup=0"]);
        let whole = format!("{:?}", c.run(3, 1).unwrap());
        let mut t = c.trajectory(3, 1);
        while t.now() < 100.0 {
            t.step().unwrap();
        }
        let mut a = t.copy(1);
        let mut b = t.copy(2);
        let mut again = t.copy(1);
        while !t.step().unwrap() {}
        assert_eq!(format!("{:?}", t.finish().unwrap()), whole);
        let run = |x: &mut Trajectory| {
            while !x.step().unwrap() {}
            (x.offered(), x.events(), x.now())
        };
        let (ra, rb, ragain) = (run(&mut a), run(&mut b), run(&mut again));
        assert_ne!(ra, rb);
        assert_eq!(ra, ragain);
        // A copy made at 100 s goes on with the counts it had then.
        assert!(ra.0 > 3000 && ra.0 < 4200, "{ra:?}");
    }

    #[test]
    fn the_importance_of_a_fixed_pool_is_its_connections_less_its_processes() {
        let c = compiled(&["load.duration=50", "sim.warmup=0"]);
        let mut t = c.trajectory(9, 0);
        let mut seen = std::collections::BTreeSet::new();
        while !t.step().unwrap() {
            let st = &t.sim.stations[0];
            let in_service = st.stats.busy.value as i64;
            let queued = st.queue.len() as i64;
            assert_eq!(t.importance(0, true), queued + in_service - 10);
            assert_eq!(t.importance(0, false), queued);
            seen.insert(t.importance(0, true));
        }
        assert!(seen.len() > 8, "{seen:?}");
    }
}
