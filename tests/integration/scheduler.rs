//! Sweeps as a batch scheduler runs them (SPEC section 15), through the command line:
//! `--shard auto/N` from each scheduler's index variable, SIGTERM giving exit code 75
//! with the progress saved and `--resume` completing to the same bytes, a resubmitted
//! finished shard left as it is, the causes merge names when it refuses, and what a
//! sweep prints on stdout (a table, or the points as JSON).

use crate::common::{assert_same_file, bin, eagain};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The scheduler variables that must not leak in from the environment of the tests.
const INDEX_VARIABLES: [&str; 3] = [
    "SLURM_ARRAY_TASK_ID",
    "JOB_COMPLETION_INDEX",
    "AWS_BATCH_JOB_ARRAY_INDEX",
];

/// A 2 x 3 grid of M/M/c/K points, about 10 ms each.
fn grid() -> Vec<String> {
    [
        "sweep",
        "models/mmck.toml",
        "--set",
        "load.duration=500",
        "--replications",
        "3",
        "--vary",
        "pool.process_limit=8,10",
        "--vary",
        "load.rate=6,9,12",
    ]
    .map(String::from)
    .to_vec()
}

/// eagain with `args` and the scheduler variables `vars` (and no others).
fn run(args: &[String], vars: &[(&str, String)]) -> Output {
    let mut c = Command::new(bin());
    c.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    for v in INDEX_VARIABLES {
        c.env_remove(v);
    }
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn with(args: &[String], extra: &[&str], out: &Path) -> Vec<String> {
    let mut a = args.to_vec();
    a.extend(extra.iter().map(|s| s.to_string()));
    a.push("--out".into());
    a.push(out.display().to_string());
    a
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A whole sweep of `args` into `dir/whole`, for comparison.
fn whole(args: &[String], dir: &Path) -> PathBuf {
    let out = dir.join("whole");
    let o = run(&with(args, &[], &out), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn merge(shards: &[PathBuf], out: &Path) -> Output {
    let mut c = Command::new(bin());
    c.arg("merge").args(shards).arg("--out").arg(out);
    c.output().unwrap()
}

fn assert_same_results(a: &Path, b: &Path) {
    for f in ["results.csv", "results.json"] {
        assert_same_file(&a.join(f), &b.join(f));
    }
}

#[test]
fn shard_auto_takes_k_from_each_schedulers_variable_and_merges_to_one_sweeps_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let args = grid();
    let whole = whole(&args, dir.path());
    for var in INDEX_VARIABLES {
        let shards: Vec<PathBuf> = (0..4)
            .map(|k| dir.path().join(format!("{var}-{k}")))
            .collect();
        for (k, s) in shards.iter().enumerate() {
            let o = run(
                &with(&args, &["--shard", "auto/4"], s),
                &[(var, k.to_string())],
            );
            assert!(o.status.success(), "{var}={k}: {}", stderr(&o));
            let stdout = String::from_utf8_lossy(&o.stdout);
            assert!(
                stdout.contains(&format!("shard {k}/4 (K from {var})")),
                "{stdout}"
            );
        }
        let merged = dir.path().join(format!("{var}-merged"));
        let o = merge(&shards, &merged);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_same_results(&whole, &merged);
    }
}

#[test]
fn shard_auto_outside_an_array_or_with_an_index_out_of_range_exits_2_naming_the_variables() {
    let dir = tempfile::tempdir().unwrap();
    let args = with(&grid(), &["--shard", "auto/4"], &dir.path().join("s"));
    let o = run(&args, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    for v in INDEX_VARIABLES {
        assert!(stderr(&o).contains(v), "{}", stderr(&o));
    }
    let o = run(&args, &[("SLURM_ARRAY_TASK_ID", "4".into())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("SLURM_ARRAY_TASK_ID is 4, not an index from 0 to 3"),
        "{}",
        stderr(&o)
    );
    let o = run(&args, &[("JOB_COMPLETION_INDEX", "two".into())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("JOB_COMPLETION_INDEX is two"));
    // Nothing was written for a task that could not know its shard.
    assert!(!dir.path().join("s").exists());
    // --help documents auto and the variables, with an example.
    let help = eagain().args(["sweep", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for word in INDEX_VARIABLES
        .iter()
        .copied()
        .chain(["auto/N", "--shard auto/16", "75"])
    {
        assert!(help.contains(word), "no {word} in sweep --help");
    }
}

/// Starts a sweep of 12 points of about 0.3 s each on one thread; returns it once
/// `points` of them are in its progress file.
fn start_slow_sweep(out: &Path, points: usize) -> (std::process::Child, Vec<String>) {
    let args: Vec<String> = [
        "sweep",
        "models/mmck.toml",
        "--set",
        "load.duration=200000",
        "--replications",
        "2",
        "--threads",
        "1",
        "--vary",
        "load.rate=5:10.5:0.5",
    ]
    .map(String::from)
    .to_vec();
    let mut c = Command::new(bin());
    c.current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(with(&args, &[], out))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let started = Instant::now();
    let recorded = |out: &Path| {
        std::fs::read_to_string(out.join("progress.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    while recorded(out) <= points {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the sweep recorded no points in 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (child, args)
}

#[test]
fn sigterm_stops_a_sweep_with_exit_75_and_resume_completes_it_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut");
    let (child, args) = start_slow_sweep(&cut, 2);
    // SAFETY: kill has no memory preconditions; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(75), "{err}");
    assert!(
        err.contains("stopped on request (SIGTERM)") && err.contains("--resume"),
        "{err}"
    );
    let saved = std::fs::read_to_string(cut.join("progress.jsonl"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert!((2..12).contains(&saved), "{saved} points saved");
    assert!(
        err.contains(&format!("with {saved} of this run's 12 points done")),
        "{err}"
    );
    assert!(!cut.join("results.csv").exists());
    assert!(!cut.join(".eagain.lock").exists(), "the lock is released");

    let o = run(&with(&args, &["--resume"], &cut), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout)
        .contains(&format!("({saved} of them done before, resumed)")));
    assert_same_results(&whole(&args, dir.path()), &cut);
}

#[test]
fn a_second_sweep_into_a_running_sweeps_folder_is_refused_naming_the_folder_and_its_holder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("busy");
    let (mut child, args) = start_slow_sweep(&out, 0);
    let o = run(&with(&args, &["--resume"], &out), &[]);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains(&out.display().to_string()), "{err}");
    assert!(
        err.contains(&format!("process {}", child.id())) && err.contains("eagain sweep"),
        "{err}"
    );
}

#[test]
fn a_finished_shard_run_again_with_resume_is_left_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s1");
    let args = with(&grid(), &["--shard", "1/2", "--resume"], &s);
    assert!(run(&args, &[]).status.success());
    let before = std::fs::read(s.join("results.json")).unwrap();
    let modified = std::fs::metadata(s.join("results.json"))
        .unwrap()
        .modified()
        .unwrap();
    let o = run(&args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("already holds this shard, finished"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(std::fs::read(s.join("results.json")).unwrap(), before);
    assert_eq!(
        std::fs::metadata(s.join("results.json"))
            .unwrap()
            .modified()
            .unwrap(),
        modified,
        "not rewritten"
    );
}

/// Runs `args` as shards K/N into `dir/name-K` for each K of `ks`; returns the folders.
fn shards(args: &[String], dir: &Path, name: &str, ks: &[usize], n: usize) -> Vec<PathBuf> {
    ks.iter()
        .map(|k| {
            let out = dir.join(format!("{name}-{k}"));
            let o = run(&with(args, &["--shard", &format!("{k}/{n}")], &out), &[]);
            assert!(o.status.success(), "{}", stderr(&o));
            out
        })
        .collect()
}

/// Asserts that merging `folders` exits 2 with every phrase, and writes nothing.
fn merge_refused(dir: &Path, folders: &[PathBuf], phrases: &[&str]) {
    let out = dir.join("refused");
    let o = merge(folders, &out);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(o.stdout.is_empty());
    for p in phrases {
        assert!(err.contains(p), "no `{p}` in {err}");
    }
    assert!(!out.exists(), "a refused merge made {}", out.display());
}

#[test]
fn merge_names_a_missing_or_unfinished_shard_and_shards_of_another_model_grid_or_seed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let args = grid();
    let ours = shards(&args, d, "ours", &[0, 1, 2], 3);
    merge_refused(d, &ours[..2], &["shard 2/3 is missing", "index 2"]);
    merge_refused(
        d,
        &[ours[0].clone()],
        &["shards 1/3, 2/3 are missing", "indices 1, 2"],
    );
    // Another seed, grid, model, and number of shards, each named.
    let mut seed = args.clone();
    seed.extend(["--seed".into(), "9".into()]);
    let other = shards(&seed, d, "seed", &[2], 3);
    merge_refused(
        d,
        &[ours[0].clone(), ours[1].clone(), other[0].clone()],
        &["different sweeps: another seed", "seed 1", "seed 9"],
    );
    let mut grid2 = args.clone();
    let last = grid2.len() - 1;
    grid2[last] = "load.rate=6,9,13".into();
    let other = shards(&grid2, d, "grid", &[2], 3);
    merge_refused(
        d,
        &[ours[0].clone(), ours[1].clone(), other[0].clone()],
        &["another grid", "load.rate=6,9,13"],
    );
    let model = d.join("m.toml");
    let text = std::fs::read_to_string(crate::common::root("models/mmck.toml")).unwrap();
    std::fs::write(&model, text.replace("name = ", "# edited\nname = ")).unwrap();
    let mut edited = args.clone();
    edited[1] = model.display().to_string();
    let other = shards(&edited, d, "model", &[2], 3);
    merge_refused(
        d,
        &[ours[0].clone(), ours[1].clone(), other[0].clone()],
        &["another model"],
    );
    let other = shards(&args, d, "four", &[2], 4);
    merge_refused(
        d,
        &[ours[0].clone(), ours[1].clone(), other[0].clone()],
        &["another number of shards", "shard 2/4"],
    );
    // A shard stopped before its end.
    let unfinished = d.join("unfinished");
    std::fs::create_dir_all(&unfinished).unwrap();
    std::fs::write(unfinished.join("progress.jsonl"), "{}\n").unwrap();
    merge_refused(
        d,
        &[ours[0].clone(), ours[1].clone(), unfinished.clone()],
        &["has not finished", "unfinished"],
    );
    // An identical copy of a shard (a task that ran twice) is accepted, and so is one
    // folder named twice.
    let copy = d.join("copy-of-1");
    std::fs::create_dir_all(&copy).unwrap();
    for f in ["results.csv", "results.json", "timing.csv"] {
        std::fs::copy(ours[1].join(f), copy.join(f)).unwrap();
    }
    let merged = d.join("merged");
    let mut all = ours.clone();
    all.extend([copy, ours[0].clone()]);
    let o = merge(&all, &merged);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_same_results(&whole(&args, d), &merged);
}

#[test]
fn sweep_format_json_prints_the_points_of_results_json_and_nothing_else_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&with(&grid(), &["--format", "json"], dir.path()), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(printed, file["points"]);
    assert_eq!(printed.as_array().unwrap().len(), 6);
    // What a person reads goes to stderr.
    assert!(stderr(&o).contains("wrote "), "{}", stderr(&o));
}

#[test]
fn sweep_prints_one_table_line_a_point_with_its_values_refusal_interval_and_p99() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&with(&grid(), &[], dir.path()), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("pool.process_limit  load.rate")
            && lines[0].contains("refusal probability (95 % CI)")
            && lines[0].ends_with("latency p99 (s)"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.path().join("results.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for (row, line) in csv.lines().skip(1).zip(&lines[1..7]) {
        let cells: Vec<&str> = row.split(',').collect();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], cells[0], "{line}");
        assert_eq!(words[1], cells[1], "{line}");
        let p99: f64 = cells[col("latency_s_p99")].parse().unwrap();
        assert_eq!(words.last().unwrap(), &format!("{p99:.4}"), "{line}");
        let mean: f64 = cells[col("refusal_probability_mean")].parse().unwrap();
        // Every point of this grid refused some: the mean, then its interval.
        let shown: f64 = words[2].parse().unwrap();
        assert!((shown - mean).abs() <= 0.01 * mean, "{line}: {mean}");
        assert!(words[3].starts_with('(') && words[4] == "to", "{line}");
    }
    assert!(lines[7].starts_with("6 points of 6 in "), "{stdout}");
}

#[test]
fn simulate_out_whose_timeline_cannot_be_drawn_leaves_no_earlier_chart_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let first = eagain()
        .args([
            "simulate",
            "models/mmck.toml",
            "--replications",
            "1",
            "--out",
            &out,
        ])
        .output()
        .unwrap();
    assert!(first.status.success());
    assert!(dir.path().join("timeline.png").exists());
    std::fs::write(dir.path().join("result.json.partial"), "half").unwrap();
    // One bin: no chart can be drawn, and the earlier one must not stay.
    let second = eagain()
        .args(["simulate", "models/mmck.toml", "--replications", "1"])
        .args(["--set", "sim.bin=1000000", "--out", &out])
        .output()
        .unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(
        stdout.contains("note: no") && stdout.contains("one"),
        "{stdout}"
    );
    assert!(!dir.path().join("timeline.png").exists());
    assert!(!dir.path().join("result.json.partial").exists());
    let timeline = std::fs::read_to_string(dir.path().join("timeline.csv")).unwrap();
    assert_eq!(timeline.lines().count(), 2, "one bin: {timeline}");
    assert!(dir.path().join("result.json").exists());
}
