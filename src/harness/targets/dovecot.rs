//! The `dovecot` target: Debian's Dovecot (2.3.19 here) started in the foreground
//! (`dovecot -F -c CONF`) from a configuration generated into the run's folder: its
//! own base_dir (sockets), state_dir, log files, a passwd-file of test users and their
//! maildirs, IMAP only, plaintext LOGIN without TLS, imap-login listening on a
//! loopback port.
//!
//! What the model maps to (reference C):
//! - `service imap`: process_limit, client_limit, service_count, process_min_avail and
//!   idle_kill from `pool.*`. Dovecot computes the listen backlog of its unix listener
//!   `login/imap` itself (process_limit x client_limit, at least 4, C1), so the model's
//!   `listener.backlog` must say the same (it is checked, not derived: the simulator
//!   and the real server must see one model). `listener.somaxconn` caps it through the
//!   run's network namespace, as for the other targets.
//! - `master.mode` must be "on-demand" (2.3 forks on demand, C3) and
//!   `master.drop_timeout` 10 s (SERVICE_DROP_TIMEOUT_MSECS, C5).
//! - The clients of the modelled queue are imap-login processes: after LOGIN each one
//!   connects to `login/imap` non-blocking and retries EAGAIN for 0.5 s with pauses of
//!   10 to 100 ms (C10), so the model must have `load.on_refused = "retry"` with those
//!   numbers. imap-login itself gets a process_limit of [`LOGIN_PROCESS_LIMIT`] and
//!   [`LOGIN_MIN_AVAIL`] preforked processes, so the login side (one process per
//!   connection, service_count 1) is never the bottleneck being measured.
//! - `work.blocking` is the IMAP session: the load generator logs in, keeps the session
//!   open that long (the imap process, client_limit 1, is blocked by it), then logs out.

use super::{find_program, in_use, tail, Target};
use crate::error::BadInput;
use crate::harness::measurement::{PointMeasurement, Prediction};
use crate::harness::spec::{Endpoint, RunSpec, ServerLog};
use crate::harness::supervisor::{Run, Servers};
use crate::harness::sys;
use crate::model::{ListenerKind, MasterMode, Model, OnRefused};
use crate::output::number;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Dovecot;

/// The program a run starts, found by `check_machine`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Program {
    dovecot: PathBuf,
}

/// "Dovecot needs root", said once for the harness and once for the supervisor.
const NEEDS_ROOT: &str = "the dovecot target needs root: Dovecot's master runs its login, \
     auth and imap processes as other users";

impl Target for Dovecot {
    fn name(&self) -> &'static str {
        "dovecot"
    }

    fn title(&self) -> &'static str {
        "Dovecot"
    }

    fn check_model(&self, m: &Model, _run_limit_s: f64) -> Result<(), String> {
        // Dovecot ends idle processes itself (idle_kill is passed on).
        check_expressible(m).map_err(|e| format!("the dovecot target cannot run {e}"))
    }

    fn check_machine(&self) -> Result<serde_json::Value, BadInput> {
        if !sys::is_root() {
            return Err(BadInput(NEEDS_ROOT.into()));
        }
        let tmp = std::env::temp_dir();
        if let Some(closed) = closed_ancestor(&tmp) {
            return Err(BadInput(format!(
                "the dovecot target keeps its files under {}, but {} is closed to other \
                 users and Dovecot's auth and imap processes run as unprivileged users: set \
                 TMPDIR to a folder such as /tmp, or chmod o+x {}",
                tmp.display(),
                closed.display(),
                closed.display()
            )));
        }
        mail_user()?;
        let dovecot = program()?;
        Ok(serde_json::to_value(Program { dovecot }).expect("a path serialises"))
    }

    /// The test users' maildirs and passwd-file, and dovecot.conf.
    fn prepare(&self, run: &Run) -> Result<()> {
        if !sys::is_root() {
            return Err(BadInput(NEEDS_ROOT.into()).into());
        }
        let dir = run.dir();
        if let Some(closed) = closed_ancestor(dir) {
            return Err(BadInput(format!(
                "the dovecot target needs its temporary folder {} reachable by Dovecot's \
                 unprivileged users, but {} is closed to others: set TMPDIR to a folder such \
                 as /tmp, or chmod o+x {}",
                dir.display(),
                closed.display(),
                closed.display()
            ))
            .into());
        }
        let (_, uid, gid) = mail_user()?;
        let mail = dir.join("mail");
        for i in 0..USERS {
            for sub in ["cur", "new", "tmp"] {
                let d = mail.join(format!("u{i}")).join(sub);
                std::fs::create_dir_all(&d)
                    .with_context(|| format!("cannot create {}", d.display()))?;
            }
        }
        // The maildirs belong to the mail user; the rest of the folder stays root's.
        for entry in walk_dirs(&mail) {
            std::os::unix::fs::chown(&entry, Some(uid), Some(gid))
                .with_context(|| format!("cannot chown {}", entry.display()))?;
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o700))?;
        }
        std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o755))?;
        std::fs::write(dir.join("users"), users_file(dir, uid, gid))
            .context("cannot write the passwd-file")?;
        let conf_path = dir.join(CONF);
        std::fs::write(&conf_path, conf(run.spec, run.port()?, uid))
            .with_context(|| format!("cannot write {}", conf_path.display()))
    }

    /// Dovecot's master in the foreground, once a test login works.
    fn start(&self, run: &Run, servers: &mut Servers) -> Result<Endpoint> {
        let program: Program = super::state(run)?;
        let dir = run.dir();
        let stderr_path = dir.join("dovecot-stderr.log");
        let stderr = std::fs::File::create(&stderr_path)
            .with_context(|| format!("cannot create {}", stderr_path.display()))?;
        let mut d = run.command(&program.dovecot);
        d.arg("-F")
            .arg("-c")
            .arg(dir.join(CONF))
            .current_dir(dir)
            .stderr(stderr);
        // SIGTERM: the master stops its services and exits.
        servers.spawn(
            &mut d,
            libc::SIGTERM,
            &program.dovecot.display().to_string(),
        )?;
        let port = run.port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let logs = || format!("{}\n{}", tail(&stderr_path, 10), tail(&dir.join(LOG), 10));
        let probed = servers.wait_until(
            30.0,
            "dovecot",
            || match probe_imap(addr) {
                Ok(false) => None,
                other => Some(other),
            },
            |status| {
                let t = logs();
                if in_use(&t) {
                    BadInput(format!(
                        "dovecot cannot listen on 127.0.0.1:{port}: the port is in use; give another --port\n{t}"
                    ))
                    .into()
                } else {
                    anyhow!("dovecot exited before it was ready ({status}):\n{t}")
                }
            },
        )?;
        if let Err(e) = probed {
            bail!("a test login to dovecot failed: {e}\n{}", logs());
        }
        // The probe's imap process (service_count 1) exits after its LOGOUT; let the
        // master see it, so that the run starts with the model's processes only.
        std::thread::sleep(Duration::from_millis(300));
        mark_log_start(dir);
        Ok(Endpoint::Imap {
            addr,
            users: USERS,
            password: PASSWORD.into(),
        })
    }

    fn read_logs(&self, run: &Run) -> ServerLog {
        ServerLog {
            lines: count_log_lines(run.dir()),
            ..ServerLog::default()
        }
    }

    /// The number of runs, its log lines summed over them, and the time to the
    /// LOGIN's tagged OK.
    fn measured_columns(&self) -> Vec<String> {
        let mut c: Vec<String> = vec!["runs".into()];
        c.extend(LOG_LINES.iter().map(|(k, _)| k.to_string()));
        c.extend(["login_latency_s_p50".into(), "login_latency_s_p99".into()]);
        c
    }

    fn measured_values(&self, m: &PointMeasurement) -> Vec<String> {
        let mut v = vec![m.runs.to_string()];
        v.extend(
            LOG_LINES
                .iter()
                .map(|(k, _)| m.server_log.get(*k).copied().unwrap_or(0).to_string()),
        );
        v.push(number(quantile(&m.login_latencies, 0.5)));
        v.push(number(quantile(&m.login_latencies, 0.99)));
        v
    }

    fn validation_columns(&self) -> Vec<String> {
        VALIDATION_LOG_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    fn validation_values(&self, m: &PointMeasurement, p: &Prediction) -> Vec<String> {
        let runs = f64::from(m.runs.max(1));
        let log = |k: &str| m.server_log.get(k).copied().unwrap_or(0) as f64 / runs;
        let (ps, ms) = (&p.summary, &m.summary);
        [
            (ps.refused + ps.dropped) as f64 / f64::from(p.replications.max(1)),
            (ms.refused + ms.dropped) as f64 / runs,
            log("log_connect_eagain"),
            log("log_limit_reached"),
        ]
        .map(number)
        .to_vec()
    }

    /// Its log-line counts beside the measured (and predicted) refusals, per run.
    fn point_lines(&self, m: &PointMeasurement, predicted: Option<&Prediction>) -> String {
        let runs = f64::from(m.runs.max(1));
        let get = |k: &str| m.server_log.get(k).copied().unwrap_or(0) as f64 / runs;
        let s = &m.summary;
        let mut text = format!(
            "  dovecot log per run: {:.1} x `net_connect_unix(imap) failed: Resource temporarily \
             unavailable`, {:.1} x `... reached, client connections are being dropped`, {:.1} \
             logins; measured refused+dropped {:.1}",
            get("log_connect_eagain"),
            get("log_limit_reached"),
            get("log_logins"),
            (s.refused + s.dropped) as f64 / runs
        );
        if let Some(p) = predicted {
            text += &format!(
                ", predicted {:.1}",
                (p.summary.refused + p.summary.dropped) as f64 / f64::from(p.replications.max(1))
            );
        }
        text += &format!(
            "; login latency p50 {:.4} s\n",
            quantile(&m.login_latencies, 0.5)
        );
        text
    }
}

/// Dovecot's columns of validation.csv after the spec'd ones, per run: predicted and
/// measured refused + dropped connections, and its log lines.
const VALIDATION_LOG_COLUMNS: [&str; 4] = [
    "predicted_refused_per_run",
    "measured_refused_per_run",
    "log_connect_eagain_per_run",
    "log_limit_reached_per_run",
];

/// The p-quantile of `xs` (nearest rank), NaN when empty.
fn quantile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// One IMAP login and logout through imap-login: `Ok(true)` when it worked,
/// `Ok(false)` when nothing listens yet, `Err` with the server's answer otherwise.
fn probe_imap(addr: SocketAddr) -> Result<bool, String> {
    use std::io::{BufRead, BufReader, Write};
    let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return Ok(false);
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut w = &s;
    let mut r = BufReader::new(&s);
    let mut line = String::new();
    let mut next = |r: &mut BufReader<&TcpStream>, tag: &str| -> Result<String, String> {
        loop {
            line.clear();
            match r.read_line(&mut line) {
                Ok(0) => return Err(format!("closed while waiting for `{tag}`")),
                Ok(_) if tag.is_empty() || line.starts_with(tag) => {
                    return Ok(line.trim_end().to_string())
                }
                Ok(_) => {}
                Err(e) => return Err(format!("{e} while waiting for `{tag}`")),
            }
        }
    };
    let greeting = next(&mut r, "")?;
    if !greeting.starts_with("* OK") {
        return Err(format!("greeting `{greeting}`"));
    }
    let login = format!("a LOGIN u0 {PASSWORD}\r\n");
    w.write_all(login.as_bytes()).map_err(|e| e.to_string())?;
    let reply = next(&mut r, "a ")?;
    if !reply.starts_with("a OK") || reply.contains("initialization failed") {
        return Err(format!("LOGIN answered `{reply}`"));
    }
    w.write_all(b"b LOGOUT\r\n").map_err(|e| e.to_string())?;
    let bye = next(&mut r, "b ")?;
    if !bye.starts_with("b OK") {
        return Err(format!("LOGOUT answered `{bye}`"));
    }
    Ok(true)
}

/// A folder and every folder under it.
fn walk_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.filter_map(|e| e.ok()) {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(walk_dirs(&e.path()));
            }
        }
    }
    out
}

/// Test users `u0` .. `u{USERS-1}`, all with [`PASSWORD`].
const USERS: usize = 50;
const PASSWORD: &str = "password";
/// imap-login's process_limit (Dovecot's default is 100): far above the logins in
/// flight of any run the harness allows at its rates (each lives about 10 ms, or
/// 0.5 s while it retries a full queue).
const LOGIN_PROCESS_LIMIT: u32 = 1000;
/// imap-login processes kept ready, so that a greeting does not wait for a fork.
const LOGIN_MIN_AVAIL: u32 = 4;
/// The most imap processes the harness starts.
const MAX_PROCESS_LIMIT: u32 = 1000;

/// The configuration's file name in the run's folder, and the log files.
const CONF: &str = "dovecot.conf";
const LOG: &str = "dovecot.log";
const INFO_LOG: &str = "dovecot-info.log";

/// Log lines counted after each run: (column name, what the line contains).
const LOG_LINES: [(&str, &str); 3] = [
    // imap-login gave up connecting to login/imap after its 0.5 s of retries (C10).
    (
        "log_connect_eagain",
        "net_connect_unix(imap) failed: Resource temporarily unavailable",
    ),
    // The master found no free slot at process_limit (C5), at most once a second;
    // "process_limit (N)", or "client_limit/service_count (1)" when process_limit = 1.
    (
        "log_limit_reached",
        "reached, client connections are being dropped",
    ),
    // imap-login handed a logged-in client to an imap process.
    ("log_logins", "imap-login: Info: Login: "),
];

/// The installed dovecot, or a message naming the Debian package.
fn program() -> Result<PathBuf, BadInput> {
    find_program("dovecot").ok_or_else(|| {
        BadInput(
            "the dovecot target needs Dovecot installed: apt-get install -y dovecot-imapd".into(),
        )
    })
}

/// What Debian's Dovecot 2.3 cannot run as the model says, naming the field.
fn check_expressible(m: &Model) -> Result<(), String> {
    if m.master.mode != MasterMode::OnDemand {
        let mode = serde_json::to_value(m.master.mode).unwrap_or_default();
        return Err(format!(
            "`master.mode` = {mode}: Dovecot 2.3 forks its imap processes on demand \
             (reference C3); use \"on-demand\" with the dovecot target"
        ));
    }
    if let Some(raw) = &m.master.dovecot_version {
        let v = crate::dovecot::Version::parse(raw);
        if !v.is_some_and(|v| v.at_least(2, 2, 26) && !v.at_least(2, 4, 2)) {
            return Err(format!(
                "`master.dovecot_version` = \"{raw}\": the installed Dovecot is 2.3, which \
                 behaves as 2.2.26 to 2.4.1 (no backlog cap, on-demand forks); leave it out \
                 or give a version in that range"
            ));
        }
    }
    if m.listener.kind != ListenerKind::Unix {
        return Err(
            "`listener.kind` = \"tcp\": imap-login reaches imap over the unix listener \
             login/imap; use \"unix\" with the dovecot target"
                .into(),
        );
    }
    let p = &m.pool;
    if p.process_limit > MAX_PROCESS_LIMIT {
        return Err(format!(
            "`pool.process_limit` = {}: the harness starts at most {MAX_PROCESS_LIMIT} real \
             imap processes",
            p.process_limit
        ));
    }
    if p.client_limit != 1 {
        return Err(format!(
            "`pool.client_limit` = {}: an imap process with more than one client does not \
             serialise their sessions as the model's processes do (Dovecot says client_limit \
             must be 1 for imap); use 1 with the dovecot target",
            p.client_limit
        ));
    }
    let backlog = crate::dovecot::backlog(p.process_limit, p.client_limit);
    if m.listener.backlog != backlog {
        return Err(format!(
            "`listener.backlog` = {}: Dovecot passes process_limit x client_limit (at least 4) \
             = {backlog} to listen() (reference C1); --set listener.backlog={backlog}",
            m.listener.backlog
        ));
    }
    if p.process_min_avail > p.process_limit {
        return Err(format!(
            "`pool.process_min_avail` = {} is above pool.process_limit = {}",
            p.process_min_avail, p.process_limit
        ));
    }
    if p.idle_kill.fract() != 0.0 || p.idle_kill >= 4_294_967_295.0 {
        return Err(format!(
            "`pool.idle_kill` = {}: Dovecot's idle_kill is whole seconds; give an integer \
             (0: never)",
            p.idle_kill
        ));
    }
    if m.master.drop_timeout != Some(crate::dovecot::DROP_TIMEOUT_S) {
        return Err(format!(
            "`master.drop_timeout` = {}: Dovecot's master drops connections after 10 s at \
             process_limit (SERVICE_DROP_TIMEOUT_MSECS, reference C5); set 10",
            m.master
                .drop_timeout
                .map_or("none".to_string(), |d| d.to_string())
        ));
    }
    let load = &m.load;
    if load.on_refused != OnRefused::Retry {
        return Err(
            "`load.on_refused` = \"fail\": the clients of login/imap are imap-login processes, \
             which retry EAGAIN (reference C10); use \"retry\" with the dovecot target"
                .into(),
        );
    }
    if load.retry_for != crate::dovecot::LOGIN_RETRY_S {
        return Err(format!(
            "`load.retry_for` = {}: imap-login retries for 0.5 s (SOCKET_CONNECT_RETRY_MSECS); \
             set 0.5",
            load.retry_for
        ));
    }
    let expected = crate::dist::DistSpec::Uniform {
        low: 0.01,
        high: 0.1,
    };
    if load.retry_pause != expected {
        let pause = serde_json::to_value(&load.retry_pause).unwrap_or_default();
        return Err(format!(
            "`load.retry_pause` = {pause}: imap-login pauses i_rand_minmax(1,10) x 10 ms; \
             set {{ dist = \"uniform\", low = 0.01, high = 0.1 }}"
        ));
    }
    if m.work.hold.mean() != 0.0 {
        return Err(
            "`work.hold`: an IMAP session keeps its imap process (client_limit 1) for its \
             whole length; put the session in work.blocking and leave hold at constant 0"
                .into(),
        );
    }
    Ok(())
}

/// The mail user: `nobody`, else `dovecot` (an existing unprivileged user).
fn mail_user() -> Result<(String, u32, u32), BadInput> {
    for name in ["nobody", "dovecot"] {
        if let Some((uid, gid)) = sys::user_ids(name) {
            if uid != 0 {
                return Ok((name.to_string(), uid, gid));
            }
        }
    }
    Err(BadInput(
        "the dovecot target needs an unprivileged user `nobody` or `dovecot` for the test \
         mailboxes"
            .into(),
    ))
}

/// The first folder on `dir`'s path that another user cannot enter (Dovecot's auth
/// and imap processes run as unprivileged users and must reach the run's files).
fn closed_ancestor(dir: &Path) -> Option<PathBuf> {
    let mut p = PathBuf::new();
    for c in dir.components() {
        p.push(c);
        if let Ok(m) = std::fs::metadata(&p) {
            if m.permissions().mode() & 0o001 == 0 {
                return Some(p);
            }
        }
    }
    None
}

/// The passwd-file of the test users, their mail under `dir/mail`.
fn users_file(dir: &Path, uid: u32, gid: u32) -> String {
    (0..USERS)
        .map(|i| {
            format!(
                "u{i}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}::\n",
                dir.join("mail").join(format!("u{i}")).display()
            )
        })
        .collect()
}

/// dovecot.conf for one run.
fn conf(spec: &RunSpec, port: u16, uid: u32) -> String {
    let p = &spec.model.pool;
    let d = |x: &str| spec.dir.join(x).display().to_string();
    // 0 in the model is "never"; Dovecot's way to say it is 2^32 - 1 (C12).
    let idle_kill = if p.idle_kill == 0.0 {
        4_294_967_295u64
    } else {
        p.idle_kill as u64
    };
    format!(
        "# Generated by eagain harness for one run; removed with its folder.\n\
         base_dir = {base}\n\
         state_dir = {state}\n\
         instance_name = {instance}\n\
         log_path = {log}\n\
         info_log_path = {info}\n\
         debug_log_path = {info}\n\
         ssl = no\n\
         disable_plaintext_auth = no\n\
         auth_mechanisms = plain\n\
         protocols = imap\n\
         listen = 127.0.0.1\n\
         first_valid_uid = {uid}\n\
         last_valid_uid = {uid}\n\
         mail_location = maildir:{mail}/%u\n\
         passdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
         userdb {{\n  driver = passwd-file\n  args = {users}\n}}\n\
         protocol imap {{\n  mail_max_userip_connections = 100000\n}}\n\
         service imap-login {{\n\
         \x20 inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
         \x20 inet_listener imaps {{\n    port = 0\n  }}\n\
         \x20 process_limit = {login_limit}\n\
         \x20 process_min_avail = {login_avail}\n\
         }}\n\
         service imap {{\n\
         \x20 process_limit = {pl}\n\
         \x20 client_limit = {cl}\n\
         \x20 service_count = {sc}\n\
         \x20 process_min_avail = {pma}\n\
         \x20 idle_kill = {idle_kill}s\n\
         }}\n",
        base = d("b"),
        state = d("state"),
        // The harness's folder name (eagain-harness-PID-...): Dovecot puts it in its
        // process titles, so that its processes can be told apart from any other.
        instance = spec
            .base
            .file_name()
            .map_or("eagain".into(), |n| n.to_string_lossy().to_string()),
        log = d(LOG),
        info = d(INFO_LOG),
        mail = d("mail"),
        users = d("users"),
        login_limit = LOGIN_PROCESS_LIMIT,
        login_avail = LOGIN_MIN_AVAIL,
        pl = p.process_limit,
        cl = p.client_limit,
        sc = p.service_count,
        pma = p.process_min_avail,
    )
}

/// Where the logs ended when the load started (after the readiness probe's login).
const LOG_START: &str = "log-start";

fn log_sizes(dir: &Path) -> [u64; 2] {
    [LOG, INFO_LOG].map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
}

/// Remembers where the logs end now: only later lines are counted.
fn mark_log_start(dir: &Path) {
    let [a, b] = log_sizes(dir);
    let _ = std::fs::write(dir.join(LOG_START), format!("{a} {b}"));
}

/// Counts the lines of [`LOG_LINES`] in the run's Dovecot logs written after
/// [`mark_log_start`].
fn count_log_lines(dir: &Path) -> BTreeMap<String, u64> {
    let start: Vec<usize> = std::fs::read_to_string(dir.join(LOG_START))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let mut text = String::new();
    for (k, f) in [LOG, INFO_LOG].iter().enumerate() {
        let all = std::fs::read(dir.join(f)).unwrap_or_default();
        let from = start.get(k).copied().unwrap_or(0).min(all.len());
        text += &String::from_utf8_lossy(&all[from..]);
        text.push('\n');
    }
    LOG_LINES
        .iter()
        .map(|(name, needle)| {
            (
                name.to_string(),
                text.lines().filter(|l| l.contains(needle)).count() as u64,
            )
        })
        .collect()
}
