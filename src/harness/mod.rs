//! Measurements of real servers on this machine: `eagain harness` measures a grid of
//! model points on a real server and writes `measured.csv` (the columns of a sweep's
//! `results.csv`); `eagain validate` also simulates the same grid and writes
//! `validation.csv`, the overlay chart and `max_abs_error=` as its last line.
//!
//! In the `eagain` process, one file a job:
//! - `job.rs`: the `Request` checked (target, grid, sizes, caps) into a `Job`.
//! - `measurement.rs`: the loop over the points, and the prediction of the same points.
//! - `run.rs`: one supervisor process per run, signals, retries, clean-up.
//! - `tables.rs`: measured.csv, validation.csv and the lines on stdout; `report.rs`
//!   the target's part of them, from its `Report`.
//! - `chart.rs`: the overlay chart.
//!
//! The targets: `target.rs` is the trait (a target's lifecycle, and the data it
//! reports), `targets/` the registry and one file per target (`builtin`,
//! `nginx_gunicorn`, `dovecot`, `php_fpm`, `apache`, `courier`, `mock`). The processes
//! the harness starts, each in its own file:
//! - `supervisor.rs` (`__internal supervise`): namespaces, the target's servers (with
//!   `servers.rs`, what a target works with there), the load, the stop.
//! - `prefork.rs` (`__internal serve`): the builtin pre-forking server.
//! - `loadgen.rs` (`__internal loadgen`): the open-loop load generator.
//!
//! `sys.rs` holds every system call (and all the `unsafe`); `spec.rs` what the
//! processes tell each other; `cgroup.rs` the CPU quota a run's pool gets from
//! `host.cpus` (SPEC 13).
//!
//! Every file here depends only on files below it: this one on all; `job.rs` on the
//! registry `targets/`, which depends on the targets, which depend on `target.rs`,
//! `servers.rs` and `spec.rs`; no file depends on one above it.

mod cgroup;
mod chart;
mod job;
mod loadgen;
mod measurement;
mod prefork;
mod report;
mod run;
mod servers;
mod spec;
mod supervisor;
mod sys;
mod tables;
mod target;
mod targets;

pub use job::{Request, DEFAULT_MAX_PROCESSES, DEFAULT_MAX_TOTAL_S};
pub use run::Notes;
pub use spec::RunSpec;

use crate::error::BadInput;
use anyhow::Result;
use job::Job;
use std::path::Path;
use std::sync::LazyLock;

/// The names `--target` takes, from the registry of targets (`targets/mod.rs`).
pub static TARGET_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| targets::names().map(|(name, _)| name).collect());

/// True for a target that `--help` leaves out (the mock, for tests).
pub fn is_hidden_target(name: &str) -> bool {
    targets::names().any(|(n, hidden)| n == name && hidden)
}

/// `eagain harness`: measures the grid, writes `measured.csv`; returns what to print.
pub fn measure(request: Request, notes: Notes<'_>) -> Result<String> {
    let job = Job::new(request, notes)?;
    let measured = measurement::measure_points(&job, notes)?;
    let path = tables::write_measured(&job, &measured)?;
    Ok(format!(
        "{}wrote {}\n",
        tables::measured_text(&job, &measured),
        path.display()
    ))
}

/// `eagain validate`: simulates and measures the grid, writes `measured.csv`,
/// `validation.csv` and the overlay chart; returns what to print, its last line
/// `max_abs_error=`.
pub fn validate(request: Request, notes: Notes<'_>) -> Result<String> {
    let job = Job::new(request, notes)?;
    let predicted = measurement::predict(&job)?;
    let measured = measurement::measure_points(&job, notes)?;
    let measured_path = tables::write_measured(&job, &measured)?;
    let v = tables::validation(&job, &predicted, &measured);
    v.table.write()?;
    let mut text = format!(
        "{}wrote {}\nwrote {}\n",
        v.text,
        measured_path.display(),
        v.table.source.display()
    );
    let png = job.out.join("validation.png");
    match chart::draw(&job, &v.table, &png) {
        Ok(()) => text += &format!("wrote {}\n", png.display()),
        Err(e) => text += &format!("note: no {}: {e:#}\n", png.display()),
    }
    text += &format!("max_abs_error={}\n", v.max_abs_error);
    Ok(text)
}

/// Hidden subcommands the harness runs as separate processes.
pub fn internal(args: Vec<String>) -> Result<()> {
    let usage = || {
        BadInput(
            "usage: eagain __internal supervise|serve|loadgen SPEC.json, or eagain __internal \
             init|connection (processes the harness starts; not for direct use)"
                .into(),
        )
    };
    let what = args.first().ok_or_else(usage)?;
    if what == "init" {
        return supervisor::init();
    }
    if what == "connection" {
        return targets::courier::serve_connection();
    }
    let spec_path = Path::new(args.get(1).ok_or_else(usage)?);
    match what.as_str() {
        "supervise" => supervisor::supervise(spec_path),
        "serve" => prefork::serve(&RunSpec::read(spec_path)?),
        "loadgen" => supervisor::loadgen(spec_path),
        _ => Err(usage().into()),
    }
}

/// A small model and run specs of it, for the harness's unit tests.
#[cfg(test)]
mod testing {
    use super::RunSpec;
    use crate::model::{load_str, Model};
    use std::path::{Path, PathBuf};

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

    /// The model with `--set`s.
    pub fn model(sets: &[&str]) -> Model {
        let o: Vec<_> = sets
            .iter()
            .map(|s| crate::model::parse_assignment(s).unwrap())
            .collect();
        load_str(MODEL, "t.toml", Path::new("."), &o).unwrap()
    }

    /// Replication `replication` of `m` on the builtin target, with seed 7.
    pub fn spec(m: Model, replication: u64) -> RunSpec {
        RunSpec {
            model: m,
            target: "builtin".into(),
            target_state: serde_json::Value::Null,
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
            point: 0,
            keep: None,
        }
    }
}
