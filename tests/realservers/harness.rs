//! The measurement harness against real processes on this machine: the kernel's
//! listen-queue rule, nothing left behind when the harness is killed (the builtin
//! server, nginx + gunicorn, Dovecot), and the bad inputs it refuses. Also what the
//! other real-server files share: the lock that runs the timing-sensitive tests one at
//! a time (so they do not measure each other), what a test needs of this machine and
//! the one `skip` that prints `SKIPPED <test>: <why>` and passes when it lacks it, the
//! CSV reader, and the kill-mid-run check.

use crate::common::{bin, refused, run_in, text, walk, write, PREFORK};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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

/// What a test needs of this machine: programs, each with its Debian package, and
/// root (with the reason).
pub(crate) struct Needs {
    pub programs: &'static [(&'static str, &'static str)],
    pub root: Option<&'static str>,
}

/// The builtin server and the mock: nothing.
pub(crate) const NEEDS_NOTHING: Needs = Needs {
    programs: &[],
    root: None,
};
/// nginx + gunicorn run without root too (without a network namespace).
pub(crate) const NEEDS_NGINX_GUNICORN: Needs = Needs {
    programs: &[("nginx", "nginx"), ("gunicorn", "gunicorn")],
    root: None,
};
/// Dovecot's master runs its processes as other users; the tests' somaxconn needs a
/// namespace.
pub(crate) const NEEDS_DOVECOT: Needs = Needs {
    programs: &[("dovecot", "dovecot-imapd")],
    root: Some("the dovecot target needs root"),
};
/// The runs of these apply listener.somaxconn in a network namespace, and the servers
/// switch users.
const SERVERS_ROOT: Option<&str> = Some("the real-server runs need root (network namespaces)");
pub(crate) const NEEDS_PHP_FPM: Needs = Needs {
    programs: &[("nginx", "nginx"), ("php-fpm8.2", "php8.2-fpm")],
    root: SERVERS_ROOT,
};
pub(crate) const NEEDS_APACHE: Needs = Needs {
    programs: &[("apache2", "apache2-bin")],
    root: SERVERS_ROOT,
};
pub(crate) const NEEDS_COURIER: Needs = Needs {
    programs: &[("couriertcpd", "courier-base")],
    root: SERVERS_ROOT,
};

/// True, after printing `SKIPPED <test>: <why>`, when this machine lacks what `needs`
/// names.
pub(crate) fn skip(test: &str, needs: &Needs) -> bool {
    let missing: Vec<&(&str, &str)> = needs
        .programs
        .iter()
        .filter(|(p, _)| !installed(p))
        .collect();
    if !missing.is_empty() {
        let programs: Vec<&str> = missing.iter().map(|(p, _)| *p).collect();
        let packages: Vec<&str> = missing.iter().map(|(_, d)| *d).collect();
        eprintln!(
            "SKIPPED {test}: {} not installed (apt-get install -y {})",
            programs.join(" and "),
            packages.join(" ")
        );
        return true;
    }
    match needs.root {
        Some(why) if !is_root() => {
            eprintln!("SKIPPED {test}: {why}");
            true
        }
        _ => false,
    }
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
fn killing_the_harness_leaves_no_process_and_no_socket() {
    let _lock = serial();
    kill_mid_run("builtin", libc::SIGTERM);
    kill_mid_run("builtin", libc::SIGINT);
    kill_mid_run("builtin", libc::SIGKILL);
}

#[test]
fn killing_the_harness_stops_nginx_and_gunicorn() {
    if skip(
        "killing_the_harness_stops_nginx_and_gunicorn",
        &NEEDS_NGINX_GUNICORN,
    ) {
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
pub(crate) const DOVECOT: &str = r#"
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
fn killing_the_harness_stops_dovecot() {
    if skip("killing_the_harness_stops_dovecot", &NEEDS_DOVECOT) {
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
