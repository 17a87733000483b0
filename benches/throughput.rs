//! Arrivals per second of the simulator on one core, and its memory against run length.
//!
//! The case of the issue: M/M/10/20 (lambda = 9, mu = 1) for 10^7 arrivals, one
//! replication, one thread, five times; the median and the best are printed. Then the
//! peak resident memory after a 10^6-arrival run and after a 10^8-arrival run:
//! streaming statistics keep it flat.
//! Run with `cargo bench --bench throughput`.

use eagain::model::{load_str, parse_assignment};
use eagain::server::Compiled;
use std::path::Path;
use std::time::Instant;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn mmck(arrivals: u64) -> Compiled {
    let text = std::fs::read_to_string("models/mmck.toml").expect("run from the repository root");
    let sets = [
        parse_assignment(&format!("load.connections={arrivals}")).unwrap(),
        parse_assignment("sim.warmup=0").unwrap(),
    ];
    // The shipped model gives a duration; a run of n connections replaces it.
    let text = text.replace("duration = 5000.0", "");
    let model = load_str(&text, "models/mmck.toml", Path::new("models"), &sets).unwrap();
    Compiled::new(&model)
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let n = 10_000_000u64;
    let c = mmck(n);
    let mut rates = Vec::new();
    for rep in 0..5 {
        let t = Instant::now();
        let stats = c.run(1, rep).expect("within its budget");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(stats.offered, n);
        let rate = n as f64 / secs;
        rates.push(rate);
        println!(
            "M/M/10/20 lambda=9 mu=1, {n} arrivals: {secs:.3} s, {:.2} million arrivals/s, \
             {} events, refusal {:.5}",
            rate / 1e6,
            stats.events,
            stats.refusal_probability()
        );
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "median {:.2}, best {:.2} million arrivals per second on one core (5 runs)",
        rates[rates.len() / 2] / 1e6,
        rates[rates.len() - 1] / 1e6
    );

    let small = mmck(1_000_000).run(1, 0).expect("within its budget");
    let after_small = peak_rss_kib();
    let large = mmck(100_000_000).run(1, 0).expect("within its budget");
    let after_large = peak_rss_kib();
    println!(
        "peak memory: {after_small} KiB after 10^6 arrivals, {after_large} KiB after 10^8 \
         arrivals ({} and {} offered)",
        small.offered, large.offered
    );
}
