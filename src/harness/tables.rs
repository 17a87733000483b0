//! What `harness` and `validate` write and print: measured.csv (the varied paths, the
//! columns of a sweep's results.csv, then the target's own), validation.csv (the
//! varied paths, SPEC section 4's columns, the measured interval, a chain's refusals
//! per service, then the target's own), both as `output::Table`s, and the lines they
//! print on stdout. The target's own columns and the line under each point are its
//! `Report`, formatted by `report.rs`.

use super::job::Job;
use super::measurement::{PointMeasurement, Prediction};
use super::report;
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
    header.extend(report::measured_columns(job.target.about(), &job.report));
    let path = job.out.join("measured.csv");
    let mut table = Table::new(&path, header);
    for (i, m) in measured.iter().enumerate() {
        let mut row = job.values(i);
        row.extend(flatten(&m.summary).iter().map(|(_, v)| cell(v)));
        row.extend(report::measured_values(job.target.about(), &job.report, m));
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
        text += &report::line(job.target.about(), &job.report, m, None);
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
    header.extend(report::validation_columns(job.target.about(), &job.report));
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
        row.extend(report::validation_values(
            job.target.about(),
            &job.report,
            pm,
            pp,
        ));
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
        text += &report::line(job.target.about(), &job.report, pm, Some(pp));
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
