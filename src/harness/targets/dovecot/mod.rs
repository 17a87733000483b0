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

use super::shared::{closed_ancestor, find_program, in_use, state, tail};
use crate::error::BadInput;
use crate::harness::servers::{Run, Servers};
use crate::harness::spec::{Endpoint, ServerLog};
use crate::harness::sys;
use crate::harness::target::{About, Outcomes, Report, Target};
use crate::model::Model;
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

/// "Dovecot needs root", said once for the harness and once for the supervisor.
const NEEDS_ROOT: &str = "the dovecot target needs root: Dovecot's master runs its login, \
     auth and imap processes as other users";

impl Target for Dovecot {
    fn about(&self) -> About {
        About::new("dovecot", "Dovecot").runs_chains()
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
        for i in 0..conf::USERS {
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
        let program: Program = state(run)?;
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
            users: conf::USERS,
            password: conf::PASSWORD.into(),
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

    /// Its log lines (the imap service alone's, or a chain's per service) beside the
    /// refused and dropped connections per run, and the time to the LOGIN's tagged OK.
    fn report(&self, m: &Model) -> Report {
        Report {
            records: "dovecot log",
            lines: conf::lines(m).into_iter().map(|l| l.counted).collect(),
            outcomes: Outcomes::Refused,
            login_latency: true,
        }
    }
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
    let login = format!("a LOGIN u0 {}\r\n", conf::PASSWORD);
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
