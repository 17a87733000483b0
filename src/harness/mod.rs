//! Measurements of real servers on this machine: `eagain harness` measures a grid of
//! model points on a real server and writes `measured.csv` (the columns of a sweep's
//! `results.csv`); `eagain validate` also simulates the same grid and writes
//! `validation.csv`, the overlay chart and `max_abs_error=` as its last line.
//!
//! The processes, each in its own file:
//! - `run.rs`, in the `eagain` process: one supervisor per run, signals, clean-up.
//! - `supervisor.rs` (`__internal supervise`): namespaces, the server, the load, the stop.
//! - `prefork.rs` (`__internal serve`): the builtin pre-forking server.
//! - `nginx.rs`: the nginx + gunicorn configuration.
//! - `dovecot.rs`: the Dovecot configuration, what of a model it can run, its log lines.
//! - `loadgen.rs` (`__internal loadgen`): the open-loop load generator.
//! - `sys.rs`: the system calls; `spec.rs`: what they tell each other.

mod dovecot;
mod loadgen;
mod nginx;
mod prefork;
mod run;
mod spec;
mod supervisor;
mod sys;

pub use loadgen::schedule;
pub use prefork::{parse_request, request_line};
pub use spec::{LoadResult, RunSpec, Target};

use crate::error::BadInput;
use crate::model::{ListenerKind, MasterMode, Model};
use crate::output::report::flatten;
use crate::output::{cell, create_dir, number, Table};
use crate::plot::ChartText;
use crate::replicate::{run_point, Scenario, CONFIDENCE};
use crate::server::Compiled;
use crate::stats::Summary;
use crate::sweep::{self, value_text, Axis, Point};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The names of the targets, as `--target` takes them.
pub const TARGET_NAMES: &[&str] = &["builtin", "nginx-gunicorn", "dovecot"];

/// A measurement asked for: the model, the grid, and how to run it.
pub struct Request {
    pub scenario: Scenario,
    /// One of `TARGET_NAMES`.
    pub target: String,
    /// `--vary PATH=VALUES`, as for a sweep.
    pub vary: Vec<String>,
    pub out: PathBuf,
    /// Real runs per grid point (default: the model's sim.replications, at most 3).
    pub runs: Option<u32>,
    /// A run whose load generator fell more than this many milliseconds behind its
    /// schedule is run again (twice at most), then refused.
    pub max_lag_ms: f64,
    /// The loopback port of the measured server (0: a free one).
    pub port: u16,
    /// The unix socket path of the measured server (default: in a temporary folder).
    pub socket: Option<PathBuf>,
    /// Run in this machine's network namespace even as root.
    pub no_namespace: bool,
}

/// Where the harness says what it is doing while it runs (the caller shows it).
pub type Notes<'a> = &'a dyn Fn(&str);

/// The most connections one run may send.
pub const MAX_CONNECTIONS: f64 = 20_000.0;
/// The longest arrival window of one run, in seconds.
pub const MAX_WINDOW_S: f64 = 120.0;
/// The longest a run may last, arrivals and drain, in seconds.
pub const MAX_RUN_S: f64 = 300.0;

/// A checked measurement: the model, the grid, and how to run it.
struct Job {
    loaded: Scenario,
    axes: Vec<Axis>,
    points: Vec<Point>,
    limits: Vec<f64>,
    runner: run::Runner,
    out: PathBuf,
    target: Target,
}

/// One measured grid point: the summary of its runs and what only a real server shows.
struct PointMeasurement {
    summary: Summary,
    runs: u32,
    server_log: std::collections::BTreeMap<String, u64>,
    login_latencies: Vec<f64>,
}

fn target(name: &str) -> Result<Target, BadInput> {
    match name {
        "builtin" => Ok(Target::Builtin),
        "nginx-gunicorn" => Ok(Target::NginxGunicorn),
        "dovecot" => Ok(Target::Dovecot),
        other => Err(BadInput(format!(
            "--target {other}: the targets are {}",
            TARGET_NAMES.join(", ")
        ))),
    }
}

/// `path=value, ...` of a point, for messages.
fn label(axes: &[Axis], p: &Point) -> String {
    if axes.is_empty() {
        return "the model".to_string();
    }
    axes.iter()
        .zip(&p.values)
        .map(|(a, v)| format!("{}={}", a.path, value_text(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The arrival window, and the longest a run may last: the window plus the client's
/// timeout, or plus a generous drain of the queue and the pool when there is none.
pub fn run_length(m: &Model) -> (f64, f64) {
    let load = &m.load;
    let window = load
        .duration
        .unwrap_or_else(|| load.connections.unwrap_or(0) as f64 / load.rate);
    let pool = &m.pool;
    let in_system =
        (m.queue_capacity() + u64::from(pool.process_limit) * u64::from(pool.client_limit)) as f64;
    let mut drain = in_system * m.work.blocking.mean() * 2.0 / f64::from(pool.process_limit)
        + m.master.startup.mean()
        + m.master.respawn_delay.mean()
        + 5.0;
    if m.listener.kind == ListenerKind::Tcp {
        let (_, give_up) = m.listener.syn_schedule.times();
        drain += load.connect_timeout.map_or(give_up, |t| t.min(give_up));
    }
    let tail = match load.timeout {
        Some(t) => (t + 2.0).min(drain),
        None => drain,
    };
    (window, window + tail)
}

/// Refuses a point that is too large for a real run, or that the target cannot express.
fn check_point(m: &Model, what: &str, target: Target, run_limit: f64) -> Result<(), BadInput> {
    let load = &m.load;
    let (window, _) = run_length(m);
    let connections = match load.connections {
        Some(n) => n as f64,
        None => (load.rate * window).floor(),
    };
    if connections > MAX_CONNECTIONS {
        return Err(BadInput(format!(
            "{what}: about {connections:.0} connections (load.rate x load.duration) is more than \
             the {MAX_CONNECTIONS:.0} a real run may send: --set a shorter load.duration \
             (for example --set load.duration={:.0})",
            (MAX_CONNECTIONS / load.rate).floor().max(1.0)
        )));
    }
    if window > MAX_WINDOW_S {
        return Err(BadInput(format!(
            "{what}: {window:.0} s of arrivals is longer than the {MAX_WINDOW_S:.0} s a real run \
             may last: --set a shorter load.duration (for example --set load.duration=10)"
        )));
    }
    if !run_limit.is_finite() || run_limit > MAX_RUN_S {
        return Err(BadInput(format!(
            "{what}: a real run could last {run_limit:.0} s (arrivals, then the queue draining \
             at {:.3} s of work.blocking per connection), more than {MAX_RUN_S:.0} s: --set a \
             shorter load.duration, a load.timeout, or a shorter work.blocking",
            m.work.blocking.mean()
        )));
    }
    if target == Target::NginxGunicorn {
        nginx::check_expressible(m)
            .map_err(|e| BadInput(format!("{what}: the nginx-gunicorn target cannot run {e}")))?;
    }
    if target == Target::Dovecot {
        // Dovecot ends idle processes itself (idle_kill is passed on).
        return dovecot::check_expressible(m)
            .map_err(|e| BadInput(format!("{what}: the dovecot target cannot run {e}")));
    }
    if m.master.mode != MasterMode::Prefork
        && m.pool.idle_kill > 0.0
        && m.pool.idle_kill < run_limit
    {
        return Err(BadInput(format!(
            "{what}: `pool.idle_kill` = {} s is shorter than a run ({run_limit:.0} s) and the \
             builtin server does not end idle processes: --set pool.idle_kill=0",
            m.pool.idle_kill
        )));
    }
    Ok(())
}

impl Job {
    fn new(args: Request, notes: Notes<'_>) -> Result<Job> {
        let target = target(&args.target)?;
        let loaded = args.scenario;
        let axes = args
            .vary
            .iter()
            .map(|v| sweep::parse_axis(v))
            .collect::<Result<Vec<_>, _>>()?;
        let points = sweep::expand(
            &loaded.loaded.text,
            &loaded.loaded.file,
            &loaded.overrides,
            &axes,
        )?;
        if args.runs == Some(0) {
            crate::bad_input!("--runs 0: run each point at least once");
        }
        if !(args.max_lag_ms.is_finite() && args.max_lag_ms > 0.0) {
            crate::bad_input!(
                "--max-lag-ms {}: give a number of milliseconds above 0",
                args.max_lag_ms
            );
        }
        if let Some(s) = &args.socket {
            if s.exists() {
                crate::bad_input!(
                    "--socket {}: the path is in use (a file is there): remove it or give another path",
                    s.display()
                );
            }
        }
        let mut limits = Vec::new();
        for p in &points {
            let (_, limit) = run_length(&p.model);
            check_point(&p.model, &label(&axes, p), target, limit)?;
            limits.push(limit);
        }
        let programs = match target {
            Target::NginxGunicorn => Some(nginx::programs()?),
            Target::Builtin | Target::Dovecot => None,
        };
        let dovecot_bin = if target == Target::Dovecot {
            if !sys::is_root() {
                crate::bad_input!(
                    "the dovecot target needs root: Dovecot's master runs its login, auth and \
                     imap processes as other users"
                );
            }
            let tmp = std::env::temp_dir();
            if let Some(closed) = dovecot::closed_ancestor(&tmp) {
                crate::bad_input!(
                    "the dovecot target keeps its files under {}, but {} is closed to other \
                     users and Dovecot's auth and imap processes run as unprivileged users: set \
                     TMPDIR to a folder such as /tmp, or chmod o+x {}",
                    tmp.display(),
                    closed.display(),
                    closed.display()
                );
            }
            dovecot::mail_user()?;
            Some(dovecot::program()?)
        } else {
            None
        };
        let host = sys::somaxconn().unwrap_or(4096);
        let capped = points.iter().find(|p| {
            let l = &p.model.listener;
            l.backlog.min(l.somaxconn) != l.backlog.min(host)
        });
        let namespace = if args.no_namespace || !sys::is_root() {
            if let Some(p) = capped {
                let l = &p.model.listener;
                crate::bad_input!(
                    "{}: listener.somaxconn = {} gives a queue of {} where this machine's \
                     somaxconn ({host}) gives {}; the harness applies it in a network namespace \
                     of its own, which needs root{}",
                    label(&axes, p),
                    l.somaxconn,
                    l.backlog.min(l.somaxconn) + 1,
                    l.backlog.min(host) + 1,
                    if args.no_namespace {
                        ": drop --no-namespace"
                    } else {
                        ": run it as root"
                    }
                );
            }
            false
        } else {
            true
        };
        let runs = args
            .runs
            .unwrap_or_else(|| loaded.options.replications.min(3));
        let runner = run::Runner::new(
            target,
            namespace,
            runs,
            loaded.options.seed,
            args.max_lag_ms / 1e3,
            args.port,
            args.socket.clone(),
            programs,
            dovecot_bin,
        )?;
        let total: f64 = limits.iter().sum::<f64>() * f64::from(runs);
        notes(&format!(
            "measuring {} point(s) x {runs} run(s) on {}: at most {:.0} s of runs{}",
            points.len(),
            match target {
                Target::Builtin => "the builtin server",
                Target::NginxGunicorn => "nginx + gunicorn",
                Target::Dovecot => "Dovecot",
            },
            total,
            if namespace {
                " (each in its own network namespace)"
            } else {
                ""
            }
        ));
        Ok(Job {
            loaded,
            axes,
            points,
            limits,
            runner,
            out: args.out.clone(),
            target,
        })
    }

    /// Measures every point.
    fn measure(&self, notes: Notes<'_>) -> Result<Vec<PointMeasurement>> {
        let mut out = Vec::new();
        for (i, p) in self.points.iter().enumerate() {
            let what = format!(
                "point {}/{} ({})",
                i + 1,
                self.points.len(),
                label(&self.axes, p)
            );
            let m = self
                .runner
                .measure(i, &what, &p.model, self.limits[i], notes)?;
            out.push(PointMeasurement {
                summary: Summary::combine(&m.reps, CONFIDENCE),
                runs: m.reps.len() as u32,
                server_log: m.server_log,
                login_latencies: m.login_latencies,
            });
        }
        Ok(out)
    }

    fn header(&self) -> Vec<String> {
        self.axes.iter().map(|a| a.path.clone()).collect()
    }

    fn values(&self, i: usize) -> Vec<String> {
        self.points[i].values.iter().map(value_text).collect()
    }
}

/// The p-quantile of `xs` (nearest rank), NaN when empty.
fn quantile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// Dovecot's extra columns (after the spec'd ones): its log lines summed over the
/// runs, the number of runs, and the time to the LOGIN's tagged OK.
fn server_columns(plan: &Job) -> Vec<String> {
    if plan.target != Target::Dovecot {
        return Vec::new();
    }
    let mut c: Vec<String> = vec!["runs".into()];
    c.extend(dovecot::LOG_LINES.iter().map(|(k, _)| k.to_string()));
    c.extend(["login_latency_s_p50".into(), "login_latency_s_p99".into()]);
    c
}

fn server_values(plan: &Job, m: &PointMeasurement) -> Vec<String> {
    if plan.target != Target::Dovecot {
        return Vec::new();
    }
    let mut v = vec![m.runs.to_string()];
    v.extend(
        dovecot::LOG_LINES
            .iter()
            .map(|(k, _)| m.server_log.get(*k).copied().unwrap_or(0).to_string()),
    );
    v.push(number(quantile(&m.login_latencies, 0.5)));
    v.push(number(quantile(&m.login_latencies, 0.99)));
    v
}

/// `measured.csv`: the varied paths, then the columns of a sweep's results.csv (and,
/// for Dovecot, its log-line counts after them).
fn write_measured(plan: &Job, measured: &[PointMeasurement]) -> Result<PathBuf> {
    let mut header = plan.header();
    if let Some(m) = measured.first() {
        header.extend(flatten(&m.summary).into_iter().map(|(k, _)| k));
    }
    header.extend(server_columns(plan));
    let path = plan.out.join("measured.csv");
    let mut table = Table::new(&path, header);
    for (i, m) in measured.iter().enumerate() {
        let mut row = plan.values(i);
        row.extend(flatten(&m.summary).iter().map(|(_, v)| cell(v)));
        row.extend(server_values(plan, m));
        table.rows.push(row);
    }
    create_dir(&plan.out)?;
    table.write()?;
    Ok(path)
}

/// `eagain harness`: measures the grid, writes `measured.csv`; returns what to print.
pub fn measure(request: Request, notes: Notes<'_>) -> Result<String> {
    let plan = Job::new(request, notes)?;
    let measured = plan.measure(notes)?;
    let path = write_measured(&plan, &measured)?;
    let mut text = String::new();
    for (i, m) in measured.iter().enumerate() {
        let s = &m.summary;
        text += &format!(
            "{}: offered {}, refusal probability {:.4}, latency p50 {:.4} s\n",
            label(&plan.axes, &plan.points[i]),
            s.offered,
            s.refusal_probability.mean,
            s.latency_s.p50
        );
        text += &log_line(&plan, m, None);
    }
    text += &format!("wrote {}\n", path.display());
    Ok(text)
}

/// The columns of validation.csv after the varied paths (what the overlay chart
/// reads): SPEC section 4's, in its order, then the measured interval.
pub const VALIDATION_COLUMNS: [&str; 11] = [
    "predicted_refusal_probability",
    "predicted_ci_low",
    "predicted_ci_high",
    "measured_refusal_probability",
    "measured_offered",
    "abs_error",
    "predicted_latency_s_p50",
    "measured_latency_s_p50",
    "latency_abs_error",
    "measured_ci_low",
    "measured_ci_high",
];

/// `eagain validate`: simulates and measures the grid, writes `measured.csv`,
/// `validation.csv` and the overlay chart; returns what to print, its last line
/// `max_abs_error=`.
pub fn validate(request: Request, notes: Notes<'_>) -> Result<String> {
    let plan = Job::new(request, notes)?;
    let predicted: Vec<(Summary, u32)> = plan
        .points
        .iter()
        .map(|p| {
            let r = run_point(&Compiled::new(&p.model), &plan.loaded.options);
            (r.summary, r.replications)
        })
        .collect();
    let measured = plan.measure(notes)?;
    let measured_path = write_measured(&plan, &measured)?;
    let mut header = plan.header();
    header.extend(VALIDATION_COLUMNS.iter().map(|c| c.to_string()));
    let dovecot_target = plan.target == Target::Dovecot;
    if dovecot_target {
        header.extend(VALIDATION_LOG_COLUMNS.iter().map(|c| c.to_string()));
    }
    let path = plan.out.join("validation.csv");
    let mut validation = Table::new(&path, header);
    let mut max_abs_error = 0.0f64;
    let mut table = String::new();
    for (i, ((p, replications), pm)) in predicted.iter().zip(&measured).enumerate() {
        let m = &pm.summary;
        let abs_error = round12((p.refusal_probability.mean - m.refusal_probability.mean).abs());
        max_abs_error = max_abs_error.max(abs_error);
        let latency_error = if p.served > 0 && m.served > 0 {
            round12((p.latency_s.p50 - m.latency_s.p50).abs())
        } else {
            f64::NAN
        };
        let mut row = plan.values(i);
        row.extend(
            [
                p.refusal_probability.mean,
                p.refusal_probability.ci_low,
                p.refusal_probability.ci_high,
                m.refusal_probability.mean,
                m.offered as f64,
                abs_error,
                p.latency_s.p50,
                m.latency_s.p50,
                latency_error,
                m.refusal_probability.ci_low,
                m.refusal_probability.ci_high,
            ]
            .map(number),
        );
        if dovecot_target {
            let runs = f64::from(pm.runs.max(1));
            let log = |k: &str| pm.server_log.get(k).copied().unwrap_or(0) as f64 / runs;
            row.extend(
                [
                    (p.refused + p.dropped) as f64 / f64::from((*replications).max(1)),
                    (m.refused + m.dropped) as f64 / runs,
                    log("log_connect_eagain"),
                    log("log_limit_reached"),
                ]
                .map(number),
            );
        }
        validation.rows.push(row);
        table += &format!(
            "{}: refusal predicted {:.4}, measured {:.4} (|error| {:.4}); latency p50 predicted {:.4} s, measured {:.4} s\n",
            label(&plan.axes, &plan.points[i]),
            p.refusal_probability.mean,
            m.refusal_probability.mean,
            abs_error,
            p.latency_s.p50,
            m.latency_s.p50
        );
        table += &log_line(&plan, pm, Some((p, *replications)));
    }
    validation.write()?;
    table += &format!(
        "wrote {}\nwrote {}\n",
        measured_path.display(),
        path.display()
    );
    let png = plan.out.join("validation.png");
    match draw(&plan, &validation, &png) {
        Ok(()) => table += &format!("wrote {}\n", png.display()),
        Err(e) => table += &format!("note: no {}: {e:#}\n", png.display()),
    }
    table += &format!("max_abs_error={max_abs_error}\n");
    Ok(table)
}

/// Dovecot's columns of validation.csv after the spec'd ones, per run: predicted and
/// measured refused + dropped connections, and its log lines.
pub const VALIDATION_LOG_COLUMNS: [&str; 4] = [
    "predicted_refused_per_run",
    "measured_refused_per_run",
    "log_connect_eagain_per_run",
    "log_limit_reached_per_run",
];

/// For Dovecot, a stdout line with its log-line counts beside the measured (and
/// predicted) refusals, per run.
fn log_line(plan: &Job, m: &PointMeasurement, predicted: Option<(&Summary, u32)>) -> String {
    if plan.target != Target::Dovecot {
        return String::new();
    }
    let runs = f64::from(m.runs.max(1));
    let get = |k: &str| m.server_log.get(k).copied().unwrap_or(0) as f64 / runs;
    let s = &m.summary;
    let mut text = format!(
        "  dovecot log per run: {:.1} x `net_connect_unix(imap) failed: Resource temporarily \
         unavailable`, {:.1} x `... reached, client connections are being dropped`, {:.1} \
         logins; measured refused+dropped {:.1}",
        get("log_connect_eagain"),
        get("log_limit_reached"),
        get("log_logins"),
        (s.refused + s.dropped) as f64 / runs
    );
    if let Some((p, r)) = predicted {
        text += &format!(
            ", predicted {:.1}",
            (p.refused + p.dropped) as f64 / f64::from(r.max(1))
        );
    }
    text += &format!(
        "; login latency p50 {:.4} s\n",
        quantile(&m.login_latencies, 0.5)
    );
    text
}

/// Differences rounded to 12 decimals, so that floating-point noise reads as 0.
fn round12(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

fn draw(plan: &Job, validation: &Table, png: &Path) -> Result<()> {
    if plan.axes.is_empty() {
        anyhow::bail!("the overlay needs a varied path (--vary) for its x axis");
    }
    let (x, series) = crate::plot::default_axes(validation)?;
    let s = &plan.loaded;
    let set: Vec<String> = s
        .overrides
        .iter()
        .filter_map(|o| o.origin.strip_prefix("--set ").map(String::from))
        .collect();
    let backlog_derived = s.loaded.model.master.dovecot_version.is_some()
        && !crate::model::gives(&s.loaded.text, &set, "listener.backlog");
    let mut text = ChartText::of_runs(&s.loaded.model, &plan.header(), &set, backlog_derived);
    text.title = format!("{}: simulated and measured", text.title);
    crate::plot::validation_overlay(validation, png, &x, series.as_deref(), &text)
}

/// Hidden subcommands the harness runs as separate processes.
pub fn internal(args: Vec<String>) -> Result<()> {
    let usage = || {
        BadInput(
            "usage: eagain __internal supervise|serve|loadgen SPEC.json, or eagain __internal \
             init (processes the harness starts; not for direct use)"
                .into(),
        )
    };
    let what = args.first().ok_or_else(usage)?;
    if what == "init" {
        return supervisor::init();
    }
    let spec_path = Path::new(args.get(1).ok_or_else(usage)?);
    match what.as_str() {
        "supervise" => supervisor::supervise(spec_path),
        "serve" => prefork::serve(&RunSpec::read(spec_path)?),
        "loadgen" => supervisor::loadgen(spec_path),
        _ => Err(usage().into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_str;

    const MODEL: &str = r#"
name = "t"
[load]
arrival = "poisson"
rate = 40.0
duration = 5.0
[listener]
backlog = 4
[pool]
process_limit = 2
[work]
blocking = { dist = "exponential", mean = 0.05 }
"#;

    fn model(sets: &[&str]) -> Model {
        let o: Vec<_> = sets
            .iter()
            .map(|s| crate::model::parse_assignment(s).unwrap())
            .collect();
        load_str(MODEL, "t.toml", Path::new("."), &o).unwrap()
    }

    fn spec(m: Model, replication: u64) -> RunSpec {
        RunSpec {
            model: m,
            target: Target::Builtin,
            seed: 7,
            replication,
            dir: PathBuf::from("/nonexistent"),
            base: PathBuf::from("/nonexistent"),
            result: PathBuf::from("/nonexistent"),
            namespace: false,
            socket: PathBuf::from("/nonexistent/s"),
            port: 0,
            max_lag_s: 0.005,
            run_limit_s: 10.0,
            nginx: None,
            gunicorn: None,
            dovecot: None,
        }
    }

    #[test]
    fn the_load_generator_sends_the_simulators_arrivals() {
        for arrival in ["poisson", "constant"] {
            let m = model(&[&format!("load.arrival={arrival}")]);
            for r in 0..3 {
                let plan = schedule(&spec(m.clone(), r));
                let simulated = Compiled::new(&m).run(7, r);
                assert_eq!(plan.len() as u64, simulated.offered, "{arrival} rep {r}");
            }
        }
        // Constant: the n-th at n / rate, rate x duration of them (SPEC 1.1).
        let plan = schedule(&spec(model(&["load.arrival=constant"]), 0));
        assert_eq!(plan.len(), 200);
        assert_eq!(plan[0].0, 1.0 / 40.0);
        assert_eq!(plan[199].0, 5.0);
    }

    #[test]
    fn the_builtin_request_line_carries_the_work_draws() {
        assert_eq!(
            parse_request(request_line(0.0734, 0.5).as_bytes()),
            Some((0.0734, 0.5))
        );
        assert_eq!(parse_request(b"W 0.1"), None, "an unfinished line waits");
    }

    #[test]
    fn a_run_too_long_for_a_real_server_names_load_duration() {
        let m = model(&["load.duration=600"]);
        let (_, limit) = run_length(&m);
        let e = check_point(&m, "p", Target::Builtin, limit).unwrap_err().0;
        assert!(e.contains("--set a shorter load.duration"), "{e}");
        let m = model(&["load.rate=5000"]);
        let e = check_point(&m, "p", Target::Builtin, 10.0).unwrap_err().0;
        assert!(e.contains("25000 connections"), "{e}");
    }

    #[test]
    fn measured_counts_become_the_columns_of_a_sweep() {
        let m = model(&[]);
        let load = LoadResult {
            offered: 10,
            served: 3,
            refused: 5,
            dropped: 1,
            timed_out: 1,
            latencies: vec![0.1, 0.2, 0.3],
            end_s: 5.0,
            ..LoadResult::default()
        };
        let s = Summary::combine(&[run::rep_stats(&m, &load, 4, 2)], CONFIDENCE);
        assert_eq!((s.offered, s.served, s.refused, s.dropped), (10, 3, 5, 1));
        assert_eq!(s.refusal_probability.mean, 0.6);
        assert!((s.latency_s.p50 - 0.2).abs() < 1e-3, "{}", s.latency_s.p50);
        assert_eq!((s.processes.forks, s.processes.max), (4, 2));
        assert_eq!(s.queue_length.mean, 0.0);
    }
}
