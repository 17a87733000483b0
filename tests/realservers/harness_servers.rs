//! The harness against more real servers (SPEC section 11): nginx + PHP-FPM (pm
//! dynamic and ondemand), Apache httpd's prefork MPM and couriertcpd (their models
//! here are measured beside the prediction in `validate.rs`): the spawn sequences of
//! PHP-FPM's and Apache's masters counted from /proc second by second beside the
//! simulator's; nothing left behind when the harness is killed; and the models each
//! target refuses. A test whose server is not installed, or that needs root, prints
//! `SKIPPED <test>: <reason>` and passes. They run one at a time with the other
//! real-server tests (harness.rs's lock).

use crate::common::{processes_per_second, refused, run_in, text, write};
use crate::harness::{
    kill_mid_run_of, open_tempdir, read_csv, serial, skip, Needs, NEEDS_APACHE, NEEDS_COURIER,
    NEEDS_PHP_FPM,
};
use std::path::Path;
use std::time::Duration;

/// PHP-FPM's dynamic pool: one child at the start, one more a tick while none is
/// idle (min_spare 1), at most 3; a backlog of 4 (a queue of 5); 100 ms of work;
/// constant arrivals for 3 s. The child's start-up (fork to accept) is a few ms.
pub(crate) const PHP_FPM_DYNAMIC: &str = r#"
name = "harness php-fpm dynamic"
[load]
arrival = "constant"
rate = 20.0
duration = 3.0
timeout = 2.0
[listener]
backlog = 4
[pool]
process_limit = 3
start_servers = 1
min_spare = 1
max_spare = 2
[master]
mode = "php-fpm-dynamic"
startup = { dist = "constant", value = 0.003 }
[work]
blocking = { dist = "constant", value = 0.1 }
"#;

/// PHP-FPM's ondemand pool: no child at the start, a fork per wake-up of the master's
/// edge-triggered watch while none is idle, at most 3; idle children are kept for 60 s.
pub(crate) const PHP_FPM_ONDEMAND: &str = r#"
name = "harness php-fpm ondemand"
[load]
arrival = "constant"
rate = 20.0
duration = 3.0
timeout = 2.0
[listener]
backlog = 4
[pool]
process_limit = 3
idle_kill = 60.0
[master]
mode = "php-fpm-ondemand"
fork_time = { dist = "constant", value = 0.001 }
startup = { dist = "constant", value = 0.003 }
[work]
blocking = { dist = "constant", value = 0.1 }
"#;

/// Apache prefork on TCP: 2 children at the start, MinSpare 1, MaxSpare 2, at most 4;
/// ListenBacklog 4; a client gives up its connect after 0.5 s (before the SYN's first
/// retransmission at 1 s), so a dropped SYN is a refusal.
pub(crate) const APACHE_PREFORK: &str = r#"
name = "harness apache prefork"
[load]
arrival = "constant"
rate = 20.0
duration = 3.0
timeout = 3.0
connect_timeout = 0.5
[listener]
kind = "tcp"
backlog = 4
[pool]
process_limit = 4
start_servers = 2
min_spare = 1
max_spare = 2
[master]
mode = "apache-prefork"
[work]
blocking = { dist = "constant", value = 0.1 }
"#;

/// couriertcpd: a fork per connection up to -maxprocs 3; its backlog is SOMAXCONN
/// (4096), cut to 4 by the run's somaxconn (a queue of 5); connects given up after
/// 0.5 s. The fork and the program's start (exec of eagain) take a few ms.
pub(crate) const COURIER_MODEL: &str = r#"
name = "harness courier"
[load]
arrival = "constant"
rate = 20.0
duration = 3.0
timeout = 3.0
connect_timeout = 0.5
[listener]
kind = "tcp"
backlog = 4096
somaxconn = 4
[pool]
process_limit = 3
service_count = 1
[master]
mode = "per-connection"
fork_time = { dist = "constant", value = 0.001 }
startup = { dist = "constant", value = 0.003 }
[work]
blocking = { dist = "constant", value = 0.1 }
"#;

/// Runs `harness` once on `model` and returns the pool's processes second by second.
fn measured_processes(tmp: &Path, model: &str, target: &str) -> Vec<f64> {
    let path = write(tmp, "held.toml", model);
    let out = tmp.join("out");
    let o = run_in(
        tmp,
        &[
            "harness",
            path.to_str().unwrap(),
            "--target",
            target,
            "--runs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    eprintln!("{}", String::from_utf8_lossy(&o.stdout));
    let row = &read_csv(&out.join("measured.csv"))[0];
    row["processes_per_s"]
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect()
}

/// `requests` connections sent in the first moments, each holding a child for
/// `hold` seconds.
fn held(requests: u32, hold: f64, listener: &str, pool: &str, master: &str) -> String {
    format!(
        r#"name = "held"
[load]
arrival = "constant"
rate = 1000.0
connections = {requests}
timeout = {timeout}
connect_timeout = 10.0
[listener]
{listener}
[pool]
{pool}
[master]
{master}
[work]
blocking = {{ dist = "constant", value = {hold} }}
"#,
        timeout = hold + 3.0
    )
}

#[test]
fn php_fpm_dynamic_spawns_20_21_23_27_35_51_60_counted_from_proc() {
    let test = "php_fpm_dynamic_spawns_20_21_23_27_35_51_60_counted_from_proc";
    if skip(test, &NEEDS_PHP_FPM) {
        return;
    }
    let _lock = serial();
    let tmp = open_tempdir();
    let model = held(
        70,
        9.0,
        "backlog = 128",
        "process_limit = 60\nstart_servers = 20\nmin_spare = 20\nmax_spare = 30",
        "mode = \"php-fpm-dynamic\"",
    );
    let seen = measured_processes(tmp.path(), &model, "nginx-php-fpm");
    let predicted = processes_per_second(&model, 8);
    eprintln!("{test}: measured {seen:?}, predicted {predicted:?}");
    assert_eq!(predicted, [20.0, 21.0, 23.0, 27.0, 35.0, 51.0, 60.0, 60.0]);
    assert_eq!(seen[..8], predicted[..], "{seen:?}");
}

#[test]
fn apache_prefork_spawns_5_6_8_12_20_36_68_100_132_150_counted_from_proc() {
    let test = "apache_prefork_spawns_5_6_8_12_20_36_68_100_132_150_counted_from_proc";
    if skip(test, &NEEDS_APACHE) {
        return;
    }
    let _lock = serial();
    let tmp = open_tempdir();
    // Debian's mpm_prefork.conf: StartServers 5, MinSpare 5, MaxSpare 10,
    // MaxRequestWorkers 150.
    let model = held(
        140,
        12.0,
        "kind = \"tcp\"\nbacklog = 511",
        "process_limit = 150",
        "mode = \"apache-prefork\"",
    );
    let seen = measured_processes(tmp.path(), &model, "apache-prefork");
    let predicted = processes_per_second(&model, 11);
    eprintln!("{test}: measured {seen:?}, predicted {predicted:?}");
    assert_eq!(
        predicted,
        [5.0, 6.0, 8.0, 12.0, 20.0, 36.0, 68.0, 100.0, 132.0, 150.0, 150.0]
    );
    assert_eq!(seen[..11], predicted[..], "{seen:?}");
}

#[test]
fn killing_the_harness_stops_php_fpm_apache_and_courier() {
    let test = "killing_the_harness_stops_php_fpm_apache_and_courier";
    let cases: [(&str, &str, &Needs); 3] = [
        ("nginx-php-fpm", PHP_FPM_DYNAMIC, &NEEDS_PHP_FPM),
        ("apache-prefork", APACHE_PREFORK, &NEEDS_APACHE),
        ("courier", COURIER_MODEL, &NEEDS_COURIER),
    ];
    for (target, model, needs) in cases {
        if skip(&format!("{test} ({target})"), needs) {
            continue;
        }
        let _lock = serial();
        for signal in [libc::SIGTERM, libc::SIGKILL] {
            kill_mid_run_of(target, model, signal, Duration::from_millis(1500));
        }
    }
}

#[test]
fn models_the_new_targets_cannot_run_are_refused_with_exit_2_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cases: [(&str, &str, &str, &[&str]); 13] = [
        (
            PHP_FPM_ONDEMAND,
            "nginx-php-fpm",
            "master.mode=on-demand",
            &["`master.mode`", "php-fpm-ondemand"],
        ),
        (
            PHP_FPM_DYNAMIC,
            "nginx-php-fpm",
            "listener.kind=tcp",
            &["`listener.kind`", "unix"],
        ),
        (
            PHP_FPM_DYNAMIC,
            "nginx-php-fpm",
            "pool.client_limit=2",
            &["`pool.client_limit`"],
        ),
        (
            PHP_FPM_DYNAMIC,
            "nginx-php-fpm",
            "master.tick=2",
            &["`master.tick`"],
        ),
        (
            PHP_FPM_ONDEMAND,
            "nginx-php-fpm",
            "pool.idle_kill=1.5",
            &["`pool.idle_kill`", "whole seconds"],
        ),
        (
            PHP_FPM_DYNAMIC,
            "nginx-php-fpm",
            "load.on_refused=retry",
            &["`load.on_refused`"],
        ),
        (
            APACHE_PREFORK,
            "apache-prefork",
            "master.mode=php-fpm-dynamic",
            &["`master.mode`", "apache-prefork"],
        ),
        (
            APACHE_PREFORK,
            "apache-prefork",
            "listener.kind=unix",
            &["`listener.kind`", "tcp"],
        ),
        (
            APACHE_PREFORK,
            "apache-prefork",
            "master.max_spawn_rate=8",
            &["`master.max_spawn_rate`", "32"],
        ),
        (
            APACHE_PREFORK,
            "apache-prefork",
            "pool.max_spare=1",
            &["`pool.max_spare`", "MinSpareServers + 1"],
        ),
        (
            COURIER_MODEL,
            "courier",
            "listener.backlog=128",
            &["`listener.backlog`", "4096", "somaxconn"],
        ),
        (
            COURIER_MODEL,
            "courier",
            "pool.service_count=0",
            &["`pool.service_count`"],
        ),
        (
            COURIER_MODEL,
            "courier",
            "master.mode=on-demand",
            &["`master.mode`", "per-connection"],
        ),
    ];
    for (model, target, set, words) in cases {
        let m = write(t, "m.toml", model);
        refused(
            t,
            &[
                "harness",
                m.to_str().unwrap(),
                "--target",
                target,
                "--set",
                set,
            ],
            words,
        );
    }
}
