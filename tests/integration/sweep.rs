//! Sweeps, shards, resume, charts and plan, through the command line: a sweep's points
//! are the points `simulate` gives alone; thread counts, shards and an interrupted run
//! give the same bytes; charts are PNGs of the promised size; plan finds the exact
//! smallest process_limit of M/M/c/K.

use crate::common::{assert_same_file, bytes, eagain, png_size, root};
use predicates::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A small M/M/c/K sweep: 3 rates x 2 process limits, quick.
const GRID: [&str; 4] = [
    "--vary",
    "load.rate=6,9,12",
    "--vary",
    "pool.process_limit=8,10",
];

fn sweep(out: &Path, extra: &[&str]) {
    eagain()
        .args([
            "sweep",
            "models/mmck.toml",
            "--set",
            "load.duration=500",
            "--replications",
            "4",
        ])
        .args(GRID)
        .args(extra)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

#[test]
fn thread_counts_give_byte_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    sweep(&one, &["--threads", "1"]);
    sweep(&two, &["--threads", "2"]);
    for f in ["results.csv", "results.json"] {
        assert_same_file(&one.join(f), &two.join(f));
    }
}

#[test]
fn every_point_equals_simulate_run_on_that_point_alone() {
    let dir = tempfile::tempdir().unwrap();
    sweep(dir.path(), &[]);
    let results: serde_json::Value =
        serde_json::from_slice(&bytes(&dir.path().join("results.json"))).unwrap();
    let points = results["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    for p in points {
        let rate = p["values"][0].as_f64().unwrap();
        let limit = p["values"][1].as_i64().unwrap();
        let out = eagain()
            .args(["simulate", "models/mmck.toml", "--set", "load.duration=500"])
            .args(["--replications", "4", "--format", "json"])
            .arg(format!("--set=load.rate={rate}"))
            .arg(format!("--set=pool.process_limit={limit}"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let alone: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for field in [
            "offered",
            "served",
            "refused",
            "refusal_probability",
            "latency_s",
            "queue_length",
            "processes",
            "events",
        ] {
            assert_eq!(
                p["result"][field], alone[field],
                "rate {rate}, limit {limit}: {field}"
            );
        }
    }
}

#[test]
fn shards_merge_into_the_bytes_of_one_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole");
    sweep(&whole, &[]);
    let shards: Vec<PathBuf> = (0..3).map(|k| dir.path().join(format!("s{k}"))).collect();
    for (k, s) in shards.iter().enumerate() {
        sweep(s, &["--shard", &format!("{k}/3")]);
        assert!(!s.join("capacity.png").exists(), "a shard draws no charts");
    }
    let merged = dir.path().join("merged");
    eagain()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    for f in ["results.csv", "results.json"] {
        assert_same_file(&whole.join(f), &merged.join(f));
    }
    // A shard left out is named.
    eagain()
        .arg("merge")
        .args(&shards[..2])
        .arg("--out")
        .arg(dir.path().join("partial"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("shard 2/3 is missing"));
}

#[test]
fn a_sweep_killed_midway_resumes_to_the_uninterrupted_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let args = |out: &Path| -> Vec<String> {
        let mut a: Vec<String> = [
            "sweep",
            "models/mmck.toml",
            "--set",
            "load.duration=20000",
            "--replications",
            "2",
            "--threads",
            "1",
            "--vary",
            "load.rate=5:12:1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.push("--out".into());
        a.push(out.display().to_string());
        a
    };
    let whole = dir.path().join("whole");
    eagain().args(args(&whole)).assert().success();

    let cut = dir.path().join("cut");
    let bin = assert_cmd::cargo::cargo_bin("eagain");
    let mut child = std::process::Command::new(&bin)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args(&cut))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once at least two of its eight points are recorded.
    let progress = cut.join("progress.jsonl");
    let started = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&progress)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the sweep recorded no points"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !cut.join("results.csv").exists(),
        "an interrupted sweep must not leave a results.csv that looks complete"
    );
    let done = std::fs::read_to_string(&progress).unwrap().lines().count() - 1;
    assert!(
        done < 8,
        "the sweep finished before it was killed ({done} points)"
    );

    let mut resumed = args(&cut);
    resumed.push("--resume".into());
    eagain().args(&resumed).assert().success();
    for f in ["results.csv", "results.json"] {
        assert_same_file(&whole.join(f), &cut.join(f));
    }
    assert!(
        !progress.exists(),
        "the progress file is removed at the end"
    );
}

#[test]
fn resuming_with_other_arguments_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path()).unwrap();
    // An interrupted sweep of another seed left its progress file.
    let header = serde_json::json!({
        "arguments": {
            "model_file": "models/mmck.toml", "model_text": "x", "set": [], "vary": [],
            "seed": 99, "replications": 1, "precision": null, "max_replications": 1000
        },
        "shard": null
    });
    std::fs::write(dir.path().join("progress.jsonl"), format!("{header}\n")).unwrap();
    eagain()
        .args([
            "sweep",
            "models/mmck.toml",
            "--vary",
            "load.rate=1,2",
            "--resume",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("is not this sweep"))
        .stderr(predicate::str::contains("never mixed"));
}

#[test]
fn a_two_axis_sweep_draws_capacity_latency_and_heat_map_pngs() {
    let dir = tempfile::tempdir().unwrap();
    sweep(dir.path(), &[]);
    for chart in ["capacity.png", "latency.png", "heatmap.png"] {
        let (w, h) = png_size(&dir.path().join(chart));
        assert!(w >= 1200 && h >= 800, "{chart} is {w}x{h}");
    }
    let out = dir.path().join("p99.png");
    eagain()
        .arg("plot")
        .arg(dir.path().join("results.csv"))
        .args(["--metric", "latency_s_p99", "--out"])
        .arg(&out)
        .assert()
        .success();
    assert!(png_size(&out).0 >= 1200);
}

#[test]
fn plan_finds_the_exact_smallest_process_limit_of_mmck() {
    // M/M/c/K with lambda = 9, mu = 1 and 10 pending places (backlog 9): the smallest c
    // with p_K <= 0.01, from the exact formula, is where the search must land.
    let exact = eagain::analytic::mmck_min_servers(9.0, 1.0, 10, 0.01, 100).unwrap();
    let below = eagain::analytic::mmck(9.0, 1.0, exact - 1, exact - 1 + 10).refusal_probability;
    let at = eagain::analytic::mmck(9.0, 1.0, exact, exact + 10).refusal_probability;
    // The target sits well between the two so that the intervals can separate them.
    assert!(below > 0.0105 && at < 0.006, "{below} {at}");
    let out = eagain()
        .args(["plan", "models/mmck.toml", "--solve", "pool.process_limit"])
        .args([
            "--target",
            "refusal_probability<=0.01",
            "--replications",
            "10",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout.lines().last().unwrap(),
        format!("pool.process_limit={exact}"),
        "{stdout}"
    );
}

#[test]
fn plan_finds_the_largest_rate_near_the_exact_one() {
    // c = 10, K = 20: the exact largest lambda with p_K <= 0.01.
    let exact = eagain::analytic::mmck_max_rate(1.0, 10, 20, 0.01);
    let out = eagain()
        .args(["plan", "models/mmck.toml", "--solve", "load.rate"])
        .args([
            "--target",
            "refusal_probability<=0.01",
            "--replications",
            "10",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    let rate: f64 = last.strip_prefix("load.rate=").unwrap().parse().unwrap();
    // The answer is the rate whose interval lies under the target: a little below the
    // exact rate, never above it by more than the search tolerance.
    assert!(
        rate <= exact * 1.002 && rate > exact * 0.9,
        "{rate} vs exact {exact}\n{stdout}"
    );
}

#[test]
fn bad_sweep_and_plot_arguments_exit_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--vary", "pool.proces_limit=1,2"],
            "`pool.proces_limit` is not a model path",
        ),
        (&["--vary", "load.rate="], "no values"),
        (&["--vary", "load.rate=5:1:1"], "descending"),
        (&["--vary", "load.rate=1:5:0"], "step must be above 0"),
        (
            &["--vary", "pool.process_limit=two,three"],
            "pool.process_limit",
        ),
        (&["--vary", "load.rate=1,2", "--shard", "3/2"], "0 <= K < N"),
        (
            &["--vary", "load.rate=1,2", "--vary", "load.rate=3"],
            "given twice",
        ),
    ];
    for (args, message) in cases {
        eagain()
            .args(["sweep", "models/mmck.toml", "--out"])
            .arg(dir.path())
            .args(*args)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(*message));
    }
    sweep(dir.path(), &[]);
    eagain()
        .arg("plot")
        .arg(dir.path().join("results.csv"))
        .args(["--metric", "refusal_rate", "--out"])
        .arg(dir.path().join("x.png"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusal_rate"));
    eagain()
        .args(["plan", "models/mmck.toml", "--solve", "pool.process_limit"])
        .args(["--target", "refusal_rate<=0.1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a metric"));
    let _ = root("models");
}
