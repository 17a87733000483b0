//! A measurement asked for, checked before anything runs: the target by its name, the
//! grid, every point's size and time against what a real run may take, the processes
//! a point forks against `--max-processes` (itself capped by what this machine can
//! hold), the whole measurement's time against `--max-total-s`, what the target can
//! express and needs of this machine, and whether the runs need network namespaces of
//! their own. The result, `Job`, is what the measurement loop and the tables trust.

use super::run::{Notes, Runner, Settings};
use super::sys;
use super::target::{single, About, Report, Target};
use super::targets;
use crate::error::BadInput;
use crate::model::{ListenerKind, Model};
use crate::replicate::Scenario;
use crate::sweep::{self, value_text, Axis, Point};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// The most connections one run may send.
pub const MAX_CONNECTIONS: f64 = 20_000.0;
/// The longest arrival window of one run, in seconds.
pub const MAX_WINDOW_S: f64 = 120.0;
/// The longest a run may last, arrivals and drain, in seconds.
pub const MAX_RUN_S: f64 = 300.0;
/// The most runs of one point (`--runs`).
pub const MAX_RUNS: u32 = 1000;
/// `--max-processes` unless given: the most real processes one point may fork.
pub const DEFAULT_MAX_PROCESSES: u32 = 256;
/// `--max-total-s` unless given: the longest a whole measurement may take (half an hour).
pub const DEFAULT_MAX_TOTAL_S: f64 = 1800.0;
/// Memory set aside for each process when this machine's limit on `--max-processes` is
/// derived: a gunicorn worker, the largest of the targets' processes, takes about that.
const MIB_PER_PROCESS: u64 = 16;

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
    /// schedule is run again (four times at most), then refused.
    pub max_lag_ms: f64,
    /// The loopback port of the measured server (0: a free one).
    pub port: u16,
    /// The unix socket path of the measured server (default: in a temporary folder).
    pub socket: Option<PathBuf>,
    /// Run in this machine's network namespace even as root.
    pub no_namespace: bool,
    /// The most real processes one point may fork (at most what this machine holds).
    pub max_processes: u32,
    /// The longest the whole measurement may take: points x runs x each run's limit.
    pub max_total_s: f64,
}

/// A checked measurement: the model, the grid, the target and how to run it.
pub(crate) struct Job {
    pub scenario: Scenario,
    pub axes: Vec<Axis>,
    pub points: Vec<Point>,
    /// The longest each point's run may last, in seconds.
    pub limits: Vec<f64>,
    pub target: &'static dyn Target,
    /// What the target's logs add to the output, for the grid's first point (the
    /// points differ in values, not in their services).
    pub report: Report,
    pub runner: Runner,
    pub out: PathBuf,
}

impl Job {
    pub fn new(args: Request, notes: Notes<'_>) -> Result<Job> {
        let target = targets::find(&args.target)?;
        let scenario = args.scenario;
        let axes = args
            .vary
            .iter()
            .map(|v| sweep::parse_axis(v))
            .collect::<Result<Vec<_>, _>>()?;
        let mut points = sweep::expand(
            &scenario.loaded.text,
            &scenario.loaded.file,
            &scenario.overrides,
            &axes,
        )?;
        // The runs' processes read the model from their spec: a trace is named by
        // its absolute path, so that they find it from any folder.
        let base = scenario.loaded.file.parent().unwrap_or(Path::new("."));
        for p in &mut points {
            if let Some(trace) = &p.model.load.trace {
                let path = base.join(trace);
                p.model.load.trace =
                    Some(path.canonicalize().unwrap_or(path).display().to_string());
            }
        }
        if args.runs == Some(0) {
            crate::bad_input!("--runs 0: run each point at least once");
        }
        if let Some(n) = args.runs.filter(|&n| n > MAX_RUNS) {
            crate::bad_input!("--runs {n}: run each point at most {MAX_RUNS} times");
        }
        if !(args.max_total_s.is_finite() && args.max_total_s > 0.0) {
            crate::bad_input!(
                "--max-total-s {}: give the longest the whole measurement may take, in \
                 seconds above 0 (default {DEFAULT_MAX_TOTAL_S})",
                args.max_total_s
            );
        }
        check_process_cap(args.max_processes)?;
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
            let what = label(&axes, p);
            check_point(&p.model, &what, target, limit, args.max_processes)?;
            limits.push(limit);
        }
        let runs = args
            .runs
            .unwrap_or_else(|| scenario.options.replications.min(3));
        let total: f64 = limits.iter().sum::<f64>() * f64::from(runs);
        if total > args.max_total_s {
            crate::bad_input!(
                "{} point(s) x {runs} run(s) could take {total:.0} s (each run up to its time \
                 limit: the arrivals, then the drain), more than --max-total-s {}{}: vary \
                 fewer points, give fewer --runs or a shorter load.duration, or raise \
                 --max-total-s",
                points.len(),
                args.max_total_s,
                if args.max_total_s == DEFAULT_MAX_TOTAL_S {
                    " (the default)"
                } else {
                    ""
                }
            );
        }
        let target_state = target.check_machine()?;
        let about = target.about();
        check_quota(about, &points)?;
        let namespace = namespace(args.no_namespace, about, &axes, &points)?;
        let runner = Runner::new(Settings {
            target: about.name.to_string(),
            target_state,
            namespace,
            runs,
            seed: scenario.options.seed,
            max_lag_s: args.max_lag_ms / 1e3,
            port: args.port,
            socket: args.socket.clone(),
            keep: about.keeps_files.then(|| args.out.clone()),
        })?;
        notes(&format!(
            "measuring {} point(s) x {runs} run(s) on {}: at most {:.0} s of runs{}",
            points.len(),
            about.title,
            total,
            if namespace {
                " (each in its own network namespace)"
            } else {
                ""
            }
        ));
        let report = target.report(&points[0].model);
        Ok(Job {
            scenario,
            axes,
            points,
            limits,
            target,
            report,
            runner,
            out: args.out,
        })
    }

    /// `path=value, ...` of point `i`, for messages.
    pub fn label(&self, i: usize) -> String {
        label(&self.axes, &self.points[i])
    }

    /// The varied paths: the first columns of every table.
    pub fn header(&self) -> Vec<String> {
        self.axes.iter().map(|a| a.path.clone()).collect()
    }

    /// Point `i`'s values of the varied paths.
    pub fn values(&self, i: usize) -> Vec<String> {
        self.points[i].values.iter().map(value_text).collect()
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

/// Whether the runs need network namespaces of their own: as root, for a target whose
/// listen queue is the kernel's, unless `--no-namespace`. A point whose
/// listener.somaxconn caps the queue below what this machine's does needs one.
fn namespace(
    no_namespace: bool,
    about: About,
    axes: &[Axis],
    points: &[Point],
) -> Result<bool, BadInput> {
    if !about.kernel_queue {
        return Ok(false);
    }
    if !no_namespace && sys::is_root() {
        return Ok(true);
    }
    let host = sys::somaxconn().unwrap_or(4096);
    // One namespace, one somaxconn: a chain's services share it (check_point).
    let capped = points.iter().find_map(|p| {
        p.model.services.iter().find_map(|s| {
            let l = &s.listener;
            (l.backlog.min(l.somaxconn) != l.backlog.min(host)).then(|| (p, l.clone()))
        })
    });
    if let Some((p, l)) = capped {
        return Err(BadInput(format!(
            "{}: listener.somaxconn = {} gives a queue of {} where this machine's somaxconn \
             ({host}) gives {}; the harness applies it in a network namespace of its own, \
             which needs root{}",
            label(axes, p),
            l.somaxconn,
            l.backlog.min(l.somaxconn) + 1,
            l.backlog.min(host) + 1,
            if no_namespace {
                ": drop --no-namespace"
            } else {
                ": run it as root"
            }
        )));
    }
    Ok(false)
}

/// The arrival window, and the longest a run may last: the window plus the client's
/// timeout, or plus a generous drain of the queue and the pool when there is none.
pub fn run_length(m: &Model) -> (f64, f64) {
    let load = &m.load;
    let window = m.arrival_window();
    // Every service's queue and pool drained twice over, one after the other, and a
    // hop's retries.
    let mut drain = 5.0;
    for s in &m.services {
        let pool = &s.pool;
        let in_system = (s.queue_capacity()
            + u64::from(pool.process_limit) * u64::from(pool.client_limit))
            as f64;
        // The CPU parts drain at the CPUs' pace, at most one CPU a process.
        let cpus = m
            .host
            .as_ref()
            .and_then(|h| h.cpus)
            .unwrap_or(f64::INFINITY)
            .min(f64::from(pool.process_limit));
        drain += in_system * s.work.blocking.mean() * 2.0 / f64::from(pool.process_limit)
            + in_system * s.work.cpu.mean() * 2.0 / cpus
            + s.master.startup.mean()
            + s.master.respawn_delay.mean();
        if s.next.is_some() && s.connect.on_refused == crate::model::OnRefused::Retry {
            drain += s.connect.retry_for;
        }
    }
    let front = &m.front().listener;
    if front.kind == ListenerKind::Tcp {
        let (_, give_up) = front.syn_schedule.times();
        drain += load.connect_timeout.map_or(give_up, |t| t.min(give_up));
    }
    let tail = match load.timeout {
        Some(t) => (t + 2.0).min(drain),
        None => drain,
    };
    (window, window + tail)
}

/// The most processes this machine can hold for one run: the least of half of
/// RLIMIT_NPROC, a quarter of kernel.pid_max, and the available memory at
/// [`MIB_PER_PROCESS`] a process; and those numbers, for a message.
fn machine_process_limit() -> (u64, String) {
    let mut limit = u64::MAX;
    let mut parts = Vec::new();
    match sys::process_rlimit() {
        Some(n) => {
            limit = limit.min(n / 2);
            parts.push(format!("half of RLIMIT_NPROC = {n}"));
        }
        None => parts.push("RLIMIT_NPROC (unlimited)".to_string()),
    }
    if let Some(n) = sys::pid_max() {
        limit = limit.min(n / 4);
        parts.push(format!("a quarter of kernel.pid_max = {n}"));
    }
    if let Some(mib) = sys::available_memory_mib() {
        limit = limit.min(mib / MIB_PER_PROCESS);
        parts.push(format!(
            "{mib} MiB of available memory at {MIB_PER_PROCESS} MiB a process"
        ));
    }
    let why = match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => parts.join(""),
    };
    (limit, why)
}

/// Refuses a `--max-processes` of 0, or above what this machine can hold.
fn check_process_cap(cap: u32) -> Result<(), BadInput> {
    if cap == 0 {
        return Err(BadInput(
            "--max-processes 0: a real server needs at least 1 process".into(),
        ));
    }
    let (machine, why) = machine_process_limit();
    if u64::from(cap) > machine {
        return Err(BadInput(format!(
            "--max-processes {cap}: this machine can safely hold at most {machine} processes \
             for one run (the least of {why}): give at most {machine}"
        )));
    }
    Ok(())
}

/// Where a model's number of connections comes from, for messages.
fn connections_source(m: &Model) -> &'static str {
    let l = &m.load;
    if l.trace_data.is_some() {
        "the arrivals of load.trace"
    } else if l.connections.is_some() {
        "load.connections"
    } else if l.profile.is_some() {
        "load.rate x load.profile over load.duration"
    } else {
        "load.rate x load.duration"
    }
}

/// A run's services share one network namespace, so one somaxconn: a chain whose
/// services give different ones cannot be run as it says.
fn one_somaxconn(m: &Model) -> Result<(), String> {
    let first = m.front();
    match m
        .services
        .iter()
        .find(|s| s.listener.somaxconn != first.listener.somaxconn)
    {
        Some(s) => Err(format!(
            "`{}` = {} differs from `{}` = {}: the services of a run share one network \
             namespace, whose somaxconn is one number; give every service the same",
            s.path("listener.somaxconn"),
            s.listener.somaxconn,
            first.path("listener.somaxconn"),
            first.listener.somaxconn
        )),
        None => Ok(()),
    }
}

/// The most real processes one run of `m` forks: the services' pool.process_limit (a
/// real server's workers), for a target that forks them.
fn processes(about: About, m: &Model) -> u64 {
    if !about.forks {
        return 0;
    }
    m.services
        .iter()
        .map(|s| u64::from(s.pool.process_limit))
        .sum()
}

/// Refuses a point that is too large for a real run, that forks more processes than
/// `max_processes`, or that the target cannot express.
fn check_point(
    m: &Model,
    what: &str,
    target: &dyn Target,
    run_limit: f64,
    max_processes: u32,
) -> Result<(), BadInput> {
    let about = target.about();
    // A target that runs one service refuses a chain before anything else.
    if !about.runs_chains {
        single(target, m).map_err(|e| BadInput(format!("{what}: {e}")))?;
    }
    // The model's own count and window: a profile's integral, a trace's arrivals.
    let window = m.arrival_window();
    let connections = m.expected_connections().floor();
    if connections > MAX_CONNECTIONS {
        let mean_rate = connections / window.max(f64::MIN_POSITIVE);
        return Err(BadInput(format!(
            "{what}: about {connections:.0} connections ({}) is more than the \
             {MAX_CONNECTIONS:.0} a real run may send: --set a shorter load.duration (for \
             example --set load.duration={:.0})",
            connections_source(m),
            (MAX_CONNECTIONS / mean_rate).floor().max(1.0)
        )));
    }
    if window > MAX_WINDOW_S {
        return Err(BadInput(format!(
            "{what}: {window:.0} s of arrivals is longer than the {MAX_WINDOW_S:.0} s a real run \
             may last: --set a shorter load.duration (for example --set load.duration=10)"
        )));
    }
    if about.kernel_queue {
        one_somaxconn(m).map_err(|e| BadInput(format!("{what}: {e}")))?;
    }
    if !run_limit.is_finite() || run_limit > MAX_RUN_S {
        return Err(BadInput(format!(
            "{what}: a real run could last {run_limit:.0} s (arrivals, then the queue draining \
             at {:.3} s of work.blocking per connection), more than {MAX_RUN_S:.0} s: --set a \
             shorter load.duration, a load.timeout, or a shorter work.blocking",
            m.front().work.blocking.mean()
        )));
    }
    let processes = processes(about, m);
    if processes > u64::from(max_processes) {
        let limits = m
            .services
            .iter()
            .map(|s| {
                format!(
                    "{} = {}",
                    s.path("pool.process_limit"),
                    s.pool.process_limit
                )
            })
            .collect::<Vec<_>>()
            .join(" and ");
        return Err(BadInput(format!(
            "{what}: {limits} would have {} fork {processes} real processes, more than \
             --max-processes {max_processes}{}: lower the process_limit, or raise the cap \
             with --max-processes N (this machine holds at most {})",
            about.title,
            if max_processes == DEFAULT_MAX_PROCESSES {
                " (the default)"
            } else {
                ""
            },
            machine_process_limit().0
        )));
    }
    check_cpu(m, about).map_err(|e| BadInput(format!("{what}: {e}")))?;
    target
        .check_model(m, run_limit)
        .map_err(|e| BadInput(format!("{what}: {e}")))
}

/// What a target can do of the machine's model (SPEC 13): only a target whose pool
/// burns `work.cpu` and runs in a CPU-quota cgroup takes `work.cpu` or `host.cpus`,
/// and of a chain only the last service (the app behind nginx) burns CPU.
fn check_cpu(m: &Model, about: About) -> Result<(), String> {
    let cpus = m.host.as_ref().and_then(|h| h.cpus);
    let with_cpu = m.services.iter().find(|s| s.work.uses_cpu());
    if !about.burns_cpu {
        if let Some(s) = with_cpu {
            return Err(format!(
                "`{}`: {} cannot burn CPU time per connection; measure a CPU part with                  --target builtin, nginx-gunicorn or nginx-php-fpm, or leave work.cpu out",
                s.path("work.cpu"),
                about.title
            ));
        }
        if let Some(c) = cpus {
            return Err(format!(
                "`host.cpus` = {c}: the harness confines only the pools of --target builtin,                  nginx-gunicorn and nginx-php-fpm to a CPU quota; leave [host] cpus out with                  {}",
                about.title
            ));
        }
        return Ok(());
    }
    if !about.forks {
        return Ok(());
    }
    if let Some((end, _)) = super::loadgen::chain_end(m) {
        if let Some(s) = m
            .services
            .iter()
            .enumerate()
            .find(|(i, s)| *i != end && s.work.uses_cpu())
            .map(|(_, s)| s)
        {
            return Err(format!(
                "`{}`: only the chain's last service (the app) burns CPU time in a real run;                  the proxy in front of it spends what it spends: leave its work.cpu out",
                s.path("work.cpu")
            ));
        }
    }
    Ok(())
}

/// Whether this machine can give a run's pool the CPU quota of `host.cpus`, for a
/// target that forks real processes: a message naming the field and the reason when
/// it cannot.
fn check_quota(about: About, points: &[Point]) -> Result<(), BadInput> {
    let wanted = points
        .iter()
        .find_map(|p| p.model.host.as_ref().and_then(|h| h.cpus));
    let (Some(cpus), true) = (wanted, about.forks) else {
        return Ok(());
    };
    super::cgroup::find().map(|_| ()).map_err(|e| {
        BadInput(format!(
            "`host.cpus` = {cpus}: the harness confines {}'s pool to a CPU quota of that many              CPUs in a cgroup (v1 cpu.cfs_quota_us or v2 cpu.max), and cannot here: {e}; run              it as root on a machine with the cpu controller, or leave [host] cpus out",
            about.title
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::testing::model;

    #[test]
    fn a_run_too_long_for_a_real_server_names_load_duration() {
        let builtin = targets::find("builtin").unwrap();
        let m = model(&["load.duration=600"]);
        let (_, limit) = run_length(&m);
        let e = check_point(&m, "p", builtin, limit, 256).unwrap_err().0;
        assert!(e.contains("--set a shorter load.duration"), "{e}");
        let m = model(&["load.rate=5000"]);
        let e = check_point(&m, "p", builtin, 10.0, 256).unwrap_err().0;
        assert!(e.contains("25000 connections"), "{e}");
    }

    #[test]
    fn a_point_forking_more_than_the_cap_names_the_field_and_the_flag() {
        let m = model(&["pool.process_limit=257"]);
        let (_, limit) = run_length(&m);
        for name in [
            "builtin",
            "nginx-gunicorn",
            "dovecot",
            "nginx-php-fpm",
            "apache-prefork",
            "courier",
        ] {
            let target = targets::find(name).unwrap();
            let e = check_point(&m, "p", target, limit, 256).unwrap_err().0;
            assert!(
                e.starts_with("p: pool.process_limit = 257 would have")
                    && e.contains("more than --max-processes 256 (the default)"),
                "{e}"
            );
            assert!(check_point(&m, "p", target, limit, 257)
                .map_or_else(|e| !e.0.contains("--max-processes"), |()| true));
        }
        // The mock forks nothing.
        let mock = targets::find("mock").unwrap();
        assert_eq!(check_point(&m, "p", mock, limit, 1), Ok(()));
    }

    #[test]
    fn only_the_targets_that_burn_cpu_take_work_cpu_or_host_cpus() {
        let cpu = model(&["work.cpu={ dist = \"constant\", value = 0.05 }"]);
        let host = model(&["host.cpus=1.0"]);
        let (_, limit) = run_length(&cpu);
        for name in ["dovecot", "apache-prefork", "courier"] {
            let target = targets::find(name).unwrap();
            let e = check_point(&cpu, "p", target, limit, 256).unwrap_err().0;
            assert!(
                e.starts_with("p: `work.cpu`: ") && e.contains("cannot burn CPU time"),
                "{e}"
            );
            let e = check_cpu(&host, target.about()).unwrap_err();
            assert!(e.starts_with("`host.cpus` = 1: "), "{e}");
        }
        for name in ["builtin", "nginx-gunicorn", "nginx-php-fpm", "mock"] {
            let about = targets::find(name).unwrap().about();
            assert_eq!(check_cpu(&cpu, about), Ok(()), "{name}");
            assert_eq!(check_cpu(&host, about), Ok(()), "{name}");
        }
    }

    #[test]
    fn the_cpu_part_lengthens_the_drain_at_the_quotas_pace() {
        let (_, without) = run_length(&model(&[]));
        let cpu = model(&[
            "work.cpu={ dist = \"constant\", value = 0.5 }",
            "host.cpus=0.5",
        ]);
        let (_, with) = run_length(&cpu);
        // 7 in the system (queue 5, 2 workers), 0.5 s of CPU each, twice over, at 0.5
        // CPU.
        assert!(
            (with - without - 7.0 * 0.5 * 2.0 / 0.5).abs() < 1e-9,
            "{with} {without}"
        );
    }

    #[test]
    fn the_machine_holds_a_positive_number_of_processes_but_not_billions() {
        let (limit, why) = machine_process_limit();
        assert!(limit > 0 && limit < 4_000_000_000, "{limit}: {why}");
        assert!(why.contains("RLIMIT_NPROC"), "{why}");
        assert!(check_process_cap(1).is_ok());
        let e = check_process_cap(u32::MAX).unwrap_err().0;
        assert!(e.contains(&format!("give at most {limit}")), "{e}");
    }
}
