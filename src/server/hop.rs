//! A chain's hops (SPEC section 8): when a process of a service with a `next` has done
//! its work, it connects to the next service on the client's behalf, with its hop's
//! rules. With `pass` it lets the connection go once it is in the next service's queue
//! (imap-login passing the client's descriptor to imap); with `proxy` it keeps its slot
//! until the reply comes back through it, or until its hop timeout (nginx's
//! proxy_read_timeout, a 504). A process retrying a unix connect is blocked meanwhile
//! (imap-login sleeps in net_connect_unix_with_retries; semantics:
//! dovecot-login-retry): it accepts nothing until the connect succeeds or gives up.
//!
//! Simplifications: the hold of a process that hands a connection on is not modelled;
//! a blocked process's work already under way is not delayed (only the work it takes
//! after), and the time it spends blocked does not count as busy.

use super::{Conn, Ev, Sim, NONE};
use crate::model::Handoff;

impl Sim<'_> {
    /// Connection `id` has had its work done at station `s`, which has a next: its
    /// process connects to the next service on the client's behalf.
    #[inline(never)]
    pub(super) fn hop(&mut self, s: usize, id: u32, now: f64) {
        let c = self.sh.conns[id as usize];
        let spec = &self.c.services[s];
        let n = usize::from(spec.next);
        let (handoff, timeout) = (spec.handoff, spec.hop.timeout);
        let next = &self.c.services[n];
        let rng = &mut self.sh.rng.work[n - 1];
        let off_cpu = next.blocking.sample(rng);
        let hold = if next.hold.is_zero() {
            0.0
        } else {
            next.hold.sample(rng)
        };
        let cpu = if next.cpu.is_zero() {
            0.0
        } else {
            next.cpu.sample(&mut self.sh.rng.cpu[n - 1])
        };
        // Without CPU contention the CPU part takes its own length (0 + blocking is
        // blocking exactly).
        let blocking = cpu + off_cpu;
        let child = Conn {
            sent: now,
            deadline: c.deadline.min(now + timeout),
            blocking,
            hold,
            queued_at: now,
            syns: 0,
            svc: n as u16,
            owner: NONE,
            parent: id,
            ..c
        };
        let Some(cid) = self.sh.add_conn(child) else {
            return;
        };
        if next.does.has(super::station::Behaviour::CPU) {
            self.split_cpu(cid, cpu, off_cpu);
        }
        if handoff == Handoff::Proxy && timeout.is_finite() && timeout < c.deadline - now {
            let t = self.sh.q.schedule(now + timeout, Ev::HopTimeout(cid));
            self.sh.hop_timers.insert(cid, t);
        }
        self.connect_to(n, cid, c.counted, now);
    }

    /// Connection `id` got into its station's queue: the process that connected on
    /// its behalf is no longer blocked, and with `pass` lets it go.
    #[inline(never)]
    pub(super) fn handed_on(&mut self, id: u32, now: f64) {
        let parent = self.sh.conns[id as usize].parent;
        self.block(parent, false, now);
        let p = self.sh.conns[parent as usize];
        if self.c.services[p.svc as usize].handoff == Handoff::Pass {
            self.sh.conns[id as usize].parent = p.parent;
            self.sh.release(parent);
            self.stations[p.svc as usize].free_slot(&mut self.sh, p.owner, now);
        }
    }

    /// The connection made by `parent`'s process failed (refused, dropped or timed
    /// out): that process, and every proxy behind it, lets its connection go.
    #[inline(never)]
    pub(super) fn abandon(&mut self, parent: u32, now: f64) {
        let mut up = parent;
        while up != NONE {
            self.block(up, false, now);
            let p = self.sh.conns[up as usize];
            self.sh.release(up);
            self.stations[p.svc as usize].free_slot(&mut self.sh, p.owner, now);
            up = p.parent;
        }
    }

    /// The reply comes back through the proxies behind it: each lets its connection go.
    pub(super) fn reply_through(&mut self, parent: u32, now: f64) {
        self.abandon(parent, now);
    }

    /// The process holding connection `id` is blocked in (or out of) a hop's retries.
    #[inline(never)]
    pub(super) fn block(&mut self, id: u32, on: bool, now: f64) {
        let c = &self.sh.conns[id as usize];
        let (p, s) = (c.owner, c.svc as usize);
        if self.sh.procs[p as usize].blocked == on {
            return;
        }
        let st = &mut self.stations[s];
        st.update(&mut self.sh.procs, p, |proc| proc.blocked = on);
        if !on {
            // The work it takes next starts after the time it was blocked.
            let proc = &mut self.sh.procs[p as usize];
            proc.busy_until = proc.busy_until.max(now);
            if proc.has_slot() {
                st.offer_slot(&mut self.sh.procs, p);
                st.dispatch(&mut self.sh, now);
            }
        }
    }

    /// A proxy's hop timeout: it gives up on connection `id` (a 504 for the client),
    /// which goes on in the next service with nobody waiting for it.
    #[inline(never)]
    pub(super) fn hop_timeout(&mut self, id: u32, now: f64) {
        self.sh.hop_timers.remove(&id);
        let c = self.sh.conns[id as usize];
        if !c.live {
            return;
        }
        if c.counted {
            self.stations[c.svc as usize].stats.timed_out += 1;
            self.sh.stats.mark(c.origin, crate::stats::TIMED_OUT);
        }
        if c.entered {
            self.sh.stats.in_system.add(now, -1);
        }
        let conn = &mut self.sh.conns[id as usize];
        conn.live = false;
        conn.parent = NONE;
        if c.parent != NONE {
            self.abandon(c.parent, now);
        }
    }
}

impl super::Shared<'_> {
    /// A connection with a pending hop timeout is gone: the timeout is cancelled.
    #[inline(always)]
    pub(super) fn forget_timer(&mut self, id: u32) {
        if !self.hop_timers.is_empty() {
            if let Some(t) = self.hop_timers.remove(&id) {
                self.q.cancel(t);
            }
        }
    }
}
