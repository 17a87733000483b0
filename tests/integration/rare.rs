//! Rare events (SPEC section 14): `sim.rare` against exact answers. RESTART's refusal
//! probability of M/M/10/20 near 1e-6 and 1e-9 inside its interval of
//! `analytic::mmck`; fixed effort's chance of any refusal in a two-step peak inside
//! its interval of `analytic::any_refusal_during`; no bias against plain runs at about
//! 1e-3 on lognormal work; the same bytes on one thread and on two; and the guards
//! that refuse a run with exit 2.

use crate::common::{eagain, write};
use eagain::analytic::{any_refusal_during, mmck, Piece};
use serde_json::Value;

/// `eagain simulate ARGS --format json`, its JSON (the run must succeed).
fn simulate(args: &[&str], threads: Option<&str>) -> (Value, String) {
    let mut cmd = eagain();
    cmd.arg("simulate").args(args).args(["--format", "json"]);
    if let Some(n) = threads {
        cmd.env("RAYON_NUM_THREADS", n);
    }
    let out = cmd.output().expect("eagain runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    (serde_json::from_str(&text).expect("one JSON object"), text)
}

/// (mean, ci_low, ci_high) of a probability object.
fn interval(v: &Value) -> (f64, f64, f64) {
    let f = |k: &str| v[k].as_f64().unwrap_or_else(|| panic!("{k} in {v}"));
    (f("mean"), f("ci_low"), f("ci_high"))
}

/// M/M/10/20 (models/mmck.toml) at `rate`, 1000 s a replication, by RESTART: the
/// estimate's 95 % interval holds the exact p_K, is at most `widest` times the mean
/// wide on each side, and enough replications reached the top level.
fn restart_meets_mmck(rate: f64, replications: &str, widest: f64) {
    let exact = mmck(rate, 1.0, 10, 20).refusal_probability;
    let set = format!("load.rate={rate}");
    let (json, _) = simulate(
        &[
            "models/mmck.toml",
            "--rare",
            "--replications",
            replications,
            "--set",
            &set,
            "--set",
            "load.duration=1000",
        ],
        None,
    );
    let (mean, low, high) = interval(&json["refusal_probability"]);
    let rare = &json["rare"];
    assert_eq!(rare["method"], "restart");
    assert!(
        low <= exact && exact <= high,
        "exact {exact:e} outside [{low:e}, {high:e}] (mean {mean:e}); rare: {rare}"
    );
    assert!(
        high - mean <= widest * mean,
        "too wide: {mean:e} [{low:e}, {high:e}]"
    );
    assert!(rare["replications_reaching_top"].as_u64().unwrap() >= 10);
    assert_eq!(rare["unreliable"], false);
    assert!(rare["levels"].as_array().unwrap().len() >= 5, "{rare}");
}

#[test]
fn restart_finds_a_refusal_probability_of_one_in_two_million_inside_its_interval() {
    // p_K = 5.5e-7: plain runs would need about 2e9 arrivals for +-10 %.
    restart_meets_mmck(4.0, "200", 0.5);
}

#[test]
fn restart_finds_a_refusal_probability_of_about_one_in_a_billion_inside_its_interval() {
    // p_K = 1.5e-9.
    restart_meets_mmck(2.8, "200", 1.0);
}

/// A model of M/M/10/20 over a peak of two steps (x1.5 from 30 s, x2 from 50 s to 70 s,
/// 100 s in all), starting empty, with no warm-up.
fn peak_model(dir: &std::path::Path, base: f64) -> std::path::PathBuf {
    let text = format!(
        "name = \"peak\"\n[load]\narrival = \"poisson\"\nrate = {base}\nduration = 100.0\n\
         profile = {{ shape = \"steps\", points = [[0, 1.0], [30, 1.5], [50, 2.0], [70, 1.0]] }}\n\
         [listener]\nkind = \"unix\"\nbacklog = 9\n[pool]\nprocess_limit = 10\n\
         client_limit = 1\n[master]\nmode = \"prefork\"\n\
         [work]\nblocking = {{ dist = \"exponential\", mean = 1.0 }}\n[sim]\nwarmup = 0.0\n"
    );
    write(dir, "peak.toml", &text)
}

/// The exact chance of any refusal in the peak of `peak_model`.
fn peak_exact(base: f64) -> f64 {
    let death: Vec<f64> = (0..=20u32).map(|n| f64::from(n.min(10))).collect();
    let pieces = [(30.0, 1.0), (20.0, 1.5), (20.0, 2.0), (30.0, 1.0)].map(|(duration, m)| Piece {
        duration,
        rate: base * m,
    });
    any_refusal_during(&pieces, &death)
}

fn fixed_effort_meets_the_peak(base: f64, widest: f64) {
    let dir = tempfile::tempdir().unwrap();
    let path = peak_model(dir.path(), base);
    let exact = peak_exact(base);
    let (json, _) = simulate(
        &[path.to_str().unwrap(), "--rare", "--replications", "20"],
        None,
    );
    let (mean, low, high) = interval(&json["any_refusal_probability"]);
    let fe = &json["rare"]["any_refusal"];
    assert_eq!(fe["method"], "fixed-effort");
    assert!(
        low <= exact && exact <= high,
        "exact {exact:e} outside [{low:e}, {high:e}] (mean {mean:e}); {fe}"
    );
    assert!(
        high - mean <= widest * mean,
        "too wide: {mean:e} [{low:e}, {high:e}]"
    );
}

#[test]
fn fixed_effort_finds_the_chance_of_any_refusal_in_a_two_step_peak_near_1e_4() {
    fixed_effort_meets_the_peak(2.2, 0.5);
}

#[test]
fn fixed_effort_finds_the_chance_of_any_refusal_in_a_two_step_peak_near_1e_6() {
    fixed_effort_meets_the_peak(1.65, 0.6);
}

#[test]
fn the_exact_peaks_the_fixed_effort_tests_use_are_near_1e_4_and_1e_6() {
    let (a, b) = (peak_exact(2.2), peak_exact(1.65));
    assert!(a > 5e-5 && a < 2e-4, "{a:e}");
    assert!(b > 5e-7 && b < 2e-6, "{b:e}");
}

/// `args` by plain runs (`plain` replications) and by RESTART (`rare` replications):
/// the plain estimate is near 1e-3 and the two agree (their difference inside a 99.9 %
/// interval from their two 95 % half-widths).
fn restart_agrees_with_plain_runs(args: &[&str], plain: &str, rare: &str) {
    let mut a = args.to_vec();
    a.extend(["--replications", plain]);
    let (p, _) = simulate(&a, None);
    let mut a = args.to_vec();
    a.extend(["--replications", rare, "--rare"]);
    let (r, _) = simulate(&a, None);
    let (m1, l1, h1) = interval(&p["refusal_probability"]);
    let (m2, l2, h2) = interval(&r["refusal_probability"]);
    assert!(m1 > 2e-4 && m1 < 5e-3, "plain {m1:e}");
    let (w1, w2) = ((h1 - l1) / 2.0, (h2 - l2) / 2.0);
    let allowed = (w1 * w1 + w2 * w2).sqrt() * 3.29 / 1.96;
    assert!(
        (m1 - m2).abs() <= allowed,
        "plain {m1:e} [{l1:e}, {h1:e}] vs rare {m2:e} [{l2:e}, {h2:e}]"
    );
    assert_eq!(r["rare"]["method"], "restart");
}

#[test]
fn restart_agrees_with_plain_runs_on_lognormal_work_at_about_one_in_a_thousand() {
    restart_agrees_with_plain_runs(
        &[
            "models/mmck.toml",
            "--set",
            "work.blocking={ dist = \"lognormal\", mean = 1.0, sd = 1.5 }",
            "--set",
            "load.rate=6.5",
            "--set",
            "load.duration=2000",
        ],
        "40",
        "40",
    );
}

#[test]
fn restart_agrees_with_plain_runs_on_an_on_demand_forking_master_at_about_one_in_a_thousand() {
    // Dovecot-like: a process forked per connection (service_count = 1), one fork at
    // a time, exponential fork and start-up times.
    restart_agrees_with_plain_runs(
        &[
            "models/mmck.toml",
            "--set",
            "master.mode=on-demand",
            "--set",
            "pool.service_count=1",
            "--set",
            "master.fork_time={ dist = \"exponential\", mean = 0.05 }",
            "--set",
            "master.startup={ dist = \"exponential\", mean = 0.05 }",
            "--set",
            "load.rate=5.5",
            "--set",
            "load.duration=2000",
        ],
        "200",
        "40",
    );
}

#[test]
fn rare_mode_gives_the_same_bytes_on_one_thread_and_on_two() {
    let args = [
        "models/mmck.toml",
        "--rare",
        "--replications",
        "24",
        "--set",
        "load.rate=4",
        "--set",
        "load.duration=300",
    ];
    let strip = |t: &str| -> String {
        t.lines()
            .filter(|l| !l.trim_start().starts_with("\"wall_s\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let (_, one) = simulate(&args, Some("1"));
    let (_, two) = simulate(&args, Some("2"));
    assert_eq!(strip(&one), strip(&two));
    assert!(one.contains("\"method\": \"restart\""));
}

#[test]
fn set_sim_rare_and_the_rare_flag_are_the_same_run() {
    let common = [
        "models/mmck.toml",
        "--replications",
        "20",
        "--set",
        "load.rate=4",
        "--set",
        "load.duration=200",
    ];
    let mut flag = common.to_vec();
    flag.push("--rare");
    let mut set = common.to_vec();
    set.extend(["--set", "sim.rare=true"]);
    let (a, _) = simulate(&flag, None);
    let (b, _) = simulate(&set, None);
    assert_eq!(a["refusal_probability"], b["refusal_probability"]);
    assert_eq!(a["rare"], b["rare"]);
}

#[test]
fn sim_rare_that_is_not_true_or_false_is_refused_naming_the_field() {
    let out = eagain()
        .args(["simulate", "models/mmck.toml", "--set", "sim.rare=5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rare"), "{err}");
}

#[test]
fn a_splitting_run_past_its_event_budget_stops_with_exit_2_naming_its_levels() {
    // 2800 connections a replication fit a budget of 3000, but fixed effort's stages
    // of many such runs do not.
    let out = eagain()
        .args([
            "simulate",
            "models/mmck.toml",
            "--rare",
            "--replications",
            "20",
        ])
        .args(["--set", "load.rate=2.8", "--set", "load.duration=1000"])
        .args(["--set", "sim.max_connections=3000"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sim.rare") && err.contains("levels ["),
        "{err}"
    );
    assert!(err.contains("sim.max_connections = 3000"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn a_sweep_with_sim_rare_gives_each_point_its_splitting_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let out = eagain()
        .args(["sweep", "models/mmck.toml", "--vary", "load.rate=4"])
        .args(["--set", "sim.rare=true", "--set", "load.duration=1000"])
        .args(["--replications", "100", "--format", "json", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON rows");
    let result = &rows[0]["result"];
    assert_eq!(result["rare"]["method"], "restart");
    let exact = mmck(4.0, 1.0, 10, 20).refusal_probability;
    let (mean, low, high) = interval(&result["refusal_probability"]);
    assert!(
        low <= exact && exact <= high && mean > 0.0,
        "exact {exact:e} outside [{low:e}, {high:e}]"
    );
}

#[test]
fn restart_agrees_with_plain_runs_on_a_chain_whose_second_service_refuses() {
    // A proxy in front of six workers with a queue of five: the refusals are the second
    // service's, which the splitting must find as its target.
    let text = "name = \"chain\"\n[load]\narrival = \"poisson\"\nrate = 5.0\n\
        duration = 2000.0\non_refused = \"fail\"\n\
        [[services]]\nname = \"front\"\nnext = \"back\"\nhandoff = \"proxy\"\n\
        [services.listener]\nkind = \"unix\"\nbacklog = 100\n\
        [services.pool]\nprocess_limit = 1\nclient_limit = 100\n\
        [services.master]\nmode = \"prefork\"\n\
        [services.work]\nblocking = { dist = \"constant\", value = 0.0002 }\n\
        [services.connect]\non_refused = \"fail\"\n\
        [[services]]\nname = \"back\"\n[services.listener]\nkind = \"unix\"\nbacklog = 4\n\
        [services.pool]\nprocess_limit = 6\nclient_limit = 1\n\
        [services.master]\nmode = \"prefork\"\n\
        [services.work]\nblocking = { dist = \"exponential\", mean = 0.5 }\n\
        [sim]\nwarmup = 100.0\n";
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "chain.toml", text);
    restart_agrees_with_plain_runs(&[path.to_str().unwrap()], "100", "40");
    let (json, _) = simulate(
        &[path.to_str().unwrap(), "--rare", "--replications", "20"],
        None,
    );
    let importance = json["rare"]["importance"].as_str().unwrap();
    assert!(importance.contains("of back"), "{importance}");
}
