//! Where a chain of services (imap-login in front of imap, nginx in front of
//! gunicorn) refuses: against a varied path, each service's share of the client
//! connections refused or dropped at it, stacked in chain order, with the total
//! refusal probability as a black line on top. Few x values are drawn as stacked
//! bars, one per value; many as stacked areas over a numeric axis.
//!
//! A sweep that also varies other paths gets one panel per combination of their
//! values, side by side with one y scale, up to four; more is an error asking for
//! a table with fewer, since a grid of tiny panels cannot be read.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Scale;
use super::curve::{self, Curve, Mark};
use super::data::{Data, Group};
use super::frame::{self, label_style, Area, Chart, Legend, Swatch};
use super::style;
use super::{render, ChartError, ChartText};
use crate::output::Table;

/// Up to this many x values are drawn as bars; more as areas.
const MAX_BARS: usize = 12;
/// Most panels one chart holds (two rows of two).
const MAX_PANELS: usize = 4;
const SERVICE_PREFIX: &str = "services.";
const REFUSED_SUFFIX: &str = ".refused";

/// One service of the chain and the columns of what it turned away.
struct Service {
    name: String,
    refused: usize,
    dropped: usize,
}

/// One x value of a panel: its coordinate and each service's share, in chain order.
struct Column {
    x: f64,
    shares: Vec<f64>,
}

struct Panel {
    heading: Option<String>,
    columns: Vec<Column>,
    total: Curve,
}

/// Draws, against `x`, the share of client connections refused or dropped at each
/// service of the chain (columns `offered`, `refusal_probability_mean` with its
/// optional `_ci_low` and `_ci_high`, and `services.NAME.refused` and
/// `services.NAME.dropped` for every service NAME) into `out`.
pub fn where_refused(table: &Table, out: &Path, x: &str, text: &ChartText) -> anyhow::Result<()> {
    let table = Data::new(table)?;
    let x_col = table.varied_column(x, "x")?;
    let offered = table.metric_column("offered")?;
    let total = table.metric("refusal_probability")?;
    let services = services(&table)?;
    for r in 0..table.rows.len() {
        table.axis_number(r, x_col, "x")?;
    }
    let others: Vec<usize> = (0..table.varied().len())
        .filter(|&c| c != x_col && table.levels(c).len() > 1)
        .collect();
    let grouping = table.group_by(x_col, None);
    if grouping.groups.len() > MAX_PANELS {
        let paths: Vec<&str> = others.iter().map(|&c| table.headers[c].as_str()).collect();
        return Err(ChartError::NotResults {
            file: table.path.clone(),
            reason: format!(
                "besides {x} it varies {}, in {} combinations, and this chart draws one panel per combination, at most {MAX_PANELS}: give a table with fewer values of {}",
                paths.join(" and "),
                grouping.groups.len(),
                paths.join(" and ")
            ),
        }
        .into());
    }

    // Bars stand on evenly spaced categories, one per x value; areas need the
    // numeric axis, so that their slopes mean something.
    let levels = table.levels(x_col);
    let bars = levels.len() <= MAX_BARS;
    let x_axis = if bars {
        Scale::categories(&levels, 1)
    } else {
        let xs: Vec<f64> = (0..table.rows.len())
            .filter_map(|r| table.number(r, x_col))
            .collect();
        Scale::for_x_of(x, &xs)
    };
    let position = |r: usize| -> f64 {
        if bars {
            let i = levels.iter().position(|l| l == table.text(r, x_col));
            i.unwrap_or(0) as f64 + 0.5
        } else {
            table.number(r, x_col).unwrap_or(f64::NAN)
        }
    };

    let mut missing = 0;
    let mut panels = Vec::new();
    for group in &grouping.groups {
        let mut columns = Vec::new();
        let mut points = Vec::new();
        for &r in &group.rows {
            match shares(&table, r, offered, &services) {
                Some(shares) => columns.push(Column {
                    x: x_axis.coord(position(r)),
                    shares,
                }),
                None => missing += 1,
            }
            if let Some(value) = table.number(r, total.value) {
                points.push(Mark {
                    x: position(r),
                    value,
                    low: total.low.and_then(|c| table.number(r, c)),
                    high: total.high.and_then(|c| table.number(r, c)),
                });
            }
        }
        panels.push(Panel {
            heading: heading(&table, &others, group),
            columns,
            total: Curve {
                label: String::new(),
                color: style::TOTAL,
                points,
                dodge: 0,
            },
        });
    }

    let mut ys: Vec<f64> = panels
        .iter()
        .flat_map(|p| p.columns.iter().map(|c| c.shares.iter().sum::<f64>()))
        .collect();
    for p in &panels {
        ys.extend(curve::ys(std::slice::from_ref(&p.total)));
    }
    let y_axis = Scale::linear(&ys, true);
    let colours: Vec<RGBColor> = (0..services.len())
        .map(|i| style::series_color(i, services.len()))
        .collect();
    let intervals = panels
        .iter()
        .any(|p| curve::has_band(std::slice::from_ref(&p.total)));

    let mut legend = Legend::default();
    // Listed top down as stacked, so the legend reads like the bars beside it.
    legend.section(Some("where refused (front of the chain at the bottom)"));
    for (service, &colour) in services.iter().zip(&colours).rev() {
        legend.entry(Swatch::Cell(colour), format!("refused at {}", service.name));
    }
    legend.section(None);
    legend.entry(Swatch::Line(style::TOTAL), "total: refusal probability");
    if intervals {
        legend.entry(Swatch::ErrorBar(style::TOTAL), "its 95 % interval");
    }

    let mut captions = vec![
        "A service's share: client connections refused or dropped at it (services.NAME.refused + services.NAME.dropped) over all client connections offered.".to_string(),
    ];
    if missing > 0 {
        captions.push(format!(
            "{missing} grid point(s) have no offered connections or no service counts and are left out."
        ));
    }

    let x_title = style::path_label(x);
    let y_title = "share of client connections";
    render(out, |root| {
        let (plot, legend_area) = frame::panels(root, text, &captions)?;
        let grid = match panels.len() {
            1 => (1, 1),
            2 => (1, 2),
            _ => (2, 2),
        };
        for (panel, area) in panels.iter().zip(plot.split_evenly(grid)) {
            let area = draw_heading(&area, panel.heading.as_deref())?;
            let mut chart = frame::chart(&area, &x_axis, &y_axis, &x_title, y_title, true)?;
            draw_stack(&mut chart, &panel.columns, &colours, bars)?;
            // Whiskers rather than a band: a band over the stack would tint its top.
            draw_whiskers(&mut chart, &x_axis, &y_axis, &panel.total)?;
            curve::draw_line(&mut chart, &x_axis, &y_axis, &panel.total, false)?;
            curve::draw_markers(&mut chart, &x_axis, &y_axis, &panel.total)?;
        }
        legend.draw(&legend_area, style::LEGEND_TOP)?;
        Ok(())
    })
}

/// The services of the chain, in header order, from their `services.NAME.refused`
/// columns; each must have its `services.NAME.dropped`.
fn services(table: &Data) -> Result<Vec<Service>, ChartError> {
    let names: Vec<String> = table
        .headers
        .iter()
        .filter_map(|h| h.strip_prefix(SERVICE_PREFIX)?.strip_suffix(REFUSED_SUFFIX))
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        // Asking for the column a chain's table would have gives the usual message.
        table.metric_column(&format!("{SERVICE_PREFIX}NAME{REFUSED_SUFFIX}"))?;
    }
    names
        .into_iter()
        .map(|name| {
            Ok(Service {
                refused: table.metric_column(&format!("{SERVICE_PREFIX}{name}{REFUSED_SUFFIX}"))?,
                dropped: table.metric_column(&format!("{SERVICE_PREFIX}{name}.dropped"))?,
                name,
            })
        })
        .collect()
}

/// Each service's (refused + dropped) / offered in row `r`; none if a count is
/// missing or nothing was offered.
fn shares(table: &Data, r: usize, offered: usize, services: &[Service]) -> Option<Vec<f64>> {
    let offered = table.number(r, offered).filter(|&o| o > 0.0)?;
    services
        .iter()
        .map(|s| Some((table.number(r, s.refused)? + table.number(r, s.dropped)?) / offered))
        .collect()
}

/// `path = value` for every other varied path, when there are any.
fn heading(table: &Data, others: &[usize], group: &Group) -> Option<String> {
    let r = *group.rows.first()?;
    let parts: Vec<String> = others
        .iter()
        .map(|&c| format!("{} = {}", table.headers[c], table.text(r, c)))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Draws `heading` centred at the top of `area`; returns the area below it.
fn draw_heading<'p>(area: &Area<'p>, heading: Option<&str>) -> anyhow::Result<Area<'p>> {
    let Some(heading) = heading else {
        return Ok(area.clone());
    };
    let (width, _) = area.dim_in_pixel();
    let top = (style::PANEL_HEADING_HEIGHT as i32 - style::PANEL_HEADING_SIZE as i32) / 2;
    area.draw(&Text::new(
        heading.to_string(),
        ((width / 2) as i32, top),
        label_style(
            style::PANEL_HEADING_SIZE,
            style::TEXT,
            Pos::new(HPos::Center, VPos::Top),
        ),
    ))?;
    Ok(area.margin(style::PANEL_HEADING_HEIGHT, 0, 0, 0))
}

/// Each service's layer of the stack: at every column, its x, bottom and top.
fn layers(columns: &[Column], services: usize) -> Vec<Vec<(f64, f64, f64)>> {
    let mut below = vec![0.0; columns.len()];
    (0..services)
        .map(|k| {
            columns
                .iter()
                .zip(below.iter_mut())
                .map(|(c, b)| {
                    let bottom = *b;
                    *b += c.shares[k];
                    (c.x, bottom, *b)
                })
                .collect()
        })
        .collect()
}

/// The stacked shares: a bar per column, or areas joining the columns.
fn draw_stack(
    chart: &mut Chart<'_, '_>,
    columns: &[Column],
    colours: &[RGBColor],
    bars: bool,
) -> anyhow::Result<()> {
    let half = style::BAR_SHARE / 2.0;
    for (layer, colour) in layers(columns, colours.len()).iter().zip(colours) {
        let fill = colour.mix(style::STACK_OPACITY).filled();
        if bars {
            let bars = layer.iter().filter(|(_, bottom, top)| top > bottom);
            chart.draw_series(bars.map(|&(x, bottom, top)| {
                Rectangle::new([(x - half, bottom), (x + half, top)], fill)
            }))?;
        } else {
            let upper = layer.iter().map(|&(x, _, top)| (x, top));
            let lower = layer.iter().rev().map(|&(x, bottom, _)| (x, bottom));
            chart.draw_series(std::iter::once(Polygon::new(
                upper.chain(lower).collect::<Vec<_>>(),
                fill,
            )))?;
        }
    }
    Ok(())
}

/// A capped vertical bar over each point's 95 % interval.
fn draw_whiskers(
    chart: &mut Chart<'_, '_>,
    x: &Scale,
    y: &Scale,
    total: &Curve,
) -> anyhow::Result<()> {
    let cap = style::WHISKER_CAP;
    let stroke = total.color.stroke_width(style::THIN_LINE);
    for p in &total.points {
        let (Some(low), Some(high)) = (p.low, p.high) else {
            continue;
        };
        let ends = [(x.coord(p.x), y.coord(low)), (x.coord(p.x), y.coord(high))];
        chart.draw_series(std::iter::once(PathElement::new(ends.to_vec(), stroke)))?;
        for end in ends {
            chart.draw_series(std::iter::once(
                EmptyElement::at(end) + PathElement::new(vec![(-cap, 0), (cap, 0)], stroke),
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::checks::{assert_unknown_column, draw_csv};
    use crate::plot::testing::{assert_chart, assert_no_png, table, text, write_csv};

    const HEADER: &str = "load.rate,offered,refusal_probability_mean,refusal_probability_ci_low,refusal_probability_ci_high,services.imap-login.refused,services.imap-login.dropped,services.imap.refused,services.imap.dropped";

    /// A row of a chain where imap-login refuses beyond 20 connections a second and
    /// imap beyond `back`: what gets past the front is refused at the back.
    fn row(prefix: &str, rate: f64, back: f64) -> String {
        let offered = rate * 100.0;
        let front = (offered - 2000.0).max(0.0);
        let behind = (offered - front - back * 100.0).max(0.0);
        let p = (front + behind) / offered;
        format!(
            "{prefix}{rate},{offered},{p},{},{},{},{},{},{}",
            p * 0.95,
            (p * 1.05).min(1.0),
            front * 0.9,
            front * 0.1,
            behind * 0.7,
            behind * 0.3
        )
    }

    /// Rows over `rates` for each process limit, whose back service takes `per_process`
    /// connections a second per process.
    fn sweep(limits: &[u32], rates: &[f64], per_process: f64) -> Vec<String> {
        let mut rows = Vec::new();
        for &limit in limits {
            for &rate in rates {
                rows.push(row(&format!("{limit},"), rate, per_process * limit as f64));
            }
        }
        rows
    }

    /// `where_refused` over load.rate of a file of `header` and `rows`, drawn into `name`.
    fn draw(
        header: &str,
        rows: &[impl AsRef<str>],
        name: &str,
    ) -> (tempfile::TempDir, anyhow::Result<std::path::PathBuf>) {
        draw_csv("results.csv", header, rows, name, |table, out| {
            where_refused(table, out, "load.rate", &text())
        })
    }

    #[test]
    fn where_refused_over_few_rates_draws_stacked_bars_per_service() {
        let rows: Vec<String> = (1..=8).map(|k| row("", 4.0 * k as f64, 10.0)).collect();
        let (_dir, drawn) = draw(HEADER, &rows, "where-refused-bars.png");
        assert_chart(&drawn.unwrap());
    }

    #[test]
    fn where_refused_over_many_rates_and_two_process_limits_draws_areas_in_two_panels() {
        let rates: Vec<f64> = (1..=30).map(f64::from).collect();
        let rows = sweep(&[1, 2], &rates, 8.0);
        let header = format!("pool.process_limit,{HEADER}");
        let (_dir, drawn) = draw(&header, &rows, "where-refused-areas.png");
        assert_chart(&drawn.unwrap());
    }

    #[test]
    fn where_refused_with_four_process_limits_lays_four_panels_out_two_by_two() {
        let rates: Vec<f64> = (1..=6).map(|k| 5.0 * f64::from(k)).collect();
        let rows = sweep(&[1, 2, 3, 4], &rates, 6.0);
        let header = format!("pool.process_limit,{HEADER}");
        let (_dir, drawn) = draw(&header, &rows, "where-refused-four.png");
        assert_chart(&drawn.unwrap());
    }

    #[test]
    fn services_are_found_in_header_order_with_dashes_in_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            "load.rate,offered,refusal_probability_mean,services.nginx.refused,services.nginx.dropped,services.gunicorn-app.refused,services.gunicorn-app.dropped",
            &["1,10,0,0,0,0,0"],
        );
        let data = Data::new(&table(&csv)).unwrap();
        let names: Vec<String> = services(&data)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["nginx", "gunicorn-app"]);
    }

    #[test]
    fn a_service_without_its_dropped_column_is_named_with_the_file_and_leaves_no_png() {
        let (dir, drawn) = draw(
            "load.rate,offered,refusal_probability_mean,services.imap-login.refused,services.imap-login.dropped,services.imap.refused",
            &["1,10,0.1,1,0,0", "2,10,0.2,2,0,0"],
            "where-refused.png",
        );
        let err = drawn.unwrap_err();
        assert_unknown_column(&err, "services.imap.dropped", "results.csv", dir.path());
    }

    #[test]
    fn a_table_without_service_columns_is_told_what_a_chain_has() {
        let (dir, drawn) = draw(
            "load.rate,offered,refusal_probability_mean",
            &["1,10,0.1", "2,10,0.2"],
            "where-refused.png",
        );
        let err = drawn.unwrap_err();
        assert_unknown_column(&err, "services.NAME.refused", "results.csv", dir.path());
    }

    #[test]
    fn more_than_four_panels_are_refused_asking_for_fewer_values() {
        let rows = sweep(&[1, 2, 3, 4, 5], &[10.0, 30.0], 8.0);
        let header = format!("pool.process_limit,{HEADER}");
        let (dir, drawn) = draw(&header, &rows, "where-refused.png");
        let err = drawn.unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains("at most 4") && message.contains("fewer values of pool.process_limit"),
            "{message}"
        );
        assert!(err.downcast_ref::<ChartError>().is_some());
        assert_no_png(dir.path());
    }
}
