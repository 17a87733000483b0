//! The clients: open-loop arrivals, the connect() that meets a service's kernel queue,
//! what a client does when the queue is full (unix EAGAIN: fail or retry; tcp: the SYN
//! is dropped and retransmitted), and the outcome each client connection ends in. In a
//! chain a process connecting to the next service is a client too, with its hop's
//! rules (`hop.rs`).

use super::{Conn, Ev, Rules, Sim, NONE};
use crate::model::{ListenerKind, OnRefused};
use crate::stats;

/// How a connection ended without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Refused,
    Dropped,
}

impl<'a> Sim<'a> {
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

    #[inline]
    pub(super) fn arrival(&mut self, now: f64) {
        // Work is drawn when the connection is sent, from its own stream, so that the
        // n-th connection costs the same whatever happens to it (common random numbers).
        let work = self.clients.work();
        let conn = Conn {
            origin: now,
            sent: now,
            deadline: now + self.c.client.timeout,
            blocking: work.blocking,
            hold: work.hold,
            queued_at: now,
            syns: 0,
            counted: now >= self.warmup,
            entered: false,
            live: true,
            svc: 0,
            owner: NONE,
            parent: NONE,
        };
        let Some(id) = self.add_conn(conn) else {
            return;
        };
        if conn.counted {
            self.stats.offered += 1;
            self.stats.services[0].offered += 1;
        }
        self.schedule_next_arrival();
        self.connect(id, now);
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

    /// The rules the connection's client follows: the clients' for the first service,
    /// the hop's of the service that made it otherwise.
    #[inline]
    fn rules(&self, c: &Conn) -> &'a Rules {
        let compiled: &'a super::Compiled = self.c;
        if c.parent == NONE || c.svc == 0 {
            &compiled.client
        } else {
            &compiled.svcs[self.conns[c.parent as usize].svc as usize].hop
        }
    }

    /// One connect() attempt: the first, a unix retry or a tcp SYN retransmission.
    #[inline]
    pub(super) fn connect(&mut self, id: u32, now: f64) {
        let s = self.conns[id as usize].svc as usize;
        if self.lines[s].dropping {
            // The master accepts and closes each new connection at once
            // (semantics: dovecot-drop-timer): it enters the queue, and leaves it.
            self.enqueue(id, now);
            self.dequeue_last(s, now);
            self.fail(id, now, Outcome::Dropped);
            return;
        }
        // Room while fewer than min(backlog, somaxconn) + 1 are pending
        // (semantics: unix-capacity, tcp-capacity).
        let svc = &self.c.svcs[s];
        if self.lines[s].queue.len() < svc.capacity {
            if svc.mode == crate::model::MasterMode::PhpFpmOndemand {
                self.edge(s, now);
            }
            self.enqueue(id, now);
            self.dispatch(s, now);
            return;
        }
        let c = self.conns[id as usize];
        match (svc.kind, self.rules(&c).on_refused) {
            // A non-blocking unix connect() fails at once with EAGAIN (semantics:
            // unix-eagain); nginx answers 502 without retrying a single-server upstream
            // (semantics: nginx-connect, nginx-failure-status, nginx-single-server).
            (ListenerKind::Unix, OnRefused::Fail) => self.fail(id, now, Outcome::Refused),
            // imap-login: sleep 10 to 100 ms, try again while less than 500 ms have
            // passed since the first try, then give up (semantics: dovecot-login-retry,
            // dovecot-login-fail).
            (ListenerKind::Unix, OnRefused::Retry) => {
                let rules = self.rules(&c);
                let retry_for = rules.retry_for;
                let next = now + rules.retry_pause.sample(&mut self.retry_rng);
                // A client whose own timeout comes before the next try gives up
                // instead, as a tcp client stops retransmitting at it below. It never
                // got into the queue, so it was refused, not timed out (SPEC 2:
                // timed_out is giving up "while queued or being served").
                if next - c.sent < retry_for && next <= c.deadline {
                    self.q.schedule(next, Ev::Retry(id));
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
                self.conns[id as usize].syns += 1;
                let give_up = self.rules(&c).connect_timeout.min(svc.syn_give_up);
                match svc.syn_times.get(i) {
                    Some(&after) if after < give_up && c.sent + after <= c.deadline => {
                        self.q.schedule(c.sent + after, Ev::Syn(id));
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

    #[inline(always)]
    fn enqueue(&mut self, id: u32, now: f64) {
        self.connected(id, now);
        let c = &mut self.conns[id as usize];
        c.queued_at = now;
        let s = c.svc as usize;
        let line = &mut self.lines[s];
        line.queue.push_back(id);
        let len = line.queue.len() as u64;
        self.stats.services[s].queue.set(now, len);
    }

    fn dequeue_last(&mut self, s: usize, now: f64) {
        let line = &mut self.lines[s];
        line.queue.pop_back();
        let len = line.queue.len() as u64;
        self.stats.services[s].queue.set(now, len);
    }

    /// The connection got into a kernel queue: the client's connection is in the
    /// system from its first queue on, and a process that connected on its behalf
    /// with `pass` lets it go (`hop.rs`).
    #[inline(always)]
    fn connected(&mut self, id: u32, now: f64) {
        let c = &mut self.conns[id as usize];
        if !c.entered {
            c.entered = true;
            self.stats.in_system.add(now, 1);
        }
        if c.parent != NONE {
            self.handed_on(id, now);
        }
    }

    /// Ends a connection that got no reply (refused at its service's queue, or dropped
    /// by its master); a client whose own timeout came first counts as timed out.
    pub(super) fn fail(&mut self, id: u32, at: f64, outcome: Outcome) {
        let c = self.conns[id as usize];
        if c.live {
            self.decide(&c, at > c.deadline, outcome);
            if c.entered {
                self.stats.in_system.add(at, -1);
            }
        }
        self.release(id);
        if c.parent != NONE {
            self.abandon(c.parent, at);
        }
    }

    /// Counts the client's outcome at the connection's service.
    fn decide(&mut self, c: &Conn, timed_out: bool, outcome: Outcome) {
        if !c.counted {
            return;
        }
        let svc = &mut self.stats.services[c.svc as usize];
        let what = if timed_out {
            self.stats.timed_out += 1;
            svc.timed_out += 1;
            stats::TIMED_OUT
        } else {
            match outcome {
                Outcome::Refused => {
                    self.stats.refused += 1;
                    svc.refused += 1;
                    stats::REFUSED
                }
                Outcome::Dropped => {
                    self.stats.dropped += 1;
                    svc.dropped += 1;
                    stats::DROPPED
                }
            }
        };
        self.stats.mark(c.origin, what);
    }

    /// The reply goes out: served, or timed out with its work wasted (SPEC 1.7).
    #[inline]
    pub(super) fn reply(&mut self, id: u32, now: f64) {
        let c = self.conns[id as usize];
        if c.parent != NONE {
            self.reply_through(c.parent, now);
        }
        if !c.live {
            return;
        }
        self.stats.in_system.add(now, -1);
        if !c.counted {
            return;
        }
        if now <= c.deadline {
            self.stats.served(now - c.origin);
            self.stats.mark(c.origin, stats::SERVED);
        } else {
            self.stats.timed_out += 1;
            self.stats.services[c.svc as usize].timed_out += 1;
            self.stats.wasted_s += c.blocking;
            self.stats.mark(c.origin, stats::TIMED_OUT);
        }
    }

    #[inline(always)]
    pub(super) fn release(&mut self, id: u32) {
        self.forget_timer(id);
        self.open -= 1;
        self.free_conns.push(id);
    }
}
