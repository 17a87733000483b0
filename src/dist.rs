//! Probability distributions of the model: how they are written in a model file
//! (`DistSpec`, a serde-tagged table such as `{ dist = "exponential", mean = 0.05 }`),
//! how they are checked, and how they are sampled in the hot loop (`Dist`, an enum
//! over `rand_distr` samplers: no boxed trait objects, no allocation per draw).

use rand::Rng;
use rand_distr::{Distribution, Exp, Gamma, LogNormal, Pareto, Uniform};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The longest duration a model may give (about 31 years): beyond it no run is
/// meaningful, and sums of draws could overflow.
pub const MAX_SECONDS: f64 = 1e9;
/// The smallest mean of an exponential, lognormal or gamma distribution (1 ns).
pub const MIN_MEAN: f64 = 1e-9;
/// The largest standard deviation of a lognormal or gamma, as a multiple of its mean.
pub const MAX_CV: f64 = 1e6;
/// The smallest standard deviation of a lognormal or gamma above 0, as a multiple of
/// its mean: below it a gamma's scale (sd^2 / mean) underflows and its shape
/// ((mean / sd)^2) overflows, and a lognormal's sigma (the root of ln(1 + cv^2)) is
/// lost in rounding. `sd = 0` is a constant.
pub const MIN_CV: f64 = 1e-6;
/// The heaviest Pareto tail: below this shape its draws overflow.
pub const MIN_PARETO_SHAPE: f64 = 0.1;

/// A distribution as the model file writes it: a table tagged by `dist`, or a bare
/// number for a constant (`blocking = 2` in a file, `--set work.blocking=2`), which
/// reads as `{ dist = "constant", value = 2 }` and is written back as that table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// `remote = "Self"`: the derived code becomes `DistSpec::serialize`/`deserialize`, which
// the trait impls below call, so that the number form is read besides the table.
#[serde(
    tag = "dist",
    rename_all = "lowercase",
    deny_unknown_fields,
    remote = "Self"
)]
pub enum DistSpec {
    /// Always `value`.
    Constant { value: f64 },
    /// Exponential with the given mean.
    Exponential { mean: f64 },
    /// Uniform on `[low, high]`.
    Uniform { low: f64, high: f64 },
    /// Lognormal given by its own mean and standard deviation (not those of the log).
    Lognormal { mean: f64, sd: f64 },
    /// Gamma given by its mean and standard deviation.
    Gamma { mean: f64, sd: f64 },
    /// Pareto (type I): P(X > x) = (scale / x)^shape for x >= scale.
    Pareto { scale: f64, shape: f64 },
    /// Resampling of observed values: inline `values`, or `file` with one number a line
    /// (relative to the model file's folder). After loading, `values` holds the numbers.
    Empirical {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        values: Option<Vec<f64>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<String>,
    },
}

impl Serialize for DistSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        DistSpec::serialize(self, s)
    }
}

impl<'de> Deserialize<'de> for DistSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// A number, or the tagged table (read by the derived code).
        struct NumberOrTable;
        impl<'de> serde::de::Visitor<'de> for NumberOrTable {
            type Value = DistSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a distribution: a number (a constant) or a table such as \
                     { dist = \"exponential\", mean = 1.0 }",
                )
            }
            fn visit_f64<E>(self, v: f64) -> Result<DistSpec, E> {
                Ok(DistSpec::constant(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<DistSpec, E> {
                Ok(DistSpec::constant(v as f64))
            }
            fn visit_u64<E>(self, v: u64) -> Result<DistSpec, E> {
                Ok(DistSpec::constant(v as f64))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<DistSpec, A::Error> {
                DistSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_any(NumberOrTable)
    }
}

impl DistSpec {
    pub const fn constant(value: f64) -> Self {
        DistSpec::Constant { value }
    }

    /// The mean, for reports and for the offered load.
    pub fn mean(&self) -> f64 {
        match self {
            DistSpec::Constant { value } => *value,
            DistSpec::Exponential { mean }
            | DistSpec::Lognormal { mean, .. }
            | DistSpec::Gamma { mean, .. } => *mean,
            DistSpec::Uniform { low, high } => (low + high) / 2.0,
            DistSpec::Pareto { scale, shape } => {
                if *shape > 1.0 {
                    shape * scale / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            DistSpec::Empirical { values, .. } => match values {
                Some(v) if !v.is_empty() => v.iter().sum::<f64>() / v.len() as f64,
                _ => f64::NAN,
            },
        }
    }

    /// Reads an empirical distribution's `file` (relative to `base`) into `values`.
    pub fn load_files(&mut self, base: &Path) -> Result<(), String> {
        if let DistSpec::Empirical {
            values,
            file: Some(file),
        } = self
        {
            if values.is_some() {
                return Err("give either `values` or `file`, not both".into());
            }
            let path = base.join(&*file);
            let text = crate::input::read_text(&path, crate::input::MAX_DATA_BYTES)?;
            let mut read = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let x: f64 = line.parse().map_err(|_| {
                    format!(
                        "{} line {}: `{line}` is not a number (one number a line)",
                        path.display(),
                        i + 1
                    )
                })?;
                if !(0.0..=MAX_SECONDS).contains(&x) {
                    return Err(format!(
                        "{} line {}: `{line}` is not a duration eagain can draw: give \
                         seconds, finite, >= 0 and at most {MAX_SECONDS:e}",
                        path.display(),
                        i + 1
                    ));
                }
                read.push(x);
            }
            *values = Some(read);
        }
        Ok(())
    }

    /// Checks the parameters: every draw is a duration in seconds, at least 0 and at
    /// most `MAX_SECONDS`, and the samplers are built without overflow.
    pub fn check(&self) -> Result<(), String> {
        let finite = |name: &str, x: f64| -> Result<(), String> {
            if !x.is_finite() {
                Err(format!("`{name}` must be a finite number, got {x}"))
            } else if x.abs() > MAX_SECONDS {
                Err(format!(
                    "`{name}` = {x:e} is more than {MAX_SECONDS:e} seconds (about 31 years), \
                     the longest duration a model may give"
                ))
            } else {
                Ok(())
            }
        };
        let mean_and_spread = |mean: f64, sd: f64| -> Result<(), String> {
            if mean < MIN_MEAN {
                return Err(format!(
                    "`mean` = {mean:e} is below {MIN_MEAN:e} s (1 ns): give at least 1e-9"
                ));
            }
            if sd > MAX_CV * mean {
                return Err(format!(
                    "`sd` = {sd:e} is more than {MAX_CV:e} times the mean ({mean:e}): no \
                     sampler can draw that spread in floating point"
                ));
            }
            if sd > 0.0 && sd < MIN_CV * mean {
                return Err(format!(
                    "`sd` = {sd:e} is below {MIN_CV:e} times the mean ({mean:e}): no sampler \
                     can draw so narrow a spread in floating point; give `sd` = 0 (a \
                     constant) or at least {:e}",
                    MIN_CV * mean
                ));
            }
            Ok(())
        };
        match self {
            DistSpec::Constant { value } => {
                finite("value", *value)?;
                if *value < 0.0 {
                    return Err(format!("`value` must be >= 0 (a duration), got {value}"));
                }
            }
            DistSpec::Exponential { mean } => {
                finite("mean", *mean)?;
                if *mean <= 0.0 {
                    return Err(format!("`mean` must be > 0, got {mean}"));
                }
                mean_and_spread(*mean, 0.0)?;
            }
            DistSpec::Uniform { low, high } => {
                finite("low", *low)?;
                finite("high", *high)?;
                if *low < 0.0 {
                    return Err(format!("`low` must be >= 0 (a duration), got {low}"));
                }
                if low > high {
                    return Err(format!("`low` ({low}) must not exceed `high` ({high})"));
                }
            }
            DistSpec::Lognormal { mean, sd } | DistSpec::Gamma { mean, sd } => {
                finite("mean", *mean)?;
                finite("sd", *sd)?;
                if *mean <= 0.0 {
                    return Err(format!("`mean` must be > 0, got {mean}"));
                }
                if *sd < 0.0 {
                    return Err(format!("`sd` must be >= 0, got {sd}"));
                }
                mean_and_spread(*mean, *sd)?;
            }
            DistSpec::Pareto { scale, shape } => {
                finite("scale", *scale)?;
                finite("shape", *shape)?;
                if *scale <= 0.0 || *shape <= 0.0 {
                    return Err(format!(
                        "`scale` and `shape` must be > 0, got scale {scale}, shape {shape}"
                    ));
                }
                if *shape < MIN_PARETO_SHAPE {
                    return Err(format!(
                        "`shape` = {shape} is below {MIN_PARETO_SHAPE}: the draws of so heavy a \
                         tail overflow floating point"
                    ));
                }
            }
            DistSpec::Empirical { values, file } => match values {
                None if file.is_none() => {
                    return Err("give `values = [...]` or `file = \"...\"`".into())
                }
                None => return Err("the empirical `file` was not loaded".into()),
                Some(v) if v.is_empty() => {
                    return Err("the empirical list is empty: give at least one value".into())
                }
                Some(v) => {
                    if let Some(x) = v
                        .iter()
                        .find(|x| !x.is_finite() || **x < 0.0 || **x > MAX_SECONDS)
                    {
                        return Err(format!(
                            "empirical values must be finite, >= 0 and at most {MAX_SECONDS:e} \
                             (durations in seconds), got {x}"
                        ));
                    }
                }
            },
        }
        Ok(())
    }

    /// The sampler. Call only after `check` succeeded.
    pub fn sampler(&self) -> Dist {
        match self {
            DistSpec::Constant { value } => Dist::Constant(*value),
            DistSpec::Exponential { mean } => Dist::Exp(Exp::new(1.0 / mean).expect("checked")),
            DistSpec::Uniform { low, high } => {
                if low == high {
                    Dist::Constant(*low)
                } else {
                    Dist::Uniform(Uniform::new_inclusive(*low, *high).expect("checked"))
                }
            }
            DistSpec::Lognormal { mean, sd } => {
                if *sd == 0.0 {
                    return Dist::Constant(*mean);
                }
                // The log's parameters from the variable's own mean m and sd s:
                // sigma^2 = ln(1 + s^2/m^2), mu = ln m - sigma^2/2.
                let s2 = (1.0 + (sd / mean).powi(2)).ln();
                Dist::LogNormal(LogNormal::new(mean.ln() - s2 / 2.0, s2.sqrt()).expect("checked"))
            }
            DistSpec::Gamma { mean, sd } => {
                if *sd == 0.0 {
                    return Dist::Constant(*mean);
                }
                // shape k = m^2/s^2, scale theta = s^2/m.
                let shape = (mean / sd).powi(2);
                Dist::Gamma(Gamma::new(shape, sd * sd / mean).expect("checked"))
            }
            DistSpec::Pareto { scale, shape } => {
                Dist::Pareto(Pareto::new(*scale, *shape).expect("checked"))
            }
            DistSpec::Empirical { values, .. } => {
                let v = values.clone().unwrap_or_default();
                Dist::Empirical(v.into_boxed_slice())
            }
        }
    }
}

/// A ready sampler.
#[derive(Debug, Clone)]
pub enum Dist {
    Constant(f64),
    Exp(Exp<f64>),
    Uniform(Uniform<f64>),
    LogNormal(LogNormal<f64>),
    Gamma(Gamma<f64>),
    Pareto(Pareto<f64>),
    Empirical(Box<[f64]>),
}

impl Dist {
    /// One draw. The two kinds of the textbook models are drawn inline in the
    /// simulator's loop; the others through one call.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Exp(d) => d.sample(rng),
            _ => self.sample_other(rng),
        }
    }

    #[inline(never)]
    fn sample_other<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Constant(_) | Dist::Exp(_) => self.sample(rng),
            Dist::Uniform(d) => d.sample(rng),
            Dist::LogNormal(d) => d.sample(rng),
            Dist::Gamma(d) => d.sample(rng),
            Dist::Pareto(d) => d.sample(rng),
            Dist::Empirical(v) => v[rng.random_range(0..v.len())],
        }
    }

    /// True when every draw is zero: lets the engine skip events that take no time.
    pub fn is_zero(&self) -> bool {
        matches!(self, Dist::Constant(v) if *v == 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64;

    fn sample_mean_sd(spec: &DistSpec, n: usize) -> (f64, f64) {
        let d = spec.sampler();
        let mut rng = Pcg64::seed_from_u64(7);
        let xs: Vec<f64> = (0..n).map(|_| d.sample(&mut rng)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt())
    }

    #[test]
    fn lognormal_and_gamma_have_the_mean_and_sd_they_are_given() {
        for spec in [
            DistSpec::Lognormal { mean: 2.0, sd: 0.5 },
            DistSpec::Gamma { mean: 2.0, sd: 0.5 },
        ] {
            let (m, s) = sample_mean_sd(&spec, 400_000);
            // Standard error of the mean is 0.5/sqrt(4e5) = 8e-4: 6 sigma is 5e-3.
            assert!((m - 2.0).abs() < 5e-3, "{spec:?}: mean {m}");
            assert!((s - 0.5).abs() < 1e-2, "{spec:?}: sd {s}");
        }
    }

    #[test]
    fn means_match_the_formula_for_every_kind() {
        let cases = [
            DistSpec::Exponential { mean: 0.3 },
            DistSpec::Uniform {
                low: 0.01,
                high: 0.1,
            },
            DistSpec::Pareto {
                scale: 1.0,
                shape: 3.0,
            },
            DistSpec::Empirical {
                values: Some(vec![1.0, 2.0, 6.0]),
                file: None,
            },
        ];
        for spec in cases {
            let (m, s) = sample_mean_sd(&spec, 400_000);
            let tol = 6.0 * s / (400_000f64).sqrt();
            assert!(
                (m - spec.mean()).abs() < tol,
                "{spec:?}: {m} vs {}",
                spec.mean()
            );
        }
    }

    /// Values at and beyond every bound, and the floating-point corners between.
    const CORNERS: [f64; 22] = [
        0.0,
        5e-324,
        1e-300,
        1e-200,
        1e-20,
        MIN_MEAN / 2.0,
        MIN_MEAN,
        1e-6,
        1e-3,
        0.1,
        MIN_PARETO_SHAPE,
        1.0,
        1.0 + 1e-15,
        3.0,
        1e3,
        1e6,
        1e8,
        MAX_SECONDS,
        MAX_SECONDS * 2.0,
        1e200,
        f64::MAX,
        f64::INFINITY,
    ];

    #[test]
    fn every_distribution_that_passes_its_check_draws_finite_durations() {
        // Each kind over every pair of corner values (and the corners times the bounds
        // of the spread): either the check refuses it, or its sampler is built and
        // every draw is a finite number >= 0, never a panic, NaN or infinity.
        let mut specs = Vec::new();
        for &a in &CORNERS {
            specs.push(DistSpec::Constant { value: a });
            specs.push(DistSpec::Exponential { mean: a });
            specs.push(DistSpec::Empirical {
                values: Some(vec![a, 1.0]),
                file: None,
            });
            for &b in &CORNERS {
                specs.push(DistSpec::Uniform { low: a, high: b });
                specs.push(DistSpec::Lognormal { mean: a, sd: b });
                specs.push(DistSpec::Gamma { mean: a, sd: b });
                specs.push(DistSpec::Pareto { scale: a, shape: b });
            }
            for cv in [MIN_CV, MIN_CV * 0.999, MAX_CV, MAX_CV * 1.001, 1.0] {
                specs.push(DistSpec::Lognormal {
                    mean: a,
                    sd: a * cv,
                });
                specs.push(DistSpec::Gamma {
                    mean: a,
                    sd: a * cv,
                });
            }
        }
        let mut rng = Pcg64::seed_from_u64(11);
        let mut accepted = 0;
        for spec in specs {
            if spec.check().is_err() {
                continue;
            }
            accepted += 1;
            let d = spec.sampler();
            for _ in 0..2_000 {
                let x = d.sample(&mut rng);
                assert!(x.is_finite() && x >= 0.0, "{spec:?} drew {x}");
            }
        }
        assert!(accepted > 300, "{accepted} accepted");
    }

    #[test]
    fn a_spread_too_narrow_to_draw_is_refused_naming_sd_and_the_smallest_allowed() {
        for sd in [1e-200, 5e-324, 1e-7] {
            for spec in [
                DistSpec::Gamma { mean: 1.0, sd },
                DistSpec::Lognormal { mean: 1.0, sd },
            ] {
                let err = spec.check().unwrap_err();
                assert!(err.contains("`sd`") && err.contains("1e-6"), "{err}");
                assert!(err.contains("sd` = 0"), "{err}");
            }
        }
        // The bound itself is drawn, and 0 is a constant.
        for sd in [1e-6, 0.0] {
            DistSpec::Gamma { mean: 1.0, sd }.check().unwrap();
        }
    }

    #[test]
    fn a_value_of_an_empirical_file_out_of_range_is_refused_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["-1", "nan", "inf", "1e10"] {
            std::fs::write(dir.path().join("v.txt"), format!("# seconds\n0.5\n{bad}\n")).unwrap();
            let mut spec = DistSpec::Empirical {
                values: None,
                file: Some("v.txt".into()),
            };
            let err = spec.load_files(dir.path()).unwrap_err();
            assert!(err.contains("v.txt line 3") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn impossible_parameters_are_refused_with_the_field_named() {
        let bad = [
            (
                DistSpec::Lognormal {
                    mean: 1.0,
                    sd: -1.0,
                },
                "`sd`",
            ),
            (
                DistSpec::Uniform {
                    low: 2.0,
                    high: 1.0,
                },
                "`low`",
            ),
            (DistSpec::Exponential { mean: 0.0 }, "`mean`"),
            (
                DistSpec::Empirical {
                    values: Some(vec![]),
                    file: None,
                },
                "empty",
            ),
            (DistSpec::Constant { value: -1.0 }, "`value`"),
        ];
        for (spec, word) in bad {
            let err = spec.check().unwrap_err();
            assert!(err.contains(word), "{spec:?}: {err}");
        }
    }
}
