//! What a target works with inside the supervisor of a run: `Run` (the run's spec,
//! folder, ports and commands) and `Servers` (the processes it started, each with the
//! signal that stops it, and the unix socket paths the run created: bound only where
//! nothing is, removed only if they are still the run's own). Below both the targets
//! and the supervisor, which finds the run's target and hands it these.

use super::spec::RunSpec;
use super::sys;
use crate::error::BadInput;
use crate::model::Model;
use anyhow::{bail, Context, Result};
use socket2::{Domain, SockAddr, Socket, Type};
use std::cell::Cell;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// One run as a target sees it in the supervisor.
pub(crate) struct Run<'a> {
    pub spec: &'a RunSpec,
    spec_path: &'a Path,
    port: Cell<Option<u16>>,
    backend_port: Cell<Option<u16>>,
    /// The process list of the run's CPU-quota cgroup (`host.cpus`), which the
    /// target's pool joins (`confine`).
    cgroup: Option<PathBuf>,
}

impl<'a> Run<'a> {
    pub(super) fn new(spec: &'a RunSpec, spec_path: &'a Path, cgroup: Option<PathBuf>) -> Run<'a> {
        Run {
            spec,
            spec_path,
            port: Cell::new(None),
            backend_port: Cell::new(None),
            cgroup,
        }
    }

    /// Puts the process `cmd` starts, and so every process it forks, into the run's
    /// CPU-quota cgroup when the model gives `host.cpus` (SPEC 13): a target calls it
    /// for its pool's master (the builtin master, gunicorn, php-fpm), not for nginx,
    /// which stays outside as the load generator does.
    pub fn confine(&self, cmd: &mut Command) -> Result<()> {
        if let Some(procs) = &self.cgroup {
            sys::join_cgroup(cmd, procs)
                .with_context(|| format!("cannot join the cgroup of {}", procs.display()))?;
        }
        Ok(())
    }

    /// The run's own folder (configuration, logs, sockets); removed after the run.
    pub fn dir(&self) -> &'a Path {
        &self.spec.dir
    }

    pub fn model(&self) -> &'a Model {
        &self.spec.model
    }

    /// The loopback port the load generator connects to: `--port`, or a free one,
    /// chosen once a run.
    pub fn port(&self) -> Result<u16> {
        if let Some(p) = self.port.get() {
            return Ok(p);
        }
        let p = if self.spec.port != 0 {
            self.spec.port
        } else {
            free_port()?
        };
        self.port.set(Some(p));
        Ok(p)
    }

    /// A second free loopback port, other than `port`, for a server behind the first
    /// (gunicorn behind nginx); chosen once a run.
    pub fn backend_port(&self) -> Result<u16> {
        if let Some(p) = self.backend_port.get() {
            return Ok(p);
        }
        let front = self.port()?;
        let mut p = free_port()?;
        while p == front {
            p = free_port()?;
        }
        self.backend_port.set(Some(p));
        Ok(p)
    }

    /// `eagain __internal WHAT SPEC`, which dies with the supervisor; its stderr is
    /// the supervisor's.
    pub fn internal(&self, what: &str) -> Command {
        let exe = std::env::current_exe().unwrap_or_else(|_| "eagain".into());
        let mut cmd = Command::new(exe);
        cmd.arg("__internal").arg(what).arg(self.spec_path);
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
        sys::die_with_me(&mut cmd, libc::SIGKILL);
        cmd
    }

    /// Starts the load at `at` seconds on CLOCK_MONOTONIC rather than as soon as its
    /// process runs: a target with a maintenance tick puts the load in phase with it.
    pub fn start_load_at(&self, at: f64) -> Result<()> {
        super::loadgen::write_start_at(self.dir(), at)
    }

    /// A server program with no terminal input or output, which dies with the
    /// supervisor.
    pub fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        sys::die_with_me(&mut cmd, libc::SIGKILL);
        cmd
    }
}

/// A free loopback port in this namespace (a new namespace has them all free).
fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(l.local_addr()?.port())
}

/// The server processes of one run, each with the signal that stops it cleanly, and
/// the socket paths the run created.
#[derive(Default)]
pub(crate) struct Servers {
    running: Vec<(Child, i32)>,
    /// Servers started as the leaders of process groups of their own.
    leaders: Vec<i32>,
    paths: Vec<OwnedPath>,
}

/// A socket file this run created, known by its device, inode and change time (an
/// inode number is reused as soon as a file is removed): what is at the path at
/// clean-up is removed only if it is still that socket.
struct OwnedPath {
    path: PathBuf,
    id: FileId,
}

type FileId = (u64, u64, i64, i64);

fn file_id(m: &std::fs::Metadata) -> FileId {
    (m.dev(), m.ino(), m.ctime(), m.ctime_nsec())
}

impl OwnedPath {
    fn remove(&self) {
        use std::os::unix::fs::FileTypeExt;
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.file_type().is_socket() && file_id(&m) == self.id);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl Servers {
    /// A unix socket bound at `path`, for a server to listen on (with the model's
    /// backlog) after inheriting it (`sys::keep_fd`). The path is created
    /// exclusively: when anything is there already, bind fails and the run is
    /// refused, and nothing is removed. After the servers stop, the path is removed
    /// if it is still this socket.
    pub fn bind_unix(&mut self, path: &Path) -> Result<Socket> {
        let sock = Socket::new(Domain::UNIX, Type::STREAM, None).context("socket()")?;
        let addr =
            SockAddr::unix(path).with_context(|| format!("the socket path {}", path.display()))?;
        if let Err(e) = sock.bind(&addr) {
            if e.kind() == std::io::ErrorKind::AddrInUse {
                return Err(BadInput(format!(
                    "the socket path {} is in use (a file is there): remove it or give another \
                     --socket",
                    path.display()
                ))
                .into());
            }
            return Err(e).with_context(|| format!("cannot bind {}", path.display()));
        }
        let m = std::fs::symlink_metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        self.paths.push(OwnedPath {
            path: path.to_path_buf(),
            id: file_id(&m),
        });
        Ok(sock)
    }

    /// Starts `cmd` as a server of the run, stopped later with `stop_signal`.
    pub fn spawn(&mut self, cmd: &mut Command, stop_signal: i32, what: &str) -> Result<()> {
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        self.running.push((child, stop_signal));
        Ok(())
    }

    /// As `spawn`, for a server that signals its whole process group when it stops
    /// (Apache's prefork master does): it leads a group of its own, which `stop`
    /// also kills once the server has exited.
    pub fn spawn_group_leader(
        &mut self,
        cmd: &mut Command,
        stop_signal: i32,
        what: &str,
    ) -> Result<()> {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
        self.spawn(cmd, stop_signal, what)?;
        self.leaders.extend(self.pid(self.running.len() - 1));
        Ok(())
    }

    /// The process id of the `i`-th server started (0 first).
    pub fn pid(&self, i: usize) -> Option<i32> {
        self.running.get(i).map(|(c, _)| c.id() as i32)
    }

    /// The exit status of a server that has ended, if one has.
    pub(super) fn ended(&mut self) -> Result<Option<ExitStatus>> {
        for (c, _) in self.running.iter_mut() {
            if let Some(status) = c.try_wait()? {
                return Ok(Some(status));
            }
        }
        Ok(None)
    }

    /// Waits up to `seconds` for `ready` to give an answer while every server stays
    /// alive; `died` says what a server's early exit means.
    pub fn wait_until<T>(
        &mut self,
        seconds: f64,
        what: &str,
        mut ready: impl FnMut() -> Option<T>,
        died: impl FnOnce(ExitStatus) -> anyhow::Error,
    ) -> Result<T> {
        let end = sys::mono() + seconds;
        loop {
            interrupted()?;
            if let Some(t) = ready() {
                return Ok(t);
            }
            if let Some(status) = self.ended()? {
                return Err(died(status));
            }
            if sys::mono() > end {
                bail!("{what} was not ready within {seconds:.0} s");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stops every server with its signal, the last started first (nginx before
    /// gunicorn), kills one that has not exited 3 s later, then removes the run's
    /// socket paths that are still its own.
    pub fn stop(&mut self) {
        while let Some((mut c, sig)) = self.running.pop() {
            sys::kill(c.id() as i32, sig);
            if !wait_exit(&mut c, 3.0) {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        // What is left of the groups of their own (children of a killed server).
        for group in self.leaders.drain(..) {
            sys::kill_group(group, libc::SIGKILL);
        }
        for p in self.paths.drain(..) {
            p.remove();
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

/// An error once a stop signal has come.
pub(super) fn interrupted() -> Result<()> {
    match sys::stop_signal() {
        Some(sig) => bail!("stopped by signal {sig}"),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_path_where_a_file_is_is_refused_and_the_file_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken.sock");
        std::fs::write(&path, "someone else's").unwrap();
        let mut servers = Servers::default();
        let e = servers.bind_unix(&path).unwrap_err();
        let message = e.downcast_ref::<BadInput>().expect("bad input").0.clone();
        assert!(
            message.contains(&path.display().to_string()) && message.contains("in use"),
            "{message}"
        );
        servers.stop();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's");
    }

    #[test]
    fn clean_up_removes_the_runs_own_socket_and_nothing_put_in_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.sock");
        let mut servers = Servers::default();
        drop(servers.bind_unix(&path).unwrap());
        assert!(path.exists());
        servers.stop();
        assert!(!path.exists(), "the run's own socket stays");
        // Someone replaced the run's socket (perhaps on the same inode number): theirs
        // stays, a file or a socket.
        drop(servers.bind_unix(&path).unwrap());
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "someone else's").unwrap();
        servers.stop();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's");
        std::fs::remove_file(&path).unwrap();
        drop(servers.bind_unix(&path).unwrap());
        std::fs::remove_file(&path).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        let theirs = std::os::unix::net::UnixListener::bind(&path).unwrap();
        servers.stop();
        assert!(path.exists(), "another's socket was removed");
        drop(theirs);
    }
}
