//! The open-loop load generator, run as `eagain __internal loadgen` in a process of
//! its own. It sends every connection at its scheduled time whatever the server does
//! (constant: the n-th at n/rate; poisson: exponential gaps), from the simulator's own
//! random streams for the run's replication, so the real run and the simulated one
//! see the same arrival times and the same work draws. One thread, one epoll loop, a
//! timerfd for the schedule and the timeouts, non-blocking connects.
//!
//! Each connection ends in one outcome: served (the reply came before load.timeout),
//! refused (EAGAIN on a unix socket after the model's on_refused rule; a TCP connect
//! that did not complete within connect_timeout; HTTP 502 or 504 from nginx),
//! dropped (closed without a reply), timed_out (load.timeout). Latency is measured
//! from the intended send time, so a late send is never hidden (no coordinated
//! omission), and the largest lag behind the schedule is reported: the harness
//! refuses a run in which the client, not the server, was slow.
//!
//! Against Dovecot (`Endpoint::Imap`) a connection is an IMAP session: the greeting,
//! `a LOGIN uN password`, the tagged reply, the session held open for the
//! connection's blocking draw, `b LOGOUT` and its tagged OK. Served: logged in and
//! out; its latency runs to the LOGOUT's OK (the end of the work, as the simulator's
//! reply), and the time to the LOGIN's OK is kept apart (`login_latencies`). Refused:
//! closed without a tagged reply to LOGIN (imap-login's connect to login/imap failed
//! after its 0.5 s of retries, reference C10, or the master dropped it, C5).

use super::prefork::request_line;
use super::spec::{Endpoint, LoadResult, RunSpec};
use super::sys;
use crate::engine::stream;
use crate::model::{ListenerKind, OnRefused};
use crate::workload::{self, Cost, Workload};
use anyhow::{Context, Result};
use socket2::{Domain, SockAddr, Socket, Type};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;

/// When the n-th connection is meant to be sent, and its work: the simulator's own
/// draws for this replication (`workload`). For a chain the work the load generator
/// asks for is the last service's (gunicorn's sleep behind nginx, the IMAP session in
/// imap behind imap-login; the front's own work is the real server's), drawn from
/// the stream the simulator draws that service's work from, in the order of the
/// arrivals (the simulator draws in the order connections reach that service, which
/// is the same order unless they overtake each other on the way).
pub fn schedule(spec: &RunSpec) -> Vec<(f64, Cost)> {
    let m = &spec.model;
    let mut plan = Workload::new(m).schedule(spec.seed, spec.replication);
    if let Some((index, last)) = chain_end(m) {
        let purpose = workload::SERVICE_WORK_STREAM + index as u64;
        let mut rng = stream(spec.seed, spec.replication, purpose);
        // Its CPU part from its own stream, as the simulator draws it.
        let cpu_purpose = workload::SERVICE_CPU_STREAM + index as u64;
        let mut cpu_rng = stream(spec.seed, spec.replication, cpu_purpose);
        let (blocking, hold) = (last.work.blocking.sampler(), last.work.hold.sampler());
        let cpu = last.work.cpu.sampler();
        for (_, cost) in &mut plan {
            cost.blocking = blocking.sample(&mut rng);
            cost.hold = if hold.is_zero() {
                0.0
            } else {
                hold.sample(&mut rng)
            };
            cost.cpu = if cpu.is_zero() {
                0.0
            } else {
                cpu.sample(&mut cpu_rng)
            };
        }
    }
    plan
}

/// A chain's last service, where `next` ends, and its index (None for one service).
pub fn chain_end(m: &crate::model::Model) -> Option<(usize, &crate::model::Service)> {
    if !m.is_chain() {
        return None;
    }
    let mut i = 0;
    // The model's check guarantees that `next` ends (no cycle).
    for _ in 0..m.services.len() {
        let next = m.services[i].next.as_deref();
        match next.and_then(|n| m.services.iter().position(|s| s.name == n)) {
            Some(j) => i = j,
            None => break,
        }
    }
    Some((i, &m.services[i]))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Not sent yet.
    Pending,
    /// Waiting to try connect() again after EAGAIN (on_refused = "retry").
    Retrying,
    Connecting,
    /// Connected; the request is (being) sent and the reply awaited.
    Waiting,
    Done,
}

/// One connection the load generator sends, from its intended send time to its
/// outcome.
struct Outgoing {
    intended: f64,
    counted: bool,
    blocking: f64,
    hold: f64,
    /// CPU seconds the server burns for it (`work.cpu`).
    cpu: f64,
    sock: Option<Socket>,
    state: State,
    request: Vec<u8>,
    written: usize,
    reply: Vec<u8>,
    /// IMAP: where the conversation is, and when LOGIN was answered OK.
    phase: Imap,
    login_at: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Imap {
    Greeting,
    Login,
    Session,
    Logout,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Timer {
    /// load.timeout: the client gives up.
    Deadline,
    /// The connect did not complete in time.
    ConnectDeadline,
    Retry,
    /// IMAP: the session has lasted its blocking time; log out.
    Hold,
}

#[derive(Debug, Clone, Copy)]
struct Due {
    at: f64,
    seq: u64,
    conn: usize,
    what: Timer,
}

impl PartialEq for Due {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Due {
    // Reversed: BinaryHeap is a max-heap and the earliest must come out first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.at.total_cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Served,
    Refused,
    Dropped,
    TimedOut,
}

struct Gen<'a> {
    spec: &'a RunSpec,
    endpoint: &'a Endpoint,
    t0: f64,
    epoll: &'a sys::Epoll,
    timer: &'a sys::TimerFd,
    conns: Vec<Outgoing>,
    heap: BinaryHeap<Due>,
    seq: u64,
    open: usize,
    result: LoadResult,
    retry_rng: crate::engine::Rng64,
    retry_pause: crate::dist::Dist,
    /// The connect() give-up time after the first try, for TCP (seconds).
    connect_limit: Option<f64>,
}

const TIMER_TOKEN: u64 = u64::MAX;

/// Runs the load of one run against `endpoint` and returns what it measured.
pub fn run(spec: &RunSpec, endpoint: &Endpoint) -> Result<LoadResult> {
    sys::raise_open_files();
    sys::prefer_cpu();
    // A pool in a CPU quota burns its CPUs in bursts (on every core at once until the
    // period's quota is spent): the load generator, which mostly waits, runs ahead of
    // it so that it keeps its schedule (without, it fell 10-40 ms behind).
    if spec.model.host.as_ref().is_some_and(|h| h.cpus.is_some()) {
        sys::prefer_realtime();
    }
    let plan = schedule(spec);
    let m = &spec.model;
    let epoll = sys::Epoll::new().context("epoll_create1")?;
    let timer = sys::TimerFd::new().context("timerfd_create")?;
    epoll
        .watch(timer.raw(), libc::EPOLLIN as u32, TIMER_TOKEN)
        .context("epoll_ctl")?;
    let tcp_like = matches!(
        endpoint,
        Endpoint::Tcp(_) | Endpoint::HttpTcp(_) | Endpoint::Imap { .. }
    );
    let connect_limit = if tcp_like {
        let (_, give_up) = m.front().listener.syn_schedule.times();
        Some(m.load.connect_timeout.map_or(give_up, |t| t.min(give_up)))
    } else {
        None
    };
    let warmup = m.sim.warmup;
    // A target that keeps a maintenance tick asks for the load to start in phase with
    // it (the simulator's ticks come at whole multiples of master.tick).
    let t0 = match start_at(&spec.dir) {
        Some(at) => {
            sys::sleep(at - sys::mono());
            at
        }
        None => sys::mono(),
    };
    let mut g = Gen {
        spec,
        endpoint,
        t0,
        epoll: &epoll,
        timer: &timer,
        conns: plan
            .iter()
            .map(|&(t, w)| Outgoing {
                intended: t,
                counted: t >= warmup,
                blocking: w.blocking,
                hold: w.hold,
                cpu: w.cpu,
                sock: None,
                state: State::Pending,
                request: Vec::new(),
                written: 0,
                reply: Vec::new(),
                phase: Imap::Greeting,
                login_at: 0.0,
            })
            .collect(),
        heap: BinaryHeap::new(),
        seq: 0,
        open: 0,
        result: LoadResult::default(),
        retry_rng: stream(spec.seed, spec.replication, workload::RETRY),
        retry_pause: m.load.retry_pause.sampler(),
        connect_limit,
    };
    g.result.offered = g.conns.iter().filter(|c| c.counted).count() as u64;
    let mut next = 0usize;
    let mut ready: Vec<(u32, u64)> = Vec::new();
    loop {
        let now = g.now();
        // Sends that are due, each at its own time whatever the server does.
        while next < g.conns.len() && g.conns[next].intended <= now {
            let lag = g.now() - g.conns[next].intended;
            if lag > g.result.max_lag_s {
                g.result.max_lag_s = lag;
                g.result.lag_connection = next as u64 + 1;
            }
            g.start(next);
            next += 1;
        }
        while let Some(d) = g.heap.peek().copied() {
            if d.at > g.now() {
                break;
            }
            g.heap.pop();
            g.timer(d);
        }
        if next >= g.conns.len() && g.open == 0 {
            break;
        }
        let now = g.now();
        if now > spec.run_limit_s {
            g.result.unfinished = g.open as u64;
            for i in 0..g.conns.len() {
                if !matches!(g.conns[i].state, State::Done | State::Pending) {
                    g.conns[i].sock = None;
                    g.conns[i].state = State::Done;
                }
            }
            break;
        }
        let wake = [
            g.conns.get(next).map(|c| c.intended),
            g.heap.peek().map(|d| d.at),
            Some(spec.run_limit_s + 0.001),
        ]
        .into_iter()
        .flatten()
        .min_by(f64::total_cmp)
        .expect("the run limit is always there");
        g.arm(wake);
        epoll.wait(&mut ready, 1000).context("epoll_wait")?;
        for &(events, token) in &ready {
            if token == TIMER_TOKEN {
                timer.drain();
                continue;
            }
            g.ready(token as usize, events);
        }
    }
    g.result.end_s = g.now();
    Ok(g.result)
}

impl<'a> Gen<'a> {
    fn now(&self) -> f64 {
        sys::mono() - self.t0
    }

    fn arm(&self, at: f64) {
        self.timer.arm_at(self.t0 + at.max(0.0));
    }

    fn push(&mut self, at: f64, conn: usize, what: Timer) {
        self.seq += 1;
        self.heap.push(Due {
            at,
            seq: self.seq,
            conn,
            what,
        });
    }

    /// The connection is sent: its deadline is set and it tries to connect.
    fn start(&mut self, i: usize) {
        self.open += 1;
        let c = &mut self.conns[i];
        c.state = State::Connecting;
        c.request = match self.endpoint {
            // The CPU part only when there is one: a model without `work.cpu` sends
            // what it sent.
            Endpoint::Http(_) | Endpoint::FastCgi(_) | Endpoint::HttpTcp(_) => format!(
                "GET /?b={:.9}{} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n",
                c.blocking,
                if c.cpu > 0.0 {
                    format!("&c={:.9}", c.cpu)
                } else {
                    String::new()
                }
            )
            .into_bytes(),
            // imap-login speaks first: LOGIN is sent after its greeting.
            Endpoint::Imap { .. } => Vec::new(),
            _ => request_line(&Cost {
                blocking: c.blocking,
                hold: c.hold,
                cpu: c.cpu,
            })
            .into_bytes(),
        };
        let intended = c.intended;
        if let Some(t) = self.spec.model.load.timeout {
            self.push(intended + t, i, Timer::Deadline);
        }
        if let Some(limit) = self.connect_limit {
            self.push(intended + limit, i, Timer::ConnectDeadline);
        }
        self.connect(i);
    }

    fn connect(&mut self, i: usize) {
        let (domain, addr) = match self.endpoint {
            Endpoint::Unix(p) => (Domain::UNIX, SockAddr::unix(p)),
            Endpoint::Tcp(a)
            | Endpoint::Http(a)
            | Endpoint::FastCgi(a)
            | Endpoint::HttpTcp(a)
            | Endpoint::Imap { addr: a, .. } => (Domain::IPV4, Ok(SockAddr::from(*a))),
            Endpoint::Simulated => return self.unexpected(i, "no server to connect to"),
        };
        let sock = match Socket::new(domain, Type::STREAM, None)
            .and_then(|s| s.set_nonblocking(true).map(|_| s))
        {
            Ok(s) => s,
            Err(e) => return self.unexpected(i, &format!("socket(): {e}")),
        };
        let addr = match addr {
            Ok(a) => a,
            Err(e) => return self.unexpected(i, &format!("address: {e}")),
        };
        match sock.connect(&addr) {
            Ok(()) => {
                self.conns[i].sock = Some(sock);
                self.connected(i);
            }
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
                self.register(&sock, i, libc::EPOLLOUT as u32);
                self.conns[i].sock = Some(sock);
                self.conns[i].state = State::Connecting;
            }
            // A non-blocking unix connect() to a full queue fails at once (reference A2).
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => self.eagain(i),
            Err(e) => self.unexpected(i, &describe(&e)),
        }
    }

    /// EAGAIN: give up (nginx's 502) or pause and try again while retry_for lasts
    /// (Dovecot's imap-login, reference C10).
    fn eagain(&mut self, i: usize) {
        let load = &self.spec.model.load;
        if load.on_refused == OnRefused::Retry
            && self.spec.model.front().listener.kind == ListenerKind::Unix
        {
            let now = self.now();
            let next = now + self.retry_pause.sample(&mut self.retry_rng);
            if next - self.conns[i].intended < load.retry_for {
                self.conns[i].state = State::Retrying;
                self.push(next, i, Timer::Retry);
                return;
            }
        }
        self.finish(i, Outcome::Refused);
    }

    fn register(&self, sock: &Socket, i: usize, events: u32) {
        // A socket the kernel will not watch shows up as a connection with no outcome
        // at the run's time limit.
        let _ = self.epoll.watch(sock.as_raw_fd(), events, i as u64);
    }

    /// Connected: send the request and wait for the reply.
    fn connected(&mut self, i: usize) {
        self.conns[i].state = State::Waiting;
        self.send(i);
    }

    fn send(&mut self, i: usize) {
        let c = &mut self.conns[i];
        let Some(sock) = c.sock.as_ref() else { return };
        while c.written < c.request.len() {
            match (&*sock).write(&c.request[c.written..]) {
                Ok(n) => c.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
        let events = if c.written < c.request.len() {
            libc::EPOLLIN | libc::EPOLLOUT
        } else {
            libc::EPOLLIN
        };
        let sock = c.sock.take().expect("checked above");
        self.register(&sock, i, events as u32);
        self.conns[i].sock = Some(sock);
    }

    fn ready(&mut self, i: usize, events: u32) {
        let state = self.conns[i].state;
        match state {
            State::Connecting => {
                let err = self.conns[i]
                    .sock
                    .as_ref()
                    .map(|s| s.take_error())
                    .unwrap_or(Ok(None));
                match err {
                    Ok(None) => self.connected(i),
                    Ok(Some(e)) | Err(e) => {
                        if e.raw_os_error() == Some(libc::ETIMEDOUT) {
                            // The kernel's own SYN retransmissions gave up (reference B4).
                            self.finish(i, Outcome::Refused)
                        } else {
                            self.unexpected(i, &describe(&e))
                        }
                    }
                }
            }
            State::Waiting => {
                if events & libc::EPOLLOUT as u32 != 0 {
                    self.send(i);
                }
                if events & (libc::EPOLLIN | libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0 {
                    self.read_reply(i);
                }
            }
            State::Pending | State::Retrying | State::Done => {}
        }
    }

    fn read_reply(&mut self, i: usize) {
        let mut buf = [0u8; 4096];
        loop {
            let Some(sock) = self.conns[i].sock.as_ref() else {
                return;
            };
            match (&*sock).read(&mut buf) {
                Ok(0) => {
                    if matches!(self.endpoint, Endpoint::Imap { .. }) {
                        let outcome = self.imap_closed(i);
                        return self.finish(i, outcome);
                    }
                    // Closed without a reply: accepted and dropped (reference C5).
                    return self.finish(i, Outcome::Dropped);
                }
                Ok(n) => {
                    self.conns[i].reply.extend_from_slice(&buf[..n]);
                    if let Some(outcome) = self.classify(i) {
                        return self.finish(i, outcome);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(_) if matches!(self.endpoint, Endpoint::Imap { .. }) => {
                    let outcome = self.imap_closed(i);
                    return self.finish(i, outcome);
                }
                Err(_) => return self.finish(i, Outcome::Dropped),
            }
        }
    }

    /// IMAP: the server closed the connection; the outcome by where it was.
    fn imap_closed(&mut self, i: usize) -> Outcome {
        match self.conns[i].phase {
            // No tagged reply to LOGIN: imap-login could not hand the client to an
            // imap process (EAGAIN after its retries, or the master dropped it).
            Imap::Login => Outcome::Refused,
            // The tagged OK may come after the close is seen in the same read.
            Imap::Logout => Outcome::Served,
            // In a chain imap-login is a service of the model: its master's drop
            // (semantics: dovecot-drop-login) closes a connection before the greeting,
            // which the simulator counts as dropped.
            Imap::Greeting if self.spec.model.is_chain() => Outcome::Dropped,
            Imap::Greeting => {
                self.note("IMAP: closed before the greeting");
                Outcome::Refused
            }
            Imap::Session => {
                self.note("IMAP: closed during the session");
                Outcome::Dropped
            }
        }
    }

    fn note(&mut self, what: &str) {
        *self.result.unexpected.entry(what.to_string()).or_default() += 1;
    }

    /// IMAP: consumes the complete lines received; an outcome once there is one.
    fn imap_progress(&mut self, i: usize, users: usize, password: &str) -> Option<Outcome> {
        loop {
            let c = &mut self.conns[i];
            let end = c.reply.iter().position(|&b| b == b'\n')?;
            let line = String::from_utf8_lossy(&c.reply[..end])
                .trim_end()
                .to_string();
            c.reply.drain(..=end);
            let phase = c.phase;
            let short: String = line.chars().take(60).collect();
            match phase {
                Imap::Greeting if line.starts_with("* OK") => {
                    let login = format!("a LOGIN u{} {password}\r\n", i % users.max(1));
                    let c = &mut self.conns[i];
                    c.phase = Imap::Login;
                    c.request = login.into_bytes();
                    c.written = 0;
                    self.send(i);
                }
                Imap::Login | Imap::Session | Imap::Logout if line.starts_with("* ") => {}
                Imap::Login if line.starts_with("a OK") => {
                    let now = self.now();
                    let c = &mut self.conns[i];
                    c.phase = Imap::Session;
                    c.login_at = now;
                    let at = now + c.blocking;
                    self.push(at, i, Timer::Hold);
                }
                Imap::Logout if line.starts_with("b OK") => return Some(Outcome::Served),
                _ => {
                    self.note(&format!("IMAP {phase:?}: `{short}`"));
                    return Some(Outcome::Refused);
                }
            }
        }
    }

    /// The outcome once the reply's first line is complete.
    fn classify(&mut self, i: usize) -> Option<Outcome> {
        let endpoint: &'a Endpoint = self.endpoint;
        if let Endpoint::Imap {
            users, password, ..
        } = endpoint
        {
            return self.imap_progress(i, *users, password);
        }
        let reply = &self.conns[i].reply;
        let end = reply.iter().position(|&b| b == b'\n')?;
        let line = String::from_utf8_lossy(&reply[..end]).trim().to_string();
        match self.endpoint {
            Endpoint::Http(_) | Endpoint::FastCgi(_) | Endpoint::HttpTcp(_) => {
                let code: u16 = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                let fastcgi = matches!(self.endpoint, Endpoint::FastCgi(_));
                let proxied = fastcgi || matches!(self.endpoint, Endpoint::Http(_));
                match code {
                    200 => Some(Outcome::Served),
                    // nginx in front of a FastCGI pool on a unix socket: a queued
                    // connection that waited past fastcgi_read_timeout (semantics:
                    // nginx-queued-504).
                    504 if fastcgi => Some(Outcome::TimedOut),
                    // nginx: 502 for EAGAIN on a unix upstream, 504 for
                    // proxy_connect_timeout (reference E1 to E5; semantics:
                    // nginx-failure-status); a 504 in a chain may be a time-out after
                    // proxy_read_timeout.
                    502 if proxied => Some(Outcome::Refused),
                    504 if proxied => Some(self.gateway_timeout(i)),
                    other => {
                        *self
                            .result
                            .unexpected
                            .entry(format!("HTTP {other}"))
                            .or_default() += 1;
                        Some(Outcome::Refused)
                    }
                }
            }
            _ if line == "OK" => Some(Outcome::Served),
            _ => {
                *self
                    .result
                    .unexpected
                    .entry(format!("reply `{line}`"))
                    .or_default() += 1;
                Some(Outcome::Dropped)
            }
        }
    }

    /// nginx's 504. A single-service model has no place for nginx's own timeouts: it
    /// counts as refused (SPEC 4). In a chain the simulator's proxy gives up as nginx
    /// does: after proxy_read_timeout (the front's `connect.timeout`) the client has
    /// timed out (semantics: nginx-queued-504); a 504 sooner than that can only be
    /// proxy_connect_timeout on a TCP upstream, a refusal (semantics: nginx-tcp-full).
    fn gateway_timeout(&self, i: usize) -> Outcome {
        // A single service's connect table is the default one, with no timeout.
        let read = self
            .spec
            .model
            .front()
            .connect
            .timeout
            .unwrap_or(f64::INFINITY);
        if self.now() - self.conns[i].intended >= read {
            Outcome::TimedOut
        } else {
            Outcome::Refused
        }
    }

    fn timer(&mut self, d: Due) {
        let state = self.conns[d.conn].state;
        if matches!(state, State::Done | State::Pending) {
            return;
        }
        match d.what {
            Timer::Deadline => self.finish(d.conn, Outcome::TimedOut),
            Timer::ConnectDeadline if state == State::Connecting => {
                // nginx's proxy_connect_timeout (reference E4): refused.
                self.finish(d.conn, Outcome::Refused)
            }
            Timer::ConnectDeadline => {}
            Timer::Retry if state == State::Retrying => self.connect(d.conn),
            Timer::Retry => {}
            Timer::Hold if state == State::Waiting && self.conns[d.conn].phase == Imap::Session => {
                let c = &mut self.conns[d.conn];
                c.phase = Imap::Logout;
                c.request = b"b LOGOUT\r\n".to_vec();
                c.written = 0;
                self.send(d.conn);
            }
            Timer::Hold => {}
        }
    }

    fn unexpected(&mut self, i: usize, what: &str) {
        *self.result.unexpected.entry(what.to_string()).or_default() += 1;
        self.finish(i, Outcome::Refused);
    }

    fn finish(&mut self, i: usize, outcome: Outcome) {
        let now = self.now();
        let load_timeout = self.spec.model.load.timeout;
        let c = &mut self.conns[i];
        if matches!(c.state, State::Done | State::Pending) {
            return;
        }
        c.sock = None;
        c.state = State::Done;
        c.reply = Vec::new();
        self.open -= 1;
        if !c.counted {
            return;
        }
        // Like the simulator: an outcome after the client's deadline is a time-out.
        let late = load_timeout.is_some_and(|t| now > c.intended + t);
        let outcome = if late && outcome != Outcome::TimedOut {
            Outcome::TimedOut
        } else {
            outcome
        };
        let r = &mut self.result;
        match outcome {
            Outcome::Served => {
                r.served += 1;
                r.latencies.push(now - c.intended);
                if c.phase == Imap::Logout {
                    r.login_latencies.push(c.login_at - c.intended);
                }
            }
            Outcome::Refused => r.refused += 1,
            Outcome::Dropped => r.dropped += 1,
            Outcome::TimedOut => r.timed_out += 1,
        }
    }
}

fn describe(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => "ECONNREFUSED (no server listening)".to_string(),
        Some(libc::ENOENT) => "ENOENT (no socket file)".to_string(),
        _ => e.to_string(),
    }
}

/// The file in a run's folder that names, on CLOCK_MONOTONIC, when the load starts.
const START_FILE: &str = "load-start";

/// When the target asked the load to start (`write_start_at`), if it did.
pub fn start_at(dir: &std::path::Path) -> Option<f64> {
    std::fs::read_to_string(dir.join(START_FILE))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Asks the load generator of the run in `dir` to start at `at` seconds on
/// CLOCK_MONOTONIC (the clock is the machine's, whatever the namespace).
pub fn write_start_at(dir: &std::path::Path, at: f64) -> Result<()> {
    let path = dir.join(START_FILE);
    std::fs::write(&path, format!("{at:.9}"))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Counts as a map key: which unexpected outcomes a run saw, for messages.
pub fn unexpected_text(m: &BTreeMap<String, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{v} x {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::testing::{model, spec};
    use crate::server::Compiled;

    #[test]
    fn the_load_generator_sends_the_simulators_arrivals() {
        for arrival in ["poisson", "constant"] {
            let m = model(&[&format!("load.arrival={arrival}")]);
            for r in 0..3 {
                let plan = schedule(&spec(m.clone(), r));
                let simulated = Compiled::new(&m).run(7, r);
                assert_eq!(
                    plan.len() as u64,
                    simulated.unwrap().offered,
                    "{arrival} rep {r}"
                );
            }
        }
        // Constant: the n-th at n / rate, rate x duration of them (SPEC 1.1).
        let plan = schedule(&spec(model(&["load.arrival=constant"]), 0));
        assert_eq!(plan.len(), 200);
        assert_eq!(plan[0].0, 1.0 / 40.0);
        assert_eq!(plan[199].0, 5.0);
    }
}
