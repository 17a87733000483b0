//! Constant arrivals and constant times: no randomness, so every count and latency is
//! computed by hand in the test's comment and asserted exactly.
//!
//! Times are chosen as binary fractions (1/1024, 0.25, 1.125, ...) so that the
//! simulator's floating-point sums are exact, and so that no two events fall on the
//! same instant unless the test says so (the order of simultaneous events is the
//! order in which they were scheduled, which is an artefact, not a rule).
//! Constant arrivals send the n-th connection at n / rate (vegeta's pacer).

use crate::common::run_once;
use eagain::stats::Summary;

/// A spacing for bursts: connections 1/1024 s apart arrive "at once" for processes
/// that block for seconds, and every sum stays exact.
const DELTA: f64 = 1.0 / 1024.0;

/// A model with `[load]` constant arrivals at `rate` for `n` connections, and the
/// other tables as given (each a TOML fragment without its header).
fn constant_load(rate: f64, n: u64, load: &str, rest: &str) -> String {
    format!(
        r#"
name = "deterministic"
[load]
arrival = "constant"
rate = {rate:?}
connections = {n}
{load}
{rest}
"#
    )
}

fn counts(s: &Summary) -> [u64; 5] {
    [s.offered, s.served, s.refused, s.dropped, s.timed_out]
}

#[test]
fn one_process_with_constant_blocking_serves_and_refuses_as_computed_by_hand() {
    // Rate 4/s (arrivals at 0.25, 0.5, ..., 2.25), 9 connections, one prefork process,
    // blocking 1.125 s, backlog 1: the queue holds 2.
    //   c1 0.25  accepted at once, reply at 1.375           latency 1.125
    //   c2 0.5   queued [c2]
    //   c3 0.75  queued [c2 c3]
    //   c4 1.0   refused (2 pending)      c5 1.25 refused
    //   1.375    c1 done, c2 accepted (reply 2.5)           latency 2.0
    //   c6 1.5   queued [c3 c6]
    //   c7..c9 (1.75, 2.0, 2.25) refused
    //   2.5      c3 accepted (reply 3.625)                  latency 2.875
    //   3.625    c6 accepted (reply 4.75)                   latency 3.25
    // Served 4, refused 5. Queue waits 0, 0.875, 1.75, 2.125 (mean 1.1875). The queue
    // holds 1 on [0.5, 0.75), 2 on [0.75, 1.375), 1 on [1.375, 1.5), 2 on [1.5, 2.5),
    // 1 on [2.5, 3.625): area 4.75 over a run that ends at 4.75, mean 1.
    let s = run_once(&constant_load(
        4.0,
        9,
        "",
        r#"
[listener]
backlog = 1
[pool]
process_limit = 1
[work]
blocking = { dist = "constant", value = 1.125 }
"#,
    ));
    assert_eq!(counts(&s), [9, 4, 5, 0, 0]);
    assert_eq!(s.refusal_probability.mean, 5.0 / 9.0);
    assert_eq!(s.latency_s.mean, (1.125 + 2.0 + 2.875 + 3.25) / 4.0);
    assert_eq!(s.latency_s.max, 3.25);
    // p50 of {1.125, 2, 2.875, 3.25} is 2 up to the histogram's 0.1 % resolution.
    assert!((s.latency_s.p50 - 2.0).abs() <= 2.0e-3, "{:?}", s.latency_s);
    assert_eq!(s.queue_wait_s.mean, 1.1875);
    assert_eq!(s.queue_length.max, 2);
    assert_eq!(s.queue_length.mean, 1.0);
    assert_eq!(s.processes.max, 1);
    assert_eq!(s.processes.forks, 0);
    // Busy from 0.25 to 4.75 of a 4.75 s run.
    assert_eq!(s.processes.busy_mean, 4.5 / 4.75);
}

#[test]
fn a_constant_latency_is_reported_exactly_at_every_percentile() {
    // One connection a second, 0.375 s of blocking: nobody waits, every latency is
    // 0.375 exactly, and so is every percentile.
    let s = run_once(&constant_load(
        1.0,
        7,
        "",
        r#"
[listener]
backlog = 4
[pool]
process_limit = 1
[work]
blocking = { dist = "constant", value = 0.375 }
"#,
    ));
    assert_eq!(counts(&s), [7, 7, 0, 0, 0]);
    let l = s.latency_s;
    for x in [l.mean, l.p50, l.p90, l.p99, l.p999, l.max] {
        assert_eq!(x, 0.375, "{l:?}");
    }
    assert_eq!(s.queue_wait_s.mean, 0.0);
}

/// A burst of `n` connections 1/1024 s apart against `c` prefork processes blocking
/// for 10 s: nothing finishes during the burst.
fn burst(n: u64, c: u32, listener: &str) -> Summary {
    run_once(&constant_load(
        1024.0,
        n,
        "connect_timeout = 0.5",
        &format!(
            r#"
[listener]
{listener}
[pool]
process_limit = {c}
[work]
blocking = {{ dist = "constant", value = 10.0 }}
"#
        ),
    ))
}

#[test]
fn a_burst_faster_than_the_blocking_serves_the_processes_plus_backlog_plus_one() {
    // docs/oracles.md#deterministic-burst: one process, pending capacity b, n
    // connections sent faster than 1/D: exactly 1 + b are served. The pending capacity
    // is min(backlog, somaxconn) + 1 (the kernel's test is `queue length > backlog`;
    // semantics: unix-capacity, tcp-capacity: listen(0) holds 1, listen(5) holds 6,
    // listen(128) with somaxconn 128 holds 129), so with backlog B, 1 + (B + 1) are
    // served; with c processes, c + B + 1.
    for (backlog, somaxconn, c, served) in [
        (0, 4096, 1, 2),
        (1, 4096, 1, 3),
        (5, 4096, 1, 7),
        (2048, 128, 1, 130),
        (128, 4096, 1, 130),
        (100, 16, 3, 20),
    ] {
        for kind in ["unix", "tcp"] {
            // tcp: the dropped SYN would be retransmitted after 1 s, but
            // connect_timeout = 0.5 ends it first, as refused.
            let s = burst(
                300,
                c,
                &format!("kind = \"{kind}\"\nbacklog = {backlog}\nsomaxconn = {somaxconn}"),
            );
            assert_eq!(
                counts(&s),
                [300, served, 300 - served, 0, 0],
                "{kind} backlog {backlog} somaxconn {somaxconn}, {c} processes"
            );
            assert_eq!(s.queue_length.max, served - u64::from(c));
        }
    }
}

/// The tcp scenario whose last connection's latency shows the retransmission that got
/// it in: two prefork processes blocking `d` seconds, backlog 0 (one pending place),
/// four connections 1/1024 s apart, and a warm-up that leaves only the fourth in the
/// statistics.
///   c1 (at 1 delta) and c2 (2 delta) are accepted at once; c3 (3 delta) is queued;
///   c4 (4 delta) finds the queue full: its SYN is dropped.
///   At delta + d process 1 takes c3 and the queue has room; at 2 delta + d process 2
///   is idle. c4's first retransmission after that gets in and is accepted at once:
///   its latency is (that retransmission's offset) + d.
fn tcp_retransmission(d: f64, schedule: &str, load: &str) -> Summary {
    run_once(&constant_load(
        1024.0,
        4,
        load,
        &format!(
            r#"
[listener]
kind = "tcp"
backlog = 0
syn_schedule = "{schedule}"
[pool]
process_limit = 2
[work]
blocking = {{ dist = "constant", value = {d:?} }}
[sim]
warmup = {warmup:?}
"#,
            warmup = 3.5 * DELTA
        ),
    ))
}

#[test]
fn a_dropped_syn_gets_in_at_the_first_retransmission_after_room_appears() {
    // SPEC 1.2 (semantics: tcp-syn-retries): retransmissions 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s after
    // the first SYN on Linux >= 6.5, giving up at 131 s; 1, 3, 7, 15, 31, 63 s before,
    // giving up at 127 s. Room appears just before each retransmission (d = s - 0.5),
    // so the connection gets in exactly at s: latency s + d, the wait for the
    // retransmission included.
    let schedules = [
        (
            "linux-6.5",
            &[1.0, 2.0, 3.0, 4.0, 5.0, 7.0, 11.0, 19.0, 35.0, 67.0][..],
        ),
        ("linux-legacy", &[1.0, 3.0, 7.0, 15.0, 31.0, 63.0][..]),
    ];
    for (name, times) in schedules {
        for &s in times {
            let d = s - 0.5;
            let r = tcp_retransmission(d, name, "");
            assert_eq!(counts(&r), [1, 1, 0, 0, 0], "{name}, room at {d}");
            assert_eq!(r.latency_s.max, s + d, "{name}: retransmission at {s}");
            assert_eq!(r.queue_wait_s.mean, 0.0, "{name}: accepted on arrival");
        }
        // Room only after the last retransmission: the connect gives up, refused.
        let last = times[times.len() - 1];
        let r = tcp_retransmission(last + 0.5, name, "");
        assert_eq!(
            counts(&r),
            [1, 0, 1, 0, 0],
            "{name}: no retransmission left"
        );
    }
    // Room between two retransmissions: the later one gets in (6.5: 7, legacy: 15).
    let r = tcp_retransmission(6.0, "linux-6.5", "");
    assert_eq!(r.latency_s.max, 7.0 + 6.0);
    let r = tcp_retransmission(12.0, "linux-legacy", "");
    assert_eq!(r.latency_s.max, 15.0 + 12.0);
}

#[test]
fn connect_timeout_ends_a_retransmitting_connection_as_refused() {
    // Room appears at 10.5 s; the next retransmission is at 11 s (linux-6.5).
    let r = tcp_retransmission(10.5, "linux-6.5", "");
    assert_eq!(r.latency_s.max, 11.0 + 10.5);
    // nginx's proxy_connect_timeout of 10.75 s ends the connect before it: refused
    // (nginx answers 504), not timed out, since the client itself has no timeout.
    let r = tcp_retransmission(10.5, "linux-6.5", "connect_timeout = 10.75");
    assert_eq!(counts(&r), [1, 0, 1, 0, 0]);
    // A timeout after the retransmission changes nothing.
    let r = tcp_retransmission(10.5, "linux-6.5", "connect_timeout = 11.25");
    assert_eq!(counts(&r), [1, 1, 0, 0, 0]);
    assert_eq!(r.latency_s.max, 21.5);
    // The client's own timeout (10.75 s) before the retransmission ends the connect
    // the same way: it never got into the queue, so it is refused, not timed out.
    let r = tcp_retransmission(10.5, "linux-6.5", "timeout = 10.75");
    assert_eq!(counts(&r), [1, 0, 1, 0, 0]);
}

#[test]
fn the_on_demand_master_starts_the_kth_process_at_k_startups() {
    // Semantics: dovecot-on-demand-fork. Dovecot <= 2.4.1 forks one process, and forks again only once it
    // has started and accepted. Five connections arrive at once (1/1024 s apart), no
    // process exists, startup is 0.5 s, blocking 10 s (nothing finishes meanwhile):
    // process k is forked at delta + (k - 1) 0.5 and ready at delta + k 0.5, when it
    // accepts connection k (sent at k delta). Latency of connection k:
    // k 0.5 + 10 - (k - 1) delta.
    let s = run_once(&constant_load(
        1024.0,
        5,
        "",
        r#"
[listener]
backlog = 100
[pool]
process_limit = 50
[master]
mode = "on-demand"
startup = { dist = "constant", value = 0.5 }
[work]
blocking = { dist = "constant", value = 10.0 }
"#,
    ));
    assert_eq!(counts(&s), [5, 5, 0, 0, 0]);
    assert_eq!(s.processes.forks, 5);
    assert_eq!(s.processes.max, 5);
    let latency = |k: f64| k * 0.5 + 10.0 - (k - 1.0) * DELTA;
    assert_eq!(s.latency_s.max, latency(5.0));
    let mean = (1..=5).map(|k| latency(f64::from(k))).sum::<f64>() / 5.0;
    assert!((s.latency_s.mean - mean).abs() < 1e-12, "{:?}", s.latency_s);
    // Connection k waited from k delta to delta + k 0.5 in the kernel queue.
    let wait = (1..=5)
        .map(|k| f64::from(k) * (0.5 - DELTA) + DELTA)
        .sum::<f64>()
        / 5.0;
    assert!(
        (s.queue_wait_s.mean - wait).abs() < 1e-12,
        "{:?}",
        s.queue_wait_s
    );
}

#[test]
fn drop_timeout_drops_the_queue_then_every_arrival_until_a_slot_frees() {
    // Semantics: dovecot-drop-timer. On-demand, process_limit 1, blocking 20.25 s, drop_timeout 10.5 s,
    // backlog 3 (4 pending places), one connection a second, 25 connections.
    //   1      c1: the master forks (startup 0), the process accepts c1 (reply 21.25).
    //   2      c2 queued: process_limit reached, no free slot: the drop timer starts.
    //   3..5   c3..c5 queued (4 pending).  6..12  c6..c12 refused (EAGAIN).
    //   12.5   the timer fires: c2..c5 accepted and closed (4 dropped); from now on
    //          every new connection is dropped: c13..c21 (9 dropped).
    //   21.25  c1's reply: a slot frees, the master stops dropping.
    //   22     c22 accepted at once (reply 42.25).
    //   23     c23 queued: the timer starts again (fires at 33.5); c24, c25 queued.
    //   33.5   c23..c25 dropped (3).
    // Served 2 (latency 20.25 each), refused 7, dropped 16.
    let s = run_once(&constant_load(
        1.0,
        25,
        "",
        r#"
[listener]
backlog = 3
[pool]
process_limit = 1
[master]
mode = "on-demand"
drop_timeout = 10.5
[work]
blocking = { dist = "constant", value = 20.25 }
"#,
    ));
    assert_eq!(counts(&s), [25, 2, 7, 16, 0]);
    assert_eq!(s.refusal_probability.mean, 23.0 / 25.0);
    assert_eq!(s.latency_s.p50, 20.25);
    assert_eq!(s.latency_s.max, 20.25);
    assert_eq!(s.processes.forks, 1);
    assert_eq!(s.queue_length.max, 4);
}

#[test]
fn prefork_replaces_a_process_after_service_count_with_respawn_delay_plus_startup() {
    // gunicorn max_requests = 1 (service_count 1): a worker exits after one
    // connection and the arbiter replaces it after respawn_delay (0.25 s) plus its
    // boot (startup 0.5 s). One worker, blocking 0.5 s, one connection a second:
    //   c1 at 1: accepted, reply 1.5 (latency 0.5); the worker exits; fork at 1.75,
    //            ready at 2.25.
    //   c2 at 2: queued; accepted at 2.25, reply 2.75 (latency 0.75); fork at 3.0,
    //            ready at 3.5.
    //   c3 at 3: queued; accepted at 3.5, reply 4.0 (latency 1.0).
    // The run ends with c3's reply, before the next respawn: 2 forks.
    let s = run_once(&constant_load(
        1.0,
        3,
        "",
        r#"
[listener]
backlog = 10
[pool]
process_limit = 1
service_count = 1
[master]
mode = "prefork"
respawn_delay = { dist = "constant", value = 0.25 }
startup = { dist = "constant", value = 0.5 }
[work]
blocking = { dist = "constant", value = 0.5 }
"#,
    ));
    assert_eq!(counts(&s), [3, 3, 0, 0, 0]);
    assert_eq!(s.latency_s.mean, 0.75);
    assert_eq!(s.latency_s.max, 1.0);
    assert_eq!(s.processes.forks, 2);
    assert_eq!(s.processes.max, 1);
    assert_eq!(s.queue_wait_s.mean, (0.0 + 0.25 + 0.5) / 3.0);
}

#[test]
fn a_client_that_times_out_in_the_queue_still_costs_its_process_the_work() {
    // SPEC 1.7: one process, blocking 2.25 s, client timeout 3 s, one connection a
    // second:
    //   c1 at 1: reply at 3.25, latency 2.25: served.
    //   c2 at 2: queued, accepted at 3.25, reply at 5.5: its client gave up at 5
    //            (timed out); the process still did its 2.25 s of work.
    //   c3 at 3: queued until 5.5 (its client gave up at 6 while it was being served),
    //            reply at 7.75: timed out, 2.25 s wasted.
    let s = run_once(&constant_load(
        1.0,
        3,
        "timeout = 3.0",
        r#"
[listener]
backlog = 10
[pool]
process_limit = 1
[work]
blocking = { dist = "constant", value = 2.25 }
"#,
    ));
    assert_eq!(counts(&s), [3, 1, 0, 0, 2]);
    assert_eq!(s.wasted_s, 4.5);
    assert_eq!(s.latency_s.max, 2.25);
    assert_eq!(s.refusal_probability.mean, 0.0);
    assert_eq!(s.failure_probability.mean, 2.0 / 3.0);
    // The process was busy the whole time from 1 to 7.75, wasted work included.
    assert_eq!(s.processes.busy_mean, 6.75 / 7.75);
}

/// The unix retry scenario: two processes blocking `d` seconds, backlog 0, four
/// connections 1/1024 s apart, only the fourth counted (as for tcp above). c4 meets
/// EAGAIN at 4 delta and retries every 0.125 s while less than retry_for = 0.5 s has
/// passed since its first try: at + 0.125, + 0.25, + 0.375 (a retry at + 0.5 would
/// not be before 0.5 s), then gives up. Room (and an idle process) appears at about d.
fn unix_retry(d: f64, on_refused: &str) -> Summary {
    run_once(&constant_load(
        1024.0,
        4,
        &format!(
            "on_refused = \"{on_refused}\"\nretry_for = 0.5\n\
             retry_pause = {{ dist = \"constant\", value = 0.125 }}"
        ),
        &format!(
            r#"
[listener]
backlog = 0
[pool]
process_limit = 2
[work]
blocking = {{ dist = "constant", value = {d:?} }}
[sim]
warmup = {warmup:?}
"#,
            warmup = 3.5 * DELTA
        ),
    ))
}

#[test]
fn a_unix_retry_that_finds_room_is_served_and_retries_stop_after_retry_for() {
    // SPEC 1.2 (semantics: dovecot-login-retry): room appears just before the k-th retry at k 0.125 s:
    // that retry gets in and is accepted at once, latency k 0.125 + d.
    for k in 1..=3 {
        let at = f64::from(k) * 0.125;
        let d = at - 0.0625;
        let s = unix_retry(d, "retry");
        assert_eq!(counts(&s), [1, 1, 0, 0, 0], "room at {d}");
        assert_eq!(s.latency_s.max, at + d, "retry {k}");
    }
    // Room just before 0.5 s: there is no fourth retry, the connection is refused.
    let s = unix_retry(0.4375, "retry");
    assert_eq!(counts(&s), [1, 0, 1, 0, 0]);
    // Exactly three retries were made: three more events than failing at once.
    let fail = unix_retry(0.4375, "fail");
    assert_eq!(counts(&fail), [1, 0, 1, 0, 0]);
    assert_eq!(s.events - fail.events, 3, "one event per retry");
}

#[test]
fn the_per_connection_master_accepts_one_connection_per_fork_time() {
    // Dovecot 2.4.2+ (semantics: dovecot-master-accept): the master accepts each queued connection and
    // forks a process for it; its forks are serialised by fork_time (0.25 s), and the
    // process serves after startup (0.5 s). Four connections at once (k delta):
    // connection k is accepted by the master at delta + (k - 1) 0.25, its process is
    // ready at delta + k 0.25 + 0.5 and replies 10 s later.
    let s = run_once(&constant_load(
        1024.0,
        4,
        "",
        r#"
[listener]
backlog = 100
[pool]
process_limit = 50
[master]
mode = "per-connection"
fork_time = { dist = "constant", value = 0.25 }
startup = { dist = "constant", value = 0.5 }
[work]
blocking = { dist = "constant", value = 10.0 }
"#,
    ));
    assert_eq!(counts(&s), [4, 4, 0, 0, 0]);
    assert_eq!(s.processes.forks, 4);
    assert_eq!(s.processes.max, 4);
    let latency = |k: f64| k * 0.25 + 0.5 + 10.0 - (k - 1.0) * DELTA;
    assert_eq!(s.latency_s.max, latency(4.0));
    let mean = (1..=4).map(|k| latency(f64::from(k))).sum::<f64>() / 4.0;
    assert!((s.latency_s.mean - mean).abs() < 1e-12, "{:?}", s.latency_s);
    // The kernel-queue wait ends when the master accepts: (k - 1)(0.25 - delta).
    let wait = (1..=4)
        .map(|k| f64::from(k - 1) * (0.25 - DELTA))
        .sum::<f64>()
        / 4.0;
    assert!(
        (s.queue_wait_s.mean - wait).abs() < 1e-12,
        "{:?}",
        s.queue_wait_s
    );
}

/// On-demand (Dovecot) with process_min_avail `m`, `limit` processes at most, forks
/// taking `fork_time` each and no startup, blocking 100 s, and a burst of `n`
/// connections 1/1024 s apart.
fn min_avail_burst(m: u32, limit: u32, fork_time: f64, startup: f64, n: u64) -> Summary {
    run_once(&constant_load(
        1024.0,
        n,
        "",
        &format!(
            r#"
[listener]
backlog = 100
[pool]
process_limit = {limit}
process_min_avail = {m}
[master]
mode = "on-demand"
fork_time = {{ dist = "constant", value = {fork_time:?} }}
startup = {{ dist = "constant", value = {startup:?} }}
[work]
blocking = {{ dist = "constant", value = 100.0 }}
"#
        ),
    ))
}

#[test]
fn process_min_avail_preforks_a_replacement_for_each_process_that_becomes_busy() {
    // Semantics: dovecot-min-avail. Three idle processes exist at 0; forks take 0.25 s of the
    // master's time, startup 0.5 s. Five connections at once (k delta):
    //   c1 takes a process: 2 left available; the 0-ms prefork timer forks P4
    //      (fork done at delta + 0.25, ready at delta + 0.75).
    //   c2, c3 take the other two; P4 counts as available (Dovecot counts a child as
    //      available from its fork), so the timer, due when the master is free at
    //      delta + 0.25, forks 2: P5 ready at delta + 1.0, P6 at delta + 1.25.
    //   c4, c5 wait in the kernel queue: no fork on demand, since P4..P6 count as
    //      available. P4 takes c4 at delta + 0.75 (P7 is forked), P5 takes c5 at
    //      delta + 1.0 (P8 is forked).
    // Latencies: 100 for c1..c3, delta + 0.75 + 100 - 4 delta, delta + 1 + 100 - 5 delta.
    let s = min_avail_burst(3, 10, 0.25, 0.5, 5);
    assert_eq!(counts(&s), [5, 5, 0, 0, 0]);
    assert_eq!(s.processes.forks, 5);
    assert_eq!(s.processes.max, 8);
    assert_eq!(s.latency_s.max, 101.0 - 4.0 * DELTA);
    let mean = (300.0 + (100.75 - 3.0 * DELTA) + (101.0 - 4.0 * DELTA)) / 5.0;
    assert!((s.latency_s.mean - mean).abs() < 1e-12, "{:?}", s.latency_s);

    // Without startup or fork time the replacement is ready before the next
    // connection: nobody waits, and the pool ends at m + n processes.
    let s = min_avail_burst(25, 60, 0.0, 0.0, 30);
    assert_eq!(counts(&s), [30, 30, 0, 0, 0]);
    assert_eq!(s.latency_s.max, 100.0);
    assert_eq!(s.processes.forks, 30);
    assert_eq!(s.processes.max, 55);
    // process_limit caps the preforks: 25 idle + 5 forks, then the last 25
    // connections wait for a process to finish (100 s).
    let s = min_avail_burst(25, 30, 0.0, 0.0, 30);
    assert_eq!(counts(&s), [30, 30, 0, 0, 0]);
    assert_eq!(s.processes.forks, 5);
    assert_eq!(s.processes.max, 30);
    assert_eq!(s.latency_s.p50, 100.0);
}

#[test]
fn process_min_avail_refills_a_drained_pool_in_runs_of_forks() {
    // Semantics: dovecot-min-avail. 25 idle processes, forks serialised by 0.125 s of master time, no
    // startup, 30 connections at once. c1 triggers the prefork timer (one fork, P26,
    // ready at delta + 0.125); c2..c25 take the other 24 idle processes while the
    // master is busy. c26..c30 wait: P26 takes c26 at delta + 0.125; each time the
    // last available process is taken the master forks one at once (P27..P31, one per
    // 0.125 s), and the timer runs are skipped while those forks happen (the "master
    // busy" test). Then the timer refills the 24 missing processes, at most 10 a run.
    // Connection k (26..30) is accepted at delta + (k - 25) 0.125: latency
    // 100 + (k - 25) 0.125 - (k - 1) delta. Forks: 6 + 24 = 30; processes 25 + 30.
    // (The cap of 10 a run changes no time here: forks are serialised by fork_time
    // whether they come from one run or three.)
    let s = min_avail_burst(25, 100, 0.125, 0.0, 30);
    assert_eq!(counts(&s), [30, 30, 0, 0, 0]);
    assert_eq!(s.processes.forks, 30);
    assert_eq!(s.processes.max, 55);
    let latency = |k: u32| 100.0 + f64::from(k - 25) * 0.125 - f64::from(k - 1) * DELTA;
    assert_eq!(s.latency_s.max, latency(30));
    let mean = (25.0 * 100.0 + (26..=30).map(latency).sum::<f64>()) / 30.0;
    assert!((s.latency_s.mean - mean).abs() < 1e-12, "{:?}", s.latency_s);
}

/// On-demand, one connection every 16 s, blocking 10.5 s, no startup.
fn idle_kill_run(min_avail: u32, idle_kill: f64) -> Summary {
    run_once(&constant_load(
        0.0625,
        4,
        "",
        &format!(
            r#"
[listener]
backlog = 10
[pool]
process_limit = 10
process_min_avail = {min_avail}
idle_kill = {idle_kill:?}
[master]
mode = "on-demand"
[work]
blocking = {{ dist = "constant", value = 10.5 }}
"#
        ),
    ))
}

#[test]
fn idle_kill_ends_idle_processes_beyond_process_min_avail() {
    // Connections at 16, 32, 48, 64, each done 10.5 s later. With idle_kill 5 s the
    // process is idle from 26.5 and ended at 31.5, so every connection needs a new
    // fork; with 60 s it is still there at 32 and serves everyone.
    let s = idle_kill_run(0, 5.0);
    assert_eq!(counts(&s), [4, 4, 0, 0, 0]);
    assert_eq!((s.processes.forks, s.processes.max), (4, 1));
    assert_eq!(s.latency_s.max, 10.5);
    let s = idle_kill_run(0, 60.0);
    assert_eq!((s.processes.forks, s.processes.max), (1, 1));
    // process_min_avail 1: one idle process exists at 0. Each connection takes an
    // idle process and the master forks a new one to keep one available; after
    // 5 s, of the two idle ones the one beyond process_min_avail is ended. So each
    // connection costs a fork, and never more than 2 processes exist.
    let s = idle_kill_run(1, 5.0);
    assert_eq!(counts(&s), [4, 4, 0, 0, 0]);
    assert_eq!((s.processes.forks, s.processes.max), (4, 2));
    assert_eq!(s.latency_s.max, 10.5);
    // With 60 s nobody is ended: the first connection's fork is the only one.
    let s = idle_kill_run(1, 60.0);
    assert_eq!((s.processes.forks, s.processes.max), (1, 2));
    // idle_kill = 0 means never.
    let s = idle_kill_run(0, 0.0);
    assert_eq!((s.processes.forks, s.processes.max), (1, 1));
}

#[test]
fn a_process_with_two_slots_counts_as_one_busy_process() {
    // client_limit 2, blocking 0.5 s, a connection every 0.5 s: each arrives the
    // instant the previous one's work ends, while that connection still holds its
    // slot, so the process takes it into its second slot and works without a break
    // from 0.5 to 3.5 (six connections), and is one busy process all that time.
    let s = run_once(&constant_load(
        2.0,
        6,
        "",
        r#"
[listener]
backlog = 4
[pool]
process_limit = 1
client_limit = 2
[work]
blocking = { dist = "constant", value = 0.5 }
"#,
    ));
    assert_eq!(counts(&s), [6, 6, 0, 0, 0]);
    assert_eq!(s.latency_s.max, 0.5);
    assert_eq!(s.latency_s.p50, 0.5);
    assert_eq!(s.processes.busy_mean, 3.0 / 3.5);
    assert_eq!(s.processes.utilisation, 3.0 / 3.5);
}

#[test]
fn a_unix_client_stops_retrying_when_its_own_timeout_passes() {
    // (The tcp counterpart is in connect_timeout_ends_a_retransmitting_connection_as_refused.)
    // The retry scenario above with load.timeout = 0.2 s: room appears at about
    // 0.1875 s, and the retry at 0.25 s would get in, but the client gave up at 0.2 s.
    // It never got into the kernel queue, so it was not "queued or being served"
    // (SPEC 2, timed_out); the queue turned it away: refused, with no work wasted.
    let s = run_once(&constant_load(
        1024.0,
        4,
        "on_refused = \"retry\"\nretry_for = 0.5\ntimeout = 0.2\n\
         retry_pause = { dist = \"constant\", value = 0.125 }",
        &format!(
            r#"
[listener]
backlog = 0
[pool]
process_limit = 2
[work]
blocking = {{ dist = "constant", value = 0.1875 }}
[sim]
warmup = {warmup:?}
"#,
            warmup = 3.5 * DELTA
        ),
    ));
    assert_eq!(counts(&s), [1, 0, 1, 0, 0]);
    assert_eq!(s.wasted_s, 0.0);
}

/// One prefork process holding `client_limit` connections, blocking 0.5 s and a hold
/// of 1 s; connections at 1 s and 2 s.
fn hold_run(client_limit: u32) -> Summary {
    run_once(&constant_load(
        1.0,
        2,
        "",
        &format!(
            r#"
[listener]
backlog = 4
[pool]
process_limit = 1
client_limit = {client_limit}
[work]
blocking = {{ dist = "constant", value = 0.5 }}
hold = {{ dist = "constant", value = 1.0 }}
"#
        ),
    ))
}

#[test]
fn a_hold_keeps_the_slot_but_frees_the_process_for_other_work() {
    // SPEC 1.5: after its 0.5 s of work (reply at 1.5) c1 stays open until 2.5.
    // client_limit 1: c2 (at 2) waits for the slot until 2.5, reply at 3.0, latency 1.
    let s = hold_run(1);
    assert_eq!(counts(&s), [2, 2, 0, 0, 0]);
    assert_eq!(s.latency_s.max, 1.0);
    assert_eq!(s.queue_wait_s.mean, 0.25);
    // client_limit 2: c2 takes the second slot at once; the process is not working
    // for c1 any more, so c2's work starts at 2: latency 0.5 for both.
    let s = hold_run(2);
    assert_eq!(s.latency_s.max, 0.5);
    assert_eq!(s.queue_wait_s.mean, 0.0);
    // Busy 0.5 s twice in a run that ends when c2 closes at 3.5.
    assert_eq!(s.processes.busy_mean, 1.0 / 3.5);
}
