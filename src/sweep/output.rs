//! A sweep's files: `results.csv` (one row per point, grid order, SPEC section 5's
//! columns), `results.json` (the model, the arguments, the seed and every point's full
//! result), `timing.csv` (each point's wall time, kept apart so that the results are
//! byte-identical from run to run), and the charts. Each file is written under a
//! temporary name and renamed, so an interrupted write never leaves a file that looks
//! complete.

use super::{value_text, Results};
use crate::plot::{self, ChartText};
use crate::report::flatten;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub const RESULTS_CSV: &str = "results.csv";
pub const RESULTS_JSON: &str = "results.json";
pub const TIMING_CSV: &str = "timing.csv";

/// One point's (index, replications, wall time in seconds).
pub type Timing = (usize, u32, f64);

/// Writes `bytes` to `path` through a temporary file in the same folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}.partial",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
}

/// The CSV text of a sweep's results.
pub fn results_csv(results: &Results) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = results.axes.clone();
    if let Some(p) = results.points.first() {
        header.extend(flatten(&p.result).into_iter().map(|(k, _)| k));
    }
    w.write_record(&header)?;
    for p in &results.points {
        let mut row: Vec<String> = p.values.iter().map(value_text).collect();
        row.extend(flatten(&p.result).into_iter().map(|(_, v)| match v {
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        }));
        w.write_record(&row)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

pub fn write_results(dir: &Path, results: &Results, walls: &[Timing]) -> Result<()> {
    let mut timing = String::from("index,replications,wall_s\n");
    for (i, r, w) in walls {
        timing += &format!("{i},{r},{w}\n");
    }
    write_atomic(&dir.join(TIMING_CSV), timing.as_bytes())?;
    write_atomic(
        &dir.join(RESULTS_JSON),
        (serde_json::to_string_pretty(results)? + "\n").as_bytes(),
    )?;
    // The CSV last: its presence says the sweep is complete.
    write_atomic(&dir.join(RESULTS_CSV), results_csv(results)?.as_bytes())
}

/// Removes the results of an earlier sweep in this folder.
pub fn remove_results(dir: &Path) -> Result<()> {
    for name in [RESULTS_CSV, RESULTS_JSON, TIMING_CSV] {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    Ok(())
}

/// Reads a finished sweep's (or shard's) results.json and timing.csv.
pub fn read_results(dir: &Path) -> Result<(Results, Vec<Timing>)> {
    let path = dir.join(RESULTS_JSON);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        crate::error::BadInput(format!(
            "cannot read {}: {e}. Give a folder written by a finished `eagain sweep`.",
            path.display()
        ))
    })?;
    let results: Results = serde_json::from_str(&text).map_err(|e| {
        crate::error::BadInput(format!(
            "{} is not the results.json of an eagain sweep: {e}",
            path.display()
        ))
    })?;
    let mut walls = Vec::new();
    if let Ok(t) = std::fs::read_to_string(dir.join(TIMING_CSV)) {
        for line in t.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            if let [i, r, w] = f[..] {
                if let (Ok(i), Ok(r), Ok(w)) = (i.parse(), r.parse(), w.parse()) {
                    walls.push((i, r, w));
                }
            }
        }
    }
    Ok((results, walls))
}

/// The fixed parameters of a model for a chart's subtitle, leaving out the varied ones.
pub fn fixed_parameters(results: &Results) -> String {
    let m = &results.model;
    let varies = |path: &str| results.axes.iter().any(|a| a.starts_with(path));
    // A Dovecot backlog left out of the file follows process_limit x client_limit.
    let given = |l: &String| l.trim_start().starts_with("backlog");
    let derived = m.master.dovecot_version.is_some()
        && (varies("pool.process_limit") || varies("pool.client_limit"))
        && !results
            .arguments
            .set
            .iter()
            .any(|s| s.starts_with("listener.backlog"))
        && !results
            .arguments
            .model_text
            .lines()
            .map(String::from)
            .any(|l| given(&l));
    let backlog = if derived {
        "backlog=process_limit x client_limit".to_string()
    } else {
        format!("backlog={}", m.listener.backlog)
    };
    let items = [
        (
            "pool.process_limit",
            format!("process_limit={}", m.pool.process_limit),
        ),
        (
            "pool.client_limit",
            format!("client_limit={}", m.pool.client_limit),
        ),
        (
            "pool.service_count",
            format!("service_count={}", m.pool.service_count),
        ),
        (
            "pool.process_min_avail",
            format!("process_min_avail={}", m.pool.process_min_avail),
        ),
        ("listener.backlog", backlog),
        (
            "listener.somaxconn",
            format!("somaxconn={}", m.listener.somaxconn),
        ),
        (
            "listener.kind",
            format!("{:?}", m.listener.kind).to_lowercase(),
        ),
        (
            "master.mode",
            serde_json::to_value(m.master.mode)
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .unwrap_or_default(),
        ),
        (
            "work.blocking",
            format!("blocking mean {} s", m.work.blocking.mean()),
        ),
        ("load.rate", format!("rate={}/s", m.load.rate)),
    ];
    items
        .iter()
        .filter(|(path, _)| !results.axes.iter().any(|a| a.starts_with(path)))
        .map(|(_, s)| s.clone())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Draws a sweep's charts next to its CSV; returns the files written, and notes on the
/// charts that could not be drawn for this grid.
pub fn charts(dir: &Path, results: &Results) -> Result<(Vec<PathBuf>, Vec<String>)> {
    let csv = dir.join(RESULTS_CSV);
    let text = ChartText {
        title: results.name.clone(),
        subtitle: fixed_parameters(results),
    };
    let (x, series) = plot::default_axes(&csv)?;
    let mut written = Vec::new();
    let mut notes = Vec::new();
    let mut attempt = |name: &str, r: Result<()>| match r {
        Ok(()) => written.push(dir.join(name)),
        Err(e) => notes.push(format!("no {name}: {e:#}")),
    };
    let capacity = dir.join("capacity.png");
    attempt(
        "capacity.png",
        plot::capacity_curve(
            &csv,
            &capacity,
            &x,
            series.as_deref(),
            "refusal_probability",
            None,
            &text,
        ),
    );
    // Failures include time-outs: behind nginx those are the 504s that a large backlog
    // trades the 502s for.
    let failure = dir.join("failure.png");
    attempt(
        "failure.png",
        plot::capacity_curve(
            &csv,
            &failure,
            &x,
            series.as_deref(),
            "failure_probability",
            None,
            &text,
        ),
    );
    let latency = dir.join("latency.png");
    attempt(
        "latency.png",
        plot::latency_chart(&csv, &latency, &x, series.as_deref(), &text),
    );
    if let Some(y) = series.as_deref() {
        let heat = dir.join("heatmap.png");
        attempt(
            "heatmap.png",
            plot::heatmap(&csv, &heat, &x, y, "refusal_probability", &text),
        );
    }
    Ok((written, notes))
}
