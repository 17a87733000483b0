//! `eagain plan`: the smallest limit (process_limit, backlog, somaxconn, client_limit,
//! process_min_avail) or the largest load.rate that meets a target such as
//! `refusal_probability<=0.001`. The search uses the confidence intervals: the answer
//! is the value whose 95 % interval lies wholly within the target, and when the
//! estimate's mean would already meet it at a neighbouring value, the plan says the
//! answer is uncertain between the two.

use crate::cli::PlanArgs;
use crate::commands::{load_model, print};
use crate::error::BadInput;
use crate::model::{self, Model, Override};
use crate::server::Compiled;
use crate::simulate::{run_point, RunOptions};
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
enum Goal {
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
pub struct Target {
    pub metric: String,
    pub bound: f64,
}

impl Target {
    pub fn parse(raw: &str) -> Result<Target, BadInput> {
        let bad = |why: &str| {
            BadInput(format!(
                "--target '{raw}': {why}. Write METRIC<=X with METRIC one of {}, \
                 for example --target 'refusal_probability<=0.001'",
                METRICS.join(", ")
            ))
        };
        let (metric, bound) = raw
            .split_once("<=")
            .ok_or_else(|| bad("the target must have the form METRIC<=X"))?;
        let metric = metric.trim();
        if !METRICS.contains(&metric) {
            return Err(bad(&format!("`{metric}` is not a metric a plan can meet")));
        }
        let bound: f64 = bound
            .trim()
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| bad("X must be a number >= 0"))?;
        Ok(Target {
            metric: metric.to_string(),
            bound,
        })
    }
}

/// A metric's estimate at one value: mean and, for probabilities, the interval.
#[derive(Debug, Clone, Copy)]
struct Eval {
    mean: f64,
    low: f64,
    high: f64,
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

struct Planner<'a> {
    text: &'a str,
    file: &'a Path,
    sets: &'a [Override],
    path: &'a str,
    target: Target,
    options: RunOptions,
    evaluated: BTreeMap<String, (f64, Eval)>,
}

impl Planner<'_> {
    fn model_at(&self, value: toml::Value) -> Result<Model, BadInput> {
        let mut o = self.sets.to_vec();
        o.push(Override {
            path: self.path.to_string(),
            origin: format!("plan --solve {}={value}", self.path),
            value,
        });
        let base = self.file.parent().unwrap_or(Path::new("."));
        model::load_str(self.text, &self.file.display().to_string(), base, &o)
    }

    fn eval(&mut self, value: toml::Value, x: f64) -> Result<Eval, BadInput> {
        let key = value.to_string();
        if let Some((_, e)) = self.evaluated.get(&key) {
            return Ok(*e);
        }
        let m = self.model_at(value)?;
        let r = run_point(&Compiled::new(&m), &self.options);
        let e = Eval::of(&r.summary, &self.target.metric);
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
            while ok(&self.eval_rate(bad)?) {
                good = bad;
                bad *= 2.0;
                if bad > start * 1e9 {
                    return Ok(Some(f64::INFINITY));
                }
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

pub fn plan_command(args: PlanArgs) -> Result<()> {
    let l = load_model(&args.model)?;
    let target = Target::parse(&args.target)?;
    let Some(&(path, goal)) = SOLVABLE.iter().find(|(p, _)| *p == args.solve) else {
        crate::bad_input!(
            "--solve {}: a plan solves for one of {}",
            args.solve,
            SOLVABLE
                .iter()
                .map(|(p, _)| *p)
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if l.overrides.iter().any(|o| o.path == path) {
        crate::bad_input!(
            "--set {path} and --solve {path}: a plan chooses {path} itself; drop the --set"
        );
    }
    let bound = target.bound;
    let mut planner = Planner {
        text: &l.loaded.text,
        file: &l.loaded.file,
        sets: &l.overrides,
        path,
        target: target.clone(),
        options: l.options,
        evaluated: BTreeMap::new(),
    };
    let surely = move |e: &Eval| e.high <= bound;
    let on_mean = move |e: &Eval| e.mean <= bound;
    let (answer, by_mean) = match goal {
        Goal::Smallest(from) => {
            if args.max < from {
                crate::bad_input!("--max {}: must be at least {from}", args.max);
            }
            let a = planner.smallest(from, args.max, surely)?;
            let m = planner.smallest(from, args.max, on_mean)?;
            (a.map(|v| v as f64), m.map(|v| v as f64))
        }
        Goal::Largest => {
            let start = l.loaded.model.load.rate;
            let a = planner.largest_rate(start, surely)?;
            let m = planner.largest_rate(start, on_mean)?;
            (a, m)
        }
    };
    let mut text = format!(
        "{} evaluations of {} ({} replications each, seed {}):\n",
        planner.evaluated.len(),
        l.loaded.file.display(),
        l.options.replications,
        l.options.seed
    );
    let mut rows: Vec<&(f64, Eval)> = planner.evaluated.values().collect();
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (x, e) in rows {
        let interval = if e.low < e.high {
            format!(" (95 % CI {:.6} to {:.6})", e.low, e.high)
        } else {
            String::new()
        };
        text += &format!(
            "  {path}={x}: {} {:.6}{interval}{}\n",
            target.metric,
            e.mean,
            if e.high <= bound {
                "  meets the target"
            } else {
                ""
            }
        );
    }
    let Some(answer) = answer else {
        let limit = match goal {
            Goal::Smallest(_) => format!("{path}={} (raise --max)", args.max),
            Goal::Largest => "any rate down to a billionth of the model's".to_string(),
        };
        return Err(anyhow::anyhow!(
            "no value meets {}<={bound}: not even {limit}",
            target.metric
        ));
    };
    match by_mean {
        Some(m) if m != answer => {
            text += &format!(
                "uncertain between {path}={m} and {path}={answer}: the estimate at {m} meets \
                 the target on average but its 95 % interval reaches above {bound}; \
                 the answer below is the one the interval guarantees (more --replications \
                 narrow the gap)\n"
            );
        }
        _ => {}
    }
    if !target.metric.ends_with("probability") {
        text += "note: latency percentiles have no confidence interval here; the answer is as \
                 good as the run length allows\n";
    }
    let shown = match goal {
        Goal::Smallest(_) => format!("{}", answer as u64),
        Goal::Largest if answer.is_infinite() => "inf".to_string(),
        Goal::Largest => format!("{answer:.6}"),
    };
    text += &format!("{path}={shown}\n");
    print(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_bad_ones_say_what_is_allowed() {
        let t = Target::parse("refusal_probability<=0.001").unwrap();
        assert_eq!(t.metric, "refusal_probability");
        assert_eq!(t.bound, 0.001);
        assert!(Target::parse("refusal_rate<=1")
            .unwrap_err()
            .0
            .contains("not a metric"));
        assert!(Target::parse("refusal_probability<0.1")
            .unwrap_err()
            .0
            .contains("METRIC<=X"));
        assert!(Target::parse("latency_s_p99<=-1")
            .unwrap_err()
            .0
            .contains(">= 0"));
    }
}
