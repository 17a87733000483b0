//! Scale scales. Charts draw in a coordinate space of their own (log10 of the value
//! on a log axis) and this module owns the mapping, the tick positions and labels,
//! and the floor row where zeros are drawn on a log axis instead of being dropped.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

use super::style::fmt_number;

/// Decades of room below the floor row, and above the largest value.
const FLOOR_MARGIN: f64 = 0.4;
const LOG_HEADROOM: f64 = 0.15;
/// Where the zero strip ends above the floor row: half a decade, so the gap
/// between zero and the smallest real value reads as a break in the scale.
const FLOOR_STRIP: f64 = 0.5;
/// Floor when nothing is positive: 1e-6, the smallest refusal probability the
/// simulator is meant to resolve without rare-event methods.
const EMPTY_FLOOR_DECADE: f64 = -6.0;
/// About how many ticks a linear axis gets.
const LINEAR_TICKS: f64 = 8.0;

pub(crate) struct Scale {
    log: bool,
    range: Range<f64>,
    ticks: Vec<f64>,
    minor: Vec<f64>,
    /// Coordinate of the row where zeros sit (log axes with zeros only).
    floor: Option<f64>,
    zero_label: String,
    /// Decimals of linear tick labels, fixed by the step so labels line up.
    decimals: usize,
    /// Names of the cells of a categorical axis (a heat map's rows or columns).
    names: Vec<String>,
}

impl Scale {
    /// A linear axis over `values`, from zero if `from_zero`.
    pub fn linear(values: &[f64], from_zero: bool) -> Scale {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let (mut lo, mut hi) = min_max(&finite).unwrap_or((0.0, 1.0));
        if from_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
            let pad = if hi == 0.0 { 1.0 } else { hi.abs() * 0.5 };
            hi += pad;
            if !(from_zero && lo == 0.0) {
                lo -= pad;
            }
        }
        let pad = (hi - lo) * 0.04;
        let lo = if from_zero && lo == 0.0 {
            0.0
        } else {
            lo - pad
        };
        let hi = hi + pad;
        let step = nice_step((hi - lo) / LINEAR_TICKS);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        let ticks = (first..=last).map(|k| k as f64 * step).collect();
        let decimals = step_decimals(step);
        Scale {
            log: false,
            range: lo..hi,
            ticks,
            minor: Vec::new(),
            floor: None,
            zero_label: String::new(),
            decimals,
            names: Vec::new(),
        }
    }

    /// A log axis over `values`. Zeros (and negatives: an interval's low end can
    /// dip below zero) are drawn at a floor row one decade below the smallest
    /// positive value, labelled `zero_label`.
    pub fn log(values: &[f64], zero_label: &str) -> Scale {
        let positive: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let has_zero = values.iter().any(|v| v.is_finite() && *v <= 0.0);
        let logs = min_max(&positive).map(|(a, b)| (a.log10(), b.log10()));
        let (floor, lo, hi) = match (logs, has_zero) {
            (Some((min, max)), true) => {
                let floor = min.floor() - 1.0;
                (
                    Some(floor),
                    floor - FLOOR_MARGIN,
                    max.max(floor + 1.0) + LOG_HEADROOM,
                )
            }
            (Some((min, max)), false) => {
                let (min, max) = if max - min < 0.3 {
                    (min - 0.3, max + 0.3)
                } else {
                    (min, max)
                };
                (
                    None,
                    min.floor().min(min - LOG_HEADROOM),
                    max + LOG_HEADROOM,
                )
            }
            (None, _) => {
                let floor = EMPTY_FLOOR_DECADE;
                (
                    Some(floor),
                    floor - FLOOR_MARGIN,
                    floor + 3.0 + LOG_HEADROOM,
                )
            }
        };
        // Values sit at least a decade above the floor: the scale's ticks start there.
        let scale_lo = floor.map_or(lo, |f| f + 1.0);
        let (ticks, minor) = log_ticks(scale_lo, hi);
        let mut all = Vec::with_capacity(ticks.len() + 1);
        all.extend(floor);
        all.extend(ticks);
        Scale {
            log: true,
            range: lo..hi,
            ticks: all,
            minor,
            floor,
            zero_label: zero_label.to_string(),
            decimals: 0,
            names: Vec::new(),
        }
    }

    /// One cell per name, cell i spanning [i, i + 1]; every `stride`-th is labelled.
    pub fn categories(names: &[String], stride: usize) -> Scale {
        let stride = stride.max(1);
        let ticks = (0..names.len())
            .step_by(stride)
            .map(|i| i as f64 + 0.5)
            .collect();
        Scale {
            log: false,
            range: 0.0..names.len().max(1) as f64,
            ticks,
            minor: Vec::new(),
            floor: None,
            zero_label: String::new(),
            decimals: 0,
            names: names.to_vec(),
        }
    }

    /// An x axis: logarithmic when the values are positive, span two decades and
    /// are spaced geometrically (a `start:stop:xF` sweep), else linear.
    pub fn for_x(values: &[f64]) -> Scale {
        if looks_geometric(values) {
            Scale::log(values, "0")
        } else {
            Scale::linear(values, false)
        }
    }

    /// The x axis of the model path `path`: ticks at whole numbers only when the path
    /// holds them (`PathKind::Integer`: there is no process_limit of 2.5).
    pub fn for_x_of(path: &str, values: &[f64]) -> Scale {
        let axis = Scale::for_x(values);
        if crate::model::is_integer_path(path) {
            axis.whole_numbers()
        } else {
            axis
        }
    }

    /// The same axis with ticks at whole numbers only: a linear one gets a step of
    /// 1, 2, 5, 10, ... and no decimals; a log one keeps its ticks from 1 up.
    pub fn whole_numbers(mut self) -> Scale {
        if !self.names.is_empty() {
            return self;
        }
        if self.log {
            let floor = self.floor;
            self.ticks.retain(|&t| {
                let v = 10f64.powf(t);
                Some(t) == floor || (v >= 1.0 - 1e-9 && (v - v.round()).abs() < 1e-6)
            });
            return self;
        }
        let (lo, hi) = (self.range.start, self.range.end);
        let step = whole_step((hi - lo) / LINEAR_TICKS);
        let first = (lo / step).ceil() as i64;
        let last = (hi / step).floor() as i64;
        self.ticks = (first..=last).map(|k| k as f64 * step).collect();
        self.decimals = 0;
        self
    }

    /// Widens the axis so `value` is inside it (a target line must be visible).
    pub fn including(self, values: &[f64], value: f64, zero_label: &str) -> Scale {
        let bottom = self
            .floor_strip()
            .map_or(self.range.start, |strip| strip.end);
        let inside = if self.log {
            value > 0.0 && (bottom..self.range.end).contains(&value.log10())
        } else {
            self.range.contains(&value)
        };
        if inside || !value.is_finite() {
            return self;
        }
        let mut all = values.to_vec();
        all.push(value);
        if self.log {
            Scale::log(&all, zero_label)
        } else {
            Scale::linear(&all, self.range.start == 0.0)
        }
    }

    /// Where `value` is drawn; zeros and negatives on a log axis go to the floor.
    pub fn coord(&self, value: f64) -> f64 {
        if !self.log {
            value
        } else if value > 0.0 {
            value.log10()
        } else {
            self.floor.unwrap_or(self.range.start)
        }
    }

    /// True if `value` is drawn on the floor row rather than the scale.
    pub fn on_floor(&self, value: f64) -> bool {
        self.log && value <= 0.0
    }

    /// The zero strip in coordinates: from the bottom of the axis to the break.
    pub fn floor_strip(&self) -> Option<Range<f64>> {
        self.floor.map(|f| self.range.start..f + FLOOR_STRIP)
    }

    pub fn range(&self) -> Range<f64> {
        self.range.clone()
    }

    /// The coordinate range with our ticks, ready for a plotters chart.
    pub fn spec(&self) -> Ticked {
        Ticked {
            range: self.range.clone(),
            bold: self.ticks.clone(),
            light: self.minor.clone(),
        }
    }

    pub fn label(&self, coord: f64) -> String {
        if !self.names.is_empty() {
            let i = coord.floor().max(0.0) as usize;
            self.names.get(i).cloned().unwrap_or_default()
        } else if self.floor.is_some_and(|f| (coord - f).abs() < 1e-9) {
            self.zero_label.clone()
        } else if self.log {
            fmt_number(10f64.powf(coord), 3)
        } else {
            let s = format!("{coord:.*}", self.decimals);
            if s.starts_with('-') && s.trim_start_matches(['-', '0', '.']).is_empty() {
                s[1..].to_string()
            } else {
                s
            }
        }
    }

    /// Every tick's label, for sizing the label area.
    pub fn labels(&self) -> Vec<String> {
        self.ticks.iter().map(|&t| self.label(t)).collect()
    }
}

/// A linear plotters coordinate whose grid lines and labels sit where we say.
/// (plotters' own `WithKeyPoints` over `f64` cannot take a label formatter.)
#[derive(Clone)]
pub(crate) struct Ticked {
    range: Range<f64>,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let fraction = if span > 0.0 {
            (value - self.range.start) / span
        } else {
            0.5
        };
        let pixels = (limit.1 - limit.0) as f64 * fraction.clamp(-10.0, 10.0);
        limit.0 + pixels.round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    let lo = values.iter().copied().reduce(f64::min)?;
    let hi = values.iter().copied().reduce(f64::max)?;
    Some((lo, hi))
}

/// Decade ticks over [lo, hi] (log10 coordinates); 2 and 5 between them when
/// the span is short, so an axis never has fewer than two labels. Minor ticks at
/// every integer multiple, for the light grid.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let multiples: &[f64] = if hi - lo >= 3.0 {
        &[1.0]
    } else if hi - lo >= 0.8 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    };
    let mut ticks = Vec::new();
    let mut minor = Vec::new();
    for decade in (lo.floor() as i32)..=(hi.ceil() as i32) {
        for m in 1..=9 {
            let c = decade as f64 + (m as f64).log10();
            if c < lo - 1e-9 || c > hi + 1e-9 {
                continue;
            }
            if multiples.contains(&(m as f64)) {
                ticks.push(c);
            } else {
                minor.push(c);
            }
        }
    }
    (ticks, minor)
}

/// 1, 2, 2.5 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = if raw > 0.0 && raw.is_finite() {
        raw
    } else {
        1.0
    };
    let power = 10f64.powf(raw.log10().floor());
    let m = raw / power;
    let nice = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .find(|&n| n >= m - 1e-9)
        .unwrap_or(10.0);
    nice * power
}

/// The nice step for whole numbers: 1, 2, 5, 10, 20, 25, 50, ... at least `raw`.
fn whole_step(raw: f64) -> f64 {
    let step = nice_step(raw).max(1.0);
    if step < 10.0 {
        [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .find(|&n| n >= step - 1e-9)
            .unwrap_or(10.0)
    } else {
        step
    }
}

fn step_decimals(step: f64) -> usize {
    (0..10)
        .find(|&d| {
            let scaled = step * 10f64.powi(d as i32);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(10)
}

fn looks_geometric(values: &[f64]) -> bool {
    let mut v: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() < 3 || v[0] <= 0.0 || v[v.len() - 1] / v[0] < 100.0 {
        return false;
    }
    let ratios: Vec<f64> = v.windows(2).map(|w| w[1] / w[0]).collect();
    let gaps: Vec<f64> = v.windows(2).map(|w| w[1] - w[0]).collect();
    spread(&ratios) < spread(&gaps)
}

/// Coefficient of variation.
fn spread(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    var.sqrt() / mean.abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_sit_one_decade_below_the_smallest_positive_value() {
        let axis = Scale::log(&[0.0, 3e-4, 0.02, 0.5], "0 (none refused)");
        assert_eq!(axis.coord(0.0), -5.0);
        assert!(axis.on_floor(0.0) && !axis.on_floor(3e-4));
        assert_eq!(axis.label(-5.0), "0 (none refused)");
        assert_eq!(
            axis.labels(),
            ["0 (none refused)", "1e-4", "0.001", "0.01", "0.1"]
        );
    }

    #[test]
    fn zeros_sit_at_1e_minus_6_when_nothing_is_positive() {
        let axis = Scale::log(&[0.0, 0.0], "0");
        assert_eq!(axis.coord(0.0), -6.0);
        assert_eq!(
            axis.labels(),
            ["0", "1e-5", "2e-5", "5e-5", "1e-4", "2e-4", "5e-4", "0.001"]
        );
    }

    #[test]
    fn a_target_below_every_value_moves_the_floor_under_it() {
        let values = [0.0, 0.01, 0.5];
        let axis = Scale::log(&values, "0").including(&values, 1e-6, "0");
        assert_eq!(axis.coord(0.0), -7.0);
        assert!(
            axis.labels().contains(&"1e-6".to_string()),
            "{:?}",
            axis.labels()
        );
    }

    #[test]
    fn a_short_log_range_gets_ticks_between_decades() {
        let axis = Scale::log(&[0.2, 0.5], "0");
        assert!(axis.floor_strip().is_none());
        assert!(axis.labels().len() >= 3, "{:?}", axis.labels());
        assert!(
            axis.labels().contains(&"0.2".to_string()),
            "{:?}",
            axis.labels()
        );
    }

    #[test]
    fn linear_ticks_are_round_numbers_with_matching_decimals() {
        let axis = Scale::linear(&[0.5, 2.0], true);
        assert_eq!(axis.range().start, 0.0);
        assert_eq!(axis.labels(), ["0.0", "0.5", "1.0", "1.5", "2.0"]);
        let rates = Scale::linear(&[10.0, 200.0], false);
        assert!(
            rates.labels().iter().all(|l| !l.contains('.')),
            "{:?}",
            rates.labels()
        );
    }

    #[test]
    fn a_path_of_whole_numbers_gets_whole_ticks() {
        // Process limits 1 to 4: a plain linear axis would tick at 0.5 steps.
        let plain = Scale::for_x(&[1.0, 2.0, 3.0, 4.0]);
        assert!(
            plain.labels().iter().any(|l| l.contains('.')),
            "{:?}",
            plain.labels()
        );
        let whole = Scale::for_x_of("pool.process_limit", &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(whole.labels(), ["1", "2", "3", "4"]);
        let chain = Scale::for_x_of("services.imap.pool.process_limit", &[1.0, 2.0]);
        assert!(
            chain.labels().iter().all(|l| !l.contains('.')),
            "{:?}",
            chain.labels()
        );
        // A rate keeps its decimals.
        let rate = Scale::for_x_of("load.rate", &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(rate.labels(), plain.labels());
        // A geometric process_limit axis: no tick below 1.
        let geometric: Vec<f64> = (0..10).map(|k| 2f64.powi(k)).collect();
        let log = Scale::for_x_of("pool.process_limit", &geometric);
        assert!(log
            .labels()
            .iter()
            .all(|l| l.parse::<f64>().unwrap() >= 1.0));
    }

    #[test]
    fn geometric_rates_get_a_log_x_axis_and_arithmetic_ones_a_linear_one() {
        let geometric: Vec<f64> = (0..8).map(|k| 0.5 * 2f64.powi(k)).collect();
        assert!(Scale::for_x(&geometric).log);
        let arithmetic: Vec<f64> = (1..=200).map(f64::from).collect();
        assert!(!Scale::for_x(&arithmetic).log);
    }
}
