//! The clients: open-loop arrivals, the connect() that meets a station's kernel
//! queue, what a client does when the queue is full (unix EAGAIN: fail or retry; tcp:
//! the SYN is dropped and retransmitted), and the outcome each client connection ends
//! in, counted once, at the station where it ends. In a chain a process connecting to
//! the next service is a client too, with its hop's rules (`hop.rs`).

use super::compile::Rules;
use super::station::{Behaviour, Station};
use super::{Conn, Ev, Shared, Sim, NONE};
use crate::model::{ListenerKind, OnRefused};
use crate::stats::{self, RepStats};

/// How a connection ended without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Refused,
    Dropped,
}

impl Shared<'_> {
    /// Schedules the next connection, or ends the arrivals.
    #[inline(always)]
    pub(super) fn schedule_next_arrival(&mut self) {
        match self.clients.next_arrival() {
            // Exactly one arrival is pending at a time: it waits in the queue's lane.
            Some(at) => {
                self.q.schedule_lane(at, Ev::Arrival);
            }
            // A run of n connections (a burst) is observed until the last one is
            // resolved: the window closes when the run ends.
            None => self.arrivals_done = true,
        }
    }

    /// A new connection record (a slot reused when one is free); None when the run
    /// must stop for holding too many (`run` reports it).
    #[inline]
    pub(super) fn add_conn(&mut self, conn: Conn) -> Option<u32> {
        let id = match self.free_conns.pop() {
            Some(id) => {
                self.conns[id as usize] = conn;
                id
            }
            None => {
                if self.conns.len() >= super::MAX_OPEN {
                    self.arrivals_done = true;
                    self.open = 0;
                    self.conns.push(conn);
                    self.q.clear();
                    return None;
                }
                self.conns.push(conn);
                (self.conns.len() - 1) as u32
            }
        };
        self.open += 1;
        Some(id)
    }

    /// The connection's record is free again.
    #[inline(always)]
    pub(super) fn release(&mut self, id: u32) {
        self.forget_timer(id);
        self.open -= 1;
        self.free_conns.push(id);
    }
}

impl Station<'_> {
    /// The reply to connection `c` goes out here: served, or timed out with its work
    /// wasted (SPEC 1.7). The proxies behind it have let it go (`hop.rs`).
    #[inline(always)]
    pub(super) fn reply(&mut self, model: &mut RepStats, c: &Conn, now: f64) {
        if !c.live {
            return;
        }
        model.in_system.add(now, -1);
        if !c.counted {
            return;
        }
        if now <= c.deadline {
            model.served(now - c.origin);
            model.mark(c.origin, stats::SERVED);
        } else {
            self.stats.timed_out += 1;
            model.wasted_s += c.blocking;
            model.mark(c.origin, stats::TIMED_OUT);
        }
    }
}

impl<'a> Sim<'a> {
    /// A client sends its connection. Kept out of the event loop, as `work_done` is:
    /// each of the two handlers of a connection's course then gets the registers to
    /// itself. Measured on the M/M/10/20 benchmark: about 6.5 M more instructions
    /// (the calls) and about 4 % less time, because fewer values go through the
    /// stack.
    #[inline(never)]
    pub(super) fn arrival(&mut self, now: f64) {
        // Work is drawn when the connection is sent, from its own stream, so that the
        // n-th connection costs the same whatever happens to it (common random numbers).
        let work = self.sh.clients.work();
        let conn = Conn {
            origin: now,
            sent: now,
            deadline: now + self.c.client.timeout,
            // Without CPU contention the CPU part takes its own length (0 + blocking
            // is blocking exactly).
            blocking: work.cpu + work.blocking,
            hold: work.hold,
            queued_at: now,
            syns: 0,
            counted: now >= self.sh.warmup,
            entered: false,
            live: true,
            svc: 0,
            owner: NONE,
            parent: NONE,
        };
        let Some(id) = self.sh.add_conn(conn) else {
            return;
        };
        if self.stations[0].does.has(Behaviour::CPU) {
            self.split_cpu(id, work.cpu, work.blocking);
        }
        self.sh.schedule_next_arrival();
        self.connect_to(0, id, conn.counted, now);
    }

    /// A retry or a SYN retransmission of connection `id`.
    pub(super) fn connect(&mut self, id: u32, now: f64) {
        let s = self.sh.conns[id as usize].svc as usize;
        self.connect_to(s, id, false, now);
    }

    /// One connect() attempt of connection `id` to station `s`: the first, a unix
    /// retry or a tcp SYN retransmission. `offered`: it counts as offered there (a
    /// counted connection's first try).
    #[inline(always)]
    pub(super) fn connect_to(&mut self, s: usize, id: u32, offered: bool, now: f64) {
        let st = &mut self.stations[s];
        st.stats.offered += u64::from(offered);
        if st.dropping {
            self.dropped_at_once(s, id, now);
            return;
        }
        // Room while fewer than min(backlog, somaxconn) + 1 are pending
        // (semantics: unix-capacity, tcp-capacity).
        if st.queue.len() >= st.capacity {
            self.full(s, id, now);
            return;
        }
        if st.does.has(Behaviour::EDGE) {
            st.on_arrival(&mut self.sh, now);
        }
        self.enter_queue(id, now);
        self.stations[s].admit(&mut self.sh, id, now);
    }

    /// Connection `id` gets into a queue: the client's connection is in the system
    /// from its first queue on, and a process that connected on the client's behalf
    /// lets it go (`hop.rs`).
    #[inline(always)]
    fn enter_queue(&mut self, id: u32, now: f64) {
        let c = &mut self.sh.conns[id as usize];
        c.queued_at = now;
        if !c.entered {
            c.entered = true;
            self.sh.stats.in_system.add(now, 1);
        }
        if c.parent != NONE {
            self.handed_on(id, now);
        }
    }

    /// The master accepts and closes each new connection at once (semantics:
    /// dovecot-drop-timer): it enters the queue, and leaves it.
    #[inline(never)]
    fn dropped_at_once(&mut self, s: usize, id: u32, now: f64) {
        self.enter_queue(id, now);
        let st = &mut self.stations[s];
        st.enqueue(id, now);
        st.dequeue_last(now);
        self.fail(id, now, Outcome::Dropped);
    }

    /// The rules the connection's client follows: the clients' for the first service,
    /// the hop's of the service that made it otherwise.
    fn rules(&self, c: &Conn) -> &'a Rules {
        let compiled: &'a super::Compiled = self.c;
        if c.parent == NONE || c.svc == 0 {
            &compiled.client
        } else {
            &compiled.services[self.sh.conns[c.parent as usize].svc as usize].hop
        }
    }

    /// Station `s`'s queue is full when connection `id` tries it.
    #[inline(never)]
    fn full(&mut self, s: usize, id: u32, now: f64) {
        let spec = &self.c.services[s];
        let c = self.sh.conns[id as usize];
        let rules = self.rules(&c);
        match (spec.kind, rules.on_refused) {
            // A non-blocking unix connect() fails at once with EAGAIN (semantics:
            // unix-eagain); nginx answers 502 without retrying a single-server upstream
            // (semantics: nginx-connect, nginx-failure-status, nginx-single-server).
            (ListenerKind::Unix, OnRefused::Fail) => self.fail(id, now, Outcome::Refused),
            // imap-login: sleep 10 to 100 ms, try again while less than 500 ms have
            // passed since the first try, then give up (semantics: dovecot-login-retry,
            // dovecot-login-fail).
            (ListenerKind::Unix, OnRefused::Retry) => {
                let next = now + rules.retry_pause.sample(&mut self.sh.rng.retry);
                // A client whose own timeout comes before the next try gives up
                // instead, as a tcp client stops retransmitting at it below. It never
                // got into the queue, so it was refused, not timed out (SPEC 2:
                // timed_out is giving up "while queued or being served").
                if next - c.sent < rules.retry_for && next <= c.deadline {
                    self.sh.q.schedule(next, Ev::Retry(id));
                    if c.parent != NONE && now == c.sent {
                        // A process retrying its hop is blocked meanwhile.
                        self.block(c.parent, true, now);
                    }
                } else {
                    self.fail(id, now, Outcome::Refused);
                }
            }
            // The SYN is dropped silently and retransmitted on the kernel's schedule
            // (semantics: tcp-syn-drop, tcp-syn-retries); nginx's proxy_connect_timeout
            // ends it earlier (semantics: nginx-timeouts, nginx-tcp-full).
            (ListenerKind::Tcp, _) => {
                let i = usize::from(c.syns);
                self.sh.conns[id as usize].syns += 1;
                let give_up = rules.connect_timeout.min(spec.syn_give_up);
                match spec.syn_times.get(i) {
                    Some(&after) if after < give_up && c.sent + after <= c.deadline => {
                        self.sh.q.schedule(c.sent + after, Ev::Syn(id));
                    }
                    _ => {
                        // Whichever comes first: the client's own timeout or the connect's end.
                        let end = c.sent + give_up;
                        self.fail(id, end.min(c.deadline), Outcome::Refused);
                    }
                }
            }
        }
    }

    /// Ends a connection that got no reply (refused at its station's queue, or dropped
    /// by its master); a client whose own timeout came first counts as timed out.
    #[inline(never)]
    pub(super) fn fail(&mut self, id: u32, at: f64, outcome: Outcome) {
        let c = self.sh.conns[id as usize];
        if c.live {
            self.decide(&c, at > c.deadline, outcome);
            if c.entered {
                self.sh.stats.in_system.add(at, -1);
            }
        }
        self.sh.release(id);
        if c.parent != NONE {
            self.abandon(c.parent, at);
        }
    }

    /// Counts the client's outcome at the connection's station.
    fn decide(&mut self, c: &Conn, timed_out: bool, outcome: Outcome) {
        if !c.counted {
            return;
        }
        let st = &mut self.stations[c.svc as usize].stats;
        let what = if timed_out {
            st.timed_out += 1;
            stats::TIMED_OUT
        } else {
            match outcome {
                Outcome::Refused => {
                    st.refused += 1;
                    stats::REFUSED
                }
                Outcome::Dropped => {
                    st.dropped += 1;
                    stats::DROPPED
                }
            }
        };
        self.sh.stats.mark(c.origin, what);
    }
}
