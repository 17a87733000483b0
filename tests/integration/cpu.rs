//! The host's CPUs (SPEC section 13): processor sharing against its birth-death chain
//! (docs/oracles.md#cpu-sharing), fractional quotas included, the CPU figures of the
//! output, a host with CPUs to spare changing nothing, and the memory check.
//!
//! With exponential CPU work and nothing off the CPU, W workers on c CPUs are
//! M/M/min(W, c)/K with the same places (`analytic::cpu_sharing`). The CPU figures are
//! exact too: every busy worker is in its CPU part, so the requests in their CPU part
//! average the busy workers, and the CPUs in use average throughput / mu.

use crate::common::{assert_covers, model, refusal, replications, summary};
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
