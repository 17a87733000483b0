//! The host's CPUs over a replication (SPEC 13): how many requests were in their CPU
//! part (using a CPU or waiting for one), and how many CPUs were in use, each as a
//! time average over the observed window. Kept only for a model with `host.cpus`.

use super::Level;

/// A quantity that changes in steps and takes fractional values (CPUs in use with a
/// fractional quota): its integral over the observed window, as `Level` keeps one.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    value: f64,
    since: f64,
    area: f64,
    pub(crate) window_area: f64,
}

impl Usage {
    #[inline]
    pub fn set(&mut self, now: f64, value: f64) {
        self.area += self.value * (now - self.since);
        self.since = now;
        self.value = value;
    }

    fn restart(&mut self, at: f64) {
        self.set(at, self.value);
        self.area = 0.0;
    }

    fn fix(&mut self, end: f64) {
        self.set(end, self.value);
        self.window_area = self.area;
    }
}

/// One replication's CPU figures.
#[derive(Debug, Clone, Default)]
pub struct HostStats {
    /// `host.cpus`.
    pub cpus: f64,
    /// Requests in their CPU part: using a CPU or waiting for one.
    pub jobs: Level,
    /// CPUs in use: min(jobs, cpus) under processor sharing; its integral is the CPU
    /// seconds the services used.
    pub used: Usage,
}

impl HostStats {
    pub fn new(cpus: f64) -> HostStats {
        HostStats {
            cpus,
            ..HostStats::default()
        }
    }

    pub(crate) fn restart(&mut self, at: f64) {
        self.jobs.restart(at);
        self.used.restart(at);
    }

    pub(crate) fn fix(&mut self, end: f64) {
        self.jobs.fix(end.max(self.jobs.since));
        self.used.fix(end.max(self.used.since));
    }

    /// CPU seconds used / (cpus x window), and the time-average number of requests
    /// in their CPU part, over a window of `window` seconds.
    pub fn figures(&self, window: f64) -> (f64, f64) {
        if window > 0.0 {
            (
                self.used.window_area / (self.cpus * window),
                self.jobs.window_area / window,
            )
        } else {
            (0.0, 0.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilisation_is_cpu_seconds_over_cpus_times_the_window_and_the_queue_its_time_mean() {
        let mut h = HostStats::new(1.5);
        // Before the window: 3 jobs on 1.5 CPUs, left out.
        h.jobs.set(0.0, 3);
        h.used.set(0.0, 1.5);
        h.restart(10.0);
        // 10 s of 3 jobs (1.5 CPUs busy), 10 s of 1 job (1 CPU), 20 s of none.
        h.jobs.set(20.0, 1);
        h.used.set(20.0, 1.0);
        h.jobs.set(30.0, 0);
        h.used.set(30.0, 0.0);
        h.fix(50.0);
        let (util, queue) = h.figures(40.0);
        assert!(
            (util - (15.0 + 10.0) / (1.5 * 40.0)).abs() < 1e-12,
            "{util}"
        );
        assert!((queue - (30.0 + 10.0) / 40.0).abs() < 1e-12, "{queue}");
    }
}
