//! `eagain sweep` and `eagain merge`: the grid, the progress bar, the run, and the
//! charts drawn from the results in memory.

use super::args::{MergeArgs, ModelArgs, SweepArgs};
use super::{load_scenario, print};
use crate::model;
use crate::output::{Lock, Table};
use crate::plot::{self, ChartText};
use crate::replicate::Scenario;
use crate::sweep::{self, Arguments, Results, Shard, SweepOptions};
use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

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
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
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
    if !args.resume {
        remove_charts(&args.out)?;
    }
    let opts = SweepOptions {
        out: args.out.clone(),
        threads: args.threads,
        shard,
        resume: args.resume,
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
    let results = sweep::run(
        arguments(&s, &args.model, &args.vary),
        s.loaded.model.clone(),
        points,
        &axes,
        &opts,
        &s.options,
        &progress,
    )?;
    bar.finish_and_clear();
    let mut text = format!(
        "{} points of {} in {:.2} s\nwrote {}\n",
        results.points.len(),
        results.total_points,
        started.elapsed().as_secs_f64(),
        args.out.join(sweep::RESULTS_CSV).display()
    );
    if shard.is_none() {
        text += &draw_charts(&args.out, &results, s.loaded.backlog_derived)?;
    } else {
        text += "charts are drawn by `eagain merge` once every shard has finished\n";
    }
    print(&text)
}

pub fn merge(args: MergeArgs) -> Result<()> {
    let _lock = Lock::take(&args.out)?;
    let out = args.out.canonicalize()?;
    if let Some(s) = args
        .shards
        .iter()
        .find(|s| s.canonicalize().is_ok_and(|s| s == out))
    {
        crate::bad_input!(
            "merge --out {}: that is the shard folder {} itself, whose results the merge \
             would overwrite; give a new folder",
            args.out.display(),
            s.display()
        );
    }
    let (results, walls) = sweep::merge(&args.shards)?;
    remove_charts(&args.out)?;
    sweep::write_results(&args.out, &results, &walls)?;
    let text = format!(
        "merged {} shards: {} points\nwrote {}\n{}",
        args.shards.len(),
        results.points.len(),
        args.out.join(sweep::RESULTS_CSV).display(),
        draw_charts(&args.out, &results, recorded_backlog_derived(&results))?
    );
    print(&text)
}

/// The charts a sweep draws.
const CHARTS: [&str; 5] = [
    "capacity.png",
    "failure.png",
    "latency.png",
    "heatmap.png",
    "where-refused.png",
];

/// Removes the charts of an earlier sweep in this folder, so that none is left that
/// this sweep does not draw.
fn remove_charts(dir: &Path) -> Result<()> {
    for name in CHARTS {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p)
                .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", p.display()))?;
        }
    }
    Ok(())
}

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
fn draw_charts(dir: &Path, results: &Results, backlog_derived: bool) -> Result<String> {
    let table = results.table(&dir.join(sweep::RESULTS_CSV));
    let text = chart_text(results, backlog_derived);
    let (x, series) = plot::default_axes(&table)?;
    let mut out = String::new();
    let mut attempt = |name: &str, draw: &dyn Fn(&Path) -> Result<()>| {
        let path = dir.join(name);
        match draw(&path) {
            Ok(()) => out += &format!("wrote {}\n", path.display()),
            Err(e) => out += &format!("note: no {name}: {e:#}\n"),
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
