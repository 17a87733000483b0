//! `merge`: the folders of `sweep --shard K/N` joined into the results of one unsharded
//! run, byte for byte. It refuses, naming the cause, what would not give those bytes: a
//! shard missing (by index) or unfinished, shards of another model, grid, seed, other
//! arguments or another build, a shard whose numbers were changed after it was written
//! (each point's integrity check), and two different copies of one shard. Identical
//! copies of a shard (a task run twice) are accepted.

use super::files::{read_results, Timing, RESULTS_JSON};
use super::grid;
use super::progress::PROGRESS;
use super::{Identity, PointRecord, Results, Sealed, Shard};
use crate::error::BadInput;
use anyhow::Result;
use std::path::{Path, PathBuf};

/// One shard's folder, read and checked.
struct Part {
    dir: PathBuf,
    shard: Shard,
    build: String,
    checks: Vec<String>,
    results: Results,
    walls: Vec<Timing>,
}

/// Joins shards' results into the results of one unsharded run.
pub fn merge(dirs: &[PathBuf]) -> Result<(Results, Vec<Timing>)> {
    let mut parts: Vec<Part> = Vec::new();
    for dir in dirs {
        let part = read_part(dir)?;
        if let Some(first) = parts.first() {
            same_sweep(first, &part)?;
        }
        // Two copies are compared by their checks: equal checks of one identity are
        // equal records (a NaN, which is not equal to itself, included).
        match parts.iter().find(|p| p.shard.k == part.shard.k) {
            Some(twin) if twin.checks == part.checks => {}
            Some(twin) => {
                let at = twin
                    .checks
                    .iter()
                    .zip(&part.checks)
                    .position(|(a, b)| a != b)
                    .map_or(twin.results.points[0].index, |i| {
                        twin.results.points[i].index
                    });
                crate::bad_input!(
                    "merge: {} and {} both hold shard {}/{} but their results differ (point \
                     {at} first): keep the folder of the task you trust and drop the other",
                    twin.dir.display(),
                    part.dir.display(),
                    part.shard.k,
                    part.shard.n
                );
            }
            None => parts.push(part),
        }
    }
    let Some(first) = parts.first() else {
        crate::bad_input!("merge: name the shard folders to join");
    };
    let n = first.shard.n;
    let missing: Vec<usize> = (0..n)
        .filter(|k| !parts.iter().any(|p| p.shard.k == *k))
        .collect();
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|k| format!("{k}/{n}")).collect();
        let (noun, verb) = if missing.len() == 1 {
            ("shard", "is")
        } else {
            ("shards", "are")
        };
        let (it, task) = if missing.len() == 1 {
            ("it", "task with index")
        } else {
            ("them", "tasks with indices")
        };
        crate::bad_input!(
            "merge: {noun} {} {verb} missing: no folder given holds {it}; run {it} (the array \
             {task} {}) and merge again with every shard's folder",
            names.join(", "),
            missing
                .iter()
                .map(|k| k.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let total = first.results.total_points;
    let mut points: Vec<Option<PointRecord>> = vec![None; total];
    let mut walls = Vec::new();
    for p in &parts {
        for r in &p.results.points {
            points[r.index] = Some(r.clone());
        }
        walls.extend(p.walls.iter().copied());
    }
    walls.sort_by_key(|w: &Timing| w.0);
    walls.dedup_by_key(|w| w.0);
    let points = points
        .into_iter()
        .collect::<Option<Vec<_>>>()
        .expect("every shard is complete and every shard is there");
    let results = Results {
        shard: None,
        sealed: None,
        points,
        ..parts.swap_remove(0).results
    };
    Ok((results, walls))
}

/// The results in `dir` when they are those of the shard `identity` runs, finished and
/// untouched (a task run again after it had finished finds them).
pub(super) fn finished_shard(dir: &Path, identity: &Identity) -> Option<Results> {
    let part = read_part(dir).ok()?;
    let theirs = Identity {
        arguments: part.results.arguments.clone(),
        shard: Some(part.shard),
        build: part.build,
    };
    (theirs == *identity).then_some(part.results)
}

/// Reads one shard's folder and checks it alone: a finished shard, sealed, a K/N of the
/// grid its arguments describe, holding each of its points once, untouched.
fn read_part(dir: &Path) -> Result<Part> {
    if !dir.join(RESULTS_JSON).exists() && dir.join(PROGRESS).exists() {
        crate::bad_input!(
            "merge: {} holds a shard that has not finished (its {PROGRESS} is there, its \
             {RESULTS_JSON} is not): it was stopped or is still running; run its task again \
             (it resumes) and merge once it has ended with exit code 0",
            dir.display()
        );
    }
    let (results, walls) = read_results(dir)?;
    let bad = |why: String| {
        BadInput(format!(
            "{}: {why}; its results.json was not written by `eagain sweep --shard` as it \
             is (merge only the folders of finished shards)",
            dir.display()
        ))
    };
    let Some(shard) = results.shard else {
        crate::bad_input!(
            "{}: these are the results of an unsharded sweep; merge joins the folders of \
             `eagain sweep --shard K/N`",
            dir.display()
        );
    };
    if shard.n == 0 || shard.k >= shard.n {
        return Err(bad(format!(
            "shard {}/{} is not a K/N with 0 <= K < N",
            shard.k, shard.n
        ))
        .into());
    }
    let Some(Sealed { build, checks }) = results.sealed.clone() else {
        return Err(bad(
            "it has no integrity checks (an earlier eagain wrote it, or they were removed): \
             run the shard again"
                .into(),
        )
        .into());
    };
    let grid = grid_values(&results.arguments.vary)?;
    if results.total_points != grid.len() {
        return Err(bad(format!(
            "it says {} points, but its --vary axes make {}",
            results.total_points,
            grid.len()
        ))
        .into());
    }
    if checks.len() != results.points.len() {
        return Err(bad(format!(
            "it has {} points but {} integrity checks",
            results.points.len(),
            checks.len()
        ))
        .into());
    }
    let identity = Identity {
        arguments: results.arguments.clone(),
        shard: Some(shard),
        build: build.clone(),
    };
    let seal = identity.seal();
    for (p, check) in results.points.iter().zip(&checks) {
        if seal.check(&serde_json::to_string(p)?) != *check {
            return Err(bad(format!(
                "point {} was changed after the shard wrote it (its integrity check does not \
                 match its numbers, its shard or its arguments)",
                p.index
            ))
            .into());
        }
    }
    let mut seen = vec![false; grid.len()];
    for p in &results.points {
        let Some(values) = grid.get(p.index) else {
            return Err(bad(format!("point {} is not in the grid", p.index)).into());
        };
        if !shard.owns(p.index) {
            return Err(bad(format!(
                "point {} is not in shard {}/{}",
                p.index, shard.k, shard.n
            ))
            .into());
        }
        if *values != p.values {
            return Err(bad(format!(
                "point {} has other values than the grid's",
                p.index
            ))
            .into());
        }
        if std::mem::replace(&mut seen[p.index], true) {
            return Err(bad(format!("point {} appears twice", p.index)).into());
        }
    }
    if results.points.len() != shard.size(grid.len()) {
        return Err(bad(format!(
            "it holds {} of the {} points of shard {}/{}",
            results.points.len(),
            shard.size(grid.len()),
            shard.k,
            shard.n
        ))
        .into());
    }
    Ok(Part {
        dir: dir.to_path_buf(),
        shard,
        build,
        checks,
        results,
        walls,
    })
}

/// Two shards must be of one sweep: the same model, grid, seed, other arguments, number
/// of shards and build; the message names the first difference.
fn same_sweep(a: &Part, b: &Part) -> Result<()> {
    let (x, y) = (&a.results.arguments, &b.results.arguments);
    let differ = |what: &str, left: String, right: String| -> Result<()> {
        crate::bad_input!(
            "merge: {} and {} are shards of different sweeps: {what} ({} has {left}, {} has \
             {right}); merge only the shards of one sweep, run with one command line and \
             one eagain binary",
            a.dir.display(),
            b.dir.display(),
            a.dir.display(),
            b.dir.display()
        )
    };
    let list = |v: &[String]| format!("[{}]", v.join(" "));
    if x.model_text != y.model_text {
        return differ(
            "another model",
            format!("the text of {}", x.model_file),
            format!("another text of {}", y.model_file),
        );
    }
    if x.model_file != y.model_file {
        return differ(
            "another model file",
            x.model_file.clone(),
            y.model_file.clone(),
        );
    }
    if x.vary != y.vary {
        return differ(
            "another grid",
            format!("--vary {}", list(&x.vary)),
            format!("--vary {}", list(&y.vary)),
        );
    }
    if x.seed != y.seed {
        return differ(
            "another seed",
            format!("seed {}", x.seed),
            format!("seed {}", y.seed),
        );
    }
    if x.set != y.set {
        return differ("other --set overrides", list(&x.set), list(&y.set));
    }
    if x != y {
        return differ(
            "other --replications, --precision or --max-replications",
            format!(
                "{} replications, precision {:?}",
                x.replications, x.precision
            ),
            format!(
                "{} replications, precision {:?}",
                y.replications, y.precision
            ),
        );
    }
    if a.shard.n != b.shard.n {
        return differ(
            "another number of shards",
            format!("shard {}/{}", a.shard.k, a.shard.n),
            format!("shard {}/{}", b.shard.k, b.shard.n),
        );
    }
    if a.build != b.build {
        return differ(
            "another build of eagain, whose results may differ in the last bit",
            a.build.clone(),
            b.build.clone(),
        );
    }
    Ok(())
}

/// The values of every point of the grid the arguments describe, in grid order.
fn grid_values(vary: &[String]) -> Result<Vec<Vec<toml::Value>>, BadInput> {
    let axes = vary
        .iter()
        .map(|v| grid::parse_axis(v))
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
