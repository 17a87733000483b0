//! Rare events (SPEC section 14): refusal probabilities far below what plain runs can
//! show, and the chance of any refusal in one replication (one peak), by importance
//! splitting, for a model with `sim.rare = true`.
//!
//! A point runs, in order:
//! 1. the target: the service whose refusals the importance follows (a chain's is the
//!    one where a short plain pilot sees refusals, or whose queue comes nearest to
//!    full);
//! 2. RESTART's thresholds, from pilots in stages (`place_restart`): a plain pilot places
//!    the levels it sees often enough, then RESTART pilots with the levels found so far
//!    see deeper, until the last level's excursions see refusals;
//! 3. fixed effort's levels, from its adaptive pilot (`fixed_effort::place`);
//! 4. at least `MIN_REPLICATIONS` independent replications (more with `--precision`),
//!    in parallel: each a RESTART replication, whose main trajectory is the plain
//!    replication of the same number (so every figure but the refusal estimates is the
//!    plain run's), and in the first `FE_REPLICATIONS` a fixed-effort run of the stages.
//!
//! The pilots only choose where to split: the estimates are unbiased whatever they
//! choose, and a poor choice shows as a wide interval or as `unreliable` (fewer than
//! 10 replications reached the top level). Every random stream is keyed by (seed,
//! replication, and the copy's level and number or its stage and index), and the
//! pilots run on one thread, so results do not depend on the thread count.
//!
//! - `importance.rs`: how close a run is to a refusal.
//! - `excursions.rs`: what a pilot learns of the importance, and where the thresholds go.
//! - `restart.rs`: RESTART, one replication with its retrials.
//! - `fixed_effort.rs`: fixed-effort splitting over the horizon, and its pilot.

pub(crate) mod excursions;
pub(crate) mod fixed_effort;
pub(crate) mod importance;
pub(crate) mod restart;

use crate::error::BadInput;
use crate::server::Compiled;
use crate::stats::{
    estimate, zero_count_bound, Combiner, Estimate, Probability, Rare, RareHorizon, Summary,
    TimelineRow,
};
use excursions::{next_step, Excursions, Placement, TOP};
use fixed_effort::{Effort, Horizon};
use importance::{Lookahead, Target};
use rayon::prelude::*;
use restart::{Levels, Limits, Pilot};

/// The fewest replications a rare-event estimate runs (its interval is a Student-t one
/// over them).
pub const MIN_REPLICATIONS: u32 = 20;

/// Below this many replications reaching the top level an estimate is `unreliable`.
pub const RELIABLE_TOP: u64 = 10;

/// The most trajectories alive at once in one RESTART replication.
pub const MAX_ALIVE: u64 = 10_000;

/// Fixed effort's trajectories per stage: about `STAGE_EVENTS` events' worth of plain
/// runs, at least `PER_STAGE.0` and at most `PER_STAGE.1`. Few per stage make the
/// estimate of a rare peak skewed (most replications low, a few far high), so that 20
/// of them understate it; short runs can afford many.
pub const PER_STAGE: (u64, u64) = (100, 1000);
const STAGE_EVENTS: u64 = 1_000_000;

/// Replications that also run fixed effort (the first ones): each costs about
/// `PER_STAGE` plain runs a stage, so many more RESTART replications (which cost about
/// one plain run each) can run for the same time.
pub const FE_REPLICATIONS: u32 = 20;

/// How RESTART's thresholds are placed: each level's conditional chance aimed at 0.25
/// or more (so within about 0.2 to 0.5, the splitting factor its inverse), from at
/// least 200 excursions of which 40 reach the next level.
const PLACEMENT: Placement = Placement {
    aim: 0.25,
    min_started: 200,
    min_reached: 40,
};

/// Events of RESTART's first (plain) pilot, and of each later stage (doubled while a
/// stage finds no new level, up to `PILOT_MAX`).
const PILOT_FIRST: u64 = 1_000_000;
const PILOT_STAGE: u64 = 400_000;
const PILOT_MAX: u64 = 16_000_000;
const MAX_STAGES: usize = 40;
/// The share of a plain run's events at or above RESTART's lowest level from which the
/// thresholds start (the levels below it the plain run visits often enough itself).
const FIRST_TAIL: f64 = 0.1;
/// Replication numbers of RESTART's pilots: past every estimation run's.
const PILOT_REPLICATIONS: u64 = 1 << 48;

/// The importance counts the processes about to take connections (see `importance`).
const NET: bool = true;

/// How a point is run.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub seed: u64,
    pub replications: u32,
    /// Run until the refusal probability's half-width is at most this fraction of it.
    pub precision: Option<f64>,
    pub max_replications: u32,
    pub confidence: f64,
}

/// A point's result, as `replicate::run_point` gives it.
#[derive(Debug, Clone)]
pub struct Point {
    pub summary: Summary,
    pub replications: u32,
    pub timeline: Option<Vec<TimelineRow>>,
}

/// What one replication gives: RESTART's and fixed effort's.
struct Rep {
    restart: restart::Replication,
    stages: Option<fixed_effort::Stages>,
}

/// The replications folded in, in order.
#[derive(Default)]
struct Fold {
    combined: Combiner,
    refusal: Vec<f64>,
    failure: Vec<f64>,
    any: Vec<f64>,
    /// Each replication's chance of reaching fixed effort's last stage (the product of
    /// the fractions before it), for a bound when no stage saw a refusal.
    before_last: Vec<f64>,
    weighted: f64,
    offered: u64,
    reaching_top: u64,
    any_reaching_top: u64,
    trajectories: u64,
    any_trajectories: u64,
}

impl Fold {
    fn push(&mut self, r: &Rep) {
        let stats = r.restart.stats.as_ref().expect("a whole replication");
        self.combined.push(stats);
        let p = r.restart.estimate();
        self.refusal.push(p);
        // Failures other than refusals (timeouts) as the plain run saw them, plus the
        // refusals as RESTART estimates them.
        let failed = stats.offered.saturating_sub(stats.served);
        let other = failed.saturating_sub(stats.refused + stats.dropped);
        self.failure.push(if stats.offered == 0 {
            f64::NAN
        } else {
            other as f64 / stats.offered as f64 + p
        });
        if let Some(stages) = &r.stages {
            self.push_stages(stages);
        }
        self.weighted += r.restart.weighted;
        self.offered += r.restart.offered;
        self.reaching_top += u64::from(r.restart.reached_top);

        self.trajectories += r.restart.trajectories;
    }

    fn push_stages(&mut self, stages: &fixed_effort::Stages) {
        self.any.push(stages.estimate());
        let n = stages.fractions.len();
        self.before_last
            .push(stages.fractions[..n - 1].iter().product());
        self.any_reaching_top += u64::from(stages.reached_top());
        self.any_trajectories += stages.trajectories;
    }

    fn len(&self) -> u32 {
        self.refusal.len() as u32
    }
}

/// Runs one point of `c` (whose model has `sim.rare`).
pub fn run(c: &Compiled, s: &Settings) -> Result<Point, BadInput> {
    let target = choose_target(c, s.seed)?;
    let levels = place_restart(c, target, s.seed)?;
    let limits = Limits {
        events: c.model.event_budget(),
        alive: MAX_ALIVE,
    };
    if levels.most_alive() > limits.alive {
        return Err(BadInput(format!(
            "{}: sim.rare: the RESTART thresholds {} would keep up to {} trajectories alive \
             at once, more than {}: the model's refusals are too rare for its importance \
             levels; lower the load, or leave sim.rare off",
            c.model.name,
            levels.describe(),
            levels.most_alive(),
            limits.alive
        )));
    }
    let horizon = Horizon {
        target,
        ahead: Lookahead::new(&c.model, target.station),
    };
    let effort = Effort {
        per_stage: per_stage(c, s.seed)?,
        events: limits.events,
    };
    let fe_levels = fixed_effort::place(c, &horizon, s.seed, effort)?;
    let one = |r: u32| -> Result<Rep, BadInput> {
        let rep = u64::from(r);
        let restart = restart::replicate(c, target, &levels, s.seed, rep, limits, None)?;
        let stages = if r < FE_REPLICATIONS {
            Some(fixed_effort::replicate(
                c, &horizon, &fe_levels, s.seed, rep, effort,
            )?)
        } else {
            None
        };
        Ok(Rep { restart, stages })
    };
    let mut fold = Fold::default();
    let batch = (rayon::current_num_threads() as u32 * 2).max(8);
    let run_to = |fold: &mut Fold, end: u32| -> Result<(), BadInput> {
        while fold.len() < end {
            let start = fold.len();
            let stop = start.saturating_add(batch).min(end);
            let reps: Vec<Rep> = (start..stop)
                .into_par_iter()
                .map(one)
                .collect::<Result<_, _>>()?;
            reps.iter().for_each(|r| fold.push(r));
        }
        Ok(())
    };
    let mut target_reps = s.replications.max(MIN_REPLICATIONS);
    run_to(&mut fold, target_reps)?;
    if let Some(precision) = s.precision {
        loop {
            let e = estimate(&fold.refusal, s.confidence, true);
            let wanted = precision * e.mean;
            let half = e.half_width();
            if (half.is_finite() && e.mean > 0.0 && half <= wanted)
                || target_reps >= s.max_replications
            {
                break;
            }
            let ratio = half / wanted;
            let n = if ratio.is_finite() {
                (f64::from(target_reps) * ratio * ratio * 1.1).ceil()
            } else {
                f64::from(target_reps) * 2.0
            };
            target_reps = (n.min(f64::from(target_reps) * 4.0) as u32)
                .max(target_reps + 1)
                .min(s.max_replications);
            run_to(&mut fold, target_reps)?;
        }
    }
    let (names, capacities, masters) = c.names();
    let mut summary = fold
        .combined
        .summary_of(s.confidence, &names, &capacities, &masters);
    summary.refusal_probability =
        splitting_probability(&fold.refusal, fold.weighted, fold.offered, s);
    summary.failure_probability =
        splitting_probability(&fold.failure, fold.weighted, fold.offered, s);
    summary.any_refusal_probability = any_refusal(&fold, effort.per_stage, s.confidence);
    summary.rare = Some(Rare {
        method: "restart".into(),
        importance: describe_target(c, target),
        levels: levels.thresholds.clone(),
        factors: levels.factors.clone(),
        trajectories: fold.trajectories,
        replications_reaching_top: fold.reaching_top,
        unreliable: fold.reaching_top < RELIABLE_TOP,
        any_refusal: RareHorizon {
            method: "fixed-effort".into(),
            levels: fe_levels,
            per_stage: effort.per_stage,
            replications: fold.any.len() as u64,
            trajectories: fold.any_trajectories,
            replications_reaching_top: fold.any_reaching_top,
            unreliable: fold.any_reaching_top < RELIABLE_TOP,
        },
    });
    Ok(Point {
        summary,
        replications: fold.len(),
        timeline: fold.combined.timeline(s.confidence),
    })
}

/// The replications' estimates with their Student-t interval; when no trajectory saw
/// a refusal, "none seen" with the bound of the rule of three over the main
/// trajectories' connections alone, as a plain run would give. The splitting's weights
/// do not enter it: with nothing seen at the top, nothing shows that the levels'
/// factors are the conditional probabilities they stand for (M/M/10/20 at 1 a second
/// has an exact 1.0e-17, and the weighted exposure of 20 replications claimed 1.6e-19).
fn splitting_probability(xs: &[f64], weighted: f64, offered: u64, s: &Settings) -> Probability {
    let e = estimate(xs, s.confidence, true);
    if weighted > 0.0 || offered == 0 || e.mean > 0.0 {
        return Probability {
            mean: e.mean,
            ci_low: e.ci_low,
            ci_high: e.ci_high,
            none_seen: false,
            upper_bound: f64::NAN,
        };
    }
    let bound = zero_count_bound(offered, s.confidence);
    Probability {
        mean: 0.0,
        ci_low: 0.0,
        ci_high: bound,
        none_seen: true,
        upper_bound: bound,
    }
}

/// Fixed effort's estimates with their Student-t interval; when no replication's last
/// stage saw a refusal, [0, bound] with the Clopper-Pearson bound of none in all the
/// last stages' trajectories, times the chance of reaching that stage.
fn any_refusal(fold: &Fold, per_stage: u64, confidence: f64) -> Estimate {
    let e = estimate(&fold.any, confidence, true);
    if e.mean > 0.0 || fold.any.is_empty() {
        return e;
    }
    let n = fold.any.len() as f64;
    let reach = fold.before_last.iter().sum::<f64>() / n;
    let trials = (n * per_stage as f64) as u64;
    Estimate {
        mean: 0.0,
        ci_low: 0.0,
        ci_high: reach * zero_count_bound(trials, confidence),
    }
}

/// Fixed effort's trajectories a stage: `STAGE_EVENTS` over the events of one plain
/// run (replication number past every other's), within `PER_STAGE`.
fn per_stage(c: &Compiled, seed: u64) -> Result<u64, BadInput> {
    let mut t = c.trajectory(seed, PILOT_REPLICATIONS - 2_000);
    let mut events = 1u64;
    while !t.step()? && events < STAGE_EVENTS {
        events += 1;
    }
    Ok((STAGE_EVENTS / events).clamp(PER_STAGE.0, PER_STAGE.1))
}

/// "the queue of SERVICE, net of its idle and starting processes", for the JSON.
fn describe_target(c: &Compiled, t: Target) -> String {
    let name = &c.model.services[t.station].name;
    let of = if name.is_empty() {
        String::new()
    } else {
        format!(" of {name}")
    };
    if t.net {
        format!("kernel queue{of} less its idle and starting processes' slots")
    } else {
        format!("kernel queue{of}")
    }
}

/// The station whose refusals the importance follows: the only one, or in a chain the
/// one where a plain pilot sees the most refusals (or, seeing none, whose queue came
/// nearest to full).
fn choose_target(c: &Compiled, seed: u64) -> Result<Target, BadInput> {
    let stations = c.model.services.len();
    if stations == 1 {
        return Ok(Target {
            station: 0,
            net: NET,
        });
    }
    let mut failures = vec![0u64; stations];
    let mut fill = vec![0f64; stations];
    let mut events = 0u64;
    let mut rep = PILOT_REPLICATIONS - 1_000;
    while events < PILOT_FIRST / 2 {
        let mut t = c.trajectory(seed, rep);
        rep += 1;
        while events < PILOT_FIRST / 2 {
            events += 1;
            if t.step()? {
                break;
            }
        }
        for s in 0..stations {
            failures[s] += t.failures_at(s);
            let capacity = c.model.services[s].queue_capacity().max(1) as f64;
            fill[s] = fill[s].max(t.queue_peak(s) as f64 / capacity);
        }
    }
    let by = |v: &[f64]| {
        (0..stations)
            .max_by(|&a, &b| v[a].total_cmp(&v[b]).then(b.cmp(&a)))
            .unwrap_or(0)
    };
    let station = if failures.iter().any(|&f| f > 0) {
        by(&failures.iter().map(|&f| f as f64).collect::<Vec<_>>())
    } else {
        by(&fill)
    };
    Ok(Target { station, net: NET })
}

/// Runs pilots of `levels` (a plain one when there are none) for about `budget` events
/// over as many replications as that takes, and counts their excursions.
fn pilot(
    c: &Compiled,
    target: Target,
    levels: &Levels,
    seed: u64,
    stage: usize,
    budget: u64,
) -> Result<Excursions, BadInput> {
    let mut ex = Excursions::default();
    let limits = Limits {
        events: c.model.event_budget(),
        alive: MAX_ALIVE,
    };
    let mut spent = 0;
    let mut run = 0u64;
    while spent < budget {
        let rep = PILOT_REPLICATIONS + ((stage as u64) << 24) + run;
        run += 1;
        let p = Pilot {
            excursions: &mut ex,
            budget: budget - spent,
        };
        let r = restart::replicate(c, target, levels, seed, rep, limits, Some(p))?;
        // A replication that handled nothing (an empty load) would loop forever.
        spent += r.events.max(1);
    }
    Ok(ex)
}

/// RESTART's thresholds and factors, from pilots in stages: the plain pilot places the
/// levels from its median up as far as it sees enough excursions, then each RESTART
/// pilot (with the levels so far, the last one split by the inverse of the aim) places
/// more above them, until the last level's excursions see refusals often enough. A
/// stage that places nothing runs again twice as long; past `PILOT_MAX` events or
/// `MAX_STAGES` stages the levels stay as they are (the estimate stays unbiased, but
/// may not reach the top: `unreliable` says so).
fn place_restart(c: &Compiled, target: Target, seed: u64) -> Result<Levels, BadInput> {
    let guess = (1.0 / PLACEMENT.aim).round() as u32;
    let mut thresholds: Vec<i64> = Vec::new();
    let mut chances: Vec<f64> = Vec::new();
    let mut ex = pilot(
        c,
        target,
        &Levels {
            thresholds: vec![],
            factors: vec![],
        },
        seed,
        0,
        PILOT_FIRST,
    )?;
    let Some(base) = ex.median() else {
        return Ok(Levels {
            thresholds,
            factors: vec![],
        });
    };
    // Below the level the plain run passes a small share of its events at, copies
    // would cost more than they show: the first threshold goes there.
    let mut from = ex.tail_from(base, FIRST_TAIL).unwrap_or(base);
    let mut budget = PILOT_STAGE;
    let mut done = false;
    for stage in 1..=MAX_STAGES {
        let before = thresholds.len();
        while let Some((next, p)) = next_step(&ex, from, &PLACEMENT) {
            if !thresholds.is_empty() && chances.len() < thresholds.len() {
                chances.push(p);
            }
            if next == TOP {
                done = true;
                break;
            }
            thresholds.push(next);
            from = next;
        }
        if done {
            break;
        }
        if thresholds.len() == before {
            if budget >= PILOT_MAX {
                break;
            }
            budget *= 2;
        }
        let levels = trial_levels(&thresholds, &chances, guess);
        ex = pilot(c, target, &levels, seed, stage, budget)?;
        if ex.highest_seen().is_none() {
            break;
        }
    }
    Ok(trial_levels(&thresholds, &chances, guess))
}

/// The factors for `thresholds` from their chances (the inverse, rounded, at least 1),
/// the ones not known yet split by `guess`.
fn trial_levels(thresholds: &[i64], chances: &[f64], guess: u32) -> Levels {
    let factors = thresholds
        .iter()
        .enumerate()
        .map(|(i, _)| match chances.get(i) {
            Some(&p) if p > 0.0 => ((1.0 / p).round() as u32).max(1),
            _ => guess,
        })
        .collect();
    Levels {
        thresholds: thresholds.to_vec(),
        factors,
    }
}
