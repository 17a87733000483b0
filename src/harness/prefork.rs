//! The `builtin` target: a real pre-forking server, run as `eagain __internal serve`.
//!
//! A single-threaded master listens with the model's backlog, on a unix socket the
//! supervisor bound and passed down (the run owns its path) or on a TCP port of
//! loopback it binds itself, and forks real worker processes by `master.mode`:
//! - `prefork`: process_limit workers at the start; one that exits is replaced after
//!   `master.respawn_delay`, and the new one waits `master.startup` before it accepts.
//! - `on-demand` (Dovecot up to 2.4.1): the master watches the listener only while no
//!   worker has a free slot, forks one worker, and forks again only after that worker
//!   has started and reported that its slots are taken (reference C2, C3).
//! - `per-connection` (Dovecot 2.4.2): the master accepts and forks a worker that
//!   inherits the connection; forks are serialised by `master.fork_time`.
//!
//! With `master.drop_timeout`, at process_limit with no free slot the master stops
//! accepting for that long, then accepts and closes (reference C5).
//!
//! Workers report to the master through one pipe (a 5-byte message: a letter and the
//! pid): `R` started, `B` no free slot any more, `F` a slot is free again, `X` exiting
//! (the master need not wait for SIGCHLD to count it gone). A worker
//! reads a request line `W blocking hold`, does the blocking work of its connections
//! one after another (client_limit > 1 holds several connections, serialised), writes
//! `OK`, keeps the connection `hold` seconds, closes, and exits after service_count
//! connections. Every worker dies with the master (PR_SET_PDEATHSIG).

use super::spec::RunSpec;
use super::sys;
use crate::dist::Dist;
use crate::engine::stream;
use crate::engine::Rng64;
use crate::error::BadInput;
use crate::model::{ListenerKind, MasterMode, Service};
use crate::workload::Cost;
use anyhow::{Context, Result};
use socket2::{Domain, Socket, Type};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// File the master writes once its initial workers have started: the address.
pub const READY_FILE: &str = "server.ready";
/// File the master writes when it stops: `forks max_processes`.
pub const STATS_FILE: &str = "server.stats";
/// File the master writes when it cannot start (a port in use), or a worker when it
/// fails.
pub const ERROR_FILE: &str = "server.error";
/// The environment variable that names the descriptor of the unix listening socket the
/// supervisor bound for the master.
pub const LISTEN_FD_ENV: &str = "EAGAIN_LISTEN_FD";
/// Exit code of a master that could not start for a reason the user can fix (the
/// exit code of a `BadInput`).
pub const EXIT_BAD_INPUT: i32 = 2;

/// The unix socket the supervisor bound at the run's socket path and passed down
/// (`LISTEN_FD_ENV` names its descriptor): the supervisor owns the path.
fn inherited_listener(spec: &RunSpec) -> Result<Socket, String> {
    let fd: i32 = std::env::var(LISTEN_FD_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no listening socket passed in {LISTEN_FD_ENV}"))?;
    let sock = Socket::from(sys::inherited_fd(fd).map_err(|e| format!("descriptor {fd}: {e}"))?);
    let bound = sock
        .local_addr()
        .ok()
        .and_then(|a| a.as_pathname().map(|p| p.to_path_buf()));
    if bound.as_deref() != Some(spec.socket.as_path()) {
        return Err(format!(
            "descriptor {fd} is not a unix socket bound at {}",
            spec.socket.display()
        ));
    }
    Ok(sock)
}

/// The listening socket of service `s`, created with its backlog (the kernel caps it
/// by the namespace's somaxconn at listen() time, reference A4).
fn listen(spec: &RunSpec, s: &Service) -> Result<(Socket, String), String> {
    let backlog = i32::try_from(s.listener.backlog).unwrap_or(i32::MAX);
    let (sock, addr) = match s.listener.kind {
        ListenerKind::Unix => (inherited_listener(spec)?, spec.socket.display().to_string()),
        ListenerKind::Tcp => {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).map_err(|e| e.to_string())?;
            let want: SocketAddr = ([127, 0, 0, 1], spec.port).into();
            s.bind(&want.into()).map_err(|e| {
                if e.kind() == ErrorKind::AddrInUse {
                    format!(
                        "port {} on 127.0.0.1 is in use: give another --port",
                        spec.port
                    )
                } else {
                    format!("cannot bind {want}: {e}")
                }
            })?;
            let got = s
                .local_addr()
                .ok()
                .and_then(|a| a.as_socket())
                .ok_or("no local address")?;
            (s, got.to_string())
        }
    };
    sock.listen(backlog).map_err(|e| format!("listen(): {e}"))?;
    sock.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok((sock, addr))
}

struct WorkerState {
    /// Counted in `avail`: alive, listening, with a free slot.
    free: bool,
    started: bool,
    initial: bool,
}

struct PreforkMaster<'a> {
    spec: &'a RunSpec,
    /// The model's one service (the builtin target refuses a chain).
    service: &'a Service,
    listener: Socket,
    /// The status pipe: workers write, the master reads (a forked worker drops it).
    status_r: Option<OwnedFd>,
    status_w: OwnedFd,
    workers: HashMap<i32, WorkerState>,
    avail: u32,
    rng: Rng64,
    startup: Dist,
    fork_time: Dist,
    respawn_delay: Dist,
    respawns: Vec<f64>,
    drop_at: Option<f64>,
    dropping: bool,
    forks: u64,
    max_alive: u64,
    initial_waiting: usize,
    pid: i32,
}

/// Runs the master until SIGTERM, then exits the process. An error is also written to
/// [`ERROR_FILE`], where the supervisor reads why the server ended.
pub fn serve(spec: &RunSpec) -> Result<()> {
    let ended = run_master(spec);
    if let Err(e) = &ended {
        let _ = std::fs::write(spec.dir.join(ERROR_FILE), format!("{e:#}"));
    }
    ended
}

fn run_master(spec: &RunSpec) -> Result<()> {
    sys::catch_signals(true);
    let wait_mask = sys::block_signals();
    // The workers inherit both: timing noise stays small next to the work they sleep.
    sys::prefer_cpu();
    // A reason the user can fix: the `__internal serve` process exits with code 2.
    let m = spec
        .model
        .single()
        .map_err(|e| BadInput(format!("`{}`: the builtin server {}", e.path, e.message)))?;
    let (listener, addr) = listen(spec, m).map_err(BadInput)?;
    let (status_r, status_w) = sys::pipe().context("cannot make the status pipe")?;
    let mut master = PreforkMaster {
        spec,
        service: m,
        listener,
        status_r: Some(status_r),
        status_w,
        workers: HashMap::new(),
        avail: 0,
        rng: stream(spec.seed, spec.replication, crate::server::MASTER_STREAM),
        startup: m.master.startup.sampler(),
        fork_time: m.master.fork_time.sampler(),
        respawn_delay: m.master.respawn_delay.sampler(),
        respawns: Vec::new(),
        drop_at: None,
        dropping: false,
        forks: 0,
        max_alive: 0,
        initial_waiting: 0,
        pid: sys::getpid(),
    };
    // The builtin target refuses the modes with a maintenance tick.
    let initial = match m.master.mode {
        MasterMode::OnDemand | MasterMode::PerConnection => m.pool.process_min_avail,
        _ => m.pool.process_limit,
    };
    for _ in 0..initial {
        master.spawn(None, true)?;
    }
    master.initial_waiting = initial as usize;
    let mut announced = false;
    loop {
        if sys::stop_signal().is_some() {
            master.shutdown();
        }
        master.reap();
        master.read_status()?;
        if !announced && master.initial_waiting == 0 {
            // Written under another name and renamed: the supervisor never reads half.
            let ready = spec.dir.join(READY_FILE);
            let tmp = spec.dir.join(format!("{READY_FILE}.partial"));
            std::fs::write(&tmp, &addr)
                .and_then(|_| std::fs::rename(&tmp, &ready))
                .with_context(|| format!("cannot write {}", ready.display()))?;
            announced = true;
        }
        let now = sys::mono();
        master.timers(now)?;
        let watch = master.wants_listener();
        let mut fds = vec![libc::pollfd {
            fd: master.status_r.as_ref().map_or(-1, |r| r.as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        }];
        if watch {
            fds.push(libc::pollfd {
                fd: master.listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let timeout = master.next_timer().map(|t| (t - sys::mono()).max(0.0));
        sys::ppoll(&mut fds, timeout, &wait_mask).context("ppoll")?;
        if watch && fds[1].revents & libc::POLLIN != 0 {
            master.listener_readable()?;
        }
    }
}

impl PreforkMaster<'_> {
    fn alive(&self) -> u32 {
        self.workers.len() as u32
    }

    fn limit(&self) -> u32 {
        self.service.pool.process_limit
    }

    /// Dovecot's rule (reference C2): the master watches the listener only while no
    /// process has a free slot, to fork (on-demand), to accept (per-connection), to
    /// start the drop timer, or while it drops.
    fn wants_listener(&self) -> bool {
        if self.dropping {
            return true;
        }
        if self.avail > 0 || self.drop_at.is_some() {
            return false;
        }
        let mode = self.service.master.mode;
        (mode != MasterMode::Prefork && self.alive() < self.limit())
            || (self.alive() >= self.limit() && self.service.master.drop_timeout.is_some())
    }

    fn next_timer(&self) -> Option<f64> {
        self.respawns
            .iter()
            .copied()
            .chain(self.drop_at)
            .min_by(f64::total_cmp)
    }

    fn timers(&mut self, now: f64) -> Result<()> {
        let due: Vec<f64> = self
            .respawns
            .iter()
            .copied()
            .filter(|t| *t <= now)
            .collect();
        self.respawns.retain(|t| *t > now);
        for _ in due {
            if self.alive() < self.limit() {
                self.spawn(None, false)?;
            }
        }
        if self.drop_at.is_some_and(|t| t <= now) {
            // service_drop_timeout(): accept and close everything queued, then every
            // new connection until a slot frees (reference C5).
            self.drop_at = None;
            self.dropping = true;
            self.drain();
        }
        Ok(())
    }

    fn drain(&mut self) {
        while let Ok((conn, _)) = self.listener.accept() {
            drop(conn);
        }
    }

    fn listener_readable(&mut self) -> Result<()> {
        if self.dropping {
            self.drain();
            return Ok(());
        }
        if self.avail > 0 {
            return Ok(());
        }
        match self.service.master.mode {
            MasterMode::OnDemand if self.alive() < self.limit() => {
                self.spawn(None, false)?;
            }
            MasterMode::PerConnection if self.alive() < self.limit() => {
                match self.listener.accept() {
                    Ok((conn, _)) => self.spawn(Some(conn), false)?,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e).context("accept"),
                }
            }
            _ => {
                if self.alive() >= self.limit() && self.drop_at.is_none() {
                    if let Some(t) = self.service.master.drop_timeout {
                        self.drop_at = Some(sys::mono() + t);
                    }
                }
            }
        }
        Ok(())
    }

    /// A slot is free again: the master stops dropping and its timer is cancelled.
    fn slot_freed(&mut self) {
        self.drop_at = None;
        self.dropping = false;
    }

    /// Forks a worker. The master's own `fork_time` serialises forks; the worker
    /// starts serving `fork_time + startup` after the fork (as the simulator has it).
    fn spawn(&mut self, first: Option<Socket>, initial: bool) -> Result<()> {
        let (ft, st) = if initial {
            (0.0, 0.0)
        } else {
            let ft = self.fork_time.sample(&mut self.rng);
            (ft, self.startup.sample(&mut self.rng))
        };
        let pid = sys::fork().context("fork")?;
        if pid == 0 {
            sys::default_signals();
            sys::die_with_parent(libc::SIGKILL, self.pid);
            drop(self.status_r.take());
            let code = match worker(self, first, ft + st) {
                Ok(()) => 0,
                Err(e) => {
                    // The worker's last words, for the supervisor's message.
                    let _ = std::fs::write(
                        self.spec.dir.join(ERROR_FILE),
                        format!("worker {}: {e:#}", sys::getpid()),
                    );
                    1
                }
            };
            // Leave the forked copy without running the master's destructors.
            sys::exit_now(code);
        }
        let free = first.is_none();
        drop(first);
        self.workers.insert(
            pid,
            WorkerState {
                free,
                started: false,
                initial,
            },
        );
        if free {
            self.avail += 1;
        }
        if !initial {
            self.forks += 1;
        }
        self.max_alive = self.max_alive.max(u64::from(self.alive()));
        if ft > 0.0 {
            sys::sleep(ft);
        }
        Ok(())
    }

    fn reap(&mut self) {
        while let Some((pid, _)) = sys::reap_any() {
            self.exited(pid);
        }
    }

    /// A worker is gone: from its `X` message (sent as it exits, so the master counts
    /// it gone at once, as the simulator does) or from waitpid, whichever comes first.
    fn exited(&mut self, pid: i32) {
        let Some(w) = self.workers.remove(&pid) else {
            return;
        };
        if w.free {
            self.avail -= 1;
        }
        if w.initial && !w.started {
            self.initial_waiting = self.initial_waiting.saturating_sub(1);
        }
        self.slot_freed();
        // gunicorn replaces a worker that exited, after a random gap (semantics:
        // gunicorn-respawn).
        if self.service.master.mode == MasterMode::Prefork {
            let delay = self.respawn_delay.sample(&mut self.rng);
            self.respawns.push(sys::mono() + delay);
        }
    }

    fn read_status(&mut self) -> Result<()> {
        let mut buf = [0u8; 5 * 64];
        loop {
            let Some(status_r) = self.status_r.as_ref() else {
                return Ok(());
            };
            let n = match sys::read(status_r.as_fd(), &mut buf) {
                Ok(n) if n > 0 => n,
                _ => return Ok(()),
            };
            for msg in buf[..n].chunks_exact(5) {
                let pid = i32::from_le_bytes([msg[1], msg[2], msg[3], msg[4]]);
                if msg[0] == b'X' {
                    self.exited(pid);
                    continue;
                }
                let Some(w) = self.workers.get_mut(&pid) else {
                    continue;
                };
                match msg[0] {
                    b'R' => {
                        if w.initial && !w.started {
                            self.initial_waiting = self.initial_waiting.saturating_sub(1);
                        }
                        w.started = true;
                    }
                    b'B' => {
                        if w.free {
                            w.free = false;
                            self.avail -= 1;
                        }
                        self.extra_avail()?;
                    }
                    b'F' => {
                        if !w.free {
                            w.free = true;
                            self.avail += 1;
                        }
                        self.slot_freed();
                    }
                    _ => {}
                }
            }
        }
    }

    /// process_min_avail (reference C4): keep that many processes with a free slot,
    /// up to 10 forks at a time. A fork that fails ends the run: the server would no
    /// longer be the model's.
    fn extra_avail(&mut self) -> Result<()> {
        let min = self.service.pool.process_min_avail;
        if self.service.master.mode == MasterMode::Prefork || self.avail >= min {
            return Ok(());
        }
        let room = self.limit().saturating_sub(self.alive());
        let n = (min - self.avail).min(10).min(room);
        for _ in 0..n {
            self.spawn(None, false)?;
        }
        Ok(())
    }

    fn shutdown(&mut self) -> ! {
        for pid in self.workers.keys() {
            sys::kill(*pid, libc::SIGKILL);
        }
        let _ = std::fs::write(
            self.spec.dir.join(STATS_FILE),
            format!("{} {}\n", self.forks, self.max_alive),
        );
        std::process::exit(0);
    }

    fn status(&self) -> BorrowedFd<'_> {
        self.status_w.as_fd()
    }
}

/// One connection a worker holds.
struct Held {
    sock: Socket,
    request: Vec<u8>,
    state: HeldState,
}

#[derive(Clone, Copy, PartialEq)]
enum HeldState {
    /// Accepted; its request line has not arrived yet.
    Reading,
    /// Its request came (the n-th the worker read) and needs CPU: it waits for the
    /// worker to finish the connections before it, then burns its CPU time.
    Waiting(u64, Cost),
    /// Its blocking work ends (and the reply goes out) at this time.
    Working(f64, f64),
    /// Replied; it closes at this time.
    Holding(f64),
}

fn report(fd: BorrowedFd<'_>, kind: u8) {
    let pid = sys::getpid().to_le_bytes();
    let _ = sys::write_all(fd, &[kind, pid[0], pid[1], pid[2], pid[3]]);
}

/// A worker process: waits `delay`, then accepts and serves until service_count.
fn worker(master: &PreforkMaster<'_>, first: Option<Socket>, delay: f64) -> Result<()> {
    let pool = &master.service.pool;
    let status = master.status();
    let listener = &master.listener;
    let none = sys::no_signals();
    if delay > 0.0 {
        sys::sleep(delay);
    }
    report(status, b'R');
    let mut held: Vec<Held> = Vec::new();
    let mut accepted: u64 = 0;
    let mut listening = true;
    let mut busy_until = 0.0f64;
    // Requests read so far (their order, for the ones waiting to burn CPU).
    let mut read: u64 = 0;
    let has_slot = |listening: bool, held: usize| listening && (held as u32) < pool.client_limit;
    let mut take = |sock: Socket, held: &mut Vec<Held>, listening: &mut bool| {
        let _ = sock.set_nonblocking(true);
        held.push(Held {
            sock,
            request: Vec::new(),
            state: HeldState::Reading,
        });
        accepted += 1;
        // After service_count connections the process stops listening and exits once
        // its connections end (reference C7).
        if pool.service_count > 0 && accepted >= pool.service_count {
            *listening = false;
        }
    };
    if let Some(sock) = first {
        take(sock, &mut held, &mut listening);
    }
    loop {
        let slot_before = has_slot(listening, held.len());
        let now = sys::mono();
        // Timers: work that is done replies; holds that are over close.
        let mut i = 0;
        while i < held.len() {
            match held[i].state {
                HeldState::Working(done, hold) if done <= now => {
                    let _ = (&held[i].sock).write_all(b"OK\n");
                    if hold > 0.0 {
                        held[i].state = HeldState::Holding(done + hold);
                        i += 1;
                    } else {
                        held.swap_remove(i);
                    }
                }
                HeldState::Holding(until) if until <= now => {
                    held.swap_remove(i);
                }
                _ => i += 1,
            }
        }
        if !listening && held.is_empty() {
            report(status, b'X');
            return Ok(());
        }
        let slot_after = has_slot(listening, held.len());
        if slot_after && !slot_before {
            report(status, b'F');
        }
        let watch = has_slot(listening, held.len());
        let mut fds: Vec<libc::pollfd> = held
            .iter()
            .filter(|h| h.state == HeldState::Reading)
            .map(|h| libc::pollfd {
                fd: h.sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if watch {
            fds.push(libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
        }
        let next = held
            .iter()
            .filter_map(|h| match h.state {
                HeldState::Working(t, _) | HeldState::Holding(t) => Some(t),
                // It starts when the work before it ends.
                HeldState::Waiting(..) => Some(busy_until),
                HeldState::Reading => None,
            })
            .min_by(f64::total_cmp);
        let timeout = next.map(|t| (t - sys::mono()).max(0.0));
        sys::ppoll(&mut fds, timeout, &none).context("ppoll")?;
        let before = has_slot(listening, held.len());
        if watch && fds.last().is_some_and(|f| f.revents & libc::POLLIN != 0) {
            match listener.accept() {
                Ok((sock, _)) => take(sock, &mut held, &mut listening),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).context("accept"),
            }
        }
        // Requests that arrived start their work, one after another.
        let mut i = 0;
        while i < held.len() {
            if held[i].state != HeldState::Reading {
                i += 1;
                continue;
            }
            let mut buf = [0u8; 256];
            match (&held[i].sock).read(&mut buf) {
                Ok(0) => {
                    held.swap_remove(i);
                    continue;
                }
                Ok(n) => held[i].request.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => {
                    held.swap_remove(i);
                    continue;
                }
            }
            if let Some(cost) = parse_request(&held[i].request) {
                read += 1;
                held[i].state = HeldState::Waiting(read, cost);
            }
            i += 1;
        }
        start_work(&mut held, &mut busy_until);
        if before && !has_slot(listening, held.len()) {
            report(status, b'B');
        }
    }
}

/// Starts the work of the connections whose requests came, in the order they came,
/// one after another: work that is only blocking is timed from the end of the work
/// before it (its reply goes out then); work with a CPU part waits until that end,
/// then burns its CPU time here in a busy loop (the worker serves nothing meanwhile,
/// as a real sync worker), then sleeps its blocking time as a timer.
fn start_work(held: &mut [Held], busy_until: &mut f64) {
    loop {
        let first = held
            .iter()
            .enumerate()
            .filter_map(|(i, h)| match h.state {
                HeldState::Waiting(n, c) => Some((n, i, c)),
                _ => None,
            })
            .min_by_key(|&(n, _, _)| n);
        let Some((_, i, cost)) = first else { return };
        let now = sys::mono();
        if cost.cpu > 0.0 {
            if *busy_until > now {
                return;
            }
            sys::burn_cpu(cost.cpu);
            *busy_until = sys::mono() + cost.blocking;
        } else {
            *busy_until = busy_until.max(now) + cost.blocking;
        }
        held[i].state = HeldState::Working(*busy_until, cost.hold);
    }
}

/// `W blocking hold [cpu]\n` → the connection's work (cpu 0 when left out).
pub fn parse_request(buf: &[u8]) -> Option<Cost> {
    let line = std::str::from_utf8(buf).ok()?.split('\n').next()?;
    if !buf.contains(&b'\n') {
        return None;
    }
    let mut words = line.split_whitespace();
    let none = Cost {
        blocking: 0.0,
        hold: 0.0,
        cpu: 0.0,
    };
    if words.next()? != "W" {
        return Some(none);
    }
    let b: f64 = words.next()?.parse().ok()?;
    let mut number = || {
        words
            .next()
            .and_then(|w| w.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (h, c) = (number(), number());
    // NaN is refused by max (it gives the other operand); an endless CPU time would
    // keep the worker busy past the run, so it is none.
    Some(Cost {
        blocking: b.max(0.0),
        hold: h.max(0.0),
        cpu: if c.is_finite() { c.max(0.0) } else { 0.0 },
    })
}

/// The request line the load generator sends to the builtin server: the CPU part
/// only when there is one, so that a model without `work.cpu` sends what it sent.
pub fn request_line(c: &Cost) -> String {
    if c.cpu > 0.0 {
        format!("W {:.9} {:.9} {:.9}\n", c.blocking, c.hold, c.cpu)
    } else {
        format!("W {:.9} {:.9}\n", c.blocking, c.hold)
    }
}

/// True when `path` holds the builtin server's address file.
pub fn ready_address(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(READY_FILE)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_request_line_carries_the_work_draws() {
        let c = Cost {
            blocking: 0.0734,
            hold: 0.5,
            cpu: 0.0,
        };
        assert_eq!(request_line(&c), "W 0.073400000 0.500000000\n");
        assert_eq!(parse_request(request_line(&c).as_bytes()), Some(c));
        let c = Cost { cpu: 0.05, ..c };
        assert_eq!(parse_request(request_line(&c).as_bytes()), Some(c));
        assert_eq!(parse_request(b"W 0.1"), None, "an unfinished line waits");
        assert_eq!(
            parse_request(b"W 0.1 0 -3\n").map(|c| c.cpu),
            Some(0.0),
            "a negative CPU time is none"
        );
        assert_eq!(parse_request(b"W 0.1 0 inf\n").map(|c| c.cpu), Some(0.0));
    }

    #[test]
    fn burning_cpu_uses_that_much_of_the_threads_cpu_clock() {
        let before = sys::thread_cpu_time();
        sys::burn_cpu(0.02);
        let used = sys::thread_cpu_time() - before;
        assert!((0.02..0.03).contains(&used), "{used}");
    }
}
