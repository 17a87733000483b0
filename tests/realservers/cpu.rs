//! CPU-bound pools in a CPU quota (SPEC 13, issue 24): the builtin server and nginx +
//! gunicorn burn 50 ms of CPU a connection in a 1-CPU cgroup quota, with 2 and 8
//! workers, from no refusals to most refused around the knee at 1 CPU / 50 ms = 20
//! connections a second; and a mixed case (CPU, then a wait off the CPU). Each case
//! runs `validate` once a point (the simulator on the same arrivals and the same
//! work draws as the real run) and checks that the measured refusal probability is
//! within 0.05 of the prediction (0.1 for the mixed case, whose real pool refuses a
//! little less than processor sharing says), that the quota held the pool to its CPU (served a
//! second at saturation near cpus / cpu), and that the run's cgroup is gone
//! afterwards. A case whose server is not installed, or whose machine has no
//! writable cgroup `cpu` controller (not root, no cgroup), prints `SKIPPED <test>:
//! <why>` and passes. The machine these ran on has 2 cores shared with other work:
//! the pool's group gets the weight of a nice -10 process and the load generator runs
//! ahead of it (the harness does both), and a run the client could not keep on
//! schedule is skipped, not failed.

use crate::common::{run_in, text, write};
use crate::harness::{
    num, open_tempdir, read_csv, serial, skip, Needs, NEEDS_NGINX_GUNICORN, NEEDS_NOTHING,
};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Instant;

/// 50 ms of CPU a connection, nothing off the CPU, a queue of 9 places (backlog 8, as
/// reference: cpu-sharing measured), 1 CPU: the pool serves at most 20 a second
/// whatever its workers.
const CPU_BOUND: &str = r#"
name = "CPU-bound pool in a 1-CPU quota"
[load]
arrival = "poisson"
rate = 20.0
duration = 8.0
[listener]
backlog = 8
[pool]
process_limit = 2
[master]
mode = "prefork"
[work]
cpu = { dist = "constant", value = 0.05 }
[host]
cpus = 1.0
"#;

/// 25 ms of CPU, then an exponential wait of 100 ms off the CPU (a database), 4
/// workers on 1 CPU: the CPU alone would serve 40 a second, the workers alone 32.
const MIXED: &str = r#"
name = "CPU and a wait in a 1-CPU quota"
[load]
arrival = "poisson"
rate = 20.0
duration = 8.0
[listener]
backlog = 8
[pool]
process_limit = 4
[master]
mode = "prefork"
[work]
cpu = { dist = "constant", value = 0.025 }
blocking = { dist = "exponential", mean = 0.1 }
[host]
cpus = 1.0
"#;

/// The largest |predicted - measured| refusal probability allowed for a CPU-bound
/// pool (the issue's).
const BOUND: f64 = 0.05;
/// The same for the mixed case. Around its knee the real pool refused 0.01-0.07 less
/// than processor sharing of 1 CPU predicts (35 a second: 0.158-0.216 against 0.229
/// in six runs), always in that direction: under a quota the CPU parts run on both
/// cores at once until the period's quota is spent, which a pool that waits off the
/// CPU leaves unspent more often than a CPU-bound one (docs/cpu-measured.md).
const MIXED_BOUND: f64 = 0.1;

/// The cgroups the harness made that are there now, in the `cpu` controller's
/// hierarchy (cgroup v1's mount, or v2's root); empty when there is none.
fn harness_groups() -> BTreeSet<String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() >= 4
            && ((f[2] == "cgroup" && f[3].split(',').any(|o| o == "cpu")) || f[2] == "cgroup2")
        {
            dirs.push(PathBuf::from(f[1]));
        }
    }
    dirs.iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("eagain-"))
        .collect()
}

/// One measurement: `validate` of `model` on `target` over `vary`, one run a point.
struct CpuCase {
    target: &'static str,
    model: &'static str,
    vary: &'static [&'static str],
    needs: &'static Needs,
    /// The most a second the quota lets a CPU-bound pool serve (cpus / CPU a
    /// connection), checked at the grid's last point, which overloads it; None where
    /// the workers bind too.
    capacity: Option<f64>,
    /// The largest |predicted - measured| refusal probability allowed.
    bound: f64,
}

/// Runs `case` as test `test`; returns the rows of validation.csv and measured.csv,
/// or None when it was skipped.
fn run(test: &str, case: CpuCase) -> Option<Vec<HashMap<String, String>>> {
    if skip(test, case.needs) {
        return None;
    }
    let _lock = serial();
    let tmp = open_tempdir();
    let model = write(tmp.path(), "m.toml", case.model);
    let out = tmp.path().join("out");
    let mut args = vec![
        "validate",
        model.to_str().unwrap(),
        "--target",
        case.target,
        "--out",
        out.to_str().unwrap(),
        "--runs",
        "1",
        "--replications",
        "1",
    ];
    for v in case.vary {
        args.extend(["--vary", v]);
    }
    let before = harness_groups();
    let started = Instant::now();
    let o = run_in(tmp.path(), &args);
    let err = String::from_utf8_lossy(&o.stderr);
    if o.status.code() == Some(2) && err.contains("host.cpus") && err.contains("cannot here") {
        eprintln!("SKIPPED {test}: no CPU quota on this machine: {err}");
        return None;
    }
    if !o.status.success() && err.contains("too busy to measure the server") {
        eprintln!(
            "SKIPPED {test}: this machine was too busy to keep the load generator on \
             schedule (other work on its cores):\n{err}"
        );
        return None;
    }
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    eprintln!(
        "{test}: validate --target {} {}: {:.0} s\n{err}{stdout}",
        case.target,
        case.vary.join(" "),
        started.elapsed().as_secs_f64()
    );
    assert!(
        err.contains("CPU quota 1.00 CPU"),
        "the runs' notes say the quota: {err}"
    );
    let left: Vec<String> = harness_groups().difference(&before).cloned().collect();
    assert!(left.is_empty(), "cgroups left behind: {left:?}");
    let rows = read_csv(&out.join("validation.csv"));
    let measured = read_csv(&out.join("measured.csv"));
    assert_eq!(rows.len(), measured.len());
    for (r, m) in rows.iter().zip(&measured) {
        let point: Vec<String> = case
            .vary
            .iter()
            .filter_map(|v| v.split('=').next())
            .map(|path| format!("{path} {}", r[path]))
            .collect();
        eprintln!(
            "{test}: {}: refusal measured {} predicted {} (|error| {}); served {}",
            point.join(", "),
            r["measured_refusal_probability"],
            r["predicted_refusal_probability"],
            r["abs_error"],
            m["served"]
        );
    }
    // From (almost) none refused to most refused.
    let refused: Vec<f64> = rows
        .iter()
        .map(|r| num(r, "measured_refusal_probability"))
        .collect();
    assert!(refused[0] <= 0.02, "{refused:?}");
    assert!(*refused.last().unwrap() >= 0.5, "{refused:?}");
    // The quota, not the workers, held the pool at the overloaded point: what it
    // served over the arrival window (8 s) and the drain is near its capacity.
    if let Some(capacity) = case.capacity {
        let per_s = num(measured.last().unwrap(), "served") / 8.0;
        assert!(
            per_s > 0.85 * capacity && per_s < 1.2 * capacity,
            "served {per_s:.1} a second at saturation, capacity {capacity}"
        );
    }
    let max = rows.iter().map(|r| num(r, "abs_error")).fold(0.0, f64::max);
    assert!(
        max <= case.bound,
        "max_abs_error {max} > {}: {rows:?}",
        case.bound
    );
    Some(rows)
}

/// The knee of a 1-CPU pool at 50 ms a connection is 20 a second: 10 is below it, 20
/// at it, 28 past it, 60 three times over.
const KNEE: &[&str] = &["load.rate=10,20,28,60"];

#[test]
fn builtin_two_workers_burning_50_ms_in_a_1_cpu_quota_refuse_within_0_05_of_the_prediction() {
    run(
        "builtin_two_workers_cpu",
        CpuCase {
            target: "builtin",
            model: CPU_BOUND,
            vary: KNEE,
            needs: &NEEDS_NOTHING,
            capacity: Some(20.0),
            bound: BOUND,
        },
    );
}

#[test]
fn builtin_eight_workers_share_one_cpu_and_refuse_within_0_05_of_the_prediction() {
    run(
        "builtin_eight_workers_cpu",
        CpuCase {
            target: "builtin",
            model: CPU_BOUND,
            vary: &["pool.process_limit=8", "load.rate=10,20,28,60"],
            needs: &NEEDS_NOTHING,
            capacity: Some(20.0),
            bound: BOUND,
        },
    );
}

#[test]
fn gunicorn_two_workers_burning_50_ms_in_a_1_cpu_quota_refuse_within_0_05_of_the_prediction() {
    run(
        "gunicorn_two_workers_cpu",
        CpuCase {
            target: "nginx-gunicorn",
            model: CPU_BOUND,
            vary: KNEE,
            needs: &NEEDS_NGINX_GUNICORN,
            capacity: Some(20.0),
            bound: BOUND,
        },
    );
}

#[test]
fn gunicorn_eight_workers_share_one_cpu_and_refuse_within_0_05_of_the_prediction() {
    run(
        "gunicorn_eight_workers_cpu",
        CpuCase {
            target: "nginx-gunicorn",
            model: CPU_BOUND,
            vary: &["pool.process_limit=8", "load.rate=10,20,28,60"],
            needs: &NEEDS_NGINX_GUNICORN,
            capacity: Some(20.0),
            bound: BOUND,
        },
    );
}

/// 4 workers, 25 ms of CPU then 100 ms off it: the workers (32 a second) bind before
/// the CPU (40 a second), but sharing the CPU stretches each connection's CPU part.
/// Within `MIXED_BOUND`, not the CPU-bound cases' 0.05: see there.
#[test]
fn builtin_cpu_then_a_wait_in_a_1_cpu_quota_refuses_within_0_1_of_the_prediction() {
    run(
        "builtin_mixed_cpu",
        CpuCase {
            target: "builtin",
            model: MIXED,
            vary: &["load.rate=10,25,35,80"],
            needs: &NEEDS_NOTHING,
            capacity: None,
            bound: MIXED_BOUND,
        },
    );
}

#[test]
fn gunicorn_cpu_then_a_wait_in_a_1_cpu_quota_refuses_within_0_1_of_the_prediction() {
    run(
        "gunicorn_mixed_cpu",
        CpuCase {
            target: "nginx-gunicorn",
            model: MIXED,
            vary: &["load.rate=10,25,35,80"],
            needs: &NEEDS_NGINX_GUNICORN,
            capacity: None,
            bound: MIXED_BOUND,
        },
    );
}
