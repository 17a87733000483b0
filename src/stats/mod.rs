//! Statistics: what one replication counts (`RepStats`, streaming: memory does not
//! grow with the run's length), per service of a chain and per master process, and how
//! replications combine into the reported summary (`Summary`): totals of counts, means
//! with 95 % Student-t intervals (and, for counts, binomial ones: none seen, any
//! refusal in a run), percentiles from merged HDR histograms; and the timeline of a run.
//! - `level.rs`: a time-weighted level (queue length, processes).
//! - `host.rs`: the host's CPUs (requests in their CPU part, CPUs in use).
//! - `rep.rs`: one replication's statistics.
//! - `summary.rs`: estimates and the summary, folded in replication by replication.
//! - `timeline.rs`: a run over time, in bins.

mod host;
mod level;
mod rep;
mod summary;
mod timeline;

pub use host::{HostStats, Usage};
pub use level::Level;
pub use rep::{MasterStats, RepStats, ServiceStats, DROPPED, OFFERED, REFUSED, SERVED, TIMED_OUT};
pub use summary::{
    binomial_interval, estimate, t_quantile, trials_to_bound, zero_count_bound, Combiner, Estimate,
    HostSummary, Latency, MasterSummary, Probability, Processes, QueueLength, QueueWait, Rare,
    RareHorizon, ServiceSummary, Summary,
};
pub use timeline::{Timeline, TimelineRow};

use hdrhistogram::Histogram;

/// Durations go into histograms as whole nanoseconds with 3 significant digits.
pub(crate) const NS: f64 = 1e9;

pub(crate) fn histogram() -> Histogram<u64> {
    // Auto-resizing, so a week-long latency still fits; 3 digits is 0.1 % resolution.
    let mut h = Histogram::new(3).expect("3 significant digits is valid");
    h.auto(true);
    h
}

/// Records a duration; `record` grows the histogram (saturation would clamp at its
/// current size), and only a value beyond u64 nanoseconds falls back to saturation.
#[inline]
pub(crate) fn record(h: &mut Histogram<u64>, seconds: f64) {
    // Rounded by adding a half, since durations are never negative, and converted
    // through i64 (292 years of nanoseconds): f64::round is a library call on baseline
    // x86-64, and f64 to u64 takes several instructions where f64 to i64 takes one.
    let ns = (seconds * NS + 0.5) as i64 as u64;
    if h.record(ns).is_err() {
        h.saturating_record(ns);
    }
}

/// Quantile of a merged histogram, kept inside the exact [min, max] so that a
/// constant value is reported exactly rather than as its bucket's upper edge.
pub(crate) fn quantile(h: &Histogram<u64>, q: f64, min: f64, max: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    (h.value_at_quantile(q) as f64 / NS).clamp(min, max)
}

/// a / b; not defined (NaN) when nothing was offered, rather than a 0 that would
/// read as "nothing refused".
pub(crate) fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}
