//! Sweeps: every point of a grid simulated in parallel (rayon; each simulation stays
//! single-threaded), written as `results.csv` and `results.json` in grid order; the
//! caller draws the charts from the results it gets back. A sweep records each finished point in a progress file as it goes, so
//! `--resume` continues an interrupted one; `--shard K/N` runs every N-th point from K
//! and `merge` joins shards. Because every (point, replication) has its own random
//! streams, all of these give the same bytes as one uninterrupted run.

mod files;
pub(crate) mod grid;

pub use files::{read_results, write_results, Timing, RESULTS_CSV};
pub use grid::{expand, parse_axis, value_text, Axis, Point};

use crate::error::BadInput;
use crate::model::Model;
use crate::output::report::Effective;
use crate::replicate::{run_point, RunOptions};
use crate::server::Compiled;
use crate::stats::Summary;
use anyhow::{Context, Result};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// What a sweep was asked: two runs with equal arguments give equal results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arguments {
    pub model_file: String,
    /// The model file's text, so a changed file is noticed on resume and merge.
    pub model_text: String,
    pub set: Vec<String>,
    pub vary: Vec<String>,
    pub seed: u64,
    pub replications: u32,
    pub precision: Option<f64>,
    pub max_replications: u32,
}

/// One point's full result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointRecord {
    pub index: usize,
    /// The varied paths' values, in axis order.
    pub values: Vec<toml::Value>,
    pub replications: u32,
    pub effective: Effective,
    pub result: Summary,
}

/// The contents of `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub name: String,
    pub arguments: Arguments,
    /// The model with the `--set` overrides applied, before any point's values.
    pub model: Model,
    pub seed: u64,
    /// The varied paths, in axis order.
    pub axes: Vec<String>,
    pub total_points: usize,
    /// Present only in a shard's own results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    pub points: Vec<PointRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    /// Parses `K/N` (0 <= K < N).
    pub fn parse(raw: &str) -> Result<Shard, BadInput> {
        let bad = || {
            BadInput(format!(
                "--shard {}: write K/N with 0 <= K < N, for example --shard 0/4 \
                 (this runs points 0, 4, 8, ... of the grid)",
                crate::error::quoted(raw)
            ))
        };
        let (k, n) = raw.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if n == 0 || k >= n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }

    fn owns(&self, index: usize) -> bool {
        index % self.n == self.k
    }
}

pub struct SweepOptions {
    pub out: PathBuf,
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
    pub resume: bool,
}

/// Told how many of this run's points are done and how many there are: once before
/// the work starts, then after each finished point (from any worker thread).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// The file that records finished points while a sweep runs.
const PROGRESS: &str = "progress.jsonl";

#[derive(Serialize, Deserialize, PartialEq)]
struct ProgressHeader {
    arguments: Arguments,
    shard: Option<Shard>,
}

#[derive(Serialize, Deserialize)]
struct ProgressLine {
    record: PointRecord,
    wall_s: f64,
}

/// Runs a sweep and writes its files; returns the results and each point's wall time.
pub fn run(
    arguments: Arguments,
    base: Model,
    points: Vec<Point>,
    axes: &[Axis],
    opts: &SweepOptions,
    run_opts: &RunOptions,
    progress: Progress<'_>,
) -> Result<Results> {
    crate::output::create_dir(&opts.out)?;
    let progress_path = opts.out.join(PROGRESS);
    let header = ProgressHeader {
        arguments: arguments.clone(),
        shard: opts.shard,
    };
    let mut done: Vec<(PointRecord, f64)> = if opts.resume && progress_path.exists() {
        read_progress(&progress_path, &header, &points)?
    } else {
        Vec::new()
    };
    if done.is_empty() {
        // A new sweep: old results in this folder must not look like this sweep's.
        files::remove_results(&opts.out)?;
        let mut f = std::fs::File::create(&progress_path).map_err(|e| {
            BadInput(format!(
                "cannot write {}: {e}; give --out a folder that can be written",
                progress_path.display()
            ))
        })?;
        writeln!(f, "{}", serde_json::to_string(&header)?)
            .with_context(|| format!("cannot write {}", progress_path.display()))?;
    }
    let mine: Vec<&Point> = points
        .iter()
        .filter(|p| opts.shard.is_none_or(|s| s.owns(p.index)))
        .collect();
    let todo: Vec<&Point> = mine
        .iter()
        .copied()
        .filter(|p| !done.iter().any(|(r, _)| r.index == p.index))
        .collect();

    let total = mine.len() as u64;
    let finished = std::sync::atomic::AtomicU64::new(done.len() as u64);
    progress(done.len() as u64, total);
    let log = Mutex::new(
        std::fs::OpenOptions::new()
            .append(true)
            .open(&progress_path)
            .with_context(|| format!("cannot append to {}", progress_path.display()))?,
    );
    let work = || -> Result<Vec<(PointRecord, f64)>> {
        todo.par_iter()
            .map(|p| {
                let started = Instant::now();
                let r = run_point(&Compiled::new(&p.model), run_opts)?;
                let line = ProgressLine {
                    record: PointRecord {
                        index: p.index,
                        values: p.values.clone(),
                        replications: r.replications,
                        effective: Effective::of(&p.model),
                        result: r.summary,
                    },
                    wall_s: started.elapsed().as_secs_f64(),
                };
                let text = serde_json::to_string(&line)? + "\n";
                let mut f = log.lock().expect("no thread panics holding the log");
                f.write_all(text.as_bytes())
                    .and_then(|_| f.flush())
                    .with_context(|| format!("cannot append to {}", progress_path.display()))?;
                drop(f);
                let n = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(n, total);
                Ok((line.record, line.wall_s))
            })
            .collect()
    };
    let fresh = match opts.threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .context("cannot start the worker threads")?
            .install(work)?,
        None => work()?,
    };
    done.extend(fresh);
    done.sort_by_key(|(r, _)| r.index);
    let walls: Vec<Timing> = done
        .iter()
        .map(|(r, w)| (r.index, r.replications, *w))
        .collect();
    let results = Results {
        name: base.name.clone(),
        arguments,
        model: base,
        seed: run_opts.seed,
        axes: axes.iter().map(|a| a.path.clone()).collect(),
        total_points: points.len(),
        shard: opts.shard,
        points: done.into_iter().map(|(r, _)| r).collect(),
    };
    write_results(&opts.out, &results, &walls)?;
    std::fs::remove_file(&progress_path)
        .with_context(|| format!("cannot remove {}", progress_path.display()))?;
    Ok(results)
}

/// The points a progress file says are done, after checking that it belongs to this
/// sweep and that every line is a point of this grid and this shard, given once. Only
/// the last line may be cut short (a sweep killed while writing it).
fn read_progress(
    path: &Path,
    header: &ProgressHeader,
    points: &[Point],
) -> Result<Vec<(PointRecord, f64)>> {
    let file = crate::input::open(path, u64::MAX).map_err(|e| {
        BadInput(format!(
            "--resume: {e}; run without --resume to start over, or choose another --out"
        ))
    })?;
    let mut lines = std::io::BufReader::new(file).lines().peekable();
    let first = lines.next().transpose()?.unwrap_or_default();
    let theirs: ProgressHeader = serde_json::from_str(&first).map_err(|_| {
        BadInput(format!(
            "{} is not an eagain progress file: use another --out folder or remove it",
            path.display()
        ))
    })?;
    if &theirs != header {
        let what = if theirs.arguments.model_text != header.arguments.model_text {
            "the model file has changed since"
        } else if theirs.shard != header.shard {
            "it was a different --shard"
        } else {
            "its arguments (--vary, --set, --seed, --replications or --precision) differ"
        };
        crate::bad_input!(
            "--resume: the interrupted sweep in {} is not this sweep ({what}); results of \
             two different sweeps are never mixed. Run it with its own arguments, or \
             choose another --out folder, or run without --resume to start over.",
            path.parent().unwrap_or(Path::new(".")).display()
        );
    }
    let refuse = |n: usize, why: String| -> anyhow::Error {
        BadInput(format!(
            "--resume: line {n} of {}: {why}; the file was not written by this sweep alone. \
             Run without --resume to start over, or choose another --out folder.",
            path.display()
        ))
        .into()
    };
    let mut seen = vec![false; points.len()];
    let mut done = Vec::new();
    let mut n = 1;
    while let Some(line) = lines.next() {
        n += 1;
        let line = line?;
        let l = match serde_json::from_str::<ProgressLine>(&line) {
            Ok(l) => l,
            // A sweep killed while writing leaves at most its last line cut short.
            Err(_) if lines.peek().is_none() => break,
            Err(e) => return Err(refuse(n, format!("it is not a finished point ({e})"))),
        };
        let index = l.record.index;
        let Some(point) = points.get(index) else {
            return Err(refuse(
                n,
                format!("point {index} is not in this grid of {}", points.len()),
            ));
        };
        if header.shard.is_some_and(|s| !s.owns(index)) {
            return Err(refuse(n, format!("point {index} is not in this shard")));
        }
        if point.values != l.record.values {
            return Err(refuse(
                n,
                format!("point {index} has other values than this grid's"),
            ));
        }
        if std::mem::replace(&mut seen[index], true) {
            return Err(refuse(n, format!("point {index} appears twice")));
        }
        done.push((l.record, l.wall_s));
    }
    Ok(done)
}

/// The values of every point of the grid the arguments describe, in grid order.
fn grid_values(vary: &[String]) -> Result<Vec<Vec<toml::Value>>, BadInput> {
    let axes = vary
        .iter()
        .map(|v| parse_axis(v))
        .collect::<Result<Vec<_>, _>>()?;
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .filter(|&n| n <= grid::MAX_POINTS)
        .ok_or_else(|| {
            BadInput(format!(
                "the grid has more than {} points",
                grid::MAX_POINTS
            ))
        })?;
    Ok((0..total).map(|i| grid::values_at(&axes, i)).collect())
}

/// A shard's results must be a shard of the grid its arguments describe: a valid K/N,
/// the grid's size, and each point at its index with its values, in this shard, once.
fn check_shard(dir: &Path, r: &Results, shard: Shard) -> Result<(), BadInput> {
    let bad = |why: String| {
        BadInput(format!(
            "{}: {why}; its results.json was not written by `eagain sweep --shard` as it \
             is (merge only the folders of finished shards)",
            dir.display()
        ))
    };
    if shard.n == 0 || shard.k >= shard.n {
        return Err(bad(format!(
            "shard {}/{} is not a K/N with 0 <= K < N",
            shard.k, shard.n
        )));
    }
    let grid = grid_values(&r.arguments.vary)?;
    if r.total_points != grid.len() {
        return Err(bad(format!(
            "it says {} points, but its --vary axes make {}",
            r.total_points,
            grid.len()
        )));
    }
    let mut seen = vec![false; grid.len()];
    for p in &r.points {
        let Some(values) = grid.get(p.index) else {
            return Err(bad(format!("point {} is not in the grid", p.index)));
        };
        if !shard.owns(p.index) {
            return Err(bad(format!(
                "point {} is not in shard {}/{}",
                p.index, shard.k, shard.n
            )));
        }
        if *values != p.values {
            return Err(bad(format!(
                "point {} has other values than the grid's",
                p.index
            )));
        }
        if std::mem::replace(&mut seen[p.index], true) {
            return Err(bad(format!("point {} appears twice", p.index)));
        }
    }
    Ok(())
}

/// Joins shards' results into the results of one unsharded run.
pub fn merge(dirs: &[PathBuf]) -> Result<(Results, Vec<Timing>)> {
    let mut all: Vec<Results> = Vec::new();
    let mut walls = Vec::new();
    for d in dirs {
        let (r, w) = read_results(d)?;
        let Some(shard) = r.shard else {
            crate::bad_input!(
                "{}: these are the results of an unsharded sweep; merge joins the folders \
                 of `eagain sweep --shard K/N`",
                d.display()
            );
        };
        check_shard(d, &r, shard)?;
        if let Some(first) = all.first() {
            if first.arguments != r.arguments || first.total_points != r.total_points {
                crate::bad_input!(
                    "{} and {} hold shards of different sweeps (model or arguments differ): \
                     merge only the shards of one sweep",
                    dirs[0].display(),
                    d.display()
                );
            }
        }
        walls.extend(w);
        all.push(r);
    }
    let Some(first) = all.first().cloned() else {
        crate::bad_input!("merge: name the shard folders to join");
    };
    let mut points: Vec<Option<PointRecord>> = vec![None; first.total_points];
    for r in &all {
        for p in &r.points {
            match &points[p.index] {
                Some(q) if q != p => crate::bad_input!(
                    "point {} appears in two shards with different results",
                    p.index
                ),
                _ => points[p.index] = Some(p.clone()),
            }
        }
    }
    let missing: Vec<usize> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_none())
        .map(|(i, _)| i)
        .collect();
    if !missing.is_empty() {
        let n = first.shard.map_or(1, |s| s.n);
        let mut shards: Vec<usize> = missing.iter().map(|i| i % n).collect();
        shards.sort_unstable();
        shards.dedup();
        crate::bad_input!(
            "merge: {} of {} points are missing (shards {} of {n} are not among the folders \
             given, or did not finish)",
            missing.len(),
            first.total_points,
            shards
                .iter()
                .map(|s| format!("{s}/{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    walls.sort_by_key(|w: &Timing| w.0);
    let results = Results {
        shard: None,
        points: points.into_iter().map(|p| p.expect("checked")).collect(),
        ..first
    };
    Ok((results, walls))
}
