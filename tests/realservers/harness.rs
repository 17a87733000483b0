//! The measurement harness against real processes on this machine: the kernel's
//! listen-queue rule, `validate` on the builtin server (a fixed pool and on-demand
//! forking), on nginx + gunicorn and on Dovecot, nothing left behind when the harness
//! is killed, and the bad inputs it refuses. Tests that need nginx and gunicorn, or
//! Dovecot (and root), print a SKIPPED line and pass when those are not there. The
//! timing-sensitive tests run one at a time (a lock), so they do not measure each other.

use crate::common::{bin, refused, run_in, text, walk, write, PREFORK};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static SERIAL: Mutex<()> = Mutex::new(());

pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub(crate) fn installed(name: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin"].map(PathBuf::from))
        .any(|d| d.join(name).is_file())
}

/// True (after printing why) when nginx or gunicorn is missing.
fn skip_without_nginx_gunicorn(test: &str) -> bool {
    let missing: Vec<&str> = ["nginx", "gunicorn"]
        .into_iter()
        .filter(|n| !installed(n))
        .collect();
    if missing.is_empty() {
        return false;
    }
    eprintln!(
        "SKIPPED {test}: {} not installed (apt-get install -y nginx gunicorn)",
        missing.join(" and ")
    );
    true
}

/// True (after printing why) when Dovecot is missing or this is not root (its master
/// runs its processes as other users; the test's somaxconn needs a namespace).
fn skip_without_dovecot(test: &str) -> bool {
    if !installed("dovecot") {
        eprintln!("SKIPPED {test}: dovecot not installed (apt-get install -y dovecot-imapd)");
        return true;
    }
    if !is_root() {
        eprintln!("SKIPPED {test}: the dovecot target needs root");
        return true;
    }
    false
}

/// A temporary folder that Dovecot's unprivileged users (auth, imap) can enter.
pub(crate) fn open_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    t
}

/// A CSV as rows of column name to cell.
pub(crate) fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

pub(crate) fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .parse()
        .unwrap_or(f64::NAN)
}

fn last_line(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

/// Runs `validate`, checks its files and returns (max_abs_error, the rows); None
/// (after a SKIPPED line) when the machine was too busy for the load generator to keep
/// its schedule in five tries of a run, which says nothing about the server.
pub(crate) fn validate(
    tmp: &Path,
    model: &Path,
    target: &str,
    extra: &[&str],
) -> Option<(f64, Vec<HashMap<String, String>>)> {
    let out = tmp.join(format!("out-{target}"));
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
            "SKIPPED validate --target {target}: this machine was too busy to keep the load \
             generator on schedule (other work on its cores):\n{err}"
        );
        return None;
    }
    assert!(o.status.success(), "{}", text(&o));
    eprintln!(
        "validate --target {target} {}: {:.0} s\n{}",
        extra.join(" "),
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&o.stdout)
    );
    let last = last_line(&o);
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
pub(crate) fn check_grid(rows: &[HashMap<String, String>]) {
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

/// Processes started with TMPDIR = `tmp` (everything the harness starts inherits it).
fn processes_of(tmp: &Path) -> Vec<String> {
    let needle = format!("TMPDIR={}", tmp.display());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == needle.as_bytes()))
        })
        .map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            format!(
                "{}: {}",
                e.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            )
        })
        .collect()
}

fn nothing_left(tmp: &Path) -> Result<(), String> {
    let procs = processes_of(tmp);
    let files = walk(tmp);
    if procs.is_empty() && files.is_empty() {
        Ok(())
    } else {
        Err(format!("processes: {procs:?}\nfiles: {files:?}"))
    }
}

fn has_socket(dir: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    walk(dir)
        .iter()
        .any(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket()))
}

/// Processes whose command line names the harness's folder (Dovecot's processes
/// carry it in their titles, through instance_name, not in their environment).
fn processes_tagged(harness_pid: u32) -> Vec<String> {
    let tag = format!("eagain-harness-{harness_pid}-");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(&tag)
                .then(|| format!("{}: {cmd}", e.file_name().to_string_lossy()))
        })
        .collect()
}

/// Starts a long harness run, waits until its server listens, kills the harness with
/// `signal`, and checks that no process and no file of it is left.
fn kill_mid_run(target: &str, signal: i32) {
    kill_mid_run_of(target, PREFORK, signal, Duration::from_millis(500));
}

pub(crate) fn kill_mid_run_of(target: &str, model_text: &str, signal: i32, settle: Duration) {
    let tmp = open_tempdir();
    let model = write(tmp.path(), "m.toml", model_text);
    let tmp_run = tmp.path().join("run");
    std::fs::create_dir(&tmp_run).unwrap();
    let out = tmp.path().join("out");
    let mut child: Child = Command::new(bin())
        .args([
            "harness",
            model.to_str().unwrap(),
            "--target",
            target,
            "--set",
            "load.duration=30",
            "--runs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("TMPDIR", &tmp_run)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let end = Instant::now() + Duration::from_secs(30);
    // A unix socket, or the endpoint the supervisor writes once the servers answer
    // (targets on TCP only).
    let up = |dir: &Path| {
        has_socket(dir)
            || walk(dir)
                .iter()
                .any(|p| p.file_name().is_some_and(|n| n == "endpoint.json"))
    };
    while !up(&tmp_run) {
        assert!(Instant::now() < end, "the server never listened");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the harness ended early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(settle);
    assert!(nothing_left(&tmp_run).is_err(), "the run is not visible");
    let harness_pid = child.id();
    if target == "dovecot" {
        let running = processes_tagged(harness_pid);
        assert!(
            running.iter().any(|p| p.contains("imap-login")),
            "no Dovecot running: {running:?}"
        );
    }
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let status = child.wait().unwrap();
    assert!(!status.success());
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let left = nothing_left(&tmp_run).and_then(|()| {
            let tagged = processes_tagged(harness_pid);
            if tagged.is_empty() {
                Ok(())
            } else {
                Err(format!("processes: {tagged:?}"))
            }
        });
        match left {
            Ok(()) => break,
            Err(e) if Instant::now() > end => {
                panic!("left behind 5 s after signal {signal} to the harness:\n{e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    assert!(!out.join("measured.csv").exists());
}

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

/// A worker that never starts: nothing accepts while the clients connect.
const NOTHING_ACCEPTS: &str = r#"
name = "nothing accepts"
[load]
arrival = "constant"
rate = 200.0
connections = 12
timeout = 0.5
[listener]
backlog = 5
[pool]
process_limit = 1
[master]
mode = "on-demand"
startup = { dist = "constant", value = 30.0 }
[work]
blocking = { dist = "constant", value = 0.01 }
"#;

#[test]
fn builtin_unix_listener_admits_exactly_backlog_plus_one_and_then_eagain() {
    let _lock = serial();
    let tmp = tempfile::tempdir().unwrap();
    let model = write(tmp.path(), "k.toml", NOTHING_ACCEPTS);
    let out = tmp.path().join("out");
    let o = run_in(
        tmp.path(),
        &[
            "harness",
            model.to_str().unwrap(),
            "--target",
            "builtin",
            "--vary",
            "listener.backlog=0,1,3,7",
            "--runs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for row in read_csv(&out.join("measured.csv")) {
        let b = num(&row, "listener.backlog");
        // b + 1 wait in the queue until the client's timeout; the rest get EAGAIN.
        assert_eq!(num(&row, "timed_out"), b + 1.0, "{row:?}");
        assert_eq!(num(&row, "refused"), 12.0 - (b + 1.0), "{row:?}");
        assert_eq!(num(&row, "served"), 0.0, "{row:?}");
    }
    if !is_root() {
        eprintln!("SKIPPED the somaxconn part: a network namespace needs root");
        return;
    }
    // somaxconn caps the backlog at listen() time, for unix sockets too
    // (semantics: somaxconn-cap).
    let o = run_in(
        tmp.path(),
        &[
            "harness",
            model.to_str().unwrap(),
            "--target",
            "builtin",
            "--set",
            "listener.backlog=64",
            "--set",
            "listener.somaxconn=3",
            "--runs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let row = &read_csv(&out.join("measured.csv"))[0];
    assert_eq!(num(row, "timed_out"), 4.0, "{row:?}");
    assert_eq!(num(row, "refused"), 8.0, "{row:?}");
}

#[test]
fn validate_builtin_prefork_refusal_within_0_03_and_latency_within_10_percent() {
    let _lock = serial();
    let tmp = tempfile::tempdir().unwrap();
    let model = write(tmp.path(), "p.toml", PREFORK);
    // The simulator runs the same replications (the same random streams) as the real
    // runs, so both see the same arrivals and the same work.
    let Some((max, rows)) = validate(
        tmp.path(),
        &model,
        "builtin",
        &[
            "--vary",
            "pool.process_limit=2,3",
            "--vary",
            "load.rate=15,33,71",
            "--runs",
            "2",
            "--replications",
            "2",
        ],
    ) else {
        return;
    };
    check_grid(&rows);
    assert!(max <= 0.03, "max_abs_error {max}: {rows:?}");
}

#[test]
fn validate_builtin_on_demand_forking_refusal_within_0_03() {
    let _lock = serial();
    let tmp = tempfile::tempdir().unwrap();
    let model = write(tmp.path(), "o.toml", ON_DEMAND);
    let Some((max, rows)) = validate(
        tmp.path(),
        &model,
        "builtin",
        &[
            "--vary",
            "load.rate=15,33,47,90",
            "--runs",
            "2",
            "--replications",
            "2",
        ],
    ) else {
        return;
    };
    check_grid(&rows);
    assert!(max <= 0.03, "max_abs_error {max}: {rows:?}");
}

#[test]
fn validate_nginx_gunicorn_refusal_within_0_05() {
    if skip_without_nginx_gunicorn("validate_nginx_gunicorn_refusal_within_0_05") {
        return;
    }
    let _lock = serial();
    let tmp = tempfile::tempdir().unwrap();
    let model = write(tmp.path(), "n.toml", PREFORK);
    let Some((max, rows)) = validate(
        tmp.path(),
        &model,
        "nginx-gunicorn",
        &[
            "--vary",
            "load.rate=15,33,71",
            "--runs",
            "2",
            "--replications",
            "2",
        ],
    ) else {
        return;
    };
    check_grid(&rows);
    assert!(max <= 0.05, "max_abs_error {max}: {rows:?}");
}

#[test]
fn killing_the_harness_leaves_no_process_and_no_socket() {
    let _lock = serial();
    kill_mid_run("builtin", libc::SIGTERM);
    kill_mid_run("builtin", libc::SIGINT);
    kill_mid_run("builtin", libc::SIGKILL);
}

#[test]
fn killing_the_harness_stops_nginx_and_gunicorn() {
    if skip_without_nginx_gunicorn("killing_the_harness_stops_nginx_and_gunicorn") {
        return;
    }
    let _lock = serial();
    kill_mid_run("nginx-gunicorn", libc::SIGTERM);
    kill_mid_run("nginx-gunicorn", libc::SIGKILL);
}

#[test]
fn bad_input_is_refused_with_exit_2_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let m = write(t, "m.toml", PREFORK);
    let m = m.to_str().unwrap();
    refused(
        t,
        &[
            "harness",
            m,
            "--target",
            "nginx-gunicorn",
            "--set",
            "master.mode=on-demand",
        ],
        &["master.mode", "prefork"],
    );
    refused(
        t,
        &[
            "harness",
            m,
            "--target",
            "nginx-gunicorn",
            "--set",
            "pool.client_limit=2",
        ],
        &["pool.client_limit", "sync worker"],
    );
    refused(
        t,
        &[
            "harness",
            m,
            "--target",
            "builtin",
            "--set",
            "load.duration=3600",
        ],
        &["load.duration"],
    );
    refused(
        t,
        &[
            "harness",
            m,
            "--target",
            "builtin",
            "--set",
            "load.rate=10000",
            "--set",
            "load.duration=10",
        ],
        &["connections", "load.duration"],
    );
    refused(
        t,
        &["harness", m, "--target", "dovecot"],
        &["dovecot", "master.mode"],
    );
    let busy = t.join("busy.sock");
    std::fs::write(&busy, "").unwrap();
    refused(
        t,
        &[
            "harness",
            m,
            "--target",
            "builtin",
            "--socket",
            busy.to_str().unwrap(),
        ],
        &["in use"],
    );
    refused(
        t,
        &["harness", m, "--target", "builtin", "--runs", "0"],
        &["--runs"],
    );
    assert!(walk(t)
        .iter()
        .all(|p| !p.to_string_lossy().contains("eagain-harness")));
}

#[test]
fn a_somaxconn_cap_without_root_is_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let m = write(t, "m.toml", PREFORK);
    let m = m.to_str().unwrap();
    // As root, --no-namespace stands for "no permission"; otherwise the real thing.
    let mut args = vec![
        "harness",
        m,
        "--target",
        "builtin",
        "--set",
        "listener.somaxconn=1",
    ];
    if is_root() {
        args.push("--no-namespace");
    }
    refused(t, &args, &["somaxconn", "namespace"]);
}

#[test]
fn a_taken_port_is_refused_with_exit_2() {
    let _lock = serial();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let m = write(t, "m.toml", PREFORK);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    refused(
        t,
        &[
            "harness",
            m.to_str().unwrap(),
            "--target",
            "builtin",
            "--set",
            "listener.kind=tcp",
            "--no-namespace",
            "--port",
            &port,
            "--runs",
            "1",
        ],
        &["port", "in use"],
    );
    assert_eq!(processes_of(t), Vec::<String>::new());
    assert!(walk(t)
        .iter()
        .all(|p| !p.to_string_lossy().contains("eagain-harness")));
}

/// Dovecot's imap service with process_limit 4 (backlog 4 = process_limit x
/// client_limit), somaxconn 8 in the run's namespace: login/imap holds min(4, 8) + 1 = 5.
/// Sessions of 0.5 s, constant arrivals; imap-login's 0.5 s of retries with 10 to 100
/// ms pauses. startup: the time from connect to LOGIN OK at 4 logins a second was 6 to
/// 9 ms on this machine (imap-login, auth, then the imap process's fork, exec, userdb
/// lookup and mail setup); 5 ms of it is taken as the imap process's start.
const DOVECOT: &str = r#"
name = "harness dovecot"
[load]
arrival = "constant"
rate = 4.0
duration = 3.0
on_refused = "retry"
retry_for = 0.5
retry_pause = { dist = "uniform", low = 0.01, high = 0.1 }
[listener]
kind = "unix"
backlog = 4
somaxconn = 8
[pool]
process_limit = 4
client_limit = 1
service_count = 1
[master]
mode = "on-demand"
startup = { dist = "constant", value = 0.005 }
drop_timeout = 10.0
[work]
blocking = { dist = "constant", value = 0.5 }
"#;

#[test]
fn validate_dovecot_refusal_within_0_05() {
    if skip_without_dovecot("validate_dovecot_refusal_within_0_05") {
        return;
    }
    let _lock = serial();
    let tmp = open_tempdir();
    let model = write(tmp.path(), "d.toml", DOVECOT);
    // At most 4 / 0.5 = 8 sessions a second: 4/s is never refused, 40/s mostly.
    let Some((max, rows)) = validate(
        tmp.path(),
        &model,
        "dovecot",
        &[
            "--vary",
            "load.rate=4,12,20,40",
            "--runs",
            "2",
            "--replications",
            "2",
        ],
    ) else {
        return;
    };
    check_grid(&rows);
    assert!(max <= 0.05, "max_abs_error {max}: {rows:?}");
    // Dovecot's own log says why: imap-login's failed connects, one per refusal.
    let out = tmp.path().join("out-dovecot");
    for r in read_csv(&out.join("validation.csv")) {
        let refused = num(&r, "measured_refused_per_run");
        let eagain = num(&r, "log_connect_eagain_per_run");
        assert_eq!(refused, eagain, "{r:?}");
        if refused > 0.0 {
            assert!(num(&r, "log_limit_reached_per_run") > 0.0, "{r:?}");
        }
    }
    let measured = read_csv(&out.join("measured.csv"));
    assert!(measured[0].contains_key("log_connect_eagain"));
    assert!(num(&measured[0], "login_latency_s_p50") > 0.0);
}

#[test]
fn killing_the_harness_stops_dovecot() {
    if skip_without_dovecot("killing_the_harness_stops_dovecot") {
        return;
    }
    let _lock = serial();
    kill_mid_run_of(
        "dovecot",
        DOVECOT,
        libc::SIGTERM,
        Duration::from_millis(2000),
    );
    kill_mid_run_of(
        "dovecot",
        DOVECOT,
        libc::SIGKILL,
        Duration::from_millis(2000),
    );
}

#[test]
fn a_model_dovecot_cannot_run_is_refused_with_exit_2_naming_the_field() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let m = write(t, "d.toml", DOVECOT);
    let m = m.to_str().unwrap();
    let cases: [(&str, &[&str]); 7] = [
        ("master.mode=prefork", &["master.mode", "on-demand"]),
        (
            "listener.backlog=8",
            &["listener.backlog", "listener.backlog=4"],
        ),
        (
            "pool.process_limit=16",
            &["listener.backlog", "listener.backlog=16"],
        ),
        ("load.on_refused=fail", &["load.on_refused", "retry"]),
        ("pool.client_limit=2", &["pool.client_limit"]),
        ("listener.kind=tcp", &["listener.kind"]),
        (
            "master.dovecot_version=\"2.2.20\"",
            &["master.dovecot_version"],
        ),
    ];
    for (set, words) in cases {
        refused(
            t,
            &["harness", m, "--target", "dovecot", "--set", set],
            words,
        );
    }
    assert!(walk(t)
        .iter()
        .all(|p| !p.to_string_lossy().contains("eagain-harness")));
}

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

#[test]
fn validate_dovecot_chain_per_service_within_0_08() {
    if skip_without_dovecot("validate_dovecot_chain_per_service_within_0_08") {
        return;
    }
    let _lock = serial();
    let tmp = open_tempdir();
    let model = write(tmp.path(), "c.toml", DOVECOT_CHAIN);
    // 4 logins a second fit; 12 a second overflow imap's 4 processes and its queue of
    // 5. (At 30 a second the real chain refuses less than predicted, 0.48 against
    // 0.63: imap-login's own limits act first; the README says so.)
    let Some((max, rows)) = validate(
        tmp.path(),
        &model,
        "dovecot",
        &[
            "--vary",
            "load.rate=4,12",
            "--runs",
            "3",
            "--replications",
            "3",
        ],
    ) else {
        return;
    };
    assert!(max <= 0.08, "max_abs_error {max}: {rows:?}");
    assert_eq!(
        num(&rows[0], "measured_refusal_probability"),
        0.0,
        "{rows:?}"
    );
    assert!(
        num(&rows[1], "measured_refusal_probability") > 0.0,
        "{rows:?}"
    );
    for r in &rows {
        // Every login refused at imap is one `net_connect_unix(imap) failed` line.
        assert_eq!(
            num(r, "services.imap.measured_refused_per_run"),
            num(r, "log.imap.connect_eagain_per_run"),
            "{r:?}"
        );
    }
}

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

#[test]
fn validate_nginx_gunicorn_chain_per_service_within_0_05() {
    if skip_without_nginx_gunicorn("validate_nginx_gunicorn_chain_per_service_within_0_05") {
        return;
    }
    let _lock = serial();
    let tmp = tempfile::tempdir().unwrap();
    let model = write(tmp.path(), "c.toml", NGINX_CHAIN);
    let Some((max, rows)) = validate(
        tmp.path(),
        &model,
        "nginx-gunicorn",
        &[
            "--vary",
            "load.rate=15,33,71",
            "--runs",
            "2",
            "--replications",
            "2",
        ],
    ) else {
        return;
    };
    check_grid(&rows);
    assert!(max <= 0.05, "max_abs_error {max}: {rows:?}");
    for r in &rows {
        // nginx's limits are far away: every refusal is a 502 from gunicorn's queue.
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
