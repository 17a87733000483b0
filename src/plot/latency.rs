//! Latency percentiles against a varied path: p50 solid and p99 dashed, in one
//! colour per series value, so the spread between them reads at a glance.

use std::path::Path;

use super::axis::Scale;
use super::curve::{self, Columns};
use super::data::Data;
use super::frame::{self, Legend, Swatch};
use super::style;
use super::{render, ChartText};
use crate::output::Table;

const P50: &str = "latency_s_p50";
const P99: &str = "latency_s_p99";
/// Above this ratio of largest to smallest latency the y axis is logarithmic:
/// a queue that fills makes p99 hundreds of times p50.
const LOG_RATIO: f64 = 30.0;

/// Draws `latency_s_p50` and `latency_s_p99` against `x`, one colour per value
/// of `series`, into `out`.
pub fn latency_chart(
    table: &Table,
    out: &Path,
    x: &str,
    series: Option<&str>,
    text: &ChartText,
) -> anyhow::Result<()> {
    let table = Data::new(table)?;
    let (x_col, series_col) = table.x_and_series(x, series)?;
    let p50 = table.metric_column(P50)?;
    let p99 = table.metric_column(P99)?;
    let grouping = table.group_by(x_col, series_col);
    let column = |value| Columns {
        x: x_col,
        value,
        low: None,
        high: None,
    };
    let (p50_curves, missing) = curve::curves(&table, &grouping, column(p50))?;
    let (p99_curves, _) = curve::curves(&table, &grouping, column(p99))?;

    let ys: Vec<f64> = curve::ys(&p50_curves)
        .into_iter()
        .chain(curve::ys(&p99_curves))
        .collect();
    let positive = ys.iter().all(|&v| v > 0.0);
    let (lo, hi) = ys
        .iter()
        .fold((f64::INFINITY, 0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let y_axis = if positive && hi / lo > LOG_RATIO {
        Scale::log(&ys, "0")
    } else {
        Scale::linear(&ys, true)
    };
    let x_axis = Scale::for_x_of(x, &curve::xs(&p50_curves));

    let mut captions = vec![
        "Latency of served connections, from when each connection was meant to be sent to its reply (open loop: no coordinated omission).".to_string(),
    ];
    if missing > 0 {
        captions.push(format!(
            "{missing} grid point(s) served no connection and are left out."
        ));
    }

    let mut legend = Legend::default();
    let single = p50_curves.len() == 1 && p50_curves[0].label.is_empty();
    if !single {
        legend.section(Some(&style::series_title(&grouping.title)));
        for c in &p50_curves {
            legend.entry(Swatch::Line(c.color), c.label.clone());
        }
    }
    let key = if single {
        p50_curves.first().map_or(style::MUTED, |c| c.color)
    } else {
        style::MUTED
    };
    legend.section(Some("percentile"));
    legend.entry(Swatch::Line(key), "p50 (median)");
    legend.entry(Swatch::Dashed(key), "p99");

    render(out, |root| {
        let (plot, legend_area) = frame::panels(root, text, &captions)?;
        let x_title = style::path_label(x);
        let y_title = "latency of served connections (seconds)";
        let mut chart = frame::chart(&plot, &x_axis, &y_axis, &x_title, y_title, true)?;
        frame::zero_strip(&mut chart, &x_axis, &y_axis)?;
        for (median, tail) in p50_curves.iter().zip(&p99_curves) {
            curve::draw_line(&mut chart, &x_axis, &y_axis, tail, true)?;
            curve::draw_markers(&mut chart, &x_axis, &y_axis, tail)?;
            curve::draw_line(&mut chart, &x_axis, &y_axis, median, false)?;
            curve::draw_markers(&mut chart, &x_axis, &y_axis, median)?;
        }
        legend.draw(&legend_area, 20)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testing::{assert_chart, assert_no_png, table, text, write_csv};

    #[test]
    fn latency_chart_draws_p50_and_p99_per_series_value() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            "pool.process_limit,load.rate,offered,refusal_probability_mean,latency_s_p50,latency_s_p99",
            &[
                "1,0.25,100,0,2.0,2.1",
                "1,0.5,100,0,2.0,3.5",
                "1,0.75,100,0.08,2.5,30",
                "1,1.0,100,0.45,40,58",
                "2,0.25,100,0,2.0,2.0",
                "2,0.5,100,0,2.0,2.4",
                "2,0.75,100,0.002,2.1,4.0",
                "2,1.0,100,0.03,,",
            ],
        );
        let out = dir.path().join("latency.png");
        latency_chart(
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
    fn latency_chart_without_latency_columns_names_the_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            "load.rate,offered,refusal_probability_mean",
            &["1,10,0", "2,10,0.1"],
        );
        let out = dir.path().join("latency.png");
        let err = latency_chart(&table(&csv), &out, "load.rate", None, &text()).unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains("`latency_s_p50`") && message.contains("refusal_probability_mean"),
            "{message}"
        );
        assert_no_png(dir.path());
    }
}
