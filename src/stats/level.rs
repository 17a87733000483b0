//! A quantity that changes in steps (the queue length, the processes alive), its
//! time-weighted mean and its peak over the observed window.

/// A time-weighted mean and a peak of a quantity that changes in steps. It integrates
/// only when it changes, not at every event, and its hot path is a multiply-add and a
/// compare: the observed window is handled by `RepStats::start_window` (which restarts
/// the integral and the peak when the clock passes the warm-up) and
/// `RepStats::close_window` (which fixes the results), not by a test on every change.
#[derive(Debug, Clone, Default)]
pub struct Level {
    pub(crate) value: u64,
    pub(crate) since: f64,
    /// Integral and peak since the window started (since t = 0 before it starts).
    area: f64,
    peak: u64,
    /// The results, fixed when the window closes: the peak over the window, and the
    /// integral that `RepStats::time_mean` divides by the window's length.
    pub max: u64,
    pub(crate) window_area: f64,
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

    /// The quantity goes up by one and back at the same instant `now`: exactly
    /// `add(now, 1)` then `add(now, -1)` (the second adds nothing to the integral),
    /// for one step less. A connection that passes through an empty queue.
    #[inline]
    pub(crate) fn blip(&mut self, now: f64) {
        self.accrue(now);
        let up = self.value + 1;
        if up > self.peak {
            self.peak = up;
        }
    }

    /// From `at` on, the integral starts from zero; the value held at `at` counts
    /// towards the peak.
    pub(crate) fn restart(&mut self, at: f64) {
        self.accrue(at);
        self.carried += self.area;
        self.area = 0.0;
        self.since = at;
        self.peak = self.value;
    }

    pub(crate) fn fix(&mut self, end: f64) {
        self.accrue(end);
        self.window_area = self.area;
        self.max = self.peak;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blip_leaves_a_level_exactly_as_a_step_up_and_back_at_the_same_instant_does() {
        let (mut a, mut b) = (Level::default(), Level::default());
        let mut t = 0.0;
        for i in 0..200u32 {
            t += f64::from(i % 7) * 0.37;
            match i % 5 {
                0 | 3 => {
                    a.blip(t);
                    b.add(t, 1);
                    b.add(t, -1);
                }
                1 => {
                    a.add(t, 2);
                    b.add(t, 2);
                }
                2 => {
                    a.add(t, -1);
                    b.add(t, -1);
                }
                _ => {
                    a.restart(t);
                    b.restart(t);
                }
            }
            assert_eq!(a.integral(t).to_bits(), b.integral(t).to_bits());
            assert_eq!(
                (a.value, a.peak, a.since.to_bits()),
                (b.value, b.peak, b.since.to_bits())
            );
        }
        a.fix(t + 1.0);
        b.fix(t + 1.0);
        assert_eq!(
            (a.max, a.window_area.to_bits()),
            (b.max, b.window_area.to_bits())
        );
    }
}
