//! The host's CPUs, shared by processor sharing (SPEC 13; semantics: cpu-sharing):
//! every connection in the CPU part of its work, in any station on the host, is a
//! job; with n jobs and c CPUs (cores, or a quota in cores) each progresses at
//! min(1, c / n). A connection's work is its CPU part first, then its time off the
//! CPU (`work.blocking`), its thread busy for both, as the harness runs it (burn,
//! then sleep).
//!
//! Virtual time: all jobs progress at the same rate, so one clock `v` of the service
//! each job has attained since it joined, advanced at min(1, c / n) per second, serves
//! them all. A job needing x CPU seconds that joins at `v` finishes when the clock
//! reaches `v + x`: the jobs sit in a min-heap by that tag, and one pending
//! `Ev::CpuDone` is the next finish in real time. When n changes the rate does, and
//! the pending event is replaced: it carries a generation, and an event of an older
//! one is dropped when it comes out (it counts in no statistic). A join, a finish and
//! a replacement cost O(log n) and allocate nothing once the heap has grown. A join
//! that changes neither the rate nor the first finish (fewer jobs than CPUs, a longer
//! job) keeps the pending event.
//!
//! What a station on the host does differently (`Behaviour::CPU`): its processes take
//! their connections' work `threads` at a time (one without threads), the others
//! waiting in the process, as threaded work does (`pool.rs`); a connection's CPU
//! seconds are kept here by connection from its arrival (or hop) until its work
//! starts. A model without `host.cpus` pays for none of it: the bit is tested where
//! the threads' bit already was.

use super::{Ev, Shared, Sim};
use crate::engine::EventQueue;
use crate::stats::HostStats;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A connection in the CPU part of its work.
#[derive(Debug, Clone, Copy)]
struct Job {
    /// The clock's value when it has had all its CPU seconds.
    finish: f64,
    /// Joined before every job with a larger number: equal tags finish in the order
    /// they joined.
    seq: u64,
    id: u32,
    /// Its CPU seconds (added to the connection's work once they are done).
    need: f64,
}

impl PartialEq for Job {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Job {}

impl PartialOrd for Job {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Job {
    /// Reversed, so that `BinaryHeap`'s greatest is the first to finish.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .finish
            .total_cmp(&self.finish)
            .then(other.seq.cmp(&self.seq))
    }
}

/// The host's CPUs in a run.
#[derive(Debug, Clone, Default)]
pub(super) struct Cpus {
    /// `host.cpus` (0: no station shares CPUs, and nothing here is used).
    cpus: f64,
    /// The clock of attained service, and the real time it was last advanced to.
    v: f64,
    at: f64,
    jobs: BinaryHeap<Job>,
    next_seq: u64,
    /// The pending CpuDone event's generation, and what it was computed from (the
    /// first job's number and the rate), while one is pending.
    generation: u32,
    pending: Option<(u64, f64)>,
    /// CPU seconds of each connection whose work has not started, by connection.
    need: Vec<f64>,
    /// Finishes are being handled: the jobs that join meanwhile (the next
    /// connection's work in a freed process) leave the next event to the end.
    settling: bool,
    /// CpuDone events of an older generation taken out of the event list: not counted
    /// as events of the run.
    pub stale: u64,
}

impl Cpus {
    pub(super) fn new(cpus: Option<f64>) -> Cpus {
        Cpus {
            cpus: cpus.unwrap_or(0.0),
            ..Cpus::default()
        }
    }

    /// Each job's rate with `n` jobs.
    #[inline]
    fn rate(&self, n: usize) -> f64 {
        let n = n as f64;
        if n <= self.cpus {
            1.0
        } else {
            self.cpus / n
        }
    }

    /// Brings the clock to `now`.
    #[inline]
    fn advance(&mut self, now: f64) {
        let n = self.jobs.len();
        if n > 0 {
            self.v += (now - self.at) * self.rate(n);
        }
        self.at = now;
    }

    /// Connection `id` will need `cpu` CPU seconds when its work starts.
    #[inline(never)]
    pub(super) fn keep_need(&mut self, id: u32, cpu: f64) {
        let i = id as usize;
        if self.need.len() <= i {
            self.need.resize(i + 1, 0.0);
        }
        self.need[i] = cpu;
    }

    /// The figures move with the jobs: requests in their CPU part, CPUs in use.
    #[inline]
    fn record(&self, stats: &mut Option<HostStats>, now: f64) {
        if let Some(h) = stats {
            let n = self.jobs.len();
            h.jobs.set(now, n as u64);
            h.used.set(now, (n as f64).min(self.cpus));
        }
    }

    /// Schedules the next finish, unless the pending event already is it; with no
    /// job the clock starts again from 0 (so that it never grows large enough to lose
    /// the precision of a short job).
    fn reschedule(&mut self, q: &mut EventQueue<Ev>, now: f64) {
        let Some(first) = self.jobs.peek() else {
            self.v = 0.0;
            if self.pending.take().is_some() {
                self.generation = self.generation.wrapping_add(1);
            }
            return;
        };
        let rate = self.rate(self.jobs.len());
        if self.pending == Some((first.seq, rate)) {
            return;
        }
        let at = now + ((first.finish - self.v) / rate).max(0.0);
        self.pending = Some((first.seq, rate));
        self.generation = self.generation.wrapping_add(1);
        q.schedule(at, Ev::CpuDone(self.generation));
    }
}

impl Shared<'_> {
    /// The work of connection `id` starts on the host: its CPU part joins the CPUs,
    /// or, with no CPU seconds, its time off the CPU (`blocking`) starts at once.
    #[inline(never)]
    pub(super) fn start_on_host(&mut self, id: u32, blocking: f64, now: f64) {
        let cpu = &mut self.cpu;
        let need = cpu.need.get(id as usize).copied().unwrap_or(0.0);
        if need <= 0.0 {
            self.q.schedule(now + blocking, Ev::WorkDone(id));
            return;
        }
        cpu.advance(now);
        let seq = cpu.next_seq;
        cpu.next_seq += 1;
        cpu.jobs.push(Job {
            finish: cpu.v + need,
            seq,
            id,
            need,
        });
        cpu.record(&mut self.stats.host, now);
        if !cpu.settling {
            cpu.reschedule(&mut self.q, now);
        }
    }
}

impl Sim<'_> {
    /// The next CPU finish is due (unless a later change replaced this event): the
    /// job (and any that finish with it) leaves the CPUs and its time off the CPU
    /// starts; its process then has the reply or the next connection's work to do.
    #[inline(never)]
    pub(super) fn cpu_done(&mut self, generation: u32, now: f64) {
        let cpu = &mut self.sh.cpu;
        if generation != cpu.generation || cpu.pending.is_none() {
            cpu.stale += 1;
            return;
        }
        cpu.pending = None;
        // The event was computed for the first job: the clock reads its tag now,
        // exactly, whatever the rounding of the time in between.
        let Some(first) = cpu.jobs.peek() else {
            return;
        };
        cpu.v = first.finish;
        cpu.at = now;
        cpu.settling = true;
        while let Some(job) = self.sh.cpu.jobs.peek().copied() {
            if job.finish > self.sh.cpu.v {
                break;
            }
            self.sh.cpu.jobs.pop();
            self.sh.cpu.record(&mut self.sh.stats.host, now);
            self.cpu_finished(job.id, job.need, now);
        }
        self.sh.cpu.settling = false;
        self.sh.cpu.reschedule(&mut self.sh.q, now);
    }

    /// Connection `id` has had its `need` CPU seconds: its time off the CPU follows,
    /// and the connection's work (what a timed-out client wastes) is both.
    fn cpu_finished(&mut self, id: u32, need: f64, now: f64) {
        let c = &mut self.sh.conns[id as usize];
        let off = c.blocking;
        c.blocking = need + off;
        if off > 0.0 {
            self.sh.q.schedule(now + off, Ev::WorkDone(id));
        } else {
            self.work_done(id, now);
        }
    }

    /// A connection sent (or handed on) to a station that shares the host's CPUs:
    /// its work is `cpu` CPU seconds, kept here, then `blocking` off the CPU.
    #[inline(never)]
    pub(super) fn split_cpu(&mut self, id: u32, cpu: f64, blocking: f64) {
        self.sh.conns[id as usize].blocking = blocking;
        self.sh.cpu.keep_need(id, cpu);
    }
}
