//! The clients: open-loop arrivals, the connect() that meets the kernel queue, what a
//! client does when the queue is full (unix EAGAIN: fail or retry; tcp: the SYN is
//! dropped and retransmitted), and the outcome each connection ends in.

use super::{Conn, Ev, Sim};
use crate::model::{ListenerKind, OnRefused};
use crate::stats;

/// How a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Refused,
    Dropped,
}

impl Sim<'_> {
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

    pub(super) fn arrival(&mut self, now: f64) {
        // Work is drawn when the connection is sent, from its own stream, so that the
        // n-th connection costs the same whatever happens to it (common random numbers).
        let work = self.clients.work();
        let conn = Conn {
            sent: now,
            deadline: now + self.c.timeout,
            blocking: work.blocking,
            hold: work.hold,
            queued_at: now,
            syns: 0,
            counted: now >= self.warmup,
            owner: super::NONE,
        };
        let id = match self.free_conns.pop() {
            Some(id) => {
                self.conns[id as usize] = conn;
                id
            }
            None => {
                if self.conns.len() >= super::MAX_OPEN {
                    // The run cannot go on without taking the machine's memory: it ends
                    // here, and `run` reports it.
                    self.arrivals_done = true;
                    self.open = 0;
                    self.conns.push(conn);
                    self.q.clear();
                    return;
                }
                self.conns.push(conn);
                (self.conns.len() - 1) as u32
            }
        };
        self.open += 1;
        if conn.counted {
            self.stats.offered += 1;
        }
        self.schedule_next_arrival();
        self.connect(id, now);
    }

    /// One connect() attempt: the first, a unix retry or a tcp SYN retransmission.
    pub(super) fn connect(&mut self, id: u32, now: f64) {
        if self.dropping {
            // The master accepts and closes each new connection at once
            // (semantics: dovecot-drop-timer).
            self.enqueue(id, now);
            self.queue.pop_back();
            self.stats.queue.set(now, self.queue.len() as u64);
            self.drop_connection(id, now);
            return;
        }
        // Room while fewer than min(backlog, somaxconn) + 1 are pending
        // (semantics: unix-capacity, tcp-capacity).
        if self.queue.len() < self.c.capacity {
            self.enqueue(id, now);
            self.dispatch(now);
            return;
        }
        match (self.kind(), self.on_refused()) {
            // A non-blocking unix connect() fails at once with EAGAIN (semantics:
            // unix-eagain); nginx answers 502 without retrying a single-server upstream
            // (semantics: nginx-connect, nginx-failure-status, nginx-single-server).
            (ListenerKind::Unix, OnRefused::Fail) => self.fail(id, now, Outcome::Refused),
            // imap-login: sleep 10 to 100 ms, try again while less than 500 ms have
            // passed since the first try, then give up (semantics: dovecot-login-retry,
            // dovecot-login-fail).
            (ListenerKind::Unix, OnRefused::Retry) => {
                let c = self.conns[id as usize];
                let next = now + self.c.retry_pause.sample(&mut self.retry_rng);
                // A client whose own timeout (load.timeout) comes before the next try
                // gives up instead, as a tcp client stops retransmitting at it below.
                // It never got into the queue, so it was refused, not timed out (SPEC
                // 2: timed_out is giving up "while queued or being served").
                if next - c.sent < self.c.model.load.retry_for && next <= c.deadline {
                    self.q.schedule(next, Ev::Retry(id));
                } else {
                    self.fail(id, now, Outcome::Refused);
                }
            }
            // The SYN is dropped silently and retransmitted on the kernel's schedule
            // (semantics: tcp-syn-drop, tcp-syn-retries); nginx's proxy_connect_timeout
            // ends it earlier (semantics: nginx-timeouts, nginx-tcp-full).
            (ListenerKind::Tcp, _) => {
                let c = self.conns[id as usize];
                let i = usize::from(c.syns);
                self.conns[id as usize].syns += 1;
                let give_up = self
                    .c
                    .model
                    .load
                    .connect_timeout
                    .map_or(self.c.syn_give_up, |t| t.min(self.c.syn_give_up));
                match self.c.syn_times.get(i) {
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

    #[inline]
    fn enqueue(&mut self, id: u32, now: f64) {
        self.conns[id as usize].queued_at = now;
        self.queue.push_back(id);
        self.stats.queue.set(now, self.queue.len() as u64);
        self.stats.in_system.add(now, 1);
    }

    /// The master accepted and closed a connection (it was in the kernel queue).
    pub(super) fn drop_connection(&mut self, id: u32, now: f64) {
        self.stats.in_system.add(now, -1);
        self.fail(id, now, Outcome::Dropped);
    }

    /// Ends a connection that got no reply; a client whose own timeout came first
    /// counts as timed out.
    pub(super) fn fail(&mut self, id: u32, at: f64, outcome: Outcome) {
        let c = self.conns[id as usize];
        if c.counted {
            let what = if at > c.deadline {
                self.stats.timed_out += 1;
                stats::TIMED_OUT
            } else {
                match outcome {
                    Outcome::Refused => {
                        self.stats.refused += 1;
                        stats::REFUSED
                    }
                    Outcome::Dropped => {
                        self.stats.dropped += 1;
                        stats::DROPPED
                    }
                }
            };
            self.stats.mark(c.sent, what);
        }
        self.release(id);
    }

    /// The reply goes out: served, or timed out with its work wasted (SPEC 1.7).
    #[inline]
    pub(super) fn reply(&mut self, id: u32, now: f64) {
        let c = &self.conns[id as usize];
        self.stats.in_system.add(now, -1);
        if !c.counted {
            return;
        }
        let sent = c.sent;
        if now <= c.deadline {
            self.stats.served(now - sent);
            self.stats.mark(sent, stats::SERVED);
        } else {
            let blocking = c.blocking;
            self.stats.timed_out += 1;
            self.stats.wasted_s += blocking;
            self.stats.mark(sent, stats::TIMED_OUT);
        }
    }

    #[inline]
    pub(super) fn release(&mut self, id: u32) {
        self.open -= 1;
        self.free_conns.push(id);
    }
}
