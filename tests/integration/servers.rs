//! More server families (SPEC section 11): threads against M/M/c/K, and the spawn
//! sequences of PHP-FPM's and Apache's masters, tick by tick, against what the real
//! servers did on this machine's Debian packages (docs/semantics.md:
//! php-fpm-dynamic-spawn, apache-spawn, php-fpm-ondemand).

use crate::common::{
    assert_covers, eagain, model, processes_per_second, refusal, replications, root, write,
};
use eagain::analytic::mmck;

#[test]
fn one_process_with_c_threads_and_c_slots_is_mm_c_k() {
    // One process, 5 threads, 5 slots, a queue of 7: M/M/5/12 at 18/s, mu = 4.
    let m = model(
        r#"name = "threads"
[load]
arrival = "poisson"
rate = 18.0
duration = 4000.0
[listener]
backlog = 6
[pool]
process_limit = 1
client_limit = 5
threads = 5
[work]
blocking = { dist = "exponential", mean = 0.25 }
"#,
    );
    let exact = mmck(18.0, 4.0, 5, 12).refusal_probability;
    assert_covers("refusal", &refusal(&replications(&m, 9, 20)), exact, 0.05);
}

fn held(requests: u32, master: &str, pool: &str) -> String {
    format!(
        r#"name = "held"
[load]
arrival = "constant"
rate = 100000.0
connections = {requests}
[listener]
backlog = 4096
[pool]
{pool}
[master]
{master}
[work]
blocking = {{ dist = "constant", value = 1000.0 }}
"#
    )
}

#[test]
fn php_fpm_dynamic_spawns_20_21_23_27_35_51_60_as_measured() {
    // start = min_spare = 20, max_spare 30, max_children 60, 70 held requests: the
    // rate doubles from 1 each tick, then max_children cuts it (8.2.36 on Debian 12).
    let text = held(
        70,
        "mode = \"php-fpm-dynamic\"",
        "process_limit = 60\nstart_servers = 20\nmin_spare = 20\nmax_spare = 30",
    );
    let seen = processes_per_second(&text, 8);
    assert_eq!(seen, [20.0, 21.0, 23.0, 27.0, 35.0, 51.0, 60.0, 60.0]);
}

#[test]
fn apache_prefork_spawns_5_6_8_12_20_36_68_100_132_150_as_measured() {
    // Debian's mpm_prefork.conf (StartServers 5, MinSpare 5, MaxSpare 10,
    // MaxRequestWorkers 150), 140 held connections: not capped by MinSpare - idle,
    // the rate doubles to 32 (2.4.71 on Debian 12).
    let text = held(140, "mode = \"apache-prefork\"", "process_limit = 150");
    let seen = processes_per_second(&text, 11);
    assert_eq!(
        seen,
        [5.0, 6.0, 8.0, 12.0, 20.0, 36.0, 68.0, 100.0, 132.0, 150.0, 150.0]
    );
}

#[test]
fn php_fpm_ondemand_leaves_a_burst_behind_one_child_and_forks_one_per_paced_arrival() {
    let text = |rate: &str| {
        format!(
            r#"name = "ondemand"
[load]
arrival = "constant"
rate = {rate}
connections = 30
[listener]
backlog = 4096
[pool]
process_limit = 50
[master]
mode = "php-fpm-ondemand"
fork_time = {{ dist = "constant", value = 0.001 }}
[work]
blocking = {{ dist = "constant", value = 60.0 }}
"#
        )
    };
    // 30 together: one wake-up of the edge-triggered watch, one child; 29 wait.
    let burst = replications(&model(&text("1000000.0")), 1, 1);
    assert_eq!(burst[0].services[0].forks, 1);
    assert_eq!(burst[0].services[0].processes.max, 1);
    // Paced at 10/s, each a wake-up that finds no idle child: a fork each.
    let paced = replications(&model(&text("10.0")), 1, 1);
    assert_eq!(paced[0].services[0].forks, 30);
}

#[test]
fn bad_spare_server_settings_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let case = |master: &str, pool: &str, phrases: &[&str]| {
        let p = write(dir.path(), "s.toml", &held(10, master, pool));
        let out = eagain()
            .args(["simulate", p.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{err}");
        for ph in phrases {
            assert!(err.contains(ph), "no `{ph}` in {err}");
        }
    };
    let dynamic = "mode = \"php-fpm-dynamic\"";
    case(
        dynamic,
        "process_limit = 10\nmin_spare = 5\nmax_spare = 3",
        &["`pool.min_spare`", "max_spare"],
    );
    case(
        dynamic,
        "process_limit = 10\nmin_spare = 2\nmax_spare = 4\nstart_servers = 6",
        &["`pool.start_servers`", "[min_spare, max_spare]"],
    );
    case(
        "mode = \"apache-prefork\"\nmax_spawn_rate = 0",
        "process_limit = 10",
        &["`master.max_spawn_rate`"],
    );
    case(
        "mode = \"prefork\"",
        "process_limit = 2\nclient_limit = 4\nthreads = 0",
        &["`pool.threads`"],
    );
    case(
        "mode = \"prefork\"",
        "process_limit = 2\nclient_limit = 4\nthreads = 5",
        &["`pool.threads`", "pool.client_limit"],
    );
    case(
        "mode = \"on-demand\"",
        "process_limit = 2\nmin_spare = 1",
        &["`pool.min_spare`", "keeps no spare servers"],
    );
}

#[test]
fn a_tick_too_short_is_refused_not_run_for_ever() {
    // A tick of 1e-9 s or 1e-300 s on PHP-FPM's and Apache's masters once made a run
    // that never ended; a tick is at least a millisecond (model::MIN_TICK), and its
    // ticks over the arrival window count against sim.max_connections.
    let run = |model: &str, sets: &[&str]| {
        let mut c = eagain();
        c.timeout(std::time::Duration::from_secs(60))
            .args(["simulate", &root(model).display().to_string()]);
        for s in sets {
            c.args(["--set", s]);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    for model in [
        "models/php-fpm-dynamic.toml",
        "models/php-fpm-ondemand.toml",
        "models/apache-prefork.toml",
    ] {
        for tick in ["1e-300", "1e-9", "0.0009"] {
            let (code, err) = run(model, &[&format!("master.tick={tick}")]);
            assert_eq!(code, Some(2), "{model} {tick}: {err}");
            assert!(
                err.contains("`master.tick`")
                    && err.contains("shortest tick")
                    && err.contains("0.001 s"),
                "{model} {tick}: {err}"
            );
        }
        // A millisecond over a 10^6-second window is 10^9 ticks: past the budget.
        let (code, err) = run(
            model,
            &["master.tick=0.001", "load.duration=1000000", "load.rate=10"],
        );
        assert_eq!(code, Some(2), "{model}: {err}");
        assert!(
            err.contains("`master.tick`") && err.contains("sim.max_connections"),
            "{model}: {err}"
        );
    }
    // The shortest tick runs.
    let (code, err) = run(
        "models/php-fpm-dynamic.toml",
        &[
            "master.tick=0.001",
            "sim.replications=1",
            "load.duration=20",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
}
