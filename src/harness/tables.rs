//! What `harness` and `validate` write and print: measured.csv (the varied paths, the
//! columns of a sweep's results.csv, then the target's own), validation.csv (the
//! varied paths, SPEC section 4's columns, the measured interval, a chain's refusals
//! per service, then the target's own), both as `output::Table`s, and the lines they
//! print on stdout. The target's own columns and the line under each point come from
//! its `Report` (the lines of its logs it counts), formatted here.

use super::job::Job;
use super::measurement::{PointMeasurement, Prediction};
use super::run::counts_text;
use super::target::{About, Counted, Outcome, Outcomes, Report, Said};
use crate::output::report::flatten;
use crate::output::{cell, create_dir, number, Table};
use anyhow::Result;
use std::path::PathBuf;

/// The columns of validation.csv after the varied paths (what the overlay chart
/// reads): SPEC section 4's, in its order, then the measured interval.
pub const VALIDATION_COLUMNS: [&str; 11] = [
    "predicted_refusal_probability",
    "predicted_ci_low",
    "predicted_ci_high",
    "measured_refusal_probability",
    "measured_offered",
    "abs_error",
    "predicted_latency_s_p50",
    "measured_latency_s_p50",
    "latency_abs_error",
    "measured_ci_low",
    "measured_ci_high",
];

/// Writes `measured.csv` into the job's folder; returns its path.
pub(crate) fn write_measured(job: &Job, measured: &[PointMeasurement]) -> Result<PathBuf> {
    let mut header = job.header();
    if let Some(m) = measured.first() {
        header.extend(flatten(&m.summary).into_iter().map(|(k, _)| k));
    }
    header.extend(measured_columns(job.target.about(), &job.report));
    let path = job.out.join("measured.csv");
    let mut table = Table::new(&path, header);
    for (i, m) in measured.iter().enumerate() {
        let mut row = job.values(i);
        row.extend(flatten(&m.summary).iter().map(|(_, v)| cell(v)));
        row.extend(measured_values(job.target.about(), &job.report, m));
        table.rows.push(row);
    }
    create_dir(&job.out)?;
    table.write()?;
    Ok(path)
}

/// `harness`'s lines on stdout: one a point (and the target's own under it).
pub(crate) fn measured_text(job: &Job, measured: &[PointMeasurement]) -> String {
    let mut text = String::new();
    for (i, m) in measured.iter().enumerate() {
        let s = &m.summary;
        text += &format!(
            "{}: offered {}, refusal probability {:.4}, latency p50 {:.4} s\n",
            job.label(i),
            s.offered,
            s.refusal_probability.mean,
            s.latency_s.p50
        );
        text += &services_line(m, None);
        text += &report_line(job.target.about(), &job.report, m, None);
    }
    text
}

/// A chain's refusals per service and per run, predicted and measured (where the
/// target's records tell), in validation.csv's columns after SPEC section 4's.
fn service_columns(job: &Job) -> Vec<String> {
    let model = &job.points[0].model;
    if !model.is_chain() {
        return Vec::new();
    }
    model
        .services
        .iter()
        .flat_map(|s| {
            [
                format!("services.{}.predicted_refused_per_run", s.name),
                format!("services.{}.measured_refused_per_run", s.name),
            ]
        })
        .collect()
}

/// Refusals per run at service `name`: predicted, and measured when the target's
/// records tell (else None).
fn service_refusals(
    name: &str,
    m: &PointMeasurement,
    p: Option<&Prediction>,
) -> (Option<f64>, Option<f64>) {
    let per_run = |s: &crate::stats::Summary, runs: u32| {
        s.services
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, x)| x.refused as f64 / f64::from(runs.max(1)))
    };
    let predicted = p.and_then(|p| per_run(&p.summary, p.replications));
    let measured = if m.known_services.contains(name) {
        per_run(&m.summary, m.runs)
    } else {
        None
    };
    (predicted, measured)
}

/// A point's cells in the columns of `service_columns`; a service whose outcomes the
/// target cannot tell has an empty measured cell.
fn service_values(job: &Job, m: &PointMeasurement, p: &Prediction) -> Vec<String> {
    let model = &job.points[0].model;
    if !model.is_chain() {
        return Vec::new();
    }
    model
        .services
        .iter()
        .flat_map(|s| {
            let (predicted, measured) = service_refusals(&s.name, m, Some(p));
            [predicted, measured].map(|x| x.map(number).unwrap_or_default())
        })
        .collect()
}

/// A chain's line under a point: the refusals per run at each service, measured
/// (where the target's records tell) and predicted.
fn services_line(m: &PointMeasurement, p: Option<&Prediction>) -> String {
    let names: Vec<&String> = m.summary.services.iter().map(|(n, _)| n).collect();
    if names.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = names
        .iter()
        .map(|name| {
            let (predicted, measured) = service_refusals(name, m, p);
            let mut part = format!(
                "{name} measured {}",
                measured.map_or("not known".to_string(), |x| format!("{x:.1}"))
            );
            if let Some(x) = predicted {
                part += &format!(", predicted {x:.1}");
            }
            part
        })
        .collect();
    format!("  refused per run, by service: {}\n", parts.join("; "))
}

/// validation.csv as a table (not yet written), `validate`'s lines on stdout, and the
/// largest |predicted - measured| refusal probability.
pub(crate) struct Validation {
    pub table: Table,
    pub text: String,
    pub max_abs_error: f64,
}

/// Compares the prediction of every point with its measurement.
pub(crate) fn validation(
    job: &Job,
    predicted: &[Prediction],
    measured: &[PointMeasurement],
) -> Validation {
    let mut header = job.header();
    header.extend(VALIDATION_COLUMNS.iter().map(|c| c.to_string()));
    header.extend(service_columns(job));
    header.extend(validation_columns(job.target.about(), &job.report));
    let mut table = Table::new(job.out.join("validation.csv"), header);
    let mut max_abs_error = 0.0f64;
    let mut text = String::new();
    for (i, (pp, pm)) in predicted.iter().zip(measured).enumerate() {
        let (p, m) = (&pp.summary, &pm.summary);
        let abs_error = round12((p.refusal_probability.mean - m.refusal_probability.mean).abs());
        max_abs_error = max_abs_error.max(abs_error);
        let latency_error = if p.served > 0 && m.served > 0 {
            round12((p.latency_s.p50 - m.latency_s.p50).abs())
        } else {
            f64::NAN
        };
        let mut row = job.values(i);
        row.extend(
            [
                p.refusal_probability.mean,
                p.refusal_probability.ci_low,
                p.refusal_probability.ci_high,
                m.refusal_probability.mean,
                m.offered as f64,
                abs_error,
                p.latency_s.p50,
                m.latency_s.p50,
                latency_error,
                m.refusal_probability.ci_low,
                m.refusal_probability.ci_high,
            ]
            .map(number),
        );
        row.extend(service_values(job, pm, pp));
        row.extend(validation_values(job.target.about(), &job.report, pm, pp));
        table.rows.push(row);
        text += &format!(
            "{}: refusal predicted {:.4}, measured {:.4} (|error| {:.4}); latency p50 predicted {:.4} s, measured {:.4} s\n",
            job.label(i),
            p.refusal_probability.mean,
            m.refusal_probability.mean,
            abs_error,
            p.latency_s.p50,
            m.latency_s.p50
        );
        text += &services_line(pm, Some(pp));
        text += &report_line(job.target.about(), &job.report, pm, Some(pp));
    }
    Validation {
        table,
        text,
        max_abs_error,
    }
}

/// Differences rounded to 12 decimals, so that floating-point noise reads as 0.
fn round12(x: f64) -> f64 {
    (x * 1e12).round() / 1e12
}

/// measured.csv's columns of a target's report: the number of runs (with outcomes per
/// run), the lines counted summed over the runs, the pool's processes second by second
/// (each second's mean over the runs) and the IMAP login latency.
fn measured_columns(about: About, r: &Report) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let mut c = Vec::new();
    if r.outcomes != Outcomes::None {
        c.push("runs".to_string());
    }
    c.extend(r.lines.iter().map(|l| l.column.clone()));
    if about.counts_pool {
        c.push("processes_per_s".into());
    }
    if r.login_latency {
        c.extend(["login_latency_s_p50".into(), "login_latency_s_p99".into()]);
    }
    c
}

/// A point's cells in the columns of `measured_columns`.
fn measured_values(about: About, r: &Report, m: &PointMeasurement) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let mut v = Vec::new();
    if r.outcomes != Outcomes::None {
        v.push(m.runs.to_string());
    }
    v.extend(r.lines.iter().map(|l| sum(m, l).to_string()));
    if about.counts_pool {
        v.push(mean_counts(&m.processes_per_s));
    }
    if r.login_latency {
        v.push(number(quantile(&m.login_latencies, 0.5)));
        v.push(number(quantile(&m.login_latencies, 0.99)));
    }
    v
}

/// validation.csv's columns of a target's report: the outcomes per run, predicted and
/// measured, the validated lines per run, and the most processes, predicted and
/// measured.
fn validation_columns(about: About, r: &Report) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let mut c: Vec<String> = Vec::new();
    if r.outcomes != Outcomes::None {
        c.extend([
            "predicted_refused_per_run".into(),
            "measured_refused_per_run".into(),
        ]);
    }
    if r.outcomes == Outcomes::RefusedTimedOut {
        c.extend([
            "predicted_timed_out_per_run".into(),
            "measured_timed_out_per_run".into(),
        ]);
    }
    c.extend(
        r.lines
            .iter()
            .filter(|l| l.validated)
            .map(|l| format!("{}_per_run", l.column)),
    );
    if about.counts_pool {
        c.extend([
            "predicted_processes_max".into(),
            "measured_processes_max".into(),
        ]);
    }
    c
}

/// A point's cells in the columns of `validation_columns`.
fn validation_values(
    about: About,
    r: &Report,
    m: &PointMeasurement,
    p: &Prediction,
) -> Vec<String> {
    if r.lines.is_empty() {
        return Vec::new();
    }
    let [predicted_refused, measured_refused, predicted_timed_out, measured_timed_out] =
        outcomes_per_run(m, p);
    let mut v: Vec<f64> = Vec::new();
    if r.outcomes != Outcomes::None {
        v.extend([predicted_refused, measured_refused]);
    }
    if r.outcomes == Outcomes::RefusedTimedOut {
        v.extend([predicted_timed_out, measured_timed_out]);
    }
    v.extend(
        r.lines
            .iter()
            .filter(|l| l.validated)
            .map(|l| per_run(m, l)),
    );
    if about.counts_pool {
        v.push(p.summary.processes.max as f64);
        v.push(m.summary.processes.max as f64);
    }
    v.into_iter().map(number).collect()
}

/// The line under a point of a target's report: `  server log per run: 1.5 x
/// `...`, ...; per run: refused 3.0, timed out 0.0 measured, refused 3.5, timed out
/// 0.0 predicted; pool processes second by second (run 1): 2 3 3`, a chain's counts
/// grouped by service (`imap-login: 4.0 logins, ...; imap: ...`), with the prediction
/// under `validate`.
fn report_line(about: About, r: &Report, m: &PointMeasurement, p: Option<&Prediction>) -> String {
    if r.lines.is_empty() {
        return String::new();
    }
    // Consecutive lines of one service make a group.
    let mut groups: Vec<(Option<&str>, Vec<String>)> = Vec::new();
    for l in &r.lines {
        let service = l.service.as_deref();
        let item = counted_text(m, l, p);
        match groups.last_mut() {
            Some((s, items)) if *s == service => items.push(item),
            _ => groups.push((service, vec![item])),
        }
    }
    let groups: Vec<String> = groups
        .into_iter()
        .map(|(service, items)| match service {
            Some(name) => format!("{name}: {}", items.join(", ")),
            None => items.join(", "),
        })
        .collect();
    let mut text = format!("  {} per run: {}", r.records, groups.join("; "));
    let runs = f64::from(m.runs.max(1));
    let s = &m.summary;
    let [predicted_refused, _, predicted_timed_out, _] =
        p.map_or([0.0; 4], |p| outcomes_per_run(m, p));
    match r.outcomes {
        Outcomes::None => {}
        Outcomes::Refused => {
            text += &format!(
                "; measured refused+dropped {:.1}",
                (s.refused + s.dropped) as f64 / runs
            );
            if p.is_some() {
                text += &format!(", predicted {predicted_refused:.1}");
            }
        }
        Outcomes::RefusedTimedOut => {
            text += &format!(
                "; per run: refused {:.1}, timed out {:.1} measured",
                (s.refused + s.dropped) as f64 / runs,
                s.timed_out as f64 / runs
            );
            if p.is_some() {
                text += &format!(
                    ", refused {predicted_refused:.1}, timed out {predicted_timed_out:.1} predicted"
                );
            }
        }
    }
    if about.counts_pool {
        if let Some(first) = m.processes_per_s.first().filter(|c| !c.is_empty()) {
            text += &format!(
                "; pool processes second by second (run 1): {}",
                counts_text(first)
            );
        }
    }
    if r.login_latency {
        text += &format!(
            "; login latency p50 {:.4} s",
            quantile(&m.login_latencies, 0.5)
        );
    }
    text.push('\n');
    text
}

/// A counted line under a point: its count per run, what it is, and what it stands
/// for with its prediction where the report says so.
fn counted_text(m: &PointMeasurement, l: &Counted, p: Option<&Prediction>) -> String {
    let mut text = format!("{:.1} {}", per_run(m, l), l.shown);
    let Some(t) = &l.tells else {
        return text;
    };
    let what = match t.outcome {
        Outcome::Refused => "refused there",
        Outcome::TimedOut => "timed out there",
    };
    let predicted = p.and_then(|p| {
        let (_, x) = p.summary.services.iter().find(|(n, _)| *n == t.service)?;
        let count = match t.outcome {
            Outcome::Refused => x.refused,
            Outcome::TimedOut => x.timed_out,
        };
        Some(count as f64 / f64::from(p.replications.max(1)))
    });
    match (t.said, predicted) {
        (Said::Always, Some(x)) => text += &format!(" ({what}; predicted {x:.1})"),
        (Said::Always, None) => text += &format!(" ({what})"),
        (Said::WithPrediction, Some(x)) => text += &format!(" (predicted {what} {x:.1})"),
        (Said::WithPrediction, None) => {}
    }
    text
}

/// A counted line's sum over the point's runs.
fn sum(m: &PointMeasurement, l: &Counted) -> u64 {
    m.server_log.get(&l.column).copied().unwrap_or(0)
}

/// A counted line per run.
fn per_run(m: &PointMeasurement, l: &Counted) -> f64 {
    sum(m, l) as f64 / f64::from(m.runs.max(1))
}

/// (refused + dropped, timed out) per run, predicted and measured.
fn outcomes_per_run(m: &PointMeasurement, p: &Prediction) -> [f64; 4] {
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

/// The p-quantile of `xs` (nearest rank), NaN when empty.
fn quantile(xs: &[f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seconds_mean_is_over_the_runs_that_lasted_that_long() {
        assert_eq!(mean_counts(&[vec![2, 3, 4], vec![2, 4]]), "2 3.50 4");
        assert_eq!(mean_counts(&[]), "");
    }
}
