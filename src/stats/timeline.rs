//! A run over time: outcomes by the bin of the connections' arrival, and the first
//! service's queue length and processes per bin (`simulate --out`'s timeline,
//! SPEC section 9); recorded per replication, folded over replications.

use super::{t_quantile, Estimate, DROPPED, OFFERED, REFUSED, SERVED, TIMED_OUT};

/// A timeline being recorded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Recording {
    width: f64,
    counts: Vec<[u64; 5]>,
    queue: Vec<f64>,
    processes: Vec<f64>,
    queue_before: f64,
    processes_before: f64,
}

impl Recording {
    pub(crate) fn new(width: f64) -> Self {
        Recording {
            width,
            ..Recording::default()
        }
    }

    #[inline]
    pub(crate) fn mark(&mut self, sent: f64, outcome: usize) {
        let i = (sent / self.width) as usize;
        if self.counts.len() <= i {
            self.counts.resize(i + 1, [0; 5]);
        }
        self.counts[i][outcome] += 1;
    }

    /// A bin ends: `queue` and `processes` are the levels' integrals since t = 0.
    pub(crate) fn edge(&mut self, queue: f64, processes: f64) {
        self.queue.push(queue - self.queue_before);
        self.processes.push(processes - self.processes_before);
        self.queue_before = queue;
        self.processes_before = processes;
    }

    pub(crate) fn finish(self, end: f64, last_processes: u64) -> Timeline {
        let mut processes = self.processes;
        // The processes of the end stay for the rest of the last bin.
        if let Some(last) = processes.last_mut() {
            let bin_end = self.queue.len() as f64 * self.width;
            *last += last_processes as f64 * (bin_end - end).max(0.0);
        }
        let mut counts = self.counts;
        for c in &mut counts {
            c[OFFERED] = c[SERVED] + c[REFUSED] + c[DROPPED] + c[TIMED_OUT];
        }
        Timeline {
            width: self.width,
            counts,
            queue: self.queue,
            processes,
            end,
            last_processes,
        }
    }
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

/// Timelines folded in: per bin, the sums (and sums of squares) of the outcome counts
/// and the sums of the level integrals.
#[derive(Debug, Clone, Default)]
pub(crate) struct TimelineSums {
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
    pub(crate) fn push(&mut self, t: &Timeline) {
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

    pub(crate) fn rows(&self, confidence: f64) -> Vec<TimelineRow> {
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
