//! Load over time (SPEC section 9): a step profile into M/M/c/K offers the integral of
//! its rate and refuses the arrival-weighted mix of the two exact values; a linear
//! ramp offers its integral; a trace with fixed gaps and work is served and refused as
//! computed by hand; the timeline's counts add up to the run's.

use crate::common::{assert_close, assert_covers, eagain, model, refusal, replications, write};
use eagain::analytic::mmck;

/// M/M/5/12 (mu = 4, backlog 6) with `load` lines for the [load] table.
fn mm5_12(load: &str) -> String {
    format!(
        r#"name = "steps"
[load]
arrival = "poisson"
{load}
[listener]
backlog = 6
[pool]
process_limit = 5
[work]
blocking = {{ dist = "exponential", mean = 0.25 }}
"#
    )
}

#[test]
fn a_step_profile_offers_its_integral_and_refuses_the_weighted_mix_of_exact_values() {
    // 2000 s at rate 8 then 2000 s at rate 18: each step is thousands of service times
    // long, so the transient at the step is a small part of it.
    let m = model(&mm5_12(
        "rate = 1.0\nduration = 4000.0\nprofile = { shape = \"steps\", points = [[0, 8.0], [2000, 18.0]] }",
    ));
    let reps = replications(&m, 11, 24);
    let offered: Vec<f64> = reps.iter().map(|r| r.offered as f64).collect();
    assert_covers("offered (the rate's integral)", &offered, 52_000.0, 0.01);
    let (low, high) = (
        mmck(8.0, 4.0, 5, 12).refusal_probability,
        mmck(18.0, 4.0, 5, 12).refusal_probability,
    );
    assert_close("M/M/5/12 at 18", high, 0.054289, 1e-6);
    let mix = (8.0 * 2000.0 * low + 18.0 * 2000.0 * high) / 52_000.0;
    assert_covers("refusal (arrival-weighted mix)", &refusal(&reps), mix, 0.06);
}

#[test]
fn a_linear_ramp_offers_its_integral() {
    // The factor goes from 1 to 3 over 1000 s: the integral is 2000, times rate 10.
    let ramp = "rate = 10.0\nduration = 1000.0\nprofile = { shape = \"linear\", points = [[0, 1.0], [1000, 3.0]] }";
    let constant = model(&mm5_12(ramp).replace("\"poisson\"", "\"constant\""));
    let reps = replications(&constant, 1, 2);
    assert_eq!(
        reps[0].offered, 20_000,
        "constant: the n-th where F reaches n/rate"
    );
    let poisson = model(&mm5_12(ramp));
    let offered: Vec<f64> = replications(&poisson, 3, 24)
        .iter()
        .map(|r| r.offered as f64)
        .collect();
    assert_covers("poisson ramp offered", &offered, 20_000.0, 0.01);
}

#[test]
fn a_trace_with_fixed_gaps_and_work_is_served_and_refused_as_computed_by_hand() {
    // Ten arrivals 0.1 s apart, each 0.33 s of work; one process, a queue of 2
    // (backlog 1). By hand: #0 served at once (0.33); #1 and #2 queue; #3 refused;
    // at 0.33 #1 starts (done 0.66), #4 queues, #5 and #6 are refused; at 0.66 #2
    // starts (0.99), #7 queues, #8 and #9 are refused; #4 runs 0.99-1.32, #7 1.32-1.65.
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("t,blocking\n");
    for k in 0..10 {
        csv += &format!("{},0.33\n", 100.0 + k as f64 / 10.0);
    }
    let trace = write(dir.path(), "trace.csv", &csv);
    let text = |rate: &str| {
        format!(
            r#"name = "trace"
[load]
arrival = "trace"
trace = "{}"
{rate}
[listener]
backlog = 1
[pool]
process_limit = 1
[work]
blocking = {{ dist = "constant", value = 1.0 }}
"#,
            trace.display()
        )
    };
    let s = crate::common::run_once(&text(""));
    assert_eq!((s.offered, s.served, s.refused), (10, 5, 5));
    // Latencies 0.33, 0.56, 0.79, 0.92 and 0.95 s.
    assert_close("mean latency", s.latency_s.mean, 3.55 / 5.0, 1e-9);
    assert_close("max latency", s.latency_s.max, 0.95, 1e-9);
    assert_close("median latency", s.latency_s.p50, 0.79, 1e-3);
    // Twice the trace's own rate (10/s): gaps of 0.05 s. By hand: #0 served; #1, #2
    // queue; #3 to #6 refused (0.15 to 0.3, the queue full until 0.33); at 0.33 #1
    // starts and #7 (0.35) queues; #8, #9 refused: 4 served, 6 refused.
    let s = crate::common::run_once(&text("rate = 20.0"));
    assert_eq!((s.offered, s.served, s.refused), (10, 4, 6));
}

#[test]
fn the_timeline_counts_add_up_to_the_runs_counts() {
    let dir = tempfile::tempdir().unwrap();
    let m = write(
        dir.path(),
        "m.toml",
        &mm5_12("rate = 10.0\nduration = 200.0\nprofile = { shape = \"steps\", points = [[0, 1.0], [50, 4.0], [100, 1.0]] }"),
    );
    let out = dir.path().join("out");
    let o = eagain()
        .args(["simulate", m.to_str().unwrap(), "--replications", "5"])
        .args(["--format", "json", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let result: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let table = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| {
            l.split(',')
                .map(|c| c.parse().unwrap_or(f64::NAN))
                .collect()
        })
        .collect();
    assert!(
        rows.len() >= 200,
        "{} rows: one per 1 s bin, and the drain",
        rows.len()
    );
    assert_eq!(rows[1][0] - rows[0][0], 1.0, "the arrival window / 200");
    for name in ["offered", "served", "refused", "dropped", "timed_out"] {
        let col = header.iter().position(|h| *h == name).unwrap();
        let sum: f64 = rows.iter().map(|r| r[col]).sum();
        let total = result[name].as_u64().unwrap() as f64;
        assert!(
            (sum * 5.0 - total).abs() < 1e-6 * total.max(1.0),
            "{name}: timeline {sum} x 5 replications vs {total}"
        );
    }
    assert!(out.join("result.json").exists());
}
