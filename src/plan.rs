//! `eagain plan`: the smallest limit of any service (process_limit, backlog, somaxconn,
//! client_limit, threads, process_min_avail) or the largest load.rate that meets a
//! target such as `refusal_probability<=0.001` (SPEC section 12).
//!
//! The answer is a value whose 95 % interval lies wholly within the target. A value at
//! which no replication saw a refusal has the interval [0, bound] of `Probability`, the
//! bound from the connections offered: it meets a target only above that bound, and
//! when the target is below it the plan says how many replications would show it (or
//! the rare-event mode, `sim.rare`). When the estimate's mean alone would meet the
//! target at a smaller value, the plan says the answer is uncertain between the two.
//!
//! A limit's search starts at the smallest value the model allows: process_limit at
//! least process_min_avail and, for a spare-server master, what its family does with
//! spare settings above the limit (`Family::spares_at_limit`: PHP-FPM refuses them, so
//! the search starts where PHP-FPM does; Apache behaves as if they were clamped, so the
//! plan clamps them), each said in the plan's notes. `spare_overrides` is that rule for
//! a sweep too. A rate's search stops at 1 % relative width, and warns when the rate it
//! answers is above what the pool serves for long (the target then holds only because
//! the arrivals end).

use crate::error::BadInput;
use crate::families::{SpareFit, SpareRule};
use crate::model::{self, Model, Override, Service};
use crate::replicate::{run_point, Scenario};
use crate::server::Compiled;
use crate::stats::{trials_to_bound, Summary};
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The limits of a service a plan solves for, with the smallest value each may take
/// before the model's own rules (process_min_avail, spares, threads) raise it.
const LIMITS: &[(&str, u64)] = &[
    ("pool.process_limit", 1),
    ("listener.backlog", 0),
    ("listener.somaxconn", 1),
    ("pool.client_limit", 1),
    ("pool.threads", 1),
    ("pool.process_min_avail", 0),
];

/// The rate's search stops when its bracket is this narrow, relative to the rate: the
/// estimates' own intervals are rarely narrower.
const RATE_TOLERANCE: f64 = 0.01;

/// The confidence of the intervals and bounds a plan reads.
const CONFIDENCE: f64 = 0.95;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// The smallest whole value of a service's limit (`service` indexes the model's).
    Smallest { service: usize },
    /// The largest load.rate.
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
    /// X as the user wrote it ("1e-7").
    pub written: String,
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
            written: raw
                .split_once("<=")
                .map_or("", |(_, b)| b)
                .trim()
                .to_string(),
        })
    }

    /// As the user writes it: `refusal_probability<=0.001`.
    pub fn text(&self) -> String {
        format!("{}<={}", self.metric, self.written)
    }

    fn is_probability(&self) -> bool {
        self.metric.ends_with("probability")
    }
}

/// A metric's estimate at one value: mean and, for probabilities, the interval, with
/// the exposure behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eval {
    pub mean: f64,
    pub low: f64,
    /// The interval's top: for "none seen" the bound from the exposure; infinite for a
    /// probability with no interval (one replication that saw some).
    pub high: f64,
    /// No replication saw one (probabilities only).
    pub none_seen: bool,
    /// Connections offered over all replications, and the replications.
    pub offered: u64,
    pub replications: u32,
}

impl Eval {
    fn of(s: &Summary, replications: u32, metric: &str) -> Eval {
        let point = |x: f64| Eval {
            mean: x,
            low: x,
            high: x,
            none_seen: false,
            offered: s.offered,
            replications,
        };
        match metric {
            "refusal_probability" | "failure_probability" => {
                let p = if metric == "refusal_probability" {
                    s.refusal_probability
                } else {
                    s.failure_probability
                };
                let defined = p.ci_high.is_finite();
                Eval {
                    mean: p.mean,
                    low: if defined { p.ci_low } else { p.mean },
                    // Nothing offered, or one replication: nothing is shown.
                    high: if defined && !p.mean.is_nan() {
                        p.ci_high
                    } else {
                        f64::INFINITY
                    },
                    none_seen: p.none_seen,
                    offered: s.offered,
                    replications,
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

/// One value a plan simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub value: f64,
    pub eval: Eval,
    /// Its 95 % interval lies within the target.
    pub met: bool,
    /// The served connections per second of observed time (for the rate's warning).
    pub throughput_per_s: f64,
}

/// What a plan found: every value it simulated, the answer, and what a person must
/// know to trust it.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The solved path, as the model's file writes it.
    pub path: String,
    pub goal: Goal,
    pub target: Objective,
    /// In increasing value.
    pub evaluations: Vec<Evaluation>,
    /// The value whose 95 % interval meets the target (None: no value does).
    pub answer: Option<f64>,
    /// The value whose mean alone meets it.
    pub by_mean: Option<f64>,
    /// The range a limit's search covered (a rate's: 0 to infinity).
    pub lowest: f64,
    pub highest: f64,
    /// Why the search starts where it does, what was done with spare settings.
    pub notes: Vec<String>,
    /// What the answer holds only under (a rate above the pool's capacity).
    pub warnings: Vec<String>,
    /// With no answer: why, and what would give one.
    pub reason: Option<String>,
}

impl Plan {
    /// The answer as the last line prints it: a whole number for a limit.
    pub fn value_text(&self, x: f64) -> String {
        match self.goal {
            Goal::Smallest { .. } => format!("{}", x as u64),
            Goal::Largest if x.is_infinite() => "inf".to_string(),
            Goal::Largest => format!("{}", round_sig(x, 6)),
        }
    }
}

/// What a plan solves: the path as the user gave it, and where it points.
fn resolve(model: &Model, raw: &str) -> Result<(String, Goal), BadInput> {
    if raw == "load.rate" {
        return Ok((raw.to_string(), Goal::Largest));
    }
    for (i, s) in model.services.iter().enumerate() {
        for (field, _) in LIMITS {
            if s.path(field) == raw {
                return Ok((raw.to_string(), Goal::Smallest { service: i }));
            }
        }
    }
    let paths: Vec<String> = model
        .services
        .iter()
        .flat_map(|s| LIMITS.iter().map(|(f, _)| s.path(f)))
        .chain(["load.rate".to_string()])
        .collect();
    if model.is_chain() && LIMITS.iter().any(|(f, _)| *f == raw) {
        let named: Vec<String> = model.services.iter().map(|s| s.path(raw)).collect();
        return Err(BadInput(format!(
            "--solve {raw}: this model is a chain of services, so name the service: {} (or \
             any other limit of a service as services.NAME.FIELD, or load.rate)",
            named.join(" or ")
        )));
    }
    Err(BadInput(format!(
        "--solve {}: a plan of this model solves for one of {}",
        crate::error::quoted(raw),
        paths.join(", ")
    )))
}

/// The field of a service a path names ("pool.process_limit").
fn field_of<'a>(service: &Service, path: &'a str) -> &'a str {
    if service.name.is_empty() {
        path
    } else {
        path.split_once('.')
            .and_then(|(_, rest)| rest.split_once('.'))
            .map_or(path, |(_, field)| field)
    }
}

/// The spare settings a sweep or a plan sets with `PATH=n` when PATH is a service's
/// `pool.process_limit` below its spare settings: the family's fit
/// (`Family::spares_at_limit`) and the overrides that write it, named by `origin`.
pub(crate) fn spare_overrides(
    model: &Model,
    path: &str,
    n: u32,
    origin: &str,
) -> Option<(SpareFit, Vec<Override>)> {
    let service = model
        .services
        .iter()
        .find(|s| s.path("pool.process_limit") == path)?;
    let fit = service.spares_at_limit(n)?;
    let overrides = fit
        .changes
        .iter()
        .map(|(field, _, to)| Override {
            path: service.path(field),
            value: toml::Value::Integer(i64::from(*to)),
            origin: format!("{origin} (spare settings for it)"),
        })
        .collect();
    Some((fit, overrides))
}

/// The changes of a fit, as the model's paths: `pool.max_spare 3 -> 2`.
pub(crate) fn changes_text(model: &Model, path: &str, fit: &SpareFit) -> String {
    let service = model
        .services
        .iter()
        .find(|s| s.path("pool.process_limit") == path);
    fit.changes
        .iter()
        .map(|(field, from, to)| {
            let p = service.map_or(field.to_string(), |s| s.path(field));
            format!("{p} {from} -> {to}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The smallest and largest value of a service's limit the model allows, the notes
/// that say why the search starts above the field's own minimum, and what bounds it
/// below --max when something does.
fn limit_range(
    model: &Model,
    service: usize,
    path: &str,
    max: u64,
) -> (u64, u64, Vec<String>, Option<String>) {
    let s = &model.services[service];
    let field = field_of(s, path);
    let own = LIMITS
        .iter()
        .find(|(f, _)| *f == field)
        .map_or(0, |(_, m)| *m);
    let mut notes = Vec::new();
    let mut ceiling = None;
    let (mut lowest, mut highest) = (own, max);
    match field {
        "pool.process_limit" => {
            let avail = u64::from(s.pool.process_min_avail);
            if avail > lowest {
                lowest = avail;
                notes.push(format!(
                    "{path} starts at {avail}: {} = {avail} idle processes need that many",
                    s.path("pool.process_min_avail")
                ));
            }
            if let Some(fit) = s.spares_at_limit(lowest as u32) {
                if let SpareRule::Refused { smallest } = fit.rule {
                    lowest = lowest.max(u64::from(smallest));
                    notes.push(format!(
                        "{path} starts at {lowest}: {}; to plan below {lowest}, lower {} \
                         with --set",
                        fit.why,
                        s.path("pool.max_spare")
                    ));
                }
            }
            highest = highest.min(u64::from(model::MAX_PROCESSES));
        }
        "pool.client_limit" => {
            let threads = u64::from(s.pool.threads);
            if threads > lowest {
                lowest = threads;
                notes.push(format!(
                    "{path} starts at {threads}: {} = {threads} threads work on that many \
                     connections at once",
                    s.path("pool.threads")
                ));
            }
        }
        "pool.threads" => {
            let c = u64::from(s.pool.client_limit);
            if c < highest {
                highest = c;
                ceiling = Some(format!(
                    "a process works on at most {} = {c} connections at once; solve {} \
                     instead",
                    s.path("pool.client_limit"),
                    s.path("pool.client_limit")
                ));
            }
        }
        "pool.process_min_avail" => {
            let c = u64::from(s.pool.process_limit);
            if c < highest {
                highest = c;
                ceiling = Some(format!(
                    "no more processes can be kept idle than {} = {c}; solve {} instead",
                    s.path("pool.process_limit"),
                    s.path("pool.process_limit")
                ));
            }
        }
        "listener.backlog" => highest = highest.min(i32::MAX as u64),
        _ => {}
    }
    highest = highest.min(u64::from(u32::MAX));
    (lowest, highest, notes, ceiling)
}

/// The search: `evaluate` simulates the model with the solved path at a value.
struct Planner<F> {
    evaluate: F,
    /// The rate above which a run would exceed its budget (sim.max_connections).
    rate_ceiling: f64,
    metric: String,
    evaluated: BTreeMap<String, (f64, Eval, f64)>,
}

impl<F: FnMut(toml::Value) -> Result<(Summary, u32), BadInput>> Planner<F> {
    fn eval(&mut self, value: toml::Value, x: f64) -> Result<Eval, BadInput> {
        let key = value.to_string();
        if let Some((_, e, _)) = self.evaluated.get(&key) {
            return Ok(*e);
        }
        let (summary, replications) = (self.evaluate)(value)?;
        let e = Eval::of(&summary, replications, &self.metric);
        self.evaluated.insert(key, (x, e, summary.throughput_per_s));
        Ok(e)
    }

    fn eval_int(&mut self, v: u64) -> Result<Eval, BadInput> {
        self.eval(toml::Value::Integer(v as i64), v as f64)
    }

    fn eval_rate(&mut self, r: f64) -> Result<Eval, BadInput> {
        self.eval(toml::Value::Float(r), r)
    }

    /// The smallest whole v in [from, max] with `ok(v)`, assuming ok is monotone in v.
    /// The search gives up at a value where `hopeless`: one that fails the target in a
    /// way no larger value can do better (none seen, its bound above the target: a
    /// larger limit offers the same connections, so the same bound).
    fn smallest(
        &mut self,
        from: u64,
        max: u64,
        ok: impl Fn(&Eval) -> bool,
        hopeless: impl Fn(&Eval) -> bool,
    ) -> Result<Option<u64>, BadInput> {
        let first = self.eval_int(from)?;
        if ok(&first) {
            return Ok(Some(from));
        }
        if from >= max || hopeless(&first) {
            return Ok(None);
        }
        let (mut bad, mut good) = (from, None);
        let mut step = 1;
        while good.is_none() {
            let v = bad.saturating_add(step).min(max);
            let e = self.eval_int(v)?;
            if ok(&e) {
                good = Some(v);
            } else if v == max || hopeless(&e) {
                return Ok(None);
            } else {
                bad = v;
                step = step.saturating_mul(2);
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

    /// The largest rate with `ok(rate)`, to a relative width of `RATE_TOLERANCE`. Going
    /// down, it gives up at a rate where `hopeless` (none seen, the bound above the
    /// target: a lower rate offers fewer connections, so a larger bound).
    fn largest_rate(
        &mut self,
        start: f64,
        ok: impl Fn(&Eval) -> bool,
        hopeless: impl Fn(&Eval) -> bool,
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
            loop {
                let e = self.eval_rate(good)?;
                if ok(&e) {
                    break;
                }
                if hopeless(&e) {
                    return Ok(None);
                }
                bad = good;
                good /= 2.0;
                if good < start * 1e-9 {
                    return Ok(None);
                }
            }
        }
        while (bad - good) / good > RATE_TOLERANCE {
            // Rounded to 4 significant digits: the answer reads as a rate, and the
            // bracket is never narrower than a hundredth of it.
            let mid = round_sig((good + bad) / 2.0, 4);
            let mid = if mid > good && mid < bad {
                mid
            } else {
                (good + bad) / 2.0
            };
            if ok(&self.eval_rate(mid)?) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        Ok(Some(good))
    }
}

/// `x` to `digits` significant digits.
fn round_sig(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits - 1 - x.abs().log10().floor() as i32);
    (x * scale).round() / scale
}

/// Solves `scenario` for the path `solve` against the target `METRIC<=X`; limits are
/// tried up to `max`.
pub fn solve(scenario: &Scenario, solve: &str, target: &str, max: u64) -> Result<Plan> {
    let target = Objective::parse(target)?;
    let loaded = &scenario.loaded;
    let m = &loaded.model;
    let (path, goal) = resolve(m, solve)?;
    if scenario.overrides.iter().any(|o| o.path == path) {
        crate::bad_input!(
            "--set {path} and --solve {path}: a plan chooses {path} itself; drop the --set"
        );
    }
    let mut ceiling = None;
    let (lowest, highest, mut notes) = match goal {
        Goal::Smallest { service } => {
            let own = LIMITS
                .iter()
                .find(|(f, _)| *f == field_of(&m.services[service], &path))
                .map_or(0, |(_, v)| *v);
            if max < own {
                crate::bad_input!("--max {max}: must be at least {own}");
            }
            let (lo, hi, notes, bounded) = limit_range(m, service, &path, max);
            ceiling = bounded;
            if hi < lo {
                crate::bad_input!(
                    "--solve {path}: the model allows no value from {lo} to {hi}{}",
                    if max < lo {
                        format!(" (raise --max to at least {lo})")
                    } else {
                        String::new()
                    }
                );
            }
            (lo as f64, hi as f64, notes)
        }
        Goal::Largest => (0.0, f64::INFINITY, Vec::new()),
    };
    let name = loaded.file.display().to_string();
    let base = loaded.file.parent().unwrap_or(Path::new("."));
    // The values at which a spare-server master's settings were clamped to the limit.
    let mut clamped: BTreeMap<u64, SpareFit> = BTreeMap::new();
    let evaluate = |value: toml::Value| -> Result<(Summary, u32), BadInput> {
        let origin = format!("plan --solve {path}={value}");
        let mut o: Vec<Override> = scenario.overrides.clone();
        o.push(Override {
            path: path.clone(),
            origin: origin.clone(),
            value: value.clone(),
        });
        if let Some(n) = value.as_integer().and_then(|n| u32::try_from(n).ok()) {
            if let Some((fit, spares)) = spare_overrides(m, &path, n, &origin) {
                if fit.rule == SpareRule::Clamped {
                    o.extend(spares);
                    clamped.insert(u64::from(n), fit);
                }
            }
        }
        let model = model::load_str(&loaded.text, &name, base, &o).map_err(|e| {
            BadInput(format!(
                "plan --solve {path}: at {path}={value} the model is refused: {}",
                e.0
            ))
        })?;
        let r = run_point(&Compiled::new(&model), &scenario.options)?;
        Ok((r.summary, r.replications))
    };
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
    let hopeless = move |e: &Eval| e.none_seen && e.high > bound;
    let (answer, by_mean) = match goal {
        Goal::Smallest { .. } => {
            let (lo, hi) = (lowest as u64, highest as u64);
            let a = planner.smallest(lo, hi, surely, hopeless)?;
            let b = planner.smallest(lo, hi, on_mean, |_| false)?;
            (a.map(|v| v as f64), b.map(|v| v as f64))
        }
        Goal::Largest => {
            let start = m.load.rate;
            let a = planner.largest_rate(start, surely, hopeless)?;
            let b = planner.largest_rate(start, on_mean, |_| false)?;
            (a, b)
        }
    };
    let mut evaluations: Vec<Evaluation> = planner
        .evaluated
        .into_values()
        .map(|(value, eval, throughput_per_s)| Evaluation {
            value,
            eval,
            met: eval.high <= bound,
            throughput_per_s,
        })
        .collect();
    evaluations.sort_by(|a, b| a.value.total_cmp(&b.value));
    if let Some((first, fit)) = clamped.iter().next() {
        let last = clamped.keys().next_back().expect("one at least");
        let at = if first == last {
            format!("{path}={first}")
        } else {
            format!("{path}={first} to {last}")
        };
        let service = m
            .services
            .iter()
            .find(|s| s.path("pool.process_limit") == path);
        let fields: Vec<String> = fit
            .changes
            .iter()
            .map(|(f, _, _)| service.map_or(f.to_string(), |s| s.path(f)))
            .collect();
        notes.push(format!(
            "at {at}: {}; the plan takes each of {} that is above the limit as the limit, \
             which behaves the same",
            fit.why,
            fields.join(", ")
        ));
    }
    let mut plan = Plan {
        path,
        goal,
        target,
        evaluations,
        answer,
        by_mean,
        lowest,
        highest,
        notes,
        warnings: Vec::new(),
        reason: None,
    };
    if plan.answer.is_none() {
        plan.reason = Some(no_answer(&plan, scenario, ceiling));
    }
    if let (Goal::Largest, Some(rate)) = (goal, plan.answer) {
        if let Some(w) = above_capacity(m, rate) {
            plan.warnings.push(w);
        }
    }
    Ok(plan)
}

/// Why no value met the target, and what would: more replications when the values
/// that saw nothing cannot show a target below their bound, else a larger --max.
fn no_answer(plan: &Plan, scenario: &Scenario, ceiling: Option<String>) -> String {
    let t = &plan.target;
    // The smallest limit (the largest rate) that saw none: the one to run longer.
    let mut hidden = plan
        .evaluations
        .iter()
        .filter(|e| e.eval.none_seen && !e.met);
    let hidden = match plan.goal {
        Goal::Smallest { .. } => hidden.next(),
        Goal::Largest => hidden.next_back(),
    };
    if let (Some(e), true) = (hidden, t.is_probability()) {
        let per_rep = e.eval.offered as f64 / f64::from(e.eval.replications.max(1));
        let needed = trials_to_bound(t.bound, CONFIDENCE);
        let reps = (needed / per_rep).ceil();
        let more = if reps <= f64::from(model::MAX_REPLICATIONS) {
            format!("about {reps:.0} replications of this length (--replications {reps:.0}), or")
        } else {
            format!(
                "more than the {} replications a point may run: a longer load.duration \
                 (each replication's connections count), or",
                model::MAX_REPLICATIONS
            )
        };
        let value = plan.value_text(e.value);
        return format!(
            "no value can show {} with these runs: at {}={value} no replication saw a {} \
             ({} connections offered in {} replications), and that only shows it is below \
             {:.2e} (95 % upper bound, about 3/offered); showing {} takes about {needed:.2e} \
             connections with none refused: {more} the rare-event mode (--set sim.rare=true)",
            t.text(),
            plan.path,
            if t.metric == "refusal_probability" {
                "refusal"
            } else {
                "failure"
            },
            e.eval.offered,
            e.eval.replications,
            e.eval.high,
            t.written,
        );
    }
    if plan
        .evaluations
        .iter()
        .any(|e| e.eval.high.is_infinite() && e.eval.mean.is_finite())
        && t.is_probability()
        && scenario.options.replications < 2
    {
        return format!(
            "no value shows {}: one replication gives no interval; run at least 2 \
             (--replications 10)",
            t.text()
        );
    }
    match plan.goal {
        Goal::Smallest { .. } => {
            // Stopped falling: the last doubling changed it by less than a tenth.
            let n = plan.evaluations.len();
            let last = &plan.evaluations[n - 1];
            let before = n.checked_sub(2).map(|i| &plan.evaluations[i]);
            let at = |e: &Evaluation| format!("{:.4} at {}", e.eval.mean, plan.value_text(e.value));
            if let Some(b) = before.filter(|b| last.eval.mean >= 0.9 * b.eval.mean) {
                format!(
                    "no value meets {}: {} stops falling as {} grows ({}, {}): another \
                     setting limits this model; solve for another of its limits, or look at \
                     where it refuses with eagain simulate",
                    t.text(),
                    t.metric,
                    plan.path,
                    at(b),
                    at(last)
                )
            } else if let Some(c) = ceiling {
                format!(
                    "no value meets {}: not even {}={}, the most the model allows: {c}",
                    t.text(),
                    plan.path,
                    plan.value_text(plan.highest)
                )
            } else {
                format!(
                    "no value meets {}: not even {}={} ({}); raise --max",
                    t.text(),
                    plan.path,
                    plan.value_text(plan.highest),
                    at(last)
                )
            }
        }
        Goal::Largest => format!(
            "no value meets {}: not even a rate a billion times smaller than the model's; \
             a limit of the model must change first (plan --solve pool.process_limit)",
            t.text()
        ),
    }
}

/// The warning of a rate above what the pool serves for long: then the queue grows
/// for as long as the arrivals last, and the target holds only because load.duration
/// ends before the queue fills or the clients time out. The capacity is each service's
/// process_limit x threads / mean blocking time (connections a second its processes
/// finish when all are busy), the smallest over a chain's services.
fn above_capacity(m: &Model, rate: f64) -> Option<String> {
    // The profile's highest factor over the arrival window (before its first point,
    // the first factor holds).
    let window = m.arrival_window();
    let peak = m.load.profile.as_ref().map_or(1.0, |p| {
        p.points
            .iter()
            .enumerate()
            .filter(|(i, [t, _])| *i == 0 || *t < window)
            .map(|(_, [_, f])| *f)
            .fold(0.0, f64::max)
    });
    let (service, capacity) = m
        .services
        .iter()
        .map(|s| {
            let b = s.work.blocking.mean();
            let c = f64::from(s.pool.process_limit) * f64::from(s.pool.threads) / b;
            (s, if b > 0.0 { c } else { f64::INFINITY })
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))?;
    let offered = rate * peak;
    if !(rate.is_finite() && offered > capacity) {
        return None;
    }
    let window = match (m.load.duration, m.load.connections) {
        (Some(d), _) => format!("load.duration = {} s", crate::plot::fmt_number(d, 4)),
        _ => "load.connections".to_string(),
    };
    let name = if service.name.is_empty() {
        "the pool".to_string()
    } else {
        format!("service {}", service.name)
    };
    Some(format!(
        "warning: load.rate={}{} is above what {name} serves for long, about {} a second \
         (process_limit {} x threads {} / mean blocking {} s): the queue grows while the arrivals last, \
         and the target holds only because they stop after {window}; a longer peak refuses \
         more (plan again with a longer load.duration to see)",
        crate::plot::fmt_number(rate, 4),
        if peak != 1.0 {
            format!(
                " (x{} at its peak: {})",
                crate::plot::fmt_number(peak, 3),
                crate::plot::fmt_number(offered, 4)
            )
        } else {
            String::new()
        },
        crate::plot::fmt_number(capacity, 4),
        service.pool.process_limit,
        service.pool.threads,
        crate::plot::fmt_number(service.work.blocking.mean(), 4),
    ))
}

/// `plan --format json`: one object (SPEC section 12).
#[derive(Debug, Serialize)]
pub struct PlanJson {
    pub model: String,
    pub path: String,
    /// The answer; null when no value met the target.
    pub value: Option<serde_json::Value>,
    pub target: String,
    pub met: bool,
    /// Where a limit's search started: the smallest value the model allows.
    pub from: Option<serde_json::Value>,
    pub seed: u64,
    pub replications: u32,
    pub evaluations: Vec<EvaluationJson>,
    /// The smallest value whose mean alone meets the target, when it is below the answer.
    pub uncertain_from: Option<serde_json::Value>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    /// With no answer: why, and what would give one.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct EvaluationJson {
    pub value: serde_json::Value,
    pub mean: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub met: bool,
    pub none_seen: bool,
    /// With none seen: the 95 % upper bound from the exposure.
    pub upper_bound: Option<f64>,
    pub offered: u64,
    pub replications: u32,
}

impl Plan {
    fn json_value(&self, x: f64) -> serde_json::Value {
        match self.goal {
            Goal::Smallest { .. } => serde_json::json!(x as u64),
            Goal::Largest if x.is_infinite() => serde_json::json!("inf"),
            Goal::Largest => serde_json::json!(x),
        }
    }

    pub fn to_json(&self, model: &str, seed: u64, replications: u32) -> PlanJson {
        let finite = |x: f64| x.is_finite().then_some(x);
        PlanJson {
            model: model.to_string(),
            path: self.path.clone(),
            value: self.answer.map(|x| self.json_value(x)),
            target: self.target.text(),
            met: self.answer.is_some(),
            from: match self.goal {
                Goal::Smallest { .. } => Some(self.json_value(self.lowest)),
                Goal::Largest => None,
            },
            seed,
            replications,
            evaluations: self
                .evaluations
                .iter()
                .map(|e| EvaluationJson {
                    value: self.json_value(e.value),
                    mean: finite(e.eval.mean),
                    ci_low: finite(e.eval.low),
                    ci_high: finite(e.eval.high),
                    met: e.met,
                    none_seen: e.eval.none_seen,
                    upper_bound: if e.eval.none_seen {
                        finite(e.eval.high)
                    } else {
                        None
                    },
                    offered: e.eval.offered,
                    replications: e.eval.replications,
                })
                .collect(),
            uncertain_from: match (self.by_mean, self.answer) {
                (Some(m), Some(a)) if m != a => Some(self.json_value(m)),
                _ => None,
            },
            notes: self.notes.clone(),
            warnings: self.warnings.clone(),
            reason: self.reason.clone(),
        }
    }
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

    #[test]
    fn rates_round_to_four_significant_digits() {
        assert_eq!(round_sig(12.345678, 4), 12.35);
        assert_eq!(round_sig(0.00123456, 4), 0.001235);
    }
}
