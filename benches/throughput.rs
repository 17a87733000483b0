//! Arrivals per second of the simulator on one core, and its memory against run length.
//!
//! The main case: M/M/10/20 (lambda = 9, mu = 1) for 10^7 arrivals, one replication,
//! one thread, five times; the median and the best are printed. Then the same for
//! other kinds of model, 2 x 10^6 client connections each: a two-service chain
//! (imap-login passing to imap), a step profile of the M/M/10/20 load, and a PHP-FPM
//! dynamic pool, and the M/M/10/20 pool whose work is 0.4 s of CPU then 0.6 s off it
//! on 4 shared CPUs (processor sharing, SPEC 13: its cost in the hot loop against the
//! M/M/10/20 case, whose model has no `[host]` and pays nothing for it). Last, the peak resident memory after a 10^6-arrival run and after a
//! 10^8-arrival run: streaming statistics keep it flat.
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

/// A model of `n` connections from its text (the text gives no duration).
fn model(text: &str, n: u64) -> Compiled {
    let sets = [parse_assignment(&format!("load.connections={n}")).unwrap()];
    let model = load_str(text, "bench.toml", Path::new("."), &sets).unwrap();
    Compiled::new(&model)
}

/// Runs `c` five times (replications 0 to 4); prints each run and the median and best
/// rates of client connections a second.
fn measure(name: &str, c: &Compiled, n: u64) {
    let mut rates = Vec::new();
    for rep in 0..5 {
        let t = Instant::now();
        let stats = c.run(1, rep).expect("within its budget");
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(stats.offered, n);
        let rate = n as f64 / secs;
        rates.push(rate);
        println!(
            "{name}, {n} arrivals: {secs:.3} s, {:.2} million arrivals/s, {} events, \
             refusal {:.5}",
            rate / 1e6,
            stats.events,
            stats.refusal_probability()
        );
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "{name}: median {:.2}, best {:.2} million arrivals per second on one core (5 runs)",
        rates[rates.len() / 2] / 1e6,
        rates[rates.len() - 1] / 1e6
    );
}

const CHAIN: &str = r#"name = "login -> imap"
[load]
rate = 9.0
[[services]]
name = "login"
next = "imap"
[services.listener]
backlog = 64
[services.pool]
process_limit = 4
client_limit = 100
[services.work]
blocking = { dist = "exponential", mean = 0.001 }
[[services]]
name = "imap"
[services.listener]
backlog = 10
[services.pool]
process_limit = 10
[services.work]
blocking = { dist = "exponential", mean = 1.0 }
"#;

const PROFILE: &str = r#"name = "M/M/10/20 through a peak"
[load]
rate = 9.0
profile = { shape = "steps", points = [[0, 0.5], [1000, 1.5], [2000, 1.0]], repeat = true }
[listener]
backlog = 9
[pool]
process_limit = 10
[work]
blocking = { dist = "exponential", mean = 1.0 }
"#;

const PHP_FPM: &str = r#"name = "PHP-FPM dynamic"
[load]
rate = 9.0
[listener]
backlog = 9
[pool]
process_limit = 20
start_servers = 5
min_spare = 2
max_spare = 8
service_count = 500
[master]
mode = "php-fpm-dynamic"
[work]
blocking = { dist = "exponential", mean = 1.0 }
"#;

const CPU_SHARED: &str = r#"name = "M/M/10/20 on 4 shared CPUs"
[load]
rate = 9.0
[listener]
backlog = 9
[pool]
process_limit = 10
[master]
mode = "prefork"
[host]
cpus = 4.0
[work]
cpu = { dist = "exponential", mean = 0.4 }
blocking = { dist = "exponential", mean = 0.6 }
"#;

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let n = 10_000_000u64;
    measure("M/M/10/20 lambda=9 mu=1", &mmck(n), n);
    let n = 2_000_000u64;
    measure("two-service chain", &model(CHAIN, n), n);
    measure("step profile", &model(PROFILE, n), n);
    measure("PHP-FPM dynamic", &model(PHP_FPM, n), n);
    measure("4 shared CPUs", &model(CPU_SHARED, n), n);

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
