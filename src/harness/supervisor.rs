//! One run, as `eagain __internal supervise SPEC`: the process that owns everything a
//! run starts. The harness starts it as the leader of a new process group, with
//! PR_SET_PDEATHSIG = SIGTERM (so it cleans up if the harness dies), and, as root, in
//! new network and PID namespaces. There it brings the loopback up, sets the model's
//! somaxconn, starts a PID-1 placeholder (when it dies, the kernel kills every process
//! left in the namespace), the server (builtin, or gunicorn and nginx), waits until
//! the server is ready, runs the load generator, stops everything, removes the run's
//! folder and writes a `RunOutcome` (for Dovecot, with the counts of its log lines).

use super::dovecot;
use super::nginx;
use super::prefork::{self, ERROR_FILE, EXIT_BAD_INPUT, STATS_FILE};
use super::spec::{Endpoint, LoadResult, RunOutcome, RunSpec, Target};
use super::sys;
use crate::error::BadInput;
use anyhow::{anyhow, bail, Context, Result};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LOAD_FILE: &str = "load.json";
const ENDPOINT_FILE: &str = "endpoint.json";

/// The processes of one run, stopped in order by `stop`.
#[derive(Default)]
struct Procs {
    init: Option<Child>,
    /// Each server process with the signal that stops it cleanly.
    servers: Vec<(Child, i32)>,
    loadgen: Option<Child>,
}

impl Procs {
    fn stop(&mut self) {
        if let Some(mut c) = self.loadgen.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Servers in reverse order of start (nginx before gunicorn).
        while let Some((mut c, sig)) = self.servers.pop() {
            sys::kill(c.id() as i32, sig);
            if !wait_exit(&mut c, 3.0) {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        if let Some(mut c) = self.init.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits up to `seconds` for a child to exit.
fn wait_exit(c: &mut Child, seconds: f64) -> bool {
    let end = sys::mono() + seconds;
    loop {
        if let Ok(Some(_)) = c.try_wait() {
            return true;
        }
        if sys::mono() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn internal(spec_path: &Path, what: &str) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| "eagain".into());
    let mut cmd = Command::new(exe);
    cmd.arg("__internal").arg(what).arg(spec_path);
    cmd.stdin(Stdio::null()).stdout(Stdio::null());
    sys::die_with_me(&mut cmd, libc::SIGKILL);
    cmd
}

fn interrupted() -> Result<()> {
    match sys::stop_signal() {
        Some(sig) => bail!("stopped by signal {sig}"),
        None => Ok(()),
    }
}

pub fn supervise(spec_path: &Path) -> Result<()> {
    let spec = RunSpec::read(spec_path)?;
    sys::catch_signals(false);
    let mut procs = Procs::default();
    let measured = measure(&spec, spec_path, &mut procs);
    procs.stop();
    let outcome = match measured {
        Ok(load) => {
            let (forks, max_processes) = std::fs::read_to_string(spec.dir.join(STATS_FILE))
                .ok()
                .and_then(|t| {
                    let mut w = t.split_whitespace().map(|x| x.parse::<u64>().ok());
                    Some((w.next()??, w.next()??))
                })
                .unwrap_or((0, 0));
            let server_log = if spec.target == Target::Dovecot {
                dovecot::count_log_lines(&spec.dir)
            } else {
                Default::default()
            };
            RunOutcome::Measured {
                load,
                forks,
                max_processes,
                server_log,
            }
        }
        Err(e) => match e.downcast_ref::<BadInput>() {
            Some(b) => RunOutcome::BadInput(b.0.clone()),
            None => RunOutcome::Failed(format!("{e:#}")),
        },
    };
    let _ = std::fs::remove_file(&spec.socket);
    let _ = std::fs::remove_dir_all(&spec.dir);
    if sys::stop_signal().is_some() {
        // The harness is gone or was interrupted: leave nothing of it behind.
        let _ = std::fs::remove_dir_all(&spec.base);
        return Ok(());
    }
    std::fs::write(&spec.result, serde_json::to_string(&outcome)?)
        .with_context(|| format!("cannot write {}", spec.result.display()))?;
    Ok(())
}

fn measure(spec: &RunSpec, spec_path: &Path, procs: &mut Procs) -> Result<LoadResult> {
    if spec.namespace {
        sys::loopback_up().context("cannot bring up the loopback interface in the namespace")?;
        sys::set_somaxconn(spec.model.listener.somaxconn).map_err(|e| {
            BadInput(format!(
                "cannot set net.core.somaxconn = {} in the run's network namespace: {e}",
                spec.model.listener.somaxconn
            ))
        })?;
        // PID 1 of the new PID namespace: when it exits, every process left in the
        // namespace is killed by the kernel, whatever happened to the others.
        procs.init = Some(
            internal(spec_path, "init")
                .spawn()
                .context("cannot start the namespace's first process")?,
        );
    }
    let endpoint = match spec.target {
        Target::Builtin => start_builtin(spec, spec_path, procs)?,
        Target::NginxGunicorn => start_nginx_gunicorn(spec, procs)?,
        Target::Dovecot => start_dovecot(spec, procs)?,
    };
    interrupted()?;
    let endpoint_path = spec.dir.join(ENDPOINT_FILE);
    std::fs::write(&endpoint_path, serde_json::to_string(&endpoint)?)
        .with_context(|| format!("cannot write {}", endpoint_path.display()))?;
    let mut cmd = internal(spec_path, "loadgen");
    procs.loadgen = Some(cmd.spawn().context("cannot start the load generator")?);
    let limit = sys::mono() + spec.run_limit_s + 30.0;
    loop {
        interrupted()?;
        let lg = procs.loadgen.as_mut().expect("started above");
        if let Some(status) = lg.try_wait()? {
            if !status.success() {
                bail!("the load generator failed ({status})");
            }
            break;
        }
        for (c, _) in procs.servers.iter_mut() {
            if let Some(status) = c.try_wait()? {
                bail!("the server exited during the run ({status})");
            }
        }
        if sys::mono() > limit {
            bail!(
                "the load generator did not finish within {:.0} s",
                spec.run_limit_s + 30.0
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    procs.loadgen = None;
    let path = spec.dir.join(LOAD_FILE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// Waits for `ready` to give an answer while `procs`' servers stay alive.
fn wait_until<T>(
    procs: &mut Procs,
    seconds: f64,
    what: &str,
    mut ready: impl FnMut() -> Option<T>,
    mut died: impl FnMut(std::process::ExitStatus) -> anyhow::Error,
) -> Result<T> {
    let end = sys::mono() + seconds;
    loop {
        interrupted()?;
        if let Some(t) = ready() {
            return Ok(t);
        }
        for (c, _) in procs.servers.iter_mut() {
            if let Some(status) = c.try_wait()? {
                return Err(died(status));
            }
        }
        if sys::mono() > end {
            bail!("{what} was not ready within {seconds:.0} s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn start_builtin(spec: &RunSpec, spec_path: &Path, procs: &mut Procs) -> Result<Endpoint> {
    let mut cmd = internal(spec_path, "serve");
    procs.servers.push((
        cmd.spawn().context("cannot start the server")?,
        libc::SIGTERM,
    ));
    let dir = spec.dir.clone();
    let addr = wait_until(
        procs,
        15.0,
        "the builtin server",
        || prefork::ready_address(&dir),
        |status| {
            let message = std::fs::read_to_string(dir.join(ERROR_FILE)).unwrap_or_default();
            if status.code() == Some(EXIT_BAD_INPUT) {
                BadInput(message).into()
            } else {
                anyhow!("the builtin server exited before it was ready ({status}): {message}")
            }
        },
    )?;
    Ok(match spec.model.listener.kind {
        crate::model::ListenerKind::Unix => Endpoint::Unix(spec.socket.clone()),
        crate::model::ListenerKind::Tcp => Endpoint::Tcp(
            addr.trim()
                .parse()
                .with_context(|| format!("the server's address `{addr}`"))?,
        ),
    })
}

/// A free loopback port in this namespace (a new namespace has them all free).
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?.port())
}

/// One GET through nginx; true on a 200.
fn probe(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /?b=0 HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1) == Some("200")
}

fn in_use(log: &str) -> bool {
    log.contains("in use") || log.contains("Address already in use")
}

fn start_nginx_gunicorn(spec: &RunSpec, procs: &mut Procs) -> Result<Endpoint> {
    let (Some(nginx_bin), Some(gunicorn_bin)) = (&spec.nginx, &spec.gunicorn) else {
        return Err(nginx::programs()
            .err()
            .unwrap_or(BadInput(
                "the nginx-gunicorn target needs nginx and gunicorn".into(),
            ))
            .into());
    };
    let dir = &spec.dir;
    std::fs::write(dir.join(format!("{}.py", nginx::APP_MODULE)), nginx::APP)
        .context("cannot write the WSGI app")?;
    let port = if spec.port != 0 {
        spec.port
    } else {
        free_port()?
    };
    let gport = if spec.model.listener.kind == crate::model::ListenerKind::Tcp {
        let mut p = free_port()?;
        while p == port {
            p = free_port()?;
        }
        p
    } else {
        0
    };
    let (bind, upstream) = nginx::upstream(spec, gport);
    let log = dir.join("gunicorn.log");
    let mut g = Command::new(gunicorn_bin);
    g.args(nginx::gunicorn_args(spec, &bind))
        .current_dir(dir)
        .env("EAGAIN_READY_DIR", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sys::die_with_me(&mut g, libc::SIGKILL);
    // SIGQUIT: gunicorn's quick shutdown.
    procs.servers.push((
        g.spawn()
            .with_context(|| format!("cannot start {}", gunicorn_bin.display()))?,
        libc::SIGQUIT,
    ));
    let workers = spec.model.pool.process_limit as usize;
    let logp = log.clone();
    wait_until(
        procs,
        60.0,
        "gunicorn",
        || {
            let n = std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(|e| e.ok())
                        .filter(|e| {
                            e.file_name()
                                .to_string_lossy()
                                .starts_with(nginx::READY_PREFIX)
                        })
                        .count()
                })
                .unwrap_or(0);
            (n >= workers).then_some(())
        },
        |status| {
            let t = nginx::tail(&logp, 10);
            if in_use(&t) {
                BadInput(format!("gunicorn cannot bind {bind}: it is in use:\n{t}")).into()
            } else {
                anyhow!("gunicorn exited before its workers started ({status}):\n{t}")
            }
        },
    )?;
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        nginx::nginx_conf(spec, port, &upstream, sys::is_root()),
    )
    .with_context(|| format!("cannot write {}", conf.display()))?;
    let err_log = dir.join("nginx-error.log");
    let mut n = Command::new(nginx_bin);
    n.arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(&err_log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    sys::die_with_me(&mut n, libc::SIGKILL);
    procs.servers.push((
        n.spawn()
            .with_context(|| format!("cannot start {}", nginx_bin.display()))?,
        libc::SIGTERM,
    ));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    wait_until(
        procs,
        15.0,
        "nginx",
        || probe(addr).then_some(()),
        |status| {
            let t = nginx::tail(&err_log, 10);
            if in_use(&t) {
                BadInput(format!(
                    "nginx cannot listen on 127.0.0.1:{port}: the port is in use; give another --port\n{t}"
                ))
                .into()
            } else {
                anyhow!("nginx exited before it was ready ({status}):\n{t}")
            }
        },
    )?;
    Ok(Endpoint::Http(addr))
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
    let login = format!("a LOGIN u0 {}\r\n", dovecot::PASSWORD);
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

fn start_dovecot(spec: &RunSpec, procs: &mut Procs) -> Result<Endpoint> {
    use std::os::unix::fs::PermissionsExt;
    let bin = match &spec.dovecot {
        Some(b) => b.clone(),
        None => dovecot::program()?,
    };
    if !sys::is_root() {
        return Err(BadInput(
            "the dovecot target needs root: Dovecot's master runs its login, auth and imap              processes as other users"
                .into(),
        )
        .into());
    }
    let dir = &spec.dir;
    if let Some(closed) = dovecot::closed_ancestor(dir) {
        return Err(BadInput(format!(
            "the dovecot target needs its temporary folder {} reachable by Dovecot's              unprivileged users, but {} is closed to others: set TMPDIR to a folder such as              /tmp, or chmod o+x {}",
            dir.display(),
            closed.display(),
            closed.display()
        ))
        .into());
    }
    let (_, uid, gid) = dovecot::mail_user()?;
    let mail = dir.join("mail");
    for i in 0..dovecot::USERS {
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
    std::fs::write(dir.join("users"), dovecot::users_file(dir, uid, gid))
        .context("cannot write the passwd-file")?;
    let port = if spec.port != 0 {
        spec.port
    } else {
        free_port()?
    };
    let conf = dir.join(dovecot::CONF);
    std::fs::write(&conf, dovecot::conf(spec, port, uid))
        .with_context(|| format!("cannot write {}", conf.display()))?;
    let stderr_path = dir.join("dovecot-stderr.log");
    let stderr = std::fs::File::create(&stderr_path)?;
    let mut d = Command::new(&bin);
    d.arg("-F")
        .arg("-c")
        .arg(&conf)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr);
    sys::die_with_me(&mut d, libc::SIGKILL);
    // SIGTERM: the master stops its services and exits.
    procs.servers.push((
        d.spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?,
        libc::SIGTERM,
    ));
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let logs = || {
        format!(
            "{}\n{}",
            nginx::tail(&stderr_path, 10),
            nginx::tail(&dir.join(dovecot::LOG), 10)
        )
    };
    let probed = wait_until(
        procs,
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
    // The probe's imap process (service_count 1) exits after its LOGOUT; let the master
    // see it, so that the run starts with the model's processes only.
    std::thread::sleep(Duration::from_millis(300));
    dovecot::mark_log_start(dir);
    Ok(Endpoint::Imap(addr))
}

/// A folder and every folder under it.
fn walk_dirs(dir: &Path) -> Vec<std::path::PathBuf> {
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

/// `eagain __internal loadgen SPEC`: runs the load and writes what it measured.
pub fn loadgen(spec_path: &Path) -> Result<()> {
    let spec = RunSpec::read(spec_path)?;
    let text = std::fs::read_to_string(spec.dir.join(ENDPOINT_FILE))?;
    let endpoint: Endpoint = serde_json::from_str(&text)?;
    let result = super::loadgen::run(&spec, &endpoint)?;
    std::fs::write(spec.dir.join(LOAD_FILE), serde_json::to_string(&result)?)?;
    Ok(())
}

/// `eagain __internal init`: PID 1 of a run's PID namespace. It reaps orphans and
/// dies with the supervisor; its death ends the namespace.
pub fn init() -> Result<()> {
    loop {
        if !sys::wait_any() {
            // No children right now: sleep until one appears (or a signal ends us).
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
