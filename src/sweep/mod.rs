//! Sweeps: every point of a grid simulated in parallel (rayon; each simulation stays
//! single-threaded), written as `results.csv` and `results.json` in grid order; the
//! caller draws the charts from the results it gets back. Because every (point,
//! replication) has its own random streams, the ways a large study is split and
//! interrupted all give the bytes of one uninterrupted run:
//! - `progress.rs`: each finished point is recorded as it ends, so `--resume` continues
//!   an interrupted sweep (killed, or stopped on request: SIGTERM from a scheduler);
//! - `shard.rs`: `--shard K/N` (or `auto/N`, K from a scheduler's array index) runs every
//!   N-th point from K, and `merge.rs` joins the shards;
//! - `seal.rs`: the build that ran a sweep and each point's integrity check, so that
//!   neither resume nor merge mixes in results of another sweep, another build, or edited
//!   by hand.
//!
//! The points run on worker threads; this module's calling thread alone writes the
//! progress file, so that a stop never leaves half a line there.

mod files;
pub(crate) mod grid;
mod merge;
mod progress;
mod seal;
mod shard;

pub use files::{read_results, write_results, Timing, RESULTS_CSV, RESULTS_FILES};
pub use grid::{expand, parse_axis, value_text, Axis, Point};
pub use merge::merge;
pub use progress::PROGRESS;
pub use shard::Shard;

use crate::error::Stopped;
use crate::model::Model;
use crate::output::report::Effective;
use crate::replicate::{run_point, RunOptions};
use crate::server::Compiled;
use crate::stats::Summary;
use anyhow::{Context, Result};
use progress::{Line, Log};
use rayon::prelude::*;
use seal::Seal;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Present only in a shard's own results: what `merge` checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
    pub points: Vec<PointRecord>,
}

/// A shard's build and each of its points' integrity checks, in the order of `points`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sealed {
    pub build: String,
    pub checks: Vec<String>,
}

/// Who runs a sweep: its arguments, its shard and the build of eagain. A progress file
/// starts with it, and each point's integrity check hashes it with the point's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub arguments: Arguments,
    pub shard: Option<Shard>,
    /// Empty in the progress files of an eagain that recorded no build.
    #[serde(default)]
    pub build: String,
}

impl Identity {
    fn seal(&self) -> Seal {
        Seal::new(&serde_json::to_string(self).expect("an identity serialises"))
    }
}

pub struct SweepOptions {
    pub out: PathBuf,
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
    pub resume: bool,
    /// Set (by SIGTERM) to stop: no point starts after it, the points in hand that end
    /// within `grace` are kept, and the sweep returns `Stopped` with its progress saved.
    pub stop: &'static AtomicBool,
    pub grace: Duration,
}

/// Told how many of this run's points are done and how many there are: once before
/// the work starts, then after each finished point.
pub type Progress<'a> = &'a dyn Fn(u64, u64);

/// What a finished sweep gives back.
pub struct Done {
    pub results: Results,
    /// Points taken from the progress of an earlier, interrupted run.
    pub resumed: usize,
    /// The folder already held this very shard, finished: nothing was run.
    pub already_complete: bool,
}

/// Runs a sweep and writes its files.
pub fn run(
    arguments: Arguments,
    base: Model,
    points: Vec<Point>,
    axes: &[Axis],
    opts: &SweepOptions,
    run_opts: &RunOptions,
    progress: Progress<'_>,
) -> Result<Done> {
    crate::output::create_dir(&opts.out)?;
    let identity = Identity {
        arguments,
        shard: opts.shard,
        build: seal::build().to_string(),
    };
    let seal = identity.seal();
    let progress_path = opts.out.join(PROGRESS);
    if opts.resume && !progress_path.exists() {
        if let Some(results) = merge::finished_shard(&opts.out, &identity) {
            // A task run again after it had finished (a whole array resubmitted).
            return Ok(Done {
                resumed: results.points.len(),
                results,
                already_complete: true,
            });
        }
    }
    let done = if opts.resume && progress_path.exists() {
        progress::read(&progress_path, &identity, &seal, &points)?
    } else {
        Vec::new()
    };
    // Until this sweep has ended, nothing in its folder may look like its results.
    crate::output::clear(&opts.out, &RESULTS_FILES)?;
    let mut log = Log::start(&progress_path, &identity, &done)?;
    let total_points = points.len();
    let todo: Vec<Point> = points
        .into_iter()
        .filter(|p| opts.shard.is_none_or(|s| s.owns(p.index)))
        .filter(|p| !done.iter().any(|l| l.record.index == p.index))
        .collect();
    let resumed = done.len();
    let total = (resumed + todo.len()) as u64;
    progress(resumed as u64, total);
    let mut lines = done;
    let ended = work(todo, opts, run_opts, &seal, |line| {
        log.append(&line)?;
        lines.push(line);
        progress(lines.len() as u64, total);
        Ok(())
    })?;
    if let Ended::Stopped { in_hand } = ended {
        return Err(Stopped(format!(
            "stopped on request (SIGTERM) with {} of this run's {total} points done{}; they \
             are saved in {}: run the same command with --resume to finish the sweep",
            lines.len(),
            if in_hand > 0 {
                format!(" ({in_hand} in hand abandoned, to be run again)")
            } else {
                String::new()
            },
            progress_path.display()
        ))
        .into());
    }
    lines.sort_by_key(|l| l.record.index);
    let walls: Vec<Timing> = lines
        .iter()
        .map(|l| (l.record.index, l.record.replications, l.wall_s))
        .collect();
    let sealed = opts.shard.map(|_| Sealed {
        build: identity.build.clone(),
        checks: lines.iter().map(|l| l.check.clone()).collect(),
    });
    let results = Results {
        name: base.name.clone(),
        arguments: identity.arguments,
        model: base,
        seed: run_opts.seed,
        axes: axes.iter().map(|a| a.path.clone()).collect(),
        total_points,
        shard: opts.shard,
        sealed,
        points: lines.into_iter().map(|l| l.record).collect(),
    };
    write_results(&opts.out, &results, &walls)?;
    std::fs::remove_file(&progress_path)
        .with_context(|| format!("cannot remove {}", progress_path.display()))?;
    Ok(Done {
        results,
        resumed,
        already_complete: false,
    })
}

/// How the work on the points ended.
enum Ended {
    /// Every point finished.
    All,
    /// `stop` was set; this many points were still running when the grace ended.
    Stopped { in_hand: usize },
}

/// How often the calling thread looks at `stop` while it waits for points.
const POLL: Duration = Duration::from_millis(50);

/// Runs the points on worker threads and hands each finished one to `finished` on
/// this thread, until all are done, a point fails, or `opts.stop` is set and the points
/// in hand have ended or the grace is over. The workers run detached: when the sweep
/// stops before they end, their points are abandoned and the process's exit ends them.
fn work(
    todo: Vec<Point>,
    opts: &SweepOptions,
    run_opts: &RunOptions,
    seal: &Seal,
    mut finished: impl FnMut(Line) -> Result<()>,
) -> Result<Ended> {
    let pool = match opts.threads {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .context("cannot start the worker threads")?,
        ),
        None => None,
    };
    // Set by this thread when it stops waiting: no worker starts a point after it.
    let halt = Arc::new(AtomicBool::new(false));
    let in_hand = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Result<Line>>();
    let count = todo.len();
    {
        let (halt, in_hand, stop) = (halt.clone(), in_hand.clone(), opts.stop);
        let (run_opts, seal) = (*run_opts, *seal);
        std::thread::Builder::new()
            .name("sweep".into())
            .spawn(move || {
                let each = |tx: &mut mpsc::Sender<Result<Line>>, p: Point| {
                    if halt.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst) {
                        return;
                    }
                    in_hand.fetch_add(1, Ordering::SeqCst);
                    let started = Instant::now();
                    let line = run_point(&Compiled::new(&p.model), &run_opts)
                        .map_err(anyhow::Error::from)
                        .and_then(|r| {
                            let record = PointRecord {
                                index: p.index,
                                values: p.values,
                                replications: r.replications,
                                effective: Effective::of(&p.model),
                                result: r.summary,
                            };
                            Line::new(record, started.elapsed().as_secs_f64(), &seal)
                        });
                    // Sent before it stops counting as in hand, so that the calling
                    // thread, once none is in hand, finds every finished point sent.
                    let _ = tx.send(line);
                    in_hand.fetch_sub(1, Ordering::SeqCst);
                };
                let run = || todo.into_par_iter().for_each_with(tx, each);
                match pool {
                    Some(pool) => pool.install(run),
                    None => run(),
                }
            })
            .context("cannot start the sweep's thread")?;
    }
    let mut stopping: Option<Instant> = None;
    let mut left = count;
    loop {
        match rx.recv_timeout(POLL) {
            Ok(line) => {
                finished(line.inspect_err(|_| halt.store(true, Ordering::SeqCst))?)?;
                left -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // Every worker has ended: all points done, or skipped after a stop.
            Err(mpsc::RecvTimeoutError::Disconnected) if left == 0 => return Ok(Ended::All),
            Err(mpsc::RecvTimeoutError::Disconnected) if opts.stop.load(Ordering::SeqCst) => {
                return Ok(Ended::Stopped { in_hand: 0 })
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!(
                "the sweep's worker threads ended with {left} points not run (see the panic \
                 above)"
            ),
        }
        if opts.stop.load(Ordering::SeqCst) {
            halt.store(true, Ordering::SeqCst);
            let since = *stopping.get_or_insert_with(Instant::now);
            if in_hand.load(Ordering::SeqCst) == 0 || since.elapsed() >= opts.grace {
                // What finished meanwhile is kept.
                while let Ok(line) = rx.try_recv() {
                    finished(line?)?;
                    left -= 1;
                }
                // The last points may have ended in the grace: then the sweep is done.
                return Ok(if left == 0 {
                    Ended::All
                } else {
                    Ended::Stopped {
                        in_hand: in_hand.load(Ordering::SeqCst),
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A never-set stop flag, and one set from the start.
    static NEVER: AtomicBool = AtomicBool::new(false);
    static STOPPED: AtomicBool = AtomicBool::new(true);

    fn setup(duration: &str, rates: &str) -> (Arguments, Model, Vec<Point>, Vec<Axis>) {
        let text = format!(
            "name = \"t\"\n[load]\nrate = 5.0\nduration = {duration}\n[listener]\nbacklog = \
             4\n[pool]\nprocess_limit = 2\n[work]\nblocking = {{ dist = \"exponential\", \
             mean = 0.2 }}\n"
        );
        let file = std::path::Path::new("t.toml");
        let vary = vec![format!("load.rate={rates}")];
        let axes = vec![parse_axis(&vary[0]).unwrap()];
        let points = expand(&text, file, &[], &axes).unwrap();
        let model =
            crate::model::load_str(&text, "t.toml", std::path::Path::new("."), &[]).unwrap();
        let arguments = Arguments {
            model_file: "t.toml".into(),
            model_text: text,
            set: vec![],
            vary,
            seed: 1,
            replications: 1,
            precision: None,
            max_replications: 1000,
        };
        (arguments, model, points, axes)
    }

    fn options(out: PathBuf, stop: &'static AtomicBool, grace: Duration) -> SweepOptions {
        SweepOptions {
            out,
            threads: Some(1),
            shard: None,
            resume: true,
            stop,
            grace,
        }
    }

    const RUN: RunOptions = RunOptions {
        seed: 1,
        replications: 1,
        precision: None,
        max_replications: 1000,
    };

    #[test]
    fn a_stop_before_the_first_point_saves_an_empty_progress_and_a_resume_completes() {
        let dir = tempfile::tempdir().unwrap();
        let (args, model, points, axes) = setup("50", "1,2,3");
        let opts = options(dir.path().into(), &STOPPED, Duration::ZERO);
        let e = run(
            args.clone(),
            model.clone(),
            points.clone(),
            &axes,
            &opts,
            &RUN,
            &|_, _| {},
        )
        .err()
        .unwrap();
        assert!(e.downcast_ref::<Stopped>().is_some(), "{e:#}");
        assert!(format!("{e}").contains("0 of this run's 3 points"), "{e}");
        assert!(dir.path().join(PROGRESS).exists());
        assert!(!dir.path().join(RESULTS_CSV).exists());
        let opts = options(dir.path().into(), &NEVER, Duration::ZERO);
        let done = run(args, model, points, &axes, &opts, &RUN, &|_, _| {}).unwrap();
        assert_eq!(done.results.points.len(), 3);
        assert!(!dir.path().join(PROGRESS).exists());
    }

    #[test]
    fn a_point_still_running_when_the_grace_ends_is_abandoned() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let dir = tempfile::tempdir().unwrap();
        // One point of several seconds of simulation (5e7 connections: far more than
        // the 300 ms before the stop on any machine); the stop comes once it has started.
        let (args, model, points, axes) = setup("10000000", "5");
        let opts = options(dir.path().into(), &STOP, Duration::from_millis(20));
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            STOP.store(true, Ordering::SeqCst)
        });
        let started = Instant::now();
        let e = run(args, model, points, &axes, &opts, &RUN, &|_, _| {})
            .err()
            .unwrap();
        assert!(format!("{e}").contains("1 in hand abandoned"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let progress = std::fs::read_to_string(dir.path().join(PROGRESS)).unwrap();
        assert_eq!(
            progress.lines().count(),
            1,
            "the identity alone: {progress}"
        );
    }

    /// Shards 0/2 and 1/2 of a 4-point sweep, in `dir/s0` and `dir/s1`.
    fn two_shards(dir: &std::path::Path) -> [PathBuf; 2] {
        let (args, model, points, axes) = setup("50", "1,2,3,4");
        [0, 1].map(|k| {
            let mut opts = options(dir.join(format!("s{k}")), &NEVER, Duration::ZERO);
            opts.shard = Some(Shard { k, n: 2 });
            run(
                args.clone(),
                model.clone(),
                points.clone(),
                &axes,
                &opts,
                &RUN,
                &|_, _| {},
            )
            .unwrap();
            opts.out
        })
    }

    /// Rewrites a shard's results as `edit` makes them, its checks recomputed as the
    /// build it names would have: a copy that only another build, or a forger, makes.
    fn forge(from: &std::path::Path, to: &std::path::Path, edit: impl Fn(&mut Results)) {
        let (mut r, walls) = read_results(from).unwrap();
        edit(&mut r);
        let sealed = r.sealed.as_mut().unwrap();
        let seal = Identity {
            arguments: r.arguments.clone(),
            shard: r.shard,
            build: sealed.build.clone(),
        }
        .seal();
        sealed.checks = r
            .points
            .iter()
            .map(|p| seal.check(&serde_json::to_string(p).unwrap()))
            .collect();
        std::fs::create_dir_all(to).unwrap();
        write_results(to, &r, &walls).unwrap();
    }

    #[test]
    fn merge_refuses_two_different_copies_of_one_shard_and_shards_of_two_builds() {
        let dir = tempfile::tempdir().unwrap();
        let [s0, s1] = two_shards(dir.path());
        let merged = merge(&[s0.clone(), s1.clone()]).unwrap().0;
        assert_eq!(merged.points.len(), 4);
        assert!(merged.shard.is_none() && merged.sealed.is_none());

        let other = dir.path().join("other-copy-of-s1");
        forge(&s1, &other, |r| r.points[1].result.refused += 1);
        let e = merge(&[s0.clone(), s1.clone(), other.clone()]).unwrap_err();
        let e = e
            .downcast_ref::<crate::error::BadInput>()
            .unwrap()
            .0
            .clone();
        assert!(
            e.contains("both hold shard 1/2 but their results differ (point 3 first)"),
            "{e}"
        );

        let rebuilt = dir.path().join("s1-of-another-build");
        forge(&s1, &rebuilt, |r| {
            r.sealed.as_mut().unwrap().build = "eagain 0.0.9 binary 0123456789abcdef".into()
        });
        let e = merge(&[s0, rebuilt]).unwrap_err().to_string();
        assert!(
            e.contains("another build of eagain") && e.contains("eagain 0.0.9 binary"),
            "{e}"
        );
    }
}
