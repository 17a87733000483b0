//! A load that rises and falls: `load.profile` gives the arrival rate over time as
//! `load.rate × factor(t)`, the factors in steps or joined by straight lines, once or
//! repeated (SPEC section 9). `Curve` is the profile compiled for the arrivals: the
//! integral F(t) of the factor and its inverse, so that the n-th connection of a
//! constant pacer is sent where F reaches n / rate, and a Poisson stream follows the
//! time-varying rate by the time change t = F⁻¹(u) of a unit-rate one.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// Each factor holds until the next point.
    Steps,
    /// Straight lines between the points.
    Linear,
}

/// `load.profile` as a model file writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub shape: Shape,
    /// `[t, factor]` pairs: seconds from the start, and the factor of load.rate from t.
    pub points: Vec<[f64; 2]>,
    /// Start again after the last point (its t is the period).
    #[serde(default)]
    pub repeat: bool,
}

impl Profile {
    /// The rules a profile must meet; the message names the point.
    pub fn check(&self) -> Result<(), String> {
        if self.points.is_empty() {
            return Err(
                "has no points: give `points = [[0, 1.0], [60, 2.0]]` ([t, factor] \
                        pairs, t in seconds from the start)"
                    .into(),
            );
        }
        for (i, [t, f]) in self.points.iter().enumerate() {
            if !t.is_finite() || *t < 0.0 || *t > crate::dist::MAX_SECONDS {
                return Err(format!(
                    "point {} has t = {t}: times are seconds from 0 to {:e}",
                    i + 1,
                    crate::dist::MAX_SECONDS
                ));
            }
            if !f.is_finite() || *f < 0.0 || *f > 1e9 {
                return Err(format!(
                    "point {} has the factor {f}: a factor of load.rate is a number from 0 \
                     to 1e9",
                    i + 1
                ));
            }
            if i > 0 && *t <= self.points[i - 1][0] {
                return Err(format!(
                    "point {} has t = {t}, not after the point before it (t = {}): times \
                     must increase",
                    i + 1,
                    self.points[i - 1][0]
                ));
            }
        }
        let last = self.points[self.points.len() - 1];
        if self.repeat && last[0] <= 0.0 {
            return Err(
                "repeats with a period of 0: the last point's t is the period, so it \
                        must be above 0"
                    .into(),
            );
        }
        let curve = Curve::new(self);
        if curve.total() <= 0.0 && !curve.tail_rises() {
            return Err("sends nothing: every factor is 0".into());
        }
        Ok(())
    }
}

/// One piece of the factor: on [t0, t1) it is f0 + slope × (t − t0); F(t0) = area0.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Piece {
    t0: f64,
    t1: f64,
    f0: f64,
    slope: f64,
    area0: f64,
}

impl Piece {
    fn area(&self, t: f64) -> f64 {
        let d = t - self.t0;
        self.area0 + self.f0 * d + self.slope * d * d / 2.0
    }

    /// The t in this piece where F reaches `x`, which lies within it.
    fn inverse(&self, x: f64) -> f64 {
        let a = x - self.area0;
        if self.slope == 0.0 {
            return self.t0 + a / self.f0;
        }
        // f0 d + slope d² / 2 = a, in the form that loses no precision as slope → 0.
        let root = (self.f0 * self.f0 + 2.0 * self.slope * a).max(0.0).sqrt();
        self.t0 + 2.0 * a / (self.f0 + root)
    }
}

/// A profile compiled: F(t) = ∫₀ᵗ factor and its inverse.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The pieces over one period (or up to the last point), the tail after them.
    pieces: Vec<Piece>,
    /// After the last piece (without repeat): the factor that holds forever.
    tail: f64,
    /// With repeat: the period; the pieces cover [0, period).
    period: Option<f64>,
}

impl Curve {
    pub fn new(p: &Profile) -> Curve {
        let pts = &p.points;
        let mut pieces = Vec::new();
        let mut area = 0.0;
        let mut push = |t0: f64, t1: f64, f0: f64, slope: f64| {
            if t1 > t0 {
                let piece = Piece {
                    t0,
                    t1,
                    f0,
                    slope,
                    area0: area,
                };
                area = piece.area(t1);
                pieces.push(piece);
            }
        };
        // Before the first point its factor holds.
        push(0.0, pts[0][0], pts[0][1], 0.0);
        for w in pts.windows(2) {
            let ([t0, f0], [t1, f1]) = (w[0], w[1]);
            match p.shape {
                Shape::Steps => push(t0, t1, f0, 0.0),
                Shape::Linear => push(t0, t1, f0, (f1 - f0) / (t1 - t0)),
            }
        }
        let last = pts[pts.len() - 1];
        Curve {
            pieces,
            tail: last[1],
            period: p.repeat.then_some(last[0]),
        }
    }

    /// F over the pieces (one period, or up to the last point).
    fn total(&self) -> f64 {
        self.pieces.last().map_or(0.0, |p| p.area(p.t1))
    }

    fn tail_rises(&self) -> bool {
        self.period.is_none() && self.tail > 0.0
    }

    /// The end of the pieces: the last point's t.
    fn end(&self) -> f64 {
        self.pieces.last().map_or(0.0, |p| p.t1)
    }

    /// F(t): the connections sent by t at load.rate 1.
    pub fn integral(&self, t: f64) -> f64 {
        if let Some(period) = self.period {
            let k = (t / period).floor();
            return k * self.total() + self.within(t - k * period);
        }
        if t >= self.end() {
            return self.total() + self.tail * (t - self.end());
        }
        self.within(t)
    }

    fn within(&self, t: f64) -> f64 {
        match self.pieces.iter().find(|p| t < p.t1) {
            Some(p) => p.area(t),
            None => self.total(),
        }
    }

    /// The first t with F(t) = x, from the piece `cursor` on (arrivals come in order,
    /// so the cursor only moves forward); infinity when F never reaches x.
    #[inline]
    pub fn inverse(&self, x: f64, cursor: &mut usize) -> f64 {
        let (base_t, base_x, x) = match self.period {
            Some(period) => {
                let total = self.total();
                let k = (x / total).floor();
                let rest = x - k * total;
                if rest == 0.0 && k > 0.0 {
                    // Exactly at a period's end: the last instant of the period before.
                    return (k - 1.0) * period + self.inverse_within(total, cursor);
                }
                (k * period, 0.0, rest)
            }
            None => (0.0, 0.0, x),
        };
        if self.period.is_none() && x > self.total() {
            return if self.tail > 0.0 {
                self.end() + (x - self.total()) / self.tail
            } else {
                f64::INFINITY
            };
        }
        base_t + self.inverse_within(x - base_x, cursor)
    }

    fn inverse_within(&self, x: f64, cursor: &mut usize) -> f64 {
        if self.pieces.is_empty() {
            return 0.0;
        }
        if *cursor >= self.pieces.len() || self.pieces[*cursor].area0 > x {
            *cursor = 0;
        }
        // The first piece whose area reaches x (pieces of factor 0 add none).
        while *cursor + 1 < self.pieces.len() && {
            let p = &self.pieces[*cursor];
            p.area(p.t1) < x
        } {
            *cursor += 1;
        }
        let p = &self.pieces[*cursor];
        p.inverse(x).min(p.t1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(shape: Shape, points: &[[f64; 2]], repeat: bool) -> Curve {
        let p = Profile {
            shape,
            points: points.to_vec(),
            repeat,
        };
        p.check().unwrap();
        Curve::new(&p)
    }

    #[test]
    fn steps_integrate_and_invert_exactly() {
        let c = curve(Shape::Steps, &[[0.0, 1.0], [10.0, 3.0], [20.0, 0.5]], false);
        assert_eq!(c.integral(5.0), 5.0);
        assert_eq!(c.integral(10.0), 10.0);
        assert_eq!(c.integral(15.0), 25.0);
        assert_eq!(c.integral(30.0), 45.0);
        let mut k = 0;
        for (x, t) in [(5.0, 5.0), (25.0, 15.0), (40.0, 20.0), (45.0, 30.0)] {
            assert!((c.inverse(x, &mut k) - t).abs() < 1e-12, "F^-1({x})");
        }
    }

    #[test]
    fn a_flat_profile_is_the_identity() {
        let c = curve(Shape::Steps, &[[0.0, 1.0]], false);
        let mut k = 0;
        for x in [0.1, 1.0, 7.25, 1e6] {
            assert_eq!(c.inverse(x, &mut k), x);
            assert_eq!(c.integral(x), x);
        }
    }

    #[test]
    fn a_linear_ramp_integrates_to_its_area_and_inverts_it() {
        // From 1 to 3 over 10 s: area 20.
        let c = curve(Shape::Linear, &[[0.0, 1.0], [10.0, 3.0]], false);
        assert!((c.integral(10.0) - 20.0).abs() < 1e-12);
        assert!((c.integral(5.0) - 7.5).abs() < 1e-12);
        let mut k = 0;
        for t in [0.5, 2.0, 5.0, 9.99, 12.0] {
            let x = c.integral(t);
            assert!((c.inverse(x, &mut k) - t).abs() < 1e-9, "t {t}");
        }
    }

    #[test]
    fn a_repeated_profile_starts_again_each_period_and_zero_pieces_send_nothing() {
        // 10 s at 2, then 10 s at 0, repeated: 20 connections per 20 s period.
        let c = curve(Shape::Steps, &[[0.0, 2.0], [10.0, 0.0], [20.0, 0.0]], true);
        assert_eq!(c.integral(20.0), 20.0);
        assert_eq!(c.integral(45.0), 50.0);
        let mut k = 0;
        assert!((c.inverse(10.0, &mut k) - 5.0).abs() < 1e-12);
        assert!((c.inverse(22.0, &mut k) - 21.0).abs() < 1e-12);
        // Nothing is sent in [10, 20): the 20th connection is at 10, the 21st at 20.5.
        assert!((c.inverse(20.0, &mut k) - 10.0).abs() < 1e-12);
        assert!((c.inverse(21.0, &mut k) - 20.5).abs() < 1e-12);
    }

    #[test]
    fn bad_profiles_say_which_point() {
        let bad = |points: Vec<[f64; 2]>, repeat: bool| {
            Profile {
                shape: Shape::Steps,
                points,
                repeat,
            }
            .check()
            .unwrap_err()
        };
        assert!(bad(vec![], false).contains("no points"));
        assert!(bad(vec![[0.0, 1.0], [0.0, 2.0]], false).contains("point 2"));
        assert!(bad(vec![[0.0, -1.0]], false).contains("point 1"));
        assert!(bad(vec![[0.0, 0.0]], false).contains("sends nothing"));
        assert!(bad(vec![[0.0, 1.0]], true).contains("period of 0"));
    }
}
