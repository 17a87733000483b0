//! The harness's whole pipeline without real servers or timing noise: the hidden
//! `mock` target "measures" run r of a point as the simulator's own replication r,
//! through the same supervisor and load-generator processes, tables and chart as a
//! real target. These tests check what `harness` and `validate` write (SPEC section 4's
//! columns in order, one row per grid point in grid order, the overlay chart's size,
//! the same bytes when run again), and the limits they refuse before anything runs.

use crate::common::{self, walk, PREFORK};
use crate::common::{assert_same_file, eagain, png_size, write};
use predicates::prelude::*;
use std::path::Path;

/// The harness's fixed pool of 2 processes (27 connections a second at most), with
/// random arrivals and work, so that replications differ.
const RANDOM: [&str; 4] = [
    "--set",
    "load.arrival=poisson",
    "--set",
    "work.blocking={ dist = \"exponential\", mean = 0.073 }",
];

/// The grid: 3 rates x 2 pool sizes, the first varied slowest.
const GRID: [&str; 4] = [
    "--vary",
    "load.rate=10,30,60",
    "--vary",
    "pool.process_limit=1,2",
];

/// Runs `eagain COMMAND model --target mock RANDOM GRID EXTRA --out out` with TMPDIR =
/// `dir`, checks that it left no temporary folder, and returns its stdout.
fn run_mock(dir: &Path, command: &str, out: &str, extra: &[&str]) -> String {
    let model = write(dir, "m.toml", PREFORK);
    let o = eagain()
        .env("TMPDIR", dir)
        .arg(command)
        .arg(&model)
        .args(["--target", "mock"])
        .args(RANDOM)
        .args(GRID)
        .args(extra)
        .arg("--out")
        .arg(dir.join(out))
        .assert()
        .success();
    let left: Vec<_> = walk(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("eagain-harness"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    String::from_utf8(o.get_output().stdout.clone()).unwrap()
}

fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text
        .lines()
        .map(|l| l.split(',').map(String::from).collect());
    let header = lines.next().unwrap();
    (header, lines.collect())
}

fn column<'a>(header: &[String], rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let i = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    rows.iter().map(|r| r[i].as_str()).collect()
}

/// The grid's points in grid order, as the varied columns write them.
const POINTS: [[&str; 2]; 6] = [
    ["10", "1"],
    ["10", "2"],
    ["30", "1"],
    ["30", "2"],
    ["60", "1"],
    ["60", "2"],
];

#[test]
fn mock_validation_csv_has_the_spec_columns_in_order_and_a_row_per_point() {
    let dir = tempfile::tempdir().unwrap();
    run_mock(dir.path(), "validate", "out", &["--replications", "2"]);
    let (header, rows) = csv(&dir.path().join("out/validation.csv"));
    assert_eq!(
        header,
        [
            "load.rate",
            "pool.process_limit",
            "predicted_refusal_probability",
            "predicted_ci_low",
            "predicted_ci_high",
            "measured_refusal_probability",
            "measured_offered",
            "abs_error",
            "predicted_latency_s_p50",
            "measured_latency_s_p50",
            "latency_abs_error",
            "measured_ci_low",
            "measured_ci_high",
        ]
    );
    let points: Vec<[&str; 2]> = rows.iter().map(|r| [&*r[0], &*r[1]]).collect();
    assert_eq!(points, POINTS);
    assert!(rows.iter().all(|r| r.len() == header.len()));
}

#[test]
fn mock_measured_csv_has_the_columns_of_a_sweeps_results_csv() {
    let dir = tempfile::tempdir().unwrap();
    run_mock(dir.path(), "harness", "out", &["--runs", "1"]);
    let model = dir.path().join("m.toml");
    eagain()
        .arg("sweep")
        .arg(&model)
        .args(RANDOM)
        .args(GRID)
        .args(["--replications", "1", "--out"])
        .arg(dir.path().join("sweep"))
        .assert()
        .success();
    let (measured, rows) = csv(&dir.path().join("out/measured.csv"));
    let (results, _) = csv(&dir.path().join("sweep/results.csv"));
    assert_eq!(measured, results);
    let points: Vec<[&str; 2]> = rows.iter().map(|r| [&*r[0], &*r[1]]).collect();
    assert_eq!(points, POINTS);
}

#[test]
fn mock_validate_with_as_many_runs_as_replications_measures_exactly_the_prediction() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = run_mock(dir.path(), "validate", "out", &["--replications", "3"]);
    assert_eq!(stdout.lines().last(), Some("max_abs_error=0"), "{stdout}");
    let (header, rows) = csv(&dir.path().join("out/validation.csv"));
    let predicted = column(&header, &rows, "predicted_refusal_probability");
    assert_eq!(
        predicted,
        column(&header, &rows, "measured_refusal_probability")
    );
    assert!(column(&header, &rows, "abs_error")
        .iter()
        .all(|e| *e == "0.0"));
    // The grid spans no refusals to most refused.
    let p: Vec<f64> = predicted.iter().map(|x| x.parse().unwrap()).collect();
    assert!(p.contains(&0.0) && p.iter().any(|&x| x > 0.5), "{p:?}");
}

#[test]
fn mock_validate_draws_the_overlay_as_a_png_of_the_promised_size() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = run_mock(dir.path(), "validate", "out", &["--replications", "2"]);
    let png = dir.path().join("out/validation.png");
    assert!(
        stdout.contains(&format!("wrote {}", png.display())),
        "{stdout}"
    );
    assert_eq!(png_size(&png), (1400, 900));
}

#[test]
fn mock_validate_run_again_gives_the_same_bytes_and_the_same_max_abs_error() {
    let dir = tempfile::tempdir().unwrap();
    // Fewer runs than replications: the error is not 0, and must not move.
    let extra = ["--runs", "2", "--replications", "3"];
    let first = run_mock(dir.path(), "validate", "a", &extra);
    let second = run_mock(dir.path(), "validate", "b", &extra);
    let last = |s: &str| s.lines().last().unwrap_or_default().to_string();
    assert_eq!(last(&first), last(&second));
    assert_ne!(last(&first), "max_abs_error=0", "{first}");
    for f in ["measured.csv", "validation.csv", "validation.png"] {
        assert_same_file(&dir.path().join("a").join(f), &dir.path().join("b").join(f));
    }
}

#[test]
fn the_mock_target_is_accepted_but_left_out_of_help() {
    eagain()
        .args(["validate", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nginx-gunicorn"))
        .stdout(predicate::str::contains("mock").not());
}

/// Runs `harness` on the model with `args`, which must be refused with exit 2, a
/// message naming every one of `words` and nothing on stdout, before it makes anything.
fn refused(args: &[&str], words: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "m.toml", PREFORK);
    let mut all = vec!["harness", model.to_str().unwrap()];
    all.extend_from_slice(args);
    common::refused(dir.path(), &all, words);
    assert_eq!(walk(dir.path()), [model], "it made files");
}

#[test]
fn a_point_that_forks_more_than_max_processes_is_refused_naming_the_field_and_the_flag() {
    for target in ["builtin", "nginx-gunicorn"] {
        refused(
            &["--target", target, "--set", "pool.process_limit=100000"],
            &["pool.process_limit = 100000", "--max-processes", "256"],
        );
    }
    refused(
        &[
            "--target",
            "builtin",
            "--vary",
            "pool.process_limit=8,300",
            "--max-processes",
            "299",
        ],
        &["pool.process_limit=300", "--max-processes 299"],
    );
}

#[test]
fn max_processes_beyond_what_this_machine_holds_is_refused() {
    refused(
        &["--target", "builtin", "--max-processes", "4000000000"],
        &["--max-processes 4000000000", "RLIMIT_NPROC", "MiB"],
    );
    refused(
        &["--target", "builtin", "--max-processes", "0"],
        &["--max-processes 0"],
    );
}

#[test]
fn a_measurement_longer_than_max_total_s_is_refused_before_anything_runs() {
    refused(
        &[
            "--target",
            "mock",
            "--vary",
            "load.rate=1:100:1",
            "--runs",
            "10",
        ],
        &["100 point(s) x 10 run(s)", "--max-total-s"],
    );
    refused(
        &["--target", "mock", "--max-total-s", "5"],
        &["--max-total-s 5"],
    );
    refused(
        &["--target", "mock", "--max-total-s", "0"],
        &["--max-total-s 0"],
    );
}

#[test]
fn absurd_runs_are_refused_with_exit_2() {
    refused(
        &["--target", "mock", "--runs", "4294967295"],
        &["--runs 4294967295", "1000"],
    );
}

#[test]
fn a_socket_path_another_server_listens_on_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("theirs.sock");
    let listener = std::os::unix::net::UnixListener::bind(&theirs).unwrap();
    refused(
        &["--target", "builtin", "--socket", theirs.to_str().unwrap()],
        &[theirs.to_str().unwrap(), "in use"],
    );
    assert!(std::os::unix::net::UnixStream::connect(&theirs).is_ok());
    drop(listener);
}

/// A chain whose front hands connections on (pass) to a back with a short queue: at
/// 10 a second nothing is refused, at 60 the back refuses, and the front's single
/// slot, held while its process retries the back, makes it refuse too.
const CHAIN: &str = r#"
name = "mock chain"
[load]
arrival = "poisson"
rate = 20.0
duration = 3.0
[[services]]
name = "front"
next = "back"
[services.connect]
on_refused = "retry"
retry_for = 0.1
retry_pause = { dist = "constant", value = 0.02 }
[services.listener]
backlog = 2
[services.pool]
process_limit = 2
[services.master]
process = "one"
[services.work]
blocking = { dist = "exponential", mean = 0.01 }
[[services]]
name = "back"
[services.listener]
backlog = 1
[services.pool]
process_limit = 2
[services.master]
process = "one"
[services.work]
blocking = { dist = "exponential", mean = 0.07 }
"#;

#[test]
fn mock_chain_measures_every_services_refusals_as_its_replications_and_a_sweeps_columns() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "c.toml", CHAIN);
    let o = eagain()
        .env("TMPDIR", dir.path())
        .arg("validate")
        .arg(&model)
        .args(["--target", "mock", "--vary", "load.rate=10,60,120"])
        .args(["--replications", "3", "--out"])
        .arg(dir.path().join("out"))
        .assert()
        .success();
    let stdout = String::from_utf8(o.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().last(), Some("max_abs_error=0"), "{stdout}");
    assert_eq!(
        stdout
            .matches("  refused per run, by service: front measured ")
            .count(),
        3,
        "{stdout}"
    );
    let (header, rows) = csv(&dir.path().join("out/validation.csv"));
    assert_eq!(
        header[header.len() - 4..],
        [
            "services.front.predicted_refused_per_run",
            "services.front.measured_refused_per_run",
            "services.back.predicted_refused_per_run",
            "services.back.measured_refused_per_run",
        ]
    );
    for service in ["front", "back"] {
        let predicted = column(
            &header,
            &rows,
            &format!("services.{service}.predicted_refused_per_run"),
        );
        let measured = column(
            &header,
            &rows,
            &format!("services.{service}.measured_refused_per_run"),
        );
        assert_eq!(predicted, measured, "{service}");
        let most: f64 = predicted
            .iter()
            .map(|x| x.parse::<f64>().unwrap())
            .fold(0.0, f64::max);
        assert!(most > 0.0, "no refusal at {service}: {predicted:?}");
    }
    // measured.csv has a sweep's columns, services and masters included.
    eagain()
        .arg("sweep")
        .arg(&model)
        .args([
            "--vary",
            "load.rate=10,60,120",
            "--replications",
            "1",
            "--out",
        ])
        .arg(dir.path().join("sweep"))
        .assert()
        .success();
    let (measured, rows) = csv(&dir.path().join("out/measured.csv"));
    let (results, _) = csv(&dir.path().join("sweep/results.csv"));
    assert_eq!(measured, results);
    assert!(measured.contains(&"services.back.refused".to_string()));
    assert!(measured.contains(&"masters.one.forks".to_string()));
    let offered = column(&measured, &rows, "services.back.offered");
    assert!(offered.iter().all(|x| *x != "0"), "{offered:?}");
}

#[test]
fn mock_runs_a_profile_and_a_trace_named_relative_to_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let mut trace = String::from("t,blocking\n");
    for i in 0..90 {
        // Ten a second, then a burst of sixty in one second, then ten a second.
        let t = if i < 10 {
            f64::from(i) * 0.1
        } else if i < 70 {
            1.0 + f64::from(i - 10) / 60.0
        } else {
            2.0 + f64::from(i - 70) * 0.1
        };
        trace += &format!("{t:.4},0.05\n");
    }
    write(&models, "peak.csv", &trace);
    let traced = PREFORK.replace(
        "arrival = \"constant\"\nrate = 20.0\nduration = 3.0",
        "arrival = \"trace\"\ntrace = \"peak.csv\"",
    );
    let profiled = PREFORK.replace(
        "duration = 3.0",
        "duration = 3.0\nprofile = { shape = \"steps\", points = [[0, 1.0], [1, 4.0], [2, 1.0]] }",
    );
    for (name, text, offered) in [("t.toml", traced, 90.0), ("p.toml", profiled, 120.0)] {
        let model = write(&models, name, &text);
        // From another folder: the runs find the trace by the path the harness made
        // absolute.
        let o = eagain()
            .current_dir(dir.path())
            .env("TMPDIR", dir.path())
            .arg("validate")
            .arg(&model)
            .args(["--target", "mock", "--replications", "2", "--out"])
            .arg(dir.path().join(name))
            .assert()
            .success();
        let stdout = String::from_utf8(o.get_output().stdout.clone()).unwrap();
        assert_eq!(stdout.lines().last(), Some("max_abs_error=0"), "{stdout}");
        let (header, rows) = csv(&dir.path().join(name).join("validation.csv"));
        let measured: f64 = column(&header, &rows, "measured_offered")[0]
            .parse()
            .unwrap();
        assert_eq!(measured, 2.0 * offered, "{name}");
        let refused: f64 = column(&header, &rows, "measured_refusal_probability")[0]
            .parse()
            .unwrap();
        assert!(refused > 0.0, "{name}: the peak refuses nothing");
    }
}

#[test]
fn a_profile_is_held_to_the_connection_cap_by_its_own_integral() {
    // 2500 a second for 4 s is 10,000 connections, below the cap of 20,000, but the
    // profile quadruples the middle 2 s: 25,000.
    let profiled =
        "--set=load.profile={ shape = \"steps\", points = [[0, 1.0], [1, 4.0], [3, 1.0]] }";
    refused(
        &[
            "--target",
            "mock",
            profiled,
            "--set",
            "load.duration=4",
            "--set",
            "load.rate=2500",
        ],
        &["about 25000 connections", "load.profile"],
    );
}

#[test]
fn a_chain_whose_services_give_different_somaxconns_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let model = write(dir.path(), "c.toml", CHAIN);
    let m = model.to_str().unwrap();
    common::refused(
        dir.path(),
        &[
            "harness",
            m,
            "--target",
            "nginx-gunicorn",
            "--set",
            "services.back.listener.somaxconn=8",
        ],
        &["services.back.listener.somaxconn", "one network namespace"],
    );
    common::refused(
        dir.path(),
        &["harness", m, "--target", "builtin"],
        &["`services`", "one service"],
    );
}

#[test]
fn every_single_service_target_refuses_a_chain_naming_it_before_anything_runs() {
    // Before, nginx-php-fpm and apache-prefork passed every model check of a chain whose
    // first service suited them (they would have measured that service alone against
    // the chain's prediction), and courier named a path the file does not have. The
    // refusal comes first, before the programs are looked for and before the caps.
    for target in ["builtin", "nginx-php-fpm", "apache-prefork", "courier"] {
        let dir = tempfile::tempdir().unwrap();
        let model = write(dir.path(), "c.toml", CHAIN);
        let out = dir.path().join("out");
        common::refused(
            dir.path(),
            &[
                "validate",
                model.to_str().unwrap(),
                "--target",
                target,
                "--max-total-s",
                "0.001",
                "--out",
                out.to_str().unwrap(),
            ],
            &[
                "`services`",
                &format!("--target {target} ("),
                "runs one service, not a chain: this model is a chain of 2 services \
                 (front, back)",
            ],
        );
        assert_eq!(walk(dir.path()), [model], "{target} made files");
    }
}
