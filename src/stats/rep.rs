//! What one replication measures: the client connections' outcomes and latencies end
//! to end, each service's queue, processes and outcomes (a single-service model has
//! one), each master's forks, and the timeline when one is kept.

use super::host::HostStats;
use super::timeline::{Recording, Timeline};
use super::{histogram, ratio, record, Level};
use hdrhistogram::Histogram;

/// Indices of the outcomes in a timeline's counts.
pub const OFFERED: usize = 0;
pub const SERVED: usize = 1;
pub const REFUSED: usize = 2;
pub const DROPPED: usize = 3;
pub const TIMED_OUT: usize = 4;

/// The smallest auto-resizing histogram (no significant digit, two values wide): what
/// a light copy records into and never reads.
fn tiny_histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 2, 0).expect("valid bounds");
    h.auto(true);
    h
}

/// One service's share of a replication.
#[derive(Debug, Clone)]
pub struct ServiceStats {
    /// Connections that reached its listener (counted ones: after the warm-up).
    pub offered: u64,
    /// Client connections refused, dropped or timed out here.
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
    pub(crate) queue_wait: Histogram<u64>,
    /// Waits of exactly zero, counted here and added to the histogram at the end:
    /// most connections at moderate load wait for nothing.
    pub(crate) queue_wait_zero: u64,
    pub(crate) queue_wait_sum: f64,
    pub(crate) queue_wait_n: u64,
    pub queue: Level,
    pub processes: Level,
    pub busy: Level,
    pub forks: u64,
}

impl Default for ServiceStats {
    fn default() -> Self {
        ServiceStats {
            offered: 0,
            refused: 0,
            dropped: 0,
            timed_out: 0,
            queue_wait: histogram(),
            queue_wait_zero: 0,
            queue_wait_sum: 0.0,
            queue_wait_n: 0,
            queue: Level::default(),
            processes: Level::default(),
            busy: Level::default(),
            forks: 0,
        }
    }
}

impl ServiceStats {
    fn levels(&mut self) -> [&mut Level; 3] {
        [&mut self.queue, &mut self.processes, &mut self.busy]
    }

    /// A copy for a trajectory of importance splitting (`crate::rare`): its counts and
    /// levels (which the copy goes on changing), but a tiny empty histogram instead of
    /// the queue-wait one, which a copy's figures never reach and which would be most
    /// of the cost of a copy. Every field is named, so that a field added to the
    /// statistics is added here too.
    pub(crate) fn light_copy(&self) -> ServiceStats {
        ServiceStats {
            offered: self.offered,
            refused: self.refused,
            dropped: self.dropped,
            timed_out: self.timed_out,
            queue_wait: tiny_histogram(),
            queue_wait_zero: self.queue_wait_zero,
            queue_wait_sum: self.queue_wait_sum,
            queue_wait_n: self.queue_wait_n,
            queue: self.queue.clone(),
            processes: self.processes.clone(),
            busy: self.busy.clone(),
            forks: self.forks,
        }
    }

    #[inline]
    pub fn queue_wait(&mut self, wait: f64) {
        self.queue_wait_sum += wait;
        self.queue_wait_n += 1;
        if wait == 0.0 {
            self.queue_wait_zero += 1;
        } else {
            record(&mut self.queue_wait, wait);
        }
    }
}

/// One master process's share of a replication: the forks it made in the window, the
/// time it spent on them, and how long each fork request waited for it.
#[derive(Debug, Clone)]
pub struct MasterStats {
    pub forks: u64,
    pub busy_s: f64,
    pub(crate) fork_wait: Histogram<u64>,
    pub(crate) fork_wait_sum: f64,
}

impl Default for MasterStats {
    fn default() -> Self {
        MasterStats {
            forks: 0,
            busy_s: 0.0,
            fork_wait: histogram(),
            fork_wait_sum: 0.0,
        }
    }
}

impl MasterStats {
    /// A copy without its histogram, as `ServiceStats::light_copy`.
    pub(crate) fn light_copy(&self) -> MasterStats {
        MasterStats {
            forks: self.forks,
            busy_s: self.busy_s,
            fork_wait: tiny_histogram(),
            fork_wait_sum: self.fork_wait_sum,
        }
    }

    /// A fork in the window that waited `wait` for the master and took it `took`.
    pub fn fork(&mut self, wait: f64, took: f64) {
        self.forks += 1;
        self.busy_s += took;
        self.fork_wait_sum += wait;
        record(&mut self.fork_wait, wait);
    }
}

/// Everything one replication measures.
#[derive(Debug, Clone)]
pub struct RepStats {
    pub offered: u64,
    pub served: u64,
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
    pub(crate) latency: Histogram<u64>,
    pub(crate) latency_sum: f64,
    pub(crate) latency_max: f64,
    pub(crate) latency_min: f64,
    /// Per service, the first (the one clients connect to) first.
    pub services: Vec<ServiceStats>,
    /// Per master process.
    pub masters: Vec<MasterStats>,
    pub in_system: Level,
    /// The host's CPUs, for a model with `host.cpus` (the simulator's CPU sharing
    /// keeps it).
    pub host: Option<HostStats>,
    pub wasted_s: f64,
    pub events: u64,
    /// Statistics are collected from here on (the warm-up's end).
    warmup: f64,
    /// Length of the observed window, set by `close_window`.
    pub window: f64,
    /// The timeline being kept, when one is.
    recording: Option<Box<Recording>>,
    /// The finished timeline, at the end of the run.
    pub timeline: Option<Box<Timeline>>,
    started: bool,
    closed: bool,
}

impl RepStats {
    /// Statistics of one service and one master.
    pub fn new(warmup: f64) -> Self {
        Self::with(warmup, 1, 1)
    }

    /// Statistics of `services` services and `masters` masters.
    pub fn with(warmup: f64, services: usize, masters: usize) -> Self {
        RepStats {
            offered: 0,
            served: 0,
            refused: 0,
            dropped: 0,
            timed_out: 0,
            latency: histogram(),
            latency_sum: 0.0,
            latency_max: 0.0,
            latency_min: f64::INFINITY,
            services: vec![ServiceStats::default(); services.max(1)],
            masters: vec![MasterStats::default(); masters.max(1)],
            in_system: Level::default(),
            host: None,
            recording: None,
            timeline: None,
            started: false,
            closed: false,
            wasted_s: 0.0,
            events: 0,
            warmup,
            window: 0.0,
        }
    }

    /// A copy for a trajectory of importance splitting, as `ServiceStats::light_copy`:
    /// counts, levels and the window's state, with a tiny empty latency histogram and
    /// no timeline.
    pub(crate) fn light_copy(&self) -> RepStats {
        RepStats {
            offered: self.offered,
            served: self.served,
            refused: self.refused,
            dropped: self.dropped,
            timed_out: self.timed_out,
            latency: tiny_histogram(),
            latency_sum: self.latency_sum,
            latency_max: self.latency_max,
            latency_min: self.latency_min,
            services: self.services.iter().map(ServiceStats::light_copy).collect(),
            masters: self.masters.iter().map(MasterStats::light_copy).collect(),
            in_system: self.in_system.clone(),
            host: self.host.clone(),
            wasted_s: self.wasted_s,
            events: self.events,
            warmup: self.warmup,
            window: self.window,
            recording: None,
            timeline: None,
            started: self.started,
            closed: self.closed,
        }
    }

    /// The first service's statistics (the only one's, for a single service).
    pub fn front(&mut self) -> &mut ServiceStats {
        &mut self.services[0]
    }

    /// Opens the observed window at `at`, the warm-up's end: the owner calls it once,
    /// before the first change at or after the warm-up (the simulator does so when its
    /// clock first reaches the warm-up, or at t = 0 without one). Levels integrate from
    /// here; a value held across `at` counts towards their peaks. Later calls change
    /// nothing.
    pub fn start_window(&mut self, at: f64) {
        self.start_window_with(at, std::iter::empty());
    }

    /// `start_window` for these levels and for services' statistics kept outside
    /// `services` while a run goes on (a simulator's stations hold their own).
    pub(crate) fn start_window_with<'s>(
        &mut self,
        at: f64,
        outside: impl IntoIterator<Item = &'s mut ServiceStats>,
    ) {
        if self.started {
            return;
        }
        self.started = true;
        self.in_system.restart(at);
        if let Some(h) = &mut self.host {
            h.restart(at);
        }
        for l in self.services.iter_mut().flat_map(ServiceStats::levels) {
            l.restart(at);
        }
        for l in outside.into_iter().flat_map(ServiceStats::levels) {
            l.restart(at);
        }
    }

    /// True once `close_window` has fixed the results.
    pub fn window_closed(&self) -> bool {
        self.closed
    }

    /// Takes out of each master's busy time the part of its queued forks that runs
    /// past `end`: `free_at[m]` is when master m finishes the forks asked of it so far.
    /// A master forks one at a time, so that part is the single stretch from `end` to
    /// `free_at`, and `busy_s` becomes the time it was busy inside the window. Call it
    /// just before `close_window(end)`.
    pub fn clip_master_busy(&mut self, free_at: impl Iterator<Item = f64>, end: f64) {
        if self.closed || end < self.warmup {
            return;
        }
        for (m, free) in self.masters.iter_mut().zip(free_at) {
            m.busy_s = (m.busy_s - (free - end).max(0.0)).max(0.0);
        }
    }

    /// Ends the observed window at `end`. A run with `load.duration` is observed from
    /// the warm-up's end to the duration, so that the time averages and peaks describe
    /// the load and not the drain after it (which, with long sessions, would dilute
    /// them); a run of `load.connections` (a burst) until its last connection is
    /// resolved. A window that never started (the run ended before the warm-up did)
    /// is empty. Later calls change nothing.
    pub fn close_window(&mut self, end: f64) {
        self.close_window_with(end, std::iter::empty());
    }

    /// `close_window` for these levels and for services' statistics kept outside
    /// `services` while a run goes on.
    pub(crate) fn close_window_with<'s>(
        &mut self,
        end: f64,
        outside: impl IntoIterator<Item = &'s mut ServiceStats>,
    ) {
        if self.closed {
            return;
        }
        self.closed = true;
        if end < self.warmup {
            // Empty: max and the integrals stay 0.
            self.window = 0.0;
            return;
        }
        // A window that never started starts at the warm-up's end.
        let (start, at) = (!self.started, self.warmup);
        self.started = true;
        let close = |l: &mut Level| {
            if start {
                l.restart(at);
            }
            l.fix(end.max(l.since));
        };
        close(&mut self.in_system);
        if let Some(h) = &mut self.host {
            if start {
                h.restart(at);
            }
            h.fix(end);
        }
        for l in self.services.iter_mut().flat_map(ServiceStats::levels) {
            close(l);
        }
        for l in outside.into_iter().flat_map(ServiceStats::levels) {
            close(l);
        }
        self.window = (end - self.warmup).max(0.0);
    }

    /// The model-wide outcome counts, summed over the services at the end of a run
    /// (the simulator counts each outcome once, at its service): the clients'
    /// connections are those offered to the first service.
    pub(crate) fn sum_services(&mut self) {
        self.offered = self.services.first().map_or(0, |s| s.offered);
        self.refused = self.services.iter().map(|s| s.refused).sum();
        self.dropped = self.services.iter().map(|s| s.dropped).sum();
        self.timed_out = self.services.iter().map(|s| s.timed_out).sum();
    }

    /// Keeps a timeline in bins of `width` seconds: the owner calls `bin_edge` at
    /// every multiple of `width`, and `finish_timeline` at the end.
    pub fn keep_timeline(&mut self, width: f64) {
        self.recording = Some(Box::new(Recording::new(width)));
    }

    /// Counts an outcome (`SERVED`, `REFUSED`, ...) in the bin of the connection's
    /// arrival, when a timeline is kept; each counted connection ends in one, so the
    /// offered count of a bin is their sum.
    #[inline]
    pub fn mark(&mut self, sent: f64, outcome: usize) {
        if let Some(r) = self.recording.as_deref_mut() {
            r.mark(sent, outcome);
        }
    }

    /// A bin ends at `now`: the first service's levels' integrals over it are recorded.
    pub fn bin_edge(&mut self, now: f64) {
        if let Some(front) = self.services.first_mut() {
            Self::edge(&mut self.recording, front, now);
        }
    }

    /// `bin_edge` with the first service's statistics kept outside `services` while
    /// a run goes on.
    pub(crate) fn bin_edge_with(&mut self, now: f64, front: &mut ServiceStats) {
        Self::edge(&mut self.recording, front, now);
    }

    fn edge(recording: &mut Option<Box<Recording>>, front: &mut ServiceStats, now: f64) {
        if let Some(r) = recording.as_deref_mut() {
            r.edge(front.queue.integral(now), front.processes.integral(now));
        }
    }

    /// Ends the timeline at `end`, the run's last event (its last bin partly filled).
    pub fn finish_timeline(&mut self, end: f64) {
        self.bin_edge(end);
        if let Some(r) = self.recording.take() {
            self.timeline = Some(Box::new(r.finish(end, self.services[0].processes.value)));
        }
    }

    #[inline]
    pub fn served(&mut self, latency: f64) {
        self.served += 1;
        self.latency_sum += latency;
        // Compares rather than f64::max and min, which also handle a NaN in `self`
        // (never here) at several instructions a call; a NaN latency changes neither.
        if latency > self.latency_max {
            self.latency_max = latency;
        }
        if latency < self.latency_min {
            self.latency_min = latency;
        }
        record(&mut self.latency, latency);
    }

    /// Every served connection's latency, in seconds, as the histogram holds it (to
    /// its 0.1 %): a replication replayed as a measurement (the harness's mock target).
    pub fn latencies(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.served as usize);
        for v in self.latency.iter_recorded() {
            let seconds = v.value_iterated_to() as f64 / super::NS;
            out.extend(std::iter::repeat_n(seconds, v.count_at_value() as usize));
        }
        out
    }

    pub fn refusal_probability(&self) -> f64 {
        ratio(self.refused + self.dropped, self.offered)
    }

    pub fn failure_probability(&self) -> f64 {
        ratio(self.offered - self.served, self.offered)
    }

    pub(crate) fn time_mean(&self, l: &Level) -> f64 {
        if self.window > 0.0 {
            l.window_area / self.window
        } else {
            0.0
        }
    }
}
