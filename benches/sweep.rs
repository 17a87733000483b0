//! Sweep speed, through the `eagain` binary as a user runs it:
//! 1. parallel efficiency: a 24-point grid on 1 thread and on 2 threads;
//! 2. a 100-point capacity curve of M/M/10/20 with --precision 0.05 (every refusal
//!    probability above 1e-3 known to ±5 % at 95 %), its wall time and how many
//!    points missed that precision.
//!
//! Run with `cargo bench --bench sweep`.

use std::process::Command;
use std::time::Instant;

fn eagain(args: &[&str]) -> f64 {
    let t = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_eagain"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("eagain runs");
    assert!(
        out.status.success(),
        "eagain {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed().as_secs_f64()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("eagain-bench-{}", std::process::id()));
    let out = dir.display().to_string();
    let grid = |threads: &str| -> f64 {
        (0..2)
            .map(|_| {
                eagain(&[
                    "sweep",
                    "models/mmck.toml",
                    "--vary",
                    "load.rate=5:16.5:0.5",
                    "--set",
                    "load.duration=5000",
                    "--replications",
                    "8",
                    "--threads",
                    threads,
                    "--out",
                    &out,
                ])
            })
            .fold(f64::INFINITY, f64::min)
    };
    let one = grid("1");
    let two = grid("2");
    println!(
        "24-point sweep (M/M/10/20, 8 replications of 5000 s): {one:.2} s on 1 thread, \
         {two:.2} s on 2 threads: {:.2} times as fast",
        one / two
    );

    let secs = eagain(&[
        "sweep",
        "models/mmck.toml",
        "--vary",
        "load.rate=5:14.9:0.1",
        "--precision",
        "0.05",
        "--set",
        "load.duration=1000",
        "--set",
        "sim.warmup=20",
        "--replications",
        "4",
        "--out",
        &out,
    ]);
    let csv = std::fs::read_to_string(dir.join("results.csv")).expect("results.csv");
    let mut rows = csv.lines();
    let header: Vec<&str> = rows.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (m, lo, hi, off) = (
        col("refusal_probability_mean"),
        col("refusal_probability_ci_low"),
        col("refusal_probability_ci_high"),
        col("offered"),
    );
    let (mut points, mut above, mut missed, mut arrivals) = (0, 0, 0, 0u64);
    for r in rows {
        let f: Vec<&str> = r.split(',').collect();
        let x = |i: usize| f[i].parse::<f64>().unwrap_or(f64::NAN);
        points += 1;
        arrivals += f[off].parse::<u64>().unwrap();
        if x(m) > 1e-3 {
            above += 1;
            if (x(hi) - x(lo)) / 2.0 > 0.05 * x(m) {
                missed += 1;
            }
        }
    }
    println!(
        "{points}-point capacity curve at ±5 %: {secs:.2} s, {:.1} million arrivals; \
         {above} points above 1e-3, {missed} of them outside ±5 %",
        arrivals as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
