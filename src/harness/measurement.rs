//! The measurement loop: every grid point run `runs` times on the target, one point
//! after another (the runs measure time, so they never overlap), and, for
//! `validate`, the simulator's prediction of the same points with the same seed.

use super::job::Job;
use super::run::Notes;
use crate::model::Model;
use crate::replicate::{run_point, CONFIDENCE};
use crate::server::Compiled;
use crate::stats::{Combiner, RepStats, Summary};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// One measured grid point: the summary of its runs and what only a real server shows.
pub(crate) struct PointMeasurement {
    pub summary: Summary,
    pub runs: u32,
    /// The lines counted in the target's logs, summed over the runs.
    pub server_log: BTreeMap<String, u64>,
    /// IMAP: from each served connection's intended send time to its LOGIN's OK.
    pub login_latencies: Vec<f64>,
    /// Each run's pool processes half-way through each second of its load (for a
    /// target that `counts_pool`).
    pub processes_per_s: Vec<Vec<u64>>,
    /// A chain's services whose outcomes the target's records told (the others' stay
    /// 0 in the summary, as the levels a client cannot see do).
    pub known_services: BTreeSet<String>,
}

/// The simulator's prediction of one grid point.
pub(crate) struct Prediction {
    pub summary: Summary,
    pub replications: u32,
}

/// Measures every point of the job.
pub(crate) fn measure_points(job: &Job, notes: Notes<'_>) -> Result<Vec<PointMeasurement>> {
    let mut out = Vec::new();
    for (i, p) in job.points.iter().enumerate() {
        let what = format!("point {}/{} ({})", i + 1, job.points.len(), job.label(i));
        let m = job
            .runner
            .measure(i, &what, &p.model, job.limits[i], notes)?;
        out.push(PointMeasurement {
            summary: combine(&p.model, &m.reps),
            runs: m.reps.len() as u32,
            server_log: m.server_log,
            login_latencies: m.login_latencies,
            processes_per_s: m.processes_per_s,
            known_services: m.known_services,
        });
    }
    Ok(out)
}

/// The summary of a point's runs, with a chain's services and masters named as a
/// sweep's summary names them.
pub(crate) fn combine(model: &Model, reps: &[RepStats]) -> Summary {
    let mut c = Combiner::default();
    for r in reps {
        c.push(r);
    }
    let (names, capacities, masters) = Compiled::new(model).names();
    c.summary_of(CONFIDENCE, &names, &capacities, &masters)
}

/// Simulates every point of the job, with the run options of its scenario.
pub(crate) fn predict(job: &Job) -> Result<Vec<Prediction>, crate::error::BadInput> {
    job.points
        .iter()
        .map(|p| {
            let r = run_point(&Compiled::new(&p.model), &job.scenario.options)?;
            Ok(Prediction {
                summary: r.summary,
                replications: r.replications,
            })
        })
        .collect()
}
