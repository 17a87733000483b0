//! RESTART (Villén-Altamirano): one replication of a steady load with its retrials.
//!
//! Thresholds T1 < ... < TM of the importance cut its values into regions: region 0
//! below T1, region i from Ti up to T(i+1). When a trajectory rises into region i (an
//! up-crossing of Ti) its state is copied R(i) - 1 times; each copy (a retrial born at
//! level i) goes on with random streams of its own and is killed when the importance
//! falls below Ti; the main trajectory, the replication's plain run, is never killed.
//! A jump over several thresholds splits at each, one after the other, so that region
//! i holds R(1) x ... x R(i) trajectories for each one the plain run would have. A
//! connection refused in a state of region i therefore weighs 1 / (R(1) x ... x R(i)),
//! and the weighted refusals over the main trajectory's offered connections estimate
//! the refusal probability without bias, whatever the thresholds (they only decide how
//! much the estimate varies).
//!
//! Depth first: the copies made at an up-crossing run to their end before the
//! trajectory that made them goes on, so at most 1 + R(1) + ... + R(M) trajectories are
//! alive at once, however long the run.

use super::excursions::{Excursions, Open};
use super::importance::Target;
use crate::error::BadInput;
use crate::server::{Compiled, Trajectory};
use crate::stats::RepStats;

/// The thresholds and the splitting factor of each (R(i) for Ti).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Levels {
    pub thresholds: Vec<i64>,
    pub factors: Vec<u32>,
}

impl Levels {
    /// The region of importance `phi`: how many thresholds it is at or above.
    #[inline]
    pub(crate) fn region(&self, phi: i64) -> usize {
        self.thresholds.partition_point(|&t| t <= phi)
    }

    /// The weight of a refusal in each region: 1 / (R(1) x ... x R(i)).
    pub(crate) fn weights(&self) -> Vec<f64> {
        let mut w = vec![1.0];
        for &r in &self.factors {
            let last = w[w.len() - 1];
            w.push(last / f64::from(r));
        }
        w
    }

    /// The most trajectories alive at once: the main one, and at each level the copies
    /// it makes and the one that made them waiting.
    pub(crate) fn most_alive(&self) -> u64 {
        1 + self.factors.iter().map(|&r| u64::from(r)).sum::<u64>()
    }

    /// "T1 = 3 (x4), T2 = 5 (x3)": the thresholds and their factors, for a message.
    pub(crate) fn describe(&self) -> String {
        if self.thresholds.is_empty() {
            return "no thresholds".into();
        }
        self.thresholds
            .iter()
            .zip(&self.factors)
            .enumerate()
            .map(|(i, (t, r))| format!("T{} = {t} (x{r})", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The guards of one replication: events over all its trajectories, and trajectories
/// alive at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub events: u64,
    pub alive: u64,
}

/// What one replication found.
#[derive(Debug)]
pub(crate) struct Replication {
    /// Refusals, each weighted by its region.
    pub weighted: f64,
    /// The main trajectory's offered connections (counted ones).
    pub offered: u64,
    /// Some trajectory rose into the top region.
    pub reached_top: bool,
    /// Trajectories run: the main one and every copy.
    pub trajectories: u64,
    /// Events over all of them.
    pub events: u64,
    /// The main trajectory's statistics (a plain replication's); None for a pilot cut
    /// short by its budget.
    pub stats: Option<RepStats>,
}

impl Replication {
    /// The replication's estimate of the refusal probability (NaN when nothing was
    /// offered).
    pub(crate) fn estimate(&self) -> f64 {
        if self.offered == 0 {
            f64::NAN
        } else {
            self.weighted / self.offered as f64
        }
    }
}

/// One trajectory: its run, the level it was born at (0 for the main one, never
/// killed), the region it has split for, and its open excursions when a pilot counts
/// them.
struct Node<'a> {
    run: Trajectory<'a>,
    born: usize,
    level: usize,
    open: Option<Open>,
}

/// A pilot's share in a replication: where it counts excursions, and the events after
/// which it stops (the main trajectory's statistics are then not kept).
pub(crate) struct Pilot<'p> {
    pub excursions: &'p mut Excursions,
    pub budget: u64,
}

/// Runs replication `replication` of `c` (streams of `seed`) with RESTART on `levels`.
pub(crate) fn replicate(
    c: &Compiled,
    target: Target,
    levels: &Levels,
    seed: u64,
    replication: u64,
    limits: Limits,
    mut pilot: Option<Pilot>,
) -> Result<Replication, BadInput> {
    let weights = levels.weights();
    let top = levels.thresholds.len();
    let mut out = Replication {
        weighted: 0.0,
        offered: 0,
        reached_top: false,
        trajectories: 1,
        events: 0,
        stats: None,
    };
    let mut cur = Node {
        run: c.trajectory(seed, replication),
        born: 0,
        level: 0,
        open: pilot.as_ref().map(|_| Open::default()),
    };
    let mut waiting: Vec<Node> = Vec::new();
    let mut copies: u64 = 0;
    let mut phi = target.of(&cur.run);
    loop {
        // Rise into the region the state is in, one level at a time: the copies made
        // at a level run first (they rise further themselves), then this one goes on.
        if levels.region(phi) > cur.level {
            let k = cur.level + 1;
            cur.level = k;
            out.reached_top |= k == top;
            let n = levels.factors[k - 1] - 1;
            if n > 0 {
                if waiting.len() as u64 + 2 + u64::from(n) > limits.alive {
                    return Err(too_many_alive(c, levels, limits));
                }
                let mut made = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    copies += 1;
                    made.push(Node {
                        run: cur.run.copy((copies << 8) | k as u64),
                        born: k,
                        level: k,
                        open: cur.open.as_ref().map(|_| Open::default()),
                    });
                }
                out.trajectories += u64::from(n);
                waiting.push(cur);
                waiting.extend(made);
                cur = waiting.pop().expect("copies were just made");
            }
            continue;
        }
        let failed_before = cur.run.failures();
        let over = cur.run.step()?;
        out.events += 1;
        if out.events > limits.events {
            return Err(too_many_events(c, levels, limits));
        }
        let failed = cur.run.failures() - failed_before;
        if failed > 0 {
            out.weighted += failed as f64 * weights[cur.level];
        }
        let after = target.of(&cur.run);
        if let (Some(open), Some(p)) = (cur.open.as_mut(), pilot.as_mut()) {
            open.event(phi, after, failed > 0, p.excursions);
        }
        phi = after;
        let region = levels.region(phi);
        if over || (cur.born > 0 && region < cur.born) {
            if cur.born == 0 {
                debug_assert!(waiting.is_empty(), "the main trajectory ends last");
                out.offered = cur.run.offered();
                out.stats = Some(cur.run.finish()?);
                return Ok(out);
            }
            cur = waiting.pop().expect("the main trajectory is never killed");
            phi = target.of(&cur.run);
            continue;
        }
        cur.level = cur.level.min(region);
        if let Some(p) = &pilot {
            if out.events >= p.budget {
                out.offered = cur.run.offered();
                return Ok(out);
            }
        }
    }
}

fn too_many_alive(c: &Compiled, levels: &Levels, limits: Limits) -> BadInput {
    BadInput(format!(
        "{}: sim.rare: the RESTART thresholds {} would keep more than {} trajectories alive \
         at once: the splitting factors are too large for this model; leave sim.rare off, or \
         lower the load so that fewer levels are needed",
        c.model.name,
        levels.describe(),
        limits.alive
    ))
}

fn too_many_events(c: &Compiled, levels: &Levels, limits: Limits) -> BadInput {
    BadInput(format!(
        "{}: sim.rare: a RESTART replication with the thresholds {} processed more than {} \
         events over its trajectories (64 per connection of sim.max_connections = {}, and a \
         million) and \
         was stopped: shorten load.duration, or raise sim.max_connections \
         (--set sim.max_connections=N)",
        c.model.name,
        levels.describe(),
        limits.events,
        c.model.sim.max_connections
    ))
}
