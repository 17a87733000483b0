//! The capacity curve: a metric (refusal probability by default) on a log axis
//! against a varied path (arrival rate by default), one line per value of the
//! series path, the 95 % interval as a band, and an optional target line.

use std::path::Path;

use super::axis::Scale;
use super::curve::{self, Columns};
use super::data::Data;
use super::frame::{self, Legend, Swatch};
use super::style;
use super::{render, ChartText};
use crate::output::Table;

/// Draws `metric` against `x`, one line per value of `series`, into `out`.
///
/// `metric` is a base name with `_mean`, `_ci_low` and `_ci_high` columns
/// (`refusal_probability`) or any one metric column (`latency_s_p99`).
pub fn capacity_curve(
    table: &Table,
    out: &Path,
    x: &str,
    series: Option<&str>,
    metric: &str,
    target: Option<f64>,
    text: &ChartText,
) -> anyhow::Result<()> {
    let table = Data::new(table)?;
    let (x_col, series_col) = table.x_and_series(x, series)?;
    let metric = table.metric(metric)?;
    let grouping = table.group_by(x_col, series_col);
    let columns = Columns {
        x: x_col,
        value: metric.value,
        low: metric.low,
        high: metric.high,
    };
    let (curves, missing) = curve::curves(&table, &grouping, columns)?;

    let zero = style::zero_label(&metric.name);
    let ys = curve::ys(&curves);
    let mut y_axis = Scale::log(&ys, &zero);
    if let Some(t) = target {
        y_axis = y_axis.including(&ys, t, &zero);
    }
    let x_axis = Scale::for_x_of(x, &curve::xs(&curves));
    let on_floor = curve::any_on_floor(&curves, &y_axis);
    let band = curve::has_band(&curves);
    let bounds = curve::has_bounds(&curves, &y_axis);

    let mut captions = Vec::new();
    if on_floor {
        captions.push(format!(
            "Hollow markers on the shaded bottom row: {}; an arrow above one marks the 95 % upper bound the connections offered allow there. A log axis cannot show 0, so that row sits below the smallest value on the scale.",
            zero_meaning(&metric.name)
        ));
    }
    if missing > 0 {
        captions.push(format!(
            "{missing} grid point(s) have no {} value and are left out.",
            metric.name
        ));
    }

    let mut legend = Legend::default();
    let single = curves.len() == 1 && curves[0].label.is_empty();
    let heading = style::series_title(&grouping.title);
    legend.section(if single { None } else { Some(heading.as_str()) });
    for c in &curves {
        let swatch = if band {
            Swatch::LineBand(c.color)
        } else {
            Swatch::Line(c.color)
        };
        legend.entry(
            swatch,
            if single {
                style::metric_words(&metric.name)
            } else {
                c.label.clone()
            },
        );
    }
    legend.section(None);
    if band {
        legend.entry(Swatch::Band(style::MUTED), "95 % confidence interval");
    }
    if on_floor {
        legend.entry(
            Swatch::Hollow(style::MUTED),
            format!("{zero}, on the bottom row"),
        );
    }
    if bounds {
        legend.entry(
            Swatch::Bound(style::MUTED),
            "95 % upper bound where none was seen",
        );
    }
    if let Some(t) = target {
        legend.entry(
            Swatch::Dashed(style::TARGET),
            format!("target {}", style::fmt_number(t, 3)),
        );
    }

    render(out, |root| {
        let (plot, legend_area) = frame::panels(root, text, &captions)?;
        let x_title = style::path_label(x);
        let y_title = style::metric_label(&metric.name);
        let mut chart = frame::chart(&plot, &x_axis, &y_axis, &x_title, &y_title, true)?;
        frame::zero_strip(&mut chart, &x_axis, &y_axis)?;
        for c in &curves {
            curve::draw_band(&mut chart, &x_axis, &y_axis, c)?;
        }
        if let Some(t) = target {
            curve::draw_target(&mut chart, &x_axis, &y_axis, t)?;
        }
        for c in &curves {
            curve::draw_line(&mut chart, &x_axis, &y_axis, c, false)?;
            curve::draw_bounds(&mut chart, &x_axis, &y_axis, c)?;
            curve::draw_markers(&mut chart, &x_axis, &y_axis, c)?;
        }
        legend.draw(&legend_area, 20)?;
        Ok(())
    })
}

fn zero_meaning(metric: &str) -> &'static str {
    match metric {
        "refusal_probability" => "grid points where no connection was refused or dropped",
        "failure_probability" => "grid points where every connection was served",
        _ => "grid points where the value is 0",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testing::{assert_chart, assert_no_png, table, text, write_csv};
    use crate::plot::ChartError;

    const HEADER: &str = "pool.process_limit,load.rate,offered,refusal_probability_mean,refusal_probability_ci_low,refusal_probability_ci_high,latency_s_p50,latency_s_p99";

    fn sweep(dir: &Path) -> std::path::PathBuf {
        write_csv(
            dir,
            HEADER,
            &[
                "1,0.25,100,0,0,0,2.0,2.1",
                "1,0.5,100,0.0004,0,0.0012,2.0,3.5",
                "1,0.75,100,0.08,0.05,0.11,2.5,30",
                "1,1.0,100,0.45,0.40,0.50,40,58",
                "2,0.25,100,0,0,0,2.0,2.0",
                "2,0.5,100,0,0,0,2.0,2.4",
                "2,0.75,100,0.002,0.0005,0.0035,2.1,4.0",
                "2,1.0,100,0.03,0.02,0.04,2.8,20",
            ],
        )
    }

    #[test]
    fn capacity_curve_with_zeros_series_and_target_draws_a_full_size_chart() {
        let dir = tempfile::tempdir().unwrap();
        let csv = sweep(dir.path());
        let out = dir.path().join("capacity.png");
        capacity_curve(
            &table(&csv),
            &out,
            "load.rate",
            Some("pool.process_limit"),
            "refusal_probability",
            Some(0.001),
            &text(),
        )
        .unwrap();
        assert_chart(&out);
    }

    #[test]
    fn capacity_curve_of_a_sweep_that_refused_nothing_draws_every_point_on_the_zero_row() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            HEADER,
            &["1,1,10,0,0,0,2,2", "1,2,10,0,0,0,2,2", "1,3,10,0,0,0,2,2"],
        );
        let out = dir.path().join("all-zero.png");
        capacity_curve(
            &table(&csv),
            &out,
            "load.rate",
            None,
            "refusal_probability",
            None,
            &text(),
        )
        .unwrap();
        assert_chart(&out);
    }

    #[test]
    fn capacity_curve_of_a_plain_metric_column_has_no_band() {
        let dir = tempfile::tempdir().unwrap();
        let csv = sweep(dir.path());
        let out = dir.path().join("p99.png");
        capacity_curve(
            &table(&csv),
            &out,
            "load.rate",
            Some("pool.process_limit"),
            "latency_s_p99",
            None,
            &text(),
        )
        .unwrap();
        assert_chart(&out);
    }

    #[test]
    fn an_unknown_metric_is_named_with_the_available_ones_and_leaves_no_png() {
        let dir = tempfile::tempdir().unwrap();
        let csv = sweep(dir.path());
        let out = dir.path().join("capacity.png");
        let err = capacity_curve(
            &table(&csv),
            &out,
            "load.rate",
            None,
            "refusal_rate",
            None,
            &text(),
        )
        .unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains("`refusal_rate`"), "{message}");
        assert!(
            message.contains("refusal_probability") && message.contains("latency_s_p99"),
            "{message}"
        );
        assert!(matches!(
            err.downcast_ref::<ChartError>(),
            Some(ChartError::UnknownColumn { .. })
        ));
        assert_no_png(dir.path());
    }

    #[test]
    fn a_non_numeric_x_axis_is_refused_with_the_value_named() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            "listener.kind,offered,refusal_probability_mean",
            &["unix,10,0.1", "tcp,10,0.2"],
        );
        let out = dir.path().join("capacity.png");
        let err = capacity_curve(
            &table(&csv),
            &out,
            "listener.kind",
            None,
            "refusal_probability",
            None,
            &text(),
        )
        .unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains("x axis must be numeric") && message.contains("`unix`"),
            "{message}"
        );
        assert!(matches!(
            err.downcast_ref::<ChartError>(),
            Some(ChartError::NotNumeric { .. })
        ));
        assert_no_png(dir.path());
    }

    #[test]
    fn a_missing_output_directory_is_an_error_naming_the_chart() {
        let dir = tempfile::tempdir().unwrap();
        let csv = sweep(dir.path());
        let out = dir.path().join("no-such-dir").join("capacity.png");
        let err = capacity_curve(
            &table(&csv),
            &out,
            "load.rate",
            None,
            "refusal_probability",
            None,
            &text(),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("capacity.png"), "{err:#}");
    }

    #[test]
    fn a_missing_results_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("nothing.csv");
        let out = dir.path().join("capacity.png");
        let err = Table::read(&csv).unwrap_err();
        assert!(format!("{err:#}").contains("nothing.csv"), "{err:#}");
        assert!(!out.exists());
    }
    #[test]
    fn capacity_curve_of_a_geometric_sweep_with_many_series_draws_a_full_size_chart() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = Vec::new();
        for limit in 1..=12 {
            for k in 0..10 {
                let rate = 0.1 * 2f64.powi(k);
                let load = rate * 2.0 / limit as f64;
                let p = if load < 0.5 {
                    0.0
                } else {
                    (load / (1.0 + load)).powi(4)
                };
                rows.push(format!(
                    "{limit},{rate},100,{p},{},{},2,2",
                    p * 0.7,
                    (p * 1.3).min(1.0)
                ));
            }
        }
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let csv = write_csv(dir.path(), HEADER, &rows);
        let out = dir.path().join("capacity-many.png");
        let long = ChartText {
            title: "dovecot-imap-old-kernel: Dovecot 2.3 service imap behind imap-login, somaxconn 128".to_string(),
            subtitle: "client_limit=1, service_count=1, process_min_avail=0, master.mode=on-demand, backlog=4096, somaxconn=128, retry_for=0.5 s, blocking=lognormal".to_string(),
            front: String::new(),
        };
        capacity_curve(
            &table(&csv),
            &out,
            "load.rate",
            Some("pool.process_limit"),
            "refusal_probability",
            Some(1e-6),
            &long,
        )
        .unwrap();
        assert_chart(&out);
    }
    #[test]
    fn capacity_curve_of_a_single_grid_point_draws_a_full_size_chart() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(dir.path(), HEADER, &["1,0.5,100,0.02,0.01,0.03,2,2"]);
        let out = dir.path().join("single.png");
        capacity_curve(
            &table(&csv),
            &out,
            "load.rate",
            None,
            "refusal_probability",
            None,
            &text(),
        )
        .unwrap();
        assert_chart(&out);
    }
}
