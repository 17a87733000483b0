//! Lines of a metric against x, one per series value, with their 95 % band:
//! what the capacity curve and the validation overlay share. On a log y axis a
//! zero is drawn on the floor row with a hollow marker, and the segments that
//! reach it are dotted, because the gap they cross is not on the scale. Each series
//! sits a few pixels above or below the others on that row (`dodge`), so that the
//! zeros of one series never hide under another's.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Scale;
use super::data::{Data, Grouping};
use super::frame::{label_style, Chart};
use super::style;

pub(crate) struct Mark {
    pub x: f64,
    pub value: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

pub(crate) struct Curve {
    pub label: String,
    pub color: RGBColor,
    pub points: Vec<Mark>,
    /// Pixels above the floor row where this series' zeros sit (below when negative).
    pub dodge: i32,
}

/// The most pixels the series' zero rows spread over, and the most between two of
/// them: two series' hollow markers sit a marker apart, twelve overlap a little but
/// each ring shows.
const DODGE_SPREAD: i32 = 40;
const DODGE_STEP: i32 = 2 * style::MARKER_RADIUS + 4;

/// The pixel offsets of `n` series' zeros on the floor row, centred on it, each
/// different from the others.
pub(crate) fn dodges(n: usize) -> Vec<i32> {
    if n < 2 {
        return vec![0; n];
    }
    let step = (DODGE_SPREAD / (n as i32 - 1)).clamp(3, DODGE_STEP);
    let top = step * (n as i32 - 1) / 2;
    (0..n as i32).map(|i| top - i * step).collect()
}

/// Columns a curve is read from.
#[derive(Clone, Copy)]
pub(crate) struct Columns {
    pub x: usize,
    pub value: usize,
    pub low: Option<usize>,
    pub high: Option<usize>,
}

/// One curve per group; rows without a value are left out (and counted).
pub(crate) fn curves(
    table: &Data,
    grouping: &Grouping,
    cols: Columns,
) -> anyhow::Result<(Vec<Curve>, usize)> {
    let mut missing = 0;
    let mut curves = Vec::new();
    let dodge = dodges(grouping.groups.len());
    for (i, group) in grouping.groups.iter().enumerate() {
        let mut points = Vec::new();
        for &r in &group.rows {
            let x = table.axis_number(r, cols.x, "x")?;
            match table.number(r, cols.value) {
                Some(value) => points.push(Mark {
                    x,
                    value,
                    low: cols.low.and_then(|c| table.number(r, c)),
                    high: cols.high.and_then(|c| table.number(r, c)),
                }),
                None => missing += 1,
            }
        }
        let color = style::series_color(i, grouping.groups.len());
        curves.push(Curve {
            label: group.label.clone(),
            color,
            points,
            dodge: dodge[i],
        });
    }
    Ok((curves, missing))
}

pub(crate) fn xs(curves: &[Curve]) -> Vec<f64> {
    curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.x))
        .collect()
}

/// Every value and interval end, for fitting the y axis.
pub(crate) fn ys(curves: &[Curve]) -> Vec<f64> {
    curves
        .iter()
        .flat_map(|c| {
            c.points
                .iter()
                .flat_map(|p| [Some(p.value), p.low, p.high])
                .flatten()
        })
        .collect()
}

pub(crate) fn any_on_floor(curves: &[Curve], y: &Scale) -> bool {
    curves
        .iter()
        .any(|c| c.points.iter().any(|p| y.on_floor(p.value)))
}

pub(crate) fn has_band(curves: &[Curve]) -> bool {
    curves
        .iter()
        .any(|c| c.points.iter().any(|p| p.low.is_some() && p.high.is_some()))
}

/// Where a curve's value is drawn: on the scale, or on the floor row shifted by the
/// curve's dodge (pixels turned into the y axis's coordinates).
fn y_at(chart: &Chart<'_, '_>, x: &Scale, y: &Scale, curve: &Curve, value: f64) -> f64 {
    let c = y.coord(value);
    if curve.dodge == 0 || !y.on_floor(value) {
        return c;
    }
    let x0 = x.range().start;
    let (_, at) = chart.backend_coord(&(x0, c));
    let (_, above) = chart.backend_coord(&(x0, c + 1.0));
    let per_unit = f64::from(at - above);
    if per_unit > 0.0 {
        c + f64::from(curve.dodge) / per_unit
    } else {
        c
    }
}

/// The 95 % band: a translucent polygon over each run of points that have both
/// ends, or a bar where a run is a single point. A point on the floor row (none
/// seen) has no band: its interval runs from 0 to a bound, which `draw_bounds` marks.
pub(crate) fn draw_band(
    chart: &mut Chart<'_, '_>,
    x: &Scale,
    y: &Scale,
    curve: &Curve,
) -> anyhow::Result<()> {
    let fill = curve.color.mix(style::BAND_OPACITY);
    let runs = curve
        .points
        .split(|p| p.low.is_none() || p.high.is_none() || y.on_floor(p.value));
    for run in runs.filter(|r| !r.is_empty()) {
        let upper = run
            .iter()
            .map(|p| (x.coord(p.x), y.coord(p.high.unwrap_or(p.value))));
        let lower = run
            .iter()
            .rev()
            .map(|p| (x.coord(p.x), y.coord(p.low.unwrap_or(p.value))));
        if run.len() == 1 {
            let ends: Vec<_> = upper.chain(lower).collect();
            chart.draw_series(std::iter::once(PathElement::new(
                ends,
                fill.stroke_width(10),
            )))?;
        } else {
            chart.draw_series(std::iter::once(Polygon::new(
                upper.chain(lower).collect::<Vec<_>>(),
                fill.filled(),
            )))?;
        }
    }
    Ok(())
}

/// The line through a curve's points: solid (or dashed if `dashed`) between
/// values on the scale, dotted and thin where a segment reaches the floor row.
pub(crate) fn draw_line(
    chart: &mut Chart<'_, '_>,
    x: &Scale,
    y: &Scale,
    curve: &Curve,
    dashed: bool,
) -> anyhow::Result<()> {
    let at: Vec<(f64, f64)> = curve
        .points
        .iter()
        .map(|p| (x.coord(p.x), y_at(chart, x, y, curve, p.value)))
        .collect();
    for (pair, ends) in curve.points.windows(2).zip(at.windows(2)) {
        let (a, b) = (&pair[0], &pair[1]);
        let ends = ends.to_vec();
        if y.on_floor(a.value) || y.on_floor(b.value) {
            chart.draw_series(DashedLineSeries::new(
                ends,
                3,
                5,
                curve.color.stroke_width(2),
            ))?;
        } else if dashed {
            chart.draw_series(DashedLineSeries::new(
                ends,
                12,
                8,
                curve.color.stroke_width(style::LINE_WIDTH),
            ))?;
        } else {
            chart.draw_series(std::iter::once(PathElement::new(
                ends,
                curve.color.stroke_width(style::LINE_WIDTH),
            )))?;
        }
    }
    Ok(())
}

/// Whether a curve has a point on the floor row with an upper bound on the scale.
pub(crate) fn has_bounds(curves: &[Curve], y: &Scale) -> bool {
    curves.iter().any(|c| {
        c.points
            .iter()
            .any(|p| y.on_floor(p.value) && p.high.is_some_and(|h| !y.on_floor(h)))
    })
}

/// The upper limits of the points on the floor row: where none was seen, the 95 %
/// bound the exposure allows, drawn as a bar with an arrow pointing down.
pub(crate) fn draw_bounds(
    chart: &mut Chart<'_, '_>,
    x: &Scale,
    y: &Scale,
    curve: &Curve,
) -> anyhow::Result<()> {
    for p in &curve.points {
        let Some(high) = p.high.filter(|h| y.on_floor(p.value) && !y.on_floor(*h)) else {
            continue;
        };
        let at = (x.coord(p.x), y.coord(high));
        for e in super::frame::upper_limit((0, 0), curve.color) {
            chart.draw_series(std::iter::once(EmptyElement::at(at) + e))?;
        }
    }
    Ok(())
}

/// Round markers: filled on the scale, hollow on the floor row.
pub(crate) fn draw_markers(
    chart: &mut Chart<'_, '_>,
    x: &Scale,
    y: &Scale,
    curve: &Curve,
) -> anyhow::Result<()> {
    for p in &curve.points {
        let at = (x.coord(p.x), y_at(chart, x, y, curve, p.value));
        if y.on_floor(p.value) {
            chart.draw_series(std::iter::once(Circle::new(
                at,
                style::MARKER_RADIUS + 1,
                style::BACKGROUND.filled(),
            )))?;
            chart.draw_series(std::iter::once(Circle::new(
                at,
                style::MARKER_RADIUS + 1,
                curve.color.stroke_width(2),
            )))?;
        } else {
            chart.draw_series(std::iter::once(Circle::new(
                at,
                style::MARKER_RADIUS,
                curve.color.filled(),
            )))?;
        }
    }
    Ok(())
}

/// A horizontal dashed line at `value`, labelled at its right end.
pub(crate) fn draw_target(
    chart: &mut Chart<'_, '_>,
    x: &Scale,
    y: &Scale,
    value: f64,
) -> anyhow::Result<()> {
    let level = y.coord(value);
    let (x0, x1) = (x.range().start, x.range().end);
    chart.draw_series(DashedLineSeries::new(
        vec![(x0, level), (x1, level)],
        14,
        8,
        style::TARGET.stroke_width(2),
    ))?;
    let label = format!("target {}", style::fmt_number(value, 3));
    let width = style::text_width(&label, style::ANNOTATION_SIZE) as i32;
    let height = style::ANNOTATION_SIZE as i32 + 4;
    // Offsets in pixels from the line's right end: the label sits just above it,
    // on a pale box so a curve passing behind does not garble it.
    let (right, bottom) = (-10, -6);
    let label_style = label_style(
        style::ANNOTATION_SIZE,
        style::TARGET,
        Pos::new(HPos::Right, VPos::Bottom),
    );
    chart.draw_series(std::iter::once(
        EmptyElement::at((x1, level))
            + Rectangle::new(
                [
                    (right - width - 6, bottom - height),
                    (right + 4, bottom + 2),
                ],
                style::BACKGROUND.mix(0.85).filled(),
            )
            + Text::new(label, (right, bottom), label_style),
    ))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_series_zeros_sit_apart_from_the_others_on_the_floor_row() {
        assert_eq!(dodges(1), [0]);
        // Two series: a marker and a gap apart, one above and one below the row.
        let two = dodges(2);
        assert_eq!(two[0] - two[1], DODGE_STEP);
        assert_eq!(two[0], -two[1]);
        for n in [3, 5, 12] {
            let d = dodges(n);
            assert!(d.windows(2).all(|w| w[0] > w[1]), "{d:?}");
            assert!(d[0] - d[n - 1] <= DODGE_SPREAD + n as i32, "{d:?}");
            assert!(d[0] >= 0 && d[n - 1] <= 0, "{d:?}");
        }
    }
}
