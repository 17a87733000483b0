//! Fixed-effort splitting over a finite horizon: the chance that one replication (one
//! whole load.duration, e.g. one peak) sees at least one refusal.
//!
//! Levels L1 < ... < Lm of an importance that knows how much of the load is left (the
//! target station's importance plus the fluid look-ahead of the rest of the load,
//! `importance::Lookahead`) cut the way to a refusal into stages. Stage k starts N
//! trajectories from entrance states of the stage before, each chosen uniformly at
//! random (stage 1: N independent starts at t = 0), and runs each until it reaches Lk,
//! or a refusal (which reaches every level), or its run ends; the ones that reach it
//! are its entrance states. The last stage's goal is a refusal. The product of the
//! stages' fractions estimates the chance without bias (the entrance states stand for
//! the distribution of the state where a run first reaches the level); independent
//! replications of the whole give the interval.
//!
//! The levels come from a pilot that places them adaptively (each the level that a
//! fraction `AIM` of the stage's trajectories reaches, read from their highest
//! importance, then its entrance states taken by running the same trajectories again
//! up to it), and are then fixed for the estimation runs.

use super::importance::{Lookahead, Target};
use crate::engine::stream;
use crate::error::BadInput;
use crate::server::{Compiled, Trajectory};
use rand::Rng;

/// The fraction of a stage's trajectories that the pilot aims to see reach its level.
pub(crate) const AIM: f64 = 0.25;

/// The most levels the pilot places.
const MAX_LEVELS: usize = 100;

/// Replication numbers of the fixed-effort trajectories, apart from the plain ones
/// (which count from 0) and from RESTART's pilot: stage 1's starts are replications of
/// their own, and every later trajectory is a copy with a branch of its own.
const STARTS: u64 = 1 << 52;

/// How close a trajectory is to a refusal, over the horizon.
#[derive(Debug, Clone)]
pub(crate) struct Horizon {
    pub target: Target,
    pub ahead: Option<Lookahead>,
}

impl Horizon {
    #[inline]
    fn of(&self, t: &Trajectory) -> f64 {
        let phi = self.target.of(t) as f64;
        match &self.ahead {
            Some(l) => phi + l.at(t.now()),
            None => phi,
        }
    }
}

/// A stage's goal: a level of the importance, or (the last stage) a refusal.
#[derive(Debug, Clone, Copy)]
enum Goal {
    Level(f64),
    Refusal,
}

/// How a trajectory's run in a stage ended.
enum Ended {
    /// It reached the goal (or refused): its state is an entrance state.
    Reached,
    /// Its run ended first; the highest importance it saw (a refusal counts infinite).
    Over(f64),
}

/// Runs `t` until it meets `goal` or its run ends; `events` counts every event.
fn run_to(
    h: &Horizon,
    t: &mut Trajectory,
    goal: Goal,
    events: &mut u64,
    limit: u64,
) -> Result<Result<Ended, ()>, BadInput> {
    let mut highest = f64::NEG_INFINITY;
    loop {
        if t.failures() > 0 {
            return Ok(Ok(Ended::Reached));
        }
        let psi = h.of(t);
        highest = highest.max(psi);
        if let Goal::Level(l) = goal {
            if psi >= l {
                return Ok(Ok(Ended::Reached));
            }
        }
        if t.step()? {
            if t.failures() > 0 {
                return Ok(Ok(Ended::Reached));
            }
            return Ok(Ok(Ended::Over(highest)));
        }
        *events += 1;
        if *events > limit {
            return Ok(Err(()));
        }
    }
}

/// One run of the stages: the fraction reaching each goal, or the events budget
/// exceeded.
pub(crate) struct Stages {
    pub fractions: Vec<f64>,
    pub trajectories: u64,
    pub events: u64,
}

impl Stages {
    /// The estimate: the product of the fractions (0 once a stage saw none reach it).
    pub(crate) fn estimate(&self) -> f64 {
        self.fractions.iter().product()
    }

    /// The last stage saw a refusal.
    pub(crate) fn reached_top(&self) -> bool {
        self.fractions.last().is_some_and(|&f| f > 0.0)
    }
}

/// The guards: trajectories a stage runs, and events over a replication.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effort {
    pub per_stage: u64,
    pub events: u64,
}

/// The stages' runs of replication `replication`, on `levels`, `effort.per_stage`
/// trajectories each.
pub(crate) fn replicate(
    c: &Compiled,
    h: &Horizon,
    levels: &[f64],
    seed: u64,
    replication: u64,
    effort: Effort,
) -> Result<Stages, BadInput> {
    let n = effort.per_stage;
    let mut out = Stages {
        fractions: Vec::with_capacity(levels.len() + 1),
        trajectories: 0,
        events: 0,
    };
    let mut pick = stream(seed, STARTS + replication, u64::MAX);
    let mut entrances: Vec<Trajectory> = Vec::new();
    let mut branch = 0u64;
    for stage in 0..=levels.len() {
        let goal = levels.get(stage).map_or(Goal::Refusal, |&l| Goal::Level(l));
        let mut reached = Vec::new();
        for i in 0..n {
            let mut t = if stage == 0 {
                c.trajectory(seed, start_of(replication, n, i))
            } else {
                let from = pick.random_range(0..entrances.len());
                branch += 1;
                entrances[from].copy(branch)
            };
            out.trajectories += 1;
            match run_to(h, &mut t, goal, &mut out.events, effort.events)? {
                Ok(Ended::Reached) => reached.push(t),
                Ok(Ended::Over(_)) => {}
                Err(()) => return Err(too_many_events(c, levels, effort)),
            }
        }
        out.fractions.push(reached.len() as f64 / n as f64);
        if reached.is_empty() {
            break;
        }
        entrances = reached;
    }
    Ok(out)
}

/// The replication number of stage 1's i-th start in replication `r`.
fn start_of(replication: u64, n: u64, i: u64) -> u64 {
    STARTS + replication * n + i + 1
}

/// Places the levels with a pilot (replication numbers past every estimation run's):
/// each the level that `AIM` of the stage's trajectories reach, until that many see a
/// refusal, no trajectory rises above the last level, or `MAX_LEVELS`.
pub(crate) fn place(
    c: &Compiled,
    h: &Horizon,
    seed: u64,
    effort: Effort,
) -> Result<Vec<f64>, BadInput> {
    let n = effort.per_stage;
    // Past the estimation's replications: the pilot is replication u32::MAX + 1.
    let pilot = u64::from(u32::MAX) + 1;
    let mut levels: Vec<f64> = Vec::new();
    let mut events = 0;
    let mut pick = stream(seed, STARTS + pilot, u64::MAX - 1);
    let mut entrances: Vec<Trajectory> = Vec::new();
    let mut branch = 0u64;
    let limit = effort.events;
    while levels.len() < MAX_LEVELS {
        // The stage's trajectories, kept as they start so that they can run again.
        let mut starts: Vec<Trajectory> = (0..n)
            .map(|i| {
                if levels.is_empty() {
                    c.trajectory(seed, start_of(pilot, n, i))
                } else {
                    let from = pick.random_range(0..entrances.len());
                    branch += 1;
                    entrances[from].copy(branch)
                }
            })
            .collect();
        let mut highest = Vec::with_capacity(n as usize);
        let mut refused = 0;
        for start in starts.iter_mut() {
            let mut t = start.replay();
            match run_to(h, &mut t, Goal::Refusal, &mut events, limit)? {
                Ok(Ended::Reached) => {
                    refused += 1;
                    highest.push(f64::INFINITY);
                }
                Ok(Ended::Over(high)) => highest.push(high),
                Err(()) => return Err(too_many_events(c, &levels, effort)),
            }
        }
        if refused as f64 >= AIM * n as f64 {
            break;
        }
        highest.sort_by(|a, b| b.total_cmp(a));
        let k = ((AIM * n as f64).ceil() as usize).clamp(1, highest.len());
        let last = levels.last().copied().unwrap_or(f64::NEG_INFINITY);
        let mut level = highest[k - 1];
        if level <= last {
            // Ties at the last level: the lowest level above it that any reached.
            match highest.iter().rev().find(|&&x| x > last && x.is_finite()) {
                Some(&x) => level = x,
                None => break,
            }
        }
        if !level.is_finite() {
            break;
        }
        // The entrance states: the same trajectories again, up to the level.
        let mut reached = Vec::new();
        for start in starts.iter_mut() {
            let mut t = start.replay();
            match run_to(h, &mut t, Goal::Level(level), &mut events, limit)? {
                Ok(Ended::Reached) => reached.push(t),
                Ok(Ended::Over(_)) => {}
                Err(()) => return Err(too_many_events(c, &levels, effort)),
            }
        }
        levels.push(level);
        if reached.is_empty() {
            break;
        }
        entrances = reached;
    }
    Ok(levels)
}

fn too_many_events(c: &Compiled, levels: &[f64], effort: Effort) -> BadInput {
    BadInput(format!(
        "{}: sim.rare: a fixed-effort replication with {} trajectories a stage and the \
         levels [{}] processed more than {} events (64 per connection of \
         sim.max_connections = {}, and a million) and was stopped: shorten load.duration, or raise \
         sim.max_connections (--set sim.max_connections=N)",
        c.model.name,
        effort.per_stage,
        levels
            .iter()
            .map(|l| format!("{l:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
        effort.events,
        c.model.sim.max_connections
    ))
}
