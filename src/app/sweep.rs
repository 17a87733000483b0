//! `eagain sweep` and `eagain merge`: the grid, the shard (from the scheduler's
//! environment with `auto`), the lock on the output folder, SIGTERM, the progress bar,
//! the run, the table or JSON of the points on stdout, and the charts drawn from the
//! results in memory.

use super::args::{Format, MergeArgs, ModelArgs, SweepArgs};
use super::{load_scenario, note, print};
use crate::model;
use crate::output::report::probability_text;
use crate::output::{Lock, Table};
use crate::plot::{self, ChartText};
use crate::replicate::Scenario;
use crate::sweep::{self, Arguments, Results, Shard, SweepOptions};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::{Duration, Instant};

/// The most worker threads a sweep may start.
const MAX_THREADS: usize = 1024;

/// The arguments that identify a sweep, for resume and merge.
fn arguments(s: &Scenario, args: &ModelArgs, vary: &[String]) -> Arguments {
    Arguments {
        model_file: s.loaded.file.display().to_string(),
        model_text: s.loaded.text.clone(),
        set: args.set.clone(),
        vary: vary.to_vec(),
        seed: s.options.seed,
        replications: s.options.replications,
        precision: s.options.precision,
        max_replications: s.options.max_replications,
    }
}

pub fn run(args: SweepArgs) -> Result<()> {
    let s = load_scenario(&args.model)?;
    let axes = args
        .vary
        .iter()
        .map(|v| sweep::parse_axis(v))
        .collect::<Result<Vec<_>, _>>()?;
    let points = sweep::expand(&s.loaded.text, &s.loaded.file, &s.overrides, &axes)?;
    // What points did with spare settings above their process_limit, each said once.
    let mut fitted: Vec<String> = Vec::new();
    for n in points.iter().filter_map(|p| p.note.clone()) {
        if !fitted.contains(&n) {
            fitted.push(n);
        }
    }
    let shard = args
        .shard
        .as_deref()
        .map(|raw| {
            Shard::resolve(raw, |name| {
                std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
            })
        })
        .transpose()?;
    match args.threads {
        Some(0) => crate::bad_input!(
            "--threads 0: give at least 1 thread, or leave it out for one per core"
        ),
        Some(n) if n > MAX_THREADS => crate::bad_input!(
            "--threads {n}: give at most {MAX_THREADS} threads (this machine has {}), or \
             leave it out for one per core",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        ),
        _ => {}
    }
    let _lock = Lock::take(&args.out)?;
    // Charts are drawn at the end: none of an earlier sweep may stay beside this one's.
    crate::output::clear(&args.out, &CHARTS)?;
    let opts = SweepOptions {
        out: args.out.clone(),
        threads: args.threads,
        shard: shard.map(|(s, _)| s),
        resume: args.resume,
        stop: super::signal::catch_sigterm()?,
        grace: GRACE,
    };
    let bar = if std::io::stdout().is_terminal() {
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} points  {elapsed_precise} elapsed, about {eta} left",
            )
            .expect("a valid template"),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let started = Instant::now();
    let done = sweep::run(
        arguments(&s, &args.model, &args.vary),
        s.loaded.model.clone(),
        points,
        &axes,
        &opts,
        &s.options,
        &progress,
    )?;
    bar.finish_and_clear();
    let results = &done.results;
    let mut lines: Vec<String> = fitted.iter().map(|n| format!("note: {n}")).collect();
    if let Some((sh, Some(variable))) = shard {
        lines.push(format!("shard {}/{} (K from {variable})", sh.k, sh.n));
    }
    if done.already_complete {
        lines.push(format!(
            "{} already holds this shard, finished: nothing to run, its files left as they are",
            args.out.display()
        ));
    } else {
        let resumed = match done.resumed {
            0 => String::new(),
            n => format!(" ({n} of them done before, resumed)"),
        };
        lines.push(format!(
            "{} points of {} in {:.2} s{resumed}",
            results.points.len(),
            results.total_points,
            started.elapsed().as_secs_f64(),
        ));
        lines.push(format!(
            "wrote {}",
            args.out.join(sweep::RESULTS_CSV).display()
        ));
    }
    if opts.shard.is_none() {
        lines.extend(draw_charts(&args.out, results, s.loaded.backlog_derived)?);
    } else {
        lines.push("charts are drawn by `eagain merge` once every shard has finished".into());
    }
    match args.format {
        // stdout holds the points alone.
        Format::Json => {
            lines.iter().for_each(|l| note(l));
            print(&(serde_json::to_string_pretty(&results.points)? + "\n"))
        }
        Format::Table => print(&(points_table(results, &args.out) + &lines.join("\n") + "\n")),
    }
}

/// How long the points in hand may still run after SIGTERM: Slurm and Kubernetes wait
/// 30 s by default before SIGKILL, and the files must be written within it.
const GRACE: Duration = Duration::from_secs(10);

/// The most points the terminal table shows; results.csv has them all.
const TABLE_ROWS: usize = 100;

/// A compact table of the points for the terminal: the varied values, the refusal
/// probability with its 95 % interval (or "none seen" with its bound), the share of
/// replications that saw any refusal, and the p99 latency; one line a point.
fn points_table(results: &Results, out: &Path) -> String {
    let mut rows: Vec<Vec<String>> = vec![results
        .axes
        .iter()
        .cloned()
        .chain([
            "refusal probability (95 % CI)".into(),
            "runs with a refusal".into(),
            "latency p99 (s)".into(),
        ])
        .collect()];
    for p in results.points.iter().take(TABLE_ROWS) {
        let r = &p.result;
        let e = &r.refusal_probability;
        let refusal = if r.offered == 0 || e.mean.is_nan() {
            "not defined: nothing offered".to_string()
        } else if e.none_seen {
            format!(
                "none seen in {} offered (95 % bound {})",
                r.offered,
                probability_text(e.upper_bound)
            )
        } else if e.ci_low.is_finite() && e.ci_high.is_finite() {
            format!(
                "{} ({} to {})",
                probability_text(e.mean),
                probability_text(e.ci_low),
                probability_text(e.ci_high)
            )
        } else {
            format!("{} (one replication)", probability_text(e.mean))
        };
        let any = &r.any_refusal_probability;
        let runs = if any.mean.is_nan() {
            "-".to_string()
        } else {
            let seen = (any.mean * f64::from(p.replications)).round();
            format!("{seen} of {}", p.replications)
        };
        let p99 = if r.latency_s.p99.is_finite() {
            format!("{:.4}", r.latency_s.p99)
        } else {
            "-".into()
        };
        rows.push(
            p.values
                .iter()
                .map(sweep::value_text)
                .chain([refusal, runs, p99])
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text += cells.join("  ").trim_end();
        text += "\n";
    }
    if results.points.len() > TABLE_ROWS {
        text += &format!(
            "... and {} more points in {}\n",
            results.points.len() - TABLE_ROWS,
            out.join(sweep::RESULTS_CSV).display()
        );
    }
    text
}

pub fn merge(args: MergeArgs) -> Result<()> {
    let out = args.out.canonicalize().ok();
    let mut shards: Vec<std::path::PathBuf> = Vec::new();
    let mut seen = Vec::new();
    let mut locks = Vec::new();
    for s in &args.shards {
        let canonical = s.canonicalize().ok();
        if canonical.is_some() && canonical == out {
            crate::bad_input!(
                "merge --out {}: that is the shard folder {} itself, whose results the merge \
                 would overwrite; give a new folder",
                args.out.display(),
                s.display()
            );
        }
        // A folder named twice is read once; a shard still being written is not read.
        if let Some(c) = canonical.filter(|c| c.is_dir()) {
            if seen.contains(&c) {
                continue;
            }
            locks.push(Lock::take_if_writable(&c)?);
            seen.push(c);
        }
        shards.push(s.clone());
    }
    let (results, walls) = sweep::merge(&shards)?;
    // Taken once the shards are known to merge: a refused merge leaves no folder.
    let _lock = Lock::take(&args.out)?;
    crate::output::clear(&args.out, &CHARTS)?;
    sweep::write_results(&args.out, &results, &walls)?;
    let mut lines = vec![
        format!(
            "merged {} shards: {} points",
            shards.len(),
            results.points.len()
        ),
        format!("wrote {}", args.out.join(sweep::RESULTS_CSV).display()),
    ];
    lines.extend(draw_charts(
        &args.out,
        &results,
        recorded_backlog_derived(&results),
    )?);
    print(&(lines.join("\n") + "\n"))
}

/// The charts a sweep draws.
const CHARTS: [&str; 5] = [
    "capacity.png",
    "failure.png",
    "latency.png",
    "heatmap.png",
    "where-refused.png",
];

/// The words above a sweep's charts; `backlog_derived`: the model's backlog follows
/// its family's rule (`LoadedModel::backlog_derived`).
pub fn chart_text(results: &Results, backlog_derived: bool) -> ChartText {
    let a = &results.arguments;
    ChartText::of_runs(&results.model, &results.axes, &a.set, backlog_derived)
}

/// Whether the model of a sweep read back from its results.json had its backlog
/// derived: its recorded text and `--set`s loaded again (false when they no longer
/// load, say a trace that moved; the chart then prints the backlog's number).
pub fn recorded_backlog_derived(results: &Results) -> bool {
    let a = &results.arguments;
    let Ok(overrides) = a
        .set
        .iter()
        .map(|s| model::parse_assignment(s))
        .collect::<Result<Vec<_>, _>>()
    else {
        return false;
    };
    model::load_text(Path::new(&a.model_file), a.model_text.clone(), &overrides)
        .is_ok_and(|l| l.backlog_derived)
}

/// Draws a sweep's charts into `dir`; says what was written, and why a chart that
/// this grid cannot show was left out.
fn draw_charts(dir: &Path, results: &Results, backlog_derived: bool) -> Result<Vec<String>> {
    let table = results.table(&dir.join(sweep::RESULTS_CSV));
    let text = chart_text(results, backlog_derived);
    let (x, series) = plot::default_axes(&table)?;
    let mut out = Vec::new();
    let mut attempt = |name: &str, draw: &dyn Fn(&Path) -> Result<()>| {
        let path = dir.join(name);
        match draw(&path) {
            Ok(()) => out.push(format!("wrote {}", path.display())),
            Err(e) => out.push(format!("note: no {name}: {e:#}")),
        }
    };
    let t: &Table = &table;
    let series = series.as_deref();
    attempt("capacity.png", &|p| {
        plot::capacity_curve(t, p, &x, series, "refusal_probability", None, &text)
    });
    // Failures include time-outs: behind nginx those are the 504s that a large backlog
    // trades the 502s for.
    attempt("failure.png", &|p| {
        plot::capacity_curve(t, p, &x, series, "failure_probability", None, &text)
    });
    attempt("latency.png", &|p| {
        plot::latency_chart(t, p, &x, series, &text)
    });
    if let Some(y) = series {
        attempt("heatmap.png", &|p| {
            plot::heatmap(t, p, &x, y, "refusal_probability", &text)
        });
    }
    // A chain: at which service the connections were refused.
    if results.model.is_chain() {
        attempt("where-refused.png", &|p| {
            plot::where_refused(t, p, &x, &text)
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sweep's results as read back from results.json: its model's text, `--set`s
    /// and model (no points are needed for the chart's words).
    fn results(file: &str, set: &[&str]) -> Results {
        let text = std::fs::read_to_string(file).unwrap();
        let overrides: Vec<_> = set
            .iter()
            .map(|s| model::parse_assignment(s).unwrap())
            .collect();
        let loaded = model::load(Path::new(file), &overrides).unwrap();
        Results {
            name: loaded.model.name.clone(),
            arguments: Arguments {
                model_file: file.to_string(),
                model_text: text,
                set: set.iter().map(|s| s.to_string()).collect(),
                vary: Vec::new(),
                seed: 1,
                replications: 1,
                precision: None,
                max_replications: 2,
            },
            model: loaded.model,
            seed: 1,
            axes: vec!["pool.process_limit".into()],
            total_points: 0,
            shard: None,
            sealed: None,
            points: Vec::new(),
        }
    }

    #[test]
    fn results_read_back_know_whether_the_backlog_was_derived_from_the_model_they_recorded() {
        // Dovecot's model leaves its backlog out: process_limit x client_limit.
        let dovecot = results("models/dovecot-imap.toml", &[]);
        assert!(recorded_backlog_derived(&dovecot));
        let text = chart_text(&dovecot, true).subtitle;
        assert!(
            text.contains("backlog=process_limit x client_limit"),
            "{text}"
        );
        // Given by a --set, or by the file (gunicorn's), it is the number.
        let set = results("models/dovecot-imap.toml", &["listener.backlog=100"]);
        assert!(!recorded_backlog_derived(&set));
        assert!(!recorded_backlog_derived(&results("models/mmck.toml", &[])));
    }
}
