//! `eagain plan`: the smallest limit (process_limit, backlog, somaxconn, client_limit,
//! process_min_avail) or the largest load.rate that meets a target such as
//! `refusal_probability<=0.001`. The search uses the confidence intervals: the answer
//! is the value whose 95 % interval lies wholly within the target, and when the
//! estimate's mean would already meet it at a neighbouring value, the plan says the
//! answer is uncertain between the two.

use crate::error::BadInput;
use crate::model::{self, Override};
use crate::replicate::{run_point, Scenario};
use crate::server::Compiled;
use crate::stats::Summary;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::Path;

/// Paths a plan can solve for, and whether it wants the smallest value (limits) or the
/// largest (the load).
const SOLVABLE: &[(&str, Goal)] = &[
    ("pool.process_limit", Goal::Smallest(1)),
    ("listener.backlog", Goal::Smallest(0)),
    ("listener.somaxconn", Goal::Smallest(1)),
    ("pool.client_limit", Goal::Smallest(1)),
    ("pool.process_min_avail", Goal::Smallest(0)),
    ("load.rate", Goal::Largest),
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The smallest whole value, starting from this one.
    Smallest(u64),
    Largest,
}

/// Metrics a target may name.
const METRICS: &[&str] = &[
    "refusal_probability",
    "failure_probability",
    "latency_s_mean",
    "latency_s_p50",
    "latency_s_p90",
    "latency_s_p99",
    "latency_s_p999",
];

/// `METRIC<=X`.
#[derive(Debug, Clone, PartialEq)]
pub struct Objective {
    pub metric: String,
    pub bound: f64,
}

impl Objective {
    pub fn parse(raw: &str) -> Result<Objective, BadInput> {
        let bad = |why: &str| {
            BadInput(format!(
                "--target '{}': {why}. Write METRIC<=X with METRIC one of {}, \
                 for example --target 'refusal_probability<=0.001'",
                crate::error::quoted(raw),
                METRICS.join(", ")
            ))
        };
        let (metric, bound) = raw
            .split_once("<=")
            .ok_or_else(|| bad("the target must have the form METRIC<=X"))?;
        let metric = metric.trim();
        if !METRICS.contains(&metric) {
            return Err(bad(&format!(
                "`{}` is not a metric a plan can meet",
                crate::error::quoted(metric)
            )));
        }
        let bound: f64 = bound
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| bad("X must be a number >= 0"))?;
        Ok(Objective {
            metric: metric.to_string(),
            bound,
        })
    }
}

/// A metric's estimate at one value: mean and, for probabilities, the interval.
#[derive(Debug, Clone, Copy)]
pub struct Eval {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

impl Eval {
    fn of(s: &Summary, metric: &str) -> Eval {
        let point = |x: f64| Eval {
            mean: x,
            low: x,
            high: x,
        };
        match metric {
            "refusal_probability" | "failure_probability" => {
                let e = if metric == "refusal_probability" {
                    s.refusal_probability
                } else {
                    s.failure_probability
                };
                if e.ci_low.is_finite() {
                    Eval {
                        mean: e.mean,
                        low: e.ci_low,
                        high: e.ci_high,
                    }
                } else {
                    point(e.mean)
                }
            }
            // No interval for latencies: with nothing served they are unknown, so a
            // value that serves nothing never meets a latency target.
            m if s.served == 0 && m.starts_with("latency") => point(f64::INFINITY),
            "latency_s_mean" => point(s.latency_s.mean),
            "latency_s_p50" => point(s.latency_s.p50),
            "latency_s_p90" => point(s.latency_s.p90),
            "latency_s_p99" => point(s.latency_s.p99),
            _ => point(s.latency_s.p999),
        }
    }
}

/// The search: `evaluate` simulates the model with the solved path at a value.
struct Planner<F> {
    evaluate: F,
    /// The rate above which a run would exceed its budget (sim.max_connections).
    rate_ceiling: f64,
    metric: String,
    evaluated: BTreeMap<String, (f64, Eval)>,
}

impl<F: FnMut(toml::Value) -> Result<Summary, BadInput>> Planner<F> {
    fn eval(&mut self, value: toml::Value, x: f64) -> Result<Eval, BadInput> {
        let key = value.to_string();
        if let Some((_, e)) = self.evaluated.get(&key) {
            return Ok(*e);
        }
        let summary = (self.evaluate)(value)?;
        let e = Eval::of(&summary, &self.metric);
        self.evaluated.insert(key, (x, e));
        Ok(e)
    }

    fn eval_int(&mut self, v: u64) -> Result<Eval, BadInput> {
        self.eval(toml::Value::Integer(v as i64), v as f64)
    }

    fn eval_rate(&mut self, r: f64) -> Result<Eval, BadInput> {
        self.eval(toml::Value::Float(r), r)
    }

    /// The smallest whole v >= from with `ok(v)`, assuming ok is monotone in v.
    fn smallest(
        &mut self,
        from: u64,
        max: u64,
        ok: impl Fn(&Eval) -> bool,
    ) -> Result<Option<u64>, BadInput> {
        if ok(&self.eval_int(from)?) {
            return Ok(Some(from));
        }
        let (mut bad, mut good) = (from, None);
        let mut step = 1;
        while good.is_none() {
            let v = (bad + step).min(max);
            if ok(&self.eval_int(v)?) {
                good = Some(v);
            } else if v == max {
                return Ok(None);
            } else {
                bad = v;
                step *= 2;
            }
        }
        let mut good = good.expect("found");
        while good - bad > 1 {
            let mid = bad + (good - bad) / 2;
            if ok(&self.eval_int(mid)?) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Ok(Some(good))
    }

    /// The largest rate with `ok(rate)`, to a relative tolerance of 1e-3.
    fn largest_rate(
        &mut self,
        start: f64,
        ok: impl Fn(&Eval) -> bool,
    ) -> Result<Option<f64>, BadInput> {
        let (mut good, mut bad);
        if ok(&self.eval_rate(start)?) {
            good = start;
            bad = start * 2.0;
            loop {
                if bad > start * 1e9 || bad > self.rate_ceiling {
                    return Ok(Some(f64::INFINITY));
                }
                if !ok(&self.eval_rate(bad)?) {
                    break;
                }
                good = bad;
                bad *= 2.0;
            }
        } else {
            bad = start;
            good = start / 2.0;
            while !ok(&self.eval_rate(good)?) {
                bad = good;
                good /= 2.0;
                if good < start * 1e-9 {
                    return Ok(None);
                }
            }
        }
        while (bad - good) / good > 1e-3 {
            let mid = (good + bad) / 2.0;
            if ok(&self.eval_rate(mid)?) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Ok(Some(good))
    }
}

/// What a plan found: every value it simulated, and the answer.
#[derive(Debug, Clone)]
pub struct Plan {
    pub path: &'static str,
    pub goal: Goal,
    pub target: Objective,
    /// (value, estimate) in increasing value.
    pub evaluations: Vec<(f64, Eval)>,
    /// The value whose 95 % interval meets the target (None: no value does).
    pub answer: Option<f64>,
    /// The value whose mean alone meets it.
    pub by_mean: Option<f64>,
}

/// Solves `scenario` for the path `solve` against the target `METRIC<=X`; limits are
/// tried up to `max`.
pub fn solve(scenario: &Scenario, solve: &str, target: &str, max: u64) -> Result<Plan> {
    let target = Objective::parse(target)?;
    let Some(&(path, goal)) = SOLVABLE.iter().find(|(p, _)| *p == solve) else {
        crate::bad_input!(
            "--solve {}: a plan solves for one of {}",
            crate::error::quoted(solve),
            SOLVABLE
                .iter()
                .map(|(p, _)| *p)
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if scenario.overrides.iter().any(|o| o.path == path) {
        crate::bad_input!(
            "--set {path} and --solve {path}: a plan chooses {path} itself; drop the --set"
        );
    }
    let loaded = &scenario.loaded;
    let name = loaded.file.display().to_string();
    let base = loaded.file.parent().unwrap_or(Path::new("."));
    let evaluate = |value: toml::Value| -> Result<Summary, BadInput> {
        let mut o: Vec<Override> = scenario.overrides.clone();
        o.push(Override {
            path: path.to_string(),
            origin: format!("plan --solve {path}={value}"),
            value,
        });
        let m = model::load_str(&loaded.text, &name, base, &o)?;
        Ok(run_point(&Compiled::new(&m), &scenario.options)?.summary)
    };
    let m = &loaded.model;
    let rate_ceiling = match (m.load.connections, m.load.duration) {
        (None, Some(d)) => m.sim.max_connections as f64 / d,
        _ => f64::INFINITY,
    };
    let mut planner = Planner {
        evaluate,
        rate_ceiling,
        metric: target.metric.clone(),
        evaluated: BTreeMap::new(),
    };
    let bound = target.bound;
    let surely = move |e: &Eval| e.high <= bound;
    let on_mean = move |e: &Eval| e.mean <= bound;
    let (answer, by_mean) = match goal {
        Goal::Smallest(from) => {
            if max < from {
                crate::bad_input!("--max {max}: must be at least {from}");
            }
            let a = planner.smallest(from, max, surely)?;
            let m = planner.smallest(from, max, on_mean)?;
            (a.map(|v| v as f64), m.map(|v| v as f64))
        }
        Goal::Largest => {
            let start = loaded.model.load.rate;
            let a = planner.largest_rate(start, surely)?;
            let m = planner.largest_rate(start, on_mean)?;
            (a, m)
        }
    };
    let mut evaluations: Vec<(f64, Eval)> = planner.evaluated.into_values().collect();
    evaluations.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(Plan {
        path,
        goal,
        target,
        evaluations,
        answer,
        by_mean,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_what_is_allowed() {
        let t = Objective::parse("refusal_probability<=0.001").unwrap();
        assert_eq!(t.metric, "refusal_probability");
        assert_eq!(t.bound, 0.001);
        assert!(Objective::parse("refusal_rate<=1")
            .unwrap_err()
            .0
            .contains("not a metric"));
        assert!(Objective::parse("refusal_probability<0.1")
            .unwrap_err()
            .0
            .contains("METRIC<=X"));
        assert!(Objective::parse("latency_s_p99<=-1")
            .unwrap_err()
            .0
            .contains(">= 0"));
    }
}
