//! Rare-event speed (docs/rare-events.md), through the `eagain` binary as a user runs
//! it: for M/M/10/20 at p_K = 5.5e-7 and 1.5e-9, the time `simulate --rare` takes to a
//! 95 % interval of +-10 %, beside what plain runs would take for the same precision.
//!
//! - Rare: one run of 200 replications of 1000 s; the time to +-10 % is its wall time
//!   times (its relative half-width / 0.1)^2 (the half-width shrinks as one over the
//!   square root of the replications).
//! - Plain: its speed in connections a second measured on the same model, and the
//!   connections +-10 % needs if refusals came one at a time, (1.96 / 0.1)^2 (1 - p) / p:
//!   a lower bound (they come in bursts, which makes plain runs slower still).
//!
//! Run with `cargo bench --bench rare`.

use serde_json::Value;
use std::process::Command;
use std::time::Instant;

/// `eagain simulate ARGS --format json`: its JSON and its wall time.
fn simulate(args: &[&str]) -> (Value, f64) {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_eagain"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("simulate")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("eagain runs");
    assert!(
        out.status.success(),
        "eagain {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout).expect("one JSON object");
    (json, t.elapsed().as_secs_f64())
}

fn main() {
    // Plain runs' speed: connections simulated per second of wall time.
    let (plain, wall) = simulate(&[
        "models/mmck.toml",
        "--replications",
        "8",
        "--set",
        "load.rate=4",
        "--set",
        "load.duration=50000",
    ]);
    let speed = plain["offered"].as_f64().unwrap() / wall;
    println!("plain runs: {speed:.3e} connections a second (2 threads)");
    println!("case            exact      rare estimate [95 % CI]            rare to +-10 %   plain to +-10 % (at least)");
    for (rate, exact) in [("4", 5.545747541522765e-7), ("2.8", 1.4701455112852298e-9)] {
        let set = format!("load.rate={rate}");
        let (json, wall) = simulate(&[
            "models/mmck.toml",
            "--rare",
            "--replications",
            "200",
            "--set",
            &set,
            "--set",
            "load.duration=1000",
        ]);
        let p = &json["refusal_probability"];
        let f = |k: &str| p[k].as_f64().unwrap();
        let (mean, low, high) = (f("mean"), f("ci_low"), f("ci_high"));
        let relative = (high - low) / 2.0 / mean;
        let rare = wall * (relative / 0.1).powi(2);
        let plain_s = (1.96f64 / 0.1).powi(2) * (1.0 - exact) / exact / speed;
        println!(
            "M/M/10/20 @{rate:<4} {exact:.2e}   {mean:.2e} [{low:.2e}, {high:.2e}] in {wall:.1} s   {rare:>10.1} s   {plain_s:>12.3e} s",
        );
    }
}
