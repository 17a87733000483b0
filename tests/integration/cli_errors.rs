//! The command line with bad input: each case exits with code 2, prints nothing on
//! stdout, and says on stderr which file, line and field is wrong and what is
//! allowed (SPEC 3 and 4). The messages are pinned by their key phrases. Also the two
//! good runs whose output scripts rely on: `simulate --format json` and `analytic`.

use crate::common::{eagain, root, write};
use predicates::prelude::*;
use std::path::Path;

/// A valid model; each bad case changes one line of it.
const GOOD: &str = r#"name = "good"
[load]
rate = 5.0
duration = 10.0
[listener]
backlog = 16
[pool]
process_limit = 2
[work]
blocking = { dist = "exponential", mean = 0.1 }
"#;

/// Runs `eagain simulate FILE ARGS` and asserts a bad-input failure whose stderr
/// contains every phrase.
fn assert_bad(file: &Path, args: &[&str], phrases: &[&str]) {
    let out = eagain()
        .arg("simulate")
        .arg(file)
        .args(args)
        .output()
        .expect("eagain runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}: exit code, stderr: {stderr}",
        file.display()
    );
    assert!(
        out.stdout.is_empty(),
        "{}: stdout must be empty, got {}",
        file.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.starts_with("eagain: "),
        "one message from eagain: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    for phrase in phrases {
        assert!(
            stderr.contains(phrase),
            "{}: stderr lacks {phrase:?}: {stderr}",
            file.display()
        );
    }
}

/// A bad model made from GOOD by replacing `from` with `to`.
fn assert_bad_model(name: &str, from: &str, to: &str, phrases: &[&str]) {
    assert!(
        GOOD.contains(from),
        "the test changes a line of GOOD: {from}"
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = write(dir.path(), name, &GOOD.replacen(from, to, 1));
    let mut all = vec![name];
    all.extend_from_slice(phrases);
    assert_bad(&path, &[], &all);
}

#[test]
fn the_good_model_of_these_tests_runs() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = write(dir.path(), "good.toml", GOOD);
    eagain()
        .arg("simulate")
        .arg(&path)
        .args(["--replications", "2"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn a_toml_syntax_error_names_the_file_and_line() {
    assert_bad_model(
        "syntax.toml",
        "rate = 5.0",
        "rate = = 5.0",
        &["syntax.toml line 3:", "the file must be TOML"],
    );
}

#[test]
fn an_unknown_field_names_its_path_and_lists_the_allowed_ones() {
    assert_bad_model(
        "unknown.toml",
        "process_limit = 2\n",
        "process_limit = 2\nproces_min_avail = 1\n",
        &[
            "line 9:",
            "`pool.proces_min_avail`",
            "unknown field `proces_min_avail`",
            "expected one of",
            "`process_min_avail`",
        ],
    );
}

#[test]
fn a_misspelled_distribution_lists_the_distributions() {
    assert_bad_model(
        "dist.toml",
        "\"exponential\"",
        "\"exponentail\"",
        &[
            "line 10:",
            "`work.blocking.dist`",
            "unknown variant `exponentail`",
            "`constant`, `exponential`, `uniform`, `lognormal`, `gamma`, `pareto`, `empirical`",
        ],
    );
}

#[test]
fn a_wrong_type_says_what_is_allowed() {
    assert_bad_model(
        "type.toml",
        "backlog = 16",
        "backlog = \"sixteen\"",
        &[
            "line 6:",
            "`listener.backlog`",
            "invalid type: string \"sixteen\"",
            "a whole number >= 0 is allowed here",
        ],
    );
}

#[test]
fn a_negative_rate_is_refused() {
    assert_bad_model(
        "rate.toml",
        "rate = 5.0",
        "rate = -5.0",
        &[
            "line 3:",
            "`load.rate`",
            "must be a number above 0 (connections per second), got -5",
        ],
    );
}

#[test]
fn a_zero_process_limit_is_refused() {
    assert_bad_model(
        "limit.toml",
        "process_limit = 2",
        "process_limit = 0",
        &[
            "line 8:",
            "`pool.process_limit`",
            "must be at least 1 process",
        ],
    );
}

#[test]
fn impossible_distribution_parameters_name_the_parameter() {
    let blocking = "blocking = { dist = \"exponential\", mean = 0.1 }";
    assert_bad_model(
        "sd.toml",
        blocking,
        "blocking = { dist = \"lognormal\", mean = 1.0, sd = -0.5 }",
        &["line 10:", "`work.blocking`", "`sd` must be >= 0, got -0.5"],
    );
    assert_bad_model(
        "uniform.toml",
        blocking,
        "blocking = { dist = \"uniform\", low = 2.0, high = 1.0 }",
        &[
            "line 10:",
            "`work.blocking`",
            "`low` (2) must not exceed `high` (1)",
        ],
    );
    assert_bad_model(
        "empirical.toml",
        blocking,
        "blocking = { dist = \"empirical\", values = [] }",
        &[
            "line 10:",
            "`work.blocking`",
            "the empirical list is empty: give at least one value",
        ],
    );
    assert_bad_model(
        "missing.toml",
        blocking,
        "blocking = { dist = \"gamma\", mean = 1.0 }",
        &["line 10:", "`work.blocking`", "missing field `sd`"],
    );
}

#[test]
fn duration_and_connections_are_one_or_the_other() {
    assert_bad_model(
        "both.toml",
        "duration = 10.0\n",
        "duration = 10.0\nconnections = 5\n",
        &["line 4:", "`load.duration`", "not both"],
    );
    // Neither: the field is absent, so the line is its table's, [load] on line 2.
    assert_bad_model(
        "neither.toml",
        "duration = 10.0\n",
        "",
        &[
            "line 2:",
            "`load.duration`",
            "give `load.duration` (seconds) or `load.connections` (a count): one is required",
        ],
    );
}

#[test]
fn a_missing_required_field_names_its_table() {
    assert_bad_model(
        "norate.toml",
        "rate = 5.0\n",
        "",
        &["line 2:", "`load.rate`", "is required"],
    );
}

#[test]
fn a_missing_model_file_says_which_and_what_to_give() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("nope.toml");
    assert_bad(
        &path,
        &[],
        &[
            "cannot read the model file",
            "nope.toml",
            "Give the path of a model in TOML",
        ],
    );
}

#[test]
fn a_set_path_that_does_not_exist_lists_the_paths_of_its_table() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = write(dir.path(), "good.toml", GOOD);
    assert_bad(
        &path,
        &["--set", "pool.proces_limit=3"],
        &[
            "--set pool.proces_limit=3",
            "`pool.proces_limit` is not a model path",
            "the paths in [pool] are: pool.process_limit",
        ],
    );
    assert_bad(
        &path,
        &["--set", "pools.process_limit=3"],
        &["`pools.process_limit` is not a model path", "load.rate"],
    );
}

#[test]
fn a_bad_set_value_names_the_flag_the_field_and_what_is_allowed() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = write(dir.path(), "good.toml", GOOD);
    // A word where a number belongs: the model check names the flag instead of a line.
    assert_bad(
        &path,
        &["--set", "load.rate=fast"],
        &[
            "good.toml (from --set load.rate=fast)",
            "`load.rate`",
            "a number is allowed here",
        ],
    );
    // Not a TOML value at all.
    assert_bad(
        &path,
        &["--set", "load.rate=a b"],
        &["--set load.rate=a b", "`a b` is not a value"],
    );
    // A value that parses but breaks a rule.
    assert_bad(
        &path,
        &["--set", "pool.process_limit=0"],
        &[
            "(from --set pool.process_limit=0)",
            "`pool.process_limit`",
            "must be at least 1 process",
        ],
    );
    // No `=`.
    assert_bad(&path, &["--set", "load.rate"], &["write PATH=VALUE"]);
}

/// Every field of SPEC section 5, as a JSON pointer.
const JSON_FIELDS: &[&str] = &[
    "/model",
    "/name",
    "/seed",
    "/replications",
    "/effective/queue_capacity",
    "/offered",
    "/served",
    "/refused",
    "/dropped",
    "/timed_out",
    "/refusal_probability/mean",
    "/refusal_probability/ci_low",
    "/refusal_probability/ci_high",
    "/failure_probability/mean",
    "/failure_probability/ci_low",
    "/failure_probability/ci_high",
    "/latency_s/mean",
    "/latency_s/p50",
    "/latency_s/p90",
    "/latency_s/p99",
    "/latency_s/p999",
    "/latency_s/max",
    "/queue_wait_s/mean",
    "/queue_wait_s/p99",
    "/queue_length/mean",
    "/queue_length/max",
    "/processes/forks",
    "/processes/mean",
    "/processes/max",
    "/wasted_s",
    "/events",
    "/wall_s",
];

#[test]
fn simulate_json_has_every_field_of_the_spec() {
    let out = eagain()
        .args(["simulate", "models/mmck.toml", "--format", "json"])
        .output()
        .expect("eagain runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // stdout is one JSON object and nothing else.
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON object");
    for field in JSON_FIELDS {
        let v = json
            .pointer(field)
            .unwrap_or_else(|| panic!("the JSON lacks {field}: {json:#}"));
        if !matches!(*field, "/model" | "/name") {
            assert!(v.is_number(), "{field} is not a number: {v}");
        }
    }
    assert_eq!(json["model"], "models/mmck.toml");
    assert_eq!(json["seed"], 1);
    assert_eq!(json["replications"], 10);
    assert_eq!(json["effective"]["queue_capacity"], 10);
    let n = |k: &str| json[k].as_u64().expect("a count");
    assert_eq!(
        n("offered"),
        n("served") + n("refused") + n("dropped") + n("timed_out")
    );
    let p = &json["refusal_probability"];
    let (lo, mean, hi) = (
        p["ci_low"].as_f64().unwrap(),
        p["mean"].as_f64().unwrap(),
        p["ci_high"].as_f64().unwrap(),
    );
    assert!(lo < mean && mean < hi, "{p}");
    // The shipped model's 95 % interval is a check on its own: M/M/10/20 at a = 9.
    let exact = eagain::analytic::mmck(9.0, 1.0, 10, 20).refusal_probability;
    assert!(lo - 0.002 < exact && exact < hi + 0.002, "{exact} vs {p}");
}

#[test]
fn analytic_mmck_prints_the_reference_value() {
    // docs/oracles.md#reference-values: M/M/5/12 with lambda = 8, mu = 4 refuses 5.869e-5.
    let out = eagain()
        .args([
            "analytic",
            "mmck",
            "--rate",
            "8",
            "--mu",
            "4",
            "--servers",
            "5",
            "--capacity",
            "12",
        ])
        .output()
        .expect("eagain runs");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let value: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("refusal_probability="))
        .unwrap_or_else(|| panic!("no refusal_probability= line: {stdout}"))
        .parse()
        .expect("a number");
    assert_eq!(format!("{value:.3e}"), "5.869e-5", "{stdout}");
}

#[test]
fn analytic_with_impossible_arguments_is_bad_usage() {
    eagain()
        .args([
            "analytic",
            "mmck",
            "--rate",
            "8",
            "--mu",
            "4",
            "--servers",
            "5",
            "--capacity",
            "3",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(
            predicate::str::contains("--capacity 3")
                .and(predicate::str::contains("must be at least --servers (5)")),
        );
}

#[test]
fn every_shipped_model_loads_and_passes_its_checks() {
    let dir = root("models");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("models/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    names.sort();
    assert!(names.len() >= 9, "SPEC 3 ships nine models: {names:?}");
    for path in names {
        let loaded = eagain::model::load(&path, &[])
            .unwrap_or_else(|e| panic!("{} does not load: {e}", path.display()));
        assert!(
            loaded.text.starts_with('#'),
            "{}: a comment block says where the numbers come from",
            path.display()
        );
        assert!(loaded.model.queue_capacity() >= 1);
    }
}
