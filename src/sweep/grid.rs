//! The grid of a sweep: `--vary PATH=VALUES` axes (lists, `start:stop:step`,
//! `start:stop:xF`), their cartesian product in grid order (the first axis varies
//! slowest), and the checked model of every point. A point that moves a spare-server
//! master's `pool.process_limit` below its spare settings gets them fitted by the
//! family's rule, as a plan does (`plan::spare_overrides`), and a note that says so.

use crate::error::BadInput;
use crate::families::SpareRule;
use crate::model::{self, check_path, parse_value, Model, Override};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One `--vary` axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    pub path: String,
    pub values: Vec<toml::Value>,
}

/// Most points one sweep may have: a typo such as 1:1000000:1 should not start a week-long run.
pub const MAX_POINTS: usize = 1_000_000;

/// Splits at commas that are not inside braces, brackets or quotes.
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    let mut parts = Vec::new();
    for (i, ch) in s.char_indices() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(ch),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn number(raw: &str, what: &str, whole: &str) -> Result<f64, String> {
    raw.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| {
            format!(
                "the {what} `{}` of `{}` is not a number",
                crate::error::quoted(raw),
                crate::error::quoted(whole)
            )
        })
}

fn is_integer(raw: &str) -> bool {
    raw.trim().parse::<i64>().is_ok()
}

/// A number as a TOML value: an integer when it is whole and the range was written in
/// whole numbers, so that integer fields such as process_limit accept it.
fn numeric(x: f64, integer: bool) -> toml::Value {
    if integer {
        toml::Value::Integer(x.round() as i64)
    } else {
        // Rounded to 12 significant digits so 0.1 steps print as 0.3, not 0.30000000000000004.
        toml::Value::Float(
            format!("{x:.12e}")
                .parse()
                .expect("a formatted float parses"),
        )
    }
}

/// Parses `PATH=VALUES`.
pub fn parse_axis(raw: &str) -> Result<Axis, BadInput> {
    let shown = crate::error::quoted(raw);
    let err = |m: String| BadInput(format!("--vary {shown}: {m}"));
    let (path, values) = raw.split_once('=').ok_or_else(|| {
        err(
            "write PATH=VALUES, for example --vary load.rate=0.1:1:0.1 or \
             --vary pool.process_limit=1,2,4"
                .into(),
        )
    })?;
    let path = path.trim();
    check_path(path).map_err(err)?;
    let values = values.trim();
    if values.is_empty() {
        return Err(err(
            "no values: give a,b,c, start:stop:step or start:stop:xF".into(),
        ));
    }
    let parts = split_top_level(values);
    let range: Vec<&str> = values.split(':').collect();
    let looks_like_range = parts.len() == 1 && range.len() == 3 && !values.contains(['{', '"']);
    // `0.1:2.4` would otherwise be taken as the word "0.1:2.4" and refused by the model
    // as "expected f64".
    if parts.len() == 1 && range.len() == 2 && range.iter().all(|p| p.trim().parse::<f64>().is_ok())
    {
        let (start, stop) = (range[0].trim(), range[1].trim());
        return Err(err(format!(
            "a range needs a step: write start:stop:step (stop included), e.g. \
             {start}:{stop}:STEP, or start:stop:xF for a geometric one, e.g. {start}:{stop}:x2"
        )));
    }
    let values = if looks_like_range {
        range_values(&range, values, crate::model::is_integer_path(path)).map_err(err)?
    } else {
        parts
            .iter()
            .map(|p| parse_value(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?
    };
    Ok(Axis {
        path: path.to_string(),
        values,
    })
}

fn range_values(
    range: &[&str],
    whole: &str,
    integer_path: bool,
) -> Result<Vec<toml::Value>, String> {
    let start = number(range[0], "start", whole)?;
    let stop = number(range[1], "stop", whole)?;
    if stop < start {
        return Err(format!(
            "the range is descending ({start} to {stop}): write start:stop with start <= stop"
        ));
    }
    let step = range[2].trim();
    let mut out = Vec::new();
    if let Some(factor) = step.strip_prefix('x') {
        let f = number(factor, "factor", whole)?;
        if f <= 1.0 {
            return Err(format!(
                "the factor x{f} must be above 1 for a geometric range"
            ));
        }
        if start <= 0.0 {
            return Err(format!(
                "a geometric range must start above 0, not at {start}"
            ));
        }
        // Counted before the loop: a factor so close to 1 that x * f rounds back to x
        // would otherwise never reach stop.
        let steps = (stop / start).ln() / f.ln();
        if steps.is_nan() || steps >= MAX_POINTS as f64 {
            return Err(format!(
                "{start} to {stop} by x{f} is about {steps:.3e} values: at most {MAX_POINTS} \
                 a sweep (use a larger factor)"
            ));
        }
        // Whole numbers only for a path that holds them: a geometric rate axis from 1
        // to 10 by x1.5 is 1, 1.5, 2.25, ..., not 1, 2, 3, 5, 8.
        let integer = integer_path && is_integer(range[0]) && is_integer(range[1]);
        let mut x = start;
        while x <= stop * (1.0 + 1e-9) {
            let v = numeric(x, integer);
            if out.last() != Some(&v) {
                out.push(v);
            }
            x *= f;
            if out.len() > MAX_POINTS {
                break;
            }
        }
    } else {
        let s = number(step, "step", whole)?;
        if s <= 0.0 {
            return Err(format!("the step must be above 0, got {s}"));
        }
        let integer = is_integer(range[0]) && is_integer(range[1]) && is_integer(step);
        let count = ((stop - start) / s + 1e-9).floor() + 1.0;
        if count.is_nan() || count > MAX_POINTS as f64 {
            return Err(format!(
                "{start} to {stop} by {s} is {count:.3e} values: at most {MAX_POINTS} a sweep"
            ));
        }
        let n = count as usize - 1;
        for i in 0..=n {
            out.push(numeric(start + i as f64 * s, integer));
        }
    }
    Ok(out)
}

/// One point of the grid: its index, its axis values and its checked model.
#[derive(Debug, Clone)]
pub struct Point {
    pub index: usize,
    pub values: Vec<toml::Value>,
    pub model: Model,
    /// What the point did with spare settings above its process_limit.
    pub note: Option<String>,
}

/// The points of a grid, each model loaded from `text` with the `--set` overrides
/// and then the point's own values.
pub fn expand(
    text: &str,
    file: &Path,
    sets: &[Override],
    axes: &[Axis],
) -> Result<Vec<Point>, BadInput> {
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.path == a.path) {
            return Err(BadInput(format!(
                "--vary {} is given twice: vary each path once",
                a.path
            )));
        }
        if let Some(s) = sets.iter().find(|s| s.path == a.path) {
            return Err(BadInput(format!(
                "{} both sets and varies `{}`: drop one of them",
                s.origin, a.path
            )));
        }
    }
    let total = axes
        .iter()
        .try_fold(1usize, |n, a| n.checked_mul(a.values.len()))
        .filter(|n| *n <= MAX_POINTS)
        .ok_or_else(|| BadInput(format!("the grid has more than {MAX_POINTS} points")))?;
    let name = file.display().to_string();
    let base = file.parent().unwrap_or(Path::new("."));
    // The model with the --sets alone, read once, when a point needs its spare settings.
    let mut unvaried: Option<Option<Model>> = None;
    let mut points = Vec::with_capacity(total);
    for index in 0..total {
        let values = values_at(axes, index);
        let mut overrides = sets.to_vec();
        for (a, v) in axes.iter().zip(&values) {
            overrides.push(Override {
                path: a.path.clone(),
                value: v.clone(),
                origin: format!("--vary {}={}", a.path, value_text(v)),
            });
        }
        let (model, note) = match model::load_str(text, &name, base, &overrides) {
            Ok(m) => (m, None),
            Err(refused) => {
                let sets_only = unvaried
                    .get_or_insert_with(|| model::load_str(text, &name, base, sets).ok())
                    .as_ref();
                match sets_only.and_then(|m| fit_spares(m, axes, &values, &overrides)) {
                    Some((fitted, note)) => match model::load_str(text, &name, base, &fitted) {
                        Ok(m) => (m, Some(note)),
                        Err(_) => return Err(refused),
                    },
                    None => return Err(refused),
                }
            }
        };
        points.push(Point {
            index,
            values,
            model,
            note,
        });
    }
    Ok(points)
}

/// The overrides of a point whose `pool.process_limit` axis value is below a service's
/// spare settings, with those settings fitted by the family's rule, and the note that
/// says what was done; None when no axis moves a limit below its spares, or when an
/// axis varies the spare settings themselves (the user's values stand; the point is
/// then refused as it is).
fn fit_spares(
    unvaried: &Model,
    axes: &[Axis],
    values: &[toml::Value],
    overrides: &[Override],
) -> Option<(Vec<Override>, String)> {
    let mut fitted = overrides.to_vec();
    let mut notes = Vec::new();
    for (a, v) in axes.iter().zip(values) {
        let Some(n) = v.as_integer().and_then(|n| u32::try_from(n).ok()) else {
            continue;
        };
        let origin = format!("--vary {}={n}", a.path);
        let Some((fit, spares)) = crate::plan::spare_overrides(unvaried, &a.path, n, &origin)
        else {
            continue;
        };
        if spares.iter().any(|o| axes.iter().any(|b| b.path == o.path)) {
            return None;
        }
        let changes = crate::plan::changes_text(unvaried, &a.path, &fit);
        notes.push(match fit.rule {
            SpareRule::Clamped => format!(
                "{}={n}: {}; the point takes {changes}, which behaves the same",
                a.path, fit.why
            ),
            SpareRule::Refused { .. } => format!(
                "{}={n}: {}; the point lowers {changes}, as a configuration for {n} \
                 processes must",
                a.path, fit.why
            ),
        });
        fitted.extend(spares);
    }
    (!notes.is_empty()).then(|| (fitted, notes.join("; ")))
}

/// The axes' values at grid index `index` (the first axis varies slowest).
pub fn values_at(axes: &[Axis], index: usize) -> Vec<toml::Value> {
    let mut rest = index;
    let mut values = vec![toml::Value::Boolean(false); axes.len()];
    for (k, a) in axes.iter().enumerate().rev() {
        values[k] = a.values[rest % a.values.len()].clone();
        rest /= a.values.len();
    }
    values
}

/// A value as it is written in a CSV cell and a message: strings without quotes.
pub fn value_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(raw: &str) -> Vec<String> {
        parse_axis(raw)
            .unwrap()
            .values
            .iter()
            .map(value_text)
            .collect()
    }

    #[test]
    fn ranges_include_their_stop_and_keep_integers_whole() {
        assert_eq!(values("pool.process_limit=1:4:1"), ["1", "2", "3", "4"]);
        assert_eq!(
            values("load.rate=0.1:0.5:0.1"),
            ["0.1", "0.2", "0.3", "0.4", "0.5"]
        );
        assert_eq!(
            values("listener.backlog=1:16:x2"),
            ["1", "2", "4", "8", "16"]
        );
        assert_eq!(values("listener.kind=unix,tcp"), ["unix", "tcp"]);
        assert_eq!(
            parse_axis(r#"work.blocking={ dist = "constant", value = 1 },{ dist = "exponential", mean = 1 }"#)
                .unwrap()
                .values
                .len(),
            2
        );
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        let e = |raw: &str| parse_axis(raw).unwrap_err().0;
        assert!(e("load.rate=5:1:1").contains("descending"));
        assert!(e("load.rate=1:5:0").contains("step must be above 0"));
        assert!(e("load.rate=1:5:x1").contains("above 1"));
        assert!(e("pool.nope=1,2").contains("not a model path"));
        assert!(e("load.rate=").contains("no values"));
    }
}
