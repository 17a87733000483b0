//! The simulator against exact queueing results (docs/oracles.md).
//!
//! The mapping: Poisson arrivals, a prefork pool of c processes with client_limit 1,
//! no startup, no timeouts, no retries, a unix listener with pending capacity
//! b = min(backlog, somaxconn) + 1 is M/G/c/K with K = c + b. Each test runs many
//! independent replications, builds a 99.9 % Student-t interval from the
//! per-replication estimates, and asserts that the exact value is inside it AND that
//! the interval is narrow (a few percent of the value), so that a simulator wrong by
//! a few percent fails. Seeds are fixed: a pass stays a pass.
//!
//! Erlang B (K = c) cannot be had from the kernel queue alone: it always holds at
//! least one pending connection (listen(0) gives 1; semantics: unix-capacity), so
//! K >= c + 1. It can be had from Dovecot's drop rule (semantics: dovecot-drop-timer)
//! with `drop_timeout = 0`: a connection that finds every process busy is accepted and
//! closed by the master at once, and so is every later one until a slot frees. That is
//! M/G/c/c, whose refusal probability is Erlang B whatever the blocking-time
//! distribution.

use crate::common::{
    assert_close, assert_covers, model, refusal, replications, shipped, summary, Interval,
};
use eagain::analytic::{erlang_b, erlang_c, erlang_c_mean_wait, md1k, mm1k, mmck};
use eagain::model::Model;

/// M/G/c/K as a model: `c` prefork processes, K - c pending places (backlog K - c - 1).
fn mgck(rate: f64, blocking: &str, c: u32, k: u32, duration: f64, warmup: f64) -> Model {
    assert!(
        k > c,
        "the kernel queue holds at least one connection: K > c"
    );
    model(&format!(
        r#"
name = "M/G/{c}/{k}"
[load]
arrival = "poisson"
rate = {rate:?}
duration = {duration:?}
[listener]
kind = "unix"
backlog = {backlog}
[pool]
process_limit = {c}
[master]
mode = "prefork"
[work]
blocking = {blocking}
[sim]
warmup = {warmup:?}
"#,
        backlog = k - c - 1
    ))
}

fn exponential(mean: f64) -> String {
    format!(r#"{{ dist = "exponential", mean = {mean:?} }}"#)
}

fn constant(value: f64) -> String {
    format!(r#"{{ dist = "constant", value = {value:?} }}"#)
}

#[test]
fn the_oracle_functions_give_the_reference_values() {
    // docs/oracles.md#reference-values.
    assert_close("Erlang B c=10 a=5", erlang_b(10, 5.0), 0.0183846, 5e-8);
    assert_close("Erlang B c=5 a=3", erlang_b(5, 3.0), 0.1100543, 5e-8);
    assert_close("Erlang B c=100 a=80", erlang_b(100, 80.0), 0.0039920, 5e-8);
    assert_close("Erlang C c=5 a=4", erlang_c(5, 4.0), 0.5541126, 5e-8);
    let p = mmck(8.0, 4.0, 5, 12).refusal_probability;
    assert_close("M/M/5/12 l=8 mu=4", p, 5.869e-5, 5e-9);
    let p = mmck(18.0, 4.0, 5, 12).refusal_probability;
    assert_close("M/M/5/12 l=18 mu=4", p, 0.054289, 5e-7);
    assert_close("M/M/1/10 rho=0.9", mm1k(0.9, 10), 0.0508137, 5e-8);
    assert_close("M/D/1/10 rho=0.9", md1k(0.9, 1.0, 10), 0.0166317, 5e-8);
    assert_close("M/D/1/5 rho=1", md1k(1.0, 1.0, 5), 0.1034489, 5e-8);
    // The formulas agree where they overlap: M/M/1/K is M/M/c/K with c = 1, M/D/1/1
    // is Erlang B with one server (insensitive), and M/M/c/c is Erlang B.
    for (rho, k) in [(0.5, 3), (0.9, 10), (1.0, 7), (1.7, 12)] {
        let a = mmck(rho, 1.0, 1, k).refusal_probability;
        assert_close("M/M/1/K two ways", mm1k(rho, k), a, 1e-12);
    }
    assert_close(
        "M/D/1/1 = B(1, a)",
        md1k(0.7, 1.0, 1),
        erlang_b(1, 0.7),
        1e-12,
    );
    let b = mmck(5.0, 1.0, 10, 10).refusal_probability;
    assert_close("M/M/c/c = Erlang B", b, erlang_b(10, 5.0), 1e-12);
    assert_close(
        "W_q of M/M/5 at a=4",
        erlang_c_mean_wait(5, 4.0, 1.0),
        0.5541126,
        5e-8,
    );
}

#[test]
fn mm5_12_at_rate_18_and_mu_4_refuses_0_054289() {
    let exact = mmck(18.0, 4.0, 5, 12);
    assert_close("oracle", exact.refusal_probability, 0.054289, 5e-7);
    let m = mgck(18.0, &exponential(0.25), 5, 12, 3000.0, 10.0);
    let reps = replications(&m, 11, 24);
    assert_covers(
        "M/M/5/12 refusal probability",
        &refusal(&reps),
        exact.refusal_probability,
        0.06,
    );
    // The same runs also give the mean wait of an accepted connection and the mean
    // queue length (L_q), both exact for M/M/c/K.
    let s: Vec<_> = reps.iter().map(summary).collect();
    let wait: Vec<f64> = s.iter().map(|s| s.queue_wait_s.mean).collect();
    assert_covers("M/M/5/12 mean wait", &wait, exact.mean_wait, 0.04);
    let lq: Vec<f64> = s.iter().map(|s| s.queue_length.mean).collect();
    assert_covers("M/M/5/12 mean queue length", &lq, exact.mean_in_queue, 0.04);
}

#[test]
fn mm1_10_at_rho_0_9_refuses_0_0508137() {
    let exact = mm1k(0.9, 10);
    assert_close("oracle", exact, 0.0508137, 5e-8);
    // mu = 10 per second: the same queue as rho = 0.9 with mu = 1, ten times faster.
    let m = mgck(9.0, &exponential(0.1), 1, 10, 8000.0, 10.0);
    let reps = replications(&m, 12, 24);
    assert_covers("M/M/1/10 refusal probability", &refusal(&reps), exact, 0.06);
}

#[test]
fn the_shipped_mmck_model_matches_mm10_20_at_rate_9() {
    // models/mmck.toml: lambda = 9, mu = 1, c = 10, backlog 9 -> 10 pending, K = 20.
    let m = shipped("mmck.toml");
    assert_eq!(m.queue_capacity(), 10);
    let exact = mmck(9.0, 1.0, 10, 20);
    let reps = replications(&m, m.sim.seed, 40);
    assert_covers(
        "M/M/10/20 refusal probability",
        &refusal(&reps),
        exact.refusal_probability,
        0.075,
    );
    let s: Vec<_> = reps.iter().map(summary).collect();
    let latency: Vec<f64> = s.iter().map(|s| s.latency_s.mean).collect();
    assert_covers(
        "M/M/10/20 mean time in system",
        &latency,
        exact.mean_time_in_system,
        0.015,
    );
    let l: Vec<f64> = s.iter().map(|s| s.in_system_mean).collect();
    assert_covers(
        "M/M/10/20 mean number in system",
        &l,
        exact.mean_in_system,
        0.02,
    );
}

#[test]
fn md1_10_at_rho_0_9_refuses_0_0166317() {
    // Constant blocking of 0.1 s at rate 9 (rho = 0.9), one process, backlog 8:
    // 9 pending places, K = 10.
    let exact = md1k(9.0, 0.1, 10);
    assert_close("oracle", exact, 0.0166317, 5e-8);
    let m = mgck(9.0, &constant(0.1), 1, 10, 15000.0, 10.0);
    assert_eq!(m.queue_capacity(), 9);
    let reps = replications(&m, 13, 24);
    assert_covers(
        "M/D/1/10 refusal probability",
        &refusal(&reps),
        exact,
        0.065,
    );
}

#[test]
fn md1_5_at_rho_1_refuses_0_1034489() {
    // Constant blocking of 0.1 s at rate 10: rho = 1; backlog 3: 4 pending places, K = 5.
    let exact = md1k(10.0, 0.1, 5);
    assert_close("oracle", exact, 0.1034489, 5e-8);
    let m = mgck(10.0, &constant(0.1), 1, 5, 2000.0, 10.0);
    let reps = replications(&m, 14, 20);
    assert_covers("M/D/1/5 refusal probability", &refusal(&reps), exact, 0.055);
}

/// M/M/5 with a = 4 and a queue far larger than it ever gets: Erlang C.
fn erlang_c_model() -> Model {
    model(
        r#"
name = "M/M/5, unlimited queue"
[load]
rate = 40.0
duration = 4500.0
[listener]
backlog = 1000000
somaxconn = 1000000
[pool]
process_limit = 5
[work]
blocking = { dist = "exponential", mean = 0.1 }
[sim]
warmup = 20.0
"#,
    )
}

/// P(T > t) for the time in system of M/M/c when c mu - lambda = mu (a = c - 1): the
/// wait is 0 with probability 1 - C and else exponential with rate c mu - lambda = mu,
/// so T is the blocking time or a gamma(2, mu): P(T > t) = e^(-mu t) (1 + C mu t).
fn erlang_c_latency_quantile(q: f64, erlang: f64, mu: f64) -> f64 {
    let tail = |t: f64| (-mu * t).exp() * (1.0 + erlang * mu * t);
    let (mut lo, mut hi) = (0.0, 100.0 / mu);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if tail(mid) > 1.0 - q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[test]
fn a_huge_backlog_gives_erlang_c_waits() {
    // c = 5, lambda = 40, mu = 10: a = 4, rho = 0.8, and a queue far larger than it
    // ever gets. Nothing is refused; the mean wait is W_q = C / (c mu - lambda).
    let (c, lambda, mu) = (5, 40.0, 10.0);
    let erlang = erlang_c(c, lambda / mu);
    assert_close("oracle", erlang, 0.5541126, 5e-8);
    let w_q = erlang_c_mean_wait(c, lambda, mu);
    let reps = replications(&erlang_c_model(), 15, 24);
    assert!(reps.iter().all(|r| r.refused == 0 && r.offered > 50_000));
    let s: Vec<_> = reps.iter().map(summary).collect();
    let wait: Vec<f64> = s.iter().map(|s| s.queue_wait_s.mean).collect();
    assert_covers("Erlang C mean wait", &wait, w_q, 0.055);
    // Little's law for the queue: L_q = lambda W_q = C rho / (1 - rho).
    let lq: Vec<f64> = s.iter().map(|s| s.queue_length.mean).collect();
    assert_covers("Erlang C mean queue length", &lq, lambda * w_q, 0.055);
    // P(wait > 0) = C shows in the latency's distribution: its median and 90th
    // percentile move by about 2.5 % and 1.2 % when C moves by 5 %.
    for (q, pick, room) in [(0.5, 0, 0.02), (0.9, 1, 0.02)] {
        let exact = erlang_c_latency_quantile(q, erlang, mu);
        let xs: Vec<f64> = s
            .iter()
            .map(|s| [s.latency_s.p50, s.latency_s.p90][pick])
            .collect();
        assert_covers(&format!("M/M/5 latency quantile {q}"), &xs, exact, room);
    }
}

/// M/G/c/c: c processes kept ready, and the master accepts and closes at once when
/// all are busy (drop_timeout = 0).
fn loss_system(rate: f64, blocking: &str, c: u32, duration: f64) -> Model {
    model(&format!(
        r#"
name = "M/G/{c}/{c}"
[load]
rate = {rate:?}
duration = {duration:?}
[listener]
backlog = 128
[pool]
process_limit = {c}
process_min_avail = {c}
idle_kill = 0
[master]
mode = "on-demand"
drop_timeout = 0
[work]
blocking = {blocking}
[sim]
warmup = 10.0
"#
    ))
}

#[test]
fn drop_timeout_zero_gives_erlang_b_for_any_blocking_distribution() {
    // Erlang B is insensitive: every blocking time with mean 1 s gives B(c, a).
    let b = erlang_b(5, 3.0);
    assert_close("oracle", b, 0.1100543, 5e-8);
    let cases = [
        r#"{ dist = "exponential", mean = 1.0 }"#,
        r#"{ dist = "constant", value = 1.0 }"#,
        r#"{ dist = "lognormal", mean = 1.0, sd = 2.0 }"#,
        r#"{ dist = "gamma", mean = 1.0, sd = 0.5 }"#,
        r#"{ dist = "uniform", low = 0.5, high = 1.5 }"#,
        r#"{ dist = "empirical", values = [0.25, 0.5, 2.25] }"#,
    ];
    for (i, blocking) in cases.iter().enumerate() {
        let reps = replications(&loss_system(3.0, blocking, 5, 6000.0), 20 + i as u64, 20);
        assert!(
            reps.iter().all(|r| r.refused == 0),
            "only drops: {blocking}"
        );
        assert_covers(
            &format!("M/G/5/5 with {blocking}"),
            &refusal(&reps),
            b,
            0.07,
        );
    }
    let b = erlang_b(10, 5.0);
    assert_close("oracle", b, 0.0183846, 5e-8);
    let m = loss_system(
        5.0,
        r#"{ dist = "gamma", mean = 1.0, sd = 0.5 }"#,
        10,
        12000.0,
    );
    assert_covers("M/G/10/10", &refusal(&replications(&m, 30, 20)), b, 0.075);
}

#[test]
fn busy_processes_average_the_carried_load_a_times_one_minus_pk() {
    // M/M/c/K: the exact mean number of busy processes is a (1 - p_K).
    let exact = mmck(18.0, 4.0, 5, 12);
    let m = mgck(18.0, &exponential(0.25), 5, 12, 1000.0, 10.0);
    let reps = replications(&m, 16, 20);
    let busy: Vec<f64> = reps
        .iter()
        .map(|r| summary(r).processes.busy_mean)
        .collect();
    assert_close("a (1 - p_K)", exact.mean_busy, 4.5 * (1.0 - 0.054289), 1e-5);
    assert_covers("M/M/5/12 busy processes", &busy, exact.mean_busy, 0.012);

    // Any M/G/c/K: lognormal blocking has no closed form for p_K, but the invariant
    // still ties the busy mean to the refusal probability of the same run:
    // busy_mean - a (1 - p) averages 0 (and a wrong accounting of busy time would
    // show as an offset of a few percent of a).
    let a = 4.5;
    let lognormal = r#"{ dist = "lognormal", mean = 0.25, sd = 0.5 }"#;
    let m = mgck(18.0, lognormal, 5, 12, 4000.0, 10.0);
    let reps = replications(&m, 17, 20);
    let gap: Vec<f64> = reps
        .iter()
        .map(|r| summary(r).processes.busy_mean - a * (1.0 - r.refusal_probability()))
        .collect();
    let i = Interval::of(&gap);
    assert!(
        i.contains(0.0) && i.half < 0.01 * a,
        "M/G/5/12: busy_mean - a (1 - p) = {} ± {}",
        i.mean,
        i.half
    );
}

#[test]
fn littles_law_holds_in_every_replication_up_to_the_window_edge() {
    // With no warm-up every connection is counted from its arrival to its reply, and
    // the time average runs over the arrival window [0, duration]: the number in the
    // system equals throughput x mean latency, whatever the distributions, master or
    // client_limit, except for the connections still in the system when the window
    // ends, whose time after it is in W but not in L. With windows of 1000 to 2000 s
    // and latencies under a second that edge is well under 1 %; a model that lost or
    // double-counted connections would be off by far more.
    let cases = [
        mgck(18.0, &exponential(0.25), 5, 12, 2000.0, 0.0),
        mgck(
            3.0,
            r#"{ dist = "lognormal", mean = 0.5, sd = 1.0 }"#,
            2,
            6,
            2000.0,
            0.0,
        ),
        model(
            r#"
name = "on-demand, two connections a process, a hold"
[load]
rate = 20.0
duration = 2000.0
[listener]
backlog = 20
[pool]
process_limit = 4
client_limit = 2
idle_kill = 0.5
[master]
mode = "on-demand"
startup = { dist = "uniform", low = 0.0, high = 0.2 }
[work]
blocking = { dist = "gamma", mean = 0.1, sd = 0.05 }
hold = { dist = "exponential", mean = 0.3 }
"#,
        ),
        model(
            r#"
name = "per-connection with fork time"
[load]
arrival = "constant"
rate = 30.0
duration = 1000.0
[listener]
backlog = 5
[pool]
process_limit = 8
service_count = 1
[master]
mode = "per-connection"
fork_time = { dist = "constant", value = 0.01 }
startup = { dist = "exponential", mean = 0.05 }
[work]
blocking = { dist = "exponential", mean = 0.2 }
"#,
        ),
    ];
    for (i, m) in cases.iter().enumerate() {
        for r in replications(m, 18, 4) {
            let s = summary(&r);
            assert!(s.served > 100, "case {i}: too few served ({})", s.served);
            let little = s.throughput_per_s * s.latency_s.mean;
            assert!(
                (s.in_system_mean - little).abs() <= 0.01 * little,
                "case {i} ({}): L = {} but throughput x W = {} x {} = {little}",
                m.name,
                s.in_system_mean,
                s.throughput_per_s,
                s.latency_s.mean
            );
        }
    }
}

#[test]
fn busy_processes_average_the_offered_load_over_the_arrival_window_even_with_long_sessions() {
    // Heavy-tailed sessions (lognormal, mean 10 s, sd 30 s) against a pool large enough
    // to refuse nothing: the busy processes must average a = lambda E[S] = 50 over the
    // arrival window. Averaged over the whole run instead, the drain after the last
    // arrival (sessions of up to minutes) would pull it far below.
    let m = model(
        r#"
name = "long sessions"
[load]
rate = 5.0
duration = 3000.0
[listener]
backlog = 64
[pool]
process_limit = 400
[master]
mode = "on-demand"
[work]
blocking = { dist = "lognormal", mean = 10.0, sd = 30.0 }
[sim]
warmup = 300.0
"#,
    );
    let reps = replications(&m, 5, 30);
    assert!(reps.iter().all(|r| r.refused + r.dropped == 0));
    let busy: Vec<f64> = reps
        .iter()
        .map(|r| summary(r).processes.busy_mean)
        .collect();
    assert_covers("busy processes, long sessions", &busy, 50.0, 0.05);
}

#[test]
fn a_duration_run_that_empties_early_is_still_observed_until_its_duration() {
    // Light load (0.1 connections a second for 100 s): the last connection is often
    // served well before t = 100. Throughput must still be served / 100 s, so that it
    // averages the offered rate, not served / (time of the last reply).
    let m = model(
        r#"
name = "light load"
[load]
rate = 0.1
duration = 100.0
[listener]
backlog = 8
[pool]
process_limit = 1
[master]
mode = "on-demand"
[work]
blocking = { dist = "constant", value = 0.5 }
"#,
    );
    let reps = replications(&m, 3, 1000);
    let throughput: Vec<f64> = reps.iter().map(|r| summary(r).throughput_per_s).collect();
    let offered: f64 = reps.iter().map(|r| r.offered as f64).sum::<f64>() / (1000.0 * 100.0);
    assert!(reps.iter().all(|r| r.refused + r.dropped == 0));
    assert_covers("throughput of a light duration run", &throughput, 0.1, 0.05);
    assert!((offered - 0.1).abs() < 0.005, "offered {offered}");
}
