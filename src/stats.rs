//! Statistics: what one replication counts (`RepStats`, streaming: memory does not
//! grow with the run's length), and how replications combine into the reported
//! summary (`Summary`): totals of counts, means with 95 % Student-t intervals,
//! percentiles from merged HDR histograms.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Durations go into histograms as whole nanoseconds with 3 significant digits.
const NS: f64 = 1e9;

fn histogram() -> Histogram<u64> {
    // Auto-resizing, so a week-long latency still fits; 3 digits is 0.1 % resolution.
    let mut h = Histogram::new(3).expect("3 significant digits is valid");
    h.auto(true);
    h
}

/// Records a duration; `record` grows the histogram (saturation would clamp at its
/// current size), and only a value beyond u64 nanoseconds falls back to saturation.
#[inline]
fn record(h: &mut Histogram<u64>, seconds: f64) {
    // Rounded by adding a half, since durations are never negative, and converted
    // through i64 (292 years of nanoseconds): f64::round is a library call on baseline
    // x86-64, and f64 to u64 takes several instructions where f64 to i64 takes one.
    let ns = (seconds * NS + 0.5) as i64 as u64;
    if h.record(ns).is_err() {
        h.saturating_record(ns);
    }
}

/// A time-weighted mean and a peak of a quantity that changes in steps. It integrates
/// only when it changes, not at every event, and its hot path is a multiply-add and a
/// compare: the observed window is handled by `RepStats::start_window` (which restarts
/// the integral and the peak when the clock passes the warm-up) and
/// `RepStats::close_window` (which fixes the results), not by a test on every change.
#[derive(Debug, Clone, Default)]
pub struct Level {
    value: u64,
    since: f64,
    /// Integral and peak since the window started (since t = 0 before it starts).
    area: f64,
    peak: u64,
    /// The results, fixed when the window closes: the peak over the window, and the
    /// integral that `RepStats::time_mean` divides by the window's length.
    pub max: u64,
    window_area: f64,
    /// The integral the window's start cleared: with `area`, the integral since t = 0.
    carried: f64,
}

impl Level {
    /// The integral from t = 0 to `now` (for a timeline, read at each bin's edge).
    pub fn integral(&mut self, now: f64) -> f64 {
        self.accrue(now);
        self.carried + self.area
    }

    #[inline]
    fn accrue(&mut self, now: f64) {
        // Through i64: one instruction on x86-64, where u64 to f64 takes several
        // (a level never comes near 2^63).
        self.area += self.value as i64 as f64 * (now - self.since);
        self.since = now;
    }

    /// The quantity becomes `value` at time `now`.
    #[inline]
    pub fn set(&mut self, now: f64, value: u64) {
        self.accrue(now);
        self.value = value;
        if value > self.peak {
            self.peak = value;
        }
    }

    #[inline]
    pub fn add(&mut self, now: f64, delta: i64) {
        self.set(now, self.value.wrapping_add_signed(delta));
    }

    /// From `at` on, the integral starts from zero; the value held at `at` counts
    /// towards the peak.
    fn restart(&mut self, at: f64) {
        self.accrue(at);
        self.carried += self.area;
        self.area = 0.0;
        self.since = at;
        self.peak = self.value;
    }

    fn fix(&mut self, end: f64) {
        self.accrue(end);
        self.window_area = self.area;
        self.max = self.peak;
    }
}

/// Indices of the outcomes in a timeline's counts.
pub const OFFERED: usize = 0;
pub const SERVED: usize = 1;
pub const REFUSED: usize = 2;
pub const DROPPED: usize = 3;
pub const TIMED_OUT: usize = 4;

/// A timeline being recorded.
#[derive(Debug, Clone, Default)]
struct Recording {
    width: f64,
    counts: Vec<[u64; 5]>,
    queue: Vec<f64>,
    processes: Vec<f64>,
    queue_before: f64,
    processes_before: f64,
}

/// One replication over time, in bins of `width` seconds from t = 0 to `end`.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub width: f64,
    /// Outcomes by the bin of their arrival.
    pub counts: Vec<[u64; 5]>,
    /// Integrals of the queue length and of the processes over each bin.
    pub queue: Vec<f64>,
    pub processes: Vec<f64>,
    pub end: f64,
    /// The processes at the end, which stay after it.
    pub last_processes: u64,
}

/// Everything one replication measures.
#[derive(Debug, Clone)]
pub struct RepStats {
    pub offered: u64,
    pub served: u64,
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
    latency: Histogram<u64>,
    latency_sum: f64,
    latency_max: f64,
    latency_min: f64,
    queue_wait: Histogram<u64>,
    /// Waits of exactly zero, counted here and added to the histogram at the end:
    /// most connections at moderate load wait for nothing.
    queue_wait_zero: u64,
    queue_wait_sum: f64,
    queue_wait_n: u64,
    pub queue: Level,
    pub processes: Level,
    pub busy: Level,
    pub in_system: Level,
    pub forks: u64,
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
    pub fn new(warmup: f64) -> Self {
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
            queue_wait: histogram(),
            queue_wait_zero: 0,
            queue_wait_sum: 0.0,
            queue_wait_n: 0,
            queue: Level::default(),
            processes: Level::default(),
            busy: Level::default(),
            in_system: Level::default(),
            recording: None,
            timeline: None,
            started: false,
            closed: false,
            forks: 0,
            wasted_s: 0.0,
            events: 0,
            warmup,
            window: 0.0,
        }
    }

    /// Opens the observed window at `at`, the warm-up's end: the owner calls it once,
    /// before the first change at or after the warm-up (the simulator does so when its
    /// clock first reaches the warm-up, or at t = 0 without one). Levels integrate from
    /// here; a value held across `at` counts towards their peaks. Later calls change
    /// nothing.
    pub fn start_window(&mut self, at: f64) {
        if self.started {
            return;
        }
        self.started = true;
        for l in self.levels() {
            l.restart(at);
        }
    }

    /// Ends the observed window at `end`. A run with `load.duration` is observed from
    /// the warm-up's end to the duration, so that the time averages and peaks describe
    /// the load and not the drain after it (which, with long sessions, would dilute
    /// them); a run of `load.connections` (a burst) until its last connection is
    /// resolved. A window that never started (the run ended before the warm-up did)
    /// is empty. Later calls change nothing.
    pub fn close_window(&mut self, end: f64) {
        if self.closed {
            return;
        }
        self.closed = true;
        if end < self.warmup {
            // Empty: max and the integrals stay 0.
            self.window = 0.0;
            return;
        }
        self.start_window(self.warmup);
        for l in self.levels() {
            l.fix(end.max(l.since));
        }
        self.window = (end - self.warmup).max(0.0);
    }

    /// Keeps a timeline in bins of `width` seconds: the owner calls `bin_edge` at
    /// every multiple of `width`, and `finish_timeline` at the end.
    pub fn keep_timeline(&mut self, width: f64) {
        self.recording = Some(Box::new(Recording {
            width,
            ..Recording::default()
        }));
    }

    /// Counts an outcome (`SERVED`, `REFUSED`, ...) in the bin of the connection's
    /// arrival, when a timeline is kept; each counted connection ends in one, so the
    /// offered count of a bin is their sum.
    #[inline]
    pub fn mark(&mut self, sent: f64, outcome: usize) {
        if let Some(r) = self.recording.as_deref_mut() {
            let i = (sent / r.width) as usize;
            if r.counts.len() <= i {
                r.counts.resize(i + 1, [0; 5]);
            }
            r.counts[i][outcome] += 1;
        }
    }

    /// A bin ends at `now`: the levels' integrals over it are recorded.
    pub fn bin_edge(&mut self, now: f64) {
        let Some(r) = self.recording.as_deref_mut() else {
            return;
        };
        let q = self.queue.integral(now);
        let p = self.processes.integral(now);
        r.queue.push(q - r.queue_before);
        r.processes.push(p - r.processes_before);
        r.queue_before = q;
        r.processes_before = p;
    }

    /// Ends the timeline at `end`, the run's last event (its last bin partly filled).
    pub fn finish_timeline(&mut self, end: f64) {
        self.bin_edge(end);
        let Some(r) = self.recording.take() else {
            return;
        };
        let mut counts = r.counts;
        for c in &mut counts {
            c[OFFERED] = c[SERVED] + c[REFUSED] + c[DROPPED] + c[TIMED_OUT];
        }
        self.timeline = Some(Box::new(Timeline {
            width: r.width,
            counts,
            queue: r.queue,
            processes: r.processes,
            end,
            last_processes: self.processes.value,
        }));
    }

    fn levels(&mut self) -> [&mut Level; 4] {
        [
            &mut self.queue,
            &mut self.processes,
            &mut self.busy,
            &mut self.in_system,
        ]
    }

    #[inline]
    pub fn served(&mut self, latency: f64) {
        self.served += 1;
        self.latency_sum += latency;
        self.latency_max = self.latency_max.max(latency);
        self.latency_min = self.latency_min.min(latency);
        record(&mut self.latency, latency);
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

    pub fn refusal_probability(&self) -> f64 {
        ratio(self.refused + self.dropped, self.offered)
    }

    pub fn failure_probability(&self) -> f64 {
        ratio(self.offered - self.served, self.offered)
    }

    fn time_mean(&self, l: &Level) -> f64 {
        if self.window > 0.0 {
            l.window_area / self.window
        } else {
            0.0
        }
    }
}

/// a / b; not defined (NaN) when nothing was offered, rather than a 0 that would
/// read as "nothing refused".
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// A mean with its 95 % confidence interval (null bounds with fewer than 2 runs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    #[serde(with = "number")]
    pub mean: f64,
    #[serde(with = "number")]
    pub ci_low: f64,
    #[serde(with = "number")]
    pub ci_high: f64,
}

/// A metric as JSON writes it and reads it back exactly: a finite number as a number,
/// NaN (not defined: an interval of one replication) as null, and an infinity as the
/// string "inf" or "-inf" (JSON has no infinite numbers).
mod number {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else if x.is_nan() {
            s.serialize_none()
        } else if *x > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Option::<Written>::deserialize(d)? {
            None => Ok(f64::NAN),
            Some(Written::Number(x)) => Ok(x),
            Some(Written::Text(t)) => match t.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!(
                    "`{other}` is not a number (a metric is a number, null, \"inf\" or \"-inf\")"
                ))),
            },
        }
    }
}

impl Estimate {
    /// Half-width of the interval (NaN with fewer than 2 runs).
    pub fn half_width(&self) -> f64 {
        (self.ci_high - self.ci_low) / 2.0
    }
}

/// Student-t quantile for a two-sided interval of the given confidence.
pub fn t_quantile(confidence: f64, n: usize) -> f64 {
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("n >= 2");
    t.inverse_cdf(0.5 + confidence / 2.0)
}

/// Mean of `xs` with a Student-t interval; probabilities are clipped to [0, 1].
/// Values that are not defined (NaN: a replication that offered nothing) are left out;
/// with none left the estimate is not defined either.
pub fn estimate(xs: &[f64], confidence: f64, clip01: bool) -> Estimate {
    let defined: Vec<f64>;
    let xs = if xs.iter().any(|x| x.is_nan()) {
        defined = xs.iter().copied().filter(|x| !x.is_nan()).collect();
        &defined[..]
    } else {
        xs
    };
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Estimate {
            mean,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t_quantile(confidence, n) * (var / n as f64).sqrt();
    let (mut lo, mut hi) = (mean - half, mean + half);
    if clip01 {
        lo = lo.max(0.0);
        hi = hi.min(1.0);
    }
    Estimate {
        mean,
        ci_low: lo,
        ci_high: hi,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    #[serde(with = "number")]
    pub mean: f64,
    #[serde(with = "number")]
    pub p50: f64,
    #[serde(with = "number")]
    pub p90: f64,
    #[serde(with = "number")]
    pub p99: f64,
    #[serde(with = "number")]
    pub p999: f64,
    #[serde(with = "number")]
    pub max: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueWait {
    #[serde(with = "number")]
    pub mean: f64,
    #[serde(with = "number")]
    pub p99: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueLength {
    #[serde(with = "number")]
    pub mean: f64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Processes {
    pub forks: u64,
    #[serde(with = "number")]
    pub mean: f64,
    pub max: u64,
    /// Time-average number of processes doing blocking work.
    #[serde(with = "number")]
    pub busy_mean: f64,
    /// busy_mean / mean.
    #[serde(with = "number")]
    pub utilisation: f64,
}

/// The combined result of all replications of one model (SPEC section 5, without the
/// run's identity fields, which the report adds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub offered: u64,
    pub served: u64,
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
    pub refusal_probability: Estimate,
    pub failure_probability: Estimate,
    pub latency_s: Latency,
    pub queue_wait_s: QueueWait,
    pub queue_length: QueueLength,
    pub processes: Processes,
    /// Time-average number of connections queued or held before their reply.
    #[serde(with = "number")]
    pub in_system_mean: f64,
    /// Served connections per second of observed time.
    #[serde(with = "number")]
    pub throughput_per_s: f64,
    #[serde(with = "number")]
    pub wasted_s: f64,
    pub events: u64,
}

/// Quantile of a merged histogram, kept inside the exact [min, max] so that a
/// constant value is reported exactly rather than as its bucket's upper edge.
fn quantile(h: &Histogram<u64>, q: f64, min: f64, max: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    (h.value_at_quantile(q) as f64 / NS).clamp(min, max)
}

impl Summary {
    /// The summary of these replications, in this order.
    pub fn combine(reps: &[RepStats], confidence: f64) -> Summary {
        let mut c = Combiner::default();
        for r in reps {
            c.push(r);
        }
        c.summary(confidence)
    }
}

/// Replications folded into a summary one at a time, in replication order, so that
/// memory does not grow with their number: histograms are merged as they come, and
/// only the six per-replication numbers the intervals and time means need are kept.
/// The result is the same, to the bit, as combining all of them at once.
#[derive(Debug, Clone)]
pub struct Combiner {
    n: u64,
    offered: u64,
    served: u64,
    refused: u64,
    dropped: u64,
    timed_out: u64,
    latency: Histogram<u64>,
    wait: Histogram<u64>,
    lat_sum: f64,
    lat_max: f64,
    lat_min: f64,
    wait_sum: f64,
    wait_n: u64,
    queue_max: u64,
    forks: u64,
    processes_max: u64,
    wasted_s: f64,
    events: u64,
    window: f64,
    /// Per replication: refusal and failure probabilities, then the time means of the
    /// queue, the processes, the busy processes and the connections in the system.
    per_rep: Vec<[f64; 6]>,
    /// The replications' timelines, summed per bin, when they keep one.
    timeline: Option<Box<TimelineSums>>,
}

/// Timelines folded in: per bin, the sums (and sums of squares) of the outcome counts
/// and the sums of the level integrals.
#[derive(Debug, Clone, Default)]
struct TimelineSums {
    width: f64,
    n: u64,
    sum: Vec<[f64; 5]>,
    sumsq: Vec<[f64; 5]>,
    queue: Vec<f64>,
    processes: Vec<f64>,
    /// The processes each replication ended with, at the index of the first bin after
    /// its own last one: they stay alive after its end.
    after_end: Vec<f64>,
}

impl TimelineSums {
    fn push(&mut self, t: &Timeline) {
        self.width = t.width;
        self.n += 1;
        let grow = |v: &mut Vec<[f64; 5]>, n: usize| {
            if v.len() < n {
                v.resize(n, [0.0; 5]);
            }
        };
        grow(&mut self.sum, t.counts.len());
        grow(&mut self.sumsq, t.counts.len());
        for (i, c) in t.counts.iter().enumerate() {
            for (k, &count) in c.iter().enumerate() {
                let x = count as f64;
                self.sum[i][k] += x;
                self.sumsq[i][k] += x * x;
            }
        }
        let add = |into: &mut Vec<f64>, from: &[f64]| {
            if into.len() < from.len() {
                into.resize(from.len(), 0.0);
            }
            for (a, b) in into.iter_mut().zip(from) {
                *a += b;
            }
        };
        add(&mut self.queue, &t.queue);
        add(&mut self.processes, &t.processes);
        let last = t.processes.len();
        if self.after_end.len() <= last {
            self.after_end.resize(last + 1, 0.0);
        }
        self.after_end[last] += t.last_processes as f64;
    }

    fn rows(&self, confidence: f64) -> Vec<TimelineRow> {
        let bins = self
            .sum
            .len()
            .max(self.queue.len())
            .max(self.processes.len());
        let n = self.n as f64;
        let t = (self.n >= 2).then(|| t_quantile(confidence, self.n as usize));
        let mut staying = 0.0;
        (0..bins)
            .map(|i| {
                staying += self.after_end.get(i).copied().unwrap_or(0.0);
                let counts = std::array::from_fn(|k| {
                    let s = self.sum.get(i).map_or(0.0, |c| c[k]);
                    let sq = self.sumsq.get(i).map_or(0.0, |c| c[k]);
                    let mean = s / n;
                    match t {
                        Some(t) => {
                            let var = ((sq - n * mean * mean) / (n - 1.0)).max(0.0);
                            let half = t * (var / n).sqrt();
                            Estimate {
                                mean,
                                ci_low: (mean - half).max(0.0),
                                ci_high: mean + half,
                            }
                        }
                        None => Estimate {
                            mean,
                            ci_low: f64::NAN,
                            ci_high: f64::NAN,
                        },
                    }
                });
                let level = |v: &[f64]| v.get(i).copied().unwrap_or(0.0) / (n * self.width);
                TimelineRow {
                    t: i as f64 * self.width,
                    counts,
                    queue_length_mean: level(&self.queue),
                    processes_mean: level(&self.processes) + staying / n,
                }
            })
            .collect()
    }
}

/// One bin of a timeline, over the replications: outcome counts (by the bin of the
/// connections' arrival) with their intervals, and the time-average queue length and
/// processes in the bin.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineRow {
    /// The bin's start, seconds.
    pub t: f64,
    /// offered, served, refused, dropped, timed out.
    pub counts: [Estimate; 5],
    pub queue_length_mean: f64,
    pub processes_mean: f64,
}

impl Default for Combiner {
    fn default() -> Self {
        Combiner {
            n: 0,
            offered: 0,
            served: 0,
            refused: 0,
            dropped: 0,
            timed_out: 0,
            latency: histogram(),
            wait: histogram(),
            lat_sum: 0.0,
            lat_max: 0.0,
            lat_min: f64::INFINITY,
            wait_sum: 0.0,
            wait_n: 0,
            queue_max: 0,
            forks: 0,
            processes_max: 0,
            wasted_s: 0.0,
            events: 0,
            window: 0.0,
            per_rep: Vec::new(),
            timeline: None,
        }
    }
}

impl Combiner {
    /// Replications folded in so far.
    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Folds in the next replication.
    pub fn push(&mut self, r: &RepStats) {
        self.n += 1;
        self.offered += r.offered;
        self.served += r.served;
        self.refused += r.refused;
        self.dropped += r.dropped;
        self.timed_out += r.timed_out;
        self.latency
            .add(&r.latency)
            .expect("auto-resizing histograms merge");
        self.wait
            .add(&r.queue_wait)
            .expect("auto-resizing histograms merge");
        if r.queue_wait_zero > 0 {
            self.wait
                .record_n(0, r.queue_wait_zero)
                .expect("zero fits every histogram");
        }
        self.lat_sum += r.latency_sum;
        self.lat_max = self.lat_max.max(r.latency_max);
        self.lat_min = self.lat_min.min(r.latency_min);
        self.wait_sum += r.queue_wait_sum;
        self.wait_n += r.queue_wait_n;
        self.queue_max = self.queue_max.max(r.queue.max);
        self.forks += r.forks;
        self.processes_max = self.processes_max.max(r.processes.max);
        self.wasted_s += r.wasted_s;
        self.events += r.events;
        self.window += r.window;
        if let Some(t) = &r.timeline {
            self.timeline.get_or_insert_with(Default::default).push(t);
        }
        self.per_rep.push([
            r.refusal_probability(),
            r.failure_probability(),
            r.time_mean(&r.queue),
            r.time_mean(&r.processes),
            r.time_mean(&r.busy),
            r.time_mean(&r.in_system),
        ]);
    }

    /// The timeline of the replications folded in so far, when they kept one.
    pub fn timeline(&self, confidence: f64) -> Option<Vec<TimelineRow>> {
        self.timeline.as_ref().map(|t| t.rows(confidence))
    }

    /// The summary of the replications folded in so far.
    pub fn summary(&self, confidence: f64) -> Summary {
        let column = |k: usize| self.per_rep.iter().map(|r| r[k]).collect::<Vec<f64>>();
        let n = self.per_rep.len().max(1) as f64;
        // Each replication's share added in order, as a mean over them.
        let time_mean = |k: usize| self.per_rep.iter().fold(0.0, |m, r| m + r[k] / n);
        let mut s = Summary {
            offered: self.offered,
            served: self.served,
            refused: self.refused,
            dropped: self.dropped,
            timed_out: self.timed_out,
            refusal_probability: estimate(&column(0), confidence, true),
            failure_probability: estimate(&column(1), confidence, true),
            latency_s: Latency {
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            },
            queue_wait_s: QueueWait {
                mean: 0.0,
                p99: 0.0,
            },
            queue_length: QueueLength {
                mean: time_mean(2),
                max: self.queue_max,
            },
            processes: Processes {
                forks: self.forks,
                mean: time_mean(3),
                max: self.processes_max,
                busy_mean: time_mean(4),
                utilisation: 0.0,
            },
            in_system_mean: time_mean(5),
            throughput_per_s: 0.0,
            wasted_s: self.wasted_s,
            events: self.events,
        };
        if s.processes.mean > 0.0 {
            s.processes.utilisation = s.processes.busy_mean / s.processes.mean;
        }
        if self.window > 0.0 {
            s.throughput_per_s = s.served as f64 / self.window;
        }
        if s.served > 0 {
            let (min, max) = (self.lat_min, self.lat_max);
            s.latency_s = Latency {
                mean: self.lat_sum / s.served as f64,
                p50: quantile(&self.latency, 0.5, min, max),
                p90: quantile(&self.latency, 0.9, min, max),
                p99: quantile(&self.latency, 0.99, min, max),
                p999: quantile(&self.latency, 0.999, min, max),
                max,
            };
        }
        if self.wait_n > 0 {
            s.queue_wait_s = QueueWait {
                mean: self.wait_sum / self.wait_n as f64,
                p99: quantile(&self.wait, 0.99, 0.0, f64::INFINITY),
            };
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_t_interval_matches_the_textbook_quantile() {
        // t(0.975, 9) = 2.262157
        assert!((t_quantile(0.95, 10) - 2.262157).abs() < 1e-6);
        let e = estimate(&[1.0, 2.0, 3.0, 4.0], 0.95, false);
        // mean 2.5, sd 1.29099, se 0.645497, t(0.975,3) = 3.182446
        assert!((e.mean - 2.5).abs() < 1e-12);
        assert!((e.half_width() - 3.182446 * 0.645497).abs() < 1e-5);
    }

    #[test]
    fn one_run_has_no_interval() {
        let e = estimate(&[0.3], 0.95, true);
        assert!(e.ci_low.is_nan() && e.ci_high.is_nan());
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"mean":0.3,"ci_low":null,"ci_high":null}"#
        );
    }

    #[test]
    fn time_weighted_levels_start_at_the_warmup() {
        let mut r = RepStats::new(1.0);
        r.queue.set(0.0, 4);
        r.start_window(1.0);
        r.queue.set(2.0, 0); // only [1, 2] counts: area 4
        r.close_window(3.0);
        r.queue.set(3.5, 9); // after the window: not counted
        r.close_window(4.0);
        assert_eq!(r.window, 2.0);
        assert_eq!(r.queue.max, 4);
        assert!((r.time_mean(&r.queue) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_run_that_ends_before_the_warmup_has_an_empty_window() {
        let mut r = RepStats::new(10.0);
        r.processes.set(0.0, 7);
        r.close_window(4.0);
        assert_eq!(r.window, 0.0);
        assert_eq!(r.processes.max, 0);
        assert_eq!(r.time_mean(&r.processes), 0.0);
    }

    #[test]
    fn a_window_that_no_change_opened_still_counts_the_value_held() {
        // Nothing changed after the warm-up: the value held from 0 covers [2, 5].
        let mut r = RepStats::new(2.0);
        r.busy.set(0.0, 3);
        r.close_window(5.0);
        assert_eq!(r.window, 3.0);
        assert_eq!(r.busy.max, 3);
        assert!((r.time_mean(&r.busy) - 3.0).abs() < 1e-12);
    }

    #[test]
    fn percentiles_of_spread_values_are_within_the_histogram_resolution() {
        let mut r = RepStats::new(0.0);
        for i in 1..=1000 {
            r.served(i as f64 / 100.0);
        }
        let s = Summary::combine(&[r.clone(), r], 0.95);
        assert!((s.latency_s.p50 - 5.0).abs() < 0.01, "{:?}", s.latency_s);
        assert!((s.latency_s.p99 - 9.9).abs() < 0.02, "{:?}", s.latency_s);
        assert_eq!(s.latency_s.max, 10.0);
    }

    #[test]
    fn zero_queue_waits_count_in_the_percentiles() {
        let mut r = RepStats::new(0.0);
        for _ in 0..995 {
            r.queue_wait(0.0);
        }
        for _ in 0..5 {
            r.queue_wait(2.0);
        }
        let s = Summary::combine(&[r], 0.95);
        // 0.5 % waited: the 99th percentile is a connection that did not.
        assert_eq!(s.queue_wait_s.p99, 0.0);
        assert!((s.queue_wait_s.mean - 0.01).abs() < 1e-12);
    }

    #[test]
    fn a_constant_latency_is_reported_exactly_at_every_percentile() {
        let mut r = RepStats::new(0.0);
        for _ in 0..10 {
            r.served(2.0);
        }
        let s = Summary::combine(&[r], 0.95);
        assert_eq!(s.latency_s.p50, 2.0);
        assert_eq!(s.latency_s.p999, 2.0);
        assert_eq!(s.latency_s.max, 2.0);
    }
}
