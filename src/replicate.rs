//! Runs the replications of one model point: a fixed number, or as many as
//! `--precision` needs, in parallel (each replication is single-threaded and has its
//! own random streams, so the result does not depend on the thread count). A model
//! with `sim.rare` is run by `crate::rare` (importance splitting) instead.

use crate::error::BadInput;
use crate::model::{LoadedModel, Override};
use crate::server::Compiled;
use crate::stats::{Combiner, RepStats, Summary, TimelineRow};
use rayon::prelude::*;

/// A checked model, the `--set` overrides it was loaded with, and how to run it: what
/// every command that simulates or measures a model starts from.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub loaded: LoadedModel,
    pub overrides: Vec<Override>,
    pub options: RunOptions,
}

/// Confidence of every reported interval.
pub const CONFIDENCE: f64 = 0.95;

/// Below this refusal probability `--precision` is met in absolute terms: the interval's
/// half-width must be at most precision x this floor, rather than precision x the mean
/// (a relative interval around a probability of 1e-7 would need billions of arrivals).
pub const PRECISION_FLOOR: f64 = 1e-3;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOptions {
    pub seed: u64,
    /// Replications to run (the minimum with `precision`).
    pub replications: u32,
    /// Run until the refusal probability's half-width is at most this fraction of its mean.
    pub precision: Option<f64>,
    /// The cap on replications with `precision`.
    pub max_replications: u32,
}

/// The combined result and how many replications it took.
#[derive(Debug, Clone)]
pub struct PointResult {
    pub summary: Summary,
    pub replications: u32,
    /// The timeline over the replications, when the model was compiled to keep one.
    pub timeline: Option<Vec<TimelineRow>>,
}

/// The half-width `--precision` asks of the refusal probability's interval.
fn wanted_half_width(summary: &Summary, precision: f64) -> f64 {
    precision * summary.refusal_probability.mean.max(PRECISION_FLOOR)
}

/// True when the refusal probability is known well enough.
pub fn precise_enough(summary: &Summary, precision: f64) -> bool {
    let half = summary.refusal_probability.half_width();
    half.is_finite() && half <= wanted_half_width(summary, precision)
}

/// How many replications in all should meet the precision: the half-width shrinks as
/// 1/sqrt(n), so n (half / wanted)^2, with 10 % to spare, at least one more and at
/// most four times as many as now (the variance itself is an estimate).
fn replications_needed(summary: &Summary, precision: f64, now: u32) -> u32 {
    let ratio = summary.refusal_probability.half_width() / wanted_half_width(summary, precision);
    let n = if ratio.is_finite() {
        (f64::from(now) * ratio * ratio * 1.1).ceil()
    } else {
        f64::from(now) * 2.0
    };
    (n.min(f64::from(now) * 4.0) as u32).max(now + 1)
}

/// Replications run in parallel at a time: enough to keep every thread busy, few
/// enough that their statistics, folded in as each batch ends, take little memory.
fn batch_size() -> u32 {
    (rayon::current_num_threads() as u32 * 4).max(16)
}

/// Runs one model point. Replications are folded into the summary in replication
/// order as batches finish, so memory stays flat however many there are, and the
/// result does not depend on the number of threads.
pub fn run_point(compiled: &Compiled, opts: &RunOptions) -> Result<PointResult, BadInput> {
    if compiled.model.sim.rare {
        let p = crate::rare::run(
            compiled,
            &crate::rare::Settings {
                seed: opts.seed,
                replications: opts.replications,
                precision: opts.precision,
                max_replications: opts.max_replications,
                confidence: CONFIDENCE,
            },
        )?;
        return Ok(PointResult {
            summary: p.summary,
            replications: p.replications,
            timeline: p.timeline,
        });
    }
    let batch = batch_size();
    let run_to = |c: &mut Combiner, end: u32| -> Result<(), BadInput> {
        while (c.len() as u32) < end {
            let start = c.len() as u32;
            let stop = start.saturating_add(batch).min(end);
            let reps: Vec<RepStats> = (start..stop)
                .into_par_iter()
                .map(|r| compiled.run(opts.seed, u64::from(r)))
                .collect::<Result<_, _>>()?;
            for r in &reps {
                c.push(r);
            }
        }
        Ok(())
    };
    let mut target = opts.replications.max(1);
    if opts.precision.is_some() {
        target = target.max(2);
    }
    let mut combined = Combiner::default();
    run_to(&mut combined, target)?;
    loop {
        let (names, capacities, masters) = compiled.names();
        let summary = combined.summary_of(CONFIDENCE, &names, &capacities, &masters);
        let done = match opts.precision {
            None => true,
            Some(p) => precise_enough(&summary, p) || target >= opts.max_replications,
        };
        if done {
            return Ok(PointResult {
                summary,
                replications: target,
                timeline: combined.timeline(CONFIDENCE),
            });
        }
        let next = replications_needed(&summary, opts.precision.expect("checked above"), target)
            .min(opts.max_replications);
        run_to(&mut combined, next)?;
        target = next;
    }
}
