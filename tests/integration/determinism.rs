//! SPEC 7: the same model, seed and arguments give byte-identical results (whatever
//! the number of threads); another seed gives other results; and arrivals and work
//! draw from their own streams, so that changing a limit does not change the load.

use crate::common::{eagain, model, replications, summary};
use eagain::stats::RepStats;

/// A replication's whole summary as JSON text (one replication has no interval, and
/// its NaN bounds would never compare equal as numbers; in JSON they are null).
fn fingerprint(r: &RepStats) -> String {
    serde_json::to_string(&summary(r)).expect("a summary serialises")
}

/// `eagain simulate models/mmck.toml --format json` (shortened), with `wall_s`
/// removed: the one field that measures the machine rather than the model.
fn simulate_json(seed: &str, threads: Option<&str>) -> String {
    let mut cmd = eagain();
    cmd.args(["simulate", "models/mmck.toml", "--format", "json"])
        .args(["--seed", seed, "--replications", "6"])
        .args(["--set", "load.duration=300"]);
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
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"wall_s\""))
        .collect();
    assert_eq!(kept.len() + 1, text.lines().count(), "one wall_s line");
    kept.join("\n")
}

#[test]
fn the_same_seed_gives_byte_identical_json_and_another_seed_differs() {
    let a = simulate_json("7", None);
    let b = simulate_json("7", None);
    assert_eq!(a, b, "same seed, same output");
    // One thread or two: each replication has its own streams.
    let c = simulate_json("7", Some("1"));
    assert_eq!(a, c, "the thread count changes nothing");
    let d = simulate_json("8", None);
    assert_ne!(a, d, "another seed, other numbers");
    assert!(a.contains("\"seed\": 7") && d.contains("\"seed\": 8"));
}

#[test]
fn a_replication_repeats_exactly_and_replications_differ() {
    let m = model(
        r#"
name = "every random part at once"
[load]
rate = 30.0
duration = 60.0
timeout = 2.0
on_refused = "retry"
[listener]
backlog = 3
[pool]
process_limit = 3
service_count = 5
process_min_avail = 1
idle_kill = 1.0
[master]
mode = "on-demand"
startup = { dist = "uniform", low = 0.0, high = 0.05 }
fork_time = { dist = "exponential", mean = 0.01 }
drop_timeout = 0.5
[work]
blocking = { dist = "lognormal", mean = 0.1, sd = 0.2 }
hold = { dist = "gamma", mean = 0.05, sd = 0.05 }
"#,
    );
    let first = replications(&m, 3, 3);
    let again = replications(&m, 3, 3);
    for (x, y) in first.iter().zip(&again) {
        assert_eq!(fingerprint(x), fingerprint(y));
        assert!(x.offered > 1000 && x.events > 1000);
    }
    assert_ne!(fingerprint(&first[0]), fingerprint(&first[1]));
    let other_seed = replications(&m, 4, 1);
    assert_ne!(fingerprint(&first[0]), fingerprint(&other_seed[0]));
}

#[test]
fn limits_and_work_do_not_change_the_arrivals() {
    // Common random numbers: the arrival stream does not depend on what the server
    // does, so the same seed offers the same connections to every configuration.
    let text = |limit: u32, backlog: u32, mean: f64| {
        format!(
            r#"
name = "crn"
[load]
rate = 20.0
duration = 100.0
[listener]
backlog = {backlog}
[pool]
process_limit = {limit}
[work]
blocking = {{ dist = "exponential", mean = {mean:?} }}
"#
        )
    };
    let offered = |t: String| {
        replications(&model(&t), 5, 3)
            .iter()
            .map(|r| r.offered)
            .collect::<Vec<_>>()
    };
    let base = offered(text(2, 4, 0.2));
    assert_eq!(base, offered(text(6, 4, 0.2)));
    assert_eq!(base, offered(text(2, 100, 0.2)));
    assert_eq!(base, offered(text(2, 4, 0.05)));
    // And the work stream does not depend on the pool: the n-th connection blocks for
    // the same time, so with no refusals the total busy time is the same.
    let busy = |limit: u32| {
        let r = &replications(&model(&text(limit, 10_000, 0.05)), 5, 1)[0];
        assert_eq!(r.refused, 0);
        let s = summary(r);
        s.processes.busy_mean * r.window
    };
    let (a, b) = (busy(2), busy(8));
    assert!((a - b).abs() < 1e-9 * a, "busy time {a} vs {b}");
}
