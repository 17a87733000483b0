//! The master processes, whatever their family: the fork, serialised by each master
//! for every station it serves; a master that accepts connections itself and forks
//! for each (per-connection mode), in the order its stations asked; and the
//! process_limit drop timer. When each family forks is `family/`'s.

use super::client::Outcome;
use super::station::{Behaviour, Station};
use super::{Ev, Shared, Sim};

impl Station<'_> {
    /// Forks one process. A master forks synchronously in its one event loop, for
    /// every station it serves (semantics: dovecot-fork-serial), so forks are
    /// serialised by each station's `master.fork_time`, in the order they were asked
    /// for; the child is ready `master.startup` after its fork.
    #[inline(never)]
    pub(super) fn fork(&mut self, sh: &mut Shared, now: f64) -> u32 {
        let m = self.master as usize;
        let spec = self.spec;
        let at = sh.masters[m].free_at.max(now);
        let took = spec.fork_time.sample(&mut sh.rng.master);
        sh.masters[m].free_at = at + took;
        let ready_at = sh.masters[m].free_at + spec.startup.sample(&mut sh.rng.master);
        let p = self.new_process(sh, now, false);
        sh.masters[m].fork_counter += 1;
        if now >= sh.warmup {
            self.stats.forks += 1;
            let busy = if sh.stats.window_closed() {
                // Asked for after the window: a fork, but not busy time inside it.
                0.0
            } else {
                took
            };
            sh.stats.masters[m].fork(at - now, busy);
        }
        sh.q.schedule(ready_at, Ev::Ready(p));
        p
    }

    /// Per-connection mode (Dovecot 2.4.2+, commit 4e75476a95; semantics:
    /// dovecot-master-accept): while no process has a free slot the master accepts
    /// queued connections itself, one per fork, as fast as its own forks allow. True
    /// when it accepts the one at the head of the queue now; otherwise the station
    /// waits its turn.
    pub(super) fn master_accepts(&mut self, sh: &mut Shared, now: f64) -> bool {
        if self.avail > 0 || self.alive >= self.process_limit || self.dropping {
            return false;
        }
        // The master forks for its stations in the order they asked: a station waits
        // its turn behind those that asked before it.
        let (s, m) = (self.index as usize, self.master);
        let master = &mut sh.masters[m as usize];
        let turn = master.waiting.front().is_none_or(|&w| w == s);
        if master.free_at <= now && turn {
            if master.waiting.front() == Some(&s) {
                master.waiting.pop_front();
            }
            return true;
        }
        if !master.waiting.contains(&s) {
            master.waiting.push_back(s);
        }
        if !master.wakeup {
            master.wakeup = true;
            let at = master.free_at.max(now);
            sh.q.schedule(at, Ev::MasterFree(m));
        }
        false
    }

    /// The master accepts connection `id` and forks a process for it.
    #[inline(never)]
    pub(super) fn master_accept(&mut self, sh: &mut Shared, id: u32, now: f64) {
        let p = self.fork(sh, now);
        let c = &sh.conns[id as usize];
        self.take(sh, p, c.counted, c.queued_at, now);
        sh.procs[p as usize].first = id;
        // The child reports itself busy as soon as it has its connection, which tops up
        // process_min_avail as an accept by a child does (semantics: dovecot-min-avail).
        self.extra_avail(sh, now);
    }

    /// process_limit reached and no free slot: nothing accepts for drop_timeout
    /// seconds, then the master accepts and closes (semantics: dovecot-drop-timer).
    pub(super) fn arm_drop_timer(&mut self, sh: &mut Shared, now: f64) {
        if !self.does.has(Behaviour::DROPS) {
            return;
        }
        if self.avail == 0
            && self.alive >= self.process_limit
            && !self.dropping
            && self.spawn.drop_timer.is_none()
        {
            if let Some(t) = self.spec.drop_timeout {
                let ev = Ev::DropTimeout(self.index);
                self.spawn.drop_timer = Some(sh.q.schedule(now + t, ev));
            }
        }
    }

    /// A slot is free again (a connection closed, or a process exited): the master
    /// stops dropping and its timer is cancelled.
    #[inline(always)]
    pub(super) fn slot_freed(&mut self, sh: &mut Shared) {
        if !self.does.has(Behaviour::DROPS) {
            return;
        }
        if let Some(t) = self.spawn.drop_timer.take() {
            sh.q.cancel(t);
        }
        self.dropping = false;
    }
}

impl Sim<'_> {
    /// Master `m` has finished its forks: the stations waiting for it go on, the one
    /// that asked first first; one that no longer needs it leaves the line.
    #[inline(never)]
    pub(super) fn master_free(&mut self, m: usize, now: f64) {
        self.sh.masters[m].wakeup = false;
        while let Some(&s) = self.sh.masters[m].waiting.front() {
            if self.sh.masters[m].free_at > now {
                break;
            }
            let forks = self.sh.masters[m].fork_counter;
            self.stations[s].dispatch(&mut self.sh, now);
            let master = &mut self.sh.masters[m];
            if master.fork_counter == forks && master.waiting.front() == Some(&s) {
                // It took nothing: its queue emptied or a process freed a slot.
                master.waiting.pop_front();
            }
        }
        let master = &mut self.sh.masters[m];
        if !master.waiting.is_empty() && !master.wakeup {
            master.wakeup = true;
            let at = master.free_at.max(now);
            self.sh.q.schedule(at, Ev::MasterFree(m as u16));
        }
    }

    /// service_drop_timeout(): accept and close everything queued at station `s`,
    /// then every new connection until a slot frees (semantics: dovecot-drop-timer).
    #[inline(never)]
    pub(super) fn drop_timeout(&mut self, s: usize, now: f64) {
        self.stations[s].spawn.drop_timer = None;
        while let Some(id) = self.stations[s].queue.pop_front() {
            self.fail(id, now, Outcome::Dropped);
        }
        let st = &mut self.stations[s];
        st.stats.queue.set(now, 0);
        st.dropping = true;
    }
}
