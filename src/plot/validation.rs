//! The validation overlay: the simulator's predicted refusal probability as a
//! line with its 95 % band, and the refusal probability measured on a real
//! server as square points with their 95 % intervals, on a log axis with the
//! same zero row as the capacity curve.

use std::path::Path;

use plotters::prelude::*;

use super::axis::Scale;
use super::curve::{self, Columns, Curve};
use super::data::Data;
use super::frame::{self, Chart, Legend, Swatch};
use super::style;
use super::{render, ChartText};
use crate::output::Table;

const PREDICTED: [&str; 3] = [
    "predicted_refusal_probability",
    "predicted_ci_low",
    "predicted_ci_high",
];
const MEASURED: [&str; 3] = [
    "measured_refusal_probability",
    "measured_ci_low",
    "measured_ci_high",
];
const ABS_ERROR: &str = "abs_error";
/// Half the width of an error bar's caps, in pixels.
const CAP: i32 = 6;

/// Draws predicted against measured refusal probability over `x`, one colour
/// per value of `series`, into `out`.
pub fn validation_overlay(
    table: &Table,
    out: &Path,
    x: &str,
    series: Option<&str>,
    text: &ChartText,
) -> anyhow::Result<()> {
    let table = Data::new(table)?;
    let (x_col, series_col) = table.x_and_series(x, series)?;
    let columns = |names: [&str; 3]| -> anyhow::Result<Columns> {
        Ok(Columns {
            x: x_col,
            value: table.metric_column(names[0])?,
            low: Some(table.metric_column(names[1])?),
            high: Some(table.metric_column(names[2])?),
        })
    };
    let (predicted_cols, measured_cols) = (columns(PREDICTED)?, columns(MEASURED)?);
    let grouping = table.group_by(x_col, series_col);
    let (predicted, missing_predicted) = curve::curves(&table, &grouping, predicted_cols)?;
    let (measured, missing_measured) = curve::curves(&table, &grouping, measured_cols)?;

    let zero = style::zero_label("refusal_probability");
    let ys: Vec<f64> = curve::ys(&predicted)
        .into_iter()
        .chain(curve::ys(&measured))
        .collect();
    let y_axis = Scale::log(&ys, &zero);
    let xs: Vec<f64> = curve::xs(&predicted)
        .into_iter()
        .chain(curve::xs(&measured))
        .collect();
    let x_axis = Scale::for_x_of(x, &xs);
    let on_floor =
        curve::any_on_floor(&predicted, &y_axis) || curve::any_on_floor(&measured, &y_axis);

    let mut captions = Vec::new();
    if let Some((error, row)) = largest_error(&table) {
        captions.push(format!(
            "Largest |predicted - measured| refusal probability: {} (at {}).",
            style::fmt_number(error, 3),
            describe(&table, row)
        ));
    }
    if on_floor {
        captions.push(
            "Hollow markers on the shaded bottom row: no connection refused or dropped. A log axis cannot show 0, so that row sits below the smallest value on the scale."
                .to_string(),
        );
    }
    if missing_predicted + missing_measured > 0 {
        captions.push(format!(
            "Left out for lack of a value: {missing_predicted} predicted and {missing_measured} measured point(s)."
        ));
    }

    let mut legend = Legend::default();
    let single = predicted.len() == 1 && predicted[0].label.is_empty();
    if !single {
        legend.section(Some(&style::series_title(&grouping.title)));
        for c in &predicted {
            legend.entry(Swatch::Line(c.color), c.label.clone());
        }
    }
    let key = if single {
        predicted.first().map_or(style::MUTED, |c| c.color)
    } else {
        style::MUTED
    };
    legend.section(None);
    legend.entry(Swatch::LineBand(key), "predicted (simulator), 95 % band");
    legend.entry(
        Swatch::ErrorBar(key),
        "measured (real server), 95 % interval",
    );
    if on_floor {
        legend.entry(
            Swatch::Hollow(style::MUTED),
            format!("{zero}, on the bottom row"),
        );
    }

    render(out, |root| {
        let (plot, legend_area) = frame::panels(root, text, &captions)?;
        let x_title = style::path_label(x);
        let y_title = style::metric_label("refusal_probability");
        let mut chart = frame::chart(&plot, &x_axis, &y_axis, &x_title, &y_title, true)?;
        frame::zero_strip(&mut chart, &x_axis, &y_axis)?;
        for c in &predicted {
            curve::draw_band(&mut chart, &x_axis, &y_axis, c)?;
        }
        for c in &predicted {
            curve::draw_line(&mut chart, &x_axis, &y_axis, c, false)?;
            curve::draw_markers(&mut chart, &x_axis, &y_axis, c)?;
        }
        for c in &measured {
            draw_measured(&mut chart, &x_axis, &y_axis, c)?;
        }
        legend.draw(&legend_area, 20)?;
        Ok(())
    })
}

/// Square markers with capped error bars; hollow squares on the zero row.
fn draw_measured(
    chart: &mut Chart<'_, '_>,
    x: &Scale,
    y: &Scale,
    curve: &Curve,
) -> anyhow::Result<()> {
    let r = style::MARKER_RADIUS;
    for p in &curve.points {
        let px = x.coord(p.x);
        if let (Some(low), Some(high)) = (p.low, p.high) {
            let ends = [(px, y.coord(low)), (px, y.coord(high))];
            chart.draw_series(std::iter::once(PathElement::new(
                ends.to_vec(),
                curve.color.stroke_width(2),
            )))?;
            for end in ends {
                chart.draw_series(std::iter::once(
                    EmptyElement::at(end)
                        + PathElement::new(vec![(-CAP, 0), (CAP, 0)], curve.color.stroke_width(2)),
                ))?;
            }
        }
        let at = (px, y.coord(p.value));
        let fill = if y.on_floor(p.value) {
            style::BACKGROUND
        } else {
            curve.color
        };
        chart.draw_series(std::iter::once(
            EmptyElement::at(at)
                + Rectangle::new([(-r, -r), (r, r)], fill.filled())
                + Rectangle::new([(-r, -r), (r, r)], style::TEXT.stroke_width(1)),
        ))?;
    }
    Ok(())
}

/// The row with the largest `abs_error`, if the file has that column.
fn largest_error(table: &Data) -> Option<(f64, usize)> {
    let col = table.metric_column(ABS_ERROR).ok()?;
    (0..table.rows.len())
        .filter_map(|r| table.number(r, col).map(|e| (e, r)))
        .reduce(|a, b| if b.0 > a.0 { b } else { a })
}

/// `path=value` for every varied path of a row.
fn describe(table: &Data, row: usize) -> String {
    table
        .varied()
        .iter()
        .enumerate()
        .map(|(c, p)| format!("{p}={}", table.text(row, c)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testing::{assert_chart, assert_no_png, table, text, write_named};

    const HEADER: &str = "pool.process_limit,load.rate,predicted_refusal_probability,predicted_ci_low,predicted_ci_high,measured_refusal_probability,measured_ci_low,measured_ci_high,measured_offered,abs_error,predicted_latency_s_p50,measured_latency_s_p50,latency_abs_error";

    #[test]
    fn validation_overlay_draws_predicted_bands_and_measured_points() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_named(
            dir.path(),
            "validation.csv",
            HEADER,
            &[
                "1,0.25,0,0,0,0,0,0,100,0,2.0,2.01,0.01",
                "1,0.5,0.0005,0,0.0015,0.001,0,0.003,100,0.0005,2.0,2.02,0.02",
                "1,1.0,0.45,0.40,0.50,0.41,0.35,0.47,100,0.04,40,38,2",
                "2,0.25,0,0,0,0,0,0,100,0,2.0,2.01,0.01",
                "2,0.5,0,0,0,0.0008,0,0.002,100,0.0008,2.0,2.02,0.02",
                "2,1.0,0.03,0.02,0.04,0.05,0.03,0.07,100,0.02,2.8,3.1,0.3",
            ],
        );
        let out = dir.path().join("validation.png");
        validation_overlay(
            &table(&csv),
            &out,
            "load.rate",
            Some("pool.process_limit"),
            &text(),
        )
        .unwrap();
        assert_chart(&out);
    }

    #[test]
    fn validation_overlay_of_a_results_file_names_the_missing_prediction_column() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_named(
            dir.path(),
            "results.csv",
            "load.rate,offered,refusal_probability_mean",
            &["1,10,0"],
        );
        let out = dir.path().join("validation.png");
        let err = validation_overlay(&table(&csv), &out, "load.rate", None, &text()).unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains("`predicted_refusal_probability`"),
            "{message}"
        );
        assert_no_png(dir.path());
    }
}
