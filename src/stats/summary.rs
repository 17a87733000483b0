//! How replications combine into the reported summary: totals of counts, means with
//! 95 % Student-t intervals, percentiles from merged HDR histograms, end to end and,
//! for a chain, per service and per master. Two figures are counts, not means, and get
//! the intervals of counts: a probability no replication saw a single event of ("none
//! seen": its bound from the exposure, `Probability`), and the share of replications
//! that saw any refusal (`any_refusal_probability`, a Clopper-Pearson interval).

use super::timeline::TimelineSums;
use super::{histogram, quantile, RepStats, ServiceStats, TimelineRow};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF, StudentsT};

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

/// A probability estimated from replications (refusals, failures): the mean of the
/// replications' shares with its interval, and what was seen. When no replication saw a
/// single event, the Student-t interval would be [0, 0], a certainty no finite run
/// gives: the point is then marked `none_seen`, and its interval is [0, `upper_bound`],
/// the one-sided bound of `zero_count_bound` from the connections offered.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probability {
    #[serde(with = "number")]
    pub mean: f64,
    #[serde(with = "number")]
    pub ci_low: f64,
    #[serde(with = "number")]
    pub ci_high: f64,
    /// Connections were offered and not one of them had the outcome.
    #[serde(default)]
    pub none_seen: bool,
    /// With `none_seen`: the 95 % upper bound (null otherwise).
    #[serde(default = "not_defined", with = "number")]
    pub upper_bound: f64,
}

fn not_defined() -> f64 {
    f64::NAN
}

impl Probability {
    /// Half-width of the interval (NaN with fewer than 2 runs and some events seen).
    pub fn half_width(&self) -> f64 {
        (self.ci_high - self.ci_low) / 2.0
    }

    /// The mean and the interval alone.
    pub fn estimate(&self) -> Estimate {
        Estimate {
            mean: self.mean,
            ci_low: self.ci_low,
            ci_high: self.ci_high,
        }
    }

    /// From the replications' shares `xs`, and the totals over them: `events` of the
    /// outcome among `offered` connections.
    pub fn of(xs: &[f64], events: u64, offered: u64, confidence: f64) -> Probability {
        let e = estimate(xs, confidence, true);
        let none_seen = events == 0 && offered > 0;
        if !none_seen {
            return Probability {
                mean: e.mean,
                ci_low: e.ci_low,
                ci_high: e.ci_high,
                none_seen,
                upper_bound: f64::NAN,
            };
        }
        let bound = zero_count_bound(offered, confidence);
        Probability {
            mean: 0.0,
            ci_low: 0.0,
            ci_high: bound,
            none_seen,
            upper_bound: bound,
        }
    }
}

/// The one-sided upper bound, at `confidence`, of a probability of which none was seen
/// in `n` trials: the p at which seeing none has probability 1 - confidence,
/// 1 - (1 - confidence)^(1/n) (the Clopper-Pearson bound for 0 of n; at 95 % about
/// -ln(0.05)/n = 3.0/n, "the rule of three").
///
/// Here the trials are the connections offered. That counts them as independent, which
/// refusals are not: they come in bursts, while the queue is full, so n connections
/// carry the information of fewer independent ones and the real uncertainty is larger
/// than this bound. It is the smallest bound the run can honestly claim, never a
/// guarantee; `any_refusal_probability` (replications that saw any) is the figure
/// whose interval needs no such assumption.
pub fn zero_count_bound(n: u64, confidence: f64) -> f64 {
    if n == 0 {
        return 1.0;
    }
    -((1.0 - confidence).ln() / n as f64).exp_m1()
}

/// How many trials with none seen bring `zero_count_bound` down to `p`: the fewest n
/// with 1 - (1 - confidence)^(1/n) <= p.
pub fn trials_to_bound(p: f64, confidence: f64) -> f64 {
    if p <= 0.0 {
        return f64::INFINITY;
    }
    if p >= 1.0 {
        return 1.0;
    }
    ((1.0 - confidence).ln() / (-p).ln_1p()).ceil()
}

/// The Clopper-Pearson interval of a share of `k` in `n` (two-sided, at `confidence`):
/// exact binomial quantiles, so its coverage is at least the confidence whatever n, and
/// 0 of n is not [0, 0] (a Student-t interval on 0/1 values would be). NaN bounds with
/// n = 0.
pub fn binomial_interval(k: u64, n: u64, confidence: f64) -> Estimate {
    if n == 0 {
        return Estimate {
            mean: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let (kf, nf) = (k as f64, n as f64);
    let alpha = 1.0 - confidence;
    let low = if k == 0 {
        0.0
    } else if k == n {
        (alpha / 2.0).powf(1.0 / nf)
    } else {
        Beta::new(kf, nf - kf + 1.0)
            .expect("positive shapes")
            .inverse_cdf(alpha / 2.0)
    };
    let high = if k == n {
        1.0
    } else if k == 0 {
        1.0 - (alpha / 2.0).powf(1.0 / nf)
    } else {
        Beta::new(kf + 1.0, nf - kf)
            .expect("positive shapes")
            .inverse_cdf(1.0 - alpha / 2.0)
    };
    Estimate {
        mean: kf / nf,
        ci_low: low,
        ci_high: high,
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
/// run's identity fields, which the report adds). The queue, wait and process figures
/// are the first service's; a chain adds each service's and each master's own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub offered: u64,
    pub served: u64,
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
    pub refusal_probability: Probability,
    pub failure_probability: Probability,
    /// The share of replications (each one whole load.duration: one peak) that saw at
    /// least one connection refused or dropped, with its Clopper-Pearson interval.
    #[serde(default = "no_estimate")]
    pub any_refusal_probability: Estimate,
    pub latency_s: Latency,
    pub queue_wait_s: QueueWait,
    pub queue_length: QueueLength,
    pub processes: Processes,
    /// The host's CPUs, for a model with `host.cpus` (SPEC section 13).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostSummary>,
    /// Time-average number of connections queued or held before their reply.
    #[serde(with = "number")]
    pub in_system_mean: f64,
    /// Served connections per second of observed time.
    #[serde(with = "number")]
    pub throughput_per_s: f64,
    #[serde(with = "number")]
    pub wasted_s: f64,
    pub events: u64,
    /// A chain's services, by name, first service first (SPEC section 8).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "named")]
    pub services: Vec<(String, ServiceSummary)>,
    /// A chain's master processes, by label.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "named")]
    pub masters: Vec<(String, MasterSummary)>,
    /// With `sim.rare`: how the refusal probabilities were estimated (SPEC section 14).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rare: Option<Rare>,
}

/// How `sim.rare` estimated `refusal_probability` (RESTART: `method`, its thresholds of
/// the importance and their splitting factors) and `any_refusal_probability` (fixed
/// effort: `any_refusal`), with what tells how far to trust them (SPEC section 14).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rare {
    /// "restart".
    pub method: String,
    /// What the levels measure: the service whose queue they are on, and how.
    pub importance: String,
    /// The thresholds of the importance, lowest first.
    pub levels: Vec<i64>,
    /// Each threshold's splitting factor.
    pub factors: Vec<u32>,
    /// Trajectories run over every replication: the main ones and every retrial.
    pub trajectories: u64,
    /// Replications in which some trajectory rose to the top level.
    pub replications_reaching_top: u64,
    /// Fewer than 10 replications reached the top level: the interval may be too narrow.
    pub unreliable: bool,
    /// The chance of any refusal in a replication, by fixed-effort splitting.
    pub any_refusal: RareHorizon,
}

/// How `sim.rare` estimated the chance of any refusal in one replication (one whole
/// load.duration): fixed-effort splitting over the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RareHorizon {
    /// "fixed-effort".
    pub method: String,
    /// The levels of the importance (the queue and the fluid look-ahead of the load),
    /// lowest first; the last stage's goal is a refusal.
    pub levels: Vec<f64>,
    /// Trajectories each stage runs, in each replication.
    pub per_stage: u64,
    /// Replications that ran the stages (the first ones).
    pub replications: u64,
    /// Trajectories run over every replication.
    pub trajectories: u64,
    /// Replications whose last stage saw a refusal.
    pub replications_reaching_top: u64,
    /// Fewer than 10 replications saw a refusal.
    pub unreliable: bool,
}

/// The host's CPUs over the replications (SPEC section 13): the share of `host.cpus`
/// in use, and the time-average number of requests in their CPU part (on a CPU or
/// waiting for one), each the mean of the replications' time averages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    #[serde(with = "number")]
    pub cpu_utilisation: f64,
    #[serde(with = "number")]
    pub cpu_queue_mean: f64,
}

fn no_estimate() -> Estimate {
    Estimate {
        mean: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
    }
}

/// One service of a chain, over the replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// Connections that reached its listener.
    pub offered: u64,
    /// Client connections refused, dropped or timed out at this service.
    pub refused: u64,
    pub dropped: u64,
    pub timed_out: u64,
    pub queue_wait_s: QueueWait,
    pub queue_length: QueueLength,
    pub processes: Processes,
    pub effective: ServiceEffective,
}

/// What follows from the service's settings.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ServiceEffective {
    /// min(backlog, somaxconn) + 1.
    pub queue_capacity: u64,
}

/// One master process of a chain, over the replications.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MasterSummary {
    pub forks: u64,
    /// The share of the observed time it spent forking (mean over replications).
    #[serde(with = "number")]
    pub busy_fraction: f64,
    /// How long a fork request waited for the master.
    pub fork_wait_s: QueueWait,
}

/// A list of (name, value) written as a JSON object in its order.
mod named {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use std::marker::PhantomData;

    pub fn serialize<S: Serializer, T: Serialize>(
        v: &[(String, T)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(v.len()))?;
        for (k, x) in v {
            m.serialize_entry(k, x)?;
        }
        m.end()
    }

    struct Ordered<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for Ordered<T> {
        type Value = Vec<(String, T)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of named entries")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
            let mut v = Vec::new();
            while let Some((k, x)) = a.next_entry()? {
                v.push((k, x));
            }
            Ok(v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Vec<(String, T)>, D::Error> {
        d.deserialize_map(Ordered(PhantomData))
    }
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

/// One service's statistics folded over replications.
#[derive(Debug, Clone)]
struct ServiceSums {
    offered: u64,
    refused: u64,
    dropped: u64,
    timed_out: u64,
    wait: Histogram<u64>,
    wait_sum: f64,
    wait_n: u64,
    queue_max: u64,
    forks: u64,
    processes_max: u64,
    /// Per replication: the time means of the queue, the processes and the busy ones.
    per_rep: Vec<[f64; 3]>,
}

impl Default for ServiceSums {
    fn default() -> Self {
        ServiceSums {
            offered: 0,
            refused: 0,
            dropped: 0,
            timed_out: 0,
            wait: histogram(),
            wait_sum: 0.0,
            wait_n: 0,
            queue_max: 0,
            forks: 0,
            processes_max: 0,
            per_rep: Vec::new(),
        }
    }
}

impl ServiceSums {
    fn push(&mut self, r: &RepStats, s: &ServiceStats) {
        self.offered += s.offered;
        self.refused += s.refused;
        self.dropped += s.dropped;
        self.timed_out += s.timed_out;
        self.wait
            .add(&s.queue_wait)
            .expect("auto-resizing histograms merge");
        if s.queue_wait_zero > 0 {
            self.wait
                .record_n(0, s.queue_wait_zero)
                .expect("zero fits every histogram");
        }
        self.wait_sum += s.queue_wait_sum;
        self.wait_n += s.queue_wait_n;
        self.queue_max = self.queue_max.max(s.queue.max);
        self.forks += s.forks;
        self.processes_max = self.processes_max.max(s.processes.max);
        self.per_rep.push([
            r.time_mean(&s.queue),
            r.time_mean(&s.processes),
            r.time_mean(&s.busy),
        ]);
    }

    /// Each replication's share added in order, as a mean over them.
    fn time_mean(&self, k: usize) -> f64 {
        let n = self.per_rep.len().max(1) as f64;
        self.per_rep.iter().fold(0.0, |m, r| m + r[k] / n)
    }

    fn queue_wait(&self) -> QueueWait {
        if self.wait_n == 0 {
            return QueueWait {
                mean: 0.0,
                p99: 0.0,
            };
        }
        QueueWait {
            mean: self.wait_sum / self.wait_n as f64,
            p99: quantile(&self.wait, 0.99, 0.0, f64::INFINITY),
        }
    }

    fn queue_length(&self) -> QueueLength {
        QueueLength {
            mean: self.time_mean(0),
            max: self.queue_max,
        }
    }

    fn processes(&self) -> Processes {
        let mut p = Processes {
            forks: self.forks,
            mean: self.time_mean(1),
            max: self.processes_max,
            busy_mean: self.time_mean(2),
            utilisation: 0.0,
        };
        if p.mean > 0.0 {
            p.utilisation = p.busy_mean / p.mean;
        }
        p
    }
}

/// One master's statistics folded over replications.
#[derive(Debug, Clone)]
struct MasterSums {
    forks: u64,
    wait: Histogram<u64>,
    wait_sum: f64,
    busy_fraction: Vec<f64>,
}

impl Default for MasterSums {
    fn default() -> Self {
        MasterSums {
            forks: 0,
            wait: histogram(),
            wait_sum: 0.0,
            busy_fraction: Vec::new(),
        }
    }
}

/// Replications folded into a summary one at a time, in replication order, so that
/// memory does not grow with their number: histograms are merged as they come, and
/// only the few per-replication numbers the intervals and time means need are kept.
/// The result is the same, to the bit, as combining all of them at once.
#[derive(Debug, Clone)]
pub struct Combiner {
    n: u64,
    offered: u64,
    served: u64,
    refused: u64,
    dropped: u64,
    timed_out: u64,
    /// Replications that saw at least one connection refused or dropped.
    any_refused: u64,
    latency: Histogram<u64>,
    lat_sum: f64,
    lat_max: f64,
    lat_min: f64,
    wasted_s: f64,
    events: u64,
    window: f64,
    /// Per replication: refusal and failure probabilities, and the time mean of the
    /// connections in the system.
    per_rep: Vec<[f64; 3]>,
    services: Vec<ServiceSums>,
    masters: Vec<MasterSums>,
    /// Per replication with host CPUs: their utilisation and the requests in their
    /// CPU part (`HostStats::figures`).
    host: Vec<(f64, f64)>,
    /// The replications' timelines, summed per bin, when they keep one.
    timeline: Option<Box<TimelineSums>>,
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
            any_refused: 0,
            latency: histogram(),
            lat_sum: 0.0,
            lat_max: 0.0,
            lat_min: f64::INFINITY,
            wasted_s: 0.0,
            events: 0,
            window: 0.0,
            per_rep: Vec::new(),
            services: Vec::new(),
            masters: Vec::new(),
            host: Vec::new(),
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
        if r.refused + r.dropped > 0 {
            self.any_refused += 1;
        }
        self.latency
            .add(&r.latency)
            .expect("auto-resizing histograms merge");
        self.lat_sum += r.latency_sum;
        self.lat_max = self.lat_max.max(r.latency_max);
        self.lat_min = self.lat_min.min(r.latency_min);
        self.wasted_s += r.wasted_s;
        self.events += r.events;
        self.window += r.window;
        if self.services.len() < r.services.len() {
            self.services
                .resize_with(r.services.len(), ServiceSums::default);
        }
        for (sums, s) in self.services.iter_mut().zip(&r.services) {
            sums.push(r, s);
        }
        if self.masters.len() < r.masters.len() {
            self.masters
                .resize_with(r.masters.len(), MasterSums::default);
        }
        for (sums, m) in self.masters.iter_mut().zip(&r.masters) {
            sums.forks += m.forks;
            sums.wait
                .add(&m.fork_wait)
                .expect("auto-resizing histograms merge");
            sums.wait_sum += m.fork_wait_sum;
            sums.busy_fraction.push(if r.window > 0.0 {
                m.busy_s / r.window
            } else {
                0.0
            });
        }
        if let Some(t) = &r.timeline {
            self.timeline.get_or_insert_with(Default::default).push(t);
        }
        if let Some(h) = &r.host {
            self.host.push(h.figures(r.window));
        }
        self.per_rep.push([
            r.refusal_probability(),
            r.failure_probability(),
            r.time_mean(&r.in_system),
        ]);
    }

    /// The timeline of the replications folded in so far, when they kept one.
    pub fn timeline(&self, confidence: f64) -> Option<Vec<TimelineRow>> {
        self.timeline.as_ref().map(|t| t.rows(confidence))
    }

    /// The summary of the replications folded in so far; `names` names the services
    /// and `masters` the masters of a chain (empty for a single service), and
    /// `capacities` gives each service's queue capacity.
    pub fn summary(&self, confidence: f64) -> Summary {
        self.summary_of(confidence, &[], &[], &[])
    }

    pub fn summary_of(
        &self,
        confidence: f64,
        names: &[String],
        capacities: &[u64],
        masters: &[String],
    ) -> Summary {
        let column = |k: usize| self.per_rep.iter().map(|r| r[k]).collect::<Vec<f64>>();
        let n = self.per_rep.len().max(1) as f64;
        let front = self.services.first().cloned().unwrap_or_default();
        let mut s = Summary {
            offered: self.offered,
            served: self.served,
            refused: self.refused,
            dropped: self.dropped,
            timed_out: self.timed_out,
            refusal_probability: Probability::of(
                &column(0),
                self.refused + self.dropped,
                self.offered,
                confidence,
            ),
            failure_probability: Probability::of(
                &column(1),
                self.offered.saturating_sub(self.served),
                self.offered,
                confidence,
            ),
            any_refusal_probability: binomial_interval(self.any_refused, self.n, confidence),
            latency_s: Latency {
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            },
            queue_wait_s: front.queue_wait(),
            queue_length: front.queue_length(),
            processes: front.processes(),
            host: None,
            in_system_mean: self.per_rep.iter().fold(0.0, |m, r| m + r[2] / n),
            throughput_per_s: 0.0,
            wasted_s: self.wasted_s,
            events: self.events,
            services: Vec::new(),
            masters: Vec::new(),
            rare: None,
        };
        if self.window > 0.0 {
            s.throughput_per_s = s.served as f64 / self.window;
        }
        if !self.host.is_empty() {
            let k = self.host.len() as f64;
            let (u, q) = self
                .host
                .iter()
                .fold((0.0, 0.0), |(u, q), (a, b)| (u + a / k, q + b / k));
            s.host = Some(HostSummary {
                cpu_utilisation: u,
                cpu_queue_mean: q,
            });
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
        for ((name, sums), capacity) in names.iter().zip(&self.services).zip(capacities) {
            s.services.push((
                name.clone(),
                ServiceSummary {
                    offered: sums.offered,
                    refused: sums.refused,
                    dropped: sums.dropped,
                    timed_out: sums.timed_out,
                    queue_wait_s: sums.queue_wait(),
                    queue_length: sums.queue_length(),
                    processes: sums.processes(),
                    effective: ServiceEffective {
                        queue_capacity: *capacity,
                    },
                },
            ));
        }
        for (label, m) in masters.iter().zip(&self.masters) {
            let wait = if m.forks > 0 {
                QueueWait {
                    mean: m.wait_sum / m.forks as f64,
                    p99: quantile(&m.wait, 0.99, 0.0, f64::INFINITY),
                }
            } else {
                QueueWait {
                    mean: 0.0,
                    p99: 0.0,
                }
            };
            let reps = m.busy_fraction.len().max(1) as f64;
            s.masters.push((
                label.clone(),
                MasterSummary {
                    forks: m.forks,
                    busy_fraction: m.busy_fraction.iter().fold(0.0, |a, x| a + x / reps),
                    fork_wait_s: wait,
                },
            ));
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

    /// A replication that offered `offered` connections, `refused` of them refused and
    /// the rest served.
    fn rep(offered: u64, refused: u64) -> RepStats {
        let mut r = RepStats::new(0.0);
        r.offered = offered;
        r.refused = refused;
        for _ in refused..offered {
            r.served(1.0);
        }
        r
    }

    #[test]
    fn none_seen_is_bounded_by_the_exposure_not_reported_as_zero_to_zero() {
        // 3 replications of 16000 connections, none refused: 48000 trials.
        let s = Summary::combine(&[rep(16000, 0), rep(16000, 0), rep(16000, 0)], 0.95);
        let p = s.refusal_probability;
        assert!(p.none_seen);
        assert_eq!((p.mean, p.ci_low), (0.0, 0.0));
        // 1 - 0.05^(1/48000) = 6.2411e-5, about 3/48000.
        assert!((p.upper_bound - 6.2411e-5).abs() < 1e-8, "{p:?}");
        assert_eq!(p.ci_high, p.upper_bound);
        assert!((p.upper_bound * 48000.0 - 2.9957).abs() < 1e-3);
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json["none_seen"], true);
        // Seen once: the Student-t interval, no bound.
        let s = Summary::combine(&[rep(16000, 1), rep(16000, 0), rep(16000, 0)], 0.95);
        assert!(!s.refusal_probability.none_seen);
        assert!(s.refusal_probability.upper_bound.is_nan());
        assert_eq!(
            serde_json::to_value(s.refusal_probability).unwrap()["upper_bound"],
            serde_json::Value::Null
        );
        // Nothing offered: not defined, and not "none seen" either.
        let s = Summary::combine(&[rep(0, 0), rep(0, 0)], 0.95);
        assert!(s.refusal_probability.mean.is_nan() && !s.refusal_probability.none_seen);
    }

    #[test]
    fn the_trials_a_bound_needs_bring_the_bound_down_to_it() {
        for p in [1e-7, 1e-3, 0.01, 0.3] {
            let n = trials_to_bound(p, 0.95);
            assert!(zero_count_bound(n as u64, 0.95) <= p, "{p}");
            assert!(zero_count_bound(n as u64 - 1, 0.95) > p, "{p}");
        }
        // About 3 / p.
        assert!((trials_to_bound(1e-7, 0.95) / 2.9957e7 - 1.0).abs() < 1e-4);
    }

    #[test]
    fn any_refusal_is_a_share_of_replications_with_a_clopper_pearson_interval() {
        // Textbook values (two-sided 95 %): 0/3 -> [0, 0.7076], 1/3 -> [0.0084, 0.9057],
        // 5/10 -> [0.1871, 0.8129], 3/3 -> [0.2924, 1].
        let close = |e: Estimate, lo: f64, hi: f64| {
            assert!(
                (e.ci_low - lo).abs() < 1e-4 && (e.ci_high - hi).abs() < 1e-4,
                "{e:?} vs [{lo}, {hi}]"
            )
        };
        close(binomial_interval(0, 3, 0.95), 0.0, 0.7076);
        close(binomial_interval(1, 3, 0.95), 0.0084, 0.9057);
        close(binomial_interval(5, 10, 0.95), 0.1871, 0.8129);
        close(binomial_interval(3, 3, 0.95), 0.2924, 1.0);
        let s = Summary::combine(&[rep(100, 2), rep(100, 0), rep(100, 0)], 0.95);
        let a = s.any_refusal_probability;
        assert!((a.mean - 1.0 / 3.0).abs() < 1e-12);
        close(a, 0.0084, 0.9057);
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
        r.services[0].queue.set(0.0, 4);
        r.start_window(1.0);
        r.services[0].queue.set(2.0, 0); // only [1, 2] counts: area 4
        r.close_window(3.0);
        r.services[0].queue.set(3.5, 9); // after the window: not counted
        r.close_window(4.0);
        assert_eq!(r.window, 2.0);
        assert_eq!(r.services[0].queue.max, 4);
        assert!((r.time_mean(&r.services[0].queue) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn a_run_that_ends_before_the_warmup_has_an_empty_window() {
        let mut r = RepStats::new(10.0);
        r.services[0].processes.set(0.0, 7);
        r.close_window(4.0);
        assert_eq!(r.window, 0.0);
        assert_eq!(r.services[0].processes.max, 0);
        assert_eq!(r.time_mean(&r.services[0].processes), 0.0);
    }

    #[test]
    fn a_window_that_no_change_opened_still_counts_the_value_held() {
        // Nothing changed after the warm-up: the value held from 0 covers [2, 5].
        let mut r = RepStats::new(2.0);
        r.services[0].busy.set(0.0, 3);
        r.close_window(5.0);
        assert_eq!(r.window, 3.0);
        assert_eq!(r.services[0].busy.max, 3);
        assert!((r.time_mean(&r.services[0].busy) - 3.0).abs() < 1e-12);
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
            r.services[0].queue_wait(0.0);
        }
        for _ in 0..5 {
            r.services[0].queue_wait(2.0);
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
