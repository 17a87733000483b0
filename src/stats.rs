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
}

impl Level {
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

    /// Every served connection's latency, in seconds, as the histogram holds it (to
    /// its 0.1 %): a replication replayed as a measurement (the harness's mock target).
    pub fn latencies(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.served as usize);
        for v in self.latency.iter_recorded() {
            let seconds = v.value_iterated_to() as f64 / NS;
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

    fn time_mean(&self, l: &Level) -> f64 {
        if self.window > 0.0 {
            l.window_area / self.window
        } else {
            0.0
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// A mean with its 95 % confidence interval (null bounds with fewer than 2 runs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    #[serde(with = "nullable")]
    pub ci_low: f64,
    #[serde(with = "nullable")]
    pub ci_high: f64,
}

/// NaN is written as JSON null and read back as NaN.
mod nullable {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_none()
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
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
pub fn estimate(xs: &[f64], confidence: f64, clip01: bool) -> Estimate {
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
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueWait {
    pub mean: f64,
    pub p99: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueueLength {
    pub mean: f64,
    pub max: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Processes {
    pub forks: u64,
    pub mean: f64,
    pub max: u64,
    /// Time-average number of processes doing blocking work.
    pub busy_mean: f64,
    /// busy_mean / mean.
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
    pub in_system_mean: f64,
    /// Served connections per second of observed time.
    pub throughput_per_s: f64,
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
    pub fn combine(reps: &[RepStats], confidence: f64) -> Summary {
        let mut latency = histogram();
        let mut wait = histogram();
        let (mut lat_sum, mut lat_max, mut lat_min) = (0.0, 0.0f64, f64::INFINITY);
        let (mut wait_sum, mut wait_n) = (0.0, 0u64);
        let mut s = Summary {
            offered: 0,
            served: 0,
            refused: 0,
            dropped: 0,
            timed_out: 0,
            refusal_probability: estimate(
                &reps
                    .iter()
                    .map(RepStats::refusal_probability)
                    .collect::<Vec<_>>(),
                confidence,
                true,
            ),
            failure_probability: estimate(
                &reps
                    .iter()
                    .map(RepStats::failure_probability)
                    .collect::<Vec<_>>(),
                confidence,
                true,
            ),
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
            queue_length: QueueLength { mean: 0.0, max: 0 },
            processes: Processes {
                forks: 0,
                mean: 0.0,
                max: 0,
                busy_mean: 0.0,
                utilisation: 0.0,
            },
            in_system_mean: 0.0,
            throughput_per_s: 0.0,
            wasted_s: 0.0,
            events: 0,
        };
        let n = reps.len().max(1) as f64;
        let mut window = 0.0;
        for r in reps {
            s.offered += r.offered;
            s.served += r.served;
            s.refused += r.refused;
            s.dropped += r.dropped;
            s.timed_out += r.timed_out;
            latency
                .add(&r.latency)
                .expect("auto-resizing histograms merge");
            wait.add(&r.queue_wait)
                .expect("auto-resizing histograms merge");
            if r.queue_wait_zero > 0 {
                wait.record_n(0, r.queue_wait_zero)
                    .expect("zero fits every histogram");
            }
            lat_sum += r.latency_sum;
            lat_max = lat_max.max(r.latency_max);
            lat_min = lat_min.min(r.latency_min);
            wait_sum += r.queue_wait_sum;
            wait_n += r.queue_wait_n;
            s.queue_length.mean += r.time_mean(&r.queue) / n;
            s.queue_length.max = s.queue_length.max.max(r.queue.max);
            s.processes.forks += r.forks;
            s.processes.mean += r.time_mean(&r.processes) / n;
            s.processes.max = s.processes.max.max(r.processes.max);
            s.processes.busy_mean += r.time_mean(&r.busy) / n;
            s.in_system_mean += r.time_mean(&r.in_system) / n;
            s.wasted_s += r.wasted_s;
            s.events += r.events;
            window += r.window;
        }
        if s.processes.mean > 0.0 {
            s.processes.utilisation = s.processes.busy_mean / s.processes.mean;
        }
        if window > 0.0 {
            s.throughput_per_s = s.served as f64 / window;
        }
        if s.served > 0 {
            s.latency_s = Latency {
                mean: lat_sum / s.served as f64,
                p50: quantile(&latency, 0.5, lat_min, lat_max),
                p90: quantile(&latency, 0.9, lat_min, lat_max),
                p99: quantile(&latency, 0.99, lat_min, lat_max),
                p999: quantile(&latency, 0.999, lat_min, lat_max),
                max: lat_max,
            };
        }
        if wait_n > 0 {
            s.queue_wait_s = QueueWait {
                mean: wait_sum / wait_n as f64,
                p99: quantile(&wait, 0.99, 0.0, f64::INFINITY),
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
