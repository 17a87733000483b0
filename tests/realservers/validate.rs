//! `validate` against every real target, as one table of cases: a model, the grid it
//! is varied over, the bound on `max_abs_error` and what the case needs of this
//! machine (a case whose server cannot run prints `SKIPPED <test>: <why>` and passes).
//! Every case runs the same way: one at a time (the lock), `--runs` and as many
//! `--replications` (the simulator runs the same replications, the same random
//! streams, as the real runs, so both see the same arrivals and the same work), its
//! files checked, the grid spanning no refusals to most refused with latency p50
//! within 10 % where nothing is refused, and the error within the bound; a few cases
//! then check what the server's own logs say.

use crate::common::{run_in, text, write, PREFORK};
use crate::harness::{
    num, open_tempdir, read_csv, serial, skip, Needs, DOVECOT, NEEDS_APACHE, NEEDS_COURIER,
    NEEDS_DOVECOT, NEEDS_NGINX_GUNICORN, NEEDS_NOTHING, NEEDS_PHP_FPM,
};
use crate::harness_servers::{APACHE_PREFORK, COURIER_MODEL, PHP_FPM_DYNAMIC, PHP_FPM_ONDEMAND};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

type Row = HashMap<String, String>;

/// One `validate` of a target.
struct ValidateCase {
    target: &'static str,
    /// The model's text.
    model: &'static str,
    /// `--vary PATH=VALUES` each.
    vary: &'static [&'static str],
    /// The largest |predicted - measured| refusal probability allowed.
    bound: f64,
    needs: &'static Needs,
    /// `--runs`, and as many `--replications`.
    runs: u32,
    /// `--max-lag-ms`, when not the default.
    max_lag_ms: Option<u32>,
    /// The grid spans no refusals to most refused (`check_grid`).
    grid: bool,
    /// What else the case checks, in the folder `--out` and validation.csv's rows.
    also: fn(&Path, &[Row]),
}

impl ValidateCase {
    fn new(
        target: &'static str,
        model: &'static str,
        vary: &'static [&'static str],
        bound: f64,
        needs: &'static Needs,
    ) -> ValidateCase {
        ValidateCase {
            target,
            model,
            vary,
            bound,
            needs,
            runs: 2,
            max_lag_ms: None,
            grid: true,
            also: |_, _| {},
        }
    }

    fn runs(self, runs: u32) -> ValidateCase {
        ValidateCase { runs, ..self }
    }

    /// A server that forks or execs per connection on the same 2 cores as the load
    /// generator: allow it 10 ms behind its schedule rather than 5.
    fn forking(self) -> ValidateCase {
        ValidateCase {
            max_lag_ms: Some(10),
            ..self
        }
    }

    /// A grid that does not reach "most refused" (its own checks say what it shows).
    fn no_grid(self) -> ValidateCase {
        ValidateCase {
            grid: false,
            ..self
        }
    }

    fn also(self, also: fn(&Path, &[Row])) -> ValidateCase {
        ValidateCase { also, ..self }
    }
}

/// Runs `case` as test `test`: skipped when this machine lacks what it needs, or when
/// it was too busy for the load generator to keep its schedule.
fn run(test: &str, case: ValidateCase) {
    if skip(test, case.needs) {
        return;
    }
    let _lock = serial();
    let tmp = open_tempdir();
    let model = write(tmp.path(), "m.toml", case.model);
    let runs = case.runs.to_string();
    let lag = case.max_lag_ms.map(|ms| ms.to_string());
    let mut extra: Vec<&str> = Vec::new();
    for v in case.vary {
        extra.extend(["--vary", v]);
    }
    extra.extend(["--runs", &runs, "--replications", &runs]);
    if let Some(lag) = &lag {
        extra.extend(["--max-lag-ms", lag]);
    }
    let out = tmp.path().join(format!("out-{}", case.target));
    let Some((max, rows)) = validate(test, tmp.path(), &model, case.target, &out, &extra) else {
        return;
    };
    for r in &rows {
        let point: Vec<String> = case
            .vary
            .iter()
            .filter_map(|v| v.split('=').next())
            .map(|path| format!("{path} {}", r[path]))
            .collect();
        let mut line = format!(
            "{test}: {}: refusal measured {} predicted {}",
            point.join(", "),
            r["measured_refusal_probability"],
            r["predicted_refusal_probability"]
        );
        if let (Some(m), Some(p)) = (
            r.get("measured_processes_max"),
            r.get("predicted_processes_max"),
        ) {
            line += &format!("; processes max measured {m} predicted {p}");
        }
        eprintln!("{line}");
    }
    if case.grid {
        check_grid(&rows);
    }
    assert!(max <= case.bound, "max_abs_error {max}: {rows:?}");
    (case.also)(&out, &rows);
}

/// Runs `validate` into `out`, checks its files and returns (max_abs_error, the rows);
/// None (after a SKIPPED line) when the machine was too busy for the load generator to
/// keep its schedule in five tries of a run, which says nothing about the server.
fn validate(
    test: &str,
    tmp: &Path,
    model: &Path,
    target: &str,
    out: &Path,
    extra: &[&str],
) -> Option<(f64, Vec<Row>)> {
    let mut args = vec![
        "validate",
        model.to_str().unwrap(),
        "--target",
        target,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let started = Instant::now();
    let o = run_in(tmp, &args);
    let err = String::from_utf8_lossy(&o.stderr);
    if !o.status.success() && err.contains("too busy to measure the server") {
        eprintln!(
            "SKIPPED {test}: this machine was too busy to keep the load generator on \
             schedule (other work on its cores):\n{err}"
        );
        return None;
    }
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    eprintln!(
        "validate --target {target} {}: {:.0} s\n{stdout}",
        extra.join(" "),
        started.elapsed().as_secs_f64(),
    );
    let last = stdout.lines().last().unwrap_or_default();
    let max: f64 = last
        .strip_prefix("max_abs_error=")
        .unwrap_or_else(|| panic!("last line `{last}`"))
        .parse()
        .unwrap();
    assert!(out.join("validation.png").is_file(), "{}", text(&o));
    let measured = read_csv(&out.join("measured.csv"));
    let rows = read_csv(&out.join("validation.csv"));
    assert_eq!(measured.len(), rows.len());
    assert!(measured[0].contains_key("refusal_probability_ci_low"));
    assert!(measured[0].contains_key("latency_s_p99"));
    Some((max, rows))
}

/// The grid must span no refusals to more than half refused; latency p50 agrees
/// within 10 % where nothing is refused.
fn check_grid(rows: &[Row]) {
    let measured: Vec<f64> = rows
        .iter()
        .map(|r| num(r, "measured_refusal_probability"))
        .collect();
    assert!(measured.contains(&0.0), "{measured:?}");
    assert!(measured.iter().any(|&p| p > 0.5), "{measured:?}");
    let mut checked = 0;
    for r in rows {
        if num(r, "predicted_refusal_probability") == 0.0
            && num(r, "measured_refusal_probability") == 0.0
        {
            let (p, m) = (
                num(r, "predicted_latency_s_p50"),
                num(r, "measured_latency_s_p50"),
            );
            assert!(
                (p - m).abs() <= 0.1 * p,
                "latency p50 {m} against {p}: {r:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no point without refusals: {rows:?}");
}

/// One `#[test]` a case, named as the case.
macro_rules! validate_cases {
    ($($(#[doc = $doc:literal])* $name:ident: $case:expr;)*) => {
        $(
            $(#[doc = $doc])*
            #[test]
            fn $name() {
                run(stringify!($name), $case);
            }
        )*
    };
}

validate_cases! {
    validate_builtin_prefork_refusal_within_0_03_and_latency_within_10_percent:
        ValidateCase::new(
            "builtin",
            PREFORK,
            &["pool.process_limit=2,3", "load.rate=15,33,71"],
            0.03,
            &NEEDS_NOTHING,
        );
    validate_builtin_on_demand_forking_refusal_within_0_03:
        ValidateCase::new("builtin", ON_DEMAND, &["load.rate=15,33,47,90"], 0.03, &NEEDS_NOTHING);
    validate_nginx_gunicorn_refusal_within_0_05:
        ValidateCase::new(
            "nginx-gunicorn",
            PREFORK,
            &["load.rate=15,33,71"],
            0.05,
            &NEEDS_NGINX_GUNICORN,
        );
    /// At most 4 / 0.5 = 8 sessions a second: 4/s is never refused, 40/s mostly.
    validate_dovecot_refusal_within_0_05:
        ValidateCase::new("dovecot", DOVECOT, &["load.rate=4,12,20,40"], 0.05, &NEEDS_DOVECOT)
            .also(dovecot_log_says_why);
    /// 4 logins a second fit; 12 a second overflow imap's 4 processes and its queue of
    /// 5. (At 30 a second the real chain refuses less than predicted, 0.48 against
    /// 0.63: imap-login's own limits act first; the README says so.)
    validate_dovecot_chain_per_service_within_0_08:
        ValidateCase::new("dovecot", DOVECOT_CHAIN, &["load.rate=4,12"], 0.08, &NEEDS_DOVECOT)
            .runs(3)
            .no_grid()
            .also(dovecot_chain_refuses_at_imap);
    validate_nginx_gunicorn_chain_per_service_within_0_05:
        ValidateCase::new(
            "nginx-gunicorn",
            NGINX_CHAIN,
            &["load.rate=15,33,71"],
            0.05,
            &NEEDS_NGINX_GUNICORN,
        )
        .also(nginx_chain_refuses_at_gunicorn);
    validate_nginx_php_fpm_dynamic_refusal_within_0_05:
        ValidateCase::new("nginx-php-fpm", PHP_FPM_DYNAMIC, &[RATES], 0.05, &NEEDS_PHP_FPM)
            .forking()
            .also(php_fpm_dynamic_logs_every_502_and_max_children);
    validate_nginx_php_fpm_ondemand_refusal_within_0_05:
        ValidateCase::new("nginx-php-fpm", PHP_FPM_ONDEMAND, &[RATES], 0.05, &NEEDS_PHP_FPM)
            .forking()
            .also(nginx_logs_every_502);
    validate_apache_prefork_refusal_within_0_05:
        ValidateCase::new("apache-prefork", APACHE_PREFORK, &[RATES], 0.05, &NEEDS_APACHE)
            .forking()
            .also(apache_logs_max_request_workers);
    validate_courier_refusal_within_0_05:
        ValidateCase::new("courier", COURIER_MODEL, &[RATES], 0.05, &NEEDS_COURIER)
            .forking()
            .also(courier_logs_max_active);
}

/// Dovecot's own log says why: imap-login's failed connects, one per refusal.
fn dovecot_log_says_why(out: &Path, rows: &[Row]) {
    for r in rows {
        let refused = num(r, "measured_refused_per_run");
        let eagain = num(r, "log_connect_eagain_per_run");
        assert_eq!(refused, eagain, "{r:?}");
        if refused > 0.0 {
            assert!(num(r, "log_limit_reached_per_run") > 0.0, "{r:?}");
        }
    }
    let measured = read_csv(&out.join("measured.csv"));
    assert!(measured[0].contains_key("log_connect_eagain"));
    assert!(num(&measured[0], "login_latency_s_p50") > 0.0);
}

/// None refused at 4/s, some at 12/s, and every login refused at imap is one
/// `net_connect_unix(imap) failed` line.
fn dovecot_chain_refuses_at_imap(_: &Path, rows: &[Row]) {
    assert_eq!(
        num(&rows[0], "measured_refusal_probability"),
        0.0,
        "{rows:?}"
    );
    assert!(
        num(&rows[1], "measured_refusal_probability") > 0.0,
        "{rows:?}"
    );
    for r in rows {
        assert_eq!(
            num(r, "services.imap.measured_refused_per_run"),
            num(r, "log.imap.connect_eagain_per_run"),
            "{r:?}"
        );
    }
}

/// nginx's limits are far away: every refusal is a 502 from gunicorn's queue.
fn nginx_chain_refuses_at_gunicorn(_: &Path, rows: &[Row]) {
    for r in rows {
        assert_eq!(
            num(r, "services.nginx.predicted_refused_per_run"),
            0.0,
            "{r:?}"
        );
        let per_run = num(r, "measured_refusal_probability") * num(r, "measured_offered") / 2.0;
        let at_gunicorn = num(r, "services.gunicorn.measured_refused_per_run");
        assert!((at_gunicorn - per_run).abs() < 1e-6, "{r:?}");
    }
}

/// Every 502 is an EAGAIN in nginx's log.
fn nginx_logs_every_502(_: &Path, rows: &[Row]) {
    for r in rows {
        assert_eq!(
            num(r, "measured_refused_per_run"),
            num(r, "log_nginx_eagain_per_run"),
            "{r:?}"
        );
    }
}

/// Every 502 is an EAGAIN in nginx's log; at 90/s the pool reaches max_children.
fn php_fpm_dynamic_logs_every_502_and_max_children(out: &Path, rows: &[Row]) {
    nginx_logs_every_502(out, rows);
    let busiest = rows.last().unwrap();
    assert!(
        num(busiest, "log_max_children_per_run") >= 1.0,
        "{busiest:?}"
    );
    assert_eq!(num(busiest, "measured_processes_max"), 3.0, "{busiest:?}");
}

/// At 90/s Apache logs AH00161 (MaxRequestWorkers reached).
fn apache_logs_max_request_workers(_: &Path, rows: &[Row]) {
    let busiest = rows.last().unwrap();
    assert!(num(busiest, "log_ah00161_per_run") >= 1.0, "{busiest:?}");
}

/// At 90/s couriertcpd logs its maximum active connections, with its 3 processes.
fn courier_logs_max_active(_: &Path, rows: &[Row]) {
    let busiest = rows.last().unwrap();
    assert!(num(busiest, "log_max_active_per_run") >= 1.0, "{busiest:?}");
    assert_eq!(num(busiest, "measured_processes_max"), 3.0, "{busiest:?}");
}

/// The rates of the grids of nginx + PHP-FPM, Apache and couriertcpd: none refused at
/// 5/s, most at 90/s (the pools serve 30 or 40 a second at most).
const RATES: &str = "load.rate=5,13,27,90";

/// Dovecot's on-demand master with one connection per process: every connection
/// needs a fork, and the master forks one at a time, each 20 ms to start.
const ON_DEMAND: &str = r#"
name = "harness on-demand"
[load]
arrival = "constant"
rate = 20.0
duration = 3.0
[listener]
backlog = 4
[pool]
process_limit = 3
service_count = 1
[master]
mode = "on-demand"
startup = { dist = "constant", value = 0.02 }
[work]
blocking = { dist = "constant", value = 0.067 }
"#;

/// The chain imap-login -> imap with Dovecot's one master: imap-login (4 processes of
/// 4 clients, high-performance mode, 2 kept ready) hands each login to imap, whose 4
/// processes each hold a session of 0.5 s: at most 8 sessions a second.
const DOVECOT_CHAIN: &str = r#"
name = "harness dovecot chain"
[load]
arrival = "constant"
rate = 4.0
duration = 3.0
connect_timeout = 2.0
on_refused = "fail"

[[services]]
name = "imap-login"
next = "imap"
handoff = "pass"
[services.listener]
kind = "tcp"
backlog = 16
somaxconn = 64
[services.pool]
process_limit = 4
client_limit = 4
service_count = 0
process_min_avail = 2
[services.master]
mode = "on-demand"
process = "dovecot"
startup = { dist = "constant", value = 0.005 }
drop_timeout = 10.0
[services.work]
blocking = { dist = "constant", value = 0.002 }
[services.connect]
on_refused = "retry"
retry_for = 0.5
retry_pause = { dist = "uniform", low = 0.01, high = 0.1 }

[[services]]
name = "imap"
[services.listener]
kind = "unix"
backlog = 4
somaxconn = 64
[services.pool]
process_limit = 4
client_limit = 1
service_count = 1
[services.master]
mode = "on-demand"
process = "dovecot"
startup = { dist = "constant", value = 0.005 }
drop_timeout = 10.0
[services.work]
blocking = { dist = "constant", value = 0.5 }
"#;

/// nginx -> gunicorn as a chain: nginx (one worker, 100 proxied requests, backlog 64)
/// in front of 2 gunicorn sync workers with a queue of 5 and 73 ms of work.
const NGINX_CHAIN: &str = r#"
name = "harness nginx chain"
[load]
arrival = "constant"
rate = 20.0
duration = 3.0
connect_timeout = 2.0
on_refused = "fail"

[[services]]
name = "nginx"
next = "gunicorn"
handoff = "proxy"
[services.listener]
kind = "tcp"
backlog = 64
somaxconn = 4096
[services.pool]
process_limit = 1
client_limit = 100
[services.work]
blocking = { dist = "constant", value = 0.0 }
[services.connect]
on_refused = "fail"
connect_timeout = 1.0
timeout = 3.0

[[services]]
name = "gunicorn"
[services.listener]
kind = "unix"
backlog = 4
somaxconn = 4096
[services.pool]
process_limit = 2
[services.master]
mode = "prefork"
[services.work]
blocking = { dist = "constant", value = 0.073 }
"#;
