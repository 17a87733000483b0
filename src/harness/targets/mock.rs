//! The `mock` target (left out of `--help`): no server and no network. Run r of a
//! point "measures" the simulator's own replication r of the point's model and reports
//! it along the path of a real run (the supervisor and load-generator processes,
//! `LoadResult`, `rep_stats`, `Summary`, the tables and the chart), so that the whole
//! measure-and-compare pipeline is testable in a second, without real servers or
//! timing noise. With as many runs as the simulator's replications, `validate`
//! measures exactly the refusals it predicts: `max_abs_error=0`.

use crate::harness::servers::{Run, Servers};
use crate::harness::spec::{Endpoint, LoadResult, RunSpec, ServerLog, ServiceOutcomes};
use crate::harness::target::{About, Target};
use crate::model::Model;
use crate::server::Compiled;
use crate::stats::RepStats;
use anyhow::Result;

pub struct Mock;

impl Target for Mock {
    /// Hidden from `--help`; the simulator applies listener.somaxconn itself, and it
    /// forks nothing.
    fn about(&self) -> About {
        About::new("mock", "the mock target (the simulator's own replications)")
            .runs_chains()
            .simulated()
    }

    fn check_model(&self, _m: &Model, _run_limit_s: f64) -> Result<(), String> {
        Ok(())
    }

    fn start(&self, _run: &Run, _servers: &mut Servers) -> Result<Endpoint> {
        Ok(Endpoint::Simulated)
    }

    /// The simulated master's forks and its most processes in that replication, and a
    /// chain's outcomes at every service.
    fn read_logs(&self, run: &Run) -> ServerLog {
        let Ok(mut rep) = replication(run.spec) else {
            return ServerLog::default();
        };
        let services = if run.model().is_chain() {
            run.model()
                .services
                .iter()
                .zip(&rep.services)
                .map(|(s, x)| {
                    let o = ServiceOutcomes {
                        offered: x.offered,
                        refused: x.refused,
                        dropped: x.dropped,
                        timed_out: x.timed_out,
                    };
                    (s.name.clone(), o)
                })
                .collect()
        } else {
            Default::default()
        };
        ServerLog {
            forks: rep.front().forks,
            max_processes: rep.front().processes.max,
            services,
            ..ServerLog::default()
        }
    }
}

fn replication(spec: &RunSpec) -> Result<RepStats, crate::error::BadInput> {
    Compiled::new(&spec.model).run(spec.seed, spec.replication)
}

/// What the load generator would have measured if the server were the simulator:
/// replication `spec.replication`'s counts and latencies (to the histogram's 0.1 %).
pub(crate) fn measure(spec: &RunSpec) -> Result<LoadResult, crate::error::BadInput> {
    let rep = replication(spec)?;
    Ok(LoadResult {
        offered: rep.offered,
        served: rep.served,
        refused: rep.refused,
        dropped: rep.dropped,
        timed_out: rep.timed_out,
        latencies: rep.latencies(),
        end_s: spec.model.sim.warmup + rep.window,
        ..LoadResult::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::run::rep_stats;
    use crate::harness::testing::{model, spec};
    use crate::stats::Summary;

    #[test]
    fn a_mock_run_measures_the_simulators_replication() {
        let m = model(&["load.rate=80"]);
        for r in 0..3 {
            let load = measure(&spec(m.clone(), r)).unwrap();
            let measured = Summary::combine(&[rep_stats(&m, &load, &ServerLog::default())], 0.95);
            let simulated = Summary::combine(&[Compiled::new(&m).run(7, r).unwrap()], 0.95);
            assert!(simulated.refused > 0, "the model must refuse some");
            assert_eq!(
                (measured.offered, measured.served, measured.refused),
                (simulated.offered, simulated.served, simulated.refused)
            );
            assert_eq!(
                measured.refusal_probability.mean,
                simulated.refusal_probability.mean
            );
            let (a, b) = (measured.latency_s.p50, simulated.latency_s.p50);
            assert!((a - b).abs() <= 1e-3 * b, "p50 {a} against {b}");
        }
    }
}
