//! The lines a target counts in its servers' own logs, and how they are reported:
//! extra columns of measured.csv and validation.csv and a line under each point on
//! stdout, beside the measured and predicted refusals and time-outs per run and the
//! pool's processes second by second (as the Dovecot target reports its own lines).
//!
//! Only lines written after the readiness probe count: `mark_start` remembers where
//! each log ended then.

use crate::harness::measurement::{PointMeasurement, Prediction};
use crate::harness::run::counts_text;
use crate::output::number;
use std::collections::BTreeMap;
use std::path::Path;

/// A line a target counts: its column, the log file (in the run's folder), the texts
/// that mark it (any of them), and how the stdout line names it.
pub(crate) struct LogLine {
    pub column: &'static str,
    pub file: &'static str,
    pub needles: &'static [&'static str],
    pub shown: &'static str,
}

/// Where the logs ended when the load started.
const LOG_START: &str = "log-start";

/// The log files of `lines`, each once, in order.
fn files(lines: &[LogLine]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for l in lines {
        if !out.contains(&l.file) {
            out.push(l.file);
        }
    }
    out
}

/// Remembers where the logs of `lines` end now: only later lines are counted.
pub(crate) fn mark_start(dir: &Path, lines: &[LogLine]) {
    let sizes: Vec<String> = files(lines)
        .iter()
        .map(|f| {
            std::fs::metadata(dir.join(f))
                .map_or(0, |m| m.len())
                .to_string()
        })
        .collect();
    let _ = std::fs::write(dir.join(LOG_START), sizes.join(" "));
}

/// Counts the lines of `lines` written after `mark_start` (from the beginning of a
/// log when it was not marked).
pub(crate) fn count(dir: &Path, lines: &[LogLine]) -> BTreeMap<String, u64> {
    let start: Vec<usize> = std::fs::read_to_string(dir.join(LOG_START))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let texts: BTreeMap<&str, String> = files(lines)
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let all = std::fs::read(dir.join(f)).unwrap_or_default();
            let from = start.get(k).copied().unwrap_or(0).min(all.len());
            (*f, String::from_utf8_lossy(&all[from..]).to_string())
        })
        .collect();
    lines
        .iter()
        .map(|l| {
            let n = texts[l.file]
                .lines()
                .filter(|t| l.needles.iter().any(|n| t.contains(n)))
                .count();
            (l.column.to_string(), n as u64)
        })
        .collect()
}

/// measured.csv: the number of runs, the lines summed over them, and the pool's
/// processes second by second (each second's mean over the runs).
pub(crate) fn measured_columns(lines: &[LogLine]) -> Vec<String> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut c: Vec<String> = vec!["runs".into()];
    c.extend(lines.iter().map(|l| l.column.to_string()));
    c.push("processes_per_s".into());
    c
}

pub(crate) fn measured_values(lines: &[LogLine], m: &PointMeasurement) -> Vec<String> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut v = vec![m.runs.to_string()];
    v.extend(
        lines
            .iter()
            .map(|l| m.server_log.get(l.column).copied().unwrap_or(0).to_string()),
    );
    v.push(mean_counts(&m.processes_per_s));
    v
}

/// Each second's mean over the runs that lasted that long, separated by spaces.
fn mean_counts(runs: &[Vec<u64>]) -> String {
    let seconds = runs.iter().map(Vec::len).max().unwrap_or(0);
    (0..seconds)
        .map(|k| {
            let xs: Vec<u64> = runs.iter().filter_map(|r| r.get(k).copied()).collect();
            let mean = xs.iter().sum::<u64>() as f64 / xs.len() as f64;
            if mean.fract() == 0.0 {
                format!("{mean:.0}")
            } else {
                format!("{mean:.2}")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// validation.csv: refusals and time-outs per run, predicted and measured, the lines
/// per run, and the most processes, predicted and measured.
pub(crate) fn validation_columns(lines: &[LogLine]) -> Vec<String> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut c: Vec<String> = [
        "predicted_refused_per_run",
        "measured_refused_per_run",
        "predicted_timed_out_per_run",
        "measured_timed_out_per_run",
    ]
    .map(String::from)
    .to_vec();
    c.extend(lines.iter().map(|l| format!("{}_per_run", l.column)));
    c.extend([
        "predicted_processes_max".into(),
        "measured_processes_max".into(),
    ]);
    c
}

/// (refused + dropped, timed out) per run, predicted and measured.
fn per_run(m: &PointMeasurement, p: &Prediction) -> [f64; 4] {
    let runs = f64::from(m.runs.max(1));
    let reps = f64::from(p.replications.max(1));
    let (ps, ms) = (&p.summary, &m.summary);
    [
        (ps.refused + ps.dropped) as f64 / reps,
        (ms.refused + ms.dropped) as f64 / runs,
        ps.timed_out as f64 / reps,
        ms.timed_out as f64 / runs,
    ]
}

fn line_per_run(m: &PointMeasurement, l: &LogLine) -> f64 {
    m.server_log.get(l.column).copied().unwrap_or(0) as f64 / f64::from(m.runs.max(1))
}

pub(crate) fn validation_values(
    lines: &[LogLine],
    m: &PointMeasurement,
    p: &Prediction,
) -> Vec<String> {
    if lines.is_empty() {
        return Vec::new();
    }
    let mut v: Vec<f64> = per_run(m, p).to_vec();
    v.extend(lines.iter().map(|l| line_per_run(m, l)));
    v.push(p.summary.processes.max as f64);
    v.push(m.summary.processes.max as f64);
    v.into_iter().map(number).collect()
}

/// `  server log per run: 1.5 x `...`, ...; refused per run measured 3.0, predicted
/// 3.5; timed out ...; pool processes second by second: 2 3 3`.
pub(crate) fn point_lines(
    lines: &[LogLine],
    m: &PointMeasurement,
    p: Option<&Prediction>,
) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let counted: Vec<String> = lines
        .iter()
        .map(|l| format!("{:.1} x `{}`", line_per_run(m, l), l.shown))
        .collect();
    let runs = f64::from(m.runs.max(1));
    let s = &m.summary;
    let mut text = format!(
        "  server log per run: {}; per run: refused {:.1}, timed out {:.1} measured",
        counted.join(", "),
        (s.refused + s.dropped) as f64 / runs,
        s.timed_out as f64 / runs
    );
    if let Some(p) = p {
        let [refused, _, timed_out, _] = per_run(m, p);
        text += &format!(", refused {refused:.1}, timed out {timed_out:.1} predicted");
    }
    if let Some(first) = m.processes_per_s.first().filter(|c| !c.is_empty()) {
        text += &format!(
            "; pool processes second by second (run 1): {}",
            counts_text(first)
        );
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &[LogLine] = &[
        LogLine {
            column: "log_a",
            file: "a.log",
            needles: &["alpha", "ALPHA"],
            shown: "alpha",
        },
        LogLine {
            column: "log_b",
            file: "b.log",
            needles: &["beta"],
            shown: "beta",
        },
    ];

    #[test]
    fn only_lines_written_after_the_mark_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("a.log"), "alpha before\n").unwrap();
        mark_start(d, LINES);
        std::fs::write(
            d.join("a.log"),
            "alpha before\nalpha 1\nALPHA 2\nbeta in a\n",
        )
        .unwrap();
        std::fs::write(d.join("b.log"), "beta\nbeta\nbeta\n").unwrap();
        let c = count(d, LINES);
        assert_eq!(c["log_a"], 2);
        assert_eq!(c["log_b"], 3);
    }

    #[test]
    fn a_seconds_mean_is_over_the_runs_that_lasted_that_long() {
        assert_eq!(mean_counts(&[vec![2, 3, 4], vec![2, 4]]), "2 3.50 4");
        assert_eq!(mean_counts(&[]), "");
    }
}
