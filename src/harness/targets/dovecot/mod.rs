//! The `dovecot` target: Debian's Dovecot (2.3.19 here) started in the foreground
//! (`dovecot -F -c CONF`) from a configuration generated into the run's folder: its
//! own base_dir (sockets), state_dir, log files, a passwd-file of test users and their
//! maildirs, IMAP only, plaintext LOGIN without TLS, imap-login listening on a
//! loopback port. Two kinds of model:
//!
//! - The imap service alone. `service imap` takes process_limit, client_limit,
//!   service_count, process_min_avail and idle_kill from `pool.*`; its clients are
//!   imap-login processes, so the model must retry EAGAIN as they do (`load.on_refused
//!   = "retry"`, 0.5 s, pauses of 10 to 100 ms; semantics: dovecot-login-retry).
//!   imap-login gets a process_limit of 1000 and 4 preforked processes, so the login
//!   side is never the bottleneck measured.
//! - The chain imap-login -> imap (any names: the first service is imap-login, its
//!   `next` imap). Both `service` sections come from the model, imap-login's too
//!   (process_limit, client_limit, service_count: 1 is the high-security login mode,
//!   0 high-performance; process_min_avail, idle_kill); the clients connect to
//!   imap-login over TCP, and the hop (imap-login's `connect` table) must retry as
//!   imap-login does. Both services share Dovecot's one master (one `master.process`
//!   label). Dovecot's log is counted per service: `log.LOGIN.*` and `log.IMAP.*`.
//!
//! For either: Dovecot computes every listener's backlog itself (process_limit x
//! client_limit, at least 4; semantics: dovecot-backlog), so the model's must say the
//! same (it is checked, not derived: the simulator and the real server must see one
//! model). `listener.somaxconn` caps it through the run's network namespace, as for
//! the other targets. The master must be `on-demand` (2.3 forks on demand; semantics:
//! dovecot-fork) with `drop_timeout` 10 s (semantics: dovecot-drop-timer). The imap
//! service's `work.blocking` is the IMAP session: the load generator logs in, keeps
//! the session open that long (the imap process, client_limit 1, is blocked by it),
//! then logs out.

mod check;
mod conf;

use super::{closed_ancestor, find_program, in_use, tail, Target};
use crate::error::BadInput;
use crate::harness::measurement::{PointMeasurement, Prediction};
use crate::harness::spec::{Endpoint, ServerLog};
use crate::harness::supervisor::{Run, Servers};
use crate::harness::sys;
use crate::model::Model;
use crate::output::number;
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
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

/// Test users `u0` .. `u{USERS-1}`, all with [`PASSWORD`].
const USERS: usize = 50;
const PASSWORD: &str = "password";

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

    fn runs_chains(&self) -> bool {
        true
    }

    fn check_model(&self, m: &Model, _run_limit_s: f64) -> Result<(), String> {
        // Dovecot ends idle processes itself (idle_kill is passed on).
        check::expressible(m).map_err(|e| format!("the dovecot target cannot run {e}"))
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
        std::fs::write(dir.join("users"), conf::users_file(dir, uid, gid))
            .context("cannot write the passwd-file")?;
        let conf_path = dir.join(conf::CONF);
        std::fs::write(&conf_path, conf::conf(run.spec, run.port()?, uid))
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
            .arg(dir.join(conf::CONF))
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
        let logs = || {
            format!(
                "{}\n{}",
                tail(&stderr_path, 10),
                tail(&dir.join(conf::LOG), 10)
            )
        };
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
        conf::mark_log_start(dir);
        Ok(Endpoint::Imap {
            addr,
            users: USERS,
            password: PASSWORD.into(),
        })
    }

    fn read_logs(&self, run: &Run) -> ServerLog {
        let (lines, services) = conf::count_log_lines(run.dir(), run.model());
        ServerLog {
            lines,
            services,
            ..ServerLog::default()
        }
    }

    /// The number of runs, its log lines summed over them, and the time to the
    /// LOGIN's tagged OK.
    fn measured_columns(&self, m: &Model) -> Vec<String> {
        let mut c: Vec<String> = vec!["runs".into()];
        c.extend(log_columns(m));
        c.extend(["login_latency_s_p50".into(), "login_latency_s_p99".into()]);
        c
    }

    fn measured_values(&self, m: &Model, point: &PointMeasurement) -> Vec<String> {
        let mut v = vec![point.runs.to_string()];
        v.extend(
            log_columns(m)
                .iter()
                .map(|k| point.server_log.get(k).copied().unwrap_or(0).to_string()),
        );
        v.push(number(quantile(&point.login_latencies, 0.5)));
        v.push(number(quantile(&point.login_latencies, 0.99)));
        v
    }

    /// Per run: predicted and measured refused + dropped connections, and its log
    /// lines (`log_connect_eagain_per_run`, or a chain's `log.SERVICE.WHAT_per_run`).
    fn validation_columns(&self, m: &Model) -> Vec<String> {
        let mut c: Vec<String> = vec![
            "predicted_refused_per_run".into(),
            "measured_refused_per_run".into(),
        ];
        let logs = log_columns(m);
        if m.is_chain() {
            c.extend(logs.iter().map(|k| format!("{k}_per_run")));
        } else {
            // log_logins stays in measured.csv only, as before chains.
            c.extend(logs[..2].iter().map(|k| format!("{k}_per_run")));
        }
        c
    }

    fn validation_values(
        &self,
        m: &Model,
        point: &PointMeasurement,
        p: &Prediction,
    ) -> Vec<String> {
        let runs = f64::from(point.runs.max(1));
        let log = |k: &str| point.server_log.get(k).copied().unwrap_or(0) as f64 / runs;
        let (ps, ms) = (&p.summary, &point.summary);
        let mut v = vec![
            (ps.refused + ps.dropped) as f64 / f64::from(p.replications.max(1)),
            (ms.refused + ms.dropped) as f64 / runs,
        ];
        let logs = log_columns(m);
        let shown = if m.is_chain() { &logs[..] } else { &logs[..2] };
        v.extend(shown.iter().map(|k| log(k)));
        v.into_iter().map(number).collect()
    }

    /// Its log-line counts beside the measured (and predicted) refusals, per run; for
    /// a chain per service, beside the simulator's refusals at that service.
    fn point_lines(
        &self,
        m: &Model,
        point: &PointMeasurement,
        predicted: Option<&Prediction>,
    ) -> String {
        let runs = f64::from(point.runs.max(1));
        let get = |k: &str| point.server_log.get(k).copied().unwrap_or(0) as f64 / runs;
        let s = &point.summary;
        let mut text = match m.services.as_slice() {
            [login, imap] => {
                let at = |name: &str| {
                    predicted
                        .and_then(|p| {
                            let reps = f64::from(p.replications.max(1));
                            p.summary
                                .services
                                .iter()
                                .find(|(n, _)| n == name)
                                .map(|(_, x)| {
                                    format!(
                                        " (predicted refused there {:.1})",
                                        x.refused as f64 / reps
                                    )
                                })
                        })
                        .unwrap_or_default()
                };
                let (l, i) = (&login.name, &imap.name);
                format!(
                    "  dovecot log per run: {l}: {:.1} logins, {:.1} x `service(imap-login): \
                     ... reached`, {:.1} x `Connection queue full`{}; {i}: {:.1} x \
                     `net_connect_unix(imap) failed: Resource temporarily unavailable`{}, {:.1} \
                     x `service(imap): ... reached`; measured refused+dropped {:.1}",
                    get(&format!("log.{l}.logins")),
                    get(&format!("log.{l}.limit_reached")),
                    get(&format!("log.{l}.queue_full")),
                    at(l),
                    get(&format!("log.{i}.connect_eagain")),
                    at(i),
                    get(&format!("log.{i}.limit_reached")),
                    (s.refused + s.dropped) as f64 / runs
                )
            }
            _ => format!(
                "  dovecot log per run: {:.1} x `net_connect_unix(imap) failed: Resource \
                 temporarily unavailable`, {:.1} x `... reached, client connections are being \
                 dropped`, {:.1} logins; measured refused+dropped {:.1}",
                get("log_connect_eagain"),
                get("log_limit_reached"),
                get("log_logins"),
                (s.refused + s.dropped) as f64 / runs
            ),
        };
        if let Some(p) = predicted {
            text += &format!(
                ", predicted {:.1}",
                (p.summary.refused + p.summary.dropped) as f64 / f64::from(p.replications.max(1))
            );
        }
        text += &format!(
            "; login latency p50 {:.4} s\n",
            quantile(&point.login_latencies, 0.5)
        );
        text
    }
}

/// The log columns of a run of `m`: the imap service alone's, or a chain's per service.
fn log_columns(m: &Model) -> Vec<String> {
    if m.is_chain() {
        conf::chain_lines(m).into_iter().map(|c| c.0).collect()
    } else {
        conf::LOG_LINES.iter().map(|(k, _)| k.to_string()).collect()
    }
}

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

/// The installed dovecot, or a message naming the Debian package.
fn program() -> Result<PathBuf, BadInput> {
    find_program("dovecot").ok_or_else(|| {
        BadInput(
            "the dovecot target needs Dovecot installed: apt-get install -y dovecot-imapd".into(),
        )
    })
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
