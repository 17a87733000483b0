//! The heat map: a metric (refusal probability) over a grid of two varied paths,
//! one cell per pair of values, coloured on a log scale with a colour bar. Zero
//! has a colour of its own, outside the scale; values are printed in the cells
//! when they fit. Paths may hold text (`listener.kind`): cells are categories.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Scale;
use super::data::Data;
use super::frame::{self, label_style, Area, Legend, Swatch};
use super::style::{self, fmt_number, text_style, text_width};
use super::{render, ChartError, ChartText};
use crate::output::Table;

/// Room, in pixels, the plotting area has for cells (the image less the legend
/// panel, the label areas and margins), used to thin out crowded tick labels.
const CELL_ROOM: (u32, u32) = (
    style::WIDTH - style::LEGEND_WIDTH - 220,
    style::HEIGHT - 260,
);
/// Cell values are printed only if there are at most this many cells.
const MAX_PRINTED_CELLS: usize = 400;
/// Decade of the colour scale when no value is positive.
const EMPTY_DECADES: (f64, f64) = (-6.0, -3.0);
const BAR_WIDTH: i32 = 28;
const BAR_HEIGHT: i32 = 360;

/// Draws `metric` over the grid of `x` and `y` into `out`.
pub fn heatmap(
    table: &Table,
    out: &Path,
    x: &str,
    y: &str,
    metric: &str,
    text: &ChartText,
) -> anyhow::Result<()> {
    let table = Data::new(table)?;
    let x_col = table.varied_column(x, "x")?;
    let y_col = table.varied_column(y, "y")?;
    if x_col == y_col {
        return Err(ChartError::SameAxes {
            path: x.to_string(),
        }
        .into());
    }
    let metric = table.metric(metric)?;
    let (x_names, y_names) = (table.levels(x_col), table.levels(y_col));

    // With a third varied path, several rows fall in one cell: show the worst.
    let mut cells: Vec<Option<f64>> = vec![None; x_names.len() * y_names.len()];
    for r in 0..table.rows.len() {
        let i = x_names
            .iter()
            .position(|n| n == table.text(r, x_col))
            .unwrap_or(0);
        let j = y_names
            .iter()
            .position(|n| n == table.text(r, y_col))
            .unwrap_or(0);
        if let Some(v) = table.number(r, metric.value) {
            let cell = &mut cells[j * x_names.len() + i];
            *cell = Some(cell.map_or(v, |c: f64| c.max(v)));
        }
    }
    let others: Vec<String> = table
        .varied()
        .iter()
        .enumerate()
        .filter(|&(c, _)| c != x_col && c != y_col && table.levels(c).len() > 1)
        .map(|(_, p)| p.clone())
        .collect();
    let scale = Colours::over(&cells);

    let x_axis = Scale::categories(&x_names, stride(&x_names, CELL_ROOM.0, true));
    let y_axis = Scale::categories(&y_names, stride(&y_names, CELL_ROOM.1, false));
    let zero = style::zero_label(&metric.name);
    let missing = cells.iter().filter(|c| c.is_none()).count();
    let mut captions = vec![format!(
        "Colour: {} on a log scale; grey cells: {zero}.",
        metric.name.replace('_', " ")
    )];
    if !others.is_empty() {
        captions.push(format!(
            "Each cell shows the highest value over {}.",
            others.join(", ")
        ));
    }
    if missing > 0 {
        captions.push(format!("{missing} cell(s) have no result (white)."));
    }
    let mut key = Legend::default();
    key.entry(Swatch::Cell(style::HEAT_ZERO), zero);
    if missing > 0 {
        key.entry(Swatch::Cell(style::HEAT_MISSING), "no result");
    }

    render(out, |root| {
        let (plot, legend_area) = frame::panels(root, text, &captions)?;
        let mut chart = frame::chart(
            &plot,
            &x_axis,
            &y_axis,
            &style::path_label(x),
            &style::path_label(y),
            false,
        )?;
        let cell_px = {
            let (a, b) = (
                chart.backend_coord(&(0.0, 1.0)),
                chart.backend_coord(&(1.0, 0.0)),
            );
            ((b.0 - a.0).abs(), (b.1 - a.1).abs())
        };
        // Values are printed in every cell or in none: a few stray numbers read as noise.
        let values: Vec<String> = cells
            .iter()
            .map(|c| c.map_or_else(|| "n/a".to_string(), |v| fmt_number(v, 2)))
            .collect();
        let widest = values
            .iter()
            .map(|v| text_width(v, style::CELL_SIZE) as i32)
            .max()
            .unwrap_or(0);
        let print = cells.len() <= MAX_PRINTED_CELLS
            && cell_px.1 >= style::CELL_SIZE as i32 + 6
            && cell_px.0 >= widest + 12;
        for (index, cell) in cells.iter().enumerate() {
            let (i, j) = (
                (index % x_names.len()) as f64,
                (index / x_names.len()) as f64,
            );
            let colour = scale.colour(*cell);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(i, j), (i + 1.0, j + 1.0)],
                colour.filled(),
            )))?;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(i, j), (i + 1.0, j + 1.0)],
                style::BACKGROUND.stroke_width(1),
            )))?;
            if print {
                let value = values[index].clone();
                let centre = Pos::new(HPos::Center, VPos::Center);
                chart.draw_series(std::iter::once(Text::new(
                    value,
                    (i + 0.5, j + 0.5),
                    label_style(style::CELL_SIZE, style::text_on(colour), centre),
                )))?;
            }
        }
        let bottom = colour_bar(&legend_area, &scale, &metric.name)?;
        key.draw(&legend_area, bottom + 16)?;
        Ok(())
    })
}

/// Every how many cells a tick label fits, side by side (x) or stacked (y).
fn stride(names: &[String], room: u32, across: bool) -> usize {
    let need = if across {
        names
            .iter()
            .map(|n| text_width(n, style::TICK_SIZE))
            .max()
            .unwrap_or(0)
            + 16
    } else {
        style::TICK_SIZE as u32 + 8
    };
    let per_cell = room / names.len().max(1) as u32;
    (need as usize).div_ceil(per_cell.max(1) as usize).max(1)
}

/// The log colour scale: whole decades from below the smallest positive value
/// to above the largest.
struct Colours {
    low: f64,
    high: f64,
}

impl Colours {
    fn over(cells: &[Option<f64>]) -> Colours {
        let positive: Vec<f64> = cells
            .iter()
            .flatten()
            .copied()
            .filter(|v| *v > 0.0)
            .collect();
        let (low, high) = match (
            positive.iter().copied().reduce(f64::min),
            positive.iter().copied().reduce(f64::max),
        ) {
            (Some(min), Some(max)) => (min.log10().floor(), max.log10().ceil()),
            _ => EMPTY_DECADES,
        };
        Colours {
            low,
            high: if high > low { high } else { low + 1.0 },
        }
    }

    fn fraction(&self, value: f64) -> f64 {
        (value.log10() - self.low) / (self.high - self.low)
    }

    fn colour(&self, cell: Option<f64>) -> RGBColor {
        match cell {
            None => style::HEAT_MISSING,
            Some(v) if v <= 0.0 => style::HEAT_ZERO,
            Some(v) => style::heat_color(self.fraction(v)),
        }
    }
}

/// The colour bar in the legend panel, labelled at each decade; returns the y
/// pixel below it.
fn colour_bar(area: &Area<'_>, scale: &Colours, metric: &str) -> anyhow::Result<i32> {
    let (width, _) = area.dim_in_pixel();
    let left = 16;
    let mut y = 20;
    let heading = format!("{} (log scale)", metric.replace('_', " "));
    for line in frame::wrap(&heading, style::LEGEND_HEADING_SIZE, width - 32) {
        area.draw(&Text::new(
            line,
            (left, y),
            text_style(style::LEGEND_HEADING_SIZE, style::TEXT),
        ))?;
        y += style::LEGEND_ROW;
    }
    let top = y + 10;
    for row in 0..BAR_HEIGHT {
        let t = 1.0 - row as f64 / (BAR_HEIGHT - 1) as f64;
        let colour = style::heat_color(t);
        area.draw(&Rectangle::new(
            [(left, top + row), (left + BAR_WIDTH, top + row + 1)],
            colour.filled(),
        ))?;
    }
    area.draw(&Rectangle::new(
        [(left, top), (left + BAR_WIDTH, top + BAR_HEIGHT)],
        style::AXIS.stroke_width(1),
    ))?;
    let decades = (scale.high - scale.low).round() as i32;
    let step = (decades / 8 + 1).max(1);
    for k in (0..=decades).step_by(step as usize) {
        let value = 10f64.powf(scale.low + k as f64);
        let py = top + ((1.0 - scale.fraction(value)) * (BAR_HEIGHT - 1) as f64).round() as i32;
        let right = left + BAR_WIDTH;
        area.draw(&PathElement::new(
            vec![(right, py), (right + 6, py)],
            style::AXIS.stroke_width(1),
        ))?;
        area.draw(&Text::new(
            fmt_number(value, 3),
            (right + 10, py),
            label_style(
                style::TICK_SIZE,
                style::TEXT,
                Pos::new(HPos::Left, VPos::Center),
            ),
        ))?;
    }
    Ok(top + BAR_HEIGHT + 10)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testing::{assert_chart, assert_no_png, table, text, write_csv};

    const HEADER: &str = "pool.process_limit,load.rate,offered,refusal_probability_mean,refusal_probability_ci_low,refusal_probability_ci_high";

    fn grid(dir: &Path) -> std::path::PathBuf {
        let mut rows = Vec::new();
        for limit in [1, 2, 4, 8] {
            for rate in [0.5, 1.0, 2.0, 4.0, 8.0] {
                let load = rate * 2.0 / limit as f64;
                let p: f64 = if load < 0.9 {
                    0.0
                } else {
                    (1.0 - 1.0 / load).max(0.0) * 0.9 + 1e-4 * load
                };
                rows.push(format!("{limit},{rate},100,{p},{},{}", p * 0.8, p * 1.2));
            }
        }
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        write_csv(dir, HEADER, &rows)
    }

    #[test]
    fn heatmap_over_a_two_axis_grid_draws_a_full_size_chart() {
        let dir = tempfile::tempdir().unwrap();
        let csv = grid(dir.path());
        let out = dir.path().join("heatmap.png");
        heatmap(
            &table(&csv),
            &out,
            "load.rate",
            "pool.process_limit",
            "refusal_probability",
            &text(),
        )
        .unwrap();
        assert_chart(&out);
    }

    #[test]
    fn heatmap_accepts_a_text_valued_path_and_a_large_grid() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows = Vec::new();
        for kind in ["unix", "tcp"] {
            for rate in 1..=60 {
                let p = if kind == "unix" {
                    rate as f64 / 100.0
                } else {
                    0.0
                };
                rows.push(format!("{kind},{rate},100,{p}"));
            }
        }
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let csv = write_csv(
            dir.path(),
            "listener.kind,load.rate,offered,refusal_probability_mean",
            &rows,
        );
        let out = dir.path().join("heatmap-kind.png");
        heatmap(
            &table(&csv),
            &out,
            "load.rate",
            "listener.kind",
            "refusal_probability",
            &text(),
        )
        .unwrap();
        assert_chart(&out);
    }

    #[test]
    fn heatmap_of_an_unknown_metric_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let csv = grid(dir.path());
        let out = dir.path().join("heatmap.png");
        let err = heatmap(
            &table(&csv),
            &out,
            "load.rate",
            "pool.process_limit",
            "refusals",
            &text(),
        )
        .unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains("`refusals`") && message.contains("refusal_probability"),
            "{message}"
        );
        assert_no_png(dir.path());
    }

    #[test]
    fn heatmap_with_the_same_path_on_both_axes_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let csv = grid(dir.path());
        let out = dir.path().join("heatmap.png");
        let err = heatmap(
            &table(&csv),
            &out,
            "load.rate",
            "load.rate",
            "refusal_probability",
            &text(),
        )
        .unwrap_err();
        assert!(matches!(
            err.downcast_ref::<ChartError>(),
            Some(ChartError::SameAxes { .. })
        ));
    }
}
