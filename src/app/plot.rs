//! `eagain plot RESULTS.csv --out FILE.png`: one chart of a sweep's results or of a
//! validation, with the words of the sweep's results.json when it lies beside the CSV.

use super::args::{ChartKind, PlotArgs};
use super::print;
use crate::error::BadInput;
use crate::output::Table;
use crate::plot::{self, ChartText};
use crate::sweep;
use anyhow::Result;
use std::path::Path;

pub fn run(args: PlotArgs) -> Result<()> {
    let csv = &args.csv;
    if let Some(t) = args.target {
        if !t.is_finite() || t < 0.0 {
            crate::bad_input!("--target {t}: give the target as a number >= 0, e.g. 0.001");
        }
    }
    let table = Table::read(csv).map_err(|e| {
        BadInput(format!(
            "cannot read {}: {}. Give the results.csv of a sweep or the validation.csv \
             of a validation.",
            csv.display(),
            crate::error::one_line(&format!("{e:#}"))
        ))
    })?;
    let is_validation = table
        .headers
        .iter()
        .any(|c| c == "predicted_refusal_probability");
    let kind = args.kind.unwrap_or(if is_validation {
        ChartKind::Validation
    } else {
        ChartKind::Capacity
    });
    let (x0, series0) = plot::default_axes(&table)?;
    let x = args.x.clone().unwrap_or(x0);
    let series = args.series.clone().or(series0);
    let dir = csv.parent().unwrap_or(Path::new("."));
    let text = match sweep::read_results(dir) {
        Ok((r, _)) => super::sweep::chart_text(&r, super::sweep::recorded_backlog_derived(&r)),
        Err(_) => ChartText {
            title: csv.display().to_string(),
            ..ChartText::default()
        },
    };
    let metric = args.metric.as_deref().unwrap_or("refusal_probability");
    let series = series.as_deref();
    let out = &args.out;
    match kind {
        ChartKind::Capacity => {
            plot::capacity_curve(&table, out, &x, series, metric, args.target, &text)?
        }
        ChartKind::Latency => plot::latency_chart(&table, out, &x, series, &text)?,
        ChartKind::Heatmap => {
            let Some(y) = series else {
                crate::bad_input!(
                    "a heat map needs two varied paths: {} varies only {x}; give --series",
                    csv.display()
                );
            };
            plot::heatmap(&table, out, &x, y, metric, &text)?
        }
        ChartKind::Validation => plot::validation_overlay(&table, out, &x, series, &text)?,
    }
    print(&format!("wrote {}\n", out.display()))
}
