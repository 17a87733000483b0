//! How close a run is to a refusal: the importance functions of the splitting.
//!
//! - `Target`: the station whose refusals are estimated and how its state is read, for
//!   RESTART (an integer, a function of the state alone). Its kernel queue's occupancy
//!   net of the connections its idle and starting processes are about to take, so that
//!   a fixed pool's importance is its connections in the system less its processes
//!   (M/M/c/K: n - c) and a forking master's is its queue less the forks in progress.
//!   The queue alone (`net = false`) is kept for the comparison the docs report.
//! - `Lookahead`: for a load over a finite horizon (fixed effort), the fluid growth of
//!   the queue the rest of the load would give: the largest excess of the arrivals to
//!   come over the station's service capacity, over every later instant of the window.

use crate::model::{Arrival, MasterMode, Model};
use crate::server::Trajectory;

/// The station whose state says how close a run is to a refusal, and how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub station: usize,
    /// Net of the connections the station's idle and starting processes will take.
    pub net: bool,
}

impl Target {
    #[inline]
    pub(crate) fn of(&self, t: &Trajectory) -> i64 {
        t.importance(self.station, self.net)
    }
}

/// Connections a second station `s` of `model` can serve at most: its slots' work
/// (processes x the connections a process works on at once, over the mean blocking
/// time), and for a master that forks a process per connection (service_count = 1)
/// also the rate of its forks.
pub(crate) fn service_capacity(model: &Model, s: usize) -> f64 {
    let svc = &model.services[s];
    let pool = &svc.pool;
    let at_once = f64::from(pool.threads.max(1).min(pool.client_limit.max(1)));
    let mean = svc.work.blocking.mean() + svc.work.hold.mean();
    let mut capacity = if mean > 0.0 {
        f64::from(pool.process_limit) * at_once / mean
    } else {
        f64::INFINITY
    };
    if pool.service_count == 1 {
        // One fork per connection: on demand one at a time, each a fork and a start-up
        // (semantics: dovecot-on-demand-fork); per connection as fast as the master's
        // own forks go (semantics: dovecot-master-accept).
        let per_fork = match svc.master.mode {
            MasterMode::OnDemand => svc.master.fork_time.mean() + svc.master.startup.mean(),
            MasterMode::PerConnection => svc.master.fork_time.mean(),
            _ => 0.0,
        };
        if per_fork > 0.0 {
            capacity = capacity.min(f64::from(pool.client_limit.max(1)) / per_fork);
        }
    }
    capacity
}

/// The fluid look-ahead of a load over its window: at time t, the most a queue would
/// grow in the rest of the window if the expected arrivals met a constant service
/// capacity, max over t <= u <= s of (A(s) - A(u)) - capacity x (s - u), A the
/// expected arrivals by s (a fluid queue, empty at u, fed through the worst stretch to
/// come). With G(s) = A(s) - capacity x s it is the largest rise of G after t, kept on
/// a grid of the window from its end backwards.
#[derive(Debug, Clone)]
pub(crate) struct Lookahead {
    step: f64,
    /// G at the grid's points; the largest G from each point to the end; the largest
    /// rise of G from each point to the end.
    g: Vec<f64>,
    ahead: Vec<f64>,
    rise: Vec<f64>,
}

/// Points of the grid over a window.
const GRID: usize = 4096;

impl Lookahead {
    /// For the clients of `model` meeting station `s`'s capacity, over the arrival
    /// window. None when there is nothing to look ahead to (the window is empty, or the
    /// capacity is infinite).
    pub(crate) fn new(model: &Model, s: usize) -> Option<Lookahead> {
        let end = model.arrival_window();
        let capacity = service_capacity(model, s);
        if end <= 0.0 || !capacity.is_finite() || !end.is_finite() {
            return None;
        }
        let arrivals = expected_arrivals(model);
        let step = end / GRID as f64;
        let g: Vec<f64> = (0..=GRID)
            .map(|i| {
                let t = i as f64 * step;
                arrivals(t) - capacity * t
            })
            .collect();
        let mut ahead = g.clone();
        let mut rise = vec![0.0f64; GRID + 1];
        for i in (0..GRID).rev() {
            ahead[i] = ahead[i].max(ahead[i + 1]);
            rise[i] = rise[i + 1].max(ahead[i] - g[i]);
        }
        Some(Lookahead {
            step,
            g,
            ahead,
            rise,
        })
    }

    /// The fluid growth still to come at time `t` (0 past the window).
    #[inline]
    pub(crate) fn at(&self, t: f64) -> f64 {
        let x = t / self.step;
        // NaN included.
        if x.is_nan() || x >= GRID as f64 {
            return 0.0;
        }
        let i = x as usize;
        // G at t, linear between the grid's points; the rises from the next point on.
        let frac = x - i as f64;
        let g = self.g[i] + frac * (self.g[i + 1] - self.g[i]);
        self.rise[i + 1].max(self.ahead[i + 1] - g).max(0.0)
    }
}

/// A(t): the connections the clients of `model` are expected to send by t.
fn expected_arrivals(model: &Model) -> Box<dyn Fn(f64) -> f64 + '_> {
    let load = &model.load;
    if load.arrival == Arrival::Trace {
        if let Some(tr) = &load.trace_data {
            let scale = model.trace_scale();
            let times: Vec<f64> = tr.t.iter().map(|t| t * scale).collect();
            return Box::new(move |t| times.partition_point(|&x| x <= t) as f64);
        }
    }
    match &load.profile {
        Some(p) => {
            let curve = crate::model::profile::Curve::new(p);
            let rate = load.rate;
            Box::new(move |t| rate * curve.integral(t))
        }
        None => Box::new(move |t| load.rate * t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::load_str;
    use std::path::Path;

    fn model(profile: &str) -> Model {
        let text = format!(
            "name = \"l\"\n[load]\nrate = 10\nduration = 100\n{profile}\n[listener]\nbacklog = 4\n\
             [pool]\nprocess_limit = 5\n[work]\nblocking = {{ dist = \"exponential\", mean = 1.0 }}\n"
        );
        load_str(&text, "l.toml", Path::new("."), &[]).unwrap()
    }

    #[test]
    fn a_peak_to_come_is_its_excess_over_the_capacity_and_a_past_one_is_nothing() {
        // 10/s for 40 s, 20/s from 40 to 60 s (the peak), 10/s after; 15 processes of
        // a second each serve 15/s.
        let mut m =
            model("profile = { shape = \"steps\", points = [[0, 1.0], [40, 2.0], [60, 1.0]] }");
        m.services[0].pool.process_limit = 15;
        let l = Lookahead::new(&m, 0).unwrap();
        assert_eq!(service_capacity(&m, 0), 15.0);
        // Before the peak: its 20 s x (20 - 15) = 100 connections to come.
        assert!((l.at(10.0) - 100.0).abs() < 0.5, "{}", l.at(10.0));
        // Halfway through: half of it.
        assert!((l.at(50.0) - 50.0).abs() < 0.5, "{}", l.at(50.0));
        // After it, and past the window: nothing.
        assert!(l.at(70.0) < 1e-9 && l.at(500.0) == 0.0);
    }
}
