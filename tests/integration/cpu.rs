//! The host's CPUs (SPEC section 13): processor sharing against its birth-death chain
//! (docs/oracles.md#cpu-sharing), fractional quotas included, the CPU figures of the
//! output, a host with CPUs to spare changing nothing, and the memory check.
//!
//! With exponential CPU work and nothing off the CPU, W workers on c CPUs are
//! M/M/min(W, c)/K with the same places (`analytic::cpu_sharing`). The CPU figures are
//! exact too: every busy worker is in its CPU part, so the requests in their CPU part
//! average the busy workers, and the CPUs in use average throughput / mu.
//! The shipped CPU models load and run; the memory check warns and bounds `plan`.

use crate::common::{
    assert_covers, eagain, model, refusal, replications, shipped, summary, Interval,
};
use eagain::analytic::cpu_sharing;
use eagain::model::Model;

/// W prefork workers on `cpus` CPUs, exponential CPU work of mean 1/mu and nothing off
/// the CPU, K places in all (backlog K - W - 1 on a unix listener).
fn shared(rate: f64, mu: f64, workers: u32, cpus: f64, k: u32, duration: f64) -> Model {
    model(&format!(
        r#"
name = "M/M/min({workers}, {cpus})/{k}"
[load]
arrival = "poisson"
rate = {rate:?}
duration = {duration:?}
[listener]
kind = "unix"
backlog = {backlog}
[pool]
process_limit = {workers}
[master]
mode = "prefork"
[host]
cpus = {cpus:?}
[work]
cpu = {{ dist = "exponential", mean = {mean:?} }}
[sim]
warmup = 10.0
"#,
        backlog = k - workers - 1,
        mean = 1.0 / mu,
    ))
}

/// Checks a model's refusal probability, busy workers, CPU utilisation and requests
/// in their CPU part against the chain, each inside its 99.9 % interval.
fn check(what: &str, m: &Model, exact: eagain::analytic::MmckResult, mu: f64, cpus: f64) {
    let reps = replications(m, 24, 20);
    assert_covers(
        &format!("{what} refusal"),
        &refusal(&reps),
        exact.refusal_probability,
        0.08,
    );
    let s: Vec<_> = reps.iter().map(summary).collect();
    let busy: Vec<f64> = s.iter().map(|s| s.processes.busy_mean).collect();
    assert_covers(
        &format!("{what} busy workers"),
        &busy,
        exact.mean_busy,
        0.03,
    );
    let host: Vec<_> = s.iter().map(|s| s.host.expect("host figures")).collect();
    let queue: Vec<f64> = host.iter().map(|h| h.cpu_queue_mean).collect();
    assert_covers(
        &format!("{what} in the CPU part"),
        &queue,
        exact.mean_busy,
        0.03,
    );
    let util: Vec<f64> = host.iter().map(|h| h.cpu_utilisation).collect();
    let exact_util = exact.throughput / (mu * cpus);
    assert_covers(&format!("{what} CPU utilisation"), &util, exact_util, 0.03);
}

#[test]
fn eight_workers_on_one_cpu_refuse_as_mm1k() {
    // 8 workers, 1 CPU, K = 12, rho = 0.9: the CPU serves one request's worth at a time.
    let (rate, mu) = (18.0, 20.0);
    let exact = cpu_sharing(rate, mu, 8, 1.0, 12);
    let m = shared(rate, mu, 8, 1.0, 12, 3000.0);
    check("8 workers on 1 CPU", &m, exact, mu, 1.0);
}

#[test]
fn a_fractional_quota_serves_at_its_fraction() {
    // 4 workers on a 1.5-CPU quota, K = 10, near saturation.
    let (rate, mu) = (25.0, 20.0);
    let exact = cpu_sharing(rate, mu, 4, 1.5, 10);
    let m = shared(rate, mu, 4, 1.5, 10, 3000.0);
    check("4 workers on 1.5 CPUs", &m, exact, mu, 1.5);
}

#[test]
fn fewer_workers_than_cpus_are_not_slowed() {
    // 3 workers, 2.5 CPUs: at most 2.5 of the 3 progress, so 3 busy share 2.5.
    let (rate, mu) = (10.0, 4.0);
    let exact = cpu_sharing(rate, mu, 3, 2.5, 8);
    let m = shared(rate, mu, 3, 2.5, 8, 3000.0);
    check("3 workers on 2.5 CPUs", &m, exact, mu, 2.5);
}

#[test]
fn half_a_cpu_halves_the_capacity_of_one_worker() {
    // 2 workers on a 0.5 CPU quota: death rate mu / 2 whatever the busy count.
    let (rate, mu) = (8.0, 20.0);
    let exact = cpu_sharing(rate, mu, 2, 0.5, 6);
    let m = shared(rate, mu, 2, 0.5, 6, 3000.0);
    check("2 workers on 0.5 CPU", &m, exact, mu, 0.5);
}

/// The mmck model with work of exp(0.4) CPU then exp(0.6) off the CPU, and `host`.
fn mixed(host: &str) -> Model {
    model(&format!(
        r#"
name = "mixed"
[load]
arrival = "poisson"
rate = 9.0
duration = 2000.0
[listener]
kind = "unix"
backlog = 9
[pool]
process_limit = 10
[master]
mode = "prefork"
{host}
[work]
cpu = {{ dist = "exponential", mean = 0.4 }}
blocking = {{ dist = "exponential", mean = 0.6 }}
[sim]
warmup = 10.0
"#
    ))
}

#[test]
fn cpus_to_spare_give_the_refusals_of_a_host_without_contention() {
    // 10 workers on 16 CPUs never wait for one: the work is cpu + blocking as without
    // [host], the same draws from the same streams, so the same refusals (bar the
    // rounding of the virtual clock, which may move a tie).
    let spare = replications(&mixed("[host]\ncpus = 16.0"), 3, 6);
    let none = replications(&mixed(""), 3, 6);
    for (a, b) in spare.iter().zip(&none) {
        let (a, b) = (a.refusal_probability(), b.refusal_probability());
        assert!((a - b).abs() < 1e-3, "16 CPUs {a}, no host {b}");
        assert!(b > 0.01, "the test needs refusals: {b}");
    }
    assert!(spare.iter().all(|r| r.host.is_some()));
    assert!(none.iter().all(|r| r.host.is_none()));
}

#[test]
fn work_off_the_cpu_does_not_use_it() {
    // 10 workers, 2 CPUs, 0.4 s of CPU and 0.6 s off it: the CPUs are used
    // throughput x 0.4 CPU seconds a second, whatever waits off them.
    let reps = replications(&mixed("[host]\ncpus = 2.0"), 5, 12);
    let gap: Vec<f64> = reps
        .iter()
        .map(|r| {
            let s = summary(r);
            let h = s.host.expect("host figures");
            h.cpu_utilisation * 2.0 - s.throughput_per_s * 0.4
        })
        .collect();
    let i = Interval::of(&gap);
    assert!(
        i.contains(0.0) && i.half < 0.05,
        "CPUs used - throughput x 0.4 = {} ± {}",
        i.mean,
        i.half
    );
    // And fewer CPUs than the work needs refuse more than none at all.
    let shared: f64 = refusal(&reps).iter().sum::<f64>() / 12.0;
    let alone: f64 = refusal(&replications(&mixed(""), 5, 12))
        .iter()
        .sum::<f64>()
        / 12.0;
    assert!(shared > alone + 0.05, "2 CPUs {shared}, no host {alone}");
}

#[test]
fn the_shipped_cpu_models_load_and_run_with_host_figures() {
    for name in ["gunicorn-cpu-bound.toml", "container-quota.toml"] {
        let m = shipped(name);
        let cpus = m.host_cpus().expect("a host with CPUs");
        let rep = &replications(&m, 1, 1)[0];
        let s = summary(rep);
        let h = s.host.expect("host figures");
        // Each serves below its CPUs' capacity: utilisation = throughput x mean CPU
        // / cpus, within the run's noise.
        let expected = s.throughput_per_s * m.front().work.cpu.mean() / cpus;
        assert!(
            (h.cpu_utilisation - expected).abs() < 0.05 && h.cpu_utilisation < 1.0,
            "{name}: utilisation {} against {expected}",
            h.cpu_utilisation
        );
        assert!(s.served > 0, "{name} serves");
    }
}

#[test]
fn simulate_prints_the_host_figures_in_json_and_the_table() {
    let o = eagain()
        .args([
            "simulate",
            "models/gunicorn-cpu-bound.toml",
            "--replications",
            "2",
            "--set",
            "load.duration=100",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let u = v["host"]["cpu_utilisation"].as_f64().unwrap();
    let q = v["host"]["cpu_queue_mean"].as_f64().unwrap();
    assert!(u > 0.5 && u < 1.0 && q > 1.0, "{u} {q}");
    let o = eagain()
        .args(["simulate", "models/mmck.toml", "--replications", "2"])
        .args(["--set", "load.duration=300", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("host").is_none(), "no [host], no host figures");
    let o = eagain()
        .args([
            "simulate",
            "models/gunicorn-cpu-bound.toml",
            "--replications",
            "2",
        ])
        .args(["--set", "load.duration=100"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("host CPUs             utilisation 0."),
        "{table}"
    );
}

#[test]
fn a_pool_that_outgrows_the_memory_gets_a_warning_from_simulate_and_sweep() {
    let o = eagain()
        .args([
            "simulate",
            "models/container-quota.toml",
            "--replications",
            "1",
        ])
        .args(["--set", "load.duration=100"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning") && err.contains("720 MiB") && err.contains("host.memory_mib = 512"),
        "{err}"
    );
    // Six workers of 80 MiB fit in 512 MiB: no warning.
    let o = eagain()
        .args([
            "simulate",
            "models/container-quota.toml",
            "--replications",
            "1",
        ])
        .args([
            "--set",
            "load.duration=100",
            "--set",
            "pool.process_limit=6",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("warning"));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let o = eagain()
        .args([
            "sweep",
            "models/container-quota.toml",
            "--replications",
            "1",
        ])
        .args([
            "--set",
            "load.duration=100",
            "--vary",
            "pool.process_limit=2,6,7,9",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: 2 of 4 points"), "{err}");
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    assert!(csv.lines().next().unwrap().contains("host_cpu_utilisation"));
}

#[test]
fn plan_never_answers_above_the_memory_and_says_memory_binds() {
    // 512 MiB holds 6 workers of 80 MiB; with a light load 1 worker meets the target,
    // at a rate the 0.5 CPU cannot serve no count does, and the plan stops at 6.
    let o = eagain()
        .args([
            "plan",
            "models/container-quota.toml",
            "--solve",
            "pool.process_limit",
        ])
        .args(["--target", "latency_s_mean<=0.2", "--replications", "3"])
        .args(["--set", "load.duration=100", "--set", "load.rate=5"])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("memory binds"), "{out}");
    let answer: u32 = out
        .trim_end()
        .lines()
        .last()
        .and_then(|l| l.strip_prefix("pool.process_limit="))
        .and_then(|v| v.parse().ok())
        .expect("an answer");
    assert!((1..=6).contains(&answer), "{out}");
    let o = eagain()
        .args([
            "plan",
            "models/container-quota.toml",
            "--solve",
            "pool.process_limit",
        ])
        .args([
            "--target",
            "refusal_probability<=0.001",
            "--replications",
            "3",
        ])
        .args(["--set", "load.duration=100", "--set", "load.rate=40"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("CPUs bind") || err.contains("memory binds"),
        "{err}"
    );
}

#[test]
fn importers_leave_the_cpu_and_memory_commented_with_the_commands_that_measure_them() {
    for (source, file, how, rss) in [
        (
            "php-fpm",
            "tests/data/php-fpm/debian-www.conf",
            "last request cpu",
            "ps -o rss= -C php-fpm8.2",
        ),
        (
            "apache",
            "tests/data/apache/debian-mpm_prefork.conf",
            "ExtendedStatus On",
            "ps -o rss= -C apache2",
        ),
    ] {
        let (text, _) = crate::common::import_file(source, &crate::common::root(file), &[]);
        let flat = text.replace("\n# ", " ");
        assert!(
            flat.contains(how) && flat.contains(rss),
            "{source}:\n{text}"
        );
        assert!(
            text.lines().any(|l| l.starts_with("# cpu = { dist")),
            "{source}:\n{text}"
        );
        // Commented, it changes nothing: no CPU part, no host.
        let m = crate::common::load_imported(&text);
        assert!(!m.front().work.uses_cpu() && m.host.is_none(), "{source}");
        // Uncommented with a host, it loads and shares the CPUs.
        let on = text.replace("# cpu = { dist", "cpu = { dist") + "\n[host]\ncpus = 2.0\n";
        let m = crate::common::load_imported(&on);
        assert!(
            m.front().work.uses_cpu() && m.host_cpus() == Some(2.0),
            "{source}"
        );
    }
}
