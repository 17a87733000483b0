//! The clients' side of a model, defined once: when the n-th connection is meant to be
//! sent and what it costs (its blocking work and its hold). The simulator draws its
//! arrivals from here, and the harness's load generator sends on the same schedule, so
//! that a real run and a simulated one of the same replication see the same arrival
//! times and the same work draws.

use crate::dist::{Dist, DistSpec};
use crate::engine::{stream, Rng64};
use crate::model::profile::Curve;
use crate::model::trace::Trace;
use crate::model::{Arrival, Model};
use std::sync::Arc;

/// Random-stream purposes (semantics of `engine::stream`): arrivals and work have
/// streams of their own, so that neighbouring grid points see common random numbers.
pub const ARRIVALS: u64 = 1;
pub const WORK: u64 = 2;
/// The clients' pauses between unix retries.
pub const RETRY: u64 = 4;
/// The CPU seconds of the first service's work (`work.cpu`): a stream of its own, so
/// that a model's blocking draws are the same whether it gives `cpu` or not.
pub const CPU: u64 = 5;
/// The streams of the work drawn at a chain's later services: this plus the service's
/// index (the simulator's, and the harness's load generator for a chain's last
/// service).
pub const SERVICE_WORK_STREAM: u64 = 16;
/// The streams of the CPU seconds drawn at a chain's later services: this plus the
/// service's index (a chain has at most `model::MAX_SERVICES` services, so these never
/// meet the streams above).
pub const SERVICE_CPU_STREAM: u64 = 512;

/// When connections are sent.
#[derive(Debug, Clone)]
enum Clock {
    /// vegeta's pacer at load.rate.
    Constant,
    /// Exponential gaps at load.rate.
    Poisson,
    /// The same through a profile's time change: the n-th connection where the
    /// profile's integral reaches what the flat clock would give.
    ConstantProfile(Curve),
    PoissonProfile(Curve),
    /// A trace's times, stretched by `scale`.
    Trace(Arc<Trace>, f64),
}

/// A model's arrival process and work distributions, compiled once per model point.
#[derive(Debug, Clone)]
pub struct Workload {
    clock: Clock,
    rate: f64,
    gap: Dist,
    blocking: Dist,
    hold: Dist,
    hold_is_zero: bool,
    cpu: Dist,
    cpu_is_zero: bool,
    duration: Option<f64>,
    connections: Option<u64>,
}

/// One connection's work: CPU seconds it needs (burnt first), seconds it blocks its
/// process off the CPU (slept after), then seconds it stays open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    pub blocking: f64,
    pub hold: f64,
    pub cpu: f64,
}

impl Workload {
    /// Call with a model that passed `Model::check`.
    pub fn new(model: &Model) -> Workload {
        let load = &model.load;
        let gap = match load.arrival {
            Arrival::Poisson => DistSpec::Exponential {
                mean: 1.0 / load.rate,
            }
            .sampler(),
            Arrival::Constant | Arrival::Trace => Dist::Constant(1.0 / load.rate),
        };
        let curve = load.profile.as_ref().map(Curve::new);
        let clock = match (load.arrival, curve, &load.trace_data) {
            (Arrival::Trace, _, Some(tr)) => Clock::Trace(tr.clone(), model.trace_scale()),
            (Arrival::Constant, Some(c), _) => Clock::ConstantProfile(c),
            (Arrival::Poisson, Some(c), _) => Clock::PoissonProfile(c),
            (Arrival::Constant, None, _) | (Arrival::Trace, _, None) => Clock::Constant,
            (Arrival::Poisson, None, _) => Clock::Poisson,
        };
        // The clients' work is done at the service they connect to.
        let work = &model.front().work;
        let hold = work.hold.sampler();
        let cpu = work.cpu.sampler();
        Workload {
            clock,
            rate: load.rate,
            gap,
            blocking: work.blocking.sampler(),
            hold_is_zero: hold.is_zero(),
            hold,
            cpu_is_zero: cpu.is_zero(),
            cpu,
            duration: load.duration,
            connections: load.connections,
        }
    }

    /// The arrivals and work of replication `replication` with `seed`.
    pub fn source(&self, seed: u64, replication: u64) -> Source<'_> {
        self.source_from(|purpose| stream(seed, replication, purpose))
    }

    /// The same, with each stream derived from its purpose by `derive`: the simulator
    /// derives every stream of a run through one function.
    pub(crate) fn source_from(&self, derive: impl Fn(u64) -> Rng64) -> Source<'_> {
        Source {
            w: self,
            arrivals: derive(ARRIVALS),
            work: derive(WORK),
            cpu: derive(CPU),
            sent: 0,
            last: 0.0,
            piece: 0,
        }
    }

    /// Every connection of a replication: (send time, work), in order. For the load
    /// generator, which sends a bounded run.
    pub fn schedule(&self, seed: u64, replication: u64) -> Vec<(f64, Cost)> {
        let mut s = self.source(seed, replication);
        let mut out = Vec::new();
        while let Some(t) = s.next_arrival() {
            out.push((t, s.work()));
        }
        out
    }
}

/// The connections of one replication, one after another.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    w: &'a Workload,
    arrivals: Rng64,
    work: Rng64,
    cpu: Rng64,
    /// Connections whose send time was given out.
    sent: u64,
    /// The last send time (a Poisson clock: in the flat time of load.rate).
    last: f64,
    /// Where a profile's inverse last looked.
    piece: usize,
}

impl Source<'_> {
    /// When the next connection is sent, or None when the arrivals are over.
    #[inline(always)]
    pub fn next_arrival(&mut self) -> Option<f64> {
        let w = self.w;
        if let Some(n) = w.connections {
            if self.sent >= n {
                return None;
            }
        }
        let at = match &w.clock {
            // vegeta's ConstantPacer: hit n (from 1) is due at n * interval
            // (semantics: vegeta-constant-pacer).
            Clock::Constant => (self.sent + 1) as f64 / w.rate,
            Clock::Poisson => self.last + w.gap.sample(&mut self.arrivals),
            Clock::ConstantProfile(c) => {
                c.inverse((self.sent + 1) as f64 / w.rate, &mut self.piece)
            }
            Clock::PoissonProfile(c) => {
                // The flat clock's time, kept in `last`, mapped through the profile.
                let flat = self.last + w.gap.sample(&mut self.arrivals);
                self.last = flat;
                c.inverse(flat, &mut self.piece)
            }
            Clock::Trace(tr, scale) => match tr.t.get(self.sent as usize) {
                Some(t) => t * scale,
                None => return None,
            },
        };
        if let Some(d) = w.duration {
            // Every n with n / rate <= D is sent; the tolerance keeps rate x D exact in
            // floating point (10 per second for 3 s is 30 connections, not 29).
            if at > d * (1.0 + 1e-12) {
                return None;
            }
        }
        self.sent += 1;
        if !matches!(w.clock, Clock::PoissonProfile(_)) {
            self.last = at;
        }
        Some(at)
    }

    /// The same clients from here on with other random streams, each derived from its
    /// purpose by `derive`: a copy of a running replication (importance splitting,
    /// `crate::rare`) goes on with draws of its own.
    pub(crate) fn reseed(&mut self, derive: impl Fn(u64) -> Rng64) {
        self.arrivals = derive(ARRIVALS);
        self.work = derive(WORK);
    }

    /// The work of the connection last sent: drawn when it is sent, from its own
    /// stream, so that the n-th connection costs the same whatever happens to it.
    #[inline(always)]
    pub fn work(&mut self) -> Cost {
        // The CPU part from a stream of its own, and only when the model gives one: a
        // model without `work.cpu` draws exactly what it drew before.
        let cpu = if self.w.cpu_is_zero {
            0.0
        } else {
            self.w.cpu.sample(&mut self.cpu)
        };
        // A trace's own work for this request, where it gives one.
        if let Clock::Trace(tr, _) = &self.w.clock {
            let given = tr.blocking[self.sent as usize - 1];
            if !given.is_nan() {
                return Cost {
                    blocking: given,
                    hold: if self.w.hold_is_zero {
                        0.0
                    } else {
                        self.w.hold.sample(&mut self.work)
                    },
                    cpu,
                };
            }
        }
        Cost {
            blocking: self.w.blocking.sample(&mut self.work),
            hold: if self.w.hold_is_zero {
                0.0
            } else {
                self.w.hold.sample(&mut self.work)
            },
            cpu,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_str;
    use std::path::Path;

    fn model(load: &str) -> Model {
        let text = format!(
            "name = \"w\"\n[load]\n{load}\n[listener]\nbacklog = 4\n[pool]\nprocess_limit = 1\n\
             [work]\nblocking = {{ dist = \"exponential\", mean = 0.5 }}\n"
        );
        load_str(&text, "w.toml", Path::new("."), &[]).unwrap()
    }

    #[test]
    fn doubling_the_rate_of_a_trace_halves_every_gap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.csv");
        std::fs::write(&p, "t\n5\n5.5\n7\n7.25\n9\n").unwrap();
        let load = |rate: &str| format!("arrival = \"trace\"\ntrace = \"{}\"\n{rate}", p.display());
        let own = Workload::new(&model(&load(""))).schedule(1, 0);
        let natural = 4.0 / 4.0;
        let twice =
            Workload::new(&model(&load(&format!("rate = {}", 2.0 * natural)))).schedule(1, 0);
        let times = |s: &[(f64, Cost)]| s.iter().map(|(t, _)| *t).collect::<Vec<_>>();
        assert_eq!(times(&own), [0.0, 0.5, 2.0, 2.25, 4.0]);
        assert_eq!(times(&twice), [0.0, 0.25, 1.0, 1.125, 2.0]);
    }

    #[test]
    fn a_flat_profile_sends_what_no_profile_sends() {
        for arrival in ["poisson", "constant"] {
            let plain = model(&format!("arrival = \"{arrival}\"\nrate = 3\nduration = 50"));
            let flat = model(&format!(
                "arrival = \"{arrival}\"\nrate = 3\nduration = 50\n\
                 profile = {{ shape = \"steps\", points = [[0, 1.0]] }}"
            ));
            let a = Workload::new(&plain).schedule(4, 2);
            let b = Workload::new(&flat).schedule(4, 2);
            assert_eq!(a, b, "{arrival}");
        }
    }
}
